"""Argument checks shared by both backends (neutral: imports neither backend).

Every public function and class of ``simdoptim`` and ``simdoptim.reference`` checks its
scalar arguments here, so both name a bad argument the same way with the same exception
type. The reference also checks its arrays here; the compiled backend checks arrays in C++
(``cpp/bindings/checks.cpp``, ``plan.cpp``) with the same rules and messages. The one
deliberate difference: the reference, being plain NumPy, also updates non-contiguous
parameters correctly, where the fast backend refuses them (it never updates a hidden copy).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


# ---------------------------------------------------------------------------------------
# Low precision: float16 is NumPy's own; bfloat16 is ml_dtypes.bfloat16 (an optional
# dependency, ``pip install simdoptim[bf16]``), looked up once.

_BFLOAT16: list[np.dtype | None] = []


def bfloat16():
    """``ml_dtypes.bfloat16`` as a NumPy dtype, or None when ml_dtypes is not installed."""
    if not _BFLOAT16:
        try:
            import ml_dtypes
        except ImportError:
            _BFLOAT16.append(None)
        else:
            _BFLOAT16.append(np.dtype(ml_dtypes.bfloat16))
    return _BFLOAT16[0]


def is_lowp(dtype):
    """True for float16 and bfloat16 (the dtypes computed in float32 and rounded when stored)."""
    dtype = np.dtype(dtype)
    return dtype == np.float16 or (dtype.itemsize == 2 and dtype.name == "bfloat16")


class DTypeRule:
    """The dtype combinations an algorithm's kernels are registered for (the compiled plan
    refuses the others with the same words): ``SAME`` — float32 or float64 parameters with
    gradients and state of their dtype; ``MIXED`` — also float32 parameters (or float32
    masters) with float32, bfloat16 or float16 gradients and state, and bfloat16/float16
    parameters with gradients of their dtype and float32 or their dtype as state."""

    def __init__(self, mixed):
        self.mixed = mixed

    def params(self):
        out = list(FLOAT_DTYPES)
        if self.mixed:
            out += [d for d in (bfloat16(), np.dtype(np.float16)) if d is not None]
        return tuple(out)

    def grads(self, p):
        p = np.dtype(p)
        if self.mixed and p == np.float32:
            return tuple(d for d in (p, bfloat16(), np.dtype(np.float16)) if d is not None)
        return (p,)

    def states(self, p):
        p = np.dtype(p)
        if not self.mixed or p == np.float64:
            return (p,)
        if p == np.float32:
            return self.grads(p)
        return (np.dtype(np.float32), p)


SAME = DTypeRule(False)
MIXED = DTypeRule(True)


def dtype_names(dtypes):
    """'float32, bfloat16 or float16' for messages."""
    names = [np.dtype(d).name for d in dtypes]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def check_state_dtype(func, value):
    """The ``state_dtype=`` option: None (the default rule) or a float dtype given as a name
    ("float32", "bfloat16", "float16", "float64"), a NumPy dtype or a scalar type. Returns a
    NumPy dtype or None."""
    if value is None:
        return None
    if isinstance(value, str) and value == "bfloat16":
        dt = bfloat16()
        if dt is None:
            raise ModuleNotFoundError(f"{func}: state_dtype='bfloat16' needs the ml_dtypes package "
                                      f"(pip install 'simdoptim[bf16]')")
        return dt
    try:
        dt = np.dtype(value)
    except TypeError:
        raise TypeError(f"{func}: state_dtype must be None, a dtype or one of 'float32', 'bfloat16', 'float16', "
                        f"'float64', got {value!r}") from None
    if dt not in FLOAT_DTYPES and not is_lowp(dt):
        raise TypeError(f"{func}: state_dtype must be float32, bfloat16, float16 or float64, got {dt}")
    return dt


def check_round_dtype(func, dtype):
    """The target of round_to: float16, bfloat16 (also given as "bfloat16"), float32 or float64."""
    if isinstance(dtype, str) and dtype == "bfloat16":
        return check_state_dtype(func, dtype)
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or not (is_lowp(dt) or dt in FLOAT_DTYPES):
        raise TypeError(f"{func}: dtype must be float16, bfloat16 (ml_dtypes), float32 or float64, got {dtype!r}")
    return dt


def check_round_keys(func, seed, step, tensor, stream):
    seed = check_seed(func, seed)
    for name, value, hi in (("step", step, 2**63), ("tensor", tensor, 2**30), ("stream", stream, 4)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"{func}: {name} must be an int, got {type(value).__name__}")
        if not 0 <= int(value) < hi:
            raise ValueError(f"{func}: {name} must be in [0, {hi}), got {value}")
    return seed, int(step), int(tensor), int(stream)


def check_norm_args(func, grads, grad_scale, params):
    require_list(func, "grads", grads)
    allowed = MIXED.params()
    for i, g in enumerate(grads):
        _require_float_array(func, g, "grads", i, None, allowed)
    check_grad_scale(func, grad_scale)
    if params is not None:
        require_list(func, "params", params)
        if len(params) != len(grads):
            raise ValueError(f"{func}: params has {len(params)} arrays but grads has {len(grads)}")
        for i, (p, g) in enumerate(zip(params, grads)):
            if not isinstance(p, np.ndarray) or p.shape != g.shape:
                raise ValueError(f"{func}: params[{i}] must be an array of grads[{i}]'s shape {g.shape}")


ROUNDINGS = ("nearest", "stochastic")


def check_rounding(func, value):
    if not isinstance(value, str) or value not in ROUNDINGS:
        raise ValueError(f"{func}: rounding must be 'nearest' (to nearest even) or 'stochastic', got {value!r}")
    return value


def check_seed(func, value):
    """A seed of stochastic rounding: an int in [0, 2**64)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{func}: seed must be an int, got {type(value).__name__}")
    if not 0 <= int(value) < 2**64:
        raise ValueError(f"{func}: seed must be in [0, 2**64), got {value}")
    return int(value)


