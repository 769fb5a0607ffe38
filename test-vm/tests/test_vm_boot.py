"""End to end: BIOS and UEFI VMs boot through the whole chain.

A namespace with a bridge, corrald, and the hand-written reference dnsmasq
(test-vm/cluster.py).  The BIOS VM boots with the NIC's iPXE ROM (DHCP with
user class iPXE -> boot script URL); the UEFI VM boots with romfile= empty,
so OVMF's own PXE gets snponly.efi over TFTP first and then chains to the
same HTTP boot script.  Each must reach the test OS's "phoned home", its
node must be "ready", and its timeline must read bootscript -> kernel ->
initrd -> cloud-init -> phone-home.  TCG here: 10-40 s per boot.

CORRAL_VM_DHCP=corrald runs the same boots with corrald generating and
supervising its own dnsmasq instead of the hand-written one."""
import os
import shutil

import pytest

import cluster as C
from conftest import TIMINGS

pytestmark = pytest.mark.long

STAGES = ("bootscript", "kernel", "initrd", "cloud-init", "phone-home")


def _preconditions():
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces, taps)")
    for tool in (C.QEMU, "dnsmasq", "ip"):
        if not shutil.which(tool):
            pytest.fail("%s missing: run make deps" % tool)
    for f in (C.OVMF_CODE, C.OVMF_VARS, C.IPXE_DIR + "/snponly.efi", C.IPXE_DIR + "/undionly.kpxe"):
        if not os.path.exists(f):
            pytest.fail("%s missing: run make deps" % f)


@pytest.fixture(scope="module")
def lab():
    _preconditions()
    testos = C.build_testos()
    dhcp = os.environ.get("CORRAL_VM_DHCP", "hand")
    assert dhcp in ("hand", "corrald"), "CORRAL_VM_DHCP: hand or corrald"
    c = C.Cluster()
    c.create()
    c.dhcp_kind = dhcp
    try:
        cd = c.start_corrald(extra_conf=c.corrald_dhcp_conf() if dhcp == "corrald" else "")
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


def _boot(lab, kind):
    c, cd, vms = lab
    vm = vms[kind]
    vm.start()
    try:
        t_home = vm.wait_for(r"^phoned home", timeout=300)
        t_off = vm.wait_exit(60)
    except Exception:
        print("dnsmasq log tail:\n" + c.tail(c.workdir / "dnsmasq" / "dnsmasq.log", 30))
        print("corrald's dnsmasq dir: %s" % (c.workdir / "corrald" / "dhcp"))
        print("corrald log tail:\n" + c.tail(cd.workdir / "corrald.log", 30))
        raise
    assert "hostname=%s" % vm.name in vm.marks
    assert "meta-data ok" in vm.marks
    assert any(m.startswith("user-data ok") for m in vm.marks)
    node = cd.node(vm.name)
    assert node["state"] == "ready", node
    missing = C.missing_stages(cd, vm.name, STAGES)
    assert not missing, "timeline lacks %s: %s" % (missing, C.stages(cd, vm.name))
    TIMINGS.append("%-8s %s: phoned home %.1f s after power-on, powered off at %.1f s (accel %s, dhcp %s)"
                   % (kind, vm.name, t_home, t_off, c.accel, c.dhcp_kind))
    marks = ", ".join("%s@%.1f" % (m.split(" (")[0], t) for m, t in vm.marks.items())
    TIMINGS.append("         markers: " + marks)
    for ln in C.format_timeline(cd, vm.name):
        TIMINGS.append("       " + ln)
    return vm


def _dnsmasq_log(c):
    if c.dhcp_kind == "hand":
        return (c.workdir / "dnsmasq" / "dnsmasq.log").read_text(errors="replace")
    return None


def test_bios_boots_through_ipxe_rom(lab):
    vm = _boot(lab, "bios")
    c = lab[0]
    log = _dnsmasq_log(c)
    if log is None:
        return
    # iPXE asked (user class / option 175) and was pointed at the boot script.
    assert "bootscript?mac=${net0/mac}" in log
    assert "DHCPACK(br0) %s %s" % (vm.ip, vm.mac) in log


def test_uefi_boots_through_firmware_pxe_and_tftp(lab):
    vm = _boot(lab, "uefi")
    c, cd = lab[0], lab[1]
    log = _dnsmasq_log(c)
    if log is None:
        # corrald's own dnsmasq reports TFTP on the timeline.
        assert "tftp" in [s for s, _ in C.stages(cd, vm.name)], C.stages(cd, vm.name)
        return
    # OVMF's own PXE fetched snponly.efi over TFTP before iPXE took over.
    assert "sent %s/snponly.efi to %s" % (C.IPXE_DIR, vm.ip) in log
    assert "DHCPACK(br0) %s %s" % (vm.ip, vm.mac) in log
