"""Gradient clipping: clip_grad_norm_ and clip_grad_value_ (in place, as in torch.nn.utils)."""

import math

from ..backend import get_array_module
from ..tensor import Tensor, tensor


def _grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scale the gradients in place so that their total norm is at most ``max_norm``.

    The total norm is the ``norm_type``-norm of all gradients together (``inf`` for the max-abs
    norm). Grads are multiplied by ``min(1, max_norm / (total + 1e-6))``, as in PyTorch.
    Returns the total norm before clipping as a 0-d Tensor on the gradients' device (no device
    sync: ``float(result)`` when you need the number). Raises RuntimeError if the norm is NaN or
    Inf and ``error_if_nonfinite``.
    """
    grads = [g for g in _grads(parameters) if g.size > 0]
    norm_type = float(norm_type)
    if not grads:
        return tensor(0.0)
    xp = get_array_module(grads[0].data)
    norms = [xp.linalg.norm(g.data.reshape(-1), ord=norm_type) for g in grads]
    total = xp.linalg.norm(xp.stack(norms), ord=norm_type)
    if error_if_nonfinite and not math.isfinite(float(total)):
        raise RuntimeError(f"the total norm of order {norm_type} of the gradients is "
                           f"{float(total)}, so they cannot be clipped; pass "
                           "error_if_nonfinite=False to clip anyway")
    # min() on the device, not a Python comparison, so a GPU step does not wait for the norm.
    scale = xp.minimum(max_norm / (total + 1e-6), 1.0)
    for g in grads:
        g.data *= scale.astype(g.dtype, copy=False)
        g._version += 1
    return Tensor._make(xp.asarray(total))


def clip_grad_value_(parameters, clip_value):
    """Clamp every gradient in place to ``[-clip_value, clip_value]``."""
    for g in _grads(parameters):
        xp = get_array_module(g.data)
        xp.clip(g.data, -clip_value, clip_value, out=g.data)
        g._version += 1
