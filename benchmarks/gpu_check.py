"""One-shot GPU check of the fused kernels against composites and PyTorch.

Correctness at training sizes, speed against CuPy composites (the same math as array
expressions) and PyTorch, and per-call launch overhead.

    python benchmarks/gpu_check.py            # NVIDIA GPU + CuPy (+ PyTorch if importable)
    python benchmarks/gpu_check.py --dry-run  # anywhere: NumPy composites on tiny sizes

Installs nothing. Times are medians of CUDA-event intervals after warm-up; GB/s counts the
minimum HBM traffic of each op (each input read once, each output written once) and is compared
with a measured device-to-device copy. Exits 1 when any result is off its float64 reference.
"""
import argparse
import math
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
TOLERANCE = 1e-4  # max |result - float64 reference| / max |reference|


def load_packages():
    sys.path.insert(0, str(ROOT))  # this checkout's gpugrad and kernels, nothing installed
    from gpugrad import backend
    try:
        from gpugrad import kernels
    except ImportError:  # not pip-installed: the source folder
        import kernels
    return backend, kernels


# ---- composites: the same math as CuPy/NumPy expressions (also the float64 references) ----

def activation(xp, erf, s, name, grad=False):
    if name == "relu":
        return (s > 0).astype(s.dtype) if grad else xp.maximum(s, 0)
    if name == "gelu":
        cdf = 0.5 * (1 + erf(s * (1 / math.sqrt(2))))
        return cdf + s * xp.exp(-0.5 * s * s) * (1 / math.sqrt(2 * math.pi)) if grad else s * cdf
    if name == "gelu_tanh":
        k = math.sqrt(2 / math.pi)
        t = xp.tanh(k * (s + 0.044715 * s ** 3))
        if grad:
            return 0.5 * (1 + t) + 0.5 * s * (1 - t * t) * k * (1 + 3 * 0.044715 * s * s)
        return 0.5 * s * (1 + t)
    if name == "tanh":
        return 1 - xp.tanh(s) ** 2 if grad else xp.tanh(s)
    return xp.ones_like(s) if grad else s


def composite_ops(xp, erf):
    def bias_act_forward(z, bias, name):
        return activation(xp, erf, z + bias, name)

    def bias_act_backward(grad_y, z, bias, name):
        grad_z = grad_y * activation(xp, erf, z + bias, name, grad=True)
        return grad_z, grad_z.sum(0)

    def softmax_xent_forward(logits, targets, ignore_index, smoothing):
        top = logits.max(1, keepdims=True)
        lse = xp.log(xp.exp(logits - top).sum(1)) + top[:, 0]
        keep = targets != ignore_index
        picked = xp.take_along_axis(logits, xp.where(keep, targets, 0)[:, None], 1)[:, 0]
        loss = lse - (1 - smoothing) * picked - smoothing / logits.shape[1] * logits.sum(1)
        return xp.where(keep, loss, 0), lse

    def softmax_xent_backward(grad_rows, logits, targets, lse, ignore_index, smoothing):
        keep = targets != ignore_index
        grad = xp.exp(logits - lse[:, None]) - smoothing / logits.shape[1]
        grad[xp.arange(len(targets)), xp.where(keep, targets, 0)] -= 1 - smoothing
        return grad * xp.where(keep, grad_rows, 0)[:, None]

    def layer_norm_forward(x, gamma, beta, eps):
        mean = x.mean(1)
        rstd = 1 / xp.sqrt(x.var(1) + eps)
        return (x - mean[:, None]) * rstd[:, None] * gamma + beta, mean, rstd

    def layer_norm_backward(grad_y, x, gamma, mean, rstd):
        xhat = (x - mean[:, None]) * rstd[:, None]
        g = grad_y * gamma
        grad_x = rstd[:, None] * (g - g.mean(1, keepdims=True)
                                  - xhat * (g * xhat).mean(1, keepdims=True))
        return grad_x, (grad_y * xhat).sum(0), grad_y.sum(0)

    def sgd_update(p, g, buf, lr, momentum=0.0, dampening=0.0, wd=0.0, nesterov=False,
                   first_step=False):
        g = g + wd * p
        if momentum:
            buf[...] = g if first_step else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        p -= lr * g

    def adam_update(p, g, m, v, lr, beta1, beta2, eps, wd, decoupled, step):
        if decoupled:
            p *= 1 - lr * wd
        else:
            g = g + wd * p
        m += (1 - beta1) * (g - m)
        v[...] = beta2 * v + (1 - beta2) * g * g
        p -= lr / (1 - beta1 ** step) * m / (xp.sqrt(v) / math.sqrt(1 - beta2 ** step) + eps)

    return {fn.__name__: fn for fn in (
        bias_act_forward, bias_act_backward, softmax_xent_forward, softmax_xent_backward,
        layer_norm_forward, layer_norm_backward, sgd_update, adam_update)}


