"""Every op of design.md §3: forward vs NumPy, gradients vs finite differences (tests/helpers.py)."""
import math

import numpy as np
import pytest

import gpugrad as gg
from helpers import check_op

sigmoid = lambda a: 1 / (1 + np.exp(-a))  # noqa: E731
erf = np.vectorize(math.erf)


def np_logsumexp(a, axis=None, keepdims=False):
    m = a.max(axis=axis, keepdims=True)
    out = np.log(np.exp(a - m).sum(axis=axis, keepdims=True)) + m
    return out if keepdims else out.squeeze(axis=axis) if axis is not None else out.reshape(())


BINARY = [
    ("add", lambda a, b: a + b),
    ("sub", lambda a, b: a - b),
    ("mul", lambda a, b: a * b),
    ("div", lambda a, b: a / b),
    ("maximum", lambda a, b: gg.maximum(a, b) if isinstance(a, gg.Tensor) else np.maximum(a, b)),
    ("minimum", lambda a, b: gg.minimum(a, b) if isinstance(a, gg.Tensor) else np.minimum(a, b)),
]
BROADCAST_SHAPES = [((3, 4), (3, 4)), ((2, 3, 4), (4,)), ((3, 1), (1, 5)), ((5,), (2, 1, 5)), ((), (3, 2))]


@pytest.mark.parametrize("name,op", BINARY, ids=[n for n, _ in BINARY])
@pytest.mark.parametrize("shapes", BROADCAST_SHAPES, ids=str)
def test_binary_broadcasting(name, op, shapes):
    check_op(op, op, *shapes)


def test_pow_with_tensor_exponent_and_scalar():
    check_op(lambda a, b: a ** b, lambda a, b: a ** b, (3, 4), (4,), signed=False)
    check_op(lambda a: a ** 3, lambda a: a ** 3, (2, 5))
    check_op(lambda a: a ** 2, lambda a: a ** 2, (2, 5))
    check_op(lambda a: a ** -1.5, lambda a: a ** -1.5, (4,), signed=False)
    check_op(lambda a: 2.0 ** a, lambda a: 2.0 ** a, (4, 3))


def test_scalar_operands_and_reflected():
    check_op(lambda a: 3.0 - a * 2 + 1 / a, lambda a: 3.0 - a * 2 + 1 / a, (3, 3))
    check_op(lambda a: -a / 4.0, lambda a: -a / 4.0, (5,))


UNARY = [
    ("exp", lambda t: t.exp(), np.exp, True),
    ("log", lambda t: t.log(), np.log, False),
    ("sqrt", lambda t: t.sqrt(), np.sqrt, False),
    ("abs", lambda t: t.abs(), np.abs, True),
    ("tanh", lambda t: t.tanh(), np.tanh, True),
    ("sigmoid", lambda t: t.sigmoid(), sigmoid, True),
    ("relu", lambda t: t.relu(), lambda a: np.maximum(a, 0), True),
    ("gelu", lambda t: t.gelu(), lambda a: 0.5 * a * (1 + erf(a / np.sqrt(2))), True),
    ("gelu_tanh", lambda t: t.gelu("tanh"),
     lambda a: 0.5 * a * (1 + np.tanh(np.sqrt(2 / np.pi) * (a + 0.044715 * a ** 3))), True),
    ("erf", lambda t: t.erf(), erf, True),
    ("neg", lambda t: -t, np.negative, True),
]


@pytest.mark.parametrize("name,op,reference,signed", UNARY, ids=[u[0] for u in UNARY])
@pytest.mark.parametrize("noncontiguous", [False, True])
def test_unary(name, op, reference, signed, noncontiguous):
    check_op(op, reference, (4, 7), signed=signed, noncontiguous=noncontiguous)


def test_sigmoid_is_stable_for_large_inputs():
    x = gg.tensor([-1000.0, 0.0, 1000.0])
    np.testing.assert_array_equal(x.sigmoid().numpy(), [0.0, 0.5, 1.0])


def test_clip_and_where():
    check_op(lambda t: t.clip(-1.0, 1.0), lambda a: np.clip(a, -1, 1), (4, 6), low=0.2, high=2.0)
    check_op(lambda t: t.clip(min=0.9), lambda a: np.clip(a, 0.9, None), (4, 6), low=0.2, high=2.0)
    check_op(lambda a, b: gg.where(a > 0, a, b), lambda a, b: np.where(a > 0, a, b), (3, 4), (4,))


AXES = [None, 0, -1, (0, 2), (-1, -3)]


@pytest.mark.parametrize("axis", AXES, ids=str)
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "var", "std", "logsumexp"])
def test_reductions(name, axis, keepdims):
    np_fn = np_logsumexp if name == "logsumexp" else getattr(np, name)
    check_op(lambda t: getattr(t, name)(axis=axis, keepdims=keepdims),
             lambda a: np_fn(a, axis=axis, keepdims=keepdims), (3, 4, 5), noncontiguous=axis == 0)


