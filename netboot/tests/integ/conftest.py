"""
Integration test harness: starts the real corrald on a loopback port.

CORRAL_BUILD names the build directory holding `corrald` (make check-integ
sets it); without it, <repo>/build is used.  Every corrald a test starts
runs on 127.0.0.1 with its own temporary store, file root and key file, and
is stopped by its PID (SIGTERM, then SIGKILL) when the test or module ends.
When a test fails, the stderr of every corrald still running is attached to
the report.

Fixtures:
  corrald        one daemon per test module (names in tests must be unique)
  fresh_corrald  one daemon per test
  corrald_factory  make(**conf_overrides) -> started Corrald, for tests that
                 need a special configuration
  api            corrald.api bound to the module's daemon
"""
import http.client
import json
import os
import pathlib
import re
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.parse

import pytest

REPO = pathlib.Path(__file__).resolve().parents[3]
BUILD = pathlib.Path(os.environ.get("CORRAL_BUILD") or REPO / "build").resolve()

FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}

# Sentinel for "send no Authorization header at all".
NO_TOKEN = None
ADMIN = object()  # default: the daemon's admin token

_live = []  # every Corrald currently started, for failure reports


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


class Response:
    """(status, headers, body) with tuple unpacking; body is parsed JSON
    for application/json, else bytes."""

    def __init__(self, status, headers, body, raw):
        self.status = status
        self.headers = headers
        self.body = body
        self.raw = raw

    def __iter__(self):
        return iter((self.status, self.headers, self.body))

    def __repr__(self):
        return "<Response %d %r>" % (self.status, self.raw[:300])

    @property
    def text(self):
        return self.raw.decode("utf-8", "replace")

    @property
    def error(self):
        """The {"code","message","field"} object of an error body, or {}."""
        if isinstance(self.body, dict) and isinstance(self.body.get("error"), dict):
            return self.body["error"]
        return {}


def http_request(host, port, method, path, body=None, headers=None, timeout=30, src=None):
    """One request on a fresh connection; `path` goes on the wire as given
    (no client-side normalisation of '..' or '%2e').  src: the source
    address (a loopback one, 127.0.0.x), for requests that stand for a
    node at that address."""
    hdrs = {}
    data = None
    if body is not None:
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = bytes(body)
    if headers:
        hdrs.update(headers)
    if data is not None and "Content-Length" not in hdrs:
        hdrs["Content-Length"] = str(len(data))
    conn = http.client.HTTPConnection(host, port, timeout=timeout,
                                      source_address=(src, 0) if src else None)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for k, v in hdrs.items():
            conn.putheader(k, v)
        conn.endheaders()
        if data:
            conn.send(data)
        resp = conn.getresponse()
        raw = resp.read() if method != "HEAD" else b""
        ctype = resp.getheader("Content-Type", "") or ""
        parsed = raw
        if ctype.startswith("application/json") and raw:
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = raw
        return Response(resp.status, resp.headers, parsed, raw)
    finally:
        conn.close()


