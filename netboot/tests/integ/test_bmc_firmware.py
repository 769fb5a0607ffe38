"""BMC firmware updates: the firmware store and Redfish UpdateService jobs.

Real parts only: corrald on loopback, and one build/corral-vbmc process
per BMC (no QEMU behind them: their systems read as Off, which discovery
and UpdateService do not mind) on 127.B.9.x addresses of a second octet B
picked per module, each stopped by its PID.  Discovery records them; then
`POST /api/v1/firmware/NAME/update` must take each vBMC where it says:
an image is fetched by the vBMC from corrald's node listener (the URL
with its secret token), the vBMC's Task runs and completes, and its
FirmwareInventory (read by corrald before and after, shown in the job)
moves from A to B.  A vBMC told to refuse, one told to fail its task, one
of another model and one already current must each be reported so, and
a dry run must change nothing.  Two update jobs that reach one BMC run
one after the other: the second waits for the first.
"""
import base64
import hashlib
import json
import os
import random
import signal
import subprocess
import time
import urllib.request

import pytest

from conftest import BUILD, assert_error, new_corrald

MODEL = "corral-vbmc"
CONF = {"redfish": {"timeout_ms": 3000, "connect_timeout_ms": 1000, "concurrency": 16,
                    "update_timeout": 5, "firmware_max_size": 262144}}


def image(version, model=MODEL, size=4096):
    """A corral-vbmc firmware image: its first line says what it is."""
    head = ("corral-vbmc-firmware model=%s version=%s\n" % (model, version)).encode()
    return head + bytes(random.Random(version).getrandbits(8) for _ in range(size))


def b64(data):
    return base64.b64encode(data).decode()


class Vbmc:
    """One corral-vbmc process; stop() by its PID."""

    def __init__(self, workdir, addr, name, version="1.0", model=MODEL, mode=None, env=None,
                 apply_ms=600, extra=()):
        self.addr, self.port, self.name = addr, 8443, name
        self.log = open(os.path.join(workdir, "vbmc-%s.log" % name), "ab")
        argv = [str(BUILD / "corral-vbmc"), "--listen", "%s:%d" % (addr, self.port),
                "--qmp", os.path.join(workdir, "no-qemu-%s.sock" % name),
                "--mac", "52:54:00:%02x:%02x:%02x" % tuple(int(x) for x in addr.split(".")[1:]),
                "--bmc-mac", "02:aa:00:%02x:%02x:%02x" % tuple(int(x) for x in addr.split(".")[1:]),
                "--name", name, "--model", model, "--firmware-version", version,
                "--update-apply-ms", str(apply_ms)] + list(extra)
        if mode:
            argv += ["--update-mode", mode]
        e = dict(os.environ)
        e.update(env or {})
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=self.log, env=e)
        deadline = time.monotonic() + 20
        while True:
            try:
                self.get("/redfish/v1/")
                break
            except OSError:
                assert self.proc.poll() is None, "corral-vbmc %s exited" % name
                assert time.monotonic() < deadline, "corral-vbmc %s did not answer" % name
                time.sleep(0.1)

    def get(self, path):
        req = urllib.request.Request("http://%s:%d%s" % (self.addr, self.port, path))
        req.add_header("Authorization", "Basic " + b64(b"admin:admin"))
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.loads(r.read())

    def version(self):
        return self.get("/redfish/v1/UpdateService/FirmwareInventory/BMC")["Version"]

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


def wait_job(c, job, timeout=90):
    deadline = time.monotonic() + timeout
    while True:
        j = c.ok("GET", "/api/v1/jobs/%d" % job["id"])
        if j["state"] != "running":
            return j
        assert time.monotonic() < deadline, "job still running: %r" % j
        time.sleep(0.2)


