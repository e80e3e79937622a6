"""Fused softmax + cross-entropy with integer targets, ignore_index and label smoothing.

Forward: one tile row of threads per logits row; a single pass keeps a running max and a
running sum of exp(x - max) per thread (online softmax), so logits are read once. Backward is
elementwise (no reduction) and recomputes softmax from the saved log-sum-exp.
"""
import functools
import math

import numpy as np

from . import _launch
from ._launch import Kernel

cuda = None  # numba.cuda, bound on first build (see _reduce.kernels for why it is a global)


@functools.cache
def kernels(dtype, block, target_dtype):
    """(forward, backward) kernels for one logits dtype, block size and targets dtype."""
    global cuda
    from numba import cuda
    from ._device import row_sum
    scalar = getattr(np, dtype)
    zero, one, neg_inf, nan = scalar(0), scalar(1), scalar(-np.inf), scalar(np.nan)

    def softmax_xent_forward(logits, targets, ignore_index, confidence, uniform, loss, lse):
        maxes = cuda.shared.array(block, scalar)
        sums = cuda.shared.array(block, scalar)
        buf = cuda.shared.array(block, scalar)
        tx = cuda.threadIdx.x
        width = cuda.blockDim.x
        at = cuda.threadIdx.y * width + tx
        row = cuda.blockIdx.x * cuda.blockDim.y + cuda.threadIdx.y
        n, c = logits.shape
        running_max, running_sum, logit_sum = neg_inf, zero, zero
        if row < n:
            for j in range(tx, c, width):
                x = logits[row, j]
                logit_sum += x
                if x > running_max:
                    running_sum = running_sum * math.exp(running_max - x) + one
                    running_max = x
                elif running_max != neg_inf:  # both -inf: exp(nan); skip, it adds nothing
                    running_sum += math.exp(x - running_max)
        maxes[at] = running_max
        sums[at] = running_sum
        cuda.syncthreads()
        step = width // 2
        while step > 0:  # tree-combine (max, sum) pairs of the row
            if tx < step:
                other_max, other_sum = maxes[at + step], sums[at + step]
                new_max = max(maxes[at], other_max)
                if new_max != neg_inf:
                    sums[at] = (sums[at] * math.exp(maxes[at] - new_max)
                                + other_sum * math.exp(other_max - new_max))
                    maxes[at] = new_max
            cuda.syncthreads()
            step //= 2
        logit_sum = row_sum(buf, logit_sum)
        if tx == 0 and row < n:
            row_lse = maxes[at] + math.log(sums[at])
            lse[row] = row_lse
            target = targets[row]
            if target == ignore_index:
                loss[row] = zero
            elif target < 0 or target >= c:
                loss[row] = nan  # a kernel cannot raise; NaN makes the bad target visible
            else:
                loss[row] = row_lse - confidence * logits[row, target] - uniform * logit_sum

    def softmax_xent_backward(grad_rows, logits, targets, lse, ignore_index, confidence, uniform,
                              grad):
        col = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
        if col < logits.shape[1]:  # no barrier, so threads past the edge may leave
            first = cuda.blockIdx.y * cuda.blockDim.y + cuda.threadIdx.y
            for row in range(first, logits.shape[0], cuda.gridDim.y * cuda.blockDim.y):
                target = targets[row]
                if target == ignore_index:
                    grad[row, col] = zero
                else:
                    hit = confidence if col == target else zero
                    p = math.exp(logits[row, col] - lse[row])
                    grad[row, col] = (p - uniform - hit) * grad_rows[row]

    t, i = dtype, target_dtype
    return (
        Kernel(softmax_xent_forward,
               f"void({t}[:, ::1], {i}[::1], int64, {t}, {t}, {t}[::1], {t}[::1])", i),
        Kernel(softmax_xent_backward,
               f"void({t}[::1], {t}[:, ::1], {i}[::1], {t}[::1], int64, {t}, {t}, {t}[:, ::1])", i),
    )


def _prepare(logits, targets, label_smoothing):
    xp, stream = _launch.context(logits)
    dtype = _launch.float_dtype(logits)
    if logits.ndim != 2 or targets.shape != logits.shape[:1]:
        raise ValueError(
            f"need logits (N, C) and targets (N,), got {logits.shape} and {targets.shape}")
    target_dtype = np.dtype(targets.dtype).name
    if target_dtype not in ("int32", "int64"):
        targets, target_dtype = targets.astype(np.int64), "int64"
    logits = _launch.contiguous(xp, logits)
    targets = _launch.contiguous(xp, targets)
    forward, backward = kernels(dtype, _launch.BLOCK, target_dtype)
    # PyTorch's smoothing: target distribution (1 - ls) * onehot + ls / C
    confidence = 1.0 - label_smoothing
    uniform = label_smoothing / logits.shape[1] if logits.shape[1] else 0.0
    return xp, stream, logits, targets, forward, backward, confidence, uniform


def softmax_xent_forward(logits, targets, ignore_index=-100, label_smoothing=0.0):
    """Per-row loss and log-sum-exp. logits (N, C) float, targets (N,) int -> (loss_rows, lse).

    loss_i = lse_i - (1 - ls) * logits[i, t_i] - ls / C * sum_j logits[i, j]; 0 where
    t_i == ignore_index; NaN for a target outside [0, C)."""
    xp, stream, logits, targets, forward, _, confidence, uniform = _prepare(
        logits, targets, label_smoothing)
    n, c = logits.shape
    loss = xp.empty(n, logits.dtype)
    lse = xp.empty(n, logits.dtype)
    if n:
        bx, by = _launch.tile(c)
        forward((_launch.cdiv(n, by),), (bx, by), stream,
                logits, targets, ignore_index, confidence, uniform, loss, lse)
    return loss, lse


def softmax_xent_backward(grad_rows, logits, targets, lse, ignore_index=-100,
                          label_smoothing=0.0):
    """grad_logits = (softmax - ((1 - ls) * onehot + ls / C)) * grad_rows[:, None]; 0 on rows
    whose target is ignore_index. grad_rows, lse: (N,)."""
    xp, stream, logits, targets, _, backward, confidence, uniform = _prepare(
        logits, targets, label_smoothing)
    grad_rows = _launch.contiguous(xp, grad_rows, logits.dtype)
    lse = _launch.contiguous(xp, lse, logits.dtype)
    grad = xp.empty_like(logits)
    if logits.size:
        n, c = logits.shape
        bx, by = _launch.tile(c)
        backward(_launch.tile_grid(n, c, bx, by), (bx, by), stream,
                 grad_rows, logits, targets, lse, ignore_index, confidence, uniform, grad)
    return grad
