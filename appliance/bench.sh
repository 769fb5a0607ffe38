#!/bin/sh
# make bench, appliance part: image size, build time cold (empty caches:
# every package downloaded, make deps run, everything compiled) and cached
# (the same again), then, from the appliance tests on the new image, the
# time from power-on to /healthz ok on the management port and from the
# client's power-on to its phone-home through the appliance.  One run on
# this (shared, noisy) machine; root.
#
#   sh appliance/bench.sh BUILD_DIR
set -u
build=$(realpath "${1:-build}")
top=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d /var/tmp/corral-appliance-bench.XXXXXX)
trap 'rm -rf --one-file-system "$tmp"' EXIT
out=$tmp/out
export CORRAL_APPLIANCE_CACHE="$tmp/cache" CORRAL_APPLIANCE_INSTALL_CACHE="$tmp/icache" CORRAL_FRESH_CACHE="$tmp/fcache"
# The firmware tree the image carries (make firmware's; not timed here).
export CORRAL_APPLIANCE_FIRMWARE="${CORRAL_APPLIANCE_FIRMWARE:-$build/firmware}"
if [ ! -s "$CORRAL_APPLIANCE_FIRMWARE/manifest.json" ]; then
	/usr/bin/python3 "$top/firmware/build.py" --table "$build/corral-fwtable" "$CORRAL_APPLIANCE_FIRMWARE" ||
		exit 1
fi

t0=$(date +%s)
sh "$top/appliance/build.sh" "$out" >"$tmp/cold.log" 2>&1 || { tail -20 "$tmp/cold.log"; exit 1; }
t1=$(date +%s)
rm -rf "$CORRAL_APPLIANCE_INSTALL_CACHE" # a new checkout compiles; the rest is cached
sh "$top/appliance/build.sh" "$out" >"$tmp/cached.log" 2>&1 || { tail -20 "$tmp/cached.log"; exit 1; }
t2=$(date +%s)
img=$(realpath "$out/corral-amd64.img")
mib() { echo $(($1 / 1048576)); }
root=$(sed -n 's/^root_bytes=//p' "$out/corral-amd64.manifest")

res=$(CORRAL_BUILD=$build CORRAL_APPLIANCE_IMAGE=$img /usr/bin/python3 -m pytest -q -p no:cacheprovider \
	"$top/test-vm/tests/test_appliance.py" -k "first_boot or bios_client" 2>&1)
rc=$?
mkdir -p "$build/bench"
{
	echo "== appliance (one run) =="
	echo "build, cold (empty caches): $((t1 - t0)) s; cached (compile again, packages cached): $((t2 - t1)) s"
	echo "image: $(mib "$(stat -c %s "$img")") MiB disk, $(($(du -k "$img" | cut -f1) / 1024)) MiB allocated," \
		"root $(mib "$root") MiB, .img.zst $(mib "$(stat -L -c %s "$out/corral-amd64.img.zst")") MiB," \
		"qcow2 $(mib "$(stat -L -c %s "$out/corral-amd64.qcow2")") MiB"
	printf '%s\n' "$res" | grep -E 'appliance (bios|client)'
	grep -E '^appliance: \[' "$tmp/cold.log" | sed 's/^/cold: /'
} | tee "$build/bench/appliance.txt"
[ $rc = 0 ] || printf '%s\n' "$res" | tail -30
exit $rc
