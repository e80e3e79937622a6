"""Tensor: a backend array plus what autograd needs (grad, requires_grad, the producing node).

Operators and methods are thin: each forwards to one op in ``gpugrad.ops``.
"""
import numpy as np

from . import autograd, backend


class Tensor:
    """An n-dimensional array on the CPU (NumPy) or GPU (CuPy) that can record gradients."""

    __slots__ = ("data", "grad", "requires_grad", "_node", "_vc", "_hooks", "__weakref__")
    __array_ufunc__ = None   # make numpy defer to our reflected operators (ndarray * Tensor)

    def __init__(self, data, dtype=None, device=None, requires_grad=False):
        init = tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)
        self.data, self.grad, self.requires_grad = init.data, None, init.requires_grad
        self._node, self._vc, self._hooks = None, [0], None

    @classmethod
    def _make(cls, data, requires_grad=False):
        """Wrap a backend array without copying or checking (the ops' fast path)."""
        if isinstance(data, np.generic):   # numpy ufuncs turn 0-d arrays into scalars
            data = np.asarray(data)
        t = object.__new__(cls)
        t.data, t.grad, t.requires_grad = data, None, requires_grad
        t._node, t._vc, t._hooks = None, [0], None
        return t

    # ---- attributes ---------------------------------------------------------------------
    shape = property(lambda self: self.data.shape)
    ndim = property(lambda self: self.data.ndim)
    size = property(lambda self: self.data.size)
    dtype = property(lambda self: self.data.dtype)
    device = property(lambda self: backend.device_of(self.data))
    xp = property(lambda self: backend.get_array_module(self.data))
    is_leaf = property(lambda self: self._node is None)
    grad_fn = property(lambda self: self._node)
    T = property(lambda self: self.transpose())
    mT = property(lambda self: shape_ops.Permute.apply(self, axes=_last_two_swapped(self.ndim)))

    @property
    def _version(self):
        """How many times the data was changed in place (autograd checks saved tensors)."""
        return self._vc[0]

    @_version.setter
    def _version(self, value):
        self._vc[0] = value

    def __len__(self):
        return len(self.data)

    def __repr__(self):
        extra = ", requires_grad=True" if self.requires_grad else ""
        device = "" if self.device == "cpu" else ", device='gpu'"
        return f"tensor({backend.to_numpy(self.data)!r}{device}{extra})"

    __hash__ = object.__hash__   # == is elementwise, so hash by identity

    def __bool__(self):
        return bool(self.data)

    def __float__(self):
        return float(self.data)

    def __int__(self):
        return int(self.data)

    def __index__(self):
        return int(self.data)

    # ---- conversion -----------------------------------------------------------------------
    def numpy(self):
        """The data as a host numpy.ndarray (shares memory on the CPU)."""
        return backend.to_numpy(self.data)

    def item(self):
        if self.size != 1:
            raise ValueError(f"item: only a one-element tensor converts to a Python scalar, got shape {self.shape}")
        return self.data.item()

    def tolist(self):
        return self.numpy().tolist()

    def to(self, device):
        """This tensor on 'cpu' or 'gpu' (itself if already there); differentiable."""
        if backend.xp_for_device(device) is self.xp:
            return self
        return shape_ops.ToDevice.apply(self, device=device)

    def cpu(self):
        return self.to("cpu")

    def astype(self, dtype):
        return elementwise.Cast.apply(self, dtype=np.dtype(dtype))

    def float(self):
        return self.astype(np.float32)

    def double(self):
        return self.astype(np.float64)

    def detach(self):
        """The same data, cut from the graph."""
        out = Tensor._make(self.data, False)
        out._vc = self._vc
        return out

    def clone(self):
        return elementwise.Clone.apply(self)

    # ---- autograd -------------------------------------------------------------------------
    def backward(self, grad=None, retain_graph=False, create_graph=False):
        """Accumulate gradients of this tensor into .grad of the leaves that require grad."""
        autograd.backward(self, grad, retain_graph=retain_graph or create_graph, create_graph=create_graph)

    def requires_grad_(self, requires_grad=True):
        if requires_grad and self.dtype.kind not in "fc":
            raise TypeError(f"only floating-point tensors can require grad, got dtype {self.dtype}")
        if not self.is_leaf and not requires_grad:
            raise RuntimeError("requires_grad_: cannot turn off grad on a non-leaf tensor; use detach()")
        self.requires_grad = requires_grad
        return self

    def register_hook(self, hook):
        """Call hook(grad) when this tensor's gradient is computed; a returned tensor replaces it."""
        if not self.requires_grad:
            raise RuntimeError("register_hook: the tensor does not require grad")
        if self._node is None:
            self._hooks = (self._hooks or []) + [hook]
        else:
            self._node.hooks = (self._node.hooks or []) + [hook]
        return hook

    # ---- in place ---------------------------------------------------------------------------
    def _check_inplace(self):
        if self.requires_grad and self._node is None and autograd.is_grad_enabled():
            raise RuntimeError("a leaf tensor that requires grad is used in an in-place operation; "
                               "wrap it in gg.no_grad() or operate on a copy")

    def _apply_inplace(self, result):
        """Make ``result`` (computed out of place) the new value of self, in the same array."""
        self._check_inplace()
        if result.shape != self.shape:
            raise ValueError(f"in-place op: result shape {result.shape} does not match tensor shape {self.shape}")
        self.data[...] = result.data
        self._vc[0] += 1
        if result.requires_grad:      # continue the graph from the out-of-place result
            self._node, self.requires_grad = result._node, True
        return self

    def _inplace_binary(self, op, other):
        self._check_inplace()
        if autograd.is_grad_enabled() and (self.requires_grad or getattr(other, "requires_grad", False)):
            return self._apply_inplace(op(self._before_inplace(), other))
        other = other.data if isinstance(other, Tensor) else other
        getattr(self.data, op.__name__.replace("__", "__i", 1))(other)
        self._vc[0] += 1
        return self

    def _before_inplace(self):
        """A tensor standing for the current value, with a version cell of its own.

        The op reading it may save it; the in-place write that follows then bumps self's cell,
        not this one, so the snapshot is copied to keep that saved value correct.
        """
        snapshot = Tensor._make(self.data.copy(), self.requires_grad)
        snapshot._node = self._node
        return snapshot

    def __iadd__(self, other):
        return self._inplace_binary(Tensor.__add__, other)

    def __isub__(self, other):
        return self._inplace_binary(Tensor.__sub__, other)

    def __imul__(self, other):
        return self._inplace_binary(Tensor.__mul__, other)

    def __itruediv__(self, other):
        return self._inplace_binary(Tensor.__truediv__, other)

    def __setitem__(self, index, value):
        index = index_ops.unwrap_index(index)
        if autograd.is_grad_enabled() and (self.requires_grad or getattr(value, "requires_grad", False)):
            self._apply_inplace(index_ops.SetItem.apply(self._before_inplace(), _as_tensor(value, self),
                                                        index=index))
            return
        self._check_inplace()
        self.data[index] = value.data if isinstance(value, Tensor) else value
        self._vc[0] += 1

    def zero_(self):
        return self.fill_(0)

    def fill_(self, value):
        self._check_inplace()
        self.data.fill(value)
        self._vc[0] += 1
        return self

    def copy_(self, source):
        """Copy source's values into this tensor's array (same shape), in place."""
        self._check_inplace()
        source = source.data if isinstance(source, Tensor) else source
        self.data[...] = backend.to_device(source, self.device) if hasattr(source, "shape") else source
        self._vc[0] += 1
        return self

    # ---- arithmetic -----------------------------------------------------------------------
    def __add__(self, other):
        return elementwise.Add.apply(self, _as_tensor(other, self))

    def __radd__(self, other):
        return elementwise.Add.apply(_as_tensor(other, self), self)

    def __sub__(self, other):
        return elementwise.Sub.apply(self, _as_tensor(other, self))

    def __rsub__(self, other):
        return elementwise.Sub.apply(_as_tensor(other, self), self)

    def __mul__(self, other):
        return elementwise.Mul.apply(self, _as_tensor(other, self))

    def __rmul__(self, other):
        return elementwise.Mul.apply(_as_tensor(other, self), self)

    def __truediv__(self, other):
        return elementwise.Div.apply(self, _as_tensor(other, self))

    def __rtruediv__(self, other):
        return elementwise.Div.apply(_as_tensor(other, self), self)

    def __pow__(self, exponent):
        if isinstance(exponent, (int, float)):
            return elementwise.PowScalar.apply(self, exponent=exponent)
        return elementwise.Pow.apply(self, _as_tensor(exponent, self))

    def __rpow__(self, base):
        return elementwise.Pow.apply(_as_tensor(base, self), self)

    def __matmul__(self, other):
        return linalg.matmul(self, other)

    def __rmatmul__(self, other):
        return linalg.matmul(_as_tensor(other, self), self)

    def __neg__(self):
        return elementwise.Neg.apply(self)

    def __pos__(self):
        return self

    # Comparisons give bool tensors and carry no gradient.
    def __lt__(self, other):
        return Tensor._make(self.data < _raw(other))

    def __le__(self, other):
        return Tensor._make(self.data <= _raw(other))

    def __gt__(self, other):
        return Tensor._make(self.data > _raw(other))

    def __ge__(self, other):
        return Tensor._make(self.data >= _raw(other))

    def __eq__(self, other):
        return Tensor._make(self.data == _raw(other))

    def __ne__(self, other):
        return Tensor._make(self.data != _raw(other))

    def __invert__(self):
        return Tensor._make(~self.data)

    def __and__(self, other):
        return Tensor._make(self.data & _raw(other))

    def __or__(self, other):
        return Tensor._make(self.data | _raw(other))

    # ---- elementwise ------------------------------------------------------------------------
    def exp(self):
        return elementwise.Exp.apply(self)

    def log(self):
        return elementwise.Log.apply(self)

    def sqrt(self):
        return elementwise.Sqrt.apply(self)

    def abs(self):
        return elementwise.Abs.apply(self)

    def tanh(self):
        return elementwise.Tanh.apply(self)

    def sigmoid(self):
        return elementwise.Sigmoid.apply(self)

    def relu(self):
        return elementwise.Relu.apply(self)

    def gelu(self, approximate="none"):
        return elementwise.gelu(self, approximate)

    def erf(self):
        return elementwise.Erf.apply(self)

    def sign(self):
        return Tensor._make(self.xp.sign(self.data))

    def clip(self, min=None, max=None):
        return elementwise.Clip.apply(self, low=min, high=max)

    clamp = clip

    def maximum(self, other):
        return elementwise.Maximum.apply(self, _as_tensor(other, self))

    def minimum(self, other):
        return elementwise.Minimum.apply(self, _as_tensor(other, self))

    # ---- reductions -------------------------------------------------------------------------
    def sum(self, axis=None, keepdims=False):
        return reduce_ops.Sum.apply(self, axis=reduce_ops.normalize_axis(axis, self.ndim), keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        return reduce_ops.mean(self, axis, keepdims)

    def max(self, axis=None, keepdims=False):
        return reduce_ops.Max.apply(self, axis=reduce_ops.normalize_axis(axis, self.ndim), keepdims=keepdims)

    def min(self, axis=None, keepdims=False):
        return -(-self).max(axis, keepdims)

    def var(self, axis=None, keepdims=False, ddof=0):
        return reduce_ops.var(self, axis, keepdims, ddof)

    def std(self, axis=None, keepdims=False, ddof=0):
        return self.var(axis, keepdims, ddof).sqrt()

    def logsumexp(self, axis=None, keepdims=False):
        return reduce_ops.LogSumExp.apply(self, axis=reduce_ops.normalize_axis(axis, self.ndim), keepdims=keepdims)

    def softmax(self, axis=-1):
        return (self - self.logsumexp(axis, keepdims=True)).exp()

    def log_softmax(self, axis=-1):
        return self - self.logsumexp(axis, keepdims=True)

    def argmax(self, axis=None, keepdims=False):
        return Tensor._make(self.xp.argmax(self.data, axis=axis, keepdims=keepdims))

    def argmin(self, axis=None, keepdims=False):
        return Tensor._make(self.xp.argmin(self.data, axis=axis, keepdims=keepdims))

    def sum_to(self, shape):
        """Sum broadcast dimensions away so the result has ``shape`` (the broadcast gradient rule)."""
        shape = tuple(shape)
        return self if self.shape == shape else reduce_ops.SumTo.apply(self, shape=shape)

    # ---- shape ------------------------------------------------------------------------------
    def reshape(self, *shape):
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        return shape_ops.Reshape.apply(self, shape=tuple(shape))

    view = reshape

    def flatten(self, start_dim=0, end_dim=-1):
        start, end = start_dim % max(self.ndim, 1), end_dim % max(self.ndim, 1)
        shape = self.shape[:start] + (-1,) + self.shape[end + 1:]
        return self.reshape(shape)

    def transpose(self, *axes):
        axes = axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
        return shape_ops.Permute.apply(self, axes=tuple(axes) or tuple(reversed(range(self.ndim))))

    def permute(self, *axes):
        return self.transpose(*axes)

    def swapaxes(self, axis1, axis2):
        axes = list(range(self.ndim))
        axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
        return self.transpose(axes)

    def squeeze(self, axis=None):
        if axis is None:
            return self.reshape(tuple(n for n in self.shape if n != 1))
        axes = {a % self.ndim for a in (axis if isinstance(axis, (tuple, list)) else (axis,))}
        for a in axes:
            if self.shape[a] != 1:
                raise ValueError(f"squeeze: axis {a} of shape {self.shape} has size {self.shape[a]}, not 1")
        return self.reshape(tuple(n for i, n in enumerate(self.shape) if i not in axes))

    def unsqueeze(self, axis):
        axis = axis % (self.ndim + 1)
        return self.reshape(self.shape[:axis] + (1,) + self.shape[axis:])

    def broadcast_to(self, shape):
        shape = tuple(shape)
        return self if self.shape == shape else shape_ops.BroadcastTo.apply(self, shape=shape)

    expand = broadcast_to

    def __getitem__(self, index):
        return index_ops.GetItem.apply(self, index=index_ops.unwrap_index(index))


_SWAPPED = {}


def _last_two_swapped(ndim):
    """Axes that swap the last two dimensions (cached: matmul's backward asks on every call)."""
    if ndim not in _SWAPPED:
        axes = list(range(ndim))
        axes[-2:] = axes[:-3:-1]
        _SWAPPED[ndim] = tuple(axes)
    return _SWAPPED[ndim]


def _raw(value):
    return value.data if isinstance(value, Tensor) else value


def _as_tensor(value, like):
    """Wrap an operand as a constant tensor; Python scalars take ``like``'s float dtype."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (int, float, bool)) and like.dtype.kind == "f":
        return Tensor._make(like.xp.asarray(value, dtype=like.dtype))
    return Tensor._make(like.xp.asarray(value))


# ---- creation -----------------------------------------------------------------------------
def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new tensor holding a copy of ``data`` (list, scalar, numpy/cupy array or Tensor).

    Python floats become float32 (the default float dtype); arrays keep their dtype.
    """
    xp = backend.xp_for_device(device)
    if isinstance(data, Tensor):
        data = data.data
    if hasattr(data, "__array__") or hasattr(data, "__cuda_array_interface__"):
        array = backend.to_device(data, "cpu" if xp is np else "gpu")
        array = xp.array(array, dtype=dtype, copy=True)
    else:
        array = np.array(data, dtype=dtype)
        if dtype is None and array.dtype == np.float64:
            array = array.astype(np.float32)
        array = xp.asarray(array)
    out = Tensor._make(array)
    if requires_grad:
        out.requires_grad_(True)
    return out


def _new(xp_fn, shape, dtype, device, requires_grad, **kwargs):
    shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    xp = backend.xp_for_device(device)
    out = Tensor._make(getattr(xp, xp_fn)(tuple(shape), dtype=dtype or np.float32, **kwargs))
    return out.requires_grad_(True) if requires_grad else out


def zeros(*shape, dtype=None, device=None, requires_grad=False):
    return _new("zeros", shape, dtype, device, requires_grad)


def ones(*shape, dtype=None, device=None, requires_grad=False):
    return _new("ones", shape, dtype, device, requires_grad)


def full(shape, fill_value, dtype=None, device=None, requires_grad=False):
    return _new("full", (shape,), dtype, device, requires_grad, fill_value=fill_value)


def zeros_like(t, dtype=None, requires_grad=False):
    return zeros(t.shape, dtype=dtype or t.dtype, device=t.device, requires_grad=requires_grad)


def ones_like(t, dtype=None, requires_grad=False):
    return ones(t.shape, dtype=dtype or t.dtype, device=t.device, requires_grad=requires_grad)


def arange(start, stop=None, step=1, dtype=None, device=None, requires_grad=False):
    xp = backend.xp_for_device(device)
    array = xp.arange(start, stop, step, dtype=dtype) if stop is not None else xp.arange(start, dtype=dtype)
    out = Tensor._make(array)
    return out.requires_grad_(True) if requires_grad else out


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    out = Tensor._make(backend.xp_for_device(device).eye(n, m, dtype=dtype or np.float32))
    return out.requires_grad_(True) if requires_grad else out


def _random(method, shape, dtype, device, requires_grad):
    shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    rng = backend.generator(backend.xp_for_device(device))
    dtype = np.dtype(dtype or np.float32)
    out = Tensor._make(getattr(rng, method)(tuple(shape), dtype=dtype))
    return out.requires_grad_(True) if requires_grad else out


def rand(*shape, dtype=None, device=None, requires_grad=False):
    """Uniform samples in [0, 1)."""
    return _random("random", shape, dtype, device, requires_grad)


def randn(*shape, dtype=None, device=None, requires_grad=False):
    """Standard normal samples."""
    return _random("standard_normal", shape, dtype, device, requires_grad)


def empty_parameter_data(shape, device=None):
    """Uninitialised float32 storage for a new parameter (an initialiser fills it)."""
    return backend.xp_for_device(device).empty(shape, dtype=np.float32)


from .ops import elementwise, index as index_ops, linalg, reduce as reduce_ops, shape as shape_ops  # noqa: E402
