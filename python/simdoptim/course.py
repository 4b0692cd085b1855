"""simdoptim.course - the deep-learning course's optimisation functions, backed by the kernels.

Drop-in replacements for the functions of the course's "Optimization methods" exercise,
with the same signatures and return values::

    from simdoptim.course import (update_parameters_with_gd, initialize_velocity,
        update_parameters_with_momentum, initialize_adam, update_parameters_with_adam,
        random_mini_batches, update_lr, schedule_lr_decay)

Conventions, as in the course: ``parameters`` holds ``W1, b1, ..., WL, bL`` (``L =
len(parameters) // 2``), ``grads`` and the moment dicts ``dW1, db1, ...``; arrays are
float64 of shapes ``(n_l, n_{l-1})`` and ``(n_l, 1)`` (float32 works too). The update
functions change ``parameters`` (and ``v``, ``s``) in place, with one call to the compiled
kernel for all layers, and also return them, so the course's
``parameters = update_parameters_with_gd(parameters, grads, learning_rate)`` works as is.
Results are bit-identical to the course's NumPy expressions.

Differences a learner may notice: the parameters and moments must be C-contiguous (what
``np.random.randn``, ``np.zeros`` and ``np.dot`` give; ``random_mini_batches`` takes X and Y
in any layout) and the moment dicts are zeros of each parameter's dtype
(the course's ``np.zeros(shape)`` is always float64, which is the same for float64
parameters).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from . import _checks, batching, functional, schedules

__all__ = [
    "update_parameters_with_gd", "initialize_velocity", "update_parameters_with_momentum", "initialize_adam",
    "update_parameters_with_adam", "random_mini_batches", "update_lr", "schedule_lr_decay",
]


def __dir__():
    # PEP 562: dir() and tab completion show the public API, not this module's imports
    return list(__all__)


def _layers(func, parameters):
    """The parameter names in the course's order: W1, b1, W2, b2, ..."""
    if not isinstance(parameters, dict):
        raise TypeError(f"{func}: parameters must be a dict with keys 'W1', 'b1', ..., got {type(parameters).__name__}")
    names = []
    for l in range(1, len(parameters) // 2 + 1):
        for k in (f"W{l}", f"b{l}"):
            if k not in parameters:
                raise KeyError(f"{func}: parameters has no {k!r}; expected keys 'W1', 'b1', ..., 'WL', 'bL'")
            names.append(k)
    return names


def _entries(func, arg, d, keys):
    if not isinstance(d, dict):
        raise TypeError(f"{func}: {arg} must be a dict with keys {keys[0]!r}, ..., got {type(d).__name__}")
    for k in keys:
        if k not in d:
            raise KeyError(f"{func}: {arg} has no {k!r}")
    return [d[k] for k in keys]


def _real(func, name, x, *, lo=0.0, hi=math.inf, hi_open=False, lo_open=False):
    """A real number in the given range, checked under the name the course's signature gives
    it (the kernels' own checks would name their arguments: lr, step ...)."""
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"{func}: {name} must be a real number, got {type(x).__name__} {x!r}")
    v = float(x)
    if not math.isfinite(v) or v < lo or (lo_open and v == lo) or v > hi or (hi_open and v == hi):
        rng = (f"{'>' if lo_open else '>='} {lo:g}" if math.isinf(hi)
               else f"in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}")
        raise ValueError(f"{func}: {name} must be a finite number {rng}, got {x!r}")
    return v


def _arrays_like(func, parameters, names, dicts):
    """Every moment or gradient array has its parameter's type, shape and dtype, checked and
    reported with the course's keys (``grads['dW1']``, ``v['db2']`` ...)."""
    for k in names:
        p = parameters[k]
        if not isinstance(p, np.ndarray):
            raise TypeError(f"{func}: parameters[{k!r}] must be a numpy.ndarray, got {type(p).__name__}")
        for arg, arrays in dicts:
            a = arrays["d" + k]
            where = f"{arg}[{'d' + k!r}]"
            if not isinstance(a, np.ndarray):
                raise TypeError(f"{func}: {where} must be a numpy.ndarray, got {type(a).__name__}")
            if a.shape != p.shape:
                raise ValueError(f"{func}: {where} has shape {a.shape} but parameters[{k!r}] has shape {p.shape}")
            if a.dtype != p.dtype:
                raise TypeError(f"{func}: {where} has dtype {a.dtype} but parameters[{k!r}] has dtype {p.dtype}")