def by_address(job):
    return {b["address"]: b for b in job["bmcs"] if b.get("address")}


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    work = tmp_path_factory.mktemp("bmcfw")
    b = random.randint(100, 250)
    specs = {  # name: (address, version, model, mode, env)
        "ok": ("127.%d.9.1" % b, "1.0", MODEL, None, None),
        "dry": ("127.%d.9.2" % b, "1.0", MODEL, None, None),
        "refuse": ("127.%d.9.3" % b, "1.0", MODEL, "refuse", None),
        "fail": ("127.%d.9.4" % b, "1.0", MODEL, None, {"CORRAL_VBMC_UPDATE": "fail"}),
        "other": ("127.%d.9.5" % b, "1.0", "acme-bmc-9", None, None),
        "current": ("127.%d.9.6" % b, "2.0", MODEL, None, None),
        "slow": ("127.%d.9.7" % b, "1.0", MODEL, None, None),
        "monitor": ("127.%d.9.8" % b, "1.0", MODEL, None, None),
        "monitor-fail": ("127.%d.9.9" % b, "1.0", MODEL, "fail", None),
        "queue": ("127.%d.9.10" % b, "1.0", MODEL, None, None),
    }
    vbmcs = {}
    c = None
    try:
        for name, (addr, ver, model, mode, env) in specs.items():
            vbmcs[name] = Vbmc(str(work), addr, "vb-" + name, ver, model, mode, env,
                               apply_ms={"slow": 60000, "queue": 2500}.get(name, 600),
                               extra=("--task-monitor",) if name.startswith("monitor") else ())
        c = new_corrald(work / "corrald", conf=CONF)
        c.ok("POST", "/api/v1/credentials",
             {"name": "default", "username": "admin", "password": "admin"}, expect=201)
        job = c.ok("POST", "/api/v1/discovery",
                   {"targets": ["127.%d.9.1-127.%d.9.%d" % (b, b, len(specs))], "port": 8443,
                    "scheme": "http"}, expect=202)
        job = wait_job(c, job)
        assert job["found"] == len(specs), job
        bmcs = {x["address"]: x for x in c.ok("GET", "/api/v1/bmcs")}
        nodes = {}
        for name, v in vbmcs.items():
            rec = bmcs[v.addr]
            assert rec["model"] == specs[name][2] and rec["firmware"] == specs[name][1], rec
            nodes[name] = rec["systems"][0]["node"]
        yield {"c": c, "v": vbmcs, "nodes": nodes, "work": work}
    finally:
        if c is not None:
            c.cleanup()
        for v in vbmcs.values():
            v.stop()


# ---------------------------------------------------------------- the store

def test_add_list_get_rm_and_the_sha256(lab):
    c = lab["c"]
    data = image("9.9")
    fw = c.ok("POST", "/api/v1/firmware",
              {"name": "store-t", "model": MODEL, "version": "9.9", "content": b64(data)},
              expect=201)
    assert fw["sha256"] == hashlib.sha256(data).hexdigest() and fw["size"] == len(data), fw
    assert "token" not in fw, fw  # the URL secret is never shown
    listed = {x["name"]: x for x in c.ok("GET", "/api/v1/firmware")}
    assert listed["store-t"]["version"] == "9.9" and "token" not in listed["store-t"]
    assert c.ok("GET", "/api/v1/firmware/store-t")["model"] == MODEL
    c.ok("DELETE", "/api/v1/firmware/store-t", expect=204)
    assert_error(c.get("/api/v1/firmware/store-t"), 404, "not_found")
    assert_error(c.delete("/api/v1/firmware/store-t"), 404, "not_found")
    # the file went with it
    left = list((lab["work"] / "corrald" / "bmc-firmware").glob("*"))
    assert not any(p.stat().st_size == len(data) for p in left), left


