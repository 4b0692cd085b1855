"""Command line: ``python -m simdoptim demo`` (the course's optimisation exercise, trained
with simdoptim), ``python -m simdoptim info`` (what runs on this machine),
``python -m simdoptim bench`` (side-by-side speed; ``--full``, ``--json FILE``)."""

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
    print(f"  num_threads  {info['num_threads']}   (OMP_NUM_THREADS or simdoptim.set_num_threads)")
    grains = ", ".join(f"{k} {v}" for k, v in info["parallel_grains"].items())
    print(f"  grains       {grains}   (elements per thread below which no further thread is used)")
    return 0


def _demo_arguments(parser):
    from . import demo

    demo.add_arguments(parser)


def _demo(args):
    from . import demo

    return demo.main(args)


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
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
