"""DHCP, DNS and TFTP through corrald's real dnsmasq, in network namespaces.

One Lab (netns.py) per module: a server namespace with a bridge
10.NN.0.1/24 where corrald runs with [dhcp] authoritative (pool .100-.199,
DNS on port 53, no router), and one client namespace per MAC, running
busybox udhcpc / nslookup / tftp.  Tests run in file order and share the
daemon; every test uses its own MACs and node names.

Skipped unless root with /usr/sbin/dnsmasq, busybox and iproute2.
"""
import os
import re
import signal
import socket
import subprocess
import time

import pytest

import netns
from netns import wait_for

_why = netns.skip_reason()
pytestmark = pytest.mark.skipif(_why is not None, reason=_why or "")

IPXE_DIR = "/usr/lib/ipxe"
LEASE = "43200"      # dhcp.lease_time default: known nodes
POOL_LEASE = "120"   # dhcp.pool_lease_time default: unknown machines


@pytest.fixture(scope="module")
def lab():
    lab = netns.Lab()
    try:
        yield lab
    finally:
        lab.close()


@pytest.fixture(scope="module")
def srv(lab):
    c = lab.corrald()
    c.wait_dnsmasq()
    return c


_seq = [0]


def new_client(lab):
    """A client namespace with a fresh MAC."""
    _seq[0] += 1
    return lab.client("02:c0:%02x:00:00:%02x" % (lab.nn, _seq[0]))


def in_pool(lab, ip):
    """ip is in the configured pool, .100-.199 of the Lab's /24."""
    if not ip or not ip.startswith("10.%d.0." % lab.nn):
        return False
    return 100 <= int(ip.rsplit(".", 1)[1]) <= 199


def dhcp_until(client, want, timeout=3.0, request_ip=None):
    """Runs udhcpc (each run stopped after 0.5 s: an answered exchange takes
    tens of ms here) until want(lease) is true; (lease, seconds, runs)."""
    t0 = time.monotonic()
    n = 0
    while True:
        n += 1
        lease = client.dhcp(request_ip=request_ip, kill_after=0.5)
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


def host_file(srv, mac):
    p = srv.state_dir / "hosts" / mac.replace(":", "-")
    try:
        return p.read_text()
    except OSError:
        return None


def events(srv, name, stage):
    r = srv.get("/api/v1/nodes/%s/events" % name)
    assert r.status == 200, r
    return [e for e in r.body if e["stage"] == stage]


def discovered(srv, mac):
    r = srv.get("/api/v1/discovered")
    assert r.status == 200, r
    return [d for d in r.body if d["mac"] == mac]


def restarts(srv):
    m = re.search(r"^corral_dnsmasq_restarts_total (\d+)$", srv.metrics(), re.M)
    assert m, "no corral_dnsmasq_restarts_total in /metrics"
    return int(m.group(1))


# ---- the generated configuration ---------------------------------------------


def test_generated_conf_raises_limits(srv):
    conf = (srv.state_dir / "dnsmasq.conf").read_text()
    opts = dict(l.split("=", 1) for l in conf.splitlines() if "=" in l and l[0] != "#")
    assert int(opts["dhcp-lease-max"]) >= 10000, conf
    assert int(opts["tftp-max"]) >= 500, conf
    lines = conf.splitlines()
    assert "leasefile-ro" in lines
    assert opts["dhcp-script"] == str(srv.build / "corral-dhcp-hook")
    assert opts["dhcp-hostsdir"] == str(srv.state_dir / "hosts")
    assert opts["tftp-root"] == str(srv.state_dir / "tftp")


def test_dnsmasq_serves_only_the_boot_interface(lab, srv):
    """dhcp.interface is "the network interface dnsmasq serves".  With
    interface= dnsmasq adds loopback on its own unless told
    except-interface=lo; then it takes 127.0.0.1:53/69 and [::1]:53/69 on
    the management host, and fails to start where a local resolver or TFTP
    server already has them."""
    cp = netns.run(["ip", "netns", "exec", lab.server, "ss", "-Hlunp"])
    mine = [l for l in cp.stdout.splitlines() if '"dnsmasq"' in l]
    assert mine, cp.stdout
    local = [l.split()[3] for l in mine if l.split()[3].startswith(("127.", "[::1]"))]
    assert local == [], "dnsmasq listens on loopback: %s" % ", ".join(local)


# ---- addresses -----------------------------------------------------------------


