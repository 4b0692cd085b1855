"""Low precision: float16/bfloat16 data, master weights, stochastic rounding, fused unscaling
and clipping — the kernels give the reference's bits on every SIMD path and thread count.

bfloat16 needs ml_dtypes (``pip install 'simdoptim[bf16]'``); without it the bfloat16 cases
skip and the float16 ones still run.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

import simdoptim
from registry import LOWP_MODES
from simdoptim import functional, reference
from simdoptim.reference import _philox4x32_10, _random_bits, _round

try:
    import ml_dtypes

    BF16 = np.dtype(ml_dtypes.bfloat16)
except ImportError:  # the optional dependency is missing: bfloat16 cases skip
    ml_dtypes = None
    BF16 = None

needs_bf16 = pytest.mark.skipif(BF16 is None, reason="ml_dtypes is not installed (pip install 'simdoptim[bf16]')")
DTYPES = {"bf16": BF16, "f16": np.dtype(np.float16), "f32": np.dtype(np.float32), "f64": np.dtype(np.float64)}
LOWP = [pytest.param("bf16", marks=needs_bf16), "f16"]


def bits(a):
    """The bit pattern of an array, for exact comparisons (NaN included)."""
    return a.view({2: np.uint16, 4: np.uint32, 8: np.uint64}[a.dtype.itemsize])


def assert_same_bits(a, b, what):
    assert a.dtype == b.dtype and a.shape == b.shape, what
    if a.dtype.itemsize == 2:
        diff = np.flatnonzero(bits(a).ravel(order="K") != bits(b).ravel(order="K"))
    else:  # float32/float64 results: NaN payloads are the hardware's, compare NaN as NaN
        fa, fb = a.ravel(order="K"), b.ravel(order="K")
        diff = np.flatnonzero((bits(fa) != bits(fb)) & ~(np.isnan(fa) & np.isnan(fb)))
    if diff.size:
        pytest.fail(f"{what} differs at {diff.size} elements, first {diff[:5]}: {a.ravel(order='K')[diff[:3]]} vs "
                    f"{b.ravel(order='K')[diff[:3]]}")


# ---------------------------------------------------------------------------------------
# The generator and the rounding rule


def test_philox_known_answers():
    """Random123's published known-answer vectors for Philox4x32-10."""
    cases = [
        ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
        ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
        ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
         (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
    ]
    for ctr, key, out in cases:
        assert tuple(int(w) for w in _philox4x32_10(ctr, key)) == out


def test_random_bits_keying():
    """Each element's bits depend on its own index only (a prefix is a prefix), and every key
    (seed, step, tensor, stream) selects another stream; values are 16-bit."""
    long = _random_bits(1000, seed=7, step=3, tensor=2, stream=1)
    assert long.dtype == np.uint32 and long.max() < 2**16
    assert np.array_equal(_random_bits(300, seed=7, step=3, tensor=2, stream=1), long[:300])
    # the mapping documented in round_to: element e = 128 q + 64 h + 16 w + b
    e = 777
    q, h, w, b = e // 128, (e // 64) % 2, (e // 16) % 4, e % 16
    x = _philox4x32_10((16 * q + b, 0, 4 * 2 + 1, 3), (7, 0))
    assert long[e] == (int(x[w]) >> (16 * h)) & 0xFFFF
    for key in (dict(seed=8), dict(step=4), dict(tensor=3), dict(stream=2), dict(seed=7 + 2**32)):
        other = _random_bits(1000, **{**dict(seed=7, step=3, tensor=2, stream=1), **key})
        assert np.mean(other == long) < 0.01, key
    # roughly uniform: every 16th of the range about equally often
    counts = np.bincount(_random_bits(2**16, seed=1, step=1, tensor=0, stream=0) >> 12, minlength=16)
    assert counts.min() > 3500 and counts.max() < 4700


def _boundary_sample():
    """float32 bit patterns: every one of the 2^16 high halves with low halves at and around
    every rounding boundary of bfloat16 (bit 16) and float16 (bit 13), plus random ones."""
    lows = {0x0000, 0x0001, 0x7FFF, 0x8000, 0x8001, 0xFFFF, 0x4000, 0xC000}
    for b13 in (0, 1):
        for hi2 in range(4):
            for low13 in (0x0000, 0x0001, 0x0FFF, 0x1000, 0x1001, 0x1FFF):
                lows.add((hi2 << 14) | (b13 << 13) | low13)
    lows = np.array(sorted(lows), np.uint32)
    rng = np.random.default_rng(0)
    lows = np.concatenate([lows, rng.integers(0, 2**16, 8, dtype=np.uint32)])
    highs = np.arange(2**16, dtype=np.uint32) << np.uint32(16)
    return (highs[:, None] | lows[None, :]).ravel().view(np.float32)


@functools.cache
def _reference_rounding(dtype_name, rounding):
    x = _boundary_sample()
    dt = DTYPES[dtype_name]
    b = _random_bits(x.size, seed=99, step=5, tensor=3, stream=2) if rounding == "stochastic" else None
    return _round(x, dt, rounding, b)


@pytest.mark.parametrize("rounding", ["nearest", "stochastic"])
@pytest.mark.parametrize("dtype_name", LOWP)
def test_kernel_rounding_is_the_reference_rounding(dtype_name, rounding, isa, threads):
    """Every float32 exponent, sign, NaN, infinity and subnormal, at every rounding boundary:
    the kernels' stores give the reference's bits on this path and thread count."""
    x = _boundary_sample()
    out = np.empty(x.shape, DTYPES[dtype_name])
    simdoptim._core._round(x, out, stochastic=rounding == "stochastic", seed=99, step=5, tensor=3, stream=2)
    assert_same_bits(out, _reference_rounding(dtype_name, rounding), f"{dtype_name} {rounding}")


@pytest.mark.parametrize("dtype_name", LOWP)
def test_nearest_is_numpys_and_ml_dtypes_cast(dtype_name):
    """Round to nearest is exactly NumPy's float16 cast and ml_dtypes' bfloat16 cast (every
    boundary, subnormals kept, overflow to infinity); only NaN payloads become canonical."""
    x = _boundary_sample()
    dt = DTYPES[dtype_name]
    with np.errstate(over="ignore", invalid="ignore"):
        cast = x.astype(dt)
    ours = _round(x, dt, "nearest")
    nan = np.isnan(x)
    assert np.array_equal(bits(ours)[~nan], bits(cast)[~nan])
    canonical = 0x7FC0 if dtype_name == "bf16" else 0x7E00
    assert np.array_equal(bits(ours)[nan], (canonical | (x.view(np.uint32)[nan] >> 16) & 0x8000).astype(np.uint16))


def _ulp(x, dt):
    """The target's last place at |x| (bfloat16: 8 bits, float16: 11 bits and subnormals at 2^-24)."""
    e = np.frexp(np.float64(x))[1] - 1  # x = m * 2^e, 1 <= m < 2
    if dt == np.float16:
        return 2.0 ** (max(e, -14) - 10)
    return 2.0 ** (max(e, -126) - 7)


def _all_r(x, dt):
    """round(x) for every 16-bit r: the exact expectation of stochastic rounding."""
    r = np.arange(2**16, dtype=np.uint32)
    return _round(np.full(r.size, x, np.float32), dt, "stochastic", r).astype(np.float64)


@pytest.mark.parametrize("dtype_name", LOWP)
def test_stochastic_rounding_is_exactly_unbiased(dtype_name):
    """Over all 2^16 values of r the mean of the rounded value is x itself (float16 subnormal
    results: within 2^-16 of their last place, the documented truncation), for normal,
    subnormal, negative, tie and grid values; each result is one of x's two neighbours."""
    dt = DTYPES[dtype_name]
    rng = np.random.default_rng(3)
    xs = [1.0 + 2**-9, -3.14159, 0.1, 1e-30 if dtype_name == "bf16" else 1e-6, 65504.0 - 7.0, 2.5e-39, 1.0,
          float(np.float32(1 / 3)), *rng.standard_normal(6)]
    for x in xs:
        x32 = np.float32(x)
        vals = _all_r(x32, dt)
        assert len(np.unique(vals)) <= 2, x  # x truncated (r = 0), or one place further from 0
        assert vals[0] == float(np.trunc(float(x32) / _ulp(x32, dt)) * _ulp(x32, dt)), x
        if dtype_name == "f16" and abs(float(x32)) < 2.0**-14:
            assert abs(vals.mean() - float(x32)) <= 2.0**-24 * 2.0**-16, x
        else:
            assert vals.mean() == float(x32), x


@pytest.mark.parametrize("dtype_name", LOWP)
def test_stochastic_rounding_mean_over_seeds_converges(dtype_name, isa):
    """The kernels' stochastic rounding of one value, drawn with 400 seeds over 1024 elements
    each: the mean converges to the value (within 5 standard errors), not to a neighbour."""
    dt = DTYPES[dtype_name]
    for x in (1.0 + 0.3 * 2**-7, -(2.0 ** -20) * 1.37, 1000.0 + 0.77 * (0.5 if dtype_name == "f16" else 4.0)):
        x32 = np.float32(x)
        src = np.full(1024, x32, np.float32)
        out = np.empty(1024, dt)
        total = 0.0
        seeds = 400
        for seed in range(seeds):
            simdoptim._core._round(src, out, stochastic=True, seed=seed, step=1)
            total += out.astype(np.float64).sum()
        mean = total / (seeds * src.size)
        lo, hi = np.sort(np.unique(_all_r(x32, dt)))[[0, -1]]
        p = (float(x32) - lo) / (hi - lo)
        se = (hi - lo) * np.sqrt(p * (1 - p) / (seeds * src.size))
        assert abs(mean - float(x32)) <= 5 * se + 1e-12 * abs(float(x32)), (x, mean, se)
        assert abs(mean - lo) > 10 * se and abs(mean - hi) > 10 * se  # not stuck on a neighbour


def test_public_round_to_both_backends():
    """round_to (both backends) is the rule with the bits of the documented keying, in C order."""
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((37, 21)) * 100).astype(np.float32)
    for rounding in ("nearest", "stochastic"):
        a = functional.round_to(x, np.float16, rounding, seed=5, step=2, tensor=1, stream=3)
        b = reference.round_to(x, np.float16, rounding, seed=5, step=2, tensor=1, stream=3)
        assert a.flags.c_contiguous and a.dtype == np.float16
        assert_same_bits(a, b, rounding)
    bits_expected = _random_bits(x.size, seed=5, step=2, tensor=1, stream=3).reshape(x.shape)
    assert_same_bits(reference.round_to(x, np.float16, "stochastic", seed=5, step=2, tensor=1, stream=3),
                     _round(x, np.float16, "stochastic", bits_expected), "keying")
    assert functional.round_to(x, np.float64).dtype == np.float64


