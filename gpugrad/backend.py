"""The one module that knows about NumPy vs CuPy.

Everything else asks it for an array module (``xp``) and never imports CuPy itself.
``GPUGRAD_BACKEND`` = ``auto`` (default: CuPy when it imports and a CUDA device answers,
else NumPy, silently) | ``numpy`` | ``cupy`` (an error when no GPU is usable).
"""
import os
import sys
import types

import numpy as np

VALID_BACKENDS = ("auto", "numpy", "cupy")
DEVICES = ("cpu", "gpu")

_cupy = None          # the cupy module once it has been found usable
_cupy_error = None    # why cupy is unusable, when it was tried and failed
_default = None       # the module new tensors are created with
_rng = {}             # xp module -> random generator


def _probe_cupy():
    """Import CuPy and ask for a device; remember the answer."""
    global _cupy, _cupy_error
    if _cupy is not None or _cupy_error is not None:
        return _cupy
    try:
        import cupy
        count = cupy.cuda.runtime.getDeviceCount()
        if count < 1:
            raise RuntimeError("CUDA reports no devices")
        _cupy = cupy
    except Exception as exc:  # ImportError, CUDARuntimeError, missing driver ...
        _cupy_error = f"{type(exc).__name__}: {exc}"
    return _cupy


def gpu_available():
    """True when CuPy imports and at least one CUDA device answers."""
    return _probe_cupy() is not None


def _resolve(name):
    name = (name or "auto").strip().lower()
    if name not in VALID_BACKENDS:
        raise ValueError(f"unknown gpugrad backend {name!r}; valid values are {', '.join(VALID_BACKENDS)}")
    if name == "numpy":
        return np
    if name == "cupy":
        if _probe_cupy() is None:
            raise RuntimeError(
                f"GPUGRAD_BACKEND=cupy but no usable GPU: {_cupy_error}. Install CuPy for your CUDA "
                "(pip install 'gpugrad[cuda12]' or '[cuda13]') on a machine with an NVIDIA GPU, "
                "or set GPUGRAD_BACKEND=numpy (or auto) to run on the CPU.")
        return _cupy
    return _probe_cupy() or np


def default_xp():
    """The array module that new tensors are created with."""
    global _default
    if _default is None:
        _default = _resolve(os.environ.get("GPUGRAD_BACKEND", "auto"))
    return _default


def backend():
    """Name of the default backend: 'numpy' or 'cupy'."""
    return "numpy" if default_xp() is np else "cupy"


def set_backend(name):
    """Switch the backend for new tensors: 'numpy', 'cupy' or 'auto'."""
    global _default
    _default = _resolve(name)
    return backend()


def get_array_module(array):
    """numpy for host arrays (and scalars), cupy for device arrays."""
    if _cupy is not None and isinstance(array, _cupy.ndarray):
        return _cupy
    return np


def device_of(array):
    return "gpu" if get_array_module(array) is not np else "cpu"


def xp_for_device(device):
    if device is None:
        return default_xp()
    if device not in DEVICES:
        raise ValueError(f"unknown device {device!r}; valid devices are 'cpu' and 'gpu'")
    return np if device == "cpu" else _resolve("cupy")


def to_device(array, device):
    """Move an array to 'cpu' or 'gpu' (no copy when it is already there)."""
    xp = xp_for_device(device)
    if get_array_module(array) is xp:
        return array
    return to_numpy(array) if xp is np else xp.asarray(array)


def to_numpy(array):
    """A host numpy.ndarray for any backend array."""
    if get_array_module(array) is not np:
        return array.get()
    return np.asarray(array)


def scatter_add(target, index, values):
    """target[index] += values, accumulating repeated indices (the backward of gather)."""
    xp = get_array_module(target)
    if xp is np:
        np.add.at(target, index, values)
    else:
        import cupyx
        cupyx.scatter_add(target, index, values)


def erf(x):
    """Elementwise error function (exact GELU needs it; NumPy has none)."""
    if get_array_module(x) is np:
        return _numpy_erf()(x)
    import cupyx.scipy.special
    return cupyx.scipy.special.erf(x)


_erf_ufunc = None


def _numpy_erf():
    # scipy is not a dependency; a numba ufunc over math.erf is exact and fast, compiled once.
    global _erf_ufunc
    if _erf_ufunc is None:
        import math
        import numba
        _erf_ufunc = numba.vectorize(["float32(float32)", "float64(float64)"])(lambda v: math.erf(v))
    return _erf_ufunc


def generator(xp):
    """The module-wide random generator of one backend (seeded by manual_seed)."""
    if xp not in _rng:
        _rng[xp] = xp.random.default_rng(0)
    return _rng[xp]


def manual_seed(seed):
    """Seed the random generators of every backend."""
    _rng[np] = np.random.default_rng(seed)
    if _cupy is not None:
        _rng[_cupy] = _cupy.random.default_rng(seed)


_streams = {}   # CuPy stream pointer -> numba external stream


def current_stream():
    """Numba's handle on CuPy's current stream, for kernel launches; None on the CPU."""
    if _cupy is None:
        return None
    # NOTE: DLPack (how numba-cuda takes CuPy arrays) forbids stream 0; 1 is cudaStreamLegacy,
    # the same null stream under the name DLPack accepts.
    ptr = _cupy.cuda.get_current_stream().ptr or 1
    stream = _streams.get(ptr)
    if stream is None:
        from numba import cuda
        stream = _streams[ptr] = cuda.external_stream(ptr)
    return stream


class _CallableModule(types.ModuleType):
    """Lets ``gg.backend()`` name the backend while ``gpugrad.backend`` stays this module.

    A plain ``from .backend import backend`` in the package would shadow the module with the
    function and break ``import gpugrad.backend`` everywhere else.
    """

    def __call__(self):
        return backend()


sys.modules[__name__].__class__ = _CallableModule
