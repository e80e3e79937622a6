"""Weight initialisers (in place, like torch.nn.init); the random stream is gg.manual_seed's."""
import math

from .. import backend
from ..autograd import no_grad


def _fans(tensor):
    if tensor.ndim < 2:
        raise ValueError(f"fan in/out need at least 2 dimensions, got shape {tensor.shape}")
    receptive = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _gain(nonlinearity, a=0.0):
    gains = {"linear": 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3, "relu": math.sqrt(2.0), "selu": 0.75}
    if nonlinearity == "leaky_relu":
        return math.sqrt(2.0 / (1 + a * a))
    if nonlinearity not in gains:
        raise ValueError(f"unknown nonlinearity {nonlinearity!r}")
    return gains[nonlinearity]


@no_grad()
def uniform_(tensor, low=0.0, high=1.0):
    rng = backend.generator(tensor.xp)
    tensor.copy_(rng.uniform(low, high, tensor.shape).astype(tensor.dtype))
    return tensor


@no_grad()
def normal_(tensor, mean=0.0, std=1.0):
    rng = backend.generator(tensor.xp)
    tensor.copy_((rng.standard_normal(tensor.shape) * std + mean).astype(tensor.dtype))
    return tensor


@no_grad()
def zeros_(tensor):
    return tensor.fill_(0)


@no_grad()
def ones_(tensor):
    return tensor.fill_(1)


def kaiming_uniform_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    fan = _fans(tensor)[0 if mode == "fan_in" else 1]
    bound = math.sqrt(3.0) * _gain(nonlinearity, a) / math.sqrt(fan)
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    fan = _fans(tensor)[0 if mode == "fan_in" else 1]
    return normal_(tensor, 0.0, _gain(nonlinearity, a) / math.sqrt(fan))


def xavier_uniform_(tensor, gain=1.0):
    fan_in, fan_out = _fans(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor, gain=1.0):
    fan_in, fan_out = _fans(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))
