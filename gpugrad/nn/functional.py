"""Layer functions (PyTorch signatures). Each is a composite of differentiable ops, and the
composite is the reference; on GPU arrays the fused Numba kernels replace the hot ones
(bias+activation, softmax cross-entropy, layer norm), chosen in one place: ``_fused``."""
import numpy as np

from .. import backend
from ..autograd import Function
from ..ops import elementwise
from ..ops.window import Unfold
from ..ops.shape import pad as _pad
from ..tensor import Tensor

ACTIVATIONS = ("identity", "relu", "gelu", "gelu_tanh", "tanh")


def _fused(*arrays):
    """Whether the fused kernels serve these arrays (GPUGRAD_FUSED=auto|on|off)."""
    from ..kernels import use_fused
    return use_fused(*arrays)


def relu(x):
    return x.relu()


def gelu(x, approximate="none"):
    return elementwise.gelu(x, approximate)


def tanh(x):
    return x.tanh()


def sigmoid(x):
    return x.sigmoid()


def softmax(x, axis=-1):
    return x.softmax(axis)


def log_softmax(x, axis=-1):
    return x.log_softmax(axis)


def linear(x, weight, bias=None):
    """x @ weight.T + bias, with weight of shape (out_features, in_features)."""
    if x.shape[-1] != weight.shape[-1]:
        raise ValueError(f"linear: input has {x.shape[-1]} features (shape {x.shape}) but weight "
                         f"expects {weight.shape[-1]} (shape {weight.shape})")
    out = x @ weight.T
    return out if bias is None else out + bias


def _activate(z, activation):
    if activation == "identity":
        return z
    if activation == "gelu_tanh":
        return z.gelu("tanh")
    return getattr(z, activation)()


def linear_act(x, weight, bias, activation="relu"):
    """activation(x @ weight.T + bias), the fused bias+activation layer on GPU."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"linear_act: activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}")
    if x.ndim == 2 and bias is not None and _fused(x.data):
        return _BiasAct.apply(x @ weight.T, bias, activation=activation)
    return _activate(linear(x, weight, bias), activation)


class _BiasAct(Function):
    def forward(self, z, bias, activation):
        from ..kernels import bias_act_forward
        self.save_for_backward(z, bias)
        self.activation = activation
        return bias_act_forward(z.data, bias.data, activation)

    def backward(self, grad):
        from ..kernels import bias_act_backward
        z, bias = self.saved_tensors
        grad_z, grad_bias = bias_act_backward(grad.data, z.data, bias.data, self.activation)
        return Tensor._make(grad_z), Tensor._make(grad_bias)


def cross_entropy(logits, targets, reduction="mean", label_smoothing=0.0, ignore_index=-100):
    """Softmax cross-entropy of (N, C) logits against (N,) integer class targets, via log-sum-exp."""
    if logits.ndim != 2:
        raise ValueError(f"cross_entropy: logits must have shape (N, C), got {logits.shape}")
    target_data = targets.data if isinstance(targets, Tensor) else backend.to_device(np.asarray(targets), logits.device)
    if target_data.shape != logits.shape[:1] or target_data.dtype.kind not in "iu":
        raise ValueError(f"cross_entropy: targets must be integers of shape {logits.shape[:1]}, "
                         f"got shape {target_data.shape} and dtype {target_data.dtype}")
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"cross_entropy: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    xp = backend.get_array_module(target_data)
    valid = target_data != ignore_index
    n_classes = logits.shape[1]
    if bool(((target_data < 0) | (target_data >= n_classes))[valid].any()):
        raise ValueError(f"cross_entropy: targets must be in [0, {n_classes}) or ignore_index={ignore_index}")

    if _fused(logits.data):
        losses = _SoftmaxXent.apply(logits, targets=target_data, ignore_index=ignore_index,
                                    label_smoothing=label_smoothing)
    else:
        log_probs = logits.log_softmax(axis=1)
        safe_targets = xp.where(valid, target_data, 0)
        nll = -log_probs[xp.arange(len(safe_targets)), safe_targets]
        if label_smoothing:
            nll = nll * (1.0 - label_smoothing) - log_probs.mean(axis=1) * label_smoothing
        losses = nll * Tensor._make(valid.astype(logits.dtype))
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    return losses.sum() * (1.0 / max(int(valid.sum()), 1))


class _SoftmaxXent(Function):
    def forward(self, logits, targets, ignore_index, label_smoothing):
        from ..kernels import softmax_xent_forward
        self.save_for_backward(logits)
        self.targets, self.ignore_index, self.label_smoothing = targets, ignore_index, label_smoothing
        losses, self.lse = softmax_xent_forward(logits.data, targets, ignore_index, label_smoothing)
        return losses

    def backward(self, grad):
        from ..kernels import softmax_xent_backward
        logits, = self.saved_tensors
        return (Tensor._make(softmax_xent_backward(grad.data, logits.data, self.targets, self.lse,
                                                   self.ignore_index, self.label_smoothing)),)


def mse_loss(pred, target, reduction="mean"):
    if pred.shape != target.shape:
        raise ValueError(f"mse_loss: prediction shape {pred.shape} differs from target shape {target.shape}")
    squared = (pred - target) ** 2
    if reduction == "none":
        return squared
    return squared.sum() if reduction == "sum" else squared.mean()


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalize over the trailing ``normalized_shape`` axes, then scale and shift."""
    normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if x.shape[x.ndim - len(normalized_shape):] != normalized_shape:
        raise ValueError(f"layer_norm: normalized_shape {normalized_shape} does not match the trailing "
                         f"dimensions of input shape {x.shape}")
    if len(normalized_shape) == 1 and _fused(x.data):
        return _LayerNorm.apply(x.reshape(-1, x.shape[-1]), *(t for t in (weight, bias) if t is not None),
                                eps=eps, affine=weight is not None).reshape(x.shape)
    axes = tuple(range(x.ndim - len(normalized_shape), x.ndim))
    mean = x.mean(axes, keepdims=True)
    centered = x - mean
    out = centered / ((centered * centered).mean(axes, keepdims=True) + eps).sqrt()
    if weight is not None:
        out = out * weight
    return out if bias is None else out + bias


