"""What ``python -m simdoptim bench`` measures: one row per public kernel, each knowing the
bytes it must move, how to build its inputs, and its peers (the bandwidth probe, the
NumPy reference, torch.optim's three implementations, DeepSpeed's CPU Adam), each only
where installed. :mod:`simdoptim.benchmark` runs the rows and reports them.

A peer that cannot run in a row (torch has no fused RMSprop; the slow peers skip float64
above 1e7 elements) leaves the reason in ``case.not_run``, which the report prints.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import simdoptim

from . import _core

__all__ = ["Layout", "Row", "Case", "ROWS", "QUICK", "FULL", "PEER_GROUPS", "public_kernels", "missing_rows"]


def __dir__():
    return list(__all__)


# ---------------------------------------------------------------------------------------
# What to run


@dataclass(frozen=True)
class Layout:
    """``count`` tensors of ``n`` elements each."""

    count: int
    n: int

    @property
    def elements(self):
        return self.count * self.n

    @property
    def label(self):
        """1e6 for one tensor, 200x50k for many."""
        if self.count == 1:
            n = self.n
            return f"1e{round(math.log10(n))}" if n >= 1000 and n == 10 ** round(math.log10(n)) else str(n)
        for unit, div in (("M", 10 ** 6), ("k", 10 ** 3)):
            if self.n >= div and self.n % div == 0:
                return f"{self.count}x{self.n // div}{unit}"
        return f"{self.count}x{self.n}"


QUICK = dict(
    sizes=(10 ** 4, 10 ** 6, 10 ** 7),
    many=(),
    dtypes=("float32",),
    threads="all",
    rounds=5,
    min_sample_s=0.003,
)
FULL = dict(
    sizes=(10 ** 3, 10 ** 4, 10 ** 5, 10 ** 6, 10 ** 7, 10 ** 8),
    many=((200, 50_000), (2000, 1000)),
    dtypes=("float32", "float64"),
    threads="both",
    rounds=7,
    min_sample_s=0.01,
)
# Above this many elements the slow peers (the NumPy reference, torch's for-loop and
# foreach) run for float32 only: at 1e8 float64 each buffer is 800 MB, and with every
# peer's state alive at once (interleaved) the row would need over 12 GB and minutes.
SLOW_PEER_MAX_F64 = 10 ** 7
# Optimizers are timed in the middle of a training run, not at its first steps: from step
# 165 on a float32 Adam's first bias correction is exactly 1 and simdoptim skips that
# (exact) division, as it would in any real run. The peers' cost does not depend on it.
MID_TRAINING_STEP = 1000
# A small learning rate: every implementation of a row updates the same arrays, hundreds of
# thousands of times for small sizes, and the probe averages them into the state; with
# lr = 1e-6 the values stay positive and finite throughout (speed does not depend on lr).
LR = 1e-6


# ---------------------------------------------------------------------------------------
# Rows: one per public kernel (the registry), each knowing its bytes and its peers


@dataclass
class Row:
    name: str
    covers: tuple  # the public names (simdoptim.X / functional.X) this row measures
    kind: str  # "update" (element-wise over tensors), "gather", "scan", "read"
    # (read_write, write_only, read_only) buffers per element: bytes = sum * itemsize
    streams: tuple
    layouts: str = "all"  # "all" or "single" (no many-small-tensors layout)
    make: Callable[[Case], dict[str, Callable[[], Any]]] | None = None  # (case) -> dict impl name -> callable
    # bytes per element when the streams have different widths (dtype -> bytes), else None
    element_bytes: Callable[[np.dtype], int] | None = None


ROWS: dict[str, Row] = {}


def _row(name, covers, kind, streams, layouts="all", element_bytes=None):
    def deco(fn):
        ROWS[name] = Row(name, tuple(covers), kind, streams, layouts, fn, element_bytes)
        return fn

    return deco


# Public names that are controls, not kernels, and modules whose exports are utilities
# around the kernels (schedules, checkpoints, course helpers): everything else exported is
# a kernel and needs a row.
NOT_KERNELS = {"cpu_info", "get_num_threads", "set_num_threads",
               # binds an update's arrays for repeated calls; its cost per call is
               # bench/bench_small_calls.py's, its kernels are the update's rows
               "prepare"}
NOT_KERNEL_MODULES = ("simdoptim.schedules", "simdoptim.checkpoint", "simdoptim.course")


def public_kernels():
    """The public kernels of the package: every name of ``simdoptim.functional.__all__``
    and every function or class exported by ``simdoptim`` (modules, the runtime controls
    and the utilities of NOT_KERNEL_MODULES excepted). A new kernel appears here without anyone listing it."""
    from . import functional

    names = set(functional.__all__) - NOT_KERNELS
    for name in simdoptim.__all__:
        obj = getattr(simdoptim, name)
        if name.startswith("_") or name in NOT_KERNELS or not callable(obj):
            continue
        if type(obj).__name__ == "module" or getattr(obj, "__module__", "").startswith(NOT_KERNEL_MODULES):
            continue
        names.add(name)
    return names


def missing_rows(rows=None):
    """Public kernels no benchmark row covers (the suite refuses to run when any is missing)."""
    rows = ROWS if rows is None else rows
    covered = set()
    for r in rows.values():
        covered.update(r.covers)
    return sorted(public_kernels() - covered)


@dataclass
class Case:
    row: Row
    dtype: np.dtype
    layout: Layout
    data: dict = field(default_factory=dict)
    not_run: dict = field(default_factory=dict)  # implementation -> why it has no time in this row

    @property
    def bytes(self):
        """Bytes the kernel must move: read-write buffers twice, the others once."""
        if self.row.element_bytes is not None:
            return self.row.element_bytes(self.dtype) * self.layout.elements
        rw, wo, ro = self.row.streams
        return (2 * rw + wo + ro) * self.dtype.itemsize * self.layout.elements


def _rng():
    return np.random.default_rng(12345)


def _tensors(case, k, low=0.5, high=1.5):
    """k lists of `count` arrays; values in [low, high) keep every algorithm (and the probe,
    which averages its inputs) away from zero, infinities and subnormals over many steps."""
    rng = _rng()
    out = []
    for _ in range(k):
        out.append([rng.uniform(low, high, case.layout.n).astype(case.dtype) for _ in range(case.layout.count)])
    return out


# Which peers run: "numpy", "torch", "deepspeed" (each only when installed).
PEER_GROUPS = ("numpy", "torch", "deepspeed")
_ENABLED = set(PEER_GROUPS)


def _torch():
    if "torch" not in _ENABLED:
        return None
    try:
        import torch  # noqa: F401
    except ImportError:
        return None
    return sys.modules["torch"]


_DEEPSPEED: dict[str, Any] = {}  # "cls": the class or None; "why": why it is None


def _deepspeed_adam():
    """DeepSpeed's CPU Adam class, or None (not installed, or its op does not build here)."""
    if "deepspeed" not in _ENABLED:
        return None
    if "cls" not in _DEEPSPEED:
        _DEEPSPEED["cls"] = None
        if not _importable("deepspeed"):
            _DEEPSPEED["why"] = "not installed"
        elif _torch() is None:
            _DEEPSPEED["why"] = "needs torch, which is not installed or not enabled"
        else:
            print("(loading DeepSpeed's CPU Adam; its first use builds the op, about a minute)", file=sys.stderr)
            try:
                os.environ.setdefault("DS_ACCELERATOR", "cpu")
                import contextlib
                import io

                with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                    from deepspeed.ops.adam import DeepSpeedCPUAdam

                    torch = _torch()
                    p = torch.nn.Parameter(torch.ones(4))
                    p.grad = torch.ones(4)
                    DeepSpeedCPUAdam([p]).step()  # builds the op on first use
                _DEEPSPEED["cls"] = DeepSpeedCPUAdam
            except Exception as e:  # any failure means "peer not available"; say which
                _DEEPSPEED["cls"] = None
                _DEEPSPEED["why"] = f"installed, but its CPU Adam failed to load ({type(e).__name__}: {_first_line(e)})"
    return _DEEPSPEED["cls"]


