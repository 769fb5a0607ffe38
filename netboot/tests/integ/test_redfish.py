"""Redfish in corrald: discovery, inventory, credentials, power and boot.

A Redfish fixture server (test-vm/redfish_fixture.py, run as its own
process and stopped by its PID) serves fake BMCs of every tree shape it
knows, and bad peers, on addresses 127.B.x.y of a second octet B picked
per module (loopback needs no setup).  corrald runs with short Redfish
timeouts and a 64 KiB reply cap so the hung and huge peers end quickly.

What discovery should find at each address is the fixture's own
expected(): the nodes' MACs are compared exactly (as sets: the order of a
walk's replies is not fixed), the skipped host-to-BMC and VLAN MACs must
appear nowhere, and bad peers must leave a clear BMC status or job error
and no node.  Power and boot jobs are checked against the fixture's
state (resets received, boot override, power state).
"""
import datetime
import json
import os
import pathlib
import random
import select
import signal
import stat
import subprocess
import sys
import time
import urllib.request

import pytest

from conftest import REPO, EventStream, assert_error, free_port, new_corrald, next_mac, uniq

sys.path.insert(0, str(REPO / "test-vm"))
import redfish_fixture as F  # noqa: E402

FIXTURE = REPO / "test-vm" / "redfish_fixture.py"
TIMEOUT_MS = 1000  # corrald's [redfish] timeout_ms in these tests
MAX_REPLY = 65536  # and max_reply (its smallest)
RF_CONF = {"redfish": {"timeout_ms": TIMEOUT_MS, "connect_timeout_ms": 500,
                       "max_reply": MAX_REPLY, "concurrency": 64}}

GOOD = [s for s in F.SHAPES if s not in F.BAD_PEERS]
BAD = list(F.BAD_PEERS)


# ---------------------------------------------------------------- helpers

class FixtureProc:
    """redfish_fixture.py --map in its own process; stop() by PID."""

    def __init__(self, spec, workdir, port=None, huge_mib=1, cert=None, key=None):
        self.spec = spec
        self.port = port or free_port()
        self.dir = pathlib.Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.map = self.dir / "fixture-map.json"
        self.map.write_text(json.dumps(spec))
        self.log = open(self.dir / "fixture.stderr", "ab")
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", str(FIXTURE), "--map", str(self.map), "--port",
             str(self.port), "--huge-mib", str(huge_mib)] +
            (["--cert", str(cert), "--key", str(key)] if cert else []),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.log)
        line = b""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.proc.poll() is None:
            r, _, _ = select.select([self.proc.stdout], [], [], 0.5)
            if r:
                line = self.proc.stdout.readline()
                break
        if not line.startswith(b"ready "):
            self.stop()
            raise RuntimeError("redfish fixture did not start: %r %s" % (
                line, (self.dir / "fixture.stderr").read_text(errors="replace")[-2000:]))
        self.endpoints = int(line.split()[1])

    @property
    def pid(self):
        return self.proc.pid

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.proc.stdout.close()
        self.log.close()

    def state(self, addr):
        """The fixture's GET /_fixture/state of addr (power, boot, resets)."""
        with urllib.request.urlopen("http://%s:%d/_fixture/state" % (addr, self.port),
                                    timeout=10) as r:
            return json.loads(r.read())


def start_fixture(spec_of_base, workdir, tries=6, **kw):
    """Starts the fixture on 127.B.*.* for a random B (another B if the
    addresses are taken); spec_of_base(B) -> map.  Returns (proc, B)."""
    last = None
    for _ in range(tries):
        b = random.randrange(64, 250)
        try:
            return FixtureProc(spec_of_base(b), workdir, **kw), b
        except RuntimeError as e:
            last = e
    raise last


def mac_prefix(addr):
    """Every MAC the fixture serves at addr starts so."""
    b, c, d = F._octets(addr)
    return "02:%02x:%02x:%02x:" % (b, c, d)


def wait_job(c, job, timeout=60):
    """Polls GET /api/v1/jobs/<id> until done; returns the final job."""
    deadline = time.monotonic() + timeout
    jid = job["id"]
    while True:
        r = c.get("/api/v1/jobs/%d" % jid)
        assert r.status == 200, r
        if r.body["state"] != "running":
            return r.body
        assert time.monotonic() < deadline, "job %d still running: %r" % (jid, r.body)
        time.sleep(0.1)


def discover(c, targets, port, credential=None, **extra):
    body = {"targets": targets, "port": port, "scheme": extra.pop("scheme", "http")}
    if credential:
        body["credential"] = credential
    body.update(extra)
    r = c.post("/api/v1/discovery", body)
    assert r.status == 202, r
    assert r.body["state"] in ("running", "done") and r.body["type"] == "discovery", r.body
    return wait_job(c, r.body)


