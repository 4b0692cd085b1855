"""The benchmark suite and the bandwidth probe: the suite runs (on tiny sizes, no timing
asserted), refuses a public kernel without a row, and the probe moves exactly the buffers
it is told to. Speed itself is measured in bench/, never here."""

import json

import numpy as np
import pytest

import simdoptim
from simdoptim import _core, benchmark, functional

ISAS = simdoptim.cpu_info()["isas"]


@pytest.fixture
def isa_and_grain():
    """Restores the ISA path and the parallel grain the tests change."""
    before = simdoptim.cpu_info()
    yield
    _core._select_isa(before["isa"])
    _core._set_parallel_grain(before["parallel_grain"])


@pytest.fixture(autouse=True)
def short_window(monkeypatch):
    """The load readings of every command run here watch the CPUs for 0.05 s, not 0.5 s."""
    from simdoptim import _machine

    monkeypatch.setattr(_machine, "WINDOW_S", 0.05)
    return _machine


# -- registry --------------------------------------------------------------------------


def test_every_public_kernel_has_a_row():
    assert benchmark.missing_rows() == []
    # and the list is derived from the package, not written down here
    kernels = benchmark.public_kernels()
    assert {"Adam", "adam_update", "EMA", "ewma", "all_finite"} <= kernels
    assert not kernels & {"cpu_info", "set_num_threads", "reference", "functional", "save_checkpoint"}


def test_a_kernel_without_a_row_fails_the_suite(monkeypatch):
    def lion_update(params, grads):  # a new public kernel nobody benchmarked
        raise AssertionError("not called")

    monkeypatch.setattr(functional, "lion_update", lion_update, raising=False)
    monkeypatch.setattr(functional, "__all__", [*functional.__all__, "lion_update"])
    assert benchmark.missing_rows() == ["lion_update"]
    with pytest.raises(RuntimeError, match="lion_update"):
        benchmark.run(dict(benchmark.QUICK, sizes=(100,)), progress=False)


def test_a_new_exported_class_counts_as_a_kernel(monkeypatch):
    class Lion(simdoptim.Adam):
        pass

    monkeypatch.setattr(simdoptim, "Lion", Lion, raising=False)
    monkeypatch.setattr(simdoptim, "__all__", [*simdoptim.__all__, "Lion"])
    assert "Lion" in benchmark.missing_rows()


# -- the suite runs ----------------------------------------------------------------------


def tiny_config():
    return dict(sizes=(1000,), many=((3, 200),), dtypes=("float32",), threads="both", rounds=1, min_sample_s=0.0)


def test_suite_runs_on_tiny_sizes(monkeypatch):
    from simdoptim import _bench_rows

    monkeypatch.setattr(_bench_rows, "_ENABLED", {"numpy", "torch"})  # DeepSpeed's op build is slow
    results = benchmark.run(tiny_config(), progress=False)
    results += benchmark.run(dict(tiny_config(), dtypes=("float64",), many=(), threads="all"), progress=False)
    rows = {name for name, row in benchmark.ROWS.items() if all(benchmark._has(c) for c in row.covers)}
    assert {r["kernel"] for r in results} == rows
    threads = {1, simdoptim.get_num_threads()}
    for r in results:
        assert r["threads"] in threads
        assert r["ms"]["simdoptim"] > 0 and np.isfinite(r["gbps"]["simdoptim"])
        assert r["ms"]["numpy"] > 0
        if benchmark.ROWS[r["kernel"]].streams[:2] != (0, 0):  # every writing kernel has a probe
            assert r["ms"]["probe"] > 0 and r["pct_probe"] > 0
        elem = 8 if r["dtype"] == "float64" else 4
        row = benchmark.ROWS[r["kernel"]]
        rw, wo, ro = row.streams
        if row.element_bytes is not None:  # streams of several widths (round_to: reads 4 or 8, writes 2)
            assert r["bytes"] == row.element_bytes(np.dtype(r["dtype"])) * r["elements"]
        else:
            assert r["bytes"] == (2 * rw + wo + ro) * elem * r["elements"]
    assert {r["dtype"] for r in results} == {"float32", "float64"}
    adam = [r for r in results if r["kernel"] == "Adam" and r["dtype"] == "float32"]
    assert {r["layout"] for r in adam} == {"1e3", "3x200"}
    assert all(r["bytes"] == 28 * r["elements"] for r in adam)  # the 28 bytes per element
    table = benchmark.format_table(results)
    assert table.count("\n") == len(results) + 1


