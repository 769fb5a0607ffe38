"""End to end: images built by corral-image boot through Corral.

1. corral-image builds image-builder/examples/compute.yaml (Debian
   bookworm + systemd + cloud-init + openssh-server) into a store that
   persists between runs (CORRAL_IMAGE_TEST_STORE, default
   /var/tmp/corral-image-store): a cold build the first time, cached after.
   Building it again must say "cached" and take seconds.
2. A child layer (a copy of examples/compute-tools.yaml with a fresh
   command, so it is new on every run) rebuilds only itself: the output says
   the compute layer is cached and the child is built.
3. A recipe naming a package that does not exist fails with apt's own
   "Unable to locate package" line and leaves the store as it was.
4. The compute image is pushed into corrald (files under its file root,
   image registered with root=live:...), assigned to a group through a
   profile, and one BIOS VM (2 GiB: the squashfs lives in RAM) boots it
   through corrald's own dnsmasq, iPXE, dracut's livenet and real
   cloud-init.  Group user-data gives an SSH key, a runcmd and power_state;
   node user-data the host name and a second runcmd; Corral's vendor-data
   gives phone_home (its URL holds the node's token, which phone-home
   needs: no user-data can name it).  On the
   serial console the runcmds print CORRAL-TESTOS markers: the host name,
   the root file system type (overlay) and the key count; the node phones
   home (state ready) and powers off.

Under TCG the boot takes minutes; every build runs under `nice -n 10`.
Timings go to the summary (and `make bench` can read them from there)."""
import os
import pathlib
import re
import subprocess
import tempfile
import time

import pytest

import cluster as C
from conftest import TIMINGS, explained, preconditions

pytestmark = pytest.mark.long

BUILD = pathlib.Path(os.environ.get("CORRAL_BUILD", C.REPO / "build"))
STORE = pathlib.Path(os.environ.get("CORRAL_IMAGE_TEST_STORE", "/var/tmp/corral-image-store"))
EXAMPLES = C.REPO / "image-builder" / "examples"
TEST_KEY = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHx2cm9yYWwtZTJlLXRlc3Qta2V5LW5vdC1yZWFsAAAA "
            "corral-e2e")


def image_cli(*args, netns=None, env=None, timeout=3600, store=STORE):
    """Run corral-image (niced) on the test store; returns (rc, output, seconds)."""
    argv = ["nice", "-n", "10", str(BUILD / "corral-image"), "--store", str(store)] + list(args)
    if netns is not None:
        argv = ["ip", "netns", "exec", netns] + argv
    t0 = time.monotonic()
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       env=dict(os.environ, **(env or {})), timeout=timeout)
    return p.returncode, p.stdout, round(time.monotonic() - t0, 1)


def store_state(store):
    """What a build may change: layers, names, tmp (logs may grow)."""
    out = {}
    for sub in ("layers", "names", "tmp"):
        d = pathlib.Path(store) / sub
        out[sub] = sorted(os.listdir(d)) if d.exists() else []
    return out


@pytest.fixture(scope="module")
def compute():
    preconditions()
    if not (BUILD / "corral-image").exists():
        pytest.fail("%s missing: build corral-image first" % (BUILD / "corral-image"))
    for tool in ("mmdebstrap", "mksquashfs", "unsquashfs"):
        if subprocess.run(["which", tool], stdout=subprocess.DEVNULL).returncode != 0:
            pytest.fail("%s missing: run make deps" % tool)
    rc, out, secs = image_cli("build", str(EXAMPLES / "compute.yaml"))
    assert rc == 0, out
    kind = "cached" if "compute: cached" in out else "cold"
    size = (STORE / "names" / "compute" / "rootfs.squashfs").stat().st_size
    TIMINGS.append("image build    compute   %-6s %6.1f s, rootfs.squashfs %.1f MiB" %
                   (kind, secs, size / 1048576))
    return {"out": out, "secs": secs}