def bmcs(c):
    r = c.get("/api/v1/bmcs")
    assert r.status == 200, r
    return {(b["address"], b["port"]): b for b in r.body}


def nodes(c):
    r = c.get("/api/v1/nodes?limit=1000000")
    assert r.status == 200, r
    body = r.body["nodes"] if isinstance(r.body, dict) else r.body
    return {n["name"]: n for n in body}


def node_macs(n):
    return [i["mac"] for i in n["interfaces"]]


def owners(c, prefix):
    """{mac: node} for every node MAC starting with prefix."""
    return {m: name for name, n in nodes(c).items() for m in node_macs(n) if m.startswith(prefix)}


def control(c, route, body, timeout=60):
    r = c.post(route, body)
    assert r.status == 202, r
    job = wait_job(c, r.body, timeout)
    return job, {n["node"]: n for n in job["nodes"]}


# ---------------------------------------------------------------- the world

@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """One fixture process (every shape, plus addresses for the conflict,
    credential and power tests) and one corrald with a default credential;
    the shapes are discovered once, here."""
    work = tmp_path_factory.mktemp("redfish")

    def spec(b):
        s = {"127.%d.1.%d" % (b, i + 1): shape for i, shape in enumerate(F.SHAPES)}
        s["127.%d.2.1-127.%d.2.4" % (b, b)] = "standard"              # conflicts
        s["127.%d.2.10" % b] = {"shape": "standard", "password": "not-this-one"}
        s["127.%d.2.20" % b] = {"shape": "standard", "user": "svc",
                                "password": "Sv3-%s-kQ7xZ" % b}             # secret test
        s["127.%d.3.1-127.%d.3.3" % (b, b)] = "standard"              # power, boot
        s["127.%d.3.4" % b] = "boot-revert"
        s["127.%d.3.5" % b] = "dell"
        s["127.%d.3.6" % b] = "limited-reset"
        s["127.%d.3.7" % b] = "multi-system"
        return s

    fx, b = start_fixture(spec, work / "fixture")
    c = new_corrald(work / "corrald", conf=RF_CONF)
    try:
        c.ok("POST", "/api/v1/credentials",
             {"name": "default", "username": "admin", "password": "admin"}, expect=201)
        shape_addr = {shape: "127.%d.1.%d" % (b, i + 1) for i, shape in enumerate(F.SHAPES)}
        t0 = time.monotonic()
        job = discover(c, ["127.%d.1.1-127.%d.1.%d" % (b, b, len(F.SHAPES))], fx.port)
        took = time.monotonic() - t0
        yield {"fx": fx, "b": b, "c": c, "job": job, "took": took, "addr": shape_addr,
               "port": fx.port}
    finally:
        c.cleanup()
        fx.stop()


def bmc_of(world, shape):
    return bmcs(world["c"]).get((world["addr"][shape], world["port"]))


# ---------------------------------------------------------------- shapes

def test_discovery_job_counts(world):
    job = world["job"]
    assert job["state"] == "done"
    assert job["targets"] == len(F.SHAPES) and job["probed"] == len(F.SHAPES), job
    # Every address that serves a service root (or refuses with 401/5xx) is found.
    not_found = {"malformed-root", "not-redfish", "hang", "stall", "huge"}
    assert job["found"] == len(F.SHAPES) - len(not_found), job
    # Hung peers cost about one timeout, not more (all probed at once).
    assert world["took"] < 10 * TIMEOUT_MS / 1000.0, world["took"]
    assert sorted(job["nodes_created"]) == sorted(set(job["nodes_created"])), job


