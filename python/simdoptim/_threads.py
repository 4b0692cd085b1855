"""How many threads the kernels use, and who chose it.

Precedence, highest first: ``simdoptim.set_num_threads(n)``; the ``SIMDOPTIM_NUM_THREADS``
environment variable (read at import); under ``torchrun`` the rank's share of the cores
(``simdoptim.torch.default_num_threads``, applied by the first ``simdoptim.torch`` optimizer);
``OMP_NUM_THREADS``; the CPUs this process may run on.
"""

from __future__ import annotations

import os

from . import _core

#: True once the user chose the count (set_num_threads or SIMDOPTIM_NUM_THREADS): nothing
#: in the library changes it after that
_chosen = False


def set_num_threads(n: int) -> None:
    """Sets the number of threads the kernels use: the calling thread and up to ``n - 1``
    workers of simdoptim's own pool (not OpenMP's, not torch's). ``n``: an int in [1, 4096].
    It overrides ``SIMDOPTIM_NUM_THREADS``, ``OMP_NUM_THREADS`` and the per-rank default of
    ``simdoptim.torch`` under ``torchrun``, for the rest of the process.

    Raises TypeError when ``n`` is not an int, ValueError when it is out of range."""
    global _chosen
    _core.set_num_threads(n)
    _chosen = True


def get_num_threads() -> int:
    """The number of threads the kernels use (an int >= 1): what ``set_num_threads`` set, else
    ``SIMDOPTIM_NUM_THREADS``, else ``OMP_NUM_THREADS``, else the CPUs this process may run on."""
    return int(_core.get_num_threads())


def chosen() -> bool:
    """Whether the user chose the count (``set_num_threads`` or ``SIMDOPTIM_NUM_THREADS``)."""
    return _chosen


def apply_environment() -> None:
    """At import: ``SIMDOPTIM_NUM_THREADS`` (a positive int) sets the count. Raises ValueError
    naming the variable when it is set to anything else."""
    global _chosen
    value = os.environ.get("SIMDOPTIM_NUM_THREADS", "").strip()
    if not value:
        return
    try:
        n = int(value)
    except ValueError:
        n = 0
    if not 1 <= n <= 4096:
        raise ValueError(f"SIMDOPTIM_NUM_THREADS must be an int between 1 and 4096, got {value!r}")
    _core.set_num_threads(n)
    _chosen = True
