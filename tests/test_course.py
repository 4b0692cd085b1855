"""simdoptim.course against a plain NumPy rendering of the course exercise's formulas."""

import math

import numpy as np
import pytest

from simdoptim import course

# ---- the course's formulas, written out in NumPy (dict in, new arrays out) -------------------


def np_gd(parameters, grads, lr):
    L = len(parameters) // 2
    out = dict(parameters)
    for l in range(1, L + 1):
        out[f"W{l}"] = parameters[f"W{l}"] - lr * grads[f"dW{l}"]
        out[f"b{l}"] = parameters[f"b{l}"] - lr * grads[f"db{l}"]
    return out


def np_momentum(parameters, grads, v, beta, lr):
    L = len(parameters) // 2
    out, v_out = dict(parameters), dict(v)
    for l in range(1, L + 1):
        for p in ("W", "b"):
            v_out[f"d{p}{l}"] = beta * v[f"d{p}{l}"] + (1 - beta) * grads[f"d{p}{l}"]
            out[f"{p}{l}"] = parameters[f"{p}{l}"] - lr * v_out[f"d{p}{l}"]
    return out, v_out


def np_adam(parameters, grads, v, s, t, lr, beta1, beta2, epsilon):
    L = len(parameters) // 2
    out, v_out, s_out, v_c, s_c = dict(parameters), dict(v), dict(s), {}, {}
    for l in range(1, L + 1):
        for p in ("W", "b"):
            k = f"d{p}{l}"
            v_out[k] = beta1 * v[k] + (1 - beta1) * grads[k]
            v_c[k] = v_out[k] / (1 - beta1 ** t)
            s_out[k] = beta2 * s[k] + (1 - beta2) * np.square(grads[k])
            s_c[k] = s_out[k] / (1 - beta2 ** t)
            out[f"{p}{l}"] = parameters[f"{p}{l}"] - lr * v_c[k] / (np.sqrt(s_c[k]) + epsilon)
    return out, v_out, s_out, v_c, s_c


def np_random_mini_batches(X, Y, mini_batch_size=64, seed=0):
    np.random.seed(seed)
    m = X.shape[1]
    permutation = list(np.random.permutation(m))
    shuffled_X = X[:, permutation]
    shuffled_Y = Y[:, permutation].reshape((1, m))
    batches = []
    full = math.floor(m / mini_batch_size)
    for k in range(full):
        batches.append((shuffled_X[:, k * mini_batch_size:(k + 1) * mini_batch_size],
                        shuffled_Y[:, k * mini_batch_size:(k + 1) * mini_batch_size]))
    if m % mini_batch_size != 0:
        batches.append((shuffled_X[:, full * mini_batch_size:], shuffled_Y[:, full * mini_batch_size:]))
    return batches


# ---- fixtures -----------------------------------------------------------------------------------


def make_net(dims=(2, 5, 2, 1), seed=3):
    rng = np.random.default_rng(seed)
    params, grads = {}, {}
    for l in range(1, len(dims)):
        params[f"W{l}"] = rng.standard_normal((dims[l], dims[l - 1])) * np.sqrt(2 / dims[l - 1])
        params[f"b{l}"] = rng.standard_normal((dims[l], 1))
        grads[f"dW{l}"] = rng.standard_normal((dims[l], dims[l - 1]))
        grads[f"db{l}"] = rng.standard_normal((dims[l], 1))
    # backward passes return more than the course functions use
    grads["dA1"] = rng.standard_normal((5, 3))
    return params, grads


def copy(d):
    return {k: a.copy() for k, a in d.items()}


def assert_dicts_equal(a, b, keys=None):
    keys = sorted(b) if keys is None else keys
    for k in keys:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


# ---- the update functions -------------------------------------------------------------------------


@pytest.mark.parametrize("dims", [(2, 5, 2, 1), (3, 40, 1), (12288, 20, 7, 5, 1)])
def test_gd(dims):
    params, grads = make_net(dims)
    expect = np_gd(params, grads, 0.0123)
    p = copy(params)
    out = course.update_parameters_with_gd(p, grads, 0.0123)
    assert out is p
    assert_dicts_equal(p, expect)
    assert not np.array_equal(p["W1"], params["W1"])