def check_grad_scale(func, value):
    """``grad_scale``: None or a finite number > 0 (the loss scale)."""
    if value is None:
        return None
    _require_number(func, "grad_scale", value)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{func}: grad_scale must be a finite number > 0 (the loss scale the gradients are divided "
                         f"by), got {value!r}")
    return float(value)


def check_max_grad_norm(func, name, value):
    """``max_grad_norm``: None (no clipping) or a number >= 0 (inf: only measure the norm)."""
    if value is None:
        return None
    _require_number(func, name, value)
    if not value >= 0:
        raise ValueError(f"{func}: {name} must be None or a number >= 0, got {value!r}")
    return float(value)


def label(arg, i, keys):
    """How tensor ``i`` is named in messages: ``arg[i]`` without keys, ``arg['W1']`` for a
    str key, ``arg[1][0]`` or ``arg[1]['W1']`` for a (group, key) tuple."""
    if keys is None:
        return f"{arg}[{i}]"
    key = keys[i]
    if isinstance(key, tuple):
        return arg + "".join(f"[{k!r}]" for k in key)
    return f"{arg}[{key!r}]"


def require_list(func, arg, obj):
    if not isinstance(obj, (list, tuple)):
        raise TypeError(f"{func}: {arg} must be a list or tuple of numpy arrays, got {type(obj).__name__}")
    return obj


def check_range(func, name, x, lo, hi, hi_inclusive):
    _require_number(func, name, x)
    ok = x >= lo and (x <= hi if hi_inclusive else x < hi)
    if not ok:
        rng = f">= {lo:g}" if math.isinf(hi) else f"in [{lo:g}, {hi:g}{']' if hi_inclusive else ')'}"
        raise ValueError(f"{func}: {name} must be {rng}, got {x:g}")


def check_beta(func, name, x):
    check_range(func, name, x, 0.0, 1.0, False)


def check_finite_nonnegative(func, name, x):
    _require_number(func, name, x)
    if not (math.isfinite(x) and x >= 0):
        raise ValueError(f"{func}: {name} must be a finite number >= 0, got {x:g}")


def check_flag(func, name, x):
    """A bool or numpy.bool_, as the bindings' Flag accepts: a truthy "no" must not mean True."""
    if x is True or x is False:
        return x
    if not isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{func}: {name} must be a bool (True or False), got {type(x).__name__}")
    return bool(x)


def check_step(func, step):
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        raise TypeError(f"{func}: step must be an int, got {type(step).__name__}")
    if step < 1:
        raise ValueError(f"{func}: step must be >= 1 (the number of this update), got {step}")


