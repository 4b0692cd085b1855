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

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from . import _algorithms, _checks, _core

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, DTypeLike

__all__ = ["gd_update", "momentum_update", "rmsprop_update", "adam_update", "adam_pytorch_update", "adagrad_update",
           "ema_update", "round_to", "grad_norm", "ewma", "all_finite", "prepare"]


def __dir__():
    """Only the public API in dir() and tab completion (PEP 562), not the module's imports."""
    return list(__all__)

Arrays = Sequence[np.ndarray]


def gd_update(params: Arrays, grads: Arrays, *, lr: float, weight_decay: float = 0.0,
              names: Sequence[str] | None = None, step: int = 1, grad_scale: float | None = None,
              max_grad_norm: float | None = None, copies: Sequence[np.ndarray | None] | None = None,
              rounding: str = "nearest", seed: int = 0, first_tensor: int = 0) -> float | None:
    r"""Mini-batch gradient descent, in place: :math:`w \leftarrow w - \alpha\,(g + \lambda w)`.

    Args:
        params: list of parameter arrays (float32 or float64, C- or Fortran-contiguous,
            writeable), updated in place.
        grads: list of gradient arrays, one per parameter, of its shape and dtype (any layout).
        lr: the learning rate :math:`\alpha`, a finite number >= 0.
        weight_decay: the L2 coefficient :math:`\lambda` added to the gradient (>= 0). Default 0.
        names: the parameters' names for messages (``params['W1']``), or None (``params[0]``).
        step, grad_scale, max_grad_norm, copies, rounding, seed, first_tensor: mixed precision, as
            in :func:`simdoptim.reference.gd_update` (float16/bfloat16 arrays computed in float32
            and rounded once when stored; unscaling, clipping, a master's copy; ``step`` keys the
            random bits of stochastic rounding).

    Returns: the gradients' norm when ``max_grad_norm`` is given, else None.

    Raises:
        TypeError: an argument of the wrong type (a non-array, an integer array, an lr that is
            not a number), or gradients of another dtype.
        ValueError: lr or weight_decay out of range; lists of different lengths; a gradient of
            another shape; a parameter that is read-only or not contiguous; buffers that overlap.

    Source: the deep-learning course's ``update_parameters_with_gd``; ``torch.optim.SGD``.
    """
    if (type(lr) is float and 0.0 <= lr < _INF and type(weight_decay) is float and 0.0 <= weight_decay < _INF
            and (names is None or _names_ok(names, params))
            and _plain(step, grad_scale, max_grad_norm, copies, rounding, seed, first_tensor)):
        _core.update("gd_update", "gd", params, grads, None, (lr, weight_decay), step, names)
        return None
    _checks.check_step("gd_update", step)
    return _gd("gd_update", params, lr=lr, weight_decay=weight_decay, names=names, max_grad_norm=max_grad_norm,
               copies=copies, rounding=rounding, seed=seed, first_tensor=first_tensor).run(grads, step,
                                                                                            grad_scale=grad_scale)


