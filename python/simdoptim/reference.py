"""simdoptim.reference - the executable specification, in plain NumPy.

Every algorithm of simdoptim is written here as clearly as possible, one NumPy operation
per term of its formula. The compiled kernels implement exactly these operations in exactly
this order, with no fused multiply-add, so ``simdoptim.X`` and ``simdoptim.reference.X``
give bit-identical float32 and float64 results. Conventions:

* ``w`` a parameter, ``g`` its gradient, ``t`` the number of the update (1 on the first),
  ``lr`` the learning rate (alpha). Every update is element-wise and in place.
* A Python float hyper-parameter meets a float32 array as NumPy casts it: rounded to
  float32 once. Hyper-parameters are first converted with ``float()`` (an ``np.float64``
  would otherwise promote a float32 array to float64 under NumPy 2's rules). Scalars derived from hyper-parameters (``1 - beta``, the bias corrections
  ``1 - beta**t``, the AdamW factor ``1 - lr*weight_decay``) are computed in float64 first.
* An expression ``a * b / c`` is evaluated left to right, ``(a * b) / c``.

The functional updates (``*_update``) take lists of arrays, one entry per parameter tensor,
and update them in place; the classes (``GD``, ``Momentum``, ``RMSprop``, ``Adam``, ``EMA``)
keep the state and the step count for you and share their bookkeeping with the fast classes.
"""

from __future__ import annotations

import numpy as np

from . import _base, _validate
from ._base import bias_correction

__all__ = [
    "gd_update", "momentum_update", "rmsprop_update", "adam_update", "ema_update", "ewma", "all_finite",
    "GD", "Momentum", "RMSprop", "Adam", "EMA",
]


def gd_update(params, grads, *, lr, weight_decay=0.0, names=None):
    r"""Mini-batch gradient descent, in place.

    .. math::  g \leftarrow g + \lambda w \quad (\text{if } \lambda = \text{weight\_decay} > 0)
    .. math::  w \leftarrow w - \alpha\, g

    ``weight_decay`` is the L2 term of the cost, ``lambda/B`` in the course's notation.
    The caller's gradient arrays are never modified.
    """
    func = "gd_update"
    _validate.check_finite_nonnegative(func, "lr", lr)
    _validate.check_finite_nonnegative(func, "weight_decay", weight_decay)
    _validate.collect(func, params, grads, (), names)
    lr, weight_decay = float(lr), float(weight_decay)
    for w, g in zip(params, grads):
        if weight_decay != 0.0:
            g = g + weight_decay * w
        w -= lr * g


def momentum_update(params, grads, velocities, *, lr, beta=0.9, form="ema", nesterov=False, weight_decay=0.0, names=None):
    r"""Gradient descent with momentum, in place. With ``c = 1 - beta`` (``form="ema"``, the
    course's form) or ``c = 1`` (``form="sum"``, PyTorch's SGD with dampening 0):

    .. math::  v \leftarrow \beta v + c\, g
    .. math::  w \leftarrow w - \alpha\, v \qquad\text{or, Nesterov:}\qquad
               w \leftarrow w - \alpha\,(\beta v + c\, g)

    The two forms are the same method: ``form="sum"`` with ``lr`` equals ``form="ema"`` with
    ``lr / (1 - beta)``. ``v`` starts at zero; weight decay is added to ``g`` first.
    """
    func = "momentum_update"
    _validate.check_finite_nonnegative(func, "lr", lr)
    _validate.check_beta(func, "beta", beta)
    _validate.check_finite_nonnegative(func, "weight_decay", weight_decay)
    if form not in ("ema", "sum"):
        raise ValueError(f"{func}: form must be 'ema' (v = beta*v + (1-beta)*g) or 'sum' (v = beta*v + g), got {form!r}")
    _validate.collect(func, params, grads, (("velocities", velocities),), names)
    lr, beta, weight_decay = float(lr), float(beta), float(weight_decay)
    for w, g, v in zip(params, grads, velocities):
        if weight_decay != 0.0:
            g = g + weight_decay * w
        if form == "ema":
            v *= beta
            v += (1.0 - beta) * g          # v = beta*v + (1-beta)*g
            d = beta * v + (1.0 - beta) * g if nesterov else v
        else:
            v *= beta
            v += g                          # v = beta*v + g
            d = beta * v + g if nesterov else v
        w -= lr * d


