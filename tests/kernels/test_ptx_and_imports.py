"""Checks that need the real CUDA target (PTX for sm_90 via NVVM, then ptxas), run in
subprocesses because this test session runs Numba's simulator."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(args, **env):
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=300)


def test_every_kernel_compiles_for_sm90_without_spills():
    result = run(["benchmarks/kernel_resources.py", "--json", "--cc", "9.0"],
                 NUMBA_ENABLE_CUDASIM="0")
    if result.returncode == 77:
        pytest.skip(result.stdout.strip())
    assert result.returncode == 0, result.stdout + result.stderr
    rows = json.loads(result.stdout)
    names = {row["kernel"].split("[")[0] for row in rows}
    assert names >= {"bias_act_forward", "bias_act_backward", "softmax_xent_forward",
                     "softmax_xent_backward", "layer_norm_forward", "layer_norm_backward_x",
                     "layer_norm_backward_gamma_beta", "sum_partial_rows", "sgd_update",
                     "adam_update"}
    for row in rows:
        assert row["spill_stores"] == row["spill_loads"] == 0, row
        assert row["f64_ops"] == 0, f"float64 arithmetic in a float32 kernel: {row}"


def test_importing_the_kernels_package_does_not_import_numba():
    code = ("import sys; sys.path.insert(0, '.'); import kernels; "
            "kernels.bias_act_forward; assert 'numba' not in sys.modules, 'numba imported'")
    result = run(["-c", code])
    assert result.returncode == 0, result.stderr


def test_gpu_check_dry_run_needs_no_gpu():
    result = run(["benchmarks/gpu_check.py", "--dry-run"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "dry run" in result.stdout
