"""The appliance image end to end (issue 10), in QEMU (TCG here).

The image is built by appliance/build.sh (cached steps; CORRAL_APPLIANCE_IMAGE
names a ready one instead).  Each appliance boots from its own copy of the
image with two NICs in a test namespace: management on bridge brm
(10.78.<n>.2), boot network on the cluster bridge br0 (10.77.<n>.2).  The
test writes settings.txt into the image's FAT partition before power-on,
reads the admin token from the serial console, and talks to the API from
the management side only.

- BIOS (SeaBIOS) boots the appliance (the session's shared one: the
  upgrade test upgrades the same appliance afterwards, see conftest's
  appliance_lab); first boot configures it from the
  settings file, prints the token; systemctl is-system-running = running;
  corrald runs as user corral with only the network capabilities; the root
  is read-only and /var/lib/corral is the data partition.
- A BIOS client and a UEFI client (OVMF's own PXE -> TFTP -> iPXE) PXE-boot
  from the appliance to phone-home; their timelines come from its API.
- UEFI (OVMF) boots the appliance too, with a settings file that has an
  error (one boot for both): the console names file and line, no DHCP
  answers on the boot network, the API answers on the management port.
"""
import os
import pathlib
import re
import subprocess
import sys
import time

import pytest

import cluster as C
from conftest import TIMINGS, diagnosis, preconditions

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "appliance"))
import vm as V  # noqa: E402

pytestmark = pytest.mark.long

STAGES = ("dhcp", "bootscript", "kernel", "initrd", "cloud-init", "phone-home")


def _explain(c, vms):
    return diagnosis(c, vms, n=60)


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    preconditions()
    for tool in ("mcopy", "ssh", "scp", "ssh-keygen"):
        if not C.shutil.which(tool):
            pytest.fail("%s missing: run make deps" % tool)
    if os.environ.get("CORRAL_APPLIANCE_IMAGE"):
        return V.image_path()
    t0 = time.monotonic()
    log = tmp_path_factory.mktemp("appliance-build") / "build.log"
    img = V.build(log=log)
    secs = time.monotonic() - t0
    m = V.manifest(img)
    TIMINGS.append("appliance build %.0f s (%s), image %s: %d MiB allocated, root %d MiB" % (
        secs, "see %s" % log, img.name, os.stat(img).st_blocks * 512 >> 20, int(m["root_bytes"]) >> 20))
    return img


def _boot(c, img, firmware, settings, key=None, name="appliance"):
    a = V.Appliance(c, img, firmware=firmware, settings=settings, ssh_key=key, name=name)
    a.start()
    return a


@pytest.fixture(scope="module")
def lab(image, testos, appliance_lab):
    """The session's shared appliance (conftest.appliance_lab): booted here
    when this module runs first; test_appliance_upgrade.py upgrades the
    same one afterwards and ends it."""
    fresh = appliance_lab.a is None
    c, a = appliance_lab.get(image, _explain)
    if fresh:
        TIMINGS.append("appliance bios: power-on -> /healthz ok on the management port %.1f s" %
                       appliance_lab.t_health)
    return c, a, testos


def test_first_boot_configures_and_prints_token(lab):
    c, a, _ = lab
    text = a.console_text()
    assert "SETTINGS ERROR" not in text, _explain(c, [a])
    assert re.search(r"Web page: https://%s:8443/ui/" % re.escape(a.mgmt_ip), text), _explain(c, [a])
    # The HTTPS certificate's fingerprints are on the console beside the
    # token; a.http() checked the served certificate against them.
    assert a.fingerprint and a.cert_sha256, _explain(c, [a])
    assert a.api("GET", "/whoami")["scope"] == "admin"
    st, body = a.http("GET", "/ui/")
    assert st == 200 and "<html" in body.lower()
    # The node-facing paths: plain HTTP on the boot network's address only.
    st, _ = a.http("GET", "/healthz", address=a.boot_ip, port=V.PORT)
    assert st == 200
    with pytest.raises(ConnectionRefusedError):
        a.http("GET", "/healthz", address=a.mgmt_ip, port=V.PORT)
    # The local CLI (root's login shell) pins the same key and has the token.
    assert a.ssh("bash -lc 'echo $CORRAL_FINGERPRINT'").strip() == a.fingerprint
    assert "nodes" in a.ssh("bash -lc 'corral status'").lower()
    # Stored root-only on the data partition, the same token.
    assert a.ssh("stat -c '%U %a' /var/lib/corral/system/admin-token").split() == ["root", "600"]
    assert a.ssh("cat /var/lib/corral/system/admin-token").strip() == a.token
    # A second start of the setup does not print a new one.
    a.ssh("systemctl restart corral-setup.service")
    assert a.console_text().count("CORRAL_TOKEN=") == 1


