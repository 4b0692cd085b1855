"""simdoptim.benchmark - side-by-side speed, in the unit that bounds an optimizer step: bandwidth.

``python -m simdoptim bench`` (quick, under a minute), ``--full`` (the whole grid), ``--json FILE``.

Every row is one public kernel x dtype x layout x thread count. In the same process and
interleaved round by round (so a noisy neighbour hits every implementation alike), it
times:

* ``simdoptim``  - the fast class or function, as a user calls it;
* ``probe``      - ``simdoptim._core._bandwidth_probe``: an in-place read-modify-write loop
  of ours moving exactly the bytes of the row's kernel in the same pattern (e.g. Adam fp32:
  w, m, v read and written, g read), on the same arrays and through the same threading
  helper. It is the practical ceiling; "% probe" is how close the kernel gets to it;
* ``numpy``      - :mod:`simdoptim.reference`, the plain NumPy specification;
* ``torch-forloop`` / ``torch-foreach`` / ``torch-fused`` - ``torch.optim`` in its three
  implementations where they exist (when torch is installed), on tensors that share the
  NumPy arrays' memory;
* ``deepspeed``  - DeepSpeed's CPU Adam (when installed; ``DS_ACCELERATOR=cpu``).

Each number is the median over rounds of the time of one step; GB/s is the bytes the
kernel must move (read + written, e.g. 28 per fp32 Adam element) divided by that time.

The machine's load is read before and after the run (``simdoptim._machine``): a busy
machine is reported with the results, and saved in the JSON, because other processes
slow every row and the multi-threaded ones most. Every cell left empty says why in a
note under the table. The rows (what is measured) are ``simdoptim._bench_rows``; progress
bars, tables and the timing loop ``simdoptim._console``; the plot ``simdoptim._plotting``.
"""

from __future__ import annotations

import gc
import json
import math
import platform
import sys

import numpy as np

import simdoptim

from . import _console, _machine, _plotting
from ._bench_rows import (  # re-exported: the rows are part of this module's API
    _DEEPSPEED,
    _ENABLED,
    FULL,
    PEER_GROUPS,
    QUICK,
    ROWS,
    Case,
    Layout,
    _torch,
    missing_rows,
    public_kernels,
)

__all__ = [
    "ROWS", "QUICK", "FULL", "PEER_GROUPS", "public_kernels", "missing_rows", "grid", "thread_counts", "run",
    "format_table", "notes", "environment", "plot", "add_arguments", "run_command", "main",
]


def __dir__():
    # PEP 562: dir() and tab completion show the public API, not this module's imports
    return list(__all__)


# ---------------------------------------------------------------------------------------
# The run

SLOW_CALL_S = 0.15  # an implementation this slow per call gets SLOW_ROUNDS samples, not `rounds`
SLOW_ROUNDS = 3


def grid(config, rows=None):
    """(row, dtype, layout) triples of a configuration."""
    rows = ROWS if rows is None else rows
    out = []
    for row in rows.values():
        for dtype in config["dtypes"]:
            layouts = [Layout(1, n) for n in config["sizes"]]
            if row.layouts == "all":
                layouts += [Layout(c, n) for c, n in config["many"]]
            for layout in layouts:
                out.append((row, np.dtype(dtype), layout))
    return out


def thread_counts(config):
    if isinstance(config["threads"], (list, tuple)):
        return list(config["threads"])
    nmax = simdoptim.get_num_threads()
    if config["threads"] == "all" or nmax == 1:
        return [nmax]
    return [1, nmax]


def unavailable_rows(rows=None):
    """``{row name: why}`` for the rows whose public names this build does not export."""
    rows = ROWS if rows is None else rows
    out = {}
    for name, row in rows.items():
        missing = [c for c in row.covers if not _has(c)]
        if missing:
            out[name] = f"not run: this simdoptim does not export {', '.join(missing)}"
    return out


