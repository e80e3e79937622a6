"""Fused optimizer updates: one elementwise kernel per call over flat float arrays, in place.

Formulas follow PyTorch's single-tensor SGD and Adam/AdamW. Per-step scalars (bias
corrections, step size) are computed on the host in float64 and passed in the array dtype.
"""
import functools
import math

import numpy as np

from . import _launch
from ._launch import Kernel

cuda = None  # numba.cuda, bound on first build (see _reduce.kernels for why it is a global)


@functools.cache
def kernels(dtype):
    """(sgd, adam) kernels for one dtype; grid-stride loops, so any block size works."""
    global cuda
    from numba import cuda
    scalar = getattr(np, dtype)
    zero, one = scalar(0), scalar(1)

    def sgd_update(param, grad, momentum_buf, lr, momentum, dampening, weight_decay, nesterov,
                   first_step):
        for i in range(cuda.grid(1), param.shape[0], cuda.gridsize(1)):
            p = param[i]
            g = grad[i]
            if weight_decay != zero:
                g += weight_decay * p
            if momentum != zero:
                b = g if first_step else momentum * momentum_buf[i] + (one - dampening) * g
                momentum_buf[i] = b
                g = g + momentum * b if nesterov else b
            param[i] = p - lr * g

    def adam_update(param, grad, exp_avg, exp_avg_sq, beta1, beta2, eps, weight_decay, decay,
                    step_size, bias_correction2_sqrt, decoupled):
        for i in range(cuda.grid(1), param.shape[0], cuda.gridsize(1)):
            p = param[i]
            g = grad[i]
            if decoupled:
                p *= decay  # AdamW: p *= 1 - lr * weight_decay, before the Adam step
            elif weight_decay != zero:
                g += weight_decay * p
            m = exp_avg[i]
            m += (one - beta1) * (g - m)  # PyTorch's exp_avg.lerp_(grad, 1 - beta1)
            v = beta2 * exp_avg_sq[i] + (one - beta2) * g * g
            exp_avg[i] = m
            exp_avg_sq[i] = v
            param[i] = p - step_size * m / (math.sqrt(v) / bias_correction2_sqrt + eps)

    t = dtype
    v = f"{t}[::1]"
    return (
        Kernel(sgd_update, f"void({v}, {v}, {v}, {t}, {t}, {t}, {t}, boolean, boolean)"),
        Kernel(adam_update,
               f"void({v}, {v}, {v}, {v}, {t}, {t}, {t}, {t}, {t}, {t}, {t}, boolean)"),
    )


def _check(param, *others):
    """In-place updates cannot go through a copy: insist on flat, contiguous, same-dtype arrays."""
    dtype = _launch.float_dtype(param)
    for array in (param, *others):
        if array.ndim != 1 or array.shape != param.shape or array.dtype != param.dtype \
                or not array.flags.c_contiguous:
            raise ValueError("optimizer kernels update flat, contiguous arrays of one shape "
                             f"and dtype; got {array.shape} {array.dtype} next to "
                             f"{param.shape} {param.dtype}")
    return dtype


def _grid(n):
    return (max(1, min(_launch.cdiv(n, _launch.BLOCK), _launch.MAX_BLOCKS)),), (_launch.BLOCK,)


def sgd_update(param, grad, momentum_buf, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,
               nesterov=False, first_step=False):
    """PyTorch SGD step on flat arrays, in place. momentum_buf may be None when momentum == 0;
    first_step=True initialises it to the gradient (PyTorch's `buf = clone(grad)`)."""
    if momentum_buf is None:
        if momentum != 0:
            raise ValueError("SGD with momentum needs a momentum buffer")
        dtype = _check(param, grad)
        momentum_buf = param[:0]  # never read when momentum == 0; the signature wants an array
    else:
        dtype = _check(param, grad, momentum_buf)
    xp, stream = _launch.context(param)
    if param.size:
        sgd, _ = kernels(dtype)
        sgd(*_grid(param.size), stream, param, grad, momentum_buf,
            lr, momentum, dampening, weight_decay, bool(nesterov), bool(first_step))


def adam_update(param, grad, exp_avg, exp_avg_sq, lr, beta1, beta2, eps, weight_decay=0.0,
                decoupled=False, step=1):
    """PyTorch Adam (decoupled=False: L2 term added to the gradient) or AdamW (decoupled=True:
    p *= 1 - lr * weight_decay first) on flat arrays, in place. step: 1-based, after increment."""
    dtype = _check(param, grad, exp_avg, exp_avg_sq)
    xp, stream = _launch.context(param)
    if param.size:
        _, adam = kernels(dtype)
        step_size = lr / (1 - beta1 ** step)
        bias_correction2_sqrt = math.sqrt(1 - beta2 ** step)
        adam(*_grid(param.size), stream, param, grad, exp_avg, exp_avg_sq, beta1, beta2, eps,
             weight_decay, 1 - lr * weight_decay, step_size, bias_correction2_sqrt,
             bool(decoupled))
