"""Checkpoints: state_dict / load_state_dict on every optimizer and EMA, the .npz helpers,
atomic writes.

The central property: 40 steps, save, load into a fresh optimizer (of either backend),
40 more steps gives bit for bit the 80 uninterrupted steps.
"""

from __future__ import annotations

import copy
import os
import pickle
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import simdoptim
from simdoptim import reference
from simdoptim.checkpoint import flatten_state, unflatten_state

BACKENDS = {"fast": simdoptim, "reference": reference}

CONFIGS = [
    ("GD", dict(lr=0.05, weight_decay=0.01)),
    ("Momentum", dict(lr=0.05, beta=0.9, nesterov=True)),
    ("Momentum", dict(lr=0.05, beta=0.8, form="sum", weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5, eps_root=1e-10)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, decoupled=True)),
]


def make_params(dtype):
    rng = np.random.default_rng(5)
    return {"W1": rng.standard_normal((5, 3)).astype(dtype), "b1": np.zeros((5, 1), dtype),
            "W2": np.asfortranarray(rng.standard_normal((4, 5)).astype(dtype))}


def grads_at(params, t):
    """Gradients that depend on the parameters (so a wrong state shows) and on the step."""
    rng = np.random.default_rng(1000 + t)
    out = {}
    for k, p in params.items():
        g = np.empty_like(p)  # the parameter's memory order (W2 is Fortran-ordered)
        g[...] = 0.3 * p + rng.standard_normal(p.shape).astype(p.dtype)
        out["d" + k] = g
    return out


def train(opt, params, t0, n):
    for t in range(t0, t0 + n):
        opt.step(grads_at(params, t))


def snapshot(params):
    return {k: v.tobytes() for k, v in params.items()}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("saver,loader", [("fast", "fast"), ("fast", "reference"), ("reference", "fast")])
@pytest.mark.parametrize("cls,kw", CONFIGS, ids=[f"{c}-{i}" for i, (c, _) in enumerate(CONFIGS)])
def test_40_save_load_40_equals_80(cls, kw, saver, loader, dtype, tmp_path):
    straight = make_params(dtype)
    opt = getattr(BACKENDS[loader], cls)(straight, **kw)
    train(opt, straight, 0, 80)

    first = make_params(dtype)
    opt1 = getattr(BACKENDS[saver], cls)(first, **kw)
    train(opt1, first, 0, 40)
    path = tmp_path / "ck.npz"
    simdoptim.save_checkpoint(path, opt1, params=first)
    del opt1, first

    state, params = simdoptim.load_checkpoint(path)
    opt2 = getattr(BACKENDS[loader], cls)(params, **kw)
    opt2.load_state_dict(state)
    assert opt2.t == 40
    train(opt2, params, 40, 40)
    assert snapshot(params) == snapshot(straight)
    assert opt2.state_dict()["step"] == 80


def test_hyperparameters_and_schedule_are_restored(tmp_path):
    params = make_params(np.float64)
    opt = simdoptim.Adam(params, lr=0.02, beta1=0.8, eps=1e-6)
    train(opt, params, 0, 3)
    opt.next_epoch()
    fresh = simdoptim.Adam({k: v.copy() for k, v in params.items()})  # default hyper-parameters
    fresh.load_state_dict(pickle.loads(pickle.dumps(opt.state_dict())))
    assert (fresh.lr, fresh.beta1, fresh.eps, fresh.t, fresh.epoch) == (0.02, 0.8, 1e-6, 3, 1)

    # a schedule is code, not state: it stays, and continues from the restored counters
    sched = lambda epoch: 0.1 / (1 + epoch)  # noqa: E731
    scheduled = simdoptim.Adam({k: v.copy() for k, v in params.items()}, lr=sched)
    scheduled.load_state_dict(opt.state_dict())
    assert scheduled.lr == 0.1 / 2


@pytest.mark.parametrize("backend", ["fast", "reference"])
def test_state_dict_is_plain_picklable_and_savez_able(backend, tmp_path):
    params = make_params(np.float32)
    opt = BACKENDS[backend].RMSprop(params, centered=True)
    train(opt, params, 0, 2)
    sd = opt.state_dict()
    assert sd["format"] == "simdoptim.optimizer" and sd["version"] == 2 and sd["algorithm"] == "RMSprop"
    for value in sd["state"].values():
        assert all(type(a) is np.ndarray for a in value)
    again = pickle.loads(pickle.dumps(sd))
    np.savez(tmp_path / "flat.npz", **flatten_state(sd))
    with np.load(tmp_path / "flat.npz", allow_pickle=False) as f:
        loaded = unflatten_state(f)
    for other in (again, loaded):
        assert _equal_trees(sd, other)