def momentum_update(params: Arrays, grads: Arrays, velocities: Arrays, *, lr: float, beta: float = 0.9,
                    form: str = "ema", nesterov: bool = False, weight_decay: float = 0.0,
                    names: Sequence[str] | None = None, step: int = 1, grad_scale: float | None = None,
                    max_grad_norm: float | None = None, copies: Sequence[np.ndarray | None] | None = None,
                    rounding: str = "nearest", seed: int = 0, first_tensor: int = 0) -> float | None:
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
        step, grad_scale, max_grad_norm, copies, rounding, seed, first_tensor: mixed precision, as
            in :func:`simdoptim.reference.momentum_update` (float16/bfloat16 arrays computed in float32
            and rounded once when stored; unscaling, clipping, a master's copy; ``step`` keys the
            random bits of stochastic rounding).

    Returns: the gradients' norm when ``max_grad_norm`` is given, else None.

    Raises: as :func:`gd_update`; ValueError for an unknown ``form``.

    Sources: the course's ``update_parameters_with_momentum``; Sutskever et al. 2013.
    """
    if (type(lr) is float and 0.0 <= lr < _INF and type(beta) is float and 0.0 <= beta < 1.0
            and (form == "ema" or form == "sum") and type(form) is str and (nesterov is True or nesterov is False)
            and type(weight_decay) is float and 0.0 <= weight_decay < _INF
            and (names is None or _names_ok(names, params))
            and _plain(step, grad_scale, max_grad_norm, copies, rounding, seed, first_tensor)):
        _core.update("momentum_update", "momentum", params, grads, [velocities],
                     (lr, beta, form == "sum", nesterov, weight_decay, 0.0), step, names)  # 0.0: dampening
        return None
    _checks.check_step("momentum_update", step)
    return _momentum("momentum_update", params, velocities, lr=lr, beta=beta, form=form, nesterov=nesterov,
                     weight_decay=weight_decay, names=names, max_grad_norm=max_grad_norm, copies=copies,
                     rounding=rounding, seed=seed, first_tensor=first_tensor).run(grads, step, grad_scale=grad_scale)


def rmsprop_update(params: Arrays, grads: Arrays, square_avgs: Arrays, *, lr: float, beta2: float = 0.99,
                   eps: float = 1e-8, eps_root: float = 0.0, weight_decay: float = 0.0, momentum: float = 0.0,
                   grad_avgs: Arrays | None = None, momentum_buffers: Arrays | None = None,
                   names: Sequence[str] | None = None, step: int = 1, grad_scale: float | None = None,
                   max_grad_norm: float | None = None, copies: Sequence[np.ndarray | None] | None = None,
                   rounding: str = "nearest", seed: int = 0, first_tensor: int = 0) -> float | None:
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
        step, grad_scale, max_grad_norm, copies, rounding, seed, first_tensor: mixed precision, as
            in :func:`simdoptim.reference.rmsprop_update` (float16/bfloat16 arrays computed in float32
            and rounded once when stored; unscaling, clipping, a master's copy; ``step`` keys the
            random bits of stochastic rounding).

    Returns: the gradients' norm when ``max_grad_norm`` is given, else None.

    Raises: as :func:`gd_update`; ValueError when momentum > 0 without ``momentum_buffers``, or
    when eps and eps_root are both 0 in float32/float64.

    Sources: Hinton's lecture 6e; ``torch.optim.RMSprop`` (centered, momentum).
    """
    if (type(lr) is float and 0.0 <= lr < _INF and type(beta2) is float and 0.0 <= beta2 < 1.0
            and type(eps) is float and 0.0 <= eps < _INF and type(eps_root) is float and 0.0 <= eps_root < _INF
            and (eps > _checks.F32_ZERO_BELOW or eps_root > _checks.F32_ZERO_BELOW)
            and type(weight_decay) is float and 0.0 <= weight_decay < _INF
            and type(momentum) is float and 0.0 <= momentum < 1.0 and (momentum == 0.0 or momentum_buffers is not None)
            and (names is None or _names_ok(names, params))
            and _plain(step, grad_scale, max_grad_norm, copies, rounding, seed, first_tensor)):
        _core.update("rmsprop_update", "rmsprop", params, grads,
                     [square_avgs, grad_avgs, momentum_buffers if momentum != 0.0 else None],
                     (lr, beta2, eps, eps_root, weight_decay, momentum, grad_avgs is not None), step, names)
        return None
    _checks.check_step("rmsprop_update", step)
    return _rmsprop("rmsprop_update", params, square_avgs, lr=lr, beta2=beta2, eps=eps, eps_root=eps_root,
                    weight_decay=weight_decay, momentum=momentum, grad_avgs=grad_avgs,
                    momentum_buffers=momentum_buffers, names=names, max_grad_norm=max_grad_norm, copies=copies,
                    rounding=rounding, seed=seed,
                    first_tensor=first_tensor).run(grads, step, grad_scale=grad_scale)


