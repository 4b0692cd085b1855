"""Learning-rate schedules: values, argument checks, and use by the optimizers."""

import math

import numpy as np
import pytest

import simdoptim
from simdoptim import reference, schedules


def test_inverse_time_matches_spec_table():
    s = schedules.InverseTimeDecay(0.2, decay_rate=1)
    got = [s(e) for e in (1, 2, 3, 4)]
    # the course's inverse-time decay, lr0 0.2, rate 1: 0.1, 0.0667, 0.05, 0.04
    np.testing.assert_allclose(got, [0.1, 0.0667, 0.05, 0.04], rtol=0, atol=5e-5)
    assert s(0) == 0.2
    assert s(2) == 0.2 / 3  # the formula itself, not an approximation


def test_exponential():
    s = schedules.ExponentialDecay(0.1, base=0.95)
    assert s(0) == 0.1
    for e in (1, 2, 7, 100):
        assert s(e) == 0.95 ** e * 0.1
    assert s(3) < s(2) < s(1)


def test_inverse_sqrt_per_epoch_and_step():
    s = schedules.InverseSqrtDecay(0.5, k=2.0)
    assert s.per == "epoch"
    assert s(4) == 2.0 / 2.0 * 0.5
    assert s(9) == 2.0 / 3.0 * 0.5
    # epoch 0 has no value in the formula: it gets epoch 1's rate, the largest one
    assert s(0) == s(1) == 1.0
    t = schedules.InverseSqrtDecay(0.5, k=2.0, per="step")
    assert t.per == "step" and t(16) == 2.0 / 4.0 * 0.5


def test_staircase_is_the_course_form():
    s = schedules.StaircaseDecay(0.1, decay_rate=1, interval=1000)
    for e, expect in [(0, 0.1), (999, 0.1), (1000, 0.05), (1999, 0.05), (2000, 0.1 / 3), (4999, 0.1 / 5)]:
        assert s(e) == expect, e
    s2 = schedules.StaircaseDecay(0.3, decay_rate=0.5, interval=10)
    assert s2(25) == 0.3 / (1 + 0.5 * math.floor(25 / 10))


def test_piecewise_constant():
    s = schedules.PiecewiseConstant([100, 200], [0.1, 0.01, 0.001])
    assert [s(e) for e in (0, 99, 100, 199, 200, 10**6)] == [0.1, 0.1, 0.01, 0.01, 0.001, 0.001]
    one = schedules.PiecewiseConstant([], [0.3])
    assert one(0) == one(1000) == 0.3


def test_repr_names_the_arguments():
    r = repr(schedules.StaircaseDecay(0.1, 1.0, 1000, per="step"))
    assert r == "StaircaseDecay(lr0=0.1, decay_rate=1.0, interval=1000, per='step')"


@pytest.mark.parametrize(
    "make, exc, words",
    [
        (lambda: schedules.InverseTimeDecay(-0.1), ValueError, "lr0"),
        (lambda: schedules.InverseTimeDecay("0.1"), TypeError, "lr0"),
        (lambda: schedules.InverseTimeDecay(0.1, decay_rate=-1), ValueError, "decay_rate"),
        (lambda: schedules.InverseTimeDecay(0.1, decay_rate=float("nan")), ValueError, "decay_rate"),
        (lambda: schedules.InverseTimeDecay(0.1, per="batch"), ValueError, "per"),
        (lambda: schedules.ExponentialDecay(0.1, base=0.0), ValueError, "base"),
        (lambda: schedules.ExponentialDecay(0.1, base=1.5), ValueError, "base"),
        (lambda: schedules.ExponentialDecay(float("inf")), ValueError, "lr0"),
        (lambda: schedules.InverseSqrtDecay(0.1, k=0), ValueError, "k"),
        (lambda: schedules.InverseSqrtDecay(0.1, k=True), TypeError, "k"),
        (lambda: schedules.StaircaseDecay(0.1, 1.0, interval=0), ValueError, "interval"),
        (lambda: schedules.StaircaseDecay(0.1, 1.0, interval=None), TypeError, "interval"),
        (lambda: schedules.PiecewiseConstant([10, 10], [1, 2, 3]), ValueError, "increase"),
        (lambda: schedules.PiecewiseConstant([10], [1]), ValueError, "one more"),
        (lambda: schedules.PiecewiseConstant([10], [1, -2]), ValueError, "values[1]"),
        (lambda: schedules.PiecewiseConstant(5, [1]), TypeError, "sequences"),
    ],
)
def test_constructor_checks(make, exc, words):
    with pytest.raises(exc, match=words.replace("[", r"\[").replace("]", r"\]")):
        make()


@pytest.mark.parametrize("x, exc", [(-1, ValueError), (float("nan"), ValueError), ("3", TypeError), (True, TypeError)])
def test_call_checks_the_counter(x, exc):
    with pytest.raises(exc, match="epoch number"):
        schedules.InverseTimeDecay(0.1)(x)


def _problem(seed=0):
    rng = np.random.default_rng(seed)
    params = {"W1": rng.standard_normal((7, 5)), "b1": rng.standard_normal((7, 1))}
    grads = [{"dW1": rng.standard_normal((7, 5)), "db1": rng.standard_normal((7, 1))} for _ in range(12)]
    return params, grads


def _copy(params):
    return {k: v.copy() for k, v in params.items()}


@pytest.mark.parametrize("per", ["epoch", "step"])
@pytest.mark.parametrize("name", ["GD", "Momentum", "RMSprop", "Adam"])
def test_schedule_in_optimizer_fast_equals_reference_and_manual(name, per):
    """A schedule given as lr: each step uses schedule(epoch) (epoch from 0, advanced by
    next_epoch) or schedule(t) (t = 1, 2, ...), in both backends, bit for bit; and the same
    as a hand-written loop over the stateless reference update with those rates."""
    params, grads = _problem()
    sched = schedules.StaircaseDecay(0.05, decay_rate=1.0, interval=1 if per == "epoch" else 3, per=per)
    fast_p, ref_p, man_p = _copy(params), _copy(params), _copy(params)
    fast = getattr(simdoptim, name)(fast_p, lr=sched)
    ref = getattr(reference, name)(ref_p, lr=sched)
    manual = getattr(reference, name)(man_p, lr=1.0)
    batches_per_epoch = 3
    seen = []
    for i, g in enumerate(grads):
        if i and i % batches_per_epoch == 0:
            fast.next_epoch()
            ref.next_epoch()
        x = i // batches_per_epoch if per == "epoch" else i + 1
        assert fast.lr == ref.lr == sched(x)
        manual.lr = sched(x)
        seen.append(sched(x))
        fast.step(g)
        ref.step(g)
        manual.step(g)
    assert len(set(seen)) >= 3  # the rate did change during the run
    for k in params:
        np.testing.assert_array_equal(fast_p[k], ref_p[k])
        np.testing.assert_array_equal(fast_p[k], man_p[k])
        assert not np.array_equal(fast_p[k], params[k])


def test_plain_function_schedule_per_step():
    params, grads = _problem(1)
    calls = []

    def warmup(t):
        calls.append(t)
        return 0.01 * min(t, 4) / 4

    warmup.per = "step"
    p = _copy(params)
    opt = simdoptim.Adam(p, lr=warmup)
    for g in grads[:5]:
        opt.step(g)
    assert calls[-1] == 5 and sorted(set(calls)) == [1, 2, 3, 4, 5]
