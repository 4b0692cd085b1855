"""simdoptim - the optimizer step, SIMD and multi-threaded, bit-exact with its NumPy reference.

    import simdoptim
    opt = simdoptim.Adam(params, lr=1e-3)      # params: list or dict of float32/float64 arrays,
    opt.step(grads)                              # or parameter groups; updated in place

``simdoptim.reference`` holds the same API in plain NumPy (the specification);
``simdoptim.functional`` the stateless updates; ``simdoptim.schedules`` learning-rate
decays; ``simdoptim.batching`` mini-batches; ``simdoptim.checkpoint`` state files;
``simdoptim.course`` drop-in replacements for the functions of the optimization
programming assignment of week 2 of "Improving Deep Neural Networks: Hyperparameter
Tuning, Regularization and Optimization" (course 2 of DeepLearning.AI's Deep Learning
Specialization). ``simdoptim.cpu_info()`` says which SIMD path runs (set
``SIMDOPTIM_ISA=baseline|avx2|avx512`` to force a lower one).
"""

from __future__ import annotations

from . import _algorithms, _core, _optimizer, _threads, batching, checkpoint, course, functional, reference, schedules
from ._core import cpu_info
from ._threads import get_num_threads, set_num_threads
from .batching import MiniBatches, take
from .checkpoint import load_checkpoint, save_checkpoint
from .functional import all_finite, ewma

# the package's version, written only here: the build reads it from this line (pyproject.toml,
# tool.scikit-build.metadata.version)
__version__ = "0.1.0"

_threads.apply_environment()


def _plan(cls, func, params, states, groups, num_groups, labels, copies=None):
    return _core.Plan(func, cls.op, params, states, groups, num_groups, labels, copies=copies)


#: the compiled backend of the optimizer classes
_BACKEND = _optimizer.Backend("compiled", _plan)

GD = _algorithms.GD.using(_BACKEND, __name__)
Momentum = _algorithms.Momentum.using(_BACKEND, __name__)
RMSprop = _algorithms.RMSprop.using(_BACKEND, __name__)
Adam = _algorithms.Adam.using(_BACKEND, __name__)
Adagrad = _algorithms.Adagrad.using(_BACKEND, __name__)
EMA = _algorithms.EMA.using(_BACKEND, __name__)

__all__ = [
    "GD", "Momentum", "RMSprop", "Adam", "Adagrad", "EMA", "ewma", "all_finite",
    "take", "MiniBatches",
    "cpu_info", "get_num_threads", "set_num_threads", "functional", "reference", "schedules", "course", "__version__",
    "save_checkpoint", "load_checkpoint", "checkpoint", "batching",
]


def __dir__():
    # PEP 562: dir() and tab completion show the public API, not this module's imports
    return list(__all__)
