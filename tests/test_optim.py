"""Optimizers against a float64 NumPy reference of the documented formulas (and torch.optim when
it imports), plus the flat-buffer contract: views, no reallocation, versions, state_dict."""

import os
import subprocess
import sys
import types

import numpy as np
import pytest

import gpugrad as gg
from gpugrad import optim
from gpugrad.nn import Parameter
from gpugrad.nn.utils import clip_grad_norm_, clip_grad_value_
from gpugrad.optim import optimizer as optimizer_module

SHAPES = [(3, 4), (4,), (2, 1, 3), ()]
STEPS = 10


def param(array):
    return Parameter(gg.tensor(np.asarray(array, dtype=np.float32)))


def initial_values(seed=0, shapes=SHAPES):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(np.float32) for s in shapes]


def gradient_sequence(steps=STEPS, seed=1, shapes=SHAPES):
    rng = np.random.default_rng(seed)
    return [[rng.standard_normal(s).astype(np.float32) for s in shapes] for _ in range(steps)]


def run(cls, hyper, values, grads):
    """Parameters after one optimizer step per entry of ``grads`` (None: no gradient)."""
    params = [param(v) for v in values]
    opt = cls(params, **hyper)
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = None if g is None else gg.tensor(g)
        opt.step()
    return params, opt


# ---- float64 reference: the update rules as documented by PyTorch ------------------------------

def reference(name, hyper, values, grads):
    """Run the documented update in float64; a None gradient skips that parameter's step."""
    params = [v.astype(np.float64) for v in values]
    state = [{"step": 0} for _ in params]
    for step_grads in grads:
        for i, g in enumerate(step_grads):
            if g is not None:
                g = g.astype(np.float64) * (-1 if hyper.get("maximize") else 1)
                state[i]["step"] += 1
                params[i] = UPDATES[name](params[i], g, state[i], hyper)
    return params


def ref_sgd(p, g, s, h):
    lr, mu, damp = h["lr"], h.get("momentum", 0), h.get("dampening", 0)
    wd = h.get("weight_decay", 0)
    g = g + wd * p
    if mu:
        s["b"] = g if s["step"] == 1 else mu * s["b"] + (1 - damp) * g
        g = g + mu * s["b"] if h.get("nesterov") else s["b"]
    return p - lr * g


def ref_adam(p, g, s, h, decoupled=False):
    lr, eps = h.get("lr", 1e-3), h.get("eps", 1e-8)
    b1, b2 = h.get("betas", (0.9, 0.999))
    wd = h.get("weight_decay", 1e-2 if decoupled else 0)
    if decoupled:
        p = p * (1 - lr * wd)
    else:
        g = g + wd * p
    t = s["step"]
    s["m"] = b1 * s.get("m", 0) + (1 - b1) * g
    s["v"] = b2 * s.get("v", 0) + (1 - b2) * g * g
    v = s["v"]
    if h.get("amsgrad"):
        v = s["vmax"] = np.maximum(s.get("vmax", 0), s["v"])
    m_hat, v_hat = s["m"] / (1 - b1 ** t), v / (1 - b2 ** t)
    return p - lr * m_hat / (np.sqrt(v_hat) + eps)


def ref_rmsprop(p, g, s, h):
    lr, alpha, eps = h.get("lr", 1e-2), h.get("alpha", 0.99), h.get("eps", 1e-8)
    mu, wd = h.get("momentum", 0), h.get("weight_decay", 0)
    g = g + wd * p
    s["sq"] = alpha * s.get("sq", 0) + (1 - alpha) * g * g
    if h.get("centered"):
        s["ga"] = alpha * s.get("ga", 0) + (1 - alpha) * g
        avg = np.sqrt(s["sq"] - s["ga"] ** 2) + eps
    else:
        avg = np.sqrt(s["sq"]) + eps
    if mu > 0:
        s["b"] = mu * s.get("b", 0) + g / avg
        return p - lr * s["b"]
    return p - lr * g / avg


