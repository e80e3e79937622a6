"""Per-kernel resources on sm_90, without a GPU: Numba -> PTX (NVVM), then `ptxas -v`.

    python benchmarks/kernel_resources.py [--cc 9.0] [--dtype float32] [--block 256] [--json]
                                         [--check]

Prints registers, static shared memory, barriers, stack, spill stores/loads and the number of
float64 PTX instructions per kernel. --check exits 1 on any spill or (for float32) any float64
instruction. Exits 77 with a SKIP line when PTX cannot be produced here (no NVVM) or ptxas is
missing, so tests can skip with the reason.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import types
from pathlib import Path

# PTX needs the real CUDA target, never the simulator, whatever the caller's environment says.
os.environ["NUMBA_ENABLE_CUDASIM"] = "0"
ROOT = Path(__file__).resolve().parent.parent
SKIP = 77


def load_kernels_package():
    try:
        from gpugrad.kernels import _launch
    except ImportError:  # not installed: use the source tree
        sys.path.insert(0, str(ROOT))
        from kernels import _launch
    return _launch


def find_ptxas():
    for candidate in (shutil.which("ptxas"),
                      os.path.join(os.environ.get("CUDA_HOME", "/usr/local/cuda"), "bin", "ptxas")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def allow_compiling_without_gpu(cc):
    """Device functions (@cuda.jit(device=True)) ask the current device for its compute
    capability while a kernel that calls them compiles; with no GPU, answer with the target."""
    from numba import cuda
    if cuda.is_available():
        return
    import numba.cuda.dispatcher as dispatcher
    dispatcher.get_current_device = lambda: types.SimpleNamespace(compute_capability=cc)


def float64_instructions(ptx):
    return sum(1 for line in ptx.splitlines() if re.match(r"\s+[a-z][\w.]*\.f64\b", line))


def ptxas_info(ptxas, ptx, cc):
    with tempfile.NamedTemporaryFile("w", suffix=".ptx", delete=False) as handle:
        handle.write(ptx)
    try:
        result = subprocess.run([ptxas, f"-arch=sm_{cc[0]}{cc[1]}", "-v", handle.name,
                                 "-o", os.devnull], capture_output=True, text=True)
    finally:
        os.unlink(handle.name)
    if result.returncode:
        raise RuntimeError(f"ptxas failed:\n{result.stderr}")

    def number(pattern):
        found = re.search(pattern, result.stderr)
        return int(found.group(1)) if found else 0

    return {
        "registers": number(r"Used (\d+) registers"),
        "smem": number(r"(\d+) bytes smem"),
        "barriers": number(r"used (\d+) barriers"),
        "stack": number(r"(\d+) bytes stack frame"),
        "spill_stores": number(r"(\d+) bytes spill stores"),
        "spill_loads": number(r"(\d+) bytes spill loads"),
    }


def collect(cc, dtype, block):
    _launch = load_kernels_package()
    _launch.BLOCK = block
    ptxas = find_ptxas()
    if ptxas is None:
        raise LookupError("ptxas not found on PATH or in $CUDA_HOME/bin")
    try:
        from numba import cuda
        allow_compiling_without_gpu(cc)
        kernels = _launch.all_kernels(dtype)
        cuda.compile_ptx(kernels[0][1].pyfunc, kernels[0][1].signature, cc=cc)
    except Exception as error:  # no NVVM / numba-cuda here: nothing to measure
        raise LookupError(f"numba.cuda.compile_ptx unavailable: {type(error).__name__}: {error}")
    rows = []
    for family, kernel in kernels:
        ptx, _ = cuda.compile_ptx(kernel.pyfunc, kernel.signature, cc=cc)
        rows.append({"family": family, "kernel": kernel.name, **ptxas_info(ptxas, ptx, cc),
                     "f64_ops": float64_instructions(ptx)})
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cc", default="9.0", help="compute capability, e.g. 9.0")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--block", type=int, default=256, help="threads per block")
    parser.add_argument("--json", action="store_true", help="print rows as JSON")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 on spills or on float64 instructions in float32 kernels")
    args = parser.parse_args(argv)
    cc = tuple(int(part) for part in args.cc.split("."))
    try:
        rows = collect(cc, args.dtype, args.block)
    except LookupError as reason:
        print(f"SKIP: {reason}")
        return SKIP
    if args.json:
        print(json.dumps(rows))
    else:
        print(f"sm_{cc[0]}{cc[1]}, {args.dtype}, {args.block} threads/block "
              "(smem: static bytes per block)")
        header = ("kernel", "regs", "smem", "barriers", "stack", "spill st", "spill ld", "f64 ops")
        print(f"{header[0]:<52}" + "".join(f"{h:>9}" for h in header[1:]))
        for row in rows:
            values = (row["registers"], row["smem"], row["barriers"], row["stack"],
                      row["spill_stores"], row["spill_loads"], row["f64_ops"])
            label = row['family'] + '.' + row['kernel']
            print(f"{label:<52}" + "".join(f"{v:>9}" for v in values))
    bad = [row["kernel"] for row in rows if row["spill_stores"] or row["spill_loads"]
           or (args.dtype == "float32" and row["f64_ops"])]
    if args.check and bad:
        print(f"FAIL: spills or float64 instructions in {bad}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
