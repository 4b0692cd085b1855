"""simdoptim.schedules - learning-rate decay: the rate as a function of the epoch (or step) number.

A schedule is a plain callable from an epoch (or step) number to a learning rate::

    lr = simdoptim.schedules.InverseTimeDecay(0.2, decay_rate=1.0)
    lr(1), lr(2), lr(3), lr(4)          # 0.1, 0.0667, 0.05, 0.04

Pass one as an optimizer's ``lr``. Its ``per`` attribute says which counter the optimizer
feeds it, and so when the rate changes:

* ``per="epoch"`` (the default): the optimizer's epoch counter, which starts at 0 and is
  advanced by ``opt.next_epoch()`` (call it once at the end of every epoch);
* ``per="step"``: the number of the step being taken, 1 on the first step (the mini-batch
  count ``t``), advanced by every ``opt.step()``.

Any function works as a schedule (a function with attribute ``per = "step"`` is read per
step); these classes add argument checks, a readable ``repr`` and the formulas of the
course. They are pure: calling one twice with the same number gives the same rate, so a
restored optimizer (``load_state_dict`` restores the step and epoch counters) continues the
schedule exactly where it was.
"""

from __future__ import annotations

import bisect
import math
import numbers

__all__ = [
    "Schedule", "InverseTimeDecay", "ExponentialDecay", "InverseSqrtDecay", "StaircaseDecay",
    "PiecewiseConstant",
]


def __dir__():
    # PEP 562: dir() and tab completion show the public API, not this module's imports
    return list(__all__)


_PER = ("epoch", "step")


def _real(cls, name, x):
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"{cls}: {name} must be a real number, got {type(x).__name__}")
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"{cls}: {name} must be finite, got {x!r}")
    return x


def _nonnegative(cls, name, x):
    x = _real(cls, name, x)
    if x < 0:
        raise ValueError(f"{cls}: {name} must be >= 0, got {x:g}")
    return x


def _positive(cls, name, x):
    x = _real(cls, name, x)
    if x <= 0:
        raise ValueError(f"{cls}: {name} must be > 0, got {x:g}")
    return x


class Schedule:
    """Base of the schedules: checks ``per`` and the counter, then calls ``_rate(x)``."""

    def __init__(self, per="epoch"):
        if per not in _PER:
            raise ValueError(f"{type(self).__name__}: per must be 'epoch' or 'step', got {per!r}")
        self.per = per

    def __call__(self, x):
        cls = type(self).__name__
        if isinstance(x, bool) or not isinstance(x, numbers.Real):
            raise TypeError(f"{cls}: the {self.per} number must be a real number, got {type(x).__name__}")
        if not (math.isfinite(x) and float(x) >= 0):
            raise ValueError(f"{cls}: the {self.per} number must be finite and >= 0, got {x!r}")
        return float(self._rate(x))

    def _rate(self, x):
        raise NotImplementedError

    def _fields(self):
        return {}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in {**self._fields(), "per": self.per}.items())
        return f"{type(self).__name__}({args})"


class InverseTimeDecay(Schedule):
    """``alpha = lr0 / (1 + decay_rate * epoch)``.

    The course's ``update_lr``. With ``lr0 = 0.2, decay_rate = 1``, epochs 1, 2, 3, 4 give
    0.1, 0.0667, 0.05, 0.04; epoch 0 gives ``lr0``."""

    def __init__(self, lr0, decay_rate=1.0, *, per="epoch"):
        super().__init__(per)
        cls = type(self).__name__
        self.lr0 = _nonnegative(cls, "lr0", lr0)
        self.decay_rate = _nonnegative(cls, "decay_rate", decay_rate)

    def _rate(self, x):
        return self.lr0 / (1 + self.decay_rate * x)

    def _fields(self):
        return {"lr0": self.lr0, "decay_rate": self.decay_rate}


