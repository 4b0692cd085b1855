"""Agreement with PyTorch's torch.optim (optional: skipped when torch is not installed).

PyTorch computes the same algorithms with another operation order (Adam: step size
lr/bc1 and denominator sqrt(v)/sqrt(bc2) + eps; addcdiv/addcmul forms; possibly fused
multiply-adds), so the results agree to the dtype's precision, not bit for bit.

The bound. Parameters start N(0, 1) and move by less than 1 over 50 steps, so |w| < ~5.
Each step each library rounds every one of its ~6-10 operations once, with different
associations, so the two updates differ by a few ulp of the update per step; the weights
then differ by those differences summed over 50 steps. Measured here (torch 2.13, for-loop
implementation): at most 1.9e-6 in float32 (4 ulp at |w| = 4) and 2.7e-15 in float64.
We allow 1e-5 and 1e-14 (about 5x the worst observed), far below any real discrepancy:
a wrong formula (eps inside instead of outside the root, a missing bias correction,
(1-beta) in the wrong place) moves weights by 1e-3 or more in these 50 steps.
"""

from __future__ import annotations

import numpy as np
import pytest

import simdoptim

torch = pytest.importorskip("torch")

ATOL = {np.float32: 1e-5, np.float64: 1e-14}
STEPS = 50

# (ours, torch) builders with the same settings
CASES = {
    "adam": (lambda p: simdoptim.Adam(p, lr=0.01), lambda t: torch.optim.Adam(t, lr=0.01, foreach=False)),
    "adam-l2": (lambda p: simdoptim.Adam(p, lr=0.01, weight_decay=0.01),
                lambda t: torch.optim.Adam(t, lr=0.01, weight_decay=0.01, foreach=False)),
    "adam-amsgrad": (lambda p: simdoptim.Adam(p, lr=0.01, amsgrad=True),
                     lambda t: torch.optim.Adam(t, lr=0.01, amsgrad=True, foreach=False)),
    "adamw": (lambda p: simdoptim.Adam(p, lr=0.01, weight_decay=0.1, decoupled=True),
              lambda t: torch.optim.AdamW(t, lr=0.01, weight_decay=0.1, foreach=False)),
    "adamw-amsgrad": (lambda p: simdoptim.Adam(p, lr=0.01, weight_decay=0.1, decoupled=True, amsgrad=True),
                      lambda t: torch.optim.AdamW(t, lr=0.01, weight_decay=0.1, amsgrad=True, foreach=False)),
    # PyTorch's own operation order (one division; torch divides by sqrt(bc2) where this
    # multiplies by its reciprocal): the same bound holds with room to spare
    "adam-pytorch-order": (lambda p: simdoptim.Adam(p, lr=0.01, order="pytorch"),
                           lambda t: torch.optim.Adam(t, lr=0.01, foreach=False)),
    "adamw-amsgrad-pytorch-order": (
        lambda p: simdoptim.Adam(p, lr=0.01, weight_decay=0.1, decoupled=True, amsgrad=True, order="pytorch"),
        lambda t: torch.optim.AdamW(t, lr=0.01, weight_decay=0.1, amsgrad=True, foreach=False)),
    "sgd": (lambda p: simdoptim.GD(p, lr=0.01, weight_decay=0.1),
            lambda t: torch.optim.SGD(t, lr=0.01, weight_decay=0.1, foreach=False)),
    "sgd-momentum": (lambda p: simdoptim.Momentum(p, lr=0.01, beta=0.9, form="sum"),
                     lambda t: torch.optim.SGD(t, lr=0.01, momentum=0.9, foreach=False)),
    "sgd-nesterov-wd": (lambda p: simdoptim.Momentum(p, lr=0.01, beta=0.9, form="sum", nesterov=True,
                                                     weight_decay=0.01),
                        lambda t: torch.optim.SGD(t, lr=0.01, momentum=0.9, nesterov=True, weight_decay=0.01,
                                                  foreach=False)),
    "rmsprop": (lambda p: simdoptim.RMSprop(p, lr=0.01, beta2=0.99),
                lambda t: torch.optim.RMSprop(t, lr=0.01, alpha=0.99, foreach=False)),
    "rmsprop-centered-momentum-wd": (
        lambda p: simdoptim.RMSprop(p, lr=0.01, beta2=0.9, centered=True, momentum=0.9, weight_decay=0.01),
        lambda t: torch.optim.RMSprop(t, lr=0.01, alpha=0.9, centered=True, momentum=0.9, weight_decay=0.01,
                                      foreach=False)),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("name", list(CASES))
def test_matches_torch_optim(name, dtype):
    make_ours, make_torch = CASES[name]
    rng = np.random.default_rng(0)
    shapes = [(10007,), (3, 17), (1,)]
    ours = [rng.standard_normal(s).astype(dtype) for s in shapes]
    theirs = [torch.tensor(w.copy(), requires_grad=True) for w in ours]
    start = [w.copy() for w in ours]
    opt, topt = make_ours(ours), make_torch(theirs)
    for _ in range(STEPS):
        grads = [(rng.standard_normal(s) * 10 ** rng.uniform(-3, 1)).astype(dtype) for s in shapes]
        opt.step(grads)
        for t, g in zip(theirs, grads):
            t.grad = torch.from_numpy(g.copy())
        topt.step()
    for w, t, w0 in zip(ours, theirs, start):
        tw = t.detach().numpy()
        assert tw.dtype == w.dtype
        np.testing.assert_allclose(w, tw, rtol=0, atol=ATOL[dtype])
        # and the comparison is not vacuous: the weights did move, by far more than the bound
        assert np.abs(w - w0).max() > 100 * ATOL[dtype]