class Corrald:
    """One corrald process with its own directory, config, store and tokens."""

    def __init__(self, workdir, build=BUILD, conf=None, port=None):
        self.build = pathlib.Path(build)
        self.binary = self.build / "corrald"
        self.dir = pathlib.Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.host = "127.0.0.1"
        self.url = "http://%s:%d" % (self.host, self.port)
        self.advertise_url = self.url
        self.store_path = self.dir / "corral.db"
        self.files_root = self.dir / "files"
        self.files_root.mkdir(exist_ok=True)
        self.key_file = self.dir / "secret.key"
        self.conf_path = self.dir / "corral.conf"
        self.stderr_path = self.dir / "corrald.stderr"
        self.proc = None
        self.env = None  # environment for corrald; None: inherit
        self.prefix = []  # argv before corrald (e.g. setpriv to drop root)
        self.admin_token = None
        self.read_token = None
        self.conf = {
            "server": {
                "address": "127.0.0.1",
                "port": str(self.port),
                "api_port": str(self.port),  # one plain listener (test_tls.py splits them)
                "advertise_url": self.advertise_url,
                "threads": "2",
                "log_level": "debug",
            },
            "store": {"path": str(self.store_path)},
            "files": {"root": str(self.files_root)},
            "auth": {"key_file": str(self.key_file)},
            "boot": {"unknown_wait": "10"},
            "cloud_init": {"token_ttl": "86400"},
        }
        for sec, kv in (conf or {}).items():
            self.conf.setdefault(sec, {}).update({k: str(v) for k, v in kv.items()})
        self.advertise_url = self.conf["server"].get("advertise_url", self.url)
        self.write_conf()

    # --- configuration -------------------------------------------------
    def conf_text(self, conf=None):
        conf = conf or self.conf
        out = []
        for sec, kv in conf.items():
            out.append("[%s]" % sec)
            out.extend("%s = %s" % (k, v) for k, v in kv.items())
        return "\n".join(out) + "\n"

    def write_conf(self, text=None):
        self.conf_path.write_text(text if text is not None else self.conf_text())

    def set_conf(self, section, key, value):
        self.conf.setdefault(section, {})[key] = str(value)
        self.write_conf()

    # --- processes -----------------------------------------------------
    def run(self, *args, timeout=30, check=False):
        """Runs `corrald -c CONF ARGS…` to completion (not the daemon)."""
        cp = subprocess.run(
            [str(self.binary), "-c", str(self.conf_path), *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
            stdin=subprocess.DEVNULL, env=self.env)
        if check and cp.returncode != 0:
            raise AssertionError("corrald %s exited %d: %s" % (
                " ".join(args), cp.returncode, cp.stderr.decode(errors="replace")))
        return cp

    def token_create(self, name, read_only=False):
        args = ["token", "create", name] + (["--read-only"] if read_only else [])
        cp = self.run(*args, check=True)
        lines = [l for l in cp.stdout.decode().splitlines() if l.strip()]
        assert len(lines) == 1, "token create printed %r" % cp.stdout
        return lines[0].strip()

    def make_tokens(self):
        self.admin_token = self.token_create("test-admin")
        self.read_token = self.token_create("test-read", read_only=True)

    def start(self, wait=True):
        if not self.binary.exists():
            pytest.fail("no corrald at %s (build with make, or set CORRAL_BUILD)" % self.binary)
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self._stderr = open(self.stderr_path, "ab")
        self._stderr.write(b"----- start %s -----\n" % time.strftime("%H:%M:%S").encode())
        self._stderr.flush()
        self.proc = subprocess.Popen(
            self.prefix + [str(self.binary), "-c", str(self.conf_path)],
            stdin=subprocess.DEVNULL, stdout=self._stderr, stderr=self._stderr, env=self.env)
        if self not in _live:
            _live.append(self)
        if wait:
            self.wait_healthy()
        return self

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def wait_healthy(self, timeout=20):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("corrald exited %s during start:\n%s" % (
                    self.proc.returncode, self.stderr_tail()))
            try:
                r = self.get("/healthz", token=NO_TOKEN, timeout=2)
                if r.status == 200:
                    return
                last = r
            except OSError as e:
                last = e
            time.sleep(0.05)
        raise AssertionError("corrald not healthy after %ss (%r):\n%s" % (
            timeout, last, self.stderr_tail()))

    def stop(self, timeout=10):
        """SIGTERM, then SIGKILL after timeout; returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout)
        self._close_log()
        return self.proc.returncode

    def kill9(self):
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self._close_log()

    def signal(self, sig):
        os.kill(self.proc.pid, sig)

    def restart(self):
        self.stop()
        return self.start()

    def _close_log(self):
        f = getattr(self, "_stderr", None)
        if f is not None and not f.closed:
            f.close()

    def cleanup(self):
        try:
            self.stop()
        finally:
            if self in _live:
                _live.remove(self)

    def stderr_tail(self, nbytes=12000):
        try:
            data = self.stderr_path.read_bytes()
        except OSError:
            return "(no stderr file)"
        return data[-nbytes:].decode(errors="replace")

    def stderr_text(self):
        try:
            return self.stderr_path.read_text(errors="replace")
        except OSError:
            return ""

    # --- HTTP --------------------------------------------------------------
    def request(self, method, path, body=None, token=ADMIN, headers=None, timeout=30, src=None):
        hdrs = {}
        if token is ADMIN:
            token = self.admin_token
        if token is not None:
            hdrs["Authorization"] = "Bearer " + token
        if headers:
            hdrs.update(headers)
        return http_request(self.host, self.port, method, path, body, hdrs, timeout, src)

    api = request

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body, **kw)

    def put(self, path, body=None, **kw):
        return self.request("PUT", path, body, **kw)

    def patch(self, path, body=None, **kw):
        return self.request("PATCH", path, body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    # --- helpers for tests ---------------------------------------------
    def ok(self, method, path, body=None, expect=(200, 201, 204), **kw):
        """A request that must succeed; returns the parsed body."""
        r = self.request(method, path, body, **kw)
        if isinstance(expect, int):
            expect = (expect,)
        assert r.status in expect, "%s %s -> %d %r" % (method, path, r.status, r.raw[:500])
        return r.body

    def add_file(self, rel, data):
        p = self.files_root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data if isinstance(data, bytes) else data.encode())
        return p

    def bootscript(self, query, **kw):
        """GET /boot/v1/bootscript?<query> (query a dict or string)."""
        if isinstance(query, dict):
            query = urllib.parse.urlencode(query)
        return self.request("GET", "/boot/v1/bootscript?" + query, token=NO_TOKEN, **kw)

    def record_lease(self, mac, ip="127.0.0.1", ttl=3600):
        """A current DHCP lease of mac on ip, written into the store's lease
        table as corral-dhcp-hook writes it when dnsmasq grants one (these
        daemons run no DHCP).  Node identity (docs/security.md) ties a
        node's boot script, name= and nid= lookups and cloud-init without a
        token to its lease's address; ttl < 0 records an expired one.

        corrald remembers a boot script request's verdict while neither
        its leases nor its inventory change (serve.c); a lease written
        behind its back is not such a change, so one follows: an empty
        PATCH of the defaults, which changes nothing but the inventory's
        generation."""
        self._leases_sql("INSERT INTO leases(mac, ip, expires) VALUES(?, ?, ?)"
                         " ON CONFLICT(mac) DO UPDATE SET ip=excluded.ip,"
                         " expires=excluded.expires",
                         (mac.lower(), ip, int(time.time()) + ttl))

    def drop_lease(self, mac):
        self._leases_sql("DELETE FROM leases WHERE mac=?", (mac.lower(),))

    def _leases_sql(self, sql, args):
        db = sqlite3.connect(str(self.store_path), timeout=30)
        try:
            with db:
                db.execute(sql, args)
        finally:
            db.close()
        r = self.request("PATCH", "/api/v1/defaults", {})
        assert r.status == 200, r

    def metrics(self):
        r = self.get("/metrics", token=NO_TOKEN)
        assert r.status == 200, r
        return r.text


class EventStream:
    """A client of GET /api/v1/stream (Server-Sent Events)."""

    def __init__(self, c, token=ADMIN, timeout=5):
        if token is ADMIN:
            token = c.admin_token
        self.conn = http.client.HTTPConnection(c.host, c.port, timeout=timeout)
        hdrs = {"Accept": "text/event-stream"}
        if token is not None:
            hdrs["Authorization"] = "Bearer " + token
        self.conn.request("GET", "/api/v1/stream", headers=hdrs)
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.headers = self.resp.headers

    def next_event(self, timeout=5):
        """(event, data) of the next event (comments skipped), data parsed
        as JSON when it is; None on timeout."""
        self.conn.sock.settimeout(timeout)
        event, data = None, []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.resp.readline()
            except (socket.timeout, TimeoutError):
                return None
            if not line:
                return None
            line = line.decode().rstrip("\r\n")
            if line == "":
                if event is None and not data:
                    continue
                text = "\n".join(data)
                try:
                    parsed = json.loads(text)
                except ValueError:
                    parsed = text
                return (event or "message", parsed)
            if line.startswith(":"):
                continue
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                event = value
            elif field == "data":
                data.append(value)
        return None

    def events(self, pred, timeout=5):
        """Reads events until pred(event, data) holds; returns all read."""
        got = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ev = self.next_event(max(0.05, deadline - time.monotonic()))
            if ev is None:
                break
            got.append(ev)
            if pred(*ev):
                break
        return got

    def close(self):
        self.conn.close()


def new_corrald(workdir, conf=None, start=True):
    c = Corrald(workdir, conf=conf)
    c.make_tokens()
    if start:
        c.start()
    return c


@pytest.fixture(scope="module")
def corrald(tmp_path_factory):
    c = new_corrald(tmp_path_factory.mktemp("corrald"))
    try:
        yield c
    finally:
        c.cleanup()


@pytest.fixture
def fresh_corrald(tmp_path):
    c = new_corrald(tmp_path / "corrald")
    try:
        yield c
    finally:
        c.cleanup()


@pytest.fixture
def corrald_factory(tmp_path):
    made = []

    def make(conf=None, start=True):
        c = new_corrald(tmp_path / ("corrald%d" % len(made)), conf=conf, start=start)
        made.append(c)
        return c

    try:
        yield make
    finally:
        for c in made:
            c.cleanup()


@pytest.fixture(scope="module")
def api(corrald):
    return corrald.api


def wait_until(fn, timeout=5.0, interval=0.05):
    """Polls fn() until it returns something true (events, discovered
    machines and last-seen addresses are written in batches); returns the
    last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


_counter = [0]


def uniq(prefix="t"):
    """A fresh object name for module-shared daemons."""
    _counter[0] += 1
    return "%s%d-%d" % (prefix, os.getpid() % 1000, _counter[0])


def mac_for(n):
    """A distinct locally administered MAC for an integer."""
    return "02:00:%02x:%02x:%02x:%02x" % ((n >> 24) & 255, (n >> 16) & 255, (n >> 8) & 255, n & 255)


_mac_counter = [0x10000]


def next_mac():
    _mac_counter[0] += 1
    return mac_for(_mac_counter[0] + (os.getpid() % 256) * 0x1000000)


RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


def node(name=None, **kw):
    """A minimal node body with a fresh name and MAC; kw override."""
    n = {"name": name or uniq("n"), "interfaces": [{"mac": next_mac()}]}
    n.update(kw)
    return n


def assert_error(r, status, code, field=None, field_contains=None):
    """r is an error answer with the contract's body; returns its error object."""
    assert r.status == status, r
    assert r.headers.get("Content-Type", "").startswith("application/json"), r.headers
    err = r.error
    assert err.get("code") == code, r
    assert isinstance(err.get("message"), str) and err["message"], r
    if field is not None:
        assert err.get("field") == field, r
    if field_contains is not None:
        assert field_contains in (err.get("field") or ""), r
    return err


def assert_problem(r, status):
    """r is an error in the RFC 7807 problem-details shape (every path under
    /boot/v1 answers so, as OpenCHAMI's BSS does: docs/openchami.md);
    returns {"message": its detail} so callers read it as an error's."""
    assert r.status == status, r
    assert r.headers.get("Content-Type", "").startswith("application/problem+json"), r.headers
    body = json.loads(r.text)
    assert body.get("status") == status and body.get("title"), body
    assert isinstance(body.get("detail"), str) and body["detail"], body
    assert "error" not in body, body
    return {"message": body["detail"]}


class IpxeScript:
    """A boot script split into the parts an admin checks.

    Commands are matched on their first word; `kernel`/`initrd`/`chain`
    options (`--name X`, `-n X`, `--x=y`, `--autofree`, `--replace`) are
    skipped to find the URL.
    """

    RETRY_TAIL = ["||", "goto", "retry"]

    def __init__(self, text):
        self.text = text
        self.lines = text.splitlines()

    def find(self, cmd):
        """Indexes of lines whose first word is cmd."""
        return [i for i, l in enumerate(self.lines) if l.split()[:1] == [cmd]]

    def line(self, cmd):
        idx = self.find(cmd)
        assert len(idx) == 1, "expected one %r line in:\n%s" % (cmd, self.text)
        return self.lines[idx[0]]

    @staticmethod
    def split_cmd(line):
        """(options dict, url, args) of a kernel/initrd/chain line, with any
        trailing '|| goto retry' removed."""
        words = line.split()[1:]
        if words[-3:] == IpxeScript.RETRY_TAIL:
            words = words[:-3]
        opts = {}
        while words and words[0].startswith("-"):
            w = words.pop(0)
            if "=" in w:
                k, v = w.split("=", 1)
                opts[k.lstrip("-")] = v
            elif w in ("-n", "--name", "--timeout", "-t"):
                opts[w.lstrip("-")] = words.pop(0) if words else ""
            else:
                opts[w.lstrip("-")] = True
        assert words, "no URL in %r" % line
        return opts, words[0], words[1:]

    def kernel(self):
        return self.split_cmd(self.line("kernel"))

    def initrd(self):
        return self.split_cmd(self.line("initrd"))

    def initrd_name(self):
        opts, url, _ = self.initrd()
        name = opts.get("name") or opts.get("n")
        return name or url.rstrip("/").rsplit("/", 1)[-1].split("?")[0]

    def kernel_arg(self, key):
        """Value of key=... on the kernel line (first), or None."""
        for a in self.kernel()[2]:
            if a.startswith(key + "="):
                return a[len(key) + 1:]
        return None

    def seed_token(self):
        ds = self.kernel_arg("ds")
        m = re.match(r"^nocloud-net;s=(.*)/cloud-init/([^/]+)/$", ds or "")
        assert m, "no cloud-init seed in kernel line: %r" % ds
        return m.group(1), m.group(2)

    def sleeps(self):
        return [int(l.split()[1]) for l in self.lines
                if l.split()[:1] == ["sleep"] and len(l.split()) > 1 and l.split()[1].isdigit()]

    def chain_urls(self):
        return [self.split_cmd(self.lines[i])[1] for i in self.find("chain")]

    def label(self, name):
        idx = [i for i, l in enumerate(self.lines) if l.strip() == ":" + name]
        assert len(idx) == 1, "expected one :%s label in:\n%s" % (name, self.text)
        return idx[0]


def chain_query(url):
    """(base, {param: value}) of a chain URL."""
    u = urllib.parse.urlsplit(url)
    q = dict(urllib.parse.parse_qsl(u.query, keep_blank_values=True))
    return "%s://%s%s" % (u.scheme, u.netloc, u.path), q


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for c in list(_live):
            rep.sections.append(("corrald stderr (pid %s, %s)" % (c.pid, c.stderr_path),
                                 c.stderr_tail(6000)))