# ---- the cases ----

def make_cases(xp, sizes, rng):
    """(name, bytes moved, inputs, run(ops, inputs) -> outputs, torch(inputs) -> callable|None)."""
    rows, cols, classes, params = sizes

    def uniform(*shape):  # generated where the arrays live: no host RNG + copy of GBs
        return rng.random(shape, dtype=np.float32) * 4 - 2

    z, bias, grad_y = uniform(rows, cols), uniform(cols), uniform(rows, cols)
    logits, grad_rows = uniform(rows, classes), uniform(rows)
    targets = rng.integers(0, classes, rows).astype(np.int64)
    targets[::7] = -100
    gamma, beta = uniform(cols), uniform(cols)
    p, g, buf, m = uniform(params), uniform(params), uniform(params), uniform(params)
    v = xp.abs(uniform(params))
    mean_rstd = {}

    def ln_backward(ops, a):
        key = id(ops), a[1].dtype  # mean/rstd from the same implementation's forward
        if key not in mean_rstd:
            mean_rstd[key] = ops["layer_norm_forward"](a[1], a[2], beta.astype(a[1].dtype),
                                                       1e-5)[1:]
        return ops["layer_norm_backward"](*a, *mean_rstd[key])

    n, f = rows * cols * 4, 4
    lse = composite_ops(xp, None)["softmax_xent_forward"](logits, targets, -100, 0.1)[1]
    return [
        ("bias_act_forward[gelu]", 2 * n, (z, bias, "gelu"),
         lambda ops, a: ops["bias_act_forward"](*a), torch_bias_act(False)),
        ("bias_act_backward[gelu]", 3 * n, (grad_y, z, bias, "gelu"),
         lambda ops, a: ops["bias_act_backward"](*a), torch_bias_act(True)),
        ("bias_act_forward[relu]", 2 * n, (z, bias, "relu"),
         lambda ops, a: ops["bias_act_forward"](*a), torch_bias_act(False)),
        ("softmax_xent_forward", rows * classes * f, (logits, targets, -100, 0.1),
         lambda ops, a: ops["softmax_xent_forward"](*a), torch_xent(False)),
        ("softmax_xent_backward", 2 * rows * classes * f,
         (grad_rows, logits, targets, lse, -100, 0.1),
         lambda ops, a: ops["softmax_xent_backward"](*a), torch_xent(True)),
        ("layer_norm_forward", 2 * n, (z, gamma, beta, 1e-5),
         lambda ops, a: ops["layer_norm_forward"](*a), torch_layer_norm(False)),
        ("layer_norm_backward", 3 * n, (grad_y, z, gamma), ln_backward, torch_layer_norm(True)),
        ("sgd_update[momentum]", 5 * params * f, (p, g, buf, 1e-3, 0.9, 0.0, 1e-4, False, False),
         lambda ops, a: ops["sgd_update"](*a), torch_optimizer("SGD")),
        ("adamw_update", 7 * params * f, (p, g, m, v, 1e-3, 0.9, 0.999, 1e-8, 1e-2, True, 5),
         lambda ops, a: ops["adam_update"](*a), torch_optimizer("AdamW")),
    ]


# ---- PyTorch equivalents (optional): each returns a no-argument callable to time ----

def _torch(on_gpu):
    try:
        import torch
    except ImportError:
        return None
    return torch if torch.cuda.is_available() or not on_gpu else None


def _to_torch(torch, array, requires_grad=False):
    tensor = torch.from_dlpack(array) if hasattr(array, "__dlpack__") else array
    return tensor.detach().requires_grad_(requires_grad) if requires_grad else tensor


def torch_bias_act(backward):
    def build(torch, a):
        F = torch.nn.functional
        act = {"gelu": F.gelu, "relu": F.relu}[a[-1]]
        grad_y, z, bias = (None, *a[:2]) if not backward else a[:3]
        zt, bt = _to_torch(torch, z, True), _to_torch(torch, bias, True)
        if not backward:
            return lambda: act(zt + bt)
        y = act(zt + bt)
        gy = _to_torch(torch, grad_y)
        return lambda: torch.autograd.grad(y, (zt, bt), gy, retain_graph=True)
    return build


