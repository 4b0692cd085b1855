"""simdoptim.demo - the course's optimization assignment, end to end: ``python -m simdoptim demo``.

"The course" is the optimization programming assignment of week 2 of "Improving Deep
Neural Networks: Hyperparameter Tuning, Regularization and Optimization", course 2 of
DeepLearning.AI's Deep Learning Specialization.

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
the paths of GD, momentum, RMSprop and Adam on an elongated bowl and on the ridge into a
saddle point (the plateau that slows plain gradient descent). Everything here is
deterministic: fixed seeds, no download.
"""

from __future__ import annotations

import math
import os
import sys
import time

import numpy as np

import simdoptim

from . import _console, _plotting, batching, functional, schedules

__all__ = ["make_moons", "initialize_parameters", "forward", "compute_cost", "backward", "predict", "train",
           "train_all", "optimizer_paths", "temperature_series", "run", "main"]


def __dir__():
    # PEP 562: dir() and tab completion show the public API, not this module's imports
    return list(__all__)

LAYERS = (2, 5, 2, 1)


# -- data ------------------------------------------------------------------------------------------


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


# -- training --------------------------------------------------------------------------------------

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


# -- the runs of the exercise ----------------------------------------------------------------------


def runs(epochs_scale=1.0):
    """The six runs: ``(key, label, optimizer, lr, decay label, epochs)``. ``epochs_scale``
    shortens them (for a quick look or a test); the decay interval shrinks with it so the
    schedule keeps its five steps."""
    e_fixed = max(1, round(10000 * epochs_scale))
    e_decay = max(1, round(5000 * epochs_scale))
    interval = max(1, round(1000 * epochs_scale))
    out: list[tuple[str, str, str, float | schedules.StaircaseDecay, str, int]] = []
    for key in ("gd", "momentum", "adam"):
        out.append((key, OPTIMIZERS[key][0], key, 0.0007, "none", e_fixed))
    for key, lr0 in (("gd", 0.1), ("momentum", 0.1), ("adam", 0.01)):
        sched = schedules.StaircaseDecay(lr0, decay_rate=1.0, interval=interval)
        out.append((key, OPTIMIZERS[key][0], key, sched, f"staircase ({interval})", e_decay))
    return out


