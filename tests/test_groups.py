"""Parameter groups: one optimizer with groups == separate optimizers, bit for bit.

The contract: a step updates every tensor of every group with its group's hyper-parameters,
exactly as separate optimizers would, in one compiled call. Checked for every algorithm
variant of the registry, on both backends, every SIMD path and 1 and 2 threads, with
hyper-parameters changed per group between steps; plus the structures gradients may come
in, checkpoints with groups, and what a group refuses.
"""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import simdoptim
from registry import ALGORITHMS
from simdoptim import _core, reference

BACKENDS = {"fast": simdoptim, "reference": reference}
STEPS = 12


def _tensors(dtype, seed=0):
    rng = np.random.default_rng(seed)
    weights = [rng.standard_normal((3, 5)).astype(dtype), rng.standard_normal(37).astype(dtype),
               np.asfortranarray(rng.standard_normal((4, 6)).astype(dtype))]
    biases = [rng.standard_normal(5).astype(dtype), rng.standard_normal(1).astype(dtype), np.zeros(0, dtype)]
    return weights, biases


def _grads(weights, biases, t):
    rng = np.random.default_rng(100 + t)
    gw = [np.asarray(rng.standard_normal(w.shape), order="F" if w.flags.f_contiguous and w.ndim > 1 else "C").astype(
        w.dtype) for w in weights]
    gb = [rng.standard_normal(b.shape).astype(b.dtype) for b in biases]
    return gw, gb


def _second_group_overrides(opt):
    """Another lr for the second group, and no weight decay where the algorithm has it."""
    hp = opt.param_groups[0]
    out = {"lr": hp["lr"] * 0.5}
    if "weight_decay" in hp:
        out["weight_decay"] = 0.0
    for k in ("beta", "beta2"):
        if k in hp:
            out[k] = 0.8
    return out


def _state(opt):
    return {k: [None if a is None else a.copy() for a in v] for k, v in opt.state_dict()["state"].items()}


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("backend", list(BACKENDS))
@pytest.mark.parametrize("algo", ALGORITHMS, ids=repr)
def test_two_groups_equal_two_optimizers(algo, backend, dtype, isa, threads):
    B = BACKENDS[backend]
    w1, b1 = _tensors(dtype)
    w2, b2 = _tensors(dtype)
    probe = algo.make(B, [np.zeros(1, dtype)])
    over = _second_group_overrides(probe)
    grouped = algo.make(B, [{"params": w1}, {"params": b1, **over}])
    first = algo.make(B, w2)
    second = algo.make(B, b2)
    for k, v in over.items():
        second.param_groups[0][k] = v
    calls = _core._update_calls()
    for t in range(STEPS):
        if t == STEPS // 2:  # hyper-parameters change per group between steps
            grouped.param_groups[0]["lr"] = first.param_groups[0]["lr"] = probe.param_groups[0]["lr"] * 0.25
            grouped.param_groups[1]["lr"] = second.param_groups[0]["lr"] = over["lr"] * 2
        gw, gb = _grads(w1, b1, t)
        assert grouped.step([gw, gb]) is True
        first.step([g.copy() for g in gw])
        second.step([g.copy() for g in gb])
    if backend == "fast":
        # one compiled call per step for the grouped optimizer (and one each for the others)
        assert _core._update_calls() - calls == 3 * STEPS
    for a, b in zip(w1 + b1, w2 + b2):
        assert a.tobytes() == b.tobytes()
    sg, s1, s2 = _state(grouped), _state(first), _state(second)
    assert sorted(sg) == sorted(s1)
    for k in sg:
        for a, b in zip(sg[k], s1[k] + s2.get(k, [None] * len(b1))):
            assert (a is None and b is None) or a.tobytes() == b.tobytes()
    assert grouped.t == first.t == STEPS