def _first_line(e):
    text = str(e).strip()
    return text.splitlines()[0][:160] if text else type(e).__name__


def _importable(name):
    import importlib.util

    return importlib.util.find_spec(name) is not None


def _torch_params(ws, gs):
    """torch Parameters sharing memory with the NumPy arrays, gradients attached."""
    torch = _torch()
    ps = []
    for w, g in zip(ws, gs):
        p = torch.nn.Parameter(torch.from_numpy(w), requires_grad=True)
        p.grad = torch.from_numpy(g)
        ps.append(p)
    return ps


def _torch_optimizers(case, ws, gs, make):
    """torch-forloop / -foreach / -fused steps of make(params, **impl_kwargs), each on its own
    Parameters sharing the arrays; a mode torch refuses (e.g. no fused RMSprop) is left out."""
    torch = _torch()
    if torch is None:
        return {}
    slow_ok = _slow_ok(case)
    out = {}
    modes = [("torch-forloop", dict(foreach=False)), ("torch-foreach", dict(foreach=True)),
             ("torch-fused", dict(fused=True))]
    for name, kw in modes:
        if name != "torch-fused" and not slow_ok:
            case.not_run[name] = SLOW_PEER_NOTE
            continue
        try:
            opt = make(_torch_params(ws, gs), **kw)
            with torch.no_grad():
                opt.step()  # creates the state, and fails here if this mode is not supported
        except (RuntimeError, TypeError, ValueError) as e:
            arg = ", ".join(f"{k}={v}" for k, v in kw.items())
            case.not_run[name] = f"torch refuses {arg} for this optimizer ({_first_line(e)})"
            continue
        out[name] = _no_grad(opt.step)
    return out


