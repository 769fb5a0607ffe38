#!/bin/sh
# Runs cmocka unit test binaries with TAP output and writes
# "<passed> <failed>" to the results file given first.
out=$1; shift
pass=0; fail=0
for t in "$@"; do
	log=$(CMOCKA_MESSAGE_OUTPUT=TAP "$t" 2>&1)
	rc=$?
	printf '%s\n' "$log" | grep -E '^(not ok|# )' | sed "s|^|$(basename "$t"): |"
	p=$(printf '%s\n' "$log" | grep -c '^ok ')
	f=$(printf '%s\n' "$log" | grep -c '^not ok ')
	# A binary that died before reporting all its tests still counts as failed.
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; echo "$(basename "$t"): exited $rc"; fi
	pass=$((pass + p)); fail=$((fail + f))
done
echo "unit: $pass passed, $fail failed"
echo "$pass $fail" >"$out"
[ "$fail" = 0 ]
