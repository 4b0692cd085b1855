"""The fast optimizer classes: the reference's classes, backed by the compiled kernels.

They share all bookkeeping with :mod:`simdoptim.reference` (``simdoptim._base``): the same
constructor arguments, the same ``step``, ``lr`` and schedule handling, the same
``state_dict``. Only the update function differs.
"""

from __future__ import annotations

from . import _base, functional

__all__ = ["GD", "Momentum", "RMSprop", "Adam", "EMA"]


class GD(_base.GD):
    """Mini-batch gradient descent: ``w := w - lr * (g + weight_decay * w)``.

    ``params`` is a list of arrays, a dict name -> array, or one array; they are updated in
    place. ``step(grads)`` takes the same structure (a dict may key gradients ``dW1`` for
    ``W1``, as the deep-learning course does)."""

    _gd_update = staticmethod(functional.gd_update)
    _all_finite = staticmethod(functional.all_finite)
    _contiguous_only = True


class Momentum(_base.Momentum):
    """Gradient descent with momentum. ``form="ema"``: ``v := beta*v + (1-beta)*g`` (the
    course's form); ``form="sum"``: ``v := beta*v + g`` (PyTorch SGD); then ``w := w - lr*v``.
    ``nesterov=True`` uses ``beta*v + c*g`` in place of ``v``."""

    _momentum_update = staticmethod(functional.momentum_update)
    _all_finite = staticmethod(functional.all_finite)
    _contiguous_only = True


class RMSprop(_base.RMSprop):
    """RMSprop: ``s := beta2*s + (1-beta2)*g^2``, ``w := w - lr*g / (sqrt(s + eps_root) + eps)``.
    Options: ``centered``, ``momentum`` (PyTorch's variants)."""

    _rmsprop_update = staticmethod(functional.rmsprop_update)
    _all_finite = staticmethod(functional.all_finite)
    _contiguous_only = True


class Adam(_base.Adam):
    """Adam: bias-corrected moving averages m of g and v of g^2,
    ``w := w - lr * m_hat / (sqrt(v_hat + eps_root) + eps)``. ``decoupled=True`` is AdamW,
    ``amsgrad=True`` uses the running maximum of v."""

    _adam_update = staticmethod(functional.adam_update)
    _all_finite = staticmethod(functional.all_finite)
    _contiguous_only = True


class EMA(_base.EMA):
    __doc__ = _base.EMA.__doc__
    _ema_update = staticmethod(functional.ema_update)
