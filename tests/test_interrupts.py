"""A step is all or nothing, also when a KeyboardInterrupt arrives while it runs.

Ctrl-C (here ``_thread.interrupt_main()`` from a timer) lands at a random moment of a loop of
steps on large tensors; the optimizer caught in the ``except KeyboardInterrupt`` must hold
exactly ``t`` applied steps: its parameters and state equal a replay of ``opt.t`` steps, and a
checkpoint taken there resumes like an uninterrupted run. (Before the fix, the compiled
update returned, the interrupt surfaced, and ``t`` was never advanced.)
"""

from __future__ import annotations

import _thread
import signal
import threading
import time

import numpy as np
import pytest

import simdoptim
from simdoptim import reference

BACKENDS = {"fast": simdoptim, "reference": reference}
CASES = {
    "GD": lambda B, p: B.GD(p, lr=0.01, weight_decay=0.01),
    "Momentum": lambda B, p: B.Momentum(p, lr=0.01, nesterov=True),
    "RMSprop": lambda B, p: B.RMSprop(p, lr=0.01, centered=True, momentum=0.5),
    "Adam": lambda B, p: B.Adam(p, lr=0.01, amsgrad=True),
    "Adam-skip": lambda B, p: B.Adam(p, lr=0.01, nonfinite="skip"),
}
SIZE = {"fast": 4_000_000, "reference": 500_000}
TRIALS = 6


@pytest.fixture(autouse=True)
def sigint_raises_keyboard_interrupt():
    """Python turns SIGINT into KeyboardInterrupt only where SIGINT was not ignored when it
    started; a shell starts background jobs (``cmd &``, ``nohup``) with SIGINT ignored, and
    there ``_thread.interrupt_main()`` does nothing. The tests simulate Ctrl-C in a process
    that handles it, so they install Python's default handler for their duration."""
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


def _interrupted_loop(step, step_seconds, rng):
    """Runs step() until a KeyboardInterrupt sent at a random moment of the next few steps."""
    timer = threading.Timer(rng.uniform(0.0, 2.5 * step_seconds), _thread.interrupt_main)
    try:
        timer.start()  # inside the try: an interrupt right away is still caught here
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            step()
        pytest.fail("no KeyboardInterrupt arrived")
    except KeyboardInterrupt:
        pass
    finally:
        timer.cancel()
        timer.join()


@pytest.mark.slow
@pytest.mark.parametrize("backend", list(BACKENDS))
@pytest.mark.parametrize("name", list(CASES))
def test_interrupted_step_is_all_or_nothing(name, backend):
    B = BACKENDS[backend]
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal(SIZE[backend]).astype(np.float32)
    g = rng.standard_normal(w0.shape).astype(np.float32)
    w = w0.copy()
    opt = CASES[name](B, [w])
    start = time.perf_counter()
    opt.step([g])
    step_seconds = time.perf_counter() - start
    for _ in range(TRIALS):
        _interrupted_loop(lambda: opt.step([g]), step_seconds, rng)
    # a replay of opt.t steps is bit-identical, parameters, state and counts
    replay_w = w0.copy()
    replay = CASES[name](B, [replay_w])
    for _ in range(opt.t):
        replay.step([g])
    assert replay_w.tobytes() == w.tobytes(), f"parameters hold more or fewer than t={opt.t} steps"
    for k, arrays in opt.state_dict()["state"].items():
        for a, b in zip(arrays, replay.state_dict()["state"][k]):
            assert a.tobytes() == b.tobytes(), k
    assert opt.skipped_steps == 0


@pytest.mark.slow
@pytest.mark.parametrize("backend", list(BACKENDS))
def test_interrupted_ema_update_is_all_or_nothing(backend):
    B = BACKENDS[backend]
    rng = np.random.default_rng(1)
    x = rng.standard_normal(SIZE[backend]).astype(np.float32)
    ema = B.EMA(0.9)
    start = time.perf_counter()
    ema.update(x)
    step_seconds = time.perf_counter() - start
    for _ in range(TRIALS):
        _interrupted_loop(lambda: ema.update(x), step_seconds, rng)
    replay = B.EMA(0.9)
    for _ in range(ema.t):
        expected = replay.update(x)
    assert ema.value.tobytes() == expected.tobytes()


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_sigint_during_a_reference_step_is_delivered_after_it(backend):
    """The deferral gives the interrupt back: the KeyboardInterrupt still reaches the caller."""
    B = BACKENDS[backend]
    w = np.zeros(10, np.float32)
    opt = B.GD([w], lr=1.0)
    with pytest.raises(KeyboardInterrupt):
        for _ in range(10_000):
            opt.step([np.ones(10, np.float32)])
            if opt.t == 3:
                _thread.interrupt_main()
    assert np.all(w == -opt.t)
