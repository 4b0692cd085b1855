"""How busy the machine is, read by the benchmark before and after it runs.

A timing is only as good as the machine is quiet. On Linux, ``/proc/stat`` gives the
CPU time all processes spent busy; read twice around a short sleep of ours, its
difference less our own CPU time is what *other* processes used in that window. Its
``procs_running`` line counts the runnable threads at that instant (the reader
included). ``os.getloadavg()`` is the run-queue average over the last minute (it lags,
and after our own run it counts our threads too, so only the reading before the run is
judged by it). Elsewhere the fields that cannot be read are None.
"""

from __future__ import annotations

import os
import time

__all__ = ["read_load", "assess", "describe", "busy_warning"]

#: how long a reading watches the CPUs; the benchmark reads before and after its run
WINDOW_S = 0.5
#: CPUs' worth of time other processes may use beyond those the run leaves free
SLACK_CPUS = 0.25


def __dir__():
    return list(__all__)


def _proc_stat():
    """``(busy jiffies, total jiffies, procs_running)`` from /proc/stat, or None."""
    try:
        with open("/proc/stat") as f:
            text = f.read()
    except OSError:
        return None
    busy = total = running = None
    for line in text.splitlines():
        if line.startswith("cpu "):
            v = [int(x) for x in line.split()[1:]]
            total = sum(v[:8])  # user nice system idle iowait irq softirq steal (guest is in user)
            busy = total - v[3] - (v[4] if len(v) > 4 else 0)
        elif line.startswith("procs_running"):
            running = int(line.split()[1])
    if total is None:
        return None
    return busy, total, running


def cpu_count():
    """CPUs the machine has (what the OS schedules everyone on, not only us)."""
    return os.cpu_count() or 1


def read_load(window_s=None):
    """One reading: ``{"cpus", "window_s", "others_cpu", "others_busy_fraction",
    "others_runnable", "loadavg"}``. ``others_cpu`` is the CPUs' worth of time other
    processes used during the window (0 to ``cpus``), ``others_runnable`` the mean number of
    runnable threads other than ours, sampled 5 times in the window; ``loadavg`` the 1, 5
    and 15 minute load averages. Unreadable fields are None."""
    window_s = WINDOW_S if window_s is None else window_s
    cpus = cpu_count()
    ours0 = time.process_time()  # all of our threads (an OpenMP pool may still spin a moment)
    first = _proc_stat()
    running = []
    t_end = time.perf_counter() + window_s
    for k in range(5):
        time.sleep(max(0.0, (t_end - time.perf_counter()) / (5 - k)))
        s = _proc_stat()
        if s is not None and s[2] is not None:
            running.append(max(0, s[2] - 1))  # the reader itself is running
    last = _proc_stat()
    ours = time.process_time() - ours0
    others_fraction = None
    if first is not None and last is not None and last[1] > first[1]:
        hz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        others_busy = (last[0] - first[0]) / hz - ours
        others_fraction = max(0.0, min(1.0, others_busy / ((last[1] - first[1]) / hz)))
    try:
        loadavg = [round(x, 2) for x in os.getloadavg()]
    except (OSError, AttributeError):
        loadavg = None
    return {
        "cpus": cpus,
        "window_s": window_s,
        "others_busy_fraction": None if others_fraction is None else round(others_fraction, 3),
        "others_cpu": None if others_fraction is None else round(others_fraction * cpus, 2),
        "others_runnable": round(sum(running) / len(running), 2) if running else None,
        "loadavg": loadavg,
    }


def assess(before, after, threads):
    """``{"busy": bool, "reasons": [str], "threads": threads}``: busy when, in either
    reading, other processes used more CPU time, or had more runnable threads, than the
    CPUs a ``threads``-thread run leaves free (plus SLACK_CPUS), or when the load average
    before the run says so."""
    cpus = (before or after or {}).get("cpus", cpu_count())
    spare = max(0, cpus - threads)
    reasons = []
    for when, r in (("before", before), ("after", after)):
        if not r:
            continue
        if r.get("others_cpu") is not None and r["others_cpu"] > spare + SLACK_CPUS:
            reasons.append(f"{when} the run, other processes used {r['others_cpu']:.2f} of the {cpus} CPUs "
                           f"(over {r['window_s']:g} s)")
        if r.get("others_runnable") is not None and r["others_runnable"] > spare + 0.5:
            reasons.append(f"{when} the run, {r['others_runnable']:.1f} other threads were runnable on average")
    if before and before.get("loadavg") and before["loadavg"][0] > spare + 0.5 + SLACK_CPUS:
        reasons.append(f"the load average over the minute before the run was {before['loadavg'][0]:.2f} "
                       f"on {cpus} CPUs")
    return {"busy": bool(reasons), "reasons": reasons, "threads": threads, "cpus": cpus}


def describe(reading):
    """One line: what a reading saw."""
    if not reading:
        return "not measured"
    parts = []
    if reading.get("others_cpu") is not None:
        parts.append(f"others used {reading['others_cpu']:.2f} of {reading['cpus']} CPUs")
    if reading.get("others_runnable") is not None:
        parts.append(f"{reading['others_runnable']:.1f} other runnable")
    if reading.get("loadavg"):
        parts.append("load average " + ", ".join(f"{x:.2f}" for x in reading["loadavg"]))
    return "; ".join(parts) if parts else "this OS gives no load figures"


def busy_warning(verdict, heading="the machine was busy while the benchmark ran"):
    """The warning printed for a busy verdict: what was seen and what it does to the rows."""
    t = verdict["threads"]
    lines = [f"warning: {heading}: " + "; ".join(verdict["reasons"]) + "."]
    lines.append("  Every timing is slower and noisier than on a quiet machine, for every implementation alike.")
    if t > 1:
        lines.append(
            f"  The {t}-thread rows suffer most: a step split over {t} threads ends only when all have run, and "
            f"a thread the OS has not scheduled (another process holds its CPU) makes the step wait, often a "
            f"whole scheduler slice of several ms, so those rows can come out many times slower than 1 thread "
            f"and far below NumPy.")
    lines.append("  Compare within a row, and re-run on a quiet machine for numbers to quote.")
    return "\n".join(lines)
