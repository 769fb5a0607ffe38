#!/usr/bin/python3
"""`make bench`: Redfish discovery time through corrald, on loopback.

    bench/discovery.py BUILD_DIR    (BUILD_DIR holds corrald; the table also
                                     goes to BUILD_DIR/bench/discovery.txt)

The Redfish fixture (test-vm/redfish_fixture.py, its own process) serves
fake BMCs of the "standard" shape (one system, two NICs, a manager NIC, a
chassis: about nine requests per BMC walk) on loopback addresses, all on
one port.  corrald (a temporary store, its [redfish] defaults unless the
environment says otherwise) discovers, each job with the concurrency shown:

  256 BMCs      127.B.1.0-127.B.1.255, every address a BMC: 256 nodes made
                (at BENCH_RF_LOW, default 64), then the same again twice
                (nothing to change: idempotent), at 64 and at corrald's
                default ([redfish] concurrency, 256);
  /20, 6 BMCs   a mostly empty /20 (4094 host addresses, 6 of them BMCs),
                at 64 and at the default: the rest refuse the connection at
                once (loopback answers RST on a port nobody listens on), so
                this measures the probe rate, not timeouts.

Times are from POST /api/v1/discovery to the job's "done" (polled every
20 ms) and the job's own started/finished.  The fixture is Python (one
thread per connection), so it bounds the 256-BMC number as much as corrald
does.  One run of each, on a shared machine: a measurement, never a
pass/fail test; the script fails only when it cannot measure (a server
does not start, the first discovery does not find all 256 BMCs).

Environment: BENCH_RF_CONCURRENCY (corrald's [redfish] concurrency, default
its own), BENCH_RF_LOW (the lower job concurrency, default 64), BENCH_KEEP=1
(keep the temporary directory).
"""

import http.client
import ipaddress
import json
import os
import pathlib
import random
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
FIXTURE = HERE.parent / "test-vm" / "redfish_fixture.py"
N_FULL = 256
SPARSE_BMCS = 6


def say(msg):
    print("bench-discovery: %s" % msg, file=sys.stderr, flush=True)


def die(msg):
    say("error: " + msg)
    sys.exit(1)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def stop(proc):
    """SIGTERM one process we started, SIGKILL after 10 s."""
    if proc is None or proc.poll() is not None:
        return
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)


