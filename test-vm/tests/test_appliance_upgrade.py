"""Appliance upgrade and rollback, in QEMU (TCG here; several boots, slow).

One appliance (BIOS; the session's shared one, which test_appliance.py
first-booted and PXE-booted its clients from when it ran first) runs the
first build with a populated store: a group, the test OS image, a profile,
the defaults, a node that booted once (so boot events), an extra API token.
Then:

1. `corral system upgrade URL` of a deliberately broken build (its corrald
   never starts): the slot is written and verified, the trial boot of it is
   not healthy, the machine reboots by itself into the old slot, which
   notes the rollback; everything in the store is still there.
2. `corral system upgrade URL` of a second good build (another version
   string): after the reboot slot B is active and runs the new version,
   the store is intact, the old admin token still works, and the client VM
   boots again through the upgraded appliance.
3. `corral system backup` / `restore` round-trip the data partition.

The images are served over HTTP from the management bridge, compressed
(.img.zst), as an administrator would from a web server.
"""
import os
import pathlib
import sys
import time

import pytest

import cluster as C
from conftest import TIMINGS, diagnosis, preconditions

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "appliance"))
import vm as V  # noqa: E402

pytestmark = pytest.mark.long


def _explain(c, vms):
    return diagnosis(c, vms, n=60)


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """(first, broken, second) raw images; the first is the regular build."""
    preconditions()
    if os.environ.get("CORRAL_APPLIANCE_IMAGE"):
        first = V.image_path()
    else:
        first = V.build(log=tmp_path_factory.mktemp("b1") / "build.log")
    version = V.manifest(first)["version"]
    out = V.DEFAULT_OUT / "upgrade-test"
    t0 = time.monotonic()
    broken = V.build(out / "broken", version=version + "+broken", broken=True,
                     log=tmp_path_factory.mktemp("b2") / "build.log")
    t1 = time.monotonic()
    second = V.build(out / "second", version=version + "+next",
                     log=tmp_path_factory.mktemp("b3") / "build.log")
    TIMINGS.append("appliance rebuilds (install tree cached): broken %.0f s, second %.0f s" %
                   (t1 - t0, time.monotonic() - t1))
    return first, broken, second


def _serve(c, directory):
    """An HTTP server for `directory` on the management bridge (10.78.<n>.1:8099)."""
    c.spawn("http-images", ["/usr/bin/python3", "-m", "http.server", "8099", "--bind",
                            "10.78.%d.1" % c.index, "--directory", str(directory)],
            c.workdir / "http-images.log")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if "Serving HTTP" in c.tail(c.workdir / "http-images.log"):
            return "http://10.78.%d.1:8099" % c.index
        time.sleep(0.2)
    return "http://10.78.%d.1:8099" % c.index


def _snapshot(a):
    """What must survive an upgrade, from the API."""
    names = lambda xs: sorted(x["name"] for x in xs)  # noqa: E731
    return {
        "nodes": names(a.api("GET", "/nodes")),
        "groups": names(a.api("GET", "/groups")),
        "images": names(a.api("GET", "/images")),
        "profiles": names(a.api("GET", "/profiles")),
        "tokens": names(a.api("GET", "/tokens")),
        "defaults": a.api("GET", "/defaults").get("profile"),
        "events": len(a.events("node1")),
    }


def _wait_boot(a, offset, slot, timeout=1200):
    a.wait_text(r"Corral: booting slot %s" % slot, timeout, offset)
    return a.wait_healthy(timeout)