def adam_update(params: Arrays, grads: Arrays, exp_avgs: Arrays, exp_avg_sqs: Arrays, *, step: int, lr: float = 0.001,
                beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8, eps_root: float = 0.0,
                weight_decay: float = 0.0, decoupled: bool = False, max_exp_avg_sqs: Arrays | None = None,
                names: Sequence[str] | None = None, order: str = "literal", grad_scale: float | None = None,
                max_grad_norm: float | None = None, copies: Sequence[np.ndarray | None] | None = None,
                rounding: str = "nearest", seed: int = 0, first_tensor: int = 0) -> float | None:
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
        order: ``"literal"`` (default) or ``"pytorch"`` (:func:`adam_pytorch_update`'s order).
        grad_scale, max_grad_norm, copies, rounding, seed, first_tensor: mixed precision, as
            in :func:`simdoptim.reference.adam_update`: float16/bfloat16 parameters, gradients
            and state (float32 arithmetic, one rounding per store, nearest or stochastic),
            the gradients divided by ``grad_scale`` and clipped by their global norm, and
            ``copies`` written with each float32 master's rounded value in the same pass.

    Returns: the gradients' global norm (after unscaling) when ``max_grad_norm`` is given, else None.

    Raises: as :func:`gd_update`; TypeError for a non-int step or a dtype combination the kernels
    do not take, ValueError for step < 1 or a bad mixed-precision option.

    Sources: Kingma & Ba 2015, algorithm 1; Loshchilov & Hutter 2019 (AdamW); Reddi et al. 2018 (AMSGrad);
    torch.optim.Adam (the pytorch order); Micikevicius et al. 2018 (mixed precision).
    """
    if (type(step) is int and step >= 1 and type(lr) is float and 0.0 <= lr < _INF
            and type(beta1) is float and 0.0 <= beta1 < 1.0 and type(beta2) is float and 0.0 <= beta2 < 1.0
            and type(eps) is float and 0.0 <= eps < _INF and type(eps_root) is float and 0.0 <= eps_root < _INF
            and (eps > _checks.F32_ZERO_BELOW or eps_root > _checks.F32_ZERO_BELOW)
            and type(weight_decay) is float and 0.0 <= weight_decay < _INF and (decoupled is True or decoupled is False)
            and (names is None or _names_ok(names, params))
            and (order == "literal" or order == "pytorch" and eps_root == 0.0) and type(order) is str
            and _plain(step, grad_scale, max_grad_norm, copies, rounding, seed, first_tensor)):
        _core.update("adam_update", "adam", params, grads, [exp_avgs, exp_avg_sqs, max_exp_avg_sqs],
                     (lr, beta1, beta2, eps, eps_root, weight_decay, decoupled, max_exp_avg_sqs is not None,
                      order == "pytorch"), step, names)
        return None
    _checks.check_step("adam_update", step)
    return _adam("adam_update", params, exp_avgs, exp_avg_sqs, lr=lr, beta1=beta1, beta2=beta2, eps=eps,
                 eps_root=eps_root, weight_decay=weight_decay, decoupled=decoupled, max_exp_avg_sqs=max_exp_avg_sqs,
                 names=names, order=order, max_grad_norm=max_grad_norm, copies=copies, rounding=rounding, seed=seed,
                 first_tensor=first_tensor).run(grads, step, grad_scale=grad_scale)


def adam_pytorch_update(params: Arrays, grads: Arrays, exp_avgs: Arrays, exp_avg_sqs: Arrays, *, step: int,
                        lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                        weight_decay: float = 0.0, decoupled: bool = False, max_exp_avg_sqs: Arrays | None = None,
                        names: Sequence[str] | None = None, grad_scale: float | None = None,
                        max_grad_norm: float | None = None, copies: Sequence[np.ndarray | None] | None = None,
                        rounding: str = "nearest", seed: int = 0, first_tensor: int = 0) -> float | None:
    r"""Adam in PyTorch's operation order, in place: :math:`m \leftarrow m + (1-\beta_1)(g - m)`,
    :math:`v \leftarrow \beta_2 v + (1-\beta_2) g^2`, :math:`w \leftarrow w - s\,m / (\sqrt{v}\,c + \epsilon)`
    with :math:`s = \alpha/(1-\beta_1^t)` and :math:`c = 1/\sqrt{1-\beta_2^t}` in float64: one division per
    element (``torch.optim.Adam/AdamW``'s arithmetic, bit-exact with
    :func:`simdoptim.reference.adam_pytorch_update`).

    Args, Returns, Raises: as :func:`adam_update`, without ``eps_root`` and ``order``.

    Source: ``torch.optim.Adam`` / ``AdamW``; Kingma & Ba 2015.
    """
    _checks.check_step("adam_pytorch_update", step)
    return _adam("adam_pytorch_update", params, exp_avgs, exp_avg_sqs, lr=lr, beta1=beta1, beta2=beta2, eps=eps,
                 weight_decay=weight_decay, decoupled=decoupled, max_exp_avg_sqs=max_exp_avg_sqs, names=names,
                 order="pytorch", max_grad_norm=max_grad_norm, copies=copies, rounding=rounding, seed=seed,
                 first_tensor=first_tensor).run(grads, step, grad_scale=grad_scale)


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
    _checks.check_step("adagrad_update", step)
    _adagrad("adagrad_update", params, state_sums, lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
             maximize=maximize, names=names).run(grads, step)


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
    if (type(step) is int and step >= 1 and type(beta) is float and 0.0 <= beta < 1.0
            and (bias_correction is False or bias_correction is True and outs is not None)
            and (names is None or _names_ok(names, averages))):
        _core.update(func, "ema", averages, values, None, (beta, bias_correction), step, names, outs,
                     ("averages", "values"))
        return
    _checks.check_step(func, step)
    call = _ema(func, averages, beta=beta, bias_correction=bias_correction, names=names)
    if call.values[1] and outs is None:
        raise ValueError(f"{func}: bias_correction=True needs outs to write the corrected averages into")
    call.run(values, step, outs)


# ---------------------------------------------------------------------------------------
# Each update first tests its scalars inline (exact floats, ints and bools in range: the
# common case, a microsecond cheaper than the shared checks); anything else takes the
# shared checks, which give the reference's exceptions and messages.

_INF = float("inf")


def _names_ok(names, params):
    return type(names) in (list, tuple) and type(params) in (list, tuple) and len(names) == len(params)


def _plain(step, grad_scale, max_grad_norm, copies, rounding, seed, first_tensor):
    """No mixed-precision option differs from its default (and the step is a valid int)."""
    return (type(step) is int and step >= 1 and grad_scale is None and max_grad_norm is None and copies is None
            and rounding == "nearest" and type(rounding) is str and seed == 0 and type(seed) is int
            and first_tensor == 0 and type(first_tensor) is int)


def _lowp(func, max_grad_norm, copies, rounding, seed, first_tensor):
    """The checked mixed-precision options of an update, as _core.update takes them."""
    return {"copies": copies, "max_grad_norm": _checks.check_max_grad_norm(func, "max_grad_norm", max_grad_norm),
            "stochastic": _checks.check_rounding(func, rounding) == "stochastic",
            "seed": _checks.check_seed(func, seed),
            "first_tensor": _check_first_tensor(func, first_tensor)}


# What each update hands to the compiled core, checked once: shared by the functions above
# and by prepare().

class _Call:
    """One update's arguments for ``_core``: the op, its arrays (without the gradients) and
    its hyper-parameter values in the op's field order; ``lowp`` the mixed-precision options
    (copies, max_grad_norm, stochastic, seed, first_tensor) of the updates that take them."""

    __slots__ = ("func", "op", "params", "states", "values", "labels", "arg_names", "stepped", "lowp")

    def __init__(self, func, op, params, states, values, labels, arg_names=("params", "grads"), stepped=False,
                 lowp=None):
        self.func, self.op, self.params, self.states, self.values = func, op, params, states, values
        self.labels, self.arg_names, self.stepped, self.lowp = labels, arg_names, stepped, lowp or {}

    def run(self, grads: Arrays, step: int, outs: Arrays | None = None,
            grad_scale: float | None = None) -> float | None:
        if grad_scale is not None:
            grad_scale = _checks.check_grad_scale(self.func, grad_scale)
        return _core.update(self.func, self.op, self.params, grads, self.states, self.values, step=step,
                            labels=self.labels, outs=outs, arg_names=self.arg_names, grad_scale=grad_scale,
                            **self.lowp)

    def plan(self) -> _core.Plan:
        lowp = dict(self.lowp)
        plan = _core.Plan(self.func, self.op, self.params, self.states, None, 1, self.labels, self.arg_names[0],
                          self.arg_names[1], copies=lowp.pop("copies", None))
        plan.set_hyper(0, self.values)
        if lowp:
            plan.set_clip(0, lowp["max_grad_norm"])
            plan.rounding = "stochastic" if lowp["stochastic"] else "nearest"
            plan.seed = lowp["seed"]
            plan.set_first_tensor(lowp["first_tensor"])
        return plan


def _gd(func: str, params: Arrays, *, lr: float, weight_decay: float = 0.0, names: Sequence[str] | None = None,
        max_grad_norm: float | None = None, copies: Sequence[np.ndarray | None] | None = None,
        rounding: str = "nearest", seed: int = 0, first_tensor: int = 0) -> _Call:
    hp = _algorithms.check_hyper(func, _algorithms.GD, {"lr": lr, "weight_decay": weight_decay}, params)
    return _Call(func, "gd", params, None, _algorithms.GD.values(hp), _checks.check_names(func, names, params),
                 lowp=_lowp(func, max_grad_norm, copies, rounding, seed, first_tensor))


def _momentum(func: str, params: Arrays, velocities: Arrays, *, lr: float, beta: float = 0.9, form: str = "ema",
              nesterov: bool = False, weight_decay: float = 0.0, names: Sequence[str] | None = None,
              max_grad_norm: float | None = None, copies: Sequence[np.ndarray | None] | None = None,
              rounding: str = "nearest", seed: int = 0, first_tensor: int = 0) -> _Call:
    hp = _algorithms.check_hyper(func, _algorithms.Momentum,
                                 {"lr": lr, "beta": beta, "form": form, "nesterov": nesterov,
                                  "weight_decay": weight_decay}, params)
    return _Call(func, "momentum", params, [velocities], _algorithms.Momentum.values(hp),
                 _checks.check_names(func, names, params),
                 lowp=_lowp(func, max_grad_norm, copies, rounding, seed, first_tensor))


def _rmsprop(func: str, params: Arrays, square_avgs: Arrays, *, lr: float, beta2: float = 0.99, eps: float = 1e-8,
             eps_root: float = 0.0, weight_decay: float = 0.0, momentum: float = 0.0, grad_avgs: Arrays | None = None,
             momentum_buffers: Arrays | None = None, names: Sequence[str] | None = None,
             max_grad_norm: float | None = None, copies: Sequence[np.ndarray | None] | None = None,
             rounding: str = "nearest", seed: int = 0, first_tensor: int = 0) -> _Call:
    hp = _algorithms.check_hyper(func, _algorithms.RMSprop, {
        "lr": lr, "beta2": beta2, "eps": eps, "eps_root": eps_root, "weight_decay": weight_decay,
        "momentum": momentum, "centered": grad_avgs is not None}, params)
    if hp["momentum"] != 0.0 and momentum_buffers is None:
        raise ValueError(f"{func}: momentum_buffers is required when momentum > 0")
    states = [square_avgs, grad_avgs, momentum_buffers if hp["momentum"] != 0.0 else None]
    return _Call(func, "rmsprop", params, states, _algorithms.RMSprop.values(hp),
                 _checks.check_names(func, names, params),
                 lowp=_lowp(func, max_grad_norm, copies, rounding, seed, first_tensor))


def _adam(func: str, params: Arrays, exp_avgs: Arrays, exp_avg_sqs: Arrays, *, lr: float = 0.001,
          beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8, eps_root: float = 0.0,
          weight_decay: float = 0.0, decoupled: bool = False, max_exp_avg_sqs: Arrays | None = None,
          names: Sequence[str] | None = None, order: str = "literal", max_grad_norm: float | None = None,
          copies: Sequence[np.ndarray | None] | None = None, rounding: str = "nearest", seed: int = 0,
          first_tensor: int = 0) -> _Call:
    hp = _algorithms.check_hyper(func, _algorithms.Adam, {
        "lr": lr, "beta1": beta1, "beta2": beta2, "eps": eps, "eps_root": eps_root, "weight_decay": weight_decay,
        "decoupled": decoupled, "amsgrad": max_exp_avg_sqs is not None, "order": order}, params)
    return _Call(func, "adam", params, [exp_avgs, exp_avg_sqs, max_exp_avg_sqs], _algorithms.Adam.values(hp),
                 _checks.check_names(func, names, params), stepped=True,
                 lowp=_lowp(func, max_grad_norm, copies, rounding, seed, first_tensor))


def _check_first_tensor(func, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TypeError(f"{func}: first_tensor must be an int >= 0, got {value!r}")
    return value


def _adagrad(func: str, params: Arrays, state_sums: Arrays, *, lr: float = 0.01, lr_decay: float = 0.0,
             eps: float = 1e-10, weight_decay: float = 0.0, maximize: bool = False,
             names: Sequence[str] | None = None) -> _Call:
    hp = _algorithms.check_hyper(func, _algorithms.Adagrad, {
        "lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay, "maximize": maximize}, params)
    return _Call(func, "adagrad", params, [state_sums], _algorithms.Adagrad.values(hp),
                 _checks.check_names(func, names, params), stepped=True)


def _ema(func: str, averages: Arrays, *, beta: float, bias_correction: bool = False,
         names: Sequence[str] | None = None) -> _Call:
    hp = _algorithms.check_hyper(func, _algorithms.EMA, {"beta": beta, "bias_correction": bias_correction}, averages)
    return _Call(func, "ema", averages, None, _algorithms.EMA.values(hp), _checks.check_names(func, names, averages),
                 ("averages", "values"), stepped=True)


_BUILDERS: dict[Callable[..., Any], Callable[..., _Call]] = {
    gd_update: _gd, momentum_update: _momentum, rmsprop_update: _rmsprop, adam_update: _adam,
    adam_pytorch_update: lambda func, *a, **k: _adam(func, *a, order="pytorch", **k), adagrad_update: _adagrad,
    ema_update: _ema}


def prepare(update, params, *state, **options):
    r"""One of this module's updates with its arrays and hyper-parameters bound once, for
    repeated calls that pass only the gradients: the small-step fast path.

    ``run = prepare(adam_update, params, exp_avgs, exp_avg_sqs, lr=1e-3)`` checks everything
    ``adam_update`` would (the same exceptions) and returns a callable; ``run(grads, step)``
    then does what ``adam_update(params, grads, exp_avgs, exp_avg_sqs, step=step, lr=1e-3)``
    does, bit for bit, checking only the gradients (``step`` is the update's number for Adam,
    Adagrad and the EMA, ignored by the others; ``ema_update`` also takes ``outs`` per call:
    ``run(values, step, outs)``). The arrays stay bound: replace them by preparing again.

    Args:
        update: ``gd_update``, ``momentum_update``, ``rmsprop_update``, ``adam_update``,
            ``adagrad_update`` or ``ema_update`` (of this module).
        params: the parameter list (``averages`` for ``ema_update``).
        state: the update's state lists, positionally, in its signature's order (e.g.
            ``exp_avgs, exp_avg_sqs``); options such as ``max_exp_avg_sqs``, ``grad_avgs`` or
            ``names`` and every hyper-parameter by keyword.

    Returns: a callable ``run(grads, step=1, outs=None)``.

    Raises: TypeError for another function; otherwise what ``update`` raises for the same
    arguments.
    """
    try:
        build = _BUILDERS[update]
    except (KeyError, TypeError):
        raise TypeError(f"prepare: update must be one of {', '.join(f.__name__ for f in _BUILDERS)} of "
                        f"simdoptim.functional, got {update!r}") from None
    return build(update.__name__, params, *state, **options).plan()


def round_to(x: ArrayLike, dtype: DTypeLike, rounding: str = "nearest", *, seed: int = 0, step: int = 0,
             tensor: int = 0, stream: int = 0) -> np.ndarray:
    r"""``x`` (as float32) rounded to ``dtype`` by the kernels' stores: the bits of
    :func:`simdoptim.reference.round_to` (nearest even, or stochastic with the random bits an
    update draws for buffer ``stream`` of tensor ``tensor`` at step ``step`` with ``seed``;
    element ``e`` is the e-th element in C order), on every SIMD path and thread count.

    Args, Returns, Raises: as :func:`simdoptim.reference.round_to`.
    """
    func = "round_to"
    dtype = _checks.check_round_dtype(func, dtype)
    rounding = _checks.check_rounding(func, rounding)
    seed, step, tensor, stream = _checks.check_round_keys(func, seed, step, tensor, stream)
    x = np.ascontiguousarray(x, dtype=np.float32)
    if not _checks.is_lowp(dtype):
        return x.astype(dtype)
    out = np.empty(x.shape, dtype)
    _core._round(x, out, stochastic=rounding == "stochastic", seed=seed, step=step, tensor=tensor, stream=stream)
    return out


def grad_norm(grads: Arrays, grad_scale: float | None = None, params: Arrays | None = None) -> float:
    r"""The global L2 norm of the gradients after unscaling, summed in the fixed order of
    :func:`simdoptim.reference.grad_norm` (bit for bit equal to it) by the read pass a
    clipped step runs: one parallel pass, float64 sums in blocks of 2048 elements.

    Args, Returns, Raises: as :func:`simdoptim.reference.grad_norm`.
    """
    _checks.check_norm_args("grad_norm", grads, grad_scale, params)
    laid = []
    for i, g in enumerate(grads):
        ref = g if params is None else params[i]
        order: Literal["C", "F"] = "F" if ref.flags.f_contiguous and not ref.flags.c_contiguous else "C"
        ok = g.flags.aligned and (g.flags.f_contiguous if order == "F" else g.flags.c_contiguous)
        laid.append(g if ok else np.array(g, order=order))
    return _core._grad_norm(laid, None if grad_scale is None else float(grad_scale))


def ewma(series: ArrayLike, beta: float, bias_correction: bool = True, axis: int = -1) -> np.ndarray:
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

    Args: arrays: a list of float32, float64, bfloat16 (``ml_dtypes.bfloat16``) or float16
        arrays (C- or Fortran-contiguous, native byte order).
    Raises: TypeError for a non-list, a non-array or another dtype; ValueError for a strided array.
    """
    return _core.all_finite(arrays)
