"""nn: layers' forward and gradients, loss functions, Conv2d/MaxPool2d vs loops, Module state."""
import numpy as np
import pytest

import gpugrad as gg
from gpugrad import nn
from gpugrad.nn import functional as F
from helpers import check_op

rng = np.random.default_rng(0)


def t64(*shape, grad=True):
    return gg.tensor(rng.uniform(-1.5, 1.5, shape), requires_grad=grad)


def np_log_softmax(a):
    m = a.max(1, keepdims=True)
    return a - m - np.log(np.exp(a - m).sum(1, keepdims=True))


def np_cross_entropy(logits, targets, reduction, smoothing, ignore_index):
    logp = np_log_softmax(logits)
    valid = targets != ignore_index
    safe = np.where(valid, targets, 0)
    loss = -(1 - smoothing) * logp[np.arange(len(safe)), safe] - smoothing * logp.mean(1)
    loss = loss * valid
    return {"none": loss, "sum": loss.sum(), "mean": loss.sum() / max(valid.sum(), 1)}[reduction]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("ignore", [False, True])
def test_cross_entropy(reduction, smoothing, ignore):
    targets = np.array([2, 0, 4, 1, 3, 2, 0])
    if ignore:
        targets[[1, 4]] = -100
    check_op(lambda z: F.cross_entropy(z, gg.tensor(targets), reduction, smoothing),
             lambda z: np_cross_entropy(z, targets, reduction, smoothing, -100), (7, 5))


def test_cross_entropy_is_stable_and_validates():
    logits = gg.tensor([[1000.0, 0.0], [0.0, -1000.0]])
    np.testing.assert_allclose(F.cross_entropy(logits, gg.tensor([0, 1]), reduction="none").numpy(), [0.0, 1000.0])
    with pytest.raises(ValueError, match=r"targets must be integers of shape \(2,\)"):
        F.cross_entropy(logits, gg.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"targets must be in \[0, 2\)"):
        F.cross_entropy(logits, gg.tensor([0, 2]))


def test_cross_entropy_matches_torch():
    torch = pytest.importorskip("torch")
    logits, targets = rng.normal(size=(6, 4)), np.array([0, 3, -100, 1, 2, 3])
    expected = torch.nn.functional.cross_entropy(torch.tensor(logits), torch.tensor(targets), label_smoothing=0.2)
    got = F.cross_entropy(gg.tensor(logits), gg.tensor(targets), label_smoothing=0.2)
    assert got.item() == pytest.approx(expected.item(), rel=1e-12)


def test_mse_loss():
    check_op(lambda a, b: F.mse_loss(a, b), lambda a, b: ((a - b) ** 2).mean(), (3, 4), (3, 4))
    check_op(lambda a, b: F.mse_loss(a, b, "sum"), lambda a, b: ((a - b) ** 2).sum(), (3, 4), (3, 4))


@pytest.mark.parametrize("activation", ["identity", "relu", "gelu", "gelu_tanh", "tanh"])
def test_linear_act_matches_its_composite(activation):
    x, w, b = t64(5, 3), t64(4, 3), t64(4)
    expected = F.linear(x, w, b)
    expected = {"identity": expected, "relu": expected.relu(), "gelu": expected.gelu(),
                "gelu_tanh": expected.gelu("tanh"), "tanh": expected.tanh()}[activation]
    np.testing.assert_allclose(F.linear_act(x, w, b, activation).numpy(), expected.numpy())
    assert gg.gradcheck(lambda x, w, b: F.linear_act(x, w, b, activation), [x, w, b])


def test_layer_norm():
    def reference(x, w, b):
        mu, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + 1e-5) * w + b
    check_op(lambda x, w, b: F.layer_norm(x, 5, w, b), reference, (2, 3, 5), (5,), (5,))
    check_op(lambda x: F.layer_norm(x, (3, 5)),
             lambda x: (x - x.mean((1, 2), keepdims=True)) / np.sqrt(x.var((1, 2), keepdims=True) + 1e-5), (2, 3, 5))
    with pytest.raises(ValueError, match=r"normalized_shape \(4,\) does not match.*\(2, 5\)"):
        F.layer_norm(gg.ones(2, 5), 4)


