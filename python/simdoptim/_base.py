"""The optimizer bookkeeping shared by the fast classes and the reference classes.

An optimizer here is: a fixed structure of parameter arrays (a list, or a dict name ->
array), explicit per-parameter state arrays, an integer step count ``t`` and an epoch
counter, and hyper-parameters. ``step(grads)`` hands all of it to one *update function*
(``simdoptim.functional.*_update`` for the fast classes, ``simdoptim.reference.*_update``
for the reference) which updates everything in place. Keeping this in one place is what
makes both backends accept the same arguments, count the same steps and produce the same
``state_dict``.
"""

from __future__ import annotations

import copy
import numbers
from collections.abc import Mapping

import numpy as np

from . import _validate

STATE_FORMAT = "simdoptim.optimizer"
STATE_VERSION = 1

#: what ``step`` does with a NaN or an infinity in the gradients (see Optimizer.step)
NONFINITE_POLICIES = ("propagate", "skip", "raise")


def _flatten_params(params, cls_name):
    """(names or None, list of arrays) from a list/tuple/dict of arrays or a single array."""
    if isinstance(params, np.ndarray):
        return None, [params], True
    if isinstance(params, Mapping):
        names = list(params.keys())
        for k in names:
            if not isinstance(k, str):
                raise TypeError(f"{cls_name}: params keys must be str, got {type(k).__name__}")
        return names, [params[k] for k in names], False
    if isinstance(params, (list, tuple)):
        return None, list(params), False
    raise TypeError(
        f"{cls_name}: params must be a list or tuple of numpy arrays, a dict name -> array, or one array; "
        f"got {type(params).__name__}"
    )


def _check_param_arrays(cls_name, names, params, contiguous_only=False):
    for i, p in enumerate(params):
        if not isinstance(p, np.ndarray):
            raise TypeError(f"{cls_name}: {_validate.label('params', i, names)} must be a numpy.ndarray, got {type(p).__name__}")
        if p.dtype not in _validate.FLOAT_DTYPES:
            raise TypeError(
                f"{cls_name}: {_validate.label('params', i, names)} has dtype {p.dtype}; expected float32 or float64"
            )
        if not p.flags.writeable:
            raise ValueError(f"{cls_name}: {_validate.label('params', i, names)} is read-only; parameters are updated in place")
        if contiguous_only and not (p.flags.aligned and (p.flags.c_contiguous or p.flags.f_contiguous)):
            # the kernels update memory in place and never a hidden copy, so refuse now
            # rather than at the first step
            raise ValueError(
                f"{cls_name}: {_validate.label('params', i, names)} must be contiguous (C or Fortran order) and aligned "
                f"so it can be updated in place; got strides {p.strides} for shape {p.shape}. Keep the contiguous base "
                f"array as the parameter, or use simdoptim.reference, which updates strided views in place"
            )
    seen = {}
    for i, p in enumerate(params):
        if id(p) in seen:
            raise ValueError(
                f"{cls_name}: {_validate.label('params', i, names)} is the same array as "
                f"{_validate.label('params', seen[id(p)], names)}; every parameter must be a separate array"
            )
        seen[id(p)] = i


def _check_header(where, state, algorithm):
    if not isinstance(state, Mapping):
        raise TypeError(f"{where}: state must be a dict (from state_dict() or load_checkpoint()), got {type(state).__name__}")
    for key in ("format", "version", "algorithm", "step", "state"):
        if key not in state:
            raise KeyError(f"{where}: state has no {key!r} entry; is it a simdoptim state_dict?")
    if state["format"] != STATE_FORMAT or state["version"] != STATE_VERSION:
        raise ValueError(
            f"{where}: unsupported state format {state['format']!r} version {state['version']!r} "
            f"(expected {STATE_FORMAT!r} version {STATE_VERSION})"
        )
    if state["algorithm"] != algorithm:
        raise ValueError(f"{where}: state is for {state['algorithm']!r}, not {algorithm!r}")


def _check_count(where, name, x):
    if isinstance(x, bool) or not isinstance(x, numbers.Integral) or x < 0:
        raise ValueError(f"{where}: {name} must be an int >= 0, got {x!r}")
    return int(x)


