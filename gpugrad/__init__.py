"""gpugrad: a NumPy/CuPy array and reverse-mode autograd engine for training neural networks."""
import numpy as _np

from . import autograd  # noqa: F401  (first: tensor.py depends on it being loaded)
from .autograd import enable_grad, grad, no_grad, is_grad_enabled
from . import backend  # noqa: F401  (a callable module: gg.backend() names the backend)
from .backend import gpu_available, manual_seed, set_backend
from .tensor import (Tensor, arange, eye, full, ones, ones_like, rand, randn, tensor, zeros,
                     zeros_like)
from .ops.elementwise import where
from .ops.linalg import matmul
from .ops.shape import concatenate, pad, split, stack
from .gradcheck import gradcheck
from .checkpoint import load, save
from . import data, nn, optim  # noqa: E402,F401

float16, float32, float64 = _np.dtype("float16"), _np.dtype("float32"), _np.dtype("float64")
int32, int64, bool_ = _np.dtype("int32"), _np.dtype("int64"), _np.dtype("bool")


def maximum(a, b):
    return a.maximum(b) if isinstance(a, Tensor) else Tensor.maximum(b, a)


def minimum(a, b):
    return a.minimum(b) if isinstance(a, Tensor) else Tensor.minimum(b, a)


def clip(x, min=None, max=None):
    return x.clip(min, max)


__version__ = "0.1.0"

__all__ = [
    "Tensor", "tensor", "zeros", "ones", "full", "arange", "eye", "rand", "randn", "zeros_like", "ones_like",
    "no_grad", "enable_grad", "is_grad_enabled", "grad", "gradcheck",
    "backend", "set_backend", "gpu_available", "manual_seed",
    "matmul", "where", "concatenate", "stack", "split", "pad", "maximum", "minimum", "clip",
    "save", "load", "data", "nn", "optim",
    "float16", "float32", "float64", "int32", "int64", "bool_",
]