def torch_xent(backward):
    def build(torch, a):
        F = torch.nn.functional
        if not backward:
            logits, targets, ignore_index, smoothing = a
            lt, tt = _to_torch(torch, logits), _to_torch(torch, targets)
            return lambda: F.cross_entropy(lt, tt, reduction="none", ignore_index=ignore_index,
                                           label_smoothing=smoothing)
        grad_rows, logits, targets, _, ignore_index, smoothing = a
        lt, tt = _to_torch(torch, logits, True), _to_torch(torch, targets)
        loss = F.cross_entropy(lt, tt, reduction="none", ignore_index=ignore_index,
                               label_smoothing=smoothing)
        gr = _to_torch(torch, grad_rows)
        return lambda: torch.autograd.grad(loss, lt, gr, retain_graph=True)
    return build


def torch_layer_norm(backward):
    def build(torch, a):
        F = torch.nn.functional
        x = a[1] if backward else a[0]
        xt, gt = _to_torch(torch, x, backward), _to_torch(torch, a[2] if backward else a[1], True)
        bt = torch.zeros_like(gt, requires_grad=True)
        if not backward:
            return lambda: F.layer_norm(xt, gt.shape, gt, bt, 1e-5)
        y = F.layer_norm(xt, gt.shape, gt, bt, 1e-5)
        gy = _to_torch(torch, a[0])
        return lambda: torch.autograd.grad(y, (xt, gt, bt), gy, retain_graph=True)
    return build


def torch_optimizer(name):
    def build(torch, a):
        param = torch.nn.Parameter(_to_torch(torch, a[0]).clone())
        param.grad = _to_torch(torch, a[1]).clone()
        options = dict(lr=1e-3, momentum=0.9, weight_decay=1e-4) if name == "SGD" else \
            dict(lr=1e-3, weight_decay=1e-2)
        for fused in (True, False):  # fused=True where this PyTorch has it, else foreach
            try:
                opt = getattr(torch.optim, name)([param], fused=fused, **options)
                opt.step()
                return opt.step
            except (RuntimeError, TypeError, ValueError):
                continue
        return None
    return build


# ---- measuring ----

class Timer:
    """Median time of fn() in microseconds: CUDA events on a GPU, perf_counter on NumPy."""

    def __init__(self, xp, warmup, repeats):
        self.xp, self.warmup, self.repeats = xp, warmup, repeats
        self.gpu = xp.__name__ != "numpy"

    def __call__(self, fn):
        for _ in range(self.warmup):
            fn()
        samples = []
        for _ in range(self.repeats):
            if self.gpu:
                start, end = self.xp.cuda.Event(), self.xp.cuda.Event()
                start.record()
                fn()
                end.record()
                end.synchronize()
                samples.append(self.xp.cuda.get_elapsed_time(start, end) * 1e3)
            else:
                begin = time.perf_counter()
                fn()
                samples.append((time.perf_counter() - begin) * 1e6)
        return statistics.median(samples)


def relative_error(xp, result, reference):
    results = result if isinstance(result, tuple) else (result,)
    references = reference if isinstance(reference, tuple) else (reference,)
    worst = 0.0
    for got, want in zip(results, references):
        scale = float(xp.abs(want).max()) or 1.0
        worst = max(worst, float(xp.abs(got.astype(want.dtype) - want).max()) / scale)
    return worst