def _require_number(func, name, x):
    if type(x) is float or type(x) is int:  # the common case, without the ABC check
        return
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"{func}: {name} must be a real number, got {type(x).__name__}")


def _require_float_array(func, a, arg, i, names, allowed=FLOAT_DTYPES):
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{func}: {label(arg, i, names)} must be a numpy.ndarray, got {type(a).__name__}")
    if a.dtype.newbyteorder("=") not in allowed or (a.dtype.kind != "f" and not is_lowp(a.dtype)):
        raise TypeError(f"{func}: {label(arg, i, names)} has dtype {a.dtype}; expected {dtype_names(allowed)}")
    if not a.dtype.isnative:
        _non_native(func, a, arg, i, names)


def _non_native(func, a, arg, i, names):
    raise TypeError(f"{func}: {label(arg, i, names)} has non-native byte order ({a.dtype}); convert it with "
                    f".astype({a.dtype.newbyteorder('=').name})")


def _span(a):
    """The byte interval [lo, hi) an array's elements occupy."""
    if a.size == 0:
        return None
    if hasattr(np, "byte_bounds"):
        lo, hi = np.byte_bounds(a)  # noqa: NPY201 - guarded: NumPy 1.x, before it moved to numpy.lib.array_utils
    else:
        lo, hi = np.lib.array_utils.byte_bounds(a)
    return lo, hi


def check_param_arrays(func, params, keys):
    """Every parameter is a NumPy array (the dtype and layout rules are the plan's)."""
    for i, p in enumerate(params):
        if not isinstance(p, np.ndarray):
            raise TypeError(f"{func}: {label('params', i, keys)} must be a numpy.ndarray, got {type(p).__name__}")


#: the end of every overlap message (the compiled checks say the same)
OVERLAP_ADVICE = ("a buffer that is updated in place may share memory with no other buffer (pass each parameter "
                  "once, and a copy of a gradient that aliases one, e.g. g.copy())")


def _like(func, a, p, arg, i, keys, role, params_name="params", allowed=None):
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{func}: {label(arg, i, keys)} must be a numpy.ndarray, got {type(a).__name__}")
    if a.shape != p.shape:
        raise ValueError(
            f"{func}: {label(arg, i, keys)} has shape {a.shape} but {label(params_name, i, keys)} has shape {p.shape}"
        )
    if not a.dtype.isnative and a.dtype.kind == "f":
        _non_native(func, a, arg, i, keys)
    if allowed is None or len(allowed) == 1 and allowed[0] == p.dtype:
        if a.dtype != p.dtype:
            raise TypeError(
                f"{func}: {label(arg, i, keys)} has dtype {a.dtype} but {label(params_name, i, keys)} has dtype "
                f"{p.dtype}; {role} must have the parameter's dtype"
            )
    elif a.dtype not in allowed:
        raise TypeError(
            f"{func}: {label(arg, i, keys)} has dtype {a.dtype} but {label(params_name, i, keys)} has dtype "
            f"{p.dtype}; {role} must have dtype {dtype_names(allowed)}"
        )
    _require_float_array(func, a, arg, i, keys, FLOAT_DTYPES if allowed is None else allowed)


def check_buffers(func, params, states=(), keys=None, params_name="params", rule=SAME):
    """Checks the arrays a step writes: params (float, native, writeable) and each state list
    of ``states`` ((name, list or None) pairs; a list may hold None for tensors without that
    buffer) against its parameter, and that no two of them overlap. Returns their spans.
    ``rule`` (a DTypeRule) says which dtypes parameters and state may have."""
    spans = []
    for i, p in enumerate(params):
        _require_float_array(func, p, params_name, i, keys, rule.params())
        if not p.flags.writeable:
            raise ValueError(f"{func}: {label(params_name, i, keys)} is read-only; parameters are updated in place")
        spans.append((_span(p), True, params_name, i))
    for st_name, items in states:
        if items is None:
            continue
        require_list(func, st_name, items)
        if len(items) != len(params):
            raise ValueError(f"{func}: {st_name} has {len(items)} arrays but {params_name} has {len(params)}")
        for i, (a, p) in enumerate(zip(items, params)):
            if a is None:
                continue
            _like(func, a, p, st_name, i, keys, "optimizer state", params_name,
                  None if rule is SAME else rule.states(p.dtype))
            first = next((other[i] for _, other in states if other is not None and other[i] is not None), a)
            if a.dtype != first.dtype:
                raise TypeError(f"{func}: {label(st_name, i, keys)} has dtype {a.dtype} but the other state of "
                                f"{label(params_name, i, keys)} has dtype {first.dtype}; a tensor's state buffers "
                                f"share one dtype")
            if not a.flags.writeable:
                raise ValueError(f"{func}: {label(st_name, i, keys)} is read-only; optimizer state is updated in place")
            spans.append((_span(a), True, st_name, i))
    _check_no_overlap(func, spans, keys)
    return [s for s in spans if s[0] is not None]