@pytest.mark.parametrize("body,status,field", [
    ({"name": "x1", "version": "1", "content": "AAAA"}, 422, "model"),
    ({"name": "x2", "model": "", "version": "1", "content": "AAAA"}, 422, "model"),
    ({"name": "x3", "model": MODEL, "content": "AAAA"}, 422, "version"),
    ({"name": "x4", "model": MODEL, "version": "1 0", "content": "AAAA"}, 422, "version"),
    ({"name": "x5", "model": MODEL, "version": "v" * 64, "content": "AAAA"}, 422, "version"),
    ({"name": "bad name", "model": MODEL, "version": "1", "content": "AAAA"}, 422, "name"),
    ({"name": "x6", "model": MODEL, "version": "1"}, 422, "content"),
    ({"name": "x7", "model": MODEL, "version": "1", "content": "*not base64*"}, 422, "content"),
    ({"name": "x8", "model": MODEL, "version": "1", "content": "AAAA", "colour": 1}, 422,
     "colour"),
    ({"name": "x9", "model": MODEL, "version": "1",
      "content": b64(b"\0" * (262144 + 1))}, 413, "content"),
])
def test_add_refuses_bad_input_naming_the_field(lab, body, status, field):
    c = lab["c"]
    r = c.post("/api/v1/firmware", body)
    assert_error(r, status, "invalid_field" if status == 422 else "too_large", field=field)
    names = [x["name"] for x in c.ok("GET", "/api/v1/firmware")]
    assert body.get("name") not in names, names


def test_duplicate_name_is_a_conflict_and_keeps_the_first(lab):
    c = lab["c"]
    c.ok("POST", "/api/v1/firmware",
         {"name": "dup", "model": MODEL, "version": "1", "content": b64(image("1"))},
         expect=201)
    r = c.post("/api/v1/firmware",
               {"name": "dup", "model": MODEL, "version": "2", "content": b64(image("2"))})
    assert_error(r, 409, "conflict", field="name")
    assert c.ok("GET", "/api/v1/firmware/dup")["version"] == "1"
    c.ok("DELETE", "/api/v1/firmware/dup", expect=204)


def test_image_url_needs_its_token(lab):
    """BMCs fetch without Corral's token: the path's random token is the secret."""
    c = lab["c"]
    c.ok("POST", "/api/v1/firmware",
         {"name": "tok", "model": MODEL, "version": "3", "content": b64(image("3"))},
         expect=201)
    for path in ("/bmc-firmware/%s/tok" % ("0" * 64), "/bmc-firmware/x/tok",
                 "/bmc-firmware/%s/nope" % ("0" * 64)):
        r = c.request("GET", path, token=None)
        assert r.status == 404, (path, r)
    c.ok("DELETE", "/api/v1/firmware/tok", expect=204)


# ---------------------------------------------------------------- updates

@pytest.fixture(scope="module")
def image_b(lab):
    c = lab["c"]
    c.ok("POST", "/api/v1/firmware",
         {"name": "vbmc-2.0", "model": MODEL, "version": "2.0", "content": b64(image("2.0"))},
         expect=201)
    return "vbmc-2.0"


def test_dry_run_reports_and_changes_nothing(lab, image_b):
    c, v = lab["c"], lab["v"]
    job = c.ok("POST", "/api/v1/firmware/%s/update" % image_b,
               {"targets": [lab["nodes"]["dry"], v["current"].addr], "dry_run": True},
               expect=202)
    assert job["type"] == "firmware" and job["dry_run"] is True, job
    job = wait_job(c, job)
    got = by_address(job)
    dry = got[v["dry"].addr]
    assert dry["status"] == "would_update", dry
    assert dry["version_before"] == "1.0" and "1.0" in dry["message"] and "2.0" in dry["message"]
    assert [m["version"] for m in dry["before"]] == ["1.0"], dry
    assert got[v["current"].addr]["status"] == "current", got
    assert v["dry"].version() == "1.0"
    assert v["dry"].get("/redfish/v1/TaskService/Tasks")["Members"] == []  # nothing started