def test_command_line_writes_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    code = benchmark.main(["--sizes", "1000", "--kernels", "Adam,EMA", "--rounds", "1", "--no-many",
                           "--peers", "numpy", "--quiet", "--json", str(out)])
    assert code == 0
    text = capsys.readouterr().out
    assert "| Adam | float32 | 1e3 |" in text and "| EMA | float32 | 1e3 |" in text
    data = json.loads(out.read_text())
    assert data["environment"]["isa"] == simdoptim.cpu_info()["isa"]
    assert sorted(r["kernel"] for r in data["results"]) == ["Adam", "EMA"]
    # a saved run is re-printed, filtered, without running anything
    assert benchmark.main(["--from-json", str(out), "--kernels", "EMA"]) == 0
    text = capsys.readouterr().out
    assert "| EMA | float32 | 1e3 |" in text and "| Adam |" not in text


def test_unknown_kernel_is_refused(capsys):
    assert benchmark.main(["--kernels", "Lion", "--quiet"]) == 2
    assert "Lion" in capsys.readouterr().err


def test_plot_or_clear_skip(tmp_path):
    results = benchmark.run(dict(tiny_config(), dtypes=("float32",), many=(), threads="all"),
                            progress=False, only={"GD": benchmark.ROWS["GD"]})
    path = tmp_path / "gbps.png"
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        written, message = benchmark.plot(results, str(path))
        assert not written and "matplotlib cannot be imported" in message and not path.exists()
    else:
        written, message = benchmark.plot(results, str(path))
        assert written and message.startswith(f"plot written to {path}")
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# -- the probe ---------------------------------------------------------------------------


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rw,wo,ro", [(3, 0, 1), (2, 0, 1), (1, 1, 1), (0, 1, 1), (5, 0, 1), (1, 0, 0)])
def test_probe_moves_the_buffers_it_is_told_to(isa, dtype, rw, wo, ro, isa_and_grain):
    _core._select_isa(isa)
    _core._set_parallel_grain(64)  # several threads even on these small arrays
    rng = np.random.default_rng(7)
    tensors = []
    for n in (0, 1, 15, 17, 1003, 4099):
        tensors.append(tuple(rng.uniform(0.5, 1.5, n).astype(dtype) for _ in range(rw + wo + ro)))
    before = [tuple(b.copy() for b in t) for t in tensors]
    _core._bandwidth_probe(tensors, read_write=rw, write_only=wo)
    reads = rw + ro
    for t, b in zip(tensors, before):
        read = [b[k] for k in range(rw)] + [b[k] for k in range(rw + wo, rw + wo + ro)]
        expect = np.zeros_like(b[0])
        for x in read:  # the kernel's order: sum of the reads, then one multiply
            expect = expect + x
        expect = expect * dtype(1.0 / reads)
        for k in range(rw + wo):
            np.testing.assert_array_equal(t[k], expect)
        for k in range(rw + wo, rw + wo + ro):
            np.testing.assert_array_equal(t[k], b[k])  # read-only buffers untouched


