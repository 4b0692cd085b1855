"""simdoptim.benchmark - side-by-side speed, in the unit that bounds an optimizer step: bandwidth.

``python -m simdoptim bench`` (quick, under a minute), ``--full`` (the whole grid), ``--json FILE``.

Every row is one public kernel x dtype x layout x thread count. In the same process and
interleaved round by round (so a noisy neighbour hits every implementation alike), it
times:

* ``simdoptim``  - the fast class or function, as a user calls it;
* ``probe``      - ``simdoptim._core._bandwidth_probe``: an in-place read-modify-write loop
  of ours moving exactly the bytes of the row's kernel in the same pattern (e.g. Adam fp32:
  w, m, v read and written, g read), on the same arrays and through the same threading
  helper. It is the practical ceiling; "% probe" is how close the kernel gets to it;
* ``numpy``      - :mod:`simdoptim.reference`, the plain NumPy specification;
* ``torch-forloop`` / ``torch-foreach`` / ``torch-fused`` - ``torch.optim`` in its three
  implementations where they exist (when torch is installed), on tensors that share the
  NumPy arrays' memory;
* ``deepspeed``  - DeepSpeed's CPU Adam (when installed; ``DS_ACCELERATOR=cpu``).

Each number is the median over rounds of the time of one step; GB/s is the bytes the
kernel must move (read + written, e.g. 28 per fp32 Adam element) divided by that time.
"""

from __future__ import annotations

import gc
import json
import math
import os
import platform
import sys
import time
from dataclasses import dataclass, field

import numpy as np

import simdoptim

from . import _core

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
    make: object = None  # (case) -> dict impl name -> callable


ROWS = {}


def _row(name, covers, kind, streams, layouts="all"):
    def deco(fn):
        ROWS[name] = Row(name, tuple(covers), kind, streams, layouts, fn)
        return fn

    return deco


# Public names that are controls, not kernels, and modules whose exports are utilities
# around the kernels (schedules, checkpoints, course helpers): everything else exported is
# a kernel and needs a row.
NOT_KERNELS = {"cpu_info", "get_num_threads", "set_num_threads"}
NOT_KERNEL_MODULES = ("simdoptim.schedules", "simdoptim.checkpoint", "simdoptim.course")


def public_kernels():
    """The public kernels of the package: every name of ``simdoptim.functional.__all__``
    and every function or class exported by ``simdoptim`` (modules, the runtime controls
    and the utilities of NOT_KERNEL_MODULES excepted). A new kernel appears here without anyone listing it."""
    from . import functional

    names = set(functional.__all__)
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

    @property
    def bytes(self):
        """Bytes the kernel must move: read-write buffers twice, the others once."""
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


_DEEPSPEED = {}


def _deepspeed_adam():
    """DeepSpeed's CPU Adam class, or None (not installed, or its op does not build here)."""
    if "deepspeed" not in _ENABLED:
        return None
    if "cls" not in _DEEPSPEED:
        _DEEPSPEED["cls"] = None
        if _torch() is not None and _importable("deepspeed"):
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
            except Exception:  # noqa: BLE001 - any failure means "peer not available"
                _DEEPSPEED["cls"] = None
    return _DEEPSPEED["cls"]


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
    modes = [("torch-forloop", dict(foreach=False)), ("torch-foreach", dict(foreach=True)), ("torch-fused", dict(fused=True))]
    for name, kw in modes:
        if name != "torch-fused" and not slow_ok:
            continue
        try:
            opt = make(_torch_params(ws, gs), **kw)
            with torch.no_grad():
                opt.step()  # creates the state, and fails here if this mode is not supported
        except (RuntimeError, TypeError, ValueError):
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


def _numpy_ok(case):
    return "numpy" in _ENABLED and _slow_ok(case)


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
    if deepspeed_kw is not None and case.dtype == np.float32 and _deepspeed_adam() is not None:
        ds = _deepspeed_adam()(_torch_params(ws, gs), **deepspeed_kw)
        impls["deepspeed"] = _no_grad(ds.step)
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


