# Shared by the bench scripts that start their own corrald (bench/run.sh,
# bench/events-store.sh); sourced with ".", never run.  It defines functions
# only and starts nothing: each caller keeps its own temporary directory,
# PIDs and cleanup.  Everything listens on 127.0.0.1.

# A free TCP port on 127.0.0.1: bind port 0 and let the kernel choose.
bench_free_port() {
	/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# bench_corrald_dir DIR PORT [SERVER_LINES]: a corrald home in DIR: the
# stand-in kernel and initrd of image img1 (the boot script names them, no
# benchmark downloads them) and DIR/corral.conf with [server] on
# 127.0.0.1:PORT (API on the same port, no per-address connection cap:
# wrk's connections all come from 127.0.0.1), [store], [files] and [auth]
# in DIR.  SERVER_LINES (printf %b: \n) go into [server]; the caller
# appends its own sections with >>.
bench_corrald_dir() {
	local dir=$1 port=$2
	mkdir -p "$dir/files/images/img1"
	head -c 4096 /dev/zero >"$dir/files/images/img1/vmlinuz"
	head -c 4096 /dev/zero >"$dir/files/images/img1/initrd"
	cat >"$dir/corral.conf" <<EOF
[server]
address = 127.0.0.1
port = $port
api_port = $port
advertise_url = http://127.0.0.1:$port
; wrk's connections all come from 127.0.0.1: no per-address cap
max_connections_per_ip = 0
log_level = warn
$(printf '%b' "${3:-}")
[store]
path = $dir/corral.db
[files]
root = $dir/files
[auth]
key_file = $dir/secret.key
EOF
}

# bench_nodes_json N FILE: the import body for N nodes.  Node i: name
# n%05d, one interface with MAC 02:00:00:00:hi:lo (i's two low bytes), the
# numbering bench/many-macs.lua uses.
bench_nodes_json() {
	awk -v n="$1" 'BEGIN {
		printf "{\"nodes\":["
		for (i = 1; i <= n; i++)
			printf "%s{\"name\":\"n%05d\",\"interfaces\":[{\"mac\":\"02:00:00:00:%02x:%02x\"}]}",
				(i > 1 ? "," : ""), i, int(i / 256) % 256, i % 256
		printf "]}\n"
	}' >"$2"
}

# bench_wait_http URL PID: 0 once URL answers 200; 1 if the process PID
# dies first or 15 s pass.
bench_wait_http() {
	local url=$1 pid=$2 i
	for i in $(seq 150); do
		kill -0 "$pid" 2>/dev/null || return 1
		[ "$(curl -s -o /dev/null -w '%{http_code}' "$url")" = 200 ] && return 0
		sleep 0.1
	done
	return 1
}
