"""What a newcomer meets first: names that resolve, copies that don't share state,
schedules that say what they returned."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import simdoptim
from simdoptim import reference

BACKENDS = {"fast": simdoptim, "reference": reference}


@pytest.mark.parametrize("backend", list(BACKENDS))
@pytest.mark.parametrize("bad", [None, "0.1", float("nan"), -1.0, True], ids=repr)
def test_a_schedule_returning_a_bad_value_is_named(backend, bad):
    opt = BACKENDS[backend].Adam([np.ones(3)], lr=lambda epoch: bad)
    exc = TypeError if bad is None or isinstance(bad, (str, bool)) else ValueError
    with pytest.raises(exc, match="schedule"):
        opt.step([np.ones(3)])
    assert opt.t == 0


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_copy_copy_refuses_and_deepcopy_is_independent(backend):
    B = BACKENDS[backend]
    w = np.ones(4)
    opt = B.Adam({"W": w}, lr=0.1)
    opt.step({"dW": np.ones(4)})
    with pytest.raises(TypeError, match="deepcopy"):
        copy.copy(opt)
    twin = copy.deepcopy(opt)
    assert twin.params["W"] is not w and np.array_equal(twin.params["W"], w)
    twin.step({"dW": np.ones(4)})
    assert opt.t == 1 and twin.t == 2
    assert not np.array_equal(twin.params["W"], w)
    assert np.array_equal(opt.state_dict()["state"]["exp_avgs"][0], np.full(4, 1 - 0.9))
    again = pickle.loads(pickle.dumps(opt))
    again.step({"dW": np.ones(4)})
    opt.step({"dW": np.ones(4)})
    assert again.params["W"].tobytes() == w.tobytes()
    ema = B.EMA(0.9)
    ema.update(np.ones(2))
    with pytest.raises(TypeError, match="deepcopy"):
        copy.copy(ema)
    other = copy.deepcopy(ema)
    other.update(np.zeros(2))
    assert ema.t == 1 and other.t == 2


def test_names_the_readme_uses_resolve_after_import():
    import importlib

    fresh = importlib.reload(simdoptim)
    for name in ("course", "reference", "functional", "schedules", "checkpoint", "Adam", "EMA", "MiniBatches", "take",
                 "ewma", "save_checkpoint", "load_checkpoint"):
        assert hasattr(fresh, name), name
    assert callable(fresh.course.update_parameters_with_adam)


def test_backends_are_one_class_per_algorithm():
    from simdoptim import _algorithms

    for name in ("GD", "Momentum", "RMSprop", "Adam", "EMA"):
        fast, ref = getattr(simdoptim, name), getattr(reference, name)
        base = getattr(_algorithms, name)
        assert fast.__mro__[1] is base and ref.__mro__[1] is base
        assert fast.__dict__.keys() <= {"backend", "__module__", "__doc__", "__qualname__"}
        assert fast.__doc__ and "Args" in fast.__doc__


@pytest.mark.parametrize("name", ["gd_update", "momentum_update", "rmsprop_update", "adam_update", "ema_update"])
def test_prepared_calls_equal_the_functions(name):
    """functional.prepare binds the arrays once; its calls give the function's bits (and the
    reference's prepare, the reference function's)."""
    rng = np.random.default_rng(4)
    p0 = [rng.standard_normal(n).astype(np.float32) for n in (5, 17)]
    n_state = {"gd_update": 0, "momentum_update": 1, "rmsprop_update": 1, "adam_update": 2, "ema_update": 0}[name]
    kw = {"ema_update": {"beta": 0.9, "bias_correction": True}}.get(name, {"lr": 0.01})
    results = []
    for mod, prepared in ((simdoptim.functional, True), (simdoptim.functional, False), (reference, True)):
        p = [a.copy() for a in p0]
        st = [[np.zeros_like(a) for a in p] for _ in range(n_state)]
        outs = [np.empty_like(a) for a in p] if name == "ema_update" else None
        run = mod.prepare(getattr(mod, name), p, *st, **kw) if prepared else None
        rng = np.random.default_rng(5)
        for t in range(1, 6):
            g = [rng.standard_normal(a.shape).astype(np.float32) for a in p]
            if run is not None:
                run(g, t, outs) if outs is not None else run(g, t)
            else:
                extra = {"step": t} if name in ("adam_update", "ema_update") else {}
                if outs is not None:
                    extra["outs"] = outs
                getattr(mod, name)(p, g, *st, **kw, **extra)
        results.append([a.tobytes() for a in p + (outs or [])])
    assert results[0] == results[1] == results[2]