@_row("EMA", ("EMA", "ema_update"), "update", (1, 1, 1))
def _ema(case):
    # The running average of weights with its bias-corrected value written out in the same
    # pass, into buffers allocated once: avg = beta*avg + (1-beta)*x, out = avg / (1 -
    # beta^t). avg read and written, x read, out written: 16 bytes per fp32 element. (The
    # EMA class does the same through ema_update and returns the result in new arrays; for
    # large arrays that allocation, not the kernel, is then most of its time.)
    xs, outs = _tensors(case, 2)
    avgs = [np.ones_like(x) for x in xs]
    kw = dict(beta=0.999, step=MID_TRAINING_STEP, bias_correction=True)
    impls = {"simdoptim": lambda: simdoptim.functional.ema_update(avgs, xs, outs=outs, **kw)}
    case.data["probe"] = _probe_buffers(avgs, outs, xs)
    impls["probe"] = _probe(case, 1, 1, 1)
    if _numpy_ok(case):
        ref_avgs = [a.copy() for a in avgs]
        impls["numpy"] = lambda: simdoptim.reference.ema_update(ref_avgs, xs, outs=outs, **kw)
    torch = _torch()
    if torch is not None and _slow_ok(case):
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
    if torch is not None and _slow_ok(case):
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
    if torch is not None and _slow_ok(case):
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
    if torch is not None and _slow_ok(case):
        Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
        gen = torch.Generator().manual_seed(0)

        def torch_epoch():
            perm = torch.randperm(m, generator=gen)
            for k in range(0, m, 256):
                i = perm[k:k + 256]
                Xt.index_select(0, i), Yt.index_select(0, i)

        impls["torch-forloop"] = torch_epoch
    return impls


# ---------------------------------------------------------------------------------------
# Timing


def _time_once(fn, number):
    t0 = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - t0) / number


SLOW_CALL_S = 0.15  # an implementation this slow per call gets SLOW_ROUNDS samples, not `rounds`
SLOW_ROUNDS = 3


def measure(impls, rounds, min_sample_s):
    """Median seconds per call of each implementation, interleaved: every round times each
    implementation once, in a rotating order, so slow drifts of the machine (other jobs,
    frequency) spread over all of them. Calls are batched so one sample lasts about
    min_sample_s (timer resolution, loop overhead). The first call of each is a warm-up
    (page faults, lazily created state, thread pools); a peer slower than SLOW_CALL_S per
    call is sampled SLOW_ROUNDS times (the 1e8 NumPy rows would otherwise take minutes)."""
    names = list(impls)
    number, want, samples = {}, {}, {name: [] for name in names}
    for name in names:
        _time_once(impls[name], 1)
        t = _time_once(impls[name], 1)
        number[name] = max(1, min(10_000, int(min_sample_s / max(t, 1e-7))))
        want[name] = rounds if t < SLOW_CALL_S else min(rounds, SLOW_ROUNDS)
        if number[name] == 1:
            samples[name].append(t)  # already a clean sample of one call
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            if len(samples[name]) < want[name]:
                samples[name].append(_time_once(impls[name], number[name]))
    return {name: float(np.median(s)) for name, s in samples.items()}


# ---------------------------------------------------------------------------------------
# The run


class _Progress:
    def __init__(self, total, stream=sys.stderr, enabled=True):
        self.total, self.done, self.stream, self.enabled = total, 0, stream, enabled
        self.tty = enabled and hasattr(stream, "isatty") and stream.isatty()
        self.t0 = time.perf_counter()

    def step(self, label):
        self.done += 1
        if not self.enabled:
            return
        width = 30
        filled = int(width * self.done / max(self.total, 1))
        bar = "#" * filled + "." * (width - filled)
        line = f"[{bar}] {self.done}/{self.total} {time.perf_counter() - self.t0:5.0f}s {label}"
        if self.tty:
            self.stream.write("\r" + line[:110].ljust(110))
            if self.done == self.total:
                self.stream.write("\n")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


def grid(config, rows=None):
    """(row, dtype, layout) triples of a configuration."""
    rows = ROWS if rows is None else rows
    out = []
    for row in rows.values():
        for dtype in config["dtypes"]:
            layouts = [Layout(1, n) for n in config["sizes"]]
            if row.layouts == "all":
                layouts += [Layout(c, n) for c, n in config["many"]]
            for layout in layouts:
                out.append((row, np.dtype(dtype), layout))
    return out


def thread_counts(config):
    if isinstance(config["threads"], (list, tuple)):
        return list(config["threads"])
    nmax = simdoptim.get_num_threads()
    if config["threads"] == "all" or nmax == 1:
        return [nmax]
    return [1, nmax]


def run(config, progress=True, only=None):
    """Runs the grid (all rows, or the rows of `only`); returns a list of result dicts, one
    per row x dtype x layout x threads. Refuses to run while a public kernel has no row."""
    rows = ROWS if only is None else only
    missing = missing_rows()
    if missing:
        raise RuntimeError(f"simdoptim.benchmark: no benchmark row for the public kernel(s) {missing}; add one to ROWS")
    torch = _torch()
    available = {name: row for name, row in rows.items() if all(_has(c) for c in row.covers)}
    cases = grid(config, available)
    counts = thread_counts(config)
    bar = _Progress(len(cases) * len(counts), enabled=progress)
    nt0 = simdoptim.get_num_threads()
    torch_nt0 = torch.get_num_threads() if torch is not None else None
    results = []
    try:
        for row, dtype, layout in cases:
            case = Case(row, dtype, layout)
            impls = row.make(case)
            single_threaded = {}  # the NumPy reference does not thread: measured once
            for nt in counts:
                simdoptim.set_num_threads(nt)
                if torch is not None:
                    torch.set_num_threads(nt)
                todo = {k: v for k, v in impls.items() if k not in single_threaded}
                med = measure(todo, config["rounds"], config["min_sample_s"])
                for k in ("numpy",):
                    if k in med:
                        single_threaded[k] = med[k]
                med.update(single_threaded)
                results.append(_result(case, nt, med))
                bar.step(f"{row.name} {dtype.name} {layout.label} threads={nt}")
            del impls, case
            gc.collect()
    finally:
        simdoptim.set_num_threads(nt0)
        if torch is not None:
            torch.set_num_threads(torch_nt0)
    return results