def test_probe_refuses_bad_arguments():
    a, b = np.ones(8, np.float32), np.ones(8, np.float32)
    with pytest.raises(ValueError, match="read_write"):
        _core._bandwidth_probe([(a, b)], read_write=0, write_only=0)
    with pytest.raises(ValueError, match="size of"):
        _core._bandwidth_probe([(a, np.ones(9, np.float32))], read_write=1)
    with pytest.raises(TypeError, match="float32, float64, float16 or bfloat16"):
        _core._bandwidth_probe([(a, np.ones(8, np.int32))], read_write=1)
    with pytest.raises(ValueError, match="same memory"):
        _core._bandwidth_probe([(a, a)], read_write=2)
    ro = np.ones(8, np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        _core._bandwidth_probe([(ro, b)], read_write=1)
    _core._bandwidth_probe([(b, ro)], read_write=1)  # read-only is fine for a buffer only read


# -- the bias-correction shortcut of the Adam kernel is exact ----------------------------


def first_exact_one(dtype, beta):
    """The first step t at which 1 - beta**t rounds to exactly 1 in dtype."""
    t = 1
    while dtype(1.0 - beta ** t) != 1:
        t += 1
    return t


# float32: 165 and 17321, float64: 356 and 37412 (each boundary and the step before it)
STEPS = sorted({1, 2} | {first_exact_one(d, b) + k
                         for d in (np.float32, np.float64) for b in (0.9, 0.999) for k in (-1, 0)})


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_late_steps_match_the_reference_bit_for_bit(isa, dtype, step, amsgrad, isa_and_grain):
    # From some step on, 1 - beta**t rounds to exactly 1 in the array's dtype and the kernel
    # leaves the division out; the result must not change by a bit, NaN and inf included.
    _core._select_isa(isa)
    rng = np.random.default_rng(step)
    n = 1000
    w, g, m, v = (rng.standard_normal(n).astype(dtype) for _ in range(4))
    v = np.abs(v)
    g[:4] = [np.nan, np.inf, -np.inf, 0.0]
    m[4:6] = [np.nan, -0.0]
    vmax = np.abs(rng.standard_normal(n)).astype(dtype) if amsgrad else None
    ref = [a.copy() if a is not None else None for a in (w, g, m, v, vmax)]
    fast = [a.copy() if a is not None else None for a in (w, g, m, v, vmax)]
    kw = dict(step=step, lr=1e-3, beta1=0.9, beta2=0.999)
    with np.errstate(all="ignore"):  # NaN and inf in g are the point here
        simdoptim.reference.adam_update([ref[0]], [ref[1]], [ref[2]], [ref[3]],
                                        max_exp_avg_sqs=None if vmax is None else [ref[4]], **kw)
    functional.adam_update([fast[0]], [fast[1]], [fast[2]], [fast[3]],
                           max_exp_avg_sqs=None if vmax is None else [fast[4]], **kw)
    for r, f in zip(ref, fast):
        if r is not None:
            assert r.tobytes() == f.tobytes()


# -- what the command says: the machine's load, the plot, bad options ------------------------

QUIET = {"cpus": 2, "window_s": 0.5, "others_busy_fraction": 0.01, "others_cpu": 0.02, "others_runnable": 0.0,
         "loadavg": [0.1, 0.2, 0.3]}
BUSY = {"cpus": 2, "window_s": 0.5, "others_busy_fraction": 0.9, "others_cpu": 1.8, "others_runnable": 2.4,
        "loadavg": [2.6, 2.2, 1.9]}
SMALL_RUN = ["--sizes", "1000", "--kernels", "GD", "--rounds", "1", "--no-many", "--peers", "numpy", "--quiet"]




def test_json_records_the_machine_load(tmp_path, short_window, capsys):
    out = tmp_path / "bench.json"
    assert benchmark.main(SMALL_RUN + ["--json", str(out)]) == 0
    load = json.loads(out.read_text())["environment"]["load"]
    for when in ("before", "after"):
        r = load[when]
        assert r["cpus"] == short_window.cpu_count() and r["window_s"] == 0.05
        if r["others_busy_fraction"] is not None:  # /proc/stat (Linux)
            assert 0.0 <= r["others_busy_fraction"] <= 1.0 and 0.0 <= r["others_cpu"] <= r["cpus"]
            assert r["others_runnable"] >= 0
    assert isinstance(load["busy"], bool) and load["threads"] == simdoptim.get_num_threads()
    text = capsys.readouterr().out
    assert "machine load: before the run " in text and f"results written to {out}" in text


@pytest.mark.parametrize("reading,busy", [(QUIET, False), (BUSY, True)], ids=["quiet", "busy"])
def test_a_busy_machine_is_reported_with_what_it_does(tmp_path, short_window, monkeypatch, capsys, reading, busy):
    monkeypatch.setattr(short_window, "read_load", lambda window_s=None: dict(reading))
    out = tmp_path / "bench.json"
    assert benchmark.main(SMALL_RUN + ["--threads", "1,2", "--json", str(out)]) == 0
    captured = capsys.readouterr()
    assert ("warning: the machine was busy while the benchmark ran" in captured.out) == busy
    assert ("warning: the machine is busy as the benchmark starts" in captured.err) == busy
    if busy:
        assert "other processes used 1.80 of the 2 CPUs" in captured.out
        assert "The 2-thread rows suffer most" in captured.out and "not scheduled" in captured.out
    load = json.loads(out.read_text())["environment"]["load"]
    assert load["busy"] is busy and load["before"] == reading
    # a saved run says it again when it is re-printed
    assert benchmark.main(["--from-json", str(out)]) == 0
    assert ("warning: the machine was busy" in capsys.readouterr().out) == busy


def test_assess_counts_the_cpus_the_run_leaves_free():
    from simdoptim import _machine

    def reading(cpus, others, runnable=0.0, load1=0.0):
        return dict(QUIET, cpus=cpus, others_cpu=others, others_runnable=runnable, loadavg=[load1, 0, 0])

    assert not _machine.assess(reading(2, 0.1), reading(2, 0.2), threads=2)["busy"]
    assert _machine.assess(reading(2, 0.6), reading(2, 0.1), threads=2)["busy"]
    assert _machine.assess(reading(2, 0.1), reading(2, 0.1, runnable=1.5), threads=2)["busy"]
    assert not _machine.assess(reading(2, 0.9), None, threads=1)["busy"]  # one CPU stays free
    assert not _machine.assess(reading(16, 3.0, runnable=2.0, load1=3.0), None, threads=2)["busy"]
    v = _machine.assess(reading(16, 15.0), None, threads=2)
    assert v["busy"] and "15.00 of the 16 CPUs" in v["reasons"][0]
    assert _machine.assess(reading(2, 0.0, load1=1.5), None, threads=2)["busy"]  # the load average before


def test_read_load_sees_another_process_busy(short_window):
    if short_window._proc_stat() is None:
        pytest.skip("no /proc/stat on this OS: the load figures are None there")
    import subprocess
    import sys
    import time

    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.2)
        r = short_window.read_load(0.3)
    finally:
        spinner.kill()
        spinner.wait()
    assert r["others_cpu"] >= 0.5, r  # at least half a CPU: the spinning process (and whoever else)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_png_plots_what_was_run(tmp_path, short_window, capsys, dtype):
    pytest.importorskip("matplotlib")
    png = tmp_path / "run.png"
    assert benchmark.main(SMALL_RUN + ["--dtypes", dtype, "--png", str(png)]) == 0
    text = capsys.readouterr().out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"plot written to {png}" in text and dtype in text.splitlines()[-1]
    assert "matplotlib" not in text


