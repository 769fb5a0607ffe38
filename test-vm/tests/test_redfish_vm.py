"""End to end: Corral finds powered-off machines through their BMCs and
boots them.

Two BIOS VMs start powered off, each behind its own corral-vbmc on the
namespace's bridge, and are NOT registered.  Through corrald's API:
discovery over the BMC address range finds both vBMCs and registers one
node per VM with that VM's MAC; a second discovery changes nothing; "PXE
once and reset" on the group powers both on into a network boot through
corrald's own dnsmasq, to the test OS's phone-home; power off stops a
running VM.  TCG: two boots of ~10-40 s.
"""
import json
import os
import time

import pytest

import cluster as C
from conftest import explained, preconditions

pytestmark = pytest.mark.long


@pytest.fixture(scope="module")
def lab(testos):
    preconditions()
    C.vbmc_binary()
    c = C.Cluster()
    c.create()
    try:
        cd = c.start_corrald(extra_conf=c.corrald_dhcp_conf() +
                             "\n[redfish]\nconnect_timeout_ms = 500\ntimeout_ms = 5000\n")
        C.setup_testos(cd, testos)
        vms = [c.add_vm("rf%d" % i, firmware="bios", vbmc=True) for i in (1, 2)]
        cd.api("POST", "/credentials", {"name": "default", "username": "admin",
                                        "password": "admin"})
        yield c, cd, vms
    finally:
        c.teardown()


def wait_job(cd, job, timeout=120):
    deadline = time.monotonic() + timeout
    while True:
        j = cd.api("GET", "/jobs/%d" % job["id"])
        if j["state"] == "done":
            return j
        if time.monotonic() > deadline:
            raise TimeoutError("job %d still running: %r" % (job["id"], j))
        time.sleep(0.3)


def discover(c, cd):
    first, last = c.prefix + ".200", c.prefix + ".220"
    job = cd.api("POST", "/discovery", {"targets": ["%s-%s" % (first, last)], "port": 8000,
                                        "scheme": "http"})
    return wait_job(cd, job)


def node_by_mac(cd, mac):
    for n in cd.api("GET", "/nodes"):
        if any(i["mac"] == mac for i in n["interfaces"]):
            return n
    return None


def test_discovery_registers_every_vm(lab):
    c, cd, vms = lab
    with explained(c, vms, [vm.dir / "vbmc.log" for vm in vms]):
        job = discover(c, cd)
        assert job["found"] == 2, job
        assert sorted(b["status"] for b in job["bmcs"]) == ["ok", "ok"], job
        assert len(job["nodes_created"]) == 2, job
        assert job["conflicts"] == [] and job["errors"] == [], job
        for vm in vms:
            n = node_by_mac(cd, vm.mac)
            assert n is not None, "no node with %s after discovery" % vm.mac
            assert [i["mac"] for i in n["interfaces"]] == [vm.mac], n
        bmcs = {b["address"]: b for b in cd.api("GET", "/bmcs")}
        for vm in vms:
            b = bmcs[vm.bmc_ip]
            assert b["mac"] == vm.bmc_mac, b
            assert b["systems"][0]["power_state"] == "Off", b


def test_second_discovery_changes_nothing(lab):
    """Through the CLI, as an administrator runs it."""
    c, cd, vms = lab
    before = sorted((n["name"], n["updated"]) for n in cd.api("GET", "/nodes"))
    p = cd.cli("--json", "discover", "%s.200-%s.220" % (c.prefix, c.prefix), "--port", "8000",
               "--scheme", "http")
    job = json.loads(p.stdout)
    assert job["found"] == 2 and job["nodes_created"] == [] and job["nodes_updated"] == [], job
    after = sorted((n["name"], n["updated"]) for n in cd.api("GET", "/nodes"))
    assert after == before


def test_pxe_once_and_reset_boots_the_group(lab):
    c, cd, vms = lab
    names = [node_by_mac(cd, vm.mac)["name"] for vm in vms]
    for n in names:
        cd.api("PATCH", "/nodes/" + n, {"groups": ["rack1"]})
    with explained(c, vms, [vm.dir / "vbmc.log" for vm in vms]):
        job = wait_job(cd, cd.api("POST", "/boot", {"targets": ["rack1"], "once": True,
                                                    "reset": True}))
        assert sorted(r["node"] for r in job["nodes"]) == sorted(names), job
        for r in job["nodes"]:
            assert r["ok"], job
            assert r["boot_override"]["target"] == "Pxe", r
        for vm in vms:
            vm.wait_for("phoned home", timeout=300)
        for n in names:
            deadline = time.monotonic() + 10
            while cd.node(n)["state"] != "ready" and time.monotonic() < deadline:
                time.sleep(0.2)
            assert cd.node(n)["state"] == "ready", cd.events(n)
            stages = [e["stage"] for e in cd.events(n)]
            assert "bootscript" in stages and "phone-home" in stages, stages


def test_power_off_stops_a_running_vm(lab):
    c, cd, vms = lab
    vm = vms[0]
    name = node_by_mac(cd, vm.mac)["name"]
    with explained(c, [vm], [vm.dir / "vbmc.log"]):
        job = wait_job(cd, cd.api("POST", "/power", {"targets": [name], "action": "on"}))
        assert job["nodes"][0]["ok"], job
        assert vm.run_state() == "running"
        p = cd.cli("--json", "power", "off", name)
        r = json.loads(p.stdout)["nodes"][0]
        assert r["ok"] and r["power_state"] == "Off", p.stdout
        assert vm.run_state() != "running"
        job = wait_job(cd, cd.api("POST", "/power", {"targets": [name], "action": "status"}))
        assert job["nodes"][0]["power_state"] == "Off", job