def _no_grad(fn):
    torch = _torch()

    def step():
        with torch.no_grad():
            fn()

    return step


def _slow_ok(case):
    """Whether the slow peers run for this case (see SLOW_PEER_MAX_F64)."""
    return case.dtype == np.float32 or case.layout.elements <= SLOW_PEER_MAX_F64


SLOW_PEER_NOTE = (f"not run for float64 above {SLOW_PEER_MAX_F64:.0e} elements (with every peer's buffers alive "
                  f"at once the row would need over 12 GB and minutes)")


def _numpy_ok(case):
    if "numpy" not in _ENABLED:
        return False
    if not _slow_ok(case):
        case.not_run["numpy"] = SLOW_PEER_NOTE
        return False
    return True


def _torch_slow_ok(case, *names):
    """Whether the torch peers of a hand-written row run; notes why not when they do not."""
    if _torch() is None:
        return False
    if not _slow_ok(case):
        for name in names:
            case.not_run[name] = SLOW_PEER_NOTE
        return False
    return True


def _probe(case, rw, wo, ro):
    """The probe on the row's own buffers: same sizes, same alignment, same bytes."""

    def run():
        _core._bandwidth_probe(case.data["probe"], read_write=rw, write_only=wo)

    return run


def _probe_buffers(*lists):
    return [tuple(bufs) for bufs in zip(*lists)]


def _optimizer_row(case, fast_cls, ref_cls, kwargs, state_attrs, torch_make, deepspeed_kw=None):
    ws, gs = _tensors(case, 2)
    fast = fast_cls(ws, **kwargs)
    fast.step(gs)  # state now holds real values
    fast.t = MID_TRAINING_STEP
    impls = {"simdoptim": lambda: fast.step(gs)}
    # the probe runs on the optimizer's own state buffers when it can see them (same
    # addresses, same alignment), else on new ones of the same size
    states = [fast._state.get(a.lstrip("_")) or [np.ones_like(w) for w in ws] for a in state_attrs]
    rw, wo, ro = case.row.streams
    case.data["probe"] = _probe_buffers(ws, *states, gs)
    impls["probe"] = _probe(case, rw, wo, ro)
    if _numpy_ok(case):
        ref = ref_cls(ws, **kwargs)
        ref.t = MID_TRAINING_STEP
        impls["numpy"] = lambda: ref.step(gs)
    impls.update(_torch_optimizers(case, ws, gs, torch_make))
    if deepspeed_kw is not None and _deepspeed_adam() is not None:
        if case.dtype == np.float32:
            ds = _deepspeed_adam()(_torch_params(ws, gs), **deepspeed_kw)
            impls["deepspeed"] = _no_grad(ds.step)
        else:
            case.not_run["deepspeed"] = "DeepSpeed's CPU Adam is benchmarked in float32 only"
    return impls