def test_upgrade_rollback_and_backup(images, testos, appliance_lab):
    first, broken, second = images
    # The session's shared appliance (conftest.appliance_lab): when
    # test_appliance.py ran first, its store already holds that module's
    # clients and their events too.  This test changes it for good, so it
    # ends it.
    c, a = appliance_lab.get(first, _explain)
    try:
        client = None
        try:
            v1 = a.ssh("sed -n s/^version=//p /usr/lib/corral/appliance/version").strip()
            # A populated store.
            V.setup_testos(a, testos)
            a.api("POST", "/groups", {"name": "compute", "profile": "testos"})
            client = c.add_vm("node1", firmware="bios")
            C.register_vm(a, client, groups=["compute"])
            ops = a.api("POST", "/tokens", {"name": "ops", "scope": "read"})["token"]
            client.start()
            client.wait_for(r"^phoned home", timeout=600)
            client.wait_exit(120)
            before = _snapshot(a)
            assert before["events"] > 0 and "ops" in before["tokens"], before

            url = _serve(c, V.DEFAULT_OUT / "upgrade-test")
            # 1. A broken build: written, verified, tried once, rolled back.
            out = a.ssh("bash -lc 'corral system upgrade %s/broken/%s.zst --no-reboot'" % (url, broken.name), timeout=900)
            assert "slot b verified" in out, out
            assert "pending: slot b" in a.ssh("bash -lc 'corral system status'")
            mark = len(a.console_text())
            t0 = time.monotonic()
            a.ssh("systemctl reboot", check=False)
            a.wait_text(r"Corral: booting slot b", 600, mark)
            a.wait_text(r"corral-health: upgrade: slot b .* not healthy", 1200, mark)
            a.wait_text(r"corral-health: rollback: slot b did not come up healthy", 1200, mark)
            a.wait_healthy(600)
            TIMINGS.append("appliance rollback: reboot -> back on slot a and healthy %.0f s" % (time.monotonic() - t0))
            status = a.ssh("bash -lc 'corral system status'")
            assert "rollback: slot b" in status, status
            assert a.ssh("sed -n s/^version=//p /usr/lib/corral/appliance/version").strip() == v1
            assert "corral.slot=a" in a.ssh("cat /proc/cmdline")
            assert _snapshot(a) == before

            # 2. A good second build: slot b again, now healthy and active.
            out = a.ssh("bash -lc 'corral system upgrade %s/second/%s.zst --no-reboot'" % (url, second.name), timeout=900)
            assert "slot b verified" in out, out
            mark = len(a.console_text())
            t0 = time.monotonic()
            a.ssh("systemctl reboot", check=False)
            _wait_boot(a, mark, "b")
            a.wait_text(r"corral-health: upgrade: slot b .* is now the active slot", 600, mark)
            TIMINGS.append("appliance upgrade: reboot -> slot b healthy and active %.0f s" % (time.monotonic() - t0))
            v2 = a.ssh("sed -n s/^version=//p /usr/lib/corral/appliance/version").strip()
            assert v2 == V.manifest(second)["version"] and v2 != v1
            status = a.ssh("bash -lc 'corral system status'")
            assert any(ln.split()[:4] == ["b", "vda5", "yes", "yes"] and ln.split()[4] == v2
                       for ln in status.splitlines()), status
            assert a.ssh("systemctl is-system-running --wait", check=False).strip() == "running"
            # The store came through: same objects, the old tokens still work.
            assert _snapshot(a) == before
            st, _ = a.http("GET", "/api/v1/nodes", headers={"Authorization": "Bearer " + ops})
            assert st == 200
            # And a node still boots through it.
            client.start()
            client.wait_for(r"^phoned home", timeout=600)
            client.wait_exit(120)
            assert len(a.events("node1")) > before["events"]
            after = _snapshot(a)

            # 3. Backup and restore of the data partition.
            a.ssh("bash -lc 'corral system backup /var/lib/corral/backup.tar.zst'", timeout=600)
            a.wait_healthy(300)
            a.api("DELETE", "/nodes/node1")
            assert "node1" not in [x["name"] for x in a.api("GET", "/nodes")]
            a.ssh("bash -lc 'corral system restore /var/lib/corral/backup.tar.zst'", timeout=600)
            a.wait_healthy(300)
            assert _snapshot(a) == after
        except (AssertionError, RuntimeError, TimeoutError) as e:
            raise AssertionError("%s\n%s" % (e, _explain(c, [a] + ([client] if client else []))))
    finally:
        appliance_lab.drop()
