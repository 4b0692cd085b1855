"""simdoptim.reference - the executable specification, in plain NumPy.

Every algorithm of simdoptim is written here as clearly as possible, one NumPy operation
per term of its formula. The compiled kernels implement exactly these operations in exactly
this order, with no fused multiply-add, so ``simdoptim.X`` and ``simdoptim.reference.X``
give bit-identical float32 and float64 results. Conventions:

* ``w`` a parameter, ``g`` its gradient, ``t`` the number of the update (1 on the first),
  ``lr`` the learning rate (alpha). Every update is element-wise and in place.
* A Python float hyper-parameter meets a float32 array as NumPy casts it: rounded to
  float32 once. Hyper-parameters are first converted with ``float()`` (an ``np.float64``
  would otherwise promote a float32 array to float64 under NumPy 2's rules). Scalars derived
  from hyper-parameters (``1 - beta``, the bias corrections ``1 - beta**t``, the AdamW factor
  ``1 - lr*weight_decay``) are computed in float64 first.
* An expression ``a * b / c`` is evaluated left to right, ``(a * b) / c``.

Low precision (float16, and bfloat16 from ml_dtypes): a float16/bfloat16 array is computed in
float32 — loaded exactly, the update written as for float32, rounded once when stored
(:func:`round_to`: nearest even, or stochastic with the bits of Philox4x32-10). Before
any update the gradients may be unscaled and clipped by their global norm
(:func:`grad_norm`).

The functional updates (``*_update``) take lists of arrays, one entry per parameter tensor,
and update them in place; the classes (``GD``, ``Momentum``, ``RMSprop``, ``Adam``, ``EMA``)
are the algorithm classes of the one optimizer core bound to these functions (the compiled
``simdoptim.GD`` etc. are the same classes bound to the kernels). This module is plain NumPy:
it imports nothing compiled.
"""

from __future__ import annotations

import math

import numpy as np

from . import _algorithms, _checks
from ._optimizer import Backend, PythonPlan
from ._optimizer import bias_correction as _bias_correction

__all__ = [
    "prepare", "gd_update", "momentum_update", "rmsprop_update", "adam_update", "adam_pytorch_update", "adagrad_update",
    "ema_update",
    "ewma", "all_finite", "round_to", "grad_norm",
    "GD", "Momentum", "RMSprop", "Adam", "Adagrad", "EMA", "take", "MiniBatches",
]


def __dir__():
    """Only the public API in dir() and tab completion (PEP 562), not the module's imports."""
    return list(__all__)


# ---------------------------------------------------------------------------------------
# Low precision: rounding, random bits, the gradient's norm, and the frame every update
# runs its arithmetic in.

_M32 = 0xFFFFFFFF


def _philox4x32_10(counter, key):
    r"""Philox4x32-10, the counter-based generator of Salmon, Moraes, Dror & Shaw, "Parallel
    random numbers: as easy as 1, 2, 3" (SC 2011), on arrays of counters.

    Ten rounds of: :math:`(h_0, l_0) = M_0 x_0`, :math:`(h_1, l_1) = M_1 x_2` (64-bit products
    split in 32-bit halves), :math:`x \leftarrow (h_1 \oplus x_1 \oplus k_0,\ l_1,\ h_0 \oplus x_3
    \oplus k_1,\ l_0)`, the key bumped by :math:`(W_0, W_1)` between rounds; :math:`M = (\mathtt{0xD2511F53},
    \mathtt{0xCD9E8D57})`, :math:`W = (\mathtt{0x9E3779B9}, \mathtt{0xBB67AE85})`.

    Args:
        counter: four arrays (or ints) of uint32 values, broadcast together: the counter words.
        key: two ints in [0, 2**32).

    Returns: four uint32 arrays, the output words. (NumPy's own ``np.random.Philox`` is the
    4x64 variant; this is the 4x32 one, checked against Random123's known answers.)
    """
    x = [np.asarray(c, dtype=np.uint64) & _M32 for c in np.broadcast_arrays(*counter)]
    k0, k1 = int(key[0]) & _M32, int(key[1]) & _M32
    m0, m1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
    for r in range(10):
        if r:
            k0, k1 = (k0 + 0x9E3779B9) & _M32, (k1 + 0xBB67AE85) & _M32
        p0, p1 = x[0] * m0, x[2] * m1
        x = [(p1 >> np.uint64(32)) ^ x[1] ^ np.uint64(k0), p1 & np.uint64(_M32),
             (p0 >> np.uint64(32)) ^ x[3] ^ np.uint64(k1), p0 & np.uint64(_M32)]
    return [a.astype(np.uint32) for a in x]


def _random_bits(n, *, seed, step, tensor, stream):
    r"""The 16-bit random values stochastic rounding adds (SPEC's ``r``) for elements
    ``0 .. n-1`` of one stored buffer, as a uint32 array of n values in [0, 2**16).

    The key is ``(seed mod 2**32, seed >> 32)``; element ``e`` takes half ``h`` of word ``w``
    of Philox4x32-10 block :math:`\beta`, where

    .. math::  \beta = 16\lfloor e/128 \rfloor + (e \bmod 16),\quad w = \lfloor e/16 \rfloor \bmod 4,\quad
               h = \lfloor e/64 \rfloor \bmod 2

    and the block's counter is ``(beta mod 2**32, beta >> 32, 4 * tensor + stream,
    step mod 2**32)``: value = ``(x_w >> 16 h) & 0xFFFF``. So every (seed, step, tensor,
    buffer, element) draws its own bits, whatever the thread split or SIMD width (a block
    serves 8 elements of one buffer).

    Args:
        n: the number of elements (in memory order).
        seed: the optimizer's seed, an int in [0, 2**64).
        step: the number of the update (the key wraps after 2**32 steps).
        tensor: the tensor's position in the call (the optimizer's flat order), < 2**30.
        stream: which stored buffer: 0 the parameter, 1 + k the k-th state buffer
            (Adam: 1 m, 2 v, 3 v_max).
    """
    e = np.arange(n, dtype=np.uint64)
    q = (n + 127) // 128
    beta = (16 * np.arange(q, dtype=np.uint64)[:, None] + np.arange(16, dtype=np.uint64)[None, :]).ravel()
    words = _philox4x32_10((beta & np.uint64(_M32), beta >> np.uint64(32), (4 * tensor + stream) & _M32, step & _M32),
                          (seed & _M32, (seed >> 32) & _M32))
    b = 16 * (e >> np.uint64(7)) + (e & np.uint64(15))
    w = ((e >> np.uint64(4)) & np.uint64(3)).astype(np.intp)
    h = ((e >> np.uint64(6)) & np.uint64(1)).astype(np.uint32)
    x = np.stack(words)[w, b.astype(np.intp)]
    return (x >> (16 * h)) & np.uint32(0xFFFF)


