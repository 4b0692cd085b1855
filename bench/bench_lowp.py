"""Fewer bytes per parameter: Adam in low precision, side by side with its peers.

    python bench/bench_lowp.py [--sizes 1e6,1e7,1e8] [--rounds 7] [--json FILE] [--no-deepspeed]
    python bench/bench_lowp.py --order-only          # the order row alone (1e6)

For each size (one tensor of n elements; all threads) and each configuration, one group of
implementations is timed interleaved, round by round (medians; simdoptim.benchmark's timer):

  fp32          w, g, m, v float32                          28 bytes per element
  bf16-params   w, g bfloat16, m, v float32                 22
  master        float32 master w, m, v; bfloat16 g; the     28
                bfloat16 copy of w written in the same pass
  bf16-all      w, g, m, v bfloat16                         14

Each group holds simdoptim's step, the bandwidth probe moving the same bytes in the same
pattern (read-write / write-only / read-only streams of the same widths), torch.optim.Adam
(fused=True) in float32 — the reference of the issue's targets — and the configuration's
own peers: torch fused on bfloat16 parameters (bf16-all: the same 14 bytes), the three
passes an offload step takes today (master: cast the bfloat16 gradients to float32, a fused
float32 AdamW step, cast the master to bfloat16), and DeepSpeed's CPU Adam (fp32; its
bfloat16 mode, bfloat16 parameters and gradients with float32 state, for bf16-params) when
it is installed. Then:

  unscale+clip  the same steps with grad_scale and max_grad_norm (one more read pass over
                the gradients) against the plain step, and torch's way (fused Adam with
                grad_scale after clip_grad_norm_ on the unscaled gradients)
  order         Adam in the literal order (three divisions) and in PyTorch's (one), and
                DeepSpeed's CPU Adam, at 1e6 (in cache: bound by arithmetic)

Optimizers are timed mid-training (t = 1000). GB/s is each implementation's own bytes
over its time; "% probe" is simdoptim's time as a fraction of the probe's for the same
bytes. Needs ml_dtypes; torch (pin torch==2.13.0) and DeepSpeed (DS_ACCELERATOR=cpu) are
optional peers.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys

import numpy as np

import simdoptim
from simdoptim import _console, _core

LR = 1e-6  # values stay in [0.5, 1.5] for the whole run
T0 = 1000  # mid-training


def _torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


def _deepspeed():
    if os.environ.get("SIMDOPTIM_BENCH_NO_DEEPSPEED"):
        return None
    try:
        os.environ.setdefault("DS_ACCELERATOR", "cpu")
        import contextlib
        import io

        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            from deepspeed.ops.adam import DeepSpeedCPUAdam
    except Exception:  # not installed, or its op does not build here
        return None
    return DeepSpeedCPUAdam


def _bf16():
    import ml_dtypes

    return np.dtype(ml_dtypes.bfloat16)


def _uniform(n, dtype, seed):
    return np.random.default_rng(seed).uniform(0.5, 1.5, n).astype(np.float32).astype(dtype)


def _torch_param(torch, w, g):
    p = torch.nn.Parameter(torch.from_numpy(w) if w.dtype != _bf16() else torch.from_numpy(w.view(np.int16)).view(
        torch.bfloat16))
    p.grad = torch.from_numpy(g) if g.dtype != _bf16() else torch.from_numpy(g.view(np.int16)).view(torch.bfloat16)
    return p


def _no_grad(torch, fn):
    def run():
        with torch.no_grad():
            fn()

    return run


def _ours(w, g, **kw):
    opt = simdoptim.Adam([w], lr=LR, **kw)
    opt.step([g])
    opt.t = T0
    grads = [g]
    return opt, lambda: opt.step(grads)


def _probe(streams, rw, wo):
    """The probe on its own buffers shaped like `streams` (it writes bits that are not numbers)."""
    bufs = tuple(np.ones(s.shape, s.dtype) if k < rw + wo else s for k, s in enumerate(streams))
    return lambda: _core._bandwidth_probe([bufs], read_write=rw, write_only=wo)


def _torch_fused_fp32(torch, n):
    w, g = _uniform(n, np.float32, 11), _uniform(n, np.float32, 12)
    opt = torch.optim.Adam([_torch_param(torch, w, g)], lr=LR, fused=True)
    run = _no_grad(torch, opt.step)
    run()
    return run


def _group(name, n, impls, bytes_of, rounds, results):
    med, _ = _console.interleaved_medians(impls, rounds, 0.003, slow_call_s=10.0)
    ours = med["simdoptim"]
    row = {"config": name, "elements": n, "ms": {k: v * 1e3 for k, v in med.items()},
           "bytes_per_element": {k: bytes_of.get(k) for k in med},
           "gbps": {k: bytes_of[k] * n / v / 1e9 for k, v in med.items() if bytes_of.get(k)},
           "pct_probe": 100.0 * med["probe"] / ours if "probe" in med else None,
           "speedup": {k: v / ours for k, v in med.items() if k != "simdoptim"}}
    results.append(row)
    cells = [f"{k} {v * 1e3:.3g} ms" + (f" ({row['speedup'][k]:.2f}x)" if k != "simdoptim" else "")
             for k, v in med.items()]
    pct = f", {row['pct_probe']:.0f}% of probe" if row["pct_probe"] else ""
    print(f"{name:14s} {n:>11,} {bytes_of['simdoptim']:>3} B/elem {row['gbps']['simdoptim']:6.1f} GB/s{pct}: "
          + "; ".join(cells), flush=True)
    return row


def calibration(n, rounds, results):
    """The probe of mixed widths (raw bytes) against the float32 probe moving the same bytes
    in the same pattern (3 read-write streams, 1 read-only): bfloat16 buffers of n elements
    against float32 buffers of n/2. A ratio near 1 says the "% probe" of the low-precision
    rows is measured against an equally fast yardstick."""
    bf16 = _bf16()
    f = [np.ones(n // 2, np.float32) for _ in range(4)]
    h = [np.ones(n, bf16) for _ in range(4)]
    impls = {"simdoptim": lambda: _core._bandwidth_probe([tuple(h)], read_write=3),
             "probe": lambda: _core._bandwidth_probe([tuple(f)], read_write=3)}
    _group("probe-calibration", n, impls, {"simdoptim": 14, "probe": 14}, rounds, results)


def configurations(n, rounds, results, torch, ds):
    bf16 = _bf16()
    fp32 = np.float32
    calibration(n, rounds, results)
    # ---- fp32: 28 bytes
    w, g = _uniform(n, fp32, 1), _uniform(n, fp32, 2)
    opt, step = _ours(w, g)
    impls = {"simdoptim": step, "probe": _probe([w, opt._state["exp_avgs"][0], opt._state["exp_avg_sqs"][0], g], 3, 0)}
    bytes_of = {"simdoptim": 28, "probe": 28}
    if torch is not None:
        impls["torch-fused-fp32"] = _torch_fused_fp32(torch, n)
        bytes_of["torch-fused-fp32"] = 28
    if ds is not None:
        wd, gd = w.copy(), g.copy()
        dso = ds([_torch_param(torch, wd, gd)], lr=LR, adamw_mode=False)
        impls["deepspeed-fp32"] = _no_grad(torch, dso.step)
        bytes_of["deepspeed-fp32"] = 28
    _group("fp32", n, impls, bytes_of, rounds, results)
    del impls, opt, step
    gc.collect()

    # ---- bf16 params and grads, fp32 state: 22 bytes
    w, g = _uniform(n, bf16, 1), _uniform(n, bf16, 2)
    opt, step = _ours(w, g)
    impls = {"simdoptim": step, "probe": _probe([w, opt._state["exp_avgs"][0], opt._state["exp_avg_sqs"][0], g], 3, 0)}
    bytes_of = {"simdoptim": 22, "probe": 22}
    if torch is not None:
        impls["torch-fused-fp32"] = _torch_fused_fp32(torch, n)
        bytes_of["torch-fused-fp32"] = 28
    if ds is not None:  # DeepSpeed's bf16 mode: bf16 params and grads, fp32 state
        try:
            wd, gd = w.copy(), g.copy()
            dso = ds([_torch_param(torch, wd, gd)], lr=LR, adamw_mode=False)
            _no_grad(torch, dso.step)()
            impls["deepspeed-bf16"] = _no_grad(torch, dso.step)
            bytes_of["deepspeed-bf16"] = 22
        except Exception as e:
            print(f"  (DeepSpeed's CPU Adam refused bfloat16 parameters: {str(e).splitlines()[0][:100]})")
    _group("bf16-params", n, impls, bytes_of, rounds, results)
    del impls, opt, step
    gc.collect()

    # ---- fp32 master + bf16 grads + bf16 copy-out in one pass: 28 bytes
    p, g = _uniform(n, bf16, 1), _uniform(n, bf16, 2)
    opt, step = _ours(p, g, master_weights=True)
    master = opt.master_params[0]
    impls = {"simdoptim": step,
             "probe": _probe([master, opt._state["exp_avgs"][0], opt._state["exp_avg_sqs"][0], p, g], 3, 1)}
    bytes_of = {"simdoptim": 28, "probe": 28}
    if torch is not None:
        impls["torch-fused-fp32"] = _torch_fused_fp32(torch, n)
        bytes_of["torch-fused-fp32"] = 28
        # today's offload step: three passes, the casts by torch, the step by torch fused
        w32 = master.copy()
        g32 = np.empty(n, np.float32)
        tp = _torch_param(torch, w32, g32)
        tg16 = torch.from_numpy(g.view(np.int16)).view(torch.bfloat16)
        tp16 = torch.from_numpy(p.copy().view(np.int16)).view(torch.bfloat16)
        topt = torch.optim.AdamW([tp], lr=LR, weight_decay=0.0, fused=True)

        def three_pass():
            with torch.no_grad():
                tp.grad.copy_(tg16)   # bf16 -> fp32 gradients: 6 bytes per element
                topt.step()           # fp32 step: 28
                tp16.copy_(tp)        # fp32 -> bf16 copy-out: 6

        three_pass()
        impls["torch-3-pass"] = three_pass
        bytes_of["torch-3-pass"] = 40
    # (DeepSpeed 0.19's CPU Adam has no step that writes a low-precision copy: fp16_param_groups is gone)
    _group("master", n, impls, bytes_of, rounds, results)
    del impls, opt, step
    gc.collect()

    # ---- bf16 params, grads and state: 14 bytes
    w, g = _uniform(n, bf16, 1), _uniform(n, bf16, 2)
    opt, step = _ours(w, g, state_dtype="bfloat16")
    impls = {"simdoptim": step, "probe": _probe([w, opt._state["exp_avgs"][0], opt._state["exp_avg_sqs"][0], g], 3, 0)}
    bytes_of = {"simdoptim": 14, "probe": 14}
    w2, g2 = _uniform(n, bf16, 1), _uniform(n, bf16, 2)
    _, step_sr = _ours(w2, g2, state_dtype="bfloat16", rounding="stochastic")
    impls["simdoptim-stochastic"] = step_sr
    bytes_of["simdoptim-stochastic"] = 14
    if torch is not None:
        impls["torch-fused-fp32"] = _torch_fused_fp32(torch, n)
        bytes_of["torch-fused-fp32"] = 28
        wt, gt = w.copy(), g.copy()
        topt = torch.optim.Adam([_torch_param(torch, wt, gt)], lr=LR, fused=True)  # bf16 params: bf16 state
        run = _no_grad(torch, topt.step)
        run()
        impls["torch-fused-bf16"] = run
        bytes_of["torch-fused-bf16"] = 14
    _group("bf16-all", n, impls, bytes_of, rounds, results)
    del impls, opt, step
    gc.collect()


def unscale_clip(n, rounds, results, torch):
    """Unscaling and clipping fused into the step (one read pass more) against the plain step."""
    bf16 = _bf16()
    for name, pdt, kw in (("fp32", np.float32, {}), ("master", bf16, {"master_weights": True})):
        gdt = np.float32 if pdt == np.float32 else bf16
        w1, w2, g = _uniform(n, pdt, 1), _uniform(n, pdt, 1), _uniform(n, gdt, 2)
        plain = simdoptim.Adam([w1], lr=LR, **kw)
        fused = simdoptim.Adam([w2], lr=LR, max_grad_norm=1e12, **kw)  # the norm is measured, nothing clipped
        for o in (plain, fused):
            o.step([g], grad_scale=1.0)
            o.t = T0
        grads = [g]
        impls = {"simdoptim": lambda fused=fused, grads=grads: fused.step(grads, grad_scale=1024.0),
                 "simdoptim-plain": lambda plain=plain, grads=grads: plain.step(grads)}
        bpe = 28
        bytes_of = {"simdoptim": bpe + (2 if gdt == bf16 else 4), "simdoptim-plain": bpe}
        if torch is not None and name == "fp32":
            wt, gt = w1.copy(), g.copy()
            tp = _torch_param(torch, wt, gt)
            topt = torch.optim.Adam([tp], lr=LR, fused=True)

            def torch_way(tp=tp, topt=topt):
                with torch.no_grad():
                    # clip_grad_norm_ reads the gradients for the norm and scales them (a
                    # read and a write), then the fused step (its grad_scale unscales inside)
                    torch.nn.utils.clip_grad_norm_([tp], max_norm=1e12)
                    topt.step()

            torch_way()
            impls["torch-clip+fused"] = torch_way
            bytes_of["torch-clip+fused"] = 28 + 4 + 8
        _group(f"unscale+clip/{name}", n, impls, bytes_of, rounds, results)
        del impls
        gc.collect()


def order(n, rounds, results, torch, ds):
    w1, w2, g = _uniform(n, np.float32, 1), _uniform(n, np.float32, 1), _uniform(n, np.float32, 2)
    _, literal = _ours(w1, g)
    _, pytorch = _ours(w2, g, order="pytorch")
    impls = {"simdoptim": pytorch, "simdoptim-literal": literal}
    bytes_of = {"simdoptim": 28, "simdoptim-literal": 28}
    if torch is not None:
        impls["torch-fused-fp32"] = _torch_fused_fp32(torch, n)
        bytes_of["torch-fused-fp32"] = 28
    if ds is not None:
        wd, gd = w1.copy(), g.copy()
        dso = ds([_torch_param(torch, wd, gd)], lr=LR, adamw_mode=False)
        impls["deepspeed-fp32"] = _no_grad(torch, dso.step)
        bytes_of["deepspeed-fp32"] = 28
    _group("order/pytorch", n, impls, bytes_of, rounds, results)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="1e6,1e7,1e8")
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--json", metavar="FILE")
    p.add_argument("--no-deepspeed", action="store_true")
    p.add_argument("--order-only", action="store_true")
    args = p.parse_args(argv)
    if args.threads:
        simdoptim.set_num_threads(args.threads)
    torch = _torch()
    ds = None if (args.no_deepspeed or torch is None) else _deepspeed()
    nt = simdoptim.get_num_threads()
    if torch is not None:
        torch.set_num_threads(nt)
    info = simdoptim.cpu_info()
    print(f"simdoptim {simdoptim.__version__}, isa {info['isa']}, {nt} threads; torch "
          f"{torch.__version__ if torch else '-'}; deepspeed {'yes' if ds else '-'}; medians of {args.rounds} "
          f"interleaved rounds; peers: time (their time / simdoptim's)", flush=True)
    results = []
    if args.order_only:
        order(10**6, args.rounds, results, torch, ds)
    else:
        for size in (int(float(s)) for s in args.sizes.split(",")):
            configurations(size, args.rounds, results, torch, ds)
            unscale_clip(size, args.rounds, results, torch)
            if size == 10**6:
                order(size, args.rounds, results, torch, ds)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"cpu_info": info, "threads": nt, "results": results}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
