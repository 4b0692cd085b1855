"""Hypothesis drives random shapes, strides, dtypes, layouts, aliasing and garbage arguments
through the public API. The contract: a documented Python exception (and then every array
byte-identical) or a result bit-identical to the NumPy reference; never a crash. Run under
the sanitizer build (tools/sanitize.sh) this is also the memory-safety fuzzer."""

from __future__ import annotations

import os

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, event, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import simdoptim  # noqa: E402
from simdoptim import functional, reference  # noqa: E402

ALLOWED = (TypeError, ValueError, IndexError, KeyError, FloatingPointError)
SETTINGS = settings(max_examples=int(os.environ.get("SIMDOPTIM_FUZZ_EXAMPLES", "120")), deadline=None,
                    suppress_health_check=list(HealthCheck))

DTYPES = [np.float32, np.float64, np.float16, np.int32, np.complex64, np.bool_]
GARBAGE = [None, 1.0, "x", [1.0, 2.0], (1,), {"a": 1}, np.float64(2.0), object()]


@st.composite
def arrays(draw, shape=None, dtype=None):
    """An array of random dtype and shape in a random layout: C, Fortran, strided view,
    negative stride, read-only, byte-swapped; sometimes not an array at all."""
    if draw(st.integers(0, 19)) == 0:
        return draw(st.sampled_from(GARBAGE))
    if dtype is None or draw(st.integers(0, 9)) == 0:
        dtype = draw(st.sampled_from(DTYPES))
    if shape is None or draw(st.integers(0, 9)) == 0:
        shape = tuple(draw(st.lists(st.integers(0, 9), max_size=3)))
    layout = draw(st.sampled_from(["C", "C", "C", "F", "strided", "reversed", "readonly", "swapped"]))
    base = np.arange(int(np.prod(shape, dtype=np.int64)) * 2 + 1) % 7 - 3
    if layout == "strided":
        a = base[: 2 * int(np.prod(shape, dtype=np.int64)) : 2].astype(dtype)  # a copy; then make a view
        big = np.zeros(tuple(s * 2 for s in shape) or (), dtype)
        view = big[tuple(slice(None, None, 2) for _ in shape)] if shape else big
        view[...] = a.reshape(shape)
        return view
    a = base[: int(np.prod(shape, dtype=np.int64))].reshape(shape).astype(dtype)
    if layout == "F":
        return np.asfortranarray(a)
    if layout == "reversed" and a.ndim:
        return a[::-1]
    if layout == "readonly":
        a.flags.writeable = False
    if layout == "swapped":
        return a.astype(a.dtype.newbyteorder("S"))
    return a


scalars = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.0, 0.5, 0.9, 0.999, 1.0, -1.0, 1e-8]),
    st.integers(-3, 3), st.sampled_from([None, "0.1", True, np.float32(0.1)]),
)


def _bytes(objs):
    return [o.tobytes() if isinstance(o, np.ndarray) else repr(o) for o in objs]


def _copy(x):
    if isinstance(x, np.ndarray):
        c = np.array(x, copy=True)
        c.flags.writeable = x.flags.writeable
        return c
    if isinstance(x, list):
        return [_copy(a) for a in x]
    return x


@st.composite
def update_calls(draw):
    name = draw(st.sampled_from(["gd_update", "momentum_update", "rmsprop_update", "adam_update", "ema_update"]))
    n = draw(st.integers(0, 3))
    shapes = [tuple(draw(st.lists(st.integers(0, 40), max_size=2))) for _ in range(n)]
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    n_lists = {"gd_update": 2, "momentum_update": 3, "rmsprop_update": 3, "adam_update": 4, "ema_update": 2}[name]
    lists = []
    for _ in range(n_lists):
        lst = [draw(arrays(shape=s, dtype=dtype)) for s in shapes]
        if n and draw(st.integers(0, 14)) == 0:
            lst = lst[:-1]  # a length mismatch
        lists.append(lst)
    if n and draw(st.integers(0, 9)) == 0:  # aliasing: reuse one array in another role
        i, j = draw(st.integers(0, n_lists - 1)), draw(st.integers(0, n_lists - 1))
        if len(lists[i]) and len(lists[j]):
            lists[j][0] = lists[i][0]
    kw = {}
    for key in {"gd_update": ["lr", "weight_decay"], "momentum_update": ["lr", "beta", "weight_decay"],
                "rmsprop_update": ["lr", "beta2", "eps", "eps_root"], "adam_update": ["lr", "beta1", "beta2", "eps"],
                "ema_update": ["beta"]}[name]:
        kw[key] = draw(scalars) if draw(st.integers(0, 3)) == 0 else {"lr": 0.01, "weight_decay": 0.0}.get(key, 0.9)
    if name in ("adam_update", "ema_update"):
        kw["step"] = draw(st.one_of(st.integers(-1, 5), st.sampled_from([2**70, 1.5, None])))
    return name, lists, kw