def train_all(epochs_scale=1.0, progress=True, out=None):
    """Runs the six trainings; returns ``(X, Y, rows)``, a row per run (a dict)."""
    X, Y = make_moons()
    rows = []
    for key, label, opt, lr, decay, epochs in runs(epochs_scale):
        desc = f"{label} ({'decay' if decay != 'none' else f'lr {lr:g}'})"
        with _console.Progress(epochs, desc, unit="epoch", enabled=progress) as bar:
            r = train(X, Y, optimizer=opt, lr=lr, num_epochs=epochs, on_epoch=lambda e: bar.update(e + 1))
        acc = float(np.mean(predict(X, r["parameters"]) == Y))
        row = {
            "key": key, "optimizer": label, "lr": lr if isinstance(lr, float) else lr.lr0, "decay": decay,
            "interval": None if isinstance(lr, float) else lr.interval,
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


format_table = _console.text_table


# -- optimizer paths on two surfaces: a long narrow valley, and a plateau at a saddle point --------


def _bowl(p):
    x, y = p
    return 0.01 * x * x + y * y, np.array([0.02 * x, 2.0 * y])


def _saddle(p):
    x, y = p
    return 0.5 * x * x - 0.5 * y * y + 0.25 * y ** 4, np.array([x, -y + y ** 3])


#: name -> (title, function returning (f, grad), start, minimum value, plot box, steps)
SURFACES = {
    "bowl": ("elongated bowl  f = 0.01 x² + y²,  minimum at (0, 0)", _bowl, (-9.0, 1.5), 0.0, (-10, 2, -2, 2), 300),
    "saddle": ("f = x²/2 − y²/2 + y⁴/4: saddle point at (0, 0), minima at (0, ±1);\n"
               "start (1.5, 1e-4) on the ridge y ≈ 0 that runs into the saddle point, 1.5 away from it",
               _saddle, (1.5, 1e-4), -0.25, (-1.0, 2.0, -1.6, 1.6), 300),
}
#: points worth marking on each surface: (x, y, marker, label)
LANDMARKS: dict[str, list[tuple[float, float, str, str | None]]] = {
    "bowl": [(0.0, 0.0, "P", "minimum (0, 0)")],
    "saddle": [(0.0, 0.0, "X", "saddle point (0, 0)"), (0.0, 1.0, "P", "minima (0, ±1)"), (0.0, -1.0, "P", None)],
}
#: f within this of its minimum counts as settled (the tables' and figures' 1e-3)
SETTLE_TOL = 1e-3
#: the zoomed view of where the paths end: (x0, x1, y0, y1) in the surface's units, and
#: where the inset sits in its panel (axes fractions: left, bottom, width, height)
ZOOM = {
    "bowl": ((-0.0095, 0.0035, -0.0025, 0.0025), (0.61, 0.6, 0.37, 0.37)),
    "saddle": ((-0.08, 0.08, 0.955, 1.045), (0.62, 0.04, 0.36, 0.34)),
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


def optimizer_paths(surface, tol=SETTLE_TOL):
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
        vals = np.array(values)
        out[name] = (np.array(path), vals, _settled(vals - fmin, tol), lr)
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

        def fmt(n, steps=steps):
            return str(n) if n is not None else f">{steps}"

        cells.append([f"{surface}: f stays within 1e-3 of min"] + [fmt(paths[n][2]) for n, *_ in PATH_OPTIMIZERS])
        if surface == "saddle":
            cells.append(["saddle: f drops below the saddle"]
                         + [fmt(left_saddle(paths[n][1])) for n, *_ in PATH_OPTIMIZERS])
    return cells


# -- the noisy series for the exponentially weighted averages --------------------------------------


def temperature_series(days=365, seed=7):
    """A year of noisy daily temperatures: a seasonal cycle plus Gaussian noise."""
    rs = np.random.RandomState(seed)
    d = np.arange(days)
    return 12.0 - 9.0 * np.cos(2 * np.pi * (d - 15) / 365.0) + rs.normal(0.0, 3.0, days)


# -- figures ---------------------------------------------------------------------------------------

COLORS = {"gd": "tab:blue", "momentum": "tab:orange", "adam": "tab:green", "GD": "tab:blue",
          "Momentum": "tab:orange", "RMSprop": "tab:purple", "Adam": "tab:green"}


# GD and momentum at the same small rate give nearly the same curve: dashes keep both visible
STYLES = {"gd": "-", "momentum": (0, (5, 3)), "adam": "-"}


_figure = _plotting.new_figure


def _decay_label(r):
    """How a run's rate was set, in words: 'lr 0.0007' or 'staircase from lr0 0.1, every 1000 epochs'."""
    if r["decay"] == "none":
        return f"lr {r['lr']:g}"
    return f"lr0 {r['lr']:g}, staircase decay every {r['interval']} epochs"


def plot_costs(rows, path):
    """costs.png: the cost per epoch of the six runs, fixed rate and staircase decay (each
    optimizer's lr0 in the legend). Writes ``path``, returns the Figure."""
    fig = _figure(figsize=(12, 4.8))
    axes = fig.subplots(1, 2)
    for ax, decayed in zip(axes, (False, True)):
        panel = [r for r in rows if (r["decay"] != "none") == decayed]
        for r in panel:
            c = r["costs"]
            epochs = np.arange(len(c))
            ax.plot(epochs, c, color=COLORS[r["key"]], alpha=0.25, lw=0.6)
            smooth = functional.ewma(c, 0.98) if len(c) > 1 else c
            start = f"lr0 {r['lr']:g}, " if decayed else ""
            ax.plot(epochs, smooth, color=COLORS[r["key"]], lw=1.8, ls=STYLES[r["key"]],
                    label=f"{r['optimizer']} ({start}final cost {r['final_cost']:.3f}, accuracy {r['accuracy']:.1%})")
        ax.set_xlabel("epoch")
        ax.set_ylabel("average cross-entropy cost")
        if decayed and panel:
            n = panel[0]["interval"]
            ax.set_title(f"staircase decay  lr0 / (1 + floor(epoch / {n})), lr0 as listed")
        else:
            rates = sorted({r["lr"] for r in panel})
            ax.set_title(f"fixed learning rate {', '.join(f'{x:g}' for x in rates)}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=9)
    fig.suptitle("Training cost per epoch (faint: raw; solid: its EWMA with β = 0.98)")
    fig.savefig(path, dpi=110)
    return fig


def plot_boundaries(X, Y, rows, path):
    """decision_boundaries.png: what each trained network predicts over the plane. Writes
    ``path``, returns the Figure."""
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
        ax.set_title(f"{r['optimizer']}: {_decay_label(r)}\n"
                     f"{r['epochs']} epochs, training accuracy {r['accuracy']:.1%}", fontsize=9.5)
        ax.set_xlabel("x1")
        ax.set_ylabel("x2")
    fig.suptitle("Decision boundaries of the 2-5-2-1 network on the two moons (red: class 0, blue: class 1)")
    fig.savefig(path, dpi=100)
    return fig


def plot_ewma(path):
    """ewma.png: a noisy series averaged with three betas, with and without bias
    correction. Writes ``path``, returns the Figure."""
    theta = temperature_series()
    days = np.arange(1, len(theta) + 1)
    fig = _figure(figsize=(12, 4.8))
    axes = fig.subplots(1, 2, sharey=True)
    for ax, corrected in zip(axes, (False, True)):
        ax.scatter(days, theta, s=6, color="0.6", label=r"daily value $\theta_t$")
        for beta, color in ((0.5, "tab:green"), (0.9, "tab:red"), (0.98, "tab:blue")):
            v = functional.ewma(theta, beta, bias_correction=corrected)
            ax.plot(days, v, color=color, lw=1.8, label=rf"$\beta$ = {beta}  ($\approx$ {1 / (1 - beta):.0f} days)")
        ax.set_title(r"with bias correction  $v_t\,/\,(1 - \beta^t)$" if corrected
                     else r"without bias correction  ($v_0 = 0$)")
        ax.set_xlabel("day t")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", fontsize=9)
    axes[0].set_ylabel("temperature")
    fig.suptitle(r"Exponentially weighted averages  $v_t = \beta\, v_{t-1} + (1 - \beta)\, \theta_t$  (simdoptim.ewma)")
    fig.savefig(path, dpi=110)
    return fig


def plot_schedules(rows, path):
    """lr_schedules.png: the staircase the decayed runs used (their rate in every epoch, as
    trained), beside the other decays of simdoptim.schedules over the same epochs, all from
    lr0 0.1. Writes ``path``, returns the Figure."""
    decayed = [r for r in rows if r["decay"] != "none"]
    epochs = decayed[0]["epochs"] if decayed else 5000
    interval = decayed[0]["interval"] if decayed else 1000
    lr0 = 0.1
    e = np.arange(epochs)
    rate = 5.0 / epochs  # the inverse-time decay that ends near the staircase's last step
    base = 0.01 ** (1.0 / epochs)  # falls to lr0 / 100 over the run
    cuts = [round(0.3 * epochs), round(0.7 * epochs)]
    curves = [
        ("inverse time  lr0 / (1 + epoch): the course's update_lr, decay_rate 1", schedules.InverseTimeDecay(lr0, 1.0)),
        (rf"inverse time  lr0 / (1 + {rate:.3g} epoch)", schedules.InverseTimeDecay(lr0, rate)),
        (rf"exponential  {base:.5g}$^{{\rm epoch}}$ · lr0", schedules.ExponentialDecay(lr0, base)),
        (r"lr0 / $\sqrt{\rm epoch}$", schedules.InverseSqrtDecay(lr0, 1.0)),
        (f"piecewise constant, set by hand: 0.1, 0.03 from epoch {cuts[0]}, 0.01 from {cuts[1]}",
         schedules.PiecewiseConstant(cuts, [lr0, 0.03, 0.01])),
    ]
    fig = _figure(figsize=(9.5, 6.2))
    ax = fig.subplots()
    for r in decayed:
        if r["lr"] == lr0:
            used = " and ".join(x["optimizer"] for x in decayed if x["lr"] == lr0)
            others = "; ".join(f"{x['optimizer']}: the same steps from lr0 {x['lr']:g}" for x in decayed
                               if x["lr"] != lr0)
            ax.plot(e, r["lrs"], lw=3.2, color="k", alpha=0.35,
                    label=f"staircase  lr0 / (1 + floor(epoch / {interval})): the rate the decayed {used} runs "
                          f"trained with" + (f"\n({others})" if others else ""))
            break
    for label, sched in curves:
        ax.plot(e, [sched(int(x)) for x in e], lw=1.6, label=label)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("learning rate")
    ax.set_title(f"Learning-rate schedules of simdoptim.schedules over {epochs} epochs, lr0 = {lr0}")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8.5, loc="upper center", bbox_to_anchor=(0.5, -0.11), ncol=1)
    fig.savefig(path, dpi=110)
    return fig


#: a marker per optimizer for the end of its path, large to small, so that paths ending at
#: the same point still show every marker
END_MARKERS = {"GD": ("o", 13), "Momentum": ("s", 9.5), "RMSprop": ("^", 8), "Adam": ("D", 5)}


def plot_paths(surface, paths, path):
    """paths_<surface>.png: each optimizer's path on the contours (end points marked, a zoom
    on where they end, the settled region shaded) and f - min f per step on a log scale,
    unclipped (exact zeros marked below the curves). Writes ``path``, returns the Figure."""
    title, fn, start, fmin, box, steps = SURFACES[surface]
    x0, x1, y0, y1 = box
    xx, yy = np.meshgrid(np.linspace(x0, x1, 400), np.linspace(y0, y1, 300))
    zz = fn(np.array([xx, yy]))[0]
    fig = _figure(figsize=(14, 6.2))
    ax, ax2 = fig.subplots(1, 2, width_ratios=[1.45, 1])
    ax.contour(xx, yy, zz, levels=25, colors="0.78", linewidths=0.7)
    ax.contourf(xx, yy, zz - fmin, levels=[-1.0, SETTLE_TOL], colors=["#b8e0b8"])
    ax.contour(xx, yy, zz - fmin, levels=[SETTLE_TOL], colors="forestgreen", linewidths=1.0)
    ax.plot([], [], color="forestgreen", lw=6, alpha=0.4, label=f"f − min f < {SETTLE_TOL:g} (settled)")
    for x, y, marker, label in LANDMARKS[surface]:
        ax.plot(x, y, marker, color="k", ms=9, mfc="white", zorder=6, label=label)
    (zx0, zx1, zy0, zy1), bounds = ZOOM[surface]
    zoom = ax.inset_axes(bounds)
    zx, zy = np.meshgrid(np.linspace(zx0, zx1, 200), np.linspace(zy0, zy1, 200))
    zz_zoom = fn(np.array([zx, zy]))[0] - fmin
    zoom.contourf(zx, zy, zz_zoom, levels=[-1.0, SETTLE_TOL], colors=["#b8e0b8"])
    zoom.contour(zx, zy, zz_zoom, levels=[SETTLE_TOL], colors="forestgreen", linewidths=1.0)
    zeros = False
    for name, label, _, _ in PATH_OPTIMIZERS:
        p, values, reached, lr = paths[name]
        marker, size = END_MARKERS[name]
        for a, ms in ((ax, 1.8), (zoom, 2.5)):
            a.plot(p[:, 0], p[:, 1], "-o", ms=ms, lw=1.1, color=COLORS[name], alpha=0.85)
            a.plot(*p[-1], marker, ms=size, color=COLORS[name], mec="k", mew=0.8, zorder=7)
        ax.plot([], [], marker, ms=size, color=COLORS[name], mec="k", mew=0.8,
                label=f"{label}, lr {lr:g}: ends at ({p[-1][0]:.3g}, {p[-1][1]:.3g})")
        note = f"settled from step {reached}" if reached is not None else f"not settled in {steps} steps"
        if surface == "saddle":
            left = left_saddle(values)
            note = f"off the plateau at step {left if left is not None else f'>{steps}'}, {note}"
        gap = values - fmin
        ax2.plot(np.where(gap > 0, gap, np.nan), color=COLORS[name], lw=1.5, label=f"{label}: {note}")
        zero = np.flatnonzero(gap <= 0)
        if zero.size:
            zeros = True
            ax2.plot(zero, np.full(zero.size, 1e-17), "|", color=COLORS[name], ms=8,
                     label=f"{label}: f − min f = 0 exactly in float64 (at {zero.size} steps from step {zero[0]}; "
                           f"no point on a log scale)")
    for x, y, marker, _label in LANDMARKS[surface]:
        zoom.plot(x, y, marker, color="k", ms=9, mfc="white", zorder=6)
    zoom.set_xlim(zx0, zx1)
    zoom.set_ylim(zy0, zy1)
    zoom.tick_params(labelsize=7)
    zoom.locator_params(nbins=4)
    zoom.set_title("zoom: where the paths end", fontsize=8)
    ax.indicate_inset_zoom(zoom, edgecolor="0.3")
    ax.plot(*start, "k*", ms=14, zorder=8, label=f"start {start}")
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(title, fontsize=10.5)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2)
    ax2.set_yscale("log")
    if zeros or fmin != 0.0:
        ax2.set_ylim(5e-18, None)  # room for the float64 rounding step and the exact zeros
    ax2.set_xlabel("step")
    ax2.set_ylabel("f − min f  (log scale)")
    ax2.set_title(f"f − min f per step; settled: below {SETTLE_TOL:g} from then on", fontsize=10.5)
    ax2.axhline(SETTLE_TOL, color="forestgreen", ls="--", lw=1)
    ax2.annotate(f"{SETTLE_TOL:g}", (0, SETTLE_TOL), xytext=(2, 2), textcoords="offset points", fontsize=8,
                 color="forestgreen")
    if fmin != 0.0:
        # f is a float64 near fmin: differences below its rounding step are noise
        ulp = float(np.spacing(abs(fmin)))
        ax2.axhline(ulp, color="0.5", ls=":", lw=1)
        ax2.annotate(f"float64 rounding step of f near its minimum ({ulp:.1e})", (steps, ulp), xytext=(0, 3),
                     textcoords="offset points", ha="right", fontsize=8, color="0.35")
    if surface == "saddle":
        ax2.axhline(0.0 - fmin, color="0.4", ls=":", lw=1)
        ax2.annotate("f at the saddle point (the plateau)", (steps, -fmin), xytext=(0, 4),
                     textcoords="offset points", ha="right", fontsize=8, color="0.3")
    ax2.grid(alpha=0.3, which="both")
    ax2.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=1)
    fig.savefig(path, dpi=110)
    return fig


