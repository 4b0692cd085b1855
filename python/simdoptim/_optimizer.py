"""The one optimizer core: parameter groups, state, checkpoints and the step, for every
algorithm and both backends.

An optimizer here is a list of parameter groups (PyTorch's convention: each group a dict with
``"params"`` and its own hyper-parameters), explicit per-tensor state arrays, a step count
``t`` and an epoch counter. The *backend* is data: an object whose ``plan(...)`` binds the
tensors once and whose plan's ``step(grads)`` updates every tensor of every group in one call
(``simdoptim._core.Plan`` for the compiled backend; :class:`PythonPlan` over the functions of
:mod:`simdoptim.reference` for the NumPy one). There is one class per algorithm;
``simdoptim.Adam`` and ``simdoptim.reference.Adam`` are that class bound to a backend
(:meth:`Optimizer.using`).

This module imports neither backend; ``simdoptim.reference`` imports it.
"""

from __future__ import annotations

import contextlib
import numbers
import signal
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from . import _checks

if TYPE_CHECKING:
    from ._core import Plan

STATE_FORMAT = "simdoptim.optimizer"
#: version 2 added parameter groups; version 1 (one group) still loads
STATE_VERSION = 2

#: what ``step`` does with a NaN or an infinity in the gradients (see Optimizer.step)
NONFINITE_POLICIES = ("propagate", "skip", "raise")

_MAX_STEP = 2**63 - 1


# ---------------------------------------------------------------------------------------
# Hyper-parameter checks: one function per kind of value, named in every message.

def _check_lr(func, name, value):
    if callable(value) and not isinstance(value, (numbers.Number, np.generic)):
        per = getattr(value, "per", "epoch")
        if per not in ("epoch", "step"):
            raise ValueError(f"{func}: a schedule's 'per' attribute must be 'epoch' or 'step', got {per!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{func}: {name} must be a number or a schedule (a callable), got {type(value).__name__}")
    _checks.check_finite_nonnegative(func, name, value)
    return float(value)


def _check_real(func, name, value):
    _checks.check_finite_nonnegative(func, name, value)
    return float(value)


def _check_beta(func, name, value):
    _checks.check_beta(func, name, value)
    return float(value)


def _check_flag(func, name, value):
    return _checks.check_flag(func, name, value)


def _check_form(func, name, value):
    if not isinstance(value, str) or value not in ("ema", "sum"):
        raise ValueError(f"{func}: {name} must be 'ema' (v = beta*v + (1-beta)*g) or 'sum' (v = beta*v + g), "
                         f"got {value!r}")
    return value


def schedule_value(func, schedule, x, per):
    """The rate a schedule gives at epoch or step ``x``, checked: a finite real >= 0."""
    value = schedule(x)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{func}: the lr schedule {schedule!r} returned {value!r} ({type(value).__name__}) at {per} {x}; "
            f"a schedule must return a real number"
        )
    _checks.check_finite_nonnegative(func, f"lr (schedule value at {per} {x})", value)
    return float(value)


# ---------------------------------------------------------------------------------------
# Interrupts: the reference backend runs NumPy code that a KeyboardInterrupt could cut in
# half; it defers SIGINT to the end of the step. (The compiled backend's step is one call
# that returns with everything, the counts included, already updated.)

