"""The demo: its data set, its network's gradients, and short runs of `python -m simdoptim demo`."""

import io
import os

import numpy as np
import pytest

from simdoptim import __main__ as cli
from simdoptim import demo


def test_two_moons_is_the_course_data_set():
    X, Y = demo.make_moons()
    assert X.shape == (2, 300) and Y.shape == (1, 300)
    assert sorted(np.unique(Y)) == [0.0, 1.0] and Y.sum() == 150
    # the first points of scikit-learn's make_moons(300, noise=0.2) after np.random.seed(3)
    np.testing.assert_allclose(X[:, :3], [[-0.21687013, 0.80505015, 0.71127451],
                                          [1.01544937, -0.5579734, -0.41006024]], rtol=0, atol=1e-8)
    np.testing.assert_array_equal(Y[0, :5], [0, 1, 1, 1, 0])
    # and it leaves NumPy's global generator alone
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    demo.make_moons()
    np.testing.assert_array_equal(np.random.get_state()[1], before)


def test_two_moons_equals_scikit_learn():
    datasets = pytest.importorskip("sklearn.datasets")
    np.random.seed(3)
    X, y = datasets.make_moons(n_samples=300, noise=0.2)
    X2, Y2 = demo.make_moons()
    np.testing.assert_array_equal(X2, X.T)
    np.testing.assert_array_equal(Y2[0], y)


def test_he_initialisation():
    p = demo.initialize_parameters((2, 5, 2, 1), seed=3)
    rs = np.random.RandomState(3)
    np.testing.assert_array_equal(p["W1"], rs.randn(5, 2) * np.sqrt(2 / 2))
    np.testing.assert_array_equal(p["W2"], rs.randn(2, 5) * np.sqrt(2 / 5))
    assert p["b3"].shape == (1, 1) and not p["b1"].any()


def test_backward_matches_finite_differences():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2, 9))
    Y = (rng.random((1, 9)) > 0.5).astype(float)
    params = demo.initialize_parameters(seed=1)
    for k in params:  # nonzero biases, so every ReLU path is exercised
        params[k] = params[k] + 0.1 * rng.standard_normal(params[k].shape)
    a3, cache = demo.forward(X, params)
    grads = demo.backward(X, Y, cache, params)

    def cost(p):
        return demo.compute_cost(demo.forward(X, p)[1][2], Y) / X.shape[1]

    h = 1e-6
    for k, w in params.items():
        num = np.zeros_like(w)
        for i in np.ndindex(w.shape):
            old = w[i]
            w[i] = old + h
            up = cost(params)
            w[i] = old - h
            down = cost(params)
            w[i] = old
            num[i] = (up - down) / (2 * h)
        # central differences of a smooth cost: error ~h^2 plus rounding ~1e-16/h
        np.testing.assert_allclose(grads["d" + k], num, rtol=1e-5, atol=1e-8, err_msg=k)


def test_cost_is_the_cross_entropy_and_stays_finite():
    z = np.array([[-3.0, -0.5, 0.0, 2.0, 4.0]])
    Y = np.array([[0.0, 1.0, 1.0, 0.0, 1.0]])
    a = 1 / (1 + np.exp(-z))
    naive = np.sum(-Y * np.log(a) - (1 - Y) * np.log(1 - a))
    assert demo.compute_cost(z, Y) == pytest.approx(naive, rel=1e-12)
    # a saturated sigmoid: the naive form would give inf (and a warning, an error here)
    assert demo.compute_cost(np.array([[800.0, -800.0]]), np.array([[0.0, 1.0]])) == pytest.approx(1600.0)


def test_train_is_deterministic_and_follows_the_schedule():
    X, Y = demo.make_moons()
    from simdoptim import schedules

    sched = schedules.StaircaseDecay(0.1, 1.0, 2)
    a = demo.train(X, Y, "momentum", sched, num_epochs=5)
    b = demo.train(X, Y, "momentum", sched, num_epochs=5)
    np.testing.assert_array_equal(a["costs"], b["costs"])
    for k in a["parameters"]:
        np.testing.assert_array_equal(a["parameters"][k], b["parameters"][k])
    np.testing.assert_array_equal(a["lrs"], [sched(e) for e in range(5)])
    assert a["steps"] == 5 * 5  # ceil(300 / 64) mini-batches per epoch
    assert a["costs"][-1] < a["costs"][0]


