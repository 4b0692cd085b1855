"""Checkpoints: optimizer state (and the parameters) in ``.npz`` files, written atomically.

``state_dict()`` of every optimizer and of ``EMA`` is a plain nested dict of numbers,
strings, None, lists and NumPy arrays. ``flatten_state`` turns such a tree into a flat
``{name: ndarray}`` dict that ``np.savez`` takes: the arrays as ``a0``, ``a1``, ... and the
rest of the tree as one JSON string (``__simdoptim__``) that points at them. Floats go
through JSON as their shortest round-tripping repr, so they come back bit for bit, and the
file loads with ``allow_pickle=False``: opening a checkpoint never runs code.

``save_checkpoint`` writes to a temporary file in the target's directory, flushes it to
disk, then renames it over the target (``os.replace`` is atomic on POSIX and Windows), so
a crash or a kill in the middle of a save leaves the previous checkpoint intact. A killed
writer may leave its temporary file (``.NAME.*.tmp``) behind; it is never read.
"""

from __future__ import annotations

import json
import numbers
import os
import tempfile
import traceback
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

__all__ = ["flatten_state", "unflatten_state", "save_checkpoint", "load_checkpoint"]

CHECKPOINT_FORMAT = "simdoptim.checkpoint"
CHECKPOINT_VERSION = 1
_LAYOUT_KEY = "__simdoptim__"


def flatten_state(state):
    """``{name: ndarray}`` for ``np.savez(file, **flatten_state(state))``; see the module doc.

    ``state`` is a tree of dicts (str keys), lists/tuples, None, bool, int, float, str and
    NumPy arrays (copied as they are: dtype, shape and values). Tuples come back as lists."""
    arrays: dict[str, np.ndarray] = {}

    def encode(x, where):
        if isinstance(x, np.ndarray):
            name = f"a{len(arrays)}"
            arrays[name] = x
            return {"__array__": name}
        if x is None or isinstance(x, (bool, str)):
            return x
        if isinstance(x, np.generic):
            item = x.item()
            if isinstance(item, np.generic):  # e.g. np.longdouble.item() is itself: no JSON form
                raise TypeError(f"flatten_state: {where} is a {type(x).__name__}, which has no exact JSON form")
            return encode(item, where)
        if isinstance(x, numbers.Integral):
            return int(x)
        if isinstance(x, numbers.Real):
            return float(x)
        if isinstance(x, Mapping):
            out = {}
            for k, v in x.items():
                if not isinstance(k, str):
                    raise TypeError(f"flatten_state: keys must be str, got {type(k).__name__} at {where}")
                out[k] = encode(v, f"{where}[{k!r}]")
            return {"__dict__": out}
        if isinstance(x, (list, tuple)):
            return [encode(v, f"{where}[{i}]") for i, v in enumerate(x)]
        raise TypeError(f"flatten_state: cannot store a {type(x).__name__} (at {where}); "
                        f"expected dicts, lists, numbers, strings, None and numpy arrays")

    layout = encode(state, "state")
    flat = {_LAYOUT_KEY: np.array(json.dumps(layout, allow_nan=True))}
    flat.update(arrays)
    return flat


def unflatten_state(flat):
    """The tree ``flatten_state`` stored, from its dict or from an opened ``np.load`` file."""
    if _LAYOUT_KEY not in flat:
        raise KeyError(f"unflatten_state: no {_LAYOUT_KEY!r} entry; not written by simdoptim.flatten_state")
    layout = json.loads(str(np.asarray(flat[_LAYOUT_KEY])[()]))

    def decode(x):
        if isinstance(x, list):
            return [decode(v) for v in x]
        if isinstance(x, dict):
            if "__array__" in x:
                return np.array(flat[x["__array__"]])  # a writeable copy, detached from the file
            return {k: decode(v) for k, v in x["__dict__"].items()}
        return x

    return decode(layout)


def _state_of(obj):
    if hasattr(obj, "state_dict"):
        return obj.state_dict()
    if isinstance(obj, Mapping):
        return {k: (v.state_dict() if hasattr(v, "state_dict") else v) for k, v in obj.items()}
    raise TypeError(
        "save_checkpoint: state must be an optimizer, an EMA, a state_dict() or a dict of them, "
        f"got {type(obj).__name__}"
    )


def _params_tree(params):
    if params is None or isinstance(params, np.ndarray):
        return params
    items: Iterable[tuple[Any, Any]]
    if isinstance(params, Mapping):
        items = params.items()
    elif isinstance(params, (list, tuple)):
        items = enumerate(params)
    else:
        raise TypeError("save_checkpoint: params must be an array, a list or a dict of arrays, "
                        f"got {type(params).__name__}")
    for k, a in items:
        if not isinstance(a, np.ndarray):
            raise TypeError(f"save_checkpoint: params[{k!r}] must be a numpy.ndarray, got {type(a).__name__}")
    return dict(params) if isinstance(params, Mapping) else list(params)


def save_checkpoint(path, state, params=None):
    """Writes ``state`` (an optimizer, an EMA, a ``state_dict()``, or a dict of those, e.g.
    ``{"opt": opt, "ema": ema}``) and optionally ``params`` (an array, list or dict of arrays)
    to the ``.npz`` file ``path`` (used exactly as given), atomically: the previous file at
    ``path`` stays whole until the new one is complete on disk."""
    tree = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "state": _state_of(state),
            "params": _params_tree(params)}
    flat = flatten_state(tree)  # fails before any file is touched
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:  # owns fd from here: closed on any error below
            _set_default_mode(f.fileno(), path)
            try:
                np.savez(f, **flat)
            except BaseException as e:
                # older NumPy (2.0.2, the last for Python 3.9) leaves its ZipFile open when a
                # write fails, kept alive by the traceback's frames until after f is closed; its
                # __del__ then raises "seek of closed file". Let it go while f is still open.
                traceback.clear_frames(e.__traceback__)
                raise
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_directory(directory)


def load_checkpoint(path):
    """``(state, params)`` from a file ``save_checkpoint`` wrote; ``params`` is None when none
    were saved. Pass ``state`` (or ``state["opt"]`` ...) to ``load_state_dict``."""
    with np.load(os.fspath(path), allow_pickle=False) as f:
        tree = unflatten_state(f)
    if not isinstance(tree, dict) or tree.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"load_checkpoint: {os.fspath(path)!r} is not a simdoptim checkpoint")
    if tree.get("version") != CHECKPOINT_VERSION:
        raise ValueError(f"load_checkpoint: unsupported checkpoint version {tree.get('version')!r} "
                         f"(this simdoptim reads version {CHECKPOINT_VERSION})")
    return tree["state"], tree["params"]


def _set_default_mode(fd, path):
    """mkstemp creates the file 0600; give it the mode a plain open() would have given."""
    if not hasattr(os, "fchmod"):
        return
    try:
        mode = os.stat(path).st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    os.fchmod(fd, mode)


def _fsync_directory(directory):
    """Makes the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    flags = getattr(os, "O_DIRECTORY", None)
    if flags is None:
        return
    try:
        dfd = os.open(directory, os.O_RDONLY | flags)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)