def test_rebuild_unchanged_is_cached(compute):
    rc, out, secs = image_cli("build", str(EXAMPLES / "compute.yaml"))
    assert rc == 0, out
    assert re.search(r"^compute: cached \(layer [0-9a-f]{12}\)$", out, re.M), out
    assert "building layer" not in out, out
    assert secs < 60, "a cached rebuild took %.1f s:\n%s" % (secs, out)
    TIMINGS.append("image build    compute   cached %6.1f s" % secs)
    rc, out, _ = image_cli("list")
    assert rc == 0 and re.search(r"^compute\s+[0-9a-f]{12}\s+-\s", out, re.M), out
    rc, out, _ = image_cli("show", "compute")
    assert rc == 0, out
    for field in ('"sha256"', '"rootfs.squashfs"', '"packages"', '"digest"', '"builder"',
                  '"cloud-init"', '"openssh-server"', '"build_seconds"'):
        assert field in out, field


def test_changed_child_rebuilds_only_child(compute):
    with tempfile.TemporaryDirectory(prefix="corral-image-child-") as d:
        child = pathlib.Path(d) / "child.yaml"
        stamp = "%d-%d" % (os.getpid(), time.time())
        # A name of its own: two test runs may share the store.
        name = "compute-e2e-child-%d" % os.getpid()
        child.write_text(
            "name: %s\n" % name +
            "parent: %s\n"
            "packages: [less]\n"
            "run:\n"
            "  - [/bin/sh, -c, 'echo %s > /etc/corral-child-stamp']\n" % (EXAMPLES / "compute.yaml", stamp))
        rc, out, secs = image_cli("build", str(child))
        assert rc == 0, out
        assert re.search(r"^compute: cached", out, re.M), out
        assert "compute: building" not in out, out
        assert re.search(r"^%s: building layer [0-9a-f]{12} \(on compute\)" % name, out, re.M), out
        assert re.search(r"^%s: built layer" % name, out, re.M), out
        TIMINGS.append("image build    child     rebuilt %5.1f s (parent cached)" % secs)
        # Unchanged: cached as a whole chain.
        rc, out2, secs2 = image_cli("build", str(child))
        assert rc == 0 and "%s: cached" % name in out2, out2
        # The child is built on compute: removing compute is refused.
        rc, out3, _ = image_cli("rm", "compute")
        assert rc != 0 and "built on compute" in out3, out3
        rc, out4, _ = image_cli("rm", name)
        assert rc == 0, out4


