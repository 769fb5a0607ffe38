#!/bin/sh
# Adds up the tiers' "<passed> <failed>" files and prints the one closing
# line CI reads.  A tier with no results file counts as one failure.
dir=$1; shift
pass=0; fail=0
for f in "$dir"/build; do
	[ -f "$f" ] && { read -r p q <"$f"; pass=$((pass + p)); fail=$((fail + q)); }
done
for tier in "$@"; do
	if [ -f "$dir/$tier" ]; then
		read -r p q <"$dir/$tier"
	else
		echo "$tier: produced no results"
		p=0; q=1
	fi
	pass=$((pass + p)); fail=$((fail + q))
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