def round_to(x, dtype, rounding="nearest", *, seed=0, step=0, tensor=0, stream=0):
    r"""``x`` (converted to a float32 array) rounded to ``dtype``, as the optimizers store
    float16/bfloat16 buffers.

    ``rounding="nearest"``: to nearest, ties to even. ``"stochastic"``: unbiased random
    rounding with the random bits an update would draw for buffer ``stream`` (0 the
    parameter, 1 + k the k-th state buffer) of tensor ``tensor`` at step ``step`` with this
    ``seed``, element ``e`` being the e-th element of ``x`` in C order. The exact rule, NaN
    and infinities: see :func:`_round`; the bits:

    .. math::  \beta = 16\lfloor e/128 \rfloor + (e \bmod 16),\quad w = \lfloor e/16 \rfloor \bmod 4,\quad
               h = \lfloor e/64 \rfloor \bmod 2,\qquad r_e = (x_w \gg 16h)\ \&\ \mathtt{0xFFFF}

    where :math:`(x_0, x_1, x_2, x_3)` is Philox4x32-10 (Salmon et al., SC 2011) of the counter
    ``(beta mod 2**32, beta >> 32, 4 * tensor + stream, step mod 2**32)`` with the key
    ``(seed mod 2**32, seed >> 32)``.

    Args:
        x: array-like of real numbers (rounded to float32 first, as NumPy casts).
        dtype: ``numpy.float16`` or ``ml_dtypes.bfloat16`` (or float32/float64: a plain cast).
        rounding: ``"nearest"`` or ``"stochastic"``.
        seed: an int in [0, 2**64). step: an int >= 0. tensor: an int in [0, 2**30).
        stream: 0 to 3.

    Returns: a new C-contiguous array of ``dtype`` and ``x``'s shape.

    Raises: TypeError for a dtype that is not float16, bfloat16, float32 or float64, or
    non-integer keys; ValueError for an unknown rounding or keys out of range.
    """
    func = "round_to"
    dtype = _checks.check_round_dtype(func, dtype)
    rounding = _checks.check_rounding(func, rounding)
    seed, step, tensor, stream = _checks.check_round_keys(func, seed, step, tensor, stream)
    x = np.ascontiguousarray(x, dtype=np.float32)
    bits = None
    if rounding == "stochastic":
        bits = _random_bits(x.size, seed=seed, step=step, tensor=tensor, stream=stream).reshape(x.shape)
    return np.ascontiguousarray(_round(x, dtype, rounding, bits))


def _round(x, dtype, rounding="nearest", bits=None):
    r"""A float32 array rounded to ``dtype`` (float16, ``ml_dtypes.bfloat16``, or float32 /
    float64, which are returned as a cast).

    ``"nearest"``: round to nearest, ties to even — ``x.astype(dtype)`` (ml_dtypes for
    bfloat16, NumPy for float16: subnormals kept, overflow to infinity).
    ``"stochastic"`` with ``bits`` (16-bit values, one per element, :func:`_random_bits`): the
    magnitude plus ``bits / 2**16`` units of the target's last place, truncated toward zero,
    so :math:`E[\mathrm{round}(x)] = x`: on the float32 bit pattern ``b``,

    * bfloat16: ``(b + r) >> 16``;
    * float16 with a normal result (:math:`|x| \ge 2^{-14}`): ``(|b| + (r >> 3))`` with the 13
      low bits dropped (the 13 bits float16 does not keep), rebiased; a carry past 65504 gives
      infinity;
    * float16 with a subnormal result: ``(floor(|x| * 2**40) + r) >> 16`` units of
      :math:`2^{-24}` (bits of :math:`|x|` below :math:`2^{-40}`, 16 places under the last
      place, are dropped first: a bias below :math:`2^{-16}` of a unit).

    In both modes NaN becomes the canonical quiet NaN with x's sign (bfloat16 ``0x7FC0``,
    float16 ``0x7E00``) and infinities stay infinities.
    """
    dtype = np.dtype(dtype)
    x = np.asarray(x, dtype=np.float32)
    if not _checks.is_lowp(dtype):
        return x.astype(dtype)
    b = x.view(np.uint32)
    a = b & np.uint32(0x7FFFFFFF)
    sign = (b >> np.uint32(16)) & np.uint32(0x8000)
    nan = a > np.uint32(0x7F800000)
    bf = dtype.name == "bfloat16"
    if rounding == "nearest":
        with np.errstate(over="ignore", invalid="ignore"):
            y = x.astype(dtype).view(np.uint16).astype(np.uint32)
    else:
        r = np.asarray(bits, dtype=np.uint32)
        if bf:
            y = (b + r) >> np.uint32(16)
            y = np.where(a == np.uint32(0x7F800000), b >> np.uint32(16), y)  # infinities
        else:
            t = (a + (r >> np.uint32(3))) & np.uint32(0xFFFFE000)
            normal = np.where(t > np.uint32(0x477FFFFF), np.uint32(0x7C00),
                              (t - np.uint32(0x38000000)) >> np.uint32(13))
            tiny = a < np.uint32(0x38800000)
            q = np.where(tiny, a, np.uint32(0)).view(np.float32) * np.float32(2.0 ** 40)  # exact
            sub = (q.astype(np.uint32) + r) >> np.uint32(16)
            y = np.where(tiny, sub, normal)
            y = np.where(a == np.uint32(0x7F800000), np.uint32(0x7C00), y)
            y = np.where(a > np.uint32(0x7F800000), np.uint32(0x7E00), y) | sign
    canonical = sign | np.uint32(0x7FC0 if bf else 0x7E00)
    y = np.where(nan, canonical, y)
    return y.astype(np.uint16).view(dtype)


def _order(a):
    """The memory order the kernels walk an array in: Fortran for an array that is only
    Fortran-contiguous, else C (a gradient is walked in its parameter's order)."""
    return "F" if a.flags.f_contiguous and not a.flags.c_contiguous else "C"


def grad_norm(grads, grad_scale=None, params=None):
    r"""The global L2 norm of the gradients (after unscaling), in the order SPEC fixes:

    .. math::  n = \sqrt{\textstyle\sum_{\text{tensors}} \sum_{\text{blocks}} s_b},\qquad
               s_b = ((p_0 + p_1) + (p_2 + p_3)) + ((p_4 + p_5) + (p_6 + p_7))

    Each tensor (in list order) is cut into blocks of 2048 elements (in the memory order of
    its parameter, C or Fortran, when ``params`` is given; else of the gradient); within
    a block, element ``e`` adds :math:`\tilde g_e^2` into :math:`p_{e \bmod 8}` in increasing
    ``e``, in float64, where :math:`\tilde g` is the gradient in its compute type (float32
    for float32/float16/bfloat16, float64 for float64) divided by ``grad_scale`` there; the
    block sums are added one after another in float64. A NaN or infinity anywhere makes the
    norm non-finite.

    Args: grads: a list of float arrays (float32, float64, float16, bfloat16). grad_scale: None
        or the loss scale (> 0). params: None or the parameters, one per gradient (for their
        memory order).
    Returns: the norm, a Python float.
    Raises: TypeError for a grads that is not a list of float arrays; ValueError for a bad
    grad_scale or a params list of another length.
    """
    _checks.check_norm_args("grad_norm", grads, grad_scale, params)
    total = 0.0
    for i, g in enumerate(grads):
        order = _order(g if params is None else params[i])
        gt = _unscaled(g, grad_scale).ravel(order=order).astype(np.float64)
        sq = gt * gt                                                       # exact for float32 values
        for b in range(0, sq.size, 2048):
            block = sq[b:b + 2048]
            pad = np.zeros(-(-block.size // 8) * 8)
            pad[:block.size] = block
            p = np.cumsum(pad.reshape(-1, 8), axis=0)[-1]                # p_j, summed in e order
            total += ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]))
    return float(np.sqrt(total))


