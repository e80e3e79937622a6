"""Ops that move elements without computing on them: reshape, permute, broadcast, join, pad."""
from .. import backend
from ..autograd import Function
from ..tensor import Tensor, _as_tensor


class Reshape(Function):
    is_view = True

    def forward(self, x, shape):
        self.in_shape = x.shape
        return x.data.reshape(shape)

    def backward(self, grad):
        return (grad.reshape(self.in_shape),)


class Permute(Function):
    is_view = True

    def forward(self, x, axes):
        self.axes = axes     # numpy/cupy reject a non-permutation with a ValueError that apply words
        return x.data.transpose(axes)

    def backward(self, grad):
        inverse = [0] * len(self.axes)
        for i, a in enumerate(self.axes):
            inverse[a % len(self.axes)] = i
        return (grad.transpose(inverse),)


class BroadcastTo(Function):
    is_view = True

    def forward(self, x, shape):
        self.in_shape = x.shape
        return backend.get_array_module(x.data).broadcast_to(x.data, shape)

    def backward(self, grad):
        return (grad.sum_to(self.in_shape),)


class ToDevice(Function):
    def forward(self, x, device):
        self.source = x.device
        return backend.to_device(x.data, device)

    def backward(self, grad):
        return (grad.to(self.source),)


class Concatenate(Function):
    def forward(self, *tensors, axis):
        self.axis = axis
        self.sizes = [t.shape[axis] for t in tensors]
        return backend.get_array_module(tensors[0].data).concatenate([t.data for t in tensors], axis=axis)

    def backward(self, grad):
        grads, start = [], 0
        index = [slice(None)] * grad.ndim
        for size, needed in zip(self.sizes, self.needs_input_grad):
            index[self.axis] = slice(start, start + size)
            grads.append(grad[tuple(index)] if needed else None)
            start += size
        return tuple(grads)


def concatenate(tensors, axis=0):
    """Join tensors along an existing axis."""
    tensors = _same_device(tensors, "concatenate")
    axis = axis % tensors[0].ndim if tensors[0].ndim else axis
    return Concatenate.apply(*tensors, axis=axis)


def stack(tensors, axis=0):
    """Join tensors along a new axis."""
    tensors = _same_device(tensors, "stack")
    shapes = {t.shape for t in tensors}
    if len(shapes) > 1:
        raise ValueError(f"stack: all tensors must have the same shape, got {sorted(shapes)}")
    return concatenate([t.unsqueeze(axis) for t in tensors], axis=axis)


def split(x, sections, axis=0):
    """Split into equal parts (an int) or at the given sizes (a list of ints), like torch.split."""
    length = x.shape[axis]
    sizes = [sections] * (length // sections) + ([length % sections] if length % sections else []) \
        if isinstance(sections, int) else list(sections)
    if sum(sizes) != length:
        raise ValueError(f"split: sizes {sizes} do not add up to {length}, the length of axis {axis} of shape {x.shape}")
    parts, start, index = [], 0, [slice(None)] * x.ndim
    for size in sizes:
        index[axis] = slice(start, start + size)
        parts.append(x[tuple(index)])
        start += size
    return parts


class Pad(Function):
    def forward(self, x, pad_width, value):
        self.pad_width = pad_width
        xp = backend.get_array_module(x.data)
        return xp.pad(x.data, pad_width, mode="constant", constant_values=value)

    def backward(self, grad):
        index = tuple(slice(before, n - after) for (before, after), n in zip(self.pad_width, grad.shape))
        return (grad[index],)


def pad(x, pad_width, value=0.0):
    """Constant padding; ``pad_width`` as in numpy.pad: ((before, after), ...) per axis, or one int."""
    if isinstance(pad_width, int):
        pad_width = ((pad_width, pad_width),) * x.ndim
    pad_width = tuple(tuple(int(p) for p in pair) for pair in pad_width)
    if len(pad_width) != x.ndim or any(len(p) != 2 or min(p) < 0 for p in pad_width):
        raise ValueError(f"pad: pad_width {pad_width} must hold one non-negative (before, after) pair "
                         f"per axis of shape {x.shape}")
    return Pad.apply(x, pad_width=pad_width, value=value)


def _same_device(tensors, op):
    tensors = list(tensors)
    if not tensors:
        raise ValueError(f"{op}: needs at least one tensor")
    like = next((t for t in tensors if isinstance(t, Tensor)), None)
    if like is None:
        raise ValueError(f"{op}: expects Tensors")
    return [_as_tensor(t, like) for t in tensors]