def rmsprop_update(params, grads, square_avgs, *, lr, beta2=0.99, eps=1e-8, eps_root=0.0, weight_decay=0.0,
                   momentum=0.0, grad_avgs=None, momentum_buffers=None, names=None):
    r"""RMSprop, in place.

    .. math::  s \leftarrow \beta_2 s + (1 - \beta_2)\, g^2
    .. math::  w \leftarrow w - \alpha\, \frac{g}{\sqrt{s + \epsilon_{root}} + \epsilon}

    ``eps`` is added outside the square root (PyTorch, Keras, the course's code) and
    ``eps_root`` inside it (the lecture's ``sqrt(s + eps)``); set the one you want.
    Centered (pass ``grad_avgs``): ``a <- beta2 a + (1-beta2) g`` and ``s - a^2`` replaces
    ``s`` under the root. Momentum > 0 (pass ``momentum_buffers``):
    ``b <- momentum b + g / (sqrt(.) + eps)``, ``w <- w - lr b`` (PyTorch's variant).
    """
    func = "rmsprop_update"
    _validate.check_finite_nonnegative(func, "lr", lr)
    _validate.check_beta(func, "beta2", beta2)
    _validate.check_finite_nonnegative(func, "eps", eps)
    _validate.check_finite_nonnegative(func, "eps_root", eps_root)
    _validate.check_finite_nonnegative(func, "weight_decay", weight_decay)
    _validate.check_beta(func, "momentum", momentum)
    if momentum != 0.0 and momentum_buffers is None:
        raise ValueError(f"{func}: momentum_buffers is required when momentum > 0")
    bufs = momentum_buffers if momentum != 0.0 else None
    _validate.collect(
        func, params, grads,
        (("square_avgs", square_avgs), ("grad_avgs", grad_avgs), ("momentum_buffers", bufs)), names,
    )
    lr, beta2, eps, eps_root = float(lr), float(beta2), float(eps), float(eps_root)
    weight_decay, momentum = float(weight_decay), float(momentum)
    for i in range(len(params)):
        w, g, s = params[i], grads[i], square_avgs[i]
        if weight_decay != 0.0:
            g = g + weight_decay * w
        s *= beta2
        s += (1.0 - beta2) * (g * g)        # s = beta2*s + (1-beta2)*g^2
        inner = s
        if grad_avgs is not None:
            a = grad_avgs[i]
            a *= beta2
            a += (1.0 - beta2) * g          # a = beta2*a + (1-beta2)*g
            inner = s - a * a
        denom = np.sqrt(inner + eps_root) + eps
        if bufs is not None:
            b = bufs[i]
            b *= momentum
            b += g / denom                  # b = momentum*b + g/denom
            w -= lr * b
        else:
            w -= lr * g / denom


def adam_update(params, grads, exp_avgs, exp_avg_sqs, *, step, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8,
                eps_root=0.0, weight_decay=0.0, decoupled=False, max_exp_avg_sqs=None, names=None):
    r"""Adam (momentum plus RMSprop, bias-corrected), in place; ``step`` is ``t``, 1 on the first update.

    .. math::  m \leftarrow \beta_1 m + (1-\beta_1)\, g, \qquad v \leftarrow \beta_2 v + (1-\beta_2)\, g^2
    .. math::  \hat m = \frac{m}{1-\beta_1^t}, \qquad \hat v = \frac{v}{1-\beta_2^t}
    .. math::  w \leftarrow w - \alpha\, \frac{\hat m}{\sqrt{\hat v + \epsilon_{root}} + \epsilon}

    ``weight_decay`` with ``decoupled=False`` adds ``weight_decay * w`` to ``g`` (L2);
    with ``decoupled=True`` (AdamW) it first shrinks the weights, ``w <- w (1 - lr weight_decay)``
    (SPEC's ``w - lr*lambda*w``, computed as PyTorch's AdamW does). AMSGrad (pass
    ``max_exp_avg_sqs``): ``v_max <- max(v_max, v)`` and ``v_max`` replaces ``v`` in ``v_hat``.
    """
    func = "adam_update"
    _validate.check_step(func, step)
    _validate.check_finite_nonnegative(func, "lr", lr)
    _validate.check_beta(func, "beta1", beta1)
    _validate.check_beta(func, "beta2", beta2)
    _validate.check_finite_nonnegative(func, "eps", eps)
    _validate.check_finite_nonnegative(func, "eps_root", eps_root)
    _validate.check_finite_nonnegative(func, "weight_decay", weight_decay)
    _validate.collect(
        func, params, grads,
        (("exp_avgs", exp_avgs), ("exp_avg_sqs", exp_avg_sqs), ("max_exp_avg_sqs", max_exp_avg_sqs)), names,
    )
    lr, beta1, beta2, eps, eps_root = float(lr), float(beta1), float(beta2), float(eps), float(eps_root)
    weight_decay, step = float(weight_decay), int(step)
    bc1 = bias_correction(beta1, step)       # 1 - beta1^t, float64
    bc2 = bias_correction(beta2, step)       # 1 - beta2^t, float64
    for i in range(len(params)):
        w, g, m, v = params[i], grads[i], exp_avgs[i], exp_avg_sqs[i]
        if weight_decay != 0.0:
            if decoupled:
                w *= 1.0 - lr * weight_decay  # AdamW: w = w * (1 - lr*lambda)
            else:
                g = g + weight_decay * w      # L2: g = g + lambda*w
        m *= beta1
        m += (1.0 - beta1) * g              # m = beta1*m + (1-beta1)*g
        v *= beta2
        v += (1.0 - beta2) * (g * g)        # v = beta2*v + (1-beta2)*g^2
        if max_exp_avg_sqs is not None:
            vmax = max_exp_avg_sqs[i]
            np.maximum(vmax, v, out=vmax)   # v_max = max(v_max, v)
            v = vmax
        m_hat = m / bc1
        v_hat = v / bc2
        w -= lr * m_hat / (np.sqrt(v_hat + eps_root) + eps)