def _compute_dtype(*arrays):
    """float64 when every array is float64, else float32 (float16/bfloat16 compute in float32)."""
    return np.dtype(np.float64) if all(a.dtype == np.float64 for a in arrays if a is not None) else np.dtype(np.float32)


def _unscaled(g, grad_scale):
    """g in its compute type, divided by the loss scale there (a new array when either applies)."""
    g = g.astype(np.float32) if _checks.is_lowp(g.dtype) else g
    if grad_scale is None:
        return g
    with np.errstate(over="ignore"):  # a scale below 1 may overflow: inf, which the nonfinite policy sees
        return g / grad_scale


class _Frame:
    """What every update does around its arithmetic (SPEC sections 11 and 12): the gradients
    in the compute type, unscaled, clipped (``clip = min(1, max_grad_norm / (norm + 1e-6))``,
    as ``torch.nn.utils.clip_grad_norm_``; a NaN norm gives NaN); each tensor's buffers as
    float32 working arrays (the arrays themselves when they are float32/float64, so the
    update is in place), and after the arithmetic the stores: every float16/bfloat16 buffer
    rounded once (stream 0 the parameter, 1 + k state buffer k), and each master's copy
    rounded to nearest."""

    def __init__(self, params, grads, *, grad_scale, max_grad_norm, copies, rounding, seed, step, first_tensor):
        self.norm = None
        gs = [_unscaled(g, grad_scale) for g in grads]
        if max_grad_norm is not None:
            self.norm = grad_norm(grads, grad_scale, params)
            clip = max_grad_norm / (self.norm + 1e-6)
            clip = 1.0 if clip > 1.0 else clip                         # min(1, .), NaN stays NaN
            gs = [g * clip for g in gs]
        self.grads, self.copies = gs, copies
        self.rounding, self.seed, self.step, self.first = rounding, seed, step, first_tensor

    @staticmethod
    def load(a):
        """The working array of a buffer: itself, or its float32 value for float16/bfloat16."""
        return None if a is None else (a.astype(np.float32) if _checks.is_lowp(a.dtype) else a)

    def store(self, i, stream, dst, value):
        """Writes a working array back into its buffer (rounded once if low precision)."""
        if dst is None or value is dst:
            return
        bits = None
        if self.rounding == "stochastic":
            bits = _random_bits(dst.size, seed=self.seed, step=self.step, tensor=self.first + i,
                               stream=stream).reshape(dst.shape, order=_order(dst))
        dst[...] = _round(value, dst.dtype, self.rounding, bits)

    def copy_out(self, i, w):
        if self.copies is not None and self.copies[i] is not None:
            self.copies[i][...] = _round(w, self.copies[i].dtype, "nearest")


def _frame_args(func, params, grads, states, names, *, grad_scale, max_grad_norm, copies, rounding, seed, step,
                first_tensor):
    """The checks of an update that takes the low-precision options; returns its _Frame."""
    rounding = _checks.check_rounding(func, rounding)
    seed = _checks.check_seed(func, seed)
    grad_scale = _checks.check_grad_scale(func, grad_scale)
    max_grad_norm = _checks.check_max_grad_norm(func, "max_grad_norm", max_grad_norm)
    if isinstance(first_tensor, bool) or not isinstance(first_tensor, int) or first_tensor < 0:
        raise TypeError(f"{func}: first_tensor must be an int >= 0, got {first_tensor!r}")
    written = _checks.collect(func, params, grads, states, names, rule=_checks.MIXED)
    _checks.check_copies(func, params, grads, copies, names, written)
    return _Frame(params, grads, grad_scale=grad_scale, max_grad_norm=max_grad_norm, copies=copies, rounding=rounding,
                  seed=seed, step=step, first_tensor=first_tensor)


def gd_update(params, grads, *, lr, weight_decay=0.0, names=None, step=1, grad_scale=None, max_grad_norm=None,
              copies=None, rounding="nearest", seed=0, first_tensor=0):
    r"""Mini-batch gradient descent, in place.

    .. math::  g \leftarrow g + \lambda w \quad (\text{if } \lambda = \text{weight\_decay} > 0)
    .. math::  w \leftarrow w - \alpha\, g

    ``weight_decay`` is the L2 term of the cost, ``lambda/B`` in the course's notation.
    The caller's gradient arrays are never modified.

    Args:
        params: list of parameter arrays (float32 or float64; any shape; the reference also
            updates strided views in place), updated in place.
        grads: one gradient per parameter: its shape and dtype, any layout; never written.
        lr: the learning rate alpha (a finite number >= 0).
        weight_decay: lambda (>= 0). Default 0.
        names: the parameters' names for messages (``params['W1']``), or None (``params[0]``).
        step: the number of this update (an int >= 1, default 1): with stochastic rounding,
            part of the random bits' key (the optimizer classes pass their step count).
        grad_scale, max_grad_norm, copies, rounding, seed, first_tensor: mixed precision, as
            in :func:`adam_update` (float16/bfloat16 parameters, gradients and state computed
            in float32 and rounded once when stored; gradients unscaled and clipped first).

    Returns: the gradients' norm (a float) when ``max_grad_norm`` is given, else None.

    Raises:
        TypeError: a list that is not a list, an item that is not an array, a non-float or
            non-native dtype, gradients or state of another dtype than their parameter, a
            hyper-parameter of the wrong type (a string, None, a bool for a number; an int for
            a flag).
        ValueError: a hyper-parameter out of range (also ``eps``/``eps_root`` that are 0 in the
            parameters' dtype), lists of different lengths, another shape, a read-only buffer
            that is written, buffers that overlap. Nothing is written before a refusal.

    Source: the course's ``update_parameters_with_gd``; ``torch.optim.SGD``.
    """
    func = "gd_update"
    _checks.check_step(func, step)
    hp = _algorithms.check_hyper(func, _algorithms.GD, {"lr": lr, "weight_decay": weight_decay}, params)
    frame = _frame_args(func, params, grads, (), names, grad_scale=grad_scale, max_grad_norm=max_grad_norm,
                        copies=copies, rounding=rounding, seed=seed, step=int(step), first_tensor=first_tensor)
    lr, weight_decay = hp["lr"], hp["weight_decay"]
    for i in range(len(params)):
        w, g = frame.load(params[i]), frame.grads[i]
        if weight_decay != 0.0:
            g = g + weight_decay * w
        w -= lr * g
        frame.store(i, 0, params[i], w)
        frame.copy_out(i, w)
    return frame.norm