def test_registered_node_gets_pinned_ip(lab, srv):
    cl = new_client(lab)
    ip = lab.ip4(11)
    add_node(srv, "pin1", cl.mac, ip)
    lease, took, _ = dhcp_until(cl, lambda l: l["ip"] == ip)
    assert lease and lease["ip"] == ip, (lease, srv.stderr_tail())
    assert lease["hostname"] == "pin1"
    assert lease["lease"] == LEASE
    assert lease["domain"] == "cluster"
    assert lease["serverid"] == lab.server_ip


def test_node_added_through_api_is_served_within_a_second(lab, srv):
    cl = new_client(lab)
    ip = lab.ip4(12)
    t201 = add_node(srv, "fast1", cl.mac, ip)
    lease, _, n = dhcp_until(cl, lambda l: l["ip"] == ip, timeout=3)
    took = time.monotonic() - t201
    print("pinned IP %.3f s after the 201, %d udhcpc runs" % (took, n))
    assert lease and lease["ip"] == ip, lease
    assert took < 1.5, "pinned IP only %.2f s after the 201 (%d udhcpc runs)" % (took, n)


def test_unknown_mac_gets_pool_address_and_is_discovered(lab, srv):
    cl = new_client(lab)
    lease = cl.dhcp()
    assert lease is not None, srv.stderr_tail()
    assert in_pool(lab, lease["ip"]), lease
    assert lease["lease"] == POOL_LEASE
    assert lease["hostname"] == ""
    found = wait_for(lambda: discovered(srv, cl.mac), timeout=3)
    assert found and found[0]["ip"] == lease["ip"], found
    assert found[0]["requests"] >= 1


def _adopt_and_check(lab, srv, cl, name, adopt):
    first = cl.dhcp()
    assert first and in_pool(lab, first["ip"]), first
    assert wait_for(lambda: discovered(srv, cl.mac), timeout=3)
    adopt()
    r = srv.get("/api/v1/nodes/%s" % name)
    assert r.status == 200, r
    assert [i["mac"] for i in r.body["interfaces"]] == [cl.mac]
    assert not discovered(srv, cl.mac)
    lease, took, _ = dhcp_until(cl, lambda l: l["hostname"] == name)
    assert lease and lease["hostname"] == name, (lease, took)
    assert lease["lease"] == LEASE, lease
    # No pinned IP: it keeps the address it had.
    assert lease["ip"] == first["ip"]


def test_adopt_discovered_mac_through_api(lab, srv):
    cl = new_client(lab)

    def adopt():
        r = srv.post("/api/v1/discovered/%s/adopt" % cl.mac, {"name": "adopt-api"})
        assert r.status == 201, r
        assert r.body["name"] == "adopt-api"

    _adopt_and_check(lab, srv, cl, "adopt-api", adopt)


def test_adopt_discovered_mac_through_cli(lab, srv):
    cl = new_client(lab)

    def adopt():
        cp = srv.corral_cli("node", "adopt", cl.mac.upper(), "adopt-cli")
        assert cp.returncode == 0, (cp.stdout, cp.stderr)
        assert "adopt-cli" in cp.stdout

    _adopt_and_check(lab, srv, cl, "adopt-cli", adopt)


def test_patch_ip_takes_effect(lab, srv):
    cl = new_client(lab)
    old, new = lab.ip4(13), lab.ip4(14)
    add_node(srv, "mover", cl.mac, old)
    lease, _, _ = dhcp_until(cl, lambda l: l["ip"] == old)
    assert lease and lease["ip"] == old, lease
    r = srv.patch("/api/v1/nodes/mover", {"interfaces": [{"mac": cl.mac, "ip": new}]})
    assert r.status == 200, r
    t0 = time.monotonic()
    lease, _, n = dhcp_until(cl, lambda l: l["ip"] == new, timeout=3)
    took = time.monotonic() - t0
    print("new IP %.3f s after the PATCH, %d udhcpc runs" % (took, n))
    assert lease and lease["ip"] == new, (lease, srv.stderr_tail())
    assert took < 1.5, "new IP after %.2f s (%d udhcpc runs)" % (took, n)
    # And it stays: the old record is gone, not merely shadowed.
    assert cl.dhcp()["ip"] == new


def test_removed_node_falls_back_to_pool(lab, srv):
    cl = new_client(lab)
    ip = lab.ip4(15)
    add_node(srv, "gone1", cl.mac, ip)
    lease, _, _ = dhcp_until(cl, lambda l: l["ip"] == ip)
    assert lease and lease["ip"] == ip, lease
    r = srv.delete("/api/v1/nodes/gone1")
    assert r.status == 204, r
    lease, took, n = dhcp_until(cl, lambda l: in_pool(lab, l["ip"]), timeout=3)
    print("pool address %.3f s after the DELETE, %d udhcpc runs" % (took, n))
    assert lease and in_pool(lab, lease["ip"]), (lease, srv.stderr_tail())
    assert took < 1.5, took
    assert lease["hostname"] == "" and lease["lease"] == POOL_LEASE, lease


