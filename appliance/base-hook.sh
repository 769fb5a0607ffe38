#!/bin/sh
# mmdebstrap customize hook for the appliance's base root (build.sh step 3):
#   sh appliance/base-hook.sh ROOT
# Trims what a management server never uses and makes the kernel and
# initramfs GRUB loads from the root slot: /boot/vmlinuz and
# /boot/initrd.img (plain files; no version in the name, so grub.cfg never
# changes).  Its text is part of the base root's cache key.
set -eu
r=$1

kver=$(ls "$r/usr/lib/modules" | head -n 1)
[ -n "$kver" ] || { echo "base-hook: no kernel in $r" >&2; exit 1; }

# Kernel modules of hardware a server room's management host does not
# have (sound, cameras, radios, graphics beyond the firmware console).
m=$r/usr/lib/modules/$kver/kernel
rm -rf "$m/sound" "$m/drivers/gpu" "$m/drivers/media" "$m/drivers/net/wireless" \
	"$m/net/wireless" "$m/net/mac80211" "$m/drivers/bluetooth" "$m/net/bluetooth" \
	"$m/drivers/staging" "$m/drivers/iio" "$m/drivers/isdn" "$m/drivers/comedi" \
	"$m/drivers/net/can" "$m/net/can" "$m/drivers/input/joystick" "$m/drivers/input/touchscreen"
chroot "$r" depmod "$kver"

# The root slots are squashfs: the initramfs must be able to mount one.
mkdir -p "$r/usr/share/initramfs-tools/modules.d"
echo squashfs >"$r/usr/share/initramfs-tools/modules.d/corral-appliance"
chroot "$r" mkinitramfs -o /boot/initrd.img "$kver"
mv "$r/boot/vmlinuz-$kver" "$r/boot/vmlinuz"
rm -f "$r/boot/initrd.img-$kver" "$r/boot/System.map-$kver" "$r/vmlinuz" "$r/vmlinuz.old" \
	"$r/initrd.img" "$r/initrd.img.old"

# Host keys made at package install would be the same on every appliance:
# first boot makes them on the data partition instead.
rm -f "$r"/etc/ssh/ssh_host_*
rm -rf "$r/var/cache/apt/archives/"*.deb "$r/var/lib/apt/lists/"*
