"""End to end through corrald's own DHCP side: what DHCP does for unknown,
adopted, disabled and removed machines, the supervision of dnsmasq (and of
Kea), and four VMs booting at once.

Every test runs twice, once per dhcp.backend: "dnsmasq" (corrald's dnsmasq
answers DHCP) and "kea" (Debian's kea-dhcp4 answers, corrald's dnsmasq
keeps TFTP and DNS).  One cluster per backend: corrald with [dhcp] mode =
authoritative on the bridge (pool .100-.199, pinned addresses .11-.99 from
host entries or Kea reservations) and boot.unknown_wait = 3, so a waiting
machine asks again every 3 s.  BIOS VMs
(the NIC's iPXE ROM) except one UEFI VM (OVMF's own PXE + TFTP) among the
four.  Every VM has its own MAC, so the tests do not depend on each other's
order, except that test_dnsmasq_killed expects corrald's dnsmasq never to
have been restarted before it, and test_dhcp_server_killed only that once
(Kea never).  The disabled node's VM is powered on by the
fixture (it only waits for a DHCP answer that never comes) and checked by
the module's last test."""
import http.client
import ipaddress
import json
import os
import re
import signal
import threading
import time

import pytest

import cluster as C
from conftest import TIMINGS, explained, preconditions, record_boot

pytestmark = pytest.mark.long

BOOT = ("dhcp", "bootscript", "kernel", "initrd", "cloud-init", "phone-home")
TIMEOUT = 300  # one boot, generous: the machine may be loaded


@pytest.fixture(scope="module", params=["dnsmasq", "kea"])
def lab(testos, request):
    preconditions()
    backend = request.param
    if backend == "kea" and not os.access(KEA, os.X_OK):
        pytest.fail("%s missing: run make deps" % KEA)
    c = C.Cluster()
    c.create()
    c.backend = backend
    try:
        cd = c.start_corrald(extra_conf=c.corrald_dhcp_conf(backend=backend) +
                             "[boot]\nunknown_wait = 3\n")
        C.setup_testos(cd, testos)
        started = "DHCP, IP range" if backend == "dnsmasq" else "DHCP4_STARTED"
        deadline = time.monotonic() + 20
        while started not in c.tail(cd.workdir / "corrald.log", 400):
            assert time.monotonic() < deadline, "corrald's %s did not start:\n" % backend + \
                c.tail(cd.workdir / "corrald.log", 60)
            time.sleep(0.1)
        # The disabled node's VM is powered on now and checked by the last
        # test: its iPXE spends ~20 s asking for an address in vain, mostly
        # idle, so it waits in the background while the other tests run.
        off = c.add_vm("off")
        C.register_vm(cd, off, enabled=False)
        off.host_entry = wait_until(lambda: dhcp_entry(c, cd, off.mac), 1.5,
                                    "no DHCP entry for %s within a second" % off.mac)
        off.start()
        c.disabled_vm = off
        yield c, cd
    finally:
        c.teardown()


KEA = "/usr/sbin/kea-dhcp4"


def hosts_dir(cd):
    return cd.workdir / "dhcp" / "hosts"


def host_file(cd, mac):
    return hosts_dir(cd) / mac.replace(":", "-")


def dhcp_entry(c, cd, mac):
    """What the DHCP server is told about mac, as text: dnsmasq's host file,
    or Kea's reservation (JSON) in the configuration it runs; None if none."""
    if c.backend == "dnsmasq":
        hf = host_file(cd, mac)
        try:
            return hf.read_text()
        except OSError:
            return None
    try:
        conf = json.loads((cd.workdir / "dhcp" / "kea" / "kea-dhcp4.json").read_text())
    except (OSError, ValueError):
        return None  # being replaced this moment
    for r in conf["Dhcp4"]["subnet4"][0]["reservations"]:
        if r["hw-address"] == mac:
            return json.dumps(r)
    return None