class Api:
    def __init__(self, port, token):
        self.port, self.token = port, token

    def call(self, method, path, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            hdrs = {"Authorization": "Bearer " + self.token}
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                hdrs["Content-Type"] = "application/json"
            conn.request(method, path, data, hdrs)
            r = conn.getresponse()
            raw = r.read()
            return r.status, (json.loads(raw) if raw else None)
        finally:
            conn.close()


def start_fixture(tmp, spec, port):
    mp = tmp / "fixture-map.json"
    mp.write_text(json.dumps(spec))
    log = open(tmp / "fixture.log", "wb")
    proc = subprocess.Popen(["/usr/bin/python3", str(FIXTURE), "--map", str(mp), "--port",
                             str(port)], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=log)
    log.close()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if select.select([proc.stdout], [], [], 0.5)[0]:
            line = proc.stdout.readline()
            if line.startswith(b"ready "):
                return proc
            break
    stop(proc)
    return None


def start_corrald(build, tmp, conc):
    port = free_port()
    conf = tmp / "corral.conf"
    rf = "[redfish]\nconcurrency = %s\n" % conc if conc else ""
    conf.write_text(
        "[server]\naddress = 127.0.0.1\nport = %d\napi_port = %d\nadvertise_url = http://127.0.0.1:%d\n"
        "threads = %d\nlog_level = warn\n[store]\npath = %s\n[files]\nroot = %s\n"
        "[auth]\nkey_file = %s\n%s" % (port, port, port, os.cpu_count() or 2, tmp / "corral.db",
                                       tmp / "files", tmp / "secret.key", rf))
    (tmp / "files").mkdir(exist_ok=True)
    cp = subprocess.run([str(build / "corrald"), "-c", str(conf), "token", "create", "bench"],
                        capture_output=True, timeout=30)
    if cp.returncode != 0:
        die("corrald token create: %s" % cp.stderr.decode(errors="replace"))
    token = cp.stdout.decode().strip().splitlines()[-1].strip()
    log = open(tmp / "corrald.log", "wb")
    proc = subprocess.Popen([str(build / "corrald"), "-c", str(conf)], stdin=subprocess.DEVNULL,
                            stdout=log, stderr=log)
    log.close()
    api = Api(port, token)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            if api.call("GET", "/healthz")[0] == 200:
                return proc, api
        except OSError:
            pass
        time.sleep(0.05)
    stop(proc)
    die("corrald did not start: %s" % (tmp / "corrald.log").read_text(errors="replace")[-2000:])


def parse_time(s):
    from datetime import datetime
    return datetime.strptime(s.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


def discover(api, targets, port, conc=None):
    body = {"targets": targets, "port": port, "scheme": "http"}
    if conc:
        body["concurrency"] = conc
    t0 = time.monotonic()
    st, job = api.call("POST", "/api/v1/discovery", body)
    if st != 202:
        die("POST /api/v1/discovery: %d %r" % (st, job))
    while job["state"] == "running":
        if time.monotonic() - t0 > 600:
            die("discovery %d still running after 600 s" % job["id"])
        time.sleep(0.02)
        st, job = api.call("GET", "/api/v1/jobs/%d" % job["id"])
        if st != 200:
            die("GET job: %d %r" % (st, job))
    wall = time.monotonic() - t0
    return wall, parse_time(job["finished"]) - parse_time(job["started"]), job


def main():
    if len(sys.argv) != 2:
        die("usage: bench/discovery.py BUILD_DIR")
    build = pathlib.Path(sys.argv[1]).resolve()
    if not (build / "corrald").exists():
        die("%s/corrald not built (run 'make')" % build)
    conc = os.environ.get("BENCH_RF_CONCURRENCY", "")
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="corral-bench-rf."))
    fx = cd = None
    try:
        port = free_port()
        # Two second octets of 127/8 that nobody else here is likely to use.
        b = random.randrange(64, 240)
        c2 = b + 8
        full = "127.%d.1.0-127.%d.1.255" % (b, b)
        sparse_net = ipaddress.ip_network("127.%d.16.0/20" % c2)
        hosts = list(sparse_net.hosts())
        sparse_bmcs = [str(hosts[i * len(hosts) // SPARSE_BMCS + 7]) for i in range(SPARSE_BMCS)]
        spec = {full: "standard"}
        for a in sparse_bmcs:
            spec[a] = "standard"
        fx = start_fixture(tmp, spec, port)
        if fx is None:
            die("the Redfish fixture did not start: %s" % (tmp / "fixture.log").read_text(
                errors="replace")[-2000:])
        cd, api = start_corrald(build, tmp, conc)
        st, _ = api.call("POST", "/api/v1/credentials", {"name": "default", "username": "admin",
                                                        "password": "admin"})
        if st != 201:
            die("POST /api/v1/credentials: %d" % st)
        load0 = open("/proc/loadavg").read().split()[:3]
        low = int(os.environ.get("BENCH_RF_LOW", "64"))
        runs = [("256 BMCs, new", [full], low), ("256 BMCs, again", [full], low),
                ("256 BMCs, again", [full], None),
                ("/20, %d BMCs" % SPARSE_BMCS, [str(sparse_net)], low),
                ("/20, %d BMCs" % SPARSE_BMCS, [str(sparse_net)], None)]
        rows = []
        for label, targets, cc in runs:
            wall, srv, job = discover(api, targets, port, cc)
            rows.append((label, job, wall, srv))
        first = rows[0][1]
        if first["found"] != N_FULL:
            die("the first discovery found %d of %d BMCs: %r" % (first["found"], N_FULL,
                                                                 first["errors"][:3]))
        load1 = open("/proc/loadavg").read().split()[:3]
        desc = subprocess.run(["git", "-C", str(HERE), "describe", "--always", "--dirty"],
                              capture_output=True, text=True).stdout.strip() or "?"
        lines = [
            "Redfish discovery, %s, %s, %d CPUs, load %s before, %s after" % (
                time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), os.uname().nodename,
                os.cpu_count() or 0, " ".join(load0), " ".join(load1)),
            "corrald %s, [redfish] concurrency %s (a job's own in the table), other [redfish]"
            " settings default; fixture: test-vm/redfish_fixture.py, shape standard, HTTP on"
            " loopback" % (desc, conc or "default"),
            "one run of each (a measurement, not a test); wall = POST to done as the client "
            "saw it, job = corrald's started..finished; ok = BMCs walked without error; systems = of the ok BMCs",
            "",
            "%-18s %11s %7s %5s %4s %7s %7s %7s %7s %7s" % (
                "discovery", "concurrency", "targets", "found", "ok", "systems", "created",
                "wall s", "job s", "addr/s"),
        ]
        for label, job, wall, srv in rows:
            nok = sum(1 for b in job["bmcs"] if b["status"] == "ok")
            linked = sum(b["systems"] for b in job["bmcs"] if b["status"] == "ok")
            lines.append("%-18s %11d %7d %5d %4d %7d %7d %7.2f %7.2f %7.0f" % (
                label, job["concurrency"], job["targets"], job["found"], nok, linked,
                len(job["nodes_created"]), wall, srv, job["targets"] / wall if wall > 0 else 0))
        bad = [(b["address"], b["message"]) for _, job, _, _ in rows for b in job["bmcs"]
               if b["status"] != "ok"]
        if bad:
            lines.append("")
            lines.append("BMCs in error: %d; first: %s: %s" % (len(bad), bad[0][0], bad[0][1]))
        text = "\n".join(lines) + "\n"
        sys.stdout.write(text)
        sys.stdout.flush()
        out = build / "bench"
        out.mkdir(exist_ok=True)
        (out / "discovery.txt").write_text(text)
        say("results written to %s" % (out / "discovery.txt"))
    finally:
        stop(cd)
        stop(fx)
        if fx is not None:
            fx.stdout.close()
        if os.environ.get("BENCH_KEEP"):
            say("kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