def copy_bandwidth(xp, timer, nbytes):
    source = xp.ones(nbytes // 4, np.float32)
    target = xp.empty_like(source)
    return 2 * source.nbytes / timer(lambda: target.__setitem__(Ellipsis, source)) / 1e3


def launch_overhead(xp, backend, kernels, calls=2000):
    """Host microseconds per call for a 1-element SGD update: the fused launcher, its parts
    (stream lookup, Numba dispatch alone), and a CuPy ElementwiseKernel doing the same."""
    p, g = xp.ones(1, np.float32), xp.ones(1, np.float32)
    sgd_kernel, _ = kernels.optim_update.kernels("float32")
    stream = backend.current_stream()
    sgd_args = (p, g, p[:0], 1e-3, 0.0, 0.0, 0.0, False, False)
    cupy_kernel = xp.ElementwiseKernel("T g, T lr", "T p", "p -= lr * g", "gpu_check_tiny")

    def per_call(fn):
        fn()
        xp.cuda.Device().synchronize()
        begin = time.perf_counter()
        for _ in range(calls):
            fn()
        xp.cuda.Device().synchronize()
        return (time.perf_counter() - begin) / calls * 1e6

    return {
        "fused sgd_update (launcher)": per_call(lambda: kernels.sgd_update(p, g, None, 1e-3)),
        "  backend.current_stream()": per_call(backend.current_stream),
        "  Numba dispatch alone": per_call(lambda: sgd_kernel((1,), (32,), stream, *sgd_args)),
        "CuPy ElementwiseKernel": per_call(lambda: cupy_kernel(g, np.float32(1e-3), p)),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true",
                        help="no GPU needed: NumPy composites on tiny sizes, checks the script")
    parser.add_argument("--simulate", action="store_true",
                        help="with --dry-run: also run the fused kernels in Numba's CUDA "
                             "simulator (slow, so even tinier sizes)")
    parser.add_argument("--rows", type=int, default=16384, help="batch rows (default 16384)")
    parser.add_argument("--cols", type=int, default=4096, help="features (default 4096)")
    parser.add_argument("--classes", type=int, default=32000, help="classes (default 32000)")
    parser.add_argument("--params", type=int, default=1 << 26, help="optimizer params (64M)")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if args.simulate:  # before numba is imported; the simulator runs one thread per CUDA thread
        os.environ["NUMBA_ENABLE_CUDASIM"] = "1"
        os.environ["GPUGRAD_KERNEL_BLOCK"] = "16"
    backend, kernels = load_packages()
    if args.dry_run:
        xp, sizes = np, ((5, 19, 7, 50) if args.simulate else (64, 48, 37, 1000))
        args.repeats, args.warmup = 3, 1
    else:
        xp = backend.xp_for_device("gpu")  # a clear error when no GPU is usable
        sizes = (args.rows, args.cols, args.classes, args.params)
    torch = _torch(on_gpu=not args.dry_run)
    timer = Timer(xp, args.warmup, args.repeats)
    composite = composite_ops(xp, backend.erf)
    fused = {name: getattr(kernels, name) for name in composite}
    implementations = {"composite": composite}  # first: the fused rows compare with it
    if not args.dry_run or args.simulate:
        implementations["fused"] = fused
    mode = " (dry run: NumPy arrays, no GPU)" if args.dry_run else ""
    print(f"gpugrad kernel check{mode}"
          f": rows={sizes[0]} cols={sizes[1]} classes={sizes[2]} params={sizes[3]}")
    copy_gbs = copy_bandwidth(xp, timer, 1 << 30 if not args.dry_run else 1 << 20)
    print(f"device copy bandwidth: {copy_gbs:.0f} GB/s (read + write)")
    print(f"{'op':<26}{'impl':<11}{'median us':>11}{'GB/s':>9}{'% copy':>8}{'rel err':>10}"
          f"{'vs composite':>14}")
    failures = []
    for name, nbytes, inputs, run, torch_build in make_cases(xp, sizes, xp.random.default_rng(0)):
        in_place = name.endswith("_update") or "_update[" in name
        as64 = tuple(a.astype(np.float64) if getattr(a, "dtype", None) == np.float32 else a
                     for a in inputs)
        reference = None if in_place else run(composite, as64)
        times = {}
        for impl, ops in implementations.items():
            if in_place:  # updates run on copies so each impl starts from the same state
                state = tuple(a.copy() if hasattr(a, "copy") else a for a in inputs)
                state64 = tuple(a.astype(np.float64) if getattr(a, "dtype", None) == np.float32
                                else a for a in state)
                run(ops, state)
                run(composite, state64)
                error = relative_error(xp, state[0], state64[0])
                timed = tuple(a.copy() if hasattr(a, "copy") else a for a in inputs)
                times[impl] = timer(lambda: run(ops, timed))
            else:
                error = relative_error(xp, run(ops, inputs), reference)
                times[impl] = timer(lambda: run(ops, inputs))
            if error > TOLERANCE:
                failures.append(f"{name} {impl}: rel err {error:.2e}")
            report(name, impl, times[impl], nbytes, copy_gbs, error, times.get("composite"))
        if torch is not None and torch_build is not None:
            fn = torch_build(torch, tuple(a.copy() if in_place and hasattr(a, "copy") else a
                                          for a in inputs))
            if fn is not None:
                report(name, "torch", timer(fn), nbytes, copy_gbs, None, times.get("composite"))
        if not args.dry_run:
            xp.get_default_memory_pool().free_all_blocks()
    if not args.dry_run:
        print("launch overhead, host us per call (1-element update):")
        for label, micros in launch_overhead(xp, backend, kernels).items():
            print(f"  {label:<28}{micros:8.1f}")
    print(f"total {time.perf_counter() - started:.1f} s")
    if failures:
        print("FAILED: " + "; ".join(failures))
        return 1
    return 0


def report(name, impl, micros, nbytes, copy_gbs, error, composite_micros):
    gbs = nbytes / micros / 1e3
    error_text = f"{error:10.1e}" if error is not None else f"{'-':>10}"
    speedup = f"{composite_micros / micros:13.2f}x" if composite_micros else f"{'-':>14}"
    print(f"{name:<26}{impl:<11}{micros:11.1f}{gbs:9.0f}{100 * gbs / copy_gbs:7.0f}%"
          f"{error_text}{speedup}")


if __name__ == "__main__":
    sys.exit(main())
