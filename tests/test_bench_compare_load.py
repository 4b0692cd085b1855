"""bench --compare (a change beyond the noise of the unchanged peers is flagged) and
bench --load (idle and loaded p50/p90 per implementation)."""

from __future__ import annotations

import io
import json

import pytest

from simdoptim import benchmark


def _row(kernel, layout, ms):
    return {"kernel": kernel, "dtype": "float32", "layout": layout, "tensors": 1, "elements": 10 ** 6, "threads": 2,
            "ms": ms}


def _write(path, rows):
    path.write_text(json.dumps({"environment": {"processor": "test cpu", "isa": "avx2", "num_threads": 2},
                                "results": rows}))
    return str(path)


def _pair(tmp_path, new_ours):
    layouts = ["1e4", "1e5", "1e6", "1e7"]
    old, new = [], []
    for i, layout in enumerate(layouts):
        wobble = 1 + 0.03 * (-1) ** i  # the unchanged implementations move by 3%
        old.append(_row("Adam", layout, {"simdoptim": 1.0, "probe": 0.8, "numpy": 5.0, "torch-fused": 1.2}))
        new.append(_row("Adam", layout, {"simdoptim": new_ours[i], "probe": 0.8 * wobble, "numpy": 5.0 / wobble,
                                         "torch-fused": 1.2 * wobble}))
    return _write(tmp_path / "old.json", old), _write(tmp_path / "new.json", new)


def test_compare_flags_only_changes_beyond_the_noise(tmp_path):
    old, new = _pair(tmp_path, [1.02, 1.5, 0.6, 0.97])
    out = io.StringIO()
    rc = benchmark.main(["--compare", old, new], out)
    text = out.getvalue()
    lines = {ln.split("|")[3].strip(): ln for ln in text.splitlines() if ln.startswith("| Adam")}
    assert "SLOWER" in lines["1e5"] and "1.50" in lines["1e5"]
    assert "faster" in lines["1e6"] and "0.60" in lines["1e6"]
    assert "SLOWER" not in lines["1e4"] + lines["1e7"] and "faster" not in lines["1e4"] + lines["1e7"]
    assert rc == 1  # a regression makes the command fail, for scripts
    assert "1 slower and 1 faster beyond the noise" in text


def test_compare_without_changes_exits_zero(tmp_path):
    old, new = _pair(tmp_path, [1.01, 0.99, 1.0, 1.02])
    out = io.StringIO()
    assert benchmark.main(["--compare", old, new], out) == 0
    assert "0 slower and 0 faster" in out.getvalue()


def test_compare_names_a_file_that_is_not_a_bench_run(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    with pytest.raises(SystemExit, match="not a 'bench --json' file"):
        benchmark.main(["--compare", str(bad), str(bad)], io.StringIO())


def test_load_mode_reports_idle_and_loaded_percentiles():
    out = io.StringIO()
    assert benchmark.main(["--load", "1", "--sizes", "1e4", "--rounds", "1"], out) == 0
    rows = [ln for ln in out.getvalue().splitlines() if ln.startswith("| Adam")]
    impls = [r.split("|")[3].strip() for r in rows]
    assert "simdoptim 1 thr" in impls
    for r in rows:
        cells = [c.strip() for c in r.split("|")[4:9]]
        i50, i90, l50, l90 = (float(c) for c in cells[:4])
        assert 0 < i50 <= i90 and 0 < l50 <= l90
        assert cells[4].endswith("x")