def test_update_a_to_b_through_a_task(lab, image_b):
    c, v = lab["c"], lab["v"]
    assert v["ok"].version() == "1.0"
    job = c.ok("POST", "/api/v1/firmware/%s/update" % image_b,
               {"targets": [lab["nodes"]["ok"]]}, expect=202)
    job = wait_job(c, job)
    b = by_address(job)[v["ok"].addr]
    assert b["status"] == "updated", b
    assert b["nodes"] == [lab["nodes"]["ok"]], b
    assert [m["version"] for m in b["before"]] == ["1.0"], b
    assert [m["version"] for m in b["after"]] == ["2.0"], b
    assert b["version_before"] == "1.0" and b["version_after"] == "2.0", b
    assert b["task"]["state"] == "Completed" and b["task"]["status"] == "OK", b
    assert b["task"]["path"].startswith("/redfish/v1/TaskService/Tasks/"), b
    # the vBMC fetched exactly the stored image (its task says what arrived)
    stored = c.ok("GET", "/api/v1/firmware/%s" % image_b)
    texts = " ".join(m["message"] for m in b["task"]["messages"])
    assert stored["sha256"] in texts, texts
    assert v["ok"].version() == "2.0"
    assert v["ok"].get("/redfish/v1/Managers/BMC")["FirmwareVersion"] == "2.0"
    # the URL's token (in the store only) is in no API answer
    import sqlite3
    db = sqlite3.connect(str(c.store_path))
    token = db.execute("SELECT token FROM bmc_firmware WHERE name=?", (image_b,)).fetchone()[0]
    db.close()
    assert len(token) == 64
    for path in ("/api/v1/jobs/%d" % job["id"], "/api/v1/jobs", "/api/v1/firmware",
                 "/api/v1/firmware/%s" % image_b):
        assert token not in c.get(path).raw.decode(), path
    # the job list shows it with its counts
    summary = [j for j in c.ok("GET", "/api/v1/jobs") if j["id"] == job["id"]][0]
    assert summary["type"] == "firmware" and summary["counts"] == {"updated": 1}, summary
    assert summary["failed"] == 0
    # a second run finds it current
    again = wait_job(c, c.ok("POST", "/api/v1/firmware/%s/update" % image_b,
                             {"targets": [v["ok"].addr]}, expect=202))
    assert by_address(again)[v["ok"].addr]["status"] == "current", again


def test_refusing_bmc_reported_with_its_message(lab, image_b):
    c, v = lab["c"], lab["v"]
    job = wait_job(c, c.ok("POST", "/api/v1/firmware/%s/update" % image_b,
                           {"targets": [lab["nodes"]["refuse"]]}, expect=202))
    b = by_address(job)[v["refuse"].addr]
    assert b["status"] == "refused", b
    assert "update policy" in b["message"] and "Base.1.0.ActionNotSupported" in b["message"], b
    assert "HTTP 400" in b["message"], b
    assert v["refuse"].version() == "1.0"
    summary = [j for j in c.ok("GET", "/api/v1/jobs") if j["id"] == job["id"]][0]
    assert summary["failed"] == 1 and summary["counts"] == {"refused": 1}, summary


def test_failing_task_reported_with_its_message(lab, image_b):
    c, v = lab["c"], lab["v"]
    job = wait_job(c, c.ok("POST", "/api/v1/firmware/%s/update" % image_b,
                           {"targets": [v["fail"].addr]}, expect=202))
    b = by_address(job)[v["fail"].addr]
    assert b["status"] == "failed", b
    assert b["task"]["state"] == "Exception" and b["task"]["status"] == "Critical", b
    assert "flash write error" in b["message"], b
    assert v["fail"].version() == "1.0"


def test_model_mismatch_skipped_and_group_targets(lab, image_b):
    c, v, nodes = lab["c"], lab["v"], lab["nodes"]
    c.ok("POST", "/api/v1/groups", {"name": "fwgrp"}, expect=201)
    for n in (nodes["other"], nodes["current"]):
        c.ok("PATCH", "/api/v1/nodes/%s" % n, {"groups": ["fwgrp"]})
    job = wait_job(c, c.ok("POST", "/api/v1/firmware/%s/update" % image_b,
                           {"targets": ["fwgrp"]}, expect=202))
    got = by_address(job)
    other = got[v["other"].addr]
    assert other["status"] == "skipped" and "model mismatch" in other["message"], other
    assert "acme-bmc-9" in other["message"] and other["nodes"] == [nodes["other"]], other
    assert got[v["current"].addr]["status"] == "current", got
    assert v["other"].get("/redfish/v1/TaskService/Tasks")["Members"] == []


