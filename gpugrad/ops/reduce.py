"""Reductions over axes: sum, mean, max/min, var/std, logsumexp, and the broadcast-undo sum_to."""
import numpy as np

from .. import backend
from ..autograd import Function


def normalize_axis(axis, ndim):
    """None (all axes) or a sorted tuple of non-negative axes; negative axes count from the end."""
    if axis is None:
        return None
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    normalized = []
    for a in axes:
        if not -max(ndim, 1) <= a < max(ndim, 1):
            raise ValueError(f"axis {a} is out of range for a tensor with {ndim} dimensions")
        normalized.append(a % max(ndim, 1))
    return tuple(sorted(set(normalized)))


def _kept_shape(shape, axis):
    """The shape of a reduction over ``axis`` with keepdims=True."""
    if axis is None:
        return (1,) * len(shape)
    return tuple(1 if i in axis else n for i, n in enumerate(shape))


def _count(shape, axis):
    return int(np.prod(shape)) if axis is None else int(np.prod([shape[a] for a in axis]))


class Sum(Function):
    def forward(self, x, axis, keepdims):
        self.in_shape, self.axis, self.keepdims = x.shape, axis, keepdims
        return x.data.sum(axis=axis, keepdims=keepdims)

    def backward(self, grad):
        if not self.keepdims and self.axis is not None:   # a full reduction's 0-d grad broadcasts as is
            grad = grad.reshape(_kept_shape(self.in_shape, self.axis))
        return (grad.broadcast_to(self.in_shape),)


class SumTo(Function):
    """Sum a broadcast array back down to ``shape``: the gradient rule of broadcasting."""

    def forward(self, x, shape):
        self.in_shape = x.shape
        lead = x.ndim - len(shape)
        if lead < 0 or any(n != 1 and n != m for n, m in zip(shape, x.shape[lead:])):
            raise ValueError(f"cannot sum shape {x.shape} down to {shape}")
        axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape) if n == 1 and x.shape[lead + i] != 1)
        out = x.data.sum(axis=axes, keepdims=True) if axes else x.data
        return out.reshape(shape)

    def backward(self, grad):
        return (grad.broadcast_to(self.in_shape),)


def mean(x, axis=None, keepdims=False):
    axis = normalize_axis(axis, x.ndim)
    return x.sum(axis, keepdims) * (1.0 / _count(x.shape, axis))


def var(x, axis=None, keepdims=False, ddof=0):
    """Variance with NumPy's ``ddof`` (0: population variance; 1: PyTorch's unbiased default)."""
    axis = normalize_axis(axis, x.ndim)
    deviation = x - x.mean(axis, keepdims=True)
    return (deviation * deviation).sum(axis, keepdims) * (1.0 / (_count(x.shape, axis) - ddof))


class Max(Function):
    def forward(self, x, axis, keepdims):
        if x.size == 0:
            raise ValueError("max: cannot reduce an empty tensor")
        self.save_for_backward(x)
        self.axis, self.keepdims = axis, keepdims
        self.kept = x.data.max(axis=axis, keepdims=True)
        return self.kept if keepdims else self.kept.reshape(_drop(x.shape, axis))

    def backward(self, grad):
        x, = self.saved_tensors
        # NOTE: tied maxima share the gradient evenly, so the result is symmetric in the ties.
        mask = (x.data == self.kept).astype(grad.dtype)
        mask /= mask.sum(axis=self.axis, keepdims=True)
        if not self.keepdims:
            grad = grad.reshape(self.kept.shape)
        return (grad * type(grad)._make(mask),)


def _drop(shape, axis):
    return () if axis is None else tuple(n for i, n in enumerate(shape) if i not in axis)


class LogSumExp(Function):
    saves_output = True

    def forward(self, x, axis, keepdims):
        self.save_for_backward(x)
        self.axis, self.keepdims = axis, keepdims
        xp = backend.get_array_module(x.data)
        shift = x.data.max(axis=axis, keepdims=True)
        shift = xp.where(xp.isfinite(shift), shift, 0)   # all -inf rows give -inf, not nan
        with np.errstate(divide="ignore"):   # log(0) = -inf is the right answer for all -inf rows
            out = xp.log(xp.exp(x.data - shift).sum(axis=axis, keepdims=True)) + shift
        return out if keepdims else out.reshape(_drop(x.shape, axis))

    def backward(self, grad):
        x, = self.saved_tensors
        out = self.output
        if not self.keepdims:
            kept = _kept_shape(x.shape, self.axis)
            grad, out = grad.reshape(kept), out.reshape(kept)
        return (grad * (x - out).exp(),)