def momentum_update(params, grads, velocities, *, lr, beta=0.9, form="ema", nesterov=False, weight_decay=0.0,
                    names=None, step=1, grad_scale=None, max_grad_norm=None, copies=None, rounding="nearest",
                    seed=0, first_tensor=0):
    r"""Gradient descent with momentum, in place. With ``c = 1 - beta`` (``form="ema"``, the
    course's form) or ``c = 1`` (``form="sum"``, PyTorch's SGD with dampening 0):

    .. math::  v \leftarrow \beta v + c\, g
    .. math::  w \leftarrow w - \alpha\, v \qquad\text{or, Nesterov:}\qquad
               w \leftarrow w - \alpha\,(\beta v + c\, g)

    The two forms are the same method: ``form="sum"`` with ``lr`` equals ``form="ema"`` with
    ``lr / (1 - beta)``. ``v`` starts at zero; weight decay is added to ``g`` first.

    Args:
        params, grads, names: as in :func:`gd_update`.
        velocities: one velocity per parameter (its shape and dtype), updated in place; zeros
            before the first update.
        lr: >= 0. beta: in [0, 1), default 0.9. form: ``"ema"`` (default) or ``"sum"``.
        nesterov: bool, default False. weight_decay: >= 0, default 0.
        step: the number of this update (an int >= 1, default 1): with stochastic rounding,
            part of the random bits' key (the optimizer classes pass their step count).
        grad_scale, max_grad_norm, copies, rounding, seed, first_tensor: mixed precision, as
            in :func:`adam_update` (float16/bfloat16 parameters, gradients and state (velocities: stream 1) computed
            in float32 and rounded once when stored; gradients unscaled and clipped first).

    Returns: the gradients' norm (a float) when ``max_grad_norm`` is given, else None.

    Raises:
        TypeError: a list that is not a list, an item that is not an array, a non-float or
            non-native dtype, gradients or state of another dtype than their parameter, a
            hyper-parameter of the wrong type (a string, None, a bool for a number; an int for
            a flag).
        ValueError: a hyper-parameter out of range (also ``eps``/``eps_root`` that are 0 in the
            parameters' dtype), lists of different lengths, another shape, a read-only buffer
            that is written, buffers that overlap. Nothing is written before a refusal.

    Source: the course's ``update_parameters_with_momentum``; Sutskever et al. 2013 (Nesterov); ``torch.optim.SGD``.
    """
    func = "momentum_update"
    hp = _algorithms.check_hyper(func, _algorithms.Momentum,
                                 {"lr": lr, "beta": beta, "form": form, "nesterov": nesterov,
                                  "weight_decay": weight_decay}, params)
    _checks.check_step(func, step)
    frame = _frame_args(func, params, grads, (("velocities", velocities),), names, grad_scale=grad_scale,
                        max_grad_norm=max_grad_norm, copies=copies, rounding=rounding, seed=seed, step=int(step),
                        first_tensor=first_tensor)
    lr, beta, weight_decay, nesterov = hp["lr"], hp["beta"], hp["weight_decay"], hp["nesterov"]
    for i in range(len(params)):
        w, g, v = frame.load(params[i]), frame.grads[i], frame.load(velocities[i])
        if weight_decay != 0.0:
            g = g + weight_decay * w
        if form == "ema":
            v *= beta
            v += (1.0 - beta) * g          # v = beta*v + (1-beta)*g
            d = beta * v + (1.0 - beta) * g if nesterov else v
        else:
            v *= beta
            v += g                          # v = beta*v + g
            d = beta * v + g if nesterov else v
        frame.store(i, 1, velocities[i], v)
        w -= lr * d
        frame.store(i, 0, params[i], w)
        frame.copy_out(i, w)
    return frame.norm


def rmsprop_update(params, grads, square_avgs, *, lr, beta2=0.99, eps=1e-8, eps_root=0.0, weight_decay=0.0,
                   momentum=0.0, grad_avgs=None, momentum_buffers=None, names=None, step=1, grad_scale=None,
                   max_grad_norm=None, copies=None, rounding="nearest", seed=0, first_tensor=0):
    r"""RMSprop, in place.

    .. math::  s \leftarrow \beta_2 s + (1 - \beta_2)\, g^2
    .. math::  w \leftarrow w - \alpha\, \frac{g}{\sqrt{s + \epsilon_{root}} + \epsilon}

    ``eps`` is added outside the square root (PyTorch, Keras, the course's code) and
    ``eps_root`` inside it (the lecture's ``sqrt(s + eps)``); set the one you want.
    Centered (pass ``grad_avgs``): ``a <- beta2 a + (1-beta2) g`` and ``max(s - a^2, 0)``
    replaces ``s`` under the root. ``s - a^2`` is a variance, never negative in exact
    arithmetic, but with a (nearly) constant gradient it is the difference of two nearly
    equal numbers and rounds below zero (float32 after about 1,200 steps of a constant 0.1,
    float64 after about 3,200); its square root would turn the parameters into NaN. The
    clamp keeps them finite; a NaN in ``s`` or ``a`` still propagates (``np.maximum``).
    This differs from ``torch.optim.RMSprop(centered=True)`` (2.x), which takes the root of
    the unclamped ``s - a^2``: NaN after 3,226 steps of a constant 0.1 in float64 (its
    float32 happens to round to a non-negative value there); elsewhere the two agree. With
    a zero variance the step is ``lr * g / (sqrt(eps_root) + eps)``: centered RMSprop
    divides by the gradient's standard deviation, which a constant gradient does not have.
    Momentum > 0 (pass ``momentum_buffers``):
    ``b <- momentum b + g / (sqrt(.) + eps)``, ``w <- w - lr b`` (PyTorch's variant).

    Args:
        params, grads, names: as in :func:`gd_update`.
        square_avgs, grad_avgs, momentum_buffers: state lists (the parameters' shapes and
            dtypes), updated in place; zeros before the first update.
        lr: >= 0. beta2: in [0, 1), default 0.99. eps, eps_root: >= 0, defaults 1e-8 and 0; at
            least one > 0 in the parameters' dtype. weight_decay: >= 0. momentum: in [0, 1).
        step: the number of this update (an int >= 1, default 1): with stochastic rounding,
            part of the random bits' key (the optimizer classes pass their step count).
        grad_scale, max_grad_norm, copies, rounding, seed, first_tensor: mixed precision, as
            in :func:`adam_update` (float16/bfloat16 parameters, gradients and state (s, a, b: streams 1, 2, 3) computed
            in float32 and rounded once when stored; gradients unscaled and clipped first).

    Returns: the gradients' norm (a float) when ``max_grad_norm`` is given, else None.

    Raises:
        TypeError: a list that is not a list, an item that is not an array, a non-float or
            non-native dtype, gradients or state of another dtype than their parameter, a
            hyper-parameter of the wrong type (a string, None, a bool for a number; an int for
            a flag).
        ValueError: a hyper-parameter out of range (also ``eps``/``eps_root`` that are 0 in the
            parameters' dtype), lists of different lengths, another shape, a read-only buffer
            that is written, buffers that overlap. Nothing is written before a refusal.

    Source: Hinton's lecture 6e (2012); ``torch.optim.RMSprop`` (centered, momentum).
    """
    func = "rmsprop_update"
    hp = _algorithms.check_hyper(func, _algorithms.RMSprop, {
        "lr": lr, "beta2": beta2, "eps": eps, "eps_root": eps_root, "weight_decay": weight_decay, "momentum": momentum,
    }, params)
    if momentum != 0.0 and momentum_buffers is None:
        raise ValueError(f"{func}: momentum_buffers is required when momentum > 0")
    bufs = momentum_buffers if momentum != 0.0 else None
    _checks.check_step(func, step)
    frame = _frame_args(
        func, params, grads,
        (("square_avgs", square_avgs), ("grad_avgs", grad_avgs), ("momentum_buffers", bufs)), names,
        grad_scale=grad_scale, max_grad_norm=max_grad_norm, copies=copies, rounding=rounding, seed=seed,
        step=int(step), first_tensor=first_tensor,
    )
    lr, beta2, eps, eps_root = hp["lr"], hp["beta2"], hp["eps"], hp["eps_root"]
    weight_decay, momentum = hp["weight_decay"], hp["momentum"]
    for i in range(len(params)):
        w, g, s = frame.load(params[i]), frame.grads[i], frame.load(square_avgs[i])
        if weight_decay != 0.0:
            g = g + weight_decay * w
        s *= beta2
        s += (1.0 - beta2) * (g * g)        # s = beta2*s + (1-beta2)*g^2
        frame.store(i, 1, square_avgs[i], s)
        inner = s
        if grad_avgs is not None:
            a = frame.load(grad_avgs[i])
            a *= beta2
            a += (1.0 - beta2) * g          # a = beta2*a + (1-beta2)*g
            frame.store(i, 2, grad_avgs[i], a)
            inner = np.maximum(s - a * a, 0.0)   # a variance: >= 0 exactly, rounding can dip below
        denom = np.sqrt(inner + eps_root) + eps
        if bufs is not None:
            b = frame.load(bufs[i])
            b *= momentum
            b += g / denom                  # b = momentum*b + g/denom
            frame.store(i, 3, bufs[i], b)
            w -= lr * b
        else:
            w -= lr * g / denom
        frame.store(i, 0, params[i], w)
        frame.copy_out(i, w)
    return frame.norm


