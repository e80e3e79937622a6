"""Kernel tests: the CUDA kernels run in Numba's simulator on NumPy arrays, against float64
NumPy references. The simulator runs one OS thread per CUDA thread, so launches use tiny blocks."""
import os
import sys
from pathlib import Path

# Must happen before numba is first imported (tests/conftest.py does the same).
os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]

try:
    import gpugrad.kernels as kernels_package
except ImportError:  # source checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT))
    import kernels as kernels_package


@pytest.fixture
def K():
    return kernels_package


@pytest.fixture
def launch(request, monkeypatch):
    """Shrink launches for the simulator (one OS thread per CUDA thread): 8 threads per block
    make every awkward size span several strides. Other (BLOCK, MAX_BLOCKS) pairs come in with
    @pytest.mark.parametrize("launch", LOOPING_GRIDS, indirect=True)."""
    block, max_blocks = getattr(request, "param", (8, 1024))
    monkeypatch.setattr(kernels_package._launch, "BLOCK", block)
    monkeypatch.setattr(kernels_package._launch, "MAX_BLOCKS", max_blocks)
    return block, max_blocks