@pytest.mark.parametrize("groups", [1, 2, 5])
def test_one_compiled_call_per_step_whatever_the_number_of_groups(groups):
    rng = np.random.default_rng(0)
    params = [{"params": [rng.standard_normal(40).astype(np.float32) for _ in range(3)], "lr": 0.01 * (g + 1)}
              for g in range(groups)]
    opt = simdoptim.Adam(params, lr=1e-3)
    grads = [[np.ones(40, np.float32)] * 3 for _ in range(groups)]
    before = _core._update_calls()
    for _ in range(4):
        opt.step(grads)
    assert _core._update_calls() - before == 4


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_gradient_structures(backend):
    B = BACKENDS[backend]

    def make():
        return B.Momentum([{"params": {"W1": np.ones((2, 2)), "b1": np.zeros(2)}},
                           {"params": [np.ones(3)], "lr": 0.5}], lr=0.1)

    g_w, g_b, g_x = np.full((2, 2), 0.5), np.full(2, 2.0), np.full(3, 1.0)
    results = []
    for grads in ([{"dW1": g_w, "db1": g_b}, [g_x]], [{"W1": g_w, "b1": g_b}, (g_x,)], [[g_w, g_b], [g_x]]):
        opt = make()
        opt.step(grads)
        results.append([a.copy() for a in (opt.params[0]["W1"], opt.params[0]["b1"], opt.params[1][0])])
    for r in results[1:]:
        assert all(np.array_equal(a, b) for a, b in zip(results[0], r))
    assert np.allclose(results[0][2], 1 - 0.5 * 0.1 * 1.0)
    opt = make()
    with pytest.raises(TypeError, match="one entry per group"):
        opt.step([g_w, g_b, g_x])
    with pytest.raises(ValueError, match=r"grads\[1\] must hold 1 gradients"):
        opt.step([[g_w, g_b], [g_x, g_x]])
    with pytest.raises(TypeError, match="not every parameter group has named params"):
        opt.step({"W1": g_w, "b1": g_b})
    named = B.GD([{"params": {"W": np.ones(2)}}, {"params": {"b": np.ones(1)}, "lr": 1.0}], lr=0.5)
    named.step({"dW": np.ones(2), "db": np.ones(1)})  # one flat dict when every group is named
    assert np.array_equal(named.params[0]["W"], [0.5, 0.5]) and np.array_equal(named.params[1]["b"], [0.0])


@pytest.mark.parametrize("saver,loader", [("fast", "reference"), ("reference", "fast"), ("fast", "fast")])
def test_checkpoint_with_groups_continues_bit_for_bit(saver, loader):
    def make(B, seed=0):
        w, b = _tensors(np.float32, seed)
        opt = B.Adam([{"params": w, "weight_decay": 0.01, "decoupled": True}, {"params": b, "lr": 0.003}], lr=0.01)
        return opt, w, b

    straight, w0, b0 = make(BACKENDS[loader])
    for t in range(10):
        straight.step(list(_grads(w0, b0, t)))
    first, w1, b1 = make(BACKENDS[saver])
    for t in range(5):
        first.step(list(_grads(w1, b1, t)))
    sd = pickle.loads(pickle.dumps(first.state_dict()))
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1, 2], [3, 4, 5]]
    assert sd["param_groups"][1]["lr"] == 0.003 and sd["param_groups"][0]["decoupled"] is True
    second, w2, b2 = make(BACKENDS[loader], seed=7)
    for a, src in zip(w2 + b2, w1 + b1):
        a[...] = src
    second.load_state_dict(sd)
    for t in range(5, 10):
        second.step(list(_grads(w2, b2, t)))
    for a, b in zip(w2 + b2, w0 + b0):
        assert a.tobytes() == b.tobytes()


def _group_structure_mutations():
    def one_group(sd):
        sd["param_groups"] = [dict(sd["param_groups"][0], params=list(range(6)))]

    def other_membership(sd):
        sd["param_groups"][0]["params"] = [0, 1]
        sd["param_groups"][1]["params"] = [2, 3, 4, 5]

    def three_groups(sd):
        sd["param_groups"].append(dict(sd["param_groups"][1], params=[]))

    def other_names(sd):
        sd["param_groups"][0]["param_names"] = ["a", "b", "c"]

    return [one_group, other_membership, three_groups, other_names]