@contextlib.contextmanager
def interrupts_deferred():
    """Holds a SIGINT (Ctrl-C, ``_thread.interrupt_main()``) that arrives inside the block and
    delivers it to the previous handler when the block ends. Only the main thread of the
    main interpreter receives signals; elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending = []
    try:
        previous = signal.signal(signal.SIGINT, lambda signum, frame: pending.append(frame))
    except (ValueError, OSError):  # not the main interpreter
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if pending:
            if callable(previous):
                previous(signal.SIGINT, pending[0])
            elif previous == signal.SIG_DFL:
                signal.raise_signal(signal.SIGINT)


# ---------------------------------------------------------------------------------------
# The plan of a backend written in Python (the reference).

class PythonPlan:
    """The prepared step of the NumPy backend, with the interface of ``_core.Plan``: it binds
    the tensors, checks them once, and ``step(grads)`` validates every gradient of every group
    before it updates anything, then runs the algorithm's reference function group by group
    (each group is exactly a separate optimizer, as the contract says) with SIGINT deferred."""

    def __init__(self, func, update, kwargs_of, stepped, state_names, params, states, groups, num_groups, labels,
                 copies=None, lowp=False):
        self._func, self._update, self._kwargs_of, self._stepped = func, update, kwargs_of, stepped
        self._state_names = state_names
        self._params = list(params)
        n = len(self._params)
        self._states = [None if s is None else list(s) for s in (states or [None] * len(state_names))]
        self._groups = list(groups) if groups is not None else [0] * n
        self._labels = labels
        self._members = [[i for i in range(n) if self._groups[i] == g] for g in range(num_groups)]
        self._kw: list[Any] = [None] * num_groups  # per group, the update's keywords (set_hyper)
        self.t = 0
        self.skipped_steps = 0
        self.nonfinite = 0
        # low precision (algorithms whose update takes the options, see Algorithm.lowp)
        self._lowp = lowp
        self.rounding = "nearest"
        self.seed = 0
        self._clip = [None] * num_groups
        self._norms = [None] * num_groups
        rule = _checks.MIXED if lowp else _checks.SAME
        self._written = _checks.check_buffers(func, self._params, list(zip(state_names, self._states)), labels,
                                              rule=rule)
        self._rule = rule
        if copies is not None and not lowp:
            raise ValueError(f"{func}: this algorithm does not write low-precision copies of its parameters")
        _checks.check_copies(func, self._params, [], copies, labels, self._written)
        self._copies = None if copies is None else list(copies)
        if self._copies is not None:
            self._written = self._written + [(_checks._span(c), True, "copies", i) for i, c in enumerate(self._copies)
                                             if c is not None and c.size]

    def set_clip(self, group, max_norm):
        if max_norm is not None and not self._lowp:
            raise ValueError(f"{self._func}: this algorithm does not clip gradients (max_grad_norm)")
        self._clip[group] = _checks.check_max_grad_norm(self._func, "max_grad_norm", max_norm)
        if max_norm is None:
            self._norms[group] = None

    def set_first_tensor(self, first):
        self._first = int(first)

    @property
    def grad_norms(self):
        return list(self._norms)

    def __len__(self):
        return len(self._params)

    def set_hyper(self, group, values):
        self._kw[group] = self._kwargs_of(values)

    def _check(self, grads, outs):
        grads = _checks.require_list(self._func, "grads", grads)
        if len(grads) != len(self._params):
            raise ValueError(
                f"{self._func}: grads has {len(grads)} arrays but params has {len(self._params)}; "
                f"pass one per parameter"
            )
        _checks.check_grads(self._func, self._params, grads, self._labels, self._written, rule=self._rule)
        if outs is not None:
            outs = _checks.require_list(self._func, "outs", outs)
            _checks.check_outs(self._func, self._params, grads, outs, self._labels, self._written)
        return grads, outs

    def _run(self, grads, step, outs, grad_scale=None):
        for g, members in enumerate(self._members):
            if not members:
                continue
            kw = dict(self._kw[g])
            for name, lst in zip(self._state_names, self._states):
                if lst is not None and lst[members[0]] is not None:
                    kw[name] = [lst[i] for i in members]
            if self._stepped or self._lowp:  # the mixed-precision updates key their random bits by the step
                kw["step"] = step
            if outs is not None:
                kw["outs"] = [outs[i] for i in members]
            if self._lowp:
                # a group's tensors are consecutive in the flat order: its first one keys the random bits
                kw.update(grad_scale=grad_scale, max_grad_norm=self._clip[g], rounding=self.rounding, seed=self.seed,
                          first_tensor=getattr(self, "_first", 0) + members[0],
                          copies=None if self._copies is None else [self._copies[i] for i in members])
            keys = None if self._labels is None else [self._labels[i] for i in members]
            norm = self._update([self._params[i] for i in members], [grads[i] for i in members], names=keys, **kw)
            if self._lowp and self._clip[g] is not None:
                self._norms[g] = norm

    def _measure(self, grads, grad_scale):
        """The norms of the clipping groups (before the finiteness decision, as the compiled plan)."""
        from .reference import grad_norm

        for g, members in enumerate(self._members):
            if self._clip[g] is not None:
                self._norms[g] = grad_norm([grads[i] for i in members], grad_scale, [self._params[i] for i in members])

    def step(self, grads, outs=None, grad_scale=None):
        grads, outs = self._check(grads, outs)
        if grad_scale is not None and not self._lowp:
            raise ValueError(f"{self._func}: this algorithm does not unscale gradients (grad_scale)")
        grad_scale = _checks.check_grad_scale(self._func, grad_scale)
        if self._lowp and any(c is not None for c in self._clip):
            self._measure(grads, grad_scale)
        if self.nonfinite:
            from .reference import _unscaled

            checked = grads if grad_scale is None else [_unscaled(g, grad_scale) for g in grads]
            finite = [bool(np.isfinite(g).all()) for g in checked]
        if self.nonfinite and not all(finite):
            if self.nonfinite == 2:
                bad = finite.index(False)
                raise FloatingPointError(
                    f"{self._func}: {_checks.label('grads', bad, self._labels)} holds NaN or infinity; nothing was "
                    f"updated (nonfinite='raise')"
                )
            self.skipped_steps += 1
            return False
        with interrupts_deferred():
            self._run(grads, self.t + 1, outs, grad_scale)
            self.t += 1
        return True

    def run(self, grads, *, step, outs=None, grad_scale=None):
        grads, outs = self._check(grads, outs)
        self._run(grads, step, outs, _checks.check_grad_scale(self._func, grad_scale))
        return self._norms[0] if self._norms else None


class Backend:
    """What an optimizer class needs from an implementation: ``plan(cls, ...)`` binds an
    optimizer's tensors and returns an object with ``set_hyper``, ``step``, ``run``, ``t``,
    ``skipped_steps`` and ``nonfinite`` (``simdoptim._core.Plan`` or :class:`PythonPlan`)."""

    def __init__(self, name: str, plan: Callable[..., Any]):
        self.name = name
        self.plan = plan

    def __repr__(self):
        return f"<simdoptim backend {self.name!r}>"


# ---------------------------------------------------------------------------------------
# Parameter groups.

class ParamGroup(dict):
    """One parameter group: ``{"params": ..., "lr": ..., <hyper-parameters>}`` (a dict, as
    in ``torch.optim``). Setting a hyper-parameter checks it at once, against the dtypes of
    the group's parameters; the group's ``params`` cannot be replaced (build a new
    optimizer for other tensors)."""

    def __init__(self, owner, index, items):
        super().__init__(items)
        self._owner = owner
        self._index = index
        self._version = 0

    def __setitem__(self, key, value):
        if self._owner is not None:
            value = self._owner._check_group_change(self._index, key, value)
        super().__setitem__(key, value)
        self._version += 1
        if self._owner is not None:
            self._owner._needs_sync = True

    def update(self, *args, **kwargs):
        for k, v in dict(*args, **kwargs).items():
            self[k] = v

    def setdefault(self, key, default=None):
        if key not in self:
            self[key] = default
        return self[key]

    def _refuse(self, *args, **kwargs):
        raise TypeError(
            "a parameter group's entries cannot be removed; set a hyper-parameter to another value instead"
        )

    __delitem__ = pop = popitem = clear = _refuse

    def __reduce__(self):
        return dict, (dict(self),)

    def __copy__(self):
        return dict(self)

    def __deepcopy__(self, memo):
        import copy

        return copy.deepcopy(dict(self), memo)


def _is_array(x):
    return isinstance(x, np.ndarray)


def _parse_params(cls, params):
    """(kind, [group dicts as given], per-group tensors, per-group names) from what the user
    passed: one array, a list of arrays, a dict name -> array, or a list of group dicts."""
    if _is_array(params):
        return "single", [{"params": params}], [[params]], [None]
    if isinstance(params, Mapping):
        if "params" in params and not all(_is_array(v) for v in params.values()):
            raise TypeError(
                f"{cls}: params is one dict with a 'params' entry; pass parameter groups as a list of dicts, "
                f"[{{'params': ...}}, ...]"
            )
        return ("dict", [{"params": params}], [_named_arrays(cls, "params", params)[1]],
                [_named_arrays(cls, "params", params)[0]])
    if isinstance(params, (list, tuple)):
        items = list(params)
        if items and all(isinstance(p, Mapping) for p in items):
            tensors: list[list[Any]] = []
            names: list[list[str] | None] = []
            for g, group in enumerate(items):
                if "params" not in group:
                    raise KeyError(f"{cls}: params[{g}] is a parameter group without a 'params' entry")
                p = group["params"]
                if _is_array(p):
                    tensors.append([p])
                    names.append(None)
                elif isinstance(p, Mapping):
                    nm, arrs = _named_arrays(cls, f"params[{g}]['params']", p)
                    tensors.append(arrs)
                    names.append(nm)
                elif isinstance(p, (list, tuple)):
                    tensors.append(list(p))
                    names.append(None)
                else:
                    raise TypeError(
                        f"{cls}: params[{g}]['params'] must be a list of arrays, a dict name -> array or one array, "
                        f"got {type(p).__name__}"
                    )
            return "groups", items, tensors, names
        for i, p in enumerate(items):
            if isinstance(p, Mapping):
                raise TypeError(f"{cls}: params mixes parameter groups (dicts) and arrays; params[{i}] is a dict")
        return "list", [{"params": params}], [items], [None]
    raise TypeError(
        f"{cls}: params must be a list or tuple of numpy arrays, a dict name -> array, one array, or a list of "
        f"parameter groups (dicts with a 'params' entry); got {type(params).__name__}"
    )


def _named_arrays(cls, where, d):
    names = list(d.keys())
    for k in names:
        if not isinstance(k, str):
            raise TypeError(f"{cls}: {where} keys must be str, got {type(k).__name__}")
    return names, [d[k] for k in names]


# ---------------------------------------------------------------------------------------
# The optimizer.

class Algorithm:
    """What the core needs to know of an algorithm, as data: its name (``algorithm``), its
    kernel (``op``), its hyper-parameters (``hyper``: name -> check, in the order the op
    takes its fields), its state buffers (``states``) and which of them a group uses. The
    backend that runs it is bound by :meth:`using`."""

    algorithm: ClassVar[str] = "Algorithm"
    op: ClassVar[str] = ""
    #: hyper-parameter name -> check(func, name, value) returning the stored value
    hyper: ClassVar[dict[str, Callable[[str, str, Any], Any]]] = {}
    #: per-tensor state buffers, in the order the op keeps them
    states: ClassVar[tuple[str, ...]] = ()
    #: whether the update depends on the step number (bias corrections, decays)
    stepped: ClassVar[bool] = False
    #: options the functional update reads from which state lists it is given (not a keyword)
    implied: ClassVar[tuple[str, ...]] = ()
    #: the implementation; set by :meth:`using`
    backend: ClassVar[Backend | None] = None
    #: whether the kernels take float16/bfloat16 data and the options of mixed precision
    #: (master weights, state_dtype, rounding, grad_scale, max_grad_norm)
    lowp: ClassVar[bool] = False
    #: hyper-parameters added after a state format was fixed, with the value a saved state
    #: without them means (loading such a state keeps working)
    added_hyper: ClassVar[dict[str, Any]] = {}

    @classmethod
    def using(cls, backend: Backend, module: str) -> type:
        """This algorithm bound to a backend: a class of the same name and behaviour whose
        steps run on ``backend`` (``simdoptim.Adam`` is ``Adam.using(compiled, ...)``)."""
        bound = type(cls.__name__, (cls,), {"backend": backend, "__module__": module, "__doc__": cls.__doc__})
        bound.__qualname__ = cls.__qualname__
        return bound

    @classmethod
    def _backend(cls) -> Backend:
        if cls.backend is None:
            raise TypeError(f"{cls.__name__}: use simdoptim.{cls.__name__} or simdoptim.reference.{cls.__name__}, "
                            f"which choose a backend")
        return cls.backend

    @staticmethod
    def uses_state(hp, k):
        """Whether a group with hyper-parameters ``hp`` keeps state buffer ``states[k]``."""
        return True

    @classmethod
    def check_group(cls, func, hp, dtypes):
        """Checks that need several hyper-parameters or the parameters' dtypes."""

    @classmethod
    def values(cls, hp):
        """The op's field values for a group, in ``hyper`` order (lr evaluated)."""
        return tuple(hp[k] for k in cls.hyper)

    @classmethod
    def kwargs_of(cls, values):
        """The reference function's keyword arguments for op field values (inverse of values)."""
        return {k: v for k, v in zip(cls.hyper, values) if k not in cls.implied}

    @classmethod
    def initial_state(cls, hp, k):
        """The value state buffer k starts at (and holds before the first step)."""
        return 0.0


