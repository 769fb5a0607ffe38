"""End to end: BIOS and UEFI VMs boot through the whole chain.

A namespace with a bridge and corrald, which runs its own dnsmasq (the
product's configuration, [dhcp] mode = authoritative).  The BIOS VM boots
with the NIC's iPXE ROM (DHCP with user class iPXE -> boot script URL); the
UEFI VM boots with romfile= empty, so OVMF's own PXE gets snponly.efi over
TFTP first and then chains to the same HTTP boot script.  Each must reach
the test OS's "phoned home", its node must be "ready", and its timeline
must read dhcp -> bootscript -> kernel -> initrd -> cloud-init ->
phone-home (UEFI: dhcp -> tftp -> bootscript -> ...).  TCG here: 10-40 s
per boot.  Both run once per dhcp.backend: dnsmasq, and kea (Kea answers
DHCP, corrald's dnsmasq serves TFTP).

CORRAL_VM_DHCP=hand runs the same boots from the hand-written reference
dnsmasq instead (test-vm/cluster.py); its leases do not reach corrald, so
the timeline then starts at bootscript and the dnsmasq log is checked."""
import os

import pytest

import cluster as C
from conftest import TIMINGS, explained, preconditions

pytestmark = pytest.mark.long

STAGES = ("bootscript", "kernel", "initrd", "cloud-init", "phone-home")


def _kinds():
    dhcp = os.environ.get("CORRAL_VM_DHCP", "corrald")
    assert dhcp in ("hand", "corrald"), "CORRAL_VM_DHCP: corrald (default) or hand"
    return ["hand"] if dhcp == "hand" else ["dnsmasq", "kea"]


@pytest.fixture(scope="module", params=_kinds())
def lab(testos, request):
    preconditions()
    dhcp = "hand" if request.param == "hand" else "corrald"
    c = C.Cluster()
    c.create()
    c.dhcp_kind = dhcp
    c.backend = request.param
    try:
        conf = c.corrald_dhcp_conf(backend=c.backend) if dhcp == "corrald" else ""
        cd = c.start_corrald(extra_conf=conf)
        C.setup_testos(cd, testos)
        vms = {
            "bios": c.add_vm("vm-bios", firmware="bios"),
            "uefi": c.add_vm("vm-uefi", firmware="uefi", pxe="firmware"),
        }
        for vm in vms.values():
            C.register_vm(cd, vm)
        if dhcp == "hand":
            c.start_dnsmasq(cd.port)
        yield c, cd, vms
    finally:
        c.teardown()


def _boot(lab, kind, want):
    c, cd, vms = lab
    vm = vms[kind]
    logs = [c.workdir / "dnsmasq" / "dnsmasq.log"] if c.dhcp_kind == "hand" else []
    with explained(c, [vm], logs):
        vm.start()
        t_home = vm.wait_for(r"^phoned home", timeout=300)
        t_off = vm.wait_exit(60)
        assert "hostname=%s" % vm.name in vm.marks, vm.marks
        assert "meta-data ok" in vm.marks, vm.marks
        assert any(m.startswith("user-data ok") for m in vm.marks), vm.marks
        node = cd.node(vm.name)
        assert node["state"] == "ready", node
        if c.dhcp_kind == "corrald":
            want = ("dhcp",) + want
        missing = C.missing_stages(cd, vm.name, want)
        assert not missing, "timeline lacks %s (in this order: %s): %s" % (
            missing, " -> ".join(want), C.stages(cd, vm.name))
    TIMINGS.append("%-8s %s: phoned home %.1f s after power-on, powered off at %.1f s (accel %s, dhcp %s)"
                   % (kind, vm.name, t_home, t_off, c.accel, c.backend))
    marks = ", ".join("%s@%.1f" % (m.split(" (")[0], t) for m, t in vm.marks.items())
    TIMINGS.append("         markers: " + marks)
    for ln in C.format_timeline(cd, vm.name):
        TIMINGS.append("       " + ln)
    return vm


def _dnsmasq_log(c):
    if c.dhcp_kind == "hand":
        return (c.workdir / "dnsmasq" / "dnsmasq.log").read_text(errors="replace")
    return (c.corrald.workdir / "corrald.log").read_text(errors="replace")


def _acked(c, cd, log, vm):
    """The DHCP server gave vm its address: dnsmasq's log says so; Kea logs
    no lease (they are in its lease file): the node's dhcp step does."""
    if c.backend == "kea":
        return any(e["stage"] == "dhcp" and e["source"] == vm.ip for e in cd.events(vm.name))
    return "DHCPACK(br0) %s %s" % (vm.ip, vm.mac) in log


def test_bios_boots_through_ipxe_rom(lab):
    vm = _boot(lab, "bios", STAGES)
    c, cd = lab[0], lab[1]
    log = _dnsmasq_log(c)
    assert _acked(c, cd, log, vm)
    if c.dhcp_kind == "hand":
        # iPXE asked (user class / option 175) and was pointed at the boot script.
        assert "bootscript?mac=${net0/mac}" in log
        return
    # The iPXE ROM's DHCP reached the timeline as an iPXE lease of the pinned address.
    ev = cd.events(vm.name)
    assert any(e["stage"] == "dhcp" and e["detail"].startswith("iPXE") and vm.ip in e["detail"]
               for e in ev), ev


def test_uefi_boots_through_firmware_pxe_and_tftp(lab):
    c, cd = lab[0], lab[1]
    want = STAGES if c.dhcp_kind == "hand" else ("tftp",) + STAGES
    vm = _boot(lab, "uefi", want)
    log = _dnsmasq_log(c)
    # OVMF's own PXE fetched snponly.efi over TFTP before iPXE took over.
    assert "/snponly.efi to %s" % vm.ip in log
    assert _acked(c, cd, log, vm)
    if c.dhcp_kind == "corrald":
        ev = cd.events(vm.name)
        assert any(e["stage"] == "dhcp" and e["detail"].startswith("PXE firmware") for e in ev), ev
        assert any(e["stage"] == "tftp" and e["detail"].startswith("snponly.efi") for e in ev), ev