class Optimizer:
    """Base of every optimizer. Subclasses set ``algorithm``, ``state_keys`` and ``_update``."""

    algorithm = "Optimizer"
    #: names of the per-parameter state lists, in the order the update function takes them
    state_keys: tuple = ()
    #: hyper-parameters that decide which state buffers exist; a checkpoint must agree on them
    structural_hyperparams: tuple = ()
    #: True for the compiled backend, which updates contiguous arrays only (never a copy)
    _contiguous_only = False

    def __init__(self, params, lr, nonfinite="propagate"):
        cls = type(self).__name__
        self._names, self._params, self._single = _flatten_params(params, cls)
        _check_param_arrays(cls, self._names, self._params, self._contiguous_only)
        if nonfinite not in NONFINITE_POLICIES:
            raise ValueError(f"{cls}: nonfinite must be one of {', '.join(map(repr, NONFINITE_POLICIES))}, got {nonfinite!r}")
        self.lr = lr
        self.nonfinite = nonfinite
        self.t = 0
        self.epoch = 0
        #: steps skipped because of NaN/Inf gradients (nonfinite="skip")
        self.skipped_steps = 0

    # -- learning rate ---------------------------------------------------------------
    @property
    def lr(self):
        """The learning rate of the next step (a float), whether fixed or from a schedule."""
        if self._lr_schedule is None:
            return self._lr
        per = getattr(self._lr_schedule, "per", "epoch")
        x = self.t + 1 if per == "step" else self.epoch
        value = float(self._lr_schedule(x))
        _validate.check_finite_nonnegative(type(self).__name__, f"lr (schedule value at {per} {x})", value)
        return value

    @lr.setter
    def lr(self, value):
        cls = type(self).__name__
        if callable(value):
            per = getattr(value, "per", "epoch")
            if per not in ("epoch", "step"):
                raise ValueError(f"{cls}: a schedule's 'per' attribute must be 'epoch' or 'step', got {per!r}")
            self._lr_schedule = value
            self._lr = None
            return
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{cls}: lr must be a number or a schedule (a callable), got {type(value).__name__}")
        _validate.check_finite_nonnegative(cls, "lr", float(value))
        self._lr_schedule = None
        self._lr = float(value)

    def next_epoch(self):
        """Advances the epoch counter that per-epoch schedules read (call once per epoch)."""
        self.epoch += 1

    # -- structure ---------------------------------------------------------------------
    @property
    def params(self):
        """The parameter arrays being optimised (the caller's own arrays, updated in place)."""
        if self._single:
            return self._params[0]
        if self._names is not None:
            return dict(zip(self._names, self._params))
        return list(self._params)

    def _grads_list(self, grads):
        cls = type(self).__name__
        if self._names is not None:
            if not isinstance(grads, Mapping):
                raise TypeError(f"{cls}.step: params is a dict, so grads must be a dict too, got {type(grads).__name__}")
            out = []
            for k in self._names:
                if k in grads:
                    out.append(grads[k])
                elif "d" + k in grads:
                    out.append(grads["d" + k])
                else:
                    raise KeyError(f"{cls}.step: grads has no entry for parameter {k!r} (expected key {k!r} or {'d' + k!r})")
            return out
        if self._single and isinstance(grads, np.ndarray):
            return [grads]
        if not isinstance(grads, (list, tuple)):
            raise TypeError(f"{cls}.step: grads must be a list or tuple of numpy arrays, got {type(grads).__name__}")
        if len(grads) != len(self._params):
            raise ValueError(f"{cls}.step: grads has {len(grads)} arrays but the optimizer has {len(self._params)} parameters")
        return grads

    def _zeros(self):
        return [np.zeros_like(p) for p in self._params]

    # -- the step ------------------------------------------------------------------------
    def step(self, grads):
        """One update of every parameter with ``grads`` (the structure of ``params``).

        Returns True when the update was applied. With ``nonfinite="skip"`` a step whose
        gradients hold a NaN or an infinity is not applied: parameters, state and the step
        count stay as they were, ``skipped_steps`` grows by one and False is returned. With
        ``nonfinite="raise"`` such a step raises FloatingPointError naming the tensor, again
        with nothing written. The default, ``"propagate"``, applies the update as NumPy and
        PyTorch do (NaN/Inf flow into the parameters and state) and costs nothing extra."""
        g = self._grads_list(grads)
        if self.nonfinite != "propagate" and not self._grads_finite(g):
            bad = self._first_nonfinite(g)
            if self.nonfinite == "raise":
                raise FloatingPointError(
                    f"{type(self).__name__}.step: {_validate.label('grads', bad, self._names)} holds NaN or infinity; "
                    f"nothing was updated (nonfinite='raise')"
                )
            self.skipped_steps += 1
            return False
        self._apply(g)
        return True

    def _grads_finite(self, g):
        """True when every gradient is finite. An unusable gradient counts as finite here,
        so that the update function's own checks report it with its proper message."""
        try:
            return bool(self._all_finite(g))
        except (TypeError, ValueError):
            return True

    def _first_nonfinite(self, g):
        """Index of the first gradient holding NaN/Inf, after the same argument checks the
        update would make (a skipped step must not hide a bad argument)."""
        _validate.collect(f"{type(self).__name__}.step", self._params, g, (), self._names)
        for i, a in enumerate(g):
            if not np.isfinite(a).all():
                return i
        return 0

    def _apply(self, g):
        raise NotImplementedError

    # -- checkpoints -------------------------------------------------------------------
    def hyperparams(self):
        """The hyper-parameters as a plain dict (lr as a float: the rate of the next step)."""
        raise NotImplementedError

    def state_dict(self):
        """A plain, versioned dict of numbers, strings and NumPy arrays (copies), the same for
        both backends: either backend loads the other's. It pickles as is; for ``np.savez``
        use :func:`simdoptim.checkpoint.flatten_state` or :func:`simdoptim.save_checkpoint`."""
        return {
            "format": STATE_FORMAT,
            "version": STATE_VERSION,
            "algorithm": self.algorithm,
            "step": self.t,
            "epoch": self.epoch,
            "skipped_steps": self.skipped_steps,
            "hyperparams": self.hyperparams(),
            "param_names": None if self._names is None else list(self._names),
            "state": {k: [a.copy() for a in getattr(self, "_" + k)] for k in self._active_state_keys()},
        }

    def load_state_dict(self, state):
        """Restores what ``state_dict`` returned (from either backend): state arrays, step and
        epoch counters and hyper-parameters (``lr`` too, unless this optimizer's rate is a
        schedule: a schedule is code, not state, and continues from the restored counters).

        Everything is checked before anything is changed: a state for another algorithm, other
        parameter names, shapes or dtypes, other structural options (e.g. ``amsgrad``) or with
        out-of-range hyper-parameters is refused and the optimizer is left as it was."""
        cls = type(self).__name__
        where = f"{cls}.load_state_dict"
        _check_header(where, state, self.algorithm)
        step = _check_count(where, "step", state["step"])
        epoch = _check_count(where, "epoch", state.get("epoch", 0))
        skipped = _check_count(where, "skipped_steps", state.get("skipped_steps", 0))
        names = state.get("param_names")
        if (names is None) != (self._names is None) or (names is not None and list(names) != self._names):
            raise ValueError(f"{where}: state is for parameters {names!r}, not {self._names!r}")
        hp = state.get("hyperparams")
        if not isinstance(hp, Mapping):
            raise TypeError(f"{where}: state['hyperparams'] must be a dict, got {type(hp).__name__}")
        expected_hp = set(self.hyperparams())
        if set(hp) != expected_hp:
            raise ValueError(f"{where}: state['hyperparams'] has keys {sorted(hp)}, expected {sorted(expected_hp)}")
        # validate the hyper-parameters on a throw-away copy: same checks as the constructor
        trial = copy.copy(self)
        trial._configure(**{k: v for k, v in hp.items() if k != "lr"})
        if self._lr_schedule is None:
            trial.lr = hp["lr"]
        for k in self.structural_hyperparams:
            if getattr(trial, k) != getattr(self, k):
                raise ValueError(
                    f"{where}: state has {k}={getattr(trial, k)!r} but this optimizer has {k}={getattr(self, k)!r}; "
                    f"they need different state buffers"
                )
        arrays = state["state"]
        if not isinstance(arrays, Mapping):
            raise TypeError(f"{where}: state['state'] must be a dict of lists of arrays, got {type(arrays).__name__}")
        expected = self._active_state_keys()
        if set(arrays.keys()) != set(expected):
            raise ValueError(
                f"{where}: state holds {sorted(arrays.keys())}, expected {sorted(expected)} "
                f"(were the options, e.g. amsgrad or centered, the same?)"
            )
        staged = {}
        for k in expected:
            lst = arrays[k]
            if not isinstance(lst, (list, tuple)) or len(lst) != len(self._params):
                raise ValueError(f"{where}: state[{k!r}] must hold {len(self._params)} arrays")
            for i, (a, p) in enumerate(zip(lst, self._params)):
                if not isinstance(a, np.ndarray) or a.shape != p.shape or a.dtype != p.dtype:
                    got = f"{a.dtype} {a.shape}" if isinstance(a, np.ndarray) else type(a).__name__
                    raise ValueError(
                        f"{where}: {_validate.label(f'state[{k!r}]', i, self._names)} is {got}, "
                        f"expected {p.dtype} {p.shape}"
                    )
            staged[k] = lst
        # commit: nothing below can fail. Copy into the existing buffers (keeps their layout,
        # which the kernels require to match the parameters').
        for k, lst in staged.items():
            for dst, src in zip(getattr(self, "_" + k), lst):
                np.copyto(dst, src)
        self.__dict__.update({k: v for k, v in trial.__dict__.items() if k in self._hyperparam_attrs() or k == "_lr"})
        self.t, self.epoch, self.skipped_steps = step, epoch, skipped

    def _hyperparam_attrs(self):
        return [k for k in self.hyperparams() if k != "lr"]

    def _configure(self, **hyperparams):
        raise NotImplementedError

    def _active_state_keys(self):
        return [k for k in self.state_keys if getattr(self, "_" + k) is not None]

    def __repr__(self):
        hp = ", ".join(f"{k}={v!r}" for k, v in self.hyperparams().items())
        return f"{type(self).__name__}({len(self._params)} tensors, t={self.t}, {hp})"


