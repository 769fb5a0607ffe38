#!/usr/bin/python3
"""`make bench`: the boot path while thousands of slow clients hold connections.

    bench/slowloris.py BUILD_DIR   (BUILD_DIR holds corrald; the table also
                                    goes to BUILD_DIR/bench/slowloris.txt)

corrald runs as installed: the node-facing listener on one port (plain
HTTP), the operator's on another (HTTPS, a self-signed certificate made at
start), every slow-client setting at its default.  One node is registered.
Then, for each count N (1,000, 5,000 and 10,000; BENCH_SLOW_COUNTS), a
flood process opens N connections to the node-facing port from loopback
addresses 127.10.0.1 upwards (50 per address: under the per-address cap,
so the cap does not do the work), sends each an unfinished request line and
then one byte per connection every BENCH_SLOW_DRIP seconds (default 2),
and holds them for BENCH_SLOW_HOLD seconds (default 60).  A connection
corrald cuts (a request's headers must be complete within
server.header_timeout, 10 s, however slowly they trickle) is opened again
at once, as an attacker would, so N stay open.  Meanwhile this process
fetches the node's boot script once a second on a fresh connection, as
iPXE does, and times it (10 s timeout; a timeout, an error or a status
other than 200 is a failure).

Printed per N: the connections held (fewest seen in the hold, and on
average), reconnects after cuts, boot-script fetches, failures, p50, p99
and max latency, and corrald's peak resident memory.  The target is p99 <
50 ms and 0 failures on a quiet machine; this is a measurement, never a
pass/fail test (the machine is shared; the flood itself is Python).  The
script fails only when it cannot measure: corrald does not start, or this
process may not open enough files (it raises its own soft limit to the
hard one; a count over it is skipped and said so).

A corrald that does not know issue 11's keys (an older build, to compare)
is started with one listener on one port.

Environment: BENCH_SLOW_COUNTS ("1000,5000,10000"), BENCH_SLOW_HOLD (60),
BENCH_SLOW_DRIP (2), BENCH_KEEP=1 (keep the temporary directory).
Everything stays on loopback; every process started here is stopped by
its PID.
"""

import collections
import http.client
import json
import multiprocessing
import os
import pathlib
import re
import resource
import selectors
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

MAC = "02:00:00:51:07:01"
PER_ADDR = 50


def say(msg):
    print("bench-slowloris: %s" % msg, file=sys.stderr, flush=True)


def die(msg):
    say("error: " + msg)
    sys.exit(1)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def stop(proc):
    if proc is None or proc.poll() is not None:
        return
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)


def peak_mib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


# ---- corrald -------------------------------------------------------------------