def run(config, progress=True, only=None):
    """Runs the grid (all rows, or the rows of `only`); returns a list of result dicts, one
    per row x dtype x layout x threads. Refuses to run while a public kernel has no row."""
    rows = ROWS if only is None else only
    missing = missing_rows()
    if missing:
        raise RuntimeError(f"simdoptim.benchmark: no benchmark row for the public kernel(s) {missing}; add one to ROWS")
    torch = _torch()
    skipped = unavailable_rows(rows)
    available = {name: row for name, row in rows.items() if name not in skipped}
    cases = grid(config, available)
    counts = thread_counts(config)
    nt0 = simdoptim.get_num_threads()
    torch_nt0 = torch.get_num_threads() if torch is not None else None
    results = []
    bar = _console.Progress(len(cases) * len(counts), "bench", unit="row", enabled=progress, log_lines=True)
    try:
        for row, dtype, layout in cases:
            case = Case(row, dtype, layout)
            impls = row.make(case)
            single_threaded = {}  # the NumPy reference does not thread: measured once
            for nt in counts:
                simdoptim.set_num_threads(nt)
                if torch is not None:
                    torch.set_num_threads(nt)
                todo = {k: v for k, v in impls.items() if k not in single_threaded}
                med, samples = _console.interleaved_medians(todo, config["rounds"], config["min_sample_s"],
                                                            SLOW_CALL_S, SLOW_ROUNDS)
                for k in ("numpy",):
                    if k in med:
                        single_threaded[k] = (med[k], samples[k])
                for k, (m, n) in single_threaded.items():
                    med[k], samples[k] = m, n
                results.append(_result(case, nt, med, samples, config["rounds"]))
                bar.update(len(results), f"{row.name} {dtype.name} {layout.label} threads={nt}")
            del impls, case
            gc.collect()
    finally:
        bar.close()
        simdoptim.set_num_threads(nt0)
        if torch is not None:
            torch.set_num_threads(torch_nt0)
    return results


def _has(name):
    from . import functional

    return hasattr(simdoptim, name) or hasattr(functional, name)


def _result(case, nt, med, samples, rounds):
    ours = med["simdoptim"]
    r = {
        "kernel": case.row.name,
        "dtype": case.dtype.name,
        "layout": case.layout.label,
        "tensors": case.layout.count,
        "elements": case.layout.elements,
        "threads": nt,
        "bytes": case.bytes,
        "ms": {k: v * 1e3 for k, v in med.items()},
        "gbps": {k: case.bytes / v / 1e9 for k, v in med.items()},
        "samples": dict(samples),
        "rounds": rounds,
        "not_run": dict(case.not_run),
    }
    r["pct_probe"] = 100.0 * med["probe"] / ours if "probe" in med else None
    r["speedup"] = {k: v / ours for k, v in med.items() if k != "simdoptim"}
    return r


# ---------------------------------------------------------------------------------------
# Reporting

PEERS = ("numpy", "torch-forloop", "torch-foreach", "torch-fused", "deepspeed")


def format_table(results):
    """A Markdown table: our time and bandwidth, the probe, and each peer's time with our
    speed-up over it (peer time / our time; > 1 means simdoptim is faster)."""
    present = [p for p in PEERS if any(p in r["ms"] for r in results)]
    head = ["kernel", "dtype", "size", "thr", "ms", "GB/s", "probe GB/s", "% probe"] + present
    lines = []
    for r in results:
        probe = r["gbps"].get("probe")
        cells = [
            r["kernel"], r["dtype"], r["layout"], str(r["threads"]), _ms(r["ms"]["simdoptim"]),
            f"{r['gbps']['simdoptim']:.1f}", f"{probe:.1f}" if probe else "-",
            f"{r['pct_probe']:.0f}%" if r["pct_probe"] else "-",
        ]
        for p in present:
            cells.append(f"{_ms(r['ms'][p])} ({r['speedup'][p]:.2f}x)" if p in r["ms"] else "-")
        lines.append(cells)
    return _console.markdown_table(head, lines)


def notes(results):
    """Sentences for under the table: why a peer's cell is empty (grouped by reason), and
    which implementations were timed with fewer rounds than asked for."""
    out = []
    reasons: dict[tuple[str, str], list[str]] = {}
    for r in results:
        for impl, why in r.get("not_run", {}).items():
            reasons.setdefault((impl, why), []).append(f"{r['kernel']} {r['dtype']} {r['layout']}")
    for (impl, why), where in reasons.items():
        rows = sorted(set(where), key=where.index)
        shown = ", ".join(rows[:6]) + (f" and {len(rows) - 6} more" if len(rows) > 6 else "")
        out.append(f"{impl}: {why} ({shown})")
    few: dict[tuple[str, int], list[str]] = {}
    for r in results:
        for impl, n in r.get("samples", {}).items():
            if n < r.get("rounds", n):
                few.setdefault((impl, n), []).append(f"{r['kernel']} {r['dtype']} {r['layout']} thr={r['threads']}")
    for (impl, n), where in few.items():
        out.append(f"{impl}: median of {n} round{'s' if n > 1 else ''}, not {results[0]['rounds']} (over "
                   f"{SLOW_CALL_S:g} s a call) in {', '.join(where[:4])}{' ...' if len(where) > 4 else ''}")
    return out


