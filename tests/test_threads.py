"""Threads and processes: the GIL is released in every kernel; concurrent Python threads,
any thread count and OMP_NUM_THREADS give the same bits; a process forked after the kernels
ran threads can still use them, with threads of its own (see cpp/runtime/parallel.cpp;
tests/test_pool.py tests the pool itself)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import simdoptim
from simdoptim import functional, reference

core = simdoptim._core


@pytest.fixture
def small_grain():
    """Force several threads on small arrays; restore the defaults afterwards."""
    threads, grain = simdoptim.get_num_threads(), simdoptim.cpu_info()["parallel_grain"]
    core._set_parallel_grain(16)
    yield
    core._set_parallel_grain(grain)
    simdoptim.set_num_threads(threads)


def f64(n, v=1.0):
    return np.full(n, v)


ENTRY_POINTS = {
    "gd_update": lambda: functional.gd_update([f64(50)], [f64(50)], lr=0.1),
    "momentum_update": lambda: functional.momentum_update([f64(50)], [f64(50)], [f64(50)], lr=0.1),
    "rmsprop_update": lambda: functional.rmsprop_update([f64(50)], [f64(50)], [f64(50)], lr=0.1),
    "adam_update": lambda: functional.adam_update([f64(50)], [f64(50)], [f64(50)], [f64(50)], step=1),
    "adagrad_update": lambda: functional.adagrad_update([f64(50)], [f64(50)], [f64(50)], step=1),
    "ema_update": lambda: functional.ema_update([f64(50)], [f64(50)], beta=0.9, step=1),
    "ewma": lambda: functional.ewma(np.ones((3, 50)), 0.9),
    "all_finite": lambda: functional.all_finite([f64(50)]),
    "adam_pytorch_update": lambda: functional.adam_pytorch_update([f64(50)], [f64(50)], [f64(50)], [f64(50)], step=1),
    "round_to": lambda: functional.round_to(f64(50), np.float16),
    "grad_norm": lambda: functional.grad_norm([f64(50)]),
    "prepare": lambda: functional.prepare(functional.gd_update, [f64(50)], lr=0.1)([f64(50)]),
}


@pytest.mark.parametrize("name", list(ENTRY_POINTS))
def test_every_kernel_runs_without_the_gil(name, small_grain):
    core._gil_released_last()  # reset the record
    ENTRY_POINTS[name]()
    assert core._gil_released_last() is True
    assert core._gil_released_last() is False  # the hook resets, so the check above can fail
    with pytest.raises(TypeError):
        functional.gd_update([np.ones(3, np.int8)], [np.ones(3, np.int8)], lr=0.1)
    assert core._gil_released_last() is False  # a refused call never reaches the kernel


def test_entry_points_cover_the_functional_api():
    assert set(ENTRY_POINTS) == set(functional.__all__)


def _run_adam(params, grads, steps):
    opt = simdoptim.Adam(params, lr=1e-3, amsgrad=True)
    for _ in range(steps):
        opt.step(grads)


def test_two_threads_two_optimizers_equal_sequential(small_grain):
    simdoptim.set_num_threads(2)
    rng = np.random.default_rng(0)
    shapes = [(301, 77), (1000,), (3,)]
    grads = [[rng.standard_normal(s).astype(np.float32) for s in shapes] for _ in range(2)]
    inits = [[rng.standard_normal(s).astype(np.float32) for s in shapes] for _ in range(2)]

    sequential = [[a.copy() for a in init] for init in inits]
    for p, g in zip(sequential, grads):
        _run_adam(p, g, 30)

    concurrent = [[a.copy() for a in init] for init in inits]
    barrier = threading.Barrier(2)
    errors = []

    def worker(i):
        try:
            barrier.wait()
            _run_adam(concurrent[i], grads[i], 30)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for a, b in zip(sequential, concurrent):
        assert [x.tobytes() for x in a] == [x.tobytes() for x in b]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_any_thread_count_gives_the_same_bits(dtype, small_grain):
    rng = np.random.default_rng(1)
    # sizes around vector widths and 64-byte lines, so thread cuts land everywhere
    shapes = [(1,), (15,), (17,), (33, 3), (129,), (1000,), (0,), (67, 5)]
    init = [rng.standard_normal(s).astype(dtype) for s in shapes]
    grads = [[rng.standard_normal(s).astype(dtype) for s in shapes] for _ in range(4)]
    series = rng.standard_normal((5, 300)).astype(dtype)
    results = {}
    for backend, threads in [("reference", 1)] + [("fast", n) for n in (1, 2, 3, 4, 7)]:
        if backend == "fast":
            simdoptim.set_num_threads(threads)
        mod = simdoptim if backend == "fast" else reference
        out = []
        for cls, kw in [("GD", {"weight_decay": 0.1}), ("Momentum", {"nesterov": True}),
                        ("RMSprop", {"centered": True, "momentum": 0.5}),
                        ("Adam", {"decoupled": True, "weight_decay": 0.1})]:
            params = [a.copy() for a in init]
            opt = getattr(mod, cls)(params, lr=0.01, **kw)
            for g in grads:
                opt.step(g)
            out.append([p.tobytes() for p in params])
        out.append(mod.ewma(series, 0.9, axis=1).tobytes())
        out.append(mod.ewma(series, 0.9, axis=0).tobytes())
        results[(backend, threads)] = out
    expected = results.pop(("reference", 1))
    for key, out in results.items():
        assert out == expected, key


def _python(code, env=None, timeout=120):
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=timeout, env=full_env)


@pytest.mark.parametrize("n", ["1", "3"])
def test_omp_num_threads_is_respected(n):
    proc = _python("import simdoptim; "
                   "print('RESULT', simdoptim.get_num_threads(), simdoptim.cpu_info()['num_threads'])",
                   env={"OMP_NUM_THREADS": n})
    assert proc.returncode == 0, proc.stderr
    assert _result(proc.stdout) == [n, n]


def _result(stdout):
    """The words of the child's RESULT line (an editable install may print build lines too)."""
    lines = [ln.split()[1:] for ln in stdout.splitlines() if ln.startswith("RESULT")]
    assert len(lines) == 1, stdout
    return lines[0]


