"""End to end: a VM boots from boot parameters made only through
OpenCHAMI's paths (docs/openchami.md).

corrald holds the test OS's kernel and initrd under its file root and
nothing else: no image, no profile, no defaults, no node.  The VM is made
known as `ochami` would make it (SMD: POST State/Components, then POST
Inventory/EthernetInterfaces with its MAC and address), and given its
boot parameters as `ochami bss boot params add` would (BSS: POST
bootparameters with its MAC, the kernel and initrd and a command line).
It must PXE-boot to the test OS's "phoned home", and its node must be
ready with the timeline of any boot.  Requests carry no Content-Type, as
ochami's do, and the token in the JWT envelope ochami needs."""
import base64
import json
import pathlib
import shutil

import pytest

import cluster as C
from conftest import TIMINGS, explained, preconditions

pytestmark = pytest.mark.long

STAGES = ("dhcp", "bootscript", "kernel", "initrd", "cloud-init", "phone-home")


def envelope(token):
    b = lambda d: base64.urlsafe_b64encode(d).rstrip(b"=").decode()
    return ".".join([b(b'{"alg":"HS256","typ":"JWT"}'),
                     b(json.dumps({"sub": "ochami", "corral_token": token}).encode()),
                     b(b"corral")])


def ochami(cd, method, path, body):
    """As ochami's client sends it: compact JSON, no Content-Type."""
    data = json.dumps(body, separators=(",", ":")).encode()
    return cd.http(method, path, data, {"Authorization": "Bearer " + envelope(cd.token),
                                        "User-Agent": "ochami/0.7.0"})


def test_vm_boots_from_bss_boot_parameters(testos):
    preconditions()
    c = C.Cluster()
    c.create()
    try:
        cd = c.start_corrald(extra_conf=c.corrald_dhcp_conf())
        dst = cd.files_root / "testos"
        dst.mkdir(parents=True, exist_ok=True)
        for f in ("vmlinuz", "initrd.img"):
            shutil.copyfile(pathlib.Path(testos) / f, dst / f)
        vm = c.add_vm("x1000c0s0b0n0", firmware="bios")
        st, out = ochami(cd, "POST", "/hsm/v2/State/Components", {"Components": [
            {"ID": vm.name, "Type": "Node", "State": "On", "Enabled": True, "NID": 1}]})
        assert st == 204, out
        st, out = ochami(cd, "POST", "/hsm/v2/Inventory/EthernetInterfaces", {
            "ID": "", "ComponentID": vm.name, "Type": "Node", "Description": "boot",
            "MACAddress": vm.mac, "IPAddresses": [{"IPAddress": vm.ip, "Network": "boot"}]})
        assert st == 201, out
        st, out = ochami(cd, "POST", "/boot/v1/bootparameters", {
            "macs": [vm.mac], "params": "console=ttyS0 quiet", "kernel": "testos/vmlinuz",
            "initrd": "testos/initrd.img",
            "cloud-init": {"meta-data": None, "user-data": None,
                           "phone-home": {"pub_key_dsa": "", "pub_key_rsa": "",
                                          "pub_key_ecdsa": "", "instance_id": "",
                                          "hostname": "", "fqdn": ""}}})
        assert st == 201, out
        node = cd.node(vm.name)
        assert node["profile"].startswith("bss-"), node
        assert node["nid"] == 1 and node["interfaces"] == [{"mac": vm.mac, "ip": vm.ip}]
        with explained(c, [vm]):
            vm.start()
            t_home = vm.wait_for(r"^phoned home", timeout=300)
            vm.wait_exit(60)
            assert "meta-data ok" in vm.marks, vm.marks
            node = cd.node(vm.name)
            assert node["state"] == "ready", node
            missing = C.missing_stages(cd, vm.name, STAGES)
            assert not missing, "timeline lacks %s: %s" % (missing, C.stages(cd, vm.name))
        # what BSS says the node booted, and when (from its timeline)
        st, hist = cd.http("GET", "/boot/v1/endpoint-history?name=" + vm.name,
                           headers={"Authorization": "Bearer " + cd.token})
        assert st == 200 and [h["endpoint"] for h in hist] == ["bootscript", "user-data"], hist
        TIMINGS.append("bss-made %s: phoned home %.1f s after power-on (accel %s)"
                       % (vm.name, t_home, c.accel))
    finally:
        c.teardown()
