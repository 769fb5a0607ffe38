"""
Network namespaces for DHCP/TFTP/DNS tests against the real dnsmasq.

A Lab is one private boot network: a server namespace with a bridge
(10.NN.0.1/24, NN picked at random in 100..199 among the numbers no
namespace of ours uses yet) where corrald runs with [dhcp] authoritative,
and client namespaces, each joined to the bridge by a veth pair whose
client end has a chosen MAC.  Clients run busybox udhcpc, nslookup and tftp.
All traffic stays inside these namespaces; the test process talks to
corrald over the server namespace's loopback, from one worker thread that
has entered that namespace (setns(2) changes only the calling thread).

Teardown stops only the processes the Lab started, by PID (corrald with
SIGTERM then SIGKILL; its dnsmasq dies with it), then `ip netns del` every
namespace the Lab made, which removes the bridge and veths with them.

Needs root, iproute2, busybox and /usr/sbin/dnsmasq; Lab.skip_reason()
says why not.
"""
import concurrent.futures
import ctypes
import os
import pathlib
import random
import re
import shutil
import signal
import subprocess
import tempfile
import time

from conftest import ADMIN, BUILD, Corrald, _live, http_request

DNSMASQ = "/usr/sbin/dnsmasq"
CLONE_NEWNET = 0x40000000
NS_PREFIX = "corral-dhcp"  # every namespace a Lab makes: corral-dhcp<NN>-…

_libc = ctypes.CDLL(None, use_errno=True)

# udhcpc's event script: prints the lease (one key=value a line) on "bound".
UDHCPC_SCRIPT = """#!/bin/sh
case "$1" in
bound|renew)
	echo "ip=$ip"
	echo "lease=$lease"
	echo "hostname=$hostname"
	echo "domain=$domain"
	echo "router=$router"
	echo "dns=$dns"
	echo "serverid=$serverid"
	echo "siaddr=$siaddr"
	echo "boot_file=$boot_file"
	;;
esac
exit 0
"""


def run(argv, check=True, timeout=30, **kw):
    cp = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        stdin=subprocess.DEVNULL, timeout=timeout, text=True, **kw)
    if check and cp.returncode != 0:
        raise AssertionError("%s exited %d: %s%s" % (" ".join(argv), cp.returncode,
                                                     cp.stdout, cp.stderr))
    return cp


