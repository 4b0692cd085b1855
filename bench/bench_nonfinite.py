"""What nonfinite="skip" costs: the all-finite check of the gradients next to an Adam step.

    python bench/bench_nonfinite.py [--sizes 1e4 1e5 1e6 1e7] [--dtype float32] [--threads N]

For each size (elements in one tensor), medians of repeated timings of
  * an Adam step with the default policy (nonfinite="propagate"),
  * simdoptim.all_finite(grads) alone (one read pass over the gradients),
  * an Adam step with nonfinite="skip" and finite gradients (the check plus the step),
and the overhead of "skip" relative to the plain step. Adam moves 28 bytes per float32
element (read w, g, m, v; write w, m, v); the check reads 4 more, so the overhead in a
memory-bound step should approach 4/28 ~ 14%, plus a fixed cost per call on small tensors.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import simdoptim


def median_seconds(fn, repeat, inner):
    fn()  # warm up (page faults, thread pool)
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        samples.append((time.perf_counter() - t0) / inner)
    return statistics.median(samples)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1e4, 1e5, 1e6, 1e7])
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    if args.threads:
        simdoptim.set_num_threads(args.threads)
    dtype = np.dtype(args.dtype)
    info = simdoptim.cpu_info()
    print(f"simdoptim {simdoptim.__version__}: isa={info['isa']} threads={info['num_threads']} dtype={dtype}")
    print(f"{'elements':>10} {'adam step':>12} {'all_finite':>12} {'skip-mode step':>15} {'overhead':>9}"
          f" {'check GB/s':>11}")
    for size in args.sizes:
        n = int(size)
        rng = np.random.default_rng(0)
        grads = [rng.standard_normal(n).astype(dtype)]
        plain = simdoptim.Adam([rng.standard_normal(n).astype(dtype)], lr=1e-9)
        checked = simdoptim.Adam([rng.standard_normal(n).astype(dtype)], lr=1e-9, nonfinite="skip")
        inner = max(1, int(2e6 // n))
        t_step = median_seconds(lambda opt=plain, g=grads: opt.step(g), args.repeat, inner)
        t_check = median_seconds(lambda g=grads: simdoptim.all_finite(g), args.repeat, inner)
        t_skip = median_seconds(lambda opt=checked, g=grads: opt.step(g), args.repeat, inner)
        assert checked.skipped_steps == 0
        gbs = n * dtype.itemsize / t_check / 1e9
        print(f"{n:>10} {t_step * 1e6:>10.1f}us {t_check * 1e6:>10.1f}us {t_skip * 1e6:>13.1f}us "
              f"{(t_skip / t_step - 1) * 100:>8.1f}% {gbs:>11.1f}")


if __name__ == "__main__":
    main()