UPDATES = {"SGD": ref_sgd, "Adam": ref_adam, "RMSprop": ref_rmsprop,
           "AdamW": lambda p, g, s, h: ref_adam(p, g, s, h, decoupled=True)}

CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.1, momentum=0.5, weight_decay=0.1)),
    ("SGD", dict(lr=0.1, weight_decay=0.1, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.9), eps=1e-3, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.5, amsgrad=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, eps=1e-3, momentum=0.5, centered=True,
                     weight_decay=0.1)),
]
CASE_IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in hyper.items())}" for name, hyper in CASES]


@pytest.mark.parametrize("name, hyper", CASES, ids=CASE_IDS)
def test_matches_float64_reference(name, hyper):
    values, grads = initial_values(), gradient_sequence()
    params, _ = run(getattr(optim, name), hyper, values, grads)
    for p, expected in zip(params, reference(name, hyper, values, grads)):
        assert p.data.dtype == np.float32
        np.testing.assert_allclose(p.data, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name, hyper", CASES, ids=CASE_IDS)
def test_matches_torch(name, hyper):
    torch = pytest.importorskip("torch")
    values, grads = initial_values(), gradient_sequence()
    params, _ = run(getattr(optim, name), hyper, values, grads)
    torch_params = [torch.tensor(v, requires_grad=True) for v in values]
    torch_opt = getattr(torch.optim, name)(torch_params, **hyper)
    for step_grads in grads:
        for p, g in zip(torch_params, step_grads):
            p.grad = torch.tensor(g)
        torch_opt.step()
    for p, expected in zip(params, torch_params):
        np.testing.assert_allclose(p.data, expected.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_param_groups_use_their_own_hyperparameters():
    values, grads = initial_values(), gradient_sequence()
    params = [param(v) for v in values]
    opt = optim.SGD([{"params": params[:2]}, {"params": params[2:], "lr": 0.01}],
                    lr=0.1, momentum=0.9)
    assert opt.param_groups[1]["momentum"] == 0.9  # filled in from the defaults
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = gg.tensor(g)
        opt.step()
    fast = reference("SGD", dict(lr=0.1, momentum=0.9), values, grads)
    slow = reference("SGD", dict(lr=0.01, momentum=0.9), values, grads)
    for p, expected in zip(params, fast[:2] + slow[2:]):
        np.testing.assert_allclose(p.data, expected, rtol=1e-5, atol=1e-6)


def test_add_param_group():
    a, b = param([1.0, 2.0]), param([3.0])
    opt = optim.SGD([a], lr=0.1)
    opt.add_param_group({"params": b, "lr": 1.0})
    a.grad, b.grad = gg.tensor([1.0, 1.0]), gg.tensor([1.0])
    opt.step()
    np.testing.assert_allclose(a.data, [0.9, 1.9], rtol=1e-6)
    np.testing.assert_allclose(b.data, [2.0])
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})


@pytest.mark.parametrize("name, hyper", [CASES[1], CASES[7], CASES[14]],
                         ids=[CASE_IDS[1], CASE_IDS[7], CASE_IDS[14]])
def test_params_without_grad_are_skipped(name, hyper):
    # Parameter 1 gets no gradient for the first 4 steps, then joins: its state (Adam's bias
    # correction, SGD's first momentum step) must count only its own steps, as in PyTorch.
    values, grads = initial_values(), gradient_sequence()
    for step_grads in grads[:4]:
        step_grads[1] = None
    params, opt = run(getattr(optim, name), hyper, values, grads[:4])
    np.testing.assert_array_equal(params[1].data, values[1])
    assert 1 not in opt.state_dict()["state"]
    for step_grads in grads[4:]:
        for p, g in zip(params, step_grads):
            p.grad = gg.tensor(g)
        opt.step()
    for p, expected in zip(params, reference(name, hyper, values, grads)):
        np.testing.assert_allclose(p.data, expected, rtol=1e-5, atol=1e-6)


