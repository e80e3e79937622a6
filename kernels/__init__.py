"""Fused layer kernels (Numba CUDA), forward and backward, on CuPy arrays.

Importing this package does not import numba; each kernel compiles on first use. Under the
CUDA simulator (NUMBA_ENABLE_CUDASIM=1) the same kernels run on NumPy arrays.
"""
from .dispatch import fused_mode, use_fused
from .bias_act import bias_act_backward, bias_act_forward
from .layer_norm import layer_norm_backward, layer_norm_forward
from .optim_update import adam_update, sgd_update
from .softmax_xent import softmax_xent_backward, softmax_xent_forward

__all__ = [
    "use_fused", "fused_mode",
    "bias_act_forward", "bias_act_backward",
    "softmax_xent_forward", "softmax_xent_backward",
    "layer_norm_forward", "layer_norm_backward",
    "sgd_update", "adam_update",
]
