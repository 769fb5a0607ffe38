#!/bin/sh
# Adds up the tiers' "<passed> <failed> <skipped>" files and prints the one
# closing line CI reads: "N passed, N failed, N skipped".  A tier with no
# results file counts as one failure.
#
# Skips cannot hide: every skipped test is printed with its reason (from
# the tier's <tier>.skips file).  Under CI=true a skipped test is a failure
# unless scripts/skip-allow.txt lists it (a test id, or a shell pattern for
# one, a tab, and why skipping it on CI is right).
dir=$1; shift
allow=$(dirname "$0")/skip-allow.txt
pass=0; fail=0; skip=0
for f in "$dir"/build; do
	[ -f "$f" ] && { read -r p q s <"$f"; pass=$((pass + p)); fail=$((fail + q)); skip=$((skip + ${s:-0})); }
done
for tier in "$@"; do
	if [ -f "$dir/$tier" ]; then
		read -r p q s <"$dir/$tier"
	else
		echo "$tier: produced no results"
		p=0; q=1; s=0
	fi
	pass=$((pass + p)); fail=$((fail + q)); skip=$((skip + ${s:-0}))
	[ -f "$dir/$tier.skips" ] || continue
	while IFS='	' read -r id why; do
		[ -n "$id" ] || continue
		allowed=""
		if [ -f "$allow" ]; then
			while IFS='	' read -r pat reason; do
				case $pat in '' | '#'*) continue ;; esac
				# shellcheck disable=SC2254
				case $id in $pat) allowed=$reason && break ;; esac
			done <"$allow"
		fi
		if [ -n "$allowed" ]; then
			echo "skipped: $id: $why (allowed: $allowed)"
		elif [ "${CI:-}" = true ]; then
			echo "skipped: $id: $why -- not in scripts/skip-allow.txt, so a failure under CI"
			fail=$((fail + 1))
		else
			echo "skipped: $id: $why"
		fi
	done <"$dir/$tier.skips"
done
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