def test_update_refuses_bad_targets_and_unknown_image(lab, image_b):
    c = lab["c"]
    assert_error(c.post("/api/v1/firmware/%s/update" % image_b, {"targets": ["no-such-x"]}),
                 422, "invalid_field", field="targets")
    assert_error(c.post("/api/v1/firmware/%s/update" % image_b, {"targets": []}),
                 422, "invalid_field", field="targets")
    assert_error(c.post("/api/v1/firmware/%s/update" % image_b,
                        {"targets": [lab["nodes"]["ok"]], "dry_run": "yes"}),
                 422, "invalid_field", field="dry_run")
    assert_error(c.post("/api/v1/firmware/nope/update", {"targets": [lab["nodes"]["ok"]]}),
                 404, "not_found")
    r = c.post("/api/v1/firmware/%s/update" % image_b, {"targets": [lab["nodes"]["ok"]]},
               token=c.read_token)
    assert r.status == 403, r


# ---------------------------------------------------------------- the CLI

def test_cli_add_list_dry_run_update_and_rm(lab, tmp_path):
    """corral firmware add/list/update/rm against the real corrald and vBMC."""
    from test_cli import corral
    c, v = lab["c"], lab["v"]
    f = tmp_path / "vbmc-3.0.bin"
    f.write_bytes(image("3.0"))
    p = corral(c, "firmware", "add", str(f), "--model", MODEL, "--version", "3.0")
    assert p.returncode == 0, p.stderr
    assert "firmware image vbmc-3.0.bin added" in p.stdout, p.stdout
    assert hashlib.sha256(f.read_bytes()).hexdigest() in p.stdout
    p = corral(c, "firmware", "list")
    assert p.returncode == 0 and "vbmc-3.0.bin" in p.stdout and "3.0" in p.stdout, p
    # missing --model: refused before anything is sent
    p = corral(c, "firmware", "add", str(f), "--version", "3.0", "--name", "nomodel")
    assert p.returncode == 2 and "--model is required" in p.stderr, p
    before = v["dry"].version()
    p = corral(c, "firmware", "update", v["dry"].addr, "--image", "vbmc-3.0.bin", "--dry-run")
    assert p.returncode == 0, p.stderr
    row = [l for l in p.stdout.splitlines() if l.startswith(v["dry"].addr)]
    assert row and "would_update" in row[0] and before in row[0], p.stdout
    assert v["dry"].version() == before
    p = corral(c, "firmware", "update", lab["nodes"]["dry"], "--image", "vbmc-3.0.bin")
    assert p.returncode == 0, p.stderr
    row = [l for l in p.stdout.splitlines() if l.startswith(v["dry"].addr)][0]
    assert "updated" in row and "3.0" in row, p.stdout
    assert v["dry"].version() == "3.0"
    # a refusing BMC: exit 1 and its message
    p = corral(c, "firmware", "update", v["refuse"].addr, "--image", "vbmc-3.0.bin")
    assert p.returncode == 1 and "1 of 1 BMC refused or failed" in p.stderr, p
    assert "update policy" in p.stdout, p.stdout
    p = corral(c, "job", "list")
    assert p.returncode == 0 and "firmware" in p.stdout, p
    p = corral(c, "firmware", "rm", "vbmc-3.0.bin")
    assert p.returncode == 0, p.stderr
    assert "vbmc-3.0.bin" not in corral(c, "firmware", "list").stdout


def test_task_past_update_timeout_is_failed(lab, image_b):
    """redfish.update_timeout = 5 here; this vBMC's task applies for 60 s."""
    c, v = lab["c"], lab["v"]
    t0 = time.monotonic()
    job = wait_job(c, c.ok("POST", "/api/v1/firmware/%s/update" % image_b,
                           {"targets": [v["slow"].addr]}, expect=202))
    took = time.monotonic() - t0
    b = by_address(job)[v["slow"].addr]
    assert b["status"] == "failed", b
    assert "did not finish within 5 s" in b["message"] and "Running" in b["message"], b
    assert b["task"]["state"] == "Running", b
    assert 4 < took < 30, took
    assert v["slow"].version() == "1.0"