def test_png_says_why_there_is_no_plot(tmp_path, short_window, monkeypatch, capsys):
    from simdoptim import _plotting

    monkeypatch.setattr(_plotting, "matplotlib_missing", lambda: "No module named 'matplotlib'")
    png = tmp_path / "run.png"
    assert benchmark.main(SMALL_RUN + ["--png", str(png)]) == 0
    assert "no plot: matplotlib cannot be imported (No module named 'matplotlib')" in capsys.readouterr().out
    assert not png.exists()
    monkeypatch.undo()
    pytest.importorskip("matplotlib")  # the second reason is given only where a plot could be drawn
    results = benchmark.run(dict(tiny_config(), sizes=(), threads="all"), progress=False,
                            only={"GD": benchmark.ROWS["GD"]})
    written, message = benchmark.plot(results, str(png))
    assert not written and "only many-tensor layouts (3x200)" in message and not png.exists()


def test_empty_cells_say_why():
    torch = pytest.importorskip("torch")  # noqa: F841
    results = benchmark.run(dict(tiny_config(), many=(), threads="all"), progress=False,
                            only={"RMSprop": benchmark.ROWS["RMSprop"]})
    assert "torch-fused" not in results[0]["ms"]
    assert "fused=True" in results[0]["not_run"]["torch-fused"]
    assert any(n.startswith("torch-fused: torch refuses fused=True") for n in benchmark.notes(results))


