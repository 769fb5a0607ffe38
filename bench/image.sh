#!/bin/sh
# make bench, image builder part: cold build time and size of the compute
# example (a fresh store), cached rebuild, child rebuild, and the time for a
# VM to boot the image through Corral to phone-home.  It runs the end-to-end
# test test-vm/tests/test_image_boot.py against an empty store and prints
# the timings that test records.  One run on this (shared, noisy) machine.
set -u
build=$(realpath "${1:-build}")
store=$(mktemp -d /var/tmp/corral-image-bench.XXXXXX)
trap 'rm -rf "$store"' EXIT
out=$(CORRAL_BUILD=$build CORRAL_IMAGE_TEST_STORE=$store /usr/bin/python3 -m pytest -q \
	-p no:cacheprovider test-vm/tests/test_image_boot.py 2>&1)
rc=$?
echo "== image builder (one run; a fresh store, then cached) =="
printf '%s\n' "$out" | grep -E '^ *image (build|boot)' || printf '%s\n' "$out" | tail -20
mkdir -p "$build/bench"
printf '%s\n' "$out" | grep -E '^ *image (build|boot)' >"$build/bench/image.txt"
exit $rc
