#!/bin/bash
# The event store under a boot-script storm: how many timeline rows and how
# many bytes on disk a run of boot-script requests leaves (the database, its
# WAL right after the load and after 20 s idle), the events lost, the
# CPU corrald used for the load, and its RSS after the 20 s idle.  A measurement, not a test: it prints a table and
# fails only if it cannot measure.
#
#   bench/events-store.sh BUILD_DIR [BUILD_DIR ...]
#
# Each BUILD_DIR's corrald gets the same load in turn (one after the other,
# so compare them within one run, as ratios: other work on the machine
# moves the absolute numbers).
#
# Environment:
#   EVSTORE_NODES     nodes to register (default 1000, at most 65535)
#   EVSTORE_REQUESTS  boot-script requests to make at least (default 200000)
#   EVSTORE_CONF      extra lines for corrald's [events] section (printf %b: \n)
#   EVSTORE_KEEP      if set, keep each run's directory (store, corrald's log)
#
# Everything stays on 127.0.0.1; every process started here is stopped by
# its PID, every temporary directory removed.
set -euo pipefail

[ $# -ge 1 ] || { echo "usage: bench/events-store.sh BUILD_DIR [BUILD_DIR ...]" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
nnodes=${EVSTORE_NODES:-1000}
want=${EVSTORE_REQUESTS:-200000}
say() { printf 'evstore: %s\n' "$*" >&2; }
die() {
	say "error: $*"
	exit 1
}
for tool in wrk curl sqlite3; do
	command -v "$tool" >/dev/null || die "$tool not found"
done

pid=""
tmp=""
cleanup() {
	if [ -n "$pid" ]; then
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	[ -z "$tmp" ] || [ -n "${EVSTORE_KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT

# One build: start, import, load until $want requests, measure, stop.
measure() {
	local build=$1 port url token code total=0 t0 t1 secs
	tmp=$(mktemp -d /tmp/corral-evstore.XXXXXX)
	port=$(bench_free_port)
	url=http://127.0.0.1:$port
	bench_corrald_dir "$tmp" "$port"
	cat >>"$tmp/corral.conf" <<EOF
[events]
$(printf '%b' "${EVSTORE_CONF:-}")
EOF
	token=$("$build/corrald" -c "$tmp/corral.conf" token create bench 2>/dev/null | tail -n 1)
	"$build/corrald" -c "$tmp/corral.conf" 2>"$tmp/corrald.log" &
	pid=$!
	bench_wait_http "$url/healthz" "$pid" ||
		die "corrald did not come up on port $port: $(tail -n 20 "$tmp/corrald.log")"
	api() {
		code=$(curl -s -o "$tmp/api.out" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $token" \
			-H 'Content-Type: application/json' --data-binary "$3" "$url$2")
		case $code in 2??) ;; *) die "$1 $2 answered $code: $(head -c 300 "$tmp/api.out")" ;; esac
	}
	api PUT /api/v1/images/img1 '{"name":"img1","kernel":"images/img1/vmlinuz","initrd":"images/img1/initrd"}'
	api PUT /api/v1/profiles/p1 '{"name":"p1","image":"img1"}'
	api PUT /api/v1/defaults '{"profile":"p1"}'
	bench_nodes_json "$nnodes" "$tmp/nodes.json"
	api POST /api/v1/nodes/import "@$tmp/nodes.json"
	local cpu0 cpu1
	cpu0=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
	t0=$(date +%s.%N)
	while [ "$total" -lt "$want" ]; do
		wrk -t2 -c32 -d10s --latency -s "$here/many-macs.lua" "$url" -- "$nnodes" >"$tmp/wrk.txt" 2>&1 ||
			die "wrk failed: $(tail -n 5 "$tmp/wrk.txt")"
		n=$(awk '/requests in/ { print $1 }' "$tmp/wrk.txt")
		total=$((total + n))
	done
	# read-your-writes: the events API flushes the writer's queue
	curl -s -o /dev/null -H "Authorization: Bearer $token" "$url/api/v1/nodes/n00001/events"
	t1=$(date +%s.%N)
	cpu1=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
	local dropped rows reqs db wal cpu
	dropped=$(curl -s -H "Authorization: Bearer $token" "$url/metrics" |
		awk '/^corral_events_dropped_total/ { print $2 }')
	db=$(stat -c %s "$tmp/corral.db")
	wal=$(stat -c %s "$tmp/corral.db-wal" 2>/dev/null || echo 0)
	rows=$(sqlite3 -readonly "$tmp/corral.db" 'SELECT count(*) FROM events')
	if sqlite3 -readonly "$tmp/corral.db" 'SELECT count FROM events LIMIT 1' >/dev/null 2>&1; then
		reqs=$(sqlite3 -readonly "$tmp/corral.db" 'SELECT total(count) FROM events' | cut -d. -f1)
	else
		reqs=$rows
	fi
	cpu=$(awk -v a="$cpu0" -v b="$cpu1" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", (b - a) / hz }')
	# the WAL after 20 s without requests (corrald may checkpoint when idle)
	sleep 20
	local wal_idle rss
	wal_idle=$(stat -c %s "$tmp/corral.db-wal" 2>/dev/null || echo 0)
	rss=$(awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$pid/status")
	printf '%-28s %9s %7s %9s %9s %9s %8s %8s %8s %7s %8s\n' "$(basename "$(dirname "$build")")/$(basename "$build")" \
		"$total" "$secs" "$rows" "$reqs" "$dropped" "$((db / 1024))" "$((wal / 1024))" "$((wal_idle / 1024))" "$cpu" "$rss"
	kill -TERM "$pid"
	wait "$pid" 2>/dev/null || true
	pid=""
	if [ -n "${EVSTORE_KEEP:-}" ]; then
		say "kept $tmp"
	else
		rm -rf "$tmp"
	fi
	tmp=""
}

printf '%-28s %9s %7s %9s %9s %9s %8s %8s %8s %7s %8s\n' build requests secs rows counted dropped "db KiB" "wal KiB" "idle KiB" "cpu s" "rss MiB"
for b in "$@"; do
	measure "$(cd "$b" && pwd)"
done
