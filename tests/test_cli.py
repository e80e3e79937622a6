"""`gpugrad train`: a real run in a subprocess, exact resume, plots, and bad input."""
import os
import subprocess
import sys

import numpy as np
import pytest

import gpugrad as gg
from gpugrad.cli import main


def run_cli(*args, cwd):
    env = dict(os.environ, GPUGRAD_BACKEND="numpy")
    return subprocess.run([sys.executable, "-m", "gpugrad", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=300)


def test_one_epoch_in_a_subprocess_reports_accuracy_and_writes_a_checkpoint(tmp_path):
    result = run_cli("train", "--epochs", "2", "--checkpoint", "ck.safetensors", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    accuracy = float(result.stdout.strip().splitlines()[-1].split(":")[1])
    assert accuracy > 0.8     # two epochs of the default MLP on digits
    state = gg.load(tmp_path / "ck.safetensors")
    assert state["epoch"] == 2 and set(state) >= {"model", "optimizer", "scheduler", "history", "rng"}


@pytest.mark.parametrize("model,optimizer", [("mlp", "adam"), ("cnn", "sgd"), ("mlp", "adamw")])
def test_resume_continues_exactly(tmp_path, model, optimizer, capsys):
    common = ["train", "--model", model, "--optimizer", optimizer, "--batch-size", "128", "--seed", "3"]
    straight, split = tmp_path / "straight.safetensors", tmp_path / "split.safetensors"
    assert main(common + ["--epochs", "2", "--checkpoint", str(straight)]) == 0
    assert main(common + ["--epochs", "1", "--checkpoint", str(split)]) == 0
    assert main(common + ["--epochs", "2", "--checkpoint", str(split), "--resume", str(split)]) == 0
    a, b = gg.load(straight), gg.load(split)
    assert a["epoch"] == b["epoch"] == 2
    for name in a["model"]:
        np.testing.assert_array_equal(a["model"][name], b["model"][name], err_msg=name)
    assert a["history"] == b["history"]


def test_plot_writes_a_png(tmp_path, capsys):
    plot = tmp_path / "curves.png"
    assert main(["train", "--epochs", "1", "--checkpoint", "", "--plot", str(plot)]) == 0
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("args,message", [
    (["train", "--epochs", "0"], "--epochs: must be a positive integer"),
    (["train", "--model", "rnn"], "invalid choice: 'rnn'"),
    (["train", "--lr", "-1"], "--lr: must be a positive number"),
    (["train", "--dataset", "mnist", "--data-dir", "/nonexistent/folder"], "does not exist"),
    (["train", "--dataset", "mnist"], "needs --data-dir"),
])
def test_bad_arguments_exit_2_with_one_line(tmp_path, args, message):
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_unreadable_checkpoint_exits_2(tmp_path):
    (tmp_path / "bad.safetensors").write_bytes(b"not a checkpoint")
    result = run_cli("train", "--resume", "bad.safetensors", cwd=tmp_path)
    assert result.returncode == 2 and "bad.safetensors" in result.stderr and "Traceback" not in result.stderr


def test_mnist_folder_of_idx_files_trains(tmp_path):
    import gzip
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 64), ("t10k", 32)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        header = np.array([0x803, n, 28, 28], ">i4").tobytes()
        with gzip.open(tmp_path / f"{prefix}-images-idx3-ubyte.gz", "wb") as f:
            f.write(header + images.tobytes())
        (tmp_path / f"{prefix}-labels-idx1-ubyte").write_bytes(np.array([0x801, n], ">i4").tobytes() + labels.tobytes())
    result = run_cli("train", "--dataset", "mnist", "--data-dir", str(tmp_path), "--epochs", "1",
                     "--checkpoint", "", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "test accuracy:" in result.stdout