# ---------------------------------------------------------------------------------------
# Adam in every mode: fast == reference, bit for bit

STEPS = 12
SMALL = [(n,) for n in (0, 1, 3, 5, 7, 9, 15, 17, 31, 33, 67, 129, 300)] + [(3, 5), (2, 3, 4)]
FORTRAN = [(4, 6), (7, 3)]
LARGE = [(70_001,)]


def _start(kind, mode, seed=0):
    rng = np.random.default_rng(seed)
    shapes = SMALL + FORTRAN if kind == "small" else LARGE
    out = []
    for s in shapes:
        a = (rng.standard_normal(s) * 2).astype(DTYPES[mode.params])
        out.append(np.asfortranarray(a) if s in FORTRAN else a)
    return out


def _grads(kind, mode, seed=1):
    rng = np.random.default_rng(seed)
    shapes = SMALL + FORTRAN if kind == "small" else LARGE
    for _ in range(STEPS):
        gs = []
        for s in shapes:
            g = rng.standard_normal(s) * 10.0 ** rng.uniform(-4, 1)
            if g.size:
                g.flat[:: max(1, g.size // 5)] = 0.0
            g = g.astype(DTYPES[mode.grads])
            gs.append(np.asfortranarray(g) if s in FORTRAN else g)
        yield gs


def _run(module, mode, kind, grad_scale=None):
    params = _start(kind, mode)
    opt = mode.make(module, params)
    for gs in _grads(kind, mode):
        if grad_scale is not None:
            gs = [(g.astype(np.float64) * grad_scale).astype(g.dtype) for g in gs]
            opt.step(gs, grad_scale=grad_scale)
        else:
            opt.step(gs)
    return params, opt.state_dict(), opt.grad_norms


@functools.cache
def _reference(mode_name, kind, grad_scale=None):
    mode = next(m for m in LOWP_MODES if m.name == mode_name)
    return _run(reference, mode, kind, grad_scale)


def _compare(fast, ref):
    (pf, sf, nf), (pr, sr, nr) = fast, ref
    for i, (a, b) in enumerate(zip(pf, pr)):
        assert_same_bits(a, b, f"params[{i}]")
    assert sf["state"].keys() == sr["state"].keys()
    for k in sf["state"]:
        for i, (a, b) in enumerate(zip(sf["state"][k], sr["state"][k])):
            if a is not None:
                assert_same_bits(a, b, f"{k}[{i}]")
    for i, (a, b) in enumerate(zip(sf.get("master_weights", []), sr.get("master_weights", []))):
        if a is not None:
            assert_same_bits(a, b, f"master_weights[{i}]")
    assert nf == nr  # the norms: equal floats (None without clipping)


def _mode_params(modes):
    return [pytest.param(m, marks=needs_bf16) if "bf16" in (m.params, m.grads, m.state) else m for m in modes]


@pytest.mark.parametrize("mode", _mode_params(LOWP_MODES), ids=repr)
def test_small_tensors_bit_exact(mode, isa, threads):
    _compare(_run(simdoptim, mode, "small"), _reference(mode.name, "small"))


@pytest.mark.parametrize("mode", _mode_params(LOWP_MODES), ids=repr)
def test_large_tensor_bit_exact(mode, isa, threads):
    _compare(_run(simdoptim, mode, "large"), _reference(mode.name, "large"))


@pytest.mark.parametrize("grad_scale", [1024.0, 3.0, 0.75])
@pytest.mark.parametrize("mode", _mode_params([m for m in LOWP_MODES if "clip" in m.name or "master" in m.name]),
                         ids=repr)
def test_unscaled_steps_bit_exact(mode, grad_scale, isa, threads):
    """Loss scaling: the gradients are multiplied by S outside and divided by S inside the
    step (a power of two, where the kernels multiply by 1/S, and two other scales)."""
    _compare(_run(simdoptim, mode, "small", grad_scale), _reference(mode.name, "small", grad_scale))


def test_master_weights_write_the_rounded_copy_in_the_same_step():
    """With master_weights the caller's bfloat16/float16 array is, after every step, the
    master rounded to nearest; the master starts as the parameters' exact float32 value."""
    rng = np.random.default_rng(5)
    p = rng.standard_normal(1000).astype(np.float16)
    start = p.astype(np.float32)
    opt = simdoptim.Adam([p], lr=1e-3, master_weights=True)
    assert np.array_equal(opt.master_params[0], start) and opt.master_params[0].dtype == np.float32
    for _ in range(5):
        opt.step([rng.standard_normal(1000).astype(np.float16)])
        assert np.array_equal(bits(p), bits(opt.master_params[0].astype(np.float16)))
    assert not np.array_equal(opt.master_params[0], start)


def test_groups_key_the_random_bits_by_flat_tensor_index(threads):
    """Parameter groups: a stochastic-rounding step of two groups equals the reference's, and
    each tensor draws its own bits (its position in the optimizer), so two groups holding
    equal tensors with equal gradients still round differently."""
    rng = np.random.default_rng(2)
    a = rng.standard_normal(500).astype(np.float16)
    mk = lambda m, ps: m.Adam([{"params": [ps[0]]}, {"params": [ps[1]], "lr": 1e-3}], lr=1e-3,  # noqa: E731
                              rounding="stochastic", state_dtype="float16", seed=9)
    pf, pr = [a.copy(), a.copy()], [a.copy(), a.copy()]
    of, orf = mk(simdoptim, pf), mk(reference, pr)
    for _ in range(3):
        g = rng.standard_normal(500).astype(np.float16)
        of.step([[g], [g]])
        orf.step([[g], [g]])
    for x, y in zip(pf, pr):
        assert_same_bits(x, y, "params")
    assert not np.array_equal(bits(pf[0]), bits(pf[1]))


def test_stochastic_rounding_reproducible_and_seeded():
    """The same seed gives the same bits run after run; another seed other bits."""
    def run(seed, nt):
        simdoptim.set_num_threads(nt)
        rng = np.random.default_rng(4)
        p = rng.standard_normal(50_000).astype(np.float16)
        opt = simdoptim.Adam([p], lr=1e-3, rounding="stochastic", state_dtype="float16", seed=seed)
        for _ in range(3):
            opt.step([rng.standard_normal(50_000).astype(np.float16)])
        return bits(p).copy()

    before = simdoptim.get_num_threads()
    try:
        assert np.array_equal(run(1, 1), run(1, 2))
        assert np.array_equal(run(1, 2), run(1, 2))
        assert np.mean(run(1, 2) != run(2, 2)) > 0.05
    finally:
        simdoptim.set_num_threads(before)


def test_stochastic_rounding_keeps_learning_where_nearest_stalls():
    """Known: with bfloat16-sized updates far below half a unit in the last place, nearest
    rounding writes w back unchanged; stochastic rounding moves w by the update on average."""
    p0 = np.full(4096, 1.0, np.float16)  # float16 ulp at 1: 2^-10; the step is ~1e-5 per update
    pn, ps = p0.copy(), p0.copy()
    on = simdoptim.Adam([pn], lr=1e-5)
    os_ = simdoptim.Adam([ps], lr=1e-5, rounding="stochastic", seed=1)
    g = np.full(4096, 1.0, np.float16)
    for _ in range(50):
        on.step([g])
        os_.step([g])
    assert np.all(pn == 1.0)  # stalled
    moved = 1.0 - ps.astype(np.float64).mean()
    assert 0.7 * 50e-5 < moved < 1.3 * 50e-5  # ~ lr per step, in expectation


# ---------------------------------------------------------------------------------------
# The gradient's norm, unscaling and clipping


@functools.cache
def _norm_grads():
    rng = np.random.default_rng(8)
    gs = [rng.standard_normal(s).astype(np.float32) * 10.0 ** rng.uniform(-3, 3) for s in
          [(1,), (2047,), (2048,), (2049,), (10_000,), (3, 7), (0,), (123_457,)]]
    gs.append(np.asfortranarray(rng.standard_normal((67, 45)).astype(np.float32)))
    gs.append(rng.standard_normal(5000).astype(np.float16))
    gs.append(rng.standard_normal(4099))  # float64
    if BF16 is not None:
        gs.append(rng.standard_normal(3001).astype(BF16))
    return gs


@pytest.mark.parametrize("grad_scale", [None, 512.0, 3.0])
def test_grad_norm_bit_exact(grad_scale, isa, threads):
    """The read pass sums in the reference's fixed order: the same float on every path and
    thread count, blocks and lanes included (not merely close)."""
    gs = _norm_grads()
    fast = functional.grad_norm(gs, grad_scale)
    ref = reference.grad_norm(gs, grad_scale)
    assert fast == ref
    exact = np.sqrt(sum(float(np.sum((reference._unscaled(g, grad_scale).astype(np.float64)) ** 2)) for g in gs))
    assert abs(fast - exact) <= 1e-12 * exact


def test_grad_norm_order_is_the_parameters():
    """A gradient laid out differently from its parameter is summed in the parameter's order."""
    rng = np.random.default_rng(9)
    p = np.asfortranarray(rng.standard_normal((300, 50)).astype(np.float32))
    g = np.ascontiguousarray(rng.standard_normal((300, 50)).astype(np.float32) * 1e3)
    assert functional.grad_norm([g], None, [p]) == reference.grad_norm([g], None, [p])
    assert functional.grad_norm([g]) == reference.grad_norm([g])


def test_clipping_semantics():
    """max_grad_norm: gradients are scaled by min(1, max / (norm + 1e-6)); the norm is read
    back as grad_norm; a norm under the limit leaves the step unchanged; inf only measures."""
    rng = np.random.default_rng(10)
    g = [rng.standard_normal(1000).astype(np.float32) * 3]
    n = float(np.sqrt(np.sum(g[0].astype(np.float64) ** 2)))
    base = rng.standard_normal(1000).astype(np.float32)
    outs = {}
    for name, kw, grads in (("plain", {}, g), ("inf", {"max_grad_norm": float("inf")}, g),
                            ("clipped", {"max_grad_norm": 1.0}, g),
                            ("prescaled", {}, [g[0] * np.float32(1.0 / (n + 1e-6))])):
        p = base.copy()
        opt = simdoptim.Adam([p], lr=0.1, **kw)
        opt.step(grads)
        outs[name] = (p, opt.grad_norm)
    assert np.array_equal(outs["plain"][0], outs["inf"][0]) and outs["plain"][1] is None
    assert outs["inf"][1] == outs["clipped"][1] == reference.grad_norm(g)
    assert abs(outs["clipped"][1] - n) < 1e-9 * n
    # clipping equals unclipped steps of gradients scaled by the same float32 coefficient
    assert np.array_equal(outs["clipped"][0], outs["prescaled"][0])


def test_grad_norms_per_group():
    rng = np.random.default_rng(11)
    ps = [rng.standard_normal(100).astype(np.float32) for _ in range(3)]
    gs = [rng.standard_normal(100).astype(np.float32) for _ in range(3)]
    opts = []
    for m in (simdoptim, reference):
        opt = m.Adam([{"params": [ps[0].copy(), ps[1].copy()], "max_grad_norm": 0.5}, {"params": [ps[2].copy()]}],
                     lr=0.1)
        opt.step([[gs[0], gs[1]], [gs[2]]])
        opts.append(opt)
        assert opt.grad_norms[0] == reference.grad_norm(gs[:2]) and opt.grad_norms[1] is None
        with pytest.raises(AttributeError, match="grad_norms"):
            opt.grad_norm  # noqa: B018 - the attribute access itself must raise
    assert all(np.array_equal(a, b) for a, b in zip(opts[0].params[0] + opts[0].params[1],
                                                    opts[1].params[0] + opts[1].params[1]))


@pytest.mark.parametrize("nonfinite", ["skip", "raise"])
@pytest.mark.parametrize("backend", [simdoptim, reference], ids=["fast", "reference"])
def test_nonfinite_after_unscaling(backend, nonfinite):
    """A gradient that overflows only when divided by a loss scale below 1 is non-finite
    after unscaling: the policy applies, nothing is written."""
    p = np.ones(10, np.float32)
    opt = backend.Adam([p], lr=0.1, nonfinite=nonfinite)
    assert opt.step([np.full(10, 1e19, np.float32)], grad_scale=1.0) is True  # finite, squares too
    g = np.full(10, 3e38, np.float32)
    before = p.copy()
    if nonfinite == "raise":
        with pytest.raises(FloatingPointError, match=r"grads\[0\]"):
            opt.step([g], grad_scale=0.5)
    else:
        assert opt.step([g], grad_scale=0.5) is False and opt.skipped_steps == 1
    assert np.array_equal(p, before) and opt.t == 1


@pytest.mark.parametrize("backend", [simdoptim, reference], ids=["fast", "reference"])
def test_functional_returns_the_norm_and_writes_copies(backend):
    rng = np.random.default_rng(12)
    mod = backend.functional if backend is simdoptim else reference
    w = rng.standard_normal(300).astype(np.float32)
    c = np.zeros(300, np.float16)
    g = [rng.standard_normal(300).astype(np.float16)]
    m, v = [np.zeros(300, np.float16)], [np.zeros(300, np.float16)]
    norm = mod.adam_update([w], g, m, v, step=1, lr=0.01, max_grad_norm=1.0, copies=[c], rounding="stochastic")
    assert norm == reference.grad_norm(g)
    assert np.array_equal(bits(c), bits(w.astype(np.float16)))
    assert mod.adam_update([w], g, m, v, step=2, lr=0.01) is None


# ---------------------------------------------------------------------------------------
# Checkpoints keep master weights and low-precision state exactly


@needs_bf16
@pytest.mark.parametrize("backend", [simdoptim, reference], ids=["fast", "reference"])
def test_checkpoint_keeps_masters_and_bf16_state(backend, tmp_path):
    rng = np.random.default_rng(13)
    start = rng.standard_normal((20, 30)).astype(BF16)
    grads = [[rng.standard_normal((20, 30)).astype(BF16)] for _ in range(6)]
    mk = lambda p: backend.Adam([p], lr=1e-2, master_weights=True, state_dtype="bfloat16",  # noqa: E731
                                rounding="stochastic", seed=77)
    p = start.copy()
    opt = mk(p)
    for g in grads[:3]:
        opt.step(g)
    path = tmp_path / "ck.npz"
    simdoptim.save_checkpoint(path, opt, params=[p])
    for g in grads[3:]:
        opt.step(g)
    sd, saved_params = simdoptim.load_checkpoint(path)
    assert sd["master_weights"][0].dtype == np.float32 and sd["state"]["exp_avgs"][0].dtype == BF16
    q = np.asarray(saved_params[0]).copy()
    assert q.dtype == BF16
    twin = backend.Adam([q], lr=0.5, master_weights=True, state_dtype="bfloat16")  # options restored by the state
    twin.load_state_dict(sd)
    assert twin.rounding == "stochastic" and twin.seed == 77
    for g in grads[3:]:
        twin.step(g)
    assert_same_bits(q, p, "params")
    assert_same_bits(twin.master_params[0], opt.master_params[0], "master")
    for k in ("exp_avgs", "exp_avg_sqs"):
        assert_same_bits(twin.state_dict()["state"][k][0], opt.state_dict()["state"][k][0], k)


@needs_bf16
def test_state_dtype_is_checked_against_the_master():
    """With master weights a float16/bfloat16 parameter is updated as its float32 master, whose
    state may be float32, bfloat16 or float16: each combination builds and steps to the
    reference's bits; without masters the other low-precision dtype is refused, naming
    state_dtype."""
    for pd, sd in ((BF16, "float16"), (np.dtype(np.float16), "bfloat16")):
        got = []
        for B in (simdoptim, reference):
            w = np.linspace(-1, 1, 37).astype(pd)
            opt = B.Adam([w], lr=0.01, master_weights=True, state_dtype=sd)
            for t in range(3):
                opt.step([np.linspace(0.5, -0.25, 37).astype(pd) * (t + 1)])
            assert opt.state_dict()["state"]["exp_avgs"][0].dtype == np.dtype(BF16 if sd == "bfloat16" else sd)
            got.append((w.tobytes(), opt.master_params[0].tobytes()))
        assert got[0] == got[1]
        with pytest.raises(TypeError, match=f"state_dtype='{sd}' cannot hold the state of params\\[0\\]"):
            simdoptim.Adam([np.ones(3, pd)], state_dtype=sd)


def test_checkpoint_refuses_master_mismatch():
    p = np.ones(5, np.float16)
    a = simdoptim.Adam([p], master_weights=True)
    b = simdoptim.Adam([np.ones(5, np.float16)])
    with pytest.raises(ValueError, match="the state has master weights but this optimizer keeps none"):
        b.load_state_dict(a.state_dict())
    with pytest.raises(ValueError, match="the state has no master weights but this optimizer keeps them"):
        a.load_state_dict(b.state_dict())


@needs_bf16
@pytest.mark.parametrize("backend", [simdoptim, reference], ids=["fast", "reference"])
def test_averages_of_low_precision_values_are_float64(backend):
    """EMA and ewma read float16/bfloat16 values (exactly representable in float64) and
    average them in float64, as they do integers."""
    for dt in (np.float16, BF16):
        x = np.array([0.5, 1.25, -3.0, 1e-2], dt)
        ema = backend.EMA(0.9)
        got = ema.update([x])[0]
        assert got.dtype == np.float64
        assert got.tobytes() == backend.EMA(0.9).update([x.astype(np.float64)])[0].tobytes()
        series = backend.ewma(x, 0.9)
        assert series.dtype == np.float64
        assert series.tobytes() == backend.ewma(x.astype(np.float64), 0.9).tobytes()


def test_old_states_without_the_new_options_still_load():
    """A state saved before Adam had 'order' and 'max_grad_norm' loads as literal order, no clipping."""
    opt = simdoptim.Adam([np.ones(4, np.float32)], lr=0.1)
    sd = opt.state_dict()
    for g in sd["param_groups"]:
        del g["order"], g["max_grad_norm"]
    for k in ("rounding", "seed"):
        del sd[k]
    twin = simdoptim.Adam([np.ones(4, np.float32)], lr=0.3, order="pytorch", max_grad_norm=1.0)
    twin.load_state_dict(sd)
    assert twin.param_groups[0]["order"] == "literal" and twin.param_groups[0]["max_grad_norm"] is None


# ---------------------------------------------------------------------------------------
# What the dtype rules accept, both backends alike


@pytest.mark.parametrize("backend", [simdoptim, reference], ids=["fast", "reference"])
def test_dtype_rules(backend):
    f16 = np.float16
    ok = [
        (dict(), [np.ones(3, f16)], [np.ones(3, f16)]),
        (dict(state_dtype="float16"), [np.ones(3, f16)], [np.ones(3, f16)]),
        (dict(), [np.ones(3, np.float32)], [np.ones(3, f16)]),
        (dict(state_dtype=np.float16), [np.ones(3, np.float32)], [np.ones(3, np.float32)]),
    ]
    for kw, ps, gs in ok:
        opt = backend.Adam(ps, **kw)
        assert opt.step(gs) is True
        want = np.dtype(kw.get("state_dtype") or (np.float32 if ps[0].dtype == f16 else ps[0].dtype))
        assert opt.state_dict()["state"]["exp_avgs"][0].dtype == want
    with pytest.raises(TypeError, match="params"):
        backend.Adam([np.ones(3, np.float64)], state_dtype="float16")
    with pytest.raises(TypeError, match=r"grads\[0\]"):
        backend.Adam([np.ones(3, f16)]).step([np.ones(3, np.float32)])
    with pytest.raises(TypeError, match=r"grads\[0\]"):
        backend.GD([np.ones(3, f16)], lr=0.1).step([np.ones(3, np.float32)])
    with pytest.raises(ValueError, match="eps_root"):
        backend.Adam([np.ones(3, np.float32)], order="pytorch", eps_root=1e-8)
    with pytest.raises(TypeError, match=r"averages\[0\]"):
        backend.functional.ema_update([np.ones(3, f16)], [np.ones(3, f16)], beta=0.9, step=1) if backend is simdoptim \
            else reference.ema_update([np.ones(3, f16)], [np.ones(3, f16)], beta=0.9, step=1)
