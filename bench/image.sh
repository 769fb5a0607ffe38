#!/bin/sh
# make bench, image builder part: cold build time and size of the compute
# example (a fresh store), cached rebuild, child rebuild, the OCI import of
# an image made from it (time and squashfs size; the docker-archive of the
# same content, cached), and the time for VMs to boot the images through
# Corral to phone-home (and to refuse a changed root image).  It runs the
# end-to-end test test-vm/tests/test_image_boot.py against an empty store
# and prints the timings that test records.  Then the arm64 example
# (image-builder/examples/compute-arm64.yaml) is built in a fresh store on
# this machine through qemu-user-static: its time and size.  ARM64=0
# leaves that out.  One run on this (shared, noisy) machine.
set -u
build=$(realpath "${1:-build}")
store=$(mktemp -d /var/tmp/corral-image-bench.XXXXXX)
trap 'rm -rf "$store"' EXIT
out=$(CORRAL_BUILD=$build CORRAL_IMAGE_TEST_STORE=$store /usr/bin/python3 -m pytest -q \
	-p no:cacheprovider test-vm/tests/test_image_boot.py 2>&1)
rc=$?
echo "== image builder (one run; a fresh store, then cached) =="
lines=$(printf '%s\n' "$out" | grep -E '^ *image (build|boot|import|oci)')
[ -n "$lines" ] && printf '%s\n' "$lines" || printf '%s\n' "$out" | tail -20
if [ "${ARM64:-1}" != 0 ]; then
	astore=$(mktemp -d /var/tmp/corral-image-bench-arm64.XXXXXX)
	t0=$(date +%s)
	aout=$("$build/corral-image" --store "$astore" build image-builder/examples/compute-arm64.yaml 2>&1)
	arc=$?
	secs=$(($(date +%s) - t0))
	if [ $arc = 0 ]; then
		size=$(du -m "$astore/names/compute-arm64/rootfs.squashfs" | cut -f1)
		line=$(printf 'image build    compute-arm64 cold %6d s, rootfs.squashfs %s MiB (qemu-user-static)' "$secs" "$size")
	else
		line="image build    compute-arm64 FAILED after $secs s: $(printf '%s\n' "$aout" | grep corral-image: | head -3)"
		rc=1
	fi
	echo "$line"
	lines="$lines
$line"
	rm -rf "$astore"
fi
mkdir -p "$build/bench"
printf '%s\n' "$lines" >"$build/bench/image.txt"
exit $rc