def check_grads(func, params, grads, keys, written, grads_name="grads", params_name="params", rule=SAME):
    """Each gradient against its parameter (an array of its shape and dtype — or, by
    ``rule``, another dtype its kernel takes — in any layout) and against the written
    buffers (no overlap)."""
    for i, (g, p) in enumerate(zip(grads, params)):
        _like(func, g, p, grads_name, i, keys, "gradients", params_name, None if rule is SAME else rule.grads(p.dtype))
    spans = list(written) + [(_span(g), False, grads_name, i) for i, g in enumerate(grads)]
    _check_no_overlap(func, spans, keys)


def check_outs(func, params, grads, outs, keys, written):
    """Per-step outputs: one per parameter, its shape and dtype, writeable, overlapping nothing."""
    if len(outs) != len(params):
        raise ValueError(f"{func}: outs has {len(outs)} arrays but params has {len(params)}")
    for i, (o, p) in enumerate(zip(outs, params)):
        _like(func, o, p, "outs", i, keys, "outputs")
        if not o.flags.writeable:
            raise ValueError(f"{func}: {label('outs', i, keys)} is read-only")
    spans = list(written) + [(_span(o), True, "outs", i) for i, o in enumerate(outs)]
    spans += [(_span(g), False, "grads", i) for i, g in enumerate(grads)]
    _check_no_overlap(func, spans, keys)


def check_copies(func, params, grads, copies, keys, written):
    """Master copies (``copies=``): None, or one entry per parameter, None or a bfloat16 /
    float16 array of its shape, written every step, overlapping nothing; its parameter is
    then a float32 master."""
    if copies is None:
        return
    require_list(func, "copies", copies)
    if len(copies) != len(params):
        raise ValueError(f"{func}: copies has {len(copies)} entries but params has {len(params)}")
    spans = list(written) + [(_span(g), False, "grads", i) for i, g in enumerate(grads)]
    for i, (c, p) in enumerate(zip(copies, params)):
        if c is None:
            continue
        if not isinstance(c, np.ndarray):
            raise TypeError(f"{func}: {label('copies', i, keys)} must be a numpy.ndarray or None, "
                            f"got {type(c).__name__}")
        if c.shape != p.shape:
            raise ValueError(f"{func}: {label('copies', i, keys)} has shape {c.shape} but {label('params', i, keys)} "
                             f"has shape {p.shape}")
        if not is_lowp(c.dtype):
            raise TypeError(f"{func}: {label('copies', i, keys)} has dtype {c.dtype}; a copy is bfloat16 or float16")
        if p.dtype != np.float32:
            raise TypeError(f"{func}: {label('copies', i, keys)} is the copy of {label('params', i, keys)}, which must "
                            f"then be a float32 master, not {p.dtype}")
        if not c.flags.writeable:
            raise ValueError(f"{func}: {label('copies', i, keys)} is read-only; copies are written every step")
        spans.append((_span(c), True, "copies", i))
    _check_no_overlap(func, spans, keys)


def check_names(func, names, params):
    """``names`` of a functional update: None, or a list/tuple with one key per parameter."""
    if names is not None:
        if not isinstance(names, (list, tuple)):
            raise TypeError(f"{func}: names must be None or a list of the parameters' names, "
                            f"got {type(names).__name__}")
        if isinstance(params, (list, tuple)) and len(names) != len(params):
            raise ValueError(f"{func}: names has {len(names)} entries but params has {len(params)}")
    return names


