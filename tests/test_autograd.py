"""The engine: graph walk, accumulation, retain/release, hooks, grad modes, higher order, in place."""
import numpy as np
import pytest

import gpugrad as gg


def f64(*shape, seed=0):
    return gg.tensor(np.random.default_rng(seed).uniform(0.5, 1.5, shape), requires_grad=True)


def test_long_chain_has_no_recursion_limit():
    x = gg.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.sum().backward()
    assert x.grad.numpy()[0] == 1.0


def test_gradients_accumulate_over_uses_and_calls_until_zeroed():
    x = gg.tensor([2.0, 3.0], requires_grad=True)
    (x * x + x).sum().backward()                  # 2x + 1
    np.testing.assert_allclose(x.grad.numpy(), [5.0, 7.0])
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [8.0, 10.0])
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])
    x.grad.zero_()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 0.0])


def test_leaf_grads_never_share_arrays():
    a, b = gg.tensor([1.0, 2.0], requires_grad=True), gg.tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()
    a.grad.zero_()
    np.testing.assert_allclose(b.grad.numpy(), [1.0, 1.0])
    g = gg.tensor([1.0, 1.0])
    c = gg.tensor([0.0, 0.0], requires_grad=True)
    (c * 1.0).backward(g)
    c.grad.zero_()
    np.testing.assert_allclose(g.numpy(), [1.0, 1.0])


def test_second_backward_through_released_graph_is_an_error():
    x = f64(3)
    y = (x.exp() * 2).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        y.backward()
    z = (x.exp() * 2).sum()
    z.backward(retain_graph=True)
    z.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * 2 * np.exp(x.numpy()) + 2 * np.exp(x.numpy()))


def test_no_grad_and_enable_grad_as_contexts_and_decorators():
    x = f64(2)
    with gg.no_grad():
        y = x * 2
        with gg.enable_grad():
            z = x * 2
    assert not y.requires_grad and z.requires_grad and gg.is_grad_enabled()

    @gg.no_grad()
    def double(t):
        return t * 2
    assert not double(x).requires_grad


def test_detach_cuts_the_graph_and_shares_data():
    x = f64(3)
    d = (x * 2).detach()
    assert not d.requires_grad and d.is_leaf
    y = (x * d).sum()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), d.numpy())


def test_hooks_see_and_replace_gradients():
    x = f64(3)
    seen = []
    x.register_hook(lambda g: seen.append(g.numpy().copy()))
    y = x * 3
    y.register_hook(lambda g: g * 10)
    y.sum().backward()
    np.testing.assert_allclose(seen[0], [30.0] * 3)
    np.testing.assert_allclose(x.grad.numpy(), [30.0] * 3)


def test_functional_grad_leaves_dot_grad_alone():
    x, w = f64(3), f64(3, seed=1)
    gx, = gg.grad((x * w).sum(), [x])
    np.testing.assert_allclose(gx.numpy(), w.numpy())
    assert x.grad is None and w.grad is None


