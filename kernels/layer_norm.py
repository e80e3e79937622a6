"""Fused layer norm over the last axis, forward and backward.

Row kernels put one tile row of threads on each input row (several rows per block when rows are
short). Mean and variance take two passes over the row (the second one mostly hits L1/L2), which
keeps var = mean((x - mean)^2) accurate where E[x^2] - mean^2 would cancel. grad_gamma and
grad_beta are column sums, done by a separate column-tiled kernel plus the _reduce second pass
(the same split PyTorch uses), since the row layout cannot keep per-column sums in registers.
"""
import functools
import math

import numpy as np

from . import _launch, _reduce
from ._launch import Kernel

cuda = None  # numba.cuda, bound on first build (see _reduce.kernels for why it is a global)


@functools.cache
def kernels(dtype, block, has_gamma, has_beta):
    """(forward, backward_x, backward_gamma_beta) for one dtype, block size and affine flags.

    Missing gamma/beta are compile-time flags; the launcher passes an empty placeholder array."""
    global cuda
    from numba import cuda
    from ._device import column_sum, row_sum
    scalar = getattr(np, dtype)
    zero, one = scalar(0), scalar(1)

    def layer_norm_forward(x, gamma, beta, eps, y, mean, rstd):
        buf = cuda.shared.array(block, scalar)
        tx, width = cuda.threadIdx.x, cuda.blockDim.x
        row = cuda.blockIdx.x * cuda.blockDim.y + cuda.threadIdx.y
        n, d = x.shape
        inside = row < n  # rows past the end still join every barrier
        total = zero
        if inside:
            for j in range(tx, d, width):
                total += x[row, j]
        mu = row_sum(buf, total) / scalar(d)
        squares = zero
        if inside:
            for j in range(tx, d, width):
                centered = x[row, j] - mu
                squares += centered * centered
        r = one / math.sqrt(row_sum(buf, squares) / scalar(d) + eps)
        if inside:
            if tx == 0:
                mean[row] = mu
                rstd[row] = r
            for j in range(tx, d, width):
                value = (x[row, j] - mu) * r
                if has_gamma:
                    value *= gamma[j]
                if has_beta:
                    value += beta[j]
                y[row, j] = value

    def layer_norm_backward_x(grad_y, x, gamma, mean, rstd, grad_x):
        # grad_x = rstd * (g - mean(g) - xhat * mean(g * xhat)),  g = grad_y * gamma
        buf = cuda.shared.array(block, scalar)
        tx, width = cuda.threadIdx.x, cuda.blockDim.x
        row = cuda.blockIdx.x * cuda.blockDim.y + cuda.threadIdx.y
        n, d = x.shape
        inside = row < n
        mu, r = zero, zero
        sum_g, sum_g_xhat = zero, zero
        if inside:
            mu, r = mean[row], rstd[row]
            for j in range(tx, d, width):
                g = grad_y[row, j] * gamma[j] if has_gamma else grad_y[row, j]
                sum_g += g
                sum_g_xhat += g * (x[row, j] - mu) * r
        mean_g = row_sum(buf, sum_g) / scalar(d)
        mean_g_xhat = row_sum(buf, sum_g_xhat) / scalar(d)
        if inside:
            for j in range(tx, d, width):
                g = grad_y[row, j] * gamma[j] if has_gamma else grad_y[row, j]
                grad_x[row, j] = r * (g - mean_g - (x[row, j] - mu) * r * mean_g_xhat)

    def layer_norm_backward_gamma_beta(grad_y, x, mean, rstd, partial):
        # partial[p, j] = this block row's share of sum(grad_y * xhat), partial[p, d + j] of
        # sum(grad_y): one (P, 2D) array so one second pass finishes both.
        buf = cuda.shared.array(block, scalar)
        col = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
        n, d = x.shape
        sum_gamma, sum_beta = zero, zero
        if col < d:
            first = cuda.blockIdx.y * cuda.blockDim.y + cuda.threadIdx.y
            for row in range(first, n, cuda.gridDim.y * cuda.blockDim.y):
                g = grad_y[row, col]
                sum_gamma += g * (x[row, col] - mean[row]) * rstd[row]
                sum_beta += g
        sum_gamma = column_sum(buf, sum_gamma)
        sum_beta = column_sum(buf, sum_beta)
        if cuda.threadIdx.y == 0 and col < d:
            partial[cuda.blockIdx.y, col] = sum_gamma
            partial[cuda.blockIdx.y, d + col] = sum_beta

    t = dtype
    variant = ("gamma" if has_gamma else "") + ("+beta" if has_beta else "") or "plain"
    matrix, vector = f"{t}[:, ::1]", f"{t}[::1]"
    return (
        Kernel(layer_norm_forward,
               f"void({matrix}, {vector}, {vector}, {t}, {matrix}, {vector}, {vector})", variant),
        Kernel(layer_norm_backward_x,
               f"void({matrix}, {matrix}, {vector}, {vector}, {vector}, {matrix})", variant),
        Kernel(layer_norm_backward_gamma_beta,
               f"void({matrix}, {matrix}, {vector}, {vector}, {matrix})", variant),
    )