def _print_saved(args, out):
    with open(args.from_json) as f:
        data = json.load(f)
    results = data["results"]
    if args.kernels:
        results = [r for r in results if r["kernel"] in args.kernels.split(",")]
    if args.sizes:
        sizes = {int(float(x)) for x in args.sizes.split(",")}
        results = [r for r in results if r["tensors"] == 1 and r["elements"] in sizes or
                   r["tensors"] > 1 and not args.no_many]
    elif args.no_many:
        results = [r for r in results if r["tensors"] == 1]
    if args.dtypes:
        results = [r for r in results if r["dtype"] in args.dtypes.split(",")]
    if args.threads:
        results = [r for r in results if r["threads"] in {int(t) for t in args.threads.split(",")}]
    env = data["environment"]
    print(f"simdoptim bench (saved run): {env['processor']}, isa {env['isa']}, {env['num_threads']} threads", file=out)
    print(format_table(results), file=out)
    return 0


def _has(name):
    from . import functional

    return hasattr(simdoptim, name) or hasattr(functional, name)


def _result(case, nt, med):
    ours = med["simdoptim"]
    r = {
        "kernel": case.row.name,
        "dtype": case.dtype.name,
        "layout": case.layout.label,
        "tensors": case.layout.count,
        "elements": case.layout.elements,
        "threads": nt,
        "bytes": case.bytes,
        "ms": {k: v * 1e3 for k, v in med.items()},
        "gbps": {k: case.bytes / v / 1e9 for k, v in med.items()},
    }
    r["pct_probe"] = 100.0 * med["probe"] / ours if "probe" in med else None
    r["speedup"] = {k: v / ours for k, v in med.items() if k != "simdoptim"}
    return r


# ---------------------------------------------------------------------------------------
# Reporting

PEERS = ("numpy", "torch-forloop", "torch-foreach", "torch-fused", "deepspeed")


def format_table(results):
    """A Markdown table: our time and bandwidth, the probe, and each peer's time with our
    speed-up over it (peer time / our time; > 1 means simdoptim is faster)."""
    present = [p for p in PEERS if any(p in r["ms"] for r in results)]
    head = ["kernel", "dtype", "size", "thr", "ms", "GB/s", "probe GB/s", "% probe"] + present
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        probe = r["gbps"].get("probe")
        cells = [
            r["kernel"], r["dtype"], r["layout"], str(r["threads"]), _ms(r["ms"]["simdoptim"]),
            f"{r['gbps']['simdoptim']:.1f}", f"{probe:.1f}" if probe else "-",
            f"{r['pct_probe']:.0f}%" if r["pct_probe"] else "-",
        ]
        for p in present:
            cells.append(f"{_ms(r['ms'][p])} ({r['speedup'][p]:.2f}x)" if p in r["ms"] else "-")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _ms(x):
    return f"{x:.3g}" if x < 100 else f"{x:.0f}"


