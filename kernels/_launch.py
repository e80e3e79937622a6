"""Launching: array module and stream lookup, launch shapes, and lazily compiled kernels.

Nothing here imports numba at module level: `import gpugrad` must stay cheap and must work on
machines without CUDA. Kernels are compiled on first launch, once per dtype/variant.
"""
import os

import numpy as np

ACTIVATIONS = ("identity", "relu", "gelu", "gelu_tanh", "tanh")  # index = code used by kernels
DTYPES = ("float32", "float64")

# Threads per block for every kernel; a power of two. Tests shrink it (the simulator runs one OS
# thread per CUDA thread), so launchers read it at call time, never at import.
BLOCK = int(os.environ.get("GPUGRAD_KERNEL_BLOCK", "256"))
# Cap on blocks per grid: ~8 per SM of an H100/H200 keeps it busy; beyond that, extra blocks only
# add per-block partial sums (column reductions) and scheduling. Kernels loop over the rest.
MAX_BLOCKS = int(os.environ.get("GPUGRAD_KERNEL_MAX_BLOCKS", "1024"))


def cdiv(a, b):
    return -(-a // b)


def tile(cols):
    """(threads along columns, rows per block) for a 2-D tile of BLOCK threads.

    Narrow rows (10 classes, say) pack several rows into one block instead of idling threads."""
    assert BLOCK & (BLOCK - 1) == 0, f"BLOCK must be a power of two, not {BLOCK}"
    bx = min(BLOCK, 1 << max(0, int(cols) - 1).bit_length())
    return bx, BLOCK // bx


def tile_grid(rows, cols, bx, by):
    """Grid for a tile kernel whose threads loop over rows (stride gridDim.y * blockDim.y)."""
    gx = cdiv(cols, bx)
    return gx, max(1, min(cdiv(rows, by), MAX_BLOCKS // gx))


_backend = None


def context(array):
    """(xp, stream) for launching on `array`: CuPy's current stream on a GPU, none for NumPy
    arrays (the CUDA simulator, NUMBA_ENABLE_CUDASIM=1, runs kernels on them)."""
    global _backend
    if _backend is None:
        from gpugrad import backend as _backend  # lazy: gpugrad itself imports this package
    xp = _backend.get_array_module(array)
    if xp is np:
        return xp, None
    return xp, _backend.current_stream()


def contiguous(xp, array, dtype=None):
    """C-contiguous view (or copy when needed) with the dtype the kernel signature expects."""
    return xp.ascontiguousarray(array, dtype=dtype)


def float_dtype(array):
    name = np.dtype(array.dtype).name
    if name not in DTYPES:
        raise TypeError(f"fused kernels take float32 or float64 arrays, got {name}")
    return name


class Kernel:
    """A kernel body plus its Numba signature; compiled on first launch (once per process).

    The explicit signature pins argument types (Python floats become the array dtype, not
    float64) and is exactly what the PTX/ptxas checks compile."""

    def __init__(self, pyfunc, signature, variant=""):
        self.pyfunc = pyfunc
        self.signature = signature
        self.name = pyfunc.__name__ + (f"[{variant}]" if variant else "")
        self._jitted = None

    def __call__(self, grid, block, stream, *args):
        if self._jitted is None:
            from numba import cuda
            self._jitted = cuda.jit(self.signature)(self.pyfunc)
        launch = self._jitted[grid, block] if stream is None else self._jitted[grid, block, stream]
        launch(*args)


def all_kernels(dtype="float32"):
    """Every kernel variant for `dtype` at the current BLOCK: (family, Kernel) pairs.

    Used by the PTX/ptxas checks and benchmarks/kernel_resources.py."""
    from . import bias_act, layer_norm, optim_update, softmax_xent, _reduce
    found = [("reduce", _reduce.kernels(dtype, BLOCK))]
    for activation in ACTIVATIONS:
        found.append(("bias_act", bias_act.kernels(dtype, BLOCK, ACTIVATIONS.index(activation))))
    found.append(("softmax_xent", softmax_xent.kernels(dtype, BLOCK, "int64")))
    for has_gamma, has_beta in ((True, True), (False, False)):
        found.append(("layer_norm", layer_norm.kernels(dtype, BLOCK, has_gamma, has_beta)))
    found.append(("optim_update", optim_update.kernels(dtype)))
    return [(family, kernel) for family, group in found for kernel in group]
