"""corral-image on OCI bases whose package manager is dnf or zypper: the
recipe's `packages` go in with the image's own dnf or zypper, run in its
chroot, from an RPM repository made here.  No internet: the RPM is built by
rpmbuild at test time, the repository by createrepo_c, and served over HTTP
on 127.0.0.1 (the chroot shares this machine's network).

The bases: no RHEL or SUSE image can be fetched here, so the root is a
Debian bookworm made by mmdebstrap with Debian's dnf, zypper and rpm, made
to look like an RPM distribution where it matters to them: apt is purged
(corral-image probes apt-get, dnf, zypper in that order), rpm's database is
/var/lib/rpm (Debian's rpm keeps it in root's home), and /etc/os-release
says VERSION_ID=9 and no Debian.  It has a kernel, dracut and its live
modules, as corral-image's live boot check wants; to keep the layer small
the kernel keeps only a few modules (these images are for the package
managers; they are never booted).  Three OCI layouts share that layer
(umoci; upper layers: a whiteout of /usr/bin/dnf, an os-release without
VERSION_ID):

  dnf      dnf, VERSION_ID=9
  norel    dnf, no VERSION_ID
  zypper   zypper (dnf whited out), no VERSION_ID
  nopgrep  dnf, without pgrep (which dracut's network-legacy needs)

They are made once per checkout under the VM tests' cache
(CORRAL_VM_CACHE, checkout-<hash>/), the first time in a few minutes.
Each repository file names the repository by $releasever
(http://127.0.0.1:PORT/9/), so an install passes only when the package
manager was given the right release version: from os-release for dnf, from
the recipe's base.releasever for zypper (or, for a child recipe, the
parent recipe's); without either dnf's error names base.releasever.  A
missing package fails naming it, and the store keeps nothing of a failed
build."""
import hashlib
import http.server
import json
import os
import pathlib
import re
import shutil
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import BUILD, REPO

CACHE_DIR = pathlib.Path(os.environ.get("CORRAL_VM_CACHE", "/var/tmp/corral-test-vm"))
# The same per-checkout directory as test-vm/cluster.py's CHECKOUT_CACHE.
CHECKOUT_CACHE = CACHE_DIR / ("checkout-" + hashlib.sha256(str(REPO).encode()).hexdigest()[:12])

# dracut's network-legacy needs ip, pgrep and arping besides dhclient.
PACKAGES = ("dnf,zypper,rpm,linux-image-amd64,dracut,dracut-live,dracut-network,zstd,curl,"
            "isc-dhcp-client,iproute2,procps,iputils-arping")
OS_RELEASE = 'NAME="Corral RPM test root"\nID=corral-rpmtest\nID_LIKE="rhel fedora suse"\n'
# The kernel modules kept (the rest is removed, then depmod).
KEEP_MODULES = ("kernel/fs/squashfs", "kernel/fs/overlayfs", "kernel/drivers/net/virtio_net.ko",
                "kernel/drivers/net/net_failover.ko", "kernel/net/core/failover.ko")
# Changing how the bases are made changes their cache directory.
RECIPE_ID = hashlib.sha256(repr((PACKAGES, OS_RELEASE, KEEP_MODULES, 2)).encode()).hexdigest()[:12]
BASES = CHECKOUT_CACHE / ("rpm-bases-" + RECIPE_ID)

SPEC = """Name: corral-hello
Version: 1.0
Release: 1
Summary: Corral's test package
License: MIT
BuildArch: noarch
# The test root's /bin/sh is Debian's (dpkg's): not in its rpm database.
AutoReq: no

%description
A file and a script, built at test time.

%install
mkdir -p %{buildroot}/usr/share/corral-hello %{buildroot}/usr/bin
echo "hello from an rpm" > %{buildroot}/usr/share/corral-hello/hello.txt
printf '#!/bin/sh\\necho corral-hello ran\\n' > %{buildroot}/usr/bin/corral-hello
chmod 755 %{buildroot}/usr/bin/corral-hello

%post -p <lua>
local f = io.open("/usr/share/corral-hello/post-ran", "w")
f:write("installed\\n")
f:close()

%files
/usr/share/corral-hello/hello.txt
/usr/bin/corral-hello
"""


