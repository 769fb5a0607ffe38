"""Admission control (server.max_large_transfers) with a real iPXE VM.

corrald allows one large transfer at once (max_large_transfers = 1,
Retry-After 1..2 s).  A second registered node -- the namespace's own
address, standing in for a node already downloading -- holds the one slot
with a slow download of its own 64 MiB "kernel" (larger than any socket
buffer, so the server is still sending it).  The VM (BIOS, the NIC's iPXE ROM)
then gets 503 + Retry-After for its kernel: iPXE retries it (by itself on
Retry-After, or through the boot script's :retry path), and the timeline
shows the refusal.  Once the slow download is stopped the slot is free:
the VM gets its kernel and initrd and boots to the test OS's phone-home,
its timeline reading bootscript -> kernel (503) -> kernel -> initrd ->
cloud-init -> phone-home."""
import time

import pytest

import cluster as C
from conftest import TIMINGS, explained, preconditions

pytestmark = pytest.mark.long


@pytest.fixture(scope="module")
def lab(testos):
    preconditions()
    c = C.Cluster()
    c.create()
    try:
        conf = c.corrald_dhcp_conf(backend="dnsmasq")
        conf += "\n[server]\nmax_large_transfers = 1\nlarge_transfer_retry = 1\n"
        cd = c.start_corrald(extra_conf=conf)
        C.setup_testos(cd, testos)
        vm = c.add_vm("vm-admit", firmware="bios")
        C.register_vm(cd, vm)
        # the holder: a node whose address is the namespace's own (curl from
        # inside the namespace to corrald comes from it), booting a 64 MiB kernel
        with open(cd.files_root / "holder.img", "wb") as f:
            f.truncate(64 << 20)
        cd.api("PUT", "/images/holdimg", {"kernel": "holder.img", "initrd": "holder.img"})
        cd.api("PUT", "/profiles/holdprof", {"image": "holdimg"})
        cd.api("POST", "/nodes", {"name": "holder", "profile": "holdprof",
                                  "interfaces": [{"mac": "02:aa:00:00:00:01",
                                                  "ip": c.server_ip}]})
        yield c, cd, vm
    finally:
        c.teardown()


def _busy(cd, name):
    """The 503s the node got for its kernel: identical refusals in a row are
    one coalesced timeline row with a count."""
    return sum(e.get("count", 1) for e in cd.events(name)
               if e["stage"] == "kernel" and "busy (503)" in (e.get("detail") or ""))


def test_503_is_retried_and_the_vm_boots(lab):
    c, cd, vm = lab
    url = "http://%s:%d/files/holder.img" % (c.server_ip, cd.port)
    holder = c.spawn("holder", ["curl", "-s", "-o", "/dev/null", "--limit-rate", "4k", url],
                     c.workdir / "holder.log")
    with explained(c, [vm]):
        deadline = time.monotonic() + 15
        while (cd.metric("corral_large_transfers") or 0) < 1:
            assert holder.poll() is None, "the slow download ended early"
            assert time.monotonic() < deadline, "the slow download holds no slot"
            time.sleep(0.2)
        vm.start()
        deadline = time.monotonic() + 240
        while _busy(cd, vm.name) < 2:
            assert time.monotonic() < deadline, C.stages(cd, vm.name)
            time.sleep(0.5)
        assert vm.running()
        t_free = time.monotonic() - vm.t_start
        c.stop("holder")
        t_home = vm.wait_for(r"^phoned home", timeout=300)
        vm.wait_exit(60)
        assert cd.node(vm.name)["state"] == "ready"
        want = ("bootscript", "kernel", "kernel", "initrd", "cloud-init", "phone-home")
        missing = C.missing_stages(cd, vm.name, want)
        assert not missing, (missing, C.stages(cd, vm.name))
        ev = cd.events(vm.name)
        kernels = [e for e in ev if e["stage"] == "kernel"]
        assert "busy (503)" in kernels[0]["detail"], kernels
        assert "busy (503)" not in kernels[-1]["detail"], kernels
        assert cd.metric("corral_large_transfers_refused_total") >= 2
    TIMINGS.append("admission: %s phoned home %.1f s after power-on, %d refusals (503) "
                   "before the slot was freed at +%.1f s" % (
                       vm.name, t_home, _busy(cd, vm.name), t_free))
    for ln in C.format_timeline(cd, vm.name):
        TIMINGS.append("       " + ln)