def test_data_stays_one_view_into_the_flat_buffer():
    params = [param(v) for v in initial_values()]
    opt = optim.Adam(params, lr=0.01)
    arrays = [p.data for p in params]
    (bucket,) = opt._buckets[0]
    for p in params:
        assert np.shares_memory(p.data, bucket.flat)
    versions = [p._version for p in params]
    for step_grads in gradient_sequence(3):
        for p, g in zip(params, step_grads):
            p.grad = gg.tensor(g)
        opt.step()
        assert all(p.data is a for p, a in zip(params, arrays))
    assert [p._version for p in params] == [v + 3 for v in versions]


def test_composite_step_allocates_no_arrays(monkeypatch):
    # Every update is in place into preallocated buffers (design.md: allocation costs page
    # faults), so after the first step a step allocates no array memory at all.
    import tracemalloc
    monkeypatch.setitem(optimizer_module._modules, "gpugrad.kernels", None)
    for name, hyper in CASES:
        params = [param(np.ones(n, np.float32)) for n in (40_000, 60_000)]
        opt = getattr(optim, name)(params, **hyper)
        for p in params:
            p.grad = gg.tensor(np.full(p.shape, 0.5, np.float32))
        opt.step()
        tracemalloc.start()
        try:
            opt.step()
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 10_000, (name, hyper, peak)  # the parameters take 400 kB


def test_version_is_bumped_only_for_updated_params():
    a, b = param([1.0]), param([2.0])
    opt = optim.SGD([a, b], lr=0.1)
    a.grad = gg.tensor([1.0])
    before = (a._version, b._version)
    opt.step()
    assert (a._version, b._version) == (before[0] + 1, before[1])


def test_repointed_data_is_repacked_with_state_kept():
    # Module.to() and friends replace p.data; the optimizer must follow, keeping its state.
    values, grads = initial_values(), gradient_sequence()
    hyper = dict(lr=0.01, betas=(0.8, 0.9))
    params, opt = run(optim.Adam, hyper, values, grads[:5])
    for p in params:
        p.data = p.data.copy()
    new_arrays = [p.data for p in params]
    for step_grads in grads[5:]:
        for p, g in zip(params, step_grads):
            p.grad = gg.tensor(g)
        opt.step()
    for p, expected in zip(params, reference("Adam", hyper, values, grads)):
        np.testing.assert_allclose(p.data, expected, rtol=1e-5, atol=1e-6)
    # The new arrays' values were taken over, then p.data re-pointed into a new flat buffer.
    assert not any(p.data is a for p, a in zip(params, new_arrays))


def test_mixed_dtypes_in_one_group():
    a = Parameter(gg.tensor(np.array([1.0, 2.0], dtype=np.float64)))
    b = param([3.0])
    opt = optim.SGD([a, b], lr=0.5)
    a.grad, b.grad = gg.tensor(np.array([1.0, 1.0])), gg.tensor([2.0])
    opt.step()
    assert a.data.dtype == np.float64 and b.data.dtype == np.float32
    np.testing.assert_allclose(a.data, [0.5, 1.5])
    np.testing.assert_allclose(b.data, [2.0])


def test_zero_grad_and_closure():
    a = param([1.0, 2.0])
    opt = optim.SGD([a], lr=0.1)
    a.grad = gg.tensor([1.0, 1.0])
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(a.grad.data, [0.0, 0.0])
    opt.zero_grad()
    assert a.grad is None
    assert opt.step(lambda: 42.0) == 42.0


@pytest.mark.parametrize("name, hyper", CASES, ids=CASE_IDS)
def test_state_dict_round_trip_continues_identically(name, hyper):
    values, grads = initial_values(), gradient_sequence()
    straight, _ = run(getattr(optim, name), hyper, values, grads)
    first, opt = run(getattr(optim, name), hyper, values, grads[:5])
    saved = opt.state_dict()
    saved_arrays = [v for s in saved["state"].values() for k, v in s.items() if k != "step"]
    snapshot = [a.copy() for a in saved_arrays]
    resumed = [param(p.data.copy()) for p in first]
    opt2 = getattr(optim, name)(resumed, lr=123.0)  # hyperparameters come from the state dict
    opt2.load_state_dict(saved)
    assert opt2.param_groups[0]["lr"] == hyper["lr"]
    assert_continues_exactly(opt2, resumed, grads[5:], straight)
    for array, copy in zip(saved_arrays, snapshot):  # state_dict hands out copies
        np.testing.assert_array_equal(array, copy)