def _ms(x):
    return f"{x:.3g}" if x < 100 else f"{x:.0f}"


def environment():
    info = simdoptim.cpu_info()
    env = {
        "simdoptim": simdoptim.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "processor": _cpu_model(),
        "cpus": _machine.cpu_count(),
        "isa": info["isa"],
        "num_threads": info["num_threads"],
    }
    torch = _torch()
    if torch is not None:
        env["torch"] = torch.__version__
    if _DEEPSPEED.get("cls") is not None:
        import deepspeed

        env["deepspeed"] = deepspeed.__version__
    return env


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def plot(results, path, load=None):
    """GB/s against size, a panel per kernel and dtype of ``results`` (see
    :func:`simdoptim._plotting.plot_bandwidth`); ``load``, the run's load record, puts a
    warning on the figure when the machine was busy. Returns ``(written, message)``."""
    warning = None
    if load and load.get("busy"):
        warning = ("The machine was busy during this run (other processes competing for the CPUs): "
                   "timings are slow and noisy, multi-threaded ones most.")
    return _plotting.plot_bandwidth(results, path, warning)


def _peer_status(peers):
    """One line on what each requested peer group is, installed or not."""
    parts = []
    for p in peers:
        if p == "numpy":
            parts.append(f"numpy {np.__version__} (simdoptim.reference)")
        elif p == "torch":
            torch = _torch()
            parts.append(f"torch {torch.__version__}" if torch is not None
                         else "torch: not installed, no torch columns")
        elif p == "deepspeed":
            if _DEEPSPEED.get("cls") is not None:
                import deepspeed

                parts.append(f"deepspeed {deepspeed.__version__} (Adam, AdamW; float32)")
            elif "why" in _DEEPSPEED:
                parts.append(f"deepspeed: {_DEEPSPEED['why']}, no deepspeed column")
            else:
                parts.append("deepspeed: not used (no Adam or AdamW row in this run)")
    left_out = [p for p in PEER_GROUPS if p not in peers]
    if left_out:
        parts.append(f"left out by --peers: {', '.join(left_out)}")
    return "peers: " + "; ".join(parts)


# ---------------------------------------------------------------------------------------
# Command line


def main(argv=None, out=None):
    """The ``python -m simdoptim bench`` command."""
    import argparse

    p = argparse.ArgumentParser(prog="python -m simdoptim bench", description=__doc__.split("\n\n")[0])
    add_arguments(p)
    return run_command(p.parse_args(argv), out)


def add_arguments(p):
    p.add_argument("--full", action="store_true",
                   help="the whole grid: 1e3..1e8, float32 and float64, 1 and all threads (4-10 min on 2 cores)")
    p.add_argument("--json", metavar="FILE",
                   help="also write the results, the environment and the machine's load as JSON")
    p.add_argument("--png", metavar="FILE",
                   help="also plot GB/s against size, a panel per kernel and dtype (needs matplotlib)")
    p.add_argument("--kernels", metavar="NAMES", help="comma-separated rows to run (default: all)")
    p.add_argument("--sizes", metavar="N,N",
                   help="comma-separated sizes in elements, e.g. 1e4,1e6 (overrides the grid)")
    p.add_argument("--dtypes", metavar="D,D", help="comma-separated dtypes, of float32,float64")
    p.add_argument("--rounds", type=int, help="interleaved rounds per row (the median is reported)")
    p.add_argument("--peers", metavar="P,P", default=",".join(PEER_GROUPS),
                   help="peers to compare with, of numpy,torch,deepspeed (default: all that are installed)")
    p.add_argument("--no-many", action="store_true", help="leave out the many-small-tensors layouts")
    p.add_argument("--threads", metavar="N,N", help="comma-separated thread counts (default: all; --full: 1 and all)")
    p.add_argument("--from-json", metavar="FILE", help="print the table of a saved run (filtered by --kernels, "
                   "--sizes, --dtypes, --threads; plotted with --png) instead of running")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--compare", nargs=2, metavar=("OLD", "NEW"), help="compare two --json runs row by row, flagging "
                   "changes beyond the noise the unchanged peers show (simdoptim._bench_compare)")
    p.add_argument("--load", type=int, metavar="N", help="time single steps idle and with N busy processes: p50 and "
                   "p90, torch fused beside (simdoptim._bench_load; --kernels, --sizes)")


