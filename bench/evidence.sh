#!/bin/sh
# Evidence that the AVX-512 kernels are vectorised and how much work each element costs.
# Run from the repository root after `pip install -e . -Cbuild-dir=build/editable`
# (BUILD points at the CMake build directory).
#   sh bench/evidence.sh [BUILD]
set -eu
BUILD=${1:-build/editable}
OBJ=$BUILD/CMakeFiles/kernels_avx512.dir/cpp/kernels

echo "== AVX-512 Adam (float32): 512-bit divides, square roots and loads/stores in adam.cpp.o"
objdump -d --no-show-raw-insn "$OBJ/adam.cpp.o" | grep -E 'v(div|sqrt|mul|add|sub)ps|vmovups' \
  | awk '{ reg = ($0 ~ /zmm/) ? "zmm" : (($0 ~ /ymm/) ? "ymm" : "xmm"); n[$2 " " reg]++ }
         END { for (k in n) print "  " n[k], k }' | sort -k2
echo
echo "== One loop body of float32 Adam (16 elements per iteration):"
objdump -d --no-show-raw-insn -C "$OBJ/adam.cpp.o" | sed -n '/<simdoptim::avx512::adam_f32/,$p' \
  | grep -m1 -B24 -A8 'vsqrtps %zmm' || true
echo
echo "== Instructions per element (callgrind would take minutes at 1e8; perf counts do not):"
if command -v perf >/dev/null 2>&1; then
  python - <<'PY'
import subprocess, sys, textwrap
code = textwrap.dedent("""
    import numpy as np, simdoptim, sys
    n = 10**7
    w, g, m, v = (np.random.default_rng(0).uniform(0.5, 1.5, n).astype(np.float32) for _ in range(4))
    steps = int(sys.argv[1])
    for t in range(steps):
        simdoptim.functional.adam_update([w], [g], [m], [v], step=1000 + t, lr=1e-3)
""")
counts = []
for steps in (1, 11):
    out = subprocess.run(["perf", "stat", "-x,", "-e", "instructions:u", sys.executable, "-c", code, str(steps)],
                         capture_output=True, text=True).stderr
    counts.append(int(next(l for l in out.splitlines() if "instructions" in l).split(",")[0]))
print(f"  Adam float32: {(counts[1] - counts[0]) / (10 * 10**7):.3f} user instructions per element "
      "(10 steps of 1e7 elements, start-up cost subtracted)")
PY
fi
