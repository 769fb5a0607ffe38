"""DHCP through corrald's Kea (dhcp.backend = kea), in network namespaces.

One Lab (netns.py) per module, as test_dhcp.py has for dnsmasq: corrald on
the server namespace's bridge with [dhcp] authoritative and backend kea
(pool .100-.199), so Debian's kea-dhcp4 answers DHCP and corrald's dnsmasq
keeps TFTP and DNS with its DHCPv4 off.  Clients run busybox udhcpc, and
play PXE firmware (vendor class PXEClient, option 93) and iPXE (user class
iPXE) with its -V and -x options.  Tests run in file order and share the
daemon (each with its own MACs and names), except the restart tests at the
end, which expect Kea never to have been restarted before them.

Skipped unless root with /usr/sbin/kea-dhcp4, dnsmasq, busybox, iproute2.
"""
import json
import os
import re
import signal
import time

import pytest

import netns
from netns import wait_for

KEA = "/usr/sbin/kea-dhcp4"
_why = netns.skip_reason() or (None if os.access(KEA, os.X_OK) else
                               "no %s (Debian's kea-dhcp4-server)" % KEA)
pytestmark = pytest.mark.skipif(_why is not None, reason=_why or "")

LEASE = "43200"     # dhcp.lease_time default: known nodes
POOL_LEASE = "120"  # dhcp.pool_lease_time default
IPXE_UC = "0x4d:69505845"  # option 77, user class "iPXE"
BIOS = ["-V", "PXEClient:Arch:00000:UNDI:002001", "-x", "0x5d:0000"]
EFI64 = ["-V", "PXEClient:Arch:00007:UNDI:003016", "-x", "0x5d:0007"]

# udhcpc's event script: every DHCP variable it sets (opt<N> for options it
# has no name for), one key=value a line, on "bound".
SCRIPT = """#!/bin/sh
case "$1" in
bound|renew)
	env | grep -E '^(ip|lease|hostname|domain|router|dns|serverid|siaddr|boot_file|opt[0-9]+)='
	;;
esac
exit 0
"""


@pytest.fixture(scope="module")
def lab():
    lab = netns.Lab()
    script = lab.dir / "udhcpc-all.sh"
    script.write_text(SCRIPT)
    script.chmod(0o755)
    lab.script_all = script
    try:
        yield lab
    finally:
        lab.close()


def kea_pid(c):
    """PID of the kea-dhcp4 that is corrald's child now, or 0."""
    if not c.alive():
        return 0
    for p in netns.children(c.pid):
        if netns.comm(p) == "kea-dhcp4":
            return p
    return 0


