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

import numbers
from collections.abc import Mapping

import numpy as np

from . import _validate

STATE_FORMAT = "simdoptim.optimizer"
STATE_VERSION = 1


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


def _check_param_arrays(cls_name, names, params):
    for i, p in enumerate(params):
        if not isinstance(p, np.ndarray):
            raise TypeError(f"{cls_name}: {_validate.label('params', i, names)} must be a numpy.ndarray, got {type(p).__name__}")
        if p.dtype not in _validate.FLOAT_DTYPES:
            raise TypeError(
                f"{cls_name}: {_validate.label('params', i, names)} has dtype {p.dtype}; expected float32 or float64"
            )
        if not p.flags.writeable:
            raise ValueError(f"{cls_name}: {_validate.label('params', i, names)} is read-only; parameters are updated in place")


class Optimizer:
    """Base of every optimizer. Subclasses set ``algorithm``, ``state_keys`` and ``_update``."""

    algorithm = "Optimizer"
    #: names of the per-parameter state lists, in the order the update function takes them
    state_keys: tuple = ()

    def __init__(self, params, lr):
        cls = type(self).__name__
        self._names, self._params, self._single = _flatten_params(params, cls)
        _check_param_arrays(cls, self._names, self._params)
        self.lr = lr
        self.t = 0
        self.epoch = 0

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

    # -- checkpoints -------------------------------------------------------------------
    def hyperparams(self):
        """The hyper-parameters as a plain dict (lr as a float: the rate of the next step)."""
        raise NotImplementedError

    def state_dict(self):
        """A plain, versioned dict of numbers and NumPy arrays (copies), the same for both backends."""
        return {
            "format": STATE_FORMAT,
            "version": STATE_VERSION,
            "algorithm": self.algorithm,
            "step": self.t,
            "epoch": self.epoch,
            "hyperparams": self.hyperparams(),
            "param_names": None if self._names is None else list(self._names),
            "state": {k: [a.copy() for a in getattr(self, "_" + k)] for k in self._active_state_keys()},
        }

    def load_state_dict(self, state):
        """Restores what ``state_dict`` returned (from either backend). Everything is checked
        before anything is changed: a state for another algorithm, other shapes or dtypes is
        refused with the optimizer left as it was."""
        cls = type(self).__name__
        if not isinstance(state, Mapping):
            raise TypeError(f"{cls}.load_state_dict: state must be a dict, got {type(state).__name__}")
        for key in ("format", "version", "algorithm", "step", "state"):
            if key not in state:
                raise KeyError(f"{cls}.load_state_dict: state has no {key!r} entry; is it a simdoptim state_dict?")
        if state["format"] != STATE_FORMAT or state["version"] != STATE_VERSION:
            raise ValueError(
                f"{cls}.load_state_dict: unsupported state format {state['format']!r} version {state['version']!r} "
                f"(expected {STATE_FORMAT!r} version {STATE_VERSION})"
            )
        if state["algorithm"] != self.algorithm:
            raise ValueError(f"{cls}.load_state_dict: state is for {state['algorithm']}, not {self.algorithm}")
        step = state["step"]
        if isinstance(step, bool) or not isinstance(step, numbers.Integral) or step < 0:
            raise ValueError(f"{cls}.load_state_dict: step must be an int >= 0, got {step!r}")
        names = state.get("param_names")
        if (names is None) != (self._names is None) or (names is not None and list(names) != self._names):
            raise ValueError(f"{cls}.load_state_dict: state is for parameters {names!r}, not {self._names!r}")
        arrays = state["state"]
        expected = self._active_state_keys()
        if set(arrays.keys()) != set(expected):
            raise ValueError(
                f"{cls}.load_state_dict: state holds {sorted(arrays.keys())}, expected {sorted(expected)} "
                f"(were the options, e.g. amsgrad or centered, the same?)"
            )
        staged = {}
        for k in expected:
            lst = arrays[k]
            if not isinstance(lst, (list, tuple)) or len(lst) != len(self._params):
                raise ValueError(f"{cls}.load_state_dict: state[{k!r}] must hold {len(self._params)} arrays")
            for i, (a, p) in enumerate(zip(lst, self._params)):
                if not isinstance(a, np.ndarray) or a.shape != p.shape or a.dtype != p.dtype:
                    got = f"{a.dtype} {a.shape}" if isinstance(a, np.ndarray) else type(a).__name__
                    raise ValueError(
                        f"{cls}.load_state_dict: state[{k!r}][{i}] is {got}, expected {p.dtype} {p.shape}"
                    )
            staged[k] = lst
        # commit: copy into the existing buffers (keeps their layout and the zero-copy path)
        for k, lst in staged.items():
            for dst, src in zip(getattr(self, "_" + k), lst):
                np.copyto(dst, src)
        self.t = int(step)
        self.epoch = int(state.get("epoch", 0))

    def _active_state_keys(self):
        return [k for k in self.state_keys if getattr(self, "_" + k) is not None]

    def __repr__(self):
        hp = ", ".join(f"{k}={v!r}" for k, v in self.hyperparams().items())
        return f"{type(self).__name__}({len(self._params)} tensors, t={self.t}, {hp})"


