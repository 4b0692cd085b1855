"""The demo's figures say what is true, on their own: checked on the figures' artists (the
data drawn, the texts, where the legends sit), not on pixels.

* paths_bowl / paths_saddle: f - min f is drawn as it is (no floor clipping it), exact
  zeros are marked; every optimizer's end point is marked at the path's last point; the
  1e-3 threshold that "settled" means is drawn; the saddle's title says where the start
  is, not that it is next to the saddle point;
* lr_schedules: no legend covers a curve; it refers to no other figure; the staircase
  drawn is the one the decayed runs trained with;
* costs: the staircase panel says which lr0 each optimizer started from;
* ewma, and every figure: no TeX braces shown as text (only inside $...$ mathtext).
"""

from __future__ import annotations

import re

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from simdoptim import demo


@pytest.fixture(scope="module")
def runs():
    return demo.train_all(epochs_scale=0.002, progress=False)  # 20 and 10 epochs: the figures' data


@pytest.fixture(scope="module")
def paths():
    return {s: demo.optimizer_paths(s) for s in demo.SURFACES}


@pytest.fixture(scope="module")
def figs(runs, paths, tmp_path_factory):
    """Every figure of the demo, made once (each also written, as the demo does)."""
    from matplotlib.figure import Figure

    X, Y, rows = runs
    d = tmp_path_factory.mktemp("figures")
    saved = []
    real_savefig = Figure.savefig

    def recording_savefig(self, *args, **kwargs):  # the figure as it was written
        saved.append(self)
        return real_savefig(self, *args, **kwargs)

    jobs = {s: (lambda s=s: demo.plot_paths(s, paths[s], d / f"paths_{s}.png")) for s in demo.SURFACES}
    jobs["schedules"] = lambda: demo.plot_schedules(rows, d / "lr_schedules.png")
    jobs["costs"] = lambda: demo.plot_costs(rows, d / "costs.png")
    jobs["ewma"] = lambda: demo.plot_ewma(d / "ewma.png")
    jobs["boundaries"] = lambda: demo.plot_boundaries(X, Y, rows, d / "decision_boundaries.png")
    out = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Figure, "savefig", recording_savefig)
        for name, job in jobs.items():
            returned = job()
            out[name] = saved[-1]
            assert returned is None or returned is saved[-1]
    return out


def _texts(fig):
    from matplotlib.text import Text

    out = [t.get_text() for t in fig.findobj(Text)]
    return [t for t in out if t]


def _drawn(fig):
    fig.draw_without_rendering()
    return fig


@pytest.mark.parametrize("surface", list(demo.SURFACES))
def test_log_panel_draws_f_minus_min_unclipped(surface, paths, figs):
    fig = figs[surface]
    ax2 = fig.axes[1]
    fmin = demo.SURFACES[surface][3]
    lines = {ln.get_label().split(":")[0]: ln for ln in ax2.get_lines()
             if ln.get_marker() in ("None", None, "") and ln.get_label().count(":")}
    for name, label, _, _ in demo.PATH_OPTIMIZERS:
        gap = paths[surface][name][1] - fmin
        y = np.asarray(lines[label].get_ydata(), dtype=float)
        drawn = np.isfinite(y)
        assert np.array_equal(drawn, gap > 0), name  # every positive value drawn, no others
        assert np.array_equal(y[drawn], gap[gap > 0]), name  # as it is: no floor
        zero = np.flatnonzero(gap <= 0)
        if zero.size:  # exact zeros cannot sit on a log axis: marked, and said so
            marks = [ln for ln in ax2.get_lines() if ln.get_label().startswith(f"{label}: f − min f = 0 exactly")]
            assert len(marks) == 1 and np.array_equal(marks[0].get_xdata(), zero)
    if surface == "saddle":  # this case has exact zeros and values below 1e-12 (the old floor)
        assert (paths[surface]["GD"][1] - fmin == 0).any()
        assert ((paths[surface]["Adam"][1] - fmin) < 1e-12).any()


