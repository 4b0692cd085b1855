"""simdoptim.batching - mini-batches with the compiled, parallel gather.

``take(X, indices, axis=0, out=None)`` equals ``np.take(X, indices, axis=axis)`` for 1-D
and 2-D C-contiguous arrays of bool or any numeric dtype; the rows (``axis=0``) or the
columns (``axis=1``) are gathered by OpenMP threads with the GIL released, and the indices
are all checked before anything is written. ``MiniBatches`` is
:class:`simdoptim.reference.MiniBatches` with its gather routed to ``take``: the same
arguments, the same permutations from the same Generator, the same batches bit for bit.
Randomness stays in NumPy; the compiled code only copies.
"""

from __future__ import annotations

import numpy as np

from . import _core, reference

__all__ = ["take", "MiniBatches"]

#: ``take(X, indices, axis=0, out=None)``: ``np.take(X, indices, axis=axis, out=out)`` for
#: 1-D and 2-D C-contiguous ``X``, multi-threaded; see :func:`simdoptim.reference.take` for
#: the rules (negative indices count from the end, an out-of-range index raises IndexError
#: before anything is written, ``out`` must have the result's shape and ``X``'s dtype).
take = _core.take


class MiniBatches(reference.MiniBatches):
    __doc__ = reference.MiniBatches.__doc__

    def __init__(self, X, Y=None, batch_size=64, *, axis=0, shuffle=True, seed=None, drop_last=False,
                 reuse_buffers=False):
        super().__init__(X, Y, batch_size, axis=axis, shuffle=shuffle, seed=seed, drop_last=drop_last,
                         reuse_buffers=reuse_buffers)
        # The compiled gather reads C-contiguous memory; a strided X or Y is copied once
        # here rather than at every batch.
        self._X = np.ascontiguousarray(self._X)
        if self._Y is not None:
            self._Y = np.ascontiguousarray(self._Y)

    @staticmethod
    def _take(A, idx, axis, out):
        # Any number of dimensions is a 2-D gather: examples on the first axis are rows
        # of (m, rest), on the last axis columns of (rest, m).
        m = A.shape[axis]
        rest = A.size // m if m else int(np.prod(A.shape[:axis] + A.shape[axis + 1:]))
        shape = list(A.shape)
        shape[axis] = idx.shape[0]
        if out is None:
            out = np.empty(shape, A.dtype)
        if A.ndim == 1:
            take(A, idx, 0, out)
        elif axis == 0:
            take(A.reshape(m, rest), idx, 0, out.reshape(idx.shape[0], rest))
        else:
            take(A.reshape(rest, m), idx, 1, out.reshape(rest, idx.shape[0]))
        return out
