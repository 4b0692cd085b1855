"""Command line: ``python -m simdoptim demo`` (the course's optimisation exercise, trained
with simdoptim), ``python -m simdoptim info`` (what runs on this machine),
``python -m simdoptim bench`` (side-by-side speed; ``--full``, ``--json FILE``),
``python -m simdoptim lm`` (a small transformer trained with simdoptim.torch and torch, side by side)."""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def __dir__():
    # PEP 562: dir() and tab completion show the public API, not this module's imports
    return list(__all__)


def _info(args):
    import numpy as np

    import simdoptim

    info = simdoptim.cpu_info()
    print(f"simdoptim {simdoptim.__version__} (numpy {np.__version__}, python {sys.version.split()[0]})")
    print(f"  isa          {info['isa']}   (SIMD path in use; force a lower one with SIMDOPTIM_ISA)")
    print(f"  isas         {', '.join(info['isas'])}   (paths this CPU can run)")
    print(f"  compiled     {', '.join(info['compiled_isas'])}")
    feats = " ".join(f"{k}{'+' if v else '-'}" for k, v in info["cpu_features"].items())
    print(f"  cpu features {feats}")
    print(f"  threading    {info['threading']}   (idle workers spin {info['spin_us']:g} us, then sleep)")
    print(f"  num_threads  {info['num_threads']}   (set_num_threads, SIMDOPTIM_NUM_THREADS or OMP_NUM_THREADS)")
    grains = ", ".join(f"{k} {v}" for k, v in info["parallel_grains"].items())
    print(f"  grains       {grains}   (elements per thread below which no further thread is used)")
    return 0


def _demo_arguments(parser):
    from . import demo

    demo.add_arguments(parser)


def _demo(args):
    from . import demo

    return demo.main(args)


def _lm_arguments(parser):
    parser.add_argument("--steps", type=int, default=300, help="training steps of each run (default 300)")
    parser.add_argument("--batch", type=int, default=16, help="sequences of 64 bytes per batch (default 16)")
    parser.add_argument("--out", default="simdoptim-lm", help="folder for lm_loss.png (default ./simdoptim-lm)")
    parser.add_argument("--no-plots", action="store_true", help="do not write the figure")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _lm(args):
    try:
        from .torch import lm
    except ImportError as e:
        print(f"python -m simdoptim lm needs torch ({e}); pip install \"simdoptim[torch]\"", file=sys.stderr)
        return 2
    return lm.main(args)


def _bench_torch(args):
    try:
        from .torch import bench
    except ImportError as e:
        print(f"python -m simdoptim bench-torch needs torch ({e}); pip install \"simdoptim[torch]\"", file=sys.stderr)
        return 2
    return bench.main(args)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m simdoptim", description="simdoptim command line")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("info", help="show the SIMD path, threads and CPU features in use")
    p.set_defaults(func=_info)
    p = sub.add_parser("bench", help="benchmark every kernel against the bandwidth probe, NumPy and torch "
                                     "(quick; --full for the grid)")
    from . import benchmark

    benchmark.add_arguments(p)
    p.set_defaults(func=benchmark.run_command)
    p = sub.add_parser("demo", help="train the course's small network with GD, momentum and Adam; "
                                    "print a table, write figures")
    _demo_arguments(p)
    p.set_defaults(func=_demo)
    p = sub.add_parser("lm", help="train a small transformer LM on Python's own source with simdoptim.torch.AdamW and "
                                  "torch's fused AdamW side by side (needs torch)")
    p.set_defaults(func=_lm)
    _lm_arguments(p)
    p = sub.add_parser("bench-torch", help="optimizer.step() of simdoptim.torch.AdamW against torch.optim.AdamW "
                                           "(fused/foreach/for-loop) and DeepSpeed's CPU Adam (needs torch)")
    p.add_argument("--no-big", action="store_true", help="leave out the 1e8-element row (4.8 GB of tensors)")
    p.add_argument("--rounds", type=int, default=7, help="interleaved rounds; medians are reported (default 7)")
    p.add_argument("--threads", type=int, default=None, help="simdoptim and torch threads (default: as set)")
    p.add_argument("--no-deepspeed", action="store_true", help="leave out DeepSpeed (its op builds on first use)")
    p.set_defaults(func=_bench_torch)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