FORK_CHILD = """
    import multiprocessing as mp
    import numpy as np
    import simdoptim

    simdoptim._core._set_parallel_grain(16)
    simdoptim.set_num_threads(2)

    def steps(seed):
        rng = np.random.default_rng(seed)
        p = [rng.standard_normal(5000)]
        g = [rng.standard_normal(5000)]
        opt = simdoptim.Adam(p)
        for _ in range(5):
            opt.step(g)
        return p[0].tobytes(), simdoptim.cpu_info()["pool_workers"], simdoptim.get_num_threads()

    if __name__ == "__main__":
        here = [steps(s) for s in range(3)]          # the parent starts its pool first
        assert simdoptim.cpu_info()["pool_workers"] >= 1
        with mp.get_context("fork").Pool(2) as pool:
            there = pool.map(steps, range(3))
        assert [h[0] for h in here] == [t[0] for t in there], "different numbers in the child"
        assert all(t[1] >= 1 and t[2] == 2 for t in there), [t[1:] for t in there]
        print("RESULT ok", simdoptim.get_num_threads())
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_forked_child_can_use_the_kernels(tmp_path):
    script = tmp_path / "fork_child.py"
    script.write_text(textwrap.dedent(FORK_CHILD))
    # its own session, so a hang can be killed together with the forked pool workers
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:  # pragma: no cover - the regression this test exists for
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail("a process forked after the kernels ran hung in the kernels (OpenMP after fork)")
    assert proc.returncode == 0, out + err
    assert _result(out) == ["ok", "2"]  # the parent keeps its threads
