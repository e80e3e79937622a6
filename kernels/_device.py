"""Scalar math and block reductions shared by the kernels, as CUDA device functions.

Imported only when a kernel is first built (it imports numba.cuda).
"""
import functools
import math

import numpy as np
from numba import cuda

from ._launch import ACTIVATIONS

RELU = ACTIVATIONS.index("relu")
GELU = ACTIVATIONS.index("gelu")
GELU_TANH = ACTIVATIONS.index("gelu_tanh")
TANH = ACTIVATIONS.index("tanh")


@functools.cache
def activations(dtype):
    """(activate, activate_grad) device functions for one float dtype: act(x) and act'(x).

    `kind` is an ACTIVATIONS index; kernels pass it as a compile-time constant, so after
    inlining only one branch is left. Constants carry the dtype because a bare 0.5 is float64
    in Numba and would silently promote float32 math to float64."""
    f = getattr(np, dtype)
    zero, half, one = f(0), f(0.5), f(1)
    inv_sqrt2, inv_sqrt_2pi = f(1 / math.sqrt(2)), f(1 / math.sqrt(2 * math.pi))
    k, c, c3 = f(math.sqrt(2 / math.pi)), f(0.044715), f(3 * 0.044715)  # tanh-GELU

    @cuda.jit(device=True)
    def gelu(x):
        return half * x * (one + math.erf(x * inv_sqrt2))

    @cuda.jit(device=True)
    def gelu_grad(x):  # Phi(x) + x * phi(x)
        return half * (one + math.erf(x * inv_sqrt2)) + x * inv_sqrt_2pi * math.exp(-half * x * x)

    @cuda.jit(device=True)
    def gelu_tanh(x):
        return half * x * (one + math.tanh(k * (x + c * x * x * x)))

    @cuda.jit(device=True)
    def gelu_tanh_grad(x):
        t = math.tanh(k * (x + c * x * x * x))
        return half * (one + t) + half * x * (one - t * t) * k * (one + c3 * x * x)

    @cuda.jit(device=True)
    def activate(x, kind):
        if kind == RELU:
            return x if x > zero else zero
        if kind == GELU:
            return gelu(x)
        if kind == GELU_TANH:
            return gelu_tanh(x)
        if kind == TANH:
            return math.tanh(x)
        return x

    @cuda.jit(device=True)
    def activate_grad(x, kind):
        if kind == RELU:
            return one if x > zero else zero
        if kind == GELU:
            return gelu_grad(x)
        if kind == GELU_TANH:
            return gelu_tanh_grad(x)
        if kind == TANH:
            t = math.tanh(x)
            return one - t * t
        return one

    return activate, activate_grad


@cuda.jit(device=True)
def row_sum(buf, value):
    """Sum `value` over the threads of one tile row (same threadIdx.y); every thread gets it.

    buf: shared array of at least blockDim.x * blockDim.y elements; blockDim.x a power of two.
    Every thread of the block must call this (it synchronizes the block)."""
    tx = cuda.threadIdx.x
    row = cuda.threadIdx.y * cuda.blockDim.x
    buf[row + tx] = value
    cuda.syncthreads()
    step = cuda.blockDim.x // 2
    while step > 0:
        if tx < step:
            buf[row + tx] += buf[row + tx + step]
        cuda.syncthreads()
        step //= 2
    total = buf[row]
    cuda.syncthreads()  # buf is free again for the caller's next reduction
    return total


@cuda.jit(device=True)
def column_sum(buf, value):
    """Sum `value` over the tile rows of this block (same threadIdx.x); every thread gets it.

    buf as in row_sum; blockDim.y a power of two. Every thread of the block must call this."""
    tx = cuda.threadIdx.x
    ty = cuda.threadIdx.y
    width = cuda.blockDim.x
    buf[ty * width + tx] = value
    cuda.syncthreads()
    step = cuda.blockDim.y // 2
    while step > 0:
        if ty < step:
            buf[ty * width + tx] += buf[(ty + step) * width + tx]
        cuda.syncthreads()
        step //= 2
    total = buf[tx]
    cuda.syncthreads()  # buf is free again for the caller's next reduction
    return total
