"""Numerical gradient checking with central differences."""
import numpy as np

from . import backend
from .autograd import grad as autograd_grad
from .tensor import Tensor


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """Compare autograd's gradients of ``fn(*inputs)`` with float64 central differences.

    The output is projected onto a fixed random direction ``v`` (so any output shape works) and
    d(sum(v * fn))/d(input) is checked for every input that requires grad. Use float64 inputs:
    float32 rounding swamps the finite differences. Returns True, or raises AssertionError
    naming the input, the worst entry, and both values.
    """
    inputs = list(inputs)
    checked = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad")
    for i in checked:
        if inputs[i].dtype != np.float64:
            raise TypeError(f"gradcheck: input {i} has dtype {inputs[i].dtype}; use float64 inputs")

    out = fn(*inputs)
    rng = np.random.default_rng(seed)
    direction = Tensor._make(backend.to_device(rng.uniform(0.5, 1.5, out.shape), out.device))
    analytic = autograd_grad((out * direction).sum(), [inputs[i] for i in checked])

    def projected(*args):   # grad stays on: fn may itself take gradients (higher-order checks)
        return float((fn(*args) * direction).sum().item())

    for position, i in enumerate(checked):
        x = inputs[i]
        host = np.ascontiguousarray(backend.to_numpy(x.data), dtype=np.float64)
        numeric = np.zeros_like(host)
        flat = host.reshape(-1)
        for k in range(flat.size):
            original = flat[k]
            values = []
            for shift in (eps, -eps):
                flat[k] = original + shift
                probe = Tensor._make(backend.to_device(host.copy(), x.device), True)
                args = inputs[:i] + [probe] + inputs[i + 1:]
                values.append(projected(*args))
            flat[k] = original
            numeric.reshape(-1)[k] = (values[0] - values[1]) / (2 * eps)
        got = analytic[position]
        got = np.zeros_like(numeric) if got is None else backend.to_numpy(got.data).astype(np.float64)
        error = np.abs(got - numeric) - (atol + rtol * np.abs(numeric))
        if (error > 0).any() or not np.isfinite(got).all():
            worst = np.unravel_index(np.argmax(np.where(np.isfinite(error), error, np.inf)), numeric.shape)
            raise AssertionError(
                f"gradcheck: input {i} (shape {x.shape}) gradient mismatch at index {worst}: "
                f"autograd {got[worst]!r} vs finite differences {numeric[worst]!r} "
                f"(atol={atol}, rtol={rtol})")
    return True
