#!/usr/bin/python3
"""`make bench`: DHCP throughput through corrald, dnsmasq backend against
Kea backend, with a standalone Kea holding the same reservations as the
reference, at 1,000, 10,000 and 50,000 registered nodes, in one run.

    bench/dhcp.py BUILD_DIR    (BUILD_DIR holds corrald; the tables also go
                                to BUILD_DIR/bench/dhcp.txt)

Each server has a lane of its own: two network namespaces joined by a veth
pair, the server side (10.99.0.1/16) running corrald (dhcp.mode =
authoritative, dns_port = 0: DHCP only) or the standalone Kea, the client
side (10.99.255.250) running perfdhcp (Debian's kea-admin), which relays
(giaddr = its address) and asks with `-M` the list of the registered MACs,
so every exchange is a registered node with its pinned address.  The three
servers run side by side, and each offered rate (BENCH_DHCP_RATES, for
BENCH_DHCP_SECONDS) is tried on each in turn, so the load of this shared
machine hits them alike; a server leaves the race after two steps in a row
in which 1 % or more of the exchanges failed (a DISCOVER without its ACK).
The table shows DORA/s at the highest offered rate with < 1 % failed, and
the ratios to the standalone Kea, which runs the configuration corrald
generated (classes, reservations; a lease file of its own; its log at
WARN).

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
BENCH_DHCP_SERVERS (default kea,dnsmasq,standalone; standalone needs kea),
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
NS = "corral-bdhcp"  # corral-bdhcp<lane>-srv / -cli
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
    """One lane per server: a server and a client namespace joined by a veth
    pair (bd0 10.99.0.1/16, bc0 10.99.255.250/16).  The lanes are alike and
    isolated, so the servers run side by side and the rate steps alternate
    between them: a neighbour's load on this shared machine hits all alike."""

    def __init__(self, build, tmp, lanes):
        self.build, self.tmp, self.lanes = build, tmp, lanes
        for i in range(lanes):
            srv, cli = self.srv(i), self.cli(i)
            for ns in (srv, cli):
                run(["ip", "netns", "del", ns], check=False)
                run(["ip", "netns", "add", ns])
            run(["ip", "-n", srv, "link", "add", "bd0", "type", "veth", "peer", "name", "bc0",
                 "netns", cli])
            run(["ip", "-n", srv, "addr", "add", SRV_IP + "/16", "dev", "bd0"])
            run(["ip", "-n", cli, "addr", "add", CLI_IP + "/16", "dev", "bc0"])
            for ns, dev in ((srv, "bd0"), (cli, "bc0"), (srv, "lo"), (cli, "lo")):
                run(["ip", "-n", ns, "link", "set", dev, "up"])

    @staticmethod
    def srv(lane):
        return "%s%d-srv" % (NS, lane)

    @staticmethod
    def cli(lane):
        return "%s%d-cli" % (NS, lane)

    def close(self):
        for i in range(self.lanes):
            for ns in (self.srv(i), self.cli(i)):
                run(["ip", "netns", "del", ns], check=False)

    def perfdhcp(self, lane, macs, n, rate, seconds):
        cp = run(["ip", "netns", "exec", self.cli(lane), PERFDHCP, "-4", "-l", "bc0", "-r",
                  str(rate), "-R", str(n), "-M", str(macs), "-p", str(seconds), SRV_IP],
                 check=False, timeout=seconds + 60)
        out = cp.stdout
        sent = re.search(r"DISCOVER-OFFER\*\*\*\nsent packets: (\d+)", out)
        acks = re.search(r"REQUEST-ACK\*\*\*\nsent packets: \d+\nreceived packets: (\d+)", out)
        if not sent or not acks:
            die("perfdhcp printed no statistics:\n" + out[-1500:])
        s, a = int(sent.group(1)), int(acks.group(1))
        return a / seconds, (100.0 * (s - a) / s if s else 100.0)

    def probe(self, lane, mac, seconds, want=None):
        argv = ["ip", "netns", "exec", self.cli(lane), sys.executable, __file__, "probe", mac,
                str(seconds)] + ([want] if want else [])
        return subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)