def ema_update(averages, values, *, beta, step, bias_correction=False, outs=None, names=None):
    r"""Running averages, in place: :math:`v \leftarrow \beta v + (1-\beta)\, x`.

    With ``outs``, each ``outs[i]`` receives the average of this step, divided by
    ``1 - beta**step`` when ``bias_correction`` (``v_0 = 0`` biases early values toward 0).
    """
    func = "ema_update"
    _validate.check_beta(func, "beta", beta)
    _validate.check_step(func, step)
    if bias_correction and outs is None:
        raise ValueError(f"{func}: bias_correction=True needs outs to write the corrected averages into")
    _validate.collect(func, averages, values, (("outs", outs),), names, grads_name="values", params_name="averages")
    beta, step = float(beta), int(step)
    c = _base.bias_correction(beta, step)
    for i in range(len(averages)):
        v, x = averages[i], values[i]
        v *= beta
        v += (1.0 - beta) * x                # v = beta*v + (1-beta)*x
        if outs is not None:
            if bias_correction:
                np.divide(v, c, out=outs[i])  # v / (1 - beta^t)
            else:
                outs[i][...] = v


def ewma(series, beta, bias_correction=True, axis=-1):
    r"""Exponentially weighted average of whole series along ``axis`` (many series at once).

    .. math::  v_0 = 0,\quad v_t = \beta v_{t-1} + (1-\beta)\,\theta_t,\quad
               \text{result}_t = v_t / (1 - \beta^t) \text{ (bias correction) or } v_t

    It averages over roughly ``1/(1-beta)`` recent values. float32 input gives float32,
    float64 gives float64, other real dtypes are averaged in float64. Returns a new
    C-contiguous array of the input's shape.
    """
    x = _base.ewma_prepare(series, beta)
    beta = float(beta)
    axis = _normalize_axis(axis, x.ndim)
    xt = np.moveaxis(x, axis, -1)
    out = np.empty(xt.shape, x.dtype)
    v = np.zeros(xt.shape[:-1], x.dtype)
    for t in range(xt.shape[-1]):
        v = beta * v + (1.0 - beta) * xt[..., t]
        out[..., t] = v / _base.bias_correction(beta, t + 1) if bias_correction else v
    return np.ascontiguousarray(np.moveaxis(out, -1, axis))


def all_finite(arrays):
    """True when no array of the list holds a NaN or an infinity (``np.isfinite`` on each)."""
    _validate.require_list("all_finite", "arrays", arrays)
    for i, a in enumerate(arrays):
        if not isinstance(a, np.ndarray) or a.dtype not in _validate.FLOAT_DTYPES:
            raise TypeError(f"all_finite: arrays[{i}] must be a float32 or float64 numpy.ndarray")
    return all(bool(np.isfinite(a).all()) for a in arrays)


def _normalize_axis(axis, ndim):
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"ewma: axis must be an int, got {type(axis).__name__}")
    if not -ndim <= axis < ndim:
        raise IndexError(f"ewma: axis {axis} is out of bounds for an array of dimension {ndim}")
    return int(axis) % ndim


class GD(_base.GD):
    __doc__ = _base.GD.__doc__ or "Mini-batch gradient descent (reference). See gd_update."
    _gd_update = staticmethod(gd_update)
    _all_finite = staticmethod(all_finite)


class Momentum(_base.Momentum):
    """Gradient descent with momentum (reference). See momentum_update."""
    _momentum_update = staticmethod(momentum_update)
    _all_finite = staticmethod(all_finite)


class RMSprop(_base.RMSprop):
    """RMSprop (reference). See rmsprop_update."""
    _rmsprop_update = staticmethod(rmsprop_update)
    _all_finite = staticmethod(all_finite)


class Adam(_base.Adam):
    """Adam / AdamW (decoupled=True) / AMSGrad (amsgrad=True) (reference). See adam_update."""
    _adam_update = staticmethod(adam_update)
    _all_finite = staticmethod(all_finite)


class EMA(_base.EMA):
    __doc__ = _base.EMA.__doc__
    _ema_update = staticmethod(ema_update)
