"""What parameter groups cost: the same tensors stepped as one group and as several.

    python bench/bench_groups.py [--tensors 200] [--size 50000] [--groups 2 4] [--rounds 31]

Builds Adam over ``tensors`` float32 tensors of ``size`` elements three ways on the same
arrays' copies: one group; ``groups`` groups of equal size with other hyper-parameters each
(weight decay on the first, another lr on the others); and, for scale, one optimizer per
group stepped one after the other. They run interleaved round by round in a rotating order
(so a busy moment of the machine hits each alike) and the medians are reported, with the
ratio to the one-group step. All groups of one step go through one compiled call, so the
grouped step should match the one-group step (the target: within 5%).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import simdoptim


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tensors", type=int, default=200)
    parser.add_argument("--size", type=int, default=50_000)
    parser.add_argument("--groups", type=int, nargs="+", default=[2])
    parser.add_argument("--rounds", type=int, default=31)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    if args.threads:
        simdoptim.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    base = [rng.standard_normal(args.size).astype(np.float32) for _ in range(args.tensors)]
    grads = [rng.standard_normal(args.size).astype(np.float32) * 1e-3 for _ in range(args.tensors)]

    def copies():
        return [a.copy() for a in base]

    impls = {"1 group": (lambda o: lambda: o.step(grads))(simdoptim.Adam(copies(), lr=1e-3, weight_decay=0.01,
                                                                            decoupled=True))}
    for k in args.groups:
        ps = copies()
        cut = [ps[i * len(ps) // k:(i + 1) * len(ps) // k] for i in range(k)]
        gcut = [grads[i * len(ps) // k:(i + 1) * len(ps) // k] for i in range(k)]
        groups = [{"params": cut[0], "weight_decay": 0.01}] + [{"params": c, "lr": 1e-3 * (i + 2), "weight_decay": 0.0}
                                                             for i, c in enumerate(cut[1:])]
        grouped = simdoptim.Adam(groups, lr=1e-3, decoupled=True)
        impls[f"{k} groups"] = (lambda o, g: lambda: o.step(g))(grouped, gcut)
        separate = [simdoptim.Adam(c, lr=1e-3, weight_decay=0.01, decoupled=True)
                    for c in (copies()[:len(c)] for c in cut)]
        impls[f"{k} optimizers"] = (lambda os_, g: lambda: [o.step(x) for o, x in zip(os_, g)])(separate, gcut)
    names = list(impls)
    samples = {n: [] for n in names}
    for fn in impls.values():
        fn()  # warm-up
    for r in range(args.rounds):
        for n in names[r % len(names):] + names[:r % len(names)]:
            t0 = time.perf_counter()
            impls[n]()
            samples[n].append(time.perf_counter() - t0)
    ref = statistics.median(samples["1 group"])
    print(f"Adam, {args.tensors} x {args.size} float32, {simdoptim.get_num_threads()} threads, "
          f"{simdoptim.cpu_info()['isa']}, medians of {args.rounds} interleaved rounds")
    for n in names:
        m = statistics.median(samples[n])
        print(f"  {n:14s} {m * 1e3:8.3f} ms   {m / ref:5.3f}x the one-group step")


if __name__ == "__main__":
    main()
