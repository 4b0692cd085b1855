"""Console helpers shared by ``python -m simdoptim bench`` and ``demo``: progress bars,
tables and the interleaved timing loop.

Progress bars come from tqdm when it is installed, else from rich, else a plain bar drawn
on a terminal (and, where asked for, one line per step when the output is a log file, so
a long run in CI still shows where it is). These libraries are optional: simdoptim
depends on NumPy alone.
"""

from __future__ import annotations

import sys
import time

import numpy as np

__all__ = ["Progress", "markdown_table", "text_table", "time_calls", "interleaved_medians"]


def __dir__():
    return list(__all__)


class Progress:
    """A progress bar over ``total`` steps: ``update(done, label="")`` after each, ``close()``
    at the end (also a context manager).

    tqdm if installed, else rich, else a plain bar when ``stream`` is a terminal, else one
    line per step when ``log_lines`` (the benchmark's long runs), else nothing. ``enabled=False``
    draws nothing at all."""

    def __init__(self, total, desc="", *, unit="it", enabled=True, stream=None, log_lines=False):
        self.total, self.desc, self.stream = total, desc, stream or sys.stderr
        self._tqdm = self._rich = None
        self._plain = self._log = False
        self._shown = -1
        self._t0 = time.perf_counter()
        if not enabled:
            return
        try:
            from tqdm.auto import tqdm

            self._tqdm = tqdm(total=total, desc=desc, unit=unit, leave=False, file=self.stream, mininterval=0.2)
            return
        except ImportError:
            pass
        try:
            from rich.console import Console
            from rich.progress import Progress as RichProgress

            self._rich = RichProgress(transient=True, console=Console(file=self.stream))
            self._rich.start()
            self._task = self._rich.add_task(desc, total=total)
            return
        except ImportError:
            pass
        self._plain = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._log = log_lines and not self._plain

    def update(self, done, label=""):
        if self._tqdm is not None:
            self._tqdm.update(done - self._tqdm.n)
            if label:
                self._tqdm.set_postfix_str(label, refresh=False)
        elif self._rich is not None:
            self._rich.update(self._task, completed=done, description=f"{self.desc} {label}".strip())
        elif self._plain:
            pct = 100 * done // max(self.total, 1)
            if pct != self._shown or label:
                self._shown = pct
                fill = "#" * (pct * 30 // 100)
                line = f"\r  {self.desc:<32} [{fill:<30}] {pct:3d}% {label}"
                self.stream.write(line[:118].ljust(118))
                self.stream.flush()
        elif self._log:
            elapsed = time.perf_counter() - self._t0
            self.stream.write(f"[{done}/{self.total} {elapsed:5.0f}s] {self.desc} {label}".rstrip() + "\n")
            self.stream.flush()

    def close(self):
        if self._tqdm is not None:
            self._tqdm.close()
        elif self._rich is not None:
            self._rich.stop()
        elif self._plain:
            self.stream.write("\r" + " " * 118 + "\r")
            self.stream.flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def markdown_table(header, rows):
    """A Markdown table of strings."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def text_table(cells, left=(0,)):
    """Aligned text columns (the first row is the header, underlined); the columns in
    ``left`` are left-aligned, the others right-aligned."""
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    lines = []
    for n, row in enumerate(cells):
        lines.append("  ".join(c.ljust(w) if i in left else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def time_calls(fn, number):
    """Seconds per call of ``fn()``, over ``number`` back-to-back calls."""
    t0 = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - t0) / number


def interleaved_medians(impls, rounds, min_sample_s, slow_call_s=0.15, slow_rounds=3):
    """``({name: median seconds per call}, {name: number of samples})`` of the callables in
    ``impls``, interleaved: every round times each once, in a rotating order, so slow
    drifts of the machine (other jobs, frequency) spread over all of them. Calls are
    batched so a sample lasts about ``min_sample_s`` (timer resolution, loop overhead). The
    first call of each is a warm-up (page faults, lazily created state, thread pools); one
    slower than ``slow_call_s`` per call is sampled ``slow_rounds`` times, not ``rounds``."""
    names = list(impls)
    number: dict[str, int] = {}
    want: dict[str, int] = {}
    samples: dict[str, list[float]] = {name: [] for name in names}
    for name in names:
        time_calls(impls[name], 1)
        t = time_calls(impls[name], 1)
        number[name] = max(1, min(10_000, int(min_sample_s / max(t, 1e-7))))
        want[name] = rounds if t < slow_call_s else min(rounds, slow_rounds)
        if number[name] == 1:
            samples[name].append(t)  # already a clean sample of one call
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            if len(samples[name]) < want[name]:
                samples[name].append(time_calls(impls[name], number[name]))
    return ({name: float(np.median(s)) for name, s in samples.items()},
            {name: len(s) for name, s in samples.items()})
