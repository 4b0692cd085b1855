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

import errno
import json
import numbers
import os
import tempfile
import traceback
import zipfile
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

__all__ = ["flatten_state", "unflatten_state", "save_checkpoint", "load_checkpoint", "CHECKPOINT_FORMAT",
           "CHECKPOINT_VERSION"]


def __dir__():
    # PEP 562: dir() and tab completion show the public API, not this module's imports
    return list(__all__)


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
            if x.dtype.itemsize == 2 and x.dtype.name == "bfloat16":
                # .npy has no bfloat16 (ml_dtypes' type would come back as raw 'V2'): store
                # the bit patterns and name the dtype in the layout
                arrays[name] = x.view(np.uint16)
                return {"__array__": name, "dtype": "bfloat16"}
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
                a = np.array(flat[x["__array__"]])  # a writeable copy, detached from the file
                if x.get("dtype") == "bfloat16":
                    from ._checks import bfloat16

                    if bfloat16() is None:
                        raise ModuleNotFoundError("unflatten_state: the checkpoint holds bfloat16 arrays, which need "
                                                  "the ml_dtypes package (pip install 'simdoptim[bf16]')")
                    a = a.view(bfloat16())
                return a
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
    to the ``.npz`` file ``path`` (a str or path-like, used exactly as given: no suffix is
    added), atomically: the previous file at ``path`` stays whole until the new one is
    complete on disk.

    Raises TypeError for a ``path``, ``state`` or ``params`` of the wrong type, and the
    OSError subclass of the failure (FileNotFoundError when the folder does not exist,
    IsADirectoryError when ``path`` is a folder, PermissionError ...) with ``path`` as
    given in its message and ``filename``, never the temporary file's name; nothing is
    written when the arguments are refused."""
    func = "save_checkpoint"
    path = _path_arg(func, path)
    tree = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "state": _state_of(state),
            "params": _params_tree(params)}
    flat = flatten_state(tree)  # fails before any file is touched
    fs_path = os.fsdecode(path)
    name = os.path.basename(fs_path)
    directory = os.path.dirname(os.path.abspath(fs_path))
    if not name or os.path.isdir(fs_path):
        raise _os_error(func, IsADirectoryError(errno.EISDIR, "it names a folder; pass a file name"), path)
    if not os.path.isdir(directory):
        folder = os.path.dirname(fs_path)
        why = (f"{folder!r} is a file, not a folder" if os.path.exists(folder)
               else f"the folder {folder!r} does not exist; create it first")
        raise _os_error(func, FileNotFoundError(errno.ENOENT, why), path)
    try:
        fd, tmp = tempfile.mkstemp(prefix="." + name + ".", suffix=".tmp", dir=directory)
    except OSError as e:
        raise _os_error(func, e, path) from e
    try:
        with os.fdopen(fd, "wb") as f:  # owns fd from here: closed on any error below
            _set_default_mode(f.fileno(), fs_path)
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
        os.replace(tmp, fs_path)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError):
            raise _os_error(func, e, path) from e
        raise
    _fsync_directory(directory)


def load_checkpoint(path):
    """``(state, params)`` from a file ``save_checkpoint`` wrote; ``params`` is None when none
    were saved. Pass ``state`` (or ``state["opt"]`` ...) to ``load_state_dict``.

    ``path`` is a str or path-like. Raises TypeError for another type of ``path``; the
    OSError subclass of the failure (FileNotFoundError, IsADirectoryError, PermissionError
    ...) naming ``path`` when the file cannot be read; ValueError naming ``path`` when it is
    not a simdoptim checkpoint (another file, an ``.npy`` or ``.npz`` of other arrays, a
    damaged or truncated archive) or one of another version. The file is opened with
    ``allow_pickle=False``: loading never runs code from it."""
    func = "load_checkpoint"
    path = _path_arg(func, path)
    try:
        fh = open(os.fsdecode(path), "rb")  # opened here, so it is closed whatever np.load raises
    except OSError as e:
        raise _os_error(func, e, path) from e
    with fh:
        try:
            loaded = np.load(fh, allow_pickle=False)
        except OSError as e:
            raise _os_error(func, e, path) from e
        except (ValueError, EOFError, zipfile.BadZipFile) as e:  # not .npy/.npz (NumPy tries pickle: refused)
            raise ValueError(f"{func}: {path!r} is not a simdoptim checkpoint (not a complete .npz archive)") from e
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise ValueError(f"{func}: {path!r} is a single .npy array, not a simdoptim checkpoint (an .npz archive)")
        with loaded as f:
            if _LAYOUT_KEY not in f.files:
                raise ValueError(f"{func}: {path!r} is an .npz archive without the {_LAYOUT_KEY!r} entry: "
                                 f"not a simdoptim checkpoint")
            try:
                tree = unflatten_state(f)
            except (ValueError, KeyError, TypeError, EOFError, OSError, zipfile.BadZipFile) as e:
                # a damaged archive fails in zipfile, json or np.load
                raise ValueError(f"{func}: {path!r} is damaged or incomplete ({type(e).__name__}: {e})") from e
    if not isinstance(tree, dict) or tree.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{func}: {path!r} is not a simdoptim checkpoint")
    if tree.get("version") != CHECKPOINT_VERSION:
        raise ValueError(f"{func}: {path!r} is a checkpoint of version {tree.get('version')!r}; "
                         f"this simdoptim reads version {CHECKPOINT_VERSION}")
    if "state" not in tree or "params" not in tree:
        raise ValueError(f"{func}: {path!r} is damaged: no {'state' if 'state' not in tree else 'params'!r} entry")
    return tree["state"], tree["params"]


def _path_arg(func, path):
    """``path`` as str or bytes, or TypeError naming it (``os.fspath``'s own message does not)."""
    try:
        path = os.fspath(path)
    except TypeError:
        raise TypeError(f"{func}: path must be a str, bytes or os.PathLike file name, got {type(path).__name__}"
                        ) from None
    if not path:
        raise FileNotFoundError(errno.ENOENT, f"{func}: path is empty; pass a file name", path)
    return path


def _os_error(func, e, path):
    """The same kind of OSError as ``e``, about ``path`` as the user gave it (``e`` may be
    about the temporary file, or carry no file name)."""
    what = f"{func}: cannot {'write' if func.startswith('save') else 'read'} the checkpoint"
    if e.errno is None:  # raised without an errno (e.g. by a file system layer): keep its text
        return type(e)(f"{what} {os.fsdecode(path)!r} ({e})")
    return type(e)(e.errno, f"{what} ({e.strerror or e})", os.fsdecode(path))


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
