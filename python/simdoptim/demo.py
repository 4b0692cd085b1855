"""simdoptim.demo - the course's optimisation exercise, end to end: ``python -m simdoptim demo``.

A small fully connected network (2-5-2-1, ReLU, ReLU, sigmoid; He initialisation; plain
NumPy forward and backward passes) is trained on a built-in two-moons data set with
mini-batches of 64 drawn by :class:`simdoptim.MiniBatches`, once per optimizer:

* plain mini-batch gradient descent, momentum (beta 0.9) and Adam at lr 0.0007 for 10,000
  epochs, then
* the same three with the exercise's staircase decay (``lr0 / (1 + floor(epoch / 1000))``,
  lr0 0.1 for GD and momentum, 0.01 for Adam) for 5,000 epochs.

It prints a table (final cost, training accuracy, speed) and, with matplotlib installed
(``pip install "simdoptim[plot]"``), writes figures into ``--out``: cost curves, decision
boundaries, exponentially weighted averages of a noisy series, the decay schedules, and
the paths of GD, momentum, RMSprop and Adam on an elongated bowl and around a saddle
(SPEC sections 1-7). Everything here is deterministic: fixed seeds, no download.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

import numpy as np

import simdoptim

from . import batching, functional, schedules

__all__ = ["make_moons", "initialize_parameters", "forward", "compute_cost", "backward", "predict", "train", "main"]

LAYERS = (2, 5, 2, 1)


# -- data ----------------------------------------------------------------------------------------


def make_moons(n_samples=300, noise=0.2, seed=3):
    """Two interleaving half circles with Gaussian noise, in the course's layout:
    ``X`` of shape ``(2, m)`` and labels ``Y`` of shape ``(1, m)`` (0 outer, 1 inner moon).

    The points are drawn in the order scikit-learn's ``make_moons`` draws them from NumPy's
    legacy generator (a shuffle of the examples, then the noise), so with the course's
    ``np.random.seed(3)`` it is the course's data set; here the generator is a private
    ``RandomState(seed)`` and the global NumPy state is left alone."""
    rs = np.random.RandomState(seed)
    n_out = n_samples // 2
    n_in = n_samples - n_out
    a_out = np.linspace(0, np.pi, n_out)
    a_in = np.linspace(0, np.pi, n_in)
    pts = np.vstack([
        np.append(np.cos(a_out), 1 - np.cos(a_in)),
        np.append(np.sin(a_out), 1 - np.sin(a_in) - 0.5),
    ]).T
    labels = np.hstack([np.zeros(n_out), np.ones(n_in)])
    order = np.arange(n_samples)
    rs.shuffle(order)
    pts, labels = pts[order], labels[order]
    pts = pts + rs.normal(scale=noise, size=pts.shape)
    return np.ascontiguousarray(pts.T), labels.reshape(1, n_samples)


# -- the network -----------------------------------------------------------------------------------


def initialize_parameters(layer_dims=LAYERS, seed=3):
    """He initialisation as in the course: ``W[l] = randn(n_l, n_{l-1}) * sqrt(2 / n_{l-1})``,
    ``b[l] = 0``, from ``RandomState(seed)``."""
    rs = np.random.RandomState(seed)
    params = {}
    for l in range(1, len(layer_dims)):
        params[f"W{l}"] = rs.randn(layer_dims[l], layer_dims[l - 1]) * np.sqrt(2 / layer_dims[l - 1])
        params[f"b{l}"] = np.zeros((layer_dims[l], 1))
    return params


def _sigmoid(z):
    # 1 / (1 + exp(-z)) without overflow warnings for very negative z
    return np.exp(-np.logaddexp(0.0, -z))


def forward(X, parameters):
    """LINEAR -> RELU -> LINEAR -> RELU -> LINEAR -> SIGMOID. Returns ``(a3, cache)``."""
    p = parameters
    z1 = p["W1"] @ X + p["b1"]
    a1 = np.maximum(z1, 0)
    z2 = p["W2"] @ a1 + p["b2"]
    a2 = np.maximum(z2, 0)
    z3 = p["W3"] @ a2 + p["b3"]
    a3 = _sigmoid(z3)
    return a3, (a1, a2, z3, a3)


def compute_cost(z3, Y):
    """The summed cross-entropy ``sum(-Y log a3 - (1 - Y) log(1 - a3))`` with ``a3 = sigmoid(z3)``,
    computed from ``z3`` so it stays finite when ``a3`` rounds to 0 or 1 (``-log sigmoid(z) =
    log(1 + exp(-z))``). Divide by ``m`` for the average; the course sums over the
    mini-batches of an epoch and then divides by the number of examples."""
    return float(np.sum(Y * np.logaddexp(0.0, -z3) + (1 - Y) * np.logaddexp(0.0, z3)))


def backward(X, Y, cache, parameters):
    """Gradients of the average cross-entropy over the batch, keyed ``dW1, db1, ...``."""
    a1, a2, _, a3 = cache
    p = parameters
    m = X.shape[1]
    dz3 = (a3 - Y) / m
    dz2 = (p["W3"].T @ dz3) * (a2 > 0)
    dz1 = (p["W2"].T @ dz2) * (a1 > 0)
    return {
        "dW1": dz1 @ X.T, "db1": dz1.sum(axis=1, keepdims=True),
        "dW2": dz2 @ a1.T, "db2": dz2.sum(axis=1, keepdims=True),
        "dW3": dz3 @ a2.T, "db3": dz3.sum(axis=1, keepdims=True),
    }


def predict(X, parameters):
    """Labels 0/1 (``a3 > 0.5``) of shape ``(1, m)``."""
    return (forward(X, parameters)[0] > 0.5).astype(np.int64)


# -- training -----------------------------------------------------------------------------------------

OPTIMIZERS = {
    "gd": ("Mini-batch GD", lambda p, lr: simdoptim.GD(p, lr=lr)),
    "momentum": ("Momentum", lambda p, lr: simdoptim.Momentum(p, lr=lr, beta=0.9)),
    "adam": ("Adam", lambda p, lr: simdoptim.Adam(p, lr=lr, beta1=0.9, beta2=0.999, eps=1e-8)),
}


def train(X, Y, optimizer="adam", lr=0.0007, num_epochs=10000, batch_size=64, seed=10, layer_dims=LAYERS,
          on_epoch=None):
    """Trains the network as the course's ``model()`` does and returns a dict with the
    ``parameters``, the average ``costs`` and the ``lrs`` of every epoch, the number of
    optimizer ``steps`` and the ``seconds`` the training loop took.

    ``lr`` is a number or a schedule of the epoch (:mod:`simdoptim.schedules`); the epoch
    counter starts at 0 and advances after every epoch. ``on_epoch(epoch)`` is called after
    each epoch (progress display)."""
    parameters = initialize_parameters(layer_dims)
    opt = OPTIMIZERS[optimizer][1](parameters, lr)
    batches = batching.MiniBatches(X, Y, batch_size=batch_size, axis=1, seed=seed)
    m = X.shape[1]
    costs = np.empty(num_epochs)
    lrs = np.empty(num_epochs)
    start = time.perf_counter()
    for epoch in range(num_epochs):
        lrs[epoch] = opt.lr
        cost_total = 0.0
        for Xb, Yb in batches:
            _, cache = forward(Xb, parameters)
            cost_total += compute_cost(cache[2], Yb)
            opt.step(backward(Xb, Yb, cache, parameters))
        costs[epoch] = cost_total / m
        opt.next_epoch()
        if on_epoch is not None:
            on_epoch(epoch)
    seconds = time.perf_counter() - start
    return {"parameters": parameters, "costs": costs, "lrs": lrs, "steps": opt.t, "seconds": seconds}


# -- the runs of the exercise ---------------------------------------------------------------------------


def runs(epochs_scale=1.0):
    """The six runs: ``(key, label, optimizer, lr, decay label, epochs)``. ``epochs_scale``
    shortens them (for a quick look or a test); the decay interval shrinks with it so the
    schedule keeps its five steps."""
    e_fixed = max(1, round(10000 * epochs_scale))
    e_decay = max(1, round(5000 * epochs_scale))
    interval = max(1, round(1000 * epochs_scale))
    out = []
    for key in ("gd", "momentum", "adam"):
        out.append((key, OPTIMIZERS[key][0], key, 0.0007, "none", e_fixed))
    for key, lr0 in (("gd", 0.1), ("momentum", 0.1), ("adam", 0.01)):
        sched = schedules.StaircaseDecay(lr0, decay_rate=1.0, interval=interval)
        out.append((key, OPTIMIZERS[key][0], key, sched, f"staircase ({interval})", e_decay))
    return out


class _Progress:
    """A progress bar per run: tqdm if installed, else rich, else a plain text bar when the
    output is a terminal, else nothing (a finished run still prints its line)."""

    def __init__(self, total, desc, enabled=True, stream=None, unit="epoch"):
        self.total, self.desc, self.stream = total, desc, stream or sys.stderr
        self._bar = self._rich = None
        self._plain = False
        self._shown = -1
        if not enabled:
            return
        try:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, desc=desc, unit=unit, leave=False, file=self.stream, mininterval=0.2)
            return
        except ImportError:
            pass
        try:
            from rich.progress import Progress

            self._rich = Progress(transient=True)
            self._rich.start()
            self._task = self._rich.add_task(desc, total=total)
            return
        except ImportError:
            pass
        self._plain = hasattr(self.stream, "isatty") and self.stream.isatty()

    def update(self, done):
        if self._bar is not None:
            self._bar.update(1)
        elif self._rich is not None:
            self._rich.update(self._task, completed=done)
        elif self._plain:
            pct = 100 * done // self.total
            if pct != self._shown:
                self._shown = pct
                fill = "#" * (pct * 30 // 100)
                self.stream.write(f"\r  {self.desc:<32} [{fill:<30}] {pct:3d}%")
                self.stream.flush()

    def close(self):
        if self._bar is not None:
            self._bar.close()
        elif self._rich is not None:
            self._rich.stop()
        elif self._plain:
            self.stream.write("\r" + " " * 75 + "\r")
            self.stream.flush()


def train_all(epochs_scale=1.0, progress=True, out=None):
    """Runs the six trainings; returns ``(X, Y, rows)``, a row per run (a dict)."""
    X, Y = make_moons()
    rows = []
    for key, label, opt, lr, decay, epochs in runs(epochs_scale):
        desc = f"{label} ({'decay' if decay != 'none' else f'lr {lr:g}'})"
        bar = _Progress(epochs, desc, enabled=progress)
        try:
            r = train(X, Y, optimizer=opt, lr=lr, num_epochs=epochs, on_epoch=lambda e: bar.update(e + 1))
        finally:
            bar.close()
        acc = float(np.mean(predict(X, r["parameters"]) == Y))
        row = {
            "key": key, "optimizer": label, "lr": lr if isinstance(lr, float) else lr.lr0, "decay": decay,
            "epochs": epochs, "final_cost": float(r["costs"][-1]), "accuracy": acc,
            "steps": r["steps"], "steps_per_s": r["steps"] / r["seconds"], "seconds": r["seconds"],
            "costs": r["costs"], "lrs": r["lrs"], "parameters": r["parameters"],
        }
        rows.append(row)
        if out is not None:
            print(f"  trained {desc:<28} accuracy {acc:6.1%} in {r['seconds']:5.1f} s", file=out, flush=True)
    return X, Y, rows


TABLE_COLUMNS = ("optimizer", "lr", "decay", "epochs", "final cost", "train accuracy", "steps/s", "time (s)")


def table_rows(rows):
    """The printed table as lists of strings (a header row first)."""
    out = [list(TABLE_COLUMNS)]
    for r in rows:
        out.append([
            r["optimizer"], f"{r['lr']:g}", r["decay"], str(r["epochs"]), f"{r['final_cost']:.4f}",
            f"{r['accuracy']:.1%}", f"{r['steps_per_s']:,.0f}", f"{r['seconds']:.1f}",
        ])
    return out


def format_table(cells, left=(0,)):
    """Aligned text columns; the columns in ``left`` are left-aligned, the rest right-aligned."""
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    lines = []
    for n, row in enumerate(cells):
        lines.append("  ".join(c.ljust(w) if i in left else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


# -- optimizer paths on two surfaces (SPEC section 7) ------------------------------------------------


def _bowl(p):
    x, y = p
    return 0.01 * x * x + y * y, np.array([0.02 * x, 2.0 * y])


def _saddle(p):
    x, y = p
    return 0.5 * x * x - 0.5 * y * y + 0.25 * y ** 4, np.array([x, -y + y ** 3])


#: name -> (title, function returning (f, grad), start, minimum value, plot box, steps)
SURFACES = {
    "bowl": ("elongated bowl  f = 0.01 x² + y²", _bowl, (-9.0, 1.5), 0.0, (-10, 2, -2, 2), 300),
    "saddle": ("saddle  f = x²/2 − y²/2 + y⁴/4  (start next to the saddle point)", _saddle, (1.5, 1e-4), -0.25,
               (-1.0, 2.0, -1.6, 1.6), 300),
}

#: (name, label, lr, factory). Momentum in the course's form v = βv + (1−β)g at lr 1.0 takes
#: the same first step as GD at 0.1 (and the same steps as PyTorch's SGD, momentum 0.9, lr
#: 0.1); RMSprop's and Adam's rates are step lengths, not gradient multipliers.
PATH_OPTIMIZERS = (
    ("GD", "GD", 0.1, lambda w, lr: simdoptim.GD(w, lr=lr)),
    ("Momentum", "momentum (β 0.9)", 1.0, lambda w, lr: simdoptim.Momentum(w, lr=lr, beta=0.9)),
    ("RMSprop", "RMSprop (β2 0.99)", 0.05, lambda w, lr: simdoptim.RMSprop(w, lr=lr, beta2=0.99)),
    ("Adam", "Adam", 0.1, lambda w, lr: simdoptim.Adam(w, lr=lr)),
)


def optimizer_paths(surface, tol=1e-3):
    """Runs GD, momentum, RMSprop and Adam from the surface's start point with simdoptim's
    optimizers on a 2-element array. Returns ``{name: (path (steps+1, 2), values, the step
    from which f stays within tol of its minimum or None, lr)}``."""
    _, fn, start, fmin, _, steps = SURFACES[surface]
    out = {}
    for name, _label, lr, make in PATH_OPTIMIZERS:
        w = np.array(start, dtype=np.float64)
        opt = make(w, lr)
        path, values = [w.copy()], [fn(w)[0]]
        for _ in range(steps):
            opt.step(fn(w)[1])
            path.append(w.copy())
            values.append(fn(w)[0])
        values = np.array(values)
        out[name] = (np.array(path), values, _settled(values - fmin, tol), lr)
    return out


def _settled(gap, tol):
    """The first step from which ``gap`` stays below ``tol`` (None if it never does)."""
    far = np.flatnonzero(gap >= tol)
    if far.size == 0:
        return 0
    return None if far[-1] == gap.size - 1 else int(far[-1]) + 1


def left_saddle(values, saddle_value=0.0, margin=0.01):
    """The first step at which f is below the saddle's value by ``margin``: the end of the
    plateau (None if never)."""
    below = np.flatnonzero(values < saddle_value - margin)
    return int(below[0]) if below.size else None


def paths_table(paths_by_surface):
    cells = [["surface: steps until"] + [f"{label}, lr {lr:g}" for _, label, lr, _ in PATH_OPTIMIZERS]]
    for surface, paths in paths_by_surface.items():
        steps = SURFACES[surface][-1]

        def fmt(n):
            return str(n) if n is not None else f">{steps}"

        cells.append([f"{surface}: f stays within 1e-3 of min"] + [fmt(paths[n][2]) for n, *_ in PATH_OPTIMIZERS])
        if surface == "saddle":
            cells.append(["saddle: f drops below the saddle"] + [fmt(left_saddle(paths[n][1])) for n, *_ in PATH_OPTIMIZERS])
    return cells


# -- the noisy series for the moving averages (SPEC section 2) --------------------------------------------


def temperature_series(days=365, seed=7):
    """A year of noisy daily temperatures: a seasonal cycle plus Gaussian noise."""
    rs = np.random.RandomState(seed)
    d = np.arange(days)
    return 12.0 - 9.0 * np.cos(2 * np.pi * (d - 15) / 365.0) + rs.normal(0.0, 3.0, days)


# -- figures -----------------------------------------------------------------------------------------------

COLORS = {"gd": "tab:blue", "momentum": "tab:orange", "adam": "tab:green", "GD": "tab:blue",
          "Momentum": "tab:orange", "RMSprop": "tab:purple", "Adam": "tab:green"}


# GD and momentum at the same small rate give nearly the same curve: dashes keep both visible
STYLES = {"gd": "-", "momentum": (0, (5, 3)), "adam": "-"}


def _figure(**kw):
    from matplotlib.figure import Figure

    return Figure(layout="constrained", **kw)


def plot_costs(rows, path):
    fig = _figure(figsize=(12, 4.5))
    axes = fig.subplots(1, 2)
    for ax, decayed in zip(axes, (False, True)):
        for r in rows:
            if (r["decay"] != "none") != decayed:
                continue
            c = r["costs"]
            epochs = np.arange(len(c))
            ax.plot(epochs, c, color=COLORS[r["key"]], alpha=0.25, lw=0.6)
            smooth = functional.ewma(c, 0.98) if len(c) > 1 else c
            ax.plot(epochs, smooth, color=COLORS[r["key"]], lw=1.8, ls=STYLES[r["key"]],
                    label=f"{r['optimizer']}: cost {r['final_cost']:.3f}, accuracy {r['accuracy']:.1%}")
        ax.set_xlabel("epoch")
        ax.set_ylabel("average cross-entropy cost")
        ax.set_title("staircase learning-rate decay" if decayed else "fixed learning rate 0.0007")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle("Training cost per epoch (faint: raw, solid: its EWMA with β = 0.98)")
    fig.savefig(path, dpi=110)


def plot_boundaries(X, Y, rows, path):
    fig = _figure(figsize=(13, 8))
    axes = fig.subplots(2, 3).ravel()
    pad = 0.5
    xx, yy = np.meshgrid(np.linspace(X[0].min() - pad, X[0].max() + pad, 300),
                         np.linspace(X[1].min() - pad, X[1].max() + pad, 300))
    grid = np.vstack([xx.ravel(), yy.ravel()])
    for ax, r in zip(axes, rows):
        z = predict(grid, r["parameters"]).reshape(xx.shape)
        ax.contourf(xx, yy, z, levels=[-0.5, 0.5, 1.5], colors=["#f4c7c3", "#c6dbef"])
        ax.scatter(X[0], X[1], c=np.where(Y[0] > 0.5, "tab:blue", "tab:red"), s=12, edgecolors="k", linewidths=0.3)
        decay = "no decay" if r["decay"] == "none" else "staircase decay"
        ax.set_title(f"{r['optimizer']}, {decay}\ntraining accuracy {r['accuracy']:.1%}")
        ax.set_xlabel("x1")
        ax.set_ylabel("x2")
    fig.suptitle("Decision boundaries of the 2-5-2-1 network on the two moons (red: class 0, blue: class 1)")
    fig.savefig(path, dpi=100)


def plot_ewma(path):
    theta = temperature_series()
    days = np.arange(1, len(theta) + 1)
    fig = _figure(figsize=(12, 4.5))
    axes = fig.subplots(1, 2, sharey=True)
    for ax, corrected in zip(axes, (False, True)):
        ax.scatter(days, theta, s=6, color="0.6", label="daily value θ_t")
        for beta, color in ((0.5, "tab:green"), (0.9, "tab:red"), (0.98, "tab:blue")):
            v = functional.ewma(theta, beta, bias_correction=corrected)
            ax.plot(days, v, color=color, lw=1.8, label=f"β = {beta}  (≈ {1 / (1 - beta):.0f} days)")
        ax.set_title("with bias correction  v_t / (1 − β^t)" if corrected else "without bias correction  (v_0 = 0)")
        ax.set_xlabel("day t")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", fontsize=9)
    axes[0].set_ylabel("temperature")
    fig.suptitle("Exponentially weighted averages  v_t = β v_{t−1} + (1 − β) θ_t  (simdoptim.ewma)")
    fig.savefig(path, dpi=110)


def plot_schedules(rows, path, epochs=5000, interval=1000):
    lr0 = 0.1
    curves = [
        ("staircase  lr0 / (1 + floor(epoch / 1000))  (used above)",
         schedules.StaircaseDecay(lr0, 1.0, interval)),
        ("inverse time  lr0 / (1 + epoch)  (course's update_lr, rate 1)", schedules.InverseTimeDecay(lr0, 1.0)),
        ("inverse time  lr0 / (1 + 0.001 epoch)", schedules.InverseTimeDecay(lr0, 0.001)),
        ("exponential  0.999^epoch · lr0", schedules.ExponentialDecay(lr0, 0.999)),
        ("lr0 / sqrt(epoch)", schedules.InverseSqrtDecay(lr0, 1.0)),
        ("piecewise constant (manual)", schedules.PiecewiseConstant([1500, 3500], [lr0, 0.03, 0.01])),
    ]
    e = np.arange(epochs)
    fig = _figure(figsize=(9, 5))
    ax = fig.subplots()
    for label, s in curves:
        ax.plot(e, [s(int(x)) for x in e], lw=1.8, label=label)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("learning rate")
    ax.set_title(f"Learning-rate schedules (simdoptim.schedules), lr0 = {lr0}")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=9)
    fig.savefig(path, dpi=110)


def plot_paths(surface, paths, path):
    title, fn, start, fmin, box, steps = SURFACES[surface]
    x0, x1, y0, y1 = box
    xx, yy = np.meshgrid(np.linspace(x0, x1, 400), np.linspace(y0, y1, 300))
    zz = fn(np.array([xx, yy]))[0]
    fig = _figure(figsize=(13, 5))
    ax, ax2 = fig.subplots(1, 2, width_ratios=[1.5, 1])
    ax.contour(xx, yy, zz, levels=25, colors="0.75", linewidths=0.7)
    for name, label, _, _ in PATH_OPTIMIZERS:
        p, values, reached, lr = paths[name]
        ax.plot(p[:, 0], p[:, 1], "-o", ms=2, lw=1.2, color=COLORS[name], label=f"{label}, lr {lr:g}")
        note = f"{reached if reached is not None else f'>{steps}'} steps"
        if surface == "saddle":
            left = left_saddle(values)
            note = f"off the plateau at step {left if left is not None else f'>{steps}'}, settled at {note}"
        ax2.plot(np.maximum(values - fmin, 1e-12), color=COLORS[name], lw=1.6, label=f"{label}: {note}")
    ax.plot(*start, "k*", ms=12, label="start")
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(title)
    ax.legend(fontsize=9, loc="lower right")
    ax2.set_yscale("log")
    ax2.set_xlabel("step")
    ax2.set_ylabel("f − min f")
    ax2.set_title("f − min f per step (settled: stays < 1e-3 from then on)")
    if surface == "saddle":
        ax2.axhline(0.0 - fmin, color="0.4", ls=":", lw=1)
        ax2.annotate("the saddle point's value (plateau)", (steps, -fmin), xytext=(0, 4),
                     textcoords="offset points", ha="right", fontsize=8, color="0.3")
    ax2.grid(alpha=0.3, which="both")
    ax2.legend(fontsize=8.5, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=1)
    fig.savefig(path, dpi=110)


# -- command line ------------------------------------------------------------------------------------------


def have_matplotlib():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def run(out_dir="simdoptim-demo", epochs_scale=1.0, plots=True, progress=True, stream=None):
    """The whole demo, printing to ``stream`` (default: the current ``sys.stdout``); returns
    ``{"table": cells, "paths_table": cells, "rows": rows, "figures": [paths written]}``."""
    stream = sys.stdout if stream is None else stream
    if not (isinstance(epochs_scale, (int, float)) and math.isfinite(epochs_scale) and epochs_scale > 0):
        raise ValueError(f"demo: epochs_scale must be a number > 0, got {epochs_scale!r}")
    from . import cpu_info

    info = cpu_info()
    print(f"simdoptim demo: the course's 2-5-2-1 network on 300 two-moons points, mini-batches of 64 "
          f"(SIMD path {info['isa']}, {info['num_threads']} threads)", file=stream, flush=True)
    X, Y, rows = train_all(epochs_scale, progress=progress, out=stream)
    cells = table_rows(rows)
    print("\n" + format_table(cells, left=(0, 2)), file=stream)
    print("(lr: the fixed rate, or lr0 of the staircase decay (N) lr0 / (1 + floor(epoch / N)); "
          "accuracy on the 300 training points)\n", file=stream)
    paths = {s: optimizer_paths(s) for s in SURFACES}
    pcells = paths_table(paths)
    print("Optimizer paths on two surfaces (SPEC section 7):", file=stream)
    print(format_table(pcells) + "\n", file=stream)
    figures = []
    if plots and have_matplotlib():
        os.makedirs(out_dir, exist_ok=True)
        jobs = [
            ("costs.png", lambda p: plot_costs(rows, p)),
            ("decision_boundaries.png", lambda p: plot_boundaries(X, Y, rows, p)),
            ("ewma.png", plot_ewma),
            ("lr_schedules.png", lambda p: plot_schedules(rows, p)),
            ("paths_bowl.png", lambda p: plot_paths("bowl", paths["bowl"], p)),
            ("paths_saddle.png", lambda p: plot_paths("saddle", paths["saddle"], p)),
        ]
        for name, job in jobs:
            p = os.path.join(out_dir, name)
            job(p)
            figures.append(p)
        print(f"Figures written to {out_dir}/: " + ", ".join(os.path.basename(f) for f in figures), file=stream)
    elif plots:
        print('matplotlib is not installed, so no figures were written; install it with  pip install ".[plot]"  '
              '(from the source directory) or  pip install matplotlib', file=stream)
    return {"table": cells, "paths_table": pcells, "rows": rows, "figures": figures}


def add_arguments(parser):
    parser.add_argument("--out", default="simdoptim-demo", help="folder for the PNG figures (default: %(default)s)")
    parser.add_argument("--epochs-scale", type=float, default=1.0, metavar="S",
                        help="multiply every run's epochs (and the decay interval) by S, e.g. 0.1 for a quick look")
    parser.add_argument("--no-plots", action="store_true", help="print the tables only, write no figures")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def main(args):
    if not (math.isfinite(args.epochs_scale) and args.epochs_scale > 0):
        print(f"--epochs-scale must be > 0, got {args.epochs_scale}", file=sys.stderr)
        return 2
    run(args.out, args.epochs_scale, plots=not args.no_plots, progress=not args.no_progress)
    return 0
