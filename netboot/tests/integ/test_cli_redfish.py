"""The `corral` CLI's Redfish commands against a real corrald and the fixture.

credential set/list/rm, discover (summary, exit status, --json, --no-wait
with job wait/show, --timeout, the progress bar on a terminal and the
periodic lines elsewhere), bmc list/rm, power and boot pxe (with
--profile).  The Redfish fixture (test-vm/redfish_fixture.py) runs as its
own process on 127.B.*.* and is stopped by its PID; see test_redfish.py.
"""
import json
import os
import pty
import re
import select
import subprocess
import time

import pytest

from conftest import new_corrald, next_mac, uniq
from test_cli import corral, failed, ok, table
from test_redfish import RF_CONF, F, bmcs, nodes, start_fixture, wait_job


@pytest.fixture(scope="module")
def rf(tmp_path_factory):
    work = tmp_path_factory.mktemp("cli-redfish")

    def spec(b):
        return {
            "127.%d.1.1-127.%d.1.10" % (b, b): "standard",         # discover
            "127.%d.2.1" % b: "unauthorized",
            "127.%d.2.2" % b: "hang",
            "127.%d.2.3" % b: "error-500",
            "127.%d.3.1-127.%d.3.8" % (b, b): "hang",              # --timeout
            "127.%d.4.1-127.%d.4.4" % (b, b): "standard",          # power, boot
            "127.%d.4.5" % b: "boot-revert",
            "127.%d.5.1" % b: {"shape": "standard", "user": "cli", "password": "pw-%d-x" % b},
            "127.%d.6.1-127.%d.6.2" % (b, b): "standard",          # bmc rm
        }

    fx, b = start_fixture(spec, work / "fixture")
    c = new_corrald(work / "corrald", conf=RF_CONF)
    try:
        c.ok("POST", "/api/v1/credentials",
             {"name": "default", "username": "admin", "password": "admin"}, expect=201)
        yield {"c": c, "fx": fx, "b": b, "port": str(fx.port), "work": work}
    finally:
        c.cleanup()
        fx.stop()


def disc(rf, *args):
    return ("discover",) + args + ("--port", rf["port"], "--scheme", "http")


def discovered_nodes(rf, prefix):
    """{address: node} of the systems of BMCs whose address starts with prefix."""
    out = {}
    for (addr, port), b in bmcs(rf["c"]).items():
        if addr.startswith(prefix) and str(port) == rf["port"]:
            for s in b["systems"]:
                out[addr] = s["node"]
    return out


# ---------------------------------------------------------------- credentials

def test_credential_set_list_rm(rf, tmp_path):
    c, b = rf["c"], rf["b"]
    pw = "pw-%d-x" % b
    f = tmp_path / "pw"
    f.write_text(pw + "\n")  # the line end is not part of it
    out = ok(c, "credential", "set", "clicred", "--username", "cli", "--password-file", str(f))
    assert out == "credential clicred set (username cli)\n"
    rows = table(ok(c, "credential", "list"))
    assert rows[0] == ["NAME", "USERNAME", "CREATED", "UPDATED"]
    assert ["clicred", "cli"] == [r for r in rows if r[0] == "clicred"][0][:2]
    # It works against the BMC that wants exactly that password.
    p = corral(c, *disc(rf, "127.%d.5.1" % b, "--credential", "clicred"))
    assert p.returncode == 0, p.stdout + p.stderr
    assert "1 ok" in p.stdout
    # From stdin (not a terminal: read to the end), replacing the first.
    out = ok(c, "credential", "set", "clicred", "--username", "cli2", "--password-stdin",
             stdin=pw + "\r\n")
    assert "username cli2" in out
    for args, code, word in [
            (("credential", "set", "x", "--password-file", str(f)), 2, "--username"),
            (("credential", "set", "x", "--username", "u"), 2, "--password-file"),
            (("credential", "set", "x", "--username", "u", "--password-file", str(f),
              "--password-stdin"), 2, "either"),
            (("credential", "set", "x", "--username", "u", "--password-file",
              str(tmp_path / "missing")), 1, "cannot read"),
            (("credential", "set", "bad name", "--username", "u", "--password-file", str(f)),
             1, "name")]:
        line = failed(corral(c, *args), code)
        assert word in line, line
    f2 = tmp_path / "two"
    f2.write_text("a\nb\n")
    line = failed(corral(c, "credential", "set", "x", "--username", "u", "--password-file",
                         str(f2)), 1)
    assert "one line" in line
    assert pw not in ok(c, "--json", "credential", "list")
    # In use by a BMC: refused, with the reason; an unused one goes.
    line = failed(corral(c, "credential", "rm", "clicred"), 1)
    assert "in use" in line, line
    ok(c, "credential", "set", "spare", "--username", "u", "--password-file", str(f))
    assert ok(c, "credential", "rm", "spare") == "credential spare removed\n"
    assert "spare" not in ok(c, "credential", "list")