def _equal_trees(a, b):
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_equal_trees(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, list) and len(a) == len(b) and all(_equal_trees(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and (a == b or (a != a and b != b))


def test_flatten_roundtrips_awkward_values():
    tree = {"nan": float("nan"), "inf": -float("inf"), "tiny": 5e-324, "third": 1 / 3, "big": 2**70, "none": None,
            "flag": True, "s": "é", "empty": [], "nested": {"x": [np.float32(1.5), np.arange(3, dtype=np.int8)]},
            "scalar_array": np.array(2.5), "empty_dict": {}}
    back = unflatten_state(flatten_state(tree))
    tree["nested"]["x"][0] = 1.5  # numpy scalars come back as Python numbers
    assert _equal_trees(tree, back)
    with pytest.raises(TypeError, match="keys must be str"):
        flatten_state({1: 2})
    with pytest.raises(TypeError, match="cannot store a set"):
        flatten_state({"a": {1, 2}})


# ---- refusals leave the optimizer as it was

def _base_opt():
    params = make_params(np.float32)
    opt = simdoptim.Adam(params, lr=0.01, amsgrad=True)
    train(opt, params, 0, 2)
    return opt


def _mutations():
    def other_algo(sd):
        sd["algorithm"] = "RMSprop"

    def other_shape(sd):
        sd["state"]["exp_avgs"][0] = np.zeros((3, 5), np.float32)

    def other_dtype(sd):
        sd["state"]["exp_avg_sqs"][1] = sd["state"]["exp_avg_sqs"][1].astype(np.float64)

    def other_names(sd):
        sd["param_groups"][0]["param_names"] = ["W1", "b1", "W3"]

    def no_amsgrad(sd):
        sd["param_groups"][0]["amsgrad"] = False
        del sd["state"]["max_exp_avg_sqs"]

    def bad_beta(sd):
        sd["param_groups"][0]["beta2"] = 1.5

    def bad_step(sd):
        sd["step"] = -1

    def bad_version(sd):
        sd["version"] = 99

    def missing_state(sd):
        del sd["state"]

    def list_not_arrays(sd):
        sd["state"]["exp_avgs"] = [a.tolist() for a in sd["state"]["exp_avgs"]]

    def too_few(sd):
        sd["state"]["exp_avgs"] = sd["state"]["exp_avgs"][:2]

    def unknown_hyper(sd):
        sd["param_groups"][0]["betas"] = (0.9, 0.99)

    return [(f.__name__, f, exc) for f, exc in [
        (other_algo, ValueError), (other_shape, ValueError), (other_dtype, ValueError), (other_names, ValueError),
        (no_amsgrad, ValueError), (bad_beta, ValueError), (bad_step, ValueError), (bad_version, ValueError),
        (missing_state, KeyError), (list_not_arrays, ValueError), (too_few, ValueError), (unknown_hyper, ValueError),
    ]]


def as_version_1(sd):
    """A version-2 state of one group in the version-1 layout (before parameter groups)."""
    (group,) = sd["param_groups"]
    hp = {k: v for k, v in group.items() if k not in ("params", "param_names")}
    return {**{k: v for k, v in sd.items() if k != "param_groups"}, "version": 1, "hyperparams": hp,
            "param_names": group["param_names"]}


def _v1_mutation(mutate):
    """The same mutation, made on the version-1 layout of the state."""
    def on_v1(sd):
        v2 = copy.deepcopy(sd)
        mutate(v2)
        if "param_groups" in v2 and len(v2["param_groups"]) == 1:
            converted = as_version_1(v2)
            if v2.get("version") != 2:  # a mutation of the header itself stays
                converted["version"] = v2.get("version")
            sd.clear()
            sd.update(converted)
        else:
            sd.clear()
            sd.update(v2)
    return on_v1


@pytest.mark.parametrize("version", [2, 1])
@pytest.mark.parametrize("name,mutate,exc", _mutations(), ids=[m[0] for m in _mutations()])
def test_refused_state_leaves_optimizer_unchanged(name, mutate, exc, version):
    target = _base_opt()
    train(target, target.params, 10, 1)  # a different point than the state we load
    sd = copy.deepcopy(_base_opt().state_dict())
    (mutate if version == 2 else _v1_mutation(mutate))(sd)
    before = pickle.dumps(target.state_dict())
    params_before = snapshot(target.params)
    with pytest.raises(exc):
        target.load_state_dict(sd)
    assert pickle.dumps(target.state_dict()) == before
    assert snapshot(target.params) == params_before


def test_not_a_dict_is_a_type_error():
    with pytest.raises(TypeError, match="state must be a dict"):
        _base_opt().load_state_dict([1, 2])


# ---- EMA

@pytest.mark.parametrize("kind", ["scalar", "array", "list", "dict"])
@pytest.mark.parametrize("saver,loader", [("fast", "reference"), ("reference", "fast"), ("fast", "fast")])
def test_ema_checkpoint_continues_bit_for_bit(kind, saver, loader, tmp_path):
    rng = np.random.default_rng(3)
    series = [rng.standard_normal((4, 3)).astype(np.float32) for _ in range(20)]

    def value(x):
        return {"scalar": float(x[0, 0]), "array": x, "list": [x, x[0].astype(np.float64)],
                "dict": {"a": x, "b": x.T}}[kind]

    straight = BACKENDS[loader].EMA(0.9)
    outs = [straight.update(value(x)) for x in series]
    first = BACKENDS[saver].EMA(0.9)
    for x in series[:10]:
        first.update(value(x))
    simdoptim.save_checkpoint(tmp_path / "ema.npz", first)
    state, _ = simdoptim.load_checkpoint(tmp_path / "ema.npz")
    second = BACKENDS[loader].EMA(0.5, bias_correction=False)
    second.load_state_dict(state)
    assert (second.beta, second.bias_correction, second.t) == (0.9, True, 10)
    resumed = [second.update(value(x)) for x in series[10:]]
    assert pickle.dumps(resumed) == pickle.dumps(outs[10:])


def test_ema_refuses_bad_state_unchanged():
    ema = simdoptim.EMA(0.9)
    ema.update(np.ones(3))
    before = pickle.dumps(ema.state_dict())
    for mutate in (lambda s: s.update(kind="tensor"), lambda s: s["hyperparams"].update(beta=1.0),
                   lambda s: s.update(algorithm="Adam"), lambda s: s["state"].update(averages=[np.ones(3, np.int64)]),
                   lambda s: s.update(step=-2)):
        sd = copy.deepcopy(ema.state_dict())
        mutate(sd)
        with pytest.raises((TypeError, ValueError)):
            ema.load_state_dict(sd)
        assert pickle.dumps(ema.state_dict()) == before


# ---- atomic writes

def _save(path, value):
    simdoptim.save_checkpoint(path, {"opt": {"format": "x", "value": value}}, params=[np.full(1000, value)])


def test_failed_save_keeps_previous_checkpoint_and_cleans_up(tmp_path, monkeypatch):
    path = tmp_path / "ck.npz"
    _save(path, 1.0)
    import numpy.lib.format as fmt

    def broken(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(fmt, "write_array", broken)
    with pytest.raises(OSError, match="disk full"):
        _save(path, 2.0)
    monkeypatch.undo()
    state, params = simdoptim.load_checkpoint(path)
    assert state["opt"]["value"] == 1.0 and params[0][0] == 1.0
    assert os.listdir(tmp_path) == ["ck.npz"]  # the temporary file was removed


WRITER = textwrap.dedent("""
    import os, signal, sys
    import numpy as np
    import numpy.lib.format as fmt
    import simdoptim

    path = sys.argv[1]
    real = fmt.write_array
    written = []

    def write_then_die(fp, array, *a, **k):
        # die the hard way half-way through the archive: no cleanup, no finally blocks
        if len(written) == 2:
            fp.write(b"partial")
            fp.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        written.append(1)
        return real(fp, array, *a, **k)

    fmt.write_array = write_then_die
    params = [np.full(200_000, 2.0), np.full(200_000, 2.0), np.full(200_000, 2.0)]
    simdoptim.save_checkpoint(path, {"opt": {"format": "x", "value": 2.0}}, params=params)
    print("not killed")
""")


def test_writer_killed_mid_save_keeps_previous_checkpoint(tmp_path):
    path = tmp_path / "ck.npz"
    _save(path, 1.0)
    before = path.read_bytes()
    proc = subprocess.run([sys.executable, "-c", WRITER, str(path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stdout + proc.stderr
    leftovers = [n for n in os.listdir(tmp_path) if n != "ck.npz"]
    assert len(leftovers) == 1 and leftovers[0].startswith(".ck.npz.") and leftovers[0].endswith(".tmp")
    assert (tmp_path / leftovers[0]).stat().st_size > 0  # the writer really was mid-write
    assert path.read_bytes() == before
    state, params = simdoptim.load_checkpoint(path)
    assert state["opt"]["value"] == 1.0 and params[0][0] == 1.0
    _save(path, 3.0)  # and the next save works
    assert simdoptim.load_checkpoint(path)[0]["opt"]["value"] == 3.0


def test_save_keeps_file_mode_and_refuses_other_files(tmp_path):
    path = tmp_path / "ck.npz"
    _save(path, 1.0)
    os.chmod(path, 0o640)
    _save(path, 2.0)
    assert path.stat().st_mode & 0o777 == 0o640
    np.savez(tmp_path / "other.npz", a=np.ones(2))
    with pytest.raises(ValueError, match="other.npz.*__simdoptim__"):
        simdoptim.load_checkpoint(tmp_path / "other.npz")
    with pytest.raises(TypeError, match="state must be"):
        simdoptim.save_checkpoint(path, 42)
    assert simdoptim.load_checkpoint(path)[0]["opt"]["value"] == 2.0


# ---- format stability: a checkpoint written by simdoptim 0.1.0 (format version 1)

GOLDEN = os.path.join(os.path.dirname(__file__), "data", "checkpoint_v1.npz")


@pytest.mark.parametrize("backend", ["fast", "reference"])
def test_version_1_checkpoint_still_loads_and_continues(backend):
    """tests/data/checkpoint_v1.npz holds an AdamW+AMSGrad state and an EMA after 3 steps
    (reference backend), the parameters, the next 2 gradients and what the parameters and
    the EMA must be after them. It was written once with save_checkpoint; a change that
    breaks reading it needs a new format version and a loader for version 1, not a new file."""
    B = BACKENDS[backend]
    state, params = simdoptim.load_checkpoint(GOLDEN)
    assert state["opt"]["version"] == 1 and state["opt"]["algorithm"] == "Adam"
    opt = B.Adam(params, amsgrad=True)  # hyper-parameters come from the checkpoint
    opt.load_state_dict(state["opt"])
    assert (opt.lr, opt.weight_decay, opt.decoupled, opt.t) == (0.01, 0.01, True, 3)
    ema = B.EMA(0.5)
    ema.load_state_dict(state["ema"])
    for g in state["grads"]:
        opt.step(g)
        ema.update(g)
    assert snapshot(params) == snapshot(state["expected_params"])
    assert snapshot(ema.value) == snapshot(state["expected_ema"])


# ---- states no optimizer could have produced, and counts out of range (refused, nothing changed)

def _contradictions():
    def step_zero_with_moved_buffers(sd):
        sd["step"] = 0

    def step_negative(sd):
        sd["step"] = -3

    def step_a_float(sd):
        sd["step"] = 2.0

    def step_a_bool(sd):
        sd["step"] = True

    def step_too_large(sd):
        sd["step"] = 2**63

    def epoch_negative(sd):
        sd["epoch"] = -1

    def skipped_a_float(sd):
        sd["skipped_steps"] = 1.5

    def eps_vanishes_in_float32(sd):
        sd["param_groups"][0]["eps"] = 1e-46

    return [step_zero_with_moved_buffers, step_negative, step_a_float, step_a_bool, step_too_large, epoch_negative,
            skipped_a_float, eps_vanishes_in_float32]


@pytest.mark.parametrize("mutate", _contradictions(), ids=lambda f: f.__name__)
@pytest.mark.parametrize("backend", ["fast", "reference"])
def test_contradictory_or_out_of_range_state_is_refused(mutate, backend):
    params = make_params(np.float32)
    opt = BACKENDS[backend].Adam(params, lr=0.01)
    train(opt, params, 0, 2)
    sd = copy.deepcopy(opt.state_dict())
    mutate(sd)
    before = pickle.dumps(opt.state_dict())
    with pytest.raises(ValueError, match=r"step|epoch|skipped_steps|eps"):
        opt.load_state_dict(sd)
    assert pickle.dumps(opt.state_dict()) == before


@pytest.mark.parametrize("kind", ["scalar", "array"])
@pytest.mark.parametrize("backend", ["fast", "reference"])
def test_ema_state_with_step_zero_and_an_average_is_refused(kind, backend):
    """Before: accepted, after which ema.value divided by 1 - beta**0 (inf, or ZeroDivisionError)."""
    ema = BACKENDS[backend].EMA(0.9)
    ema.update(2.0 if kind == "scalar" else np.full(3, 2.0))
    sd = ema.state_dict()
    sd["step"] = 0
    fresh = BACKENDS[backend].EMA(0.5)
    with pytest.raises(ValueError, match="step is 0"):
        fresh.load_state_dict(sd)
    assert fresh.t == 0 and fresh.value is None and fresh.beta == 0.5
    sd["step"] = 1
    fresh.load_state_dict(sd)
    assert np.all(np.isfinite(fresh.value))
