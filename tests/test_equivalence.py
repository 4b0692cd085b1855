"""Fast == reference, bit for bit.

For every algorithm variant of the registry, float32 and float64, tensor sizes around every
vector width (0, 1, lanes-1, lanes+1, 4*lanes+3 for 2, 4, 8 and 16 lanes) and ~1e6, every
SIMD path this CPU has, 1 and 2 threads: 50 steps of the fast optimizer and of the NumPy
reference from the same start and the same gradients must leave identical parameters and
identical optimizer state (np.array_equal, no tolerance).
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

import simdoptim
from registry import ALGORITHMS
from simdoptim import reference

STEPS = 50
# every lanes-1, lanes+1 and 4*lanes+3 for lanes in 2, 4, 8, 16, plus 0 and 1
SMALL_SIZES = sorted({0, 1} | {s for L in (2, 4, 8, 16) for s in (L - 1, L + 1, 4 * L + 3)})
SMALL_SHAPES = [(n,) for n in SMALL_SIZES] + [(3, 5), (2, 3, 4), (0, 4)]
FORTRAN_SHAPES = [(4, 6), (7, 3)]  # kept in Fortran order (the course's column layout)
LARGE_SHAPES = [(1_000_003,)]
DTYPES = [np.float32, np.float64]


def _make_params(kind, dtype, seed=0):
    rng = np.random.default_rng(seed)
    if kind == "small":
        ps = [rng.standard_normal(s).astype(dtype) for s in SMALL_SHAPES]
        ps += [np.asfortranarray(rng.standard_normal(s).astype(dtype)) for s in FORTRAN_SHAPES]
    else:
        ps = [rng.standard_normal(s).astype(dtype) for s in LARGE_SHAPES]
    return ps


@functools.cache
def _grads(kind, dtype):
    """STEPS lists of gradients, like the parameters in shape and layout. Magnitudes vary
    over steps and elements (including exact zeros) so eps and tiny values matter."""
    rng = np.random.default_rng(1234)
    params = _make_params(kind, dtype)
    out = []
    for _ in range(STEPS):
        gs = []
        for p in params:
            g = rng.standard_normal(p.shape) * (10.0 ** rng.uniform(-6, 1))
            if p.size:
                g.flat[:: max(1, p.size // 7)] = 0.0
            g = g.astype(dtype)
            gs.append(np.asfortranarray(g) if p.flags.f_contiguous and not p.flags.c_contiguous else g)
        out.append(gs)
    return out


def _run(module, algo, kind, dtype):
    params = _make_params(kind, dtype)
    opt = algo.make(module, params)
    for gs in _grads(kind, dtype):
        opt.step(gs)
    return params, opt.state_dict()


@functools.cache
def _reference_result(algo_name, kind, dtype):
    algo = next(a for a in ALGORITHMS if a.name == algo_name)
    return _run(reference, algo, kind, dtype)


def _assert_identical(fast, ref):
    (pf, sf), (pr, sr) = fast, ref
    assert len(pf) == len(pr)
    for i, (a, b) in enumerate(zip(pf, pr)):
        assert a.dtype == b.dtype and a.shape == b.shape
        if not np.array_equal(a, b):
            diff = np.flatnonzero(a.ravel(order="K") != b.ravel(order="K"))
            pytest.fail(f"params[{i}] (shape {a.shape}) differs at {diff.size} elements, first {diff[:5]}")
    assert sf["step"] == sr["step"] == STEPS
    assert sf["state"].keys() == sr["state"].keys()
    for k in sf["state"]:
        for i, (a, b) in enumerate(zip(sf["state"][k], sr["state"][k])):
            assert np.array_equal(a, b), f"state {k}[{i}] differs"


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("algo", ALGORITHMS, ids=repr)
def test_small_tensors_bit_exact(algo, dtype, isa, threads):
    _assert_identical(_run(simdoptim, algo, "small", dtype), _reference_result(algo.name, "small", dtype))


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("algo", ALGORITHMS, ids=repr)
def test_large_tensor_bit_exact(algo, dtype, isa, threads):
    _assert_identical(_run(simdoptim, algo, "large", dtype), _reference_result(algo.name, "large", dtype))


@pytest.mark.parametrize("algo", ALGORITHMS, ids=repr)
def test_mixed_dtypes_in_one_optimizer(algo, threads):
    """float32 and float64 tensors in one optimizer: one call, one parallel region, each
    tensor with its own dtype's kernel."""
    rng = np.random.default_rng(7)
    shapes = [(33,), (5, 7), (1000,), (17,)]
    dts = [np.float32, np.float64, np.float32, np.float64]
    start = [rng.standard_normal(s).astype(d) for s, d in zip(shapes, dts)]
    pf, pr = [a.copy() for a in start], [a.copy() for a in start]
    of, orf = algo.make(simdoptim, pf), algo.make(reference, pr)
    for _ in range(20):
        gs = [rng.standard_normal(s).astype(d) for s, d in zip(shapes, dts)]
        of.step(gs)
        orf.step(gs)
    for a, b in zip(pf, pr):
        assert a.dtype == b.dtype and np.array_equal(a, b)