def test_slow_peers_left_out_say_why(monkeypatch):
    from simdoptim import _bench_rows

    monkeypatch.setattr(_bench_rows, "SLOW_PEER_MAX_F64", 100)
    results = benchmark.run(dict(tiny_config(), many=(), dtypes=("float64",), threads="all"), progress=False,
                            only={"GD": benchmark.ROWS["GD"]})
    assert "numpy" not in results[0]["ms"] and "float64 above" in results[0]["not_run"]["numpy"]
    assert any(n.startswith("numpy: not run for float64 above") for n in benchmark.notes(results))


@pytest.mark.parametrize("argv,words", [
    (["--sizes", "abc"], "--sizes: 'abc' is not a whole number"),
    (["--sizes", "0"], "--sizes: '0' is not a whole number"),
    (["--dtypes", "float16"], "--dtypes: 'float16' is not float32 or float64"),
    (["--rounds", "0"], "--rounds: must be >= 1, got 0"),
    (["--threads", "0"], "--threads: '0' is not a thread count"),
    (["--peers", "jax"], "--peers: unknown peer(s) ['jax']"),
    (["--from-json", "no-such-file.json"], "--from-json: cannot read 'no-such-file.json'"),
])
def test_bad_options_are_refused_naming_the_option(argv, words, short_window, capsys):
    # after the options of a small run (argparse keeps the last of a repeated option), so that
    # an option wrongly accepted costs seconds, not minutes
    assert benchmark.main(SMALL_RUN + argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("python -m simdoptim bench: ") and words in err


def test_saved_run_with_no_matching_rows_says_so(tmp_path, short_window, capsys):
    out = tmp_path / "bench.json"
    assert benchmark.main(SMALL_RUN + ["--json", str(out)]) == 0
    capsys.readouterr()
    assert benchmark.main(["--from-json", str(out), "--kernels", "Adam"]) == 1
    assert "no saved rows match --kernels Adam" in capsys.readouterr().out


@pytest.mark.parametrize("n", [0, 1, 31, 32, 33, 1000, 70_001])
def test_probe_of_mixed_widths_moves_every_byte(n, isa_and_grain):
    """Buffers of several widths (a float16 parameter beside float32 state, as a low-precision
    step has) go through the probe of raw bytes: it writes the (integer) sum of what it
    read, so with all-zero inputs every byte of the write-only buffer, which starts as
    0xFF, must become 0; the read-only buffer stays untouched."""
    _core._set_parallel_grain(64)
    for isa in ISAS:
        _core._select_isa(isa)
        w = np.zeros(n, np.float16)                      # read and written, 2 bytes
        m = np.zeros(n, np.float32)                      # read and written, 4 bytes
        out = np.full(n, 0xFFFF, np.uint16).view(np.float16)  # written, 2 bytes
        g = np.zeros(n, np.float16)                      # read, 2 bytes
        _core._bandwidth_probe([(w, m, out, g)], read_write=2, write_only=1)
        assert not out.view(np.uint16).any()
        assert not w.view(np.uint16).any() and not m.view(np.uint32).any() and not g.view(np.uint16).any()