def run(*argv, cwd=None, env=None):
    p = subprocess.run([str(a) for a in argv], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, cwd=cwd, env=env)
    assert p.returncode == 0, "%s: %s" % (" ".join(map(str, argv)), p.stdout[-3000:])
    return p.stdout


def make_root(root):
    # INITRD=No: no initramfs from the kernel's and dracut's scripts
    # (corral-image makes its own; dracut's hook fails when it runs before
    # dracut-network's dependencies are configured, which is dpkg's order).
    run("nice", "-n", "10", "mmdebstrap", "--variant=minbase", "--include=" + PACKAGES,
        "--dpkgopt=path-exclude=/usr/share/man/*", "--dpkgopt=path-exclude=/usr/share/doc/*",
        "--dpkgopt=path-exclude=/usr/share/locale/*", "--dpkgopt=force-unsafe-io",
        "bookworm", root, env=dict(os.environ, INITRD="No"))
    run("chroot", root, "dpkg", "--purge", "--force-remove-protected",
        "--force-remove-essential", "--force-depends", "apt")
    (root / "etc" / "os-release").unlink()
    (root / "etc" / "os-release").write_text(OS_RELEASE + 'VERSION_ID="9"\n')
    (root / "etc" / "rpm").mkdir(exist_ok=True)
    (root / "etc" / "rpm" / "macros.dbpath").write_text("%_dbpath /var/lib/rpm\n")
    run("chroot", root, "rpm", "--initdb")
    mods = root / "usr" / "lib" / "modules"
    for kdir in mods.iterdir():
        keep = pathlib.Path(tempfile.mkdtemp(dir=root / "tmp"))
        for k in KEEP_MODULES:
            if (kdir / k).exists():
                (keep / k).parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(kdir / k), str(keep / k))
        shutil.rmtree(kdir / "kernel")
        shutil.move(str(keep / "kernel"), str(kdir / "kernel"))
        shutil.rmtree(keep)
        run("chroot", root, "depmod", kdir.name)


def umoci_variant(bases, name, *inserts):
    """A layout for variant name: the dnf layout's blobs (hard links: they
    are content-addressed and never rewritten), its own index, then the
    upper layers."""
    src, dst = bases / "dnf", bases / name
    run("cp", "-al", src, dst)
    for f in ("index.json", "oci-layout"):
        (dst / f).unlink()
        shutil.copy(src / f, dst / f)
    for ins in inserts:
        run("umoci", "insert", "--image", "%s:img" % dst, *ins)


@pytest.fixture(scope="module")
def bases():
    if os.geteuid() != 0:
        pytest.fail("corral-image builds need root")
    for tool in ("mmdebstrap", "umoci", "rpmbuild", "createrepo_c", "unsquashfs", "rpm"):
        if shutil.which(tool) is None:
            pytest.fail("%s missing: run make deps" % tool)
    if (BASES / "done").exists():
        return BASES
    t0 = time.monotonic()
    BASES.parent.mkdir(parents=True, exist_ok=True)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="rpm-bases-", dir=BASES.parent))
    try:
        root = tmp / "root"
        make_root(root)
        run("umoci", "init", "--layout", tmp / "dnf")
        run("umoci", "new", "--image", "%s:img" % (tmp / "dnf"))
        run("nice", "-n", "10", "umoci", "insert", "--image", "%s:img" % (tmp / "dnf"), root, "/")
        norel = tmp / "os-release"
        norel.write_text(OS_RELEASE)
        umoci_variant(tmp, "norel", (norel, "/etc/os-release"))
        umoci_variant(tmp, "zypper", (norel, "/etc/os-release"),
                      ("--whiteout", "/usr/bin/dnf"))
        umoci_variant(tmp, "nopgrep", ("--whiteout", "/usr/bin/pgrep"))
        shutil.rmtree(root)
        (tmp / "done").write_text("made in %.0f s\n" % (time.monotonic() - t0))
        if BASES.exists():
            shutil.rmtree(BASES)
        tmp.rename(BASES)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return BASES


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """The test RPM in a repository at /9/, served on 127.0.0.1."""
    d = tmp_path_factory.mktemp("rpmrepo")
    (d / "corral-hello.spec").write_text(SPEC)
    run("rpmbuild", "-bb", "--define", "_topdir %s" % (d / "top"), d / "corral-hello.spec")
    served = d / "served" / "9"
    served.mkdir(parents=True)
    for rpm in (d / "top" / "RPMS" / "noarch").glob("*.rpm"):
        shutil.copy(rpm, served)
    run("createrepo_c", "-q", served)
    handler = lambda *a, **kw: Quiet(*a, directory=str(d / "served"), **kw)  # noqa: E731
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d/$releasever/" % srv.server_address[1]
    # One file for both: dnf and zypper read the same .repo format.
    (d / "corral-test.repo").write_text(
        "[corral-test]\nname=Corral test repository\nbaseurl=%s\nenabled=1\n"
        "gpgcheck=0\n" % url)
    yield d
    srv.shutdown()
    srv.server_close()