class _LayerNorm(Function):
    def forward(self, x, weight=None, bias=None, *, eps, affine):
        from ..kernels import layer_norm_forward
        if affine and bias is None:
            bias = Tensor._make(x.xp.zeros(x.shape[-1], dtype=x.dtype))
        self.save_for_backward(x, *((weight,) if affine else ()))
        y, self.mean, self.rstd = layer_norm_forward(x.data, weight.data if affine else None,
                                                     bias.data if affine else None, eps)
        return y

    def backward(self, grad):
        from ..kernels import layer_norm_backward
        x, *weight = self.saved_tensors
        grad_x, grad_weight, grad_bias = layer_norm_backward(
            grad.data, x.data, weight[0].data if weight else None, self.mean, self.rstd)
        grads = [Tensor._make(grad_x)]
        if weight:
            grads += [Tensor._make(grad_weight), Tensor._make(grad_bias)]
        return tuple(grads[:len(self.needs_input_grad)])


def dropout(x, p=0.5, training=True):
    """Zero each element with probability p and scale the rest by 1/(1-p) (inverted dropout)."""
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout: p must be in [0, 1), got {p}")
    if not training or p == 0.0:
        return x
    keep = backend.generator(x.xp).random(x.shape, dtype=np.float32) >= p
    return x * Tensor._make((keep / (1.0 - p)).astype(x.dtype))


def _pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


def conv2d(x, weight, bias=None, stride=1, padding=0):
    """2-D convolution (cross-correlation) of (N, C, H, W) by (O, C, kh, kw), as im2col + matmul."""
    if x.ndim != 4 or weight.ndim != 4 or x.shape[1] != weight.shape[1]:
        raise ValueError(f"conv2d: input (N, C, H, W) and weight (O, C, kh, kw) must agree on C, "
                         f"got shapes {x.shape} and {weight.shape}")
    (ph, pw), stride = _pair(padding), _pair(stride)
    if ph or pw:
        x = _pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    out_channels, channels, kh, kw = weight.shape
    windows = Unfold.apply(x, kernel=(kh, kw), stride=stride)          # (N, C, OH, OW, kh, kw)
    n, _, out_h, out_w = windows.shape[:4]
    columns = windows.permute(0, 2, 3, 1, 4, 5).reshape(n * out_h * out_w, channels * kh * kw)
    out = columns @ weight.reshape(out_channels, -1).T                  # (N*OH*OW, O)
    if bias is not None:
        out = out + bias
    return out.reshape(n, out_h, out_w, out_channels).permute(0, 3, 1, 2)


def max_pool2d(x, kernel_size, stride=None, padding=0):
    """Max over (kh, kw) windows of an (N, C, H, W) input; ties share the gradient."""
    kernel = _pair(kernel_size)
    stride = _pair(stride) if stride is not None else kernel
    ph, pw = _pair(padding)
    if ph or pw:
        x = _pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), value=-np.inf)
    windows = Unfold.apply(x, kernel=kernel, stride=stride)
    return windows.reshape(windows.shape[:4] + (-1,)).max(axis=-1)