def conv_loop(x, w, b, stride, padding):
    x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    oh, ow = (h - kh) // stride + 1, (wd - kw) // stride + 1
    out = np.zeros((n, o, oh, ow))
    for i in range(oh):
        for j in range(ow):
            patch = x[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
            out[:, :, i, j] = np.tensordot(patch, w, axes=([1, 2, 3], [1, 2, 3])) + b
    return out


@pytest.mark.parametrize("stride,padding", [(1, 0), (2, 1), (1, 2)])
def test_conv2d_against_loops(stride, padding):
    check_op(lambda x, w, b: F.conv2d(x, w, b, stride, padding),
             lambda x, w, b: conv_loop(x, w, b, stride, padding), (2, 3, 6, 5), (4, 3, 3, 2), (4,))


def test_max_pool2d_against_loops():
    def pool_loop(x, k, s):
        n, c, h, w = x.shape
        oh, ow = (h - k) // s + 1, (w - k) // s + 1
        out = np.zeros((n, c, oh, ow))
        for i in range(oh):
            for j in range(ow):
                out[:, :, i, j] = x[:, :, i * s:i * s + k, j * s:j * s + k].max(axis=(2, 3))
        return out
    check_op(lambda x: F.max_pool2d(x, 2), lambda x: pool_loop(x, 2, 2), (2, 3, 6, 7))
    check_op(lambda x: F.max_pool2d(x, 3, 1), lambda x: pool_loop(x, 3, 1), (1, 2, 5, 5))


def test_conv_module_shapes_and_pool_module():
    conv, pool = nn.Conv2d(1, 4, 3, padding=1), nn.MaxPool2d(2)
    out = pool(conv(gg.randn(2, 1, 8, 8)))
    assert out.shape == (2, 4, 4, 4)
    with pytest.raises(ValueError, match=r"conv2d: .*\(2, 3, 8, 8\) and \(4, 1, 3, 3\)"):
        conv(gg.randn(2, 3, 8, 8))


def test_dropout_scales_and_is_identity_in_eval():
    gg.manual_seed(1)
    layer = nn.Dropout(0.25)
    x = gg.ones(200, 100)
    y = layer(x).numpy()
    assert set(np.unique(y)) == {0.0, np.float32(1 / 0.75)}
    assert abs((y == 0).mean() - 0.25) < 0.02
    layer.eval()
    assert layer(x) is x


def test_embedding_gathers_and_accumulates_repeated_rows():
    emb = nn.Embedding(5, 3)
    idx = gg.tensor([[0, 2], [2, 4]])
    out = emb(idx)
    assert out.shape == (2, 2, 3)
    out.sum().backward()
    np.testing.assert_allclose(emb.weight.grad.numpy()[:, 0], [1, 0, 2, 0, 1])
    with pytest.raises(IndexError, match=r"\[0, 5\)"):
        emb(gg.tensor([5]))


def test_linear_init_and_layers_forward():
    gg.manual_seed(0)
    layer = nn.Linear(400, 300)
    w = layer.weight.numpy()
    assert w.shape == (300, 400) and w.dtype == np.float32
    assert np.abs(w).max() <= 1 / 20 and w.std() == pytest.approx(1 / 20 / np.sqrt(3), rel=0.02)
    x = gg.randn(2, 400)
    np.testing.assert_allclose(layer(x).numpy(), x.numpy() @ w.T + layer.bias.numpy(), rtol=1e-5, atol=1e-5)
    for act, ref in [(nn.ReLU(), lambda a: np.maximum(a, 0)), (nn.Tanh(), np.tanh),
                     (nn.Sigmoid(), lambda a: 1 / (1 + np.exp(-a))), (nn.Flatten(), lambda a: a.reshape(2, -1))]:
        np.testing.assert_allclose(act(x).numpy(), ref(x.numpy()), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", ["kaiming_uniform_", "kaiming_normal_", "xavier_uniform_", "xavier_normal_"])
def test_init_standard_deviation(name):
    w = nn.Parameter(gg.zeros(256, 512))
    getattr(nn.init, name)(w, **({"nonlinearity": "relu"} if "kaiming" in name else {}))
    expected = np.sqrt(2 / 512) if "kaiming" in name else np.sqrt(2 / (256 + 512))
    assert w.numpy().std() == pytest.approx(expected, rel=0.03)


class TinyNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(3, 4), nn.GELU(), nn.LayerNorm(4))
        self.head = nn.Linear(4, 2)

    def forward(self, x):
        return self.head(self.body(x))


def test_module_registration_state_dict_and_modes():
    net = TinyNet()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["body.0.weight", "body.0.bias", "body.2.weight", "body.2.bias", "head.weight", "head.bias"]
    net.eval()
    assert not net.body[2].training
    other = TinyNet()
    other.load_state_dict(net.state_dict())
    x = gg.randn(3, 3)
    np.testing.assert_array_equal(other(x).numpy(), net(x).numpy())
    net(x).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_failed_load_state_dict_lists_problems_and_changes_nothing():
    net = TinyNet()
    before = {k: v.numpy().copy() for k, v in net.state_dict().items()}
    bad = {k: np.zeros(v.shape, np.float32) for k, v in before.items()}
    bad["head.weight"] = np.zeros((3, 4), np.float32)
    del bad["head.bias"]
    bad["extra"] = np.zeros(1, np.float32)
    with pytest.raises(ValueError) as info:
        net.load_state_dict(bad)
    message = str(info.value)
    assert "missing keys: head.bias" in message and "unexpected keys: extra" in message
    assert "head.weight: checkpoint (3, 4) vs model (2, 4)" in message
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k])
