#!/usr/bin/python3
"""`make bench`: DHCP throughput through corrald, dnsmasq backend against
Kea backend, with a standalone Kea holding the same reservations as the
reference, at 1,000, 10,000 and 50,000 registered nodes, in one run.

    bench/dhcp.py BUILD_DIR    (BUILD_DIR holds corrald; the tables also go
                                to BUILD_DIR/bench/dhcp.txt)

Two network namespaces joined by a veth pair: the server side (10.99.0.1/16)
runs corrald (dhcp.mode = authoritative, dns_port = 0: DHCP only) or the
standalone Kea; the client side (10.99.255.250) runs perfdhcp (Debian's
kea-admin), which relays (giaddr = its address) and asks with `-M` the list
of the registered MACs, so every exchange is a registered node with its
pinned address.  For each server and size the offered rate steps up
(BENCH_DHCP_RATES) for BENCH_DHCP_SECONDS each until two steps in a row
see 1 % or more of the exchanges fail; the table shows DORA/s at the highest offered rate with
< 1 % failed (a failed exchange: a DISCOVER without its ACK), and the
ratios to the standalone Kea.  The standalone Kea runs the configuration
corrald generated (classes, reservations, lease file of its own), with
its log at WARN.

At the largest size, with the Kea backend, also: the time from a node's
registration (POST /api/v1/nodes answered) to the first DHCP offer of its
pinned address, and the longest DHCP silence during a bulk import of all
nodes into an empty inventory (a prober in the client namespace sends a
DISCOVER of an unknown MAC every 10 ms and notes each offer), and the RSS
of corrald and of its DHCP server after each run.

A measurement on a shared machine (2 cores here), never a pass/fail test:
the script fails only when it cannot measure (a server does not start,
perfdhcp is missing).  Environment: BENCH_DHCP_SIZES (default
1000,10000,50000), BENCH_DHCP_RATES (default
250,500,1000,1500,2000,3000,4000,6000,8000), BENCH_DHCP_SECONDS (default 5),
BENCH_KEEP=1 (keep the temporary directory).  Processes are stopped by PID,
the namespaces deleted at exit.
"""

import json
import os
import pathlib
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
KEA = "/usr/sbin/kea-dhcp4"
PERFDHCP = "/usr/sbin/perfdhcp"
SRV_NS, CLI_NS = "corral-bdhcp-srv", "corral-bdhcp-cli"
SRV_IP, CLI_IP = "10.99.0.1", "10.99.255.250"
PORT = 8080


def say(msg):
    print("bench-dhcp: %s" % msg, file=sys.stderr, flush=True)


def die(msg):
    say("error: " + msg)
    sys.exit(1)


def run(argv, check=True, **kw):
    cp = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
    if check and cp.returncode != 0:
        die("%s: %s" % (" ".join(argv), cp.stdout[-2000:]))
    return cp


def mac_of(i):
    return "02:99:%02x:%02x:%02x:%02x" % ((i >> 24) & 255, (i >> 16) & 255, (i >> 8) & 255, i & 255)


