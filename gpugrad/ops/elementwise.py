"""Elementwise ops. Forward on arrays, backward with Tensor ops (so it is differentiable too).

Inputs may broadcast; the engine sums each gradient back to its input's shape.
"""
import math

import numpy as np

from .. import backend
from ..autograd import Function
from ..tensor import Tensor


def _xp(*tensors):
    return backend.get_array_module(tensors[0].data)


class Add(Function):
    def forward(self, a, b):
        return a.data + b.data

    def backward(self, grad):
        return grad, grad


class Sub(Function):
    def forward(self, a, b):
        return a.data - b.data

    def backward(self, grad):
        return grad, (-grad if self.needs_input_grad[1] else None)


class Mul(Function):
    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a.data * b.data

    def backward(self, grad):
        a, b = self.saved_tensors
        need_a, need_b = self.needs_input_grad
        return (grad * b if need_a else None), (grad * a if need_b else None)


class Div(Function):
    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a.data / b.data

    def backward(self, grad):
        a, b = self.saved_tensors
        need_a, need_b = self.needs_input_grad
        grad_a = grad / b if need_a else None
        grad_b = -grad * a / (b * b) if need_b else None
        return grad_a, grad_b


class Neg(Function):
    def forward(self, x):
        return -x.data

    def backward(self, grad):
        return (-grad,)


class PowScalar(Function):
    def forward(self, x, exponent):
        self.exponent = exponent
        self.save_for_backward(x)
        return x.data ** exponent

    def backward(self, grad):
        x, = self.saved_tensors
        if self.exponent == 2:       # the common case, without a pow
            return (grad * x * 2.0,)
        return (grad * self.exponent * x ** (self.exponent - 1),)


class Pow(Function):
    saves_output = True

    def forward(self, base, exponent):
        self.save_for_backward(base, exponent)
        return base.data ** exponent.data

    def backward(self, grad):
        base, exponent = self.saved_tensors
        need_base, need_exponent = self.needs_input_grad
        grad_base = grad * exponent * base ** (exponent - 1) if need_base else None
        # NOTE: d/de b**e = b**e * log(b); only defined for b > 0, as in PyTorch.
        grad_exponent = grad * self.output * base.log() if need_exponent else None
        return grad_base, grad_exponent


class Exp(Function):
    saves_output = True

    def forward(self, x):
        return _xp(x).exp(x.data)

    def backward(self, grad):
        return (grad * self.output,)


class Log(Function):
    def forward(self, x):
        self.save_for_backward(x)
        return _xp(x).log(x.data)

    def backward(self, grad):
        x, = self.saved_tensors
        return (grad / x,)


class Sqrt(Function):
    saves_output = True

    def forward(self, x):
        return _xp(x).sqrt(x.data)

    def backward(self, grad):
        return (grad * 0.5 / self.output,)


class Abs(Function):
    def forward(self, x):
        self.save_for_backward(x)
        return _xp(x).abs(x.data)

    def backward(self, grad):
        x, = self.saved_tensors
        return (grad * x.sign(),)


class Tanh(Function):
    saves_output = True

    def forward(self, x):
        return _xp(x).tanh(x.data)

    def backward(self, grad):
        y = self.output
        return (grad * (1.0 - y * y),)


class Sigmoid(Function):
    saves_output = True

    def forward(self, x):
        xp = _xp(x)
        # exp of -|x| never overflows; pick the stable form per sign.
        e = xp.exp(-xp.abs(x.data))
        return xp.where(x.data >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)

    def backward(self, grad):
        y = self.output
        return (grad * y * (1.0 - y),)


class Relu(Function):
    saves_output = True

    def forward(self, x):
        return _xp(x).maximum(x.data, 0)

    def backward(self, grad):
        # The mask is a constant: relu'' = 0 almost everywhere.
        return (grad * (self.output > 0),)


class Erf(Function):
    def forward(self, x):
        self.save_for_backward(x)
        return backend.erf(x.data)

    def backward(self, grad):
        x, = self.saved_tensors
        return (grad * (2.0 / math.sqrt(math.pi)) * (-(x * x)).exp(),)


