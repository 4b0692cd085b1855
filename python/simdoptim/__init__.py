"""simdoptim - the optimizer step, SIMD and multi-threaded, bit-exact with its NumPy reference.

    import simdoptim
    opt = simdoptim.Adam(params, lr=1e-3)      # params: list or dict of float32/float64 arrays
    opt.step(grads)                              # updates params in place

``simdoptim.reference`` holds the same API in plain NumPy (the specification);
``simdoptim.functional`` the stateless updates; ``simdoptim.cpu_info()`` says which
SIMD path runs (set ``SIMDOPTIM_ISA=baseline|avx2|avx512`` to force a lower one).
"""

from __future__ import annotations

from . import batching, checkpoint, functional, reference, schedules
from ._core import cpu_info, get_num_threads, set_num_threads
from .batching import MiniBatches, take
from .checkpoint import load_checkpoint, save_checkpoint
from .functional import all_finite, ewma
from .optimizers import EMA, GD, Adam, Momentum, RMSprop

# the package's version, written only here: the build reads it from this line (pyproject.toml,
# tool.scikit-build.metadata.version)
__version__ = "0.1.0"

__all__ = [
    "GD", "Momentum", "RMSprop", "Adam", "EMA", "ewma", "all_finite",
    "take", "MiniBatches", "batching",
    "cpu_info", "get_num_threads", "set_num_threads", "functional", "reference", "schedules", "__version__",
    "save_checkpoint", "load_checkpoint", "checkpoint",
]