def skip_reason():
    """Why a Lab cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root (network namespaces)"
    if not os.access(DNSMASQ, os.X_OK):
        return "no %s (Debian's dnsmasq-base)" % DNSMASQ
    for tool in ("ip", "busybox"):
        if shutil.which(tool) is None:
            return "no %s" % tool
    if not (BUILD / "corral-dhcp-hook").exists():
        return "no %s/corral-dhcp-hook (run make)" % BUILD
    return None


def _setns(name):
    """Moves the calling thread into network namespace `name`."""
    fd = os.open("/var/run/netns/%s" % name, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            e = ctypes.get_errno()
            raise OSError(e, "setns(%s): %s" % (name, os.strerror(e)))
    finally:
        os.close(fd)


def children(pid):
    """PIDs whose parent is pid (from /proc/<pid>/task/*/children)."""
    out = []
    for task in pathlib.Path("/proc/%d/task" % pid).glob("*"):
        try:
            out += [int(x) for x in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def comm(pid):
    try:
        return pathlib.Path("/proc/%d/comm" % pid).read_text().strip()
    except OSError:
        return ""


class NsCorrald(Corrald):
    """A Corrald (conftest.py) run inside a Lab's server namespace: started
    with `ip netns exec` (which execs in place, so the PID is corrald's) and
    reached over that namespace's loopback."""

    def __init__(self, lab, workdir, conf=None):
        self.lab = lab
        super().__init__(workdir, conf=conf, port=8080)

    def start(self, wait=True):
        # As Corrald.start, with `ip netns exec SERVER` in front.
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self._stderr = open(self.stderr_path, "ab")
        self._stderr.write(b"----- start %s -----\n" % time.strftime("%H:%M:%S").encode())
        self._stderr.flush()
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", self.lab.server, str(self.binary), "-c",
             str(self.conf_path)],
            stdin=subprocess.DEVNULL, stdout=self._stderr, stderr=self._stderr)
        if self not in _live:
            _live.append(self)
        if wait:
            self.wait_healthy()
        return self

    def request(self, method, path, body=None, token=ADMIN, headers=None, timeout=30):
        # As Corrald.request, on the Lab's thread in the server namespace.
        hdrs = {}
        if token is ADMIN:
            token = self.admin_token
        if token is not None:
            hdrs["Authorization"] = "Bearer " + token
        hdrs.update(headers or {})
        return self.lab.in_server(http_request, self.host, self.port, method, path, body,
                                  hdrs, timeout)

    api = request

    def dnsmasq_pid(self):
        """PID of the dnsmasq that is corrald's child now, or 0."""
        if not self.alive():
            return 0
        for c in children(self.pid):
            if comm(c) == "dnsmasq":
                return c
        return 0

    def wait_dnsmasq(self, timeout=10, not_pid=0):
        """Waits for a dnsmasq child (other than not_pid) that listens on
        port 67; returns its PID."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            p = self.dnsmasq_pid()
            if p and p != not_pid and self.lab.server_listens_udp(67):
                return p
            time.sleep(0.05)
        raise AssertionError("no dnsmasq after %ss:\n%s" % (timeout, self.stderr_tail()))

    def corral_cli(self, *args):
        """Runs build/corral in the server namespace against this daemon."""
        env = dict(os.environ)
        env.update(CORRAL_URL="http://127.0.0.1:%d" % self.port, CORRAL_TOKEN=self.admin_token,
                   XDG_CONFIG_HOME="/nonexistent-corral-test")
        return run(["ip", "netns", "exec", self.lab.server, str(self.build / "corral"), *args],
                   check=False, env=env)


class Client:
    """One machine on the boot network: a namespace with eth0 (given MAC)."""

    def __init__(self, lab, ns, mac):
        self.lab, self.ns, self.mac = lab, ns, mac

    def exec(self, argv, check=False, timeout=30):
        return run(["ip", "netns", "exec", self.ns, *argv], check=check, timeout=timeout)

    def dhcp(self, request_ip=None, tries=3, kill_after=None):
        """One `udhcpc -n -q`: the lease as a dict (ip, lease, hostname, …),
        or None when no server answered.  kill_after (seconds) stops a run
        that takes longer (busybox sleeps 3 s after a NAK; pollers would
        rather ask again), which then also counts as None."""
        argv = ["busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-t", str(tries), "-T", "1",
                "-s", str(self.lab.script)]
        if request_ip:
            argv += ["-r", request_ip]
        try:
            cp = self.exec(argv, timeout=kill_after or tries * 3 + 10)
        except subprocess.TimeoutExpired:
            return None  # subprocess.run killed it (its own child, by PID)
        vals = dict(l.split("=", 1) for l in cp.stdout.splitlines() if "=" in l)
        if cp.returncode != 0 or not vals.get("ip"):
            return None
        self.lab.leased.add(vals["ip"])
        return vals

    def set_ip(self, ip):
        self.exec(["ip", "addr", "flush", "dev", "eth0"], check=True)
        self.exec(["ip", "addr", "add", "%s/24" % ip, "dev", "eth0"], check=True)

    def nslookup(self, name):
        """Addresses the Lab's DNS gives for name ([] if none)."""
        cp = self.exec(["busybox", "nslookup", name, self.lab.server_ip], timeout=15)
        out, seen = [], False
        for line in cp.stdout.splitlines():
            if line.startswith("Name:"):
                seen = True
            elif seen:
                m = re.match(r"^Address(?: \d+)?:\s*([0-9.]+)$", line.strip())
                if m:
                    out.append(m.group(1))
        return out

    def tftp_get(self, remote):
        """The file's bytes over TFTP from the server, or None."""
        fd, local = tempfile.mkstemp(dir=self.lab.dir, prefix="tftp-")
        os.close(fd)
        try:
            cp = self.exec(["busybox", "tftp", "-g", "-r", remote, "-l", local,
                            self.lab.server_ip], timeout=20)
            if cp.returncode != 0:
                return None
            return pathlib.Path(local).read_bytes()
        finally:
            os.unlink(local)


class Lab:
    """A server namespace with a bridge, corrald in it, client namespaces."""

    def __init__(self):
        self.namespaces = []
        self.clients = []
        self.corralds = []
        self.leased = set()  # every address a client of this Lab was given
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="corral-dhcp-"))
        # dnsmasq drops root after start: it must reach the TFTP root and
        # host files as "nobody" (mkdtemp makes the directory 0700).
        os.chmod(self.dir, 0o755)
        self.script = self.dir / "udhcpc.sh"
        self.script.write_text(UDHCPC_SCRIPT)
        self.script.chmod(0o755)
        self.nn = self._pick_net()
        self.server = "%s%d-srv" % (NS_PREFIX, self.nn)
        self.server_ip = "10.%d.0.1" % self.nn
        self.subnet = "10.%d.0.0/24" % self.nn
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, initializer=_setns, initargs=(self.server,))
        try:
            self._add_ns(self.server)
            self.ip_srv("link", "set", "lo", "up")
            # A fixed address: a bridge that takes its lowest port's MAC
            # changes it when a client with a lower one joins, and a client
            # that cached the old one loses the server until its ARP entry
            # fails (the late-hook test's request hung for 12-20 s about one
            # run in ten, depending on the random veth MACs).
            self.ip_srv("link", "add", "br0", "address", "02:cb:%02x:00:00:01" % self.nn,
                        "type", "bridge", "stp_state", "0", "forward_delay", "0")
            # A port that is always up keeps br0's carrier on, so dnsmasq
            # starts on a live link and the first client is not the one
            # that brings the bridge up (its first offers would be lost).
            self.ip_srv("link", "add", "anchor0", "type", "veth", "peer", "name", "anchor1")
            self.ip_srv("link", "set", "anchor0", "master", "br0")
            self.ip_srv("link", "set", "anchor0", "up")
            # anchor1 has no address, but the kernel would still answer the
            # clients' ARP for the server's address on it (the bridge floods
            # it there too): a second, wrong answer.
            self.ip_srv("link", "set", "anchor1", "arp", "off")
            self.ip_srv("link", "set", "anchor1", "up")
            self.ip_srv("addr", "add", "%s/24" % self.server_ip, "dev", "br0")
            self.ip_srv("link", "set", "br0", "up")
        except BaseException:
            self.close()
            raise

    @staticmethod
    def _pick_net():
        used = run(["ip", "netns", "list"]).stdout
        free = [n for n in range(100, 200) if "%s%d-" % (NS_PREFIX, n) not in used]
        assert free, "no free 10.NN network among 100..199"
        return random.choice(free)

    def _add_ns(self, name):
        run(["ip", "netns", "add", name])
        self.namespaces.append(name)

    def ip_srv(self, *args):
        return run(["ip", "-n", self.server, *args])

    def ip4(self, host):
        return "10.%d.0.%d" % (self.nn, host)

    def in_server(self, fn, *args):
        """fn(*args) on the thread that lives in the server namespace."""
        return self._pool.submit(fn, *args).result()

    def server_listens_udp(self, port):
        cp = run(["ip", "netns", "exec", self.server, "ss", "-Hlun", "sport", "= :%d" % port],
                 check=False)
        return bool(cp.stdout.strip())

    def client(self, mac):
        """A new client namespace whose eth0 (MAC mac) is on the bridge."""
        i = len(self.clients)
        ns = "%s%d-c%d" % (NS_PREFIX, self.nn, i)
        self._add_ns(ns)
        host_end = "vc%d" % i
        run(["ip", "-n", self.server, "link", "add", host_end, "type", "veth", "peer", "name",
             "eth0", "netns", ns])
        run(["ip", "-n", ns, "link", "set", "eth0", "address", mac])
        run(["ip", "-n", ns, "link", "set", "lo", "up"])
        run(["ip", "-n", ns, "link", "set", "eth0", "up"])
        self.ip_srv("link", "set", host_end, "master", "br0")
        self.ip_srv("link", "set", host_end, "up")
        c = Client(self, ns, mac)
        self.clients.append(c)
        return c

    def corrald(self, name="corrald", dhcp=None, start=True):
        """corrald in the server namespace, [dhcp] authoritative on br0, its
        store, files and state directory under the Lab's directory."""
        work = self.dir / name
        state = work / "dhcp"
        d = {
            "mode": "authoritative",
            "interface": "br0",
            "subnet": self.subnet,
            "pool_start": self.ip4(100),
            "pool_end": self.ip4(199),
            "state_dir": str(state),
        }
        d.update(dhcp or {})
        c = NsCorrald(self, work, conf={
            "server": {"address": "0.0.0.0",
                       "advertise_url": "http://%s:8080" % self.server_ip},
            "dhcp": d,
        })
        os.chmod(work, 0o755)
        c.state_dir = state
        c.make_tokens()
        self.corralds.append(c)
        if start:
            c.start()
        return c

    def close(self):
        for c in self.corralds:
            try:
                if c.alive():
                    os.kill(c.pid, signal.SIGTERM)
                    try:
                        c.proc.wait(10)
                    except subprocess.TimeoutExpired:
                        os.kill(c.pid, signal.SIGKILL)
                        c.proc.wait(10)
                c._close_log()
            except (OSError, AttributeError):
                pass
            if c in _live:
                _live.remove(c)
        self._pool.shutdown(wait=True) if hasattr(self, "_pool") else None
        for ns in reversed(self.namespaces):
            run(["ip", "netns", "del", ns], check=False)
        self.namespaces = []
        shutil.rmtree(self.dir, ignore_errors=True)


def wait_for(fn, timeout=5.0, interval=0.05):
    """Polls fn() until it returns something true; returns the last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)
