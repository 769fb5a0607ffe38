#!/bin/sh
# Builds Corral's test OS into OUTDIR: vmlinuz (the installed Debian
# linux-image-amd64 kernel) and initrd.img (a gzip newc cpio with a static
# busybox, the NIC driver modules and testos/init).  Cached: when the inputs
# (this script, init, default.script, kernel, modules, busybox) hash to what
# OUTDIR/inputs.sha256 records, nothing is rebuilt.
#
# Another architecture's kernel and busybox (unpacked from Debian's
# packages, see build-arm64.sh) are given with KERNEL=FILE MODDIR=DIR (its
# /lib/modules/<version>) BUSYBOX=FILE.
#
# usage: test-vm/testos/build.sh OUTDIR      (KVER=... picks a kernel)
set -eu

[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
out=$1
here=$(cd "$(dirname "$0")" && pwd)

if [ -n "${KERNEL:-}" ]; then
	[ -n "${MODDIR:-}" ] && [ -n "${BUSYBOX:-}" ] ||
		{ echo "testos: KERNEL needs MODDIR and BUSYBOX" >&2; exit 2; }
	kernel=$KERNEL
	KVER=$(basename "$MODDIR")
	busybox=$BUSYBOX
else
	if [ -z "${KVER:-}" ]; then
		# Newest kernel that also has its modules installed.
		KVER=""
		for k in $(ls /boot/vmlinuz-* 2>/dev/null | sed 's|^/boot/vmlinuz-||' | sort -V); do
			[ -d "/lib/modules/$k" ] && KVER=$k
		done
	fi
	[ -n "$KVER" ] || { echo "testos: no /boot/vmlinuz-* with /lib/modules (install linux-image-amd64)" >&2; exit 1; }
	kernel=/boot/vmlinuz-$KVER
	MODDIR=/lib/modules/$KVER
	busybox=/bin/busybox
fi
for f in "$kernel" "$busybox"; do
	[ -r "$f" ] || { echo "testos: $f missing (make deps)" >&2; exit 1; }
done
if ! file -L "$busybox" 2>/dev/null | grep -q 'statically linked' &&
	ldd "$busybox" >/dev/null 2>&1; then
	echo "testos: $busybox is not static (install busybox-static)" >&2
	exit 1
fi

# Load order without modprobe: dependencies first (see NOTES-lab.md).
ORDER="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci failover net_failover virtio_net e1000"
mods=""
for m in $ORDER; do
	p=$(find "$MODDIR/kernel" -name "$m.ko" -print -quit)
	if [ -n "$p" ]; then
		mods="$mods $p"
	elif ! grep -q "/$m.ko\$" "$MODDIR/modules.builtin" 2>/dev/null; then
		echo "testos: module $m.ko not found for $KVER" >&2
		exit 1
	fi
done

# shellcheck disable=SC2086
hash=$( (echo "$KVER $ORDER"; sha256sum "$0" "$here/init" "$here/default.script" \
	"$kernel" "$busybox" $mods | cut -d' ' -f1) | sha256sum | cut -d' ' -f1)
if [ -f "$out/inputs.sha256" ] && [ "$(cat "$out/inputs.sha256")" = "$hash" ] &&
	[ -f "$out/vmlinuz" ] && [ -f "$out/initrd.img" ]; then
	exit 0
fi

mkdir -p "$out"
tmp=$(mktemp -d "$out/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root
mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin" "$root/etc/udhcpc" \
	"$root/lib/modules" "$root/proc" "$root/sys" "$root/dev" "$root/tmp" "$root/run"
cp "$busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
install -m 755 "$here/init" "$root/init"
install -m 755 "$here/default.script" "$root/etc/udhcpc/default.script"
for p in $mods; do
	cp "$p" "$root/lib/modules/"
done
echo "$ORDER" >"$root/lib/modules/order"
echo "corral-testos" >"$root/etc/hostname"
# The kernel opens /dev/console for init before anything is mounted.
mknod -m 600 "$root/dev/console" c 5 1 2>/dev/null || true

(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -9n >"$tmp/initrd.img"
cp "$kernel" "$tmp/vmlinuz"
chmod 644 "$tmp/vmlinuz" "$tmp/initrd.img"
mv -f "$tmp/vmlinuz" "$out/vmlinuz"
mv -f "$tmp/initrd.img" "$out/initrd.img"
echo "$hash" >"$out/inputs.sha256"
echo "testos: built $out (kernel $KVER)"