def collect(func, params, grads, states=(), names=None, grads_name="grads", params_name="params", rule=SAME):
    """The checks of a functional update: params, grads and state lists together."""
    check_names(func, names, params)
    require_list(func, params_name, params)
    require_list(func, grads_name, grads)
    n = len(params)
    if len(grads) != n:
        raise ValueError(f"{func}: {grads_name} has {len(grads)} arrays but {params_name} has {n}; "
                         f"pass one per parameter")
    for st_name, items in states:
        if items is not None:
            require_list(func, st_name, items)
            if len(items) != n:
                raise ValueError(f"{func}: {st_name} has {len(items)} arrays but {params_name} has {n}")
    written = check_buffers(func, params, states, names, params_name, rule)
    check_grads(func, params, grads, names, written, grads_name, params_name, rule)
    return written


def _check_no_overlap(func, spans, names):
    """Raises ValueError naming two buffers if a written one overlaps another (spans are
    (byte interval or None, written, arg, index))."""
    iv = sorted((s for s in spans if s[0] is not None), key=lambda s: s[0][0])
    for a_i, a in enumerate(iv):
        for b in iv[a_i + 1 :]:
            if b[0][0] >= a[0][1]:
                break
            if not (a[1] or b[1]):
                continue
            w, r = (a, b) if a[1] else (b, a)
            same = w[0] == r[0]
            raise ValueError(
                f"{func}: {label(w[2], w[3], names)} {'is the same memory as' if same else 'overlaps'} "
                f"{label(r[2], r[3], names)}{'' if same else ' in memory'}; {OVERLAP_ADVICE}"
            )


# ---------------------------------------------------------------------------------------
# Scalars that must stay positive in the arithmetic's precision.

#: a float64 at or below this rounds to 0 in float32 (half the smallest subnormal, 2**-150)
F32_ZERO_BELOW = 2.0 ** -150


def compute_dtype(dtype):
    """The type the kernels compute in for parameters of this dtype: float64 stays float64,
    everything else (float32, float16, bfloat16) is computed in float32."""
    return np.dtype(np.float64) if np.dtype(dtype) == np.float64 else np.dtype(np.float32)


def check_denominator_guard(func, hp, dtypes, names=("eps", "eps_root")):
    """The update divides by ``sqrt(... + eps_root) + eps``: at least one of the guards must
    be > 0 *after* the cast to the compute type of every parameter dtype in ``dtypes`` (a
    collection, or a callable returning one, called only when needed), or a zero gradient
    gives 0/0 = NaN. (``eps=1e-46`` is 0 in float32.)"""
    for n in names:
        if hp.get(n, 0.0) > F32_ZERO_BELOW:
            return  # positive in float32, hence in every compute type
    if callable(dtypes):
        dtypes = dtypes()
    for dt in sorted({compute_dtype(d) for d in dtypes}, key=str):
        values = {n: hp[n] for n in names if n in hp}
        if any(dt.type(v) > 0 for v in values.values()):
            continue
        shown = ", ".join(f"{n}={v!r}" for n, v in values.items())
        tiny = np.finfo(dt).smallest_subnormal
        raise ValueError(
            f"{func}: {shown} {'is' if len(values) == 1 else 'are'} 0 in {dt} (the compute type of this group's "
            f"parameters), so a zero gradient would divide 0 by 0 and write NaN; {names[0]} must be >= {tiny:g} "
            f"(the smallest positive {dt})"
        )


# ---------------------------------------------------------------------------------------
# Axes, gathers (take, MiniBatches): checked the same way by both backends.

#: dtypes ``take`` gathers: bool and every numeric kind, of an element size the compiled
#: gather has a kernel for (1, 2, 4, 8 or 16 bytes; complex256 has 32 and is refused).
TAKE_KINDS = "biufc"
TAKE_ITEMSIZES = (1, 2, 4, 8, 16)
INDEX_DTYPES = (np.dtype(np.int32), np.dtype(np.int64))


def normalize_axis(axis, ndim, func="ewma", what="an array"):
    """``axis`` as an index in [0, ndim): an int (not bool) with -ndim <= axis < ndim."""
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{func}: axis must be an int, got {type(axis).__name__}")
    if not -ndim <= axis < ndim:
        raise IndexError(f"{func}: axis {axis} is out of bounds for {what} of dimension {ndim}")
    return int(axis) % ndim


