import numpy as np
import pytest

from kernel_helpers import LOOPING_GRIDS, assert_close, nonzero

IGNORE = -100


def reference(logits, targets, ignore_index, smoothing):
    """(loss_rows, lse, d loss_rows / d logits) in float64, PyTorch's label smoothing."""
    x = logits.astype(np.float64)
    n, c = x.shape
    lse = np.log(np.exp(x - x.max(1, keepdims=True)).sum(1)) + x.max(1)
    keep = targets != ignore_index
    safe = np.where(keep, targets, 0)
    picked = x[np.arange(n), safe]
    loss = np.where(keep, lse - (1 - smoothing) * picked - smoothing / c * x.sum(1), 0.0)
    onehot = np.zeros_like(x)
    onehot[np.arange(n), safe] = 1
    grad = (np.exp(x - lse[:, None]) - ((1 - smoothing) * onehot + smoothing / c))
    return loss, lse, grad * keep[:, None]


CASES = [  # (shape, label_smoothing, ignore some rows)
    ((3, 37), 0.0, False), ((3, 37), 0.1, True), ((1, 37), 0.2, False),
    ((5, 1), 0.0, True), ((9, 3), 0.1, True), ((1, 1), 0.0, False),
]


@pytest.mark.parametrize("shape, smoothing, ignore", CASES, ids=str)
def test_softmax_xent_matches_reference(K, launch, shape, smoothing, ignore):
    check(K, shape, smoothing, ignore, np.int64)


@pytest.mark.parametrize("launch", LOOPING_GRIDS, indirect=True, ids=str)
def test_softmax_xent_int32_targets_and_looping_grid(K, launch):
    check(K, (9, 37), 0.1, True, np.int32)


def check(K, shape, smoothing, ignore, target_dtype):
    n, c = shape
    logits = nonzero(shape, 1) * 3
    targets = np.random.default_rng(2).integers(0, c, n).astype(target_dtype)
    if ignore:
        targets[::2] = IGNORE
    grad_rows = nonzero((n,), 3)
    loss_ref, lse_ref, grad_ref = reference(logits, targets, IGNORE, smoothing)

    loss, lse = K.softmax_xent_forward(logits, targets, IGNORE, smoothing)
    assert loss.dtype == lse.dtype == np.float32
    assert_close(loss, loss_ref, tol=1e-4)
    assert_close(lse, lse_ref)

    grad = K.softmax_xent_backward(grad_rows, logits, targets, lse, IGNORE, smoothing)
    assert_close(grad, grad_ref * grad_rows[:, None])


def test_softmax_xent_large_logits_and_custom_ignore_index(K, launch):
    # exp would overflow without the running max; -1 is a legal ignore_index too
    logits = np.array([[1000.0, 999.0, -1000.0], [5.0, 5.0, 5.0]], np.float32)
    targets = np.array([0, -1])
    loss, lse = K.softmax_xent_forward(logits, targets, -1, 0.0)
    assert_close(loss, [np.log1p(np.exp(-1.0)), 0.0], tol=1e-4)  # float32 ulp at 1000 is 6e-5
    assert_close(lse, [1000 + np.log1p(np.exp(-1.0)), 5 + np.log(3.0)], tol=1e-4)


def test_softmax_xent_out_of_range_target_gives_nan(K, launch):
    loss, _ = K.softmax_xent_forward(nonzero((2, 4)), np.array([1, 4]), IGNORE, 0.0)
    assert np.isfinite(loss[0]) and np.isnan(loss[1])
