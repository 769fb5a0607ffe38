"""End to end: an x86_64 UEFI VM boots by UEFI HTTP boot, never TFTP.

OVMF (Debian 12's, built with HTTP boot) with its PXE and IPv6 turned off
through its fw_cfg switches, so its first network boot option is HTTP boot
over IPv4: DHCP with vendor class HTTPClient and option 93 = 16 -> corrald's
dnsmasq answers <advertise_url>/firmware/snponly.efi and echoes HTTPClient
-> OVMF downloads iPXE from corrald over HTTP -> iPXE's DHCP (user class
iPXE) -> the boot script -> kernel, initrd, cloud-init, phone-home.  The
timeline must show the HTTP-boot lease and the firmware download, and no
TFTP step at all; dnsmasq must have sent nothing over TFTP."""
import pytest

import cluster as C
from conftest import TIMINGS, explained, preconditions

pytestmark = pytest.mark.long

STAGES = ("dhcp", "firmware", "dhcp", "bootscript", "kernel", "initrd", "cloud-init",
          "phone-home")


@pytest.fixture(scope="module")
def lab(testos):
    preconditions()
    c = C.Cluster()
    c.create()
    try:
        cd = c.start_corrald(extra_conf=c.corrald_dhcp_conf())
        C.setup_testos(cd, testos)
        vm = c.add_vm("vm-httpboot", firmware="uefi", pxe="http")
        C.register_vm(cd, vm)
        yield c, cd, vm
    finally:
        c.teardown()


def test_uefi_http_boot_without_tftp(lab):
    c, cd, vm = lab
    with explained(c, [vm]):
        vm.start()
        t_home = vm.wait_for(r"^phoned home", timeout=600)
        t_off = vm.wait_exit(60)
        node = cd.node(vm.name)
        assert node["state"] == "ready", node
        missing = C.missing_stages(cd, vm.name, STAGES)
        assert not missing, "timeline lacks %s (in this order: %s): %s" % (
            missing, " -> ".join(STAGES), C.stages(cd, vm.name))
        ev = cd.events(vm.name)
        assert not [e for e in ev if e["stage"] == "tftp"], ev
        assert any(e["stage"] == "dhcp" and e["detail"].startswith("HTTP boot firmware")
                   for e in ev), ev
        fw = [e for e in ev if e["stage"] == "firmware"]
        assert fw and fw[0]["detail"] == "snponly.efi", fw
        log = (cd.workdir / "corrald.log").read_text(errors="replace")
        sent = [l for l in log.splitlines() if "dnsmasq-tftp" in l and " sent " in l]
        assert not sent, "TFTP transfers: %s" % sent
        text = vm.console_text()
        assert "HTTP Boot" in text, text[-3000:]
    TIMINGS.append("http-boot %s: phoned home %.1f s after power-on, powered off at %.1f s "
                   "(accel %s)" % (vm.name, t_home, t_off, c.accel))
    for ln in C.format_timeline(cd, vm.name):
        TIMINGS.append("       " + ln)
