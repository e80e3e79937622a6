"""GPUGRAD_FUSED end to end: a training step with the kernels (Numba's CUDA simulator on NumPy
arrays) equals the same step with the xp composites; and each fused op equals its composite."""
import numpy as np
import pytest

import gpugrad as gg
from gpugrad import nn
from gpugrad.nn import functional as F

kernels = pytest.importorskip("gpugrad.kernels")


@pytest.fixture
def small_blocks(monkeypatch):
    # The simulator runs one OS thread per CUDA thread: tiny blocks keep it fast, and awkward
    # sizes (5, 7, 3 columns) still span several blocks and partial tiles.
    monkeypatch.setattr(kernels._launch, "BLOCK", 8)


def training_step(fused, monkeypatch):
    monkeypatch.setenv("GPUGRAD_FUSED", fused)
    gg.manual_seed(0)
    model = nn.Sequential(nn.LinearAct(5, 7, "gelu_tanh"), nn.LayerNorm(7), nn.LinearAct(7, 6, "tanh"),
                          nn.Linear(6, 3))
    optimizer = gg.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.1)
    rng = np.random.default_rng(1)
    x = gg.tensor(rng.normal(size=(4, 5)).astype(np.float32))
    y = gg.tensor(np.array([2, 0, -100, 1]))
    loss = F.cross_entropy(model(x), y, label_smoothing=0.1)
    optimizer.zero_grad()
    loss.backward()
    grads = {n: p.grad.numpy().copy() for n, p in model.named_parameters()}
    optimizer.step()
    return loss.item(), grads, {n: p.numpy().copy() for n, p in model.named_parameters()}


def test_training_step_fused_on_equals_off(small_blocks, monkeypatch):
    loss_on, grads_on, params_on = training_step("on", monkeypatch)
    loss_off, grads_off, params_off = training_step("off", monkeypatch)
    assert loss_on == pytest.approx(loss_off, rel=1e-5)
    for name in grads_off:
        np.testing.assert_allclose(grads_on[name], grads_off[name], rtol=1e-4, atol=1e-6, err_msg=name)
        np.testing.assert_allclose(params_on[name], params_off[name], rtol=1e-5, atol=1e-6, err_msg=name)


def test_dispatch_modes(monkeypatch):
    a = np.zeros(3, np.float32)
    monkeypatch.setenv("GPUGRAD_FUSED", "auto")
    assert not kernels.use_fused(a)          # CPU arrays use the composites
    monkeypatch.setenv("GPUGRAD_FUSED", "on")
    assert kernels.use_fused(a)
    monkeypatch.setenv("GPUGRAD_FUSED", "off")
    assert not kernels.use_fused(a)
    monkeypatch.setenv("GPUGRAD_FUSED", "sometimes")
    with pytest.raises(ValueError, match="GPUGRAD_FUSED='sometimes' is not valid; use one of auto, on, off"):
        kernels.use_fused(a)


def _outputs_and_grads(fn, arrays, fused, monkeypatch):
    monkeypatch.setenv("GPUGRAD_FUSED", fused)
    tensors = [gg.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    out = fn(*tensors)
    weights = np.random.default_rng(5).uniform(0.5, 1.5, out.shape).astype(np.float32)
    (out * gg.tensor(weights)).sum().backward()
    return out.numpy(), [t.grad.numpy() for t in tensors if t.requires_grad]


@pytest.mark.parametrize("rows,cols", [(1, 9), (5, 1), (3, 17)])
@pytest.mark.parametrize("case", ["linear_act", "cross_entropy", "layer_norm"])
def test_fused_op_equals_composite(case, rows, cols, small_blocks, monkeypatch):
    rng = np.random.default_rng(rows * 100 + cols)
    nonzero = lambda *s: (rng.uniform(0.5, 1.5, s) * rng.choice([-1, 1], s)).astype(np.float32)  # noqa: E731
    if case == "linear_act":
        fn = lambda x, w, b: F.linear_act(x, w, b, "gelu")  # noqa: E731
        arrays = [nonzero(rows, 4), nonzero(cols, 4), nonzero(cols)]
    elif case == "cross_entropy":
        targets = rng.integers(0, cols, rows)
        targets[0] = -100 if rows > 1 else targets[0]
        fn = lambda z, t: F.cross_entropy(z, t, reduction="none", label_smoothing=0.05)  # noqa: E731
        arrays = [nonzero(rows, cols), targets]
    else:
        fn = lambda x, w, b: F.layer_norm(x, cols, w, b)  # noqa: E731
        arrays = [nonzero(rows, cols), nonzero(cols), nonzero(cols)]
    out_on, grads_on = _outputs_and_grads(fn, arrays, "on", monkeypatch)
    out_off, grads_off = _outputs_and_grads(fn, arrays, "off", monkeypatch)
    np.testing.assert_allclose(out_on, out_off, rtol=1e-5, atol=1e-5)
    for g_on, g_off in zip(grads_on, grads_off):
        np.testing.assert_allclose(g_on, g_off, rtol=1e-4, atol=1e-5)