@pytest.mark.parametrize("shape", GOOD)
def test_shape_nodes_and_macs(world, shape):
    """The right nodes with exactly the right MACs, and the right BMC MAC."""
    c, addr = world["c"], world["addr"][shape]
    exp = F.expected(addr, shape)
    b = bmc_of(world, shape)
    assert b is not None, "no BMC recorded for %s (%s)" % (addr, shape)
    if shape == "no-systems":
        # A service without systems (an enclosure manager, a PDU): an ok
        # BMC that says why it made no node, and no error in the job.
        assert b["status"] == "ok" and "no Systems" in b["message"], b
        assert b["systems"] == [] and owners(c, mac_prefix(addr)) == {}, b
        assert not [e for e in world["job"]["errors"] if e.get("address") == addr], \
            world["job"]["errors"]
        return
    assert b["status"] == "ok", b
    assert b["mac"] == exp["bmc_mac"], (b["mac"], exp["bmc_mac"])
    assert b["uuid"] == F.bmc_uuid(addr), b
    got = {s["path"].rstrip("/"): s for s in b["systems"]}
    assert sorted(got) == sorted(s["path"] for s in exp["systems"]), (got.keys(), exp)
    all_nodes = nodes(c)
    made = set()
    for es in exp["systems"]:
        s = got[es["path"]]
        for key in ("uuid", "serial", "model", "manufacturer", "power_state"):
            assert s.get(key) == es[key], (key, s, es)
        if es["macs"]:
            assert s["node"], "system %s made no node: %r" % (es["path"], s)
            n = all_nodes[s["node"]]
            assert sorted(node_macs(n)) == sorted(es["macs"]), (n, es["macs"])
            assert n["metadata"].get("bmc") == addr, n["metadata"]
            made.add(s["node"])
        else:
            assert s["node"] is None, s
            assert any(x["bmc"] == addr and x["system"].rstrip("/") == es["path"]
                       for x in world["job"]["conflicts"]), world["job"]["conflicts"]
    # No other node holds a MAC of this address; skipped MACs are nowhere.
    own = owners(c, mac_prefix(addr))
    assert set(own.values()) == made, own
    for skip in exp["skip"]:
        if skip["mac"] not in (m for es in exp["systems"] for m in es["macs"]):
            assert skip["mac"] not in own, skip
    assert made <= set(world["job"]["nodes_created"]), world["job"]["nodes_created"]


def test_allowed_reset_types_and_boot_targets_recorded(world):
    """Reset types as the BMC allows them, inline or through @Redfish.ActionInfo."""
    wrong = []
    for shape in GOOD:
        b = bmc_of(world, shape)
        if b is None or b["status"] != "ok":
            continue
        got = {s["path"].rstrip("/"): s for s in b["systems"]}
        for es in F.expected(world["addr"][shape], shape)["systems"]:
            s = got.get(es["path"], {})
            if sorted(s.get("reset_types") or []) != sorted(es["reset_types"]) or \
                    sorted(s.get("boot_targets") or []) != sorted(es["boot_targets"]):
                wrong.append((shape, s.get("reset_types"), es["reset_types"]))
    assert not wrong, wrong


def test_second_discovery_changes_nothing(world):
    c, b = world["c"], world["b"]
    before_nodes = nodes(c)
    before_bmcs = bmcs(c)
    job = discover(c, ["127.%d.1.1-127.%d.1.%d" % (b, b, len(F.SHAPES))], world["port"])
    assert job["nodes_created"] == [] and job["nodes_updated"] == [], job
    after = nodes(c)
    assert sorted(after) == sorted(before_nodes)
    for name, n in before_nodes.items():
        assert node_macs(after[name]) == node_macs(n), name
        assert after[name]["metadata"] == n["metadata"], name
    after_bmcs = bmcs(c)
    assert sorted(after_bmcs) == sorted(before_bmcs)
    for k, v in before_bmcs.items():
        w = dict(after_bmcs[k])
        v = dict(v)
        # Of a failing BMC, how far its walk got (the message, the firmware)
        # is not fixed; its status is.
        drop = ("last_seen",) if v["status"] == "ok" else ("last_seen", "message", "firmware",
                                                           "mac", "model", "vendor", "uuid")
        for t in drop:
            w.pop(t, None)
            v.pop(t, None)
        assert sorted((s["path"], s["node"]) for s in w.pop("systems")) == \
            sorted((s["path"], s["node"]) for s in v.pop("systems")), k
        assert w == v, k


# ---------------------------------------------------------------- bad peers

@pytest.mark.parametrize("shape", BAD)
def test_bad_peer_clear_result_nothing_half_written(world, shape):
    c, addr = world["c"], world["addr"][shape]
    job = world["job"]
    b = bmc_of(world, shape)
    errs = [e["message"] for e in job["errors"] if e["address"] == addr]
    outcome = F.BAD_PEERS[shape]
    if outcome == "auth-failed":
        assert b is not None and b["status"] == "auth_failed", b
        assert "credentials" in b["message"], b
    elif outcome in ("error", "malformed"):
        assert b is not None and b["status"] == "error", b
        assert b["message"], b
        word = {"error": "500", "malformed": "malformed JSON"}[outcome]
        assert word in b["message"], b
    elif outcome == "not-redfish":
        assert b is None, b
        assert errs and "not with Redfish JSON" in errs[0], job["errors"]
    elif outcome == "timeout":
        assert b is None, b
        assert errs and "did not answer within %d ms" % TIMEOUT_MS in errs[0], job["errors"]
    elif outcome == "too-large":
        # Either a BMC in error or a job error, but said, and with the cap.
        said = (b["message"] if b else "") + " ".join(errs)
        assert "larger than %d bytes" % MAX_REPLY in said, (b, job["errors"])
    else:
        pytest.fail("unknown outcome %s" % outcome)
    if b is not None:
        assert b["systems"] == [], b
    assert owners(c, mac_prefix(addr)) == {}, "a bad peer made nodes"


