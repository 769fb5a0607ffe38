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

5. OCI import: an image made at test time with umoci from the compute
   image's root (so it has a kernel, dracut and cloud-init) plus upper
   layers that delete a file (a whiteout), change one and replace a
   directory (an opaque one), saved by skopeo as an OCI archive and a
   docker-archive.  Importing the OCI archive gives a root with the upper
   layers' result; the docker-archive of the same content finds the same
   layer ("cached"); an archive without a kernel fails naming what it
   lacks.
6. Integrity: the compute VM boots with corral.rootfs_sha256 checked
   ("root image sha256 ok" on its console); at the same time a VM given
   the same image with one byte of its root image changed stops before
   mounting it (its console says ROOT IMAGE REFUSED) and its timeline has
   the node's own `rootfs` event "sha256 mismatch"; a third VM boots the
   OCI-imported image to phone-home.

Under TCG the boot takes minutes; every build runs under `nice -n 10`.
Timings go to the summary (and `make bench` can read them from there)."""
import json
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


def run(*argv, cwd=None):
    p = subprocess.run(list(argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       cwd=cwd)
    assert p.returncode == 0, "%s: %s" % (" ".join(map(str, argv)), p.stdout[-3000:])
    return p.stdout


def squash_ls(sq):
    """Paths in a squashfs ("squashfs-root/..." stripped)."""
    out = run("unsquashfs", "-l", "-no-progress", str(sq))
    return {ln.strip()[len("squashfs-root"):] for ln in out.splitlines()
            if ln.strip().startswith("squashfs-root")}


def squash_cat(sq, path):
    return run("unsquashfs", "-cat", str(sq), path.lstrip("/"))


@pytest.fixture(scope="module")
def oci_sources(compute, tmp_path_factory):
    """OCI and docker archives of one image made here: the compute image's
    root as the base layer, then a whiteout, a changed file and an opaque
    directory in upper layers; and a small archive with no kernel."""
    for tool in ("skopeo", "umoci"):
        if subprocess.run(["which", tool], stdout=subprocess.DEVNULL).returncode != 0:
            pytest.fail("%s missing: run make deps" % tool)
    d = tmp_path_factory.mktemp("oci")
    t0 = time.monotonic()
    base = d / "base"
    run("unsquashfs", "-no-progress", "-d", str(base), str(STORE / "names" / "compute" / "rootfs.squashfs"))
    (base / "etc" / "corral-oci").mkdir()
    (base / "etc" / "corral-oci" / "victim").write_text("base\n")
    (base / "etc" / "corral-oci" / "layer").write_text("base\n")
    (base / "opt" / "corral-opaque").mkdir(parents=True)
    (base / "opt" / "corral-opaque" / "old").write_text("old\n")
    (d / "upper").write_text("upper\n")
    (d / "newdir").mkdir()
    (d / "newdir" / "new").write_text("new\n")
    lay = "%s:img" % (d / "layout")
    run("umoci", "init", "--layout", str(d / "layout"))
    run("umoci", "new", "--image", lay)
    run("umoci", "insert", "--image", lay, str(base), "/")
    run("umoci", "insert", "--image", lay, "--whiteout", "/etc/corral-oci/victim")
    run("umoci", "insert", "--image", lay, str(d / "upper"), "/etc/corral-oci/layer")
    run("umoci", "insert", "--image", lay, "--opaque", str(d / "newdir"), "/opt/corral-opaque")
    run("skopeo", "--insecure-policy", "copy", "oci:" + lay, "oci-archive:%s" % (d / "img-oci.tar"))
    run("skopeo", "--insecure-policy", "copy", "oci:" + lay,
        "docker-archive:%s:corral/e2e:latest" % (d / "img-docker.tar"))
    # No kernel, no dracut: a shell and a file.
    tiny = d / "tiny"
    (tiny / "bin").mkdir(parents=True)
    run("cp", "/bin/busybox", str(tiny / "bin" / "busybox"))
    os.symlink("busybox", tiny / "bin" / "sh")
    tl = "%s:tiny" % (d / "tinylayout")
    run("umoci", "init", "--layout", str(d / "tinylayout"))
    run("umoci", "new", "--image", tl)
    run("umoci", "insert", "--image", tl, str(tiny), "/")
    run("skopeo", "--insecure-policy", "copy", "oci:" + tl, "oci-archive:%s" % (d / "tiny-oci.tar"))
    run("rm", "-rf", str(base), str(d / "layout"), str(d / "tinylayout"))
    TIMINGS.append("image oci      archives made in %.1f s (oci %.1f MiB, docker %.1f MiB)" % (
        time.monotonic() - t0, (d / "img-oci.tar").stat().st_size / 1048576,
        (d / "img-docker.tar").stat().st_size / 1048576))
    return d


@pytest.fixture(scope="module")
def oci_image(oci_sources):
    """The OCI archive imported as oci-e2e (a fresh layer every run: the
    upper layers are made anew, so their diff_ids differ)."""
    rc, out, secs = image_cli("import", str(oci_sources / "img-oci.tar"), "oci-e2e",
                              "--kernel-params", "console=ttyS0")
    assert rc == 0, out
    m = re.search(r"^oci-e2e: ready in [0-9.]+ s: layer ([0-9a-f]{64})", out, re.M)
    assert m, out
    sq = STORE / "names" / "oci-e2e" / "rootfs.squashfs"
    TIMINGS.append("image import   oci-archive %6.1f s, rootfs.squashfs %.1f MiB" %
                   (secs, sq.stat().st_size / 1048576))
    return {"out": out, "key": m.group(1), "sq": sq}


def test_oci_import_applies_layers_in_order(oci_image):
    out = oci_image["out"]
    for step in ("probe", "oci", "rootfs", "initramfs", "kernel", "squashfs", "manifest"):
        assert re.search(r"^  %s\s.*done\s+[0-9.]+s$" % step, out, re.M), (step, out)
    paths = squash_ls(oci_image["sq"])
    assert "/etc/corral-oci/layer" in paths, "the base layer's directory is there"
    assert "/etc/corral-oci/victim" not in paths, "the whiteout removed it"
    assert squash_cat(oci_image["sq"], "/etc/corral-oci/layer") == "upper\n"
    assert "/opt/corral-opaque/new" in paths and "/opt/corral-opaque/old" not in paths, \
        "the opaque directory replaced the old one"
    assert "/usr/lib/dracut/modules.d/95corral-verify/corral-verify-root.sh" in paths
    rc, show, _ = image_cli("show", "oci-e2e")
    assert rc == 0, show
    m = json.loads(show)
    assert m["source"]["kind"] == "oci-archive" and len(m["source"]["diff_ids"]) == 4, m["source"]
    assert m["layer"] == oci_image["key"]
    for art in ("vmlinuz", "initrd", "rootfs.squashfs"):
        assert re.fullmatch(r"[0-9a-f]{64}", m["artifacts"][art]["sha256"]), m["artifacts"]
    assert m["cloud_init"] is True and "cloud-init" in {p["name"] for p in m["packages"]}


def test_docker_archive_of_same_content_finds_the_layer(oci_image, oci_sources):
    rc, out, secs = image_cli("import", str(oci_sources / "img-docker.tar"), "oci-e2e",
                              "--kernel-params", "console=ttyS0")
    assert rc == 0, out
    assert re.search(r"^oci-e2e: cached \(layer %s\)$" % oci_image["key"][:12], out, re.M), out
    assert "ready in" in out and oci_image["key"] in out, out
    TIMINGS.append("image import   docker-archive, same content: cached %.1f s" % secs)


def test_import_without_kernel_names_what_is_missing(oci_sources):
    with tempfile.TemporaryDirectory(prefix="corral-image-tiny-") as d:
        store = pathlib.Path(d) / "store"
        rc, out, _ = image_cli("import", str(oci_sources / "tiny-oci.tar"), "tiny", store=store)
        assert rc == 1, out
        assert "the image cannot boot as a Corral live image; it lacks: a kernel" in out, out
        for piece in ("dracut;", "dracut's livenet module", "curl", "--live-boot"):
            assert piece in out, (piece, out)
        assert store_state(store) == {"layers": [], "names": [], "tmp": []}


def test_recipe_on_an_oci_base(oci_sources):
    """base.oci: the recipe's packages go in with the image's own apt-get,
    on top of the OCI image's layers (whiteout and all)."""
    with tempfile.TemporaryDirectory(prefix="corral-image-ocibase-") as d:
        recipe = pathlib.Path(d) / "ocibase.yaml"
        recipe.write_text("name: oci-based-%d\nbase:\n  oci: %s\npackages: [less]\n"
                          "kernel_params: console=ttyS0\n" % (os.getpid(), oci_sources / "img-oci.tar"))
        rc, out, secs = image_cli("build", str(recipe))
        assert rc == 0, out
        assert re.search(r"^  packages\s+apt-get: \+1 packages\s+done", out, re.M), out
        sq = STORE / "names" / ("oci-based-%d" % os.getpid()) / "rootfs.squashfs"
        paths = squash_ls(sq)
        assert "/usr/bin/less" in paths and "/etc/corral-oci/victim" not in paths
        assert squash_cat(sq, "/etc/corral-oci/layer") == "upper\n"
        rc, show, _ = image_cli("show", "oci-based-%d" % os.getpid())
        base = json.loads(show)["base"]
        assert base["oci"].endswith("img-oci.tar") and re.fullmatch(r"[0-9a-f]{64}", base["content"])
        TIMINGS.append("image build    recipe on base.oci (+less) %6.1f s" % secs)
        image_cli("rm", "oci-based-%d" % os.getpid())


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