@pytest.mark.parametrize("algo", ALGORITHMS, ids=repr)
def test_dict_params_course_keys(algo):
    """Parameters as a dict W1, b1, ...; gradients keyed dW1, db1, ... (extra keys such as
    dA1 ignored) or W1, b1: same numbers as the list form and as the reference."""
    rng = np.random.default_rng(3)
    shapes = {"W1": (5, 2), "b1": (5, 1), "W2": (2, 5), "b2": (2, 1)}
    start = {k: rng.standard_normal(s) for k, s in shapes.items()}
    pf = {k: v.copy() for k, v in start.items()}
    pr = {k: v.copy() for k, v in start.items()}
    pl = [v.copy() for v in start.values()]
    of, orf, ol = algo.make(simdoptim, pf), algo.make(reference, pr), algo.make(simdoptim, pl)
    for t in range(10):
        g = {k: rng.standard_normal(s) for k, s in shapes.items()}
        course_style = {"d" + k: v for k, v in g.items()}
        course_style["dA1"] = rng.standard_normal((5, 3))
        of.step(course_style if t % 2 else g)
        orf.step(g)
        ol.step(list(g.values()))
    for k, a in zip(shapes, pl):
        assert np.array_equal(pf[k], pr[k])
        assert np.array_equal(pf[k], a)


def test_single_array_params():
    rng = np.random.default_rng(0)
    w1 = rng.standard_normal(100).astype(np.float32)
    w2 = w1.copy()
    a, b = simdoptim.Adam(w1, lr=0.1), reference.Adam(w2, lr=0.1)
    for _ in range(5):
        g = rng.standard_normal(100).astype(np.float32)
        a.step(g)
        b.step(g)
    assert a.params is w1
    assert np.array_equal(w1, w2)
    assert not np.array_equal(w1, rng.standard_normal(100).astype(np.float32))


@pytest.mark.parametrize("algo", ALGORITHMS, ids=repr)
def test_functional_matches_classes(algo):
    """The functional layer is what the classes call: calling it by hand with the state
    the class keeps gives the class's numbers (fast and reference)."""
    rng = np.random.default_rng(11)
    w0 = rng.standard_normal(50)
    for module in (simdoptim, reference):
        w_cls = w0.copy()
        opt = algo.make(module, [w_cls])
        w_fn = w0.copy()
        shadow = algo.make(module, [w_fn.copy()])  # only for its hyper-parameters and state buffers
        state = {k: [np.zeros_like(w_fn)] for k in shadow.state_dict()["state"]}
        hp = shadow.hyperparams()
        fn = {
            "GD": module.functional.gd_update if module is simdoptim else module.gd_update,
            "Momentum": module.functional.momentum_update if module is simdoptim else module.momentum_update,
            "RMSprop": module.functional.rmsprop_update if module is simdoptim else module.rmsprop_update,
            "Adam": module.functional.adam_update if module is simdoptim else module.adam_update,
            "Adagrad": module.functional.adagrad_update if module is simdoptim else module.adagrad_update,
        }[opt.algorithm]
        if opt.algorithm == "Adagrad":  # the sums start where the class starts them
            state["state_sums"][0][...] = hp["initial_accumulator_value"]
        for t in range(1, 6):
            g = rng.standard_normal(50)
            opt.step([g])
            kw = dict(hp)
            if opt.algorithm == "Adam":
                kw["step"] = t
                amsgrad = kw.pop("amsgrad")
                fn([w_fn], [g], state["exp_avgs"], state["exp_avg_sqs"],
                   max_exp_avg_sqs=state["max_exp_avg_sqs"] if amsgrad else None, **kw)
            elif opt.algorithm == "RMSprop":
                kw.pop("centered")
                fn([w_fn], [g], state["square_avgs"], grad_avgs=state.get("grad_avgs"),
                   momentum_buffers=state.get("momentum_buffers"), **kw)
            elif opt.algorithm == "Momentum":
                fn([w_fn], [g], state["velocities"], **kw)
            elif opt.algorithm == "Adagrad":
                kw.pop("initial_accumulator_value")
                fn([w_fn], [g], state["state_sums"], step=t, **kw)
            else:
                fn([w_fn], [g], **kw)
        assert np.array_equal(w_cls, w_fn)