def adam_update(params, grads, exp_avgs, exp_avg_sqs, *, step, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8,
                eps_root=0.0, weight_decay=0.0, decoupled=False, max_exp_avg_sqs=None, names=None, order="literal",
                grad_scale=None, max_grad_norm=None, copies=None, rounding="nearest", seed=0, first_tensor=0):
    r"""Adam (momentum plus RMSprop, bias-corrected), in place; ``step`` is ``t``, 1 on the first update.

    .. math::  m \leftarrow \beta_1 m + (1-\beta_1)\, g, \qquad v \leftarrow \beta_2 v + (1-\beta_2)\, g^2
    .. math::  \hat m = \frac{m}{1-\beta_1^t}, \qquad \hat v = \frac{v}{1-\beta_2^t}
    .. math::  w \leftarrow w - \alpha\, \frac{\hat m}{\sqrt{\hat v + \epsilon_{root}} + \epsilon}

    ``weight_decay`` with ``decoupled=False`` adds ``weight_decay * w`` to ``g`` (L2);
    with ``decoupled=True`` (AdamW) it first shrinks the weights, ``w <- w (1 - lr weight_decay)``
    (``w - lr*lambda*w``, computed as PyTorch's AdamW does). AMSGrad (pass
    ``max_exp_avg_sqs``): ``v_max <- max(v_max, v)`` and ``v_max`` replaces ``v`` in ``v_hat``.
    This is the literal order (three divisions per element); ``order="pytorch"`` computes the
    same algorithm as :func:`adam_pytorch_update` does (one division; results agree to
    rounding, not bit for bit).

    Low precision (every option also in :func:`adam_pytorch_update`): parameters, gradients
    and state may be float16/bfloat16 (float32 parameters take float32, bfloat16 or float16
    gradients and state; float16/bfloat16 parameters take gradients of their dtype and state
    of their dtype or float32). Each buffer is loaded into float32, the lines above run in
    float32 — the new m, v (and v_max) feed the weight update unrounded — and each
    low-precision buffer is rounded once when stored (:func:`round_to` with ``rounding``;
    stochastic bits keyed by ``seed``, ``step``, the tensor
    ``first_tensor + i`` and the buffer: 0 w, 1 m, 2 v, 3 v_max). Before the update the
    gradients are divided by ``grad_scale`` and, with ``max_grad_norm``, multiplied by
    ``min(1, max_grad_norm / (n + 1e-6))``, ``n`` their :func:`grad_norm`. With ``copies``
    (a bfloat16/float16 array, or None, per float32 parameter) each updated parameter is
    also written there rounded to nearest: a float32 master with its low-precision copy.

    Args:
        params, grads, names: as in :func:`gd_update` (with the dtypes above).
        exp_avgs, exp_avg_sqs, max_exp_avg_sqs: state lists (m, v, and v_max for AMSGrad),
            updated in place; zeros before the first update. A tensor's buffers share a dtype.
        step: t, an int >= 1. lr: >= 0, default 0.001. beta1, beta2: in [0, 1), defaults 0.9,
            0.999. eps, eps_root: >= 0, defaults 1e-8 and 0 (at least one > 0 in the
            parameters' compute type). weight_decay: >= 0. decoupled: bool (AdamW).
        order: ``"literal"`` (default) or ``"pytorch"``.
        grad_scale: None or the loss scale (a finite number > 0). max_grad_norm: None or a
            number >= 0. copies: None or a list as above. rounding: ``"nearest"`` (default)
            or ``"stochastic"``. seed: an int in [0, 2**64), default 0. first_tensor: the
            tensor index of ``params[0]`` in the random keying (an int >= 0, default 0).

    Returns: the gradients' norm (a float) when ``max_grad_norm`` is given, else None.

    Raises:
        TypeError: a list that is not a list, an item that is not an array, a dtype or dtype
            combination the update does not take, a non-native dtype, a hyper-parameter of
            the wrong type (a string, None, a bool for a number; an int for a flag).
        ValueError: a hyper-parameter out of range (also ``eps``/``eps_root`` that are 0 in the
            parameters' dtype; ``eps_root`` with ``order="pytorch"``), an unknown ``order`` or
            ``rounding``, lists of different lengths, another shape, a read-only buffer that
            is written, buffers that overlap. Nothing is written before a refusal.

    Source: Kingma & Ba, ICLR 2015, algorithm 1; Loshchilov & Hutter, ICLR 2019 (AdamW); Reddi et al., ICLR 2018
    (AMSGrad); Micikevicius et al., "Mixed Precision Training", ICLR 2018 (master weights, loss scaling);
    Gupta et al., "Deep Learning with Limited Numerical Precision", ICML 2015 (stochastic rounding).
    """
    if order not in ("literal", "pytorch"):
        raise ValueError(f"adam_update: order must be 'literal' or 'pytorch', got {order!r}")
    return _adam("adam_update", order == "pytorch", params, grads, exp_avgs, exp_avg_sqs, step=step, lr=lr,
                 beta1=beta1, beta2=beta2, eps=eps, eps_root=eps_root, weight_decay=weight_decay, decoupled=decoupled,
                 max_exp_avg_sqs=max_exp_avg_sqs, names=names, grad_scale=grad_scale, max_grad_norm=max_grad_norm,
                 copies=copies, rounding=rounding, seed=seed, first_tensor=first_tensor)


