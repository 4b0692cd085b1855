"""``python -m simdoptim lm``: a small transformer language model trained on CPU with
``simdoptim.torch.AdamW`` and with ``torch.optim.AdamW(fused=True)``, side by side.

The text is Python's own standard library source (the ``.py`` files next to ``os.py``; nothing
to download), read as bytes (a vocabulary of 256). Both runs start from the same weights and
see the same batches, interleaved step by step so that the machine's load falls on both alike;
they differ only in the optimizer. It prints the loss of both, a table of the time per step
split into forward+backward and optimizer, and writes ``lm_loss.png`` with both loss curves.
"""

from __future__ import annotations

import math
import os
import statistics
import sys
import time

import numpy as np
import torch

from .. import _console, _plotting
from . import AdamW as _SimdAdamW

__all__ = ["TinyGPT", "stdlib_text", "batches", "train", "table", "plot", "main"]


def __dir__():
    return list(__all__)


def stdlib_text(limit_bytes=4_000_000):
    """The bytes of the standard library's ``.py`` files (sorted by path, up to ``limit_bytes``)."""
    root = os.path.dirname(os.__file__)
    chunks, size = [], 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in ("site-packages", "test", "tests", "__pycache__"))
        for name in sorted(filenames):
            if not name.endswith(".py"):
                continue
            try:
                with open(os.path.join(dirpath, name), "rb") as f:
                    data = f.read()
            except OSError:
                continue
            chunks.append(data)
            size += len(data)
            if size >= limit_bytes:
                return np.frombuffer(b"".join(chunks)[:limit_bytes], np.uint8)
    return np.frombuffer(b"".join(chunks), np.uint8)


class TinyGPT(torch.nn.Module):
    """A decoder-only transformer over bytes: token and position embeddings, ``layers`` pre-norm
    blocks (causal self-attention, GELU MLP of 4x width), a final LayerNorm and a linear head."""

    mask: torch.Tensor

    def __init__(self, vocab=256, context=64, width=128, layers=2, heads=4):
        super().__init__()
        self.context = context
        self.tok = torch.nn.Embedding(vocab, width)
        self.pos = torch.nn.Embedding(context, width)
        block = torch.nn.TransformerEncoderLayer(width, heads, 4 * width, dropout=0.0, activation="gelu",
                                                 batch_first=True, norm_first=True)
        self.blocks = torch.nn.TransformerEncoder(block, layers, enable_nested_tensor=False)
        self.norm = torch.nn.LayerNorm(width)
        self.head = torch.nn.Linear(width, vocab)
        self.register_buffer("mask", torch.nn.Transformer.generate_square_subsequent_mask(context), persistent=False)

    def forward(self, idx):
        t = idx.shape[1]
        x = self.tok(idx) + self.pos(torch.arange(t))
        x = self.blocks(x, mask=self.mask[:t, :t], is_causal=True)
        return self.head(self.norm(x))


def batches(data, steps, batch, context, seed=0):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        starts = rng.integers(0, len(data) - context - 1, batch)
        idx = np.stack([data[s:s + context + 1] for s in starts]).astype(np.int64)
        yield torch.from_numpy(idx[:, :-1]), torch.from_numpy(idx[:, 1:])


