"""Per-op overhead: microseconds for forward + backward on small (8x8) tensors.

gpugrad vs a plain NumPy floor (forward and hand-written backward, no autograd) vs PyTorch eager
on CPU when importable; one process, medians over repeats after warm-up.
Run: python benchmarks/op_overhead.py [--repeats 2000]
"""
import argparse
import statistics
import time

import numpy as np

import gpugrad as gg


def median_us(fn, repeats, inner=50):
    for _ in range(inner * 5):   # warm-up
        fn()
    samples = []
    for _ in range(repeats // inner):
        start = time.perf_counter()
        for _ in range(inner):
            fn()
        samples.append((time.perf_counter() - start) / inner * 1e6)
    return statistics.median(samples)


def numpy_cases(a, b):
    ones = np.ones((8, 8), np.float32)
    return {
        "add": lambda: (a + b, ones, ones),
        "mul": lambda: (a * b, ones * b, ones * a),
        "matmul": lambda: (a @ b, ones @ b.T, a.T @ ones),
        "sum": lambda: (a.sum(), np.broadcast_to(np.float32(1), a.shape).copy()),
        "relu": lambda: (np.maximum(a, 0), ones * (a > 0)),
    }


def autograd_cases(a, b):
    """The same user code for gpugrad and torch tensors: op, sum, backward, clear grads."""
    def step(fn):
        def run():
            fn().sum().backward()
            a.grad = b.grad = None
        return run
    return {
        "add": step(lambda: a + b), "mul": step(lambda: a * b), "matmul": step(lambda: a @ b),
        "sum": step(lambda: a.sum()), "relu": step(lambda: a.relu()),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    a_np, b_np = rng.standard_normal((8, 8), dtype=np.float32), rng.standard_normal((8, 8), dtype=np.float32)
    # "sum" alone in gpugrad/torch still calls .sum().backward() (a scalar sum of a scalar); the
    # op + sum + backward is what a user pays, so the floor includes the same reduction.
    results = {"numpy floor": {k: median_us(f, args.repeats) for k, f in numpy_cases(a_np, b_np).items()}}
    a, b = gg.tensor(a_np, requires_grad=True), gg.tensor(b_np, requires_grad=True)
    results["gpugrad"] = {k: median_us(f, args.repeats) for k, f in autograd_cases(a, b).items()}
    try:
        import torch
        torch.set_num_threads(1)
        ta, tb = torch.tensor(a_np, requires_grad=True), torch.tensor(b_np, requires_grad=True)
        results["torch eager"] = {k: median_us(f, args.repeats) for k, f in autograd_cases(ta, tb).items()}
    except ImportError:
        print("(PyTorch not installed: pip install torch==2.13.0 for its column)")

    names = list(results)
    print(f"{'op (fwd+sum+bwd, 8x8)':<24}" + "".join(f"{n:>14}" for n in names)
          + ("  gpugrad/torch" if "torch eager" in results else ""))
    for op in results["gpugrad"]:
        row = f"{op:<24}" + "".join(f"{results[n][op]:>12.1f}us" for n in names)
        if "torch eager" in results:
            row += f"  {results['gpugrad'][op] / results['torch eager'][op]:>12.2f}x"
        print(row)


if __name__ == "__main__":
    main()
