"""Regression tests for defects found in review: races with other Python threads while a
kernel runs with the GIL released, a stale snapshot in MiniBatches, and edge cases.

The race tests run in a subprocess: before the fixes they ended in a segmentation fault,
which must fail the test rather than kill the test run."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import simdoptim
from simdoptim import reference


def _run_isolated(code, timeout=120):
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"exit {r.returncode} (negative: killed by signal)\n{r.stderr[-2000:]}"
    return r


def test_replacing_a_gradient_from_another_thread_never_frees_memory_in_use():
    """The kernels hold their own references to every array: another thread replacing
    grads[0] (dropping the last reference to the old array) mid-step cannot free it."""
    _run_isolated("""
        import threading, numpy as np, simdoptim
        N = 4_000_000
        opt = simdoptim.Adam([np.zeros(N)], lr=1e-3)
        G = [np.ones(N)]
        done = threading.Event()
        def swapper():
            while not done.is_set():
                G[0] = np.ones(N)
        t = threading.Thread(target=swapper); t.start()
        try:
            for _ in range(60):
                opt.step(G)
                simdoptim.functional.gd_update(opt._params, G, lr=1e-3)
                simdoptim.all_finite(G)
        finally:
            done.set(); t.join()
        print("ok")
    """)


def test_take_with_indices_changed_by_another_thread_stays_inside_X():
    """Indices are checked, then read again by the gather; a thread changing them in
    between gives unspecified rows or an IndexError, never a read outside X."""
    _run_isolated("""
        import threading, numpy as np, simdoptim
        X = np.zeros((1000, 3), np.float32)
        idx = np.zeros(2_000_000, np.int64)
        done = threading.Event()
        def flipper():
            while not done.is_set():
                idx[-1] = 1 << 40
                idx[-1] = 0
                idx[1000] = -(1 << 40)
                idx[1000] = 0
        t = threading.Thread(target=flipper); t.start()
        try:
            for _ in range(200):
                try:
                    simdoptim.take(X, idx)
                    simdoptim.take(X.T.copy(), idx, axis=1)
                except IndexError:
                    pass
        finally:
            done.set(); t.join()
        print("ok")
    """)


@pytest.mark.parametrize("layout", ["fortran", "transposed", "strided"])
def test_minibatches_read_the_live_array_like_the_reference(layout):
    base = np.arange(60, dtype=np.float64).reshape(12, 5)
    X = {"fortran": np.asfortranarray(base), "transposed": base.T.copy().T,
         "strided": np.arange(120.0).reshape(12, 10)[:, ::2]}[layout]
    Y = np.arange(12)[::-1]  # a negatively strided view
    fast = simdoptim.MiniBatches(X, Y, batch_size=5, seed=3)
    ref = reference.MiniBatches(X, Y, batch_size=5, seed=3)
    X *= 10  # after construction: both backends must see it
    for (xf, yf), (xr, yr) in zip(fast, ref):
        assert np.array_equal(xf, xr) and np.array_equal(yf, yr)
        assert xf.flags.c_contiguous
    assert np.isin(xf, X).all() and not np.isin(xf[xf != 0], base[base != 0]).all()


@pytest.mark.parametrize("mod", [simdoptim, reference], ids=["fast", "reference"])
def test_ewma_of_empty_array_with_huge_axis(mod):
    x = np.empty((0, 2**45), np.float32)
    out = mod.ewma(x, 0.9)
    assert out.shape == x.shape and out.dtype == np.float32


def test_set_num_threads_accepts_integers_and_refuses_the_rest():
    before = simdoptim.get_num_threads()
    try:
        simdoptim.set_num_threads(np.int64(2))
        assert simdoptim.get_num_threads() == 2
        for bad in (0, -1, 5000, 2**70):
            with pytest.raises(ValueError, match="between 1 and 4096"):
                simdoptim.set_num_threads(bad)
        for bad in (True, 2.0, "2", None):
            with pytest.raises(TypeError, match="n must be an int"):
                simdoptim.set_num_threads(bad)
        assert simdoptim.get_num_threads() == 2
    finally:
        simdoptim.set_num_threads(before)


def test_all_finite_layout_error_is_a_value_error():
    with pytest.raises(ValueError, match="contiguous"):
        simdoptim.all_finite([np.ones((4, 4))[:, ::2]])
    with pytest.raises(TypeError, match="expected float32, float64, bfloat16 or float16"):
        simdoptim.all_finite([np.ones(4, np.int32)])


@pytest.mark.parametrize("mod", [simdoptim, reference], ids=["fast", "reference"])
def test_flags_must_be_bools(mod):
    """A truthy string or an int is refused (TypeError), never taken as True; numpy.bool_ is fine."""
    w = np.zeros(3)
    for make in (lambda v: mod.Momentum([w], nesterov=v), lambda v: mod.Adam([w], amsgrad=v),
                 lambda v: mod.Adam([w], decoupled=v), lambda v: mod.RMSprop([w], centered=v),
                 lambda v: mod.EMA(0.9, bias_correction=v),
                 lambda v: mod.MiniBatches(np.ones((4, 2)), drop_last=v)):
        for bad in ("no", 1, None):
            with pytest.raises(TypeError, match="must be (a bool|True or False)"):
                make(bad)
        make(np.True_)
    fn = mod.functional if mod is simdoptim else mod
    g, v = np.ones(3), np.zeros(3)
    with pytest.raises(TypeError):
        fn.momentum_update([w], [g], [v], lr=0.1, nesterov="no")
    with pytest.raises(TypeError):
        fn.adam_update([w], [g], [v], [v.copy()], step=1, decoupled=1)
    with pytest.raises(TypeError):
        mod.ewma([1.0, 2.0], 0.9, bias_correction="yes")
    with pytest.raises(ValueError, match="form must be"):
        fn.momentum_update([w], [g], [v], lr=0.1, form=b"ema")
    assert np.array_equal(w, np.zeros(3)) and np.array_equal(v, np.zeros(3))


def test_flatten_state_refuses_long_double_scalars_clearly():
    from simdoptim import checkpoint

    with pytest.raises(TypeError, match="no exact JSON form"):
        checkpoint.flatten_state({"format": "x", "x": np.longdouble(1.5)})