class GD(Optimizer):
    algorithm = "GD"
    state_keys = ()

    def __init__(self, params, lr=0.01, weight_decay=0.0, nonfinite="propagate"):
        super().__init__(params, lr, nonfinite)
        self._configure(weight_decay=weight_decay)

    def _configure(self, *, weight_decay):
        _validate.check_finite_nonnegative(type(self).__name__, "weight_decay", weight_decay)
        self.weight_decay = float(weight_decay)

    def hyperparams(self):
        return {"lr": self.lr, "weight_decay": self.weight_decay}

    def _apply(self, g):
        """w := w - lr * (g + weight_decay * w)."""
        self._gd_update(self._params, g, lr=self.lr, weight_decay=self.weight_decay, names=self._names)
        self.t += 1


class Momentum(Optimizer):
    algorithm = "Momentum"
    state_keys = ("velocities",)

    def __init__(self, params, lr=0.01, beta=0.9, form="ema", nesterov=False, weight_decay=0.0, nonfinite="propagate"):
        super().__init__(params, lr, nonfinite)
        self._configure(beta=beta, form=form, nesterov=nesterov, weight_decay=weight_decay)
        self._velocities = self._zeros()

    def _configure(self, *, beta, form, nesterov, weight_decay):
        cls = type(self).__name__
        _validate.check_beta(cls, "beta", beta)
        if form not in ("ema", "sum"):
            raise ValueError(f"{cls}: form must be 'ema' (v = beta*v + (1-beta)*g) or 'sum' (v = beta*v + g), got {form!r}")
        _validate.check_finite_nonnegative(cls, "weight_decay", weight_decay)
        self.beta, self.form, self.weight_decay = float(beta), form, float(weight_decay)
        self.nesterov = _validate.check_flag(type(self).__name__, "nesterov", nesterov)

    def hyperparams(self):
        return {"lr": self.lr, "beta": self.beta, "form": self.form, "nesterov": self.nesterov, "weight_decay": self.weight_decay}

    def _apply(self, g):
        """v := beta*v + (1-beta)*g (or + g with form='sum'); w := w - lr*v."""
        self._momentum_update(
            self._params, g, self._velocities, lr=self.lr, beta=self.beta, form=self.form,
            nesterov=self.nesterov, weight_decay=self.weight_decay, names=self._names,
        )
        self.t += 1


