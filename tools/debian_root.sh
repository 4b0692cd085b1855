#!/usr/bin/env bash
# tools/debian_root.sh DIR SUITE [PACKAGE...] - a Debian tree in DIR (debootstrap, minbase)
# with the PACKAGEs installed, and every absolute symbolic link in it rewritten as a relative
# one, so the tree also works as a compiler's --sysroot: Debian's development links such as
# usr/lib/x86_64-linux-gnu/libpthread.so -> /lib/x86_64-linux-gnu/libpthread.so.0 would
# otherwise lead the linker out of the tree to the host's newer glibc.
#
# Used by tools/build_wheel.sh (a bullseye toolchain) and tools/test_wheel_elsewhere.sh (a
# bullseye system to install the wheel into). Skips what is already done; needs root and
# debootstrap (Debian: apt-get install debootstrap). DEBIAN_MIRROR overrides the mirror.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 DIR SUITE [PACKAGE...]" >&2; exit 2; }
DIR=$1 SUITE=$2
shift 2
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
IN_ROOT=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive chroot "$DIR")

if [ -d "$DIR/debootstrap" ]; then
    echo "$DIR: an unfinished debootstrap is there; remove the folder and run again" >&2
    exit 1
fi
if [ ! -x "$DIR/usr/bin/apt-get" ]; then
    command -v debootstrap >/dev/null || { echo "debootstrap not found (Debian: apt-get install debootstrap)" >&2; exit 1; }
    echo "debootstrap $SUITE into $DIR (a few minutes)" >&2
    debootstrap --variant=minbase "$SUITE" "$DIR" "$MIRROR" >"$DIR.debootstrap.log" 2>&1 ||
        { tail -20 "$DIR.debootstrap.log" >&2; exit 1; }
fi

missing=()
for pkg in "$@"; do
    "${IN_ROOT[@]}" dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' ||
        missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing into $DIR: ${missing[*]}" >&2
    cp /etc/resolv.conf "$DIR/etc/resolv.conf"
    "${IN_ROOT[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$DIR.apt.log" 2>&1 ||
        { tail -20 "$DIR.apt.log" >&2; exit 1; }
fi

# -xdev: a /proc or /dev mounted into the tree by a test run is left alone
find "$DIR" -xdev -type l -lname '/*' -print0 | while IFS= read -r -d '' link; do
    target=$(readlink "$link")
    ln -sfn "$(realpath -m -s --relative-to="$(dirname "$link")" "$DIR$target")" "$link"
done
