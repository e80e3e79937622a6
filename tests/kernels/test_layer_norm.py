import numpy as np
import pytest

from kernel_helpers import LOOPING_GRIDS, assert_close, nonzero

EPS = 1e-5


def reference(x, gamma, beta, grad_y):
    """(y, mean, rstd, grad_x, grad_gamma, grad_beta) in float64; gamma/beta may be None."""
    x, grad_y = x.astype(np.float64), grad_y.astype(np.float64)
    mean = x.mean(-1)
    rstd = 1 / np.sqrt(x.var(-1) + EPS)
    xhat = (x - mean[:, None]) * rstd[:, None]
    y = xhat * (1 if gamma is None else gamma) + (0 if beta is None else beta)
    g = grad_y * (1 if gamma is None else gamma)
    grad_x = rstd[:, None] * (g - g.mean(-1, keepdims=True)
                              - xhat * (g * xhat).mean(-1, keepdims=True))
    return y, mean, rstd, grad_x, (grad_y * xhat).sum(0), grad_y.sum(0)


@pytest.mark.parametrize("shape", [(3, 37), (1, 37), (5, 1), (9, 3)], ids=str)
@pytest.mark.parametrize("affine", ["gamma+beta", "none"])
def test_layer_norm_matches_reference(K, launch, shape, affine):
    check(K, shape, affine)


def test_layer_norm_gamma_without_beta(K, launch):
    check(K, (3, 37), "gamma")


@pytest.mark.parametrize("launch", LOOPING_GRIDS, indirect=True, ids=str)
def test_layer_norm_with_threads_looping_over_rows(K, launch):
    check(K, (9, 37), "gamma+beta")


def check(K, shape, affine):
    x = nonzero(shape, 1) + 0.25  # a nonzero mean to subtract
    gamma = nonzero(shape[1:], 2) if affine != "none" else None
    beta = nonzero(shape[1:], 3) if affine == "gamma+beta" else None
    grad_y = nonzero(shape, 4)
    y_ref, mean_ref, rstd_ref, grad_x_ref, grad_gamma_ref, grad_beta_ref = reference(
        x, gamma, beta, grad_y)

    y, mean, rstd = K.layer_norm_forward(x, gamma, beta, EPS)
    assert y.dtype == mean.dtype == rstd.dtype == np.float32
    assert_close(y, y_ref, tol=1e-4)
    assert_close(mean, mean_ref)
    assert_close(rstd, rstd_ref, tol=1e-4 * max(1, rstd_ref.max()))

    grad_x, grad_gamma, grad_beta = K.layer_norm_backward(grad_y, x, gamma, mean, rstd)
    assert_close(grad_x, grad_x_ref, tol=1e-4)
    if gamma is None:
        assert grad_gamma is None and grad_beta is None
    else:
        assert_close(grad_gamma, grad_gamma_ref, tol=1e-4)
        assert_close(grad_beta, grad_beta_ref, tol=1e-4)


def test_layer_norm_float64_with_leading_axes(K, launch):
    x = nonzero((2, 3, 6), 1, np.float64)
    gamma, beta = nonzero((6,), 2, np.float64), nonzero((6,), 3, np.float64)
    grad_y = nonzero((2, 3, 6), 4, np.float64)
    expected = reference(x.reshape(6, 6), gamma, beta, grad_y.reshape(6, 6))
    y, mean, rstd = K.layer_norm_forward(x, gamma, beta, EPS)
    assert y.shape == x.shape and mean.shape == rstd.shape == (2, 3)
    grads = K.layer_norm_backward(grad_y, x, gamma, mean, rstd)
    for got, want in zip((y, mean, rstd, *grads), expected):
        np.testing.assert_allclose(got.reshape(np.shape(want)), want, rtol=1e-10, atol=1e-10)