@SETTINGS
@given(update_calls())
def test_functional_updates_never_crash(call):
    name, lists, kw = call
    everything = [a for lst in lists for a in lst]
    before = _bytes(everything)
    ref_lists = _copy(lists)
    try:
        getattr(functional, name)(*lists, **kw)
    except ALLOWED as e:
        event(f"refused: {type(e).__name__}")
        assert str(e)
        assert _bytes(everything) == before
        return
    event("accepted")
    # accepted by the fast path: the reference accepts it too and gives the same bits
    with np.errstate(all="ignore"):
        getattr(reference, name)(*ref_lists, **kw)
    assert _bytes([a for lst in lists for a in lst]) == _bytes([a for lst in ref_lists for a in lst])


@SETTINGS
@given(series=arrays(), beta=scalars, axis=st.one_of(st.integers(-4, 4), st.sampled_from([None, 1.5, "0"])),
       bias=st.booleans())
def test_ewma_never_crashes(series, beta, axis, bias):
    try:
        fast = simdoptim.ewma(series, beta, bias_correction=bias, axis=axis)
    except ALLOWED:
        return
    with np.errstate(all="ignore"):
        ref = reference.ewma(series, beta, bias_correction=bias, axis=axis)
    assert fast.dtype == ref.dtype and fast.shape == ref.shape and fast.tobytes() == ref.tobytes()


@st.composite
def optimizer_runs(draw):
    cls = draw(st.sampled_from(["GD", "Momentum", "RMSprop", "Adam"]))
    n = draw(st.integers(1, 3))
    shapes = [tuple(draw(st.lists(st.integers(0, 20), max_size=2))) for _ in range(n)]
    params = [draw(arrays(shape=s, dtype=np.float32)) for s in shapes]
    grads_seq = [[draw(arrays(shape=s, dtype=np.float32)) for s in shapes] for _ in range(draw(st.integers(1, 3)))]
    kw = {"lr": draw(scalars)} if draw(st.booleans()) else {}
    nonfinite = draw(st.sampled_from(["propagate", "skip", "raise", "bogus"]))
    return cls, params, grads_seq, kw, nonfinite


@SETTINGS
@given(optimizer_runs())
def test_optimizers_never_crash(run):
    cls, params, grads_seq, kw, nonfinite = run
    before = _bytes(params)
    try:
        opt = getattr(simdoptim, cls)(params, nonfinite=nonfinite, **kw)
    except ALLOWED:
        assert _bytes(params) == before
        return
    for grads in grads_seq:
        state = _bytes(params) + [repr(opt.state_dict())]
        try:
            with np.errstate(all="ignore"):
                event(f"step applied: {opt.step(grads)}")
        except ALLOWED as e:
            event(f"step refused: {type(e).__name__}")
            assert _bytes(params) + [repr(opt.state_dict())] == state


@SETTINGS
@given(values=st.lists(st.one_of(arrays(shape=(3,)), scalars), min_size=1, max_size=4), beta=scalars)
def test_ema_never_crashes(values, beta):
    try:
        ema = simdoptim.EMA(beta)
    except ALLOWED:
        return
    for v in values:
        try:
            with np.errstate(all="ignore"):
                ema.update(v)
        except ALLOWED:
            pass