@pytest.fixture()
def store():
    d = pathlib.Path(tempfile.mkdtemp(prefix="corral-image-rpm-", dir="/var/tmp"))
    yield d / "store"
    shutil.rmtree(d)


def build(store, recipe_dir, text):
    recipe = pathlib.Path(recipe_dir) / "recipe.yaml"
    recipe.write_text(text)
    t0 = time.monotonic()
    p = subprocess.run(["nice", "-n", "10", str(BUILD / "corral-image"), "--store", str(store),
                        "build", str(recipe)], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=1800)
    return p.returncode, p.stdout, time.monotonic() - t0


def recipe(name, base, repo, repodest, packages, extra=""):
    return ("name: %s\nbase:\n  oci: %s\n%sfiles:\n  - {src: %s, dest: %s}\n"
            "packages: [%s]\ncloud_init: false\n" % (
                name, base, extra, repo / "corral-test.repo", repodest, ", ".join(packages)))


def store_state(store):
    out = {}
    for sub in ("layers", "names", "tmp"):
        d = pathlib.Path(store) / sub
        out[sub] = sorted(os.listdir(d)) if d.exists() else []
    return out


def assert_installed(store, name, tmp):
    """The RPM's files and its %post's in the squashfs root, and rpm -q
    (this machine's rpm on the image's database) knows it."""
    sq = store / "names" / name / "rootfs.squashfs"
    cat = lambda p: run("unsquashfs", "-cat", sq, p)  # noqa: E731
    assert cat("usr/share/corral-hello/hello.txt") == "hello from an rpm\n"
    assert cat("usr/share/corral-hello/post-ran") == "installed\n"
    assert "corral-hello ran" in cat("usr/bin/corral-hello")
    out = tmp / "db"
    run("unsquashfs", "-no-progress", "-d", out, sq, "var/lib/rpm")
    q = run("rpm", "--dbpath", out / "var" / "lib" / "rpm", "-q", "corral-hello")
    assert q.strip() == "corral-hello-1.0-1.noarch", q
    files = run("rpm", "--dbpath", out / "var" / "lib" / "rpm", "-ql", "corral-hello").split()
    assert "/usr/share/corral-hello/hello.txt" in files
    # The manifest's package list has it (from the image's own rpm).
    m = json.loads(run(BUILD / "corral-image", "--store", store, "show", name))
    assert {"name": "corral-hello", "version": "1.0-1.noarch"} in m["packages"], m["packages"]
    return sq


def test_dnf_base_installs_rpm_with_os_release_version(bases, repo, store, tmp_path):
    name = "rpm-dnf-%d" % os.getpid()
    rc, out, _ = build(store, tmp_path, recipe(name, bases / "dnf", repo,
                                                 "/etc/yum.repos.d/corral-test.repo",
                                                 ["corral-hello"]))
    assert rc == 0, out
    assert re.search(r"^  packages\s+dnf: \+1 packages\s+done", out, re.M), out
    sq = assert_installed(store, name, tmp_path)
    paths = run("unsquashfs", "-l", "-no-progress", sq)
    assert "squashfs-root/etc/yum.repos.d/corral-test.repo" in paths
    assert not re.search(r"squashfs-root/var/cache/dnf/\S+\.solv", paths), \
        "dnf's caches are emptied"
    log = next((store / "logs").glob(name + "*")).read_text()
    assert "dnf: release version 9 (the image's os-release VERSION_ID)" in log
    assert re.search(r"^\$ .*/usr/bin/dnf -y --setopt=install_weak_deps=False .*--releasever=9 "
                     r"install corral-hello$", log, re.M), log[-3000:]


