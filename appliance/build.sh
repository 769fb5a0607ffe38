#!/bin/sh
# make appliance: the bootable Corral management-server disk image.
#
#   sh appliance/build.sh [OUTDIR]        (default build/appliance; root)
#
# Writes OUTDIR/corral-<version>-amd64.img (raw GPT disk, sparse),
# .img.zst (the same, compressed: what `corral system upgrade` downloads),
# .qcow2 (for QEMU), .bmap (for bmaptool), .manifest (version, root
# checksum, partition layout) and .packages (the Debian packages inside);
# corral-amd64.* link to the newest.
#
# An image whose inputs (source, version, package lists, appliance/, the
# firmware tree's manifest, apt sources) match the one in OUTDIR is reused
# as it is.  Otherwise, steps, each timed on stdout:
#  1. build root: a minimal Debian 12 (mmdebstrap minbase + make: the root
#     `make check-fresh` starts from, shared with it in its cache
#     /var/cache/corral/fresh) in which the project's own
#     `make deps DEPS=build` ran (scripts/deps.sh's build profile: compiler,
#     pkg-config, the -dev libraries; not the test tiers' browsers, QEMU,
#     Kea...); cached as a tarball keyed by suite, apt sources and
#     mmdebstrap version, and saved again whenever a later `make deps`
#     installs packages that scripts/deps.sh gained.
#  2. compile: this checkout's tracked files copied into a fresh copy of the
#     build root, then `make deps`, `make all`, `make install` (DEPS=build)
#     inside it (no binary from the host); the installed tree is kept in
#     build/appliance/cache by source checksum and version, so a second
#     image of the same source (the upgrade tests' second build) reuses it.
#  3. base root: the appliance's Debian packages (appliance/packages) with
#     mmdebstrap, trimmed by appliance/base-hook.sh; cached by package list.
#     Made in the background while steps 1-2 run (they share nothing).
#  4. root: base root + Corral's install tree + appliance/rootfs, the corral
#     user, enabled units; packed read-only as squashfs, gzip level 1 (the
#     base root alone, side by side on the 2-core machine: level 1 5.4 s of
#     CPU for 182 MiB, level 6 15.5 s for 168 MiB, and mksquashfs's default 9
#     took minutes; the tests build three images, so level 1; gzip because
#     GRUB 2.06 reads kernel and initrd straight from it and knows no zstd).
#  5. disk: GPT with BIOS boot, ESP (GRUB for BIOS and UEFI, grub.cfg,
#     grubenv), settings (FAT), root A (this root) and root B (empty); the
#     data partition is created on first boot (see appliance/README.md).
#
# Environment: CORRAL_APPLIANCE_CACHE (default /var/cache/corral/appliance),
# CORRAL_APPLIANCE_VERSION (the image's version; default git describe),
# CORRAL_APPLIANCE_FIRMWARE (the boot firmware tree `make firmware` made,
# iPXE for every architecture from Debian's packages; default
# build/firmware; the image carries it as /usr/lib/corral/firmware),
# CORRAL_APPLIANCE_BROKEN=1 (tests only: an image whose corrald never
# starts, to prove the upgrade rolls back).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
here=$top/appliance
out=${1:-$top/build/appliance}
cache=${CORRAL_APPLIANCE_CACHE:-/var/cache/corral/appliance}
suite=bookworm
# Slot size is fixed for the life of an installation: an upgrade writes the
# new root into the other slot, so it must fit (see README.md).
slot_mib=1024
esp_mib=64
settings_mib=8
# The corral user's ids are part of the data partition's contract: files
# there keep them across upgrades.
corral_uid=991

t0=$(date +%s)
step_t=$t0
step() {
	now=$(date +%s)
	echo "appliance: [$((now - t0))s] $*"
	step_t=$now
}
die() {
	echo "appliance: $*" >&2
	exit 1
}

[ "$(id -u)" = 0 ] || die "needs root (chroot, mounts)"
for tool in mmdebstrap unshare chroot tar git mksquashfs sfdisk mkfs.vfat mcopy mmd \
	grub-mkimage qemu-img sha256sum zstd; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool missing (make deps)"