class RMSprop(Optimizer):
    algorithm = "RMSprop"
    state_keys = ("square_avgs", "grad_avgs", "momentum_buffers")
    structural_hyperparams = ("centered", "_uses_momentum")

    def __init__(self, params, lr=0.01, beta2=0.99, eps=1e-8, eps_root=0.0, weight_decay=0.0, momentum=0.0,
                 centered=False, nonfinite="propagate"):
        super().__init__(params, lr, nonfinite)
        self._configure(beta2=beta2, eps=eps, eps_root=eps_root, weight_decay=weight_decay, momentum=momentum,
                        centered=centered)
        self._square_avgs = self._zeros()
        self._grad_avgs = self._zeros() if self.centered else None
        self._momentum_buffers = self._zeros() if self.momentum != 0.0 else None

    def _configure(self, *, beta2, eps, eps_root, weight_decay, momentum, centered):
        cls = type(self).__name__
        _validate.check_beta(cls, "beta2", beta2)
        _validate.check_finite_nonnegative(cls, "eps", eps)
        _validate.check_finite_nonnegative(cls, "eps_root", eps_root)
        _validate.check_finite_nonnegative(cls, "weight_decay", weight_decay)
        _validate.check_beta(cls, "momentum", momentum)
        self.beta2, self.eps, self.eps_root = float(beta2), float(eps), float(eps_root)
        self.weight_decay, self.momentum = float(weight_decay), float(momentum)
        self.centered = _validate.check_flag(type(self).__name__, "centered", centered)

    @property
    def _uses_momentum(self):
        return self.momentum != 0.0

    def hyperparams(self):
        return {
            "lr": self.lr, "beta2": self.beta2, "eps": self.eps, "eps_root": self.eps_root,
            "weight_decay": self.weight_decay, "momentum": self.momentum, "centered": self.centered,
        }

    def _apply(self, g):
        """s := beta2*s + (1-beta2)*g^2; w := w - lr*g / (sqrt(s + eps_root) + eps)."""
        self._rmsprop_update(
            self._params, g, self._square_avgs, lr=self.lr, beta2=self.beta2, eps=self.eps, eps_root=self.eps_root,
            weight_decay=self.weight_decay, momentum=self.momentum, grad_avgs=self._grad_avgs,
            momentum_buffers=self._momentum_buffers, names=self._names,
        )
        self.t += 1