def wait_kea(c, timeout=20, not_pid=0):
    """Waits for a kea-dhcp4 child (other than not_pid) that logged
    DHCP4_STARTED after corrald said it started it; returns its PID."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        p = kea_pid(c)
        if p and p != not_pid:
            log = c.stderr_text()
            at = log.rfind("started kea-dhcp4 (pid %d," % p)
            if at >= 0 and "DHCP4_STARTED" in log[at:]:
                return p
        time.sleep(0.05)
    raise AssertionError("no Kea after %ss:\n%s" % (timeout, c.stderr_tail()))


@pytest.fixture(scope="module")
def srv(lab):
    c = lab.corrald(dhcp={"backend": "kea"})
    c.pid0 = wait_kea(c)
    return c


_seq = [0]


def new_client(lab):
    _seq[0] += 1
    return lab.client("02:c1:%02x:00:00:%02x" % (lab.nn, _seq[0]))


def in_pool(lab, ip):
    if not ip or not ip.startswith("10.%d.0." % lab.nn):
        return False
    return 100 <= int(ip.rsplit(".", 1)[1]) <= 199


def dhcp(lab, cl, *extra, tries=3, kill_after=None):
    """One udhcpc run with extra options: every variable it got, or None."""
    argv = ["busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-t", str(tries), "-T", "1",
            "-s", str(lab.script_all), *extra]
    try:
        cp = cl.exec(argv, timeout=kill_after or tries * 3 + 10)
    except netns.subprocess.TimeoutExpired:
        return None
    vals = dict(l.split("=", 1) for l in cp.stdout.splitlines() if "=" in l)
    if cp.returncode != 0 or not vals.get("ip"):
        return None
    lab.leased.add(vals["ip"])
    return vals


def dhcp_until(lab, cl, want, *extra, timeout=3.0):
    """udhcpc (each run stopped after 0.5 s) until want(lease); (lease, seconds, runs)."""
    t0, n = time.monotonic(), 0
    while True:
        n += 1
        lease = dhcp(lab, cl, *extra, kill_after=0.5)
        if lease is not None and want(lease):
            return lease, time.monotonic() - t0, n
        if time.monotonic() - t0 > timeout:
            return lease, time.monotonic() - t0, n
        time.sleep(0.02)


def add_node(srv, name, mac, ip=None, **kw):
    iface = {"mac": mac}
    if ip:
        iface["ip"] = ip
    body = {"name": name, "interfaces": [iface]}
    body.update(kw)
    r = srv.post("/api/v1/nodes", body)
    assert r.status == 201, r
    return time.monotonic()


def events(srv, name, stage="dhcp"):
    r = srv.get("/api/v1/nodes/%s/events" % name)
    assert r.status == 200, r
    return [e for e in r.body if e["stage"] == stage]


def discovered(srv, mac):
    r = srv.get("/api/v1/discovered")
    assert r.status == 200, r
    return [d for d in r.body if d["mac"] == mac]


def metric(srv, name):
    m = re.search(r"^%s (\d+)$" % re.escape(name), srv.metrics(), re.M)
    assert m, "no %s in /metrics" % name
    return int(m.group(1))


def kea_conf(srv):
    return json.loads((srv.state_dir / "kea" / "kea-dhcp4.json").read_text())


# ---- who serves what -----------------------------------------------------------


def test_kea_answers_dhcp_and_dnsmasq_only_tftp_and_dns(lab, srv):
    cp = netns.run(["ip", "netns", "exec", lab.server, "ss", "-Hlunp"])
    masq = [l.split()[3] for l in cp.stdout.splitlines() if '"dnsmasq"' in l]
    assert any(a.endswith(":69") for a in masq) and any(a.endswith(":53") for a in masq), masq
    assert not any(a.endswith(":67") for a in masq), "dnsmasq holds the DHCP port: %s" % masq
    conf = (srv.state_dir / "dnsmasq.conf").read_text()
    assert "dhcp-range=set:pool" not in conf and "dhcp-hostsdir" not in conf, conf
    st = srv.get("/api/v1/status").body
    assert st["dhcp"] == {"mode": "authoritative", "backend": "kea"}, st
    assert 'corral_dhcp_backend{backend="kea"} 1' in srv.metrics()
    k = kea_conf(srv)["Dhcp4"]
    assert k["lease-database"]["name"] == str(srv.dir / "kea-leases4.csv")


def test_known_mac_gets_its_reservation(lab, srv):
    cl = new_client(lab)
    ip = lab.ip4(11)
    add_node(srv, "k-pin1", cl.mac, ip)
    lease, _, _ = dhcp_until(lab, cl, lambda l: l["ip"] == ip)
    assert lease and lease["ip"] == ip, (lease, srv.stderr_tail())
    assert lease["hostname"] == "k-pin1"
    assert lease["lease"] == LEASE
    assert lease["domain"] == "cluster"
    assert lease["serverid"] == lab.server_ip
    assert lease["dns"] == lab.server_ip      # dnsmasq's DNS
    assert lease["siaddr"] == lab.server_ip   # next-server: dnsmasq's TFTP
    assert lease.get("router", "") == ""      # dhcp.router unset: none
    assert lease.get("boot_file", "") == ""   # an OS asks for no boot file
    # (a udhcpc run before Kea had the reservation may have taken a pool lease first)
    evs = wait_for(lambda: [e for e in events(srv, "k-pin1") if e["source"] == ip], timeout=3)
    assert evs and evs[0]["detail"] == "OS lease " + ip, events(srv, "k-pin1")


def test_boot_file_by_arch_and_ipxe_chain(lab, srv):
    """The firmware stage gets its first-stage binary by option 93 (dhcpconf's
    table), iPXE (user class) the boot script URL and option 175.176 = 1;
    each stage is its own step on the timeline, as with dnsmasq."""
    bios, efi, full = new_client(lab), new_client(lab), new_client(lab)
    add_node(srv, "k-bios", bios.mac, lab.ip4(12))
    add_node(srv, "k-efi", efi.mac, lab.ip4(13))
    r = srv.post("/api/v1/nodes", {"name": "k-full", "ipxe_efi": "ipxe.efi",
                                   "interfaces": [{"mac": full.mac, "ip": lab.ip4(14)}]})
    assert r.status == 201, r
    got, _, _ = dhcp_until(lab, bios, lambda l: l["ip"] == lab.ip4(12), *BIOS)
    assert got and got["boot_file"] == "undionly.kpxe", got
    assert got["siaddr"] == lab.server_ip
    got, _, _ = dhcp_until(lab, efi, lambda l: l["ip"] == lab.ip4(13), *EFI64)
    assert got and got["boot_file"] == "snponly.efi", got
    got, _, _ = dhcp_until(lab, full, lambda l: l["ip"] == lab.ip4(14), *EFI64)
    assert got and got["boot_file"] == "ipxe.efi", got
    got = dhcp(lab, bios, "-x", IPXE_UC, "-O", "175", *BIOS)
    url = "http://%s:8080/boot/v1/bootscript?mac=${net0/mac}" % lab.server_ip
    assert got and got["boot_file"] == url, got
    assert got["opt175"] == "b00101", got   # iPXE: do not wait for proxy offers
    assert got["ip"] == lab.ip4(12)
    ip = lab.ip4(12)
    # the firmware's lease, renewed by iPXE (dnsmasq's timeline reads the same)
    details = wait_for(lambda: [e["detail"] for e in events(srv, "k-bios")][-2:] == [
        "PXE firmware lease " + ip, "iPXE renewal " + ip] and
        [e["detail"] for e in events(srv, "k-bios")], timeout=3)
    assert details, events(srv, "k-bios")
    assert "OS" not in " ".join(details)


def test_unknown_mac_gets_pool_lease_and_is_discovered_then_adopted(lab, srv):
    cl = new_client(lab)
    lease = dhcp(lab, cl)
    assert lease is not None, srv.stderr_tail()
    assert in_pool(lab, lease["ip"]) and lease["lease"] == POOL_LEASE, lease
    assert lease.get("hostname", "") == ""
    found = wait_for(lambda: discovered(srv, cl.mac), timeout=3)
    assert found and found[0]["ip"] == lease["ip"] and found[0]["requests"] >= 1, found
    r = srv.post("/api/v1/discovered/%s/adopt" % cl.mac, {"name": "k-adopted"})
    assert r.status == 201, r
    t0 = time.monotonic()
    got, _, n = dhcp_until(lab, cl, lambda l: l.get("hostname") == "k-adopted")
    took = time.monotonic() - t0
    assert got and got["lease"] == LEASE and got["ip"] == lease["ip"], got
    assert took < 1.5, "adopted MAC known to Kea only %.2f s later (%d runs)" % (took, n)
    assert not discovered(srv, cl.mac)


def test_disabled_node_gets_no_answer(lab, srv):
    cl = new_client(lab)
    ip = lab.ip4(16)
    add_node(srv, "k-off1", cl.mac, ip, enabled=False)
    time.sleep(1)  # the reload (well under a second)
    assert dhcp(lab, cl) is None
    assert dhcp(lab, cl, *BIOS, tries=1) is None
    want = "not answered: the node is disabled (DHCPDISCOVER ignored)"
    evs = wait_for(lambda: events(srv, "k-off1"), timeout=3)
    time.sleep(0.5)
    evs = events(srv, "k-off1")
    assert [e["detail"] for e in evs] == [want], evs  # once a minute at most
    assert srv.get("/api/v1/nodes/k-off1").body["state"] == "new"
    assert not discovered(srv, cl.mac)
    # enabled -> served; disabled again -> silence, without a Kea restart
    assert srv.patch("/api/v1/nodes/k-off1", {"enabled": True}).status == 200
    lease, _, _ = dhcp_until(lab, cl, lambda l: l["ip"] == ip)
    assert lease and lease["ip"] == ip, lease
    assert srv.patch("/api/v1/nodes/k-off1", {"enabled": False}).status == 200
    time.sleep(1)
    assert dhcp(lab, cl) is None, "a disabled node still got an address"
    assert dhcp(lab, cl, "-r", ip) is None
    assert kea_pid(srv) == srv.pid0


def test_inventory_change_within_a_second_without_restart(lab, srv):
    cl = new_client(lab)
    old, new = lab.ip4(17), lab.ip4(18)
    reloads = metric(srv, "corral_kea_reloads_total")
    t201 = add_node(srv, "k-fast", cl.mac, old)
    lease, _, n = dhcp_until(lab, cl, lambda l: l["ip"] == old)
    took = time.monotonic() - t201
    print("pinned IP %.3f s after the 201, %d udhcpc runs" % (took, n))
    assert lease and lease["ip"] == old, lease
    assert took < 1.5, "pinned IP only %.2f s after the 201" % took
    r = srv.patch("/api/v1/nodes/k-fast", {"interfaces": [{"mac": cl.mac, "ip": new}]})
    assert r.status == 200, r
    t0 = time.monotonic()
    lease, _, n = dhcp_until(lab, cl, lambda l: l["ip"] == new)
    took = time.monotonic() - t0
    assert lease and lease["ip"] == new and took < 1.5, (lease, took)
    assert srv.delete("/api/v1/nodes/k-fast").status == 204
    lease, took, _ = dhcp_until(lab, cl, lambda l: in_pool(lab, l["ip"]))
    assert lease and in_pool(lab, lease["ip"]) and took < 1.5, (lease, took)
    assert lease["lease"] == POOL_LEASE, lease
    assert kea_pid(srv) == srv.pid0, "Kea was restarted for an inventory change"
    assert metric(srv, "corral_kea_reloads_total") >= reloads + 3
    assert metric(srv, "corral_kea_restarts_total") == 0


def test_bulk_import_is_one_reload(lab, srv):
    reloads = metric(srv, "corral_kea_reloads_total")
    nodes = [{"name": "k-bulk%d" % i,
              "interfaces": [{"mac": "02:c2:%02x:00:%02x:%02x" % (lab.nn, i >> 8, i & 0xff)}]}
             for i in range(3000)]
    r = srv.post("/api/v1/nodes/import", {"nodes": nodes}, timeout=120)
    assert r.status == 200 and r.body["created"] == 3000, r
    assert wait_for(lambda: metric(srv, "corral_kea_reloads_total") > reloads, timeout=10)
    time.sleep(1.5)
    assert metric(srv, "corral_kea_reloads_total") == reloads + 1
    assert len(kea_conf(srv)["Dhcp4"]["subnet4"][0]["reservations"]) >= 3000
    m = re.findall(r"Kea reloaded its configuration \((\d+) reservations\) in (\d+) ms",
                   srv.stderr_text())
    print("import of 3,000 nodes: Kea reloaded %s reservations in %s ms" % m[-1])
    assert kea_pid(srv) == srv.pid0


def test_tftp_and_dns_still_from_dnsmasq(lab, srv):
    cl = new_client(lab)
    ip = lab.ip4(20)
    add_node(srv, "k-tftp1", cl.mac, ip)
    lease, _, _ = dhcp_until(lab, cl, lambda l: l["ip"] == ip)
    assert lease, srv.stderr_tail()
    cl.set_ip(ip)
    data = cl.tftp_get("undionly.kpxe")
    with open("/usr/lib/ipxe/undionly.kpxe", "rb") as f:
        want = f.read()
    assert data == want
    evs = wait_for(lambda: events(srv, "k-tftp1", "tftp"), timeout=3)
    assert evs and evs[0]["detail"].startswith("undionly.kpxe") and str(len(want)) in \
        evs[0]["detail"], evs
    assert wait_for(lambda: cl.nslookup("k-tftp1.cluster") == [ip], timeout=2)


# ---- supervision and persistence ---------------------------------------------------


def test_killed_kea_is_restarted_and_leases_survive(lab, srv):
    holder, probe = new_client(lab), new_client(lab)
    got = dhcp(lab, holder)
    assert got and in_pool(lab, got["ip"]), got
    x = got["ip"]
    assert metric(srv, "corral_kea_restarts_total") == 0
    old = kea_pid(srv)
    os.kill(old, signal.SIGKILL)
    new = wait_kea(srv, timeout=15, not_pid=old)
    assert metric(srv, "corral_kea_restarts_total") == 1
    assert "kea-dhcp4 killed by signal 9; restarting in" in srv.stderr_text()
    other = dhcp(lab, probe, "-r", x)
    assert other is not None, srv.stderr_tail()
    assert other["ip"] != x, "Kea forgot the lease of %s on %s" % (holder.mac, x)
    again = dhcp(lab, holder, "-r", x)
    assert again and again["ip"] == x, again
    srv.pid0 = new


def test_leases_survive_corrald_restart(lab, srv):
    holder, late = new_client(lab), new_client(lab)
    got = dhcp(lab, holder)
    assert got and in_pool(lab, got["ip"]), got
    x = got["ip"]
    assert srv.stop() == 0, srv.stderr_tail()
    assert kea_pid(srv) == 0
    srv.start()
    srv.pid0 = wait_kea(srv)
    other = dhcp(lab, late, "-r", x)
    assert other is not None, srv.stderr_tail()
    assert other["ip"] != x, "a new MAC got %s, still leased to %s" % (x, holder.mac)
    again = dhcp(lab, holder, "-r", x)
    assert again and again["ip"] == x, again
    # a lease granted after the restart is a step on the timeline (the tail follows the file)
    cl = new_client(lab)
    add_node(srv, "k-after", cl.mac, lab.ip4(21))
    lease, _, _ = dhcp_until(lab, cl, lambda l: l["ip"] == lab.ip4(21))
    assert lease, srv.stderr_tail()
    assert wait_for(lambda: events(srv, "k-after"), timeout=3)


# ---- reloads and sizing ---------------------------------------------------------------


def test_reload_switches_backend_both_ways():
    """SIGHUP with dhcp.backend changed: the new server answers, the old one is gone."""
    lab2 = netns.Lab()
    try:
        c = lab2.corrald()
        c.wait_dnsmasq(timeout=20)
        cl = lab2.client("02:c3:%02x:00:00:01" % lab2.nn)
        assert cl.dhcp() is not None
        for backend in ("kea", "dnsmasq"):
            mark = len(c.stderr_text())
            c.set_conf("dhcp", "backend", backend)
            c.signal(signal.SIGHUP)
            out = wait_for(lambda: (lambda t: t if "reloaded configuration" in t or
                                    "configuration not changed" in t else None)(
                                        c.stderr_text()[mark:]), timeout=30, interval=0.1)
            assert out and "reloaded configuration" in out, c.stderr_tail(4000)
            if backend == "kea":
                wait_kea(c)
            else:
                assert kea_pid(c) == 0
                c.wait_dnsmasq(timeout=20)
            lease = cl.dhcp()
            assert lease and in_pool(lab2, lease["ip"]), (backend, lease, c.stderr_tail())
            assert c.get("/api/v1/status").body["dhcp"]["backend"] == backend
    finally:
        lab2.close()


def test_dnsmasq_backend_warns_past_its_size():
    """2,001 nodes on the dnsmasq backend: a warning in the log and on
    /api/v1/status; none at 2,000, none with Kea."""
    lab2 = netns.Lab()
    try:
        c = lab2.corrald()
        c.wait_dnsmasq(timeout=20)

        def nodes(a, b):
            return [{"name": "w%d" % i,
                     "interfaces": [{"mac": "02:c4:00:00:%02x:%02x" % (i >> 8, i & 0xff)}]}
                    for i in range(a, b)]

        r = c.post("/api/v1/nodes/import", {"nodes": nodes(0, 2000)}, timeout=120)
        assert r.status == 200, r
        assert "warning" not in c.get("/api/v1/status").body["dhcp"]
        assert c.post("/api/v1/nodes", nodes(2000, 2001)[0]).status == 201
        st = c.get("/api/v1/status").body["dhcp"]
        want = ("2001 nodes are more than the dnsmasq backend answers for at power-on "
                "(2000 at most, README \"Sizing\"); set dhcp.backend = kea")
        assert st == {"mode": "authoritative", "backend": "dnsmasq", "warning": want}, st
        assert wait_for(lambda: c.stderr_text().count(want) == 1, timeout=5), c.stderr_tail()
    finally:
        lab2.close()


def test_reload_whose_kea_fails_to_start_brings_old_settings_back():
    """A Kea that passes its `-t` check and then exits: the commit waits for
    it, sees it fail before it started, and starts the previous settings
    again (a new Kea of the real program); the new file is not in force and
    corrald says why once."""
    lab2 = netns.Lab()
    try:
        c = lab2.corrald(dhcp={"backend": "kea"})
        pid0 = wait_kea(c)
        broken = c.dir / "broken-kea"
        broken.write_text('#!/bin/sh\ncase " $* " in *" -t "*) exec %s "$@";; esac\n'
                          'echo "broken-kea: refusing to serve" >&2\nexit 3\n' % KEA)
        broken.chmod(0o755)
        mark = len(c.stderr_text())
        c.set_conf("dhcp", "kea", broken)
        c.set_conf("dhcp", "pool_lease_time", 300)
        c.signal(signal.SIGHUP)
        out = wait_for(lambda: (lambda t: t if "reloaded configuration" in t or
                                "configuration not changed" in t else None)(
                                    c.stderr_text()[mark:]), timeout=30, interval=0.1)
        assert out and "reloaded configuration" not in out, c.stderr_tail(4000)
        errors = [l for l in out.splitlines() if "configuration not changed" in l]
        assert len(errors) == 1, out
        assert "the new kea-dhcp4 exited with status 3 before it started" in errors[0], errors
        new = wait_kea(c, not_pid=pid0)
        assert os.readlink("/proc/%d/exe" % new) == os.path.realpath(KEA)
        cl = lab2.client("02:c5:%02x:00:00:01" % lab2.nn)
        lease = cl.dhcp()
        assert lease and in_pool(lab2, lease["ip"]) and lease["lease"] == POOL_LEASE, lease
        assert metric(c, "corral_kea_restarts_total") == 0, "a refused start is not a crash"
    finally:
        lab2.close()
