import math

import numpy as np
import pytest

from kernel_helpers import LOOPING_GRIDS, assert_close, nonzero


def sgd_reference(p, g, buf, lr, momentum, dampening, wd, nesterov, first_step):
    g = g + wd * p
    if momentum:
        buf = g if first_step else momentum * buf + (1 - dampening) * g
        g = g + momentum * buf if nesterov else buf
    return p - lr * g, buf


def adam_reference(p, g, m, v, lr, beta1, beta2, eps, wd, decoupled, step):
    if decoupled:
        p = p * (1 - lr * wd)
    else:
        g = g + wd * p
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    denom = np.sqrt(v) / math.sqrt(1 - beta2 ** step) + eps
    return p - lr / (1 - beta1 ** step) * m / denom, m, v


SGD_CASES = [  # momentum, dampening, weight_decay, nesterov
    (0.0, 0.0, 0.0, False), (0.9, 0.0, 0.0, False), (0.9, 0.1, 1e-2, False),
    (0.9, 0.0, 1e-2, True),
]


@pytest.mark.parametrize("size", [37, 1])
@pytest.mark.parametrize("momentum, dampening, wd, nesterov", SGD_CASES)
def test_sgd_update_matches_reference(K, launch, size, momentum, dampening, wd, nesterov):
    param, buf = nonzero(size, 1), np.zeros(size, np.float32)
    p_ref, buf_ref = param.astype(np.float64), buf.astype(np.float64)
    for step in range(3):
        grad = nonzero(size, 10 + step)
        K.sgd_update(param, grad, buf if momentum else None, 0.1, momentum, dampening, wd,
                     nesterov, step == 0)
        p_ref, buf_ref = sgd_reference(p_ref, grad.astype(np.float64), buf_ref, 0.1, momentum,
                                       dampening, wd, nesterov, step == 0)
    assert_close(param, p_ref)
    if momentum:
        assert_close(buf, buf_ref)


@pytest.mark.parametrize("launch", [(8, 1024), *LOOPING_GRIDS], indirect=True, ids=str)
@pytest.mark.parametrize("size", [37, 1])
@pytest.mark.parametrize("decoupled, wd", [(False, 0.0), (False, 1e-2), (True, 1e-2)])
def test_adam_update_matches_reference(K, launch, size, decoupled, wd):
    param = nonzero(size, 1)
    m, v = np.zeros(size, np.float32), np.zeros(size, np.float32)
    p_ref, m_ref, v_ref = param.astype(np.float64), m.astype(np.float64), v.astype(np.float64)
    for step in range(1, 4):
        grad = nonzero(size, 10 + step)
        K.adam_update(param, grad, m, v, 1e-2, 0.9, 0.999, 1e-8, wd, decoupled, step)
        p_ref, m_ref, v_ref = adam_reference(p_ref, grad.astype(np.float64), m_ref, v_ref, 1e-2,
                                             0.9, 0.999, 1e-8, wd, decoupled, step)
    assert_close(param, p_ref)
    assert_close(m, m_ref)
    assert_close(v, v_ref)


def test_updates_refuse_non_contiguous_arrays(K):
    param = np.ones(8, np.float32)[::2]
    with pytest.raises(ValueError, match="contiguous"):
        K.sgd_update(param, np.ones(4, np.float32), None, 0.1)
