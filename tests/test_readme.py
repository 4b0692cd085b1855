"""The README's code runs as a user would paste it.

Every ```python block of README.md is run, in order, in one namespace, in a fresh
temporary working directory (files the blocks write land there), with warnings as errors.
Each block is one test, reported at its line in README.md. A block that needs an optional
package says so on a line of its own, ``# requires: torch`` (or ``matplotlib``, or several
separated by commas), and is skipped, with that reason, when one is missing; a block that
imports torch or matplotlib without the marker fails. Later blocks still run after a
failed or skipped one, as they would in a user's session.

Separately, every dotted name ``simdoptim.X.Y`` the README mentions, in code or prose,
must resolve in a fresh interpreter after a plain ``import simdoptim``.
"""

from __future__ import annotations

import ast
import contextlib
import importlib.util
import io
import os
import pathlib
import re
import subprocess
import sys
import traceback
import warnings

import pytest

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"
OPTIONAL = {"torch", "matplotlib", "ml_dtypes"}
MARKER = re.compile(r"^\s*#\s*requires:\s*(.+?)\s*$", re.M)


def python_blocks(text):
    """``[(line number of the block's first code line, code)]`` of the ```python fences."""
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        if lines[i].strip() == "```python":
            start, body = i + 2, []
            i += 1
            while i < len(lines) and lines[i].strip() != "```":
                body.append(lines[i])
                i += 1
            if i == len(lines):
                raise ValueError(f"README.md: the ```python block at line {start - 1} is not closed")
            blocks.append((start, "\n".join(body) + "\n"))
        i += 1
    return blocks


BLOCKS = python_blocks(README.read_text(encoding="utf-8"))


def requirements(code):
    reqs = set()
    for m in MARKER.finditer(code):
        reqs |= {r.strip() for r in m.group(1).split(",") if r.strip()}
    return reqs


def imported_top_modules(code):
    out = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.add(node.module.split(".")[0])
    return out


class _Session:
    """Runs all blocks once, in order, and keeps each one's outcome."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.outcomes = None

    def run(self):
        if self.outcomes is not None:
            return self.outcomes
        self.outcomes = {}
        namespace = {"__name__": "__main__"}
        old_cwd = os.getcwd()
        os.chdir(self.workdir)
        env_backup = os.environ.get("MPLBACKEND")
        os.environ["MPLBACKEND"] = "Agg"  # figures are written, never shown
        try:
            for line, code in BLOCKS:
                self.outcomes[line] = self._run_one(line, code, namespace)
        finally:
            os.chdir(old_cwd)
            if env_backup is None:
                os.environ.pop("MPLBACKEND", None)
            else:
                os.environ["MPLBACKEND"] = env_backup
        return self.outcomes

    @staticmethod
    def _run_one(line, code, namespace):
        reqs = requirements(code)
        unmarked = (imported_top_modules(code) & OPTIONAL) - reqs
        if unmarked:
            return ("fail", f"imports {sorted(unmarked)} without a '# requires: ...' line")
        unknown = reqs - OPTIONAL
        if unknown:
            return ("fail", f"'# requires:' names {sorted(unknown)}; known optional packages: {sorted(OPTIONAL)}")
        missing = sorted(r for r in reqs if importlib.util.find_spec(r) is None)
        if missing:
            return ("skip", f"README.md line {line}: the block requires {', '.join(missing)}, not installed")
        compiled = compile(code, f"README.md:{line}", "exec")
        out = io.StringIO()
        try:
            with warnings.catch_warnings(), contextlib.redirect_stdout(out):
                warnings.simplefilter("error")
                exec(compiled, namespace)
        except BaseException:  # reported as the block's failure
            return ("fail", traceback.format_exc())
        return ("ok", out.getvalue())


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    return _Session(tmp_path_factory.mktemp("readme"))


def test_readme_has_python_blocks():
    assert len(BLOCKS) >= 4


@pytest.mark.parametrize("line", [b[0] for b in BLOCKS], ids=[f"line{b[0]}" for b in BLOCKS])
def test_readme_block_runs(session, line):
    status, detail = session.run()[line]
    if status == "skip":
        pytest.skip(detail)
    assert status == "ok", f"README.md block at line {line} fails:\n{detail}"


def test_requires_marker_is_read():
    code = "# requires: torch, matplotlib\nimport torch\n"
    assert requirements(code) == {"torch", "matplotlib"}
    assert imported_top_modules(code) & OPTIONAL == {"torch"}
    status, detail = _Session._run_one(1, "import matplotlib.pyplot as plt\n", {})
    assert status == "fail" and "without a '# requires" in detail


# a path such as simdoptim.libs/... is not a name
DOTTED = re.compile(r"(?<![\w/\"'.-])simdoptim(?:\.[A-Za-z_]\w*)+(?![\w/])")


def test_every_simdoptim_name_in_the_readme_resolves():
    text = README.read_text(encoding="utf-8")
    names = sorted(set(DOTTED.findall(text)))
    assert "simdoptim.course" in names and "simdoptim.schedules.StaircaseDecay" in names
    if importlib.util.find_spec("torch") is None:  # simdoptim.torch's names need torch to resolve
        names = [n for n in names if not n.startswith("simdoptim.torch")]
    code = (
        "import simdoptim\n"
        + ("import simdoptim.torch\n" if any(n.startswith("simdoptim.torch") for n in names) else "")
        + "bad = []\n"
        f"for name in {names!r}:\n"
        "    obj = simdoptim\n"
        "    for part in name.split('.')[1:]:\n"
        "        if not hasattr(obj, part):\n"
        "            bad.append(name)\n"
        "            break\n"
        "        obj = getattr(obj, part)\n"
        "print('\\n'.join(bad))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [], (f"README names that do not resolve after `import simdoptim`: "
                                       f"{proc.stdout.split()}")
