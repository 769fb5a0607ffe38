#!/bin/bash
# `make bench`, part two: a whole-cluster boot storm (build/storm, from
# bench/storm.c) against corrald and against nginx serving the same bytes
# as static files (the floor), for 1,000 and 10,000 nodes; then corrald's
# memory with 1,000, 10,000 and 50,000 nodes registered and idle.  A
# measurement, never a pass/fail test: the script fails only if it cannot
# measure.
#
#   bench/storm.sh BUILD_DIR      (BUILD_DIR holds corrald and storm; the
#                                  report goes to BUILD_DIR/bench/storm.txt)
#
# Environment:
#   STORM_SIZES     node counts to storm, in order (default "1000 10000")
#   STORM_RAMP      seconds over which the nodes power on (default 10)
#   STORM_THINK     think-time factor (default 1: iPXE 50 ms, kernel boot
#                   3 s, system boot 5 s, cloud-init 2 s, each drawn from
#                   0.5..1.5 of that; 0: none, every step at once)
#   STORM_KERNEL, STORM_INITRD, STORM_ROOTFS
#                   file sizes in KiB (default 16, 64, 256: small files,
#                   so the run measures requests rather than copying)
#   STORM_IDLE      node counts for the idle-memory table (default
#                   "1000 10000 50000"); empty skips it
#   STORM_RATE      e.g. 1gbit: run the storms across a veth pair between two
#                   network namespaces made here, with a tc rate limit on the
#                   server's side (see below); empty (default): loopback
#   STORM_ADMIT     e.g. 32: after each storm, storm corrald once more with
#                   server.max_large_transfers set to that (a live reload),
#                   labelled corrald-admitN, to show admission control's
#                   effect on completion time (meaningful with STORM_RATE)
#   STORM_CACHE_KIB corrald's boot.cache_kib (default: corrald's default)
#   STORM_CONF      more lines for corrald's configuration, sections and
#                   all, e.g. $'[server]\nmalloc_arenas = 1\n[store]\nmemory_kib = 2048'
#   STORM_KEEP      if set, keep the temporary directories
#   STORM_WRAP      a command line put in front of corrald (split at blanks), e.g.
#                   "env MALLOC_ARENA_MAX=1" or "valgrind --tool=massif
#                   --massif-out-file=/tmp/m.out": it must exec corrald in
#                   the same process, so that its PID is corrald's
#   STORM_HOLD      if set, storm nothing: once both servers are up with
#                   the nodes registered, write their URLs and PIDs to
#                   BUILD_DIR/bench/storm-hold.env and wait until stopped
#                   (SIGTERM/Ctrl-C), for profiling by hand (bench/PROFILE.md)
#
# The nodes' source addresses: 127.100.0.0 + i on loopback (all of
# 127.0.0.0/8 is local); with STORM_RATE, 10.78.0.0 + i, made local in the
# client namespace by one "local" route, the server at 10.77.0.1 in its own
# namespace.  Nothing leaves this machine's loopback or the namespaces
# made here.  Every process started here is stopped by its PID on exit.

if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail

build=${1:?usage: bench/storm.sh BUILD_DIR}
build=$(cd "$build" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
corrald=$build/corrald
storm=$build/storm

sizes=${STORM_SIZES:-1000 10000}
ramp=${STORM_RAMP:-10}
think=${STORM_THINK:-1}
kernel_kib=${STORM_KERNEL:-16}
initrd_kib=${STORM_INITRD:-64}
rootfs_kib=${STORM_ROOTFS:-256}
idle_sizes=${STORM_IDLE-1000 10000 50000}
rate=${STORM_RATE:-}
ncpu=$(nproc)

say() { printf 'storm: %s\n' "$*" >&2; }
die() {
	say "error: $*"
	exit 1
}

for tool in nginx curl; do
	command -v "$tool" >/dev/null || die "$tool not found (run 'make deps')"
done
[ -x "$corrald" ] || die "$corrald not built (run 'make')"
[ -x "$storm" ] || die "$storm not built (run 'make $build/storm')"
max=0
for n in $sizes; do [ "$n" -gt "$max" ] && max=$n; done
[ "$max" -ge 1 ] || die "STORM_SIZES names no node count"

# ---- temporary state and cleanup --------------------------------------------

# $tmp (0700): corrald's store, key, token.  $www (0755, nginx's workers read
# it): nginx's config and the static files, and the file root both serve.
tmp=$(mktemp -d /tmp/corral-storm.XXXXXX)
www=$(mktemp -d /tmp/corral-storm-www.XXXXXX)
chmod 755 "$www"
corrald_pid=""
nginx_pid=""
ns_srv=""
ns_cli=""
hold_pid=""

stop_pid() {
	local pid=$1
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

cleanup() {
	trap - EXIT INT TERM
	stop_pid "$hold_pid"
	stop_pid "$corrald_pid"
	stop_pid "$nginx_pid"
	# Deleting a namespace removes the veth pair and its qdisc with it.
	[ -n "$ns_srv" ] && ip netns del "$ns_srv" 2>/dev/null
	[ -n "$ns_cli" ] && ip netns del "$ns_cli" 2>/dev/null
	[ -n "${STORM_KEEP:-}" ] || rm -rf "$tmp" "$www"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- where the servers and the nodes live ------------------------------------

# srv CMD...: runs CMD where the servers are; cli CMD...: where the nodes
# are.  A server is started as ( exec "${srv_exec[@]}" CMD ) &, so that $!
# is the server itself ("ip netns exec" execs in place): stop_pid needs it.
srv() { "$@"; }
cli() { "$@"; }
srv_exec=()
server_ip=127.0.0.1
src_base=127.100.0.0
if [ -n "$rate" ]; then
	command -v tc >/dev/null || die "tc not found (iproute2)"
	ns_srv=corral-storm-srv-$$
	ns_cli=corral-storm-cli-$$
	ip netns add "$ns_srv" || die "cannot make a network namespace (root needed)"
	ip netns add "$ns_cli" || die "cannot make a network namespace"
	ip -n "$ns_srv" link set lo up
	ip -n "$ns_cli" link set lo up
	ip -n "$ns_srv" link add vs0 type veth peer name vc0 netns "$ns_cli"
	ip -n "$ns_srv" addr add 10.77.0.1/30 dev vs0
	ip -n "$ns_cli" addr add 10.77.0.2/30 dev vc0
	ip -n "$ns_srv" link set vs0 up
	ip -n "$ns_cli" link set vc0 up
	# Every node address 10.78.x.y is local in the client namespace (one
	# route, no address per node); the server answers them over the veth.
	ip -n "$ns_cli" route add local 10.78.0.0/16 dev lo
	ip -n "$ns_srv" route add 10.78.0.0/16 via 10.77.0.2
	# The cap, on what the server sends (downloads are what it limits).
	ip netns exec "$ns_srv" tc qdisc add dev vs0 root tbf rate "$rate" burst 256kb latency 100ms ||
		die "tc refuses rate $rate"
	srv() { ip netns exec "$ns_srv" "$@"; }
	srv_exec=(ip netns exec "$ns_srv")
	cli() { ip netns exec "$ns_cli" "$@"; }
	server_ip=10.77.0.1
	src_base=10.78.0.0
	say "namespaces $ns_srv (server $server_ip) and $ns_cli (nodes from $src_base), rate $rate"
fi

free_port() {
	srv /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("'$server_ip'", 0)); print(s.getsockname()[1])'
}

# Waits until URL answers 200 (from where the nodes are), or PID dies, or 60 s pass
# (valgrind, through STORM_WRAP, is slow to start).
wait_http() {
	local url=$1 pid=$2
	for _ in $(seq 600); do
		kill -0 "$pid" 2>/dev/null || return 1
		[ "$(cli curl -s -o /dev/null -w '%{http_code}' "$url")" = 200 ] && return 0
		sleep 0.1
	done
	return 1
}

mib() { awk -v f="$2" '$1 == f":" { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

# ---- the files both servers serve -----------------------------------------------

files=$www/html/files
mkdir -p "$files/images/img1" "$www/temp" "$www/logs"
head -c $((kernel_kib * 1024)) /dev/urandom >"$files/images/img1/vmlinuz"
head -c $((initrd_kib * 1024)) /dev/urandom >"$files/images/img1/initrd"
head -c $((rootfs_kib * 1024)) /dev/urandom >"$files/images/img1/rootfs.squashfs"
chmod -R a+rX "$www/html"

# ---- corrald --------------------------------------------------------------------------

# start_corrald DIR: a corrald on a fresh store in DIR; sets corrald_pid,
# curl_url and DIR/auth.header.
start_corrald() {
	local dir=$1 port token
	mkdir -p "$dir"
	port=$(free_port)
	curl_url=http://$server_ip:$port
	cat >"$dir/corral.conf" <<EOF
[server]
address = $server_ip
port = $port
api_port = $port
advertise_url = $curl_url
threads = $ncpu
max_body = 1048576
log_level = warn
[store]
path = $dir/corral.db
[files]
root = $files
[auth]
key_file = $dir/secret.key
[boot]
unknown_wait = 10
${STORM_CACHE_KIB:+cache_kib = $STORM_CACHE_KIB}
[cloud_init]
token_ttl = 86400
${STORM_CONF:-}
EOF
	cp "$dir/corral.conf" "$dir/corral.conf.base"
	"$corrald" -c "$dir/corral.conf" -n >/dev/null 2>"$dir/check.log" ||
		die "corrald -n refuses the config: $(cat "$dir/check.log")"
	token=$("$corrald" -c "$dir/corral.conf" token create bench 2>"$dir/token.log") ||
		die "token create failed: $(cat "$dir/token.log")"
	token=$(printf '%s\n' "$token" | tail -n 1)
	printf 'Authorization: Bearer %s\n' "$token" >"$dir/auth.header"
	# With ulimit raised: a storm keeps thousands of connections open.
	(
		ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
		# shellcheck disable=SC2086 # STORM_WRAP is split at blanks on purpose
		exec "${srv_exec[@]}" ${STORM_WRAP:-} "$corrald" -c "$dir/corral.conf" 2>"$dir/corrald.log" </dev/null >/dev/null
	) &
	corrald_pid=$!
	wait_http "$curl_url/healthz" "$corrald_pid" ||
		die "corrald did not come up on $curl_url: $(tail -n 20 "$dir/corrald.log")"
	api "$dir" PUT /api/v1/images/img1 \
		"{\"name\":\"img1\",\"kernel\":\"images/img1/vmlinuz\",\"initrd\":\"images/img1/initrd\",\"rootfs\":\"images/img1/rootfs.squashfs\",\"params\":\"console=ttyS0 root=live:$curl_url/files/images/img1/rootfs.squashfs\"}"
	api "$dir" PUT /api/v1/profiles/p1 '{"name":"p1","image":"img1"}'
	api "$dir" PUT /api/v1/defaults '{"profile":"p1"}'
}

# api DIR METHOD PATH JSON: one authenticated call; dies unless 2xx.
api() {
	local code
	code=$(cli curl -s -o "$1/api.out" -w '%{http_code}' -X "$2" \
		-H "@$1/auth.header" -H 'Content-Type: application/json' \
		--data-binary "$4" "$curl_url$3")
	case $code in
	2??) ;;
	*) die "$2 $3 answered $code: $(head -c 500 "$1/api.out")" ;;
	esac
}

# import DIR FIRST COUNT: registers nodes FIRST..FIRST+COUNT-1; prints seconds.
import() {
	local t0 t1
	"$storm" nodes --first "$2" --nodes "$3" --src-base "$src_base" >"$1/nodes.json"
	t0=$(date +%s.%N)
	api "$1" POST /api/v1/nodes/import "@$1/nodes.json"
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }'
}

