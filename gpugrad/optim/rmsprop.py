"""RMSprop."""

from ..backend import get_array_module
from .optimizer import Optimizer, axpy, check_nonnegative


class RMSprop(Optimizer):
    """RMSprop as in ``torch.optim.RMSprop``: with ``g = grad + weight_decay * p``,
    ``s = alpha*s + (1-alpha)*g*g``; ``avg = sqrt(s - a*a) + eps`` if centered (with
    ``a = alpha*a + (1-alpha)*g``), else ``sqrt(s) + eps``; then ``b = momentum*b + g/avg``,
    ``p -= lr * b`` if momentum > 0, else ``p -= lr * g / avg``. No fused kernel: composite only.
    """

    _state_names = ("square_avg", "momentum_buffer", "grad_avg")

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False, maximize=False):
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                        momentum=momentum, centered=centered, maximize=maximize)
        super().__init__(params, defaults)

    def _check(self, group):
        check_nonnegative(group, "lr", "alpha", "eps", "weight_decay", "momentum")

    def _buffer_names(self, group):
        return (("square_avg",) + (("momentum_buffer",) if group["momentum"] > 0 else ())
                + (("grad_avg",) if group["centered"] else ()))

    def _update(self, group, param, grad, state, scratch, step):
        lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
        momentum, weight_decay = group["momentum"], group["weight_decay"]
        xp = get_array_module(param)
        if weight_decay != 0:
            axpy(grad, weight_decay, param, scratch)
        square_avg = state["square_avg"]
        square_avg *= alpha
        grad_squared = xp.multiply(grad, grad, out=scratch)
        grad_squared *= 1 - alpha
        square_avg += grad_squared
        if group["centered"]:
            grad_avg = state["grad_avg"]
            grad_avg *= alpha
            axpy(grad_avg, 1 - alpha, grad, scratch)
            avg = xp.multiply(grad_avg, grad_avg, out=scratch)
            xp.subtract(square_avg, avg, out=avg)
            xp.sqrt(avg, out=avg)
        else:
            avg = xp.sqrt(square_avg, out=scratch)
        avg += eps
        step_direction = xp.divide(grad, avg, out=grad)
        if momentum > 0:
            buf = state["momentum_buffer"]
            buf *= momentum
            buf += step_direction
            step_direction = buf
        axpy(param, -lr, step_direction, scratch)