# ---------------------------------------------------------------- conflicts

def test_conflict_macs_of_two_nodes_reported_nothing_overwritten(world):
    c, b, port = world["c"], world["b"], world["port"]
    addr = "127.%d.2.1" % b
    m11, m12 = F.mac(addr, 1, 1), F.mac(addr, 1, 2)
    na, nb = uniq("owna"), uniq("ownb")
    c.ok("POST", "/api/v1/nodes", {"name": na, "interfaces": [{"mac": m11}]}, expect=201)
    c.ok("POST", "/api/v1/nodes", {"name": nb, "interfaces": [{"mac": m12}]}, expect=201)
    before = nodes(c)
    job = discover(c, [addr], port)
    assert job["nodes_created"] == [] and job["nodes_updated"] == [], job
    assert len(job["conflicts"]) == 1, job["conflicts"]
    x = job["conflicts"][0]
    assert x["bmc"] == addr and x["system"] == "/redfish/v1/Systems/1", x
    assert x["node"] in (na, nb) and "several nodes" in x["message"], x
    after = nodes(c)
    assert sorted(after) == sorted(before)
    for name in (na, nb):
        assert after[name] == before[name], name
    sysrec = bmcs(c)[(addr, port)]["systems"]
    assert [s["node"] for s in sysrec] == [None], sysrec
    # Again: the same report, still nothing changed.
    job = discover(c, [addr], port)
    assert len(job["conflicts"]) == 1 and job["nodes_created"] == [], job
    assert nodes(c)[na] == before[na] and nodes(c)[nb] == before[nb]


def test_conflict_on_rediscovery_keeps_the_bmc_link(world):
    """A node already linked to its system; an operator moves one of its MACs
    to another node, so the next discovery finds the MACs spread over two
    nodes: a conflict, reported, and the link stays (power still works)."""
    c, b, port = world["c"], world["b"], world["port"]
    addr = "127.%d.2.4" % b
    m11, m12 = F.mac(addr, 1, 1), F.mac(addr, 1, 2)
    job = discover(c, [addr], port)
    [name] = job["nodes_created"]
    assert bmcs(c)[(addr, port)]["systems"][0]["node"] == name
    c.ok("PATCH", "/api/v1/nodes/" + name, {"interfaces": [{"mac": m11}]}, expect=200)
    other = uniq("moved")
    c.ok("POST", "/api/v1/nodes", {"name": other, "interfaces": [{"mac": m12}]}, expect=201)
    job = discover(c, [addr], port)
    assert len(job["conflicts"]) == 1 and "several nodes" in job["conflicts"][0]["message"], job
    assert job["nodes_created"] == [] and job["nodes_updated"] == [], job
    assert bmcs(c)[(addr, port)]["systems"][0]["node"] == name
    _, res = control(c, "/api/v1/power", {"targets": [name], "action": "status"})
    assert res[name]["ok"] is True and res[name]["power_state"] in ("On", "Off"), res
    # The other node never was this system: it has no BMC.
    _, res = control(c, "/api/v1/power", {"targets": [other], "action": "status"})
    assert res[other]["ok"] is False and "no BMC" in res[other]["message"], res


def test_known_node_is_linked_not_duplicated(world):
    """A node that already holds one of the system's MACs is that system:
    it gets the free MAC, keeps its own, and no second node appears."""
    c, b, port = world["c"], world["b"], world["port"]
    addr = "127.%d.2.2" % b
    m11, m12 = F.mac(addr, 1, 1), F.mac(addr, 1, 2)
    own, extra = uniq("known"), next_mac()
    c.ok("POST", "/api/v1/nodes", {"name": own, "interfaces": [{"mac": m11}, {"mac": extra}],
                                    "role": "keep-me"}, expect=201)
    job = discover(c, [addr], port)
    assert job["nodes_created"] == [] and job["nodes_updated"] == [own], job
    assert job["conflicts"] == [], job
    n = nodes(c)[own]
    assert node_macs(n) == [m11, extra, m12], n
    assert n["role"] == "keep-me"
    assert owners(c, mac_prefix(addr)) == {m11: own, m12: own}
    job = discover(c, [addr], port)
    assert job["nodes_created"] == [] and job["nodes_updated"] == [], job


def test_bmc_rejecting_credentials_is_auth_failed_and_makes_no_node(world):
    c, b, port = world["c"], world["b"], world["port"]
    addr = "127.%d.2.10" % b  # public service root, 401 for everything else
    job = discover(c, [addr], port)
    rec = bmcs(c)[(addr, port)]
    assert rec["status"] == "auth_failed" and "credentials" in rec["message"], rec
    assert rec["systems"] == [], rec
    assert job["nodes_created"] == [] and owners(c, mac_prefix(addr)) == {}
    assert [x["status"] for x in job["bmcs"]] == ["auth_failed"], job