# -- command line ----------------------------------------------------------------------------------


def have_matplotlib():
    return _plotting.matplotlib_missing() is None


def run(out_dir="simdoptim-demo", epochs_scale=1.0, plots=True, progress=True, stream=None):
    """The whole demo, printing to ``stream`` (default: the current ``sys.stdout``); returns
    ``{"table": cells, "paths_table": cells, "rows": rows, "figures": [paths written]}``."""
    stream = sys.stdout if stream is None else stream
    if not (isinstance(epochs_scale, (int, float)) and math.isfinite(epochs_scale) and epochs_scale > 0):
        raise ValueError(f"demo: epochs_scale must be a number > 0, got {epochs_scale!r}")
    if plots and have_matplotlib():
        # before minutes of training, not after: a folder that cannot be made fails now
        try:
            os.makedirs(out_dir, exist_ok=True)
        except OSError as e:
            raise type(e)(e.errno, f"demo: cannot make the folder for the figures ({e.strerror or e})",
                          os.fspath(out_dir)) from e
    from . import cpu_info

    info = cpu_info()
    print("simdoptim demo: the optimization assignment of week 2 of \"Improving Deep Neural Networks\" "
          "(course 2 of DeepLearning.AI's Deep Learning Specialization)", file=stream)
    print(f"  its 2-5-2-1 network on 300 two-moons points, mini-batches of 64 "
          f"(SIMD path {info['isa']}, {info['num_threads']} threads)", file=stream, flush=True)
    X, Y, rows = train_all(epochs_scale, progress=progress, out=stream)
    cells = table_rows(rows)
    print("\n" + format_table(cells, left=(0, 2)), file=stream)
    print("(lr: the fixed rate, or lr0 of the staircase decay (N) lr0 / (1 + floor(epoch / N)); "
          "accuracy on the 300 training points)\n", file=stream)
    paths = {s: optimizer_paths(s) for s in SURFACES}
    pcells = paths_table(paths)
    print("Optimizer paths on two surfaces: an elongated bowl, and the plateau of a saddle point "
          "(how many steps each needs):", file=stream)
    print(format_table(pcells) + "\n", file=stream)
    figures = []
    if plots and have_matplotlib():
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
    try:
        run(args.out, args.epochs_scale, plots=not args.no_plots, progress=not args.no_progress)
    except OSError as e:
        if e.filename != args.out:
            raise
        print(f"python -m simdoptim demo: --out {args.out!r}: cannot make the folder for the figures "
              f"({e.strerror})", file=sys.stderr)
        return 2
    return 0