def test_gd_updates_the_callers_arrays_in_place():
    params, grads = make_net()
    w1 = params["W1"]
    before = w1.copy()
    course.update_parameters_with_gd(params, grads, 0.1)
    assert params["W1"] is w1
    np.testing.assert_array_equal(w1, before - 0.1 * grads["dW1"])


def test_initialize_velocity_and_adam():
    params, _ = make_net()
    v = course.initialize_velocity(params)
    assert sorted(v) == ["dW1", "dW2", "dW3", "db1", "db2", "db3"]
    for k, a in v.items():
        assert a.shape == params[k[1:]].shape and a.dtype == np.float64 and not a.any()
    v, s = course.initialize_adam(params)
    assert sorted(v) == sorted(s) == ["dW1", "dW2", "dW3", "db1", "db2", "db3"]
    for k in v:
        assert v[k].shape == s[k].shape == params[k[1:]].shape and not v[k].any() and not s[k].any()
        assert v[k] is not s[k]


@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9, 0.999])
def test_momentum_several_steps(beta):
    params, grads = make_net((4, 33, 9, 1))
    rng = np.random.default_rng(1)
    ref_p, ref_v = copy(params), course.initialize_velocity(params)
    p, v = copy(params), course.initialize_velocity(params)
    for _ in range(4):
        g = {k: rng.standard_normal(a.shape) for k, a in grads.items()}
        ref_p, ref_v = np_momentum(ref_p, g, ref_v, beta, 0.07)
        out_p, out_v = course.update_parameters_with_momentum(p, g, v, beta, 0.07)
        assert out_p is p and out_v is v
        assert_dicts_equal(p, ref_p)
        assert_dicts_equal(v, ref_v)


@pytest.mark.parametrize("hyper", [{}, {"learning_rate": 0.3, "beta1": 0.5, "beta2": 0.9, "epsilon": 1e-2}])
def test_adam_several_steps(hyper):
    params, grads = make_net((5, 17, 3, 1))
    h = {"learning_rate": 0.01, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, **hyper}
    rng = np.random.default_rng(2)
    ref_p = copy(params)
    ref_v, ref_s = course.initialize_adam(params)
    p = copy(params)
    v, s = course.initialize_adam(params)
    for t in range(1, 6):
        g = {k: rng.standard_normal(a.shape) for k, a in grads.items()}
        ref_p, ref_v, ref_s, ref_vc, ref_sc = np_adam(
            ref_p, g, ref_v, ref_s, t, h["learning_rate"], h["beta1"], h["beta2"], h["epsilon"]
        )
        if hyper:
            out = course.update_parameters_with_adam(p, g, v, s, t, **hyper)
        else:  # the exercise's defaults
            out = course.update_parameters_with_adam(p, g, v, s, t)
        assert len(out) == 5 and out[0] is p and out[1] is v and out[2] is s
        assert_dicts_equal(p, ref_p)
        assert_dicts_equal(v, ref_v)
        assert_dicts_equal(s, ref_s)
        assert_dicts_equal(out[3], ref_vc)
        assert_dicts_equal(out[4], ref_sc)
        assert sorted(out[3]) == sorted(out[4]) == sorted(v)


def test_adam_epsilon_is_outside_the_square_root():
    # one parameter with gradient g at t=1: v_c = g, s_c = g^2, step = lr * g / (|g| + eps)
    p = {"W1": np.zeros((1, 1)), "b1": np.zeros((1, 1))}
    g = {"dW1": np.full((1, 1), 1e-4), "db1": np.zeros((1, 1))}
    v, s = course.initialize_adam(p)
    course.update_parameters_with_adam(p, g, v, s, 1, learning_rate=1.0, epsilon=1e-4)
    assert p["W1"][0, 0] == pytest.approx(-1e-4 / (1e-4 + 1e-4), rel=1e-12)  # inside would give -1e-4/sqrt(2e-8)