def _update(func, update, *args, **kwargs):
    """Calls a kernel; what it still refuses (a read-only or non-contiguous array, memory
    shared between two arrays ...) is reported under this function's name."""
    try:
        update(*args, **kwargs)
    except (TypeError, ValueError, KeyError) as e:
        if type(e) not in (TypeError, ValueError, KeyError) or len(e.args) != 1:
            raise  # a subclass may not take a message alone: leave it as it is
        raise type(e)(f"{func}: {e.args[0]}") from e


def update_parameters_with_gd(parameters, grads, learning_rate):
    """One step of gradient descent on every layer:
    ``W[l] = W[l] - learning_rate * dW[l]``, ``b[l] = b[l] - learning_rate * db[l]``.

    Returns ``parameters``, updated in place."""
    func = "update_parameters_with_gd"
    learning_rate = _real(func, "learning_rate", learning_rate)
    names = _layers(func, parameters)
    dnames = ["d" + k for k in names]
    gs = _entries(func, "grads", grads, dnames)
    _arrays_like(func, parameters, names, [("grads", grads)])
    _update(func, functional.gd_update, [parameters[k] for k in names], gs, lr=learning_rate, names=names)
    return parameters


def _zeros_like_layers(func, parameters):
    names = _layers(func, parameters)
    out = {}
    for k in names:
        p = parameters[k]
        if not isinstance(p, np.ndarray):
            raise TypeError(f"{func}: parameters[{k!r}] must be a numpy.ndarray, got {type(p).__name__}")
        out["d" + k] = np.zeros(p.shape, p.dtype)
    return out


def initialize_velocity(parameters):
    """The velocity dict of momentum: ``v["dW1"], v["db1"], ...`` zeros of the parameters' shapes."""
    return _zeros_like_layers("initialize_velocity", parameters)


def update_parameters_with_momentum(parameters, grads, v, beta, learning_rate):
    """One step of momentum (the course's moving-average form) on every layer:
    ``v[dW] = beta * v[dW] + (1 - beta) * dW``, ``W = W - learning_rate * v[dW]`` (same for b).

    Returns ``(parameters, v)``, both updated in place."""
    func = "update_parameters_with_momentum"
    beta = _real(func, "beta", beta, hi=1.0, hi_open=True)
    learning_rate = _real(func, "learning_rate", learning_rate)
    names = _layers(func, parameters)
    dnames = ["d" + k for k in names]
    gs, vs = _entries(func, "grads", grads, dnames), _entries(func, "v", v, dnames)
    _arrays_like(func, parameters, names, [("grads", grads), ("v", v)])
    _update(func, functional.momentum_update, [parameters[k] for k in names], gs, vs, lr=learning_rate, beta=beta,
            form="ema", names=names)
    return parameters, v


def initialize_adam(parameters):
    """Adam's two moment dicts ``(v, s)``, each keyed ``dW1, db1, ...``, zeros of the parameters' shapes."""
    return _zeros_like_layers("initialize_adam", parameters), _zeros_like_layers("initialize_adam", parameters)


def update_parameters_with_adam(parameters, grads, v, s, t, learning_rate=0.01, beta1=0.9, beta2=0.999, epsilon=1e-8):
    """One step of Adam on every layer, ``t`` the number of this step (1 on the first)::

        v[dW] = beta1 * v[dW] + (1 - beta1) * dW          v_corrected = v[dW] / (1 - beta1**t)
        s[dW] = beta2 * s[dW] + (1 - beta2) * dW**2       s_corrected = s[dW] / (1 - beta2**t)
        W = W - learning_rate * v_corrected / (sqrt(s_corrected) + epsilon)

    ``epsilon`` is added outside the square root, as the exercise has it. Returns
    ``(parameters, v, s, v_corrected, s_corrected)``: the first three updated in place,
    the last two new dicts of the bias-corrected moments."""
    func = "update_parameters_with_adam"
    if isinstance(t, bool) or not isinstance(t, numbers.Integral):
        raise TypeError(f"{func}: t must be an int (the number of this update, 1 on the first), got {type(t).__name__}")
    if t < 1:
        raise ValueError(f"{func}: t must be >= 1 (the number of this update, 1 on the first), got {t}")
    learning_rate = _real(func, "learning_rate", learning_rate)
    beta1 = _real(func, "beta1", beta1, hi=1.0, hi_open=True)
    beta2 = _real(func, "beta2", beta2, hi=1.0, hi_open=True)
    epsilon = _real(func, "epsilon", epsilon)
    names = _layers(func, parameters)
    dnames = ["d" + k for k in names]
    gs = _entries(func, "grads", grads, dnames)
    vs = _entries(func, "v", v, dnames)
    ss = _entries(func, "s", s, dnames)
    _arrays_like(func, parameters, names, [("grads", grads), ("v", v), ("s", s)])
    _update(func, functional.adam_update, [parameters[k] for k in names], gs, vs, ss, step=int(t), lr=learning_rate,
            beta1=beta1, beta2=beta2, eps=epsilon, names=names)
    # the kernel forms these quotients internally; NumPy repeats them (the same division by
    # the same float64 correction, so the same values) because the exercise returns them
    bc1, bc2 = 1.0 - beta1 ** t, 1.0 - beta2 ** t
    v_corrected = {k: a / bc1 for k, a in zip(dnames, vs)}
    s_corrected = {k: a / bc2 for k, a in zip(dnames, ss)}
    return parameters, v, s, v_corrected, s_corrected


