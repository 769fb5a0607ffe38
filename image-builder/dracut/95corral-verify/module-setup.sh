#!/bin/bash
# Corral's root image check (corral-image adds this module to every image it
# builds or imports).  dracut 059's livenet downloads root=live:URL and execs
# /sbin/dmsquash-live-root on the file, which mounts it at once; nothing runs
# in between.  So this module puts its check in front: the real
# dmsquash-live-root moves to /sbin/dmsquash-live-root.corral-orig and
# /sbin/dmsquash-live-root becomes corral-verify-root.sh, which hashes the
# image, compares it with corral.rootfs_sha256= and only then execs the real
# one.  Its number (95) installs it after 90dmsquash-live, whose script it
# wraps.

# called by dracut: only when asked for (--add corral-verify)
check() {
    return 255
}

# called by dracut
depends() {
    echo dmsquash-live url-lib
    return 0
}

# called by dracut
install() {
    local live="$initdir/sbin/dmsquash-live-root"
    inst_multiple sha256sum curl
    if [ ! -e "$live" ]; then
        derror "corral-verify: no /sbin/dmsquash-live-root in the initramfs to check in front of"
        return 1
    fi
    # Installed once: a second run of this function must not wrap the wrapper.
    if [ ! -e "$live.corral-orig" ]; then
        mv "$live" "$live.corral-orig" || return 1
    fi
    inst_script "$moddir/corral-verify-root.sh" /sbin/dmsquash-live-root
}
