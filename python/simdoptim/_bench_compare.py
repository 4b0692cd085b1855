"""``python -m simdoptim bench --compare OLD.json NEW.json``: each row's change between two runs.

Both files are ``bench --json`` results (two versions, or two machines). Rows are matched by
kernel, dtype, size and thread count; for each the table gives simdoptim's time in both runs
and their ratio (new / old: < 1 is faster). Whether a change is real or noise is judged
against the noise *of these two runs*: every implementation that is the same code in both
(the bandwidth probe, NumPy, torch, DeepSpeed) moves only by noise, so the spread of their
ratios is the run-to-run noise the two runs show. A row is flagged when simdoptim's ratio lies
outside what that noise allows (beyond the 90th percentile of the peers' |log ratio|, and
never less than ``--min-change``, 5 % by default); the row's own probe ratio is printed
beside it, so a change that the probe shows too (a busier moment, another machine) can be
read as such.
"""

from __future__ import annotations

import json
import math
import sys

#: implementations whose code does not change with simdoptim's: their ratios are noise
CONTROLS = ("probe", "numpy", "torch-forloop", "torch-foreach", "torch-fused", "deepspeed")


def load(path):
    """The result rows of a ``bench --json`` file, keyed by (kernel, dtype, layout, threads)."""
    try:
        with open(path) as f:
            data = json.load(f)
    except OSError as e:
        raise SystemExit(f"bench --compare: cannot read {path}: {e.strerror}") from None
    except json.JSONDecodeError as e:
        raise SystemExit(f"bench --compare: {path} is not JSON ({e})") from None
    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
        raise SystemExit(f"bench --compare: {path} is not a 'bench --json' file (no 'results' list)")
    rows = {}
    for r in data["results"]:
        rows[(r["kernel"], r["dtype"], r["layout"], r["threads"])] = r
    return data.get("environment", {}), rows


def noise_threshold(old, new, keys, min_change=0.05, quantile=0.9):
    """(threshold, samples): the |log ratio| that the unchanged implementations stay within
    in `quantile` of their (row, implementation) pairs, at least log(1 + min_change)."""
    samples = []
    for k in keys:
        for impl in CONTROLS:
            a, b = old[k]["ms"].get(impl), new[k]["ms"].get(impl)
            if a and b:
                samples.append(abs(math.log(b / a)))
    floor = math.log1p(min_change)
    if not samples:
        return floor, 0
    samples.sort()
    q = samples[min(len(samples) - 1, int(quantile * (len(samples) - 1) + 0.5))]
    return max(floor, q), len(samples)


def compare(old, new, min_change=0.05):
    """(lines of a Markdown table, threshold, number of noise samples, flagged rows)."""
    keys = [k for k in old if k in new and "simdoptim" in old[k]["ms"] and "simdoptim" in new[k]["ms"]]
    thr, n = noise_threshold(old, new, keys, min_change)
    lines = ["| kernel | dtype | size | thr | old ms | new ms | new/old | probe new/old | verdict |",
             "|---|---|---|---|---|---|---|---|---|"]
    flagged = []
    for k in keys:
        a, b = old[k]["ms"]["simdoptim"], new[k]["ms"]["simdoptim"]
        ratio = b / a
        pa, pb = old[k]["ms"].get("probe"), new[k]["ms"].get("probe")
        probe = f"{pb / pa:.2f}" if pa and pb else "-"
        verdict = ""
        if abs(math.log(ratio)) > thr:
            verdict = "SLOWER" if ratio > 1 else "faster"
            flagged.append((k, ratio, verdict))
        lines.append(f"| {k[0]} | {k[1]} | {k[2]} | {k[3]} | {a:.4g} | {b:.4g} | {ratio:.2f} | {probe} | {verdict} |")
    return lines, thr, n, flagged


def main(old_path, new_path, out=None, min_change=0.05):
    out = sys.stdout if out is None else out
    env_old, old = load(old_path)
    env_new, new = load(new_path)
    lines, thr, n, flagged = compare(old, new, min_change)
    missing = sorted(set(old) ^ set(new))
    for label, env in (("old", env_old), ("new", env_new)):
        print(f"{label}: {env.get('processor', '?')}, isa {env.get('isa', '?')}, "
              f"{env.get('num_threads', '?')} threads, "
              f"simdoptim {env.get('simdoptim', '?')}", file=out)
    print(f"noise: the unchanged implementations (probe, NumPy, torch...) moved by up to "
          f"{math.expm1(thr) * 100:.0f}% in 90% of {n} comparisons; rows beyond that are flagged", file=out)
    print("\n".join(lines), file=out)
    slower = [f for f in flagged if f[2] == "SLOWER"]
    print(f"{len(lines) - 2} rows compared, {len(slower)} slower and {len(flagged) - len(slower)} faster "
          f"beyond the noise"
          + (f"; {len(missing)} rows in only one run" if missing else ""), file=out)
    return 1 if slower else 0
