#!/bin/sh
# make check-fresh: the README's install path inside a clean Debian 12 root.
#
# CI runs on a machine that already has every package, so it cannot see a
# missing install step.  This can: it makes a minimal Debian 12 root with
# mmdebstrap (minbase plus make, which the README's commands need first),
# copies the checkout's tracked files in, and runs there, as root,
#     make deps && make && make check-unit
# with nothing else installed.  Any failure fails the tier.
#
# The minimal root is cached as a tarball keyed by what goes into it (suite,
# variant, package list, mmdebstrap version, the host's apt sources), in
# $CORRAL_FRESH_CACHE (default /var/cache/corral/fresh); the root itself is
# new every run.  Mounts (/proc, /sys, /dev) live in a private mount
# namespace, so they vanish with it whatever happens.
#
#   sh scripts/check-fresh.sh RESULTS_FILE
set -u
out=${1:?usage: check-fresh.sh RESULTS_FILE}
top=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$(dirname "$out")"
echo "0 1 0" >"$out"
: >"$out.skips"

if [ "$(id -u)" != 0 ]; then
	echo "fresh: needs root (chroot, mounts)" >&2
	exit 1
fi
for tool in mmdebstrap unshare chroot tar git; do
	command -v "$tool" >/dev/null 2>&1 || { echo "fresh: $tool missing (make deps)" >&2; exit 1; }
done

suite=bookworm
variant=minbase
include=make
# The host's own apt sources: the same mirror the machine already uses.
sources=""
for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list; do
	[ -s "$f" ] && sources="$sources $f"
done
cache=${CORRAL_FRESH_CACHE:-/var/cache/corral/fresh}
key=$( { echo "$suite $variant $include"; mmdebstrap --version; cat $sources; } | sha256sum | cut -c1-16)
tarball=$cache/root-$key.tar
mkdir -p "$cache"
if [ ! -f "$tarball" ] || [ ! -s "$tarball" ]; then
	echo "fresh: making a minimal $suite root (cached as $tarball)"
	# shellcheck disable=SC2086
	# (mmdebstrap picks its output format by the name's ending: keep .tar)
	part=$cache/part-$key.tar
	if ! mmdebstrap --quiet --variant="$variant" --include="$include" "$suite" "$part" $sources; then
		rm -rf "$part"
		echo "fresh: mmdebstrap failed" >&2
		exit 1
	fi
	mv "$part" "$tarball"
	# Older keys are roots nobody asks for any more.
	find "$cache" -name 'root-*.tar' ! -name "root-$key.tar" -delete
fi

root=$(mktemp -d /var/tmp/corral-fresh.XXXXXX)
cleanup() { rm -rf --one-file-system "$root"; }
trap cleanup EXIT INT TERM
tar -xf "$tarball" -C "$root" || { echo "fresh: cannot unpack $tarball" >&2; exit 1; }
mkdir -p "$root/src"
# The checkout as a fresh clone would have it: tracked files, as they are in
# the work tree (so uncommitted edits are tried too).
# One tar reads the whole list (xargs would split a long one over several
# tars, whose concatenated archives the reader stops at the first end of).
(cd "$top" && git ls-files -z --cached --others --exclude-standard |
	tar -cf - --no-recursion --null -T -) |
	tar -xf - -C "$root/src" || { echo "fresh: cannot copy the checkout" >&2; exit 1; }
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true

start=$(date +%s)
echo "fresh: make deps && make && make check-unit in a clean $suite root"
unshare --mount --propagation private sh -c '
	set -e
	r=$1
	mount -t proc proc "$r/proc"
	mount --rbind /sys "$r/sys"
	mount --rbind /dev "$r/dev"
	chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb \
		sh -c "cd /src && make deps && make && make check-unit"
' sh "$root" 2>&1 | sed 's/^/fresh: /'
rc=$(cat "$root/src/build/results/unit" 2>/dev/null)
secs=$(( $(date +%s) - start ))
# The unit tier's own counts decide: its results file exists only when
# deps, the build and the tests all ran.
if [ -n "$rc" ] && [ "$(echo "$rc" | cut -d' ' -f2)" = 0 ]; then
	echo "fresh: passed in ${secs}s (unit tier inside: $rc)"
	echo "1 0 0" >"$out"
	exit 0
fi
echo "fresh: FAILED after ${secs}s (unit tier inside: ${rc:-no results})"
echo "0 1 0" >"$out"
exit 1