def test_credential_password_asked_on_a_terminal(rf):
    """--password-stdin on a terminal: a prompt on stderr, no echo."""
    c = rf["c"]
    env = dict(os.environ, CORRAL_URL=c.url, CORRAL_TOKEN=c.admin_token,
               XDG_CONFIG_HOME="/nonexistent-corral-test")
    master, slave = pty.openpty()
    proc = subprocess.Popen([str(c.build / "corral"), "credential", "set", "ttycred",
                             "--username", "u", "--password-stdin"],
                            stdin=slave, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    out = b""
    deadline = time.monotonic() + 30
    sent = False
    while time.monotonic() < deadline:
        r, _, _ = select.select([master], [], [], 0.2)
        if r:
            try:
                data = os.read(master, 4096)
            except OSError:
                break
            if not data:
                break
            out += data
        if not sent and b"Password for credential ttycred: " in out:
            os.write(master, b"Tty-Secret-91\n")
            sent = True
        if proc.poll() is not None and not r:
            break
    proc.wait(30)
    # What it printed just before exiting may still wait in the pty.
    while select.select([master], [], [], 0.5)[0]:
        try:
            data = os.read(master, 4096)
        except OSError:
            break
        if not data:
            break
        out += data
    os.close(master)
    assert sent and proc.returncode == 0, out
    assert b"Tty-Secret-91" not in out, out
    assert b"credential ttycred set (username u)" in out
    assert "ttycred" in ok(c, "credential", "list")


# ---------------------------------------------------------------- discover

def test_discover_summary_then_nothing_changes(rf):
    c, b = rf["c"], rf["b"]
    p = corral(c, *disc(rf, "127.%d.1.1-127.%d.1.10" % (b, b), "--concurrency", "8"))
    assert p.returncode == 0 and p.stderr == "", p.stdout + p.stderr
    lines = p.stdout.splitlines()
    assert re.match(r"discovery \d+ started: 10 addresses, concurrency 8$", lines[0]), lines
    assert re.match(r"discovery \d+ done in [\d.]+ s: 10 of 10 addresses probed, "
                    r"concurrency 8$", lines[1]), lines
    assert lines[2] == "BMCs: 10 found: 10 ok, 0 auth_failed, 0 error"
    assert lines[3] == "nodes: 10 created, 0 updated; 0 conflicts; 0 errors"
    assert lines[4].startswith("created: bmc-127-%d-1-" % b)
    made = discovered_nodes(rf, "127.%d.1." % b)
    assert len(made) == 10
    for addr, name in made.items():
        n = c.get("/api/v1/nodes/" + name).body
        assert sorted(i["mac"] for i in n["interfaces"]) == \
            sorted(F.expected(addr, "standard")["systems"][0]["macs"])
    p = corral(c, *disc(rf, "127.%d.1.0/28" % b))
    assert p.returncode == 0, p.stderr
    assert "nodes: 0 created, 0 updated; 0 conflicts; 0 errors" in p.stdout
    assert "created:" not in p.stdout


def test_discover_failures_exit_1_with_table(rf):
    c, b = rf["c"], rf["b"]
    p = corral(c, *disc(rf, "127.%d.2.1-127.%d.2.3" % (b, b)))
    line = failed(p, 1)
    assert line == ("corral: discover: 2 BMCs failed (1 refused the credentials), "
                    "1 address answered without usable Redfish"), line
    rows = table(p.stdout)
    assert ["BMC", "PORT", "STATUS", "MESSAGE"] in rows
    assert any(r[:3] == ["127.%d.2.1" % b, rf["port"], "auth_failed"] for r in rows), rows
    assert any(r[:3] == ["127.%d.2.3" % b, rf["port"], "error"] for r in rows), rows
    assert ["ERROR AT", "MESSAGE"] in rows
    assert any(r[0] == "127.%d.2.2" % b and "did not answer" in r[1] for r in rows), rows


def test_discover_json_and_no_wait(rf):
    c, b = rf["c"], rf["b"]
    job = json.loads(ok(c, "--json", *disc(rf, "127.%d.1.1" % b)))
    assert job["type"] == "discovery" and job["state"] == "done", job
    assert [x["status"] for x in job["bmcs"]] == ["ok"]
    # --json after the command works too, and failures still exit 1.
    p = corral(c, *disc(rf, "127.%d.2.1" % b), "--json")
    failed(p, 1)
    assert json.loads(p.stdout)["bmcs"][0]["status"] == "auth_failed"
    out = ok(c, *disc(rf, "127.%d.1.2" % b, "--no-wait"))
    m = re.match(r"discovery job (\d+) started; 'corral job wait (\d+)' waits for it\n$", out)
    assert m and m.group(1) == m.group(2), out
    jid = m.group(1)
    out = ok(c, "job", "wait", jid)
    assert "done in" in out and "BMCs: 1 found: 1 ok" in out, out
    assert re.search(r"discovery %s done in" % jid, ok(c, "job", "show", jid))
    assert json.loads(ok(c, "--json", "job", "show", jid))["id"] == int(jid)
    failed(corral(c, "job", "show", "999999"), 1)
    failed(corral(c, "job", "show", "x"), 2)
    # --no-wait --json: the job as started.
    j = json.loads(ok(c, "--json", *disc(rf, "127.%d.1.3" % b, "--no-wait")))
    assert j["type"] == "discovery" and "id" in j


def test_discover_timeout_and_periodic_lines(rf):
    """Eight hung peers, one at a time: about 8 s of job.  Not on a
    terminal: a start line, a progress line every 5 s; --timeout 6 ends
    the wait with a clear error while the job goes on."""
    c, b = rf["c"], rf["b"]
    t0 = time.monotonic()
    p = corral(c, *disc(rf, "127.%d.3.1-127.%d.3.8" % (b, b), "--concurrency", "1",
                        "--timeout", "6"))
    took = time.monotonic() - t0
    line = failed(p, 1)
    m = re.match(r"corral: discovery: job (\d+) still running after 6 s; it goes on in "
                 r"corrald \('corral job wait \1' waits again\)$", line)
    assert m, line
    assert 5.5 < took < 12, took
    lines = p.stdout.splitlines()
    assert lines[0].startswith("discovery %s started: 8 addresses, concurrency 1" % m.group(1))
    assert any(re.match(r"discovery %s: \d/8 probed, 0 found, \d+ s$" % m.group(1), l)
               for l in lines[1:]), lines
    # The job went on and ends by itself.
    job = wait_job(c, {"id": int(m.group(1))}, timeout=30)
    assert job["probed"] == 8 and len(job["errors"]) == 8, job


def test_discover_progress_bar_on_a_terminal(rf):
    c, b = rf["c"], rf["b"]
    env = dict(os.environ, CORRAL_URL=c.url, CORRAL_TOKEN=c.admin_token,
               XDG_CONFIG_HOME="/nonexistent-corral-test")
    master, slave = pty.openpty()
    proc = subprocess.Popen([str(c.build / "corral"), *disc(rf, "127.%d.1.0/24" % b)],
                            stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE,
                            env=env)
    os.close(slave)
    out = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        r, _, _ = select.select([master], [], [], 0.5)
        if r:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            out += data
        elif proc.poll() is not None:
            break
    proc.wait(30)
    os.close(master)
    text = out.decode()
    assert proc.returncode == 0, (text, proc.stderr.read())
    bars = re.findall(r"\r\[([#.]{30})\] (\d+)/254 probed, (\d+) found", text)
    assert bars, text
    assert bars[-1] == ("#" * 30, "254", "10"), bars[-1]
    assert "\x1b[K" in text
    assert "BMCs: 10 found: 10 ok" in text
    proc.stderr.close()


# ---------------------------------------------------------------- bmc

def test_bmc_list_and_rm(rf):
    c, b = rf["c"], rf["b"]
    ok(c, *disc(rf, "127.%d.6.1-127.%d.6.2" % (b, b)))
    made = discovered_nodes(rf, "127.%d.6." % b)
    rows = table(ok(c, "bmc", "list"))
    assert rows[0] == ["ADDRESS", "PORT", "STATUS", "VENDOR", "MODEL", "MAC", "SYSTEMS", "NODES",
                       "MESSAGE"]
    addr = "127.%d.6.1" % b
    row = [r for r in rows if r[0] == addr]
    assert row == [[addr, rf["port"], "ok", "Corral fixture", "-", F.mac(addr, 0, 1), "1",
                    made[addr], "-"]], row
    assert ok(c, "bmc", "rm", addr) == "BMC %s removed\n" % addr
    assert addr not in [r[0] for r in table(ok(c, "bmc", "list"))]
    assert made[addr] in nodes(c)  # the node stays
    line = failed(corral(c, "bmc", "rm", addr), 1)
    assert addr in line or "no such" in line.lower() or "not found" in line.lower(), line
    assert json.loads(ok(c, "--json", "bmc", "list"))


# ---------------------------------------------------------------- power, boot

@pytest.fixture(scope="module")
def pnodes(rf):
    b = rf["b"]
    ok(rf["c"], *disc(rf, "127.%d.4.1-127.%d.4.5" % (b, b)))
    return discovered_nodes(rf, "127.%d.4." % b)


def test_power_table_and_exit_status(rf, pnodes):
    c, fx, b = rf["c"], rf["fx"], rf["b"]
    a1, a2 = "127.%d.4.1" % b, "127.%d.4.2" % b
    n1, n2 = pnodes[a1], pnodes[a2]
    rows = table(ok(c, "power", "status", n2, n1))
    assert rows[0] == ["NODE", "RESULT", "POWER", "MESSAGE"]
    # Sorted by name, whatever order the BMCs answered in.
    assert rows[1:] == sorted([[n1, "ok", "Off", "-"], [n2, "ok", "Off", "-"]]), rows
    rows = table(ok(c, "power", "on", n1))
    assert rows[1] == [n1, "ok", "On", "On sent"], rows
    assert fx.state(a1)["systems"]["1"]["power"] == "On"
    rows = table(ok(c, "power", "off", n1))
    assert rows[1] == [n1, "ok", "Off", "ForceOff sent"], rows
    assert fx.state(a1)["resets"] == [["1", "On"], ["1", "ForceOff"]]
    job = json.loads(ok(c, "--json", "power", "status", n1))
    assert job["type"] == "power" and job["nodes"][0]["power_state"] == "Off", job
    # A node without a BMC fails, alone; the exit status says so.
    lone = uniq("lone")
    c.ok("POST", "/api/v1/nodes", {"name": lone, "interfaces": [{"mac": next_mac()}]},
         expect=201)
    p = corral(c, "power", "status", lone, n1)
    assert failed(p, 1) == "corral: power status: 1 of 2 nodes failed"
    rows = table(p.stdout)
    assert [lone, "failed", "-"] == [r for r in rows if r[0] == lone][0][:3], rows
    assert "no BMC" in [r for r in rows if r[0] == lone][0][3]
    line = failed(corral(c, "power", "on", "nope-" + uniq()), 1)
    assert "no node or group named" in line, line
    failed(corral(c, "power", "explode", n1), 2)
    failed(corral(c, "power", "on"), 2)


def test_boot_pxe_group_into_profile_with_reset(rf, pnodes):
    c, fx, b = rf["c"], rf["fx"], rf["b"]
    a3, a4 = "127.%d.4.3" % b, "127.%d.4.4" % b
    n3, n4 = pnodes[a3], pnodes[a4]
    img, prof, other, grp = uniq("img"), uniq("prof"), uniq("prof"), uniq("grp")
    ok(c, "image", "create", img, "--kernel", "k", "--initrd", "i")
    ok(c, "profile", "create", prof, "--image", img)
    ok(c, "profile", "create", other, "--image", img)
    ok(c, "group", "create", grp)
    ok(c, "node", "set", n3, "--group", grp)
    ok(c, "node", "set", n4, "--group", grp, "--profile", other)
    # A typo anywhere: nothing changes, no job.
    line = failed(corral(c, "boot", "pxe", grp, "nope-" + uniq(), "--profile", prof), 1)
    assert "no node or group named" in line and "nothing changed" in line, line
    line = failed(corral(c, "boot", "pxe", grp, "--profile", "nope-" + uniq()), 1)
    assert "no profile named" in line, line
    assert c.get("/api/v1/groups/" + grp).body.get("profile") in (None, "")
    assert fx.state(a3)["patches"] == 0
    # The one command.
    p = corral(c, "boot", "pxe", grp, "--profile", prof, "--reset")
    assert p.returncode == 0 and p.stderr == "", p.stdout + p.stderr
    lines = p.stdout.splitlines()
    assert lines[0] == "profile %s assigned to group %s" % (prof, grp)
    assert lines[1] == "note: node %s keeps its own profile %s, which wins over group %s's" % (
        n4, other, grp)
    rows = table("\n".join(lines[2:]))
    assert rows[0] == ["NODE", "RESULT", "POWER", "MESSAGE"]
    assert sorted(rows[1:]) == sorted([[n, "ok", "On", "boot override Pxe Once, then On"]
                                       for n in (n3, n4)]), rows
    assert c.get("/api/v1/groups/" + grp).body["profile"] == prof
    for a in (a3, a4):
        st = fx.state(a)
        assert st["resets"][-1] == ["1", "On"] and st["patches"] == 1, st
    # A node by name, continuous, no reset.
    rows = table(ok(c, "boot", "pxe", n3, "--continuous"))
    assert rows[1] == [n3, "ok", "On", "boot override Pxe Continuous"], rows
    s = fx.state(a3)["systems"]["1"]
    assert (s["boot_target"], s["boot_enabled"]) == ("Pxe", "Continuous")
    # --profile on a node.
    out = ok(c, "boot", "pxe", n3, "--profile", other)
    assert out.splitlines()[0] == "profile %s assigned to node %s" % (other, n3)
    assert c.get("/api/v1/nodes/" + n3).body["profile"] == other
    failed(corral(c, "boot", "pxe", n3, "--once", "--continuous"), 2)


def test_boot_pxe_reverted_override_fails(rf, pnodes):
    c, b = rf["c"], rf["b"]
    n5 = pnodes["127.%d.4.5" % b]
    p = corral(c, "boot", "pxe", n5, "--reset")
    assert failed(p, 1) == "corral: boot pxe: 1 of 1 node failed"
    row = table(p.stdout)[1]
    assert row[:2] == [n5, "failed"] and "reads back None" in row[-1], row
    job = json.loads(corral(c, "--json", "boot", "pxe", n5).stdout)
    assert job["nodes"][0]["ok"] is False


def test_control_no_wait_and_job_wait(rf, pnodes):
    c, b = rf["c"], rf["b"]
    n1 = pnodes["127.%d.4.1" % b]
    out = ok(c, "power", "status", n1, "--no-wait")
    m = re.match(r"power status job (\d+) started; 'corral job wait \1' waits for it\n$", out)
    assert m, out
    rows = table(ok(c, "job", "wait", m.group(1)))
    assert rows[1][:2] == [n1, "ok"], rows
    assert ok(c, "job", "show", m.group(1)).startswith("power status job %s: done" % m.group(1))


def test_job_list_summarises_kept_jobs(rf, pnodes):
    """GET /api/v1/jobs and `corral job list`: every job this module ran,
    newest first, each list in it given as its length (the failed boot
    override counted in "failed")."""
    c = rf["c"]
    r = c.get("/api/v1/jobs")
    assert r.status == 200, r
    jobs = r.body
    ids = [j["id"] for j in jobs]
    assert len(ids) >= 5 and ids == sorted(ids, reverse=True), ids
    types = {j["type"] for j in jobs}
    assert {"discovery", "power", "boot"} <= types, types
    for j in jobs:
        assert j["state"] in ("running", "done") and j["started"], j
        assert not [k for k, v in j.items() if isinstance(v, (list, dict)) and k != "boot"], j
        if j["state"] != "done":
            continue  # (a job of the timeout tests may still wait on its hung BMCs)
        assert j["finished"], j
        full = c.get("/api/v1/jobs/%d" % j["id"]).body
        if j["type"] == "discovery":
            assert j["bmcs"] == len(full["bmcs"]) and j["targets"] == full["targets"], (j, full)
            assert j["errors"] == len(full["errors"]) and "failed" not in j
        else:
            assert j["nodes"] == len(full["nodes"]), (j, full)
            assert j["failed"] == sum(1 for n in full["nodes"] if not n["ok"]), (j, full)
    assert any(j["type"] == "boot" and j["failed"] >= 1 for j in jobs), jobs

    assert json.loads(ok(c, "--json", "job", "list")) == c.get("/api/v1/jobs").body
    rows = table(ok(c, "job", "list"))
    assert rows[0][:4] == ["ID", "TYPE", "ACTION", "STATE"], rows[0]
    assert [int(row[0]) for row in rows[1:]] == ids
    assert any(row[1] == "power" and row[2] in ("on", "off", "reset", "cycle", "status")
               for row in rows[1:]), rows


def test_help_says_exit_status(rf):
    c = rf["c"]
    out = ok(c, "discover", "--help")
    assert "usage: corral discover TARGET..." in out and "Exit status 0 when every BMC" in out
    assert "--no-wait" in out and "--timeout SECONDS" in out
    out = ok(c, "power", "--help")
    for verb in ("on", "off", "reset", "cycle", "status"):
        assert "corral power %s NODE|GROUP..." % verb in out
    assert "any node failed" in ok(c, "boot", "pxe", "--help")
    out = ok(c, "help")
    for cmd in ("discover", "bmc list", "bmc rm", "boot pxe", "credential set", "job wait"):
        assert "  " + cmd in out
