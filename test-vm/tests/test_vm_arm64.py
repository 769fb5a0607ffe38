"""End to end on arm64: an AArch64 VM boots through the whole chain.

qemu-system-aarch64 -M virt -cpu cortex-a57 under TCG, with AAVMF (Debian's
UEFI for it) and virtio-net-pci with an empty option ROM, so the firmware's
own PXE runs: DHCP (option 93 = 11) -> TFTP ipxe-arm64.efi (Debian 13's
iPXE, from the firmware tree `make firmware` builds) -> iPXE's DHCP (user
class iPXE) -> the HTTP boot script -> Debian 12's arm64 kernel and the
busybox test OS initramfs (fetched with apt's arm64 lists) -> cloud-init
(NoCloud over HTTP) -> phone-home.  corrald runs its own dnsmasq in the
namespace, with dhcp.ipxe_dir = the firmware tree.

Architecture-aware boot: the nodes are registered without an arch.  The
arm64 VM and an x86 VM share one profile that names an image per
architecture (`images`: the x86 test OS, and the arm64 one with console
ttyAMA0); each learns its arch from its firmware's DHCP request (option
93) and boots its own image.  A second arm64 VM in a profile with only
the x86 image gets no kernel: its boot script and its timeline say "no
image for aarch64 in profile x86only".  Emulating a whole AArch64 machine
on x86 is slow: a boot takes minutes here."""
import os
import shutil
import time

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
def lab(testos):
    arm64_preconditions()
    fw = C.build_firmware()
    testos_arm = C.build_testos_arm64()
    c = C.Cluster()
    c.create()
    try:
        cd = c.start_corrald(extra_conf=c.corrald_dhcp_conf(ipxe_dir=fw))
        C.setup_testos(cd, testos, default=False)
        C.setup_testos(cd, testos_arm, params="console=ttyAMA0 quiet", name="testos-arm64",
                       default=False, arch="aarch64")
        cd.api("PUT", "/profiles/multi", {"images": {"x86_64": "testos",
                                                     "aarch64": "testos-arm64"}})
        cd.api("PUT", "/profiles/x86only", {"image": "testos"})
        vm = c.add_vm("vm-arm64", firmware="arm64", pxe="firmware", mem=512)
        C.register_vm(cd, vm, profile="multi")  # no arch: learned
        yield c, cd, vm
    finally:
        c.teardown()


def test_arm64_boots_through_firmware_pxe_tftp_and_http(lab):
    c, cd, vm = lab
    assert cd.node(vm.name)["arch_source"] == "default"
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
        # the firmware's DHCP request (option 93 = 11) said what it is
        assert (node["arch"], node["arch_source"]) == ("aarch64", "dhcp"), node
        assert any(e["detail"] == "arch aarch64 learned from DHCP (client architecture)"
                   for e in ev), ev
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


def test_x86_vm_in_the_same_profile_gets_its_own_image(lab):
    """The x86 image of profile multi, for an x86 machine (iPXE ROM, BIOS)."""
    c, cd, _ = lab
    vm = c.add_vm("vm-x86", firmware="bios")
    C.register_vm(cd, vm, profile="multi")
    with explained(c, [vm]):
        vm.start()
        t_home = vm.wait_for(r"^phoned home", timeout=600)
        vm.wait_exit(120)
        node = cd.node(vm.name)
        assert node["state"] == "ready", node
        assert node["arch"] == "x86_64" and node["arch_source"] in ("dhcp", "ipxe"), node
        kernel = [e for e in cd.events(vm.name) if e["stage"] == "kernel"]
        assert kernel and "testos/vmlinuz" in kernel[0]["detail"], kernel
        assert "testos-arm64" not in kernel[0]["detail"], kernel
    TIMINGS.append("x86 (bios) %s in profile multi: phoned home %.1f s after power-on"
                   % (vm.name, t_home))


def test_arm64_without_an_image_for_it_shows_why(lab):
    """Profile x86only has no arm64 image: the node learns it is aarch64,
    its script says why it waits, and so does its timeline."""
    c, cd, _ = lab
    vm = c.add_vm("vm-arm64-noimg", firmware="arm64", pxe="firmware", mem=512)
    C.register_vm(cd, vm, profile="x86only")
    why = "no image for aarch64 in profile x86only"
    with explained(c, [vm]):
        vm.start()
        vm.wait_console(r"Corral: " + why, timeout=900)
        deadline = time.monotonic() + 30
        while not any(e["stage"] == "bootscript" and e["detail"] == why
                      for e in cd.events(vm.name)):
            assert time.monotonic() < deadline, cd.events(vm.name)
            time.sleep(0.5)
        ev = cd.events(vm.name)
        assert not any(e["stage"] == "kernel" for e in ev), ev
        node = cd.node(vm.name)
        assert node["arch"] == "aarch64", node
        assert node["state"] != "ready", node
        vm.stop()
