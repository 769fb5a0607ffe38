#!/bin/sh
# Corral: checks the root image dmsquash-live-root is about to mount against
# the sha256 corrald put on the kernel command line (corral.rootfs_sha256=),
# then hands over to the real dmsquash-live-root.  On a mismatch the node
# reports it to corrald (a "rootfs" event on its timeline, through
# POST /boot/v1/report/<token>, the token of its cloud-init seed URL) and
# stops: dracut's die halts it with the reason on the console.  Without the
# parameter (an image registered without a digest) nothing is checked.

type getarg > /dev/null 2>&1 || . /lib/dracut-lib.sh

PATH=/usr/sbin:/usr/bin:/sbin:/bin

# Tells corrald why this node stops.  The seed URL (ds=nocloud-net;s=URL/)
# names corrald and carries the node's signed token: .../cloud-init/<token>/
corral_report() {
    local ds seed base token
    ds=$(getarg ds=)
    seed=${ds#*s=}
    case "$seed" in
        http://*/cloud-init/* | https://*/cloud-init/*) ;;
        *) return 0 ;;
    esac
    base=${seed%%/cloud-init/*}
    token=${seed#*/cloud-init/}
    token=${token%%/*}
    curl -s -m 10 --retry 2 -o /dev/null --data-urlencode "stage=rootfs" \
        --data-urlencode "detail=$1" -- "$base/boot/v1/report/$token"
}

corral_say() {
    echo "corral: $*" > /dev/console 2> /dev/null
    echo "<27>corral: $*" > /dev/kmsg 2> /dev/null
}

want=$(getarg corral.rootfs_sha256=)
img="$1"
if [ -n "$want" ]; then
    corral_say "checking root image $img against sha256 $want"
    got=$(sha256sum < "$img" 2> /dev/null)
    got=${got%% *}
    if [ "$got" != "$want" ]; then
        [ -n "$got" ] || got="nothing (cannot read $img)"
        msg="sha256 mismatch: expected $want got $got; not mounted"
        corral_say "ROOT IMAGE REFUSED: $msg"
        corral_report "$msg"
        die "corral: root image refused: $msg"
        exit 1
    fi
    corral_say "root image sha256 ok"
fi
exec /sbin/dmsquash-live-root.corral-orig "$@"