# -- EMA and ewma -------------------------------------------------------------------------


@pytest.mark.parametrize("bias_correction", [True, False])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_ema_arrays_bit_exact(dtype, bias_correction, isa, threads):
    rng = np.random.default_rng(5)
    shapes = [(n,) for n in SMALL_SIZES] + [(3, 5), (100_003,)]
    ef, er = simdoptim.EMA(0.9, bias_correction), reference.EMA(0.9, bias_correction)
    for _ in range(STEPS):
        xs = [rng.standard_normal(s).astype(dtype) for s in shapes]
        of, orf = ef.update(xs), er.update(xs)
        assert all(np.array_equal(a, b) and a.dtype == dtype for a, b in zip(of, orf))
    assert all(np.array_equal(a, b) for a, b in zip(ef.value, er.value))


def test_ema_scalars_and_dicts_match_reference():
    rng = np.random.default_rng(6)
    ef, er = simdoptim.EMA(0.98), reference.EMA(0.98)
    df, dr = simdoptim.EMA(0.5, bias_correction=False), reference.EMA(0.5, bias_correction=False)
    for _ in range(30):
        x = float(rng.standard_normal())
        assert ef.update(x) == er.update(x)
        d = {"W": rng.standard_normal((2, 3)), "b": rng.integers(-5, 5, size=(2, 1))}
        rf, rr = df.update(d), dr.update(d)
        assert rf.keys() == rr.keys() == d.keys()
        assert all(np.array_equal(rf[k], rr[k]) and rf[k].dtype == np.float64 for k in d)


@pytest.mark.parametrize("bias_correction", [True, False])
@pytest.mark.parametrize("dtype", DTYPES + [np.int64], ids=["f32", "f64", "i64"])
@pytest.mark.parametrize(
    "shape,axis",
    [((0,), -1), ((1,), 0), ((37,), -1), ((4, 200), -1), ((4, 200), 0), ((3, 5, 70), 1), ((2, 130, 3), 1),
     ((300, 67), 0), ((2, 0, 3), 1), ((5, 3), 1)],
)
def test_ewma_bit_exact(shape, axis, dtype, bias_correction, isa, threads):
    rng = np.random.default_rng(8)
    x = (rng.standard_normal(shape) * 10).astype(dtype)
    a = simdoptim.ewma(x, 0.9, bias_correction=bias_correction, axis=axis)
    b = reference.ewma(x, 0.9, bias_correction=bias_correction, axis=axis)
    assert a.shape == b.shape == x.shape
    assert a.dtype == b.dtype == (np.float32 if dtype == np.float32 else np.float64)
    assert a.flags.c_contiguous
    assert np.array_equal(a, b)


def test_ewma_accepts_lists_and_strided_input():
    x = np.arange(40, dtype=np.float64).reshape(5, 8)[:, ::2]  # non-contiguous view
    assert np.array_equal(simdoptim.ewma(x, 0.8, axis=0), reference.ewma(x, 0.8, axis=0))
    assert np.array_equal(simdoptim.ewma([1.0, 2.0, 3.0], 0.5), reference.ewma([1.0, 2.0, 3.0], 0.5))