@pytest.mark.parametrize("surface", list(demo.SURFACES))
def test_end_points_and_threshold_are_drawn(surface, paths, figs):
    fig = figs[surface]
    ax, ax2 = fig.axes[:2]
    zoom = ax.child_axes[0]
    path_lines = [ln for ln in ax.get_lines() if ln.get_linestyle() == "-"]
    for name, label, lr, _ in demo.PATH_OPTIMIZERS:
        end = paths[surface][name][0][-1]
        for a in (ax, zoom):
            marks = [ln for ln in a.get_lines() if ln.get_marker() == demo.END_MARKERS[name][0]
                     and len(ln.get_xdata()) == 1 and np.allclose([ln.get_xdata()[0], ln.get_ydata()[0]], end)]
            assert marks, f"{name}'s end point {end} is not marked"
            assert all(m.get_zorder() > pl.get_zorder() for m in marks for pl in path_lines)
        assert any(t.startswith(f"{label}, lr {lr:g}: ends at (") for t in ax.get_legend_handles_labels()[1])
    sizes = [demo.END_MARKERS[n][1] for n, *_ in demo.PATH_OPTIMIZERS]
    assert sizes == sorted(sizes, reverse=True)  # drawn large to small: a shared end point shows every marker
    thresholds = [ln for ln in ax2.get_lines() if list(ln.get_ydata()) == [demo.SETTLE_TOL] * 2]
    assert thresholds, "the 1e-3 line that 'settled' refers to is not drawn"
    assert any(f"{demo.SETTLE_TOL:g}" in t for t in _texts(fig))


def test_saddle_title_says_where_the_start_is(figs):
    fig = figs["saddle"]
    title = fig.axes[0].get_title()
    start = np.array(demo.SURFACES["saddle"][2])
    assert "next to" not in title
    assert f"{np.hypot(*start):.2g} away" in title and "(1.5, 1e-4)" in title and "saddle point at (0, 0)" in title


def test_schedules_legend_covers_no_curve_and_the_staircase_is_the_one_used(runs, figs):
    _, _, rows = runs
    fig = _drawn(figs["schedules"])
    ax = fig.axes[0]
    legend = ax.get_legend().get_window_extent()
    for ln in ax.get_lines():
        pts = ax.transData.transform(np.column_stack([ln.get_xdata(), ln.get_ydata()]))
        inside = ((pts[:, 0] > legend.x0) & (pts[:, 0] < legend.x1) & (pts[:, 1] > legend.y0) & (pts[:, 1] < legend.y1))
        assert not inside.any(), f"the legend covers {ln.get_label()!r}"
    assert not any("above" in t or "below" in t for t in _texts(fig))  # no reference to another figure
    decayed = [r for r in rows if r["decay"] != "none" and r["lr"] == 0.1]
    staircase = [ln for ln in ax.get_lines() if ln.get_label().startswith("staircase")]
    assert len(staircase) == 1 and np.array_equal(staircase[0].get_ydata(), decayed[0]["lrs"])
    assert f"floor(epoch / {decayed[0]['interval']})" in staircase[0].get_label()
    assert len(staircase[0].get_xdata()) == decayed[0]["epochs"]


def test_costs_staircase_panel_names_each_lr0(runs, figs):
    _, _, rows = runs
    fig = figs["costs"]
    labels = fig.axes[1].get_legend_handles_labels()[1]
    for r in rows[3:]:
        assert any(lab.startswith(f"{r['optimizer']} (lr0 {r['lr']:g},") for lab in labels), (r["optimizer"], labels)
    assert f"floor(epoch / {rows[3]['interval']})" in fig.axes[1].get_title()


def _braces_outside_math(text):
    outside = re.sub(r"\$[^$]*\$", "", text)
    return "{" in outside or "}" in outside


def test_no_figure_shows_tex_braces(figs):
    for name, fig in figs.items():
        shown = [t for t in _texts(fig) if _braces_outside_math(t)]
        assert shown == [], (name, shown)
    ewma_title = figs["ewma"]._suptitle.get_text()
    assert "v_{t-1}" in ewma_title and ewma_title.count("$") == 2  # the formula is mathtext