def test_pinned_ip_outside_the_subnet_is_warned_about(lab, srv):
    """dnsmasq never hands out a pinned address outside dhcp.subnet: it
    answers from the pool instead, without a word.  corrald says so where
    the admin pins it (the API's "warnings", the CLI's stderr) and on the
    node; an address inside the subnet gets no warning."""
    cl = new_client(lab)
    outside = "10.%d.5.40" % lab.nn
    r = srv.post("/api/v1/nodes", {"name": "far1", "interfaces": [{"mac": cl.mac, "ip": outside}]})
    assert r.status == 201, r
    want = ("interfaces[0].ip %s is outside dhcp.subnet %s: dnsmasq gives that interface a "
            "pool address instead" % (outside, lab.subnet))
    assert r.body["warnings"] == [want], r.body
    assert srv.get("/api/v1/nodes/far1").body["warnings"] == [want]
    lease, _, _ = dhcp_until(cl, lambda l: in_pool(lab, l["ip"]))
    assert lease and in_pool(lab, lease["ip"]), lease  # what the warning says
    # Fixed through the CLI: no warning; pinned elsewhere again: on stderr.
    p = srv.corral_cli("node", "set", "far1", "--mac", "%s,ip=%s" % (cl.mac, lab.ip4(44)))
    assert p.returncode == 0 and p.stderr == "", p
    assert "warnings" not in srv.get("/api/v1/nodes/far1").body
    p = srv.corral_cli("node", "set", "far1", "--mac", "%s,ip=%s" % (cl.mac, outside))
    assert p.returncode == 0 and p.stdout == "node far1 updated\n", p
    assert p.stderr == "corral: warning: %s\n" % want, p.stderr


def test_disabled_node_gets_no_answer(lab, srv):
    cl = new_client(lab)
    ip = lab.ip4(16)
    add_node(srv, "off1", cl.mac, ip, enabled=False)
    assert wait_for(lambda: host_file(srv, cl.mac) == "%s,ignore\n" % cl.mac, timeout=2), \
        host_file(srv, cl.mac)
    time.sleep(0.2)  # dnsmasq reads the new file by inotify
    assert cl.dhcp() is None
    # The timeline says why the machine got nothing, once: the client
    # asked three times (udhcpc -t 3) and asks again 2.5 s later (past the
    # 2 s fold of repeated events), and a minute goes by between reports.
    time.sleep(2.5)
    assert cl.dhcp(tries=1) is None
    want = "not answered: the node is disabled (DHCPDISCOVER ignored)"
    evs = wait_for(lambda: events(srv, "off1", "dhcp"), timeout=3)
    time.sleep(0.5)
    evs = events(srv, "off1", "dhcp")
    assert [e["detail"] for e in evs] == [want], evs
    assert srv.get("/api/v1/nodes/off1").body["state"] == "new"
    # Enabled → served; disabled again (a changed file: SIGHUP path) → silence.
    assert srv.patch("/api/v1/nodes/off1", {"enabled": True}).status == 200
    lease, _, _ = dhcp_until(cl, lambda l: l["ip"] == ip)
    assert lease and lease["ip"] == ip, lease
    assert srv.patch("/api/v1/nodes/off1", {"enabled": False}).status == 200
    assert wait_for(lambda: host_file(srv, cl.mac) == "%s,ignore\n" % cl.mac, timeout=2)
    time.sleep(0.3)
    assert cl.dhcp() is None, "a disabled node still got an address"


def test_no_router_option_when_none_configured(lab, srv):
    """dhcp.router is unset ("empty: none"): nodes must not be told to route
    through the boot server (dnsmasq sends its own address as router unless
    told `dhcp-option=option:router` with no value)."""
    cl = new_client(lab)
    lease = cl.dhcp()
    assert lease is not None
    assert lease["router"] == "", "router option %r sent; dhcp.router is not set" % \
        lease["router"]


# ---- DNS, events, TFTP ---------------------------------------------------------


def test_node_names_resolve(lab, srv):
    cl = new_client(lab)
    ip = lab.ip4(17)
    add_node(srv, "dns1", cl.mac, ip)
    assert wait_for(lambda: (srv.state_dir / "dns" / cl.mac.replace(":", "-")).exists(), 2)
    cl.set_ip(ip)
    assert wait_for(lambda: cl.nslookup("dns1.cluster") == [ip], timeout=2), \
        cl.nslookup("dns1.cluster")
    assert cl.nslookup("pin1.cluster") == [lab.ip4(11)]
    assert cl.nslookup("nosuchnode.cluster") == []