class Gelu(Function):
    """Exact GELU: x * Phi(x)."""

    def forward(self, x):
        self.save_for_backward(x)
        return x.data * 0.5 * (1.0 + backend.erf(x.data * (1 / math.sqrt(2.0))))

    def backward(self, grad):
        x, = self.saved_tensors
        cdf = 0.5 * (1.0 + (x * (1 / math.sqrt(2.0))).erf())
        pdf = (x * x * -0.5).exp() * (1 / math.sqrt(2 * math.pi))
        return (grad * (cdf + x * pdf),)


_GELU_C = math.sqrt(2.0 / math.pi)


class GeluTanh(Function):
    """GELU with the tanh approximation: 0.5 x (1 + tanh(c (x + 0.044715 x^3)))."""

    def forward(self, x):
        self.save_for_backward(x)
        xp = _xp(x)
        inner = _GELU_C * (x.data + 0.044715 * x.data ** 3)
        return 0.5 * x.data * (1.0 + xp.tanh(inner))

    def backward(self, grad):
        x, = self.saved_tensors
        t = (_GELU_C * (x + 0.044715 * x * x * x)).tanh()
        d_inner = _GELU_C * (1.0 + 3 * 0.044715 * x * x)
        return (grad * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * d_inner),)


def gelu(x, approximate="none"):
    if approximate == "none":
        return Gelu.apply(x)
    if approximate == "tanh":
        return GeluTanh.apply(x)
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


class Maximum(Function):
    def forward(self, a, b):
        self.save_for_backward(a, b)
        return _xp(a).maximum(a.data, b.data)

    def backward(self, grad):
        a, b = self.saved_tensors
        # NOTE: ties split the gradient evenly, so max(x, x) has gradient 1 (as in PyTorch).
        share_a = Tensor._make((a.data > b.data) + 0.5 * (a.data == b.data)).astype(grad.dtype)
        return grad * share_a, grad * (1.0 - share_a)


class Minimum(Function):
    def forward(self, a, b):
        self.save_for_backward(a, b)
        return _xp(a).minimum(a.data, b.data)

    def backward(self, grad):
        a, b = self.saved_tensors
        share_a = Tensor._make((a.data < b.data) + 0.5 * (a.data == b.data)).astype(grad.dtype)
        return grad * share_a, grad * (1.0 - share_a)


class Clip(Function):
    def forward(self, x, low, high):
        if low is None and high is None:
            raise ValueError("clip: at least one of min and max must be given")
        self.save_for_backward(x)
        self.low, self.high = low, high
        return _xp(x).clip(x.data, low, high)

    def backward(self, grad):
        x, = self.saved_tensors
        inside = np.True_
        if self.low is not None:
            inside = inside & (x.data >= self.low)
        if self.high is not None:
            inside = inside & (x.data <= self.high)
        return (grad * Tensor._make(inside),)


class Where(Function):
    def forward(self, condition, a, b):
        self.condition = condition.data
        return _xp(a).where(condition.data, a.data, b.data)

    def backward(self, grad):
        _, need_a, need_b = self.needs_input_grad
        zero = Tensor._make(grad.xp.zeros((), dtype=grad.dtype))
        condition = Tensor._make(self.condition)
        return (None,
                where(condition, grad, zero) if need_a else None,
                where(condition, zero, grad) if need_b else None)


def where(condition, a, b):
    """Elementwise ``a`` where condition is true, else ``b``; differentiable in a and b."""
    from ..tensor import _as_tensor
    like = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else condition
    if not isinstance(like, Tensor):
        like = Tensor._make(backend.default_xp().asarray(a))
    return Where.apply(_as_tensor(condition, like), _as_tensor(a, like), _as_tensor(b, like))


class Cast(Function):
    def forward(self, x, dtype):
        self.source_dtype = x.dtype
        return x.data.astype(dtype)

    def backward(self, grad):
        return (grad.astype(self.source_dtype),)


class Clone(Function):
    def forward(self, x):
        return x.data.copy()

    def backward(self, grad):
        return (grad,)