def adam_pytorch_update(params, grads, exp_avgs, exp_avg_sqs, *, step, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8,
                        weight_decay=0.0, decoupled=False, max_exp_avg_sqs=None, names=None, grad_scale=None,
                        max_grad_norm=None, copies=None, rounding="nearest", seed=0, first_tensor=0):
    r"""Adam in PyTorch's operation order, in place: the algorithm of :func:`adam_update` with
    the bias corrections folded into two float64 scalars, one division per element.

    .. math::  m \leftarrow m + (1-\beta_1)\,(g - m), \qquad v \leftarrow \beta_2 v + (1-\beta_2)\, g^2
    .. math::  s = \frac{\alpha}{1-\beta_1^t}, \quad c = \frac{1}{\sqrt{1-\beta_2^t}}
               \quad\text{(float64, each cast once)}, \qquad
               w \leftarrow w - \frac{s\, m}{\sqrt{v}\, c + \epsilon}

    This is ``torch.optim.Adam/AdamW``'s arithmetic: its m update is a lerp
    (``exp_avg.lerp_(grad, 1 - beta1)``, which torch evaluates as ``m + (1-beta1)*(g - m)``
    for ``1 - beta1 < 0.5``; this function always uses that form); where torch divides by
    ``sqrt(1 - beta2^t)`` this multiplies by its float64 reciprocal (DeepSpeed's CPU Adam
    folds it the same way), so ``denom`` differs from torch's by at most an ulp. ``(s*m)/denom``
    is evaluated left to right. With AMSGrad ``v_max`` replaces ``v`` under the root. There
    is no ``eps_root`` (torch has none). The weight decay, low-precision and gradient options
    are those of :func:`adam_update`.

    Args, Returns, Raises: as :func:`adam_update`, without ``eps_root`` and ``order``.

    Source: PyTorch's ``torch.optim.Adam`` / ``AdamW`` (the for-loop implementation's order);
    Kingma & Ba, ICLR 2015.
    """
    return _adam("adam_pytorch_update", True, params, grads, exp_avgs, exp_avg_sqs, step=step, lr=lr, beta1=beta1,
                 beta2=beta2, eps=eps, eps_root=0.0, weight_decay=weight_decay, decoupled=decoupled,
                 max_exp_avg_sqs=max_exp_avg_sqs, names=names, grad_scale=grad_scale, max_grad_norm=max_grad_norm,
                 copies=copies, rounding=rounding, seed=seed, first_tensor=first_tensor)


def _adam(func, pytorch, params, grads, exp_avgs, exp_avg_sqs, *, step, lr, beta1, beta2, eps, eps_root,
          weight_decay, decoupled, max_exp_avg_sqs, names, grad_scale, max_grad_norm, copies, rounding, seed,
          first_tensor):
    _checks.check_step(func, step)
    hp = _algorithms.check_hyper(func, _algorithms.Adam, {
        "lr": lr, "beta1": beta1, "beta2": beta2, "eps": eps, "eps_root": eps_root, "weight_decay": weight_decay,
        "decoupled": decoupled, "amsgrad": max_exp_avg_sqs is not None,
        "order": "pytorch" if pytorch else "literal",
    }, params)
    frame = _frame_args(
        func, params, grads,
        (("exp_avgs", exp_avgs), ("exp_avg_sqs", exp_avg_sqs), ("max_exp_avg_sqs", max_exp_avg_sqs)), names,
        grad_scale=grad_scale, max_grad_norm=max_grad_norm, copies=copies, rounding=rounding, seed=seed,
        step=int(step), first_tensor=first_tensor,
    )
    lr, beta1, beta2, eps, eps_root = hp["lr"], hp["beta1"], hp["beta2"], hp["eps"], hp["eps_root"]
    weight_decay, decoupled, step = hp["weight_decay"], hp["decoupled"], int(step)
    bc1 = _bias_correction(beta1, step)       # 1 - beta1^t, float64
    bc2 = _bias_correction(beta2, step)       # 1 - beta2^t, float64
    step_size = lr / bc1                      # pytorch order: float64
    inv_bc2_sqrt = 1.0 / math.sqrt(bc2)       # pytorch order: float64
    for i in range(len(params)):
        w, m, v = frame.load(params[i]), frame.load(exp_avgs[i]), frame.load(exp_avg_sqs[i])
        g = frame.grads[i]
        if weight_decay != 0.0:
            if decoupled:
                w *= 1.0 - lr * weight_decay  # AdamW: w = w * (1 - lr*lambda)
            else:
                g = g + weight_decay * w      # L2: g = g + lambda*w
        if pytorch:
            m += (1.0 - beta1) * (g - m)    # m = m + (1-beta1)*(g - m)
        else:
            m *= beta1
            m += (1.0 - beta1) * g          # m = beta1*m + (1-beta1)*g
        v *= beta2
        v += (1.0 - beta2) * (g * g)        # v = beta2*v + (1-beta2)*g^2
        frame.store(i, 1, exp_avgs[i], m)
        frame.store(i, 2, exp_avg_sqs[i], v)
        if max_exp_avg_sqs is not None:
            vmax = frame.load(max_exp_avg_sqs[i])
            np.maximum(vmax, v, out=vmax)   # v_max = max(v_max, v)
            frame.store(i, 3, max_exp_avg_sqs[i], vmax)
            v = vmax
        if pytorch:
            denom = np.sqrt(v) * inv_bc2_sqrt + eps
            w -= step_size * m / denom      # w = w - step_size * m / denom
        else:
            m_hat = m / bc1
            v_hat = v / bc2
            w -= lr * m_hat / (np.sqrt(v_hat + eps_root) + eps)
        frame.store(i, 0, params[i], w)
        frame.copy_out(i, w)
    return frame.norm


