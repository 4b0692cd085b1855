"""simdoptim.torch - drop-in ``torch.optim`` optimizers for CPU tensors, on simdoptim's kernels.

    import simdoptim.torch
    opt = simdoptim.torch.AdamW(model.parameters(), lr=1e-3)   # torch.optim.AdamW's signature
    loss.backward(); opt.step(); opt.zero_grad()

``SGD``, ``Adam``, ``AdamW``, ``RMSprop`` and ``Adagrad`` are ``torch.optim.Optimizer``
subclasses with torch's constructor signatures, defaults and state format. They update
float32/float64 CPU tensors (all but Adagrad also float16/bfloat16 ones: state in the
parameter's dtype as torch keeps it, float32 arithmetic, each store rounded to nearest;
bfloat16 needs ml_dtypes) in place, with no copies (the kernels write the tensors' own memory),
every parameter of every group in one compiled call with the GIL released. lr schedulers,
``torch.amp.GradScaler``, closures, step hooks, ``state_dict``/``load_state_dict``
(interchangeable with torch.optim's), ``DistributedDataParallel`` and
``ZeroRedundancyOptimizer(optimizer_class=simdoptim.torch.AdamW)`` work as with torch.optim.

This module needs torch (``pip install "simdoptim[torch]"``); the rest of simdoptim does not.
"""

from __future__ import annotations

from ._optim import ADAM_ORDER, SGD, Adagrad, Adam, AdamW, RMSprop, default_num_threads

__all__ = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "default_num_threads", "ADAM_ORDER"]


def __dir__():
    """Only the public API in dir() and tab completion (PEP 562)."""
    return list(__all__)
