"""MiniBatches, both backends: every epoch visits every example once, seeded runs repeat,
the fast backend yields the reference's batches bit for bit, bad arguments are refused."""

import numpy as np
import pytest

import simdoptim
from simdoptim import reference

BACKENDS = [simdoptim.MiniBatches, reference.MiniBatches]
IDS = ["fast", "reference"]


def _data(m, n=3, dtype=np.float64, course=False):
    X = np.arange(m * n, dtype=np.float64).reshape(m, n).astype(dtype)
    Y = np.arange(m, dtype=np.int64) * 10
    if course:
        return np.ascontiguousarray(X.T), Y[None, :].copy()
    return X, Y


@pytest.mark.parametrize("cls", BACKENDS, ids=IDS)
@pytest.mark.parametrize("course", [False, True], ids=["rows", "course"])
@pytest.mark.parametrize("m,b", [(10, 4), (10, 5), (10, 10), (10, 1), (7, 64), (1, 1), (0, 3)])
def test_every_example_once_per_epoch(cls, course, m, b):
    X, Y = _data(m, course=course)
    axis = 1 if course else 0
    mb = cls(X, Y, batch_size=b, axis=axis, seed=3)
    assert len(mb) == -(-m // b)
    for _ in range(3):
        seen = []
        batches = list(mb)
        assert len(batches) == len(mb)
        for k, (xb, yb) in enumerate(batches):
            size = min(b, m - k * b)
            assert xb.shape[axis] == size and yb.shape[-1] == size
            assert xb.flags.c_contiguous and yb.flags.c_contiguous
            ids = yb.ravel() // 10
            # X and Y are shuffled by the same permutation
            np.testing.assert_array_equal(np.take(X, ids, axis=axis), xb)
            seen.extend(ids.tolist())
        assert sorted(seen) == list(range(m))


@pytest.mark.parametrize("cls", BACKENDS, ids=IDS)
def test_drop_last_and_no_shuffle(cls):
    X, Y = _data(10)
    mb = cls(X, Y, batch_size=4, drop_last=True, shuffle=False)
    assert len(mb) == 2
    ys = [yb for _, yb in mb]
    np.testing.assert_array_equal(np.concatenate(ys), Y[:8])
    assert len(cls(X, batch_size=11, drop_last=True)) == 0


@pytest.mark.parametrize("cls", BACKENDS, ids=IDS)
def test_new_permutation_each_epoch_and_seeded_repeat(cls):
    X, Y = _data(50)
    a = cls(X, Y, batch_size=50, seed=7)
    e1 = next(iter(a))[1].copy()
    e2 = next(iter(a))[1].copy()
    assert not np.array_equal(e1, e2)
    b = cls(X, Y, batch_size=50, seed=7)
    np.testing.assert_array_equal(next(iter(b))[1], e1)
    np.testing.assert_array_equal(next(iter(b))[1], e2)
    # the same stream as the Generator itself
    rng = np.random.default_rng(7)
    np.testing.assert_array_equal(e1, Y[rng.permutation(50)])
    np.testing.assert_array_equal(e2, Y[rng.permutation(50)])


@pytest.mark.parametrize("cls", BACKENDS, ids=IDS)
def test_shared_generator_continues_its_stream(cls):
    X, Y = _data(20)
    rng = np.random.default_rng(1)
    mb = cls(X, Y, batch_size=20, seed=rng)
    first = next(iter(mb))[1]
    check = np.random.default_rng(1)
    np.testing.assert_array_equal(first, Y[check.permutation(20)])
    np.testing.assert_array_equal(rng.permutation(5), check.permutation(5))


@pytest.mark.parametrize("course", [False, True], ids=["rows", "course"])
@pytest.mark.parametrize("reuse", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int8, np.bool_, np.complex128])
def test_fast_equals_reference(isa, threads, course, reuse, dtype):
    X, Y = _data(1037, n=5, dtype=dtype, course=course)
    axis = -1 if course else 0
    fast = simdoptim.MiniBatches(X, Y, batch_size=256, axis=axis, seed=11, reuse_buffers=reuse)
    ref = reference.MiniBatches(X, Y, batch_size=256, axis=axis, seed=11, reuse_buffers=reuse)
    for _ in range(2):
        count = 0
        # lockstep: with reuse_buffers each batch is only valid until the next one
        for (fx, fy), (rx, ry) in zip(fast, ref):
            count += 1
            assert fx.dtype == rx.dtype and fy.dtype == ry.dtype
            assert fx.tobytes() == rx.tobytes() and fx.shape == rx.shape
            assert fy.tobytes() == ry.tobytes() and fy.shape == ry.shape
        assert count == len(fast) == len(ref) == 5