def test_dhcp_lease_becomes_event(lab, srv):
    ip = lab.ip4(11)

    def leases():
        return [e for e in events(srv, "pin1", "dhcp")
                if e["source"] == ip and e["detail"] == "OS lease " + ip]

    assert wait_for(leases, timeout=3), srv.get("/api/v1/nodes/pin1/events").body


def test_other_nodes_change_adds_no_dhcp_event(lab, srv):
    """A SIGHUP (here: another node's IP changes) makes dnsmasq replay every
    lease as "old"; that is no new DHCP exchange and must not land on the
    timelines of nodes that did nothing."""
    cl = new_client(lab)
    ip = lab.ip4(18)
    add_node(srv, "quiet1", cl.mac, ip)
    assert wait_for(lambda: host_file(srv, cl.mac), timeout=2)
    time.sleep(0.2)  # inotify
    lease = cl.dhcp()
    assert lease and lease["ip"] == ip, lease
    assert wait_for(lambda: events(srv, "quiet1", "dhcp"), timeout=3)
    time.sleep(0.5)
    before = events(srv, "quiet1", "dhcp")
    other = "02:c0:%02x:00:00:fe" % lab.nn
    add_node(srv, "trigger1", other, lab.ip4(19))
    assert wait_for(lambda: host_file(srv, other), timeout=2)
    r = srv.patch("/api/v1/nodes/trigger1", {"interfaces": [{"mac": other, "ip": lab.ip4(22)}]})
    assert r.status == 200, r
    time.sleep(1.5)  # sync (<= 250 ms), SIGHUP, the hook, the event batch
    after = events(srv, "quiet1", "dhcp")
    assert after == before, "no DHCP exchange, yet new dhcp events: %r" % after[len(before):]


def test_tftp_fetch_becomes_event(lab, srv):
    cl = new_client(lab)
    ip = lab.ip4(20)
    add_node(srv, "tftp1", cl.mac, ip)
    cl.set_ip(ip)
    data = cl.tftp_get("undionly.kpxe")
    with open(os.path.join(IPXE_DIR, "undionly.kpxe"), "rb") as f:
        want = f.read()
    assert data == want, "got %s bytes" % (None if data is None else len(data))
    evs = wait_for(lambda: events(srv, "tftp1", "tftp"), timeout=3)
    assert evs, srv.get("/api/v1/nodes/tftp1/events").body
    assert evs[0]["source"] == ip
    assert evs[0]["detail"].startswith("undionly.kpxe")
    assert str(len(want)) in evs[0]["detail"]


def test_autoexec_chains_to_bootscript(lab, srv):
    cl = new_client(lab)
    cl.set_ip(lab.ip4(50))
    data = cl.tftp_get("autoexec.ipxe")
    assert data is not None
    text = data.decode()
    assert text.startswith("#!ipxe\n")
    chains = [l for l in text.splitlines() if l.split()[:1] == ["chain"]]
    assert len(chains) == 1, text
    url = "http://%s:8080/boot/v1/bootscript?mac=${net0/mac}" % lab.server_ip
    assert url in chains[0].split(), chains[0]


# ---- supervision and restarts ------------------------------------------------------


def test_killed_dnsmasq_is_restarted(lab, srv):
    cl = new_client(lab)
    ip = lab.ip4(21)
    add_node(srv, "survivor", cl.mac, ip)
    lease, _, _ = dhcp_until(cl, lambda l: l["ip"] == ip)
    assert lease and lease["ip"] == ip
    assert restarts(srv) == 0
    old = srv.dnsmasq_pid()
    assert old > 0
    os.kill(old, signal.SIGKILL)
    new = srv.wait_dnsmasq(timeout=10, not_pid=old)
    assert new != old
    assert restarts(srv) == 1
    lease, _, _ = dhcp_until(cl, lambda l: l["ip"] == ip)
    assert lease and lease["ip"] == ip, srv.stderr_tail()
    fresh = new_client(lab).dhcp()
    assert fresh and in_pool(lab, fresh["ip"]), fresh


def test_lease_survives_corrald_restart(lab, srv):
    holder, probe, late = new_client(lab), new_client(lab), new_client(lab)
    got = holder.dhcp()
    assert got and in_pool(lab, got["ip"]), got
    x = got["ip"]
    # udhcpc -r is honoured for a free address (so the check below means something)
    free = next(lab.ip4(h) for h in range(199, 99, -1) if lab.ip4(h) not in lab.leased)
    assert probe.dhcp(request_ip=free)["ip"] == free
    assert srv.stop() == 0, srv.stderr_tail()
    srv.start()
    srv.wait_dnsmasq()
    other = late.dhcp(request_ip=x)
    assert other is not None, srv.stderr_tail()
    assert other["ip"] != x, "a new MAC got %s, still leased to %s" % (x, holder.mac)
    again = holder.dhcp(request_ip=x)
    assert again and again["ip"] == x, again


