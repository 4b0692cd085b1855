"""The thread runtime's own measurements (README, Performance, "The runtime").

    python bench/bench_runtime.py knee     # per kind of kernel: the size where 2 threads first beat 1
    python bench/bench_runtime.py blas     # a NumPy matmul between steps: its speed with our idle threads around
    python bench/bench_runtime.py take     # simdoptim.take against torch.index_select, every size and thread count
    python bench/bench_runtime.py ewma     # simdoptim.ewma over many series against the bandwidth probe

Every figure is a median of interleaved repeats in one process (or, for `blas`, of
alternating subprocesses), so a busy moment hits the compared sides alike.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import numpy as np

import simdoptim
from simdoptim import _core


def _median_time(fn, number, repeats):
    fn()
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        out.append((time.perf_counter() - t0) / number)
    return float(np.median(out))


def _interleaved(fns, number, repeats):
    """{name: median seconds per call}, the names timed in rotating order every repeat."""
    names = list(fns)
    for n in names:
        fns[n]()
    samples = {n: [] for n in names}
    for r in range(repeats):
        for n in names[r % len(names):] + names[:r % len(names)]:
            t0 = time.perf_counter()
            for _ in range(number):
                fns[n]()
            samples[n].append((time.perf_counter() - t0) / number)
    return {n: float(np.median(v)) for n, v in samples.items()}


def _kinds(n):
    """One representative call per kind of work, on n elements."""
    rng = np.random.default_rng(0)
    w = rng.uniform(0.5, 1.5, n).astype(np.float32)
    g = rng.uniform(0.5, 1.5, n).astype(np.float32)
    adam = simdoptim.Adam([w], lr=1e-6)
    gd = simdoptim.GD([w.copy()], lr=1e-6)
    X = rng.uniform(0, 1, (max(n // 64, 1), 64)).astype(np.float32)
    idx = rng.permutation(X.shape[0])
    out = np.empty_like(X)
    S = rng.standard_normal((max(n // 100, 1), 100)).astype(np.float32)
    return {
        "update (Adam)": lambda: adam.step([g]),
        "update (GD)": lambda: gd.step([g]),
        "read (all_finite)": lambda: simdoptim.all_finite([g]),
        "gather (take rows)": lambda: simdoptim.take(X, idx, 0, out),
        "scan (ewma)": lambda: simdoptim.ewma(S, 0.9, axis=0),
    }


def knee(args):
    nmax = simdoptim.get_num_threads()
    sizes = [2 ** k for k in range(12, 22)]
    print(f"2 threads / 1 thread time (all threads forced with a grain of 1 element); {nmax} threads here")
    names = list(_kinds(1024))
    print("| elements | " + " | ".join(names) + " |\n|---|" + "---|" * len(names))
    try:
        for n in sizes:
            kinds = _kinds(n)
            row = []
            for name in names:
                fn = kinds[name]
                number = max(1, int(2e5 / n))

                def one(fn=fn):
                    simdoptim.set_num_threads(1)
                    fn()

                def two(fn=fn):
                    simdoptim.set_num_threads(nmax)
                    fn()

                _core._set_parallel_grain(1)
                t = _interleaved({"1": one, "n": two}, number, args.repeats)
                row.append(f"{t['n'] / t['1']:.2f}")
            print(f"| {n} | " + " | ".join(row) + " |", flush=True)
    finally:
        _core._set_parallel_grain(0)
        simdoptim.set_num_threads(nmax)


BLAS_CHILD = r"""
import sys, time
import numpy as np
which, rounds = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(0)
A = rng.standard_normal((384, 384))
B = rng.standard_normal((384, 384))
n = 10 ** 6
w = rng.uniform(0.5, 1.5, n).astype(np.float32)
g = rng.uniform(0.5, 1.5, n).astype(np.float32)
if which.startswith("simdoptim"):
    import simdoptim
    simdoptim.set_num_threads(1 if which == "simdoptim-1" else simdoptim.get_num_threads())
    opt = simdoptim.Adam([w], lr=1e-6)
    step = lambda: opt.step([g])
elif which == "torch-fused":
    import torch
    p = torch.nn.Parameter(torch.from_numpy(w)); p.grad = torch.from_numpy(g)
    opt = torch.optim.Adam([p], lr=1e-6, fused=True)
    def step():
        with torch.no_grad():
            opt.step()
else:
    step = lambda: None
work = []
for r in range(rounds):
    step()
    t0 = time.perf_counter()
    for _ in range(4):
        A @ B          # the user's forward and backward, between two steps
    work.append(time.perf_counter() - t0)