class Adam(Optimizer):
    algorithm = "Adam"
    state_keys = ("exp_avgs", "exp_avg_sqs", "max_exp_avg_sqs")
    structural_hyperparams = ("amsgrad",)

    def __init__(self, params, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8, eps_root=0.0, weight_decay=0.0,
                 decoupled=False, amsgrad=False, nonfinite="propagate"):
        super().__init__(params, lr, nonfinite)
        self._configure(beta1=beta1, beta2=beta2, eps=eps, eps_root=eps_root, weight_decay=weight_decay,
                        decoupled=decoupled, amsgrad=amsgrad)
        self._exp_avgs = self._zeros()
        self._exp_avg_sqs = self._zeros()
        self._max_exp_avg_sqs = self._zeros() if self.amsgrad else None

    def _configure(self, *, beta1, beta2, eps, eps_root, weight_decay, decoupled, amsgrad):
        cls = type(self).__name__
        _validate.check_beta(cls, "beta1", beta1)
        _validate.check_beta(cls, "beta2", beta2)
        _validate.check_finite_nonnegative(cls, "eps", eps)
        _validate.check_finite_nonnegative(cls, "eps_root", eps_root)
        _validate.check_finite_nonnegative(cls, "weight_decay", weight_decay)
        self.beta1, self.beta2, self.eps, self.eps_root = float(beta1), float(beta2), float(eps), float(eps_root)
        self.weight_decay = float(weight_decay)
        self.decoupled = _validate.check_flag(type(self).__name__, "decoupled", decoupled)
        self.amsgrad = _validate.check_flag(type(self).__name__, "amsgrad", amsgrad)

    def hyperparams(self):
        return {
            "lr": self.lr, "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps, "eps_root": self.eps_root,
            "weight_decay": self.weight_decay, "decoupled": self.decoupled, "amsgrad": self.amsgrad,
        }

    def _apply(self, g):
        """m, v moving averages of g and g^2, bias-corrected;
        w := w - lr * m_hat / (sqrt(v_hat + eps_root) + eps)."""
        step = self.t + 1
        self._adam_update(
            self._params, g, self._exp_avgs, self._exp_avg_sqs, step=step, lr=self.lr, beta1=self.beta1,
            beta2=self.beta2, eps=self.eps, eps_root=self.eps_root, weight_decay=self.weight_decay,
            decoupled=self.decoupled, max_exp_avg_sqs=self._max_exp_avg_sqs, names=self._names,
        )
        self.t = step