def test_private_state_parent_is_refused_with_its_name(lab):
    """dnsmasq drops root after it starts, so a state_dir below a directory
    that others cannot traverse (0750) would make it fail and restart
    forever.  corrald must refuse to start and name that directory; the
    default state_dir (/run/corral/dhcp) is reachable."""
    lab2 = netns.Lab()
    try:
        c = lab2.corrald(start=False)
        os.chmod(c.dir, 0o750)
        c.start(wait=False)
        rc = c.proc.wait(15)
        assert rc != 0, "corrald started with an unreachable dhcp.state_dir"
        err = c.stderr_tail(3000)
        assert str(c.dir) in err and "nobody" in err, err
    finally:
        lab2.close()


def corrald_with_slow_hook(lab2, seconds):
    """corrald in lab2 whose dnsmasq runs the real hook `seconds` late, as a
    busy server's would; started, with its dnsmasq up."""
    c = lab2.corrald(start=False)
    slow = c.dir / "slow-hook"
    slow.write_text("#!/bin/sh\nsleep %s\nexec %s \"$@\"\n" % (seconds, c.build / "corral-dhcp-hook"))
    slow.chmod(0o755)
    c.set_conf("dhcp", "hook", str(slow))
    c.start()
    c.wait_dnsmasq(timeout=20)
    return c


def test_dhcp_step_keeps_its_place_when_the_hook_is_late(lab):
    """dnsmasq runs its lease script after it has sent the ACK (or the TFTP
    file), and on a busy server that can be after the node's next HTTP
    request (iPXE asks for its boot script at once).  With a hook slowed by
    1.5 s a call, the timeline must still read dhcp -> tftp -> bootscript,
    and the node's last event stays the boot script."""
    lab2 = netns.Lab()
    try:
        c = corrald_with_slow_hook(lab2, 1.5)
        cl = lab2.client("02:c0:%02x:00:01:01" % lab2.nn)
        ip = lab2.ip4(31)
        add_node(c, "late1", cl.mac, ip)
        assert wait_for(lambda: host_file(c, cl.mac), timeout=3)
        time.sleep(0.3)  # inotify
        t_ack = time.time()
        lease = cl.dhcp()
        assert lease and lease["ip"] == ip, lease
        cl.set_ip(ip)
        assert cl.tftp_get("undionly.kpxe") is not None
        cp = cl.exec(["busybox", "wget", "-q", "-O", "-",
                      "http://%s:8080/boot/v1/bootscript?mac=%s" % (lab2.server_ip, cl.mac)])
        assert cp.returncode == 0 and cp.stdout.startswith("#!ipxe"), cp
        t_script = time.time()
        assert t_script - t_ack < 1.4, "the client was too slow to show anything"

        def all_three():
            evs = c.get("/api/v1/nodes/late1/events").body
            stages = [e["stage"] for e in evs]
            return evs if {"dhcp", "tftp", "bootscript"} <= set(stages) else None

        evs = wait_for(all_three, timeout=8)
        assert evs, c.get("/api/v1/nodes/late1/events").body
        stages = [e["stage"] for e in evs]
        assert stages == ["dhcp", "tftp", "bootscript"], evs
        dhcp = next(e for e in evs if e["stage"] == "dhcp")
        assert dhcp["detail"] == "OS lease " + ip, dhcp
        node = c.get("/api/v1/nodes/late1").body
        assert node["last_event"]["stage"] == "bootscript", node["last_event"]
    finally:
        lab2.close()


def _wget(client, lab, path):
    """(exit code, body) of a node's GET at the Lab's corrald (busybox wget
    exits non-zero on a 4xx)."""
    cp = client.exec(["busybox", "wget", "-q", "-O", "-",
                      "http://%s:8080%s" % (lab.server_ip, path)])
    return cp.returncode, cp.stdout


def _profile(c, tag):
    """An image and a profile on c; the profile's name."""
    for kind, body in (("images", {"name": "img-" + tag, "kernel": "k", "initrd": "i"}),
                       ("profiles", {"name": "prof-" + tag, "image": "img-" + tag})):
        r = c.post("/api/v1/" + kind, body)
        assert r.status == 201, r
    return "prof-" + tag


