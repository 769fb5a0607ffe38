#!/bin/sh
# Runs cmocka unit test binaries with TAP output and writes
# "<passed> <failed> <skipped>" to the results file given first, and one
# line "<test id>	<reason>" per skipped test to <results file>.skips.
#
# A test skips with cmocka's skip() right after printing its reason as
# "# skip: <why>" (print_message); TAP shows the skip as "not ok N # SKIP
# name", which counts here as skipped, not failed.  A skip with no reason
# printed is listed as "no reason given".
out=$1; shift
pass=0; fail=0; nskip=0
: >"$out.skips"
for t in "$@"; do
	name=$(basename "$t")
	log=$(CMOCKA_MESSAGE_OUTPUT=TAP "$t" 2>&1)
	rc=$?
	printf '%s\n' "$log" | grep -E '^(not ok|# )' | grep -v '^# skip: ' | sed "s|^|$name: |"
	res=$(printf '%s\n' "$log" | awk -v bin="$name" -v skips="$out.skips" '
		/^# skip: / { why = substr($0, 9); next }
		/^not ok [0-9]+ # SKIP/ {
			id = $0; sub(/^not ok [0-9]+ # SKIP */, "", id)
			printf "%s:%s\t%s\n", bin, id, (why == "" ? "no reason given" : why) >>skips
			s++; why = ""; next
		}
		/^not ok / { f++; next }
		/^ok / { p++ }
		END { printf "%d %d %d\n", p, f, s }')
	p=$(echo "$res" | cut -d' ' -f1); f=$(echo "$res" | cut -d' ' -f2); s=$(echo "$res" | cut -d' ' -f3)
	# A binary that died before reporting all its tests still counts as failed.
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; echo "$name: exited $rc"; fi
	pass=$((pass + p)); fail=$((fail + f)); nskip=$((nskip + s))
done
sed 's/^/unit: skipped: /' "$out.skips"
echo "unit: $pass passed, $fail failed, $nskip skipped"
echo "$pass $fail $nskip" >"$out"
[ "$fail" = 0 ]
