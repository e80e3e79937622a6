import os

# Kernel tests run Numba's CUDA simulator unless told otherwise; this must be set before numba
# is first imported. The default backend for the suite is NumPy; GPU tests ask for device="gpu".
os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")
os.environ.setdefault("GPUGRAD_BACKEND", "numpy")

import pytest  # noqa: E402

import gpugrad as gg  # noqa: E402


def pytest_collection_modifyitems(config, items):
    if gg.gpu_available():
        return
    skip = pytest.mark.skip(reason="no usable NVIDIA GPU with CuPy on this machine")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
