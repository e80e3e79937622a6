"""Neural-network building blocks: Module, Parameter, layers, functional, init, utils."""
from . import functional, init  # noqa: F401
from .layers import (GELU, Conv2d, Dropout, Embedding, Flatten, LayerNorm, Linear, LinearAct,  # noqa: F401
                     MaxPool2d, ReLU, Sigmoid, Tanh)
from .module import Module, Parameter, Sequential  # noqa: F401
from . import utils  # noqa: F401,E402