class Corral:
    """corrald in the server namespace with a store of its own."""

    def __init__(self, lab, lane, name, backend):
        self.lab, self.lane, self.backend = lab, lane, backend
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
        self.note = None  # what a dnsmasq run needed (a restart)
        self.start()

    def start(self):
        self.log_from = self.log.stat().st_size if self.log.exists() else 0
        self.reads, self.read_at = 0, self.log_from
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", lab_srv(self), str(self.lab.build / "corrald"), "-c",
             str(self.conf)],
            stdout=open(self.log, "a"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.wait_for(lambda: self.server_pid() and self.started(), 600, "the DHCP server")

    def text(self):
        """The log of the running corrald (not of one before a restart)."""
        with open(self.log, "rb") as f:
            f.seek(self.log_from)
            return f.read().decode(errors="replace")

    def host_reads(self):
        """Host files dnsmasq logged it read, counted as the log grows."""
        with open(self.log, "rb") as f:
            f.seek(self.read_at)
            data = f.read()
        cut = data.rfind(b"\n") + 1
        self.reads += len(re.findall(rb"\]: read \S*/dhcp/hosts/", data[:cut]))
        self.read_at += cut
        return self.reads

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
        argv = ["ip", "netns", "exec", lab_srv(self), "curl", "-sS", "-o", "/dev/stdout", "-w",
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
        else:
            self.wait_dnsmasq(n)
        return time.monotonic() - t0

    def wait_dnsmasq(self, n):
        """dnsmasq reads each new host file by inotify and logs it.  Its
        inotify queue holds 16,384 events (fs.inotify.max_queued_events):
        beyond that it misses files until a restart reads the directory.
        When it stops reading for 30 s, corrald is restarted (as an admin
        would have to), and that is noted."""
        last, changed, deadline = -1, time.monotonic(), time.monotonic() + 3600
        while time.monotonic() < deadline:
            got = self.host_reads()
            if got >= n:
                return
            if got != last:
                last, changed = got, time.monotonic()
            elif time.monotonic() - changed > 30:
                self.note = ("dnsmasq read %d of %d new host files, then no more (its inotify "
                             "queue overflowed); corrald restarted" % (got, n))
                say(self.note)
                stop(self.proc)
                t0 = time.monotonic()
                self.start()
                self.wait_for(lambda: self.host_reads() >= n, 3600,
                              "dnsmasq with %d host files after a restart" % n, interval=1.0)
                self.note += ", after which dnsmasq took %.0f s to read them all" % (
                    time.monotonic() - t0)
                return
            time.sleep(1.0)
        die("dnsmasq did not read %d host files within an hour" % n)

    def close(self):
        stop(self.proc)


class Standalone:
    """kea-dhcp4 alone with the configuration a corrald generated."""

    def __init__(self, lab, lane, conf_path):
        self.lane = lane
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
        self.proc = subprocess.Popen(["ip", "netns", "exec", lab.srv(lane), KEA, "-c", str(path)],
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


def ladders(lab, servers, macs, n, rates, seconds):
    """For each server (kind -> lane): (DORA/s, offered) at the highest offered
    rate with < 1 % failed, and every step.  The steps alternate between the
    servers; each goes on past one failed step (a neighbour's burst is not
    its limit) and leaves the race at two in a row."""
    best = {k: (0.0, 0) for k in servers}
    steps = {k: [] for k in servers}
    misses = {k: 0 for k in servers}
    for lane in servers.values():
        lab.perfdhcp(lane, macs, n, 200, 2)  # leases in place: every run asks for them again
    for r in rates:
        for kind, lane in servers.items():
            if misses[kind] >= 2:
                continue
            got, failed = lab.perfdhcp(lane, macs, n, r, seconds)
            steps[kind].append("%d:%.0f/%.1f%%" % (r, got, failed))
            if failed >= 1.0:
                misses[kind] += 1
                continue
            misses[kind] = 0
            if got > best[kind][0]:
                best[kind] = (got, r)
    return best, steps


def measure_size(lab, n, rates, seconds, out):
    """Corral+Kea (lane 0), Corral+dnsmasq (1) and the standalone Kea (2) at n nodes."""
    macs = lab.tmp / ("macs-%d.txt" % n)
    macs.write_text("\n".join(mac_of(i) for i in range(n)) + "\n")
    nodes = nodes_of(n)
    corrals, lanes = {}, {}
    standalone = None
    try:
        for lane, backend in enumerate(("kea", "dnsmasq")):
            if backend not in SERVERS:
                continue
            c = corrals[backend] = Corral(lab, lane, "%s-%d" % (backend, n), backend)
            t_imp = c.import_nodes(nodes)
            t_sync = c.wait_synced(n)
            say("%d nodes, %s: import %.1f s, server had them %.1f s later"
                % (n, backend, t_imp, t_sync))
            if c.note:
                out.append("%d nodes, Corral+dnsmasq: %s" % (n, c.note))
            lanes[backend] = lane
        if "standalone" in SERVERS and "kea" in corrals:
            conf = corrals["kea"].dir / "dhcp" / "kea" / "kea-dhcp4.json"
            standalone = Standalone(lab, 2, conf)
            lanes["standalone"] = 2
        best, steps = ladders(lab, lanes, macs, n, rates, seconds)
        res = {}
        for kind in ("kea", "dnsmasq", "standalone"):
            if kind not in lanes:
                res[kind] = (0.0, 0, 0.0, 0.0, ["not run"])
                continue
            c = corrals.get(kind)
            srv = standalone.proc.pid if kind == "standalone" else c.server_pid()
            res[kind] = best[kind] + (rss_mb(c.proc.pid) if c else 0.0, rss_mb(srv),
                                      steps[kind])
            say("%d nodes, %s: %.0f DORA/s (offered %d) [%s]"
                % (n, kind, best[kind][0], best[kind][1], " ".join(steps[kind])))
        if "kea" in corrals and n == max(SIZES):
            out.extend(registration_to_answer(lab, corrals["kea"], n))
        return res
    finally:
        for c in corrals.values():
            c.close()
        if standalone is not None:
            standalone.close()


def registration_to_answer(lab, c, n):
    """With n nodes in Kea: one more node registered, until its first offer."""
    i = n + 7
    p = lab.probe(c.lane, mac_of(i), 30, ip_of(i))
    time.sleep(1.0)  # the prober runs (its MAC is unknown: pool offers)
    before = len(RELOADED.findall(c.text()))
    code, _ = c.api("POST", "/api/v1/nodes", nodes_of(1, i)[0])
    t201 = time.monotonic()
    r = json.loads(p.communicate(timeout=60)[0])
    if code != 201 or r["first_want"] is None:
        return ["registration -> first DHCP answer at %d nodes: no answer within 30 s" % n]
    reloads = RELOADED.findall(c.text())[before:]
    return ["registration -> first DHCP offer of its address at %d nodes (Kea): %.2f s after "
            "the 201 (target < 2 s; Kea's config-reload took %s ms)"
            % (n, max(r["first_want"] - t201, 0.0), ", ".join(ms for _, ms in reloads) or "?")]


def lab_srv(c):
    return Lab.srv(c.lane)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "probe":
        return probe_main(sys.argv[2:])
    if len(sys.argv) != 2:
        die("usage: bench/dhcp.py BUILD_DIR")
    # SIGTERM or SIGINT (make interrupted): unwind, so every process and namespace goes
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: sys.exit(128 + signum))
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
    lab = Lab(build, tmp, 3)
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
    c = Corral(lab, 0, "silence-%d" % n, "kea")
    try:
        p = lab.probe(0, "02:98:00:00:00:01", 600)
        time.sleep(1.0)
        t_imp = c.import_nodes(nodes_of(n))
        c.wait_synced(n)
        time.sleep(2.0)
        p.send_signal(signal.SIGINT)
        out = p.communicate(timeout=30)[0]
        p_out = json.loads(out)["offers"] if out.strip() else []
        text = c.text()
    finally:
        c.close()
    gaps = [b - a for a, b in zip(p_out, p_out[1:])]
    longest = max(gaps) if gaps else float("nan")
    return ("longest DHCP silence during an import of %d nodes (Kea, import took %.1f s, "
            "Kea's config-reload %s ms): %.2f s (target < 2 s; %d offers seen)"
            % (n, t_imp, ", ".join(ms for _, ms in RELOADED.findall(text)) or "?", longest,
               len(p_out)))


SIZES = [int(x) for x in os.environ.get("BENCH_DHCP_SIZES", "1000,10000,50000").split(",")]
SERVERS = os.environ.get("BENCH_DHCP_SERVERS", "kea,dnsmasq,standalone").split(",")
RELOADED = re.compile(r"Kea reloaded its configuration \((\d+) reservations\) in (\d+) ms")

if __name__ == "__main__":
    sys.exit(main())