class _Refused(Exception):
    """A command-line value the bench cannot use; the message names the option."""


def _csv(option, text, convert, what):
    out = []
    for item in (t.strip() for t in text.split(",")):
        if not item:
            continue
        try:
            out.append(convert(item))
        except (TypeError, ValueError, OverflowError):
            raise _Refused(f"{option}: {item!r} is not {what}") from None
    if not out:
        raise _Refused(f"{option}: no value given (got {text!r})")
    return out


def _size(item):
    x = float(item)
    if not (math.isfinite(x) and x >= 1 and x == int(x)):
        raise ValueError(item)
    return int(x)


def _positive_int(item):
    x = int(item)
    if x < 1:
        raise ValueError(item)
    return x


def _dtype(item):
    if item not in ("float32", "float64"):
        raise ValueError(item)
    return item


def _parse(args):
    """The run's configuration from the options, or _Refused naming the bad one."""
    config = dict(FULL if args.full else QUICK)
    if args.sizes is not None:
        config["sizes"] = tuple(_csv("--sizes", args.sizes, _size, "a whole number of elements >= 1 (e.g. 1e6)"))
    if args.dtypes is not None:
        config["dtypes"] = tuple(_csv("--dtypes", args.dtypes, _dtype, "float32 or float64"))
    if args.rounds is not None:
        if args.rounds < 1:
            raise _Refused(f"--rounds: must be >= 1, got {args.rounds}")
        config["rounds"] = args.rounds
    if args.no_many:
        config["many"] = ()
    if args.threads is not None:
        config["threads"] = tuple(_csv("--threads", args.threads, _positive_int, "a thread count >= 1"))
    return config


def _say(message, stream):
    print(message, file=stream, flush=True)


def run_command(args, out=None):
    out = sys.stdout if out is None else out
    err = sys.stderr
    if getattr(args, "compare", None):
        from . import _bench_compare as bench_compare

        old, new = args.compare  # nargs=2
        return bench_compare.main(old, new, out=out)
    if getattr(args, "load", None) is not None:
        from . import _bench_load as bench_load

        return bench_load.run(args, out)
    try:
        config = _parse(args)
        if args.from_json:
            return _print_saved(args, out)
        peers = [p for p in args.peers.split(",") if p]
        unknown = [p for p in peers if p not in PEER_GROUPS]
        if unknown:
            raise _Refused(f"--peers: unknown peer(s) {unknown}; peers are {list(PEER_GROUPS)}")
        rows = ROWS
        if args.kernels:
            wanted = [k for k in args.kernels.split(",") if k]
            unknown = [k for k in wanted if k not in ROWS]
            if unknown or not wanted:
                raise _Refused(f"--kernels: unknown kernel(s) {unknown or [args.kernels]}; rows are {list(ROWS)}")
            rows = {k: ROWS[k] for k in wanted}
    except _Refused as e:
        _say(f"python -m simdoptim bench: {e}", err)
        return 2
    counts = thread_counts(config)
    top = max(counts)
    cpus = _machine.cpu_count()
    if top > cpus:
        _say(f"note: {top} threads on a machine with {cpus} CPUs: the threads share CPUs (oversubscribed), so the "
             f"{top}-thread rows measure waiting as much as work", err)
    before = _machine.read_load()
    early = _machine.assess(before, None, top)
    if early["busy"]:
        _say(_machine.busy_warning(early, "the machine is busy as the benchmark starts"), err)
    enabled = set(_ENABLED)
    _ENABLED.clear()
    _ENABLED.update(peers)
    try:
        results = run(config, progress=not args.quiet, only=rows)
        peer_line = _peer_status(peers)
    finally:
        _ENABLED.clear()
        _ENABLED.update(enabled)
    after = _machine.read_load()
    verdict = _machine.assess(before, after, top)
    env = environment()
    env["load"] = {"before": before, "after": after, **verdict}
    _say(f"simdoptim bench: {env['processor']}, isa {env['isa']}, {env['cpus']} CPUs, threads "
         f"{'/'.join(map(str, counts))}, numpy {env['numpy']}", out)
    _say(peer_line, out)
    _say(f"machine load: before the run {_machine.describe(before)}; after it {_machine.describe(after)}", out)
    _say("median ms per step (interleaved rounds); GB/s = bytes the kernel moves / time; "
         "peers: ms (their time / ours)", out)
    _say(format_table(results), out)
    for why in [f"{name}: {w}" for name, w in unavailable_rows(rows).items()] + notes(results):
        _say(f"* {why}", out)
    if verdict["busy"]:
        _say(_machine.busy_warning(verdict), out)
    if args.json:
        try:
            with open(args.json, "w") as f:
                json.dump({"environment": env,
                           "config": {k: list(v) if isinstance(v, tuple) else v for k, v in config.items()},
                           "results": results}, f, indent=1)
        except OSError as e:
            _say(f"python -m simdoptim bench: --json: cannot write {args.json!r} ({e.strerror or e}); "
                 f"the table above is all there is of this run", err)
            return 1
        _say(f"results written to {args.json}", out)
    if args.png:
        _say(plot(results, args.png, env["load"])[1], out)
    return 0