def assert_continues_exactly(optimizer, params, remaining_grads, straight):
    """Step a restored optimizer through the remaining gradients; it must land on the
    parameters of the uninterrupted run, bit for bit."""
    for step_grads in remaining_grads:
        for p, g in zip(params, step_grads):
            p.grad = gg.tensor(g)
        optimizer.step()
    for p, expected in zip(params, straight):
        np.testing.assert_array_equal(p.data, expected.data)


def test_state_dict_survives_a_checkpoint_file(tmp_path):
    from gpugrad import checkpoint
    values, grads = initial_values(), gradient_sequence(4)
    straight, _ = run(optim.AdamW, dict(lr=0.01, amsgrad=True), values, grads)
    first, opt = run(optim.AdamW, dict(lr=0.01, amsgrad=True), values, grads[:2])
    checkpoint.save({"optimizer": opt.state_dict()}, tmp_path / "opt.safetensors")
    resumed = [param(p.data.copy()) for p in first]
    opt2 = optim.AdamW(resumed)
    opt2.load_state_dict(checkpoint.load(tmp_path / "opt.safetensors")["optimizer"])
    assert_continues_exactly(opt2, resumed, grads[2:], straight)


def test_state_dict_shape():
    params, opt = run(optim.Adam, dict(lr=0.01), initial_values(), gradient_sequence(2))
    saved = opt.state_dict()
    assert saved["param_groups"][0]["params"] == [0, 1, 2, 3]
    assert saved["param_groups"][0]["betas"] == (0.9, 0.999)
    assert set(saved["state"][0]) == {"step", "exp_avg", "exp_avg_sq"}
    assert saved["state"][0]["step"] == 2
    assert saved["state"][0]["exp_avg"].shape == (3, 4)


def test_mismatched_load_raises_and_changes_nothing():
    params, opt = run(optim.Adam, dict(lr=0.01), initial_values(), gradient_sequence(2))
    good = opt.state_dict()

    def broken(change):
        state = opt.state_dict()
        change(state)
        return state

    bad = [
        broken(lambda s: s["param_groups"].append(dict(s["param_groups"][0]))),
        broken(lambda s: s["param_groups"][0].update(params=[0, 1, 2])),
        broken(lambda s: s["state"][0].update(exp_avg=np.zeros((4, 3), np.float32))),
        broken(lambda s: s["state"][0].update(momentum_buffer=np.zeros((3, 4), np.float32))),
        broken(lambda s: s["state"].update({7: s["state"][0]})),
        broken(lambda s: s["param_groups"][0].update(lr=-1.0)),
    ]
    fresh, fresh_opt = run(optim.Adam, dict(lr=0.01), initial_values(), [])
    for state in bad:
        for target in (opt, fresh_opt):
            with pytest.raises(ValueError):
                target.load_state_dict(state)
    after = opt.state_dict()
    assert after["param_groups"] == good["param_groups"]
    for index, param_state in good["state"].items():
        for key, value in param_state.items():
            np.testing.assert_array_equal(after["state"][index][key], value)
    assert fresh_opt.state_dict()["state"] == {}