@_row("GD", ("GD", "gd_update"), "update", (1, 0, 1))
def _gd(case):
    torch = _torch()
    return _optimizer_row(
        case, simdoptim.GD, simdoptim.reference.GD, dict(lr=LR), (),
        lambda ps, **kw: torch.optim.SGD(ps, lr=LR, **kw),
    )


@_row("Momentum", ("Momentum", "momentum_update"), "update", (2, 0, 1))
def _momentum(case):
    torch = _torch()
    # form="sum" is PyTorch's SGD momentum (dampening 0), so both do the same arithmetic
    return _optimizer_row(
        case, simdoptim.Momentum, simdoptim.reference.Momentum, dict(lr=LR, beta=0.9, form="sum"),
        ("_velocities",), lambda ps, **kw: torch.optim.SGD(ps, lr=LR, momentum=0.9, **kw),
    )


@_row("RMSprop", ("RMSprop", "rmsprop_update"), "update", (2, 0, 1))
def _rmsprop(case):
    torch = _torch()
    return _optimizer_row(
        case, simdoptim.RMSprop, simdoptim.reference.RMSprop, dict(lr=LR, beta2=0.99), ("_square_avgs",),
        lambda ps, **kw: torch.optim.RMSprop(ps, lr=LR, alpha=0.99, **kw),
    )


@_row("Adam", ("Adam", "adam_update"), "update", (3, 0, 1))
def _adam(case):
    torch = _torch()
    return _optimizer_row(
        case, simdoptim.Adam, simdoptim.reference.Adam, dict(lr=LR), ("_exp_avgs", "_exp_avg_sqs"),
        lambda ps, **kw: torch.optim.Adam(ps, lr=LR, **kw),
        deepspeed_kw=dict(lr=LR, adamw_mode=False),
    )


@_row("Adagrad", ("Adagrad", "adagrad_update"), "update", (2, 0, 1))
def _adagrad(case):
    torch = _torch()
    return _optimizer_row(
        case, simdoptim.Adagrad, simdoptim.reference.Adagrad, dict(lr=LR), ("_state_sums",),
        lambda ps, **kw: torch.optim.Adagrad(ps, lr=LR, **kw),
    )


@_row("AdamW", ("Adam", "adam_update"), "update", (3, 0, 1))
def _adamw(case):
    torch = _torch()
    return _optimizer_row(
        case, simdoptim.Adam, simdoptim.reference.Adam, dict(lr=LR, weight_decay=0.01, decoupled=True),
        ("_exp_avgs", "_exp_avg_sqs"), lambda ps, **kw: torch.optim.AdamW(ps, lr=LR, weight_decay=0.01, **kw),
        deepspeed_kw=dict(lr=LR, weight_decay=0.01, adamw_mode=True),
    )


@_row("Adam-pytorch", ("adam_pytorch_update",), "update", (3, 0, 1))
def _adam_pytorch(case):
    # PyTorch's operation order (one division per element): the same bytes as Adam, less
    # arithmetic, which shows in cache; torch.optim.Adam and DeepSpeed compute this order
    torch = _torch()
    return _optimizer_row(
        case, simdoptim.Adam, simdoptim.reference.Adam, dict(lr=LR, order="pytorch"), ("_exp_avgs", "_exp_avg_sqs"),
        lambda ps, **kw: torch.optim.Adam(ps, lr=LR, **kw),
        deepspeed_kw=dict(lr=LR, adamw_mode=False),
    )