def _is_scalar(x):
    return isinstance(x, numbers.Number) or (isinstance(x, np.ndarray) and x.ndim == 0) or isinstance(x, np.generic)


class EMA:
    """Exponentially weighted moving average, streaming: ``v_t = beta*v_{t-1} + (1-beta)*x_t``,
    ``v_0 = 0``; ``update(x)`` returns ``v_t / (1 - beta**t)`` with bias correction, else ``v_t``.

    ``x`` may be a number, an array, or a list / dict of arrays (e.g. a model's weights, to
    keep an average of them beside training); the result has the same structure. Array
    averages keep the input's float dtype (float32 or float64; other numeric inputs are
    averaged in float64). Returned arrays are new arrays, never the internal state.
    """

    algorithm = "EMA"

    def __init__(self, beta, bias_correction=True):
        _validate.check_beta("EMA", "beta", beta)
        self.beta = float(beta)
        self.bias_correction = _validate.check_flag("EMA", "bias_correction", bias_correction)
        self.t = 0
        self._kind = None  # "scalar", "array", "list", "dict"
        self._names = None
        self._avgs = None  # float for scalars, list of arrays otherwise

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
            raise TypeError(f"EMA.update: x must be a number, an array, or a list/dict of arrays, got {type(x).__name__}")
        arrays = []
        for i, a in enumerate(items):
            if not isinstance(a, np.ndarray):
                a = np.asarray(a)
            if a.dtype.kind not in "biuf" or a.dtype.kind == "b":
                raise TypeError(f"EMA.update: {_validate.label('x', i, names)} has dtype {a.dtype}; expected a real numeric dtype")
            if a.dtype not in _validate.FLOAT_DTYPES:
                a = a.astype(np.float64)
            # x is only read, so a C-ordered copy of a strided or Fortran-ordered x is safe
            # (the averages are C-ordered and the kernels need matching layouts)
            arrays.append(np.ascontiguousarray(a))
        return kind, names, arrays

    def update(self, x):
        kind, names, values = self._as_values(x)
        if self._kind is None:
            avgs = 0.0 if kind == "scalar" else [np.zeros(a.shape, a.dtype) for a in values]
        else:
            if kind != self._kind or names != self._names or (kind != "scalar" and len(values) != len(self._avgs)):
                raise ValueError(f"EMA.update: x has a different structure than the values averaged so far ({self._kind})")
            avgs = self._avgs
            if kind != "scalar":
                for i, (a, v) in enumerate(zip(values, avgs)):
                    if a.shape != v.shape:
                        raise ValueError(f"EMA.update: {_validate.label('x', i, names)} has shape {a.shape}, the average has {v.shape}")
                    if a.dtype != v.dtype:
                        raise TypeError(f"EMA.update: {_validate.label('x', i, names)} has dtype {a.dtype}, the average has {v.dtype}")
        t = self.t + 1
        if kind == "scalar":
            v = self.beta * avgs + (1.0 - self.beta) * values
            out = v / (1.0 - self.beta ** t) if self.bias_correction else v
            self._kind, self._avgs, self.t = kind, v, t
            return out
        outs = [np.empty(a.shape, a.dtype) for a in avgs]
        self._ema_update(avgs, values, beta=self.beta, step=t, bias_correction=self.bias_correction, outs=outs, names=names)
        self._kind, self._names, self._avgs, self.t = kind, names, avgs, t
        return self._pack(outs)

    def _pack(self, arrays):
        if self._kind == "array":
            return arrays[0]
        if self._kind == "dict":
            return dict(zip(self._names, arrays))
        return arrays

    @property
    def value(self):
        """The current average (bias-corrected if enabled); None before the first update."""
        if self._kind is None:
            return None
        c = (1.0 - self.beta ** self.t) if self.bias_correction else 1.0
        if self._kind == "scalar":
            return self._avgs / c if self.bias_correction else self._avgs
        return self._pack([a / c if self.bias_correction else a.copy() for a in self._avgs])

    def state_dict(self):
        """A plain, versioned dict (see Optimizer.state_dict); ``kind`` says what was averaged."""
        return {
            "format": STATE_FORMAT,
            "version": STATE_VERSION,
            "algorithm": self.algorithm,
            "step": self.t,
            "hyperparams": {"beta": self.beta, "bias_correction": self.bias_correction},
            "kind": self._kind,
            "param_names": None if self._names is None else list(self._names),
            "state": {"averages": self._avgs if self._kind in (None, "scalar") else [a.copy() for a in self._avgs]},
        }

    def load_state_dict(self, state):
        """Restores what ``state_dict`` returned (either backend): averages, step, beta and
        bias_correction; the average's structure (number, array, list, dict) comes with it.
        Everything is checked first; a refused state leaves the EMA as it was."""
        where = "EMA.load_state_dict"
        _check_header(where, state, self.algorithm)
        if "kind" not in state:
            raise KeyError(f"{where}: state has no 'kind' entry; is it an EMA state_dict?")
        t = _check_count(where, "step", state["step"])
        hp = state.get("hyperparams", {"beta": self.beta, "bias_correction": self.bias_correction})
        if not isinstance(hp, Mapping) or set(hp) != {"beta", "bias_correction"}:
            raise ValueError(f"{where}: state['hyperparams'] must be a dict with keys 'beta' and 'bias_correction'")
        _validate.check_beta(where, "beta", hp["beta"])
        kind, names = state["kind"], state.get("param_names")
        st = state["state"]
        if not isinstance(st, Mapping) or "averages" not in st:
            raise ValueError(f"{where}: state['state'] must be a dict with an 'averages' entry")
        avgs = st["averages"]
        if kind is None:
            if avgs is not None or t != 0:
                raise ValueError(f"{where}: an empty EMA state must have averages None and step 0")
        elif kind == "scalar":
            if isinstance(avgs, bool) or not isinstance(avgs, numbers.Real):
                raise TypeError(f"{where}: the average of a scalar EMA must be a real number, got {type(avgs).__name__}")
            avgs = float(avgs)
        elif kind in ("array", "list", "dict"):
            if not isinstance(avgs, (list, tuple)) or not all(
                isinstance(a, np.ndarray) and a.dtype in _validate.FLOAT_DTYPES for a in avgs
            ):
                raise TypeError(f"{where}: averages must be a list of float32/float64 arrays")
            if kind == "array" and len(avgs) != 1:
                raise ValueError(f"{where}: an array EMA holds exactly one average, got {len(avgs)}")
            if kind == "dict":
                if not isinstance(names, (list, tuple)) or len(names) != len(avgs) or not all(isinstance(k, str) for k in names):
                    raise ValueError(f"{where}: a dict EMA needs param_names, one str per average")
                names = list(names)
            elif names is not None:
                raise ValueError(f"{where}: param_names must be None for a {kind} EMA")
            avgs = [np.array(a, copy=True, order="C") for a in avgs]
        else:
            raise ValueError(f"{where}: unknown kind {kind!r}; expected None, 'scalar', 'array', 'list' or 'dict'")
        if kind != "dict":
            names = None
        self.beta = float(hp["beta"])
        self.bias_correction = _validate.check_flag("EMA.load_state_dict", "bias_correction", hp["bias_correction"])
        self._kind, self._names, self._avgs, self.t = kind, names, avgs, t

    def __repr__(self):
        return f"EMA(beta={self.beta!r}, bias_correction={self.bias_correction!r}, t={self.t})"


def ewma_prepare(series, beta, func="ewma"):
    """Common argument handling of ewma: returns the float array to scan."""
    _validate.check_beta(func, "beta", beta)
    x = np.asarray(series)
    if x.dtype.kind not in "biuf":
        raise TypeError(f"{func}: series has dtype {x.dtype}; expected real numbers")
    if x.dtype not in _validate.FLOAT_DTYPES:
        x = x.astype(np.float64)
    if x.ndim == 0:
        raise ValueError(f"{func}: series must have at least one dimension")
    return x


def bias_correction(beta, t):
    """``1 - beta**t`` in float64, the way every backend computes it."""
    return 1.0 - beta ** t


__all__ = ["Optimizer", "GD", "Momentum", "RMSprop", "Adam", "EMA"]