# ---------------------------------------------------------------- credentials

def test_credentials_never_shown_nor_logged(world):
    c, b, port = world["c"], world["b"], world["port"]
    secret = "Sv3-%d-kQ7xZ" % b  # what the BMC at 127.B.2.20 wants
    # Make it long and unusual so a grep cannot match by chance.
    c.ok("POST", "/api/v1/credentials", {"name": "svc", "username": "svc", "password": secret},
         expect=201)
    r = c.post("/api/v1/credentials", {"name": "svc2", "username": "svc",
                                       "password": "unlikely-" + secret + "-Zq9"})
    assert r.status == 201 and "password" not in r.body, r
    secrets = [secret.encode(), ("unlikely-" + secret + "-Zq9").encode()]
    lst = c.get("/api/v1/credentials")
    assert lst.status == 200
    assert {x["name"] for x in lst.body} >= {"default", "svc", "svc2"}
    for x in lst.body:
        assert set(x) == {"name", "username", "created", "updated"}, x
    addr = "127.%d.2.20" % b
    job = discover(c, [addr], port, credential="svc")
    rec = bmcs(c)[(addr, port)]
    assert rec["status"] == "ok" and rec["credential"] == "svc", rec
    name = rec["systems"][0]["node"]
    pjob, _ = control(c, "/api/v1/power", {"targets": [name], "action": "status"})
    raws = [c.get(p).raw for p in ("/api/v1/credentials", "/api/v1/bmcs", "/api/v1/nodes",
                                   "/api/v1/jobs/%d" % job["id"],
                                   "/api/v1/jobs/%d" % pjob["id"], "/api/v1/status")]
    raws.append(c.metrics().encode())
    log = c.stderr_path.read_bytes()
    assert b"/api/v1/credentials" in log  # the log is on (debug) and was read
    for s in secrets:
        for raw in raws:
            assert s not in raw
        assert s not in log, "a password is in corrald's log"
        # Sealed at rest: not in the store in clear.
        for f in c.store_path.parent.glob(c.store_path.name + "*"):
            assert s not in f.read_bytes(), f


def test_key_file_created_0600(tmp_path):
    c = new_corrald(tmp_path / "k", conf=RF_CONF, start=False)
    try:
        if c.key_file.exists():
            c.key_file.unlink()
        c.start()
        c.ok("POST", "/api/v1/credentials", {"name": "k", "username": "u", "password": "p"},
             expect=201)
        st = os.stat(c.key_file)
        assert stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode)
        assert st.st_size > 0
    finally:
        c.cleanup()


def test_credential_validation_and_in_use(world):
    c = world["c"]
    for body, field in [({"name": "x y", "username": "u", "password": "p"}, "name"),
                        ({"name": "x", "password": "p"}, "username"),
                        ({"name": "x", "username": "u"}, "password"),
                        ({"name": "x", "username": "u", "password": "p" * 256}, "password"),
                        ({"name": "x", "username": "u", "password": "p", "extra": 1}, "body")]:
        assert_error(c.post("/api/v1/credentials", body), 422, "invalid_field", field=field)
    # "default" is used by the BMCs found: not deleted.
    r = c.delete("/api/v1/credentials/default")
    assert_error(r, 409, "conflict")
    assert_error(c.delete("/api/v1/credentials/nope-" + uniq()), 404, "not_found")
    c.ok("POST", "/api/v1/credentials", {"name": "unused", "username": "u", "password": "p"},
         expect=201)
    c.ok("DELETE", "/api/v1/credentials/unused", expect=204)
    assert "unused" not in {x["name"] for x in c.get("/api/v1/credentials").body}


def test_discovery_validation(world):
    c = world["c"]
    bad = [({"targets": []}, "targets"), ({"targets": ["10.0.0.0/8"]}, "targets"),
           ({"targets": ["10.0.0.9-10.0.0.1"]}, "targets"), ({"targets": ["a b"]}, "targets"),
           ({"targets": ["127.0.0.1"], "port": 0}, "port"),
           ({"targets": ["127.0.0.1"], "scheme": "ftp"}, "scheme"),
           ({"targets": ["127.0.0.1"], "concurrency": 0}, "concurrency"),
           ({"targets": ["127.0.0.1"], "bogus": 1}, "bogus"),
           ({"targets": ["127.0.0.1"], "credential": "no-such-" + uniq()}, "credential")]
    for body, field in bad:
        assert_error(c.post("/api/v1/discovery", body), 422, "invalid_field", field=field)
    assert_error(c.get("/api/v1/jobs/999999"), 404, "not_found")
    assert_error(c.get("/api/v1/discovery/x"), 404, "not_found")
    # GET /api/v1/discovery/<id> is the same job as /jobs/<id>.
    j = world["job"]
    assert c.get("/api/v1/discovery/%d" % j["id"]).body == c.get("/api/v1/jobs/%d" % j["id"]).body


