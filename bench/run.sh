#!/bin/bash
# `make bench`: corrald's boot-script throughput against nginx serving a
# static file of the same size, on this machine, in one run, plus corrald's
# peak memory with 10,000 nodes.  A measurement, never a pass/fail test: the
# script fails only if it cannot measure (a server does not start, the
# registration is refused, wrk is missing).
#
#   bench/run.sh BUILD_DIR          (BUILD_DIR holds corrald; results go to
#                                    BUILD_DIR/bench/results.txt)
#
# Environment:
#   BENCH_SECONDS   length of each wrk run (default 10)
#   BENCH_THREADS   wrk threads (default 2)
#   BENCH_CONNS     wrk connections, all kept alive (default 64)
#   BENCH_ROUNDS    rounds of the four runs, corrald and nginx alternating;
#                   the table shows each side's median (default 3; with an
#                   even count, the lower middle value)
#   BENCH_NODES     nodes to register (default 10000, at most 65535)
#   BENCH_KEEP      if set, keep the temporary directories (wrk reports,
#                   corrald's log, the boot script) for a look afterwards
#
# Everything stays on 127.0.0.1.  Every process started here is stopped by
# its PID when the script exits, and every temporary directory removed.

# `make bench` runs this file with sh; it needs bash (arrays, pipefail).
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail

build=${1:?usage: bench/run.sh BUILD_DIR}
build=$(cd "$build" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
corrald=$build/corrald
# shellcheck source=bench/lib.sh
. "$here/lib.sh"

seconds=${BENCH_SECONDS:-10}
wrk_threads=${BENCH_THREADS:-2}
wrk_conns=${BENCH_CONNS:-64}
nnodes=${BENCH_NODES:-10000}
rounds=${BENCH_ROUNDS:-3}
ncpu=$(nproc)

say() { printf 'bench: %s\n' "$*" >&2; }
die() {
	say "error: $*"
	exit 1
}

for tool in wrk nginx curl; do
	command -v "$tool" >/dev/null || die "$tool not found (run 'make deps')"
done
[ -x "$corrald" ] || die "$corrald not built (run 'make')"
[ "$nnodes" -ge 1 ] && [ "$nnodes" -le 65535 ] || die "BENCH_NODES must be 1..65535"

# ---- temporary state and cleanup --------------------------------------------

# $tmp (mode 0700) holds corrald's store, key and token; $www is readable by
# nginx's unprivileged workers and holds only nginx's config and the file.
tmp=$(mktemp -d /tmp/corral-bench.XXXXXX)
www=$(mktemp -d /tmp/corral-bench-nginx.XXXXXX)
chmod 755 "$www"

corrald_pid=""
nginx_pid=""
wrk_pid=""

# Sends SIGTERM to one process we started, waits up to 5 s, then SIGKILL.
stop_pid() {
	local pid=$1 i
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

cleanup() {
	trap - EXIT INT TERM
	stop_pid "$wrk_pid"
	stop_pid "$corrald_pid"
	stop_pid "$nginx_pid" # nginx's master stops its own workers
	[ -n "${BENCH_KEEP:-}" ] || rm -rf "$tmp" "$www"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# VmHWM (peak resident set) of PID in MiB, one decimal.
peak_mib() {
	awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"
}

# ---- corrald with a temporary store ------------------------------------------

cport=$(bench_free_port)
curl_url=http://127.0.0.1:$cport
# threads = nproc explicitly, so nginx gets exactly as many workers.
bench_corrald_dir "$tmp" "$cport" "threads = $ncpu\nmax_body = 1048576"
cat >>"$tmp/corral.conf" <<EOF
[boot]
unknown_wait = 10
[cloud_init]
token_ttl = 86400
EOF

"$corrald" -c "$tmp/corral.conf" -n >/dev/null 2>"$tmp/check.log" ||
	die "corrald -n refuses the config: $(cat "$tmp/check.log")"
# The token is made before the daemon starts, so the two never share the store
# while it is being created.
token=$("$corrald" -c "$tmp/corral.conf" token create bench 2>"$tmp/token.log") ||
	die "token create failed: $(cat "$tmp/token.log")"
token=$(printf '%s\n' "$token" | tail -n 1)
[ -n "$token" ] || die "token create printed nothing"
# curl reads the header from a file, so the token never shows up in ps.
printf 'Authorization: Bearer %s\n' "$token" >"$tmp/auth.header"

"$corrald" -c "$tmp/corral.conf" 2>"$tmp/corrald.log" &
corrald_pid=$!
bench_wait_http "$curl_url/healthz" "$corrald_pid" ||
	die "corrald did not come up on port $cport: $(tail -n 20 "$tmp/corrald.log")"
say "corrald pid $corrald_pid on $curl_url, $ncpu threads"

# api METHOD PATH JSON: one authenticated call; dies unless the answer is 2xx.
api() {
	local code
	code=$(curl -s -o "$tmp/api.out" -w '%{http_code}' -X "$1" \
		-H "@$tmp/auth.header" -H 'Content-Type: application/json' \
		--data-binary "$3" "$curl_url$2")
	case $code in
	2??) ;;
	*) die "$1 $2 answered $code: $(head -c 500 "$tmp/api.out")" ;;
	esac
}

api PUT /api/v1/images/img1 \
	'{"name":"img1","kernel":"images/img1/vmlinuz","initrd":"images/img1/initrd","params":"console=ttyS0"}'
api PUT /api/v1/profiles/p1 '{"name":"p1","image":"img1"}'
api PUT /api/v1/defaults '{"profile":"p1"}'

bench_nodes_json "$nnodes" "$tmp/nodes.json"
t0=$(date +%s.%N)
api POST /api/v1/nodes/import "@$tmp/nodes.json"
t1=$(date +%s.%N)
import_secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
say "imported $nnodes nodes in ${import_secs}s: $(head -c 200 "$tmp/api.out")"
hwm_import=$(peak_mib "$corrald_pid")

# ---- the boot script and its static twin -------------------------------------

path1="/boot/v1/bootscript?mac=02:00:00:00:00:01"
curl -sf -o "$tmp/bootscript" "$curl_url$path1" || die "GET $path1 failed"
grep -q '^kernel ' "$tmp/bootscript" ||
	die "node n00001 did not get a boot script with a kernel line: $(head -c 500 "$tmp/bootscript")"
# The last node must be known too, or the many-MAC run would measure the
# unknown-node path.
lastmac=$(printf '02:00:00:00:%02x:%02x' $(((nnodes / 256) % 256)) $((nnodes % 256)))
curl -sf "$curl_url/boot/v1/bootscript?mac=$lastmac" | grep -q '^kernel ' ||
	die "node $lastmac did not get a boot script with a kernel line"
size=$(wc -c <"$tmp/bootscript")
say "boot script: $size bytes"

# nginx serves a file of exactly that many bytes at the same URLs (query
# strings are ignored), so one wrk command line fits both servers.
mkdir -p "$www/html" "$www/temp" "$www/logs"
head -c "$size" /dev/zero | tr '\0' 'x' >"$www/html/bootscript"
nport=$(bench_free_port)
cat >"$www/nginx.conf" <<EOF
# Reference server for bench/run.sh: as many workers as corrald has threads.
daemon off;
worker_processes $ncpu;
pid $www/nginx.pid;
error_log $www/logs/error.log warn;
events {
	worker_connections 1024;
}
http {
	access_log off;
	sendfile on;
	tcp_nopush on;
	keepalive_timeout 65;
	keepalive_requests 1000000;
	default_type text/plain;
	client_body_temp_path $www/temp/body;
	proxy_temp_path $www/temp/proxy;
	fastcgi_temp_path $www/temp/fastcgi;
	uwsgi_temp_path $www/temp/uwsgi;
	scgi_temp_path $www/temp/scgi;
	server {
		listen 127.0.0.1:$nport;
		root $www/html;
		location /boot/v1/bootscript {
			try_files /bootscript =404;
		}
	}
}
EOF
# -p: our prefix; -e: log startup errors there too, not in /var/log/nginx.
nginx -p "$www" -e "$www/logs/error.log" -c "$www/nginx.conf" &
nginx_pid=$!
nginx_url=http://127.0.0.1:$nport
bench_wait_http "$nginx_url$path1" "$nginx_pid" ||
	die "nginx did not come up on port $nport: $(tail -n 20 "$www/logs/error.log")"
got=$(curl -s -o /dev/null -w '%{size_download}' "$nginx_url$path1")
[ "$got" = "$size" ] || die "nginx serves $got bytes, not $size"
say "nginx pid $nginx_pid on $nginx_url, $ncpu workers"

# ---- load ---------------------------------------------------------------------

# run_wrk NAME URL [LUA]: one warm-up second, then the measured run, with the
# wrk script LUA (given the node count) if named;
# sets $rps to its requests/s and keeps wrk's report in $tmp/wrk-NAME.txt.
# wrk runs in the background so that cleanup can stop it by PID.
run_wrk() {
	local name=$1 url=$2 out=$tmp/wrk-$1-$round.txt
	local args=(-t"$wrk_threads" -c"$wrk_conns")
	if [ $# -ge 3 ]; then
		args+=(-s "$3" "$url" -- "$nnodes") # after "--": the script's own args
	else
		args+=("$url")
	fi
	wrk -d1s "${args[@]}" >/dev/null 2>&1 &
	wrk_pid=$!
	wait "$wrk_pid" || true
	wrk -d"${seconds}s" "${args[@]}" >"$out" 2>&1 &
	wrk_pid=$!
	wait "$wrk_pid" || die "wrk failed: $(cat "$out")"
	wrk_pid=""
	# Errors and non-2xx answers would make the number meaningless: show them.
	if grep -qE 'Non-2xx|Socket errors' "$out"; then
		say "$name: $(grep -E 'Non-2xx|Socket errors' "$out" | tr -s ' ' | paste -sd ';' -)"
	fi
	rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$out")
	[ -n "$rps" ] || die "no Requests/sec in wrk's report: $(cat "$out")"
	# corrald's resident size after each run shows whether memory keeps growing.
	say "round $round, $name: $rps req/s (corrald VmRSS" \
		"$(awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$corrald_pid/status") MiB)"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

# The machine is shared and noisy: run corrald and nginx alternately, several
# rounds, and compare medians rather than one run each.
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
say "wrk -t$wrk_threads -c$wrk_conns -d${seconds}s per run, keep-alive, $rounds round(s) of 4 runs"
c_ones=() n_ones=() c_manys=() n_manys=()
for round in $(seq "$rounds"); do
	run_wrk corrald-one "$curl_url$path1"
	c_ones+=("$rps")
	run_wrk nginx-one "$nginx_url$path1"
	n_ones+=("$rps")
	run_wrk corrald-many "$curl_url" "$here/many-macs.lua"
	c_manys+=("$rps")
	run_wrk nginx-many "$nginx_url" "$here/many-macs.lua"
	n_manys+=("$rps")
done
c_one=$(median "${c_ones[@]}") n_one=$(median "${n_ones[@]}")
c_many=$(median "${c_manys[@]}") n_many=$(median "${n_manys[@]}")

kill -0 "$corrald_pid" 2>/dev/null || die "corrald died under load: $(tail -n 20 "$tmp/corrald.log")"
hwm_load=$(peak_mib "$corrald_pid")
rss_end=$(awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$corrald_pid/status")

# The store (with its WAL, if any) after the runs: boot events accumulate.
store_mib=$(du -cm "$tmp"/corral.db* | awk 'END { print $1 }')
# The many-MAC runs must have rendered node scripts, not the unknown-MAC one.
unknown=$(curl -s "$curl_url/metrics" | awk '/^corral_bootscripts_total\{kind="unknown"\}/ { print $2 }')

# ---- report ---------------------------------------------------------------------

mkdir -p "$build/bench"
results=$build/bench/results.txt
row() { printf '%-28s %14s %14s %7s\n' "$@"; }
{
	echo "Corral benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(uname -n), $ncpu CPUs," \
		"load $load_before before, $(cut -d' ' -f1-3 /proc/loadavg) after"
	echo "corrald $(git -C "$here" describe --always --dirty 2>/dev/null || echo '?')" \
		"(threads $ncpu, log_level warn); $(nginx -v 2>&1 | sed 's/^nginx version: //')" \
		"(workers $ncpu, access_log off, sendfile on)"
	echo "wrk -t$wrk_threads -c$wrk_conns -d${seconds}s keep-alive, $rounds round(s), median shown;" \
		"boot script $size bytes; $nnodes nodes imported in ${import_secs}s"
	[ -n "$unknown" ] && echo "boot scripts for unknown MACs served during the runs: $unknown"
	echo "every run, req/s:"
	echo "  one MAC     corrald ${c_ones[*]}; nginx ${n_ones[*]}"
	echo "  $nnodes MACs  corrald ${c_manys[*]}; nginx ${n_manys[*]}"
	echo "ratio = corrald/nginx; the target is >= 0.80 (a measurement, not a test)."
	echo
	row test "corrald req/s" "nginx req/s" ratio
	row "bootscript, one MAC" "$c_one" "$n_one" "$(ratio "$c_one" "$n_one")"
	row "bootscript, $nnodes MACs" "$c_many" "$n_many" "$(ratio "$c_many" "$n_many")"
	echo
	printf '%-28s %10s MiB\n' "corrald VmHWM after import" "$hwm_import"
	printf '%-28s %10s MiB\n' "corrald VmHWM after load" "$hwm_load"
	printf '%-28s %10s MiB\n' "corrald VmRSS at the end" "$rss_end"
	printf '%-28s %10s MiB\n' "store on disk at the end" "$store_mib"
} | tee "$results"
say "results written to $results"