def adagrad_update(params, grads, state_sums, *, step, lr=0.01, lr_decay=0.0, eps=1e-10, weight_decay=0.0,
                   maximize=False, names=None):
    r"""Adagrad, in place; ``step`` is ``t``, 1 on the first update.

    .. math::  g \leftarrow -g \ (\text{maximize}),\qquad g \leftarrow g + \lambda w \ (\lambda = \text{weight\_decay})
    .. math::  s \leftarrow s + g^2,\qquad
               w \leftarrow w - \alpha_t\, \frac{g}{\sqrt{s} + \epsilon},\qquad
               \alpha_t = \frac{\alpha}{1 + (t - 1)\,\text{lr\_decay}}

    ``alpha_t`` is computed in float64 once per step. Negating ``g`` is exact.

    Args:
        params, grads, names: as in :func:`gd_update`.
        state_sums: the sums of squared gradients, one array per parameter (its shape and
            dtype), updated in place; they start at the optimizer's ``initial_accumulator_value``
            (0 by default).
        step: the number of this update, an int >= 1.
        lr: the learning rate (>= 0). Default 0.01. lr_decay: >= 0, default 0. eps: added
            outside the square root (>= 0). Default 1e-10. weight_decay: L2 coefficient (>= 0).
        maximize: ascend instead of descend (bool). Default False.

    Raises: as :func:`adam_update`.

    Source: Duchi, Hazan & Singer, "Adaptive Subgradient Methods for Online Learning and
    Stochastic Optimization" (JMLR 2011); ``torch.optim.Adagrad`` for the options and defaults.
    """
    func = "adagrad_update"
    _checks.check_step(func, step)
    hp = _algorithms.check_hyper(func, _algorithms.Adagrad, {
        "lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay, "maximize": maximize,
    }, params)
    _checks.collect(func, params, grads, (("state_sums", state_sums),), names)
    lr, lr_decay, eps, weight_decay, maximize = (hp["lr"], hp["lr_decay"], hp["eps"], hp["weight_decay"],
                                                 hp["maximize"])
    clr = lr / (1.0 + (int(step) - 1) * lr_decay)  # alpha_t, float64
    for w, g, s in zip(params, grads, state_sums):
        if maximize:
            g = -g                          # g = -g
        if weight_decay != 0.0:
            g = g + weight_decay * w        # g = g + lambda*w
        s += g * g                          # s = s + g^2
        w -= clr * g / (np.sqrt(s) + eps)   # w = w - alpha_t * g / (sqrt(s) + eps)


def ema_update(averages, values, *, beta, step, bias_correction=False, outs=None, names=None):
    r"""Running averages, in place: :math:`v \leftarrow \beta v + (1-\beta)\, x`.

    With ``outs``, each ``outs[i]`` receives the average of this step, divided by
    ``1 - beta**step`` when ``bias_correction`` (``v_0 = 0`` biases early values toward 0).

    Args:
        averages: list of average arrays, updated in place.
        values: the new value for each average (its shape and dtype, any layout).
        beta: in [0, 1). step: the number of this update, an int >= 1.
        bias_correction: bool (needs ``outs``). outs: arrays receiving the step's averages, or None.
        names: as in :func:`gd_update`.

    Raises:
        TypeError: a list that is not a list, an item that is not an array, a non-float or
            non-native dtype, gradients or state of another dtype than their parameter, a
            hyper-parameter of the wrong type (a string, None, a bool for a number; an int for
            a flag).
        ValueError: a hyper-parameter out of range (also ``eps``/``eps_root`` that are 0 in the
            parameters' dtype), lists of different lengths, another shape, a read-only buffer
            that is written, buffers that overlap. Nothing is written before a refusal.

    Source: the course's exponentially weighted averages; bias correction as in Kingma & Ba 2015, section 3.
    """
    func = "ema_update"
    _checks.check_step(func, step)
    hp = _algorithms.check_hyper(func, _algorithms.EMA, {"beta": beta, "bias_correction": bias_correction}, averages)
    beta, bias_correction = hp["beta"], hp["bias_correction"]
    if bias_correction and outs is None:
        raise ValueError(f"{func}: bias_correction=True needs outs to write the corrected averages into")
    _checks.collect(func, averages, values, (("outs", outs),), names, grads_name="values", params_name="averages")
    step = int(step)
    c = _bias_correction(beta, step)
    for i in range(len(averages)):
        v, x = averages[i], values[i]
        v *= beta
        v += (1.0 - beta) * x                # v = beta*v + (1-beta)*x
        if outs is not None:
            if bias_correction:
                np.divide(v, c, out=outs[i])  # v / (1 - beta^t)
            else:
                outs[i][...] = v


def ewma(series, beta, bias_correction=True, axis=-1):
    r"""Exponentially weighted average of whole series along ``axis`` (many series at once).

    .. math::  v_0 = 0,\quad v_t = \beta v_{t-1} + (1-\beta)\,\theta_t,\quad
               \text{result}_t = v_t / (1 - \beta^t) \text{ (bias correction) or } v_t

    It averages over roughly ``1/(1-beta)`` recent values. float32 input gives float32,
    float64 gives float64, other real dtypes are averaged in float64. Returns a new
    C-contiguous array of the input's shape.
    """
    x = _checks.prepare_series("ewma", series, beta)
    bias_correction = _checks.check_flag("ewma", "bias_correction", bias_correction)
    beta = float(beta)
    axis = _checks.normalize_axis(axis, x.ndim)
    if x.size == 0:
        return np.empty(x.shape, x.dtype)  # nothing to average (the time axis may still be huge)
    xt = np.moveaxis(x, axis, -1)
    out = np.empty(xt.shape, x.dtype)
    v = np.zeros(xt.shape[:-1], x.dtype)
    for t in range(xt.shape[-1]):
        v = beta * v + (1.0 - beta) * xt[..., t]
        out[..., t] = v / _bias_correction(beta, t + 1) if bias_correction else v
    return np.ascontiguousarray(np.moveaxis(out, -1, axis))


def all_finite(arrays):
    """True when no array of the list holds a NaN or an infinity (``np.isfinite`` on each).
    float32, float64, bfloat16 (``ml_dtypes.bfloat16``) or float16 arrays."""
    _checks.require_list("all_finite", "arrays", arrays)
    for i, a in enumerate(arrays):
        _checks._require_float_array("all_finite", a, "arrays", i, None, _checks.MIXED.params())
    return all(bool(np.isfinite(a).all()) for a in arrays)


def prepare(update, params, *state, **options):
    """``update`` with its arrays and hyper-parameters bound: a callable ``run(grads, step=1,
    outs=None)`` that calls ``update(params, grads, *state, step=step, outs=outs, **options)``
    (``step`` only for Adam and the EMA, ``outs`` only for the EMA). The same interface as
    :func:`simdoptim.functional.prepare`, whose calls it specifies; this one checks the
    arguments at every call.

    Raises: TypeError when ``update`` is not one of this module's updates.
    """
    if update not in _PREPARABLE:
        raise TypeError(f"prepare: update must be one of {', '.join(f.__name__ for f in _PREPARABLE)} of "
                        f"simdoptim.reference, got {update!r}")
    stepped = update in (gd_update, momentum_update, rmsprop_update, adam_update, adam_pytorch_update, adagrad_update,
                          ema_update)

    def run(grads, step=1, outs=None, grad_scale=None):
        extra = {"step": step} if stepped else {}
        if outs is not None or update is ema_update:
            extra["outs"] = outs
        if grad_scale is not None:
            extra["grad_scale"] = grad_scale
        return update(params, grads, *state, **options, **extra)

    return run


_PREPARABLE = (gd_update, momentum_update, rmsprop_update, adam_update, adam_pytorch_update, adagrad_update, ema_update)


# ---------------------------------------------------------------------------------------
# The optimizer classes: the one class per algorithm, bound to the functions above.

#: update function of each algorithm (by its kernel's name)
UPDATES = {"gd": gd_update, "momentum": momentum_update, "rmsprop": rmsprop_update, "adam": adam_update,
           "adagrad": adagrad_update,
           "ema": ema_update}