def environment():
    info = simdoptim.cpu_info()
    env = {
        "simdoptim": simdoptim.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "processor": _cpu_model(),
        "isa": info["isa"],
        "num_threads": info["num_threads"],
    }
    torch = _torch()
    if torch is not None:
        env["torch"] = torch.__version__
    if _DEEPSPEED.get("cls") is not None:
        import deepspeed

        env["deepspeed"] = deepspeed.__version__
    return env


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def plot(results, path):
    """GB/s against size, one panel per kernel (float32, all threads); returns False when
    matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    nt = max(r["threads"] for r in results)
    sel = [r for r in results if r["dtype"] == "float32" and r["threads"] == nt and r["tensors"] == 1]
    kernels = list(dict.fromkeys(r["kernel"] for r in sel))
    if not kernels:
        return False
    colors = {"simdoptim": "C0", "probe": "k", "numpy": "C4", "torch-forloop": "C1", "torch-foreach": "C2",
              "torch-fused": "C3", "deepspeed": "C5"}
    cols = 3
    rows = -(-len(kernels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.6 * rows), squeeze=False)
    handles = {}
    for ax, k in zip(axes.flat, kernels):
        rs = sorted((r for r in sel if r["kernel"] == k), key=lambda r: r["elements"])
        impls = list(dict.fromkeys(i for r in rs for i in r["gbps"]))
        for impl in impls:
            pts = [(r["elements"], r["gbps"][impl]) for r in rs if impl in r["gbps"]]
            (line,) = ax.plot(*zip(*pts), "--" if impl == "probe" else "-o", color=colors.get(impl),
                              label=impl, lw=2 if impl == "simdoptim" else 1, ms=3)
            handles.setdefault(impl, line)
        ax.set_xscale("log")
        ax.set_title(f"{k} (float32, {nt} threads)")
        ax.set_xlabel("elements")
        ax.set_ylabel("GB/s")
        ax.grid(True, alpha=0.3)
    for ax in list(axes.flat)[len(kernels):]:
        ax.axis("off")
    fig.legend(list(handles.values()), list(handles), loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def main(argv=None, out=None):
    """The ``python -m simdoptim bench`` command."""
    import argparse

    p = argparse.ArgumentParser(prog="python -m simdoptim bench", description=__doc__.split("\n\n")[0])
    add_arguments(p)
    return run_command(p.parse_args(argv), out)


def add_arguments(p):
    p.add_argument("--full", action="store_true", help="the whole grid: 1e3..1e8, float32 and float64, 1 and all threads (4-10 min on 2 cores)")
    p.add_argument("--json", metavar="FILE", help="also write the results (and the environment) as JSON")
    p.add_argument("--png", metavar="FILE", help="also plot GB/s against size (needs matplotlib)")
    p.add_argument("--kernels", metavar="NAMES", help="comma-separated rows to run (default: all)")
    p.add_argument("--sizes", metavar="N,N", help="comma-separated sizes in elements, e.g. 1e4,1e6 (overrides the grid)")
    p.add_argument("--dtypes", metavar="D,D", help="comma-separated dtypes, e.g. float32")
    p.add_argument("--rounds", type=int, help="interleaved rounds per row (the median is reported)")
    p.add_argument("--peers", metavar="P,P", default=",".join(PEER_GROUPS),
                   help="peers to compare with, of numpy,torch,deepspeed (default: all that are installed)")
    p.add_argument("--no-many", action="store_true", help="leave out the many-small-tensors layouts")
    p.add_argument("--threads", metavar="N,N", help="comma-separated thread counts (default: all; --full: 1 and all)")
    p.add_argument("--from-json", metavar="FILE", help="print the table of a saved run (filtered by --kernels, "
                   "--sizes, --dtypes, --threads) instead of running")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run_command(args, out=None):
    out = sys.stdout if out is None else out
    config = dict(FULL if args.full else QUICK)
    if args.sizes:
        config["sizes"] = tuple(int(float(s)) for s in args.sizes.split(","))
    if args.dtypes:
        config["dtypes"] = tuple(args.dtypes.split(","))
    if args.rounds:
        config["rounds"] = args.rounds
    if args.no_many:
        config["many"] = ()
    if args.threads:
        config["threads"] = tuple(int(t) for t in args.threads.split(","))
    if args.from_json:
        return _print_saved(args, out)
    peers = [p for p in args.peers.split(",") if p]
    unknown = [p for p in peers if p not in PEER_GROUPS]
    if unknown:
        print(f"unknown peer(s) {unknown}; peers are {list(PEER_GROUPS)}", file=sys.stderr)
        return 2
    rows = ROWS
    if args.kernels:
        wanted = args.kernels.split(",")
        unknown = [k for k in wanted if k not in ROWS]
        if unknown:
            print(f"unknown kernel(s) {unknown}; rows are {list(ROWS)}", file=sys.stderr)
            return 2
        rows = {k: ROWS[k] for k in wanted}
    enabled = set(_ENABLED)
    _ENABLED.clear()
    _ENABLED.update(peers)
    try:
        results = run(config, progress=not args.quiet, only=rows)
    finally:
        _ENABLED.clear()
        _ENABLED.update(enabled)
    env = environment()
    print(f"simdoptim bench: {env['processor']}, isa {env['isa']}, {env['num_threads']} threads, "
          f"numpy {env['numpy']}" + (f", torch {env['torch']}" if "torch" in env else "")
          + (f", deepspeed {env['deepspeed']}" if "deepspeed" in env else ""), file=out)
    print("median ms per step (interleaved rounds); GB/s = bytes the kernel moves / time; "
          "peers: ms (their time / ours)", file=out)
    print(format_table(results), file=out)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"environment": env, "config": {k: list(v) if isinstance(v, tuple) else v for k, v in config.items()},
                       "results": results}, f, indent=1)
    if args.png and not plot(results, args.png):
        print("(no plot: matplotlib is not installed; pip install matplotlib)", file=sys.stderr)
    return 0
