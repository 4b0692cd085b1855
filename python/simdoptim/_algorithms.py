"""The algorithms: one class each, on the one optimizer core (:mod:`simdoptim._optimizer`).

Each class states its update, its hyper-parameters (with their checks, in the order its
kernel takes them) and its state buffers; the backend that runs it is bound by
``Optimizer.using`` (``simdoptim.Adam`` compiled, ``simdoptim.reference.Adam`` NumPy).
Neutral: imports neither backend.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Union

import numpy as np
from numpy.typing import NDArray

from . import _checks
from ._optimizer import (
    STATE_FORMAT,
    Algorithm,
    Optimizer,
    _check_beta,
    _check_count,
    _check_flag,
    _check_form,
    _check_header,
    _check_lr,
    _check_real,
    interrupts_deferred,
)

if TYPE_CHECKING:
    from ._core import Plan
    from ._optimizer import PythonPlan

__all__ = ["GD", "Momentum", "RMSprop", "Adam", "Adagrad", "EMA"]

#: what ``params`` may be: one array, a list of arrays, a dict name -> array, or a list of groups
Params = Union[NDArray[Any], Sequence[NDArray[Any]], Mapping[str, NDArray[Any]], Sequence[Mapping[str, Any]]]
#: a learning rate: a number, or a schedule (a callable of the epoch, or of the step with ``per = "step"``)
LR = Union[float, Callable[[int], float]]

_PARAMS_DOC = """params: the tensors to optimise, updated in place. One array, a list of arrays, a dict
        name -> array (the course's ``parameters``; gradients may then be keyed ``dW1`` for
        ``W1``), or a list of parameter groups, each a dict ``{"params": <arrays as above>,
        <hyper-parameter>: value, ...}`` whose missing hyper-parameters take the constructor's
        values (``torch.optim``'s convention). Arrays: float32 or float64 (the reference also
        takes any NumPy float dtype it can compute in), any shape; the compiled backend needs
        them C- or Fortran-contiguous and aligned (it never updates a hidden copy)."""

_COMMON_DOC = """nonfinite: ``"propagate"`` (default: NaN/Inf gradients flow into the update, as in NumPy
        and PyTorch), ``"skip"`` (such a step changes nothing and returns False; counted in
        ``skipped_steps``) or ``"raise"`` (FloatingPointError naming the tensor, nothing written).

    Attributes and methods: ``param_groups`` (a list of dicts; every hyper-parameter, ``lr``
    included, can be changed per group between steps, and is checked when set); ``step(grads)``
    (gradients in the structure of ``params``; returns True when applied); ``t`` (updates
    applied), ``epoch`` and ``next_epoch()`` (for per-epoch schedules), ``skipped_steps``;
    ``state_dict()`` / ``load_state_dict()`` (plain, versioned, the same for both backends).
    Reading ``opt.lr`` (or any hyper-parameter) gives the groups' common value; setting it sets
    every group's.

    Raises (at construction, at ``step`` and when a group's value is set, before anything is
    written): TypeError for a value of the wrong type (an array that is not float32/float64, a
    hyper-parameter that is not a number, a flag that is not a bool), ValueError for a value out
    of range or an array of the wrong shape or layout, or buffers that overlap, KeyError for a
    gradient missing from a dict; each message names the argument (``params[2]``,
    ``grads['W1']``, ``param_groups[1]['lr']``, ...)."""


def _check_order(func, name, value):
    if not isinstance(value, str) or value not in ("literal", "pytorch"):
        raise ValueError(f"{func}: {name} must be 'literal' (the course's formula) or 'pytorch' (torch.optim.Adam's "
                         f"operation order), got {value!r}")
    return value


_MIXED_DOC = """max_grad_norm, master_weights, state_dtype (with state), rounding, seed: mixed precision, as in
            :class:`Adam` (float16/bfloat16 parameters, gradients and state, computed in
            float32 and rounded once when stored; a float32 master written to the caller's
            array in the same pass; the group's gradients clipped by their global norm;
            ``step(grads, grad_scale=S)`` unscales). Defaults: None, False, None, "nearest", 0."""


def _fmt(doc):
    return doc.replace("{PARAMS}", _PARAMS_DOC).replace("{MIXED}", _MIXED_DOC).replace("{COMMON}", _COMMON_DOC)


class GD(Optimizer):
    __doc__ = _fmt(r"""Mini-batch gradient descent.

    .. math::  g \leftarrow g + \lambda w \quad (\lambda = \text{weight\_decay}),\qquad
               w \leftarrow w - \alpha\, g

    Args:
        {PARAMS}
        lr: the learning rate :math:`\alpha` (>= 0, finite), a number or a schedule (a callable
            of the epoch, or of the step number if it has ``per = "step"``). Default 0.01.
        weight_decay: the L2 coefficient :math:`\lambda` added to the gradient (the course's
            ``lambd / m``; >= 0). Default 0.
        {MIXED}
        {COMMON}

    Source: the deep-learning course's ``update_parameters_with_gd``; PyTorch's ``SGD`` with
    momentum 0.
    """)

    algorithm = "GD"
    op = "gd"
    hyper = {"lr": _check_lr, "weight_decay": _check_real}
    lowp = True

    def __init__(self, params: Params, lr: LR = 0.01, weight_decay: float = 0.0, nonfinite: str = "propagate", *,
                 max_grad_norm: float | None = None, master_weights: bool = False, rounding: str = "nearest",
                 seed: int = 0) -> None:
        super().__init__(params, {"lr": lr, "weight_decay": weight_decay, "max_grad_norm": max_grad_norm}, nonfinite,
                         master_weights=master_weights, rounding=rounding, seed=seed)


class Momentum(Optimizer):
    __doc__ = _fmt(r"""Gradient descent with momentum.

    .. math::  v \leftarrow \beta v + c\, g,\qquad w \leftarrow w - \alpha\, v
               \qquad (\text{Nesterov: } w \leftarrow w - \alpha\,(\beta v + c\, g))

    with :math:`c = 1 - \beta` (``form="ema"``, the course's exponentially weighted average)
    or :math:`c = 1` (``form="sum"``, PyTorch's ``SGD(momentum=beta, dampening=0)``); the two
    are the same method with ``lr`` scaled by :math:`1/(1-\beta)`. ``v`` starts at 0 (state
    ``velocities``, one per tensor, the parameter's shape and dtype); weight decay is added to
    the gradient first.

    Args:
        {PARAMS}
        lr: the learning rate (>= 0) or a schedule. Default 0.01.
        beta: the momentum coefficient, in [0, 1). Default 0.9 (an average over ~10 gradients).
        form: ``"ema"`` (default) or ``"sum"``, see above.
        nesterov: Nesterov's look-ahead (bool). Default False.
        weight_decay: L2 coefficient added to the gradient (>= 0). Default 0.
        {MIXED}
        {COMMON}

    Sources: the course's ``update_parameters_with_momentum``; Sutskever et al. 2013 (Nesterov);
    ``torch.optim.SGD``.
    """)

    algorithm = "Momentum"
    op = "momentum"
    lowp = True
    hyper = {"lr": _check_lr, "beta": _check_beta, "form": _check_form, "nesterov": _check_flag,
             "weight_decay": _check_real}
    states = ("velocities",)

    def __init__(self, params: Params, lr: LR = 0.01, beta: float = 0.9, form: str = "ema", nesterov: bool = False,
                 weight_decay: float = 0.0, nonfinite: str = "propagate", *, max_grad_norm: float | None = None,
                 master_weights: bool = False, state_dtype: Any = None, rounding: str = "nearest",
                 seed: int = 0) -> None:
        super().__init__(params, {"lr": lr, "beta": beta, "form": form, "nesterov": nesterov,
                                  "weight_decay": weight_decay, "max_grad_norm": max_grad_norm}, nonfinite,
                         master_weights=master_weights, state_dtype=state_dtype, rounding=rounding, seed=seed)

    @classmethod
    def values(cls, hp):
        # the op's last field, dampening (torch.optim.SGD's), is 0 here: see simdoptim.torch.SGD
        return (hp["lr"], hp["beta"], hp["form"] == "sum", hp["nesterov"], hp["weight_decay"], 0.0)

    @classmethod
    def kwargs_of(cls, values):
        lr, beta, sum_form, nesterov, weight_decay, _dampening = values
        return {"lr": lr, "beta": beta, "form": "sum" if sum_form else "ema", "nesterov": nesterov,
                "weight_decay": weight_decay}


class RMSprop(Optimizer):
    __doc__ = _fmt(r"""RMSprop.

    .. math::  s \leftarrow \beta_2 s + (1-\beta_2)\, g^2,\qquad
               w \leftarrow w - \alpha\, \frac{g}{\sqrt{s + \epsilon_{root}} + \epsilon}

    Centered (``centered=True``): :math:`a \leftarrow \beta_2 a + (1-\beta_2) g` and
    :math:`\max(s - a^2, 0)` replaces :math:`s` under the root (the clamp keeps a variance
    estimate that rounds below zero from turning into NaN; ``torch.optim.RMSprop`` has no clamp
    and returns NaN there). Momentum > 0: :math:`b \leftarrow \mu b + g / (\sqrt{\cdot} +
    \epsilon)`, :math:`w \leftarrow w - \alpha b`. State per tensor: ``square_avgs``, and
    ``grad_avgs`` (centered) and ``momentum_buffers`` (momentum > 0).

    Args:
        {PARAMS}
        lr: the learning rate (>= 0) or a schedule. Default 0.01.
        beta2: the decay of the square average, in [0, 1) (PyTorch's ``alpha``). Default 0.99.
        eps: added outside the square root (PyTorch, Keras, the course's code). Default 1e-8.
        eps_root: added inside the square root (the lecture's ``sqrt(s + eps)``). Default 0.
            ``eps`` and ``eps_root`` are >= 0 and at least one must stay > 0 in the parameters'
            compute type (float32 for float32 arrays: 1e-46 is 0 there), or a zero gradient
            divides 0 by 0.
        weight_decay: L2 coefficient added to the gradient (>= 0). Default 0.
        momentum: in [0, 1). Default 0.
        centered: see above (bool). Default False.
        {MIXED}
        {COMMON}

    Sources: Hinton's lecture 6e (Coursera, 2012); ``torch.optim.RMSprop``; Graves 2013 (centered).
    """)

    algorithm = "RMSprop"
    op = "rmsprop"
    lowp = True
    hyper = {"lr": _check_lr, "beta2": _check_beta, "eps": _check_real, "eps_root": _check_real,
             "weight_decay": _check_real, "momentum": _check_beta, "centered": _check_flag}
    states = ("square_avgs", "grad_avgs", "momentum_buffers")
    implied = ("centered",)

    def __init__(self, params: Params, lr: LR = 0.01, beta2: float = 0.99, eps: float = 1e-8, eps_root: float = 0.0,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False,
                 nonfinite: str = "propagate", *, max_grad_norm: float | None = None, master_weights: bool = False,
                 state_dtype: Any = None, rounding: str = "nearest", seed: int = 0) -> None:
        super().__init__(params, {"lr": lr, "beta2": beta2, "eps": eps, "eps_root": eps_root,
                                  "weight_decay": weight_decay, "momentum": momentum, "centered": centered,
                                  "max_grad_norm": max_grad_norm}, nonfinite,
                         master_weights=master_weights, state_dtype=state_dtype, rounding=rounding, seed=seed)

    @staticmethod
    def uses_state(hp, k):
        return k == 0 or (k == 1 and hp["centered"]) or (k == 2 and hp["momentum"] != 0.0)

    @classmethod
    def check_group(cls, func, hp, dtypes):
        _checks.check_denominator_guard(func, hp, dtypes)


class Adam(Optimizer):
    __doc__ = _fmt(r"""Adam (momentum plus RMSprop, bias-corrected); AdamW and AMSGrad as options.

    .. math::  m \leftarrow \beta_1 m + (1-\beta_1)\, g,\qquad v \leftarrow \beta_2 v + (1-\beta_2)\, g^2
    .. math::  \hat m = \frac{m}{1-\beta_1^t},\quad \hat v = \frac{v}{1-\beta_2^t},\qquad
               w \leftarrow w - \alpha\, \frac{\hat m}{\sqrt{\hat v + \epsilon_{root}} + \epsilon}

    ``t`` is the number of the update (1 on the first); the bias corrections are computed in
    float64 once per step. State per tensor: ``exp_avgs`` (m), ``exp_avg_sqs`` (v) and, with
    AMSGrad, ``max_exp_avg_sqs``.

    Args:
        {PARAMS}
        lr: the learning rate :math:`\alpha` (>= 0) or a schedule. Default 0.001.
        beta1, beta2: the decays of m and v, in [0, 1). Defaults 0.9 and 0.999.
        eps: added outside the square root. Default 1e-8.
        eps_root: added inside it. Default 0. At least one of them must stay > 0 in the
            parameters' compute type (see RMSprop).
        weight_decay: with ``decoupled=False`` the L2 term ``weight_decay * w`` added to g; with
            ``decoupled=True`` (AdamW) the weights first shrink, ``w <- w * (1 - lr * weight_decay)``
            (as ``torch.optim.AdamW``). >= 0. Default 0.
        decoupled: AdamW (bool). Default False.
        amsgrad: keep :math:`v_{max} = \max(v_{max}, v)` and use it in place of v (bool). Default False.
        order: the operation order, ``"literal"`` (default: the formula above, three divisions
            per element) or ``"pytorch"`` (``torch.optim.Adam/AdamW``'s: m updated as a lerp
            :math:`m + (1-\beta_1)(g - m)`, :math:`w \leftarrow w - s\,m / (\sqrt{v}\,c + \epsilon)`
            with :math:`s = \alpha/(1-\beta_1^t)` and :math:`c = 1/\sqrt{1-\beta_2^t}` computed in
            float64; one division per element, no ``eps_root``). The two agree to rounding, not
            bit for bit; each is bit-exact with its reference (``simdoptim.reference.adam_update``
            and ``adam_pytorch_update``).
        max_grad_norm: None (default) or a number >= 0: each step first clips the group's
            gradients by their global L2 norm, ``g * min(1, max_grad_norm / (norm + 1e-6))``
            (``torch.nn.utils.clip_grad_norm_``); the norm is ``opt.grad_norm`` afterwards. A
            group hyper-parameter.
        master_weights: keep a float32 master of every float16/bfloat16 parameter (bool,
            default False): each step updates the master and writes the rounded parameter into
            the caller's array in the same pass (``opt.master_params``; saved in ``state_dict``).
        state_dtype: the dtype of m, v and v_max: None (default: float32 for float16/bfloat16
            parameters, else the parameters' dtype), ``"float32"``, ``"bfloat16"`` or
            ``"float16"`` (float32 arithmetic, rounded when stored).
        rounding: how float16/bfloat16 stores round (parameters without master weights, and
            state): ``"nearest"`` (to nearest even, default) or ``"stochastic"`` (unbiased:
            the expected stored value is the float32 value; random bits from Philox4x32-10
            keyed by ``seed``, the step, the tensor and the element, see
            ``simdoptim.reference.random_bits``; reproducible bit for bit on every SIMD path and
            thread count).
        seed: an int in [0, 2**64), the key of stochastic rounding. Default 0.
        {COMMON}

    Low precision: parameters may be float16 or bfloat16 (``ml_dtypes.bfloat16``, ``pip install
    'simdoptim[bf16]'``) with gradients of their dtype; float32 parameters (and masters) take
    float32, bfloat16 or float16 gradients. Arithmetic is float32, each buffer rounded once when
    stored. ``step(grads, grad_scale=S)`` divides the gradients by the loss scale S first.

    Sources: Kingma & Ba, "Adam: A Method for Stochastic Optimization" (ICLR 2015), algorithm 1;
    Loshchilov & Hutter, "Decoupled Weight Decay Regularization" (ICLR 2019); Reddi et al., "On the
    Convergence of Adam and Beyond" (ICLR 2018); ``torch.optim.Adam/AdamW`` for the options and the
    pytorch order; Micikevicius et al., "Mixed Precision Training" (ICLR 2018) for master weights and
    loss scaling; Gupta et al., "Deep Learning with Limited Numerical Precision" (ICML 2015) for
    stochastic rounding.
    """)

    algorithm = "Adam"
    op = "adam"
    hyper = {"lr": _check_lr, "beta1": _check_beta, "beta2": _check_beta, "eps": _check_real,
             "eps_root": _check_real, "weight_decay": _check_real, "decoupled": _check_flag, "amsgrad": _check_flag,
             "order": _check_order}
    states = ("exp_avgs", "exp_avg_sqs", "max_exp_avg_sqs")
    stepped = True
    implied = ("amsgrad",)
    lowp = True
    added_hyper = {"order": "literal"}

    def __init__(self, params: Params, lr: LR = 0.001, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                 eps_root: float = 0.0, weight_decay: float = 0.0, decoupled: bool = False, amsgrad: bool = False,
                 nonfinite: str = "propagate", *, order: str = "literal", max_grad_norm: float | None = None,
                 master_weights: bool = False, state_dtype: Any = None, rounding: str = "nearest",
                 seed: int = 0) -> None:
        super().__init__(params, {"lr": lr, "beta1": beta1, "beta2": beta2, "eps": eps, "eps_root": eps_root,
                                  "weight_decay": weight_decay, "decoupled": decoupled, "amsgrad": amsgrad,
                                  "order": order, "max_grad_norm": max_grad_norm}, nonfinite,
                         master_weights=master_weights, state_dtype=state_dtype, rounding=rounding, seed=seed)

    @staticmethod
    def uses_state(hp, k):
        return k < 2 or hp["amsgrad"]

    @classmethod
    def check_group(cls, func, hp, dtypes):
        if hp.get("order") == "pytorch" and hp.get("eps_root", 0.0) != 0.0:
            raise ValueError(f"{func}: eps_root must be 0 with order='pytorch' (PyTorch's Adam adds eps outside the "
                             f"root only), got {hp['eps_root']!r}")
        _checks.check_denominator_guard(func, hp, dtypes)

    @classmethod
    def values(cls, hp):
        return tuple(hp[k] for k in cls.hyper if k != "order") + (hp["order"] == "pytorch",)

    @classmethod
    def kwargs_of(cls, values):
        kw = super().kwargs_of(values)
        kw["order"] = "pytorch" if values[-1] else "literal"
        return kw


class Adagrad(Optimizer):
    __doc__ = _fmt(r"""Adagrad: a per-element rate that shrinks with the gradients seen so far.

    .. math::  s \leftarrow s + g^2,\qquad
               w \leftarrow w - \alpha_t\, \frac{g}{\sqrt{s} + \epsilon},\qquad
               \alpha_t = \frac{\alpha}{1 + (t-1)\,\text{lr\_decay}}

    ``t`` is the number of the update (1 on the first); :math:`\alpha_t` is computed in float64
    once per step. With ``maximize`` the gradient is negated first; weight decay is then added
    to it. State per tensor: ``state_sums`` (s), starting at ``initial_accumulator_value``.

    Args:
        {PARAMS}
        lr: the learning rate :math:`\alpha` (>= 0) or a schedule. Default 0.01.
        lr_decay: the rate's decay per step (>= 0). Default 0.
        eps: added outside the square root (>= 0). Default 1e-10. With ``eps`` 0 in the
            parameters' compute type, ``initial_accumulator_value`` must be > 0 there.
        weight_decay: L2 coefficient added to the gradient (>= 0). Default 0.
        initial_accumulator_value: the value s starts at (>= 0). Default 0.
        maximize: ascend the objective instead of descending it (bool). Default False.
        {COMMON}

    Sources: Duchi, Hazan & Singer, "Adaptive Subgradient Methods for Online Learning and
    Stochastic Optimization" (JMLR 2011); ``torch.optim.Adagrad`` for the options and defaults.
    """)

    algorithm = "Adagrad"
    op = "adagrad"
    hyper = {"lr": _check_lr, "lr_decay": _check_real, "eps": _check_real, "weight_decay": _check_real,
             "maximize": _check_flag, "initial_accumulator_value": _check_real}
    states = ("state_sums",)
    stepped = True

    def __init__(self, params, lr=0.01, lr_decay=0.0, eps=1e-10, weight_decay=0.0, initial_accumulator_value=0.0,
                 maximize=False, nonfinite="propagate"):
        super().__init__(params, {"lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay,
                                  "maximize": maximize, "initial_accumulator_value": initial_accumulator_value},
                         nonfinite)

    @classmethod
    def values(cls, hp):
        # the op's fields; initial_accumulator_value only sets where the state starts
        return (hp["lr"], hp["lr_decay"], hp["eps"], hp["weight_decay"], hp["maximize"])

    @classmethod
    def kwargs_of(cls, values):
        return dict(zip(("lr", "lr_decay", "eps", "weight_decay", "maximize"), values))

    @classmethod
    def initial_state(cls, hp, k):
        return hp["initial_accumulator_value"]

    @classmethod
    def check_group(cls, func, hp, dtypes):
        if "initial_accumulator_value" in hp:  # the functional update is handed its sums as they are
            _checks.check_denominator_guard(func, hp, dtypes, names=("eps", "initial_accumulator_value"))


# ---------------------------------------------------------------------------------------

def _is_scalar(x):
    return isinstance(x, numbers.Number) or (isinstance(x, np.ndarray) and x.ndim == 0) or isinstance(x, np.generic)


class _EMAState:
    """What an EMA holds, replaced as a whole by one assignment (so an interrupt sees the old
    or the new state): kind ('scalar', 'array', 'list', 'dict' or None), names, the averages
    (a float, or a list of arrays) and, for arrays, the plan (which keeps the step count)."""

    __slots__ = ("kind", "names", "avgs", "plan", "t")

    def __init__(self, kind: str | None = None, names: list[str] | None = None, avgs: Any = None,
                 plan: Plan | PythonPlan | None = None, t: int = 0) -> None:
        self.kind, self.names, self.avgs, self.plan, self.t = kind, names, avgs, plan, t


class EMA(Algorithm):
    r"""Exponentially weighted moving average, streaming.

    .. math::  v_0 = 0,\qquad v_t = \beta v_{t-1} + (1-\beta)\, x_t,\qquad
               \text{update}(x_t) = v_t / (1 - \beta^t) \ \text{(bias correction) or } v_t

    It averages over roughly :math:`1/(1-\beta)` recent values (0.9: ~10). ``x`` may be a real
    number, an array, or a list or dict of arrays (e.g. a model's weights, to keep an average
    of them beside training); ``update`` returns the same structure. Array averages keep the
    input's dtype if it is float32 or float64 (other real dtypes: integers, float16, bfloat16, are
    averaged in float64); any layout is accepted. Returned arrays are new arrays, never the
    internal state.

    Args:
        beta: the decay, in [0, 1).
        bias_correction: divide by :math:`1 - \beta^t` (bool). Default True.

    Attributes: ``beta``, ``bias_correction`` (settable), ``t`` (updates so far), ``value``
    (the current average, None before the first update); ``state_dict()`` /
    ``load_state_dict()``.

    Raises: TypeError for a non-real ``x`` or a ``beta``/``bias_correction`` of the wrong type,
    ValueError for ``beta`` outside [0, 1) or an ``x`` whose structure or shapes differ from the
    values averaged so far (nothing is changed). An update is all or nothing, also under a
    KeyboardInterrupt.

    Source: the deep-learning course's exponentially weighted averages (with bias correction as
    in Adam, Kingma & Ba 2015, section 3).
    """

    algorithm = "EMA"
    op = "ema"
    hyper = {"beta": _check_beta, "bias_correction": _check_flag}
    stepped = True

    def __init__(self, beta: float, bias_correction: bool = True) -> None:
        self._beta: float = _check_beta("EMA", "beta", beta)
        self._bias_correction: bool = _check_flag("EMA", "bias_correction", bias_correction)
        self._st = _EMAState()

    @property
    def beta(self) -> float:
        return self._beta

    @beta.setter
    def beta(self, value):
        self._beta = _check_beta("EMA", "beta", value)
        self._sync()

    @property
    def bias_correction(self) -> bool:
        return self._bias_correction

    @bias_correction.setter
    def bias_correction(self, value):
        self._bias_correction = _check_flag("EMA", "bias_correction", value)
        self._sync()

    def _sync(self):
        if self._st.plan is not None:
            self._st.plan.set_hyper(0, (self._beta, self._bias_correction))

    @property
    def t(self) -> int:
        """The number of updates so far."""
        st = self._st
        return st.plan.t if st.plan is not None else st.t

    def _as_values(self, x):
        if isinstance(x, Mapping):
            kind, names, items = "dict", list(x.keys()), list(x.values())
        elif isinstance(x, (list, tuple)):
            kind, names, items = "list", None, list(x)
        elif _is_scalar(x):
            if isinstance(x, (bool, np.bool_)) or not np.isrealobj(x):
                raise TypeError(f"EMA.update: x must be a real number or array, got {type(x).__name__}")
            return "scalar", None, float(x)
        elif isinstance(x, np.ndarray):
            kind, names, items = "array", None, [x]
        else:
            raise TypeError(f"EMA.update: x must be a number, an array, or a list/dict of arrays, "
                            f"got {type(x).__name__}")
        arrays = []
        for i, a in enumerate(items):
            if not isinstance(a, np.ndarray):
                a = np.asarray(a)
            if a.dtype.kind not in "iuf" and not _checks.is_lowp(a.dtype):  # bool refused; bfloat16 is kind 'V'
                raise TypeError(f"EMA.update: {_checks.label('x', i, names)} has dtype {a.dtype}; "
                                f"expected a real numeric dtype")
            if a.dtype not in _checks.FLOAT_DTYPES or not a.dtype.isnative:
                a = a.astype(np.float64 if a.dtype not in _checks.FLOAT_DTYPES else a.dtype.newbyteorder("="))
            arrays.append(a)
        return kind, names, arrays

    def update(self, x: Any) -> Any:
        """Adds ``x`` to the average and returns the new (bias-corrected) average, in ``x``'s
        structure (a float for a number; new arrays otherwise)."""
        kind, names, values = self._as_values(x)
        st = self._st
        if st.kind is None:
            if kind == "scalar":
                v = (1.0 - self._beta) * values
                return self._commit_scalar(kind, v, 1)
            avgs = [np.zeros(a.shape, a.dtype) for a in values]
            plan = self._backend().plan(type(self), "EMA.update", avgs, None, None, 1, names)
            plan.set_hyper(0, (self._beta, self._bias_correction))
        else:
            if kind != st.kind or names != st.names or (kind != "scalar" and len(values) != len(st.avgs)):
                raise ValueError(f"EMA.update: x has a different structure than the values averaged so far ({st.kind})")
            if kind == "scalar":
                v = self._beta * st.avgs + (1.0 - self._beta) * values
                return self._commit_scalar(kind, v, st.t + 1)
            avgs, plan = st.avgs, st.plan
            for i, (a, v) in enumerate(zip(values, avgs)):
                if a.shape != v.shape:
                    raise ValueError(f"EMA.update: {_checks.label('x', i, names)} has shape {a.shape}, "
                                     f"the average has {v.shape}")
                if a.dtype != v.dtype:
                    raise TypeError(f"EMA.update: {_checks.label('x', i, names)} has dtype {a.dtype}, "
                                    f"the average has {v.dtype}")
        outs = [np.empty(a.shape, a.dtype) for a in avgs]
        plan.step(values, outs)  # the averages and the plan's count change together
        if st.kind is None:
            self._st = _EMAState(kind, names, avgs, plan)
        return self._pack(kind, names, outs)

    def _commit_scalar(self, kind, v, t):
        self._st = _EMAState(kind, None, v, None, t)  # one assignment: all or nothing
        return v / (1.0 - self._beta ** t) if self._bias_correction else v

    @staticmethod
    def _pack(kind, names, arrays):
        if kind == "array":
            return arrays[0]
        if kind == "dict":
            return dict(zip(names, arrays))
        return arrays

    @property
    def value(self):
        """The current average (bias-corrected if enabled), in the structure of ``x``; None
        before the first update."""
        st = self._st
        if st.kind is None:
            return None
        t = self.t
        c = (1.0 - self._beta ** t) if self._bias_correction else 1.0
        if st.kind == "scalar":
            return st.avgs / c if self._bias_correction else st.avgs
        return self._pack(st.kind, st.names, [a / c if self._bias_correction else a.copy() for a in st.avgs])

    def state_dict(self) -> dict[str, Any]:
        """A plain, versioned dict; ``kind`` says what was averaged."""
        st = self._st
        return {
            "format": STATE_FORMAT,
            "version": 1,
            "algorithm": self.algorithm,
            "step": self.t,
            "hyperparams": {"beta": self._beta, "bias_correction": self._bias_correction},
            "kind": st.kind,
            "param_names": None if st.names is None else list(st.names),
            "state": {"averages": st.avgs if st.kind in (None, "scalar") else [a.copy() for a in st.avgs]},
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restores what ``state_dict`` returned (either backend): averages, step, beta and
        bias_correction; the average's structure comes with it. Everything is checked first
        (also that the step count agrees with the averages: an EMA holding an average has
        taken at least one update); a refused state leaves the EMA as it was."""
        where = "EMA.load_state_dict"
        _check_header(where, state, self.algorithm)
        if "kind" not in state:
            raise KeyError(f"{where}: state has no 'kind' entry; is it an EMA state_dict?")
        t = _check_count(where, "step", state["step"])
        hp = state.get("hyperparams", {"beta": self._beta, "bias_correction": self._bias_correction})
        if not isinstance(hp, Mapping) or set(hp) != {"beta", "bias_correction"}:
            raise ValueError(f"{where}: state['hyperparams'] must be a dict with keys 'beta' and 'bias_correction'")
        beta = _check_beta(where, "beta", hp["beta"])
        bias_correction = _check_flag(where, "bias_correction", hp["bias_correction"])
        kind, names = state["kind"], state.get("param_names")
        st = state["state"]
        if not isinstance(st, Mapping) or "averages" not in st:
            raise ValueError(f"{where}: state['state'] must be a dict with an 'averages' entry")
        avgs = st["averages"]
        if kind is None:
            if avgs is not None or t != 0:
                raise ValueError(f"{where}: an empty EMA state must have averages None and step 0")
        elif t == 0:
            raise ValueError(f"{where}: step is 0 but the state holds a {kind} average; an EMA holding an average has "
                             f"taken at least one update (its value would divide by 1 - beta**0 = 0)")
        elif kind == "scalar":
            if isinstance(avgs, bool) or not isinstance(avgs, numbers.Real):
                raise TypeError(f"{where}: the average of a scalar EMA must be a real number, "
                                f"got {type(avgs).__name__}")
            avgs = float(avgs)
        elif kind in ("array", "list", "dict"):
            if not isinstance(avgs, (list, tuple)) or not all(
                isinstance(a, np.ndarray) and a.dtype in _checks.FLOAT_DTYPES for a in avgs
            ):
                raise TypeError(f"{where}: averages must be a list of float32/float64 arrays")
            if kind == "array" and len(avgs) != 1:
                raise ValueError(f"{where}: an array EMA holds exactly one average, got {len(avgs)}")
            if kind == "dict":
                if (not isinstance(names, (list, tuple)) or len(names) != len(avgs)
                        or not all(isinstance(k, str) for k in names)):
                    raise ValueError(f"{where}: a dict EMA needs param_names, one str per average")
                names = list(names)
            elif names is not None:
                raise ValueError(f"{where}: param_names must be None for a {kind} EMA")
            avgs = [np.array(a, copy=True, order="C") for a in avgs]
        else:
            raise ValueError(f"{where}: unknown kind {kind!r}; expected None, 'scalar', 'array', 'list' or 'dict'")
        if kind != "dict":
            names = None
        plan = None
        if kind in ("array", "list", "dict"):
            plan = self._backend().plan(type(self), "EMA.update", avgs, None, None, 1, names)
            plan.set_hyper(0, (beta, bias_correction))
            plan.t = t
        with interrupts_deferred():
            self._beta, self._bias_correction = beta, bias_correction
            self._st = _EMAState(kind, names, avgs, plan, t)

    def __copy__(self):
        raise TypeError("copy.copy(EMA) would share the averages with the original; use copy.deepcopy(ema) or "
                        "ema.state_dict()")

    def __getstate__(self):
        return self.state_dict()

    def __setstate__(self, state):
        self._beta, self._bias_correction, self._st = 0.0, True, _EMAState()
        self.load_state_dict(state)

    def __repr__(self):
        return f"EMA(beta={self._beta!r}, bias_correction={self._bias_correction!r}, t={self.t})"



#: checked hyper-parameters of recent functional calls, keyed by their exact values and types:
#: a training loop calls an update with the same values every step
_CHECKED: dict = {}


def check_hyper(func, cls, hp, params):
    """The checks of a functional update's hyper-parameters, shared by both backends: each
    value with the class's check (``lr`` a number here, not a schedule), then the checks that
    need several of them or the parameters' dtypes. Returns the values as the class stores them.

    Called on every functional update: values seen before (the same values of the same types;
    a NaN never matches) skip the per-value checks; the dtypes are read only when a check
    needs them."""
    values = tuple(hp.values())
    key: tuple | None = (func, cls, values, tuple(map(type, values)))
    try:
        out = _CHECKED.get(key)
    except TypeError:  # an unhashable value (a list): no cache, the checks name it
        key, out = None, None
    if out is None:
        checks = cls.hyper
        out = {k: (_check_real(func, k, v) if k == "lr" else checks[k](func, k, v)) for k, v in hp.items()}
        if key is not None:
            if len(_CHECKED) > 1024:
                _CHECKED.clear()
            _CHECKED[key] = out
    if cls.check_group.__func__ is not Algorithm.check_group.__func__:  # type: ignore[attr-defined]
        cls.check_group(func, out, lambda: {p.dtype for p in params if isinstance(p, np.ndarray) and (
            p.dtype.kind == "f" or _checks.is_lowp(p.dtype))} if isinstance(params, (list, tuple)) else set())
    return out