def _print_saved(args, out):
    ignored = [o for o, v in (("--full", args.full), ("--rounds", args.rounds), ("--json", args.json),
                              ("--no-many", False)) if v]
    if args.peers != ",".join(PEER_GROUPS):
        ignored.append("--peers")
    try:
        with open(args.from_json) as f:
            data = json.load(f)
        results = data["results"]
        env = data["environment"]
    except OSError as e:
        raise _Refused(f"--from-json: cannot read {args.from_json!r} ({e.strerror or e})") from None
    except (ValueError, KeyError, TypeError) as e:
        raise _Refused(f"--from-json: {args.from_json!r} is not a saved benchmark run ({type(e).__name__}: {e})"
                       ) from None
    if ignored:
        print(f"note: --from-json re-prints a saved run; {', '.join(ignored)} do not apply and were ignored",
              file=sys.stderr)
    filters = []
    if args.kernels:
        results = [r for r in results if r["kernel"] in args.kernels.split(",")]
        filters.append(f"--kernels {args.kernels}")
    if args.sizes:
        sizes = set(_csv("--sizes", args.sizes, _size, "a whole number of elements >= 1 (e.g. 1e6)"))
        results = [r for r in results if r["tensors"] == 1 and r["elements"] in sizes or
                   r["tensors"] > 1 and not args.no_many]
        filters.append(f"--sizes {args.sizes}")
    elif args.no_many:
        results = [r for r in results if r["tensors"] == 1]
        filters.append("--no-many")
    if args.dtypes:
        results = [r for r in results if r["dtype"] in args.dtypes.split(",")]
        filters.append(f"--dtypes {args.dtypes}")
    if args.threads:
        results = [r for r in results if r["threads"] in set(_csv("--threads", args.threads, _positive_int,
                                                                   "a thread count >= 1"))]
        filters.append(f"--threads {args.threads}")
    print(f"simdoptim bench (saved run {args.from_json}): {env.get('processor')}, isa {env.get('isa')}, "
          f"{env.get('num_threads')} threads", file=out)
    load = env.get("load")
    if load is None:
        print("machine load: not recorded in this file (saved by an older simdoptim)", file=out)
    else:
        print(f"machine load: before the run {_machine.describe(load.get('before'))}; after it "
              f"{_machine.describe(load.get('after'))}", file=out)
    if not results:
        print(f"no saved rows match {' '.join(filters)}", file=out)
        return 1
    print(format_table(results), file=out)
    for why in notes(results):
        print(f"* {why}", file=out)
    if load is not None and load.get("busy"):
        print(_machine.busy_warning(load), file=out)
    if args.png:
        print(plot(results, args.png, load)[1], file=out)
    return 0
