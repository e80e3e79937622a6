"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay."""

from .optimizer import Optimizer, axpy, check_nonnegative, fused_kernels


class SGD(Optimizer):
    """SGD as in ``torch.optim.SGD``: with ``g = grad + weight_decay * p``,
    ``b = g`` on the first step, then ``b = momentum * b + (1 - dampening) * g``;
    ``p -= lr * (g + momentum * b if nesterov else b)`` (``p -= lr * g`` without momentum).
    ``maximize=True`` ascends (uses ``-grad``).
    """

    _state_names = ("momentum_buffer",)

    def __init__(self, params, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False, maximize=False):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def _check(self, group):
        check_nonnegative(group, "lr", "momentum", "weight_decay")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum > 0 and zero dampening")

    def _buffer_names(self, group):
        return self._state_names if group["momentum"] != 0 else ()

    def _update(self, group, param, grad, state, scratch, step):
        lr, momentum = group["lr"], group["momentum"]
        dampening, weight_decay = group["dampening"], group["weight_decay"]
        kernels = fused_kernels(param)
        if kernels is not None:
            # No momentum: no buffer, and the kernel takes None.
            buf = state.get("momentum_buffer")
            kernels.sgd_update(param, grad, buf, float(lr), float(momentum), float(dampening),
                               float(weight_decay), bool(group["nesterov"]), step == 1)
            return
        if weight_decay != 0:
            axpy(grad, weight_decay, param, scratch)
        if momentum != 0:
            buf = state["momentum_buffer"]
            if step == 1:
                buf[...] = grad
            else:
                buf *= momentum
                axpy(buf, 1 - dampening, grad, scratch)
            if group["nesterov"]:
                axpy(grad, momentum, buf, scratch)
            else:
                grad = buf
        axpy(param, -lr, grad, scratch)