def test_float32_parameters():
    params, grads = make_net()
    p32 = {k: a.astype(np.float32) for k, a in params.items()}
    g32 = {k: a.astype(np.float32) for k, a in grads.items()}
    v, s = course.initialize_adam(p32)
    assert all(a.dtype == np.float32 for a in v.values())
    ref = np_adam(copy(p32), g32, copy(v), copy(s), 1, 0.01, 0.9, 0.999, 1e-8)
    course.update_parameters_with_adam(p32, g32, v, s, 1)
    assert_dicts_equal(p32, ref[0])


@pytest.mark.parametrize(
    "call, exc, words",
    [
        (lambda p, g: course.update_parameters_with_gd([p["W1"]], g, 0.1), TypeError, "parameters must be a dict"),
        (lambda p, g: course.update_parameters_with_gd({"W1": p["W1"], "c1": p["b1"]}, g, 0.1), KeyError, "'b1'"),
        (lambda p, g: course.update_parameters_with_gd(p, {k: a for k, a in g.items() if k != "db2"}, 0.1),
         KeyError, "grads has no 'db2'"),
        (lambda p, g: course.update_parameters_with_gd(p, g, -0.1), ValueError, "learning_rate"),
        (lambda p, g: course.update_parameters_with_gd(p, {**g, "dW2": g["dW2"].T.copy()}, 0.1), ValueError, "shape"),
        (lambda p, g: course.update_parameters_with_momentum(p, g, course.initialize_velocity(p), 1.0, 0.1),
         ValueError, "beta"),
        (lambda p, g: course.update_parameters_with_adam(p, g, *course.initialize_adam(p), 0),
         ValueError, "t must be >= 1"),
        (lambda p, g: course.update_parameters_with_adam(p, g, *course.initialize_adam(p), 1.0),
         TypeError, "t must be an int"),
        (lambda p, g: course.update_parameters_with_adam(p, g, *course.initialize_adam(p), True),
         TypeError, "t must be an int"),
        (lambda p, g: course.update_parameters_with_adam(p, g, {}, {}, 1), KeyError, "v has no 'dW1'"),
        # every error names the course's function and argument, not the kernel's (gd_update: lr ...)
        (lambda p, g: course.update_parameters_with_gd(p, g, "0.1"), TypeError,
         r"^update_parameters_with_gd: learning_rate must be a real number, got str '0.1'$"),
        (lambda p, g: course.update_parameters_with_gd(p, {**g, "dW2": g["dW2"].T.copy()}, 0.1), ValueError,
         r"^update_parameters_with_gd: grads\['dW2'\] has shape \(5, 2\) but parameters\['W2'\] has shape \(2, 5\)$"),
        (lambda p, g: course.update_parameters_with_gd(p, {**g, "db1": g["db1"].astype(np.float32)}, 0.1), TypeError,
         r"^update_parameters_with_gd: grads\['db1'\] has dtype float32"),
        (lambda p, g: course.update_parameters_with_gd(p, {**g, "db1": g["db1"].tolist()}, 0.1), TypeError,
         r"^update_parameters_with_gd: grads\['db1'\] must be a numpy.ndarray, got list"),
        (lambda p, g: course.update_parameters_with_gd(p, {**g, "dW1": p["W1"]}, 0.1), ValueError,
         r"^update_parameters_with_gd: .*same memory"),
        (lambda p, g: course.update_parameters_with_momentum(p, g, course.initialize_velocity(p), 0.9, None),
         TypeError, r"^update_parameters_with_momentum: learning_rate must be a real number, got NoneType"),
        (lambda p, g: course.update_parameters_with_momentum(p, g, course.initialize_velocity(p), 2, 0.1),
         ValueError, r"^update_parameters_with_momentum: beta must be .* got 2$"),
        (lambda p, g: course.update_parameters_with_momentum(p, g, {**course.initialize_velocity(p),
                                                                    "dW1": np.zeros(3)}, 0.9, 0.1),
         ValueError, r"^update_parameters_with_momentum: v\['dW1'\] has shape"),
        (lambda p, g: course.update_parameters_with_adam(p, g, *course.initialize_adam(p), 1, epsilon=-1e-8),
         ValueError, r"^update_parameters_with_adam: epsilon must be a finite number >= 0, got -1e-08$"),
        (lambda p, g: course.update_parameters_with_adam(p, g, *course.initialize_adam(p), 1, beta2=1.0), ValueError,
         r"^update_parameters_with_adam: beta2 must be"),
        (lambda p, g: course.update_parameters_with_adam(p, g, course.initialize_adam(p)[0], {}, 1), KeyError,
         "s has no 'dW1'"),
    ],
)
def test_bad_input_is_refused_before_anything_changes(call, exc, words):
    params, grads = make_net()
    p = copy(params)
    with pytest.raises(exc, match=words):
        call(p, grads)
    assert_dicts_equal(p, params)


