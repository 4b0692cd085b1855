#!/bin/sh
# Builds bench/runtime_candidates.cpp (OpenMP, oneTBB when its headers and library are in the
# active Python environment: pip install tbb-devel==2023.2.0) and runs it with the given mode:
#   sh bench/runtime_candidates.sh idle | load 1 | burn 1000
set -e
here=$(dirname "$0")
out=${TMPDIR:-/tmp}/simdoptim_runtime_candidates
prefix=$(python -c "import sys; print(sys.prefix)")
tbb=""
if [ -f "$prefix/include/oneapi/tbb/parallel_for.h" ]; then
  tbb="-DHAVE_TBB -I$prefix/include -L$prefix/lib -ltbb -Wl,-rpath,$prefix/lib"
fi
g++ -std=c++17 -O3 -mavx2 -mfma -ffp-contract=off -fno-math-errno -fopenmp -pthread \
  "$here/runtime_candidates.cpp" "$here/../cpp/runtime/parallel.cpp" $tbb -o "$out"
exec "$out" "$@"
