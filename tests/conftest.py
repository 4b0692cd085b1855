"""Shared fixtures: run a test on every SIMD path this CPU has and with 1 and 2 threads.

The ISA and thread fixtures change process-wide settings of the compiled module and always
restore them, so test order never matters.
"""

from __future__ import annotations

import pytest

import simdoptim
from simdoptim import _core

AVAILABLE_ISAS = simdoptim.cpu_info()["isas"]
DEFAULT_ISA = simdoptim.cpu_info()["isa"]
DEFAULT_GRAIN = simdoptim.cpu_info()["parallel_grain"]


@pytest.fixture(params=AVAILABLE_ISAS)
def isa(request):
    """Every SIMD path compiled in and runnable on this CPU."""
    _core._select_isa(request.param)
    assert simdoptim.cpu_info()["isa"] == request.param
    try:
        yield request.param
    finally:
        _core._select_isa(DEFAULT_ISA)


@pytest.fixture(params=[1, 2], ids=["1thread", "2threads"])
def threads(request):
    """1 and 2 threads; with 2 the grain is made tiny so even small tensors are split
    between threads at 64-byte lines (the cut lands inside tensors, tails and all)."""
    before = simdoptim.get_num_threads()
    simdoptim.set_num_threads(request.param)
    if request.param > 1:
        _core._set_parallel_grain(4)
    try:
        yield request.param
    finally:
        simdoptim.set_num_threads(before)
        _core._set_parallel_grain(DEFAULT_GRAIN)
