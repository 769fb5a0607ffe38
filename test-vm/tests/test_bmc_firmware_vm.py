"""BMC firmware through a VM's vBMC, end to end in the test cluster.

Two BIOS VMs start powered off (QEMU paused before the firmware), each
behind its own corral-vbmc on the namespace's bridge; corrald runs in the
namespace and BMCs reach its node listener at its advertised URL, as real
BMCs on a management network would.  After discovery, with the `corral`
CLI only: an image for the vBMC's model, version 2.0, is added; a dry run
reports 1.0 → 2.0 and changes nothing; the update makes the first VM's
vBMC fetch the image from corrald over HTTP, run its Task and report 2.0
(FirmwareInventory and the Manager's FirmwareVersion), with the versions
before and after in the job; the second vBMC, told to refuse, is
reported with its own message, and stays at 1.0.  No VM boots (the vBMC
is what is updated), so this takes seconds, not minutes.
"""
import json
import os

import pytest

import cluster as C
from conftest import explained, preconditions


def image(version):
    head = ("corral-vbmc-firmware model=corral-vbmc version=%s\n" % version).encode()
    return head + os.urandom(8192)


def version(vm):
    st, _, body = vm.redfish("GET", "/redfish/v1/UpdateService/FirmwareInventory/BMC")
    assert st == 200, (st, body)
    return body["Version"]


@pytest.fixture(scope="module")
def lab(testos):
    preconditions()
    C.vbmc_binary()
    c = C.Cluster()
    c.create()
    try:
        cd = c.start_corrald(extra_conf="\n[redfish]\nconnect_timeout_ms = 500\n"
                                        "timeout_ms = 5000\nupdate_timeout = 60\n")
        vm = c.add_vm("fw1", firmware="bios", vbmc=True)
        stubborn = c.add_vm("fw2", firmware="bios", vbmc=True,
                            vbmc_args=("--update-mode", "refuse"))
        cd.api("POST", "/credentials", {"name": "default", "username": "admin",
                                        "password": "admin"})
        p = cd.cli("discover", "%s.200-%s.220" % (c.prefix, c.prefix), "--port", "8000",
                   "--scheme", "http", "--json")
        job = json.loads(p.stdout)
        assert job["found"] == 2, job
        f = c.workdir / "vbmc-fw-2.0.bin"
        f.write_bytes(image("2.0"))
        p = cd.cli("firmware", "add", str(f), "--model", "corral-vbmc", "--version", "2.0",
                   "--name", "vbmc-2.0")
        assert "firmware image vbmc-2.0 added" in p.stdout, p.stdout
        yield c, cd, vm, stubborn, f
    finally:
        c.teardown()


def node_of(cd, vm):
    for b in cd.api("GET", "/bmcs"):
        if b["address"] == vm.bmc_ip:
            return b["systems"][0]["node"]
    raise AssertionError("no BMC %s" % vm.bmc_ip)


def test_vbmc_goes_from_1_0_to_2_0_through_corral_firmware_update(lab):
    c, cd, vm, stubborn, f = lab
    with explained(c, [vm], [vm.dir / "vbmc.log"]):
        assert "vbmc-2.0" in cd.cli("firmware", "list").stdout
        node = node_of(cd, vm)
        assert version(vm) == "1.0"

        # dry run: says what would happen, changes nothing
        p = cd.cli("firmware", "update", node, "--image", "vbmc-2.0", "--dry-run", "--json")
        dry = json.loads(p.stdout)
        b = dry["bmcs"][0]
        assert b["status"] == "would_update" and b["version_before"] == "1.0", b
        assert version(vm) == "1.0"
        st, _, tasks = vm.redfish("GET", "/redfish/v1/TaskService/Tasks")
        assert tasks["Members"] == [], tasks

        # the update: the vBMC fetches the image from corrald and runs its task
        p = cd.cli("firmware", "update", node, "--image", "vbmc-2.0", "--json")
        job = json.loads(p.stdout)
        b = job["bmcs"][0]
        assert b["status"] == "updated", b
        assert [m["version"] for m in b["before"]] == ["1.0"], b
        assert [m["version"] for m in b["after"]] == ["2.0"], b
        assert b["task"]["state"] == "Completed", b
        sha = cd.api("GET", "/firmware/vbmc-2.0")["sha256"]
        assert any(sha in m["message"] for m in b["task"]["messages"]), b["task"]
        assert version(vm) == "2.0"
        st, _, mgr = vm.redfish("GET", "/redfish/v1/Managers/BMC")
        assert mgr["FirmwareVersion"] == "2.0", mgr
        log = (vm.dir / "vbmc.log").read_text()
        assert "firmware 1.0 -> 2.0" in log, log[-2000:]

        # the job list and job show have it
        p = cd.cli("job", "show", str(job["id"]))
        assert "updated" in p.stdout and vm.bmc_ip in p.stdout, p.stdout


def test_refusing_vbmc_reported_with_its_message(lab):
    c, cd, vm, stubborn, f = lab
    with explained(c, [stubborn], [stubborn.dir / "vbmc.log"]):
        p = cd.cli("firmware", "update", node_of(cd, stubborn), "--image", "vbmc-2.0",
                   check=False)
        assert p.returncode == 1, (p.returncode, p.stdout, p.stderr)
        assert "refused" in p.stdout and "update policy" in p.stdout, p.stdout
        assert "1 of 1 BMC refused or failed" in p.stderr, p.stderr
        assert version(stubborn) == "1.0"
