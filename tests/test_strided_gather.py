"""Gathers from arrays in any memory layout (Fortran order, transposed, sliced, negatively
strided views) cost per batch what the batch costs, not what X costs: the compiled gather
follows the strides instead of copying X (np.take copies a non-contiguous X whole, every
call). The column gather's scratch is bounded and course.random_mini_batches needs no more
memory than the course's own NumPy code.

Time is checked as a ratio (per-batch time at 16x the examples), memory through tracemalloc
(NumPy's allocations are traced) or the peak RSS of a subprocess; no absolute timings.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import tracemalloc

import numpy as np
import pytest

import simdoptim
from simdoptim import reference


def layouts(X):
    """Views of the same values in many memory layouts (every one equal to X)."""
    yield "C", X
    yield "F", np.asfortranarray(X)
    if X.ndim == 2:
        big = np.zeros((2 * X.shape[0], 3 * X.shape[1]), X.dtype)
        big[::2, ::3] = X
        yield "sliced", big[::2, ::3]
        yield "transposed", np.ascontiguousarray(X.T).T
        rev = np.ascontiguousarray(X[::-1, ::-1])
        yield "negative", rev[::-1, ::-1]
        rows = np.zeros((3 * X.shape[0], X.shape[1]), X.dtype)
        rows[::3] = X
        yield "row-sliced", rows[::3]
    else:
        big = np.zeros(3 * X.shape[0], X.dtype)
        big[::3] = X
        yield "strided", big[::3]
        yield "negative", np.ascontiguousarray(X[::-1])[::-1]


DTYPES = [np.bool_, np.int8, np.float16, np.float32, np.float64, np.complex128]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(37,), (50, 1), (50, 3), (41, 16), (20, 70)])
def test_take_reads_every_layout_like_numpy(dtype, shape, threads):
    rng = np.random.default_rng(len(shape) * 100 + shape[-1])
    X = (rng.standard_normal(shape) * 10).astype(dtype)
    for axis in range(len(shape)):
        m = shape[axis]
        idx = rng.integers(-m, m, 3 * m)
        for name, A in layouts(X):
            assert np.array_equal(A, X)
            got = simdoptim.take(A, idx, axis)
            assert got.flags.c_contiguous
            assert np.array_equal(got, np.take(X, idx, axis=axis)), (name, axis)
            out = np.empty_like(got)
            assert simdoptim.take(A, idx.astype(np.int32), axis, out) is out
            assert np.array_equal(out, got), (name, axis)


def test_tiled_column_gather_follows_row_strides(threads):
    # wide rows (the tiled path) taken from every other row of a bigger array
    rng = np.random.default_rng(7)
    X = rng.standard_normal((40, 40000)) + 1j * rng.standard_normal((40, 40000))
    idx = rng.permutation(40000)
    for A in (X[::2], X[::-2], X[3:35]):
        assert np.array_equal(simdoptim.take(A, idx, 1), np.take(A, idx, axis=1))


def test_out_overlapping_a_strided_X_is_refused():
    X = np.zeros(100)
    view = X[::2]  # spans all of X
    out = np.empty(3)
    assert simdoptim.take(view, np.arange(3), 0, out=out) is out  # a separate out is fine
    with pytest.raises(ValueError, match="out overlaps X"):
        simdoptim.take(view, np.arange(3), 0, out=X[1:4])  # between the view's elements: still refused


@pytest.mark.parametrize("make", [np.asfortranarray, lambda a: np.ascontiguousarray(a.T).T[:, :],
                                  lambda a: np.ascontiguousarray(a[::-1])[::-1], lambda a: a[:, ::-1]],
                         ids=["fortran", "transposed", "reversed", "reversed-columns"])
def test_minibatches_memory_per_batch_does_not_grow_with_m(make):
    """A batch of a strided data set is gathered from X where it lies: a copy of X per batch
    (np.take on a strided array, the old way) allocates X's 51 MB each time. Measured in
    bytes, not seconds: a timed version of this test (400,000 vs 25,000 examples per batch,
    bound 4x) failed on a quiet machine at 7x from cache effects alone."""
    X = make(np.ones((400_000, 32), np.float32))
    Y = np.asfortranarray(np.ones((400_000, 2), np.float32))
    mb = simdoptim.MiniBatches(X, Y, batch_size=64, seed=0)
    it = iter(mb)
    next(it)  # the permutation (8 bytes per example) is drawn here, outside the window
    tracemalloc.start()
    try:
        for _ in range(20):
            xb, yb = next(it)
            assert xb.shape == (64, 32) and yb.shape == (64, 2)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # a batch is 8 KB; copying X (51 MB) per batch is what this catches
    assert peak < 1_000_000, peak


def test_minibatches_over_strided_input_match_the_reference():
    rng = np.random.default_rng(2)
    X = np.asfortranarray(rng.standard_normal((1001, 7)))
    Y = rng.standard_normal((3, 2002))[:, ::2]  # columns of a strided view
    fast = simdoptim.MiniBatches(X, Y.T, batch_size=64, seed=4)
    ref = reference.MiniBatches(X, Y.T, batch_size=64, seed=4)
    for (a, b), (c, d) in zip(fast, ref):
        assert np.array_equal(a, c) and np.array_equal(b, d)
    fast = simdoptim.MiniBatches(X.T, Y, batch_size=50, axis=1, seed=1, reuse_buffers=True)
    ref = reference.MiniBatches(X.T, Y, batch_size=50, axis=1, seed=1)
    for (a, b), (c, d) in zip(fast, ref):
        assert np.array_equal(a, c) and np.array_equal(b, d)
    X3 = np.asfortranarray(rng.standard_normal((300, 4, 5)))  # 3-D, not viewable as 2-D
    for fa, ra in zip(simdoptim.MiniBatches(X3, batch_size=32, seed=3),
                      reference.MiniBatches(X3, batch_size=32, seed=3)):
        assert np.array_equal(fa, ra) and fa.flags.c_contiguous


PEAK = """
    import gc, os, resource, sys
    import numpy as np
    n, m, which = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    import simdoptim, simdoptim.course
    X = np.empty((n, m))
    X[...] = 0.5
    Y = np.ones((1, m))
    simdoptim.set_num_threads(2)
    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    base_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    base = rss()
    if which == "course":   # the course's own code
        np.random.seed(0)
        permutation = list(np.random.permutation(m))
        shuffled_X = X[:, permutation]
        shuffled_Y = Y[:, permutation].reshape((1, m))
        batches = [(shuffled_X[:, k:k + 64], shuffled_Y[:, k:k + 64]) for k in range(0, m, 64)]
    elif which == "ours":
        batches = simdoptim.course.random_mini_batches(X, Y, 64, seed=0)
    else:                   # a column gather, then nothing kept
        out = simdoptim.take(X, np.random.default_rng(0).permutation(m), axis=1)
        del out
        gc.collect()
        print("KEPT", rss() - base)
        sys.exit(0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print("PEAK", max(peak, base_peak) - max(base_peak, base), X.nbytes)
"""


# AddressSanitizer keeps freed memory in quarantine and maps its own heap, so the resident
# size of a process says nothing about what the code allocates (tools/sanitize.sh)
UNDER_ASAN = "libasan" in os.environ.get("LD_PRELOAD", "")
rss_probe = pytest.mark.skipif(not sys.platform.startswith("linux") or UNDER_ASAN,
                               reason="reads /proc/self/statm; meaningless under AddressSanitizer")


def _probe(n, m, which):
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="131072")  # big blocks are mapped, and unmapped when freed
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(PEAK), str(n), str(m), which], capture_output=True,
                       text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr
    words = [ln.split() for ln in r.stdout.splitlines() if ln.startswith(("PEAK", "KEPT"))][-1]
    return [int(w) for w in words[1:]]


@rss_probe
@pytest.mark.parametrize("n, m", [(64, 200_000), (8, 400_000), (2, 1_000_000)])
def test_random_mini_batches_peak_memory_is_the_courses(n, m):
    ours, size = _probe(n, m, "ours")
    course, _ = _probe(n, m, "course")
    # the course's code holds the permutation (as a list: 36 bytes per example) beside
    # the shuffled copy; ours may hold no more than that, give or take a few MB of noise
    assert ours <= course + 4 * 2**20, (ours / size, course / size)


@rss_probe
def test_column_gather_scratch_is_not_kept_after_the_call():
    # (20, 200000) float64: the tiled column gather needs 2 x 12.8 MB of tiles
    kept, = _probe(20, 200_000, "kept")
    assert kept <= 10 * 2**20, kept  # at most the 8 MiB block kept for reuse, and noise