start_corrald "$tmp/c1"
secs=$(import "$tmp/c1" 1 "$max")
say "corrald pid $corrald_pid on $curl_url: $max nodes imported in ${secs}s"
sleep 2
rss_import=$(mib "$corrald_pid" VmRSS)

# ---- nginx with the same answers as static files ----------------------------

nport=$(free_port)
nginx_url=http://$server_ip:$nport
cli "$storm" mirror --url "$curl_url" --auth-file "$tmp/c1/auth.header" --to "$nginx_url" \
	--dir "$www/html" --nodes "$max" || die "could not copy corrald's answers for nginx"
chmod -R a+rX "$www/html"
cat >"$www/nginx.conf" <<EOF
# The floor for bench/storm.sh: the same bytes as static files.
daemon off;
worker_processes $ncpu;
worker_rlimit_nofile 65536;
pid $www/nginx.pid;
error_log $www/logs/error.log warn;
events {
	worker_connections 32768;
}
http {
	access_log off;
	sendfile on;
	# no tcp_nopush: with it, the last segment of a file can wait for the
	# kernel's 200 ms cork timer, which would slow the floor down
	keepalive_timeout 65;
	keepalive_requests 1000000;
	default_type text/plain;
	client_body_temp_path $www/temp/body;
	proxy_temp_path $www/temp/proxy;
	fastcgi_temp_path $www/temp/fastcgi;
	uwsgi_temp_path $www/temp/uwsgi;
	scgi_temp_path $www/temp/scgi;
	server {
		listen $server_ip:$nport backlog=4096;
		root $www/html;
		location /boot/v1/bootscript {
			try_files /bootscript/\$arg_mac =404;
		}
		location /phone-home/ {
			default_type application/json;
			return 200 '{"node":"n","state":"ready"}';
		}
	}
}
EOF
(exec "${srv_exec[@]}" nginx -p "$www" -e "$www/logs/error.log" -c "$www/nginx.conf" </dev/null >/dev/null) &
nginx_pid=$!
wait_http "$nginx_url/bootscript/02:00:00:00:00:01" "$nginx_pid" ||
	die "nginx did not come up on $nginx_url: $(tail -n 20 "$www/logs/error.log")"
