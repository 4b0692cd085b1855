#!/usr/bin/env bash
# tools/test_wheel_elsewhere.sh - the release wheels of dist/ (tools/build_wheel.sh), installed
# where nothing was built, with the test suite run against them:
#
#   here      a fresh virtual environment of --python PY (default python3) with no compiler
#             on PATH, pip restricted to binary packages
#   bullseye  a Debian bullseye tree (glibc 2.31, Python 3.9, its pip 20.3; no compiler),
#             made with debootstrap on first use in bullseye-test of $SIMDOPTIM_DEBIAN_TREES,
#             else ~/.cache/simdoptim (as tools/build_wheel.sh's sysroot), entered with
#             chroot: needs root and the cp39 wheel (tools/build_wheel.sh --python python3.9)
#
# Each gets the wheel and the [test] extra's packages (pytest, hypothesis, ml_dtypes for the
# bfloat16 tests, matplotlib for the figures' tests), binary wheels only; torch is left out.
# In each: the whole suite with SIMDOPTIM_ISA=baseline and again on the best path this CPU
# has, then the pre-AVX check of tests/test_portable.py under qemu-x86_64 -cpu Nehalem
# (qemu-user), which must run and pass, not be skipped. The tests are copied out of the
# checkout so that only the installed wheel can be imported. About 10 minutes on 2 cores,
# 4 more the first time (debootstrap).
#
#   tools/test_wheel_elsewhere.sh [--python PY] [--only here|bullseye] [-- PYTEST_ARGS...]
#
# PYTEST_ARGS replace the default "-q -p no:cacheprovider tests" (paths are relative to the
# copied suite, e.g. -- -q tests/test_bad_input.py tests/test_equivalence.py).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=python3
ONLY=""
while [ $# -gt 0 ]; do
    case $1 in
        --python) PY=$2; shift 2 ;;
        --only) ONLY=$2; shift 2 ;;
        --) shift; break ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
    esac