def test_bmc_delete_keeps_nodes(world):
    c, b, port = world["c"], world["b"], world["port"]
    addr = "127.%d.2.3" % b
    job = discover(c, [addr], port)
    [name] = job["nodes_created"]
    c.ok("DELETE", "/api/v1/bmcs/" + addr, expect=204)
    assert (addr, port) not in bmcs(c)
    assert name in nodes(c)
    assert_error(c.delete("/api/v1/bmcs/" + addr), 404, "not_found")
    # Power needs the BMC: a clear per-node failure now.
    _, res = control(c, "/api/v1/power", {"targets": [name], "action": "status"})
    assert res[name]["ok"] is False and "no BMC" in res[name]["message"], res
    # Rediscovery links the same node again, no duplicate.
    job = discover(c, [addr], port)
    assert job["nodes_created"] == [] and job["nodes_updated"] == [], job
    assert bmcs(c)[(addr, port)]["systems"][0]["node"] == name


# ---------------------------------------------------------------- power, boot

@pytest.fixture(scope="module")
def power_nodes(world):
    c, b, port = world["c"], world["b"], world["port"]
    job = discover(c, ["127.%d.3.1-127.%d.3.7" % (b, b)], port)
    assert all(x["status"] == "ok" for x in job["bmcs"]), job
    out = {}
    for (addr, p), rec in bmcs(c).items():
        if p == port and addr.startswith("127.%d.3." % b):
            for s in rec["systems"]:
                out.setdefault(addr, []).append(s["node"])
    return out


def one(power_nodes, world, last):
    addr = "127.%d.3.%d" % (world["b"], last)
    return addr, power_nodes[addr][0]


def test_power_status_on_off_reset_cycle(world, power_nodes):
    c, fx = world["c"], world["fx"]
    addr, name = one(power_nodes, world, 1)
    _, res = control(c, "/api/v1/power", {"targets": [name], "action": "status"})
    assert res[name]["ok"] is True and res[name]["power_state"] == "Off", res
    assert fx.state(addr)["resets"] == []
    steps = [("on", "On", "On"), ("off", "ForceOff", "Off"), ("on", "On", "On"),
             ("reset", "ForceRestart", "On"), ("cycle", "ForceRestart", "On")]
    for action, rtype, power in steps:
        job, res = control(c, "/api/v1/power", {"targets": [name], "action": action})
        assert job["action"] == action and job["type"] == "power"
        assert res[name]["ok"] is True, res
        assert res[name]["reset_type"] == rtype, res
        assert res[name]["power_state"] == power, res  # read back after the reset
        st = fx.state(addr)
        assert st["resets"][-1] == ["1", rtype], st
        assert st["systems"]["1"]["power"] == power, st
    assert len(fx.state(addr)["resets"]) == len(steps)
    # The BMC list keeps the last state read, and when it was read.
    sys_ = [s for s in bmcs(c)[(addr, int(world["port"]))]["systems"] if s["node"] == name][0]
    t0 = time.time()
    control(c, "/api/v1/power", {"targets": [name], "action": "status"})
    sys2 = [s for s in bmcs(c)[(addr, int(world["port"]))]["systems"] if s["node"] == name][0]
    assert sys_["power_state"] == sys2["power_state"] == "On", (sys_, sys2)
    checked = datetime.datetime.strptime(sys2["power_checked"], "%Y-%m-%dT%H:%M:%S.%fZ")
    checked = checked.replace(tzinfo=datetime.timezone.utc).timestamp()
    assert t0 - 1 <= checked <= time.time() + 1, sys2
    assert sys2["power_checked"] > sys_["power_checked"], (sys_, sys2)


def test_power_group_and_bad_targets(world, power_nodes):
    c, b = world["c"], world["b"]
    names = [power_nodes["127.%d.3.%d" % (b, i)][0] for i in (2, 3)]
    g = uniq("pwgrp")
    c.ok("POST", "/api/v1/groups", {"name": g}, expect=201)
    for n in names:
        c.ok("PATCH", "/api/v1/nodes/" + n, {"groups": [g]})
    _, res = control(c, "/api/v1/power", {"targets": [g], "action": "status"})
    assert sorted(res) == sorted(names) and all(r["ok"] for r in res.values()), res
    assert_error(c.post("/api/v1/power", {"targets": ["no-" + uniq()], "action": "on"}),
                 422, "invalid_field", field="targets")
    assert_error(c.post("/api/v1/power", {"targets": names, "action": "explode"}),
                 422, "invalid_field", field="action")
    assert_error(c.post("/api/v1/power", {"targets": [], "action": "on"}),
                 422, "invalid_field", field="targets")
    # A node no BMC knows: a clear per-node failure, the others unaffected.
    lone = uniq("nobmc")
    c.ok("POST", "/api/v1/nodes", {"name": lone, "interfaces": [{"mac": next_mac()}]},
         expect=201)
    _, res = control(c, "/api/v1/power", {"targets": [lone, names[0]], "action": "status"})
    assert res[lone]["ok"] is False and "no BMC" in res[lone]["message"], res
    assert res[names[0]]["ok"] is True, res


