"""simdoptim.batching - mini-batches with the compiled, parallel gather.

``take(X, indices, axis=0, out=None)`` equals ``np.take(X, indices, axis=axis)`` for 1-D
and 2-D arrays of bool or any numeric dtype and any memory layout (C or Fortran order,
transposed, sliced or negatively strided views are read where they lie, never copied
first); the rows (``axis=0``) or the columns (``axis=1``) are gathered by the kernel threads
with the GIL released, and the indices are all checked before anything is written. ``MiniBatches`` is
:class:`simdoptim.reference.MiniBatches` with its gather routed to ``take``: the same
arguments, the same permutations from the same Generator, the same batches bit for bit.
Randomness stays in NumPy; the compiled code only copies.
"""

from __future__ import annotations

import numpy as np

from . import _core, reference

__all__ = ["take", "MiniBatches"]


def __dir__():
    # PEP 562: dir() and tab completion show the public API, not this module's imports
    return list(__all__)


#: ``take(X, indices, axis=0, out=None)``: ``np.take(X, indices, axis=axis, out=out)`` for
#: 1-D and 2-D ``X`` of any strides, multi-threaded; see :func:`simdoptim.reference.take` for
#: the rules (negative indices count from the end, an out-of-range index raises IndexError
#: before anything is written, ``out`` must have the result's shape and ``X``'s dtype).
take = _core.take


class MiniBatches(reference.MiniBatches):
    __doc__ = reference.MiniBatches.__doc__

    def __init__(self, X, Y=None, batch_size=64, *, axis=0, shuffle=True, seed=None, drop_last=False,
                 reuse_buffers=False):
        super().__init__(X, Y, batch_size, axis=axis, shuffle=shuffle, seed=seed, drop_last=drop_last,
                         reuse_buffers=reuse_buffers)
        # The compiled gather follows strides, so a Fortran-ordered or strided X or Y is read
        # batch by batch where it lies, at a cost that depends on the batch, not on m; it is
        # never copied here (that would double its memory and freeze its values).
        self._plans = [_plan(self._X, self.axis, self._x_buffer)]
        if self._Y is not None:
            self._plans.append(_plan(self._Y, self._y_axis, self._y_buffer))

    def _epoch(self, order):
        # The reference's loop with the per-batch Python work cut down, since a batch of 64
        # rows is copied in about a microsecond: one compiled call per array and batch.
        B = self.batch_size
        plans = self._plans
        for k in range(len(self)):
            idx = order[k * B:(k + 1) * B]
            if len(plans) == 1:
                yield plans[0].take(idx)
            else:
                yield plans[0].take(idx), plans[1].take(idx)


def _plan(A, axis, buffer):
    if A.ndim <= 2 or A.flags.c_contiguous:
        return _Plan(A, axis, buffer)
    m = A.shape[axis]
    rest = A.size // m if m else 0
    try:
        # a view of (m, rest) or (rest, m) with the same memory, when the strides allow one
        A2 = A.view()
        A2.shape = (m, rest) if axis == 0 else (rest, m)
    except AttributeError:
        return _FancyPlan(A, axis, buffer)
    return _Plan(A, axis, buffer, A2)


class _FancyPlan:
    """Arrays of 3 or more dimensions whose example axis cannot be viewed as 2-D: NumPy's
    indexing per batch (which, unlike np.take, never copies the whole array first)."""

    def __init__(self, A, axis, buffer):
        self.A, self.axis, self.buffer = A, axis, buffer

    def take(self, idx):
        key = (slice(None),) * self.axis + (idx,)
        batch = self.A[key]
        if self.buffer is None:
            return np.ascontiguousarray(batch)
        out = self.buffer[:batch.size].reshape(batch.shape)
        out[...] = batch
        return out


class _Plan:
    """How one array's batches are gathered: any number of dimensions is a 2-D take
    (examples on the first axis are rows of (m, rest), on the last axis columns of
    (rest, m)), into a new array or a view of the reused buffer."""

    def __init__(self, A, axis, buffer, A2=None):
        m = A.shape[axis]
        self.rest = A.size // m if m else int(np.prod(A.shape[:axis] + A.shape[axis + 1:]))
        self.axis2 = 0 if axis == 0 else 1
        if A2 is None:
            A2 = A if A.ndim <= 2 else (A.reshape(m, self.rest) if axis == 0 else A.reshape(self.rest, m))
        self.A2 = A2
        if A.ndim == 1:
            self.axis2 = 0
        self.shape = list(A.shape)
        self.axis = axis
        self.dtype = A.dtype
        self.buffer = buffer
        self.reshape = A.ndim > 2

    def take(self, idx):
        b = idx.shape[0]
        shape2: tuple[int, ...]
        if self.A2.ndim == 1:
            shape2 = (b,)
        else:
            shape2 = (b, self.rest) if self.axis2 == 0 else (self.rest, b)
        if self.buffer is None:
            out = np.empty(shape2, self.dtype)
        else:
            out = self.buffer[:b * self.rest].reshape(shape2)
        _core.take(self.A2, idx, self.axis2, out)
        if self.reshape:
            shape = self.shape.copy()
            shape[self.axis] = b
            return out.reshape(shape)
        return out
