"""The registry of algorithm variants every equivalence test runs over.

One entry per distinct kernel path: each weight-decay mode, each form, each option that
selects another template instance in C++. ``make(module, params)`` builds the optimizer
from ``simdoptim`` or ``simdoptim.reference``; both must give bit-identical results.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Algo:
    name: str
    make: Callable

    def __repr__(self):
        return self.name


ALGORITHMS = [
    Algo("gd", lambda m, p: m.GD(p, lr=0.05)),
    Algo("gd-wd", lambda m, p: m.GD(p, lr=0.05, weight_decay=0.01)),
    Algo("momentum-ema", lambda m, p: m.Momentum(p, lr=0.05, beta=0.9)),
    Algo("momentum-ema-nesterov-wd", lambda m, p: m.Momentum(p, lr=0.05, beta=0.8, nesterov=True, weight_decay=1e-3)),
    Algo("momentum-sum", lambda m, p: m.Momentum(p, lr=0.01, beta=0.9, form="sum")),
    Algo("momentum-sum-nesterov", lambda m, p: m.Momentum(p, lr=0.01, beta=0.9, form="sum", nesterov=True)),
    Algo("rmsprop", lambda m, p: m.RMSprop(p, lr=0.01, beta2=0.9)),
    Algo("rmsprop-eps-root", lambda m, p: m.RMSprop(p, lr=0.01, beta2=0.999, eps=0.0, eps_root=1e-8)),
    Algo("rmsprop-centered", lambda m, p: m.RMSprop(p, lr=0.01, beta2=0.99, centered=True)),
    Algo("rmsprop-momentum-wd", lambda m, p: m.RMSprop(p, lr=0.01, beta2=0.99, momentum=0.9, weight_decay=0.01)),
    Algo("rmsprop-centered-momentum", lambda m, p: m.RMSprop(p, lr=0.01, beta2=0.99, momentum=0.5, centered=True)),
    Algo("adam", lambda m, p: m.Adam(p, lr=0.01)),
    Algo("adam-l2", lambda m, p: m.Adam(p, lr=0.01, weight_decay=0.01)),
    Algo("adamw", lambda m, p: m.Adam(p, lr=0.01, weight_decay=0.1, decoupled=True)),
    Algo("adam-amsgrad", lambda m, p: m.Adam(p, lr=0.01, beta1=0.8, beta2=0.99, amsgrad=True)),
    Algo("adamw-amsgrad-eps-root", lambda m, p: m.Adam(p, lr=0.003, weight_decay=0.05, decoupled=True, amsgrad=True,
                                                       eps=1e-6, eps_root=1e-10)),
    Algo("adam-l2-amsgrad", lambda m, p: m.Adam(p, lr=0.01, weight_decay=0.01, amsgrad=True)),
    Algo("adagrad", lambda m, p: m.Adagrad(p, lr=0.05)),
    Algo("adagrad-decay-wd-maximize", lambda m, p: m.Adagrad(p, lr=0.05, lr_decay=0.01, weight_decay=0.01,
                                                              initial_accumulator_value=0.1, maximize=True)),
    Algo("adagrad-eps0", lambda m, p: m.Adagrad(p, lr=0.05, eps=0.0, initial_accumulator_value=1e-3)),
    # PyTorch's operation order: its own template instances (lerp m, one division)
    Algo("adam-pytorch", lambda m, p: m.Adam(p, lr=0.01, order="pytorch")),
    Algo("adamw-pytorch-amsgrad", lambda m, p: m.Adam(p, lr=0.003, weight_decay=0.05, decoupled=True, amsgrad=True,
                                                      order="pytorch")),
    Algo("adam-l2-pytorch", lambda m, p: m.Adam(p, lr=0.01, weight_decay=0.01, order="pytorch")),
]

# Low precision: the template instances of each (parameter, gradient, state) dtype combination
# and option the kernels add (tests/test_lowp.py runs each on every path and thread count).
# `dtypes` names (params, grads, state); "bf16" needs ml_dtypes. `make(module, params, **kw)`.


@dataclass(frozen=True)
class LowpMode:
    name: str
    params: str  # "bf16", "f16", "f32"
    grads: str
    state: str
    options: tuple = ()  # (key, value) pairs for the optimizer
    algo: str = "Adam"

    def __repr__(self):
        return self.name

    def make(self, module, params, **extra):
        kw = dict(self.options)
        kw.update(extra)
        return getattr(module, self.algo)(params, **kw)


LOWP_MODES = [
    LowpMode("bf16-params-f32-state", "bf16", "bf16", "f32", (("lr", 0.01),)),
    LowpMode("bf16-all", "bf16", "bf16", "bf16", (("lr", 0.01), ("state_dtype", "bfloat16"))),
    LowpMode("bf16-all-stochastic", "bf16", "bf16", "bf16",
             (("lr", 0.01), ("state_dtype", "bfloat16"), ("rounding", "stochastic"), ("seed", 12345))),
    LowpMode("bf16-params-stochastic-amsgrad", "bf16", "bf16", "f32",
             (("lr", 0.01), ("rounding", "stochastic"), ("amsgrad", True), ("seed", 2**63 + 5))),
    LowpMode("bf16-master", "bf16", "bf16", "f32", (("lr", 0.01), ("master_weights", True))),
    LowpMode("bf16-master-bf16-state-stochastic", "bf16", "bf16", "bf16",
             (("lr", 0.01), ("master_weights", True), ("state_dtype", "bfloat16"), ("rounding", "stochastic"))),
    LowpMode("bf16-adamw-pytorch-clip", "bf16", "bf16", "bf16",
             (("lr", 0.01), ("state_dtype", "bfloat16"), ("weight_decay", 0.05), ("decoupled", True),
              ("order", "pytorch"), ("max_grad_norm", 5.0))),
    LowpMode("f16-params-f32-state-l2", "f16", "f16", "f32", (("lr", 0.01), ("weight_decay", 0.01))),
    LowpMode("f16-all-stochastic-amsgrad", "f16", "f16", "f16",
             (("lr", 0.01), ("state_dtype", "float16"), ("rounding", "stochastic"), ("amsgrad", True), ("eps", 1e-4))),
    LowpMode("f16-master-pytorch", "f16", "f16", "f32", (("lr", 0.01), ("master_weights", True), ("order", "pytorch"))),
    LowpMode("f32-params-bf16-grads", "f32", "bf16", "f32", (("lr", 0.01),)),
    LowpMode("f32-params-f16-grads-bf16-state", "f32", "f16", "bf16",
             (("lr", 0.01), ("state_dtype", "bfloat16"), ("rounding", "stochastic"))),
    LowpMode("f32-params-f16-state-clip", "f32", "f32", "f16",
             (("lr", 0.01), ("state_dtype", "float16"), ("max_grad_norm", 1.0), ("eps", 1e-4))),
    LowpMode("f32-pytorch-clip", "f32", "f32", "f32", (("lr", 0.01), ("order", "pytorch"), ("max_grad_norm", 2.0))),
    LowpMode("f64-pytorch-clip-amsgrad", "f64", "f64", "f64",
             (("lr", 0.01), ("order", "pytorch"), ("max_grad_norm", 2.0), ("amsgrad", True))),
    # the other optimizers: the same template per dtype combination (gd.cpp, momentum.cpp, rmsprop.cpp)
    LowpMode("gd-bf16-stochastic-wd", "bf16", "bf16", "bf16", (("lr", 0.05), ("weight_decay", 0.01),
                                                               ("rounding", "stochastic")), "GD"),
    LowpMode("gd-f32-master-f16-clip", "f16", "f16", "f16", (("lr", 0.05), ("master_weights", True),
                                                             ("max_grad_norm", 3.0)), "GD"),
    LowpMode("gd-f32-bf16-grads", "f32", "bf16", "f32", (("lr", 0.05),), "GD"),
    LowpMode("momentum-bf16-all-stochastic-nesterov", "bf16", "bf16", "bf16",
             (("lr", 0.05), ("state_dtype", "bfloat16"), ("rounding", "stochastic"), ("nesterov", True)), "Momentum"),
    LowpMode("momentum-sum-f16-master-clip", "f16", "f16", "f32",
             (("lr", 0.01), ("form", "sum"), ("master_weights", True), ("max_grad_norm", 2.0)), "Momentum"),
    LowpMode("momentum-f32-f16-state-wd", "f32", "f32", "f16",
             (("lr", 0.05), ("state_dtype", "float16"), ("weight_decay", 0.01)), "Momentum"),
    LowpMode("rmsprop-bf16-all-stochastic-centered-momentum", "bf16", "bf16", "bf16",
             (("lr", 0.01), ("state_dtype", "bfloat16"), ("rounding", "stochastic"), ("centered", True),
              ("momentum", 0.5)), "RMSprop"),
    LowpMode("rmsprop-f16-params-f32-state-wd-clip", "f16", "f16", "f32",
             (("lr", 0.01), ("weight_decay", 0.01), ("max_grad_norm", 1.0), ("eps", 1e-4)), "RMSprop"),
    LowpMode("rmsprop-bf16-master-bf16-state", "bf16", "bf16", "bf16",
             (("lr", 0.01), ("master_weights", True), ("state_dtype", "bfloat16"), ("momentum", 0.9)), "RMSprop"),
]


def by_name(name):
    return next(a for a in ALGORITHMS if a.name == name)
