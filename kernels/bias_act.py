"""Fused bias + activation of a linear layer: y = act(z + bias), with z = x @ W.T done by BLAS.

Both kernels tile (rows, columns) with 2-D blocks; each thread keeps one column and walks rows,
so the bias is read once per thread and grad_bias is summed in a register before one partial
row per block goes to the second pass (_reduce).
"""
import functools

import numpy as np

from . import _launch, _reduce
from ._launch import ACTIVATIONS, Kernel

cuda = None  # numba.cuda, bound on first build (see _reduce.kernels for why it is a global)


@functools.cache
def kernels(dtype, block, activation):
    """(forward, backward) kernels for one dtype, block size and activation code."""
    global cuda
    from numba import cuda
    from ._device import activations, column_sum
    activate, activate_grad = activations(dtype)
    scalar = getattr(np, dtype)
    zero = scalar(0)

    def bias_act_forward(z, bias, y):
        col = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
        if col < z.shape[1]:  # no barrier below, so threads past the edge may leave
            b = bias[col]
            first = cuda.blockIdx.y * cuda.blockDim.y + cuda.threadIdx.y
            for row in range(first, z.shape[0], cuda.gridDim.y * cuda.blockDim.y):
                y[row, col] = activate(z[row, col] + b, activation)

    def bias_act_backward(grad_y, z, bias, grad_z, partial):
        buf = cuda.shared.array(block, scalar)
        col = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
        total = zero
        if col < z.shape[1]:
            b = bias[col]
            first = cuda.blockIdx.y * cuda.blockDim.y + cuda.threadIdx.y
            for row in range(first, z.shape[0], cuda.gridDim.y * cuda.blockDim.y):
                g = grad_y[row, col] * activate_grad(z[row, col] + b, activation)
                grad_z[row, col] = g
                total += g
        total = column_sum(buf, total)
        if cuda.threadIdx.y == 0 and col < z.shape[1]:
            partial[cuda.blockIdx.y, col] = total

    t = dtype
    variant = ACTIVATIONS[activation]
    return (
        Kernel(bias_act_forward, f"void({t}[:, ::1], {t}[::1], {t}[:, ::1])", variant),
        Kernel(bias_act_backward,
               f"void({t}[:, ::1], {t}[:, ::1], {t}[::1], {t}[:, ::1], {t}[:, ::1])", variant),
    )


def _prepare(z, bias, activation):
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    xp, stream = _launch.context(z)
    dtype = _launch.float_dtype(z)
    z = _launch.contiguous(xp, z)
    z2 = z.reshape(-1, z.shape[-1])  # leading axes are all rows
    bias = xp.zeros(z.shape[-1], dtype) if bias is None else _launch.contiguous(xp, bias, dtype)
    forward, backward = kernels(dtype, _launch.BLOCK, ACTIVATIONS.index(activation))
    bx, by = _launch.tile(z2.shape[1])
    grid = _launch.tile_grid(z2.shape[0], z2.shape[1], bx, by)
    return xp, stream, z, z2, bias, forward, backward, grid, (bx, by)


def bias_act_forward(z, bias, activation):
    """y = act(z + bias). z: (N, M) (any leading axes), bias: (M,) or None -> y like z."""
    xp, stream, z, z2, bias, forward, _, grid, block = _prepare(z, bias, activation)
    y = xp.empty_like(z)
    if z.size:
        forward(grid, block, stream, z2, bias, y.reshape(z2.shape))
    return y


def bias_act_backward(grad_y, z, bias, activation):
    """grad_z = grad_y * act'(z + bias); grad_bias = grad_z summed over rows (None if bias is None).

    Recomputes z + bias instead of saving it: one read of z is cheaper than storing y."""
    has_bias = bias is not None
    xp, stream, z, z2, bias, _, backward, grid, block = _prepare(z, bias, activation)
    grad_y = _launch.contiguous(xp, grad_y, z.dtype).reshape(z2.shape)
    grad_z = xp.empty_like(z)
    if not z.size:
        return grad_z, (xp.zeros_like(bias) if has_bias else None)
    partial = xp.empty((grid[1], z2.shape[1]), z.dtype)
    backward(grid, block, stream, grad_y, z2, bias, grad_z.reshape(z2.shape), partial)
    grad_bias = _reduce.sum_partial_rows(xp, stream, partial) if has_bias else None
    return grad_z, grad_bias
