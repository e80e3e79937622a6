"""The one place that decides between a fused kernel and the xp composite.

GPUGRAD_FUSED = auto (default: kernels for GPU arrays, composites for CPU arrays) | off
(composites everywhere) | on (kernels for every array; with NUMBA_ENABLE_CUDASIM=1 the kernels
run on NumPy arrays in Numba's simulator, which is how CI exercises them end to end).
"""
import os

MODES = ("auto", "on", "off")


def fused_mode():
    mode = os.environ.get("GPUGRAD_FUSED", "auto").strip().lower()
    if mode not in MODES:
        raise ValueError(f"GPUGRAD_FUSED={mode!r} is not valid; use one of {', '.join(MODES)}")
    return mode


def use_fused(*arrays):
    """True when the fused kernels should serve an op on these arrays."""
    mode = fused_mode()
    if mode != "auto":
        return mode == "on"
    from gpugrad.backend import device_of   # lazy: gpugrad imports this package
    return all(device_of(a) == "gpu" for a in arrays)
