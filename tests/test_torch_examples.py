"""The PyTorch example (python -m simdoptim lm) and the adapter's benchmark, on tiny sizes
(skipped without torch)."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
from simdoptim.torch import bench, lm  # noqa: E402


def test_text_is_the_standard_library_source():
    data = lm.stdlib_text(limit_bytes=200_000)
    assert len(data) == 200_000
    assert b"def " in data.tobytes()


def test_two_runs_start_equal_and_train(tmp_path):
    r = lm.train(steps=6, batch=2, context=16, width=32, layers=1, progress=False)
    ours, theirs = r["losses"].values()
    assert ours[0] == theirs[0]  # same weights, same batch: the first loss is the same number
    assert all(math.isfinite(x) for x in ours + theirs)
    assert max(abs(a - b) for a, b in zip(ours, theirs)) < 1e-3  # only the optimizer's rounding differs
    text = lm.table(r)
    assert "simdoptim.torch.AdamW" in text and "torch AdamW(fused=True)" in text
    pytest.importorskip("matplotlib")
    path = lm.plot(r, tmp_path / "lm_loss.png")
    assert (tmp_path / "lm_loss.png").stat().st_size > 1000 and str(path).endswith(".png")


def test_bench_row_times_every_peer_on_the_same_tensors():
    times, n = bench.row([(1000,), (10, 10)], peers=("torch-fused", "torch-forloop"), rounds=1, min_sample_s=0.001)
    assert n == 1100
    assert {"simdoptim.torch", "probe", "torch-fused", "torch-forloop"} <= set(times)
    assert all(t > 0 for t in times.values())
