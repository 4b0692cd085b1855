"""simdoptim.take against np.take: every dtype, both axes, int32/int64 indices, the
edge cases (empty, single, repeated, negative), every compiled ISA path and 1 or 2
threads; bad arguments are refused before anything is written.

Rules (the same as np.take's where both accept a call): repeated indices repeat,
negative indices count from the end, an index outside [-m, m) raises IndexError.
Refused where np.take would convert: indices that are not a 1-D int32/int64 ndarray,
axis=None, an ``out`` of another dtype; the fast backend also refuses non-contiguous
X / indices / out (the reference accepts them)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import simdoptim
from simdoptim import reference

DTYPES = [np.bool_, np.int8, np.uint8, np.int16, np.uint16, np.float16, np.int32, np.uint32, np.float32,
          np.int64, np.uint64, np.float64, np.complex64, np.complex128]
if np.dtype(np.longdouble).itemsize == 16:
    DTYPES.append(np.longdouble)


def _random(shape, dtype, rng):
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return rng.integers(0, 2, size=shape).astype(dtype)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)
    x = rng.standard_normal(shape) * 1e3
    if dtype.kind == "c":
        x = x + 1j * rng.standard_normal(shape)
    return x.astype(dtype)


def _same(got, want):
    assert got.shape == want.shape and got.dtype == want.dtype
    assert got.flags.c_contiguous
    assert got.tobytes() == want.tobytes()  # bit for bit, NaN payloads and -0.0 included


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_matches_np_take_every_dtype(isa, threads, dtype):
    rng = np.random.default_rng(0)
    for shape, axis in [((57,), 0), ((57,), -1), ((57, 7), 0), ((9, 57), 1), ((9, 57), -1), ((57, 1), 0),
                        ((1, 57), 1), ((57, 3), 0), ((5, 57), 0)]:
        X = _random(shape, dtype, rng)
        m = X.shape[axis]
        for index_dtype in (np.int32, np.int64):
            idx = rng.integers(-m, m, size=45).astype(index_dtype)
            _same(simdoptim.take(X, idx, axis), np.take(X, idx, axis=axis))
            _same(reference.take(X, idx, axis), np.take(X, idx, axis=axis))


def _check_wide_columns(dtype, m=None):
    """Columns of rows longer than 512 KB go through the transposed tiles; sizes leave
    remainders everywhere (rows per tile, 16-column steps, 4-row steps)."""
    rng = np.random.default_rng(1)
    itemsize = np.dtype(dtype).itemsize
    m = m or (512 << 10) // itemsize + 37
    rows_per_tile = 64 // itemsize
    n = rows_per_tile + min(rows_per_tile // 2, 5) + 3  # one full tile and a partial one
    # random bits (any NaN payload included): the gather copies bytes
    X = rng.integers(0, 256, size=n * m * itemsize, dtype=np.uint8).view(dtype).reshape(n, m)
    idx = rng.integers(-m, m, size=m // 8 + 5)
    _same(simdoptim.take(X, idx, 1), np.take(X, idx, axis=1))
    perm = rng.permutation(m).astype(np.int32)
    out = np.empty((n, m), dtype)
    assert simdoptim.take(X, perm, 1, out) is out
    _same(out, X[:, perm])
    if itemsize <= 8:  # an output that is not 16-byte aligned is written without streaming stores
        misaligned = np.empty(n * m * itemsize + 8, np.uint8)[8:].view(dtype).reshape(n, m)
        simdoptim.take(X, perm, -1, misaligned)
        _same(misaligned, out)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex128], ids=lambda d: np.dtype(d).name)
def test_wide_columns_tiled_path(isa, threads, dtype):
    _check_wide_columns(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
def test_wide_columns_streaming_stores(isa, threads, dtype):
    # a tile (m * 64 bytes) and an output of 16 MB or more are written with streaming stores
    _check_wide_columns(dtype, m=(16 << 20) // 64 + 101)


@pytest.mark.parametrize("dtype", [np.int8, np.float16], ids=lambda d: np.dtype(d).name)
def test_wide_columns_tiled_path_narrow_units(dtype):
    # 1- and 2-byte units use the same portable code on every path: one path is enough
    _check_wide_columns(dtype)


def test_large_rows(isa, threads):
    rng = np.random.default_rng(2)
    X = _random((3000, 37), np.float32, rng)  # 148-byte rows: the row-copy kernel
    idx = rng.integers(-3000, 3000, size=5000)
    _same(simdoptim.take(X, idx, 0), np.take(X, idx, axis=0))


@pytest.mark.parametrize("shape,axis", [((6, 4), 0), ((4, 6), 1), ((6,), 0)])
def test_edge_cases(isa, threads, shape, axis):
    X = np.arange(np.prod(shape), dtype=np.float64).reshape(shape)
    m = X.shape[axis]
    for idx in ([], [0], [m - 1], [-1], [-m], [2, 2, 2], [0, -1, 0, -m, m - 1], list(range(m))[::-1]):
        for index_dtype in (np.int32, np.int64):
            i = np.array(idx, dtype=index_dtype)
            _same(simdoptim.take(X, i, axis), np.take(X, i, axis=axis))


def test_empty_arrays(isa, threads):
    for X, axis in [(np.zeros((0, 3)), 0), (np.zeros((3, 0)), 1), (np.zeros(0), 0), (np.zeros((4, 0)), 0)]:
        i = np.array([], dtype=np.int64)
        _same(simdoptim.take(X, i, axis), np.take(X, i, axis=axis))
    # nothing to take from: any index is out of bounds, as in np.take
    with pytest.raises(IndexError, match="out of bounds for axis 0 with size 0"):
        simdoptim.take(np.zeros((0, 3)), np.array([0]), 0)
    # no bytes to copy, but the indices are still checked
    with pytest.raises(IndexError, match=r"indices\[1\] = 4 is out of bounds for axis 0 with size 4"):
        simdoptim.take(np.zeros((4, 0)), np.array([1, 4]), 0)
    _same(simdoptim.take(np.zeros((4, 0)), np.array([1, 3]), 0), np.zeros((2, 0)))


def test_out_is_reused_and_returned(isa, threads):
    rng = np.random.default_rng(3)
    X = _random((20, 5), np.float32, rng)
    out = np.empty((8, 5), np.float32)
    for _ in range(3):
        idx = rng.integers(0, 20, size=8)
        assert simdoptim.take(X, idx, 0, out) is out
        _same(out, X[idx])
    out = np.empty((5, 8), np.float32)
    Xc = np.ascontiguousarray(X.T)
    assert simdoptim.take(Xc, idx, axis=1, out=out) is out
    _same(out, Xc[:, idx])


@given(
    m=st.integers(1, 70), n=st.integers(0, 9), k=st.integers(0, 90), axis=st.sampled_from([0, 1, -1]),
    one_d=st.booleans(), dtype=st.sampled_from([np.uint8, np.int16, np.float32, np.float64, np.complex128]),
    index_dtype=st.sampled_from([np.int32, np.int64]), seed=st.integers(0, 2**32 - 1),
)
@settings(max_examples=60, deadline=None)
def test_random_shapes_match_np_take(m, n, k, axis, one_d, dtype, index_dtype, seed):
    rng = np.random.default_rng(seed)
    if one_d:
        X, axis = _random((m,), dtype, rng), 0
    else:
        X = _random((m, n) if axis == 0 else (n, m), dtype, rng)
    idx = rng.integers(-m, m, size=k).astype(index_dtype)
    _same(simdoptim.take(X, idx, axis), np.take(X, idx, axis=axis))


BACKENDS = [simdoptim.take, reference.take]
IDS = ["fast", "reference"]
X0 = np.arange(12.0).reshape(4, 3)
I0 = np.array([0, 3, -1])


@pytest.mark.parametrize("take", BACKENDS, ids=IDS)
@pytest.mark.parametrize(
    "args,exc,match",
    [
        (([[1.0]], I0), TypeError, "X must be a numpy.ndarray"),
        ((np.zeros((2, 2, 2)), I0), ValueError, "X must be 1-D or 2-D"),
        ((np.zeros(()), I0), ValueError, "X must be 1-D or 2-D"),
        ((X0.astype(object), I0), TypeError, "X has dtype object"),
        ((np.zeros(3, dtype="U2"), I0), TypeError, "X has dtype <U2"),
        ((X0, [0, 1]), TypeError, "indices must be a 1-D numpy array"),
        ((X0, np.array([0.0, 1.0])), TypeError, "indices has dtype float64"),
        ((X0, np.array([0, 1], dtype=np.uint64)), TypeError, "indices has dtype uint64"),
        ((X0, np.array([0, 1], dtype=np.int16)), TypeError, "indices has dtype int16"),
        ((X0, np.array([0, 1], dtype=">i8")), TypeError,
         r"indices has dtype >i8; expected int32 or int64 \(native byte order\)"),
        ((X0, np.array([[0, 1]])), ValueError, "indices must be 1-D"),
        ((X0, np.array(1)), ValueError, "indices must be 1-D"),
        ((X0, I0, None), TypeError, "axis must be an int"),
        ((X0, I0, 1.0), TypeError, "axis must be an int"),
        ((X0, I0, True), TypeError, "axis must be an int"),
        ((X0, I0, 2), IndexError, "axis 2 is out of bounds"),
        ((X0, I0, -3), IndexError, "axis -3 is out of bounds"),
        ((X0, I0, 2**70), IndexError, r"axis \d+ is out of bounds for an array of dimension 2"),
        ((X0, I0, np.int64(-1)), IndexError, r"indices\[1\] = 3 is out of bounds for axis 1 with size 3"),
        ((X0, np.array([0, 4]), 0), IndexError, r"indices\[1\] = 4 is out of bounds for axis 0 with size 4"),
        ((X0, np.array([-5, 0], np.int32), 0), IndexError, r"indices\[0\] = -5 is out of bounds"),
        ((X0, np.array([0, 2, 3]), 1), IndexError, r"indices\[2\] = 3 is out of bounds for axis 1 with size 3"),
        ((X0, I0, 0, [[0.0] * 3] * 3), TypeError, "out must be a numpy.ndarray"),
        ((X0, I0, 0, np.zeros((3, 3), np.float32)), TypeError, "out has dtype float32 but X has dtype float64"),
        ((X0, I0, 0, np.zeros((3, 4))), ValueError, r"out has shape \(3, 4\); expected \(3, 3\)"),
        ((X0, I0, 0, np.zeros(9)), ValueError, r"out has shape \(9,\); expected \(3, 3\)"),
    ],
)
def test_bad_arguments(take, args, exc, match):
    with pytest.raises(exc, match="^take: " + match):
        take(*args)


@pytest.mark.parametrize("take", BACKENDS, ids=IDS)
def test_nothing_written_when_refused(take):
    X = np.arange(12.0).reshape(4, 3)
    out = np.full((3, 3), 7.0)
    with pytest.raises(IndexError):
        take(X, np.array([0, 1, 9]), 0, out)  # the bad index is the last one
    np.testing.assert_array_equal(out, 7.0)
    ro = np.full((3, 3), 7.0)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="out is read-only"):
        take(X, I0, 0, ro)
    big = np.arange(30.0).reshape(10, 3)
    with pytest.raises(ValueError, match="out overlaps X"):
        take(big, np.array([0, 1, 2]), 0, big[5:8])
    idx = np.zeros(3, dtype=np.int64)
    with pytest.raises(ValueError, match="out overlaps indices"):
        take(np.arange(6, dtype=np.int64), idx, 0, idx)
    np.testing.assert_array_equal(big, np.arange(30.0).reshape(10, 3))
    np.testing.assert_array_equal(X, np.arange(12.0).reshape(4, 3))


def test_strided_X_is_read_in_place_strided_indices_and_out_are_refused():
    X = np.arange(24.0).reshape(4, 6)[:, ::2]  # every layout: tests/test_strided_gather.py
    _same(simdoptim.take(X, I0, 0), np.take(X, I0, axis=0))
    _same(reference.take(X, I0, 0), np.take(X, I0, axis=0))
    idx = np.array([0, 9, 1, 9, 2], dtype=np.int64)[::2]
    with pytest.raises(ValueError, match="indices must be contiguous"):
        simdoptim.take(X0, idx, 0)
    out = np.zeros((3, 6))[:, ::2]
    with pytest.raises(ValueError, match="out must be C-contiguous"):
        simdoptim.take(X0, I0, 0, out)
    np.testing.assert_array_equal(out, 0.0)


@pytest.mark.parametrize("m", [20000, 140000], ids=["elements", "tiled"])
def test_gil_released_concurrent_calls_agree(m):
    # the GIL is released, so Python threads really run takes at once; the tiled path then
    # has one call on the shared scratch block and the others on blocks of their own
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(5)
    X = _random((20, m), np.float32, rng)
    perms = [rng.permutation(m) for _ in range(6)]
    with ThreadPoolExecutor(3) as ex:
        results = list(ex.map(lambda p: simdoptim.take(X, p, 1), perms))
    for p, r in zip(perms, results):
        _same(r, X[:, p])


def test_unaligned_and_byte_swapped_arrays_are_copied_as_bytes(isa, threads):
    rng = np.random.default_rng(6)
    X = _random((40, 9), np.float64, rng).astype(">f8")  # non-native order: bytes copied as they are
    idx = rng.integers(-40, 40, size=33)
    _same(simdoptim.take(X, idx, 0), np.take(X, idx, axis=0))
    raw = np.zeros(40 * 9 * 4 + 1, np.uint8)
    U = raw[1:].view(np.float32).reshape(9, 40)  # not aligned to its element size
    U[...] = _random((9, 40), np.float32, rng)
    assert not U.flags.aligned
    _same(simdoptim.take(U, idx, 1), np.take(U, idx, axis=1))
