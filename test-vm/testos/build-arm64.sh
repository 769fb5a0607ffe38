#!/bin/sh
# Builds the arm64 test OS into OUTDIR: Debian 12's arm64 kernel (the
# linux-image-* that linux-image-arm64 currently depends on) and
# busybox-static, downloaded and verified by apt from the arm64 package
# lists (firmware/apt-download.sh: private lists and cache in STATEDIR),
# unpacked with dpkg-deb -x, then put together by build.sh as the x86 test
# OS is.  Cached like build.sh; the packages are fetched again only when
# Debian has newer ones.
#
# usage: test-vm/testos/build-arm64.sh OUTDIR [STATEDIR]    (default OUTDIR.apt)
set -eu

[ $# -ge 1 ] || { echo "usage: $0 OUTDIR [STATEDIR]" >&2; exit 2; }
out=$1
state=${2:-$out.apt}
here=$(cd "$(dirname "$0")" && pwd)
fetch="$here/../../firmware/apt-download.sh"
debs=$state/debs

meta=$(sh "$fetch" "$state" bookworm arm64 "$debs" linux-image-arm64)
# "linux-image-6.1.0-50-arm64 (= 6.1.176-1)": the versioned kernel package
kpkg=$(dpkg-deb -f "$meta" Depends | sed 's/[ ,(].*//')
[ -n "$kpkg" ] || { echo "testos: $meta depends on no kernel" >&2; exit 1; }
# shellcheck disable=SC2046
set -- $(sh "$fetch" "$state" bookworm arm64 "$debs" "$kpkg" busybox-static)
[ $# -eq 2 ] || { echo "testos: expected two packages, got: $*" >&2; exit 1; }

root=$state/root
stamp=$(basename "$1")/$(basename "$2")
if [ ! -f "$root.unpacked" ] || [ "$(cat "$root.unpacked")" != "$stamp" ]; then
	rm -rf "$root"
	mkdir -p "$root"
	dpkg-deb -x "$1" "$root"
	dpkg-deb -x "$2" "$root"
	echo "$stamp" >"$root.unpacked"
fi
set -- "$root"/lib/modules/*
[ $# -eq 1 ] && [ -d "$1" ] || { echo "testos: not one kernel in $root/lib/modules" >&2; exit 1; }
kver=$(basename "$1")
KERNEL=$root/boot/vmlinuz-$kver MODDIR=$root/lib/modules/$kver BUSYBOX=$root/bin/busybox \
	exec sh "$here/build.sh" "$out"
