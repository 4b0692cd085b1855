"""Every module of the package shows its public API, and only it: ``dir(module)`` (what tab
completion and ``help()`` list) holds no stray imports such as ``np``, ``annotations`` or
``bisect``, and every name of ``__all__`` exists.

MODULES is the table of every module of the package, each with its status:

* COVERED - checked: the public names of ``dir()`` are exactly ``__all__``;
* NOT_YET - a public module that does not pass yet; the test runs and must fail
  (strict xfail), so a module that starts to pass fails the suite until its row here says
  COVERED;
* PRIVATE - a private module (a leading underscore): not part of the API, not checked.

A new module must be given a row (test_the_table_lists_every_module).
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import subprocess
import sys

import pytest

import simdoptim

COVERED = "covered"
PRIVATE = "private"


def NOT_YET(reason):
    return ("not yet", reason)



MODULES = {
    "simdoptim": COVERED,
    "simdoptim.__main__": COVERED,
    "simdoptim.batching": COVERED,
    "simdoptim.benchmark": COVERED,
    "simdoptim.checkpoint": COVERED,
    "simdoptim.course": COVERED,
    "simdoptim.demo": COVERED,
    "simdoptim.schedules": COVERED,
    "simdoptim.functional": COVERED,
    "simdoptim.reference": COVERED,
    "simdoptim._algorithms": PRIVATE,
    "simdoptim._bench_compare": PRIVATE,
    "simdoptim._bench_load": PRIVATE,
    "simdoptim._bench_rows": PRIVATE,
    "simdoptim._checks": PRIVATE,
    "simdoptim._console": PRIVATE,
    "simdoptim._core": PRIVATE,
    "simdoptim._machine": PRIVATE,
    "simdoptim._optimizer": PRIVATE,
    "simdoptim._plotting": PRIVATE,
    "simdoptim._threads": PRIVATE,
    # the PyTorch adapter (needs torch: its tests skip without it)
    "simdoptim.torch": COVERED,
    "simdoptim.torch.bench": COVERED,
    "simdoptim.torch.lm": COVERED,
    "simdoptim.torch._optim": PRIVATE,
}
NEEDS_TORCH = {"simdoptim.torch", "simdoptim.torch.bench", "simdoptim.torch.lm"}


def _all_modules():
    names = {"simdoptim"}
    for info in pkgutil.walk_packages(simdoptim.__path__, "simdoptim."):
        names.add(info.name)
    if importlib.util.find_spec("torch") is None:  # walk_packages cannot list simdoptim.torch's modules then
        names |= {n for n in MODULES if n.startswith("simdoptim.torch.")}
    return names


def test_the_table_lists_every_module():
    found = _all_modules()
    assert found - MODULES.keys() == set(), "modules without a row in MODULES"
    assert MODULES.keys() - found == set(), "rows in MODULES for modules that no longer exist"


def _cases():
    for name, status in MODULES.items():
        if status == PRIVATE:
            continue
        if status == COVERED:
            yield pytest.param(name, id=name)
        else:
            yield pytest.param(name, id=name, marks=pytest.mark.xfail(strict=True, reason=status[1]))


@pytest.mark.parametrize("name", list(_cases()))
def test_dir_shows_exactly_the_public_api(name):
    if name in NEEDS_TORCH:
        pytest.importorskip("torch")
    mod = importlib.import_module(name)
    assert hasattr(mod, "__all__"), f"{name} has no __all__"
    missing = [n for n in mod.__all__ if not hasattr(mod, n)]
    assert missing == [], f"{name}.__all__ names what the module does not have"
    assert len(set(mod.__all__)) == len(mod.__all__), f"{name}.__all__ repeats a name"
    shown = {n for n in dir(mod) if not n.startswith("_")}
    public = {n for n in mod.__all__ if not n.startswith("_")}
    assert sorted(shown - public) == [], f"dir({name}) shows names that are not its API"
    assert sorted(public - shown) == [], f"dir({name}) hides names of its API"


def test_every_public_module_is_an_attribute_after_import_simdoptim():
    """`import simdoptim; simdoptim.course` (and the other public modules) work in a fresh
    interpreter, where no test has imported the submodule first."""
    public = ["batching", "checkpoint", "course", "functional", "reference", "schedules"]  # the README's
    code = ("import simdoptim\n"
            f"missing = [n for n in {public!r} if not hasattr(simdoptim, n)]\n"
            "assert not missing, missing\n"
            f"assert set({public!r}) <= set(dir(simdoptim)), sorted(set({public!r}) - set(dir(simdoptim)))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
