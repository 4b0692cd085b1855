"""The torch.optim adapter: one base class over simdoptim's optimizer core, one subclass per algorithm.

How a step runs (``_SimdOptimizer.step``):

1. the parameters whose ``.grad`` is not None are collected, group by group;
2. their *plan* is looked up: a ``simdoptim._core.Plan`` that bound, once, NumPy views of
   the parameters and of their state tensors (``t.detach().numpy()`` shares a CPU tensor's
   memory, so the kernels write the tensors themselves). A plan is rebuilt only when the
   set of parameters with gradients changes, a parameter's memory moves (``p.data = ...``),
   the state is loaded, a group is added, or an option that changes the state buffers
   (``amsgrad``, ``centered``, ``momentum`` on/off) changes;
3. each group's hyper-parameters are handed to the plan when they changed (an lr scheduler
   changes ``lr`` every step: one small call);
4. the gradients become NumPy views (no copy) and ``plan.step`` updates every tensor of every
   group in one compiled call with the GIL released; the per-parameter ``step`` counts
   (torch's state format) are views of one small tensor per plan, advanced by one NumPy add.

Parameters whose step counts differ (one that had no gradient for a while) are stepped in
one call per distinct count, since Adam's bias corrections and Adagrad's rate decay depend on it.
"""

from __future__ import annotations

import math
import os
from typing import Any

import torch
from torch.optim import optimizer as _optimizer

from .. import _core, _threads

__all__ = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "default_num_threads"]

#: The order of Adam's arithmetic that simdoptim.torch.Adam/AdamW use: "pytorch" (SPEC
#: section 8: torch's lerp for m, ``step_size = lr / (1 - beta1^t)`` and ``1 / sqrt(1 - beta2^t)``
#: in float64, one division per element), the order of torch.optim.Adam's fused and foreach
#: implementations; "literal" is SPEC section 5 (``m_hat / (sqrt(v_hat) + eps)``, three
#: divisions), the NumPy API's default.
ADAM_ORDER = "pytorch"
_ADAM_ORDER_FIELDS = {"literal": (0.0,), "pytorch": (1.0,)}

_LOW_PRECISION = (torch.float16, torch.bfloat16)


def _bfloat16():
    try:
        import ml_dtypes
    except ImportError:  # pragma: no cover - the torch extra installs it
        return None
    return ml_dtypes.bfloat16


def _array(t):
    """A NumPy view of a CPU tensor's memory (no copy): bfloat16 as ``ml_dtypes.bfloat16``."""
    if t.dtype == torch.bfloat16:
        return t.detach().view(torch.int16).numpy().view(_bfloat16())
    return t.detach().numpy()