class GD(Optimizer):
    algorithm = "GD"
    state_keys = ()

    def __init__(self, params, lr=0.01, weight_decay=0.0):
        super().__init__(params, lr)
        _validate.check_finite_nonnegative(type(self).__name__, "weight_decay", weight_decay)
        self.weight_decay = float(weight_decay)

    def hyperparams(self):
        return {"lr": self.lr, "weight_decay": self.weight_decay}

    def step(self, grads):
        """One update of every parameter: w := w - lr * (g + weight_decay * w)."""
        g = self._grads_list(grads)
        self._gd_update(self._params, g, lr=self.lr, weight_decay=self.weight_decay, names=self._names)
        self.t += 1


class Momentum(Optimizer):
    algorithm = "Momentum"
    state_keys = ("velocities",)

    def __init__(self, params, lr=0.01, beta=0.9, form="ema", nesterov=False, weight_decay=0.0):
        super().__init__(params, lr)
        cls = type(self).__name__
        _validate.check_beta(cls, "beta", beta)
        if form not in ("ema", "sum"):
            raise ValueError(f"{cls}: form must be 'ema' (v = beta*v + (1-beta)*g) or 'sum' (v = beta*v + g), got {form!r}")
        _validate.check_finite_nonnegative(cls, "weight_decay", weight_decay)
        self.beta, self.form, self.nesterov, self.weight_decay = float(beta), form, bool(nesterov), float(weight_decay)
        self._velocities = self._zeros()

    def hyperparams(self):
        return {"lr": self.lr, "beta": self.beta, "form": self.form, "nesterov": self.nesterov, "weight_decay": self.weight_decay}

    def step(self, grads):
        """One update: v := beta*v + (1-beta)*g (or + g with form='sum'); w := w - lr*v."""
        g = self._grads_list(grads)
        self._momentum_update(
            self._params, g, self._velocities, lr=self.lr, beta=self.beta, form=self.form,
            nesterov=self.nesterov, weight_decay=self.weight_decay, names=self._names,
        )
        self.t += 1


class RMSprop(Optimizer):
    algorithm = "RMSprop"
    state_keys = ("square_avgs", "grad_avgs", "momentum_buffers")

    def __init__(self, params, lr=0.01, beta2=0.99, eps=1e-8, eps_root=0.0, weight_decay=0.0, momentum=0.0, centered=False):
        super().__init__(params, lr)
        cls = type(self).__name__
        _validate.check_beta(cls, "beta2", beta2)
        _validate.check_finite_nonnegative(cls, "eps", eps)
        _validate.check_finite_nonnegative(cls, "eps_root", eps_root)
        _validate.check_finite_nonnegative(cls, "weight_decay", weight_decay)
        _validate.check_beta(cls, "momentum", momentum)
        self.beta2, self.eps, self.eps_root = float(beta2), float(eps), float(eps_root)
        self.weight_decay, self.momentum, self.centered = float(weight_decay), float(momentum), bool(centered)
        self._square_avgs = self._zeros()
        self._grad_avgs = self._zeros() if self.centered else None
        self._momentum_buffers = self._zeros() if self.momentum != 0.0 else None

    def hyperparams(self):
        return {
            "lr": self.lr, "beta2": self.beta2, "eps": self.eps, "eps_root": self.eps_root,
            "weight_decay": self.weight_decay, "momentum": self.momentum, "centered": self.centered,
        }

    def step(self, grads):
        """One update: s := beta2*s + (1-beta2)*g^2; w := w - lr*g / (sqrt(s + eps_root) + eps)."""
        g = self._grads_list(grads)
        self._rmsprop_update(
            self._params, g, self._square_avgs, lr=self.lr, beta2=self.beta2, eps=self.eps, eps_root=self.eps_root,
            weight_decay=self.weight_decay, momentum=self.momentum, grad_avgs=self._grad_avgs,
            momentum_buffers=self._momentum_buffers, names=self._names,
        )
        self.t += 1