@_row("grad_norm", ("grad_norm",), "read", (0, 0, 1))
def _grad_norm(case):
    # the read pass of a clipped step: the global L2 norm of the gradients, float64 sums
    (xs,) = _tensors(case, 1)
    impls = {"simdoptim": lambda: simdoptim.functional.grad_norm(xs)}
    if _numpy_ok(case):
        impls["numpy"] = lambda: simdoptim.reference.grad_norm(xs)
    torch = _torch()
    if _torch_slow_ok(case, "torch-forloop", "torch-foreach"):
        ts = [torch.from_numpy(x) for x in xs]
        # what torch.nn.utils.clip_grad_norm_ computes: the norm of the tensors' norms
        impls["torch-forloop"] = lambda: torch.linalg.vector_norm(
            torch.stack([torch.linalg.vector_norm(t) for t in ts]))
        impls["torch-foreach"] = lambda: torch.linalg.vector_norm(torch.stack(torch._foreach_norm(ts)))
    return impls


@_row("round_to", ("round_to",), "update", (0, 1, 1), layouts="single",
      element_bytes=lambda dtype: dtype.itemsize + 2)
def _round_to(case):
    # float32 (or float64) -> float16, rounded to nearest even: reads x, writes 2 bytes
    (xs,) = _tensors(case, 1)
    x = xs[0]
    out = np.empty(x.shape, np.float16)
    impls = {"simdoptim": lambda: simdoptim.functional.round_to(x, np.float16)}
    case.data["probe"] = [(out, x)]
    impls["probe"] = _probe(case, 0, 1, 1)
    if _numpy_ok(case):
        impls["numpy"] = lambda: x.astype(np.float16)
    torch = _torch()
    if _torch_slow_ok(case, "torch-forloop"):
        xt = torch.from_numpy(x)
        impls["torch-forloop"] = lambda: xt.to(torch.float16)
    return impls


@_row("EMA", ("EMA", "ema_update"), "update", (1, 1, 1))
def _ema(case):
    # The running average of weights with its bias-corrected value written out in the same
    # pass, into buffers allocated once: avg = beta*avg + (1-beta)*x, out = avg / (1 -
    # beta^t). avg read and written, x read, out written: 16 bytes per fp32 element. (The
    # EMA class does the same through ema_update and returns the result in new arrays; for
    # large arrays that allocation, not the kernel, is then most of its time.)
    xs, outs = _tensors(case, 2)
    avgs = [np.ones_like(x) for x in xs]
    kw: dict[str, Any] = dict(beta=0.999, step=MID_TRAINING_STEP, bias_correction=True)
    impls = {"simdoptim": lambda: simdoptim.functional.ema_update(avgs, xs, outs=outs, **kw)}
    case.data["probe"] = _probe_buffers(avgs, outs, xs)
    impls["probe"] = _probe(case, 1, 1, 1)
    if _numpy_ok(case):
        ref_avgs = [a.copy() for a in avgs]
        impls["numpy"] = lambda: simdoptim.reference.ema_update(ref_avgs, xs, outs=outs, **kw)
    torch = _torch()
    if _torch_slow_ok(case, "torch-forloop", "torch-foreach"):
        # torch's idiom for a weight EMA is avg.lerp_(x, 1 - beta) (per tensor, or
        # _foreach_lerp_ over all); the bias-corrected copy is a second pass, torch.div(out=)
        avg_t = [torch.from_numpy(a.copy()) for a in avgs]
        x_t = [torch.from_numpy(x) for x in xs]
        out_t = [torch.from_numpy(o) for o in outs]
        bc = 1.0 - 0.999 ** MID_TRAINING_STEP

        def forloop():
            for a, x, o in zip(avg_t, x_t, out_t):
                a.lerp_(x, 0.001)
                torch.div(a, bc, out=o)

        def foreach():
            torch._foreach_lerp_(avg_t, x_t, 0.001)
            for a, o in zip(avg_t, out_t):
                torch.div(a, bc, out=o)

        impls["torch-forloop"] = forloop
        impls["torch-foreach"] = foreach
    return impls