class Corrald:
    def __init__(self, build, tmp):
        self.binary = str(build / "corrald")
        self.tmp = tmp
        self.port = free_port()
        self.api_port = free_port()
        self.conf = tmp / "corral.conf"
        (tmp / "files").mkdir(exist_ok=True)
        base = ("[server]\naddress = 127.0.0.1\nport = %d\nadvertise_url = http://127.0.0.1:%d\n"
                "log_level = info\n" % (self.port, self.port))
        rest = ("[store]\npath = %s\n[files]\nroot = %s\n[auth]\nkey_file = %s\n"
                % (tmp / "corral.db", tmp / "files", tmp / "secret.key"))
        split = "api_port = %d\n[tls]\ncert = %s\nkey = %s\n" % (
            self.api_port, tmp / "tls.crt", tmp / "tls.key")
        self.conf.write_text(base + split + rest)
        self.new = subprocess.run([self.binary, "-c", str(self.conf), "-n"],
                                  capture_output=True).returncode == 0
        if not self.new:  # an older corrald: one listener, plain HTTP
            self.conf.write_text(base + rest)
            self.api_port = self.port
        cp = subprocess.run([self.binary, "-c", str(self.conf), "token", "create", "bench"],
                            capture_output=True, timeout=30)
        if cp.returncode != 0:
            die("token create: %s" % cp.stderr.decode(errors="replace"))
        self.token = cp.stdout.decode().split()[-1]
        self.log = open(tmp / "corrald.log", "wb")
        self.proc = subprocess.Popen([self.binary, "-c", str(self.conf)],
                                     stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                die("corrald exited: %s" % (tmp / "corrald.log").read_text()[-2000:])
            try:
                if fetch(self.port, "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.05)
        else:
            die("corrald did not come up")

    def api(self, method, path, body):
        if self.new:
            ctx = ssl.create_default_context(cafile=str(self.tmp / "tls.crt"))
            conn = http.client.HTTPSConnection("127.0.0.1", self.api_port, context=ctx,
                                               timeout=30)
        else:
            conn = http.client.HTTPConnection("127.0.0.1", self.api_port, timeout=30)
        conn.request(method, path, json.dumps(body), {
            "Authorization": "Bearer " + self.token, "Content-Type": "application/json"})
        r = conn.getresponse()
        data = r.read()
        conn.close()
        return r.status, data

    def stop(self):
        stop(self.proc)
        self.log.close()


def fetch(port, path, timeout=10):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


# ---- the flood (its own process) ------------------------------------------------


def src_addr(i):
    a = i // PER_ADDR
    return "127.%d.%d.%d" % (10 + a // 62500, (a // 250) % 250, a % 250 + 1)


def flood_main(port, n, drip, hold_evt, stop_evt, out):
    """Holds n slow connections until stop_evt; reports stats on out."""
    raise_nofile()
    sel = selectors.DefaultSelector()
    socks = {}  # fd -> (socket, slot)
    queue = collections.deque()  # (due, fd) in due order: one drip period for all
    stats = {"reconnects": 0, "connect_errors": 0, "held": []}

    def send_next(ent):
        """The request line first (once connected), then one byte a drip."""
        s = ent[0]
        try:
            s.send(b"0" if ent[2] else b"GET /boot/v1/bootscript?mac=")
            ent[2] = True
        except OSError:
            pass  # not connected yet (the next drip tries), or cut (recv sees it)

    def open_one(slot, now):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind((src_addr(slot), 0))
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", port))
        except OSError:
            s.close()
            stats["connect_errors"] += 1
            return False
        ent = [s, slot, False]
        socks[s.fileno()] = ent
        sel.register(s, selectors.EVENT_READ)
        send_next(ent)
        queue.append((now + drip, s.fileno(), s))
        return True

    def close_one(fd):
        s, slot, _ = socks.pop(fd)
        sel.unregister(s)
        s.close()
        return slot

    # Ramp up in batches, so the listen backlog is not what refuses them.
    slot = 0
    while slot < n:
        now = time.monotonic()
        for _ in range(min(500, n - slot)):
            open_one(slot, now)
            slot += 1
        time.sleep(0.05)
    hold_evt.set()
    last_sample = 0.0
    while not stop_evt.is_set():
        now = time.monotonic()
        for key, _ in sel.select(0.02):
            fd = key.fd
            try:
                data = key.fileobj.recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if data == b"":  # cut by corrald: open it again at once
                slot_i = close_one(fd)
                stats["reconnects"] += 1
                open_one(slot_i, now)
        while queue and queue[0][0] <= now:
            _, fd, s = queue.popleft()
            ent = socks.get(fd)
            if ent is None or ent[0] is not s:
                continue  # closed since
            send_next(ent)
            queue.append((now + drip, fd, s))
        if now - last_sample >= 1.0:
            stats["held"].append(len(socks))
            last_sample = now
    out.send(stats)
    for fd in list(socks):
        close_one(fd)


# ---- one measurement -----------------------------------------------------------


def pct(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def measure(c, n, hold, drip):
    """(row dict) for n slow connections held for `hold` seconds."""
    lat, failures = [], 0
    flood = stats = None
    if n > 0:
        hold_evt, stop_evt = multiprocessing.Event(), multiprocessing.Event()
        mine, theirs = multiprocessing.Pipe()
        flood = multiprocessing.Process(target=flood_main,
                                        args=(c.port, n, drip, hold_evt, stop_evt, theirs))
        flood.start()
        if not hold_evt.wait(120):
            die("the flood did not open its connections in 120 s")
        time.sleep(min(drip, 2.0))  # every connection has dripped once
    end = time.monotonic() + hold
    path = "/boot/v1/bootscript?mac=" + MAC
    while time.monotonic() < end:
        t0 = time.monotonic()
        try:
            status, body = fetch(c.port, path)
            ok = status == 200 and body.startswith(b"#!ipxe")
        except OSError:
            ok = False
        took = time.monotonic() - t0
        if ok:
            lat.append(took * 1000.0)
        else:
            failures += 1
        time.sleep(max(0.0, 1.0 - took))
    if flood is not None:
        stop_evt.set()
        stats = mine.recv() if mine.poll(60) else {"held": [], "reconnects": -1}
        flood.join(60)
        if flood.is_alive():
            flood.kill()
    held = stats["held"] if stats else []
    return {
        "n": n,
        "held_min": min(held) if held else 0,
        "held_avg": sum(held) / len(held) if held else 0,
        "reconnects": stats["reconnects"] if stats else 0,
        "fetches": len(lat) + failures,
        "failures": failures,
        "p50": pct(lat, 50), "p99": pct(lat, 99), "max": max(lat) if lat else float("nan"),
        "rss": peak_mib(c.proc.pid),
    }


def main():
    if len(sys.argv) != 2:
        die("usage: bench/slowloris.py BUILD_DIR")
    build = pathlib.Path(sys.argv[1]).resolve()
    if not (build / "corrald").exists():
        die("%s/corrald not built (run 'make')" % build)
    counts = [int(x) for x in os.environ.get("BENCH_SLOW_COUNTS", "1000,5000,10000").split(",")]
    hold = float(os.environ.get("BENCH_SLOW_HOLD", "60"))
    drip = float(os.environ.get("BENCH_SLOW_DRIP", "2"))
    limit = raise_nofile()
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="corral-bench-slow."))
    c = None
    rows = []
    try:
        c = Corrald(build, tmp)
        st, body = c.api("POST", "/api/v1/nodes", {"name": "bench-slow",
                                                   "interfaces": [{"mac": MAC}]})
        if st != 201:
            die("registering the node: %d %s" % (st, body[:300]))
        say("corrald pid %d, node-facing port %d%s; hold %gs, a byte per connection every %gs"
            % (c.proc.pid, c.port, "" if c.new else " (an older corrald: one listener)",
               hold, drip))
        for n in [0] + counts:
            if n + 200 > limit:
                say("skipping %d connections: this process may open only %d files" % (n, limit))
                continue
            say("%d slow connections ..." % n)
            rows.append(measure(c, n, hold if n else min(hold, 10.0), drip))
            if c.proc.poll() is not None:
                die("corrald exited during the run")
    finally:
        if c is not None:
            c.stop()
        log = (tmp / "corrald.log").read_text(errors="replace") if (tmp / "corrald.log").exists() else ""
        if os.environ.get("BENCH_KEEP"):
            say("kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    cuts = sum(int(x) for x in re.findall(r"listener: cut (\d+) slow", log))
    lines = [
        "slow clients: the boot script fetched every second while N connections drip",
        "(%s; hold %gs; target p99 < 50 ms, 0 failures; a measurement, not a test)"
        % ("two listeners, defaults" if c.new else "an older corrald, one listener", hold),
        "%8s %9s %9s %10s %7s %8s %8s %8s %8s %9s" % (
            "slow", "held min", "held avg", "reconnect", "fetches", "failures", "p50 ms",
            "p99 ms", "max ms", "RSS MiB"),
    ]
    for r in rows:
        lines.append("%8d %9d %9.0f %10d %7d %8d %8.1f %8.1f %8.1f %9.1f" % (
            r["n"], r["held_min"], r["held_avg"], r["reconnects"], r["fetches"], r["failures"],
            r["p50"], r["p99"], r["max"], r["rss"]))
    lines.append("corrald cut %d slow connections in all (its log)" % cuts)
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    (build / "bench").mkdir(exist_ok=True)
    (build / "bench" / "slowloris.txt").write_text(text)


if __name__ == "__main__":
    main()
