"""Adam and AdamW."""

import math

from ..backend import get_array_module
from .optimizer import Optimizer, axpy, check_nonnegative, fused_kernels


class Adam(Optimizer):
    """Adam as in ``torch.optim.Adam``: with ``g = grad + weight_decay * p``,
    ``m = b1*m + (1-b1)*g``, ``v = b2*v + (1-b2)*g*g`` (``v_max = max(v_max, v)`` if amsgrad),
    ``p -= lr / (1 - b1**t) * m / (sqrt(v) / sqrt(1 - b2**t) + eps)``.
    """

    _state_names = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
    _decoupled = False  # AdamW: decay the weights directly instead of adding to the gradient

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False, maximize=False):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize)
        super().__init__(params, defaults)

    def _check(self, group):
        check_nonnegative(group, "lr", "eps", "weight_decay")
        beta1, beta2 = group["betas"]
        for i, beta in enumerate((beta1, beta2)):
            if not 0 <= beta < 1:
                raise ValueError(f"invalid beta parameter at index {i}: {beta} "
                                 "(must be in [0, 1))")

    def _buffer_names(self, group):
        return self._state_names if group["amsgrad"] else self._state_names[:2]

    def _update(self, group, param, grad, state, scratch, step):
        lr, eps, weight_decay = group["lr"], group["eps"], group["weight_decay"]
        beta1, beta2 = group["betas"]
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        kernels = None if group["amsgrad"] else fused_kernels(param)
        if kernels is not None:
            kernels.adam_update(param, grad, exp_avg, exp_avg_sq, float(lr), float(beta1),
                                float(beta2), float(eps), float(weight_decay), self._decoupled,
                                step)
            return
        if self._decoupled:
            param *= 1 - lr * weight_decay
        elif weight_decay != 0:
            axpy(grad, weight_decay, param, scratch)
        exp_avg *= beta1
        axpy(exp_avg, 1 - beta1, grad, scratch)
        exp_avg_sq *= beta2
        grad *= grad  # the gradient is not needed after this, so square it in place
        axpy(exp_avg_sq, 1 - beta2, grad, scratch)
        xp = get_array_module(param)
        if group["amsgrad"]:
            exp_avg_sq = xp.maximum(state["max_exp_avg_sq"], exp_avg_sq,
                                    out=state["max_exp_avg_sq"])
        denom = xp.sqrt(exp_avg_sq, out=scratch)
        denom /= math.sqrt(1 - beta2 ** step)
        denom += eps
        update = xp.divide(exp_avg, denom, out=scratch)
        axpy(param, -lr / (1 - beta1 ** step), update, grad)


class AdamW(Adam):
    """Adam with decoupled weight decay (``torch.optim.AdamW``): ``p *= 1 - lr * weight_decay``
    before the Adam update, which then uses the plain gradient."""

    _decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, maximize=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize)
