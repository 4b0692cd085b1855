"""simdoptim.functional - the stateless updates, on the compiled kernels.

Same names, signatures and results as the functions of :mod:`simdoptim.reference` (bit for
bit), for callers who keep their own state: every tensor of the lists is updated in place in
one pass over memory and one parallel region, with the GIL released. Arguments are checked
before anything is written, by the same checks as the reference (so both raise the same
exception, naming the same argument); unlike the reference, parameters and state must be
contiguous (C or Fortran order) — the kernels update memory in place, never a hidden copy.
Gradients may have any layout (one whose order differs from its parameter's is copied first).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import _algorithms, _checks, _core

__all__ = ["gd_update", "momentum_update", "rmsprop_update", "adam_update", "adagrad_update", "ema_update", "ewma",
           "all_finite"]

Arrays = Sequence[np.ndarray]


def _names(func, names, params):
    if names is not None:
        if not isinstance(names, (list, tuple)):
            raise TypeError(f"{func}: names must be None or a list of the parameters' names, got {type(names).__name__}")
        if isinstance(params, (list, tuple)) and len(names) != len(params):
            raise ValueError(f"{func}: names has {len(names)} entries but params has {len(params)}")
    return names


def gd_update(params: Arrays, grads: Arrays, *, lr: float, weight_decay: float = 0.0,
              names: Sequence[str] | None = None) -> None:
    r"""Mini-batch gradient descent, in place: :math:`w \leftarrow w - \alpha\,(g + \lambda w)`.

    Args:
        params: list of parameter arrays (float32 or float64, C- or Fortran-contiguous,
            writeable), updated in place.
        grads: list of gradient arrays, one per parameter, of its shape and dtype (any layout).
        lr: the learning rate :math:`\alpha`, a finite number >= 0.
        weight_decay: the L2 coefficient :math:`\lambda` added to the gradient (>= 0). Default 0.
        names: the parameters' names for messages (``params['W1']``), or None (``params[0]``).

    Raises:
        TypeError: an argument of the wrong type (a non-array, an integer array, an lr that is
            not a number), or gradients of another dtype.
        ValueError: lr or weight_decay out of range; lists of different lengths; a gradient of
            another shape; a parameter that is read-only or not contiguous; buffers that overlap.

    Source: the deep-learning course's ``update_parameters_with_gd``; ``torch.optim.SGD``.
    """
    func = "gd_update"
    hp = _algorithms.check_hyper(func, _algorithms.GD, {"lr": lr, "weight_decay": weight_decay}, params)
    _core.update(func, "gd", params, grads, None, _algorithms.GD.values(hp), step=1,
                 labels=_names(func, names, params))


def momentum_update(params: Arrays, grads: Arrays, velocities: Arrays, *, lr: float, beta: float = 0.9,
                    form: str = "ema", nesterov: bool = False, weight_decay: float = 0.0,
                    names: Sequence[str] | None = None) -> None:
    r"""Gradient descent with momentum, in place:
    :math:`v \leftarrow \beta v + c\,g`, :math:`w \leftarrow w - \alpha v` (Nesterov:
    :math:`w \leftarrow w - \alpha(\beta v + c\,g)`), with :math:`c = 1-\beta` for
    ``form="ema"`` (the course) or 1 for ``form="sum"`` (``torch.optim.SGD``).

    Args:
        params, grads: as in :func:`gd_update`.
        velocities: list of velocity arrays (the parameters' shapes, dtypes and order), updated
            in place; zeros before the first update.
        lr: learning rate (>= 0). beta: momentum in [0, 1), default 0.9. form: ``"ema"`` or
            ``"sum"``. nesterov: bool. weight_decay: L2 coefficient (>= 0), added to g first.
        names: as in :func:`gd_update`.

    Raises: as :func:`gd_update`; ValueError for an unknown ``form``.

    Sources: the course's ``update_parameters_with_momentum``; Sutskever et al. 2013.
    """
    func = "momentum_update"
    hp = _algorithms.check_hyper(func, _algorithms.Momentum, {"lr": lr, "beta": beta, "form": form,
                                                             "nesterov": nesterov, "weight_decay": weight_decay}, params)
    _core.update(func, "momentum", params, grads, [velocities], _algorithms.Momentum.values(hp), step=1,
                 labels=_names(func, names, params))


def rmsprop_update(params: Arrays, grads: Arrays, square_avgs: Arrays, *, lr: float, beta2: float = 0.99,
                   eps: float = 1e-8, eps_root: float = 0.0, weight_decay: float = 0.0, momentum: float = 0.0,
                   grad_avgs: Arrays | None = None, momentum_buffers: Arrays | None = None,
                   names: Sequence[str] | None = None) -> None:
    r"""RMSprop, in place: :math:`s \leftarrow \beta_2 s + (1-\beta_2) g^2`,
    :math:`w \leftarrow w - \alpha\, g / (\sqrt{s + \epsilon_{root}} + \epsilon)`.

    Centered (pass ``grad_avgs``): :math:`a \leftarrow \beta_2 a + (1-\beta_2) g` and
    :math:`\max(s - a^2, 0)` replaces :math:`s`. Momentum > 0 (pass ``momentum_buffers``):
    :math:`b \leftarrow \mu b + g/(\sqrt{\cdot}+\epsilon)`, :math:`w \leftarrow w - \alpha b`.

    Args:
        params, grads, names: as in :func:`gd_update`.
        square_avgs, grad_avgs, momentum_buffers: state lists (the parameters' shapes, dtypes
            and order), updated in place; zeros before the first update.
        lr (>= 0), beta2 in [0, 1), eps and eps_root (>= 0; at least one > 0 in the
            parameters' compute type), weight_decay (>= 0), momentum in [0, 1).

    Raises: as :func:`gd_update`; ValueError when momentum > 0 without ``momentum_buffers``, or
    when eps and eps_root are both 0 in float32/float64.

    Sources: Hinton's lecture 6e; ``torch.optim.RMSprop`` (centered, momentum).
    """
    func = "rmsprop_update"
    hp = _algorithms.check_hyper(func, _algorithms.RMSprop, {
        "lr": lr, "beta2": beta2, "eps": eps, "eps_root": eps_root, "weight_decay": weight_decay,
        "momentum": momentum, "centered": grad_avgs is not None}, params)
    if hp["momentum"] != 0.0 and momentum_buffers is None:
        raise ValueError(f"{func}: momentum_buffers is required when momentum > 0")
    states = [square_avgs, grad_avgs, momentum_buffers if hp["momentum"] != 0.0 else None]
    _core.update(func, "rmsprop", params, grads, states, _algorithms.RMSprop.values(hp), step=1,
                 labels=_names(func, names, params))


def adam_update(params: Arrays, grads: Arrays, exp_avgs: Arrays, exp_avg_sqs: Arrays, *, step: int, lr: float = 0.001,
                beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8, eps_root: float = 0.0,
                weight_decay: float = 0.0, decoupled: bool = False, max_exp_avg_sqs: Arrays | None = None,
                names: Sequence[str] | None = None) -> None:
    r"""Adam, in place (``step`` is t, 1 on the first update):
    :math:`m \leftarrow \beta_1 m + (1-\beta_1) g`, :math:`v \leftarrow \beta_2 v + (1-\beta_2) g^2`,
    :math:`w \leftarrow w - \alpha\, \hat m / (\sqrt{\hat v + \epsilon_{root}} + \epsilon)` with
    :math:`\hat m = m/(1-\beta_1^t)`, :math:`\hat v = v/(1-\beta_2^t)` (float64 scalars).

    Args:
        params, grads, names: as in :func:`gd_update`.
        exp_avgs, exp_avg_sqs (and max_exp_avg_sqs for AMSGrad): state lists, updated in place;
            zeros before the first update.
        step: the number of this update, an int >= 1.
        lr (>= 0, default 0.001), beta1, beta2 in [0, 1) (0.9, 0.999), eps, eps_root (>= 0, at
            least one > 0 in the parameters' compute type; 1e-8, 0), weight_decay (>= 0).
        decoupled: AdamW, ``w <- w * (1 - lr * weight_decay)`` before the update (bool).

    Raises: as :func:`gd_update`; TypeError for a non-int step, ValueError for step < 1.

    Sources: Kingma & Ba 2015, algorithm 1; Loshchilov & Hutter 2019 (AdamW); Reddi et al. 2018 (AMSGrad).
    """
    func = "adam_update"
    _checks.check_step(func, step)
    hp = _algorithms.check_hyper(func, _algorithms.Adam, {
        "lr": lr, "beta1": beta1, "beta2": beta2, "eps": eps, "eps_root": eps_root, "weight_decay": weight_decay,
        "decoupled": decoupled, "amsgrad": max_exp_avg_sqs is not None}, params)
    _core.update(func, "adam", params, grads, [exp_avgs, exp_avg_sqs, max_exp_avg_sqs],
                 _algorithms.Adam.values(hp), step=step, labels=_names(func, names, params))


def adagrad_update(params: Arrays, grads: Arrays, state_sums: Arrays, *, step: int, lr: float = 0.01,
                   lr_decay: float = 0.0, eps: float = 1e-10, weight_decay: float = 0.0, maximize: bool = False,
                   names: Sequence[str] | None = None) -> None:
    r"""Adagrad, in place (``step`` is t, 1 on the first update): with ``g := -g`` if
    ``maximize`` and ``g := g + weight_decay * w``, :math:`s \leftarrow s + g^2`,
    :math:`w \leftarrow w - \alpha_t\, g / (\sqrt{s} + \epsilon)`,
    :math:`\alpha_t = \alpha / (1 + (t-1)\,\text{lr\_decay})` (a float64 scalar).

    Args:
        params, grads, names: as in :func:`gd_update`.
        state_sums: the sums of squared gradients, one per parameter (its shape, dtype and
            order), updated in place; ``initial_accumulator_value`` (0 by default) before the
            first update.
        step: the number of this update, an int >= 1.
        lr (>= 0, default 0.01), lr_decay (>= 0, default 0), eps (>= 0, default 1e-10; with
            eps 0 the sums must start > 0 or a zero gradient divides 0 by 0), weight_decay
            (>= 0), maximize (bool: ascend instead of descend).

    Raises: as :func:`gd_update`; TypeError for a non-int step, ValueError for step < 1.

    Sources: Duchi, Hazan & Singer 2011; ``torch.optim.Adagrad`` (lr_decay, maximize).
    """
    func = "adagrad_update"
    _checks.check_step(func, step)
    hp = _algorithms.check_hyper(func, _algorithms.Adagrad, {
        "lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay, "maximize": maximize}, params)
    _core.update(func, "adagrad", params, grads, [state_sums], _algorithms.Adagrad.values(hp), step=step,
                 labels=_names(func, names, params))


def ema_update(averages: Arrays, values: Arrays, *, beta: float, step: int, bias_correction: bool = False,
               outs: Arrays | None = None, names: Sequence[str] | None = None) -> None:
    r"""Running averages, in place: :math:`v \leftarrow \beta v + (1-\beta) x`; with ``outs``,
    each ``outs[i]`` receives in the same pass the step's average, divided by
    :math:`1 - \beta^{step}` when ``bias_correction``.

    Args:
        averages: list of average arrays (float32/float64, contiguous), updated in place.
        values: the new values, one per average, of its shape and dtype (any layout).
        beta: in [0, 1). step: the number of this update (int >= 1).
        bias_correction: bool (needs ``outs``). outs: output arrays or None. names: as in gd_update.

    Raises: as :func:`gd_update`; ValueError when bias_correction is True without ``outs``.
    """
    func = "ema_update"
    _checks.check_step(func, step)
    hp = _algorithms.check_hyper(func, _algorithms.EMA, {"beta": beta, "bias_correction": bias_correction}, averages)
    if hp["bias_correction"] and outs is None:
        raise ValueError(f"{func}: bias_correction=True needs outs to write the corrected averages into")
    _core.update(func, "ema", averages, values, None, _algorithms.EMA.values(hp), step=step,
                 labels=_names(func, names, averages), outs=outs, arg_names=("averages", "values"))


def ewma(series, beta: float, bias_correction: bool = True, axis: int = -1) -> np.ndarray:
    r"""Exponentially weighted average of whole series along ``axis`` (many series at once):
    :math:`v_0 = 0`, :math:`v_t = \beta v_{t-1} + (1-\beta)\theta_t`, result :math:`v_t/(1-\beta^t)`
    (bias correction) or :math:`v_t`.

    Args:
        series: array-like of real numbers, at least 1-D; float32 stays float32, float64 stays
            float64, other real dtypes are averaged in float64.
        beta: in [0, 1) (averages over about 1/(1-beta) values).
        bias_correction: bool, default True. axis: the time axis (int), default -1.

    Returns: a new C-contiguous array of the series' shape.

    Raises: TypeError for non-real series or a non-int axis; IndexError for an axis out of range;
    ValueError for beta outside [0, 1) or a 0-d series.
    """
    x = _checks.prepare_series("ewma", series, beta)
    bias_correction = _checks.check_flag("ewma", "bias_correction", bias_correction)
    axis = _checks.normalize_axis(axis, x.ndim)
    x = np.ascontiguousarray(x)
    out = np.empty(x.shape, x.dtype)
    _core.ewma_scan(x, out, beta=float(beta), axis=axis, bias_correction=bias_correction)
    return out


def all_finite(arrays: Arrays) -> bool:
    """True when no array of the list holds a NaN or an infinity (``np.isfinite`` on each);
    one parallel read pass with the GIL released.

    Args: arrays: a list of float32/float64 arrays (C- or Fortran-contiguous).
    Raises: TypeError for a non-list or a non-float array; ValueError for a strided array.
    """
    return _core.all_finite(arrays)
