"""Matrix products."""
from ..autograd import Function
from ..tensor import Tensor, _as_tensor


class MatMul(Function):
    """Batched matmul of tensors with ndim >= 2; batch dimensions broadcast."""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a.data @ b.data

    def backward(self, grad):
        a, b = self.saved_tensors
        need_a, need_b = self.needs_input_grad
        # .mT is a view, so these products copy nothing (unlike tensordot-based rules).
        return (grad @ b.mT if need_a else None), (a.mT @ grad if need_b else None)


def matmul(a, b):
    """Matrix product with NumPy's rules for 1-D operands (promoted, then the axis dropped)."""
    a = _as_tensor(a, b) if not isinstance(a, Tensor) else a
    b = _as_tensor(b, a)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: both operands need at least one dimension, got shapes {a.shape} and {b.shape}")
    if a.ndim == 1 and b.ndim == 1:
        return MatMul.apply(a.unsqueeze(0), b.unsqueeze(-1)).reshape(())
    if a.ndim == 1:
        return MatMul.apply(a.unsqueeze(0), b).squeeze(-2)
    if b.ndim == 1:
        return MatMul.apply(a, b.unsqueeze(-1)).squeeze(-1)
    return MatMul.apply(a, b)