# ---- mini-batches --------------------------------------------------------------------------------------


@pytest.mark.parametrize("m, size", [(148, 64), (300, 64), (128, 64), (7, 3), (5, 10), (1, 64), (1000, 1)])
@pytest.mark.parametrize("seed", [0, 1, 10, 12345])
def test_random_mini_batches_identical_to_the_course(m, size, seed):
    rng = np.random.default_rng(m + seed)
    X = rng.standard_normal((12, m))
    Y = (rng.random((1, m)) > 0.5).astype(np.float64)
    expect = np_random_mini_batches(X, Y, size, seed)
    state_after_course = np.random.get_state()[1].copy()
    got = course.random_mini_batches(X, Y, size, seed)
    # it drives the global generator exactly as the course does
    np.testing.assert_array_equal(np.random.get_state()[1], state_after_course)
    assert len(got) == len(expect) == math.ceil(m / size)
    for (gx, gy), (ex, ey) in zip(got, expect):
        assert gx.shape == ex.shape and gy.shape == ey.shape
        assert gx.dtype == ex.dtype and gy.dtype == ey.dtype
        np.testing.assert_array_equal(gx, ex)
        np.testing.assert_array_equal(gy, ey)


def test_random_mini_batches_defaults():
    X = np.arange(2 * 150, dtype=np.float64).reshape(2, 150)
    Y = np.arange(150, dtype=np.float64).reshape(1, 150)
    batches = course.random_mini_batches(X, Y)
    assert [b[0].shape[1] for b in batches] == [64, 64, 22]
    np.testing.assert_array_equal(np.sort(np.concatenate([b[1] for b in batches], axis=1)), Y)
    for bx, by in batches:  # columns stay paired with their labels
        np.testing.assert_array_equal(bx[1], 150 + by[0])


@pytest.mark.parametrize(
    "args, exc, words",
    [
        ((np.zeros(5), np.zeros((1, 5))), ValueError, "X must be 2-D"),
        ((np.zeros((2, 5)), np.zeros((1, 4))), ValueError, "5 examples"),
        ((np.zeros((2, 5)), [[0, 1, 0, 1, 0]]), TypeError, "Y must be a numpy.ndarray"),
        ((np.zeros((2, 5)), np.zeros((1, 5)), 0), ValueError, "mini_batch_size"),
        ((np.zeros((2, 5)), np.zeros((1, 5)), 2.0), TypeError, "mini_batch_size"),
        ((np.zeros((2, 5)), np.zeros((1, 5)), 2, "7"), TypeError, r"^random_mini_batches: seed must be an int"),
        ((np.zeros((2, 5)), np.zeros((1, 5)), 2, -1), ValueError, r"^random_mini_batches: seed must be in"),
    ],
)
def test_random_mini_batches_checks(args, exc, words):
    with pytest.raises(exc, match=words):
        course.random_mini_batches(*args)


# ---- decay ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("call, exc, words", [
    (lambda: course.update_lr(-0.1, 1, 1), ValueError, r"^update_lr: learning_rate0 must be .* got -0.1$"),
    (lambda: course.update_lr(0.1, "1", 1), TypeError, r"^update_lr: epoch_num must be a real number, got str '1'$"),
    (lambda: course.update_lr(0.1, -1, 1), ValueError, r"^update_lr: epoch_num must be .* got -1$"),
    (lambda: course.update_lr(0.1, 1, None), TypeError, r"^update_lr: decay_rate must be a real number"),
    (lambda: course.schedule_lr_decay(0.1, 10, 1, time_interval=0), ValueError,
     r"^schedule_lr_decay: time_interval must be a finite number > 0, got 0$"),
    (lambda: course.schedule_lr_decay(float("nan"), 10, 1), ValueError, r"^schedule_lr_decay: learning_rate0 must be"),
    (lambda: course.schedule_lr_decay(0.1, 10, -1), ValueError, r"^schedule_lr_decay: decay_rate must be"),
])
def test_decay_errors_name_the_course_arguments(call, exc, words):
    # not the schedule classes' names (InverseTimeDecay: lr0 ..., "the epoch number")
    with pytest.raises(exc, match=words):
        call()


