"""save_checkpoint / load_checkpoint with paths and files that are not what they should be:
every error names the path as the user gave it (never the hidden temporary file), says
what is wrong, and has the type Python's own file functions would raise; nothing is left
behind by a refused save."""

from __future__ import annotations

import os
import pathlib

import numpy as np
import pytest

import simdoptim
from simdoptim.checkpoint import flatten_state


@pytest.fixture
def cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # relative paths, as a user types them
    return tmp_path


@pytest.fixture
def opt():
    return simdoptim.Adam([np.zeros(3)], lr=0.1)


def _no_temporary_files(folder):
    return [n for n in os.listdir(folder) if n.endswith(".tmp")] == []


def _names_path(exc, path):
    text = str(exc)
    return repr(path) in text and ".tmp" not in text


# -- save_checkpoint ------------------------------------------------------------------------------


def test_save_into_a_missing_folder_names_the_path_given(cwd, opt):
    with pytest.raises(FileNotFoundError) as e:
        simdoptim.save_checkpoint("runs/ck.npz", opt)
    assert _names_path(e.value, "runs/ck.npz"), str(e.value)
    assert "'runs' does not exist" in str(e.value)
    assert e.value.filename == "runs/ck.npz"
    assert os.listdir(cwd) == []


@pytest.mark.parametrize("path", ["a_folder", "a_folder/", "new_folder/"])
def test_save_onto_a_folder_names_the_path_given(cwd, opt, path):
    (cwd / "a_folder").mkdir()
    with pytest.raises(IsADirectoryError) as e:
        simdoptim.save_checkpoint(path, opt)
    assert _names_path(e.value, path), str(e.value)
    assert e.value.filename == path
    assert _no_temporary_files(cwd) and os.listdir(cwd / "a_folder") == []


def test_save_under_a_file_names_the_path_given(cwd, opt):
    (cwd / "notes.txt").write_text("x")
    with pytest.raises(FileNotFoundError) as e:
        simdoptim.save_checkpoint("notes.txt/ck.npz", opt)
    assert _names_path(e.value, "notes.txt/ck.npz") and "'notes.txt' is a file" in str(e.value)


def test_write_error_names_the_path_given(cwd, opt, monkeypatch):
    import numpy.lib.format as fmt

    def no_space(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fmt, "write_array", no_space)
    with pytest.raises(OSError) as e:
        simdoptim.save_checkpoint("ck.npz", opt)
    assert _names_path(e.value, "ck.npz") and "No space left" in str(e.value), str(e.value)
    assert e.value.errno == 28 and e.value.filename == "ck.npz"
    assert os.listdir(cwd) == []


@pytest.mark.parametrize("path", [None, 3, 1.5, ["ck.npz"]])
def test_save_path_of_another_type(cwd, opt, path):
    with pytest.raises(TypeError, match=r"save_checkpoint: path must be .*got " + type(path).__name__):
        simdoptim.save_checkpoint(path, opt)
    assert os.listdir(cwd) == []


def test_save_empty_path(cwd, opt):
    with pytest.raises(FileNotFoundError, match="save_checkpoint: path is empty"):
        simdoptim.save_checkpoint("", opt)
    assert os.listdir(cwd) == []


@pytest.mark.parametrize("path", ["ck.npz", b"ck.npz", pathlib.Path("ck.npz")], ids=["str", "bytes", "Path"])
def test_path_kinds_round_trip(cwd, opt, path):
    simdoptim.save_checkpoint(path, opt)
    state, params = simdoptim.load_checkpoint(path)
    assert state["step"] == opt.state_dict()["step"] and params is None
    assert os.listdir(cwd) == ["ck.npz"]


# -- load_checkpoint ------------------------------------------------------------------------------


def _write(cwd, kind):
    """A file that is not a checkpoint, of the given kind; returns its name."""
    if kind == "missing":
        return "nowhere/ck.npz"
    if kind == "folder":
        (cwd / "ck.npz").mkdir()
    elif kind == "text":
        (cwd / "ck.npz").write_text("hello")
    elif kind == "empty":
        (cwd / "ck.npz").write_bytes(b"")
    elif kind == "npy":
        np.save(cwd / "ck.npy", np.zeros(3))
        return "ck.npy"
    elif kind == "other npz":
        np.savez(cwd / "ck.npz", a=np.zeros(3))
    elif kind in ("truncated", "corrupted"):
        simdoptim.save_checkpoint(cwd / "good.npz", simdoptim.Adam([np.zeros(1000)]))
        data = bytearray((cwd / "good.npz").read_bytes())
        if kind == "truncated":
            data = data[: len(data) // 2]
        else:
            data[200:260] = bytes(60)
        (cwd / "ck.npz").write_bytes(bytes(data))
    elif kind == "missing array":
        flat = flatten_state({"format": "simdoptim.checkpoint", "version": 1, "state": {"m": np.ones(2)},
                              "params": None})
        del flat["a0"]
        np.savez(cwd / "ck.npz", **flat)
    elif kind == "other version":
        np.savez(cwd / "ck.npz", **flatten_state({"format": "simdoptim.checkpoint", "version": 99, "state": {},
                                                  "params": None}))
    return "ck.npz"


@pytest.mark.parametrize("kind,exc,says", [
    ("missing", FileNotFoundError, "No such file"),
    ("folder", IsADirectoryError, "Is a directory"),
    ("text", ValueError, "not a simdoptim checkpoint"),
    ("empty", ValueError, "not a simdoptim checkpoint"),
    ("npy", ValueError, "single .npy array"),
    ("other npz", ValueError, "without the '__simdoptim__' entry"),
    ("truncated", ValueError, "not a complete .npz archive"),
    ("corrupted", ValueError, "damaged"),
    ("missing array", ValueError, "damaged"),
    ("other version", ValueError, "version 99"),
])
def test_load_names_the_path_and_says_what_is_wrong(cwd, kind, exc, says):
    path = _write(cwd, kind)
    with pytest.raises(exc) as e:
        simdoptim.load_checkpoint(path)
    assert type(e.value) is exc
    assert str(e.value).count("load_checkpoint") == 1 and _names_path(e.value, path), str(e.value)
    assert says in str(e.value)


@pytest.mark.parametrize("path", [None, 3, ["ck.npz"]])
def test_load_path_of_another_type(path):
    with pytest.raises(TypeError, match=r"load_checkpoint: path must be .*got " + type(path).__name__):
        simdoptim.load_checkpoint(path)