def _table_lines(text):
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("optimizer"))
    return lines[start:start + 8]


def test_short_demo_run_without_plots(tmp_path, capsys):
    out = tmp_path / "figs"
    rc = cli.main(["demo", "--epochs-scale", "0.002", "--no-plots", "--no-progress", "--out", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    header, rule, *rows = _table_lines(text)
    assert header.split()[:3] == ["optimizer", "lr", "decay"]
    assert len(rows) == 6
    names = ["Mini-batch GD", "Momentum", "Adam"] * 2
    for row, name in zip(rows, names):
        assert row.startswith(name)
        cells = row[len(name):].split()
        # lr, decay (1 or 2 words), epochs, cost, accuracy, steps/s, time
        accuracy = float(cells[-3].rstrip("%"))
        assert 0 <= accuracy <= 100 and float(cells[-4]) > 0
    assert [r.split()[-5] for r in rows] == ["20", "20", "20", "10", "10", "10"]  # epochs, scaled
    assert "Optimizer paths" in text
    assert not out.exists()  # --no-plots writes nothing


def test_run_returns_the_tables(tmp_path):
    res = demo.run(str(tmp_path), epochs_scale=0.001, plots=False, progress=False, stream=io.StringIO())
    assert len(res["table"]) == 7 and all(len(r) == len(demo.TABLE_COLUMNS) for r in res["table"])
    assert [r["epochs"] for r in res["rows"]] == [10, 10, 10, 5, 5, 5]
    assert len(res["paths_table"]) == 4 and all(len(r) == 5 for r in res["paths_table"])
    assert res["figures"] == []


def test_paths_cross_the_saddle_faster_than_gd():
    # near a saddle point momentum, RMSprop and Adam leave the plateau first
    paths = demo.optimizer_paths("saddle")
    left = {name: demo.left_saddle(paths[name][1]) for name in paths}
    assert all(v is not None for v in left.values())
    assert max(left["Momentum"], left["RMSprop"], left["Adam"]) < left["GD"]


def test_demo_without_matplotlib_says_how_to_get_the_figures(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(demo, "have_matplotlib", lambda: False)
    rc = cli.main(["demo", "--epochs-scale", "0.001", "--no-progress", "--out", str(tmp_path / "figs")])
    assert rc == 0
    text = capsys.readouterr().out
    assert "matplotlib is not installed" in text and ".[plot]" in text
    assert not (tmp_path / "figs").exists()


def test_demo_writes_the_figures(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "figs"
    rc = cli.main(["demo", "--epochs-scale", "0.001", "--no-progress", "--out", str(out)])
    assert rc == 0
    expected = {"costs.png", "decision_boundaries.png", "ewma.png", "lr_schedules.png", "paths_bowl.png",
                "paths_saddle.png"}
    assert set(os.listdir(out)) == expected
    for name in expected:
        data = (out / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000, name
    assert "Figures written" in capsys.readouterr().out


def test_bad_epochs_scale(capsys):
    assert cli.main(["demo", "--epochs-scale", "0", "--no-plots"]) == 2
    assert "--epochs-scale" in capsys.readouterr().err
    with pytest.raises(ValueError, match="epochs_scale"):
        demo.run(epochs_scale=-1.0, plots=False, progress=False)


def test_out_that_is_a_file_is_refused_before_training(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    afile = tmp_path / "notes.txt"
    afile.write_text("x")
    assert cli.main(["demo", "--epochs-scale", "0.001", "--no-progress", "--out", str(afile)]) == 2
    captured = capsys.readouterr()
    assert f"--out {str(afile)!r}: cannot make the folder for the figures" in captured.err
    assert "trained" not in captured.out  # refused before any training