def test_session_auth_bmc_is_updated_too(lab, image_b):
    """A BMC discovered with a Redfish session: the update logs in, and out."""
    c, v = lab["c"], lab["v"]
    job = wait_job(c, c.ok("POST", "/api/v1/discovery",
                           {"targets": [v["current"].addr], "port": 8443, "scheme": "http",
                            "auth": "session"}, expect=202))
    assert job["found"] == 1, job
    rec = [x for x in c.ok("GET", "/api/v1/bmcs") if x["address"] == v["current"].addr][0]
    assert rec["auth"] == "session", rec
    job = wait_job(c, c.ok("POST", "/api/v1/firmware/%s/update" % image_b,
                           {"targets": [v["current"].addr], "dry_run": True}, expect=202))
    b = by_address(job)[v["current"].addr]
    assert b["status"] == "current" and b["version_before"] == "2.0", b
    # logged out at the end: no session left on the vBMC
    assert v["current"].get("/redfish/v1/SessionService/Sessions")["Members"] == []


def test_task_monitor_style_bmcs(lab, image_b):
    """Location is a task monitor (202 while running, then 204 or an error),
    not a Task: DMTF's other way, which many BMCs take."""
    c, v = lab["c"], lab["v"]
    job = wait_job(c, c.ok("POST", "/api/v1/firmware/%s/update" % image_b,
                           {"targets": [v["monitor"].addr, v["monitor-fail"].addr]},
                           expect=202))
    got = by_address(job)
    ok, bad = got[v["monitor"].addr], got[v["monitor-fail"].addr]
    assert ok["status"] == "updated", ok
    assert ok["task"]["path"].startswith("/redfish/v1/TaskService/TaskMonitors/"), ok
    assert ok["version_before"] == "1.0" and ok["version_after"] == "2.0", ok
    assert v["monitor"].version() == "2.0"
    assert bad["status"] == "failed" and "HTTP 500" in bad["message"], bad
    assert "flash write error" in bad["message"], bad
    assert v["monitor-fail"].version() == "1.0"


def test_second_job_on_a_bmc_waits_for_the_first(lab, image_b):
    """Two update jobs on one BMC (2.0, then 3.1 asked while the 2.0 task
    applies for 2.5 s): the second waits until the first is done with the
    BMC, then updates from the version the first left.  The vBMC ran two
    tasks, the second started after the first ended."""
    c, v = lab["c"], lab["v"]
    q = v["queue"]
    c.ok("POST", "/api/v1/firmware",
         {"name": "vbmc-3.1", "model": MODEL, "version": "3.1", "content": b64(image("3.1"))},
         expect=201)
    first = c.ok("POST", "/api/v1/firmware/%s/update" % image_b, {"targets": [q.addr]},
                 expect=202)
    second = c.ok("POST", "/api/v1/firmware/vbmc-3.1/update", {"targets": [q.addr]},
                  expect=202)
    first, second = wait_job(c, first), wait_job(c, second)
    a, b = by_address(first)[q.addr], by_address(second)[q.addr]
    assert a["status"] == "updated" and a["version_after"] == "2.0", a
    assert "waited_for" not in a, a
    assert b["waited_for"] == first["id"], b
    assert b["status"] == "updated", b
    assert b["version_before"] == "2.0" and b["version_after"] == "3.1", b
    assert first["finished"] <= second["finished"], (first, second)
    assert q.version() == "3.1"
    tasks = [q.get(m["@odata.id"]) for m in q.get("/redfish/v1/TaskService/Tasks")["Members"]]
    assert len(tasks) == 2, tasks
    tasks.sort(key=lambda t: t["StartTime"])
    assert tasks[0]["EndTime"] <= tasks[1]["StartTime"], tasks
    c.ok("DELETE", "/api/v1/firmware/vbmc-3.1", expect=204)