def after(text, marker):
    """text after marker's first occurrence, "" if marker is not in it."""
    return text.split(marker, 1)[1] if marker in text else ""


def acked(c, cd, log, ip, mac, name=None):
    """The DHCP server gave ip to mac: dnsmasq's log says so; Kea logs no
    lease (they are in its lease file), so its lease is the node's dhcp
    step (name), or the discovered machine's address."""
    if c.backend == "dnsmasq":
        return re.search(r"DHCPACK\(br0\) %s %s" % (re.escape(ip), mac), log) is not None
    if name is None:
        d = discovered(cd, mac)
        return d is not None and d["ip"] == ip
    return any(e["stage"] == "dhcp" and e["source"] == ip for e in cd.events(name))


def in_pool(c, ip):
    a = ipaddress.ip_address(ip)
    return ipaddress.ip_address(c.prefix + ".100") <= a <= ipaddress.ip_address(c.prefix + ".199")


def corrald_log(cd):
    return (cd.workdir / "corrald.log").read_text(errors="replace")


def wait_until(fn, timeout, what, step=0.1):
    """fn() until truthy; returns its value or raises AssertionError."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("after %ss: %s" % (timeout, what))
        time.sleep(step)


def discovered(cd, mac):
    for d in cd.api("GET", "/discovered"):
        if d["mac"] == mac:
            return d
    return None


def check_booted(cd, vm, want=BOOT):
    node = cd.node(vm.name)
    assert node["state"] == "ready", node
    missing = C.missing_stages(cd, vm.name, want)
    assert not missing, "%s: timeline lacks %s (in this order: %s): %s" % (
        vm.name, missing, " -> ".join(want), C.stages(cd, vm.name))


# ---------------------------------------------------------------- tests


def test_unknown_mac_discovered_then_adopted_boots_without_power_cycle(lab):
    """An unregistered MAC gets a pool address, is listed as discovered
    (API and `corral node discovered`), waits with "not registered yet";
    `corral node adopt` makes it a node and it boots on its next re-ask,
    the same QEMU process (no power cycle)."""
    c, cd = lab
    vm = c.add_vm("stray")
    with explained(c, [vm]):
        vm.start()
        pid = vm.proc.pid
        t_wait = vm.wait_console(r"\(%s\) is not registered yet" % vm.mac, TIMEOUT)
        d = wait_until(lambda: discovered(cd, vm.mac), 10, "%s not in /api/v1/discovered" % vm.mac)
        assert d["ip"] and in_pool(c, d["ip"]), "discovered with %r, not a pool address: %s" % (d["ip"], d)
        assert acked(c, cd, corrald_log(cd), d["ip"], vm.mac), \
            "no DHCPACK of %s to %s in corrald's log" % (d["ip"], vm.mac)
        out = cd.cli("node", "discovered").stdout
        assert vm.mac in out, "corral node discovered:\n" + out
        # It keeps asking (every unknown_wait = 3 s) while unknown.
        n0 = vm.console_text().count("is not registered yet")
        wait_until(lambda: vm.console_text().count("is not registered yet") > n0, 30,
                   "the waiting script did not ask again")

        cd.cli("node", "adopt", vm.mac, vm.name)
        t_adopt = round(time.monotonic() - vm.t_start, 2)
        node = cd.node(vm.name)
        assert node["interfaces"][0]["mac"] == vm.mac, node
        left = discovered(cd, vm.mac)
        assert left is None, "still listed as discovered after adoption: %s" % left

        t_home = vm.wait_for(r"^phoned home", TIMEOUT)
        vm.wait_exit(60)
        assert vm.proc.pid == pid, "QEMU was restarted"
        text = vm.console_text()
        assert text.count("SeaBIOS (version") == 1, "the VM was power-cycled"
        assert "booting %s with profile" % vm.name in text
        check_booted(cd, vm, ("bootscript", "kernel", "initrd", "cloud-init", "phone-home"))
    record_boot("adopted", vm, t_home, " (%s; waiting from %.1f s, adopted at %.1f s)"
                % (c.backend, t_wait, t_adopt))


def test_adopt_racing_boot_requests_leaves_no_discovered_entry(lab):
    """No VM: the same adoption while the machine's boot-script requests
    keep coming (as a waiting iPXE's do, here from three threads at once).
    After the adoption the MAC belongs to a node, so it must not be listed
    as discovered.  A request that looked the MAC up just before the
    adoption committed must not bring the entry back."""
    c, cd = lab
    stale = []
    for k in range(20):
        mac = "02:00:00:5e:00:%02x" % k
        cd.http("GET", "/boot/v1/bootscript?mac=" + mac)
        stop = threading.Event()

        def hammer():
            def body():
                while not stop.is_set():
                    h = http.client.HTTPConnection(cd.address, cd.port, timeout=10)
                    try:
                        h.request("GET", "/boot/v1/bootscript?mac=" + mac)
                        h.getresponse().read()
                    finally:
                        h.close()
            C.in_netns(c.ns, body)

        threads = [threading.Thread(target=hammer, daemon=True) for _ in range(3)]
        for t in threads:
            t.start()
        time.sleep(0.05)
        cd.api("POST", "/discovered/%s/adopt" % mac, {"name": "race%d" % k})
        time.sleep(0.05)
        stop.set()
        for t in threads:
            t.join(15)
        time.sleep(0.3)  # events are written in batches
        d = discovered(cd, mac)
        if d is not None:
            stale.append(d)
        cd.api("DELETE", "/nodes/race%d" % k)
    assert not stale, ("%d of 20 adopted MACs listed as discovered again (first_seen after the "
                       "adoption; the MAC is a node's interface): %s" % (len(stale), stale[:3]))


def test_removed_node_loses_its_dhcp_entry(lab):
    """A node with a pinned address gets it; after DELETE its host file (or
    Kea reservation) is gone within a second and the same MAC gets a pool
    address and is listed as discovered."""
    c, cd = lab
    vm = c.add_vm("gone")
    C.register_vm(cd, vm)
    with explained(c, [vm]):
        entry = wait_until(lambda: dhcp_entry(c, cd, vm.mac), 1.5,
                           "no DHCP entry for %s within a second" % vm.mac)
        assert vm.ip in entry
        vm.start()
        wait_until(lambda: any(e["stage"] == "bootscript" for e in cd.events(vm.name)), TIMEOUT,
                   "%s never asked for its boot script" % vm.name, step=0.3)
        vm.stop()
        # The lease event may come a moment after the boot script's: with
        # Kea it is read from the lease file in batches (kea.c).
        wait_until(lambda: any(e["stage"] == "dhcp" and vm.ip in e["detail"]
                               for e in cd.events(vm.name)), 5,
                   "no dhcp event with %s on %s's timeline" % (vm.ip, vm.name))

        cd.api("DELETE", "/nodes/" + vm.name)
        t0 = time.monotonic()
        wait_until(lambda: dhcp_entry(c, cd, vm.mac) is None, 1.5,
                   "DHCP entry for %s still there after DELETE" % vm.mac)
        gone_after = time.monotonic() - t0
        assert cd.http("GET", "/api/v1/nodes/" + vm.name,
                       headers={"Authorization": "Bearer " + cd.token})[0] == 404

        vm.start()
        vm.wait_console(r"\(%s\) is not registered yet" % vm.mac, TIMEOUT)
        d = wait_until(lambda: discovered(cd, vm.mac), 10, "%s not discovered after removal" % vm.mac)
        assert d["ip"] != vm.ip and in_pool(c, d["ip"]), \
            "removed node's MAC got %s (pinned was %s): %s" % (d["ip"], vm.ip, d)
        text = vm.console_text()
        assert "net0: %s/" % d["ip"] in text and "net0: %s/" % vm.ip not in text, text[-1500:]
    vm.stop()
    TIMINGS.append("%-14s %-9s %s: DHCP entry gone %.2f s after DELETE; then got pool address %s"
                   % ("removed", vm.name, c.backend, gone_after, d["ip"]))


def test_dnsmasq_killed_is_restarted_and_next_vm_boots(lab):
    """kill -9 of corrald's dnsmasq: corrald logs it, restarts it
    (corral_dnsmasq_restarts_total 0 -> 1) and a VM then boots to
    phone-home through the new one."""
    c, cd = lab
    vm = c.add_vm("after-kill")
    C.register_vm(cd, vm)
    with explained(c, [vm]):
        assert cd.metric("corral_dnsmasq_restarts_total") == 0
        old = cd.dnsmasq_pid()
        assert old, "no dnsmasq child of corrald (pid %d)" % cd.proc.pid
        assert "started dnsmasq (pid %d," % old in corrald_log(cd)
        os.kill(old, signal.SIGKILL)
        t0 = time.monotonic()
        new = wait_until(lambda: (cd.dnsmasq_pid() or old) != old and cd.dnsmasq_pid(), 40,
                         "corrald did not restart dnsmasq")
        restarted_after = time.monotonic() - t0
        log = corrald_log(cd)
        assert "dnsmasq killed by signal 9; restarting" in log
        assert "started dnsmasq (pid %d," % new in log
        assert cd.metric("corral_dnsmasq_restarts_total") == 1
        assert cd.proc.poll() is None, "corrald died"
        # with Kea, dnsmasq serves TFTP (and DNS) only
        up = ("dnsmasq-dhcp[%d]: DHCP, IP range" if c.backend == "dnsmasq" else
              "dnsmasq-tftp[%d]: TFTP root is") % new
        wait_until(lambda: up in corrald_log(cd), 10, "the new dnsmasq did not set up: " + up)

        t_home = C.boot_and_check(c, cd, [vm], TIMEOUT)[vm.name]["phoned_home"]
        check_booted(cd, vm)
        assert acked(c, cd, corrald_log(cd).split("started dnsmasq (pid %d," % new)[1], vm.ip,
                     vm.mac, vm.name)
        assert cd.metric("corral_dnsmasq_restarts_total") == 1
    record_boot("after kill -9", vm, t_home, " (%s; dnsmasq back after %.1f s)"
                % (c.backend, restarted_after))


def test_dhcp_server_killed_is_restarted_and_next_vm_boots(lab):
    """kill -9 of the DHCP server itself: Kea (backend kea: 0 -> 1 in
    corral_kea_restarts_total), or dnsmasq a second time (1 -> 2, after a
    longer back-off).  corrald logs it and restarts it, and a VM then boots
    to phone-home through the new one (with Kea: whose leases survived)."""
    c, cd = lab
    name = "kea-dhcp4" if c.backend == "kea" else "dnsmasq"
    metric = "corral_%s_restarts_total" % ("kea" if c.backend == "kea" else "dnsmasq")
    vm = c.add_vm("srv-kill")
    C.register_vm(cd, vm)
    with explained(c, [vm]):
        before = cd.metric(metric)
        assert before == (0 if c.backend == "kea" else 1), before
        old = cd.child_pid(name)
        assert old, "no %s child of corrald (pid %d)" % (name, cd.proc.pid)
        os.kill(old, signal.SIGKILL)
        t0 = time.monotonic()
        new = wait_until(lambda: (cd.child_pid(name) or old) != old and cd.child_pid(name), 40,
                         "corrald did not restart " + name)
        marker = "started %s (pid %d," % (name, new)
        up = "DHCP4_STARTED" if c.backend == "kea" else "DHCP, IP range"
        wait_until(lambda: up in after(corrald_log(cd), marker), 20, "the new %s did not start" % name)
        restarted_after = time.monotonic() - t0
        assert "%s killed by signal 9; restarting" % name in corrald_log(cd)
        assert cd.metric(metric) == before + 1
        assert cd.proc.poll() is None, "corrald died"
        t_home = C.boot_and_check(c, cd, [vm], TIMEOUT)[vm.name]["phoned_home"]
        check_booted(cd, vm)
        assert acked(c, cd, after(corrald_log(cd), marker), vm.ip, vm.mac, vm.name)
    record_boot("server kill -9", vm, t_home, " (%s back after %.1f s)" % (name, restarted_after))


def test_four_vms_at_once(lab):
    """Three BIOS VMs and one UEFI VM (OVMF PXE + TFTP) powered on
    together all reach phone-home with full timelines."""
    c, cd = lab
    vms = [c.add_vm("four-b%d" % i) for i in (1, 2, 3)]
    vms.append(c.add_vm("four-u1", firmware="uefi", pxe="firmware"))
    for vm in vms:
        C.register_vm(cd, vm)
    with explained(c, vms):
        res = C.boot_and_check(c, cd, vms, TIMEOUT)
        for vm in vms:
            want = BOOT if vm.firmware == "bios" else ("dhcp", "tftp") + BOOT[1:]
            check_booted(cd, vm, want)
    for vm in vms:
        record_boot("four at once", vm, res[vm.name]["phoned_home"], " (%s)" % c.backend)


def test_disabled_node_gets_no_dhcp_answer_and_no_image(lab):
    """enabled=false: corrald writes an `ignore` host entry (Kea: a
    reservation in the corral-disabled class, whose requests are dropped),
    so the server never answers the machine; iPXE gives up and the firmware
    moves on.
    No kernel, no phone-home; the timeline says why, and only that (once
    a minute at most: SeaBIOS retries the boot every 60 s).  (Powered on
    by the fixture, so it has usually given up long before this test runs.)"""
    c, cd = lab
    vm = c.disabled_vm  # registered with enabled=false and powered on by the fixture
    with explained(c, [vm]):
        if c.backend == "dnsmasq":
            assert vm.host_entry.strip() == "%s,ignore" % vm.mac, vm.host_entry
        else:
            assert json.loads(vm.host_entry) == {"hw-address": vm.mac,
                                                 "client-classes": ["corral-disabled"]}
        script = cd.http("GET", "/api/v1/nodes/%s/bootscript" % vm.name,
                         headers={"Authorization": "Bearer " + cd.token})[1]
        assert "kernel" not in script and "exit" in script, script
        # iPXE tries DHCP for ~15-20 s, then hands back to SeaBIOS.
        t_seen = vm.wait_console(r"No more network devices|No bootable device", 180)
        log = corrald_log(cd)
        if c.backend == "dnsmasq":
            assert "DHCPDISCOVER(br0) %s ignored" % vm.mac in log
            assert not re.search(r"DHCP(OFFER|ACK)\(br0\) \S+ %s" % vm.mac, log), \
                "dnsmasq answered"
        else:
            assert re.search(r"ALLOC_FAIL_CLASSES \[hwtype=1 %s\].*corral-disabled" % vm.mac,
                             log), "Kea's log does not show the refused DISCOVER"
            assert not any(e["source"] for e in cd.events(vm.name)), "Kea answered"
        text = vm.console_text()
        assert "Linux version" not in text and "CORRAL-TESTOS" not in text
        assert not re.search(r"net0: \d+\.\d+\.\d+\.\d+/", text), "iPXE got an IPv4 address"
        evs = cd.events(vm.name)
        assert evs and all(e["stage"] == "dhcp" and e["detail"] ==
                           "not answered: the node is disabled (DHCPDISCOVER ignored)"
                           for e in evs), evs
        running = time.monotonic() - vm.t_start
        assert len(evs) <= 1 + running // 55, (running, evs)
        assert cd.node(vm.name)["state"] == "new"
        assert discovered(cd, vm.mac) is None
    vm.stop()
    TIMINGS.append("%-14s %-9s bios no DHCP answer (%s), iPXE had given up when checked %.1f s "
                   "after power-on" % ("disabled", vm.name, c.backend, t_seen))
