import os

import numpy as np
import pytest
import safetensors.numpy

import gpugrad
from gpugrad.checkpoint import load, save


def nested_state():
    return {
        "model": {
            "fc1.weight": np.arange(6, dtype=np.float32).reshape(2, 3),
            "fc1.bias": np.array([0.5, -1.5], dtype=np.float64),
            "half": np.array([1.0, 2.5], dtype=np.float16),
            "mask": np.array([[True, False]]),
            "ids": np.array([-3, 7], dtype=np.int64),
            "small": np.array([1, 2], dtype=np.int32),
            "bytes": np.array([0, 255], dtype=np.uint8),
            "scalar0d": np.array(3.25, dtype=np.float32),
            "empty": np.zeros((0, 4), dtype=np.float32),
        },
        "optimizer": {
            "state": {0: {"exp_avg": np.ones(3, np.float32), "step": 12},
                      1: {"exp_avg": np.zeros(2, np.float32), "step": 12}},
            "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "params": [0, 1],
                              "amsgrad": False, "weight_decay": 0.0, "foreach": None}],
        },
        "epoch": 7,
        "name": "mlp/digits",
        "nan": float("nan"),
        "np_scalar": np.float64(0.25),
        "1": "a str key that looks like an int",
        1: "an int key",
        "tag/with/slashes": np.array([9], np.int16),
        "tag": {"with": {"slashes": np.array([8], np.int16)}},
        "empty_list": [], "empty_dict": {}, "empty_tuple": (),
    }


def assert_same(a, b):
    """Exact structural equality: types (dict/list/tuple, int/float/bool), keys, dtypes."""
    assert type(a) is type(b), (a, b)
    if isinstance(a, dict):
        assert list(a.keys()) == list(b.keys())
        assert [type(k) for k in a] == [type(k) for k in b]
        for k in a:
            assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif isinstance(a, (np.ndarray, np.generic)):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b)
    else:
        assert a == b


def test_round_trip_nested_state(tmp_path):
    state = nested_state()
    path = tmp_path / "ckpt.safetensors"
    save(state, path)
    assert_same(load(path), state)
    assert_same(load(str(path)), state)


def test_tensors_in_arrays_out(tmp_path):
    weight = gpugrad.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    labels = gpugrad.tensor([1, 2, 3])
    save({"model": {"w": weight}, "labels": labels}, tmp_path / "t.safetensors")
    out = load(tmp_path / "t.safetensors")
    assert isinstance(out["model"]["w"], np.ndarray) and out["model"]["w"].dtype == np.float32
    np.testing.assert_array_equal(out["model"]["w"], weight.numpy())
    assert out["labels"].dtype == np.int64


def test_file_is_plain_safetensors_with_path_keys(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    save(nested_state(), path)
    tensors = safetensors.numpy.load_file(path)
    assert "model/fc1.weight" in tensors and "optimizer/state/0/exp_avg" in tensors


def test_overwrite_replaces_old_file(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    save({"v": 1}, path)
    save({"v": 2}, path)
    assert load(path) == {"v": 2}
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]


@pytest.mark.parametrize("fail_at", ["fsync", "replace"])
def test_crash_during_write_keeps_old_file(tmp_path, monkeypatch, fail_at):
    path = tmp_path / "ckpt.safetensors"
    save({"v": np.ones(3)}, path)
    old_bytes = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("simulated crash")

    monkeypatch.setattr(os, fail_at, crash)
    with pytest.raises(OSError, match="simulated crash"):
        save({"v": np.zeros(1000)}, path)
    monkeypatch.undo()
    assert path.read_bytes() == old_bytes
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]  # no temp file left behind


def test_unsupported_values_raise_before_writing(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    with pytest.raises(TypeError, match="model/layer"):
        save({"model": {"layer": object()}}, path)
    with pytest.raises(TypeError, match="key"):
        save({(1, 2): 3}, path)
    with pytest.raises(TypeError, match="complex"):
        save({"z": np.array([1j])}, path)
    assert os.listdir(tmp_path) == []


def test_save_into_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope"):
        save({"v": 1}, tmp_path / "nope" / "ckpt.safetensors")


def test_load_missing_file(tmp_path):
    path = tmp_path / "missing.safetensors"
    with pytest.raises(FileNotFoundError, match="missing.safetensors"):
        load(path)


@pytest.mark.parametrize("keep", [3, 40, -5])
def test_load_truncated_file(tmp_path, keep):
    path = tmp_path / "ckpt.safetensors"
    save(nested_state(), path)
    path.write_bytes(path.read_bytes()[:keep])
    with pytest.raises(ValueError, match="ckpt.safetensors"):
        load(path)


def test_load_foreign_files(tmp_path):
    random_path = tmp_path / "random.bin"
    random_path.write_bytes(np.random.default_rng(0).bytes(1000))
    npz_path = tmp_path / "arrays.npz"
    np.savez(npz_path, a=np.ones(3))
    empty_path = tmp_path / "empty.safetensors"
    empty_path.write_bytes(b"")
    plain_path = tmp_path / "plain.safetensors"  # safetensors, but not ours
    safetensors.numpy.save_file({"a": np.ones(3)}, plain_path, metadata={"format": "pt"})
    for path in (random_path, npz_path, empty_path, plain_path):
        with pytest.raises(ValueError, match=path.name):
            load(path)
    with pytest.raises(ValueError, match="not a gpugrad checkpoint"):
        load(plain_path)
