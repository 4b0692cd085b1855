"""simdoptim.functional - the fast functional updates.

Same names, signatures and results as the functions of :mod:`simdoptim.reference`, routed
straight to the compiled kernels (``simdoptim._core``): every array is validated first,
then the GIL is released and every tensor of the list is updated in place in one pass over
memory and one parallel region. Unlike the reference, the fast functions refuse
non-contiguous arrays (they never update a hidden copy).
"""

from __future__ import annotations

import numpy as np

from . import _base, _core, _validate
from .reference import _normalize_axis

__all__ = ["gd_update", "momentum_update", "rmsprop_update", "adam_update", "ema_update", "ewma", "all_finite"]

gd_update = _core.gd_update
momentum_update = _core.momentum_update
rmsprop_update = _core.rmsprop_update
adam_update = _core.adam_update
ema_update = _core.ema_update
all_finite = _core.all_finite


def ewma(series, beta, bias_correction=True, axis=-1):
    """Exponentially weighted average of whole series along ``axis``; see
    :func:`simdoptim.reference.ewma` for the formula. Returns a new C-contiguous array."""
    x = _base.ewma_prepare(series, beta)
    _validate.check_flag("ewma", "bias_correction", bias_correction)
    axis = _normalize_axis(axis, x.ndim)
    x = np.ascontiguousarray(x)
    out = np.empty(x.shape, x.dtype)
    _core.ewma_scan(x, out, beta=float(beta), axis=axis, bias_correction=bias_correction)
    return out
