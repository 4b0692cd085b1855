#!/usr/bin/env bash
# tools/sanitize.sh - builds simdoptim with AddressSanitizer + UndefinedBehaviorSanitizer
# (CMake option SIMDOPTIM_SANITIZE) into its own virtualenv under build/, then runs the
# test suite under it. Extra arguments go to pytest, e.g. tools/sanitize.sh -x tests/test_fuzz.py
#
# CPython itself is not instrumented, so libasan must be loaded first (LD_PRELOAD), with
# libstdc++ beside it (else ASan's C++ exception interceptor finds no __cxa_throw and
# aborts on the first exception), and leak detection is off: the interpreter keeps memory
# alive at exit on purpose. Any ASan report or UBSan finding aborts the process, which
# fails the run; --capture=sys leaves stderr alone so the report is visible.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
VENV=build/sanitize-venv
[ -x "$VENV/bin/python" ] || "$PY" -m venv --system-site-packages "$VENV"
# ml_dtypes: the bfloat16 kernels are instrumented too (their tests skip without it)
"$VENV/bin/python" -m pip install --quiet "numpy>=1.23" "pytest>=7" "hypothesis>=6" "ml_dtypes>=0.3"
# reuse the build tools when they are installed, else let pip fetch them (build isolation)
ISOLATION=""
"$VENV/bin/python" -c "import scikit_build_core, pybind11" 2>/dev/null && ISOLATION=--no-build-isolation
"$VENV/bin/python" -m pip install --quiet $ISOLATION --no-deps --force-reinstall \
    -Ccmake.define.SIMDOPTIM_SANITIZE=ON -Ccmake.build-type=RelWithDebInfo -Cbuild-dir=build/sanitize .
export LD_PRELOAD="$(${CXX:-g++} -print-file-name=libasan.so) $(${CXX:-g++} -print-file-name=libstdc++.so)"
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:check_initialization_order=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export SIMDOPTIM_FUZZ_EXAMPLES=${SIMDOPTIM_FUZZ_EXAMPLES:-500}
"$VENV/bin/python" -c "import simdoptim, sys; print('sanitized build:', simdoptim._core.__file__, file=sys.stderr)"
exec "$VENV/bin/python" -m pytest -q -p no:cacheprovider --capture=sys "$@"
