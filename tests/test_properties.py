"""Property tests over random shapes: elementwise, broadcasting and reductions match NumPy."""
import numpy as np
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import gpugrad as gg

finite = st.floats(-10, 10, allow_nan=False, width=64)
shapes = hnp.array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=5)


@settings(max_examples=60, deadline=None)
@given(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=4), st.data())
def test_broadcast_binary_forward_and_gradient_shapes(shapes_, data):
    a = data.draw(hnp.arrays(np.float64, shapes_.input_shapes[0], elements=finite))
    b = data.draw(hnp.arrays(np.float64, shapes_.input_shapes[1], elements=finite))
    ta, tb = gg.tensor(a, requires_grad=True), gg.tensor(b, requires_grad=True)
    out = ta * tb + ta - tb
    np.testing.assert_allclose(out.numpy(), a * b + a - b)
    out.sum().backward()
    # d/da sum(a*b + a - b) = b + 1 summed over broadcast axes; likewise for b
    np.testing.assert_allclose(ta.grad.numpy(), _sum_to(np.broadcast_to(b + 1, out.shape), a.shape))
    np.testing.assert_allclose(tb.grad.numpy(), _sum_to(np.broadcast_to(a - 1, out.shape), b.shape))


def _sum_to(array, shape):
    lead = array.ndim - len(shape)
    array = array.sum(axis=tuple(range(lead)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and array.shape[i] != 1)
    return array.sum(axis=axes, keepdims=True).reshape(shape)


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.float64, shapes, elements=finite), st.data(), st.booleans())
def test_reductions_match_numpy(a, data, keepdims):
    axis = data.draw(st.none() | st.integers(-max(a.ndim, 1), max(a.ndim, 1) - 1)) if a.ndim else None
    t = gg.tensor(a, requires_grad=True)
    for name in ("sum", "mean", "max", "var"):
        np.testing.assert_allclose(getattr(t, name)(axis=axis, keepdims=keepdims).numpy(),
                                   getattr(np, name)(a, axis=axis, keepdims=keepdims), atol=1e-9)
    t.mean(axis=axis).sum().backward()
    count = a.size if axis is None else a.shape[axis]
    np.testing.assert_allclose(t.grad.numpy(), np.full(a.shape, 1.0 / count))


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.float64, shapes, elements=finite))
def test_elementwise_chain_gradient(a):
    t = gg.tensor(a, requires_grad=True)
    (t.tanh() * t.exp()).sum().backward()
    expected = (1 - np.tanh(a) ** 2) * np.exp(a) + np.tanh(a) * np.exp(a)
    np.testing.assert_allclose(t.grad.numpy(), expected, rtol=1e-9, atol=1e-9)