def test_boot_pxe_once_continuous_reset_read_back(world, power_nodes):
    c, fx = world["c"], world["fx"]
    addr, name = one(power_nodes, world, 3)
    job, res = control(c, "/api/v1/boot", {"targets": [name], "once": True})
    assert job["type"] == "boot" and job["boot"] == {"target": "pxe", "once": True,
                                                     "reset": False}, job
    assert res[name]["ok"] is True, res
    assert res[name]["boot_override"] == {"target": "Pxe", "enabled": "Once"}, res
    s = fx.state(addr)["systems"]["1"]
    assert (s["boot_target"], s["boot_enabled"]) == ("Pxe", "Once"), s
    _, res = control(c, "/api/v1/boot", {"targets": [name], "once": False})
    assert res[name]["boot_override"] == {"target": "Pxe", "enabled": "Continuous"}, res
    s = fx.state(addr)["systems"]["1"]
    assert (s["boot_target"], s["boot_enabled"]) == ("Pxe", "Continuous"), s
    # Once and reset from Off: powered on, and the override is used up.
    control(c, "/api/v1/power", {"targets": [name], "action": "off"})
    _, res = control(c, "/api/v1/boot", {"targets": [name], "reset": True})
    assert res[name]["ok"] is True and res[name]["reset_type"] == "On", res
    st = fx.state(addr)
    assert st["resets"][-1] == ["1", "On"] and st["systems"]["1"]["power"] == "On", st
    assert st["systems"]["1"]["boot_target"] == "None", st  # a real once-boot happened
    # From On: a restart.
    _, res = control(c, "/api/v1/boot", {"targets": [name], "reset": True})
    assert res[name]["ok"] is True and res[name]["reset_type"] == "ForceRestart", res
    for body, field in [({"targets": [name], "target": "hdd"}, "target"),
                        ({"targets": [name], "once": "yes"}, "once")]:
        assert_error(c.post("/api/v1/boot", body), 422, "invalid_field", field=field)


def test_boot_override_silently_reverted_is_a_failure(world, power_nodes):
    c, fx = world["c"], world["fx"]
    addr, name = one(power_nodes, world, 4)
    _, res = control(c, "/api/v1/boot", {"targets": [name], "reset": True})
    assert res[name]["ok"] is False and "reads back None" in res[name]["message"], res
    st = fx.state(addr)
    assert st["patches"] == 1 and st["resets"] == [], st  # no reset after a failed override


def test_multi_system_bmc_controls_each_system(world, power_nodes):
    c, fx = world["c"], world["fx"]
    addr = "127.%d.3.7" % world["b"]
    names = power_nodes[addr]
    assert len(names) == 2
    _, res = control(c, "/api/v1/power", {"targets": names, "action": "on"})
    assert all(r["ok"] for r in res.values()), res
    st = fx.state(addr)
    assert sorted(r[0] for r in st["resets"]) == ["Blade1", "Blade2"], st


def test_power_on_when_already_on_is_not_a_failure(world, power_nodes):
    """iDRAC answers 409 to On while On: the node is on, as asked."""
    c = world["c"]
    addr, name = one(power_nodes, world, 5)
    _, res = control(c, "/api/v1/power", {"targets": [name], "action": "on"})
    assert res[name]["ok"] is True, res
    _, res = control(c, "/api/v1/power", {"targets": [name], "action": "on"})
    assert res[name]["ok"] is True and res[name]["power_state"] == "On", res


def test_reset_uses_a_type_from_action_info(world, power_nodes):
    """Reset types listed only in @Redfish.ActionInfo (no ForceRestart)."""
    c, fx = world["c"], world["fx"]
    addr, name = one(power_nodes, world, 6)
    control(c, "/api/v1/power", {"targets": [name], "action": "on"})
    _, res = control(c, "/api/v1/power", {"targets": [name], "action": "reset"})
    assert res[name]["ok"] is True, res
    assert fx.state(addr)["resets"][-1] == ["1", "GracefulRestart"]