def test_node_data_follows_the_real_lease(lab, srv):
    """Node identity through the real dnsmasq and hook: a node's boot script,
    its name= lookup and its cloud-init by address go to the address its
    lease gives; another machine on the network, with a lease of its own,
    gets none of it (docs/security.md)."""
    prof = _profile(srv, "ident")
    cl1, cl2 = new_client(lab), new_client(lab)
    add_node(srv, "ident1", cl1.mac, profile=prof)
    assert wait_for(lambda: host_file(srv, cl1.mac), timeout=3)
    time.sleep(0.3)  # inotify
    l1 = cl1.dhcp()
    l2 = cl2.dhcp()
    assert l1 and l2, (l1, l2)
    cl1.set_ip(l1["ip"])
    cl2.set_ip(l2["ip"])

    def by_lease():  # once the hook has stored cl1's lease
        rc, out = _wget(cl1, lab, "/cloud-init/meta-data")
        return rc == 0 and '"local-hostname": "ident1"' in out.replace('":"', '": "')

    assert wait_for(by_lease, timeout=5), _wget(cl1, lab, "/cloud-init/meta-data")
    for q in ("mac=" + cl1.mac, "name=ident1"):
        rc, out = _wget(cl1, lab, "/boot/v1/bootscript?" + q)
        assert rc == 0 and "corral.node=ident1 " in out and "/cloud-init/" in out, (q, out)
    # The other machine: a script that waits, no token; 403; 404.
    rc, out = _wget(cl2, lab, "/boot/v1/bootscript?mac=" + cl1.mac)
    assert rc == 0 and out.startswith("#!ipxe") and "/cloud-init/" not in out, out
    assert "kernel" not in out and l1["ip"] in out, out
    rc, out = _wget(cl2, lab, "/boot/v1/bootscript?name=ident1")
    assert rc != 0 and out == "", out
    rc, out = _wget(cl2, lab, "/cloud-init/meta-data")
    assert rc != 0 and out == "", out


def test_first_boot_with_a_late_hook_gets_its_script(lab):
    """iPXE asks for its boot script right after the DHCPACK; dnsmasq runs the
    lease hook later (here 1.5 s a call).  A node whose lease is not in the
    store yet, asking from an address no other machine holds, gets its
    whole script; once the lease is stored, another address does not."""
    lab2 = netns.Lab()
    try:
        c = corrald_with_slow_hook(lab2, 1.5)
        prof = _profile(c, "late")
        cl = lab2.client("02:c0:%02x:00:02:01" % lab2.nn)
        add_node(c, "late2", cl.mac, profile=prof)  # no reserved address: from the pool
        assert wait_for(lambda: host_file(c, cl.mac), timeout=3)
        time.sleep(0.3)  # inotify
        t_ack = time.time()
        lease = cl.dhcp()
        assert lease, lease
        cl.set_ip(lease["ip"])
        rc, out = _wget(cl, lab2, "/boot/v1/bootscript?mac=" + cl.mac)
        t_script = time.time()
        assert t_script - t_ack < 1.4, "the client was too slow to show anything"
        assert rc == 0 and "corral.node=late2 " in out and "/cloud-init/" in out, out
        # The hook has run: the lease binds the MAC to its address.
        other = lab2.client("02:c0:%02x:00:02:02" % lab2.nn)
        other.set_ip(lab2.ip4(60))

        def refused():
            rc, out = _wget(other, lab2, "/boot/v1/bootscript?mac=" + cl.mac)
            return rc == 0 and "/cloud-init/" not in out and lease["ip"] in out

        assert wait_for(refused, timeout=8), _wget(other, lab2, "/boot/v1/bootscript?mac=" +
                                                   cl.mac)
        # Asked again from its own lease address: its script.  Asked as
        # iPXE does after a failed fetch, once more: on a heavily loaded
        # machine this request has gone unanswered for 30 s about one run in
        # ten (seen in session 3, not yet understood; see the closing note).
        for attempt in (1, 2):
            try:
                cp = cl.exec(["busybox", "wget", "-q", "-O", "-", "http://%s:8080%s" %
                              (lab2.server_ip, "/boot/v1/bootscript?mac=" + cl.mac)],
                             timeout=12)
                break
            except subprocess.TimeoutExpired:
                assert attempt == 1, "no answer to the node's own request, twice"
        assert cp.returncode == 0 and "/cloud-init/" in cp.stdout, cp.stdout
    finally:
        lab2.close()


