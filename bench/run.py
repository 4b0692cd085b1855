"""The benchmark suite, run from a checkout: ``python bench/run.py [--full] [options]``.

It is ``python -m simdoptim bench`` (see ``simdoptim.benchmark``) with the results kept:
JSON in ``bench/results/<timestamp>.json`` and, when matplotlib is installed, the plot of
GB/s against size beside it. Any option of the command may be passed through, e.g.
``python bench/run.py --kernels Adam --sizes 1e6,1e8``.

The README's Performance table comes from ``python bench/run.py --full`` on a quiet machine.
"""

import os
import sys
import time

from simdoptim import benchmark


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    results = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
    os.makedirs(results, exist_ok=True)
    stem = os.path.join(results, time.strftime("%Y%m%d-%H%M%S") + ("-full" if "--full" in argv else ""))
    if "--json" not in argv:
        argv += ["--json", stem + ".json"]
    if "--png" not in argv:
        argv += ["--png", stem + ".png"]
    return benchmark.main(argv)


if __name__ == "__main__":
    sys.exit(main())