def layer_norm_forward(x, gamma=None, beta=None, eps=1e-5):
    """y = (x - mean) * rstd * gamma + beta over the last axis. x (..., D); gamma, beta (D,) or
    None -> (y like x, mean, rstd of shape x.shape[:-1] in x's dtype)."""
    xp, stream = _launch.context(x)
    dtype = _launch.float_dtype(x)
    x = _launch.contiguous(xp, x)
    x2 = x.reshape(-1, x.shape[-1])
    n, d = x2.shape
    empty = x2.reshape(-1)[:0]  # placeholder for a missing gamma/beta; the kernel never reads it
    gamma_arg = empty if gamma is None else _launch.contiguous(xp, gamma, dtype)
    beta_arg = empty if beta is None else _launch.contiguous(xp, beta, dtype)
    forward, _, _ = kernels(dtype, _launch.BLOCK, gamma is not None, beta is not None)
    y = xp.empty_like(x)
    mean = xp.empty(n, dtype)
    rstd = xp.empty(n, dtype)
    if x.size:
        bx, by = _launch.tile(d)
        forward((_launch.cdiv(n, by),), (bx, by), stream,
                x2, gamma_arg, beta_arg, eps, y.reshape(x2.shape), mean, rstd)
    return y, mean.reshape(x.shape[:-1]), rstd.reshape(x.shape[:-1])


def layer_norm_backward(grad_y, x, gamma, mean, rstd):
    """(grad_x like x, grad_gamma (D,), grad_beta (D,)); the last two are None when gamma is
    None. mean, rstd: as returned by layer_norm_forward."""
    xp, stream = _launch.context(x)
    dtype = _launch.float_dtype(x)
    x = _launch.contiguous(xp, x)
    x2 = x.reshape(-1, x.shape[-1])
    n, d = x2.shape
    grad_y = _launch.contiguous(xp, grad_y, dtype).reshape(x2.shape)
    mean = _launch.contiguous(xp, mean, dtype).reshape(-1)
    rstd = _launch.contiguous(xp, rstd, dtype).reshape(-1)
    has_gamma = gamma is not None
    gamma_arg = _launch.contiguous(xp, gamma, dtype) if has_gamma else x2.reshape(-1)[:0]
    # Backward kernels ignore has_beta; keying it like gamma reuses the usual forward's build.
    _, backward_x, backward_gamma_beta = kernels(dtype, _launch.BLOCK, has_gamma, has_gamma)
    grad_x = xp.empty_like(x)
    if not x.size:
        grads = (xp.zeros(d, dtype), xp.zeros(d, dtype)) if has_gamma else (None, None)
        return (grad_x, *grads)
    bx, by = _launch.tile(d)
    backward_x((_launch.cdiv(n, by),), (bx, by), stream,
               grad_y, x2, gamma_arg, mean, rstd, grad_x.reshape(x2.shape))
    if not has_gamma:
        return grad_x, None, None
    grid = _launch.tile_grid(n, d, bx, by)
    partial = xp.empty((grid[1], 2 * d), dtype)
    backward_gamma_beta(grid, (bx, by), stream, grad_y, x2, mean, rstd, partial)
    totals = _reduce.sum_partial_rows(xp, stream, partial)
    return grad_x, totals[:d], totals[d:]