def train(steps=300, batch=16, context=64, width=128, layers=2, lr=1e-3, weight_decay=0.1, seed=0, progress=True,
          stream=None):
    """Trains the two copies; returns a dict with the losses, timings and model size."""
    stream = stream or sys.stdout
    data = stdlib_text()
    torch.manual_seed(seed)
    models = {"simdoptim.torch.AdamW": TinyGPT(context=context, width=width, layers=layers)}
    models["torch AdamW(fused=True)"] = TinyGPT(context=context, width=width, layers=layers)
    models["torch AdamW(fused=True)"].load_state_dict(models["simdoptim.torch.AdamW"].state_dict())
    opts = {
        "simdoptim.torch.AdamW": _SimdAdamW(models["simdoptim.torch.AdamW"].parameters(), lr=lr,
                                             weight_decay=weight_decay),
        "torch AdamW(fused=True)": torch.optim.AdamW(models["torch AdamW(fused=True)"].parameters(), lr=lr,
                                                     weight_decay=weight_decay, fused=True),
    }
    # warm-up and cosine decay (OneCycleLR); a run too short for its phases keeps lr constant
    scheds = {k: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=lr, total_steps=steps, pct_start=0.1)
              if steps >= 20 else torch.optim.lr_scheduler.ConstantLR(o, factor=1.0) for k, o in opts.items()}
    losses: dict[str, list[float]] = {k: [] for k in models}
    fwd_bwd: dict[str, list[float]] = {k: [] for k in models}
    opt_t: dict[str, list[float]] = {k: [] for k in models}
    bar = _console.Progress(steps, "training both", enabled=progress, unit="step")
    for step, (x, y) in enumerate(batches(data, steps, batch, context, seed)):
        for name, model in models.items():
            opt = opts[name]
            t0 = time.perf_counter()
            logits = model(x)
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            t1 = time.perf_counter()
            opt.step()
            t2 = time.perf_counter()
            scheds[name].step()
            losses[name].append(loss.item())
            fwd_bwd[name].append(t1 - t0)
            opt_t[name].append(t2 - t1)
        bar.update(step + 1)
    bar.close()
    n_params = sum(p.numel() for p in models["simdoptim.torch.AdamW"].parameters())
    n_tensors = sum(1 for _ in models["simdoptim.torch.AdamW"].parameters())
    return {"losses": losses, "fwd_bwd": fwd_bwd, "opt": opt_t, "params": n_params, "tensors": n_tensors,
            "steps": steps, "batch": batch, "context": context, "text_bytes": len(data)}


def _smooth(xs, k=20):
    out, acc = [], []
    for x in xs:
        acc.append(x)
        if len(acc) > k:
            acc.pop(0)
        out.append(sum(acc) / len(acc))
    return out


def table(result):
    """The timing table (medians over steps, after the first 5% as warm-up) and final losses."""
    skip = max(1, result["steps"] // 20)
    rows = [["optimizer", "fwd+bwd (ms)", "optimizer.step (ms)", "step share", "final loss (avg of last 20)"]]
    for name in result["losses"]:
        fb = statistics.median(result["fwd_bwd"][name][skip:]) * 1e3
        op = statistics.median(result["opt"][name][skip:]) * 1e3
        rows.append([name, f"{fb:.1f}", f"{op:.3f}", f"{op / (fb + op):.1%}",
                     f"{statistics.fmean(result['losses'][name][-20:]):.4f}"])
    return _console.text_table(rows)


def plot(result, path):
    fig = _plotting.new_figure(figsize=(7, 4))
    ax = fig.add_subplot()
    styles = {"simdoptim.torch.AdamW": dict(color="C0", lw=2.0), "torch AdamW(fused=True)": dict(color="C1", lw=1.0,
                                                                                               ls="--")}
    for name, ls in result["losses"].items():
        ax.plot(range(1, len(ls) + 1), _smooth(ls), label=name, **styles[name])
    ax.set_xlabel("step")
    ax.set_ylabel("training loss (nats/byte, mean of 20 steps)")
    ax.set_title(f"byte-level transformer, {result['params'] / 1e6:.2f}M parameters, Python's stdlib source")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.savefig(path, dpi=120)
    return path


def main(args):
    print(f"simdoptim lm: torch {torch.__version__}, torch threads {torch.get_num_threads()}")
    t0 = time.perf_counter()
    result = train(steps=args.steps, batch=args.batch, progress=not args.no_progress)
    print(f"model: {result['params']:,} parameters in {result['tensors']} tensors; text: {result['text_bytes']:,} "
          f"bytes of the standard library; {result['steps']} steps of {result['batch']} x {result['context']} bytes")
    print(table(result))
    diffs = [abs(a - b) for a, b in zip(*result["losses"].values())]
    print(f"largest loss difference between the runs at one step: {max(diffs):.4f} "
          f"(mean {statistics.fmean(diffs):.4f}); total {time.perf_counter() - t0:.0f} s")
    if not args.no_plots:
        missing = _plotting.matplotlib_missing()
        if missing:
            print(f"(no figure: {missing}; pip install matplotlib for lm_loss.png)")
        else:
            os.makedirs(args.out, exist_ok=True)
            print(f"wrote {plot(result, os.path.join(args.out, 'lm_loss.png'))}")
    finite = all(math.isfinite(x) for ls in result["losses"].values() for x in ls)
    return 0 if finite else 1
