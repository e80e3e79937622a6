"""Indexing: x[index] (basic and integer-array) and its scatter-add backward; x[index] = v."""
import numpy as np

from .. import backend
from ..autograd import Function
from ..tensor import Tensor


def unwrap_index(index):
    """Replace Tensors (and lists) inside an index by backend arrays."""
    if isinstance(index, tuple):
        return tuple(unwrap_index(i) for i in index)
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, list):
        return np.asarray(index)
    return index


def is_basic(index):
    """Basic indexing (ints, slices, None, ...) gives a view and never repeats an element."""
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, slice, type(None), type(Ellipsis))) for i in items)


def _on_device_of(index, array):
    # Integer-array indices must live where the data lives.
    xp = backend.get_array_module(array)
    if isinstance(index, tuple):
        return tuple(_on_device_of(i, array) for i in index)
    if hasattr(index, "shape") and backend.get_array_module(index) is not xp:
        return backend.to_device(index, backend.device_of(array))
    return index


class GetItem(Function):
    is_view = True

    def forward(self, x, index):
        index = _on_device_of(index, x.data)
        self.in_shape, self.index = x.shape, index
        try:
            return x.data[index]
        except IndexError as exc:
            raise IndexError(f"index: {exc} (tensor shape {x.shape})") from None

    def backward(self, grad):
        return (IndexBackward.apply(grad, index=self.index, shape=self.in_shape),)


class IndexBackward(Function):
    """Scatter a gradient into zeros of the source shape; repeated indices accumulate."""

    def forward(self, grad, index, shape):
        self.index = index
        xp = backend.get_array_module(grad.data)
        out = xp.zeros(shape, dtype=grad.dtype)
        if is_basic(index):
            out[index] = grad.data
        else:
            backend.scatter_add(out, index, grad.data)
        return out

    def backward(self, grad):
        return (grad[self.index],)


class SetItem(Function):
    """Out-of-place ``x[index] = value``; Tensor.__setitem__ writes the result back in place."""

    def forward(self, x, value, index):
        index = _on_device_of(index, x.data)
        self.index = index
        out = x.data.copy()
        out[index] = value.data
        return out

    def backward(self, grad):
        need_x, need_value = self.needs_input_grad
        grad_x = None
        if need_x:
            keep = grad.xp.ones(grad.shape, dtype=grad.dtype)
            keep[self.index] = 0     # overwritten elements get no gradient from the old value
            grad_x = grad * Tensor._make(keep)
        return grad_x, (grad[self.index] if need_value else None)
