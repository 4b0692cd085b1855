"""Argument checks of the NumPy reference, mirroring the compiled bindings' checks.

The fast backend validates in C++ (``cpp/bindings/checks.cpp``) before it touches memory;
the reference runs the same checks here, so both backends accept the same inputs and
refuse the same bad ones with the same exception types and argument names. The one
deliberate difference: the reference, being plain NumPy, also updates non-contiguous
arrays correctly, where the fast backend refuses them (it never updates a hidden copy).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def label(arg, i, names):
    if names is None:
        return f"{arg}[{i}]"
    return f"{arg}[{names[i]!r}]"


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
    if not isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{func}: {name} must be a bool (True or False), got {type(x).__name__}")
    return bool(x)


def check_step(func, step):
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        raise TypeError(f"{func}: step must be an int, got {type(step).__name__}")
    if step < 1:
        raise ValueError(f"{func}: step must be >= 1 (the number of this update), got {step}")


def _require_number(func, name, x):
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"{func}: {name} must be a real number, got {type(x).__name__}")


def _require_float_array(func, a, arg, i, names):
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{func}: {label(arg, i, names)} must be a numpy.ndarray, got {type(a).__name__}")
    if a.dtype.newbyteorder("=") not in FLOAT_DTYPES or a.dtype.kind != "f":
        raise TypeError(f"{func}: {label(arg, i, names)} has dtype {a.dtype}; expected float32 or float64")
    if not a.dtype.isnative:
        raise TypeError(f"{func}: {label(arg, i, names)} has non-native byte order ({a.dtype})")


def _span(a):
    """The byte interval [lo, hi) an array's elements occupy."""
    if a.size == 0:
        return None
    lo, hi = np.byte_bounds(a) if hasattr(np, "byte_bounds") else np.lib.array_utils.byte_bounds(a)
    return lo, hi


def collect(func, params, grads, states=(), names=None, grads_name="grads", params_name="params"):
    """Checks params, grads and state lists together; see checks.h for the rules."""
    require_list(func, params_name, params)
    require_list(func, grads_name, grads)
    n = len(params)
    if len(grads) != n:
        raise ValueError(f"{func}: {grads_name} has {len(grads)} arrays but {params_name} has {n}; pass one per parameter")
    used = []
    for st_name, items in states:
        if items is None:
            continue
        require_list(func, st_name, items)
        if len(items) != n:
            raise ValueError(f"{func}: {st_name} has {len(items)} arrays but {params_name} has {n}")
        used.append((st_name, items))
    if names is not None and len(names) != n:
        raise ValueError(f"{func}: names has {len(names)} entries but params has {n}")
    spans = []
    for i in range(n):
        p = params[i]
        _require_float_array(func, p, params_name, i, names)
        if not p.flags.writeable:
            raise ValueError(f"{func}: {label(params_name, i, names)} is read-only; parameters are updated in place")

        def like(a, arg, role, p=p, i=i):
            if not isinstance(a, np.ndarray):
                raise TypeError(f"{func}: {label(arg, i, names)} must be a numpy.ndarray, got {type(a).__name__}")
            if a.shape != p.shape:
                raise ValueError(
                    f"{func}: {label(arg, i, names)} has shape {a.shape} but {label(params_name, i, names)} has shape {p.shape}"
                )
            if a.dtype != p.dtype:
                raise TypeError(
                    f"{func}: {label(arg, i, names)} has dtype {a.dtype} but {label(params_name, i, names)} has dtype "
                    f"{p.dtype}; {role} must have the parameter's dtype"
                )
            _require_float_array(func, a, arg, i, names)

        like(grads[i], grads_name, "gradients")
        spans.append((_span(p), True, params_name, i))
        spans.append((_span(grads[i]), False, grads_name, i))
        for st_name, items in used:
            s = items[i]
            like(s, st_name, "optimizer state")
            if not s.flags.writeable:
                raise ValueError(f"{func}: {label(st_name, i, names)} is read-only; optimizer state is updated in place")
            spans.append((_span(s), True, st_name, i))
    _check_no_overlap(func, spans, names)


def _check_no_overlap(func, spans, names):
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
                f"{label(r[2], r[3], names)} in memory; every buffer that is updated in place must be a separate "
                f"array (pass a copy, e.g. grads[i].copy())"
            )
