"""ewma over series long enough that 1 - beta^t rounds to exactly 1 (the compiled scan then
stops dividing, and stops computing beta^t), in both layouts of many series: the reference's
bits, for any thread count."""

from __future__ import annotations

import numpy as np
import pytest

import simdoptim
from simdoptim import reference


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9, 0.99])
@pytest.mark.parametrize("shape, axis", [((3000,), 0), ((1500, 37), 0), ((5, 1200), 1), ((2, 700, 3), 1)])
def test_long_series_match_the_reference(dtype, beta, shape, axis, threads):
    rng = np.random.default_rng(int(beta * 100) + len(shape))
    x = rng.standard_normal(shape).astype(dtype)
    x.flat[::97] = 0.0
    for bc in (True, False):
        got = simdoptim.ewma(x, beta, bias_correction=bc, axis=axis)
        want = reference.ewma(x, beta, bias_correction=bc, axis=axis)
        assert got.dtype == want.dtype and got.tobytes() == want.tobytes(), (bc, beta)


def test_nan_and_inf_pass_through_like_the_reference():
    x = np.ones((800, 20), np.float32)
    x[500, 3] = np.nan
    x[600, 4] = np.inf
    got = simdoptim.ewma(x, 0.9, axis=0)
    want = reference.ewma(x, 0.9, axis=0)
    assert np.array_equal(got, want, equal_nan=True)