def test_finished_job_is_announced_on_the_stream(world, power_nodes):
    """Live pages learn that a job is done (and reload what it changed)
    without polling it: an `event: job` with the job's summary."""
    c = world["c"]
    addr, name = one(power_nodes, world, 5)
    es = EventStream(c)
    try:
        assert es.status == 200
        r = c.post("/api/v1/power", {"targets": [name], "action": "status"})
        assert r.status == 202, r
        jid = r.body["id"]
        got = es.events(lambda ev, d: ev == "job" and d.get("id") == jid, timeout=30)
    finally:
        es.close()
    assert got and got[-1][0] == "job", got
    done = got[-1][1]
    assert done["state"] == "done" and done["type"] == "power" and done["action"] == "status"
    assert done["nodes"] == 1 and done["failed"] == 0 and done["finished"], done
    assert done == [j for j in c.get("/api/v1/jobs").body if j["id"] == jid][0]


def test_jobs_in_flight_do_not_block_the_api(world):
    """A discovery stuck on hung peers leaves the API answering at once."""
    c = world["c"]
    hang = world["addr"]["hang"]
    r = c.post("/api/v1/discovery", {"targets": [hang] * 1, "port": world["port"],
                                     "scheme": "http"})
    assert r.status == 202
    t0 = time.monotonic()
    assert c.get("/api/v1/nodes").status == 200
    assert c.get("/healthz").status == 200
    assert time.monotonic() - t0 < TIMEOUT_MS / 1000.0 / 2
    job = wait_job(c, r.body)
    assert job["errors"] and "did not answer" in job["errors"][0]["message"], job


# ---------------------------------------------------------------- TLS

@pytest.fixture(scope="module")
def tls_fixture(world, tmp_path_factory):
    """The fixture over HTTPS with a self-signed certificate for 127.B.4.1-2."""
    work = tmp_path_factory.mktemp("redfish-tls")
    b = world["b"]
    cert, key = work / "bmc.crt", work / "bmc.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=corral-test-bmc", "-keyout", str(key), "-out", str(cert),
                    "-addext", "subjectAltName=IP:127.%d.4.1,IP:127.%d.4.2" % (b, b)],
                   check=True, capture_output=True, timeout=60)
    spec = {"127.%d.4.1-127.%d.4.2" % (b, b): "standard"}
    fx = FixtureProc(spec, work / "fixture", cert=cert, key=key)
    try:
        yield {"fx": fx, "cert": cert, "addrs": ["127.%d.4.1" % b, "127.%d.4.2" % b]}
    finally:
        fx.stop()


def test_tls_verified_by_default_untrusted_certificate_said(world, tls_fixture):
    c, fx = world["c"], tls_fixture["fx"]
    addr = tls_fixture["addrs"][0]
    r = c.post("/api/v1/discovery", {"targets": [addr], "port": fx.port})
    assert r.status == 202 and r.body["scheme"] == "https" and r.body["insecure"] is False
    job = wait_job(c, r.body)
    assert owners(c, mac_prefix(addr)) == {}
    # Not silence: a BMC whose certificate is not trusted is reported.
    said = [e["message"] for e in job["errors"]] + [x["message"] for x in job["bmcs"]]
    assert any("certificate" in m.lower() or "tls" in m.lower() or "ssl" in m.lower()
               for m in said), job


def test_tls_insecure_per_bmc(world, tls_fixture):
    c, fx = world["c"], tls_fixture["fx"]
    addr = tls_fixture["addrs"][1]
    job = discover(c, [addr], fx.port, scheme="https", insecure=True)
    rec = bmcs(c)[(addr, fx.port)]
    assert rec["status"] == "ok" and rec["insecure"] is True and rec["scheme"] == "https", rec
    [name] = job["nodes_created"]
    assert sorted(node_macs(nodes(c)[name])) == [F.mac(addr, 1, 1), F.mac(addr, 1, 2)]
    # Later control uses the BMC's own flag.
    _, res = control(c, "/api/v1/power", {"targets": [name], "action": "on"})
    assert res[name]["ok"] is True and res[name]["power_state"] == "On", res


def test_tls_ca_file(tls_fixture, tmp_path):
    fx = tls_fixture["fx"]
    addr = tls_fixture["addrs"][0]
    conf = {"redfish": dict(RF_CONF["redfish"], ca_file=str(tls_fixture["cert"]))}
    c = new_corrald(tmp_path / "ca", conf=conf)
    try:
        c.ok("POST", "/api/v1/credentials",
             {"name": "default", "username": "admin", "password": "admin"}, expect=201)
        job = discover(c, [addr], fx.port, scheme="https")
        assert [x["status"] for x in job["bmcs"]] == ["ok"], job
        assert len(job["nodes_created"]) == 1, job
    finally:
        c.cleanup()
