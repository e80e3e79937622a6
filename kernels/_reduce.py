"""Second pass of the column reductions: sum per-block partial rows (P, M) into (M,).

Column sums (grad_bias, grad_gamma, grad_beta) are first written as one partial row per block
row of the grid instead of being accumulated with atomics: deterministic, and no contention.
"""
import functools

import numpy as np

from . import _launch
from ._launch import Kernel

cuda = None  # numba.cuda, bound on first build (see kernels)


@functools.cache
def kernels(dtype, block):
    # NOTE: numba.cuda is imported here, on first use, so `import gpugrad` stays cheap. It must
    # be a module global: the CUDA simulator swaps `cuda` in a kernel's module globals.
    global cuda
    from numba import cuda
    from ._device import column_sum
    scalar = getattr(np, dtype)
    zero = scalar(0)

    def sum_partial_rows(partial, out):
        buf = cuda.shared.array(block, scalar)
        col = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
        total = zero
        if col < partial.shape[1]:
            for p in range(cuda.threadIdx.y, partial.shape[0], cuda.blockDim.y):
                total += partial[p, col]
        total = column_sum(buf, total)
        if cuda.threadIdx.y == 0 and col < partial.shape[1]:
            out[col] = total

    return (Kernel(sum_partial_rows, f"void({dtype}[:, ::1], {dtype}[::1])"),)


def sum_partial_rows(xp, stream, partial):
    """(P, M) partial sums -> (M,) totals, on the same stream."""
    rows, cols = partial.shape
    out = xp.empty(cols, partial.dtype)
    # A warp across columns keeps reads coalesced; the other threads split the P rows.
    bx = min(32, _launch.tile(cols)[0])
    by = _launch.BLOCK // bx
    (kernel,) = kernels(partial.dtype.name, _launch.BLOCK)
    kernel((_launch.cdiv(cols, bx),), (bx, by), stream, partial, out)
    return out
