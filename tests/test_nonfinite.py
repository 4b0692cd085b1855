"""Non-finite gradients: the default propagates them (as NumPy and PyTorch do); with
nonfinite="skip" a step whose gradients hold NaN/Inf touches nothing and is counted; with
nonfinite="raise" it raises FloatingPointError, again touching nothing."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import simdoptim
from simdoptim import reference

BACKENDS = {"fast": simdoptim, "reference": reference}
CLASSES = [("GD", {}), ("Momentum", {"nesterov": True}), ("RMSprop", {"centered": True, "momentum": 0.9}),
           ("Adam", {"amsgrad": True})]


def params_of(dtype):
    return [np.linspace(-1, 1, 37, dtype=dtype), np.ones((3, 5), dtype)]


def good(dtype, t):
    rng = np.random.default_rng(t)
    return [rng.standard_normal(37).astype(dtype), rng.standard_normal((3, 5)).astype(dtype)]


def poisoned(dtype, t, where, value):
    g = good(dtype, t)
    g[where[0]].flat[where[1]] = value
    return g


def _everything(opt, params):
    """Parameters, state arrays, step and epoch (not the skip counter) as bytes."""
    sd = opt.state_dict()
    del sd["skipped_steps"]
    return pickle.dumps((sd, [p.tobytes() for p in params]))


@pytest.mark.parametrize("backend", list(BACKENDS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cls,kw", CLASSES, ids=[c for c, _ in CLASSES])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf], ids=["nan", "inf", "-inf"])
def test_skip_leaves_everything_untouched_and_counts(backend, dtype, cls, kw, bad):
    B = BACKENDS[backend]
    ref_params = params_of(dtype)
    ref_opt = getattr(B, cls)(ref_params, lr=0.01, **kw)
    params = params_of(dtype)
    opt = getattr(B, cls)(params, lr=0.01, nonfinite="skip", **kw)
    # the last element of a tensor whose length is no multiple of any vector width: the tail path
    for t, where in enumerate([(0, 36), (1, 0), (0, 17)]):
        assert opt.step(good(dtype, t)) is True
        ref_opt.step(good(dtype, t))
        before = _everything(opt, params)
        assert opt.step(poisoned(dtype, 100 + t, where, bad)) is False
        assert _everything(opt, params) == before
        assert opt.skipped_steps == opt.state_dict()["skipped_steps"] == t + 1
        assert [p.tobytes() for p in params] == [p.tobytes() for p in ref_params]
        assert opt.t == ref_opt.t
    # the skipped steps changed nothing: the run equals one that never saw them
    for a, b in zip(opt.state_dict()["state"].values(), ref_opt.state_dict()["state"].values()):
        assert [x.tobytes() for x in a] == [x.tobytes() for x in b]


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_raise_names_the_tensor_and_touches_nothing(backend):
    B = BACKENDS[backend]
    params = {"W": np.ones((4, 4), np.float32), "b": np.zeros(4, np.float32)}
    opt = B.Adam(params, nonfinite="raise")
    opt.step({"dW": np.ones((4, 4), np.float32), "db": np.ones(4, np.float32)})
    before = pickle.dumps((opt.state_dict(), {k: v.tobytes() for k, v in params.items()}))
    with pytest.raises(FloatingPointError, match=r"grads\['W'\] holds NaN or infinity"):
        opt.step({"dW": np.full((4, 4), np.nan, np.float32), "db": np.ones(4, np.float32)})
    assert pickle.dumps((opt.state_dict(), {k: v.tobytes() for k, v in params.items()})) == before


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_default_propagates_like_numpy(backend):
    B = BACKENDS[backend]
    p = [np.ones(9)]
    opt = B.GD(p, lr=0.5)
    assert opt.step([np.array([np.nan, np.inf] + [1.0] * 7)]) is True
    assert np.isnan(p[0][0]) and np.isneginf(p[0][1]) and (p[0][2:] == 0.5).all()
    assert opt.t == 1 and opt.skipped_steps == 0


@pytest.mark.parametrize("isa", simdoptim.cpu_info()["isas"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, "bfloat16"])
def test_all_finite_finds_every_position_on_every_path(isa, dtype):
    finfo = np.finfo
    if dtype == "bfloat16":
        ml_dtypes = pytest.importorskip("ml_dtypes", reason="bfloat16 needs ml_dtypes")
        dtype, finfo = ml_dtypes.bfloat16, ml_dtypes.finfo
    core = simdoptim._core
    old, grain = core.cpu_info()["isa"], core.cpu_info()["parallel_grain"]
    core._select_isa(isa)
    core._set_parallel_grain(8)  # several threads even on these small arrays
    try:
        for n in (1, 3, 8, 17, 64, 67):
            for pos in sorted({0, n // 2, n - 1}):
                for bad in (np.nan, np.inf, -np.inf):
                    arrays = [np.ones(5, dtype), np.ones(n, dtype)]
                    assert simdoptim.all_finite(arrays)
                    arrays[1][pos] = bad
                    assert not simdoptim.all_finite(arrays), (n, pos, bad)
                    assert not reference.all_finite(arrays)
                    assert simdoptim.all_finite(arrays[:1]) and reference.all_finite(arrays[:1])
        big = np.full(100, finfo(dtype).max, dtype)  # large but finite
        assert simdoptim.all_finite([big]) and simdoptim.all_finite([])
        assert reference.all_finite([big]) and reference.all_finite([])
    finally:
        core._select_isa(old)
        core._set_parallel_grain(grain)
