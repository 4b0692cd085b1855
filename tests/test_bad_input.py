"""Bad input at every public entry point: a Python exception naming the argument, raised
before anything is written.

The table ``CASES`` is the contract (README, "Reliability"): each row builds its arguments
for one backend, makes ONE bad call, and states the exception type and a substring of the
message that names the argument. Every row runs against the fast backend and the NumPy
reference, which must raise the same type; every array involved (and the optimizer's
state) must be byte-identical afterwards, and an optimizer must still step exactly like a
fresh one.
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest

import simdoptim
from simdoptim import functional, reference

FAST = types.SimpleNamespace(
    name="fast",
    **{k: getattr(functional, k) for k in functional.__all__},
    **{k: getattr(simdoptim, k) for k in ("GD", "Momentum", "RMSprop", "Adam", "Adagrad", "EMA", "take", "MiniBatches")},
)
REF = types.SimpleNamespace(name="reference", **{k: getattr(reference, k) for k in reference.__all__})
BACKENDS = [FAST, REF]


def f32(*shape, value=1.0):
    return np.full(shape, value, np.float32)


def adam_args(p=None, g=None, m=None, v=None):
    p = f32(7) if p is None else p
    g = f32(7, value=0.5) if g is None else g
    m = np.zeros_like(p) if m is None else m
    v = np.zeros_like(p) if v is None else v
    return [p], [g], [m], [v]


@dataclass
class Call:
    """What one row runs: ``fn()`` must raise; ``arrays`` must not change; ``opt`` (if any)
    must keep its state and still step like a fresh optimizer built by ``fresh()``."""

    fn: Callable
    arrays: list
    opt: object = None
    fresh: Callable = None
    good_grads: Callable = None


def functional_call(update, args, **kw):
    lists = list(args)
    arrays = [a for lst in lists if isinstance(lst, list) for a in lst if isinstance(a, np.ndarray)]
    return Call(lambda: update(*lists, **kw), arrays)


def adam_update_call(B, **kw):
    args = kw.pop("args", None) or adam_args()
    kw.setdefault("step", 1)
    return functional_call(B.adam_update, args, **kw)


def opt_call(B, action, params=None, cls="Adam", **ctor):
    params = {"W": f32(3, 4), "b": np.zeros(4, np.float32)} if params is None else params

    def make():
        return getattr(B, cls)({k: v.copy() for k, v in params.items()}, **ctor)

    opt = getattr(B, cls)(params, **ctor)
    good = lambda: {"dW": f32(3, 4, value=0.25), "db": f32(4, value=-0.5)}  # noqa: E731
    opt.step(good())  # state is non-zero before the bad call
    return Call(lambda: action(opt), list(params.values()), opt, make, good)


def ctor_call(B, make_params, cls="Adam", **ctor):
    params = make_params()
    arrays = [a for a in (params.values() if isinstance(params, dict) else params if isinstance(params, list) else [params])
              if isinstance(a, np.ndarray)]
    return Call(lambda: getattr(B, cls)(params, **ctor), arrays)


def overlapping_pair():
    buf = np.ones(16, np.float32)
    return buf[0:8], buf[4:12]


def readonly(a):
    a.flags.writeable = False
    return a


def big_endian(a):
    return a.astype(a.dtype.newbyteorder(">"))


@dataclass
class Case:
    name: str
    make: Callable
    exc: type
    text: str


CASES = [
    # ---- functional updates: arrays
    Case("grad dtype differs from param", lambda B: adam_update_call(B, args=adam_args(g=np.ones(7))), TypeError, "grads[0]"),
    Case("integer params", lambda B: adam_update_call(B, args=adam_args(p=np.ones(7, np.int32), m=f32(7), v=f32(7))),
         TypeError, "params[0]"),
    Case("complex grads", lambda B: adam_update_call(B, args=adam_args(g=np.ones(7, np.complex64))), TypeError, "grads[0]"),
    Case("float16 averages (no low-precision kernels)", lambda B: functional_call(
        B.ema_update, ([np.ones(7, np.float16)], [np.ones(7, np.float16)]), beta=0.9, step=1), TypeError,
         "averages[0]"),
    Case("float16 grads of float16 params with float32 velocities", lambda B: functional_call(
        B.momentum_update, ([np.ones(7, np.float16)], [np.ones(7, np.float32)], [np.zeros(7, np.float32)]), lr=0.1),
         TypeError, "grads[0]"),
    Case("float16 grads of float64 params", lambda B: adam_update_call(
        B, args=adam_args(p=np.ones(7), g=np.ones(7, np.float16), m=np.zeros(7), v=np.zeros(7))), TypeError, "grads[0]"),
    Case("float64 params with float16 state", lambda B: adam_update_call(
        B, args=adam_args(p=np.ones(7), g=np.ones(7), m=np.zeros(7, np.float16), v=np.zeros(7, np.float16))),
         TypeError, "exp_avgs[0]"),
    Case("state buffers of two dtypes", lambda B: adam_update_call(
        B, args=adam_args(m=np.zeros(7, np.float16))), TypeError, "exp_avg_sqs[0]"),
    Case("non-native byte order", lambda B: adam_update_call(B, args=adam_args(p=big_endian(f32(7)), g=big_endian(f32(7)),
                                                                              m=big_endian(f32(7)), v=big_endian(f32(7)))),
         TypeError, "params[0]"),
    Case("non-native byte order of a gradient", lambda B: adam_update_call(B, args=adam_args(g=big_endian(f32(7)))),
         TypeError, "grads[0] has non-native byte order (>f4); convert it with .astype(float32)"),
    Case("shape mismatch", lambda B: adam_update_call(B, args=adam_args(g=f32(6))), ValueError, "grads[0]"),
    Case("state shape mismatch", lambda B: adam_update_call(B, args=adam_args(v=f32(8))), ValueError, "exp_avg_sqs[0]"),
    Case("list lengths differ", lambda B: functional_call(B.adam_update, ([f32(3), f32(3)], [f32(3)], [f32(3), f32(3)],
                                                                         [f32(3), f32(3)]), step=1), ValueError, "grads"),
    Case("grad is the param", lambda B: (lambda p: adam_update_call(B, args=adam_args(p=p, g=p)))(f32(7)), ValueError,
         "params[0] is the same memory as grads[0]"),
    Case("grad overlaps the param", lambda B: (lambda pg: adam_update_call(B, args=adam_args(p=pg[0], g=pg[1])))(
        overlapping_pair()), ValueError, "overlaps"),
    Case("state is the param", lambda B: (lambda p: adam_update_call(B, args=adam_args(p=p, m=p)))(f32(7)), ValueError,
         "the same memory as"),
    Case("two params share memory", lambda B: (lambda p: functional_call(B.gd_update, ([p, p], [f32(7), f32(7)]), lr=0.1))(
        f32(7)), ValueError, "params[1]"),
    Case("read-only param", lambda B: adam_update_call(B, args=adam_args(p=readonly(f32(7)))), ValueError, "params[0]"),
    Case("read-only state", lambda B: adam_update_call(B, args=adam_args(m=readonly(f32(7)))), ValueError, "exp_avgs[0]"),
    Case("None as a gradient", lambda B: functional_call(B.gd_update, ([f32(3)], [None]), lr=0.1), TypeError, "grads[0]"),
    Case("a list as a gradient", lambda B: functional_call(B.gd_update, ([f32(3)], [[1.0, 2.0, 3.0]]), lr=0.1), TypeError,
         "grads[0]"),
    Case("grads is None", lambda B: functional_call(B.gd_update, ([f32(3)], None), lr=0.1), TypeError, "grads"),
    Case("params is a dict", lambda B: functional_call(B.gd_update, ({"w": f32(3)}, [f32(3)]), lr=0.1), TypeError, "params"),
    # ---- functional updates: hyper-parameters
    Case("lr < 0", lambda B: adam_update_call(B, lr=-0.1), ValueError, "lr"),
    Case("lr NaN", lambda B: adam_update_call(B, lr=float("nan")), ValueError, "lr"),
    Case("lr infinite", lambda B: functional_call(B.gd_update, ([f32(3)], [f32(3)]), lr=float("inf")), ValueError, "lr"),
    Case("lr a string", lambda B: adam_update_call(B, lr="0.1"), TypeError, "lr"),
    Case("beta1 = 1", lambda B: adam_update_call(B, beta1=1.0), ValueError, "beta1"),
    Case("beta2 < 0", lambda B: adam_update_call(B, beta2=-0.1), ValueError, "beta2"),
    Case("beta2 NaN", lambda B: adam_update_call(B, beta2=float("nan")), ValueError, "beta2"),
    Case("eps < 0", lambda B: adam_update_call(B, eps=-1e-8), ValueError, "eps"),
    Case("eps_root NaN", lambda B: adam_update_call(B, eps_root=float("nan")), ValueError, "eps_root"),
    Case("weight_decay infinite", lambda B: adam_update_call(B, weight_decay=float("inf")), ValueError, "weight_decay"),
    Case("step 0", lambda B: adam_update_call(B, step=0), ValueError, "step"),
    Case("momentum beta = 1", lambda B: functional_call(B.momentum_update, ([f32(3)], [f32(3)], [f32(3)]), lr=0.1, beta=1.0),
         ValueError, "beta"),
    Case("momentum form unknown", lambda B: functional_call(B.momentum_update, ([f32(3)], [f32(3)], [f32(3)]), lr=0.1,
                                                            form="nesterov"), ValueError, "form"),
    Case("rmsprop momentum without buffers", lambda B: functional_call(B.rmsprop_update, ([f32(3)], [f32(3)], [f32(3)]),
                                                                       lr=0.1, momentum=0.9), ValueError, "momentum_buffers"),
    Case("adagrad_update lr_decay < 0", lambda B: functional_call(B.adagrad_update, ([f32(3)], [f32(3)], [f32(3)]),
                                                                  step=1, lr_decay=-0.1), ValueError, "lr_decay"),
    Case("adagrad_update step 0", lambda B: functional_call(B.adagrad_update, ([f32(3)], [f32(3)], [f32(3)]), step=0),
         ValueError, "step"),
    Case("ctor Adagrad eps and initial_accumulator_value 0", lambda B: ctor_call(
        B, lambda: [f32(3)], cls="Adagrad", eps=0.0), ValueError, "eps"),
    Case("ema_update beta = 1", lambda B: functional_call(B.ema_update, ([f32(3)], [f32(3)]), beta=1.0, step=1), ValueError,
         "beta"),
    Case("ewma axis out of range", lambda B: Call(lambda: B.ewma(np.ones((2, 3)), 0.9, axis=2), []), IndexError, "axis"),
    Case("ewma beta > 1", lambda B: Call(lambda: B.ewma(np.ones(3), 1.5), []), ValueError, "beta"),
    Case("ewma of strings", lambda B: Call(lambda: B.ewma(np.array(["a", "b"]), 0.9), []), TypeError, "series"),
    Case("all_finite of ints", lambda B: Call(lambda: B.all_finite([np.ones(3, np.int64)]), []), TypeError, "arrays[0]"),
    # ---- mini-batches: take checks every index before it writes into out
    Case("take index out of range", lambda B: _take_call(B, idx=np.array([0, 2, 5])), IndexError, "indices[2]"),
    Case("take negative index out of range", lambda B: _take_call(B, idx=np.array([1, 0, -6], np.int32)), IndexError,
         "indices[2] = -6"),
    Case("take float indices", lambda B: _take_call(B, idx=np.array([0.0, 1.0])), TypeError, "indices"),
    Case("take out of another dtype", lambda B: _take_call(B, out=np.zeros((3, 2))), TypeError, "out"),
    Case("take out of another shape", lambda B: _take_call(B, out=f32(2, 3)), ValueError, "out"),
    Case("take axis out of range", lambda B: _take_call(B, axis=2), IndexError, "axis"),
    Case("MiniBatches Y of another length", lambda B: Call(lambda: B.MiniBatches(f32(5, 2), f32(4)), []), ValueError, "Y"),
    Case("MiniBatches batch_size 0", lambda B: Call(lambda: B.MiniBatches(f32(5, 2), batch_size=0), []), ValueError,
         "batch_size"),
    # ---- optimizer classes: construction
    Case("ctor lr < 0", lambda B: ctor_call(B, lambda: [f32(3)], lr=-1.0), ValueError, "lr"),
    Case("ctor lr NaN", lambda B: ctor_call(B, lambda: [f32(3)], lr=float("nan")), ValueError, "lr"),
    Case("ctor beta2 = 1", lambda B: ctor_call(B, lambda: [f32(3)], cls="Adam", beta2=1.0), ValueError, "beta2"),
    Case("ctor weight_decay < 0", lambda B: ctor_call(B, lambda: [f32(3)], cls="GD", weight_decay=-1.0), ValueError,
         "weight_decay"),
    Case("ctor eps < 0", lambda B: ctor_call(B, lambda: [f32(3)], cls="RMSprop", eps=-1.0), ValueError, "eps"),
    Case("ctor integer params", lambda B: ctor_call(B, lambda: [np.ones(3, np.int64)]), TypeError, "params[0]"),
    Case("ctor params None", lambda B: ctor_call(B, lambda: None), TypeError, "params"),
    Case("ctor params a string", lambda B: ctor_call(B, lambda: "W1"), TypeError, "params"),
    Case("ctor non-str dict key", lambda B: ctor_call(B, lambda: {1: f32(3)}), TypeError, "keys"),
    Case("ctor read-only param", lambda B: ctor_call(B, lambda: {"W": readonly(f32(3))}), ValueError, "params['W']"),
    Case("ctor same array twice", lambda B: (lambda p: ctor_call(B, lambda: [p, p]))(f32(3)), ValueError, "params[1]"),
    Case("ctor nonfinite unknown", lambda B: ctor_call(B, lambda: [f32(3)], nonfinite="ignore"), ValueError, "nonfinite"),
    Case("ctor momentum form unknown", lambda B: ctor_call(B, lambda: [f32(3)], cls="Momentum", form="x"), ValueError, "form"),
    Case("EMA beta = 1", lambda B: Call(lambda: B.EMA(1.0), []), ValueError, "beta"),
    # ---- optimizer classes: step
    Case("step grad dtype differs", lambda B: opt_call(B, lambda o: o.step({"dW": np.ones((3, 4)), "db": f32(4)})),
         TypeError, "grads['W']"),
    Case("step grad shape differs", lambda B: opt_call(B, lambda o: o.step({"dW": f32(4, 3), "db": f32(4)})),
         ValueError, "grads['W']"),
    Case("step missing dict key", lambda B: opt_call(B, lambda o: o.step({"dW": f32(3, 4)})), KeyError, "'b'"),
    Case("step list for dict params", lambda B: opt_call(B, lambda o: o.step([f32(3, 4), f32(4)])), TypeError, "grads"),
    Case("step grads None", lambda B: opt_call(B, lambda o: o.step(None)), TypeError, "grads"),
    Case("step None gradient", lambda B: opt_call(B, lambda o: o.step({"dW": None, "db": f32(4)})), TypeError,
         "grads['W']"),
    Case("step grad is the param", lambda B: opt_call(B, lambda o: o.step({"dW": o.params["W"], "db": f32(4)})),
         ValueError, "params['W'] is the same memory as grads['W']"),
    Case("step list length differs", lambda B: _list_opt_call(B, lambda o: o.step([f32(3)])), ValueError, "grads"),
    Case("skip mode still checks args", lambda B: opt_call(B, lambda o: o.step({"dW": np.full((3, 4), np.nan), "db": f32(4)}),
                                                            nonfinite="skip"), TypeError, "grads['W']"),
    Case("raise mode names the tensor", lambda B: opt_call(B, lambda o: o.step({"dW": f32(3, 4), "db": f32(4, value=np.inf)}),
                                                            nonfinite="raise"), FloatingPointError, "grads['b']"),
    Case("set lr NaN", lambda B: opt_call(B, lambda o: setattr(o, "lr", float("nan"))), ValueError, "lr"),
    Case("set lr a string", lambda B: opt_call(B, lambda o: setattr(o, "lr", "fast")), TypeError, "lr"),
    Case("EMA shape changes", lambda B: _ema_call(B, lambda e: e.update(f32(4))), ValueError, "x[0]"),
    # ---- wrong types at every public function: the same exception, naming the argument, on both backends
    Case("adam_update step a float", lambda B: adam_update_call(B, step=3.0), TypeError, "step"),
    Case("adam_update step a bool", lambda B: adam_update_call(B, step=True), TypeError, "step"),
    Case("adam_update beta1 None", lambda B: adam_update_call(B, beta1=None), TypeError, "beta1"),
    Case("adam_update decoupled an int", lambda B: adam_update_call(B, decoupled=1), TypeError, "decoupled"),
    Case("adam_update eps a string", lambda B: adam_update_call(B, eps="1e-8"), TypeError, "eps"),
    Case("adam_update names a string", lambda B: adam_update_call(B, names="W"), TypeError, "names"),
    Case("gd_update lr a list", lambda B: functional_call(B.gd_update, ([f32(3)], [f32(3)]), lr=[0.1]), TypeError, "lr"),
    Case("gd_update weight_decay a bool", lambda B: functional_call(B.gd_update, ([f32(3)], [f32(3)]), lr=0.1,
                                                                    weight_decay=True), TypeError, "weight_decay"),
    Case("momentum_update nesterov a string", lambda B: functional_call(B.momentum_update, ([f32(3)], [f32(3)], [f32(3)]),
                                                                        lr=0.1, nesterov="no"), TypeError, "nesterov"),
    Case("momentum_update form an int", lambda B: functional_call(B.momentum_update, ([f32(3)], [f32(3)], [f32(3)]),
                                                                  lr=0.1, form=1), ValueError, "form"),
    Case("rmsprop_update momentum a string", lambda B: functional_call(B.rmsprop_update, ([f32(3)], [f32(3)], [f32(3)]),
                                                                       lr=0.1, momentum="0.9"), TypeError, "momentum"),
    Case("ema_update bias_correction an int", lambda B: functional_call(B.ema_update, ([f32(3)], [f32(3)]), beta=0.9,
                                                                        step=1, bias_correction=1), TypeError,
         "bias_correction"),
    Case("ema_update step a float", lambda B: functional_call(B.ema_update, ([f32(3)], [f32(3)]), beta=0.9, step=1.0),
         TypeError, "step"),
    Case("ewma axis a float", lambda B: Call(lambda: B.ewma(np.ones((2, 3)), 0.9, axis=1.0), []), TypeError, "axis"),
    Case("ewma beta a string", lambda B: Call(lambda: B.ewma(np.ones(3), "0.9"), []), TypeError, "beta"),
    Case("ewma bias_correction a string", lambda B: Call(lambda: B.ewma(np.ones(3), 0.9, bias_correction="yes"), []),
         TypeError, "bias_correction"),
    Case("all_finite of None", lambda B: Call(lambda: B.all_finite(None), []), TypeError, "arrays"),
    Case("take X a list", lambda B: Call(lambda: B.take([[1.0, 2.0]], np.array([0])), []), TypeError, "X"),
    Case("take axis a float", lambda B: _take_call(B, axis=1.0), TypeError, "axis"),
    Case("take out a list", lambda B: Call(lambda: B.take(f32(5, 2), np.array([0]), 0, [[0.0, 0.0]]), []), TypeError, "out"),
    Case("MiniBatches batch_size a float", lambda B: Call(lambda: B.MiniBatches(f32(5, 2), batch_size=2.0), []),
         TypeError, "batch_size"),
    Case("MiniBatches seed a string", lambda B: Call(lambda: B.MiniBatches(f32(5, 2), seed="0"), []), TypeError, "seed"),
    Case("MiniBatches shuffle an int", lambda B: Call(lambda: B.MiniBatches(f32(5, 2), shuffle=1), []), TypeError,
         "shuffle"),
    Case("MiniBatches X a list", lambda B: Call(lambda: B.MiniBatches([[1.0, 2.0]]), []), TypeError, "X"),
    Case("ctor lr a string", lambda B: ctor_call(B, lambda: [f32(3)], lr="0.1"), TypeError, "lr"),
    Case("ctor amsgrad an int", lambda B: ctor_call(B, lambda: [f32(3)], amsgrad=1), TypeError, "amsgrad"),
    Case("ctor beta None", lambda B: ctor_call(B, lambda: [f32(3)], cls="Momentum", beta=None), TypeError, "beta"),
    Case("ctor centered a string", lambda B: ctor_call(B, lambda: [f32(3)], cls="RMSprop", centered="yes"), TypeError,
         "centered"),
    Case("ctor weight_decay a list", lambda B: ctor_call(B, lambda: [f32(3)], cls="GD", weight_decay=[0.1]), TypeError,
         "weight_decay"),
    Case("EMA beta a string", lambda B: Call(lambda: B.EMA("0.9"), []), TypeError, "beta"),
    Case("EMA bias_correction an int", lambda B: Call(lambda: B.EMA(0.9, bias_correction=1), []), TypeError,
         "bias_correction"),
    Case("EMA.update of a string", lambda B: _ema_call(B, lambda e: e.update("1.0")), TypeError, "x"),
    Case("set beta1 a string", lambda B: opt_call(B, lambda o: setattr(o, "beta1", "0.9")), TypeError, "beta1"),
    Case("group lr a string", lambda B: opt_call(B, lambda o: o.param_groups[0].__setitem__("lr", "0.1")), TypeError,
         "lr"),
    Case("load_state_dict of a list", lambda B: opt_call(B, lambda o: o.load_state_dict([1, 2])), TypeError, "state"),
    Case("prepare of another function", lambda B: Call(lambda: B.prepare(np.add, [f32(3)]), []), TypeError, "update"),
    Case("prepare lr < 0", lambda B: Call(lambda: B.prepare(B.gd_update, [f32(3)], lr=-1.0)([f32(3)]), []),
         ValueError, "lr"),
    Case("prepared call grad shape differs", lambda B: (lambda p: Call(
        lambda: B.prepare(B.gd_update, p, lr=0.1)([f32(4)]), p))([f32(3)]), ValueError, "grads[0]"),
    # ---- hyper-parameters that vanish in the parameters' dtype (eps = 1e-46 is 0 in float32)
    Case("adam_update eps 0 in float32", lambda B: adam_update_call(B, eps=1e-46), ValueError, "eps"),
    Case("adam_update eps and eps_root 0", lambda B: adam_update_call(B, eps=0.0), ValueError, "eps"),
    Case("rmsprop_update eps 0 in float32", lambda B: functional_call(B.rmsprop_update, ([f32(3)], [f32(3)], [f32(3)]),
                                                                      lr=0.1, eps=1e-46), ValueError, "float32"),
    Case("ctor Adam eps 0 in float32", lambda B: ctor_call(B, lambda: [f32(3)], eps=1e-46), ValueError, "eps"),
    Case("ctor RMSprop eps 0 in float32", lambda B: ctor_call(B, lambda: [f32(3)], cls="RMSprop", eps=1e-46),
         ValueError, "float32"),
    Case("set eps 0 in float32", lambda B: opt_call(B, lambda o: setattr(o, "eps", 1e-46)), ValueError, "eps"),
    Case("group eps 0 in float32", lambda B: opt_call(B, lambda o: o.param_groups[0].__setitem__("eps", 1e-46)),
         ValueError, "float32"),
    Case("EMA complex values", lambda B: _ema_call(B, lambda e: e.update(np.ones(3, np.complex128))), TypeError, "x"),
    # ---- mixed precision: options and their arrays
    Case("adam_pytorch_update rounding unknown", lambda B: functional_call(B.adam_pytorch_update, adam_args(), step=1,
                                                                           rounding="up"), ValueError, "rounding"),
    Case("adam_update order unknown", lambda B: adam_update_call(B, order="keras"), ValueError, "order"),
    Case("adam_update eps_root with pytorch order", lambda B: adam_update_call(B, order="pytorch", eps_root=1e-8),
         ValueError, "eps_root"),
    Case("adam_update grad_scale 0", lambda B: adam_update_call(B, grad_scale=0.0), ValueError, "grad_scale"),
    Case("adam_update grad_scale a string", lambda B: adam_update_call(B, grad_scale="2"), TypeError, "grad_scale"),
    Case("adam_update max_grad_norm < 0", lambda B: adam_update_call(B, max_grad_norm=-1.0), ValueError,
         "max_grad_norm"),
    Case("adam_update seed < 0", lambda B: adam_update_call(B, seed=-1), ValueError, "seed"),
    Case("adam_update seed a float", lambda B: adam_update_call(B, seed=1.5), TypeError, "seed"),
    Case("adam_update copy of a float32 dtype", lambda B: adam_update_call(B, copies=[f32(7)]), TypeError, "copies[0]"),
    Case("adam_update copy of another shape", lambda B: adam_update_call(B, copies=[np.zeros(6, np.float16)]),
         ValueError, "copies[0]"),
    Case("adam_update copy of a float16 param", lambda B: adam_update_call(
        B, args=adam_args(p=np.ones(7, np.float16), g=np.ones(7, np.float16)), copies=[np.zeros(7, np.float16)]),
         TypeError, "copies[0]"),
    Case("adam_update copy is the grad", lambda B: (lambda g: adam_update_call(
        B, args=adam_args(p=f32(7), g=g), copies=[g]))(np.ones(7, np.float16)), ValueError, "copies[0]"),
    Case("round_to an integer dtype", lambda B: Call(lambda: B.round_to(f32(3), np.int16), []), TypeError, "dtype"),
    Case("round_to rounding unknown", lambda B: Call(lambda: B.round_to(f32(3), np.float16, "down"), []), ValueError,
         "rounding"),
    Case("round_to stream 4", lambda B: Call(lambda: B.round_to(f32(3), np.float16, "stochastic", stream=4), []),
         ValueError, "stream"),
    Case("grad_norm of a tuple of lists", lambda B: Call(lambda: B.grad_norm(([1.0],)), []), TypeError, "grads[0]"),
    Case("grad_norm grad_scale NaN", lambda B: Call(lambda: B.grad_norm([f32(3)], float("nan")), []), ValueError,
         "grad_scale"),
    Case("ctor state_dtype int8", lambda B: ctor_call(B, lambda: [f32(3)], state_dtype=np.int8), TypeError,
         "state_dtype"),
    Case("ctor rounding unknown", lambda B: ctor_call(B, lambda: [f32(3)], rounding="even"), ValueError, "rounding"),
    Case("ctor master_weights an int", lambda B: ctor_call(B, lambda: [f32(3)], master_weights=1), TypeError,
         "master_weights"),
    Case("ctor max_grad_norm NaN", lambda B: ctor_call(B, lambda: [f32(3)], max_grad_norm=float("nan")), ValueError,
         "max_grad_norm"),
    Case("ctor GD state_dtype (no state)", lambda B: ctor_call(B, lambda: [f32(3)], cls="GD", lr=0.1,
                                                               state_dtype="float16"), TypeError, "state_dtype"),
    Case("ctor GD group max_grad_norm < 0", lambda B: ctor_call(B, lambda: [{"params": [f32(3)], "max_grad_norm": -1.0}],
                                                                cls="GD", lr=0.1), ValueError, "max_grad_norm"),
    Case("gd_update step 0", lambda B: functional_call(B.gd_update, ([f32(3)], [f32(3)]), lr=0.1, step=0), ValueError,
         "step"),
    Case("rmsprop_update copy of a float64 param", lambda B: functional_call(
        B.rmsprop_update, ([np.ones(3)], [np.ones(3)], [np.zeros(3)]), lr=0.1, copies=[np.zeros(3, np.float16)]),
         TypeError, "copies[0]"),
    Case("step grad_scale negative", lambda B: opt_call(B, lambda o: o.step({"dW": f32(3, 4), "db": f32(4)},
                                                                            grad_scale=-2.0)), ValueError, "grad_scale"),
    Case("step grad_scale inf on GD", lambda B: opt_call(B, lambda o: o.step({"dW": f32(3, 4), "db": f32(4)},
                                                                             grad_scale=float("inf")), cls="GD", lr=0.1),
         ValueError, "grad_scale"),
    Case("set max_grad_norm a string", lambda B: opt_call(B, lambda o: setattr(o, "max_grad_norm", "1")), TypeError,
         "max_grad_norm"),
    Case("set rounding unknown", lambda B: opt_call(B, lambda o: setattr(o, "rounding", "odd")), ValueError, "rounding"),
    Case("ctor state_dtype float64 for float32 params", lambda B: ctor_call(B, lambda: [f32(3)], state_dtype="float64"),
         TypeError, "state_dtype='float64' cannot hold the state of params[0] (float32)"),
    Case("ctor state_dtype float16 for float64 params", lambda B: ctor_call(B, lambda: {"W": np.ones(3)},
                                                                            state_dtype=np.float16),
         TypeError, "state_dtype='float16' cannot hold the state of params['W'] (float64)"),
    Case("ctor empty list", lambda B: ctor_call(B, lambda: []), ValueError, "params holds no arrays"),
    Case("ctor empty dict", lambda B: ctor_call(B, lambda: {}, cls="GD", lr=0.1), ValueError, "params holds no arrays"),
    Case("step grads has W and dW", lambda B: opt_call(B, lambda o: o.step({"dW": f32(3, 4), "W": f32(3, 4),
                                                                              "db": f32(4)})),
         ValueError, "grads has both 'W' and 'dW'"),
    Case("step one dict for groups sharing a name", lambda B: _groups_call(B, lambda o: o.step({"W": f32(3)})),
         ValueError, "parameter groups 0 and 1 both have a parameter named 'W'"),
]


def _groups_call(B, action):
    """Two groups whose params are dicts with the same name: one dict of gradients cannot
    say which 'W' it is for (a list with one dict per group can)."""
    params = [{"params": {"W": f32(3)}}, {"params": {"W": f32(3)}, "lr": 0.5}]
    arrays = [g["params"]["W"] for g in params]

    def make():
        return B.GD([{**g, "params": {"W": g["params"]["W"].copy()}} for g in params], lr=0.1)

    opt = B.GD(params, lr=0.1)
    good = lambda: [{"W": f32(3, value=0.5)}, {"dW": f32(3, value=2.0)}]  # noqa: E731
    opt.step(good())
    return Call(lambda: action(opt), arrays, opt, make, good)


def _take_call(B, idx=None, out=None, axis=0):
    X = np.arange(10, dtype=np.float32).reshape(5, 2)
    idx = np.array([0, 2, 4]) if idx is None else idx
    out = f32(3, 2, value=7.0) if out is None else out
    return Call(lambda: B.take(X, idx, axis, out), [X, idx, out])


def _list_opt_call(B, action):
    params = [f32(3), f32(2)]
    opt = B.Momentum(params, lr=0.1)
    good = lambda: [f32(3, value=0.5), f32(2, value=2.0)]  # noqa: E731
    opt.step(good())
    return Call(lambda: action(opt), params, opt, lambda: B.Momentum([a.copy() for a in params], lr=0.1), good)


def _ema_call(B, action):
    ema = B.EMA(0.9)
    ema.update(f32(3, value=2.0))
    return Call(lambda: action(ema), [], ema)


def _state_bytes(obj):
    if obj is None:
        return None
    sd = obj.state_dict()
    out = {k: v for k, v in sd.items() if k != "state"}
    arrays = sd["state"]
    for k, v in arrays.items():
        out["state." + k] = [a.tobytes() for a in v] if isinstance(v, list) else v
    return out


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b.name)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_bad_input_is_refused_before_anything_is_written(case, backend):
    call = case.make(backend)
    before = [a.tobytes() for a in call.arrays]
    state_before = _state_bytes(call.opt)
    with pytest.raises(Exception) as info:
        call.fn()
    # the exact type, not a subclass: both backends must agree on it
    assert type(info.value) is case.exc, f"{backend.name}: {type(info.value).__name__}: {info.value}"
    assert case.text in str(info.value), str(info.value)
    # pybind11's generic refusal lists signatures instead of naming what was wrong
    assert "incompatible function arguments" not in str(info.value), str(info.value)
    assert [a.tobytes() for a in call.arrays] == before
    assert _state_bytes(call.opt) == state_before
    if call.fresh is not None:
        # the optimizer keeps working: one good step equals the same step of a fresh
        # optimizer restored to the same point
        twin = call.fresh()
        twin.load_state_dict(call.opt.state_dict())
        tp = twin.params
        for a, b in zip(_arrays(call.opt.params), _arrays(tp)):
            np.copyto(b, a)
        assert call.opt.step(call.good_grads()) is True
        twin.step(call.good_grads())
        for a, b in zip(_arrays(call.opt.params), _arrays(tp)):
            assert a.tobytes() == b.tobytes()


def _arrays(params):
    """The arrays of a params structure: one array, a list, a dict, or (groups) a list of those."""
    if isinstance(params, dict):
        params = list(params.values())
    if not isinstance(params, list):
        return [params]
    return [a for item in params for a in (_arrays(item) if isinstance(item, (dict, list)) else [item])]


def test_table_covers_every_public_function():
    """Every public function and class of the API has at least one row (a new entry point
    needs rows); the rows call them as ``B.<name>``."""
    import inspect

    source = inspect.getsource(inspect.getmodule(test_table_covers_every_public_function))
    for name in reference.__all__:
        assert f"B.{name}" in source or f'cls="{name}"' in source, name


# ---- non-contiguous parameters: the fast backend refuses them, the reference updates them in place


def _strided_params():
    base = np.arange(24, dtype=np.float64).reshape(4, 6) / 7.0
    return base, [base[:, ::2], base[::-1]]  # a strided view and a negatively strided view


@pytest.mark.parametrize("view", [0, 1], ids=["strided", "negative-stride"])
def test_fast_refuses_non_contiguous_params_before_writing(view):
    base, views = _strided_params()
    before = base.tobytes()
    p = views[view]
    with pytest.raises(ValueError, match=r"params\[0\] must be contiguous"):
        simdoptim.functional.gd_update([p], [np.ones(p.shape)], lr=0.1)
    with pytest.raises(ValueError, match=r"params\[0\] must be contiguous"):
        simdoptim.Adam([p])
    assert base.tobytes() == before


@pytest.mark.parametrize("view", [0, 1], ids=["strided", "negative-stride"])
def test_reference_updates_non_contiguous_params_in_place(view):
    base, views = _strided_params()
    p = views[view]
    untouched = np.ones(base.shape, bool)
    untouched[(slice(None), slice(None, None, 2)) if view == 0 else (slice(None),) * 2] = False
    expected_other = base[untouched].copy()
    c = np.ascontiguousarray(p)
    g = np.linspace(-1, 1, p.size).reshape(p.shape)
    opt, twin = reference.Adam([p], lr=0.1), reference.Adam([c], lr=0.1)
    for _ in range(3):
        opt.step([g])
        twin.step([g])
    assert p.tobytes() == c.tobytes()  # the caller's view itself was updated
    np.testing.assert_array_equal(base[untouched], expected_other)  # and nothing else of its base


def test_fast_functions_have_the_reference_signatures():
    """inspect, help() and editors read the fast functions' signatures, and they are the
    reference's: same parameters, kinds and defaults."""
    import inspect

    for name in functional.__all__:
        fast, ref = inspect.signature(getattr(functional, name)), inspect.signature(getattr(reference, name))
        assert [(p.name, p.kind, p.default) for p in fast.parameters.values()] == \
            [(p.name, p.kind, p.default) for p in ref.parameters.values()], name
        assert getattr(functional, name).__doc__, name


@pytest.mark.parametrize("backend", BACKENDS, ids=lambda b: b.name)
@pytest.mark.parametrize("make", [
    lambda B: B.Adam([np.ones(3, np.int32)]),
    lambda B: B.Adagrad([np.ones(3, np.float16)]),
    lambda B: B.Adam([np.ones(3), np.ones(3, np.float32)], state_dtype="float16"),
    lambda B: (lambda a: B.Momentum([a, a], lr=0.1))(np.ones(3)),
    lambda B: B.RMSprop({"W": readonly(np.ones(3))}, lr=0.1),
], ids=["int params", "float16 Adagrad", "state_dtype", "same array twice", "read-only"])
def test_constructor_errors_name_the_class_not_the_step(make, backend):
    """The plan built by the constructor checks what a step checks; its messages must start
    with the class ('Adam: ...'), since no step was called."""
    with pytest.raises((TypeError, ValueError)) as info:
        make(backend)
    msg = str(info.value)
    assert ".step" not in msg.split(":")[0], msg
    assert msg.split(":")[0] in ("Adam", "Adagrad", "Momentum", "RMSprop"), msg