@_row("ewma", ("ewma",), "scan", (0, 1, 1), layouts="single")
def _ewma(case):
    # 100 series side by side (the last axis), scanned along the first: reads x, writes out
    n = case.layout.n
    inner = 100 if n % 100 == 0 else 1
    (x,) = _tensors(case, 1)
    x = x[0].reshape(-1, inner)
    out = np.empty_like(x)
    impls = {"simdoptim": lambda: simdoptim.ewma(x, 0.9, axis=0)}
    case.data["probe"] = [(out.reshape(-1), x.reshape(-1))]
    impls["probe"] = _probe(case, 0, 1, 1)
    if _numpy_ok(case):
        impls["numpy"] = lambda: simdoptim.reference.ewma(x, 0.9, axis=0)
    return impls


@_row("all_finite", ("all_finite",), "read", (0, 0, 1))
def _all_finite(case):
    (xs,) = _tensors(case, 1)
    impls = {"simdoptim": lambda: simdoptim.all_finite(xs)}
    if _numpy_ok(case):
        impls["numpy"] = lambda: all(bool(np.isfinite(x).all()) for x in xs)
    torch = _torch()
    if _torch_slow_ok(case, "torch-forloop"):
        ts = [torch.from_numpy(x) for x in xs]
        impls["torch-forloop"] = lambda: all(bool(torch.isfinite(t).all()) for t in ts)
    return impls


ROW_WIDTH = 64  # elements per example (row) in the gather rows


@_row("take", ("take",), "gather", (0, 1, 1), layouts="single")
def _take(case):
    # gather every row of X (n / 64 rows of 64 elements) in a random order: reads and
    # writes each row once, 2 x row bytes per example
    m = max(case.layout.n // ROW_WIDTH, 1)
    X = _rng().uniform(0.5, 1.5, (m, ROW_WIDTH)).astype(case.dtype)
    idx = _rng().permutation(m)
    out = np.empty_like(X)
    impls = {"simdoptim": lambda: simdoptim.take(X, idx, 0, out)}
    case.data["probe"] = [(out.reshape(-1), X.reshape(-1))]
    impls["probe"] = _probe(case, 0, 1, 1)
    if _numpy_ok(case):
        impls["numpy"] = lambda: simdoptim.reference.take(X, idx, 0, out)
    torch = _torch()
    if _torch_slow_ok(case, "torch-forloop"):
        Xt, it, ot = torch.from_numpy(X), torch.from_numpy(idx), torch.from_numpy(out)
        impls["torch-forloop"] = lambda: torch.index_select(Xt, 0, it, out=ot)
    return impls


@_row("MiniBatches", ("MiniBatches",), "gather", (0, 1, 1), layouts="single")
def _minibatches(case):
    # one epoch of batches of 256 examples of X (n / 64 rows of 64) with labels Y (one per
    # row); the bytes counted are X's (the labels add 1/64)
    m = max(case.layout.n // ROW_WIDTH, 1)
    X = _rng().uniform(0.5, 1.5, (m, ROW_WIDTH)).astype(case.dtype)
    Y = _rng().uniform(0, 1, (m, 1)).astype(case.dtype)
    out = np.empty_like(X)

    def epoch(mb):
        def run():
            for _ in mb:
                pass

        return run

    impls = {"simdoptim": epoch(simdoptim.MiniBatches(X, Y, 256, seed=0))}
    case.data["probe"] = [(out.reshape(-1), X.reshape(-1))]
    impls["probe"] = _probe(case, 0, 1, 1)
    if _numpy_ok(case):
        impls["numpy"] = epoch(simdoptim.reference.MiniBatches(X, Y, 256, seed=0))
    torch = _torch()
    if _torch_slow_ok(case, "torch-forloop"):
        Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
        gen = torch.Generator().manual_seed(0)

        def torch_epoch():
            perm = torch.randperm(m, generator=gen)
            for k in range(0, m, 256):
                i = perm[k:k + 256]
                Xt.index_select(0, i), Yt.index_select(0, i)

        impls["torch-forloop"] = torch_epoch
    return impls