print("WORK", float(np.median(work[3:])))
"""


def blas(args):
    """Median time of the matmul block between steps, in subprocesses that alternate."""
    configs = ["none", "simdoptim-1", "simdoptim", "torch-fused"]
    try:
        import torch  # noqa: F401
    except ImportError:
        configs.remove("torch-fused")
    results = {c: [] for c in configs}
    for r in range(args.repeats):
        for c in configs[r % len(configs):] + configs[:r % len(configs)]:
            out = subprocess.run([sys.executable, "-c", BLAS_CHILD, c, "40"], capture_output=True, text=True,
                                 timeout=600, env=dict(os.environ))
            line = [ln for ln in out.stdout.splitlines() if ln.startswith("WORK")]
            if not line:
                sys.exit(out.stderr)
            results[c].append(float(line[0].split()[1]))
            print(f"  ({c}: {results[c][-1] * 1e3:.2f} ms)", file=sys.stderr, flush=True)
    base = float(np.median(results["none"]))
    print(f"4 x (384x384 @ 384x384) float64 between two Adam 1e6 steps; NumPy's BLAS threads as configured; "
          f"median of {args.repeats} alternating processes")
    print("| between the steps, these threads are idle | matmul ms | vs no optimizer |\n|---|---|---|")
    for c in configs:
        t = float(np.median(results[c]))
        print(f"| {c} | {t * 1e3:.2f} | {t / base:.3f}x |")


def take(args):
    try:
        import torch
    except ImportError:
        sys.exit("take: needs torch (pip install torch==2.13.0)")
    nmax = simdoptim.get_num_threads()
    print("| elements | row bytes | thr | simdoptim ms | torch.index_select ms | torch / ours |\n"
          "|---|---|---|---|---|---|")
    for n in [10 ** 3, 10 ** 4, 10 ** 5, 10 ** 6, 10 ** 7]:
        for width in (64,):
            m = max(n // width, 1)
            X = np.random.default_rng(0).uniform(0.5, 1.5, (m, width)).astype(np.float32)
            idx = np.random.default_rng(1).permutation(m)
            out = np.empty_like(X)
            Xt, it, ot = torch.from_numpy(X), torch.from_numpy(idx), torch.from_numpy(out)
            for nt in sorted({1, nmax}):
                def ours(nt=nt, X=X, idx=idx, out=out):
                    simdoptim.set_num_threads(nt)
                    simdoptim.take(X, idx, 0, out)

                def theirs(nt=nt, Xt=Xt, it=it, ot=ot):
                    torch.set_num_threads(nt)
                    torch.index_select(Xt, 0, it, out=ot)

                number = max(1, int(3e5 / n))
                t = _interleaved({"ours": ours, "torch": theirs}, number, args.repeats)
                print(f"| {n:.0e} | {width * 4} | {nt} | {t['ours'] * 1e3:.4g} | {t['torch'] * 1e3:.4g} | "
                      f"{t['torch'] / t['ours']:.2f}x |", flush=True)
    simdoptim.set_num_threads(nmax)


def ewma(args):
    nmax = simdoptim.get_num_threads()
    print("| layout | elements | thr | ewma ms | probe ms | % probe |\n|---|---|---|---|---|---|")
    for n in [10 ** 5, 10 ** 6, 10 ** 7]:
        for label, shape, axis in (("100 series side by side, axis 0", (n // 100, 100), 0),
                                   ("1000 series as rows, axis 1", (1000, n // 1000), 1)):
            x = np.random.default_rng(0).uniform(0.5, 1.5, shape).astype(np.float32)
            out = np.empty_like(x)
            for nt in sorted({1, nmax}):
                def ours(nt=nt, x=x, axis=axis):
                    simdoptim.set_num_threads(nt)
                    simdoptim.ewma(x, 0.9, axis=axis)

                def probe(nt=nt, out=out, x=x):
                    simdoptim.set_num_threads(nt)
                    _core._bandwidth_probe([(out.reshape(-1), x.reshape(-1))], read_write=0, write_only=1)

                t = _interleaved({"ours": ours, "probe": probe}, max(1, int(3e6 / n)), args.repeats)
                print(f"| {label} | {n:.0e} | {nt} | {t['ours'] * 1e3:.4g} | {t['probe'] * 1e3:.4g} | "
                      f"{100 * t['probe'] / t['ours']:.0f}% |", flush=True)
    simdoptim.set_num_threads(nmax)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("what", choices=["knee", "blas", "take", "ewma"])
    p.add_argument("--repeats", type=int, default=9)
    args = p.parse_args()
    return {"knee": knee, "blas": blas, "take": take, "ewma": ewma}[args.what](args)


if __name__ == "__main__":
    sys.exit(main())