def test_var_with_ddof_and_max_ties_share_gradient():
    check_op(lambda t: t.var(axis=1, ddof=1), lambda a: a.var(axis=1, ddof=1), (3, 5))
    x = gg.tensor([1.0, 3.0, 3.0], requires_grad=True)
    x.max().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 0.5, 0.5])


def test_logsumexp_handles_large_and_infinite_values():
    x = gg.tensor([[1000.0, 1000.0], [-np.inf, -np.inf]])
    out = x.logsumexp(axis=1).numpy()
    assert out[0] == pytest.approx(1000.0 + np.log(2.0))
    assert out[1] == -np.inf


def test_shape_ops():
    check_op(lambda t: t.reshape(6, 4), lambda a: a.reshape(6, 4), (2, 3, 4), noncontiguous=True)
    check_op(lambda t: t.reshape(-1), lambda a: a.reshape(-1), (2, 3, 4))
    check_op(lambda t: t.transpose(), lambda a: a.transpose(), (2, 3, 4))
    check_op(lambda t: t.permute(1, 2, 0), lambda a: a.transpose(1, 2, 0), (2, 3, 4))
    check_op(lambda t: t.T, lambda a: a.T, (3, 5))
    check_op(lambda t: t.flatten(1), lambda a: a.reshape(2, -1), (2, 3, 4))
    check_op(lambda t: t.squeeze(1), lambda a: a.squeeze(1), (3, 1, 4))
    check_op(lambda t: t.squeeze(), lambda a: a.squeeze(), (1, 3, 1))
    check_op(lambda t: t.unsqueeze(-1), lambda a: a[..., None], (3, 4))
    check_op(lambda t: t.broadcast_to((2, 3, 4)), lambda a: np.broadcast_to(a, (2, 3, 4)), (3, 1))


def test_indexing():
    check_op(lambda t: t[1], lambda a: a[1], (3, 4))
    check_op(lambda t: t[:, 1:3], lambda a: a[:, 1:3], (3, 4), noncontiguous=True)
    check_op(lambda t: t[::-2, None, -1], lambda a: a[::-2, None, -1], (5, 4))
    check_op(lambda t: t[..., 0], lambda a: a[..., 0], (2, 3, 4))
    idx = np.array([0, 2, 2, 1, 0])   # repeated rows must accumulate gradient
    check_op(lambda t: t[idx], lambda a: a[idx], (3, 4))
    check_op(lambda t: t[gg.tensor(idx), 1:], lambda a: a[idx, 1:], (3, 4))
    rows, cols = np.array([0, 1, 1]), np.array([2, 0, 2])
    check_op(lambda t: t[rows, cols], lambda a: a[rows, cols], (2, 3))
    check_op(lambda t: t[[1, 0]], lambda a: a[[1, 0]], (2, 3))


def test_join_split_pad():
    check_op(lambda a, b: gg.concatenate([a, b], axis=1), lambda a, b: np.concatenate([a, b], 1), (2, 3), (2, 4))
    check_op(lambda a, b: gg.concatenate([a, b], axis=-1), lambda a, b: np.concatenate([a, b], -1), (2, 3), (2, 1))
    check_op(lambda a, b: gg.stack([a, b], axis=1), lambda a, b: np.stack([a, b], 1), (2, 3), (2, 3))
    check_op(lambda t: gg.split(t, 2, axis=1)[1], lambda a: a[:, 2:4], (3, 5))
    check_op(lambda t: gg.split(t, [1, 4], axis=1)[1] * 2, lambda a: a[:, 1:] * 2, (3, 5))
    check_op(lambda t: gg.pad(t, ((1, 0), (2, 3))), lambda a: np.pad(a, ((1, 0), (2, 3))), (2, 3))


@pytest.mark.parametrize("shapes", [((3, 4), (4, 5)), ((4,), (4, 3)), ((3, 4), (4,)), ((4,), (4,)),
                                    ((2, 3, 4), (4, 5)), ((2, 1, 3, 4), (5, 4, 2)), ((3, 4), (2, 4, 3))], ids=str)
def test_matmul(shapes):
    check_op(lambda a, b: a @ b, lambda a, b: a @ b, *shapes)
    check_op(gg.matmul, np.matmul, *shapes, noncontiguous=True)


def test_softmax_and_log_softmax():
    def np_softmax(a):
        e = np.exp(a - a.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)
    check_op(lambda t: t.softmax(axis=-1), np_softmax, (3, 5))
    check_op(lambda t: t.log_softmax(axis=-1), lambda a: np.log(np_softmax(a)), (3, 5))


def test_device_move_is_identity_on_cpu_and_float64_is_kept():
    x = gg.tensor(np.arange(3.0))
    assert x.dtype == np.float64 and x.to("cpu") is x
    assert gg.tensor([1.0, 2.0]).dtype == np.float32
    assert gg.tensor([1, 2]).dtype == np.int64
