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
are the algorithm classes of the one optimizer core bound to these functions (the compiled
``simdoptim.GD`` etc. are the same classes bound to the kernels). This module is plain NumPy:
it imports nothing compiled.
"""

from __future__ import annotations

import numpy as np

from . import _algorithms, _checks
from ._optimizer import Backend, PythonPlan
from ._optimizer import bias_correction as _bias_correction

__all__ = [
    "prepare", "gd_update", "momentum_update", "rmsprop_update", "adam_update", "adagrad_update", "ema_update", "ewma",
    "all_finite", "GD", "Momentum", "RMSprop", "Adam", "Adagrad", "EMA", "take", "MiniBatches",
]


def __dir__():
    """Only the public API in dir() and tab completion (PEP 562), not the module's imports."""
    return list(__all__)


def gd_update(params, grads, *, lr, weight_decay=0.0, names=None):
    r"""Mini-batch gradient descent, in place.

    .. math::  g \leftarrow g + \lambda w \quad (\text{if } \lambda = \text{weight\_decay} > 0)
    .. math::  w \leftarrow w - \alpha\, g

    ``weight_decay`` is the L2 term of the cost, ``lambda/B`` in the course's notation.
    The caller's gradient arrays are never modified.
    
    Args:
        params: list of parameter arrays (float32 or float64; any shape; the reference also
            updates strided views in place), updated in place.
        grads: one gradient per parameter: its shape and dtype, any layout; never written.
        lr: the learning rate alpha (a finite number >= 0).
        weight_decay: lambda (>= 0). Default 0.
        names: the parameters' names for messages (``params['W1']``), or None (``params[0]``).

    Raises:
        TypeError: a list that is not a list, an item that is not an array, a non-float or
            non-native dtype, gradients or state of another dtype than their parameter, a
            hyper-parameter of the wrong type (a string, None, a bool for a number; an int for
            a flag).
        ValueError: a hyper-parameter out of range (also ``eps``/``eps_root`` that are 0 in the
            parameters' dtype), lists of different lengths, another shape, a read-only buffer
            that is written, buffers that overlap. Nothing is written before a refusal.

    Source: the course's ``update_parameters_with_gd``; ``torch.optim.SGD``.
    """
    func = "gd_update"
    hp = _algorithms.check_hyper(func, _algorithms.GD, {"lr": lr, "weight_decay": weight_decay}, params)
    _checks.collect(func, params, grads, (), names)
    lr, weight_decay = hp["lr"], hp["weight_decay"]
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
    
    Args:
        params, grads, names: as in :func:`gd_update`.
        velocities: one velocity per parameter (its shape and dtype), updated in place; zeros
            before the first update.
        lr: >= 0. beta: in [0, 1), default 0.9. form: ``"ema"`` (default) or ``"sum"``.
        nesterov: bool, default False. weight_decay: >= 0, default 0.

    Raises:
        TypeError: a list that is not a list, an item that is not an array, a non-float or
            non-native dtype, gradients or state of another dtype than their parameter, a
            hyper-parameter of the wrong type (a string, None, a bool for a number; an int for
            a flag).
        ValueError: a hyper-parameter out of range (also ``eps``/``eps_root`` that are 0 in the
            parameters' dtype), lists of different lengths, another shape, a read-only buffer
            that is written, buffers that overlap. Nothing is written before a refusal.

    Source: the course's ``update_parameters_with_momentum``; Sutskever et al. 2013 (Nesterov); ``torch.optim.SGD``.
    """
    func = "momentum_update"
    hp = _algorithms.check_hyper(func, _algorithms.Momentum, {"lr": lr, "beta": beta, "form": form, "nesterov": nesterov,
                                                             "weight_decay": weight_decay}, params)
    _checks.collect(func, params, grads, (("velocities", velocities),), names)
    lr, beta, weight_decay, nesterov = hp["lr"], hp["beta"], hp["weight_decay"], hp["nesterov"]
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
    Centered (pass ``grad_avgs``): ``a <- beta2 a + (1-beta2) g`` and ``max(s - a^2, 0)``
    replaces ``s`` under the root. ``s - a^2`` is a variance, never negative in exact
    arithmetic, but with a (nearly) constant gradient it is the difference of two nearly
    equal numbers and rounds below zero (float32 after about 1,200 steps of a constant 0.1,
    float64 after about 3,200); its square root would turn the parameters into NaN. The
    clamp keeps them finite; a NaN in ``s`` or ``a`` still propagates (``np.maximum``).
    This differs from ``torch.optim.RMSprop(centered=True)`` (2.x), which takes the root of
    the unclamped ``s - a^2``: NaN after 3,226 steps of a constant 0.1 in float64 (its
    float32 happens to round to a non-negative value there); elsewhere the two agree. With
    a zero variance the step is ``lr * g / (sqrt(eps_root) + eps)``: centered RMSprop
    divides by the gradient's standard deviation, which a constant gradient does not have.
    Momentum > 0 (pass ``momentum_buffers``):
    ``b <- momentum b + g / (sqrt(.) + eps)``, ``w <- w - lr b`` (PyTorch's variant).
    
    Args:
        params, grads, names: as in :func:`gd_update`.
        square_avgs, grad_avgs, momentum_buffers: state lists (the parameters' shapes and
            dtypes), updated in place; zeros before the first update.
        lr: >= 0. beta2: in [0, 1), default 0.99. eps, eps_root: >= 0, defaults 1e-8 and 0; at
            least one > 0 in the parameters' dtype. weight_decay: >= 0. momentum: in [0, 1).

    Raises:
        TypeError: a list that is not a list, an item that is not an array, a non-float or
            non-native dtype, gradients or state of another dtype than their parameter, a
            hyper-parameter of the wrong type (a string, None, a bool for a number; an int for
            a flag).
        ValueError: a hyper-parameter out of range (also ``eps``/``eps_root`` that are 0 in the
            parameters' dtype), lists of different lengths, another shape, a read-only buffer
            that is written, buffers that overlap. Nothing is written before a refusal.

    Source: Hinton's lecture 6e (2012); ``torch.optim.RMSprop`` (centered, momentum).
    """
    func = "rmsprop_update"
    hp = _algorithms.check_hyper(func, _algorithms.RMSprop, {
        "lr": lr, "beta2": beta2, "eps": eps, "eps_root": eps_root, "weight_decay": weight_decay, "momentum": momentum,
    }, params)
    if momentum != 0.0 and momentum_buffers is None:
        raise ValueError(f"{func}: momentum_buffers is required when momentum > 0")
    bufs = momentum_buffers if momentum != 0.0 else None
    _checks.collect(
        func, params, grads,
        (("square_avgs", square_avgs), ("grad_avgs", grad_avgs), ("momentum_buffers", bufs)), names,
    )
    lr, beta2, eps, eps_root = hp["lr"], hp["beta2"], hp["eps"], hp["eps_root"]
    weight_decay, momentum = hp["weight_decay"], hp["momentum"]
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
            inner = np.maximum(s - a * a, 0.0)   # a variance: >= 0 exactly, rounding can dip below
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
    (``w - lr*lambda*w``, computed as PyTorch's AdamW does). AMSGrad (pass
    ``max_exp_avg_sqs``): ``v_max <- max(v_max, v)`` and ``v_max`` replaces ``v`` in ``v_hat``.
    
    Args:
        params, grads, names: as in :func:`gd_update`.
        exp_avgs, exp_avg_sqs, max_exp_avg_sqs: state lists (m, v, and v_max for AMSGrad),
            updated in place; zeros before the first update.
        step: t, an int >= 1. lr: >= 0, default 0.001. beta1, beta2: in [0, 1), defaults 0.9,
            0.999. eps, eps_root: >= 0, defaults 1e-8 and 0 (at least one > 0 in the
            parameters' dtype). weight_decay: >= 0. decoupled: bool (AdamW).

    Raises:
        TypeError: a list that is not a list, an item that is not an array, a non-float or
            non-native dtype, gradients or state of another dtype than their parameter, a
            hyper-parameter of the wrong type (a string, None, a bool for a number; an int for
            a flag).
        ValueError: a hyper-parameter out of range (also ``eps``/``eps_root`` that are 0 in the
            parameters' dtype), lists of different lengths, another shape, a read-only buffer
            that is written, buffers that overlap. Nothing is written before a refusal.

    Source: Kingma & Ba, ICLR 2015, algorithm 1; Loshchilov & Hutter, ICLR 2019 (AdamW); Reddi et al., ICLR 2018 (AMSGrad).
    """
    func = "adam_update"
    _checks.check_step(func, step)
    hp = _algorithms.check_hyper(func, _algorithms.Adam, {
        "lr": lr, "beta1": beta1, "beta2": beta2, "eps": eps, "eps_root": eps_root, "weight_decay": weight_decay,
        "decoupled": decoupled, "amsgrad": max_exp_avg_sqs is not None,
    }, params)
    _checks.collect(
        func, params, grads,
        (("exp_avgs", exp_avgs), ("exp_avg_sqs", exp_avg_sqs), ("max_exp_avg_sqs", max_exp_avg_sqs)), names,
    )
    lr, beta1, beta2, eps, eps_root = hp["lr"], hp["beta1"], hp["beta2"], hp["eps"], hp["eps_root"]
    weight_decay, decoupled, step = hp["weight_decay"], hp["decoupled"], int(step)
    bc1 = _bias_correction(beta1, step)       # 1 - beta1^t, float64
    bc2 = _bias_correction(beta2, step)       # 1 - beta2^t, float64
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


def adagrad_update(params, grads, state_sums, *, step, lr=0.01, lr_decay=0.0, eps=1e-10, weight_decay=0.0,
                   maximize=False, names=None):
    r"""Adagrad, in place; ``step`` is ``t``, 1 on the first update.

    .. math::  g \leftarrow -g \ (\text{maximize}),\qquad g \leftarrow g + \lambda w \ (\lambda = \text{weight\_decay})
    .. math::  s \leftarrow s + g^2,\qquad
               w \leftarrow w - \alpha_t\, \frac{g}{\sqrt{s} + \epsilon},\qquad
               \alpha_t = \frac{\alpha}{1 + (t - 1)\,\text{lr\_decay}}

    ``alpha_t`` is computed in float64 once per step. Negating ``g`` is exact.

    Args:
        params, grads, names: as in :func:`gd_update`.
        state_sums: the sums of squared gradients, one array per parameter (its shape and
            dtype), updated in place; they start at the optimizer's ``initial_accumulator_value``
            (0 by default).
        step: the number of this update, an int >= 1.
        lr: the learning rate (>= 0). Default 0.01. lr_decay: >= 0, default 0. eps: added
            outside the square root (>= 0). Default 1e-10. weight_decay: L2 coefficient (>= 0).
        maximize: ascend instead of descend (bool). Default False.

    Raises: as :func:`adam_update`.

    Source: Duchi, Hazan & Singer, "Adaptive Subgradient Methods for Online Learning and
    Stochastic Optimization" (JMLR 2011); ``torch.optim.Adagrad`` for the options and defaults.
    """
    func = "adagrad_update"
    _checks.check_step(func, step)
    hp = _algorithms.check_hyper(func, _algorithms.Adagrad, {
        "lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay, "maximize": maximize,
    }, params)
    _checks.collect(func, params, grads, (("state_sums", state_sums),), names)
    lr, lr_decay, eps, weight_decay, maximize = (hp["lr"], hp["lr_decay"], hp["eps"], hp["weight_decay"],
                                                 hp["maximize"])
    clr = lr / (1.0 + (int(step) - 1) * lr_decay)  # alpha_t, float64
    for w, g, s in zip(params, grads, state_sums):
        if maximize:
            g = -g                          # g = -g
        if weight_decay != 0.0:
            g = g + weight_decay * w        # g = g + lambda*w
        s += g * g                          # s = s + g^2
        w -= clr * g / (np.sqrt(s) + eps)   # w = w - alpha_t * g / (sqrt(s) + eps)


def ema_update(averages, values, *, beta, step, bias_correction=False, outs=None, names=None):
    r"""Running averages, in place: :math:`v \leftarrow \beta v + (1-\beta)\, x`.

    With ``outs``, each ``outs[i]`` receives the average of this step, divided by
    ``1 - beta**step`` when ``bias_correction`` (``v_0 = 0`` biases early values toward 0).
    
    Args:
        averages: list of average arrays, updated in place.
        values: the new value for each average (its shape and dtype, any layout).
        beta: in [0, 1). step: the number of this update, an int >= 1.
        bias_correction: bool (needs ``outs``). outs: arrays receiving the step's averages, or None.
        names: as in :func:`gd_update`.

    Raises:
        TypeError: a list that is not a list, an item that is not an array, a non-float or
            non-native dtype, gradients or state of another dtype than their parameter, a
            hyper-parameter of the wrong type (a string, None, a bool for a number; an int for
            a flag).
        ValueError: a hyper-parameter out of range (also ``eps``/``eps_root`` that are 0 in the
            parameters' dtype), lists of different lengths, another shape, a read-only buffer
            that is written, buffers that overlap. Nothing is written before a refusal.

    Source: the course's exponentially weighted averages; bias correction as in Kingma & Ba 2015, section 3.
    """
    func = "ema_update"
    _checks.check_step(func, step)
    hp = _algorithms.check_hyper(func, _algorithms.EMA, {"beta": beta, "bias_correction": bias_correction}, averages)
    beta, bias_correction = hp["beta"], hp["bias_correction"]
    if bias_correction and outs is None:
        raise ValueError(f"{func}: bias_correction=True needs outs to write the corrected averages into")
    _checks.collect(func, averages, values, (("outs", outs),), names, grads_name="values", params_name="averages")
    step = int(step)
    c = _bias_correction(beta, step)
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
    x = _checks.prepare_series("ewma", series, beta)
    bias_correction = _checks.check_flag("ewma", "bias_correction", bias_correction)
    beta = float(beta)
    axis = _checks.normalize_axis(axis, x.ndim)
    if x.size == 0:
        return np.empty(x.shape, x.dtype)  # nothing to average (the time axis may still be huge)
    xt = np.moveaxis(x, axis, -1)
    out = np.empty(xt.shape, x.dtype)
    v = np.zeros(xt.shape[:-1], x.dtype)
    for t in range(xt.shape[-1]):
        v = beta * v + (1.0 - beta) * xt[..., t]
        out[..., t] = v / _bias_correction(beta, t + 1) if bias_correction else v
    return np.ascontiguousarray(np.moveaxis(out, -1, axis))


def all_finite(arrays):
    """True when no array of the list holds a NaN or an infinity (``np.isfinite`` on each)."""
    _checks.require_list("all_finite", "arrays", arrays)
    for i, a in enumerate(arrays):
        if not isinstance(a, np.ndarray) or a.dtype not in _checks.FLOAT_DTYPES:
            raise TypeError(f"all_finite: arrays[{i}] must be a float32 or float64 numpy.ndarray")
    return all(bool(np.isfinite(a).all()) for a in arrays)


def prepare(update, params, *state, **options):
    """``update`` with its arrays and hyper-parameters bound: a callable ``run(grads, step=1,
    outs=None)`` that calls ``update(params, grads, *state, step=step, outs=outs, **options)``
    (``step`` only for Adam and the EMA, ``outs`` only for the EMA). The same interface as
    :func:`simdoptim.functional.prepare`, whose calls it specifies; this one checks the
    arguments at every call.

    Raises: TypeError when ``update`` is not one of this module's updates.
    """
    if update not in _PREPARABLE:
        raise TypeError(f"prepare: update must be one of {', '.join(f.__name__ for f in _PREPARABLE)} of "
                        f"simdoptim.reference, got {update!r}")
    stepped = update in (adam_update, adagrad_update, ema_update)

    def run(grads, step=1, outs=None):
        extra = {"step": step} if stepped else {}
        if outs is not None or update is ema_update:
            extra["outs"] = outs
        update(params, grads, *state, **options, **extra)

    return run


_PREPARABLE = (gd_update, momentum_update, rmsprop_update, adam_update, adagrad_update, ema_update)


# ---------------------------------------------------------------------------------------
# The optimizer classes: the one class per algorithm, bound to the functions above.

#: update function of each algorithm (by its kernel's name)
UPDATES = {"gd": gd_update, "momentum": momentum_update, "rmsprop": rmsprop_update, "adam": adam_update,
           "adagrad": adagrad_update,
           "ema": ema_update}


def _plan(cls, func, params, states, groups, num_groups, labels):
    return PythonPlan(func, UPDATES[cls.op], cls.kwargs_of, cls.stepped, cls.states, params, states, groups,
                      num_groups, labels)


#: the NumPy backend of the optimizer classes
_BACKEND = Backend("reference", _plan)

GD = _algorithms.GD.using(_BACKEND, __name__)
Momentum = _algorithms.Momentum.using(_BACKEND, __name__)
RMSprop = _algorithms.RMSprop.using(_BACKEND, __name__)
Adam = _algorithms.Adam.using(_BACKEND, __name__)
Adagrad = _algorithms.Adagrad.using(_BACKEND, __name__)
EMA = _algorithms.EMA.using(_BACKEND, __name__)


# ---------------------------------------------------------------------------------------
# Mini-batches: a gather of examples by index, and one epoch of shuffled
# mini-batches built on it. The permutation always comes from a NumPy Generator, so the
# fast backend (simdoptim.batching) sees the same stream and yields the same batches.

def take(X, indices, axis=0, out=None):
    r"""The examples of ``X`` at ``indices`` along ``axis``: ``np.take(X, indices, axis=axis)``.

    ``X`` is 1-D or 2-D: ``axis=0`` gathers rows (the ``(m, n_x)`` layout), ``axis=1`` or
    ``-1`` gathers columns (the course's ``(n_x, m)`` layout). ``indices`` is a 1-D int32
    or int64 array; as in NumPy, repeated indices repeat and negative ones count from the
    end (``-1`` is the last example). An index outside ``[-m, m)`` raises ``IndexError``
    before anything is written. With ``out`` (the result's shape, ``X``'s dtype, not
    overlapping ``X`` or ``indices``) the result is written there and ``out`` returned.
    Lists of indices, other index dtypes and ``axis=None`` are refused rather than
    converted.
    """
    axis, _ = _checks.check_take_args(X, indices, axis, out)
    return np.take(X, indices, axis=axis, out=out)


class MiniBatches:
    r"""One epoch of mini-batches, as an iterable.

    ``for X_batch, Y_batch in MiniBatches(X, Y, batch_size=64, seed=0): ...`` (or
    ``for X_batch in MiniBatches(X)`` without ``Y``). Each new iteration is one epoch: it
    draws a permutation of the ``m`` examples from a ``np.random.Generator``
    (``seed`` is an int, a Generator — shared, so its stream continues — or None for fresh
    entropy) and cuts it into consecutive batches of ``batch_size`` examples, the last one
    holding the ``m mod batch_size`` left over (dropped with ``drop_last=True``). Every
    example is visited exactly once per epoch. ``shuffle=False`` keeps the original order.
    ``batch_size=m`` is batch gradient descent, ``batch_size=1`` stochastic gradient descent.

    ``axis`` is where the examples are: ``0`` for ``X`` of shape ``(m, n_x)`` (rows),
    ``1`` or ``-1`` for the course's ``(n_x, m)`` (columns; for X of more dimensions, the
    first or the last axis). ``Y`` is ``(m,)``, or has two or more dimensions and its
    examples on the same axis as X: ``(m, k)`` for rows, ``(1, m)`` or ``(k, m)`` for
    columns. Batches are new C-contiguous arrays, ``X_batch = take(X, idx, axis)``.

    ``reuse_buffers=True``: the batches are views of two buffers allocated once, so an
    epoch allocates nothing per batch; each yielded batch is then **overwritten by the
    next one** (copy it if you keep it past the next iteration).

    ``len()`` is the number of batches in an epoch.
    """

    def __init__(self, X, Y=None, batch_size=64, *, axis=0, shuffle=True, seed=None, drop_last=False,
                 reuse_buffers=False):
        func = "MiniBatches"
        self._X, self.axis = _checks.check_examples(func, "X", X, axis)
        self.num_examples = X.shape[self.axis]
        self._Y, self._y_axis = None, None
        if Y is not None:
            y_axis = 0 if getattr(Y, "ndim", 0) == 1 else (self.axis and -1)
            self._Y, self._y_axis = _checks.check_examples(func, "Y", Y, y_axis)
            if Y.shape[self._y_axis] != self.num_examples:
                where = "rows" if self._y_axis == 0 else "columns"
                raise ValueError(
                    f"{func}: Y has shape {Y.shape} but X has {self.num_examples} examples (axis {self.axis}); "
                    f"Y must have {self.num_examples} {where}"
                )
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
            raise TypeError(f"{func}: batch_size must be an int, got {type(batch_size).__name__}")
        if batch_size < 1:
            raise ValueError(f"{func}: batch_size must be >= 1, got {batch_size}")
        for name, flag in (("shuffle", shuffle), ("drop_last", drop_last), ("reuse_buffers", reuse_buffers)):
            if not isinstance(flag, (bool, np.bool_)):
                raise TypeError(f"{func}: {name} must be True or False, got {type(flag).__name__}")
        if not (seed is None or isinstance(seed, np.random.Generator)
                or (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool))):
            raise TypeError(f"{func}: seed must be None, an int or a numpy.random.Generator, got {type(seed).__name__}")
        self.batch_size = int(batch_size)
        self.shuffle = _checks.check_flag(func, "shuffle", shuffle)
        self.drop_last = _checks.check_flag(func, "drop_last", drop_last)
        self.reuse_buffers = _checks.check_flag(func, "reuse_buffers", reuse_buffers)
        self.rng = np.random.default_rng(seed)  # a Generator passed in is used as is
        self._x_buffer = self._y_buffer = None
        if self.reuse_buffers:
            b = min(self.batch_size, self.num_examples)
            self._x_buffer = np.empty(X.size // max(self.num_examples, 1) * b, X.dtype)
            if self._Y is not None:
                self._y_buffer = np.empty(Y.size // max(self.num_examples, 1) * b, Y.dtype)

    def __len__(self):
        m, b = self.num_examples, self.batch_size
        return m // b if self.drop_last else -(-m // b)

    def __iter__(self):
        # The permutation is drawn here, when the epoch starts, not at the first batch.
        m = self.num_examples
        order = self.rng.permutation(m) if self.shuffle else np.arange(m)
        return self._epoch(order)

    def _epoch(self, order):
        for k in range(len(self)):
            idx = order[k * self.batch_size:(k + 1) * self.batch_size]
            xb = self._gather(self._X, idx, self.axis, self._x_buffer)
            if self._Y is None:
                yield xb
            else:
                yield xb, self._gather(self._Y, idx, self._y_axis, self._y_buffer)

    @classmethod
    def _gather(cls, A, idx, axis, buffer):
        out = None
        if buffer is not None:
            shape = list(A.shape)
            shape[axis] = idx.shape[0]
            out = buffer[:A.size // A.shape[axis] * idx.shape[0]].reshape(shape)
        return cls._take(A, idx, axis, out)

    @staticmethod
    def _take(A, idx, axis, out):
        return np.take(A, idx, axis=axis, out=out)

    def __repr__(self):
        return (f"{type(self).__name__}(m={self.num_examples}, batch_size={self.batch_size}, axis={self.axis}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, batches={len(self)})")