def random_mini_batches(X, Y, mini_batch_size=64, seed=0):
    """The course's shuffled mini-batches of ``X (n_x, m)`` and ``Y (1, m)`` (examples are columns).

    Seeds NumPy's legacy global generator with ``seed`` (as the course does, so it changes
    the global random state the same way), draws ``np.random.permutation(m)`` and cuts the
    shuffled columns into batches of ``mini_batch_size``, the last holding the ``m mod
    mini_batch_size`` remaining ones. Returns a list of ``(mini_batch_X, mini_batch_Y)``,
    equal element for element to the course's code; the columns are gathered by the
    compiled gather kernel."""
    func = "random_mini_batches"
    for arg, a in (("X", X), ("Y", Y)):
        if not isinstance(a, np.ndarray):
            raise TypeError(f"{func}: {arg} must be a numpy.ndarray, got {type(a).__name__}")
        if a.ndim != 2:
            raise ValueError(f"{func}: {arg} must be 2-D with one example per column, got shape {a.shape}")
    m = X.shape[1]
    if Y.shape[1] != m:
        raise ValueError(f"{func}: X has {m} examples (columns) but Y has {Y.shape[1]}")
    if isinstance(mini_batch_size, bool) or not isinstance(mini_batch_size, numbers.Integral):
        raise TypeError(f"{func}: mini_batch_size must be an int, got {type(mini_batch_size).__name__}")
    if mini_batch_size < 1:
        raise ValueError(f"{func}: mini_batch_size must be >= 1, got {mini_batch_size}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
        raise TypeError(f"{func}: seed must be an int (or None), got {type(seed).__name__} {seed!r}")
    if seed is not None and not 0 <= int(seed) < 2 ** 32:
        raise ValueError(f"{func}: seed must be in [0, 2**32 - 1] (NumPy's legacy seed), got {seed}")
    np.random.seed(None if seed is None else int(seed))
    permutation = np.random.permutation(m)
    shuffled_X = _take_columns(X, permutation)
    shuffled_Y = _take_columns(Y, permutation)
    batches = []
    for start in range(0, m, int(mini_batch_size)):
        stop = start + int(mini_batch_size)
        batches.append((shuffled_X[:, start:stop], shuffled_Y[:, start:stop]))
    return batches


def _take_columns(A, idx):
    """``A[:, idx]``, by the compiled gather for a gatherable dtype (any memory layout: it
    reads A where it lies, and needs no more memory than the result); other dtypes go
    through NumPy's indexing, with the same result."""
    if A.dtype.kind in _checks.TAKE_KINDS and A.dtype.itemsize in _checks.TAKE_ITEMSIZES:
        return batching.take(A, idx, axis=1)
    return A[:, idx]


def update_lr(learning_rate0, epoch_num, decay_rate):
    """The course's learning-rate decay: ``learning_rate0 / (1 + decay_rate * epoch_num)``
    (:class:`simdoptim.schedules.InverseTimeDecay`)."""
    func = "update_lr"
    learning_rate0 = _real(func, "learning_rate0", learning_rate0)
    epoch_num = _real(func, "epoch_num", epoch_num)
    decay_rate = _real(func, "decay_rate", decay_rate)
    return schedules.InverseTimeDecay(learning_rate0, decay_rate)(epoch_num)


def schedule_lr_decay(learning_rate0, epoch_num, decay_rate, time_interval=1000):
    """The course's fixed-interval decay:
    ``learning_rate0 / (1 + decay_rate * floor(epoch_num / time_interval))``
    (:class:`simdoptim.schedules.StaircaseDecay`)."""
    func = "schedule_lr_decay"
    learning_rate0 = _real(func, "learning_rate0", learning_rate0)
    epoch_num = _real(func, "epoch_num", epoch_num)
    decay_rate = _real(func, "decay_rate", decay_rate)
    time_interval = _real(func, "time_interval", time_interval, lo_open=True)
    return schedules.StaircaseDecay(learning_rate0, decay_rate, time_interval)(epoch_num)