def _plan(cls, func, params, states, groups, num_groups, labels, copies=None):
    return PythonPlan(func, UPDATES[cls.op], cls.kwargs_of, cls.stepped, cls.states, params, states, groups,
                      num_groups, labels, copies=copies, lowp=cls.lowp)


#: the NumPy backend of the optimizer classes
_BACKEND = Backend("reference", _plan)

GD = _algorithms.GD.using(_BACKEND, __name__)
Momentum = _algorithms.Momentum.using(_BACKEND, __name__)
RMSprop = _algorithms.RMSprop.using(_BACKEND, __name__)
Adam = _algorithms.Adam.using(_BACKEND, __name__)
Adagrad = _algorithms.Adagrad.using(_BACKEND, __name__)
EMA = _algorithms.EMA.using(_BACKEND, __name__)


# ---------------------------------------------------------------------------------------
# Mini-batches: a gather of examples by index, and one epoch of shuffled
# mini-batches built on it. The permutation always comes from a NumPy Generator, so the
# fast backend (simdoptim.batching) sees the same stream and yields the same batches.

def take(X, indices, axis=0, out=None):
    r"""The examples of ``X`` at ``indices`` along ``axis``: ``np.take(X, indices, axis=axis)``.

    ``X`` is 1-D or 2-D: ``axis=0`` gathers rows (the ``(m, n_x)`` layout), ``axis=1`` or
    ``-1`` gathers columns (the course's ``(n_x, m)`` layout). ``indices`` is a 1-D int32
    or int64 array; as in NumPy, repeated indices repeat and negative ones count from the
    end (``-1`` is the last example). An index outside ``[-m, m)`` raises ``IndexError``
    before anything is written. With ``out`` (the result's shape, ``X``'s dtype, not
    overlapping ``X`` or ``indices``) the result is written there and ``out`` returned.
    Lists of indices, other index dtypes and ``axis=None`` are refused rather than
    converted.
    """
    axis, _ = _checks.check_take_args(X, indices, axis, out)
    return np.take(X, indices, axis=axis, out=out)


class MiniBatches:
    r"""One epoch of mini-batches, as an iterable.

    ``for X_batch, Y_batch in MiniBatches(X, Y, batch_size=64, seed=0): ...`` (or
    ``for X_batch in MiniBatches(X)`` without ``Y``). Each new iteration is one epoch: it
    draws a permutation of the ``m`` examples from a ``np.random.Generator``
    (``seed`` is an int, a Generator — shared, so its stream continues — or None for fresh
    entropy) and cuts it into consecutive batches of ``batch_size`` examples, the last one
    holding the ``m mod batch_size`` left over (dropped with ``drop_last=True``). Every
    example is visited exactly once per epoch. ``shuffle=False`` keeps the original order.
    ``batch_size=m`` is batch gradient descent, ``batch_size=1`` stochastic gradient descent.

    ``axis`` is where the examples are: ``0`` for ``X`` of shape ``(m, n_x)`` (rows),
    ``1`` or ``-1`` for the course's ``(n_x, m)`` (columns; for X of more dimensions, the
    first or the last axis). ``Y`` is ``(m,)``, or has two or more dimensions and its
    examples on the same axis as X: ``(m, k)`` for rows, ``(1, m)`` or ``(k, m)`` for
    columns. Batches are new C-contiguous arrays, ``X_batch = take(X, idx, axis)``.

    ``reuse_buffers=True``: the batches are views of two buffers allocated once, so an
    epoch allocates nothing per batch; each yielded batch is then **overwritten by the
    next one** (copy it if you keep it past the next iteration).

    ``len()`` is the number of batches in an epoch.
    """

    def __init__(self, X, Y=None, batch_size=64, *, axis=0, shuffle=True, seed=None, drop_last=False,
                 reuse_buffers=False):
        func = "MiniBatches"
        self._X, self.axis = _checks.check_examples(func, "X", X, axis)
        self.num_examples = X.shape[self.axis]
        self._Y, self._y_axis = None, None
        if Y is not None:
            y_axis = 0 if getattr(Y, "ndim", 0) == 1 else (self.axis and -1)
            self._Y, self._y_axis = _checks.check_examples(func, "Y", Y, y_axis)
            if Y.shape[self._y_axis] != self.num_examples:
                where = "rows" if self._y_axis == 0 else "columns"
                raise ValueError(
                    f"{func}: Y has shape {Y.shape} but X has {self.num_examples} examples (axis {self.axis}); "
                    f"Y must have {self.num_examples} {where}"
                )
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
            raise TypeError(f"{func}: batch_size must be an int, got {type(batch_size).__name__}")
        if batch_size < 1:
            raise ValueError(f"{func}: batch_size must be >= 1, got {batch_size}")
        for name, flag in (("shuffle", shuffle), ("drop_last", drop_last), ("reuse_buffers", reuse_buffers)):
            if not isinstance(flag, (bool, np.bool_)):
                raise TypeError(f"{func}: {name} must be True or False, got {type(flag).__name__}")
        if not (seed is None or isinstance(seed, np.random.Generator)
                or (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool))):
            raise TypeError(f"{func}: seed must be None, an int or a numpy.random.Generator, got {type(seed).__name__}")
        self.batch_size = int(batch_size)
        self.shuffle = _checks.check_flag(func, "shuffle", shuffle)
        self.drop_last = _checks.check_flag(func, "drop_last", drop_last)
        self.reuse_buffers = _checks.check_flag(func, "reuse_buffers", reuse_buffers)
        self.rng = np.random.default_rng(seed)  # a Generator passed in is used as is
        self._x_buffer = self._y_buffer = None
        if self.reuse_buffers:
            b = min(self.batch_size, self.num_examples)
            self._x_buffer = np.empty(X.size // max(self.num_examples, 1) * b, X.dtype)
            if self._Y is not None:
                self._y_buffer = np.empty(Y.size // max(self.num_examples, 1) * b, Y.dtype)

    def __len__(self):
        m, b = self.num_examples, self.batch_size
        return m // b if self.drop_last else -(-m // b)

    def __iter__(self):
        # The permutation is drawn here, when the epoch starts, not at the first batch.
        m = self.num_examples
        order = self.rng.permutation(m) if self.shuffle else np.arange(m)
        return self._epoch(order)

    def _epoch(self, order):
        for k in range(len(self)):
            idx = order[k * self.batch_size:(k + 1) * self.batch_size]
            xb = self._gather(self._X, idx, self.axis, self._x_buffer)
            if self._Y is None:
                yield xb
            else:
                yield xb, self._gather(self._Y, idx, self._y_axis, self._y_buffer)

    @classmethod
    def _gather(cls, A, idx, axis, buffer):
        out = None
        if buffer is not None:
            shape = list(A.shape)
            shape[axis] = idx.shape[0]
            out = buffer[:A.size // A.shape[axis] * idx.shape[0]].reshape(shape)
        return cls._take(A, idx, axis, out)

    @staticmethod
    def _take(A, idx, axis, out):
        return np.take(A, idx, axis=axis, out=out)

    def __repr__(self):
        return (f"{type(self).__name__}(m={self.num_examples}, batch_size={self.batch_size}, axis={self.axis}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, batches={len(self)})")
