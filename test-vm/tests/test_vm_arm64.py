"""End to end on arm64: an AArch64 VM boots through the whole chain.

qemu-system-aarch64 -M virt -cpu cortex-a57 under TCG, with AAVMF (Debian's
UEFI for it) and virtio-net-pci with an empty option ROM, so the firmware's
own PXE runs: DHCP (option 93 = 11) -> TFTP ipxe-arm64.efi (Debian 13's
iPXE, from the firmware tree `make firmware` builds) -> iPXE's DHCP (user
class iPXE) -> the HTTP boot script -> Debian 12's arm64 kernel and the
busybox test OS initramfs (fetched with apt's arm64 lists) -> cloud-init
(NoCloud over HTTP) -> phone-home.  corrald runs its own dnsmasq in the
namespace, with dhcp.ipxe_dir = the firmware tree.

The node gets its own image and profile (console ttyAMA0) through its
`profile` field, next to the default x86 test OS.  Emulating a whole
AArch64 machine on x86 is slow: a boot takes minutes here."""
import os
import shutil

import pytest

import cluster as C
from conftest import TIMINGS, explained, preconditions

pytestmark = pytest.mark.long

STAGES = ("dhcp", "tftp", "bootscript", "kernel", "initrd", "cloud-init", "phone-home")


def arm64_preconditions():
    preconditions()
    if not shutil.which(C.QEMU_ARM64):
        pytest.fail("%s missing: run make deps (qemu-system-arm)" % C.QEMU_ARM64)
    for f in (C.AAVMF_CODE, C.AAVMF_VARS):
        if not os.path.exists(f):
            pytest.fail("%s missing: run make deps (qemu-efi-aarch64)" % f)


@pytest.fixture(scope="module")
def lab():
    arm64_preconditions()
    fw = C.build_firmware()
    testos = C.build_testos_arm64()
    c = C.Cluster()
    c.create()
    try:
        cd = c.start_corrald(extra_conf=c.corrald_dhcp_conf(ipxe_dir=fw))
        C.setup_testos(cd, testos, params="console=ttyAMA0 quiet", name="testos-arm64",
                       default=False)
        vm = c.add_vm("vm-arm64", firmware="arm64", pxe="firmware", mem=512)
        C.register_vm(cd, vm, arch="aarch64", profile="testos-arm64")
        yield c, cd, vm
    finally:
        c.teardown()


def test_arm64_boots_through_firmware_pxe_tftp_and_http(lab):
    c, cd, vm = lab
    with explained(c, [vm]):
        vm.start()
        t_home = vm.wait_for(r"^phoned home", timeout=1500)
        t_off = vm.wait_exit(120)
        assert "hostname=%s" % vm.name in vm.marks, vm.marks
        assert any(m.startswith("user-data ok") for m in vm.marks), vm.marks
        node = cd.node(vm.name)
        assert node["state"] == "ready", node
        missing = C.missing_stages(cd, vm.name, STAGES)
        assert not missing, "timeline lacks %s (in this order: %s): %s" % (
            missing, " -> ".join(STAGES), C.stages(cd, vm.name))
        ev = cd.events(vm.name)
        # AAVMF's own PXE fetched the arm64 iPXE over TFTP, then iPXE asked
        assert any(e["stage"] == "tftp" and e["detail"].startswith("ipxe-arm64.efi")
                   for e in ev), ev
        assert any(e["stage"] == "dhcp" and e["detail"].startswith("PXE firmware")
                   for e in ev), ev
        assert any(e["stage"] == "dhcp" and e["detail"].startswith("iPXE") for e in ev), ev
        kernel = [e for e in ev if e["stage"] == "kernel"]
        assert kernel and "testos-arm64/vmlinuz" in kernel[0]["detail"], kernel
        log = (cd.workdir / "corrald.log").read_text(errors="replace")
        assert "/ipxe-arm64.efi to %s" % vm.ip in log
        # AAVMF named the arm64 binary; Debian 13's iPXE (1.21.1) ran it
        text = vm.console_text()
        assert "NBP filename is ipxe-arm64.efi" in text, text[-3000:]
        assert "iPXE 1.21.1" in text, text[-3000:]
    TIMINGS.append("arm64    %s: phoned home %.1f s after power-on, powered off at %.1f s (TCG)"
                   % (vm.name, t_home, t_off))
    marks = ", ".join("%s@%.1f" % (m.split(" (")[0], t) for m, t in vm.marks.items())
    TIMINGS.append("         markers: " + marks)
    for ln in C.format_timeline(cd, vm.name):
        TIMINGS.append("       " + ln)
