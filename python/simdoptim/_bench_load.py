"""``python -m simdoptim bench --load N``: optimizer steps while N other processes keep CPUs busy.

A training process shares its machine (a data loader, a logger, another job). This mode
times every step on its own, first on the idle machine, then while N single-threaded busy
processes run, and prints the median (p50) and the 90th percentile (p90) of both, for
simdoptim and torch's fused optimizer side by side, with one thread and with the default
thread count. The last column is the loaded p90 divided by the idle one-thread median: how
much slower than one quiet thread the worst tenth of the steps are.

Rows: ``--kernels`` (default Adam; GD, Momentum, RMSprop, Adam) x ``--sizes`` (default 1e6)
x float32.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

import simdoptim

#: a single-threaded NumPy loop, the kind of neighbour a training step meets
BUSY = (
    "import numpy as np\n"
    "x = np.ones(50_000)\n"
    "while True:\n"
    "    x *= 1.0000001\n"
    "    x += 1e-9\n"
)
KERNELS = ("GD", "Momentum", "RMSprop", "Adam")


def start_busy(n):
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    procs = [subprocess.Popen([sys.executable, "-c", BUSY], env=env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(n)]
    time.sleep(0.5)  # past their start-up
    return procs


def stop_busy(procs):
    for p in procs:
        p.kill()
    for p in procs:
        p.wait()


def _steppers(kernel, n, threads_default):
    """{label: (threads, step)} for simdoptim and, when installed, torch fused."""
    rng = np.random.default_rng(0)
    w = rng.uniform(0.5, 1.5, n).astype(np.float32)
    g = rng.uniform(0.5, 1.5, n).astype(np.float32)
    kw = {"GD": {}, "Momentum": {"beta": 0.9}, "RMSprop": {}, "Adam": {}}[kernel]
    ours = getattr(simdoptim, kernel)([w], lr=1e-6, **kw)
    out: dict[str, tuple[int, str, Callable[..., Any]]] = {}
    for nt in sorted({1, threads_default}):
        out[f"simdoptim {nt} thr"] = (nt, "simdoptim", lambda ours=ours: ours.step([g]))
    try:
        import torch
    except ImportError:
        return out
    p = torch.nn.Parameter(torch.from_numpy(w.copy()))
    p.grad = torch.from_numpy(g)
    make = {"GD": lambda ps: torch.optim.SGD(ps, lr=1e-6, fused=True),
            "Momentum": lambda ps: torch.optim.SGD(ps, lr=1e-6, momentum=0.9, fused=True),
            "Adam": lambda ps: torch.optim.Adam(ps, lr=1e-6, fused=True),
            "RMSprop": None}[kernel]
    if make is None:
        return out
    opt = make([p])

    def tstep():
        with torch.no_grad():
            opt.step()

    for nt in sorted({1, threads_default}):
        out[f"torch-fused {nt} thr"] = (nt, "torch", tstep)
    return out


def sample(steppers, per_impl, block=25):
    """Seconds of each single step, interleaved in blocks so drifts hit all alike."""
    torch: ModuleType | None
    try:
        import torch
    except ImportError:
        torch = None
    times: dict[str, list[float]] = {k: [] for k in steppers}
    for nt, lib, fn in steppers.values():  # warm-up: threads started, state allocated
        _set_threads(lib, nt, torch)
        for _ in range(5):
            fn()
    while any(len(v) < per_impl for v in times.values()):
        for k, (nt, lib, fn) in steppers.items():
            _set_threads(lib, nt, torch)
            for _ in range(block):
                t0 = time.perf_counter()
                fn()
                times[k].append(time.perf_counter() - t0)
    return times


def _set_threads(lib, nt, torch):
    if lib == "simdoptim":
        simdoptim.set_num_threads(nt)
    elif torch is not None:
        torch.set_num_threads(nt)


def run(args, out=None):
    out = sys.stdout if out is None else out
    n_busy = args.load
    if n_busy < 0:
        print("bench --load: N must be >= 0", file=sys.stderr)
        return 2
    kernels = args.kernels.split(",") if args.kernels else ["Adam"]
    bad = [k for k in kernels if k not in KERNELS]
    if bad:
        print(f"bench --load: unknown kernel(s) {bad}; --load runs {list(KERNELS)}", file=sys.stderr)
        return 2
    sizes = [int(float(s)) for s in args.sizes.split(",")] if args.sizes else [10 ** 6]
    samples = args.rounds * 60 if args.rounds else 300
    nt0 = simdoptim.get_num_threads()
    torch: ModuleType | None
    try:
        import torch
    except ImportError:
        torch = None
    torch_nt0 = torch.get_num_threads() if torch is not None else None
    print(f"simdoptim bench --load {n_busy}: {os.cpu_count()} CPUs, default {nt0} threads; each step timed alone, "
          f"{samples} steps per row and phase; busy processes: single-threaded NumPy loops", file=out)
    print("| kernel | size | impl | idle p50 ms | idle p90 ms | load p50 ms | load p90 ms "
          "| load p90 / idle 1-thr p50 |", file=out)
    print("|---|---|---|---|---|---|---|---|", file=out)
    try:
        for kernel in kernels:
            for n in sizes:
                steppers = _steppers(kernel, n, nt0)
                idle = sample(steppers, samples)
                procs = start_busy(n_busy)
                try:
                    loaded = sample(steppers, samples)
                finally:
                    stop_busy(procs)
                base = {lib: float(np.median(idle[k])) for k, (nt, lib, _) in steppers.items() if nt == 1}
                for k, (_nt, lib, _) in steppers.items():
                    i50, i90 = np.percentile(idle[k], [50, 90]) * 1e3
                    l50, l90 = np.percentile(loaded[k], [50, 90]) * 1e3
                    print(f"| {kernel} | {n:.0e} | {k} | {i50:.3f} | {i90:.3f} | {l50:.3f} | {l90:.3f} | "
                          f"{l90 / 1e3 / base[lib]:.2f}x |", file=out)
    finally:
        simdoptim.set_num_threads(nt0)
        if torch is not None:
            torch.set_num_threads(torch_nt0)
    return 0