done
PYTEST_ARGS=("$@")
[ ${#PYTEST_ARGS[@]} -gt 0 ] || PYTEST_ARGS=(-q -p no:cacheprovider tests)

wheel_for() {  # the one repaired wheel of dist/ for a cpXY tag
    local found
    found=$(ls dist/simdoptim-*-"$1"-"$1"-manylinux*_x86_64.whl 2>/dev/null || true)
    [ "$(echo "$found" | grep -c .)" = 1 ] ||
        { echo "need exactly one $1 manylinux wheel in dist/ (tools/build_wheel.sh), found: ${found:-none}" >&2; exit 1; }
    echo "$found"
}

copy_tests() {  # the suite, its pytest settings and the files it reads, away from the sources
    rm -rf "$1" && mkdir -p "$1"
    cp -r tests examples "$1/"
    cp pyproject.toml README.md "$1/"
    find "$1/tests" -name __pycache__ -prune -exec rm -rf {} +
}

# run_suite LABEL RUN... : RUN... COMMAND runs COMMAND in the copied suite's directory, with
# the environment's python first on PATH. Every stage runs; a failed one is recorded in
# FAILED and the script fails at the end.
FAILED=()
run_suite() {
    local label=$1; shift
    local show='import simdoptim; i = simdoptim.cpu_info(); print(simdoptim.__file__, i["isa"], i["isas"])'
    echo "== $label: SIMDOPTIM_ISA=baseline"
    "$@" /usr/bin/env SIMDOPTIM_ISA=baseline python -c "$show"'; assert i["isa"] == "baseline"'
    "$@" /usr/bin/env SIMDOPTIM_ISA=baseline python -m pytest "${PYTEST_ARGS[@]}" || FAILED+=("$label, baseline")
    echo "== $label: best path"
    "$@" python -c "$show"
    "$@" python -m pytest "${PYTEST_ARGS[@]}" || FAILED+=("$label, best path")
    echo "== $label: pre-AVX CPU (qemu-x86_64 -cpu Nehalem)"
    local out
    out=$("$@" python -m pytest -q -p no:cacheprovider -rs tests/test_portable.py -k pre_avx 2>&1) || true
    echo "$out" | tail -1
    echo "$out" | tail -1 | grep -Eq '^1 passed' || { echo "$out"; FAILED+=("$label, qemu (failed or did not run)"); }
}

test_here() {
    local tag wheel venv bin
    tag=$("$PY" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
    wheel=$(wheel_for "$tag")
    venv=build/wheel-test-$tag
    bin=build/wheel-test-bin
    rm -rf "$venv" "$bin" && mkdir -p "$bin"
    "$PY" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --only-binary=:all: "$wheel" "pytest>=7" "hypothesis>=6" "ml_dtypes>=0.3" "matplotlib>=3.5"
    # PATH: the venv and the two tools the tests look for, nothing else
    for tool in qemu-x86_64 objdump; do
        if command -v "$tool" >/dev/null; then ln -s "$(command -v "$tool")" "$bin/$tool"; fi
    done
    local abs_venv abs_bin
    abs_venv=$(cd "$venv" && pwd) abs_bin=$(cd "$bin" && pwd)
    copy_tests "$venv/suite"
    local run=(/usr/bin/env PATH="$abs_venv/bin:$abs_bin")
    if "${run[@]}" /bin/sh -c 'command -v cc gcc g++ c++ clang' >/dev/null; then
        echo "a compiler is on the test's PATH" >&2; exit 1
    fi
    echo "fresh venv ($("$abs_venv/bin/python" --version), $wheel), no compiler on PATH"
    pushd "$venv/suite" >/dev/null  # not a subshell: run_suite records failures in FAILED
    run_suite "fresh venv here" "${run[@]}"
    popd >/dev/null
}

test_bullseye() {
    local root=${SIMDOPTIM_DEBIAN_TREES:-${XDG_CACHE_HOME:-$HOME/.cache}/simdoptim}/bullseye-test wheel
    wheel=$(wheel_for cp39)
    mkdir -p "$(dirname "$root")"
    tools/debian_root.sh "$root" bullseye python3 python3-venv qemu-user ca-certificates
    root=$(cd "$root" && pwd)
    if chroot "$root" /usr/bin/env -i PATH=/usr/bin:/bin /bin/sh -c 'command -v cc gcc g++ c++ clang' >/dev/null; then
        echo "$root has a compiler; it must not (remove the folder)" >&2; exit 1
    fi
    MOUNTED=()  # global: the EXIT trap runs after this function's locals are gone
    # shellcheck disable=SC2317
    cleanup() { local m; for m in "${MOUNTED[@]}"; do umount -l "$m" || true; done; }
    trap cleanup EXIT
    for m in proc sys dev dev/shm; do
        mountpoint -q "$root/$m" && continue
        if [ "$m" = proc ]; then mount -t proc proc "$root/proc"; else mount --bind "/$m" "$root/$m"; fi
        MOUNTED=("$root/$m" "${MOUNTED[@]}")
    done
    cp /etc/resolv.conf "$root/etc/resolv.conf"
    # pip in the tree trusts what this machine trusts (a TLS-inspecting proxy's CA included)
    local host_ca=/etc/ssl/certs/ca-certificates.crt
    [ -f "$host_ca" ] || host_ca=$root/etc/ssl/certs/ca-certificates.crt
    cp -L "$host_ca" "$root/etc/ssl/certs/host-ca-certificates.crt"
    rm -rf "$root/opt/venv"
    copy_tests "$root/opt/suite"
    cp "$wheel" "$root/opt/suite/"
    local in_root=(chroot "$root" /usr/bin/env -i PATH=/opt/venv/bin:/usr/bin:/bin HOME=/root LANG=C.UTF-8
                   PIP_CERT=/etc/ssl/certs/host-ca-certificates.crt)
    "${in_root[@]}" python3 -m venv /opt/venv
    "${in_root[@]}" /opt/venv/bin/python -m pip install --quiet --only-binary=:all: \
        "/opt/suite/$(basename "$wheel")" "pytest>=7" "hypothesis>=6" "ml_dtypes>=0.3" "matplotlib>=3.5"
    echo "bullseye: $("${in_root[@]}" sh -c '. /etc/os-release; echo $PRETTY_NAME; ldd --version | head -1; python3 --version; pip --version')"
    run_suite bullseye "${in_root[@]}" /bin/sh -c 'cd /opt/suite && exec "$@"' sh
}

case $ONLY in
    "") test_here; test_bullseye ;;
    here) test_here ;;
    bullseye) test_bullseye ;;
    *) echo "--only here|bullseye" >&2; exit 2 ;;
esac
if [ ${#FAILED[@]} -gt 0 ]; then
    printf 'FAILED: %s\n' "${FAILED[@]}" >&2
    exit 1
fi
echo "all wheel checks passed"