@pytest.mark.parametrize("cls", BACKENDS, ids=IDS)
def test_y_shapes(cls):
    X = np.arange(12.0).reshape(6, 2)
    for Y in (np.arange(6), np.arange(12).reshape(6, 2)):
        for xb, yb in cls(X, Y, batch_size=4, seed=0):
            assert yb.shape[0] == xb.shape[0] and yb.ndim == Y.ndim
    Xc = np.ascontiguousarray(X.T)
    for Y in (np.arange(6), np.arange(6).reshape(1, 6), np.arange(18).reshape(3, 6)):
        for xb, yb in cls(Xc, Y, batch_size=4, axis=1, seed=0):
            assert yb.shape[-1] == xb.shape[1] and yb.ndim == Y.ndim


@pytest.mark.parametrize("cls", BACKENDS, ids=IDS)
def test_more_dimensions_and_strided_input(cls):
    X = np.arange(5 * 3 * 2, dtype=np.float32).reshape(5, 3, 2)
    got = [xb for xb in cls(X, batch_size=2, seed=4)]
    order = np.random.default_rng(4).permutation(5)
    np.testing.assert_array_equal(np.concatenate(got), X[order])
    Xs = np.arange(40.0).reshape(10, 4)[:, ::2]  # not contiguous
    got = [xb for xb in cls(Xs, batch_size=3, seed=4)]
    np.testing.assert_array_equal(np.concatenate(got), Xs[np.random.default_rng(4).permutation(10)])
    got = [xb for xb in cls(np.ascontiguousarray(X.transpose(1, 2, 0)), batch_size=2, axis=-1, seed=4)]
    np.testing.assert_array_equal(np.concatenate(got, axis=-1), X.transpose(1, 2, 0)[..., order])


@pytest.mark.parametrize("cls", BACKENDS, ids=IDS)
def test_reuse_buffers_overwrites_and_allocates_once(cls):
    X, Y = _data(10)
    mb = cls(X, Y, batch_size=4, seed=0, reuse_buffers=True)
    it = iter(mb)
    x1, y1 = next(it)
    saved = y1.copy()
    x2, y2 = next(it)
    assert np.shares_memory(x1, x2) and np.shares_memory(y1, y2)
    np.testing.assert_array_equal(y1, y2)  # the first batch was overwritten by the second
    assert not np.array_equal(saved, y2)
    x3, y3 = next(it)  # the short last batch is a contiguous view of the same buffer
    assert np.shares_memory(x3, x1) and x3.flags.c_contiguous and x3.shape == (2, 3)


@pytest.mark.parametrize("cls", BACKENDS, ids=IDS)
@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        ({"X": [[1.0, 2.0]]}, TypeError, "X must be a numpy.ndarray"),
        ({"X": np.zeros(())}, ValueError, "at least one dimension"),
        ({"X": np.zeros((4, 2), dtype=object)}, TypeError, "dtype object"),
        ({"Y": np.zeros(5)}, ValueError, "Y has shape"),
        ({"Y": np.zeros((2, 4))}, ValueError, "Y has shape"),
        ({"Y": [0, 1, 2, 3]}, TypeError, "Y must be a numpy.ndarray"),
        ({"batch_size": 0}, ValueError, "batch_size must be >= 1"),
        ({"batch_size": 2.0}, TypeError, "batch_size must be an int"),
        ({"batch_size": True}, TypeError, "batch_size must be an int"),
        ({"axis": 2}, IndexError, "axis 2 is out of bounds"),
        ({"axis": None}, TypeError, "axis must be an int"),
        ({"X": np.zeros((4, 2, 3)), "Y": None, "axis": 1}, ValueError, "first or the last axis"),
        ({"seed": 1.5}, TypeError, "seed must be"),
        ({"shuffle": 1}, TypeError, "shuffle must be True or False"),
        ({"drop_last": None}, TypeError, "drop_last must be True or False"),
        ({"reuse_buffers": "yes"}, TypeError, "reuse_buffers must be True or False"),
    ],
)
def test_bad_arguments(cls, kwargs, exc, match):
    args = {"X": np.zeros((4, 2)), "Y": np.zeros(4)}
    args.update(kwargs)
    X, Y = args.pop("X"), args.pop("Y")
    with pytest.raises(exc, match=match):
        cls(X, Y, **args)
