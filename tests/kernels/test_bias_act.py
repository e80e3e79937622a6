import math

import numpy as np
import pytest

from kernel_helpers import LOOPING_GRIDS, assert_close, nonzero

ACTIVATIONS = ("identity", "relu", "gelu", "gelu_tanh", "tanh")
SHAPES = [(3, 37), (1, 37), (6, 1), (1, 1)]
_erf = np.vectorize(math.erf)
_k = math.sqrt(2 / math.pi)


def reference(z, bias, activation):
    """(act(z + bias), act'(z + bias)) in float64."""
    s = z.astype(np.float64) + bias
    if activation == "relu":
        return np.maximum(s, 0), (s > 0).astype(np.float64)
    if activation == "gelu":
        cdf = 0.5 * (1 + _erf(s / math.sqrt(2)))
        return s * cdf, cdf + s * np.exp(-0.5 * s * s) / math.sqrt(2 * math.pi)
    if activation == "gelu_tanh":
        t = np.tanh(_k * (s + 0.044715 * s ** 3))
        return (0.5 * s * (1 + t),
                0.5 * (1 + t) + 0.5 * s * (1 - t * t) * _k * (1 + 3 * 0.044715 * s * s))
    if activation == "tanh":
        return np.tanh(s), 1 - np.tanh(s) ** 2
    return s, np.ones_like(s)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_bias_act_matches_reference(K, launch, shape, activation):
    check(K, shape, activation)


@pytest.mark.parametrize("launch", LOOPING_GRIDS, indirect=True, ids=str)
def test_bias_act_with_threads_looping_over_rows(K, launch):
    check(K, (9, 37), "gelu_tanh")


def check(K, shape, activation):
    z, bias = nonzero(shape, 1), nonzero(shape[1:], 2)
    grad_y = nonzero(shape, 3)
    y_ref, slope = reference(z, bias, activation)

    y = K.bias_act_forward(z, bias, activation)
    assert y.dtype == np.float32
    assert_close(y, y_ref)

    grad_z, grad_bias = K.bias_act_backward(grad_y, z, bias, activation)
    assert_close(grad_z, grad_y * slope)
    assert_close(grad_bias, (grad_y * slope).sum(0), tol=1e-4)


def test_bias_act_float64_leading_axes_and_no_bias(K, launch):
    z = nonzero((2, 3, 5), 1, np.float64)
    grad_y = nonzero((2, 3, 5), 2, np.float64)
    y_ref, slope = reference(z, np.zeros(5), "gelu")
    y = K.bias_act_forward(z, None, "gelu")
    assert y.dtype == np.float64 and y.shape == z.shape
    np.testing.assert_allclose(y, y_ref, rtol=1e-12, atol=1e-12)
    grad_z, grad_bias = K.bias_act_backward(grad_y, z, None, "gelu")
    assert grad_bias is None
    np.testing.assert_allclose(grad_z, grad_y * slope, rtol=1e-12, atol=1e-12)


def test_bias_act_rejects_unknown_activation(K):
    with pytest.raises(ValueError, match="activation"):
        K.bias_act_forward(nonzero((2, 2)), nonzero((2,)), "swish")
