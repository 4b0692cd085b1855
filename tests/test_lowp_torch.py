"""bfloat16 Adam against torch's fused CPU Adam on bfloat16 parameters (optional: skipped
without torch or ml_dtypes).

torch.optim.Adam(fused=True) on bfloat16 tensors keeps its state in bfloat16, computes each
element in float32 and rounds every store to nearest: simdoptim's Adam with
``order="pytorch"``, ``state_dtype="bfloat16"`` and nearest rounding is the same algorithm.
They differ only where torch's kernel fuses a multiply-add (its lerp and its denominator)
and where it divides by sqrt(1 - beta2^t) instead of multiplying by the float64 reciprocal:
each such difference is below one float32 ulp of an intermediate, so a stored bfloat16
value (8 bits of mantissa) comes out different only when the float32 value lies within a
float32 ulp or so of a bfloat16 rounding boundary, i.e. for a fraction of about 2^-15 of
the stores. The bound: at most 0.1% of the weights differ after 100 steps (measured here:
2e-5), and by at most one bfloat16 place (a boundary case rounds to the neighbour).
"""

from __future__ import annotations

import numpy as np
import pytest

import simdoptim

torch = pytest.importorskip("torch")
ml_dtypes = pytest.importorskip("ml_dtypes")


def test_bf16_adam_matches_torch_fused_bf16():
    bf16 = ml_dtypes.bfloat16
    rng = np.random.default_rng(0)
    n = 100_003
    w0 = rng.standard_normal(n).astype(np.float32).astype(bf16)
    ours = w0.copy()
    t = torch.nn.Parameter(torch.from_numpy(w0.astype(np.float32)).to(torch.bfloat16))
    opt = simdoptim.Adam([ours], lr=1e-2, order="pytorch", state_dtype="bfloat16")
    topt = torch.optim.Adam([t], lr=1e-2, fused=True)
    for _ in range(100):
        g = (rng.standard_normal(n) * 10 ** rng.uniform(-3, 1)).astype(np.float32).astype(bf16)
        opt.step([g])
        t.grad = torch.from_numpy(g.astype(np.float32)).to(torch.bfloat16)
        with torch.no_grad():
            topt.step()
    theirs = t.detach().float().numpy()
    mine = ours.astype(np.float32)
    differ = theirs != mine
    assert differ.mean() < 1e-3
    place = np.maximum(np.abs(mine), np.abs(theirs)) * 2.0**-7  # one bfloat16 place (8-bit mantissa)
    assert np.all(np.abs(theirs - mine) <= place)
    # not vacuous: the weights moved by many places
    assert np.mean(mine != w0.astype(np.float32)) > 0.9
