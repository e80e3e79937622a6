"""Helpers shared by the kernel tests (not in conftest: tests/conftest.py has that name)."""
import numpy as np

# (BLOCK, MAX_BLOCKS) launch overrides where threads loop over rows: MAX_BLOCKS=2 leaves one
# partial row per column reduction; 16 threads in 1 block walk all rows in one block.
LOOPING_GRIDS = [(8, 2), (16, 1)]


def nonzero(shape, seed=0, dtype=np.float32):
    """Values in +-[0.5, 1.5]: never near zero, so no test hinges on a sign or a kink."""
    rng = np.random.default_rng(seed)
    return (rng.uniform(0.5, 1.5, shape) * rng.choice([-1.0, 1.0], shape)).astype(dtype)


def assert_close(actual, expected, tol=2e-5):
    """float32 kernels against float64 references."""
    assert actual.shape == np.shape(expected)
    np.testing.assert_allclose(np.asarray(actual, np.float64), expected, rtol=tol, atol=tol)
