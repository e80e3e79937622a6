"""One helper proves an op: forward against NumPy, gradients against float64 finite differences."""
import numpy as np

import gpugrad as gg


def random_array(shape, rng, low=0.5, high=1.5, signed=True):
    """Values bounded away from zero (and, with high probability, from each other)."""
    values = rng.uniform(low, high, shape)
    if signed:
        values *= rng.choice([-1.0, 1.0], shape)
    return values


def check_op(fn, reference, *shapes, low=0.5, high=1.5, signed=True, noncontiguous=False,
             device="cpu", grad=True, seed=0, atol=1e-5, rtol=1e-4, inputs=None):
    """Check ``fn`` (on Tensors) against ``reference`` (on numpy arrays) in float32 and float64,
    then its gradients with gg.gradcheck in float64. Returns the float32 output."""
    rng = np.random.default_rng(seed)
    arrays = inputs if inputs is not None else [random_array(s, rng, low, high, signed) for s in shapes]
    if noncontiguous:   # Fortran order: same values, non-C-contiguous strides
        arrays = [np.asfortranarray(a) if a.ndim > 1 else a[::1] for a in arrays]

    expected = np.asarray(reference(*arrays))
    out32 = fn(*[gg.tensor(a.astype(np.float32), device=device) for a in arrays])
    assert out32.shape == expected.shape, f"shape {out32.shape} != reference {expected.shape}"
    assert out32.dtype == np.float32, f"float32 inputs gave {out32.dtype}"
    np.testing.assert_allclose(out32.numpy(), expected, rtol=1e-5, atol=1e-5)
    out64 = fn(*[gg.tensor(a, device=device) for a in arrays])
    np.testing.assert_allclose(out64.numpy(), expected, rtol=1e-10, atol=1e-10)

    if grad:
        tensors = [gg.tensor(a, device=device, requires_grad=True) for a in arrays]
        gg.gradcheck(fn, tensors, atol=atol, rtol=rtol)
    return out32
