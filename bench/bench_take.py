"""Epoch gathers side by side: simdoptim.take into a preallocated buffer vs NumPy fancy
indexing vs a memcpy of the same bytes (np.copyto into a preallocated buffer).

    python bench/bench_take.py [--repeats 7] [--m 1000000] [--n 64] [--threads N]

Two cases, float32: the (m, n) row layout gathered along axis 0 (``X[perm]``), and the
course's (n, m) layout along axis 1 (``X[:, perm]``). Reports medians in ms, GB/s of
bytes moved (read + written), and ratios. Then one epoch of ``MiniBatches`` over the same
arrays, fast against ``simdoptim.reference.MiniBatches``.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

import simdoptim


def median_ms(fns, repeats):
    """Median time of each function in ms. The functions take turns within every repeat,
    so a machine busy with other work slows all of them alike and the ratios hold."""
    for fn in fns:
        fn()  # warm up: page in the output buffers
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, t in zip(fns, times):
            t0 = time.perf_counter()
            fn()
            t.append(time.perf_counter() - t0)
    return [float(np.median(t)) * 1e3 for t in times]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--m", type=int, default=1_000_000)
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--index-dtype", default="int64", choices=["int32", "int64"])
    ap.add_argument("--batch-size", type=int, default=64)
    args = ap.parse_args(argv)
    if args.threads:
        simdoptim.set_num_threads(args.threads)
    info = simdoptim.cpu_info()
    print(f"simdoptim take: isa {info['isa']}, {info['num_threads']} threads, numpy {np.__version__}, "
          f"medians of {args.repeats}, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    rng = np.random.default_rng(0)
    m, n = args.m, args.n
    perm = rng.permutation(m).astype(args.index_dtype)
    rows = rng.standard_normal((m, n), dtype=np.float32)
    cols = np.ascontiguousarray(rows.T)
    out_rows = np.empty_like(rows)
    out_cols = np.empty_like(cols)
    nbytes = 2 * rows.nbytes  # read + write
    header = f"{'case':<34}{'ms':>9}{'GB/s':>8}{'vs numpy':>10}{'vs memcpy':>11}"
    print(header)
    print("-" * len(header))
    for name, X, out, axis, numpy_fn in [
        (f"rows ({m}, {n}) axis=0", rows, out_rows, 0, lambda: rows[perm]),
        (f"columns ({n}, {m}) axis=1", cols, out_cols, 1, lambda: cols[:, perm]),
    ]:
        t_ours, t_np, t_np_out, t_copy = median_ms(
            [lambda X=X, axis=axis, out=out: simdoptim.take(X, perm, axis, out), numpy_fn,
             lambda X=X, axis=axis, out=out: np.take(X, perm, axis=axis, out=out),
             lambda X=X, out=out: np.copyto(out, X)], args.repeats)
        np.testing.assert_array_equal(simdoptim.take(X, perm, axis, out), numpy_fn())
        for label, t in [("  simdoptim.take(out=)", t_ours), ("  numpy fancy indexing", t_np),
                         ("  np.take(out=)", t_np_out), ("  memcpy (np.copyto)", t_copy)]:
            print(f"{label:<34}{t:9.1f}{nbytes / t / 1e6:8.1f}{t_np / t:10.2f}{t_copy / t:11.2f}")
        print(f"{name}: take is {t_np / t_ours:.1f}x faster than numpy, at {t_copy / t_ours:.2f} of memcpy speed")

    # One epoch of mini-batches (the permutation drawn, every batch gathered), fast vs the
    # NumPy reference, with new batches or reused buffers.
    b = args.batch_size
    y = rng.integers(0, 2, size=m).astype(np.float32)
    print(f"\n{'one epoch, batch_size=' + str(b):<34}{'ms':>9}{'GB/s':>8}{'vs ref':>10}")
    for name, X, Y, axis in [(f"rows ({m}, {n})", rows, y, 0), (f"columns ({n}, {m})", cols, y[None, :], 1)]:
        for reuse in (False, True):
            def epoch(cls, X=X, Y=Y, axis=axis, reuse=reuse):
                for _ in cls(X, Y, batch_size=b, axis=axis, seed=0, reuse_buffers=reuse):
                    pass
            t_fast, t_ref = median_ms(
                [lambda: epoch(simdoptim.MiniBatches), lambda: epoch(simdoptim.reference.MiniBatches)],
                max(3, args.repeats // 2))
            label = f"{name}{' reuse_buffers' if reuse else ''}"
            moved = 2 * (X.nbytes + Y.nbytes)
            print(f"  {label:<32}{t_fast:9.1f}{moved / t_fast / 1e6:8.1f}{t_ref / t_fast:10.2f}"
                  f"   (reference {t_ref:.1f} ms)")


if __name__ == "__main__":
    main()
