"""End to end on arm64: an image corral-image builds for arm64 on this x86
machine boots an arm64 VM through Corral's whole chain.

1. corral-image builds image-builder/examples/compute-arm64.yaml
   (`arch: aarch64`: mmdebstrap --architectures=arm64, the arm64 programs
   run through qemu-user-static) into the same persistent store as
   test_image_boot.py (CORRAL_IMAGE_TEST_STORE, default
   /var/tmp/corral-image-store): cold the first time (many minutes: every
   package script and dracut run emulated), cached after.  Building it again
   must say "cached" and take seconds.
2. The image is pushed into corrald (registered as aarch64, with the root
   image's sha256) and one arm64 VM (qemu-system-aarch64 -M virt under TCG,
   AAVMF) boots it: AAVMF's own PXE -> TFTP ipxe-arm64.efi -> the HTTP boot
   script -> the image's arm64 kernel and dracut live initramfs -> the root
   image downloaded, checked against corral.rootfs_sha256 ("root image
   sha256 ok") and mounted -> real cloud-init (NoCloud over HTTP): a
   runcmd prints the machine, the root file system type and the host name
   on ttyAMA0 -> phone-home (state ready) -> power off.

Timings go to the summary (make bench reads the build's there)."""
import re
import time

import pytest

import cluster as C
from conftest import TIMINGS, explained
from test_image_boot import EXAMPLES, STORE, image_cli, push
from test_vm_arm64 import arm64_preconditions

pytestmark = pytest.mark.long

STAGES = ("dhcp", "tftp", "bootscript", "kernel", "initrd", "cloud-init", "phone-home")


def user_data(name):
    return """#cloud-config
hostname: %s
runcmd:
  - [sh, -c, 'echo "CORRAL-TESTOS: arm64-runcmd machine=$(uname -m) root=$(findmnt -n -o FSTYPE /) host=$(hostname)" > /dev/ttyAMA0']
power_state:
  mode: poweroff
  delay: now
  condition: true
""" % name


@pytest.fixture(scope="module")
def arm64_image():
    arm64_preconditions()
    rc, out, secs = image_cli("build", str(EXAMPLES / "compute-arm64.yaml"), timeout=5400)
    assert rc == 0, out
    kind = "cached" if "compute-arm64: cached" in out else "cold"
    size = (STORE / "names" / "compute-arm64" / "rootfs.squashfs").stat().st_size
    TIMINGS.append("image build    compute-arm64 %-6s %6.1f s, rootfs.squashfs %.1f MiB "
                   "(qemu-user-static)" % (kind, secs, size / 1048576))
    return out


def test_arm64_rebuild_is_cached(arm64_image):
    rc, out, secs = image_cli("build", str(EXAMPLES / "compute-arm64.yaml"))
    assert rc == 0, out
    assert re.search(r"^compute-arm64: cached \(layer [0-9a-f]{12}\)$", out, re.M), out
    assert secs < 60, "a cached rebuild took %.1f s:\n%s" % (secs, out)
    rc, show, _ = image_cli("show", "compute-arm64")
    assert rc == 0 and '"arm64"' in show, show
    TIMINGS.append("image build    compute-arm64 cached %6.1f s" % secs)


def test_arm64_image_boots_through_corral(arm64_image):
    fw = C.build_firmware()
    c = C.Cluster()
    c.create()
    try:
        cd = c.start_corrald(extra_conf=c.corrald_dhcp_conf(ipxe_dir=fw))
        push(c, cd, "compute-arm64")
        img = cd.api("GET", "/images/compute-arm64")
        assert img["arch"] == "aarch64", img
        assert re.fullmatch(r"[0-9a-f]{64}", img["rootfs_sha256"] or ""), img
        assert "console=ttyAMA0" in img["params"], img
        cd.api("PUT", "/profiles/compute-arm64", {"image": "compute-arm64"})
        vm = c.add_vm("img-arm1", firmware="arm64", pxe="firmware", mem=2048)
        C.register_vm(cd, vm, arch="aarch64", profile="compute-arm64",
                      user_data=user_data(vm.name))
        with explained(c, [vm]):
            vm.start()
            t_run = vm.wait_for(r"^arm64-runcmd ", timeout=3000)
            line = next(m for m in vm.marks if m.startswith("arm64-runcmd "))
            assert "machine=aarch64 " in line, line
            assert "root=overlay " in line, line
            assert "host=%s" % vm.name in line, line
            text = vm.console_text()
            assert "corral: root image sha256 ok" in text, text[-3000:]
            assert "NBP filename is ipxe-arm64.efi" in text, text[-3000:]
            deadline = time.monotonic() + 600
            while cd.node(vm.name)["state"] != "ready":
                assert time.monotonic() < deadline, "no phone-home: %s" % C.stages(cd, vm.name)
                time.sleep(2)
            t_home = round(time.monotonic() - vm.t_start, 1)
            missing = C.missing_stages(cd, vm.name, STAGES)
            assert not missing, "timeline lacks %s: %s" % (missing, C.stages(cd, vm.name))
            ev = cd.events(vm.name)
            kernel = [e for e in ev if e["stage"] == "kernel"]
            assert kernel and "images/compute-arm64/vmlinuz" in kernel[0]["detail"], kernel
            assert any(e["stage"] in ("rootfs", "file") and "rootfs.squashfs" in e["detail"]
                       for e in ev), C.stages(cd, vm.name)
            t_off = vm.wait_exit(600)
        TIMINGS.append("image boot     %s (arm64 image) runcmd %.1f s, phoned home %.1f s, "
                       "off %.1f s after power-on (TCG)" % (vm.name, t_run, t_home, t_off))
        for ln in C.format_timeline(cd, vm.name):
            TIMINGS.append("       " + ln)
    finally:
        c.teardown()
