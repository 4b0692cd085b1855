"""Types of simdoptim._core, the compiled extension (cpp/bindings). Private: use the
simdoptim package, whose functions and classes wrap these with checks and docstrings."""

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

_Arrays = Sequence[NDArray[Any]]
_StateLists = Sequence[Sequence[NDArray[Any] | None] | None]

class Plan:
    """The prepared step of an optimizer: binds params and state once; step(grads) checks
    only the gradients and updates every tensor of every group in one compiled call."""

    t: int
    skipped_steps: int
    nonfinite: int
    rounding: str  # "nearest" or "stochastic": float16/bfloat16 stores
    seed: int  # the key of stochastic rounding's random bits
    grad_norms: list[float | None]  # per group, the last measured gradient norm
    def __init__(
        self,
        func: str,
        op: str,
        params: _Arrays,
        states: _StateLists | None,
        groups: Sequence[int] | None = None,
        num_groups: int = 1,
        labels: Sequence[Any] | None = None,
        params_arg: str = "params",
        grads_arg: str = "grads",
        copies: Sequence[NDArray[Any] | None] | None = None,
    ) -> None: ...
    def set_hyper(self, group: int, values: Sequence[float | bool]) -> None: ...
    def set_clip(self, group: int, max_norm: float | None) -> None: ...
    def set_first_tensor(self, first: int) -> None: ...
    def step(self, grads: _Arrays, outs: _Arrays | None = None, grad_scale: float | None = None) -> bool: ...
    def run(self, grads: _Arrays, step: int, outs: _Arrays | None = None,
            grad_scale: float | None = None) -> float | None: ...
    def __call__(self, grads: _Arrays, step: int = 1, outs: _Arrays | None = None,
                 grad_scale: float | None = None) -> float | None: ...
    def __len__(self) -> int: ...

def update(
    func: str,
    op: str,
    params: _Arrays,
    grads: _Arrays,
    states: _StateLists | None,
    values: Sequence[float | bool],
    *,
    step: int,
    labels: Sequence[Any] | None = None,
    outs: _Arrays | None = None,
    arg_names: tuple[str, str] = ("params", "grads"),
    copies: Sequence[NDArray[Any] | None] | None = None,
    grad_scale: float | None = None,
    max_grad_norm: float | None = None,
    stochastic: bool = False,
    seed: int = 0,
    first_tensor: int = 0,
) -> float | None: ...
def ops() -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]: ...
def all_finite(arrays: _Arrays) -> bool: ...
def ewma_scan(series: NDArray[Any], out: NDArray[Any], *, beta: float, axis: int = -1,
              bias_correction: bool = True) -> None: ...
def take(X: NDArray[Any], indices: NDArray[np.integer[Any]], axis: int = 0,
         out: NDArray[Any] | None = None) -> NDArray[Any]: ...
def cpu_info() -> dict[str, Any]: ...
def get_num_threads() -> int: ...
def set_num_threads(n: int) -> None: ...
def _bandwidth_probe(tensors: Sequence[Sequence[NDArray[Any]]], *, read_write: int, write_only: int = 0) -> None: ...
def _select_isa(name: str) -> None: ...
def _set_parallel_grain(elements: int) -> None: ...
def _gil_released_last() -> bool: ...
def _round(src: NDArray[Any], dst: NDArray[Any], *, stochastic: bool = False, seed: int = 0, step: int = 0,
           tensor: int = 0, stream: int = 0) -> None: ...
def _grad_norm(grads: _Arrays, grad_scale: float | None = None) -> float: ...
def _update_calls() -> int: ...
