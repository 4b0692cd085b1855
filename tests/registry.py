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
]


def by_name(name):
    return next(a for a in ALGORITHMS if a.name == name)