@pytest.mark.parametrize("mutate", _group_structure_mutations(), ids=lambda f: f.__name__)
@pytest.mark.parametrize("backend", list(BACKENDS))
def test_state_with_another_group_structure_is_refused(mutate, backend):
    B = BACKENDS[backend]
    w, b = _tensors(np.float32)
    opt = B.RMSprop([{"params": w}, {"params": b, "lr": 0.1}], lr=0.01, momentum=0.5)
    opt.step(list(_grads(w, b, 0)))
    sd = copy.deepcopy(opt.state_dict())
    opt.step(list(_grads(w, b, 1)))
    before = pickle.dumps(opt.state_dict())
    params_before = [a.tobytes() for a in w + b]
    mutate(sd)
    with pytest.raises(ValueError, match=r"group|param_groups"):
        opt.load_state_dict(sd)
    assert pickle.dumps(opt.state_dict()) == before
    assert [a.tobytes() for a in w + b] == params_before


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_group_values_are_checked_when_set(backend):
    B = BACKENDS[backend]
    opt = B.Adam([{"params": [np.ones(3, np.float32)]}, {"params": [np.ones(2, np.float32)], "lr": 0.5}])
    with pytest.raises(ValueError, match=r"param_groups\[1\].*lr"):
        opt.param_groups[1]["lr"] = -1.0
    with pytest.raises(TypeError, match=r"param_groups\[0\].*amsgrad"):
        opt.param_groups[0]["amsgrad"] = 1
    with pytest.raises(KeyError, match="betas"):
        opt.param_groups[0]["betas"] = (0.9, 0.99)
    with pytest.raises(ValueError, match="cannot be replaced"):
        opt.param_groups[0]["params"] = [np.ones(3, np.float32)]
    with pytest.raises(TypeError, match="cannot be removed"):
        del opt.param_groups[0]["lr"]
    assert opt.param_groups[1]["lr"] == 0.5 and opt.param_groups[0]["amsgrad"] is False
    with pytest.raises(AttributeError, match="different"):
        opt.lr  # noqa: B018 - the groups disagree
    opt.lr = 0.25  # sets every group
    assert opt.lr == 0.25 and [g["lr"] for g in opt.param_groups] == [0.25, 0.25]
    opt.beta1 = 0.5
    assert all(g["beta1"] == 0.5 for g in opt.param_groups)
    with pytest.raises(ValueError, match=r"unknown key"):
        B.Adam([{"params": [np.ones(2)], "weight_deacy": 0.1}])
    with pytest.raises(KeyError, match="'params' entry"):
        B.Adam([{"lr": 0.1}])
    with pytest.raises(TypeError, match="mixes parameter groups"):
        B.Adam([{"params": [np.ones(2)]}, np.ones(2)])


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_option_turned_on_later_starts_its_state(backend):
    """RMSprop momentum switched on for one group between steps: the buffer starts then (at
    zero), as if that group had been built with momentum from the first step with momentum."""
    B = BACKENDS[backend]
    rng = np.random.default_rng(1)
    w = rng.standard_normal(9)
    a, b = w.copy(), w.copy()
    grouped = B.RMSprop([{"params": [a]}], lr=0.01)
    grads = [rng.standard_normal(9) for _ in range(6)]
    for g in grads[:3]:
        grouped.step([g])
    grouped.param_groups[0]["momentum"] = 0.9
    for g in grads[3:]:
        grouped.step([g])
    plain = B.RMSprop([b], lr=0.01)
    for g in grads[:3]:
        plain.step([g])
    sq = plain.state_dict()["state"]["square_avgs"][0]
    with_momentum = B.RMSprop([b], lr=0.01, momentum=0.9)
    sd = with_momentum.state_dict()
    sd["state"]["square_avgs"][0] = sq
    sd["step"] = 3
    with_momentum.load_state_dict(sd)
    for g in grads[3:]:
        with_momentum.step([g])
    assert a.tobytes() == b.tobytes()