def test_lease_granted_just_before_stop_is_kept(lab):
    """dnsmasq hands the lease changes still pending at SIGTERM to its
    script helper, which runs them after dnsmasq has exited.  With a hook
    slowed to 1 s a call, a lease granted just before corrald stops reaches
    the store only then; corrald must still be listening, or the next
    dnsmasq gives the address away again."""
    lab2 = netns.Lab()
    try:
        c = corrald_with_slow_hook(lab2, 1)
        holder = lab2.client("02:c0:%02x:00:03:01" % lab2.nn)
        late = lab2.client("02:c0:%02x:00:03:02" % lab2.nn)
        got = holder.dhcp()
        assert got and in_pool(lab2, got["ip"]), got
        assert c.stop() == 0, c.stderr_tail()  # at once: the hook has not run yet
        # The old helper's hook must have found the old corrald, not this
        # one's successor: start it only once that hook is long done.
        time.sleep(2.5)
        c.start()
        c.wait_dnsmasq(timeout=20)
        other = late.dhcp(request_ip=got["ip"])
        assert other is not None, c.stderr_tail()
        assert other["ip"] != got["ip"], "a new MAC got %s, still leased to %s" % (
            got["ip"], holder.mac)
    finally:
        lab2.close()


# ---- SIGHUP: new DHCP settings, in force whole or not at all -------------------------
#
# Each test has a Lab of its own: it changes the daemon's configuration.  A
# reload that changes dhcp.* prepares the new side while the old dnsmasq
# serves; if that fails, nothing of the new file is in force (the boot
# script's unknown_wait and the file root tell), the same dnsmasq process
# keeps answering, dnsmasq.conf is the old one and corrald says why once.


def reload(c, changes):
    """Writes {(section, key): value} into c's file, sends SIGHUP and waits
    until corrald logged the outcome; returns what it logged meanwhile."""
    mark = len(c.stderr_text())
    for (sec, key), v in changes.items():
        c.conf.setdefault(sec, {})[key] = str(v)
    c.write_conf()
    c.signal(signal.SIGHUP)

    def outcome():
        t = c.stderr_text()[mark:]
        done = "reloaded configuration" in t or "configuration not changed" in t
        return t if done else None

    out = wait_for(outcome, timeout=30, interval=0.1)
    assert out, "no reload outcome logged:\n" + c.stderr_tail(4000)
    return out


def unknown_wait(c):
    """The sleep an unknown machine's boot script has (boot.unknown_wait)."""
    r = c.bootscript({"mac": "02:ee:00:00:00:%02x" % (int(time.monotonic() * 10) % 256)})
    assert r.status == 200, r
    m = re.search(r"^\s*sleep\s+(\d+)\s*$", r.text, re.M)
    assert m, r.text
    return int(m.group(1))


def served_file(c, name):
    r = c.get("/files/" + name, token=None)
    return r.raw if r.status == 200 else None


def reload_lab_daemon(lab2):
    """corrald in lab2 with dnsmasq up, a node, and a second file root ready
    (files.root/which.txt says "old", files2/which.txt "new")."""
    c = lab2.corrald()
    c.add_file("which.txt", "old")
    new_root = c.dir / "files2"
    new_root.mkdir()
    (new_root / "which.txt").write_text("new")
    c.new_root = new_root
    c.pid0 = c.wait_dnsmasq(timeout=20)
    assert unknown_wait(c) == 10
    assert served_file(c, "which.txt") == b"old"
    return c


def assert_old_settings_serve(lab2, c, conf_before, pid=None):
    """The old configuration is in force and its dnsmasq answers."""
    if pid is not None:
        assert c.dnsmasq_pid() == pid, "dnsmasq was replaced:\n" + c.stderr_tail(4000)
    assert (c.state_dir / "dnsmasq.conf").read_text() == conf_before
    assert unknown_wait(c) == 10, "boot.unknown_wait of the refused file was applied"
    assert served_file(c, "which.txt") == b"old", "files.root of the refused file was applied"
    cl = lab2.client("02:c0:%02x:00:09:%02x" % (lab2.nn, len(lab2.clients)))
    lease = cl.dhcp()
    assert lease and in_pool(lab2, lease["ip"]), (lease, c.stderr_tail(4000))
    assert lease["lease"] == POOL_LEASE, lease


def test_reload_with_missing_interface_keeps_old_dnsmasq():
    lab2 = netns.Lab()
    try:
        c = reload_lab_daemon(lab2)
        conf_before = (c.state_dir / "dnsmasq.conf").read_text()
        out = reload(c, {("dhcp", "interface"): "nosuch0",
                         ("dhcp", "pool_start"): lab2.ip4(200),  # outside the old pool
                         ("dhcp", "pool_end"): lab2.ip4(210),
                         ("boot", "unknown_wait"): 3,
                         ("files", "root"): c.new_root})
        assert "reloaded configuration" not in out, out
        errors = [l for l in out.splitlines() if "nosuch0" in l]
        assert len(errors) == 1, "the error should be logged once:\n" + out
        assert "no such interface" in errors[0] and "configuration not changed" in errors[0]
        assert_old_settings_serve(lab2, c, conf_before, pid=c.pid0)
    finally:
        lab2.close()


