"""Centered RMSprop stays finite when its variance estimate rounds below zero.

``s - a*a`` (the second moment minus the squared mean of the gradient) is never negative in
exact arithmetic, but with a constant gradient it is the difference of two nearly equal
numbers: before the clamp, a constant gradient of 0.1 turned the parameters into NaN after
1,202 steps in float32 and 3,227 in float64 (sqrt of a negative number), on both backends.
Both now take ``max(s - a*a, 0)``, bit for bit alike on every SIMD path and thread count,
and a NaN or infinite gradient still propagates NaN as before.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

import simdoptim
from simdoptim import reference

STEPS = 4000  # past both failure points (float32 1,202, float64 3,227)
SIZE = 37     # a vector body and a scalar tail for every vector width (2..16 lanes)


def _run(module, dtype, momentum, grads):
    w = np.linspace(-1.0, 1.0, SIZE).astype(dtype)
    opt = module.RMSprop([w], lr=1e-3, centered=True, momentum=momentum)
    with np.errstate(all="ignore"):  # NumPy warns on NaN/inf where the kernels are silent
        for g in grads:
            opt.step([g])
    return w, opt.state_dict()


def _constant(dtype, value=0.1, steps=STEPS):
    g = np.full(SIZE, value, dtype)
    return [g] * steps


@functools.cache
def _reference_constant(dtype, momentum):
    return _run(reference, dtype, momentum, _constant(dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("momentum", [0.0, 0.9], ids=["plain", "momentum"])
def test_constant_gradient_stays_finite_and_bit_exact(isa, threads, dtype, momentum):
    w_ref, sd_ref = _reference_constant(dtype, momentum)
    w_fast, sd_fast = _run(simdoptim, dtype, momentum, _constant(dtype))
    assert np.isfinite(w_ref).all(), f"reference: {np.count_nonzero(~np.isfinite(w_ref))} non-finite"
    assert np.isfinite(w_fast).all(), f"fast ({isa}): {np.count_nonzero(~np.isfinite(w_fast))} non-finite"
    for name in ("square_avgs", "grad_avgs") + (("momentum_buffers",) if momentum else ()):
        assert np.isfinite(sd_fast["state"][name][0]).all(), name
    # the clamp must be the same operation on both sides: every bit of every buffer
    assert np.array_equal(w_fast, w_ref)
    for name in sd_ref["state"]:
        for a, b in zip(sd_fast["state"][name], sd_ref["state"][name]):
            assert np.array_equal(a, b), name


def test_clamp_applies_on_this_input():
    """Guard for the test above: the case really reaches a negative s - a*a (so the clamp,
    not luck, keeps it finite), in float32 and float64."""
    for dtype in (np.float32, np.float64):
        s = np.zeros(SIZE, dtype)
        a = np.zeros(SIZE, dtype)
        g = np.full(SIZE, 0.1, dtype)
        negative = False
        for _ in range(STEPS):
            s *= dtype(0.99)
            s += dtype(1 - 0.99) * (g * g)
            a *= dtype(0.99)
            a += dtype(1 - 0.99) * g
            negative |= bool(((s - a * a) < 0).any())
        assert negative, dtype


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("where", [0, 17, SIZE - 1], ids=["first", "body", "tail"])
def test_nonfinite_gradient_still_gives_nan(isa, threads, dtype, bad, where):
    """np.maximum(x, 0) keeps a NaN x; the kernels must not turn it into 0 (a plain
    max instruction returns its second operand for NaN). An infinite gradient makes
    s - a*a = inf - inf = NaN: NaN, not a finite or infinite step, on both backends."""
    grads = _constant(dtype, steps=30)
    poisoned = grads[10].copy()
    poisoned[where] = bad
    grads[10] = poisoned
    w_ref, _ = _run(reference, dtype, 0.0, grads)
    w_fast, _ = _run(simdoptim, dtype, 0.0, grads)
    assert np.isnan(w_ref[where]) and np.isnan(w_fast[where])
    others = np.arange(SIZE) != where
    assert np.isfinite(w_fast[others]).all()
    assert np.array_equal(w_fast, w_ref, equal_nan=True)