@pytest.mark.parametrize("make, message", [
    (lambda p: optim.SGD(p, lr=-0.1), "lr"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=-0.5), "momentum"),
    (lambda p: optim.SGD(p, lr=0.1, nesterov=True), "Nesterov"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "Nesterov"),
    (lambda p: optim.SGD(p, lr=0.1, weight_decay=-1), "weight_decay"),
    (lambda p: optim.Adam(p, betas=(1.0, 0.999)), "beta"),
    (lambda p: optim.Adam(p, betas=(0.9, -0.1)), "beta"),
    (lambda p: optim.AdamW(p, eps=-1e-8), "eps"),
    (lambda p: optim.RMSprop(p, alpha=-0.5), "alpha"),
    (lambda p: optim.SGD([{"params": p, "lr": -1.0}], lr=0.1), "lr"),
    (lambda p: optim.SGD([], lr=0.1), "empty"),
    (lambda p: optim.SGD([{"params": p}, {"params": p[:1]}], lr=0.1), "more than one"),
    (lambda p: optim.SGD(p + p[:1], lr=0.1), "twice"),
    (lambda p: optim.SGD([p[0] * 2], lr=0.1), "non-leaf"),
])
def test_bad_arguments_raise_clear_errors(make, message):
    params = [param(v) for v in initial_values()]
    with pytest.raises(ValueError, match=message):
        make(params)


def test_set_of_params_is_a_type_error():
    with pytest.raises(TypeError, match="set"):
        optim.SGD({param([1.0])}, lr=0.1)


@pytest.mark.parametrize("cls", [optim.SGD, optim.Adam, optim.AdamW, optim.RMSprop])
def test_trains_a_small_model(cls):
    # End to end: autograd writes .grad, the optimizer updates views that the layers read.
    from gpugrad import nn
    from gpugrad.nn import functional as F
    gg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))
    opt = cls(model.parameters(), lr=0.05)
    x = np.random.default_rng(0).standard_normal((64, 3)).astype(np.float32)
    x, y = gg.tensor(x), gg.tensor(x @ np.array([[1.0], [2.0], [-1.0]], np.float32))
    losses = []
    for _ in range(60):
        loss = F.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    assert losses[-1] < 0.2 * losses[0]


# ---- fused kernels: the dispatch contract ------------------------------------------------------

def test_fused_kernel_gets_the_whole_flat_buffer(monkeypatch):
    calls = []

    def sgd_update(param, grad, buf, lr, momentum, dampening, weight_decay, nesterov, first):
        calls.append(("sgd", param.shape, first, lr, momentum))
        param -= lr * grad

    def adam_update(param, grad, m, v, lr, beta1, beta2, eps, weight_decay, decoupled, step):
        calls.append(("adam", param.shape, step, decoupled, weight_decay))

    kernels = types.SimpleNamespace(use_fused=lambda array: True)
    updates = types.SimpleNamespace(sgd_update=sgd_update, adam_update=adam_update)
    monkeypatch.setitem(optimizer_module._modules, "gpugrad.kernels", kernels)
    monkeypatch.setitem(optimizer_module._modules, "gpugrad.kernels.optim_update", updates)
    values, grads = initial_values(), gradient_sequence(2)
    total = sum(v.size for v in values)
    params, _ = run(optim.SGD, dict(lr=0.1, momentum=0.9), values, grads)
    np.testing.assert_allclose(params[0].data, values[0] - 0.1 * (grads[0][0] + grads[1][0]),
                               rtol=1e-6)
    run(optim.AdamW, dict(lr=0.1), values, grads[:1])
    run(optim.Adam, dict(lr=0.1, amsgrad=True), values, grads[:1])  # no kernel: composite
    assert calls == [("sgd", (total,), True, 0.1, 0.9), ("sgd", (total,), False, 0.1, 0.9),
                     ("adam", (total,), 1, True, 0.01)]


FUSED_SCRIPT = """
import numpy as np, gpugrad as gg
from gpugrad import optim
from gpugrad.nn import Parameter
from gpugrad.optim import optimizer
rng = np.random.default_rng(0)
values = [rng.standard_normal(s).astype(np.float32) for s in [(3, 4), (5,)]]
grads = [[rng.standard_normal(v.shape).astype(np.float32) for v in values] for _ in range(4)]

def run(name, hyper, fused):
    optimizer._modules.clear()
    if not fused:
        optimizer._modules["gpugrad.kernels"] = None  # as if absent: composite only
    params = [Parameter(gg.tensor(v)) for v in values]
    assert (optimizer.fused_kernels(params[0].data) is not None) == fused
    opt = getattr(optim, name)(params, **hyper)
    for t, step in enumerate(grads):
        for i, (p, g) in enumerate(zip(params, step)):
            p.grad = None if i == 1 and t < 2 else gg.tensor(g)  # t < 2: one slice at a time
        opt.step()
    return [p.numpy() for p in params]

for name, hyper in [("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1)),
                    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.2)), ("SGD", dict(lr=0.1)),
                    ("Adam", dict(lr=0.01, weight_decay=0.1)), ("AdamW", dict(lr=0.01))]:
    for a, b in zip(run(name, hyper, True), run(name, hyper, False)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=name + str(hyper))
print("fused ok")
"""


