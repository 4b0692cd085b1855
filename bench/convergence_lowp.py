"""What each precision mode costs in training: the course's network in float32 and bfloat16.

    python bench/convergence_lowp.py [--epochs 10000] [--lr 0.0007] [--png FILE] [--json FILE]

The network, data and mini-batches of ``python -m simdoptim demo`` (2-5-2-1 on the two moons,
batches of 64, Adam, the course's lr 0.0007 for 10,000 epochs), trained four times with
simdoptim.Adam:

  fp32               parameters, gradients and state float32
  bf16 nearest       parameters, gradients and state bfloat16, rounded to nearest
  bf16 stochastic    the same, stochastic rounding (seed 0)
  bf16 master        bfloat16 parameters and gradients, float32 master weights and state

The forward and backward passes compute in float32 from the parameters as stored; the
gradients are then stored in the parameters' dtype. Prints a table of final costs and
accuracies and, with matplotlib, writes the cost curves.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

import simdoptim
from simdoptim import demo

MODES = {
    "fp32": dict(dtype="float32", options={}),
    "bf16 nearest": dict(dtype="bfloat16", options={"state_dtype": "bfloat16"}),
    "bf16 stochastic": dict(dtype="bfloat16", options={"state_dtype": "bfloat16", "rounding": "stochastic"}),
    "bf16 master": dict(dtype="bfloat16", options={"master_weights": True}),
}


def train(mode, epochs, lr, X, Y):
    import ml_dtypes

    dtype = np.float32 if MODES[mode]["dtype"] == "float32" else ml_dtypes.bfloat16
    params = {k: v.astype(dtype) for k, v in demo.initialize_parameters().items()}
    opt = simdoptim.Adam(params, lr=lr, **MODES[mode]["options"])
    batches = simdoptim.MiniBatches(X, Y, batch_size=64, axis=1, seed=10)
    costs = np.empty(epochs)
    m = X.shape[1]
    start = time.perf_counter()
    for epoch in range(epochs):
        total = 0.0
        for Xb, Yb in batches:
            p32 = {k: v.astype(np.float32) for k, v in params.items()}
            _, cache = demo.forward(Xb, p32)
            total += demo.compute_cost(cache[2], Yb)
            grads = demo.backward(Xb, Yb, cache, p32)
            opt.step({k: g.astype(dtype) for k, g in grads.items()})
        costs[epoch] = total / m
    seconds = time.perf_counter() - start
    p32 = {k: v.astype(np.float32) for k, v in params.items()}
    accuracy = float(np.mean(demo.predict(X, p32) == Y))
    moved = {k: float(np.abs(v.astype(np.float32)
                             - demo.initialize_parameters()[k].astype(dtype).astype(np.float32)).max())
             for k, v in params.items()}
    return {"costs": costs, "accuracy": accuracy, "seconds": seconds, "largest_change": max(moved.values())}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=10000)
    p.add_argument("--lr", type=float, default=0.0007)
    p.add_argument("--png", metavar="FILE")
    p.add_argument("--json", metavar="FILE")
    args = p.parse_args(argv)
    X, Y = demo.make_moons()
    X, Y = X.astype(np.float32), Y.astype(np.float32)
    results = {}
    print(f"the course's network, Adam lr {args.lr:g}, {args.epochs} epochs of mini-batches of 64")
    print("| mode | final cost | train accuracy | largest weight change | time (s) |\n|---|---|---|---|---|")
    for mode in MODES:
        r = train(mode, args.epochs, args.lr, X, Y)
        results[mode] = r
        print(f"| {mode} | {r['costs'][-1]:.4f} | {100 * r['accuracy']:.1f}% | {r['largest_change']:.3g} | "
              f"{r['seconds']:.1f} |", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({k: {**v, "costs": v["costs"].tolist()} for k, v in results.items()}, f)
    if args.png:
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            print("(no figure: matplotlib is not installed)", file=sys.stderr)
            return 0
        fig, ax = plt.subplots(figsize=(7, 4.2))
        styles = {"fp32": ("k", "-"), "bf16 nearest": ("tab:red", "-"), "bf16 stochastic": ("tab:blue", "--"),
                  "bf16 master": ("tab:green", ":")}
        for mode, r in results.items():
            color, ls = styles[mode]
            ax.plot(np.arange(1, args.epochs + 1), r["costs"], color=color, ls=ls, lw=1.6,
                    label=f"{mode} (final {r['costs'][-1]:.3f})")
        ax.set_xscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel("training cost (cross-entropy)")
        ax.set_title(f"Adam, lr {args.lr:g}: float32 vs bfloat16 modes")
        ax.grid(True, alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.png, dpi=100)
        plt.close(fig)
        print(f"wrote {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