class Adam(Optimizer):
    algorithm = "Adam"
    state_keys = ("exp_avgs", "exp_avg_sqs", "max_exp_avg_sqs")

    def __init__(self, params, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8, eps_root=0.0, weight_decay=0.0,
                 decoupled=False, amsgrad=False):
        super().__init__(params, lr)
        cls = type(self).__name__
        _validate.check_beta(cls, "beta1", beta1)
        _validate.check_beta(cls, "beta2", beta2)
        _validate.check_finite_nonnegative(cls, "eps", eps)
        _validate.check_finite_nonnegative(cls, "eps_root", eps_root)
        _validate.check_finite_nonnegative(cls, "weight_decay", weight_decay)
        self.beta1, self.beta2, self.eps, self.eps_root = float(beta1), float(beta2), float(eps), float(eps_root)
        self.weight_decay, self.decoupled, self.amsgrad = float(weight_decay), bool(decoupled), bool(amsgrad)
        self._exp_avgs = self._zeros()
        self._exp_avg_sqs = self._zeros()
        self._max_exp_avg_sqs = self._zeros() if self.amsgrad else None

    def hyperparams(self):
        return {
            "lr": self.lr, "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps, "eps_root": self.eps_root,
            "weight_decay": self.weight_decay, "decoupled": self.decoupled, "amsgrad": self.amsgrad,
        }

    def step(self, grads):
        """One update: m, v moving averages of g and g^2, bias-corrected;
        w := w - lr * m_hat / (sqrt(v_hat + eps_root) + eps)."""
        g = self._grads_list(grads)
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
        self.bias_correction = bool(bias_correction)
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
            arrays.append(a)
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
        return {
            "format": STATE_FORMAT,
            "version": STATE_VERSION,
            "algorithm": self.algorithm,
            "step": self.t,
            "hyperparams": {"beta": self.beta, "bias_correction": self.bias_correction},
            "kind": self._kind,
            "param_names": self._names,
            "state": {"averages": self._avgs if self._kind in (None, "scalar") else [a.copy() for a in self._avgs]},
        }

    def load_state_dict(self, state):
        if not isinstance(state, Mapping):
            raise TypeError(f"EMA.load_state_dict: state must be a dict, got {type(state).__name__}")
        for key in ("format", "version", "algorithm", "step", "kind", "state"):
            if key not in state:
                raise KeyError(f"EMA.load_state_dict: state has no {key!r} entry; is it a simdoptim EMA state_dict?")
        if state["format"] != STATE_FORMAT or state["version"] != STATE_VERSION or state["algorithm"] != self.algorithm:
            raise ValueError(f"EMA.load_state_dict: not an EMA state of version {STATE_VERSION}")
        kind, avgs = state["kind"], state["state"]["averages"]
        if kind not in (None, "scalar", "array", "list", "dict"):
            raise ValueError(f"EMA.load_state_dict: unknown kind {kind!r}")
        if kind not in (None, "scalar"):
            if not isinstance(avgs, (list, tuple)) or not all(
                isinstance(a, np.ndarray) and a.dtype in _validate.FLOAT_DTYPES for a in avgs
            ):
                raise ValueError("EMA.load_state_dict: averages must be a list of float32/float64 arrays")
            avgs = [np.array(a, copy=True) for a in avgs]
        elif kind == "scalar":
            avgs = float(avgs)
        self._kind, self._names, self._avgs, self.t = kind, state.get("param_names"), avgs, int(state["step"])

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