def check_gather_dtype(func, name, A):
    """What the compiled gather copies: bool or a numeric dtype of 1, 2, 4, 8 or 16 bytes."""
    if A.dtype.kind not in TAKE_KINDS or A.dtype.itemsize not in TAKE_ITEMSIZES:
        raise TypeError(f"{func}: {name} has dtype {A.dtype}; "
                        f"expected bool or a numeric dtype of 1, 2, 4, 8 or 16 bytes")


def check_take_args(X, indices, axis, out):
    """The checks of ``take``, shared by both backends' Python layers (the compiled
    ``_core.take`` repeats them in C++). Returns the normalised axis and the output shape."""
    func = "take"
    if not isinstance(X, np.ndarray):
        raise TypeError(f"{func}: X must be a numpy.ndarray, got {type(X).__name__}")
    if X.ndim not in (1, 2):
        raise ValueError(f"{func}: X must be 1-D or 2-D, got {X.ndim}-D with shape {X.shape}")
    check_gather_dtype(func, "X", X)
    axis = normalize_axis(axis, X.ndim, func)
    if not isinstance(indices, np.ndarray):
        raise TypeError(
            f"{func}: indices must be a 1-D numpy array of int32 or int64, got {type(indices).__name__} "
            f"(convert with np.asarray(indices, dtype=np.int64))"
        )
    if indices.dtype not in INDEX_DTYPES or not indices.dtype.isnative:
        raise TypeError(f"{func}: indices has dtype {indices.dtype}; expected int32 or int64 (native byte order)")
    if indices.ndim != 1:
        raise ValueError(f"{func}: indices must be 1-D, got shape {indices.shape}")
    dims = list(X.shape)
    dims[axis] = indices.shape[0]
    shape = tuple(dims)
    if out is not None:
        if not isinstance(out, np.ndarray):
            raise TypeError(f"{func}: out must be a numpy.ndarray or None, got {type(out).__name__}")
        if out.dtype != X.dtype:
            raise TypeError(f"{func}: out has dtype {out.dtype} but X has dtype {X.dtype}; they must be the same")
        if out.shape != shape:
            raise ValueError(f"{func}: out has shape {out.shape}; expected {shape}")
        if not out.flags.writeable:
            raise ValueError(f"{func}: out is read-only")
        for name, other in (("X", X), ("indices", indices)):
            if out.size and other.size and np.may_share_memory(out, other):
                raise ValueError(f"{func}: out overlaps {name} in memory; pass a separate output array")
    m = X.shape[axis]
    if indices.size:
        lo, hi = indices.min(), indices.max()
        if lo < -m or hi >= m:
            pos = int(np.flatnonzero((indices < -m) | (indices >= m))[0])
            raise IndexError(
                f"{func}: indices[{pos}] = {int(indices[pos])} is out of bounds for axis {axis} with size {m}"
            )
    return axis, shape


def check_examples(func, name, A, axis):
    """A (the array, unchanged) and its example axis (0 or A.ndim - 1) after the checks."""
    if not isinstance(A, np.ndarray):
        raise TypeError(f"{func}: {name} must be a numpy.ndarray, got {type(A).__name__}")
    if A.ndim < 1:
        raise ValueError(f"{func}: {name} must have at least one dimension, got a 0-d array")
    check_gather_dtype(func, name, A)
    axis = normalize_axis(axis, A.ndim, func, name)
    if axis not in (0, A.ndim - 1):
        raise ValueError(f"{func}: the examples must be on the first or the last axis of {name}, got axis {axis}")
    return A, axis


def prepare_series(func, series, beta):
    """The float array an ``ewma`` scans: float32/float64 kept, other real dtypes (integers,
    float16, bfloat16) as float64."""
    check_beta(func, "beta", beta)
    x = np.asarray(series)
    if x.dtype.kind not in "biuf" and not is_lowp(x.dtype):  # bfloat16 is kind 'V'
        raise TypeError(f"{func}: series has dtype {x.dtype}; expected real numbers")
    if x.dtype not in FLOAT_DTYPES:
        x = x.astype(np.float64)
    if x.ndim == 0:
        raise ValueError(f"{func}: series must have at least one dimension")
    return x