def test_update_lr():
    for lr0, epoch, rate in [(0.5, 2, 1), (0.2, 1, 1), (0.0007, 9999, 0.3), (1.0, 0, 5)]:
        assert course.update_lr(lr0, epoch, rate) == lr0 / (1 + rate * epoch)
    assert course.update_lr(0.2, 3, 1) == pytest.approx(0.05)


def test_schedule_lr_decay():
    cases = [(0.5, 100, 0.3, 100), (0.1, 999, 1, 1000), (0.1, 4500, 1, 1000), (0.01, 7, 2, 3)]
    for lr0, epoch, rate, interval in cases:
        assert course.schedule_lr_decay(lr0, epoch, rate, interval) == lr0 / (1 + rate * np.floor(epoch / interval))
    assert course.schedule_lr_decay(0.1, 2000, 1) == 0.1 / 3  # time_interval defaults to 1000
    with pytest.raises(ValueError, match="interval"):
        course.schedule_lr_decay(0.1, 10, 1, time_interval=0)


def test_random_mini_batches_strided_and_integer_inputs():
    # not what the course passes, but what a learner might: the result is still the course's
    rng = np.random.default_rng(5)
    X = rng.standard_normal((30, 3)).T          # Fortran-ordered view, shape (3, 30)
    Y = rng.integers(0, 2, size=(1, 30))        # int labels
    expect = np_random_mini_batches(X, Y, 8, 4)
    got = course.random_mini_batches(X, Y, 8, 4)
    for (gx, gy), (ex, ey) in zip(got, expect):
        np.testing.assert_array_equal(gx, ex)
        np.testing.assert_array_equal(gy, ey)
        assert gy.dtype == ey.dtype


def test_every_simd_path_and_thread_count(isa, threads):
    """The same bits on every ISA path, with 1 thread and with 2 (tiny grain: the split lands
    inside the tensors)."""
    params, grads = make_net((7, 37, 5, 1))
    rng = np.random.default_rng(9)
    ref = {"gd": copy(params), "mom": copy(params), "adam": copy(params)}
    got = {"gd": copy(params), "mom": copy(params), "adam": copy(params)}
    ref_v, v = course.initialize_velocity(params), course.initialize_velocity(params)
    (ref_m, ref_s), (m, s) = course.initialize_adam(params), course.initialize_adam(params)
    for t in range(1, 4):
        g = {k: rng.standard_normal(a.shape) for k, a in grads.items()}
        ref["gd"] = np_gd(ref["gd"], g, 0.05)
        course.update_parameters_with_gd(got["gd"], g, 0.05)
        ref["mom"], ref_v = np_momentum(ref["mom"], g, ref_v, 0.9, 0.05)
        course.update_parameters_with_momentum(got["mom"], g, v, 0.9, 0.05)
        ref["adam"], ref_m, ref_s, _, _ = np_adam(ref["adam"], g, ref_m, ref_s, t, 0.01, 0.9, 0.999, 1e-8)
        course.update_parameters_with_adam(got["adam"], g, m, s, t)
    for key in ref:
        assert_dicts_equal(got[key], ref[key])
    assert_dicts_equal(v, ref_v)
    assert_dicts_equal(m, ref_m)
    assert_dicts_equal(s, ref_s)
    X = rng.standard_normal((5, 301))
    Y = rng.integers(0, 2, (1, 301)).astype(np.float64)
    for (gx, gy), (ex, ey) in zip(course.random_mini_batches(X, Y, 64, 7), np_random_mini_batches(X, Y, 64, 7)):
        np.testing.assert_array_equal(gx, ex)
        np.testing.assert_array_equal(gy, ey)