def test_interrupted_build_leaves_nothing(compute):
    """SIGINT in the middle of a build (in its own store, during mmdebstrap):
    exit 130, its mounts gone, nothing in layers/ or names/, tmp/ emptied."""
    with tempfile.TemporaryDirectory(prefix="corral-image-int-") as d:
        store = pathlib.Path(d) / "store"
        recipe = pathlib.Path(d) / "r.yaml"
        recipe.write_text("name: interrupted\nbase: {suite: bookworm}\ncloud_init: false\n")
        p = subprocess.Popen(["nice", "-n", "10", str(BUILD / "corral-image"), "--store", str(store),
                              "build", str(recipe)], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 60
        # Wait until the build is under way (its temporary tree exists).
        while time.monotonic() < deadline and p.poll() is None and not (
                (store / "tmp").exists() and os.listdir(store / "tmp")):
            time.sleep(0.2)
        time.sleep(5)
        p.send_signal(2)
        out, _ = p.communicate(timeout=300)
        assert p.returncode == 130, out
        assert "interrupted during" in out and "nothing was added to the store" in out, out
        assert store_state(store) == {"layers": [], "names": [], "tmp": []}
        with open("/proc/mounts") as f:
            assert str(store) not in f.read()


def test_missing_package_fails_clearly_and_leaves_store(compute):
    """In a store of its own (so other runs sharing the test store don't
    matter): apt's own message, and the store stays empty."""
    with tempfile.TemporaryDirectory(prefix="corral-image-bad-") as d:
        store = pathlib.Path(d) / "store"
        bad = pathlib.Path(d) / "bad.yaml"
        bad.write_text("name: bad-package\nbase: {suite: bookworm}\n"
                       "packages: [corral-no-such-package]\ncloud_init: false\n")
        rc, out, _ = image_cli("build", str(bad), store=store)
        assert rc == 1, out
        assert "rootfs (mmdebstrap) failed" in out, out
        assert "E: Unable to locate package corral-no-such-package" in out, out
        assert "nothing was added to the store" in out, out
        assert store_state(store) == {"layers": [], "names": [], "tmp": []}


def test_validation_error_before_any_work(compute):
    with tempfile.TemporaryDirectory(prefix="corral-image-bad-") as d:
        store = pathlib.Path(d) / "store"
        bad = pathlib.Path(d) / "bad.yaml"
        bad.write_text("name: x\nbase: {suite: bookworm}\npackages: systemd\nfoo: 1\n")
        rc, out, secs = image_cli("build", str(bad), store=store)
        assert rc == 1, out
        assert "bad.yaml:3: packages: must be a list of strings" in out, out
        assert "bad.yaml:4: foo: unknown key" in out, out
        assert secs < 5
        assert not store.exists(), "the store was touched before validation"


def group_user_data(server):
    return """#cloud-config
ssh_authorized_keys:
  - %(key)s
runcmd:
  - [sh, -c, 'echo "CORRAL-TESTOS: group-runcmd host=$(hostname) root=$(findmnt -n -o FSTYPE /) keys=$(cat /root/.ssh/authorized_keys /home/*/.ssh/authorized_keys 2>/dev/null | grep -c corral-e2e)" > /dev/ttyS0']
power_state:
  mode: poweroff
  delay: now
  condition: true
""" % {"key": TEST_KEY, "server": server}


def node_user_data(name):
    return """#cloud-config
hostname: %s
runcmd:
  - [sh, -c, 'echo "CORRAL-TESTOS: node-runcmd ran" > /dev/ttyS0']
""" % name


def test_boot_compute_image_through_corral(compute):
    c = C.Cluster()
    c.create()
    try:
        cd = c.start_corrald(extra_conf=c.corrald_dhcp_conf())
        server = "%s:%d" % (cd.address, cd.port)
        # Push from inside the namespace (corrald listens on the bridge).
        rc, out, secs = image_cli("push", "compute", "--files-root", str(cd.files_root),
                                  "--advertise", cd.url, netns=c.ns,
                                  env={"CORRAL_URL": cd.url, "CORRAL_TOKEN": cd.token})
        assert rc == 0, out
        img = cd.api("GET", "/images/compute")
        assert img["rootfs"] == "images/compute/rootfs.squashfs", img
        assert "root=live:%s/files/images/compute/rootfs.squashfs" % cd.url in img["params"], img
        for p in ("ip=dhcp", "rd.live.overlay.overlayfs=1", "console=ttyS0"):
            assert p in img["params"], img
        cd.api("PUT", "/profiles/compute", {"image": "compute"})
        cd.api("PUT", "/groups/compute", {"profile": "compute",
                                          "user_data": group_user_data(server)})
        vm = c.add_vm("img-node1", firmware="bios", mem=2048)
        C.register_vm(cd, vm, groups=["compute"], user_data=node_user_data(vm.name))
        # Removing the image while a profile uses it is refused.
        rc, out, _ = image_cli("rm", "compute", netns=c.ns,
                               env={"CORRAL_URL": cd.url, "CORRAL_TOKEN": cd.token})
        assert rc != 0 and "in use" in out, out
        with explained(c, [vm]):
            vm.start()
            t_group = vm.wait_for(r"^group-runcmd ", timeout=1500)
            t_node = vm.wait_for(r"^node-runcmd ran", timeout=120)
            line = next(m for m in vm.marks if m.startswith("group-runcmd "))
            assert "host=%s " % vm.name in line, line
            assert "root=overlay " in line, line
            assert re.search(r"keys=[1-9]", line), line
            deadline = time.monotonic() + 300
            while cd.node(vm.name)["state"] != "ready":
                assert time.monotonic() < deadline, "no phone-home: %s" % C.stages(cd, vm.name)
                time.sleep(1)
            t_home = round(time.monotonic() - vm.t_start, 1)
            missing = C.missing_stages(cd, vm.name, ("dhcp", "bootscript", "kernel", "initrd",
                                                     "cloud-init", "phone-home"))
            assert not missing, "timeline lacks %s: %s" % (missing, C.stages(cd, vm.name))
            rootfs_ev = [e for e in cd.events(vm.name) if e["stage"] in ("rootfs", "file")]
            assert rootfs_ev, C.stages(cd, vm.name)
            t_off = vm.wait_exit(300)
        TIMINGS.append("image boot     %s  runcmd %.1f s, phoned home %.1f s, off %.1f s "
                       "after power-on (accel %s)" % (vm.name, t_group, t_home, t_off, c.accel))
        for ln in C.format_timeline(cd, vm.name):
            TIMINGS.append("       " + ln)
    finally:
        c.teardown()