def test_hessian_vector_product_matches_finite_differences():
    def loss(x):
        return ((x @ x.T).tanh() * x.sum(axis=1)).sum() + (x ** 3).exp().mean()

    x = f64(3, 4)
    v = np.random.default_rng(2).normal(size=(3, 4))
    g, = gg.grad(loss(x), [x], create_graph=True)
    hv, = gg.grad((g * gg.tensor(v)).sum(), [x])
    eps, x0 = 1e-5, x.numpy()

    def grad_at(values):
        t = gg.tensor(values, requires_grad=True)
        return gg.grad(loss(t), [t])[0].numpy()
    numeric = (grad_at(x0 + eps * v) - grad_at(x0 - eps * v)) / (2 * eps)
    np.testing.assert_allclose(hv.numpy(), numeric, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("op", [
    lambda x: x.exp(), lambda x: x.tanh(), lambda x: x.sigmoid(), lambda x: x.gelu(),
    lambda x: x.gelu("tanh"), lambda x: x.log(), lambda x: x.sqrt(), lambda x: x ** 3,
    lambda x: x.logsumexp(axis=1), lambda x: x.softmax(), lambda x: x.var(axis=0),
    lambda x: x / (x + 2.0), lambda x: (x @ x.T), lambda x: x[[0, 0, 1]] * x.max(axis=0, keepdims=True),
])
def test_second_order_gradients_via_gradcheck(op):
    x = f64(2, 3)
    def first_grad(t):
        g, = gg.grad((op(t) * gg.tensor(np.linspace(0.5, 1.5, op(t).size).reshape(op(t).shape))).sum(),
                     [t], create_graph=True)
        return g
    assert gg.gradcheck(first_grad, [x])


def test_backward_twice_with_create_graph_builds_double_grad():
    x = gg.tensor([1.5], dtype="float64", requires_grad=True)
    y = x ** 3
    y.backward(create_graph=True)          # x.grad = 3x^2, itself differentiable
    g = x.grad
    x.grad = None
    g.backward()
    np.testing.assert_allclose(x.grad.numpy(), [6 * 1.5])


def test_inplace_on_saved_tensor_is_detected():
    x = f64(3)
    y = x * 2
    z = (y * y).sum()     # Mul saves y
    y += 1
    with pytest.raises(RuntimeError, match=r"Mul: .*modified in place"):
        z.backward()


def test_inplace_setitem_and_zero_on_saved_tensor_are_detected():
    x = f64(2, 3)
    y = x.exp()           # Exp saves its output
    z = y.sum()
    with gg.no_grad():
        y[0, 0] = 5.0
    with pytest.raises(RuntimeError, match="Exp: .*modified in place"):
        z.backward()
    w = gg.tensor(np.ones((2, 3)))
    loss = (x * w).sum()  # saves w
    w.zero_()
    with pytest.raises(RuntimeError, match="modified in place"):
        loss.backward()


def test_inplace_through_a_view_is_detected():
    x = f64(2, 3)
    base = x * 1.0
    loss = (base * base).sum()
    view = base.reshape(6)
    with gg.no_grad():
        view += 1.0
    with pytest.raises(RuntimeError, match="modified in place"):
        loss.backward()


def test_inplace_ops_record_gradients_on_non_leaves():
    x, v = f64(2, 3), f64(3, seed=1)
    y = x * 2
    y[0] = v * 3          # rows 0 come from v now
    y += x
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[1, 1, 1], [3, 3, 3]])
    np.testing.assert_allclose(v.grad.numpy(), [3, 3, 3])


def test_inplace_on_leaf_requiring_grad_is_an_error():
    x = f64(3)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        x += 1
    with gg.no_grad():
        x += 1            # what an optimizer does


def test_backward_errors_name_the_reason():
    with pytest.raises(RuntimeError, match="does not require grad"):
        gg.tensor([1.0]).sum().backward()
    x = f64(2, 2)
    with pytest.raises(RuntimeError, match=r"scalar outputs.*\(2, 2\)"):
        (x * 2).backward()
    with pytest.raises(ValueError, match=r"gradient has shape \(3,\) but the output has shape \(2, 2\)"):
        (x * 2).backward(gg.ones(3))


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(TypeError, match="floating-point.*int64"):
        gg.tensor([1, 2], requires_grad=True)


def test_shape_errors_name_op_and_both_shapes():
    a, b = gg.ones(2, 3), gg.ones(4, 5)
    with pytest.raises(ValueError, match=r"matmul: incompatible shapes \(2, 3\) and \(4, 5\)"):
        a @ b
    with pytest.raises(ValueError, match=r"add: incompatible shapes \(2, 3\) and \(4, 5\)"):
        a + b
    with pytest.raises(ValueError, match=r"reshape: incompatible shapes \(2, 3\).*\(4,\)"):
        a.reshape(4)
    with pytest.raises(ValueError, match=r"concatenate: incompatible shapes \(2, 3\) and \(4, 5\)"):
        gg.concatenate([a, b], axis=0)
    with pytest.raises(ValueError, match=r"axis 3 is out of range"):
        a.sum(axis=3)


def test_gradcheck_catches_a_wrong_gradient():
    from gpugrad.autograd import Function

    class WrongSquare(Function):
        def forward(self, x):
            self.save_for_backward(x)
            return x.data ** 2

        def backward(self, grad):
            x, = self.saved_tensors
            return (grad * x * 3.0,)   # should be 2x

    with pytest.raises(AssertionError, match="gradient mismatch"):
        gg.gradcheck(lambda t: WrongSquare.apply(t), [f64(3)])
    with pytest.raises(TypeError, match="float64"):
        gg.gradcheck(lambda t: t * 2, [gg.tensor([1.0], requires_grad=True)])


def test_graph_holds_no_reference_cycles():
    import gc
    gc.collect()
    gc.disable()
    try:
        x = f64(4, 4)
        for _ in range(50):
            (x.exp() * x).sum().tanh()
        assert gc.collect() == 0
    finally:
        gc.enable()