def ip_of(i):
    return "10.99.%d.%d" % (1 + (i // 250), 1 + (i % 250))  # 10.99.1.1 ... 10.99.201.x


def nodes_of(n, base=0):
    return [{"name": "b%d" % (base + i),
             "interfaces": [{"mac": mac_of(base + i), "ip": ip_of(base + i)}]} for i in range(n)]


def rss_mb(pid):
    try:
        for ln in pathlib.Path("/proc/%d/status" % pid).read_text().splitlines():
            if ln.startswith("VmRSS:"):
                return int(ln.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return 0.0


def children(pid, comm):
    for task in pathlib.Path("/proc/%d/task" % pid).glob("*"):
        try:
            kids = [int(x) for x in (task / "children").read_text().split()]
        except OSError:
            continue
        for k in kids:
            try:
                if pathlib.Path("/proc/%d/comm" % k).read_text().strip() == comm:
                    return k
            except OSError:
                pass
    return 0


def stop(p):
    if p is None or p.poll() is not None:
        return
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(20)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(10)


# ---- the DHCP prober (runs in the client namespace) -----------------------------

def probe_main(argv):
    """probe MAC SECONDS [WANT_IP]: DISCOVERs every 10 ms from bc0 until
    SECONDS have passed, SIGINT, or (with WANT_IP) an offer of WANT_IP;
    prints JSON {"offers": [t...], "first_want": t or null}, times on the
    system's monotonic clock (time.monotonic(), the same in every process)."""
    mac, seconds = argv[0], float(argv[1])
    stopping = []
    signal.signal(signal.SIGINT, lambda *a: stopping.append(1))
    want = argv[2] if len(argv) > 2 else None
    hw = bytes(int(x, 16) for x in mac.split(":"))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"bc0")
    s.bind(("0.0.0.0", 68))
    s.setblocking(False)
    t0 = time.monotonic()
    offers, first_want, nxt = [], None, 0.0
    while time.monotonic() - t0 < seconds and not stopping:
        now = time.monotonic() - t0
        if now >= nxt:
            xid = random.getrandbits(32)
            pkt = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, 0, xid, 0, 0x8000,
                              b"\0" * 4, b"\0" * 4, b"\0" * 4, b"\0" * 4, hw + b"\0" * 10,
                              b"", b"") + b"\x63\x82\x53\x63\x35\x01\x01\xff"
            s.sendto(pkt, ("255.255.255.255", 67))
            nxt = now + 0.01
        try:
            data = s.recv(2048)
        except BlockingIOError:
            time.sleep(0.002)
            continue
        if len(data) < 240 or data[28:34] != hw:
            continue
        t = time.monotonic()
        offers.append(round(t, 4))
        yiaddr = socket.inet_ntoa(data[16:20])
        if want and yiaddr == want and first_want is None:
            first_want = t
            break
    print(json.dumps({"offers": offers, "first_want": first_want}))
    return 0


# ---- the lab ----------------------------------------------------------------------

class Lab:
    def __init__(self, build, tmp):
        self.build, self.tmp = build, tmp
        for ns in (SRV_NS, CLI_NS):
            run(["ip", "netns", "del", ns], check=False)
            run(["ip", "netns", "add", ns])
        run(["ip", "-n", SRV_NS, "link", "add", "bd0", "type", "veth", "peer", "name", "bc0",
             "netns", CLI_NS])
        run(["ip", "-n", SRV_NS, "addr", "add", SRV_IP + "/16", "dev", "bd0"])
        run(["ip", "-n", CLI_NS, "addr", "add", CLI_IP + "/16", "dev", "bc0"])
        for ns, dev in ((SRV_NS, "bd0"), (CLI_NS, "bc0"), (SRV_NS, "lo"), (CLI_NS, "lo")):
            run(["ip", "-n", ns, "link", "set", dev, "up"])

    def close(self):
        for ns in (SRV_NS, CLI_NS):
            run(["ip", "netns", "del", ns], check=False)

    def perfdhcp(self, macs, n, rate, seconds):
        cp = run(["ip", "netns", "exec", CLI_NS, PERFDHCP, "-4", "-l", "bc0", "-r", str(rate),
                  "-R", str(n), "-M", str(macs), "-p", str(seconds), SRV_IP], check=False,
                 timeout=seconds + 60)
        out = cp.stdout
        sent = re.search(r"DISCOVER-OFFER\*\*\*\nsent packets: (\d+)", out)
        acks = re.search(r"REQUEST-ACK\*\*\*\nsent packets: \d+\nreceived packets: (\d+)", out)
        if not sent or not acks:
            die("perfdhcp printed no statistics:\n" + out[-1500:])
        s, a = int(sent.group(1)), int(acks.group(1))
        return a / seconds, (100.0 * (s - a) / s if s else 100.0)

    def probe(self, mac, seconds, want=None):
        argv = ["ip", "netns", "exec", CLI_NS, sys.executable, __file__, "probe", mac,
                str(seconds)] + ([want] if want else [])
        return subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)


