"""Proxy-DHCP mode: the site's DHCP server stays, corrald only adds boot
information.

corrald runs with [dhcp] mode = proxy (its dnsmasq has `dhcp-range=…,proxy`
and pxe-service lines, no addresses of its own).  A separate plain dnsmasq
in the namespace plays the site's DHCP server: addresses only (a pool, the
VMs' addresses pinned by MAC, router advertisements so iPXE need not wait
for IPv6), no boot options, no TFTP.  Two VMs powered on together:

- BIOS with the NIC's iPXE ROM: address from the site server, boot script
  URL from corrald's proxy offer (PXE menu, boot server request);
- UEFI with OVMF's own PXE: snponly.efi named by the proxy and fetched from
  corrald's TFTP, then the same as above from iPXE.

Both must reach phone-home; the site server must never have offered a boot
file, and corrald's dnsmasq must never have handed out an address."""
import os
import re
import time

import pytest

import cluster as C
from conftest import explained, preconditions, record_boot

pytestmark = pytest.mark.long


def site_dhcp_conf(c, d, vms):
    lines = [
        "# the site's DHCP server: addresses only (test-vm/tests/test_vm_proxy.py)",
        "interface=%s" % C.BRIDGE,
        "bind-interfaces",
        "port=0",
        "no-resolv",
        "no-hosts",
        "dhcp-authoritative",
        "dhcp-range=%s.100,%s.199,255.255.255.0,1h" % (c.prefix, c.prefix),
        "enable-ra",
        "dhcp-range=::,constructor:%s,ra-only" % C.BRIDGE,
        "no-ping",
        "dhcp-leasefile=%s/leases" % d,
        "log-dhcp",
    ]
    lines += ["dhcp-host=%s,%s" % (vm.mac, vm.ip) for vm in vms]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def lab(testos):
    preconditions()
    c = C.Cluster()
    c.create()
    try:
        cd = c.start_corrald(extra_conf=c.corrald_dhcp_conf(mode="proxy"))
        C.setup_testos(cd, testos)
        vms = [c.add_vm("px-bios"), c.add_vm("px-uefi", firmware="uefi", pxe="firmware")]
        for vm in vms:
            C.register_vm(cd, vm)
        d = c.workdir / "site-dhcp"
        d.mkdir()
        os.chmod(d, 0o755)
        (d / "leases").touch()
        (d / "dnsmasq.conf").write_text(site_dhcp_conf(c, d, vms))
        log = d / "dnsmasq.log"
        p = c.spawn("site-dnsmasq", ["dnsmasq", "--conf-file=%s" % (d / "dnsmasq.conf"),
                                     "--keep-in-foreground", "--log-facility=-", "--pid-file=",
                                     "--user=root", "--group=root"], log)
        deadline = time.monotonic() + 10
        while not ("DHCP, IP range" in c.tail(log, 100)
                   and "DHCP, proxy on subnet" in c.tail(cd.workdir / "corrald.log", 200)):
            assert p.poll() is None, "site dnsmasq exited:\n" + c.tail(log)
            assert time.monotonic() < deadline, "DHCP servers not up:\n%s\n%s" % (
                c.tail(log), c.tail(cd.workdir / "corrald.log"))
            time.sleep(0.1)
        yield c, cd, vms, log
    finally:
        c.teardown()


def test_proxy_dhcp_boots_bios_and_uefi(lab):
    c, cd, vms, site_log = lab
    with explained(c, vms, [site_log]):
        conf = (cd.workdir / "dhcp" / "dnsmasq.conf").read_text()
        assert re.search(r"^dhcp-range=%s\.0,proxy" % re.escape(c.prefix), conf, re.M), conf
        res = C.boot_and_check(c, cd, vms, 300)
        for vm in vms:
            node = cd.node(vm.name)
            assert node["state"] == "ready", node
            want = ("bootscript", "kernel", "initrd", "cloud-init", "phone-home")
            if vm.firmware == "uefi":
                want = ("tftp",) + want
            # dnsmasq runs no hook for proxy answers: the dhcp step comes
            # from its log, first on the timeline.
            want = ("dhcp",) + want
            miss = C.missing_stages(cd, vm.name, want)
            assert not miss, "%s lacks %s: %s" % (vm.name, miss, C.stages(cd, vm.name))
            evs = cd.events(vm.name)
            details = [e["detail"] for e in evs if e["stage"] == "dhcp"]
            assert details and details[0].startswith("proxy offer"), details
            text = vm.console_text()
            # The address came from the site server (pinned there).
            assert "%s/" % vm.ip in text or "Station IP address is %s" % vm.ip in text
        bios, uefi = vms
        assert "PXEBS (net0" in bios.console_text()  # iPXE asked corrald's boot server
        assert "NBP filename is snponly.efi" in uefi.console_text()

        clog = (cd.workdir / "corrald.log").read_text(errors="replace")
        for vm in vms:
            assert re.search(r"PXE\(br0\) %s proxy" % vm.mac, clog), "no proxy offer to " + vm.mac
            # iPXE got the boot script URL from corrald's proxy (in its
            # offer, or from its boot server on port 4011 after the menu).
            url = "%s/boot/v1/bootscript?mac=%s" % (cd.url, vm.mac)
            assert "Filename: " + url in vm.console_text(), "%s: no boot script URL" % vm.name
        assert "/snponly.efi to %s" % uefi.ip in clog
        # corrald's dnsmasq hands out no addresses in proxy mode ...
        assert not re.search(r"dnsmasq-dhcp\[\d+\]: DHCP(OFFER|ACK)", clog)
        # ... and the site server offered no boot file.
        slog = site_log.read_text(errors="replace")
        for vm in vms:
            assert "DHCPACK(br0) %s %s" % (vm.ip, vm.mac) in slog
        assert not re.search(r"sent size:.*option: (67|43) ", slog), "site server sent boot options"
    for vm in vms:
        record_boot("proxy-DHCP", vm, res[vm.name]["phoned_home"],
                    " (timeline: %s)" % " ".join(st for st, _ in C.stages(cd, vm.name)))