def _check_max_grad_norm(func, name, value):
    return _checks.check_max_grad_norm(func, name, value)


class Optimizer(Algorithm):
    """Base of every optimizer class (see :class:`Algorithm` for what a subclass states).

    Mixed precision (algorithms with ``lowp``): ``master_weights`` keeps a float32 master of
    every float16/bfloat16 parameter (the user's array becomes the copy each step writes, in
    the same pass); ``state_dtype`` the dtype of the state buffers (default float32 for
    float16/bfloat16 parameters, else the parameters'); ``rounding``/``seed`` how
    float16/bfloat16 stores round; ``max_grad_norm`` (a group hyper-parameter) clips by the
    group's global gradient norm; ``step(grads, grad_scale=...)`` unscales."""

    algorithm: ClassVar[str] = "Optimizer"
    #: group keys every mixed-precision algorithm has besides its kernel's hyper-parameters
    common_hyper: ClassVar[dict[str, Callable[[str, str, Any], Any]]] = {"max_grad_norm": _check_max_grad_norm}

    @classmethod
    def group_keys(cls):
        """The keys of a parameter group besides ``params``: the hyper-parameters, and
        ``max_grad_norm`` for mixed-precision algorithms."""
        return dict(cls.hyper, **cls.common_hyper) if cls.lowp else dict(cls.hyper)

    # -- construction ---------------------------------------------------------------------------
    def __init__(self, params: Any, defaults: dict[str, Any], nonfinite: str = "propagate", *,
                 master_weights: bool = False, state_dtype: Any = None, rounding: str = "nearest",
                 seed: int = 0) -> None:
        cls = type(self).__name__
        self._backend()
        if nonfinite not in NONFINITE_POLICIES:
            raise ValueError(f"{cls}: nonfinite must be one of {', '.join(map(repr, NONFINITE_POLICIES))}, "
                             f"got {nonfinite!r}")
        gkeys = self.group_keys()
        self.defaults = {k: gkeys[k](cls, k, v) for k, v in defaults.items()}
        master_weights = _checks.check_flag(cls, "master_weights", master_weights)
        self._state_dtype = _checks.check_state_dtype(cls, state_dtype)
        self._rounding: str = _checks.check_rounding(cls, rounding)
        self._seed: int = _checks.check_seed(cls, seed)
        if not self.lowp and (master_weights or self._state_dtype is not None or self._rounding != "nearest"
                              or self.defaults.get("max_grad_norm") is not None):
            raise ValueError(f"{cls}: master_weights, state_dtype, rounding and max_grad_norm are options of the "
                             f"mixed-precision optimizers (Adam); {cls} computes in its parameters' dtype")
        kind, given, tensors, names = _parse_params(cls, params)
        self._kind = kind
        flat, group_of = [], []
        keys: list[Any] = []  # (group, name or index) with groups, else the names of a dict's params
        for g, (arrs, nm) in enumerate(zip(tensors, names)):
            for j, a in enumerate(arrs):
                flat.append(a)
                group_of.append(g)
                if kind == "groups":
                    keys.append((g, nm[j] if nm is not None else j))
                elif nm is not None:
                    keys.append(nm[j])
        if not flat:
            raise ValueError(f"{cls}: params holds no arrays; an optimizer needs at least one parameter "
                             f"(torch.optim raises the same for an empty parameter list)")
        self._params = flat
        self._group_of = group_of
        self._keys = keys if keys else None
        self._group_names = names
        _checks.check_param_arrays(cls, flat, self._keys)
        if self._state_dtype is not None:
            self._check_state_dtype(cls, master_weights)
        # hyper-parameters of every group: given keys checked, the rest from the constructor
        groups = []
        for g, given_group in enumerate(given):
            extra = set(given_group) - set(gkeys) - {"params"}
            if extra:
                raise ValueError(
                    f"{cls}: params[{g}] has unknown key(s) {sorted(map(str, extra))}; a parameter group takes "
                    f"'params' and {', '.join(map(repr, gkeys))}"
                )
            hp = dict(self.defaults)
            where = f"{cls}: params[{g}]" if kind == "groups" else cls
            for k in gkeys:
                if k in given_group:
                    hp[k] = gkeys[k](where, k, given_group[k])
            self.check_group(where, hp, self._dtypes(g))
            groups.append(ParamGroup(self, g, {"params": given_group["params"], **hp}))
        self.param_groups = groups
        self._nonfinite = nonfinite
        self.epoch = 0
        # float32 masters of the float16/bfloat16 parameters (master_weights): the plan updates
        # them, and writes the caller's arrays as their rounded copies in the same pass
        self._masters = [np.array(p, dtype=np.float32, order="K") if master_weights and _checks.is_lowp(p.dtype)
                         else None for p in self._params] if self.lowp else [None] * len(self._params)
        self._state = {
            name: [
                self._new_state(self._params[i], groups[self._group_of[i]], k)
                if self.uses_state(groups[self._group_of[i]], k) else None
                for i in range(len(self._params))
            ]
            for k, name in enumerate(self.states)
        }
        try:
            self._build_plan()
        except (TypeError, ValueError) as e:
            # the plan's messages name the step, which checks the same things later
            msg = str(e)
            if not msg.startswith(f"{cls}.step: "):
                raise
            raise type(e)(cls + ": " + msg[len(cls) + len(".step: "):]) from None

    def _check_state_dtype(self, cls, master_weights):
        """state_dtype against the dtype each parameter is updated in (its float32 master with
        master_weights), before any buffer is allocated; parameters of a dtype no kernel takes
        are left to the plan, which names them."""
        kernel_dtypes = _checks.MIXED.params()
        for i, p in enumerate(self._params):
            if p.dtype not in kernel_dtypes:
                continue
            updated = np.dtype(np.float32) if master_weights and _checks.is_lowp(p.dtype) else p.dtype
            allowed = _checks.MIXED.states(updated)
            if self._state_dtype not in allowed:
                what = f"{p.dtype} parameters" + (" with master weights" if updated != p.dtype else "")
                raise TypeError(f"{cls}: state_dtype={self._state_dtype.name!r} cannot hold the state of "
                                f"{_checks.label('params', i, self._keys)} ({p.dtype}); the state of {what} has "
                                f"dtype {_checks.dtype_names(allowed)}")

    def _dtypes(self, g):
        return {a.dtype for a, gi in zip(self._params, self._group_of) if gi == g and isinstance(a, np.ndarray)}

    def _new_state(self, p, hp, k):
        init = self.initial_state(hp, k)
        dtype = self._state_dtype
        if dtype is None:
            dtype = np.float32 if (_checks.is_lowp(p.dtype) and isinstance(p, np.ndarray)) else None
        a = np.zeros_like(p, dtype=dtype) if init == 0.0 else np.full_like(p, init, dtype=dtype)
        return a

    def _plan_params(self):
        """What the plan updates: each parameter, or its float32 master."""
        masters = getattr(self, "_masters", None) or [None] * len(self._params)
        return [p if m is None else m for p, m in zip(self._params, masters)]

    def _build_plan(self):
        states = [self._state[s] if any(x is not None for x in self._state[s]) else None for s in self.states]
        masters = getattr(self, "_masters", None) or [None] * len(self._params)
        copies = [p if m is not None else None for p, m in zip(self._params, masters)]
        extra = {"copies": copies} if any(c is not None for c in copies) else {}
        plan = self._backend().plan(type(self), f"{type(self).__name__}.step", self._plan_params(), states,
                                    self._group_of, len(self.param_groups), self._keys, **extra)
        plan.nonfinite = NONFINITE_POLICIES.index(self._nonfinite)
        if self.lowp:
            plan.rounding = self._rounding
            plan.seed = self._seed
        old = getattr(self, "_plan", None)
        if old is not None:
            plan.t, plan.skipped_steps = old.t, old.skipped_steps
        self._plan: Plan | PythonPlan = plan
        self._rebuild_after = False
        self._synced = [-1] * len(self.param_groups)
        self._lr_values = [None] * len(self.param_groups)
        self._sync_all(evaluate=False)

    # -- hyper-parameters --------------------------------------------------------------------
    def _evaluated(self, hp, t, epoch):
        """hp with a scheduled lr replaced by its value for the next step."""
        lr = hp.get("lr")
        if lr is None or not callable(lr):
            return hp
        per = getattr(lr, "per", "epoch")
        x = t + 1 if per == "step" else epoch
        return {**hp, "lr": schedule_value(type(self).__name__, lr, x, per)}

    def _check_group_change(self, g, key, value):
        cls = type(self).__name__
        where = f"{cls}: param_groups[{g}]"
        if key == "params":
            raise ValueError(f"{where}['params'] cannot be replaced; build a new optimizer for other tensors")
        keys = self.group_keys()
        if key not in keys:
            raise KeyError(f"{where} has no hyper-parameter {key!r}; {cls} takes {', '.join(map(repr, keys))}")
        value = keys[key](where, key, value)
        hp = {**self.param_groups[g], key: value}
        self.check_group(where, hp, self._dtypes(g))
        # an option that needs a state buffer the group has not kept so far (RMSprop momentum
        # turned on, ...): the buffer starts now, at its initial value, as it would have at
        # construction
        missing = [(i, k) for i, gi in enumerate(self._group_of) if gi == g for k in range(len(self.states))
                   if self.uses_state(hp, k) and self._state[self.states[k]][i] is None]
        if missing:
            for i, k in missing:
                self._state[self.states[k]][i] = self._new_state(self._params[i], hp, k)
            self._rebuild_after = True
        self._needs_sync = True
        return value

    def _sync_all(self, evaluate=True):
        """Hands the groups' hyper-parameters to the plan: after a change, and before every
        step while a group's lr is a schedule (its value moves with the step or epoch). A
        schedule is first called by the first step (``evaluate=False`` at construction)."""
        if self._rebuild_after:
            self._build_plan()  # calls back here
            return
        scheduled = False
        for g, group in enumerate(self.param_groups):
            if not evaluate and callable(group.get("lr")):
                self._plan.set_hyper(g, self.values({**group, "lr": 0.0}))
                if self.lowp:
                    self._plan.set_clip(g, group.get("max_grad_norm"))
                self._synced[g] = -1
                scheduled = True
                continue
            hp = self._evaluated(group, self._plan.t, self.epoch)
            scheduled = scheduled or hp is not group
            values = self.values(hp)
            if group._version != self._synced[g] or values != self._lr_values[g]:
                self._plan.set_hyper(g, values)
                if self.lowp:
                    self._plan.set_clip(g, group.get("max_grad_norm"))
                self._lr_values[g] = values
                self._synced[g] = group._version
        self._needs_sync = scheduled

    def _group_attr(self, name):
        values = [g[name] for g in self.param_groups]
        if all(v is values[0] or v == values[0] for v in values):
            return values[0]
        raise AttributeError(
            f"{type(self).__name__}.{name}: the parameter groups have different values ({values!r}); "
            f"read opt.param_groups[i][{name!r}]"
        )

    def __getattr__(self, name):
        # hyper-parameters read as attributes (opt.beta1): the groups' common value
        hyper = type(self).group_keys()
        if name in hyper and "param_groups" in self.__dict__:
            return self._group_attr(name)
        if name == "grad_norm" and "param_groups" in self.__dict__:
            # the property raised (several groups); Python then asks __getattr__: say why
            raise AttributeError(f"{type(self).__name__}.grad_norm: the optimizer has {len(self.param_groups)} "
                                 f"parameter groups, each clipped by its own norm; read opt.grad_norms")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __setattr__(self, name, value):
        if name in type(self).group_keys() and "param_groups" in self.__dict__:
            for group in self.param_groups:
                group[name] = value  # checked by the group
            return
        object.__setattr__(self, name, value)

    @property
    def lr(self):
        """The learning rate of the next step (a float), whether fixed or from a schedule; with
        several groups, their common rate (AttributeError if they differ). Setting it sets
        every group's rate (a number or a schedule)."""
        if len(self.param_groups) == 1:
            return self._evaluated(self.param_groups[0], self.t, self.epoch)["lr"]
        rates = [self._evaluated(g, self.t, self.epoch)["lr"] for g in self.param_groups]
        if len(set(rates)) == 1:
            return rates[0]
        raise AttributeError(f"{type(self).__name__}.lr: the parameter groups have different rates {rates}; "
                             f"read opt.param_groups[i]['lr']")

    @lr.setter
    def lr(self, value):
        for group in self.param_groups:
            group["lr"] = value

    @property
    def nonfinite(self) -> str:
        """What a step does with NaN/Inf gradients: "propagate", "skip" or "raise" (see step)."""
        return self._nonfinite

    @nonfinite.setter
    def nonfinite(self, value):
        if value not in NONFINITE_POLICIES:
            raise ValueError(f"{type(self).__name__}: nonfinite must be one of "
                             f"{', '.join(map(repr, NONFINITE_POLICIES))}, got {value!r}")
        self._plan.nonfinite = NONFINITE_POLICIES.index(value)
        self._nonfinite = value

    # -- counters ----------------------------------------------------------------------------
    @property
    def t(self) -> int:
        """The number of updates applied (skipped steps do not count); the next step is t + 1."""
        return self._plan.t

    @t.setter
    def t(self, value):
        self._plan.t = _check_count(type(self).__name__, "t", value)

    @property
    def skipped_steps(self) -> int:
        """Steps skipped because of NaN/Inf gradients (``nonfinite="skip"``)."""
        return self._plan.skipped_steps

    def next_epoch(self) -> None:
        """Advances the epoch counter that per-epoch schedules read (call once per epoch)."""
        self.epoch += 1

    # -- mixed precision ---------------------------------------------------------------------
    @property
    def grad_norms(self) -> list[float | None]:
        """Per parameter group: the global L2 norm of its gradients (after unscaling, before
        clipping) at the last step, for groups with ``max_grad_norm``; None for the others."""
        return list(self._plan.grad_norms) if self.lowp else [None] * len(self.param_groups)

    @property
    def grad_norm(self) -> float | None:
        """The norm of ``grad_norms`` for an optimizer with one parameter group (None before
        the first step or without ``max_grad_norm``); with several groups read ``grad_norms``."""
        norms = self.grad_norms
        if len(norms) != 1:
            raise AttributeError(f"{type(self).__name__}.grad_norm: the optimizer has {len(norms)} parameter groups, "
                                 f"each clipped by its own norm; read opt.grad_norms")
        return norms[0]

    @property
    def master_params(self) -> list[np.ndarray | None]:
        """The float32 masters (``master_weights=True``), one entry per tensor in the flat order
        of ``params``: the array the optimizer updates, or None for a tensor without one."""
        return list(self._masters)

    @property
    def rounding(self) -> str:
        """How float16/bfloat16 stores round: "nearest" (even) or "stochastic" (settable)."""
        return self._rounding

    @rounding.setter
    def rounding(self, value):
        value = _checks.check_rounding(type(self).__name__, value)
        if value != "nearest" and not self.lowp:
            raise ValueError(f"{type(self).__name__}: rounding is an option of the mixed-precision optimizers")
        self._rounding = value
        self._plan.rounding = value

    @property
    def seed(self) -> int:
        """The key of stochastic rounding's random bits (with the step, tensor and element)."""
        return self._seed

    @property
    def state_dtype(self):
        """The dtype given as ``state_dtype`` (None: the default rule)."""
        return self._state_dtype

    # -- structure -----------------------------------------------------------------------------
    @property
    def params(self):
        """The parameter arrays being optimised (the caller's own arrays, updated in place), in
        the structure they were given: one array, a list, a dict, or a list of groups' params."""
        if self._kind == "single":
            return self._params[0]
        if self._kind == "dict":
            return dict(zip(self._keys or [], self._params))  # no keys: an empty dict of params
        if self._kind == "list":
            return list(self._params)
        return [g["params"] for g in self.param_groups]

    def _grads_list(self, grads):
        cls = type(self).__name__
        kind = self._kind
        if kind == "dict":
            if not isinstance(grads, Mapping):
                raise TypeError(f"{cls}.step: params is a dict, so grads must be a dict too, "
                                f"got {type(grads).__name__}")
            return [_lookup(cls, grads, k) for k in self._keys or []]
        if kind == "single" and _is_array(grads):
            return [grads]
        if kind != "groups":
            if not isinstance(grads, (list, tuple)):
                raise TypeError(f"{cls}.step: grads must be a list or tuple of numpy arrays, "
                                f"got {type(grads).__name__}")
            if len(grads) != len(self._params):
                raise ValueError(f"{cls}.step: grads has {len(grads)} arrays "
                                 f"but the optimizer has {len(self._params)} parameters")
            return grads
        # parameter groups: a list with one entry per group, or one dict keyed by name
        if isinstance(grads, Mapping):
            if any(n is None for n in self._group_names):
                raise TypeError(f"{cls}.step: grads is a dict, but not every parameter group has named params; "
                                f"pass a list with one list of gradients per group")
            seen: dict[str, int] = {}
            for g, names in enumerate(self._group_names):
                for name in names:
                    if name in seen:
                        raise ValueError(f"{cls}.step: grads is one dict, but parameter groups {seen[name]} and {g} "
                                         f"both have a parameter named {name!r}; pass a list with one dict of "
                                         f"gradients per group")
                    seen[name] = g
            return [_lookup(cls, grads, name) for names in self._group_names for name in names]
        if not isinstance(grads, (list, tuple)) or len(grads) != len(self.param_groups):
            got = f"{len(grads)} entries" if isinstance(grads, (list, tuple)) else type(grads).__name__
            raise TypeError(f"{cls}.step: with {len(self.param_groups)} parameter groups, "
                            f"grads must be a list with one "
                            f"entry per group (a list of arrays, or a dict for named params), got {got}")
        out: list[Any] = []
        for g, (entry, names) in enumerate(zip(grads, self._group_names)):
            n = sum(1 for gi in self._group_of if gi == g)
            if names is not None and isinstance(entry, Mapping):
                out.extend(_lookup(cls, entry, k) for k in names)
            elif _is_array(entry) and n == 1:
                out.append(entry)
            elif isinstance(entry, (list, tuple)) and len(entry) == n:
                out.extend(entry)
            else:
                got = f"{len(entry)} arrays" if isinstance(entry, (list, tuple)) else type(entry).__name__
                raise ValueError(f"{cls}.step: grads[{g}] must hold {n} gradients for parameter group {g}, got {got}")
        return out

    # -- the step ------------------------------------------------------------------------------
    def step(self, grads: Any, grad_scale: float | None = None) -> bool:
        """One update of every parameter of every group with ``grads`` (the structure of
        ``params``: one array, a list, a dict keyed like the params — ``dW1`` for ``W1`` is
        accepted, as the deep-learning course writes it — or, with parameter groups, a list
        with one entry per group, or one dict keyed by the params' names).

        Returns True when the update was applied. With ``nonfinite="skip"`` a step whose
        gradients hold a NaN or an infinity is not applied: parameters, state and the step
        count stay as they were, ``skipped_steps`` grows by one and False is returned. With
        ``nonfinite="raise"`` such a step raises FloatingPointError naming the tensor, again
        with nothing written. The default, ``"propagate"``, applies the update as NumPy and
        PyTorch do (NaN/Inf flow into the parameters and state) and costs nothing extra.

        A step is all or nothing: it raises before anything is written (TypeError/ValueError
        for a bad gradient, naming it), or it updates every tensor and the counts together;
        a KeyboardInterrupt arriving during the step is raised after it, never half-way.

        ``grad_scale`` (mixed-precision optimizers): the loss scale; every gradient is divided
        by it first (in its compute type), and the non-finite check (``nonfinite``) applies to
        the unscaled gradients. A group with ``max_grad_norm`` then has its gradients
        multiplied by ``min(1, max_grad_norm / (norm + 1e-6))``, ``norm`` the global L2 norm of
        the group's unscaled gradients (``grad_norms``), summed in an order that does not depend
        on the SIMD path or the threads (``simdoptim.reference.grad_norm``)."""
        g = grads if type(grads) is list and self._kind == "list" and len(grads) == len(self._params) \
            else self._grads_list(grads)
        if self._needs_sync:
            self._sync_all()
        if grad_scale is None:
            return self._plan.step(g, None)
        cls = type(self).__name__
        if not self.lowp:
            raise ValueError(f"{cls}.step: grad_scale is an option of the mixed-precision optimizers (Adam)")
        return self._plan.step(g, None, _checks.check_grad_scale(f"{cls}.step", grad_scale))

    # -- checkpoints -------------------------------------------------------------------------
    def hyperparams(self, group: int = 0) -> dict[str, Any]:
        """The hyper-parameters of a group as a plain dict (lr as a float: the rate of the next step)."""
        hp = self._evaluated(self.param_groups[group], self.t, self.epoch)
        return {k: hp.get(k) for k in self.group_keys()}

    def state_dict(self) -> dict[str, Any]:
        """A plain, versioned dict of numbers, strings and NumPy arrays (copies), the same for
        both backends: either backend loads the other's. It pickles as is; for ``np.savez``
        use :func:`simdoptim.checkpoint.flatten_state` or :func:`simdoptim.save_checkpoint`.

        Layout (version 2): ``step``, ``epoch``, ``skipped_steps``; ``param_groups``: one dict
        per group with ``params`` (the positions of its tensors in the flat tensor order),
        ``param_names`` (or None) and its hyper-parameters (``lr`` as the rate of the next
        step); ``state``: per buffer name, one array (or None) per tensor."""
        groups = []
        for g in range(len(self.param_groups)):
            members = [i for i, gi in enumerate(self._group_of) if gi == g]
            names = self._group_names[g]
            groups.append({"params": members, "param_names": None if names is None else list(names),
                           **self.hyperparams(g)})
        out = {
            "format": STATE_FORMAT,
            "version": STATE_VERSION,
            "algorithm": self.algorithm,
            "step": self.t,
            "epoch": self.epoch,
            "skipped_steps": self.skipped_steps,
            "param_groups": groups,
            "state": {k: [None if a is None else a.copy() for a in self._state[k]] for k in self.states
                      if any(a is not None for a in self._state[k])},
        }
        if self.lowp:
            # mixed precision: how stores round (the random stream continues from the step),
            # and the float32 masters, exactly
            out["rounding"] = self._rounding
            out["seed"] = self._seed
            if any(m is not None for m in self._masters):
                out["master_weights"] = [None if m is None else m.copy() for m in self._masters]
        return out

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restores what ``state_dict`` returned (from either backend; version 1 files, from
        before parameter groups, load into a one-group optimizer): state arrays, step, epoch
        and skip counters and every group's hyper-parameters (``lr`` too, unless the group's
        rate is a schedule: a schedule is code, not state, and continues from the restored
        counters).

        Everything is checked before anything is changed; refused, naming the field: a state
        for another algorithm, another group structure (number of groups, tensors per group,
        parameter names), other shapes or dtypes, other structural options (e.g. ``amsgrad``),
        out-of-range hyper-parameters (also: one that rounds to 0 in the parameters' dtype
        where it must be positive), counts that are not ints >= 0, and a state that no
        optimizer could have produced (step 0 with buffers that moved from their start)."""
        cls = type(self).__name__
        where = f"{cls}.load_state_dict"
        state = _upgrade_state(where, state, self.algorithm)
        step = _check_count(where, "step", state["step"])
        epoch = _check_count(where, "epoch", state.get("epoch", 0))
        skipped = _check_count(where, "skipped_steps", state.get("skipped_steps", 0))
        groups = state["param_groups"]
        if not isinstance(groups, (list, tuple)) or not all(isinstance(g, Mapping) for g in groups):
            raise TypeError(f"{where}: state['param_groups'] must be a list of dicts")
        if len(groups) != len(self.param_groups):
            raise ValueError(f"{where}: the state has {len(groups)} parameter group(s), this optimizer has "
                             f"{len(self.param_groups)}")
        staged_hp = []
        for g, sg in enumerate(groups):
            members = [i for i, gi in enumerate(self._group_of) if gi == g]
            given = sg.get("params")
            if given is not None and (not isinstance(given, (list, tuple)) or list(given) != members):
                raise ValueError(f"{where}: param_groups[{g}] of the state holds tensors {given!r}, "
                                 f"this optimizer's group {g} holds {members} (a different group structure)")
            names = sg.get("param_names")
            mine = self._group_names[g]
            if (names is None) != (mine is None) or (names is not None and list(names) != list(mine)):
                raise ValueError(f"{where}: param_groups[{g}] of the state is for parameters {names!r}, not {mine!r}")
            keys = set(sg) - {"params", "param_names"}
            group_keys = self.group_keys()
            # keys added to the format later (e.g. Adam's order, max_grad_norm) may be missing
            optional = dict(self.added_hyper, **({"max_grad_norm": None} if self.lowp else {}))
            if not (set(group_keys) - set(optional) <= keys <= set(group_keys)):
                raise ValueError(f"{where}: param_groups[{g}] has hyper-parameters {sorted(keys)}, expected "
                                 f"{sorted(group_keys)}")
            current = self.param_groups[g]
            hp = {}
            gw = f"{where}: param_groups[{g}]"
            for k, check in group_keys.items():
                if k == "lr" and callable(current["lr"]):
                    hp[k] = current["lr"]
                else:
                    hp[k] = check(gw, k, sg[k] if k in sg else optional[k])
            for j, name in enumerate(self.states):
                if members and self.uses_state(hp, j) and any(self._state[name][i] is None for i in members):
                    raise ValueError(f"{gw}: the state's options need the buffer {name!r}, which this optimizer's "
                                     f"group {g} does not keep; build the optimizer with the same options")
            self.check_group(gw, hp, self._dtypes(g))
            staged_hp.append(hp)
        arrays = state["state"]
        if not isinstance(arrays, Mapping):
            raise TypeError(f"{where}: state['state'] must be a dict of lists of arrays, got {type(arrays).__name__}")
        expected = [k for k in self.states if any(a is not None for a in self._state[k])]
        present = [k for k in arrays if arrays[k] is not None and any(a is not None for a in arrays[k])]
        if set(present) != set(expected):
            raise ValueError(f"{where}: state holds {sorted(present)}, expected {sorted(expected)} "
                             f"(were the options, e.g. amsgrad or centered, the same?)")
        staged = {}
        for k in expected:
            lst = arrays[k]
            if not isinstance(lst, (list, tuple)) or len(lst) != len(self._params):
                raise ValueError(f"{where}: state[{k!r}] must hold {len(self._params)} entries, one per tensor")
            for i, (a, mine) in enumerate(zip(lst, self._state[k])):
                lab = _checks.label(f"state[{k!r}]", i, self._keys)
                if mine is None:
                    if a is not None:
                        raise ValueError(f"{where}: {lab} holds an array, but its group does not use {k}")
                    continue
                if not isinstance(a, np.ndarray) or a.shape != mine.shape or a.dtype != mine.dtype:
                    got = f"{a.dtype} {a.shape}" if isinstance(a, np.ndarray) else type(a).__name__
                    raise ValueError(f"{where}: {lab} is {got}, expected {mine.dtype} {mine.shape}")
                if step == 0:
                    start = self.initial_state(staged_hp[self._group_of[i]], self.states.index(k))
                    if a.size and not np.all(a == start):
                        raise ValueError(
                            f"{where}: step is 0 but {lab} holds values other than its start value {start!r}; no "
                            f"optimizer produces such a state (a step count of 0 means no update was applied)"
                        )
            staged[k] = lst
        masters = state.get("master_weights")
        mine = getattr(self, "_masters", [None] * len(self._params))
        if (masters is None) != all(m is None for m in mine):
            theirs, ours = ("has no", "keeps them") if masters is None else ("has", "keeps none")
            raise ValueError(f"{where}: the state {theirs} master weights but this optimizer {ours}; build it "
                             f"with the master_weights option the state was saved with")
        if masters is not None:
            if not isinstance(masters, (list, tuple)) or len(masters) != len(self._params):
                raise ValueError(f"{where}: state['master_weights'] must hold {len(self._params)} entries, "
                                 f"one per tensor")
            for i, (a, m) in enumerate(zip(masters, mine)):
                lab = _checks.label("state['master_weights']", i, self._keys)
                if (a is None) != (m is None) or (m is not None and (
                        not isinstance(a, np.ndarray) or a.shape != m.shape or a.dtype != m.dtype)):
                    got = f"{a.dtype} {a.shape}" if isinstance(a, np.ndarray) else type(a).__name__
                    exp = "None" if m is None else f"{m.dtype} {m.shape}"
                    raise ValueError(f"{where}: {lab} is {got}, expected {exp}")
        rounding = _checks.check_rounding(where, state.get("rounding", getattr(self, "_rounding", "nearest")))
        seed = _checks.check_seed(where, state.get("seed", getattr(self, "_seed", 0)))
        if rounding != "nearest" and not self.lowp:
            raise ValueError(f"{where}: the state rounds stochastically; {cls} has no low-precision stores")
        # commit: nothing below can fail. Copy into the existing buffers (keeps their layout,
        # which the kernels require to match the parameters').
        for k, lst in staged.items():
            for dst, src in zip(self._state[k], lst):
                if dst is not None:
                    np.copyto(dst, src)
        if masters is not None:
            for dst, src in zip(mine, masters):
                if dst is not None:
                    np.copyto(dst, src)
        if self.lowp:
            self._rounding, self._seed = rounding, seed
            self._plan.rounding, self._plan.seed = rounding, seed
        for g, hp in enumerate(staged_hp):
            dict.update(self.param_groups[g], hp)
            self.param_groups[g]._version += 1
        self._needs_sync = True
        self.epoch = epoch
        self._plan.t, self._plan.skipped_steps = step, skipped

    # -- copies ----------------------------------------------------------------------------------
    def __copy__(self):
        raise TypeError(
            f"copy.copy({type(self).__name__}) would share the parameter and state arrays with the original, so "
            f"stepping either would corrupt the other; use copy.deepcopy(opt) for an independent optimizer (with its "
            f"own copies of the parameters) or opt.state_dict() to save the state"
        )

    def __getstate__(self):
        d = dict(self.__dict__)
        d["_plan"] = (self._plan.t, self._plan.skipped_steps)
        for k in ("_synced", "_lr_values"):
            d.pop(k, None)
        d["param_groups"] = [(dict(g), g._version) for g in self.param_groups]
        return d

    def __setstate__(self, d):
        counts = d.pop("_plan")
        groups = d.pop("param_groups")
        self.__dict__.update(d)
        self.param_groups = []
        for g, (items, version) in enumerate(groups):
            group = ParamGroup(self, g, items)
            group._version = version
            self.param_groups.append(group)
        # the groups' params must be the very arrays of the flat list (deepcopy memo keeps them)
        self._build_plan()
        self._plan.t, self._plan.skipped_steps = counts

    def __repr__(self):
        groups = len(self.param_groups)
        if groups == 1:
            hp = ", ".join(f"{k}={v!r}" for k, v in self.hyperparams().items())
        else:
            hp = f"{groups} groups"
        return f"{type(self).__name__}({len(self._params)} tensors, t={self.t}, {hp})"


def _lookup(cls, grads, k):
    if k in grads:
        if "d" + k in grads:
            raise ValueError(f"{cls}.step: grads has both {k!r} and {'d' + k!r}; give the gradient of parameter "
                             f"{k!r} under one of them")
        return grads[k]
    if "d" + k in grads:
        return grads["d" + k]
    raise KeyError(f"{cls}.step: grads has no entry for parameter {k!r} (expected key {k!r} or {'d' + k!r})")


def _check_header(where, state, algorithm):
    if not isinstance(state, Mapping):
        raise TypeError(f"{where}: state must be a dict (from state_dict() or load_checkpoint()), "
                        f"got {type(state).__name__}")
    for key in ("format", "version", "algorithm", "step", "state"):
        if key not in state:
            raise KeyError(f"{where}: state has no {key!r} entry; is it a simdoptim state_dict?")
    if state["format"] != STATE_FORMAT or state["version"] not in (1, STATE_VERSION):
        raise ValueError(
            f"{where}: unsupported state format {state['format']!r} version {state['version']!r} "
            f"(expected {STATE_FORMAT!r} version 1 or {STATE_VERSION})"
        )
    if state["algorithm"] != algorithm:
        raise ValueError(f"{where}: state is for {state['algorithm']!r}, not {algorithm!r}")


def _upgrade_state(where, state, algorithm):
    """A version-1 state (one group: ``hyperparams``, ``param_names``) in version 2's layout."""
    _check_header(where, state, algorithm)
    if state["version"] == STATE_VERSION:
        if "param_groups" not in state:
            raise KeyError(f"{where}: state has no 'param_groups' entry")
        return state
    hp = state.get("hyperparams")
    if not isinstance(hp, Mapping):
        raise TypeError(f"{where}: state['hyperparams'] must be a dict, got {type(hp).__name__}")
    arrays = state["state"]
    n = None
    if isinstance(arrays, Mapping):
        for lst in arrays.values():
            if isinstance(lst, (list, tuple)):
                n = len(lst)
                break
    names = state.get("param_names")
    if n is None:
        n = len(names) if isinstance(names, (list, tuple)) else None
    return {
        **state,
        "version": STATE_VERSION,
        "param_groups": [{"params": None if n is None else list(range(n)), "param_names": names, **hp}],
    }


def _check_count(where, name, x):
    if isinstance(x, bool) or not isinstance(x, numbers.Integral) or x < 0 or int(x) > _MAX_STEP:
        raise ValueError(f"{where}: {name} must be an int between 0 and 2**63 - 1, got {x!r}")
    return int(x)


def bias_correction(beta, t):
    """``1 - beta**t`` in float64, the way every backend computes it."""
    return 1.0 - beta ** t