class Corral:
    """corrald in the server namespace with a store of its own."""

    def __init__(self, lab, name, backend):
        self.lab, self.backend = lab, backend
        self.dir = lab.tmp / name
        self.dir.mkdir()
        os.chmod(self.dir, 0o755)
        self.conf = self.dir / "corral.conf"
        self.conf.write_text(
            "[server]\naddress = 0.0.0.0\nport = %d\nadvertise_url = http://%s:%d\n"
            "max_body = 67108864\n[store]\npath = %s/corral.db\n[files]\nroot = %s/files\n"
            "[auth]\nkey_file = %s/secret.key\n[dhcp]\nmode = authoritative\nbackend = %s\n"
            "interface = bd0\nsubnet = 10.99.0.0/16\npool_start = 10.99.250.1\n"
            "pool_end = 10.99.254.254\ndns_port = 0\nstate_dir = %s/dhcp\n"
            % (PORT, SRV_IP, PORT, self.dir, self.dir, self.dir, backend, self.dir))
        cp = run([str(lab.build / "corrald"), "-c", str(self.conf), "token", "create", "bench"])
        self.token = cp.stdout.strip().split()[-1]
        self.log = self.dir / "corrald.log"
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", SRV_NS, str(lab.build / "corrald"), "-c", str(self.conf)],
            stdout=open(self.log, "w"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.wait_for(lambda: self.server_pid() and self.started(), 60, "the DHCP server")

    def text(self):
        return self.log.read_text(errors="replace")

    def wait_for(self, fn, timeout, what, interval=0.05):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            v = fn()
            if v:
                return v
            if self.proc.poll() is not None:
                die("corrald exited:\n" + self.text()[-3000:])
            time.sleep(interval)
        die("corrald: no %s after %d s:\n%s" % (what, timeout, self.text()[-3000:]))

    def server_pid(self):
        return children(self.proc.pid, "kea-dhcp4" if self.backend == "kea" else "dnsmasq")

    def started(self):
        return ("DHCP4_STARTED" if self.backend == "kea" else "DHCP, IP range") in self.text()

    def api(self, method, path, body=None, timeout=600):
        """HTTP to corrald, from a thread in the server namespace (a subprocess: curl)."""
        argv = ["ip", "netns", "exec", SRV_NS, "curl", "-sS", "-o", "/dev/stdout", "-w",
                "\n%{http_code}", "-X", method, "-H", "Authorization: Bearer " + self.token,
                "http://127.0.0.1:%d%s" % (PORT, path)]
        data = None
        if body is not None:
            data = json.dumps(body)
            argv += ["-H", "Content-Type: application/json", "--data-binary", "@-"]
        cp = subprocess.run(argv, input=data, stdout=subprocess.PIPE, text=True, timeout=timeout)
        out, _, code = cp.stdout.rpartition("\n")
        return int(code or 0), out

    def import_nodes(self, nodes):
        t0 = time.monotonic()
        code, out = self.api("POST", "/api/v1/nodes/import", {"nodes": nodes})
        if code != 200:
            die("import: %d %s" % (code, out[:500]))
        return time.monotonic() - t0

    def wait_synced(self, n):
        """Until the DHCP server knows all n nodes; seconds waited."""
        t0 = time.monotonic()
        if self.backend == "kea":
            pat = re.compile(r"Kea reloaded its configuration \((\d+) reservations\)|"
                             r"started kea-dhcp4 \(pid \d+, (\d+) reservations")
            self.wait_for(lambda: any(int(a or b) >= n for a, b in pat.findall(self.text())),
                          900, "Kea with %d reservations" % n, interval=0.2)
        else:  # dnsmasq reads each new host file by inotify and logs it
            self.wait_for(lambda: len(re.findall(r"\]: read \S*/dhcp/hosts/", self.text())) >= n, 1800,
                          "dnsmasq with %d host files" % n, interval=1.0)
        return time.monotonic() - t0

    def close(self):
        stop(self.proc)


class Standalone:
    """kea-dhcp4 alone with the configuration a corrald generated."""

    def __init__(self, lab, conf_path):
        self.dir = lab.tmp / "standalone"
        self.dir.mkdir(exist_ok=True)
        conf = json.loads(pathlib.Path(conf_path).read_text())
        d = conf["Dhcp4"]
        d["control-socket"]["socket-name"] = str(self.dir / "kea4.sock")
        d["lease-database"]["name"] = str(self.dir / "leases4.csv")
        for lg in d["loggers"]:
            lg["severity"] = "WARN"
        path = self.dir / "kea.json"
        path.write_text(json.dumps(conf))
        self.log = self.dir / "kea.log"
        env = dict(os.environ, KEA_PIDFILE_DIR=str(self.dir), KEA_LOCKFILE_DIR="none")
        self.proc = subprocess.Popen(["ip", "netns", "exec", SRV_NS, KEA, "-c", str(path)],
                                     stdout=open(self.log, "w"), stderr=subprocess.STDOUT,
                                     env=env)
        deadline = time.monotonic() + 120
        while "DHCP4_MULTI_THREADING_INFO" not in self.log.read_text(errors="replace"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                die("standalone Kea did not start:\n" + self.log.read_text()[-2000:])
            time.sleep(0.1)
        time.sleep(0.5)

    def close(self):
        stop(self.proc)


def best_rate(lab, macs, n, rates, seconds):
    """(DORA/s, offered) at the highest offered rate with < 1 % failed; every
    step.  The ladder goes on past one failed step (the machine is shared:
    a neighbour's burst is not this server's limit) and stops at two in a row."""
    best, steps, misses = (0.0, 0), [], 0
    lab.perfdhcp(macs, n, 200, 2)  # leases in place: every run asks for them again
    for r in rates:
        got, failed = lab.perfdhcp(macs, n, r, seconds)
        steps.append("%d:%.0f/%.1f%%" % (r, got, failed))
        if failed >= 1.0:
            misses += 1
            if misses == 2:
                break
            continue
        misses = 0
        if got > best[0]:
            best = (got, r)
    return best, steps


def measure_size(lab, n, rates, seconds, out):
    macs = lab.tmp / ("macs-%d.txt" % n)
    macs.write_text("\n".join(mac_of(i) for i in range(n)) + "\n")
    nodes = nodes_of(n)
    res = {}
    kea_conf = None
    for backend in ("kea", "dnsmasq"):
        c = Corral(lab, "%s-%d" % (backend, n), backend)
        try:
            t_imp = c.import_nodes(nodes)
            t_sync = c.wait_synced(n)
            say("%d nodes, %s: import %.1f s, server had them %.1f s later" % (n, backend, t_imp, t_sync))
            (got, offered), steps = best_rate(lab, macs, n, rates, seconds)
            res[backend] = (got, offered, rss_mb(c.proc.pid), rss_mb(c.server_pid()), steps)
            if backend == "kea":
                kea_conf = lab.tmp / ("kea-%d.json" % n)
                shutil.copyfile(c.dir / "dhcp" / "kea" / "kea-dhcp4.json", kea_conf)
                if n == max(SIZES):
                    out.extend(registration_to_answer(lab, c, n))
        finally:
            c.close()
    s = Standalone(lab, kea_conf)
    try:
        (got, offered), steps = best_rate(lab, macs, n, rates, seconds)
        res["standalone"] = (got, offered, 0.0, rss_mb(s.proc.pid), steps)
    finally:
        s.close()
    return res


def registration_to_answer(lab, c, n):
    """With n nodes in Kea: one more node registered, until its first offer."""
    i = n + 7
    p = lab.probe(mac_of(i), 30, ip_of(i))
    time.sleep(1.0)  # the prober runs (its MAC is unknown: pool offers)
    code, _ = c.api("POST", "/api/v1/nodes", nodes_of(1, i)[0])
    t201 = time.monotonic()
    r = json.loads(p.communicate(timeout=60)[0])
    if code != 201 or r["first_want"] is None:
        return ["registration -> first DHCP answer at %d nodes: no answer within 30 s" % n]
    return ["registration -> first DHCP offer of its address at %d nodes (Kea): %.2f s after "
            "the 201 (target < 2 s)" % (n, max(r["first_want"] - t201, 0.0))]


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "probe":
        return probe_main(sys.argv[2:])
    if len(sys.argv) != 2:
        die("usage: bench/dhcp.py BUILD_DIR")
    build = pathlib.Path(sys.argv[1]).resolve()
    if os.geteuid() != 0:
        die("needs root (network namespaces)")
    for f in (KEA, PERFDHCP, build / "corrald"):
        if not os.access(f, os.X_OK):
            die("%s missing (make deps; make)" % f)
    rates = [int(x) for x in os.environ.get(
        "BENCH_DHCP_RATES", "250,500,1000,1500,2000,3000,4000,6000,8000").split(",")]
    seconds = int(os.environ.get("BENCH_DHCP_SECONDS", "5"))
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="corral-bench-dhcp-"))
    os.chmod(tmp, 0o755)
    lab = Lab(build, tmp)
    lines, extra = [], []
    try:
        for n in SIZES:
            res = measure_size(lab, n, rates, seconds, extra)
            ref = res["standalone"][0]
            for kind, label in (("dnsmasq", "Corral+dnsmasq"), ("kea", "Corral+Kea"),
                                ("standalone", "standalone Kea")):
                got, offered, crss, srss, steps = res[kind]
                ratio = "%5.2fx" % (got / ref) if ref else "    -"
                lines.append("%7d  %-15s %7.0f DORA/s (offered %5d)  %s  corrald %5.0f MB  "
                             "server %5.0f MB   [%s]" % (n, label, got, offered, ratio, crss,
                                                          srss, " ".join(steps)))
        n = max(SIZES)
        extra.append(silence_line(lab, n))
    finally:
        lab.close()
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            say("kept %s" % tmp)
    text = ("DHCP: DORA/s at the highest offered rate with < 1 %% failed, ratio to standalone "
            "Kea (same reservations); perfdhcp %d s per step, offered rate:achieved/failed\n"
            "  nodes  server              result                        ratio  memory (RSS)\n"
            % seconds + "\n".join(lines) + "\n" + "\n".join(extra) + "\n")
    print(text, end="")
    (build / "bench").mkdir(exist_ok=True)
    (build / "bench" / "dhcp.txt").write_text(text)
    return 0


def silence_line(lab, n):
    p_out = []
    c = Corral(lab, "silence-%d" % n, "kea")
    try:
        p = lab.probe("02:98:00:00:00:01", 600)
        time.sleep(1.0)
        t_imp = c.import_nodes(nodes_of(n))
        c.wait_synced(n)
        time.sleep(2.0)
        p.send_signal(signal.SIGINT)
        out = p.communicate(timeout=30)[0]
        p_out = json.loads(out)["offers"] if out.strip() else []
    finally:
        c.close()
    gaps = [b - a for a, b in zip(p_out, p_out[1:])]
    longest = max(gaps) if gaps else float("nan")
    return ("longest DHCP silence during an import of %d nodes (Kea, import took %.1f s): "
            "%.2f s (target < 2 s; %d offers seen)" % (n, t_imp, longest, len(p_out)))


SIZES = [int(x) for x in os.environ.get("BENCH_DHCP_SIZES", "1000,10000,50000").split(",")]

if __name__ == "__main__":
    sys.exit(main())