def test_fused_kernels_match_composite_in_simulator():
    # The real Numba kernels, run on NumPy arrays by Numba's CUDA simulator (a fresh process:
    # the simulator must be chosen before numba.cuda is imported).
    pytest.importorskip("numba")
    try:
        import gpugrad.kernels.optim_update  # noqa: F401
    except ImportError:
        pytest.skip("gpugrad.kernels.optim_update is not there")
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1", "GPUGRAD_BACKEND": "numpy",
           "GPUGRAD_FUSED": "on"}
    result = subprocess.run([sys.executable, "-c", FUSED_SCRIPT], env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "fused ok" in result.stdout


# ---- gradient clipping -------------------------------------------------------------------------

def with_grads(grads):
    params = [param(np.zeros_like(g)) for g in grads]
    for p, g in zip(params, grads):
        p.grad = gg.tensor(g)
    return params


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, float("inf")])
def test_clip_grad_norm(norm_type):
    grads = gradient_sequence(1)[0]
    flat = np.concatenate([g.reshape(-1) for g in grads]).astype(np.float64)
    expected = np.linalg.norm(flat, ord=norm_type)
    params = with_grads(grads)
    params.append(param([1.0]))  # no grad: ignored
    total = clip_grad_norm_(params, max_norm=1.0, norm_type=norm_type)
    assert isinstance(total, gg.Tensor) and total.shape == ()
    assert float(total) == pytest.approx(expected, rel=1e-5)
    for p, g in zip(params, grads):
        np.testing.assert_allclose(p.grad.data, g / (expected + 1e-6), rtol=1e-5)
    clipped = np.concatenate([p.grad.data.reshape(-1) for p in params[:-1]])
    assert np.linalg.norm(clipped, ord=norm_type) == pytest.approx(1.0, rel=1e-5)


def test_clip_grad_norm_leaves_small_grads_and_checks_finiteness():
    params = with_grads([np.array([0.3, 0.4], np.float32)])
    assert float(clip_grad_norm_(params[0], max_norm=1.0)) == pytest.approx(0.5)
    np.testing.assert_array_equal(params[0].grad.data, np.array([0.3, 0.4], np.float32))
    assert float(clip_grad_norm_([param([1.0])], 1.0)) == 0.0  # no grads at all
    params = with_grads([np.array([np.inf, 1.0], np.float32)])
    with pytest.raises(RuntimeError, match="error_if_nonfinite"):
        clip_grad_norm_(params, 1.0, error_if_nonfinite=True)


def test_clip_grad_norm_matches_torch():
    torch = pytest.importorskip("torch")
    grads = [10 * g for g in gradient_sequence(1)[0]]
    params = with_grads(grads)
    torch_params = [torch.zeros(g.shape, requires_grad=True) for g in grads]
    for p, g in zip(torch_params, grads):
        p.grad = torch.tensor(g)
    total = clip_grad_norm_(params, max_norm=2.0)
    expected = torch.nn.utils.clip_grad_norm_(torch_params, max_norm=2.0)
    assert float(total) == pytest.approx(float(expected), rel=1e-6)
    for p, q in zip(params, torch_params):
        np.testing.assert_allclose(p.grad.data, q.grad.numpy(), rtol=1e-6)


def test_clip_grad_value():
    params = with_grads([np.array([-3.0, 0.5, 2.0], np.float32)])
    clip_grad_value_(params, 1.0)
    np.testing.assert_array_equal(params[0].grad.data, [-1.0, 0.5, 1.0])
