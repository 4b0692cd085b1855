"""Hypothesis over hyper-parameters and shapes (fast == reference, bit for bit, on every
SIMD path), and the algorithms' worked examples and identities (the course's) as tests of the reference."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import simdoptim
from simdoptim import _core, reference

ISAS = simdoptim.cpu_info()["isas"]
DEFAULT_ISA = simdoptim.cpu_info()["isa"]

betas = st.floats(0.0, 0.9999, exclude_max=False)
rates = st.floats(0.0, 1.0)
small = st.floats(0.0, 1e-3)
shapes = st.lists(st.integers(0, 40), min_size=1, max_size=3).map(tuple)

optimizers = st.one_of(
    st.builds(lambda lr, wd: ("GD", dict(lr=lr, weight_decay=wd)), rates, small),
    st.builds(
        lambda lr, b, form, nest, wd: ("Momentum", dict(lr=lr, beta=b, form=form, nesterov=nest, weight_decay=wd)),
        rates, betas, st.sampled_from(["ema", "sum"]), st.booleans(), small,
    ),
    st.builds(
        lambda lr, b2, eps, er, wd, mom, c: ("RMSprop", dict(lr=lr, beta2=b2, eps=eps, eps_root=er, weight_decay=wd,
                                                             momentum=mom, centered=c)),
        rates, betas, st.floats(1e-12, 1e-2), small, small, st.sampled_from([0.0, 0.5, 0.9]), st.booleans(),
    ),
    st.builds(
        lambda lr, b1, b2, eps, er, wd, dec, ams: ("Adam", dict(lr=lr, beta1=b1, beta2=b2, eps=eps, eps_root=er,
                                                               weight_decay=wd, decoupled=dec, amsgrad=ams)),
        rates, betas, betas, st.floats(1e-12, 1e-2), small, small, st.booleans(), st.booleans(),
    ),
)


@settings(max_examples=60, deadline=None)
@given(opt=optimizers, shape=shapes, dtype=st.sampled_from([np.float32, np.float64]),
       seed=st.integers(0, 2**32 - 1), scale=st.floats(-8, 3))
def test_random_hyperparameters_bit_exact(opt, shape, dtype, seed, scale):
    name, kw = opt
    rng = np.random.default_rng(seed)
    w0 = rng.standard_normal(shape).astype(dtype)
    grads = [(rng.standard_normal(shape) * 10.0**scale).astype(dtype) for _ in range(4)]
    wr = w0.copy()
    ref = getattr(reference, name)([wr], **kw)
    # Extreme hyper-parameters may produce NaN or inf (centered RMSprop's s - a*a can round
    # below zero in float32, and sqrt of it is NaN, as in PyTorch); the backends must agree
    # on those too, bit for bit. NumPy warns about them, the kernels do not: silence NumPy.
    with np.errstate(all="ignore"):
        for g in grads:
            ref.step([g])
    try:
        for isa in ISAS:
            _core._select_isa(isa)
            wf = w0.copy()
            fast = getattr(simdoptim, name)([wf], **kw)
            for g in grads:
                fast.step([g])
            assert np.array_equal(wf, wr, equal_nan=True), isa
    finally:
        _core._select_isa(DEFAULT_ISA)


@settings(max_examples=40, deadline=None)
@given(beta=betas, length=st.integers(0, 30), width=st.integers(1, 20), axis=st.sampled_from([0, 1, -1]),
       bc=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_ewma_random_bit_exact(beta, length, width, axis, bc, seed):
    x = np.random.default_rng(seed).standard_normal((length, width))
    for isa in ISAS:
        _core._select_isa(isa)
        try:
            assert np.array_equal(simdoptim.ewma(x, beta, bc, axis), reference.ewma(x, beta, bc, axis), equal_nan=True)
        finally:
            _core._select_isa(DEFAULT_ISA)


# -- exponentially weighted averages: the worked examples ------------------------------------


def test_spec_bias_correction_worked_example():
    """beta = 0.98: v_2 = 0.0196*theta_1 + 0.02*theta_2, and 1 - 0.98^2 = 0.0396."""
    th1, th2 = 12.0, 7.0
    for ewma in (reference.ewma, simdoptim.ewma):
        raw = ewma([th1, th2], 0.98, bias_correction=False)
        assert raw[1] == pytest.approx(0.0196 * th1 + 0.02 * th2, rel=1e-14)
        corrected = ewma([th1, th2], 0.98)
        assert 1 - 0.98**2 == pytest.approx(0.0396, rel=1e-14)
        assert corrected[1] == pytest.approx((0.0196 * th1 + 0.02 * th2) / 0.0396, rel=1e-14)
        # the correction removes the bias toward 0: a constant series averages to itself
        assert np.allclose(ewma(np.full(50, 3.0), 0.98), 3.0, rtol=1e-13)
        assert ewma(np.full(50, 3.0), 0.98, bias_correction=False)[0] == pytest.approx(0.06)


@pytest.mark.parametrize("beta", [0.5, 0.9, 0.98])
def test_spec_unrolled_weights(beta):
    """v_t = sum_k (1-beta) beta^k theta_{t-k}; an impulse shows the weights, which fall to
    about 1/e after 1/(1-beta) steps (0.9^10 ~ 0.35)."""
    theta = np.random.default_rng(0).standard_normal(60)
    v = reference.ewma(theta, beta, bias_correction=False)
    t = len(theta) - 1
    unrolled = sum((1 - beta) * beta**k * theta[t - k] for k in range(t + 1))
    assert v[-1] == pytest.approx(unrolled, rel=1e-12, abs=1e-14)
    impulse = simdoptim.ewma(np.eye(1, 100).ravel(), beta, bias_correction=False)
    n = round(1 / (1 - beta))
    assert impulse[n] / impulse[0] == pytest.approx(beta**n)
    if beta >= 0.9:
        assert 0.3 < beta**n < 0.4  # "about 1/e" once 1/(1-beta) is large


def test_ema_stream_equals_scan():
    x = np.random.default_rng(2).standard_normal((25, 4))
    for mod in (simdoptim, reference):
        e = mod.EMA(0.9)
        stream = np.array([e.update(row) for row in x])
        assert np.array_equal(stream, mod.ewma(x, 0.9, axis=0))


# -- identities of the update rules (momentum, RMSprop, Adam) -------------------------------


def test_momentum_forms_equal_with_scaled_lr():
    """'sum' with lr equals 'ema' with lr / (1 - beta) (the same method, scaled)."""
    rng = np.random.default_rng(4)
    beta, lr = 0.9, 0.003
    a, b = rng.standard_normal(100), None
    b = a.copy()
    oa = simdoptim.Momentum([a], lr=lr, beta=beta, form="sum")
    ob = simdoptim.Momentum([b], lr=lr / (1 - beta), beta=beta, form="ema")
    for _ in range(30):
        g = rng.standard_normal(100)
        oa.step([g])
        ob.step([g])
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("mod", [simdoptim, reference], ids=["fast", "reference"])
def test_rmsprop_eps_placement(mod):
    """eps is added outside the root, eps_root inside: one step against the formulas."""
    g = np.array([0.5, -2.0, 1e-6, 0.0])
    for eps, eps_root in [(1e-8, 0.0), (0.0, 1e-8), (1e-3, 1e-2)]:
        w = np.ones(4)
        mod.RMSprop([w], lr=0.1, beta2=0.9, eps=eps, eps_root=eps_root).step([g])
        s = 0.1 * g * g
        np.testing.assert_allclose(w, 1 - 0.1 * g / (np.sqrt(s + eps_root) + eps), rtol=1e-15)


@pytest.mark.parametrize("mod", [simdoptim, reference], ids=["fast", "reference"])
def test_adam_bias_correction_makes_first_step_lr_sized(mod):
    """m_hat = g and v_hat = g^2 after the first step, so every weight moves by ~lr."""
    g = np.array([3.0, -0.2, 1e-3, -50.0])
    w = np.zeros(4)
    mod.Adam([w], lr=0.01).step([g])
    np.testing.assert_allclose(w, -0.01 * np.sign(g), rtol=1e-4)
    # with a constant gradient this stays true at every step
    w = np.zeros(4)
    opt = mod.Adam([w], lr=0.01)
    for _ in range(100):
        opt.step([g])
    np.testing.assert_allclose(w, -1.0 * np.sign(g), rtol=1e-4)


@pytest.mark.parametrize("mod", [simdoptim, reference], ids=["fast", "reference"])
def test_adamw_with_zero_gradient_only_decays(mod):
    w = np.linspace(-1, 1, 33)
    expected = w * (1.0 - 0.1 * 0.5)
    mod.Adam([w], lr=0.1, weight_decay=0.5, decoupled=True).step([np.zeros(33)])
    assert np.array_equal(w, expected)


@pytest.mark.parametrize("mod", [simdoptim, reference], ids=["fast", "reference"])
def test_amsgrad_keeps_running_max(mod):
    rng = np.random.default_rng(9)
    w = np.zeros(64, np.float32)
    opt = mod.Adam([w], lr=0.01, amsgrad=True)
    prev = np.zeros(64, np.float32)
    for t in range(20):
        opt.step([(rng.standard_normal(64) * (5.0 if t == 3 else 0.1)).astype(np.float32)])
        vmax = opt.state_dict()["state"]["max_exp_avg_sqs"][0]
        v = opt.state_dict()["state"]["exp_avg_sqs"][0]
        assert np.all(vmax >= prev) and np.all(vmax >= v)
        prev = vmax
    assert np.any(vmax > v)  # the spike at step 3 is remembered


def test_weight_decay_is_l2_gradient():
    """GD with weight_decay = lambda/B equals GD on g + (lambda/B) W (the course's L2 regularisation)."""
    rng = np.random.default_rng(1)
    w1 = rng.standard_normal(10)
    w2 = w1.copy()
    g = rng.standard_normal(10)
    simdoptim.GD([w1], lr=0.1, weight_decay=0.7 / 64).step([g])
    simdoptim.GD([w2], lr=0.1).step([g + (0.7 / 64) * w2])
    assert np.array_equal(w1, w2)


def test_lr_can_change_between_steps():
    rng = np.random.default_rng(0)
    w1 = rng.standard_normal(20)
    w2 = w1.copy()
    a, b = simdoptim.Adam([w1], lr=0.1), reference.Adam([w2], lr=0.1)
    for t in range(10):
        a.lr = b.lr = 0.1 / (1 + t)
        g = rng.standard_normal(20)
        a.step([g])
        b.step([g])
    assert a.lr == 0.01 and np.array_equal(w1, w2)


@pytest.mark.parametrize("scalar", [np.float64, np.float32, float], ids=["np.float64", "np.float32", "float"])
def test_numpy_scalar_hyperparameters_do_not_change_the_rounding(scalar):
    """An np.float64 lr times a float32 array would promote to float64 under NumPy 2; the
    reference converts hyper-parameters with float() so both backends round alike."""
    rng = np.random.default_rng(0)
    g = rng.standard_normal(1000).astype(np.float32)
    x = rng.standard_normal(100).astype(np.float32)
    for name, kw in [("gd_update", {}), ("momentum_update", {"beta": scalar(0.9)}),
                     ("rmsprop_update", {"beta2": scalar(0.9), "eps": scalar(1e-8)}),
                     ("adam_update", {"beta1": scalar(0.9), "beta2": scalar(0.99), "step": 3})]:
        outs = []
        for fn in (getattr(reference, name), getattr(simdoptim.functional, name)):
            w = np.linspace(-1, 1, 1000, dtype=np.float32)
            states = [[np.full(1000, 0.01, np.float32)] for _ in range({"gd_update": 0, "momentum_update": 1,
                                                                        "rmsprop_update": 1, "adam_update": 2}[name])]
            fn([w], [g], *states, lr=scalar(0.1), **kw)
            outs.append(w)
        assert np.array_equal(*outs), name
    assert np.array_equal(reference.ewma(x, scalar(0.9)), simdoptim.ewma(x, scalar(0.9)))
