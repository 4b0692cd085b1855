"""Gradients are only read, so the fast backend takes every layout NumPy can describe and
gives the reference's bits: Fortran order for a C-ordered parameter and the other way
round, strided and negatively strided views, broadcast arrays, misaligned buffers.
(Parameters and state must be contiguous: they are written in place.)"""

from __future__ import annotations

import numpy as np
import pytest

import simdoptim
from simdoptim import reference


def _misaligned(a):
    buf = np.empty(a.nbytes + 1, np.uint8)
    out = np.frombuffer(buf[1:].data, a.dtype).reshape(a.shape)
    out[...] = a
    assert not out.flags.aligned or a.itemsize == 1
    return out


LAYOUTS = {
    "fortran": lambda g: np.asfortranarray(g),
    "c": lambda g: np.ascontiguousarray(g),
    "strided": lambda g: np.repeat(g, 2, axis=1)[:, ::2],
    "negative-strides": lambda g: np.ascontiguousarray(g[::-1, ::-1])[::-1, ::-1],
    "broadcast": lambda g: np.broadcast_to(g[:1], g.shape),
    "transposed-view": lambda g: np.ascontiguousarray(g.T).T,
    "misaligned": _misaligned,
}


@pytest.mark.parametrize("param_order", ["C", "F"])
@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("algo", ["Adam", "RMSprop", "Momentum"])
def test_any_gradient_layout_gives_the_reference_bits(algo, layout, param_order, isa, threads):
    rng = np.random.default_rng(0)
    w0 = np.asarray(rng.standard_normal((6, 5)).astype(np.float32), order=param_order)
    wf, wr = w0.copy(order=param_order), w0.copy(order=param_order)
    fast = getattr(simdoptim, algo)([wf], lr=0.01)
    ref = getattr(reference, algo)([wr], lr=0.01)
    for _ in range(4):
        g = LAYOUTS[layout](rng.standard_normal(w0.shape).astype(np.float32))
        g_before = g.tobytes()
        fast.step([g])
        ref.step([g])
        assert g.tobytes() == g_before  # the caller's gradient is never written
    assert wf.tobytes() == wr.tobytes()
    assert wf.flags.f_contiguous == (param_order == "F")


def test_functional_takes_any_gradient_layout():
    rng = np.random.default_rng(1)
    p = rng.standard_normal((4, 3))
    g = np.asfortranarray(rng.standard_normal((4, 3)))[:, ::-1]
    a, b = p.copy(), p.copy()
    simdoptim.functional.gd_update([a], [g], lr=0.5)
    reference.gd_update([b], [g], lr=0.5)
    assert a.tobytes() == b.tobytes()