def test_zypper_base_installs_rpm_with_recipe_releasever(bases, repo, store, tmp_path):
    name = "rpm-zypper-%d" % os.getpid()
    rc, out, _ = build(store, tmp_path, recipe(name, bases / "zypper", repo,
                                                 "/etc/zypp/repos.d/corral-test.repo",
                                                 ["corral-hello"], "  releasever: '9'\n"))
    assert rc == 0, out
    assert re.search(r"^  packages\s+zypper: \+1 packages\s+done", out, re.M), out
    assert_installed(store, name, tmp_path)


def test_dnf_without_release_version_names_base_releasever(bases, repo, store, tmp_path):
    rc, out, _ = build(store, tmp_path, recipe("rpm-norel", bases / "norel", repo,
                                               "/etc/yum.repos.d/corral-test.repo",
                                               ["corral-hello"]))
    assert rc == 1, out
    assert "dnf needs the image's release version" in out, out
    assert "Give it as the recipe's base.releasever" in out, out
    assert store_state(store) == {"layers": [], "names": [], "tmp": []}


def test_dnf_missing_package_is_named_and_store_untouched(bases, repo, store, tmp_path):
    rc, out, _ = build(store, tmp_path, recipe("rpm-missing", bases / "dnf", repo,
                                               "/etc/yum.repos.d/corral-test.repo",
                                               ["corral-hello", "corral-no-such-rpm"]))
    assert rc == 1, out
    assert "packages (dnf install) failed" in out, out
    assert "No match for argument: corral-no-such-rpm" in out, out
    assert store_state(store) == {"layers": [], "names": [], "tmp": []}


def test_zypper_missing_package_is_named(bases, repo, store, tmp_path):
    rc, out, _ = build(store, tmp_path, recipe("rpm-zmissing", bases / "zypper", repo,
                                               "/etc/zypp/repos.d/corral-test.repo",
                                               ["corral-no-such-rpm"], "  releasever: '9'\n"))
    assert rc == 1, out
    assert "packages (zypper install) failed" in out, out
    assert "No provider of 'corral-no-such-rpm' found" in out, out
    assert store_state(store) == {"layers": [], "names": [], "tmp": []}


def test_import_without_network_legacy_programs_names_them(bases, store):
    """dracut leaves network-legacy out without pgrep (and livenet with it:
    "cannot be found or installed"); the live boot check names it first."""
    p = subprocess.run(["nice", "-n", "10", str(BUILD / "corral-image"), "--store", str(store),
                        "import", str(bases / "nopgrep"), "nopgrep"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=1800)
    assert p.returncode == 1, p.stdout
    assert "the image cannot boot as a Corral live image; it lacks: pgrep (procps; dracut's " \
        "network-legacy needs it)." in p.stdout, p.stdout
    assert store_state(store) == {"layers": [], "names": [], "tmp": []}


def test_child_of_zypper_image_installs_with_zypper_and_parents_releasever(bases, repo, store,
                                                                           tmp_path):
    """A child recipe (parent: a recipe file on the zypper base) adds its
    packages with the image's zypper, not apt-get, and takes the release
    version the parent recipe gave (the image's os-release has none)."""
    parent = "rpm-zparent-%d" % os.getpid()
    (tmp_path / "parent.yaml").write_text(recipe(
        parent, bases / "zypper", repo, "/etc/zypp/repos.d/corral-test.repo", [],
        "  releasever: '9'\n"))
    child = "rpm-zchild-%d" % os.getpid()
    rc, out, _ = build(store, tmp_path, "name: %s\nparent: parent.yaml\n"
                       "packages: [corral-hello]\n" % child)
    assert rc == 0, out
    assert re.search(r"^  packages\s+zypper: \+1 -0 packages\s+done", out, re.M), out
    assert_installed(store, child, tmp_path)
    log = next((store / "logs").glob(child + "*")).read_text()
    assert re.search(r"^\$ .*/usr/bin/zypper --non-interactive --releasever=9 install "
                     r"--no-recommends corral-hello$", log, re.M), log[-3000:]