def test_system_running_read_only_root_unprivileged_corrald(lab):
    c, a, _ = lab
    state = a.ssh("systemctl is-system-running --wait", check=False).strip()
    assert state == "running", "%s\n%s" % (state, a.ssh("systemctl --failed --no-legend; journalctl -b -p warning --no-pager | tail -40", check=False))
    assert "ro" in a.ssh("findmnt -no OPTIONS /").split(",")
    assert a.ssh("findmnt -no FSTYPE /").strip() == "squashfs"
    assert a.ssh("findmnt -no SOURCE /var/lib/corral").strip().endswith(("6", "vda6"))
    assert a.ssh("touch /usr/x 2>&1; echo rc=$?", check=False).strip().endswith("rc=1")
    # corrald: its own user; dnsmasq (its child) holds exactly the three
    # network capabilities and nothing else.
    assert a.ssh("ps -o user= -C corrald").split() == ["corral"]
    # (dnsmasq and the helper it forks for its lease script)
    assert set(a.ssh("ps -o user= -C dnsmasq").split()) == {"corral"}
    caps = a.ssh("grep CapEff /proc/$(pgrep -o -x dnsmasq)/status").split()[1]
    # CAP_NET_BIND_SERVICE (10), CAP_NET_ADMIN (12), CAP_NET_RAW (13)
    assert int(caps, 16) == (1 << 10) | (1 << 12) | (1 << 13), caps
    assert a.ssh("systemctl show -p LimitNOFILE --value corrald").strip() == "65536"
    TIMINGS.append("appliance: %s" % a.ssh("systemd-analyze time | head -1", check=False).strip())


def _client_boot(c, a, vm, want):
    try:
        vm.start()
        t_home = vm.wait_for(r"^phoned home", timeout=600)
        node = a.node(vm.name)
        assert node["state"] == "ready", node
        missing = C.missing_stages(a, vm.name, want)
        assert not missing, "timeline lacks %s: %s" % (missing, C.stages(a, vm.name))
    except (AssertionError, RuntimeError, TimeoutError) as e:
        raise AssertionError("%s\n%s" % (e, _explain(c, [vm, a])))
    TIMINGS.append("appliance client %s (%s): phoned home %.1f s after power-on" % (vm.name, vm.firmware, t_home))
    for ln in C.format_timeline(a, vm.name):
        TIMINGS.append("       " + ln)
    return t_home


def test_bios_client_pxe_boots_from_appliance(lab):
    c, a, testos = lab
    V.setup_testos(a, testos)
    vm = c.add_vm("bios1", firmware="bios")
    C.register_vm(a, vm)
    _client_boot(c, a, vm, STAGES)
    ev = a.events(vm.name)
    assert any(e["stage"] == "dhcp" and vm.ip in e["detail"] for e in ev), ev


def test_uefi_client_pxe_boots_from_appliance(lab):
    c, a, _ = lab
    vm = c.add_vm("uefi1", firmware="uefi", pxe="firmware")
    C.register_vm(a, vm)
    _client_boot(c, a, vm, ("dhcp", "tftp") + STAGES[1:])
    ev = a.events(vm.name)
    assert any(e["stage"] == "tftp" and e["detail"].startswith("snponly.efi") for e in ev), ev


def _no_dhcp_on(c, bridge):
    """True when a DHCP client on `bridge` (in c's namespace) gets no offer."""
    p = subprocess.run(c.exec_argv(["busybox", "udhcpc", "-i", bridge, "-n", "-q", "-f", "-t", "4",
                                    "-T", "2", "-s", "/bin/true"]),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
    return p.returncode != 0, p.stdout


def test_uefi_boot_with_settings_error_keeps_dhcp_off(image):
    """OVMF boots the image (the BIOS one is the lab's), here with a
    settings file that has an error: one boot for both, the slowest boots
    of this file."""
    c = V.new_cluster()
    try:
        V.add_mgmt_bridge(c)
        key, pub = V.make_ssh_key(c.workdir)
        n = c.index
        text = V.settings_text(c, V.mgmt_mac(n), V.boot_mac(n), pub)
        # Line 9 (boot_pool) leaves the boot subnet.
        lines = text.splitlines()
        bad = next(i for i, ln in enumerate(lines) if ln.startswith("boot_pool"))
        lines[bad] = "boot_pool = 10.77.%d.100-10.77.%d.200" % (n, n + 1)
        a = _boot(c, image, "uefi", "\n".join(lines) + "\n", key)
        try:
            a.wait_text(r"Corral: booting slot a", 300)
            m = a.wait_text(r"settings\.txt line (\d+): boot_pool: ", 900)
            a.wait_token()
            t = a.wait_healthy()
        except (RuntimeError, TimeoutError) as e:
            raise AssertionError("%s\n%s" % (e, _explain(c, [a])))
        assert int(m.group(1)) == bad + 1
        assert "DHCP stays off" in a.console_text()
        # The API answers on the management port; nothing answers DHCP.
        assert a.api("GET", "/whoami")["scope"] == "admin"
        assert a.ssh("pidof dnsmasq", check=False).strip() == ""
        quiet, out = _no_dhcp_on(c, C.BRIDGE)
        assert quiet, "a DHCP server answered on the boot network:\n" + out
        state = a.ssh("systemctl is-system-running --wait", check=False).strip()
        assert state == "running", a.ssh("systemctl --failed --no-legend", check=False)
        TIMINGS.append("appliance uefi: power-on -> /healthz ok %.1f s" % t)
    finally:
        V.drop_cluster(c)