def default_num_threads():
    """The kernel threads one process should use: the CPUs this process may run on divided by
    the processes sharing this machine (``LOCAL_WORLD_SIZE``, set by ``torchrun``; 1 otherwise),
    at least 1. ``torchrun`` sets ``OMP_NUM_THREADS=1`` for torch's own thread pool; the
    optimizer step runs while that pool is idle, so it can use the rank's share of the cores."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    try:
        local = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    except ValueError:
        local = 1
    return max(1, cpus // max(1, local))


_THREADS_CONFIGURED = False


def _configure_threads():
    """Once per process, at the first optimizer: under torchrun (LOCAL_WORLD_SIZE set) use
    default_num_threads(), unless the user chose a count (simdoptim.set_num_threads, or
    SIMDOPTIM_NUM_THREADS, read at import); elsewhere keep the runtime's default
    (OMP_NUM_THREADS or every CPU this process may run on)."""
    global _THREADS_CONFIGURED
    if _THREADS_CONFIGURED:
        return
    _THREADS_CONFIGURED = True
    if "LOCAL_WORLD_SIZE" in os.environ and not _threads.chosen():
        _core.set_num_threads(default_num_threads())


def _scalar_dtype():
    # torch.optim keeps "step" in this dtype (torch.optim.optimizer._get_scalar_dtype)
    return torch.float64 if torch.get_default_dtype() == torch.float64 else torch.float32


def _number(x):
    return float(x) if isinstance(x, torch.Tensor) else x


class _Part:
    """One compiled call of a step: a core plan over some of the parameters, all with the
    same step count (and, for SGD with dampening, all first steps or none)."""

    __slots__ = ("core", "index", "local_groups", "global_groups", "values", "steps_t", "steps_np", "count", "first")

    def __init__(self, core, index, global_groups, steps_t, count, first):
        self.core = core
        self.index = index                  # positions in the step's parameter list
        self.global_groups = global_groups  # param_groups index of each local group
        self.values = [None] * len(global_groups)
        self.steps_t = steps_t
        self.steps_np = None if steps_t is None else steps_t.numpy()
        self.count = count
        self.first = first


class _Entry:
    """What a step needs for one set of parameters with gradients: their memory addresses (to
    notice a moved parameter) and the parts (usually one)."""

    __slots__ = ("params", "ptrs", "parts", "structure", "transient")

    def __init__(self, params, ptrs, parts, structure, transient):
        self.params, self.ptrs, self.parts, self.structure, self.transient = params, ptrs, parts, structure, transient


def _label(gi, j):
    return f"param_groups[{gi}]['params'][{j}]"


class _SimdOptimizer(torch.optim.Optimizer):
    """Base of simdoptim.torch's optimizers (see the module docstring). Subclasses describe
    their algorithm: ``_op(group)`` (the core op), ``_state_keys`` (torch's name of each of the
    op's state buffers, per op), ``_uses(group, key)``, ``_values(group, first)`` (the op's
    field values), ``_initial(group, key)``, ``_has_step`` (torch's state keeps "step") and
    ``_by_step`` (the update depends on it)."""

    _has_step = True
    _by_step = False
    #: the algorithm's kernels take float16/bfloat16 tensors and unscale gradients in the step
    _low_precision = True
    _state_keys: dict = {}
    #: options that decide which state buffers a group uses or which op runs
    _structural: tuple = ()

    def __init__(self, params, defaults):
        self._plans: dict[tuple, _Entry] = {}
        self._active: _Entry | None = None
        super().__init__(params, defaults)
        _configure_threads()
        # torch.amp.GradScaler: with this flag it sets ``grad_scale``/``found_inf`` on the
        # optimizer and calls step() directly; the step unscales and skips (torch's fused protocol)
        self._step_supports_amp_scaling = True

    # -- the algorithm (each subclass defines these) --------------------------------------------
    def _op(self, group: dict) -> str:
        raise NotImplementedError

    def _uses(self, group: dict, key: str) -> bool:
        raise NotImplementedError

    def _initial(self, group: dict, key: str) -> float:
        raise NotImplementedError

    def _first_matters(self, group: dict) -> bool:
        raise NotImplementedError

    def _values(self, group: dict, first: bool) -> tuple:
        raise NotImplementedError

    # -- structure ---------------------------------------------------------------------------
    def add_param_group(self, param_group):
        name = type(self).__name__
        params = param_group["params"] if isinstance(param_group, dict) else param_group
        items = [params] if isinstance(params, torch.Tensor) else list(params)
        for j, p in enumerate(items):
            where = f"simdoptim.torch.{name}: parameter {j} of group {len(self.param_groups)}"
            if not isinstance(p, torch.Tensor):
                continue  # torch's own check names it
            if p.dtype in _LOW_PRECISION and not self._low_precision:
                raise TypeError(f"{where} has dtype {p.dtype}; simdoptim.torch.{name} updates float32 and float64 "
                                f"tensors (SGD, Adam, AdamW and RMSprop also float16 and bfloat16 ones)")
            if p.dtype == torch.bfloat16 and _bfloat16() is None:
                raise TypeError(f"{where} has dtype torch.bfloat16, which needs the ml_dtypes package "
                                f"(pip install ml_dtypes, or simdoptim[torch])")
            if p.dtype not in (torch.float32, torch.float64) + _LOW_PRECISION:
                raise TypeError(f"{where} has dtype {p.dtype}; simdoptim.torch optimizes float32, float64, float16 "
                                f"and bfloat16 tensors")
            if p.device.type != "cpu":
                raise ValueError(f"{where} is on {p.device}; simdoptim.torch updates CPU tensors (use torch.optim's "
                                 f"fused optimizers on {p.device.type})")
            if p.layout != torch.strided:
                raise ValueError(f"{where} has layout {p.layout}; only dense (strided) parameters are supported")
            a = _array(p)
            if not (a.flags.c_contiguous or a.flags.f_contiguous):
                raise ValueError(f"{where} is not contiguous (shape {tuple(p.shape)}, strides {p.stride()}); the "
                                 f"kernels update parameters in place, so make it contiguous before building the "
                                 f"optimizer (e.g. p.data = p.data.contiguous())")
        super().add_param_group(param_group)
        self._invalidate()

    def _invalidate(self):
        self._plans = {}
        self._active = None

    def __setstate__(self, state):
        # torch calls this from load_state_dict (and on unpickling/deepcopy)
        super().__setstate__(state)
        self._plans = {}
        self._active = None
        self._step_supports_amp_scaling = True
        self._normalize_state()

    def _normalize_state(self):
        """Loaded state tensors become usable by the kernels: the parameter's dtype, shape and
        memory layout, contiguous (a copy only where a loaded tensor is not already so)."""
        for group in self.param_groups:
            for p in group["params"]:
                st = self.state.get(p)
                if not st:
                    continue
                for key, t in list(st.items()):
                    if key == "step" or not isinstance(t, torch.Tensor):
                        continue
                    if t.shape != p.shape:
                        raise ValueError(f"simdoptim.torch.{type(self).__name__}.load_state_dict: state {key!r} has "
                                         f"shape {tuple(t.shape)}, its parameter {tuple(p.shape)}")
                    if t.dtype != p.dtype or t.device != p.device or t.stride() != p.stride() or t.is_sparse:
                        st[key] = torch.empty_like(p).copy_(t.to_dense() if t.is_sparse else t)

    # -- hyper-parameters ----------------------------------------------------------------------
    def _check_values(self, gi, group):
        """Checks a group's values when they change (torch checks the constructor's only)."""
        lr = _number(group["lr"])
        if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not (math.isfinite(lr) and lr >= 0):
            raise ValueError(f"simdoptim.torch.{type(self).__name__}: param_groups[{gi}]['lr'] must be a finite "
                             f"number >= 0, got {group['lr']!r}")

    # -- the step ------------------------------------------------------------------------------
    def _collect(self):
        params, grads, gids = [], [], []
        for gi, group in enumerate(self.param_groups):
            for p in group["params"]:
                g = p.grad
                if g is not None:
                    params.append(p)
                    grads.append(g)
                    gids.append(gi)
        return params, grads, gids

    def _structure(self):
        return tuple(tuple(bool(_number(g[k])) for k in self._structural) for g in self.param_groups)

    def _new_state(self, p, group, key):
        init = self._initial(group, key)
        t = torch.zeros_like(p, memory_format=torch.preserve_format)
        if init != 0.0:
            t.fill_(init)
        return t

    def _build(self, params, gids):
        """The entry of a set of parameters: state created where missing (torch creates it at
        a parameter's first step, zeros; Adagrad's sums at construction), parts by step count."""
        structure = self._structure()
        sdtype = _scalar_dtype()
        position = {id(p): j for group in self.param_groups for j, p in enumerate(group["params"])}
        counts, firsts = [], []
        for p, gi in zip(params, gids):
            group = self.param_groups[gi]
            st = self.state[p]
            first = not st or any(k not in st for k in self._keys_used(group))
            firsts.append(first and self._first_matters(group))
            for k in self._keys_used(group):
                if k not in st:
                    st[k] = self._new_state(p, group, k)
            if self._has_step:
                if "step" not in st:
                    st["step"] = torch.tensor(0.0, dtype=sdtype)
                counts.append(int(float(st["step"])))
            else:
                counts.append(0)
        # one part per (op, step count if it matters, first step if it matters)
        keys: dict[tuple, list[int]] = {}
        for i, gi in enumerate(gids):
            op = self._op(self.param_groups[gi])
            k = (op, counts[i] if self._by_step else 0, firsts[i])
            keys.setdefault(k, []).append(i)
        parts = []
        for (op, _, first), index in keys.items():
            gl = sorted({gids[i] for i in index})
            local = {g: n for n, g in enumerate(gl)}
            sub = [params[i] for i in index]
            arrays = [_array(p) for p in sub]
            names = self._state_keys[op]
            states: list[Any] = []
            for k in names:
                if k is None or not any(k in self.state[p] and self._uses(self.param_groups[gids[i]], k)
                                        for i, p in zip(index, sub)):
                    states.append(None)
                    continue
                states.append([_array(self.state[p][k]) if self._uses(self.param_groups[gids[i]], k) else None
                               for i, p in zip(index, sub)])
            labels = [_label(gids[i], position[id(params[i])]) for i in index]
            core = _core.Plan(f"simdoptim.torch.{type(self).__name__}.step", op, arrays, states,
                              [local[gids[i]] for i in index], len(gl), labels)
            steps_t = torch.zeros(len(index), dtype=sdtype) if self._has_step else None
            parts.append(_Part(core, index, gl, steps_t, counts[index[0]], first))
        transient = any(part.first for part in parts)
        return _Entry(params, [p.data_ptr() for p in params], parts, structure, transient)

    def _keys_used(self, group):
        return [k for k in self._state_keys[self._op(group)] if k is not None and self._uses(group, k)]

    def _activate(self, entry):
        """Points every parameter's state["step"] at this entry's step buffers (the current
        counts copied in), so one NumPy add advances them all."""
        for part in entry.parts:
            if part.steps_t is None:
                continue
            for n, i in enumerate(part.index):
                st = self.state[entry.params[i]]
                part.steps_np[n] = float(st["step"])
                st["step"] = part.steps_t[n]
            part.count = int(part.steps_np[0]) if len(part.index) else 0
        self._active = entry

    def _grad_arrays(self, params, grads, gids):
        try:
            return [g.numpy() if g.dtype != torch.bfloat16 else _array(g) for g in grads]
        except (TypeError, RuntimeError):
            pass
        name = type(self).__name__
        out = []
        for p, g, gi in zip(params, grads, gids):
            j = next(j for j, q in enumerate(self.param_groups[gi]["params"]) if q is p)
            where = f"simdoptim.torch.{name}.step: the gradient of {_label(gi, j)}"
            if g.is_sparse or g.layout != torch.strided:
                raise RuntimeError(f"{where} is sparse ({g.layout}); simdoptim.torch supports dense gradients only "
                                   f"(use torch.optim.{name} or torch.optim.SparseAdam for sparse ones)")
            if g.device.type != "cpu":
                raise RuntimeError(f"{where} is on {g.device}; simdoptim.torch updates CPU tensors")
            if g.dtype != p.dtype:
                raise TypeError(f"{where} has dtype {g.dtype}, the parameter {p.dtype}")
            out.append(_array(g.detach().resolve_conj().resolve_neg()))
        return out

    def _sync(self, entry):
        """Hands changed group values to the parts; False when an option changed which state
        buffers or which op the groups use (the entry must be rebuilt first)."""
        for part in entry.parts:
            for n, gi in enumerate(part.global_groups):
                group = self.param_groups[gi]
                values = self._values(group, part.first)
                if values != part.values[n]:
                    if part.values[n] is not None and self._structure() != entry.structure:
                        return False
                    self._check_values(gi, group)
                    part.core.set_hyper(n, values)
                    part.values[n] = values
        return True

    def step(self, *args, **kwargs):
        """One optimizer step over every parameter with a gradient, in place: ``step(closure=None)``.

        Args:
            closure: optional callable that re-evaluates the model and returns the loss
                (called with gradients enabled, before the update).

        Returns the closure's loss, or None. Under ``torch.amp.GradScaler`` (which sets
        ``grad_scale`` and ``found_inf`` on the optimizer) a step with non-finite gradients
        changes nothing, and otherwise the gradients are divided by the scale first, in place,
        as torch's fused optimizers do.
        """
        # torch.optim wraps step() in a profiler range and its hooks; that wrapper costs more
        # than the whole update of a small model, so this step is marked hooked (torch leaves
        # it alone) and does the same only when a hook is registered or the profiler is on.
        if _optimizer._global_optimizer_pre_hooks or _optimizer._global_optimizer_post_hooks or \
                self._optimizer_step_pre_hooks or self._optimizer_step_post_hooks or torch.autograd._profiler_enabled():
            return self._hooked_step(self, *args, **kwargs)
        return self._step(*args, **kwargs)

    step.hooked = True  # type: ignore[attr-defined]

    @staticmethod
    def _hooked_step(*args, **kwargs):
        self = args[0]
        with torch.autograd.profiler.record_function(f"Optimizer.step#{type(self).__name__}.step"):
            pre_hooks = (*_optimizer._global_optimizer_pre_hooks.values(), *self._optimizer_step_pre_hooks.values())
            for pre_hook in pre_hooks:
                result = pre_hook(self, args, kwargs)
                if result is not None:
                    if isinstance(result, tuple) and len(result) == 2:
                        args, kwargs = result
                    else:
                        raise RuntimeError(f"{pre_hook} must return None or a tuple of (new_args, new_kwargs), but "
                                           f"got {result}.")
            out = self._step(*args[1:], **kwargs)
            self._optimizer_step_code()
            post_hooks = (*self._optimizer_step_post_hooks.values(), *_optimizer._global_optimizer_post_hooks.values())
            for post_hook in post_hooks:
                post_hook(self, args, kwargs)
            return out

    def _step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        found_inf = getattr(self, "found_inf", None)
        if found_inf is not None and float(found_inf) != 0.0:
            return loss  # GradScaler found inf/NaN: the step is skipped, nothing changes
        params, grads, gids = self._collect()
        if not params:
            return loss
        key = tuple(map(id, params))
        found = self._plans.get(key)
        if found is not None and found.ptrs == [p.data_ptr() for p in params] and self._sync(found):
            entry = found
        else:
            entry = self._build(params, gids)
            self._plans[key] = entry
            self._active = None
            self._sync(entry)
        if self._active is not entry:
            self._activate(entry)
        arrays = self._grad_arrays(params, grads, gids)
        # Unscaling (GradScaler): the kernels divide each gradient by the scale as they read it,
        # in the step's own pass (the gradients in memory keep the scaled values); Adagrad's
        # kernel has no such prologue, so for it one in-place division of every gradient first.
        grad_scale = getattr(self, "grad_scale", None)
        fused_scale = None
        if grad_scale is not None:
            if self._low_precision:
                fused_scale = float(grad_scale)
            else:
                torch._foreach_div_(grads, grad_scale)
        negated = self._negate(grads, gids)
        try:
            single = len(entry.parts) == 1
            for part in entry.parts:
                core = part.core
                core.t = part.count
                core.step(arrays if single else [arrays[i] for i in part.index], grad_scale=fused_scale)
                part.count += 1
                if part.steps_np is not None:
                    part.steps_np += 1
        finally:
            if negated:
                torch._foreach_neg_(negated)
        if entry.transient:
            self._plans.pop(key, None)
            self._active = None
        return loss

    def _negate(self, grads, gids):
        """maximize for the ops that have no such field: the gradients are negated in place
        before the step and restored after it (negation is exact, so they come back bit for bit)."""
        if not self._adapter_maximize or not any(group.get("maximize", False) for group in self.param_groups):
            return None
        neg = [g for g, gi in zip(grads, gids) if self.param_groups[gi].get("maximize", False)]
        if neg:
            torch._foreach_neg_(neg)
        return neg or None

    _adapter_maximize = True


def _check(cond, msg):
    if not cond:
        raise ValueError(msg)


def _unsupported(name, capturable=False, differentiable=False):
    if capturable:
        raise ValueError(f"simdoptim.torch.{name}: capturable=True (CUDA graphs) is not supported: it updates CPU "
                         f"tensors")
    if differentiable:
        raise ValueError(f"simdoptim.torch.{name}: differentiable=True is not supported: the kernels do not record "
                         f"autograd history")


# ---------------------------------------------------------------------------------------
# The algorithms


class SGD(_SimdOptimizer):
    r"""Stochastic gradient descent, optionally with momentum — ``torch.optim.SGD`` on simdoptim's kernels.

    .. math::  g \leftarrow -g \ (\text{maximize}),\quad g \leftarrow g + \lambda w,\quad
               b \leftarrow \mu b + (1 - \tau) g \ (b = g \text{ at the first step}),\quad
               d = g + \mu b \ (\text{nesterov}) \text{ or } b,\quad w \leftarrow w - \alpha d

    Args (torch's names and defaults): params (an iterable of tensors or of parameter groups,
    float32/float64/float16/bfloat16 CPU tensors); lr (1e-3, a float or a 0-d tensor); momentum :math:`\mu` (0);
    dampening :math:`\tau` (0); weight_decay :math:`\lambda` (0); nesterov (False; needs momentum > 0
    and dampening 0); maximize (False); foreach, fused (accepted and ignored: every step is one
    compiled call); differentiable (must be False).

    State per parameter (torch's format): ``momentum_buffer`` when momentum > 0.

    Raises: ValueError for out-of-range values (as torch), non-CPU or non-contiguous
    parameters; TypeError for float16/bfloat16 or integer parameters.

    Source: ``torch.optim.SGD`` (Sutskever et al. 2013 for the momentum form).
    """

    _has_step = False
    _state_keys = {"gd": (), "momentum": ("momentum_buffer",)}
    _structural = ("momentum",)

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *, maximize=False,
                 foreach=None, differentiable=False, fused=None):
        _check(_number(lr) >= 0.0, f"Invalid learning rate: {lr}")
        _check(momentum >= 0.0, f"Invalid momentum value: {momentum}")
        _check(weight_decay >= 0.0, f"Invalid weight_decay value: {weight_decay}")
        _check(not nesterov or (momentum > 0 and dampening == 0),
               "Nesterov momentum requires a momentum and zero dampening")
        _unsupported("SGD", differentiable=differentiable)
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov,
                        maximize=maximize, foreach=foreach, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)

    def _op(self, group):
        return "momentum" if group["momentum"] != 0 else "gd"

    def _uses(self, group, key):
        return True

    def _initial(self, group, key):
        return 0.0

    def _first_matters(self, group):
        # a fresh zero buffer gives torch's first step b = g exactly when 1 - dampening is 1
        return group["momentum"] != 0 and group["dampening"] != 0

    def _values(self, group, first):
        lr, wd = float(_number(group["lr"])), float(group["weight_decay"])
        if group["momentum"] == 0:
            return (lr, wd)
        # momentum op: lr, beta, sum_form, nesterov, weight_decay, dampening
        return (lr, float(group["momentum"]), 1.0, float(bool(group["nesterov"])), wd,
                0.0 if first else float(group["dampening"]))


class Adam(_SimdOptimizer):
    r"""Adam (and AdamW with ``decoupled_weight_decay=True``) — ``torch.optim.Adam`` on simdoptim's kernels.

    .. math::  m \leftarrow \beta_1 m + (1-\beta_1) g,\quad v \leftarrow \beta_2 v + (1-\beta_2) g^2,\quad
               w \leftarrow w - \alpha\, \frac{m / (1-\beta_1^t)}{\sqrt{v / (1-\beta_2^t)} + \epsilon}

    with ``g`` negated first if ``maximize``; ``weight_decay`` :math:`\lambda` added to g (L2), or
    with ``decoupled_weight_decay`` applied as ``w <- w (1 - lr lambda)`` before the update
    (AdamW); AMSGrad keeps :math:`v_{max} = \max(v_{max}, v)` in place of v. ``t`` is the
    parameter's own step count. The arithmetic is in the order ``ADAM_ORDER`` names (see the
    module); results agree with torch.optim to rounding (the bound is derived in the tests).

    Args (torch's names and defaults): params; lr (1e-3, float or 0-d tensor); betas ((0.9,
    0.999)); eps (1e-8); weight_decay (0); amsgrad (False); foreach, fused (accepted, ignored);
    maximize (False); capturable, differentiable (must be False); decoupled_weight_decay (False).

    State per parameter (torch's format): ``step`` (a 0-d float tensor), ``exp_avg``,
    ``exp_avg_sq`` and, with amsgrad, ``max_exp_avg_sq``; ``state_dict()`` loads into
    ``torch.optim.Adam`` and back.

    Raises: as :class:`SGD`.

    Sources: Kingma & Ba 2015; Loshchilov & Hutter 2019 (AdamW); Reddi et al. 2018 (AMSGrad);
    ``torch.optim.Adam``.
    """

    _by_step = True
    _state_keys = {"adam": ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")}
    _structural = ("amsgrad",)

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *, foreach=None,
                 maximize=False, capturable=False, differentiable=False, fused=None, decoupled_weight_decay=False):
        name = type(self).__name__
        _check(_number(lr) >= 0.0, f"Invalid learning rate: {lr}")
        _check(eps >= 0.0, f"Invalid epsilon value: {eps}")
        _check(0.0 <= _number(betas[0]) < 1.0, f"Invalid beta parameter at index 0: {betas[0]}")
        _check(0.0 <= _number(betas[1]) < 1.0, f"Invalid beta parameter at index 1: {betas[1]}")
        _check(weight_decay >= 0.0, f"Invalid weight_decay value: {weight_decay}")
        _unsupported(name, capturable, differentiable)
        defaults = dict(lr=lr, betas=tuple(_number(b) for b in betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize, foreach=foreach, capturable=capturable,
                        differentiable=differentiable, fused=fused, decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:  # as torch.optim.Adam: older states lack some keys
            group.setdefault("amsgrad", False)
            group.setdefault("maximize", False)
            group.setdefault("decoupled_weight_decay", False)

    def _op(self, group):
        return "adam"

    def _uses(self, group, key):
        return key != "max_exp_avg_sq" or bool(group["amsgrad"])

    def _initial(self, group, key):
        return 0.0

    def _first_matters(self, group):
        return False

    def _values(self, group, first):
        b1, b2 = group["betas"]
        # adam op: lr, beta1, beta2, eps, eps_root, weight_decay, decoupled, amsgrad (+ the order's field)
        return (float(_number(group["lr"])), float(_number(b1)), float(_number(b2)), float(group["eps"]), 0.0,
                float(group["weight_decay"]), float(bool(group["decoupled_weight_decay"])),
                float(bool(group["amsgrad"]))) + _ADAM_ORDER_FIELDS[ADAM_ORDER]

    def _check_values(self, gi, group):
        super()._check_values(gi, group)
        b1, b2 = group["betas"]
        if not (0.0 <= _number(b1) < 1.0 and 0.0 <= _number(b2) < 1.0):
            raise ValueError(f"simdoptim.torch.{type(self).__name__}: param_groups[{gi}]['betas'] must be in [0, 1), "
                             f"got {group['betas']!r}")


class AdamW(Adam):
    r"""AdamW — ``torch.optim.AdamW`` on simdoptim's kernels: :class:`Adam` with decoupled weight
    decay, ``w <- w (1 - lr * weight_decay)`` before the Adam update (Loshchilov & Hutter 2019).

    Args: as ``torch.optim.AdamW`` (weight_decay default 1e-2; otherwise as :class:`Adam`).
    State and raises: as :class:`Adam`.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False, foreach=None, capturable=False, differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True  # as torch.optim.AdamW


class RMSprop(_SimdOptimizer):
    r"""RMSprop — ``torch.optim.RMSprop`` on simdoptim's kernels.

    .. math::  s \leftarrow \alpha s + (1-\alpha) g^2,\quad
               \bar s = s - a^2 \ (\text{centered: } a \leftarrow \alpha a + (1-\alpha) g) \text{ or } s,\quad
               w \leftarrow w - lr\, \frac{g}{\sqrt{\bar s} + \epsilon}

    (momentum > 0: :math:`b \leftarrow \mu b + g / (\sqrt{\bar s} + \epsilon)`, :math:`w \leftarrow
    w - lr\, b`); g negated first if ``maximize``, then ``weight_decay * w`` added.

    Args (torch's names and defaults): params; lr (1e-2); alpha (0.99); eps (1e-8);
    weight_decay (0); momentum (0); centered (False); capturable, differentiable (must be
    False); foreach (ignored); maximize (False).

    State per parameter (torch's format): ``step``, ``square_avg``, ``momentum_buffer``
    (momentum > 0), ``grad_avg`` (centered).

    Source: Hinton's lecture 6e; Graves 2013 (centered); ``torch.optim.RMSprop``.
    """

    _state_keys = {"rmsprop": ("square_avg", "grad_avg", "momentum_buffer")}
    _structural = ("centered", "momentum")

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        _check(_number(lr) >= 0.0, f"Invalid learning rate: {lr}")
        _check(eps >= 0.0, f"Invalid epsilon value: {eps}")
        _check(momentum >= 0.0, f"Invalid momentum value: {momentum}")
        _check(weight_decay >= 0.0, f"Invalid weight_decay value: {weight_decay}")
        _check(0.0 <= alpha, f"Invalid alpha value: {alpha}")
        _check(alpha < 1.0, f"simdoptim.torch.RMSprop: alpha must be < 1, got {alpha}")
        _check(momentum < 1.0, f"simdoptim.torch.RMSprop: momentum must be < 1, got {momentum}")
        _unsupported("RMSprop", capturable, differentiable)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered, weight_decay=weight_decay,
                        capturable=capturable, foreach=foreach, maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    def _op(self, group):
        return "rmsprop"

    def _uses(self, group, key):
        if key == "grad_avg":
            return bool(group["centered"])
        if key == "momentum_buffer":
            return group["momentum"] > 0
        return True

    def _initial(self, group, key):
        return 0.0

    def _first_matters(self, group):
        return False

    def _values(self, group, first):
        # rmsprop op: lr, beta2, eps, eps_root, weight_decay, momentum, centered
        return (float(_number(group["lr"])), float(group["alpha"]), float(group["eps"]), 0.0,
                float(group["weight_decay"]), float(group["momentum"]), float(bool(group["centered"])))


class Adagrad(_SimdOptimizer):
    r"""Adagrad — ``torch.optim.Adagrad`` on simdoptim's kernels.

    .. math::  s \leftarrow s + g^2,\qquad w \leftarrow w - \frac{lr}{1 + (t-1)\,\text{lr\_decay}}\,
               \frac{g}{\sqrt{s} + \epsilon}

    with g negated first if ``maximize`` (in the kernel), then ``weight_decay * w`` added; s starts at
    ``initial_accumulator_value``; t is the parameter's own step count.

    Args (torch's names and defaults): params; lr (1e-2); lr_decay (0); weight_decay (0);
    initial_accumulator_value (0); eps (1e-10); foreach, fused (ignored); maximize (False);
    differentiable (must be False).

    State per parameter (torch's format, created at construction as torch does): ``step`` and
    ``sum``. Sparse gradients (which torch.optim.Adagrad accepts) raise a RuntimeError.

    Sources: Duchi, Hazan & Singer 2011; ``torch.optim.Adagrad``.
    """

    _by_step = True
    _low_precision = False
    _adapter_maximize = False  # the adagrad op has a maximize field
    _state_keys = {"adagrad": ("sum",)}

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
                 foreach=None, *, maximize=False, differentiable=False, fused=None):
        _check(_number(lr) >= 0.0, f"Invalid learning rate: {lr}")
        _check(lr_decay >= 0.0, f"Invalid lr_decay value: {lr_decay}")
        _check(weight_decay >= 0.0, f"Invalid weight_decay value: {weight_decay}")
        _check(initial_accumulator_value >= 0.0,
               f"Invalid initial_accumulator_value value: {initial_accumulator_value}")
        _check(eps >= 0.0, f"Invalid epsilon value: {eps}")
        _unsupported("Adagrad", differentiable=differentiable)
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach, maximize=maximize,
                        differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        sdtype = _scalar_dtype()
        for group in self.param_groups:  # torch.optim.Adagrad creates its state here
            for p in group["params"]:
                st = self.state[p]
                st["step"] = torch.tensor(0.0, dtype=sdtype)
                st["sum"] = self._new_state(p, group, "sum")

    def _op(self, group):
        return "adagrad"

    def _uses(self, group, key):
        return True

    def _initial(self, group, key):
        return float(group["initial_accumulator_value"])

    def _first_matters(self, group):
        return False

    def _values(self, group, first):
        # adagrad op: lr, lr_decay, eps, weight_decay, maximize
        return (float(_number(group["lr"])), float(group["lr_decay"]), float(group["eps"]),
                float(group["weight_decay"]), float(bool(group["maximize"])))
