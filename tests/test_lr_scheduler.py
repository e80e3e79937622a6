"""Learning-rate schedulers: hand-computed sequences, torch.optim.lr_scheduler when it imports,
chaining, and state_dict round trips."""

import math

import numpy as np
import pytest

import gpugrad as gg
from gpugrad import optim
from gpugrad.nn import Parameter
from gpugrad.optim import lr_scheduler as sched


def make_optimizer(lrs=(1.0,)):
    groups = [{"params": [Parameter(gg.tensor(np.zeros(2, np.float32)))], "lr": lr}
              for lr in lrs]
    return optim.SGD(groups, lr=lrs[0])


def lr_sequence(scheduler, steps):
    """The lr of each group at epoch 0 (after construction) and after each of ``steps`` steps."""
    values = [scheduler.get_last_lr()]
    for _ in range(steps):
        scheduler.optimizer.step()
        scheduler.step()
        values.append(scheduler.get_last_lr())
    assert values[-1] == [g["lr"] for g in scheduler.optimizer.param_groups]
    return values


def first_group(values):
    return [v[0] for v in values]


def cosine(t, T, base=1.0, eta_min=0.0):
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * t / T)) / 2


HAND = [
    (lambda o: sched.StepLR(o, step_size=3, gamma=0.1),
     [1, 1, 1, 0.1, 0.1, 0.1, 0.01, 0.01]),
    (lambda o: sched.MultiStepLR(o, milestones=[2, 5], gamma=0.5),
     [1, 1, 0.5, 0.5, 0.5, 0.25, 0.25]),
    (lambda o: sched.ExponentialLR(o, gamma=0.5), [1, 0.5, 0.25, 0.125]),
    (lambda o: sched.CosineAnnealingLR(o, T_max=4, eta_min=0.1),
     [cosine(t, 4, eta_min=0.1) for t in range(9)]),  # rises again past T_max
    (lambda o: sched.LinearLR(o, total_iters=4),
     [1 / 3 + 2 / 3 * min(t, 4) / 4 for t in range(7)]),
    (lambda o: sched.SequentialLR(o, [sched.LinearLR(o, start_factor=0.25, total_iters=3),
                                      sched.CosineAnnealingLR(o, T_max=4)], milestones=[3]),
     [0.25, 0.5, 0.75] + [cosine(t, 4) for t in range(5)]),
    (lambda o: sched.ChainedScheduler([sched.LinearLR(o, start_factor=0.5, total_iters=2),
                                       sched.ExponentialLR(o, gamma=0.9)]),
     [(0.5 + 0.5 * min(t, 2) / 2) * 0.9 ** t for t in range(6)]),
]


@pytest.mark.parametrize("make, expected", HAND)
def test_hand_computed_sequences(make, expected):
    values = first_group(lr_sequence(make(make_optimizer()), len(expected) - 1))
    np.testing.assert_allclose(values, expected, rtol=1e-12, atol=1e-15)


def test_every_param_group_is_scheduled():
    values = lr_sequence(sched.StepLR(make_optimizer((1.0, 0.1)), step_size=1, gamma=0.5), 2)
    np.testing.assert_allclose(values, [[1.0, 0.1], [0.5, 0.05], [0.25, 0.025]])


TORCH_CASES = {
    "StepLR": lambda m, o: m.StepLR(o, step_size=4, gamma=0.3),
    "MultiStepLR": lambda m, o: m.MultiStepLR(o, milestones=[3, 3, 8], gamma=0.5),
    "ExponentialLR": lambda m, o: m.ExponentialLR(o, gamma=0.8),
    "CosineAnnealingLR": lambda m, o: m.CosineAnnealingLR(o, T_max=6, eta_min=0.01),
    "LinearLR": lambda m, o: m.LinearLR(o, start_factor=0.1, end_factor=0.9, total_iters=7),
    "SequentialLR": lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.1, total_iters=5),
            m.CosineAnnealingLR(o, T_max=10, eta_min=0.001),
            m.ExponentialLR(o, gamma=0.9)], milestones=[5, 12]),
    "ChainedScheduler": lambda m, o: m.ChainedScheduler(
        [m.LinearLR(o, start_factor=0.2, total_iters=4), m.StepLR(o, step_size=3, gamma=0.5),
         m.CosineAnnealingLR(o, T_max=9)]),
}


@pytest.mark.parametrize("name", TORCH_CASES)
def test_matches_torch(name):
    torch = pytest.importorskip("torch")
    torch_opt = torch.optim.SGD([{"params": [torch.zeros(2, requires_grad=True)], "lr": 0.5},
                                 {"params": [torch.zeros(2, requires_grad=True)], "lr": 0.02}])
    expected = lr_sequence(TORCH_CASES[name](torch.optim.lr_scheduler, torch_opt), 25)
    ours = lr_sequence(TORCH_CASES[name](sched, make_optimizer((0.5, 0.02))), 25)
    np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", TORCH_CASES)
def test_state_dict_round_trip(name):
    straight = lr_sequence(TORCH_CASES[name](sched, make_optimizer((0.5, 0.02))), 12)
    first = TORCH_CASES[name](sched, make_optimizer((0.5, 0.02)))
    lr_sequence(first, 5)
    saved_optimizer, saved = first.optimizer.state_dict(), first.state_dict()
    assert "optimizer" not in saved
    # Resume as with PyTorch: build optimizer and scheduler, then load both.
    resumed = TORCH_CASES[name](sched, make_optimizer((0.5, 0.02)))
    resumed.optimizer.load_state_dict(saved_optimizer)
    resumed.load_state_dict(saved)
    np.testing.assert_allclose(lr_sequence(resumed, 7), straight[5:], rtol=1e-12)


def test_bad_arguments_raise_clear_errors():
    opt, other = make_optimizer(), make_optimizer()
    with pytest.raises(TypeError, match="not an Optimizer"):
        sched.StepLR(object(), step_size=1)
    with pytest.raises(ValueError, match="start_factor"):
        sched.LinearLR(opt, start_factor=0.0)
    with pytest.raises(ValueError, match="end_factor"):
        sched.LinearLR(opt, end_factor=1.5)
    with pytest.raises(ValueError, match="step_size"):
        sched.StepLR(opt, step_size=0)
    with pytest.raises(ValueError, match="T_max"):
        sched.CosineAnnealingLR(opt, T_max=0)
    with pytest.raises(ValueError, match="milestone"):
        sched.SequentialLR(opt, [sched.StepLR(opt, 2), sched.StepLR(opt, 3)], milestones=[])
    with pytest.raises(ValueError, match="different optimizer"):
        sched.ChainedScheduler([sched.StepLR(opt, 2), sched.StepLR(other, 3)])
    with pytest.raises(ValueError, match="at least one"):
        sched.SequentialLR(opt, [], milestones=[])
