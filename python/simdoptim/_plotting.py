"""Plotting helpers for the benchmark and the demo: whether matplotlib is there, figures
made without pyplot (no GUI backend, no global state), and the benchmark's plot.

matplotlib is optional (``pip install matplotlib``, or the ``plot`` extra); every function
here says what it did, or why it did not.
"""

from __future__ import annotations

from typing import Any

__all__ = ["matplotlib_missing", "new_figure", "plot_bandwidth"]


def __dir__():
    return list(__all__)


def matplotlib_missing():
    """None when matplotlib can be imported, else why not (the ImportError's message)."""
    try:
        import matplotlib  # noqa: F401
        from matplotlib.figure import Figure  # noqa: F401
    except ImportError as e:
        return str(e) or "matplotlib is not installed"
    return None


def new_figure(**kw):
    """A ``matplotlib.figure.Figure`` with constrained layout; save it with ``fig.savefig``."""
    from matplotlib.figure import Figure

    return Figure(layout="constrained", **kw)


IMPL_COLORS = {"simdoptim": "C0", "probe": "k", "numpy": "C4", "torch-forloop": "C1", "torch-foreach": "C2",
               "torch-fused": "C3", "deepspeed": "C5"}


def plot_bandwidth(results, path, warning=None):
    """GB/s against the size of one tensor: a panel per kernel and dtype of ``results`` (the
    benchmark's result dicts), at the largest thread count each was run with, a line per
    implementation; ``warning`` (e.g. that the machine was busy) is printed on the figure.
    Returns ``(written, message)``: whether ``path`` was written, and a sentence saying
    what it shows or why there is no plot."""
    why = matplotlib_missing()
    if why is not None:
        return False, f"no plot: matplotlib cannot be imported ({why}); pip install matplotlib"
    single = [r for r in results if r["tensors"] == 1]
    if not single:
        layouts = sorted({r["layout"] for r in results})
        return False, (f"no plot: it draws GB/s against the size of one tensor, and this run has only "
                       f"many-tensor layouts ({', '.join(layouts) or 'no rows at all'})")
    panels = {}  # (kernel, dtype) -> rows at the largest thread count
    for key in dict.fromkeys((r["kernel"], r["dtype"]) for r in single):
        rs = [r for r in single if (r["kernel"], r["dtype"]) == key]
        nt = max(r["threads"] for r in rs)
        panels[key] = (nt, sorted((r for r in rs if r["threads"] == nt), key=lambda r: r["elements"]))
    cols = min(3, len(panels))
    nrows = -(-len(panels) // cols)
    fig = new_figure(figsize=(5 * cols, 3.4 * nrows + 0.6))
    axes = fig.subplots(nrows, cols, squeeze=False)
    handles: dict[str, Any] = {}  # implementation -> its first line, for the legend
    for ax, ((kernel, dtype), (nt, rs)) in zip(axes.flat, panels.items()):
        for impl in dict.fromkeys(i for r in rs for i in r["gbps"]):
            pts = [(r["elements"], r["gbps"][impl]) for r in rs if impl in r["gbps"]]
            (line,) = ax.plot(*zip(*pts), "--" if impl == "probe" else "-o", color=IMPL_COLORS.get(impl),
                              label=impl, lw=2 if impl == "simdoptim" else 1, ms=3)
            handles.setdefault(impl, line)
        ax.set_xscale("log")
        ax.set_title(f"{kernel} ({dtype}, {nt} thread{'s' if nt > 1 else ''})")
        ax.set_xlabel("elements")
        ax.set_ylabel("GB/s")
        ax.grid(True, alpha=0.3)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    fig.legend(list(handles.values()), list(handles), loc="outside lower center", ncol=len(handles), fontsize=8)
    title = "Bandwidth: bytes each step must move / time per step (higher is faster; probe: the ceiling)"
    if warning:
        title += "\n" + warning
    fig.suptitle(title, color="black" if not warning else "firebrick")
    fig.savefig(path, dpi=110)
    dtypes = sorted({d for _, d in panels})
    threads = sorted({nt for nt, _ in panels.values()})
    n = len(panels)
    return True, (f"plot written to {path}: GB/s against size, {n} panel{'s' if n > 1 else ''} (one per kernel "
                  f"and dtype: {', '.join(dtypes)}; at {'/'.join(map(str, threads))} "
                  f"thread{'s' if threads != [1] else ''})")