def push(c, cd, name, as_name=None):
    args = ["push", name, "--files-root", str(cd.files_root), "--advertise", cd.url]
    if as_name:
        args += ["--as", as_name]
    rc, out, _ = image_cli(*args, netns=c.ns, env={"CORRAL_URL": cd.url, "CORRAL_TOKEN": cd.token})
    assert rc == 0, out
    return out


def tamper(path):
    """One byte of the served copy changed; the store's file (a hard link
    until now) stays as it was."""
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(bytes(data))
    os.replace(tmp, path)


def test_boot_compute_image_through_corral(compute, oci_image):
    c = C.Cluster()
    c.create()
    try:
        cd = c.start_corrald(extra_conf=c.corrald_dhcp_conf())
        server = "%s:%d" % (cd.address, cd.port)
        # Push from inside the namespace (corrald listens on the bridge).
        push(c, cd, "compute")
        img = cd.api("GET", "/images/compute")
        assert img["rootfs"] == "images/compute/rootfs.squashfs", img
        assert "root=live:%s/files/images/compute/rootfs.squashfs" % cd.url in img["params"], img
        for p in ("ip=dhcp", "rd.live.overlay.overlayfs=1", "console=ttyS0"):
            assert p in img["params"], img
        assert re.fullmatch(r"[0-9a-f]{64}", img["rootfs_sha256"] or ""), img
        # The same image, its served root image changed by one byte.
        push(c, cd, "compute", "compute-bad")
        tamper(cd.files_root / "images" / "compute-bad" / "rootfs.squashfs")
        push(c, cd, "oci-e2e")
        # corral image verify sees both.
        verify = subprocess.run(["ip", "netns", "exec", c.ns, str(BUILD / "corral"), "image",
                                 "verify", "compute-bad"], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True,
                                env=dict(os.environ, CORRAL_URL=cd.url, CORRAL_TOKEN=cd.token))
        assert verify.returncode == 1 and "rootfs.squashfs" in verify.stdout and \
            "MISMATCH" in verify.stdout, verify.stdout
        for name in ("compute", "compute-bad", "oci-e2e"):
            cd.api("PUT", "/profiles/" + name, {"image": name})
        cd.api("PUT", "/groups/compute", {"profile": "compute",
                                          "user_data": group_user_data(server)})
        vm = c.add_vm("img-node1", firmware="bios", mem=2048)
        C.register_vm(cd, vm, groups=["compute"], user_data=node_user_data(vm.name))
        bad = c.add_vm("img-bad1", firmware="bios", mem=2048)
        C.register_vm(cd, bad, profile="compute-bad")
        oci = c.add_vm("img-oci1", firmware="bios", mem=2048)
        C.register_vm(cd, oci, groups=["compute"], profile="oci-e2e",
                      user_data=node_user_data("img-oci1"))
        # Removing the image while a profile uses it is refused.
        rc, out, _ = image_cli("rm", "compute", netns=c.ns,
                               env={"CORRAL_URL": cd.url, "CORRAL_TOKEN": cd.token})
        assert rc != 0 and "in use" in out, out
        with explained(c, [vm, bad, oci]):
            for v in (vm, bad, oci):
                v.start()
            t_refused = bad.wait_console(r"corral: ROOT IMAGE REFUSED: sha256 mismatch", timeout=1500)
            deadline = time.monotonic() + 120
            while not [e for e in cd.events(bad.name) if e["stage"] == "rootfs" and
                       e["detail"].startswith("sha256 mismatch: expected %s got " % img["rootfs_sha256"])]:
                assert time.monotonic() < deadline, "no rootfs report: %s" % C.stages(cd, bad.name)
                time.sleep(1)
            assert not C.missing_stages(cd, bad.name, ("bootscript", "kernel", "initrd", "rootfs"))
            assert "cloud-init" not in C.stages(cd, bad.name), C.stages(cd, bad.name)
            bad.stop()
            t_group = vm.wait_for(r"^group-runcmd ", timeout=1500)
            t_node = vm.wait_for(r"^node-runcmd ran", timeout=120)
            assert "corral: root image sha256 ok" in vm.console_text()
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
            # The OCI-imported image: to phone-home as well.
            t_oci = oci.wait_for(r"^group-runcmd ", timeout=1500)
            assert "corral: root image sha256 ok" in oci.console_text()
            deadline = time.monotonic() + 300
            while cd.node(oci.name)["state"] != "ready":
                assert time.monotonic() < deadline, "no phone-home: %s" % C.stages(cd, oci.name)
                time.sleep(1)
            t_oci_home = round(time.monotonic() - oci.t_start, 1)
        TIMINGS.append("image boot     %s  runcmd %.1f s, phoned home %.1f s, off %.1f s "
                       "after power-on (accel %s)" % (vm.name, t_group, t_home, t_off, c.accel))
        TIMINGS.append("image boot     %s  refused its changed root image %.1f s after power-on"
                       % (bad.name, t_refused))
        TIMINGS.append("image boot     %s  (OCI import) runcmd %.1f s, phoned home %.1f s"
                       % (oci.name, t_oci, t_oci_home))
        for ln in C.format_timeline(cd, vm.name):
            TIMINGS.append("       " + ln)
        for ln in C.format_timeline(cd, bad.name):
            TIMINGS.append("       " + ln)
    finally:
        c.teardown()