class ExponentialDecay(Schedule):
    """``alpha = base**epoch * lr0``, ``0 < base <= 1`` (e.g. 0.95)."""

    def __init__(self, lr0, base=0.95, *, per="epoch"):
        super().__init__(per)
        cls = type(self).__name__
        self.lr0 = _nonnegative(cls, "lr0", lr0)
        self.base = _positive(cls, "base", base)
        if self.base > 1:
            raise ValueError(f"{cls}: base must be in (0, 1] (a decay), got {self.base:g}")

    def _rate(self, x):
        return self.base ** x * self.lr0

    def _fields(self):
        return {"lr0": self.lr0, "base": self.base}


class InverseSqrtDecay(Schedule):
    """``alpha = k / sqrt(epoch) * lr0`` per epoch, or ``k / sqrt(t) * lr0`` with ``per="step"``.

    The formula has no value at 0, and an optimizer's epoch counter starts at 0, so the
    first epoch would get an infinite rate. Here epoch 0 gets the rate of epoch 1,
    ``k * lr0``: the largest rate the schedule gives, at the start of training, where a
    decaying schedule puts it. (Per step the counter starts at 1 and the rule never applies.)
    """

    def __init__(self, lr0, k=1.0, *, per="epoch"):
        super().__init__(per)
        cls = type(self).__name__
        self.lr0 = _nonnegative(cls, "lr0", lr0)
        self.k = _positive(cls, "k", k)

    def _rate(self, x):
        return self.k / math.sqrt(max(x, 1)) * self.lr0

    def _fields(self):
        return {"lr0": self.lr0, "k": self.k}


class StaircaseDecay(Schedule):
    """``alpha = lr0 / (1 + decay_rate * floor(epoch / interval))``: the rate drops in steps,
    once every ``interval`` epochs. The course's ``schedule_lr_decay`` (``time_interval``)."""

    def __init__(self, lr0, decay_rate=1.0, interval=1000, *, per="epoch"):
        super().__init__(per)
        cls = type(self).__name__
        self.lr0 = _nonnegative(cls, "lr0", lr0)
        self.decay_rate = _nonnegative(cls, "decay_rate", decay_rate)
        self.interval = _positive(cls, "interval", interval)
        if isinstance(interval, numbers.Integral):
            self.interval = int(interval)  # keeps the repr as the user wrote it

    def _rate(self, x):
        return self.lr0 / (1 + self.decay_rate * math.floor(x / self.interval))

    def _fields(self):
        return {"lr0": self.lr0, "decay_rate": self.decay_rate, "interval": self.interval}


class PiecewiseConstant(Schedule):
    """A rate set by hand: ``values[0]`` before ``boundaries[0]``, ``values[i]`` from
    ``boundaries[i-1]`` on (so ``len(values) == len(boundaries) + 1``).

    ``PiecewiseConstant([100, 200], [0.1, 0.01, 0.001])`` gives 0.1 in epochs 0..99, 0.01
    in epochs 100..199 and 0.001 from epoch 200 on. ``boundaries`` must increase strictly.
    (To change the rate by hand while training, you may also just set ``opt.lr``.)"""

    def __init__(self, boundaries, values, *, per="epoch"):
        super().__init__(per)
        cls = type(self).__name__
        try:
            boundaries, values = list(boundaries), list(values)
        except TypeError:
            raise TypeError(f"{cls}: boundaries and values must be sequences of numbers") from None
        b = [_nonnegative(cls, f"boundaries[{i}]", x) for i, x in enumerate(boundaries)]
        v = [_nonnegative(cls, f"values[{i}]", x) for i, x in enumerate(values)]
        if len(v) != len(b) + 1:
            raise ValueError(
                f"{cls}: values must have one more entry than boundaries (a rate before the first boundary and "
                f"one after each), got {len(v)} values for {len(b)} boundaries"
            )
        for i in range(1, len(b)):
            if b[i] <= b[i - 1]:
                raise ValueError(f"{cls}: boundaries must increase strictly, got {b[i - 1]:g} then {b[i]:g}")
        self.boundaries, self.values = b, v

    def _rate(self, x):
        return self.values[bisect.bisect_right(self.boundaries, x)]

    def _fields(self):
        return {"boundaries": self.boundaries, "values": self.values}
