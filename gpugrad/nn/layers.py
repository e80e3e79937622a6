"""Layers: Modules that own Parameters and call gpugrad.nn.functional."""
import math

import numpy as np

from . import functional as F, init
from .module import Module, Parameter
from ..tensor import empty_parameter_data


class Linear(Module):
    """y = x @ weight.T + bias, weight (out_features, in_features); PyTorch's default init."""

    def __init__(self, in_features, out_features, bias=True, device=None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(empty_parameter_data((out_features, in_features), device))
        self.bias = Parameter(empty_parameter_data((out_features,), device)) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))    # = U(-1/sqrt(fan_in), 1/sqrt(fan_in))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features)
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class LinearAct(Linear):
    """activation(x @ weight.T + bias) as one fused layer on GPU (F.linear_act)."""

    def __init__(self, in_features, out_features, activation="relu", device=None):
        super().__init__(in_features, out_features, bias=True, device=device)
        if activation not in F.ACTIVATIONS:
            raise ValueError(f"LinearAct: activation must be one of {', '.join(F.ACTIVATIONS)}, got {activation!r}")
        self.activation = activation

    def forward(self, x):
        return F.linear_act(x, self.weight, self.bias, self.activation)

    def extra_repr(self):
        return super().extra_repr() + f", activation={self.activation!r}"


class _Activation(Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


class ReLU(_Activation):
    def __init__(self):
        super().__init__(F.relu)


class Tanh(_Activation):
    def __init__(self):
        super().__init__(F.tanh)


class Sigmoid(_Activation):
    def __init__(self):
        super().__init__(F.sigmoid)


class GELU(Module):
    def __init__(self, approximate="none"):
        super().__init__()
        self.approximate = approximate

    def forward(self, x):
        return F.gelu(x, self.approximate)


class LayerNorm(Module):
    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, device=None):
        super().__init__()
        self.normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.eps = eps
        self.weight = self.bias = None
        if elementwise_affine:
            self.weight = Parameter(empty_parameter_data(self.normalized_shape, device))
            self.bias = Parameter(empty_parameter_data(self.normalized_shape, device))
            init.ones_(self.weight)
            init.zeros_(self.bias)

    def forward(self, x):
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}"


class Dropout(Module):
    def __init__(self, p=0.5):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1), got {p}")
        self.p = p

    def forward(self, x):
        return F.dropout(x, self.p, self.training)


class Embedding(Module):
    """A lookup table: integer indices of any shape -> vectors of size embedding_dim."""

    def __init__(self, num_embeddings, embedding_dim, device=None):
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.weight = Parameter(empty_parameter_data((num_embeddings, embedding_dim), device))
        init.normal_(self.weight)

    def forward(self, indices):
        data = indices.data if hasattr(indices, "data") else np.asarray(indices)
        if data.dtype.kind not in "iu":
            raise TypeError(f"Embedding: indices must be integers, got dtype {data.dtype}")
        if data.size and (int(data.min()) < 0 or int(data.max()) >= self.num_embeddings):
            raise IndexError(f"Embedding: indices must be in [0, {self.num_embeddings}), "
                             f"got range [{int(data.min())}, {int(data.max())}]")
        return self.weight[indices]


class Conv2d(Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True, device=None):
        super().__init__()
        kh, kw = F._pair(kernel_size)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = (kh, kw), F._pair(stride), F._pair(padding)
        self.weight = Parameter(empty_parameter_data((out_channels, in_channels, kh, kw), device))
        self.bias = Parameter(empty_parameter_data((out_channels,), device)) if bias else None
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(in_channels * kh * kw)
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding)

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}")


class MaxPool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, x):
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding)


class Flatten(Module):
    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        return x.flatten(self.start_dim, self.end_dim)