done
[ -f /usr/lib/grub/i386-pc/boot.img ] || die "GRUB for BIOS missing (grub-pc-bin: make deps)"
[ -d /usr/lib/grub/x86_64-efi ] || die "GRUB for UEFI missing (grub-efi-amd64-bin: make deps)"

fwdir=${CORRAL_APPLIANCE_FIRMWARE:-$top/build/firmware}
[ -s "$fwdir/manifest.json" ] || die "no firmware tree in $fwdir (make firmware)"
version=${CORRAL_APPLIANCE_VERSION:-$(cd "$top" && git describe --always --dirty 2>/dev/null || echo 0.1)}
case $version in *[!A-Za-z0-9.+~_-]*) die "version '$version': letters, digits and . + ~ _ - only" ;; esac
corral_version=$(cd "$top" && git describe --always --dirty 2>/dev/null || echo 0.1)
name=corral-$version-amd64
mkdir -p "$out" "$cache"
out=$(cd "$out" && pwd)

sources=""
for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list; do
	[ -s "$f" ] && sources="$sources $f"
done
mmv=$(mmdebstrap --version)

work=$(mktemp -d /var/tmp/corral-appliance.XXXXXX)
base_pid=""
cleanup() {
	# A background base root still running (a failed compile): stopped, by
	# its PID, before its log folder goes.
	if [ -n "$base_pid" ]; then
		kill "$base_pid" 2>/dev/null
		wait "$base_pid" 2>/dev/null
	fi
	rm -rf --one-file-system "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# Runs a command in a chroot with /proc, /sys and /dev, in a private mount
# namespace (the mounts vanish with it whatever happens).
in_chroot() {
	r=$1
	shift
	unshare --mount --propagation private sh -c '
		set -e
		r=$1; shift
		mount -t proc proc "$r/proc"
		mount --rbind /sys "$r/sys"
		mount --rbind /dev "$r/dev"
		exec chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb "$@"
	' sh "$r" "$@"
}

# The checkout as a fresh clone would have it: tracked files as they are in
# the work tree (uncommitted edits included).
copy_source() {
	mkdir -p "$1"
	(cd "$top" && git ls-files -z --cached --others --exclude-standard |
		tar -cf - --no-recursion --null -T -) |
		tar -xf - -C "$1"
}

# ---- 1. build root, 2. compile
# The compiled tree is kept by source checksum and version in
# build/appliance/cache (a fresh checkout, as CI's, always compiles); the
# build root is needed only when it is missing.
skey=$( (cd "$top" && git ls-files -z --cached --others --exclude-standard -- . ':!appliance' ':!test-vm/tests' ':!docs' ':!bench' |
	xargs -0 sha256sum) | { cat; echo "$corral_version"; } | sha256sum | cut -c1-16)
# The whole image is reused when everything that goes into it is the same
# (make demo-appliance after the tests, a second make appliance).
ikey=$( {
	echo "$skey $version ${CORRAL_APPLIANCE_BROKEN:-}"
	(cd "$top" && git ls-files -z --cached --others --exclude-standard -- appliance | xargs -0 sha256sum)
	cat "$fwdir/manifest.json" $sources
	echo "$mmv"
} | sha256sum | cut -c1-16)
if [ -s "$out/$name.img" ] && [ "$(cat "$out/$name.key" 2>/dev/null)" = "$ikey" ]; then
	step "done: $name.img (reused: the same source, packages and settings as its build)"
	exit 0
fi
rm -f "$out/$name.key"

# ---- 3. base root, started first in the background: it needs nothing from
# steps 1-2, and mmdebstrap waits on downloads and dpkg as much as on the
# CPU, so a cold build overlaps it with the build root and the compile.
pkgs=$(sed -e 's/#.*//' "$here/packages" | tr -s ' \t\n' '\n' | grep . | paste -sd, -)
rkey=$( { echo "$suite"; echo "$pkgs"; echo "$mmv"; cat $sources "$here/base-hook.sh"; } | sha256sum | cut -c1-16)
rtar=$cache/base-$rkey.tar
make_base_root() {
	trap - EXIT INT TERM
	# shellcheck disable=SC2086
	mmdebstrap --quiet --variant=minbase --include="$pkgs" \
		--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
		--dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
		--dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
		--customize-hook="sh '$here/base-hook.sh' \"\$1\"" \
		"$suite" "$rtar.part.tar" $sources || { rm -rf "$rtar.part.tar"; exit 1; }
	# (mmdebstrap picks its output format by the name's ending: .tar)
	mv "$rtar.part.tar" "$rtar"
	find "$cache" -name 'base-*.tar' ! -name "base-$rkey.tar" -delete
}
if [ ! -s "$rtar" ]; then
	step "base root: mmdebstrap $suite with appliance/packages, in the background (cached as $rtar)"
	make_base_root >"$work/base.log" 2>&1 &
	base_pid=$!
else
	step "base root: cached $rtar"
fi

icache=${CORRAL_APPLIANCE_INSTALL_CACHE:-$top/build/appliance/cache}
itar=$icache/install-$skey.tar
inst=$work/install
mkdir -p "$inst"
if [ -s "$itar" ]; then
	step "compile: reusing $itar (same source and version)"
	tar -xf "$itar" -C "$inst"
else
	# Keyed by what makes it; a package scripts/deps.sh gained since is
	# installed by the compile step's own `make deps`, which then saves the
	# root again (so the cache follows deps.sh without a cold rebuild).
	bkey=$( { echo "$suite minbase make"; echo "$mmv"; cat $sources; } | sha256sum | cut -c1-16)
	# (the minimal root's key is check-fresh's; the build root's adds the
	# deps profile, so a root from before the build profile is not reused)
	btar=$cache/build-$(echo "$bkey deps=build" | sha256sum | cut -c1-16).tar
	broot=$work/build-root
	mkdir -p "$broot"
	if [ ! -s "$btar" ]; then
		# The minimal root (minbase + make) is the one `make check-fresh`
		# starts from, under the same key in the same cache: whichever runs
		# first makes it, the other reuses it.
		fcache=${CORRAL_FRESH_CACHE:-/var/cache/corral/fresh}
		ftar=$fcache/root-$bkey.tar
		mkdir -p "$fcache"
		if [ ! -s "$ftar" ]; then
			step "build root: mmdebstrap $suite minbase + make (cached as $ftar)"
			# shellcheck disable=SC2086
			mmdebstrap --quiet --variant=minbase --include=make "$suite" "$fcache/part-$bkey.tar" $sources ||
				{ rm -f "$fcache/part-$bkey.tar"; die "mmdebstrap (build root) failed"; }
			mv "$fcache/part-$bkey.tar" "$ftar"
			find "$fcache" -name 'root-*.tar' ! -name "root-$bkey.tar" -delete
		fi
		step "build root: $ftar + make deps (cached as $btar)"
		tar -xf "$ftar" -C "$broot"
		cp /etc/resolv.conf "$broot/etc/resolv.conf" 2>/dev/null || true
		copy_source "$broot/src"
		in_chroot "$broot" sh -c 'cd /src && make deps DEPS=build' || die "make deps in the build root failed"
		rm -rf "$broot/src"
		tar -C "$broot" -cf "$btar.part" . && mv "$btar.part" "$btar"
		find "$cache" -name 'build-*.tar' ! -name "${btar##*/}" -delete
	else
		step "build root: cached $btar"
		tar -xf "$btar" -C "$broot"
		cp /etc/resolv.conf "$broot/etc/resolv.conf" 2>/dev/null || true
	fi

	step "compile: make deps, make, make install inside the build root"
	pkgs_before=$(chroot "$broot" dpkg-query -W -f='${Package}\n' | sort | sha256sum)
	copy_source "$broot/src"
	in_chroot "$broot" sh -c "cd /src && make deps DEPS=build && make -j$(nproc) DEPS=build VERSION=$corral_version all &&
		make DEPS=build VERSION=$corral_version DESTDIR=/out PREFIX=/usr/local install" >"$work/compile.log" 2>&1 ||
		{ tail -40 "$work/compile.log" >&2; die "compile failed (log above)"; }
	cp "$work/compile.log" "$out/compile.log"
	cp -a "$broot/out/." "$inst/"
	rm -rf "$broot/src" "$broot/out"
	if [ "$(chroot "$broot" dpkg-query -W -f='${Package}\n' | sort | sha256sum)" != "$pkgs_before" ]; then
		step "build root: make deps installed more; saving it again"
		tar -C "$broot" -cf "$btar.part" . && mv "$btar.part" "$btar"
	fi
	mkdir -p "$icache"
	find "$icache" -name 'install-*.tar' -delete
	tar -C "$inst" -cf "$itar.part" . && mv "$itar.part" "$itar"
	rm -rf --one-file-system "$broot"
fi

# ---- 3. base root: made in the background (started before steps 1-2)
if [ -n "$base_pid" ]; then
	wait "$base_pid" || { cat "$work/base.log" >&2; die "mmdebstrap (base root) failed (its log above)"; }
	base_pid=""
	step "base root: made"
fi

# ---- 4. root
step "root: base + Corral + appliance files"
root=$work/root
mkdir -p "$root"
tar -xf "$rtar" -C "$root"
cp -a "$inst/." "$root/"
cp -a "$here/rootfs/." "$root/"
mkdir -p "$root/usr/lib/corral/firmware"
cp -a "$fwdir/." "$root/usr/lib/corral/firmware/"
chroot "$root" groupadd --system --gid $corral_uid corral
chroot "$root" useradd --system --uid $corral_uid --gid corral --home-dir /var/lib/corral \
	--no-create-home --shell /usr/sbin/nologin --comment "Corral network-boot daemon" corral
if [ "${CORRAL_APPLIANCE_BROKEN:-}" = 1 ]; then
	# Tests only: corrald fails at every start, so the health check never passes.
	mkdir -p "$root/etc/systemd/system/corrald.service.d"
	printf '[Service]\nExecStartPre=\nExecStartPre=/bin/false\n' \
		>"$root/etc/systemd/system/corrald.service.d/zz-broken.conf"
fi
chroot "$root" systemctl enable systemd-networkd.service systemd-resolved.service \
	systemd-timesyncd.service ssh.service corrald.service corral-setup.service \
	corral-repart.service corral-health.service >/dev/null 2>&1 ||
	die "systemctl enable failed"
# The root is read-only: nothing may want to write /etc at boot.
chroot "$root" systemctl mask systemd-firstboot.service ldconfig.service \
	systemd-update-done.service systemd-machine-id-commit.service \
	systemd-repart.service apt-daily.timer apt-daily-upgrade.timer \
	e2scrub_all.timer e2scrub_reap.service fstrim.timer >/dev/null 2>&1 || true
: >"$root/etc/machine-id"
mkdir -p "$root/var/lib/dbus"
ln -sf /etc/machine-id "$root/var/lib/dbus/machine-id"
ln -sf ../run/systemd/resolve/stub-resolv.conf "$root/etc/resolv.conf"
# The time zone chosen at first boot lives on the data partition.
ln -sf /var/lib/corral/config/localtime "$root/etc/localtime"
echo corral >"$root/etc/hostname"
# The console's login banner is written by corral-setup at each boot
# (URL, settings errors); getty reads /etc/issue.
ln -sf /run/corral-appliance/issue "$root/etc/issue"
echo LANG=C.UTF-8 >"$root/etc/default/locale"
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
mkdir -p "$root/boot/efi" "$root/boot/settings" "$root/var/lib/corral" "$root/etc/corral"
ln -sf /var/lib/corral/config/corral.conf "$root/etc/corral/corral.conf"
chmod 755 "$root/usr/lib/corral/appliance/"*
# Nothing missing among the libraries Corral's programs link.
if chroot "$root" sh -c 'ldd /usr/local/sbin/corrald /usr/local/bin/corral /usr/local/bin/corral-image \
		/usr/local/libexec/corral/corral-dhcp-hook' | grep 'not found'; then
	die "the root lacks libraries Corral links (add them to appliance/packages)"
fi
chroot "$root" dpkg-query -W -f='${Package} ${Version}\n' >"$out/$name.packages"
{
	echo "version=$version"
	echo "corral=$corral_version"
	echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
} >"$root/usr/lib/corral/appliance/version"
rm -rf "$root/var/lib/apt/lists/"* "$root/var/cache/apt/"*.bin "$root/var/log/"* "$root/tmp/"*
# ConditionNeedsUpdate= stamps newer than /usr: nothing to refresh at boot.
touch "$root/etc/.updated" "$root/var/.updated"
mksquashfs "$root" "$work/root.sqfs" -comp gzip -Xcompression-level 1 -noappend -no-progress -quiet -wildcards \
	-e 'proc/*' 'sys/*' 'dev/*' 'run/*' ||
	die "mksquashfs failed"
root_bytes=$(stat -c %s "$work/root.sqfs")
[ "$root_bytes" -le $((slot_mib * 1048576)) ] || die "root ($root_bytes bytes) exceeds the ${slot_mib} MiB slot"
root_sha=$(sha256sum "$work/root.sqfs" | cut -d' ' -f1)
rm -rf --one-file-system "$root"

# ---- 5. disk
step "disk: GPT, ESP with GRUB (BIOS + UEFI), settings, root slots"
esp_id=$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')
esp_uuid=$(echo "$esp_id" | tr a-f A-F | sed 's/^\(....\)/\1-/')
# GRUB finds its ESP by file-system id, whatever the disk's number.
printf 'search --no-floppy --fs-uuid --set=root %s\nset prefix=($root)/grub\nconfigfile $prefix/grub.cfg\n' \
	"$esp_uuid" >"$work/early.cfg"
mods="part_gpt part_msdos fat squash4 gzio xzio normal configfile search search_fs_uuid linux echo test
	regexp loadenv serial terminal sleep reboot halt cat ls true"
# shellcheck disable=SC2086
grub-mkimage -O i386-pc -o "$work/core.img" -c "$work/early.cfg" -p /grub $mods biosdisk ||
	die "grub-mkimage (BIOS) failed"
# shellcheck disable=SC2086
grub-mkimage -O x86_64-efi -o "$work/BOOTX64.EFI" -c "$work/early.cfg" -p /grub $mods efi_gop ||
	die "grub-mkimage (UEFI) failed"
cp /usr/lib/grub/i386-pc/boot.img "$work/boot.img"

manifest=$work/manifest
{
	echo "# Corral appliance image manifest"
	echo "version=$version"
	echo "corral=$corral_version"
	echo "arch=amd64"
	echo "root_sha256=$root_sha"
	echo "root_bytes=$root_bytes"
	echo "slot_mib=$slot_mib"
	echo "esp_uuid=$esp_uuid"
} >"$manifest"

esp=$work/esp.img
rm -f "$esp"
mkfs.vfat -C -F 16 -n CORRAL-ESP -i "$esp_id" "$esp" $((esp_mib * 1024)) >/dev/null
mmd -i "$esp" ::/EFI ::/EFI/BOOT ::/grub ::/corral
mcopy -i "$esp" "$work/BOOTX64.EFI" ::/EFI/BOOT/BOOTX64.EFI
mcopy -i "$esp" "$here/grub/grub.cfg" ::/grub/grub.cfg
sh "$here/rootfs/usr/lib/corral/appliance/grubenv" new "$work/grubenv" active=a
mcopy -i "$esp" "$work/grubenv" ::/grub/grubenv
mcopy -i "$esp" "$manifest" ::/corral/manifest

settings=$work/settings.img
rm -f "$settings"
mkfs.vfat -C -n CORRAL -i "$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')" "$settings" $((settings_mib * 1024)) >/dev/null
sed 's/$/\r/' "$here/settings.txt" >"$work/settings.txt"
mcopy -i "$settings" "$work/settings.txt" ::/settings.txt

# Layout, in MiB: 1 BIOS boot at 1, ESP, settings, root A, root B.
mib=1048576
esp_at=2
set_at=$((esp_at + esp_mib))
a_at=$((set_at + settings_mib))
b_at=$((a_at + slot_mib))
end=$((b_at + slot_mib))
img=$work/disk.img
rm -f "$img"
truncate -s $(((end + 1) * mib)) "$img"
sfdisk --quiet --no-reread --no-tell-kernel "$img" <<EOF
label: gpt
unit: sectors
start=$((1 * 2048)), size=2048, type=21686148-6449-6E6F-744E-656564454649, name="corral-bios"
start=$((esp_at * 2048)), size=$((esp_mib * 2048)), type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="corral-esp"
start=$((set_at * 2048)), size=$((settings_mib * 2048)), type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, name="corral-settings"
start=$((a_at * 2048)), size=$((slot_mib * 2048)), type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name="corral-root-a"
start=$((b_at * 2048)), size=$((slot_mib * 2048)), type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name="corral-root-b"
EOF
dd if="$esp" of="$img" bs=1M seek=$esp_at conv=notrunc,sparse status=none
dd if="$settings" of="$img" bs=1M seek=$set_at conv=notrunc,sparse status=none
dd if="$work/root.sqfs" of="$img" bs=1M seek=$a_at conv=notrunc,sparse status=none
# Slot B starts with a block that is not zero, so a sparse copy (dd
# conv=sparse, bmaptool) still overwrites whatever file system a reused
# disk had there: an empty slot must never look bootable.
printf 'CORRAL EMPTY ROOT SLOT\n' | dd of="$img" bs=1M seek=$b_at conv=notrunc status=none
# BIOS: GRUB's boot.img in the protective MBR's code area, core.img in the
# BIOS boot partition, patched as grub-bios-setup would (it insists on
# finding the device of its files, which a build in a file never has):
# boot.img learns core.img's first sector (and skips the buggy-BIOS drive
# check: this is a hard disk), core.img's first sector the blocklist of the
# rest (one contiguous run; mkimage already set its length and segment).
bios_lba=2048
core_bytes=$(stat -c %s "$work/core.img")
[ "$core_bytes" -le $((1 * mib)) ] || die "core.img ($core_bytes bytes) exceeds the BIOS boot partition"
le() { # le NUMBER BYTES: NUMBER little-endian
	n=$1
	i=0
	while [ $i -lt "$2" ]; do
		# shellcheck disable=SC2059
		printf "\\$(printf %03o $((n & 255)))"
		n=$((n >> 8))
		i=$((i + 1))
	done
}
le $((bios_lba + 1)) 8 | dd of="$work/core.img" bs=1 seek=$((0x1f4)) conv=notrunc status=none
dd if="$work/core.img" of="$img" bs=512 seek=$bios_lba conv=notrunc status=none
head -c 440 "$work/boot.img" >"$work/mbr"
dd if=/dev/zero of="$work/mbr" bs=1 seek=3 count=$((0x5a - 3)) conv=notrunc status=none
le $bios_lba 8 | dd of="$work/mbr" bs=1 seek=$((0x5c)) conv=notrunc status=none
printf '\220\220' | dd of="$work/mbr" bs=1 seek=$((0x66)) conv=notrunc status=none
dd if="$work/mbr" of="$img" bs=1 count=440 conv=notrunc status=none
{
	echo "layout=bios:1:1 esp:$esp_at:$esp_mib settings:$set_at:$settings_mib root-a:$a_at:$slot_mib root-b:$b_at:$slot_mib"
} >>"$manifest"

step "writing $out/$name.img and .qcow2"
rm -f "$out/$name.img" "$out/$name.qcow2"
mv "$img" "$out/$name.img"
cp "$manifest" "$out/$name.manifest"
qemu-img convert -q -f raw -O qcow2 "$out/$name.img" "$out/$name.qcow2"
# The form to download for `corral system upgrade` (the raw image is mostly
# holes) and a block map for bmaptool.
zstd -q -T0 -f "$out/$name.img" -o "$out/$name.img.zst"
if command -v bmaptool >/dev/null 2>&1; then
	bmaptool -q create -o "$out/$name.bmap" "$out/$name.img"
fi
# Earlier builds in this folder go: each is gigabytes of disk.
for f in "$out"/corral-*-amd64.*; do
	case $f in "$out/$name".*) ;; *) rm -f "$f" ;; esac
done
ln -sf "$name.img" "$out/corral-amd64.img"
ln -sf "$name.qcow2" "$out/corral-amd64.qcow2"
ln -sf "$name.manifest" "$out/corral-amd64.manifest"
ln -sf "$name.img.zst" "$out/corral-amd64.img.zst"
[ -f "$out/$name.bmap" ] && ln -sf "$name.bmap" "$out/corral-amd64.bmap"
echo "$ikey" >"$out/$name.key"
used=$(du -k "$out/$name.img" | cut -f1)
step "done: $name.img ($((end + 1)) MiB disk, $((used / 1024)) MiB used; root $((root_bytes / mib)) MiB), qcow2 $(($(stat -c %s "$out/$name.qcow2") / mib)) MiB"
