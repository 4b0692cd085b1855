"""What a small step costs: the fixed price of one call, on a 10-element float32 Adam.

    python bench/bench_small_calls.py [--size 10] [--repeat 15] [--number 20000]
    python bench/bench_small_calls.py --instructions     # CPU instructions per call (valgrind)

Times, side by side in one process (medians of ``repeat`` rounds of ``number`` calls, the
rounds interleaved so a busy moment of the machine hits each alike):

* ``Adam.step``                 the class (parameters and state bound at construction);
* ``prepared call``             ``functional.prepare(functional.adam_update, ...)`` then ``run(grads, t)``;
* ``functional.adam_update``    the stateless function (checks and binds on every call);
* ``reference.Adam.step``       the NumPy reference, for scale;
* ``torch fused``               ``torch.optim.Adam(fused=True).step()`` when torch is installed.

Wall-clock times on a shared machine move with its load; ``--instructions`` counts the
instructions one call executes (valgrind's callgrind, the difference of two runs of N and
3N calls divided by 2N): the same number on a busy or an idle machine.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import timeit

import numpy as np

import simdoptim
from simdoptim import functional, reference

CASES = ("class", "prepared", "functional", "reference", "torch-fused")


def _make(case, size):
    rng = np.random.default_rng(0)
    w = [rng.standard_normal(size).astype(np.float32)]
    g = [rng.standard_normal(size).astype(np.float32)]
    if case == "class":
        opt = simdoptim.Adam(w, lr=1e-3)
        return lambda: opt.step(g)
    if case == "prepared":
        m, v = [np.zeros(size, np.float32)], [np.zeros(size, np.float32)]
        run = functional.prepare(functional.adam_update, w, m, v, lr=1e-3)
        return lambda: run(g, 5)
    if case == "functional":
        m, v = [np.zeros(size, np.float32)], [np.zeros(size, np.float32)]
        return lambda: functional.adam_update(w, g, m, v, step=5, lr=1e-3)
    if case == "reference":
        opt = reference.Adam(w, lr=1e-3)
        return lambda: opt.step(g)
    if case == "torch-fused":
        import torch

        p = torch.nn.Parameter(torch.from_numpy(w[0]))
        p.grad = torch.from_numpy(g[0])
        opt = torch.optim.Adam([p], lr=1e-3, fused=True)
        return opt.step
    if case == "noop":
        return lambda: None
    raise ValueError(case)


def _instructions(case, size, n):
    """Instructions one call executes, from two callgrind runs of n and 3n calls."""
    counts = []
    for calls in (n, 3 * n):
        code = (f"import sys; sys.path.insert(0, {os.path.dirname(__file__)!r}); import bench_small_calls as b; "
                f"f = b._make({case!r}, {size}); [f() for _ in range({calls})]")
        out = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                              sys.executable, "-c", code],
                             capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
        m = re.search(r"Collected : (\d+)", out.stderr)
        if not m:
            raise RuntimeError(out.stderr[-2000:])
        counts.append(int(m.group(1)))
    return (counts[1] - counts[0]) / (2 * n)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--number", type=int, default=20000)
    parser.add_argument("--instructions", action="store_true", help="count instructions per call with valgrind")
    args = parser.parse_args(argv)
    cases = [c for c in CASES if c != "torch-fused"]
    try:
        import torch  # noqa: F401

        cases.append("torch-fused")
    except ImportError:
        pass
    print(f"Adam on {args.size} float32 elements, {simdoptim.cpu_info()['isa']} path, "
          f"{simdoptim.get_num_threads()} threads")
    if args.instructions:
        if shutil.which("valgrind") is None:
            sys.exit("--instructions needs valgrind")
        base = _instructions("noop", args.size, 2000)
        for c in cases:
            n = 200 if c in ("reference", "torch-fused") else 2000
            print(f"  {c:12s} {_instructions(c, args.size, n) - base:10.0f} instructions per call")
        return
    fns = {c: _make(c, args.size) for c in cases}
    samples = {c: [] for c in cases}
    for f in fns.values():
        f()
    for r in range(args.repeat):
        for c in cases[r % len(cases):] + cases[:r % len(cases)]:
            number = args.number // 20 if c in ("reference", "torch-fused") else args.number
            samples[c].append(timeit.timeit(fns[c], number=number) / number)
    for c in cases:
        print(f"  {c:12s} {statistics.median(samples[c]) * 1e6:8.3f} us per call (median of {args.repeat})")


if __name__ == "__main__":
    main()
