"""``python -m simdoptim bench-torch``: ``optimizer.step()`` of simdoptim.torch.AdamW against
torch.optim.AdamW (fused, foreach, for-loop) and DeepSpeed's CPU Adam, on the same tensors.

Layouts: one tensor of 1e4, 1e6 and 1e8 float32 elements, 200 tensors of 50k, and the
parameter list of ``python -m simdoptim lm``'s transformer. All optimizers update the same
parameter tensors with the same gradients (lr 1e-6 keeps the values sane over many steps);
each keeps its own state. Timing is ``simdoptim._console.interleaved_medians``: interleaved rounds,
medians. The bandwidth probe (``simdoptim._core._bandwidth_probe``) moves Adam's bytes (w, m, v
read and written, g read: 28 per fp32 element) over our optimizer's own buffers: "% probe" is
how close the step gets to the memory's speed.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import time
from typing import Any

import torch

from .. import _bench_rows, _console, _core, get_num_threads
from . import AdamW as _SimdAdamW

__all__ = ["layouts", "row", "run", "main"]


def __dir__():
    return list(__all__)

LR = 1e-6
BYTES_PER_ELEMENT = 28  # fp32 Adam: w, m, v read and written, g read


def _deepspeed():
    try:
        os.environ.setdefault("DS_ACCELERATOR", "cpu")
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            from deepspeed.ops.adam import DeepSpeedCPUAdam

            p = torch.nn.Parameter(torch.ones(4))
            p.grad = torch.ones(4)
            DeepSpeedCPUAdam([p]).step()  # builds its op on first use
        return DeepSpeedCPUAdam
    except Exception:
        return None


def layouts(big=True):
    out: list[tuple[str, list[tuple[int, ...]]]] = [("1e4", [(10 ** 4,)]), ("1e6", [(10 ** 6,)])]
    if big:
        out.append(("1e8", [(10 ** 8,)]))
    out.append(("200x50k", [(50_000,)] * 200))
    from .lm import TinyGPT

    out.append(("lm model", [tuple(p.shape) for p in TinyGPT().parameters()]))
    return out


def row(shapes, peers=("torch-fused", "torch-foreach", "torch-forloop", "deepspeed"), rounds=7, min_sample_s=0.02):
    """Median seconds per step of each implementation on tensors of these shapes."""
    gen = torch.Generator().manual_seed(0)
    params = [torch.nn.Parameter(torch.rand(s, generator=gen) + 0.5) for s in shapes]
    for p in params:
        p.grad = torch.rand(p.shape, generator=gen) + 0.5
    impls = {}
    ours = _SimdAdamW(params, lr=LR)
    ours.step()
    for p in params:  # time the middle of a run (as the bench command's rows do)
        ours.state[p]["step"].fill_(_bench_rows.MID_TRAINING_STEP)
    ours._active = None  # the counts were changed behind the optimizer's back: re-read them
    impls["simdoptim.torch"] = ours.step
    probe = [(p.detach().numpy(), ours.state[p]["exp_avg"].numpy(), ours.state[p]["exp_avg_sq"].numpy(),
              _grad(p).numpy()) for p in params]

    def run_probe():
        _core._bandwidth_probe(probe, read_write=3, write_only=0)

    impls["probe"] = run_probe
    modes: tuple[tuple[str, dict[str, Any]], ...] = (
        ("torch-fused", {"fused": True}), ("torch-foreach", {"foreach": True}), ("torch-forloop", {"foreach": False}))
    for name, kw in modes:
        if name in peers:
            opt = torch.optim.AdamW(params, lr=LR, **kw)
            impls[name] = _no_grad(opt.step)
    if "deepspeed" in peers:
        ds = _deepspeed()
        if ds is not None:
            opt = ds(params, lr=LR, weight_decay=0.01, adamw_mode=True)
            impls["deepspeed"] = _no_grad(opt.step)
    return _console.interleaved_medians(impls, rounds, min_sample_s)[0], sum(p.numel() for p in params)


def _grad(p):
    if p.grad is None:
        raise ValueError("bench: a parameter lost its gradient")
    return p.grad


def _no_grad(fn):
    def step():
        with torch.no_grad():
            fn()

    return step


PEERS = ("torch-fused", "torch-foreach", "torch-forloop", "deepspeed")


def run(big=True, rounds=7, threads=None, stream=None, peers=PEERS):
    stream = stream or sys.stdout
    if threads:
        from .. import set_num_threads

        set_num_threads(threads)
        torch.set_num_threads(threads)
    cols = ["simdoptim.torch", "torch-fused", "torch-foreach", "torch-forloop", "deepspeed", "probe"]
    cells = [["layout", *[c + " (us)" for c in cols], "fused/ours", "deepspeed/ours", "ours % probe", "ours GB/s"]]
    results = {}
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    for label, shapes in layouts(big):
        t0 = time.perf_counter()
        times, n = row(shapes, peers=peers, rounds=rounds)
        results[label] = times
        ours = times["simdoptim.torch"]
        cells.append([label, *[f"{times[c] * 1e6:,.1f}" if c in times else "-" for c in cols],
                      f"{times['torch-fused'] / ours:.2f}x" if "torch-fused" in times else "-",
                      f"{times['deepspeed'] / ours:.2f}x" if "deepspeed" in times else "-",
                      f"{times['probe'] / ours:.0%}", f"{BYTES_PER_ELEMENT * n / ours / 1e9:.1f}"])
        print(f"  ({label}: {time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    print(f"AdamW optimizer.step(), float32, medians of {rounds} interleaved rounds; simdoptim threads "
          f"{get_num_threads()}, torch threads {torch.get_num_threads()}; load average {load:.1f} at the start "
          f"({os.cpu_count()} CPUs)", file=stream)
    print(_console.text_table(cells), file=stream)
    return results


def main(args):
    peers = tuple(p for p in PEERS if not (args.no_deepspeed and p == "deepspeed"))
    run(big=not args.no_big, rounds=args.rounds, threads=args.threads, peers=peers)
    return 0