def test_reload_with_busy_dns_port_keeps_old_dnsmasq():
    lab2 = netns.Lab()
    held = None
    try:
        c = reload_lab_daemon(lab2)
        conf_before = (c.state_dir / "dnsmasq.conf").read_text()

        def listen(ip, port):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((ip, port))
            s.listen(1)
            return s

        held = lab2.in_server(listen, lab2.server_ip, 5300)
        out = reload(c, {("dhcp", "dns_port"): 5300, ("dhcp", "pool_lease_time"): 300,
                         ("boot", "unknown_wait"): 3})
        errors = [l for l in out.splitlines() if "5300" in l]
        assert len(errors) == 1, "the error should be logged once:\n" + out
        assert "in use" in errors[0] and "configuration not changed" in errors[0], errors
        assert_old_settings_serve(lab2, c, conf_before, pid=c.pid0)
    finally:
        if held is not None:
            held.close()
        lab2.close()


def test_reload_whose_dnsmasq_fails_to_start_brings_old_settings_back():
    """A failure only the new dnsmasq itself can show (here: a dhcp.dnsmasq
    that passes `--test` and then exits): the old dnsmasq was stopped by
    then, so its settings are started again, with a new process, and the
    new file is not in force."""
    lab2 = netns.Lab()
    try:
        c = reload_lab_daemon(lab2)
        conf_before = (c.state_dir / "dnsmasq.conf").read_text()
        broken = c.dir / "broken-dnsmasq"
        broken.write_text('#!/bin/sh\ncase " $* " in *" --test "*) exec %s "$@";; esac\n'
                          'echo "broken-dnsmasq: refusing to serve" >&2\nexit 3\n' % netns.DNSMASQ)
        broken.chmod(0o755)
        out = reload(c, {("dhcp", "dnsmasq"): broken,
                         ("dhcp", "pool_lease_time"): 300,
                         ("boot", "unknown_wait"): 3})
        assert "reloaded configuration" not in out, out
        errors = [l for l in out.splitlines() if "configuration not changed" in l]
        assert len(errors) == 1, out
        assert "exited with status 3 before it started" in errors[0], errors
        new = c.wait_dnsmasq(timeout=20, not_pid=c.pid0)
        assert os.readlink("/proc/%d/exe" % new) == os.path.realpath(netns.DNSMASQ)
        assert_old_settings_serve(lab2, c, conf_before)
        assert restarts(c) == 0, "a refused start is not a crash"
    finally:
        lab2.close()


def test_reload_applies_new_dhcp_settings_whole():
    lab2 = netns.Lab()
    try:
        c = reload_lab_daemon(lab2)
        known = lab2.client("02:c0:%02x:00:0a:01" % lab2.nn)
        add_node(c, "reload-known", known.mac, lab2.ip4(40))
        assert wait_for(lambda: (host_file(c, known.mac) or "").endswith(",%s\n" % LEASE))
        out = reload(c, {("dhcp", "pool_start"): lab2.ip4(150),
                         ("dhcp", "pool_end"): lab2.ip4(160),
                         ("dhcp", "pool_lease_time"): 300,
                         ("dhcp", "lease_time"): 7200,
                         ("boot", "unknown_wait"): 3,
                         ("files", "root"): c.new_root})
        assert "reloaded configuration" in out and "configuration not changed" not in out, out
        new = c.dnsmasq_pid()
        assert new and new != c.pid0, "dnsmasq was not restarted:\n" + out
        conf = (c.state_dir / "dnsmasq.conf").read_text()
        assert "dhcp-range=set:pool,%s,%s,255.255.255.0,300\n" % (
            lab2.ip4(150), lab2.ip4(160)) in conf, conf
        assert ",static,255.255.255.0,7200\n" in conf, conf
        assert host_file(c, known.mac).endswith(",7200\n"), host_file(c, known.mac)
        assert unknown_wait(c) == 3
        assert served_file(c, "which.txt") == b"new"
        cl = lab2.client("02:c0:%02x:00:0a:02" % lab2.nn)
        lease = cl.dhcp()
        assert lease, c.stderr_tail(4000)
        assert 150 <= int(lease["ip"].rsplit(".", 1)[1]) <= 160, lease
        assert lease["lease"] == "300", lease
        got = known.dhcp()
        assert got and got["ip"] == lab2.ip4(40) and got["lease"] == "7200", got
    finally:
        lab2.close()
