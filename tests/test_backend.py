"""Backend selection: GPUGRAD_BACKEND, CuPy never required, clear errors, device handling."""
import os
import subprocess
import sys

import numpy as np
import pytest

import gpugrad as gg
from helpers import check_op


def run_python(code, **env):
    environment = {k: v for k, v in os.environ.items() if k != "GPUGRAD_BACKEND"}
    environment.update(env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment)


def test_numpy_backend_never_imports_cupy_or_numba_cuda():
    result = run_python("import sys, gpugrad as gg; x = gg.randn(3, requires_grad=True); (x * x).sum().backward();"
                        "print(gg.backend(), 'cupy' in sys.modules, 'numba.cuda' in sys.modules)",
                        GPUGRAD_BACKEND="numpy")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["numpy", "False", "False"]


@pytest.mark.skipif(gg.gpu_available(), reason="this machine has a GPU")
def test_forcing_cupy_without_gpu_is_a_clear_error():
    result = run_python("import gpugrad as gg; gg.zeros(2)", GPUGRAD_BACKEND="cupy")
    assert result.returncode != 0
    assert "GPUGRAD_BACKEND=cupy but no usable GPU" in result.stderr
    assert "GPUGRAD_BACKEND=numpy" in result.stderr


@pytest.mark.skipif(gg.gpu_available(), reason="this machine has a GPU")
def test_auto_falls_back_to_numpy_silently():
    result = run_python("import gpugrad as gg; print(gg.backend(), gg.zeros(2).device)", GPUGRAD_BACKEND="auto")
    assert result.returncode == 0 and result.stdout.split() == ["numpy", "cpu"], result.stderr
    assert result.stderr == ""


def test_unknown_backend_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown gpugrad backend 'tpu'; valid values are auto, numpy, cupy"):
        gg.set_backend("tpu")
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        gg.zeros(2, device="tpu")
    assert gg.set_backend("numpy") == "numpy"


def test_host_arrays_and_devices():
    x = gg.tensor([[1.0, 2.0]])
    assert x.device == "cpu" and isinstance(x.numpy(), np.ndarray)
    assert x.to("cpu") is x


@pytest.mark.gpu
def test_moves_between_devices_are_differentiable():
    x = gg.tensor([1.0, 2.0], requires_grad=True)
    y = x.to("gpu")
    assert y.device == "gpu"
    (y * y).sum().backward()
    assert x.grad.device == "cpu"
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])


@pytest.mark.gpu
def test_mixing_devices_names_both():
    with pytest.raises(ValueError, match="cpu.*gpu|gpu.*cpu"):
        gg.ones(2) + gg.ones(2, device="gpu")


@pytest.mark.gpu
@pytest.mark.parametrize("op,reference,shapes", [
    (lambda a, b: (a @ b).tanh(), lambda a, b: np.tanh(a @ b), ((3, 4), (4, 5))),
    (lambda a, b: (a * b).logsumexp(axis=1), lambda a, b: np.log(np.exp(a * b).sum(1)), ((3, 4), (4,))),
    (lambda a: a.gelu().sum(axis=0), None, ((3, 4),)),
    (lambda a: a[[0, 0, 2]].relu().max(axis=-1), lambda a: np.maximum(a[[0, 0, 2]], 0).max(-1), ((3, 4),)),
])
def test_ops_on_cupy_backend(op, reference, shapes):
    if reference is None:
        reference = lambda a: op(gg.tensor(a)).numpy()   # noqa: E731  (CPU result is the reference)
    check_op(op, reference, *shapes, device="gpu")