say "nginx pid $nginx_pid on $nginx_url, $ncpu workers"

# ---- the storms ----------------------------------------------------------------------

mkdir -p "$build/bench"
if [ -n "${STORM_HOLD:-}" ]; then
	{
		echo "corrald_url=$curl_url"
		echo "corrald_pid=$corrald_pid"
		echo "corrald_dir=$tmp/c1"
		echo "nginx_url=$nginx_url"
		echo "nginx_pid=$nginx_pid"
		echo "src_base=$src_base"
		echo "nodes=$max"
	} >"$build/bench/storm-hold.env"
	say "holding; see $build/bench/storm-hold.env; stop with SIGTERM to $$"
	sleep infinity &
	hold_pid=$!
	wait "$hold_pid" || true
	exit 0
fi
# set_admit N: server.max_large_transfers = N in corrald's config, applied by
# a reload (SIGHUP: the key is live; the log level is warn, so the reload
# is not logged: 2 s are ample for it).
set_admit() {
	local conf=$tmp/c1/corral.conf
	awk -v n="$1" '{ print } $0 == "[server]" { print "max_large_transfers = " n }' \
		"$conf.base" >"$conf"
	kill -HUP "$corrald_pid"
	sleep 2
}

out=$build/bench/storm.txt
{
	echo "Corral boot storm, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(uname -n), $ncpu CPUs," \
		"load $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "corrald $(git -C "$here" describe --always --dirty 2>/dev/null || echo '?')" \
		"(threads $ncpu); $(nginx -v 2>&1 | sed 's/^nginx version: //') (workers $ncpu," \
		"sendfile, static copies of corrald's answers)"
	echo "files: kernel $kernel_kib KiB, initrd $initrd_kib KiB, rootfs $rootfs_kib KiB;" \
		"${rate:+bandwidth cap $rate on a veth pair; }loopback sources from $src_base"
} >"$out"
for n in $sizes; do
	say "storm of $n nodes"
	cli "$storm" run --nodes "$n" --src-base "$src_base" --ramp "$ramp" --think "$think" \
		--target "corrald=$curl_url@$corrald_pid" --target "nginx=$nginx_url" \
		>"$tmp/storm-$n.txt" || die "storm run failed"
	{
		echo
		echo "==== $n nodes ===="
		cat "$tmp/storm-$n.txt"
	} >>"$out"
	if [ -n "${STORM_ADMIT:-}" ]; then
		say "storm of $n nodes, server.max_large_transfers = $STORM_ADMIT"
		set_admit "$STORM_ADMIT"
		cli "$storm" run --nodes "$n" --src-base "$src_base" --ramp "$ramp" --think "$think" \
			--target "corrald-admit$STORM_ADMIT=$curl_url@$corrald_pid" \
			>"$tmp/storm-$n-admit.txt" || die "storm run failed"
		set_admit 0
		{
			echo
			echo "==== $n nodes, server.max_large_transfers = $STORM_ADMIT ===="
			cat "$tmp/storm-$n-admit.txt"
		} >>"$out"
	fi
done
kill -0 "$corrald_pid" 2>/dev/null || die "corrald died: $(tail -n 20 "$tmp/c1/corrald.log")"
sleep 2
rss_after=$(mib "$corrald_pid" VmRSS)
hwm_after=$(mib "$corrald_pid" VmHWM)
store_mib=$(du -cm "$tmp/c1"/corral.db* | awk 'END { print $1 }')
cache=$(cli curl -s "$curl_url/metrics" | awk '$1 == "corral_cache_bytes" { b = $2 }
	$1 == "corral_cache_entries" { n = $2 } END { printf "%.1f MiB in %d entries", b / 1048576, n }')
events=$(cli curl -s -H "@$tmp/c1/auth.header" "$curl_url/api/v1/nodes/n00001/events?limit=100000" |
	/usr/bin/python3 -c 'import json, sys; print(len(json.load(sys.stdin)))' 2>/dev/null || echo '?')
stop_pid "$corrald_pid"
corrald_pid=""

# ---- memory by node count, idle ---------------------------------------------------

idle_rows=()
if [ -n "$idle_sizes" ]; then
	start_corrald "$tmp/c2"
	done_n=0
	for n in $idle_sizes; do
		more=$((n - done_n))
		secs=$(import "$tmp/c2" $((done_n + 1)) "$more")
		done_n=$n
		sleep 3
		idle_rows+=("$(printf '%-36s %8s MiB (imported %s more in %s s)' \
			"corrald VmRSS idle, $n nodes" "$(mib "$corrald_pid" VmRSS)" "$more" "$secs")")
	done
	stop_pid "$corrald_pid"
	corrald_pid=""
fi

{
	echo
	echo "==== corrald memory and store ===="
	printf '%-36s %8s MiB\n' "corrald VmRSS after import ($max)" "$rss_import"
	printf '%-36s %8s MiB\n' "corrald VmRSS after the storms" "$rss_after"
	printf '%-36s %8s MiB\n' "corrald VmHWM (peak) by then" "$hwm_after"
	printf '%-36s %s\n' "corrald's answer cache by then" "$cache"
	printf '%-36s %8s MiB (n00001 has %s events)\n' "store on disk after the storms" \
		"$store_mib" "$events"
	for row in "${idle_rows[@]}"; do echo "$row"; done
} >>"$out"
cat "$out"
say "report written to $out"
