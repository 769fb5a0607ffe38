"""Node identity on the node-facing paths (docs/security.md, "Node identity").

A node's boot script (with its seed token), its cloud-init and its
phone-home go only to a requester Corral can tie to that node: the address
its DHCP lease (or reserved address) gives, or the seed token.  Requests here
come from loopback addresses (127.0.0.x, bound as the source), each standing
for a machine at that address; leases are written as corral-dhcp-hook
writes them (conftest's record_lease: these daemons run no DHCP).
test_dhcp.py holds the same rules against the real dnsmasq and hook.

Each test here failed on the build before node identity (the findings of
issue 11: cloud-init by a shared address served the wrong node; anyone got
any node's script with ?name=; a form naming a node marked it ready).
"""
import re

import pytest
import yaml

from conftest import NO_TOKEN, Corrald, IpxeScript, assert_error, assert_problem, next_mac, node, uniq

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def mk(c, kind, body):
    r = c.post("/api/v1/" + kind, body)
    assert r.status == 201, r
    return r.body


@pytest.fixture(scope="module")
def prof(corrald):
    img = mk(corrald, "images", {"name": uniq("idimg"), "kernel": "k", "initrd": "i"})
    return mk(corrald, "profiles", {"name": uniq("idprof"), "image": img["name"]})["name"]


def new_node(c, prof, **kw):
    n = mk(c, "nodes", node(uniq("id"), profile=prof,
                            metadata={"secret": uniq("s")}, **kw))
    return n, n["interfaces"][0]["mac"]


def token_of(text):
    m = re.search(r"/cloud-init/([^/\s]+)/", text)
    return m.group(1) if m else None


def ci(c, path, src):
    return c.request("GET", path, token=NO_TOKEN, src=src)


# --- finding 1: two MACs behind one address ------------------------------------

def test_two_macs_behind_one_address_get_no_ones_cloud_init(corrald, prof):
    """Two machines fetch their boot scripts from one address (NAT, a relay,
    a reused address): each gets its own script and token, and cloud-init
    by that address answers for neither (it gave one of them the other's
    hostname and data)."""
    a, mac_a = new_node(corrald, prof)
    b, mac_b = new_node(corrald, prof)
    src = "127.0.0.60"
    sa = corrald.bootscript({"mac": mac_a}, src=src)
    sb = corrald.bootscript({"mac": mac_b}, src=src)
    ta, tb = token_of(sa.text), token_of(sb.text)
    assert ta and tb and ta != tb, (sa.text, sb.text)
    corrald.get("/api/v1/nodes/%s/events" % a["name"])  # stored
    for f in ("meta-data", "user-data", "vendor-data"):
        r = ci(corrald, "/cloud-init/" + f, src)
        err = assert_error(r, 404, "not_found")
        assert src in err["message"] and "token" in err["message"], err
        assert a["name"] not in r.text and b["name"] not in r.text
    # Each by its own token: its own data.
    for n, t in ((a, ta), (b, tb)):
        md = yaml.safe_load(ci(corrald, "/cloud-init/%s/meta-data" % t, src).raw)
        assert md["local-hostname"] == n["name"] and md["secret"] == n["metadata"]["secret"]


def test_two_leases_on_one_address_are_a_conflict(corrald, prof):
    """Both hold a current lease (or reservation) on the address: 409 that
    says why, naming neither node."""
    a, mac_a = new_node(corrald, prof)
    b, _ = new_node(corrald, prof, interfaces=[{"mac": next_mac(), "ip": "127.0.0.61"}])
    corrald.record_lease(mac_a, "127.0.0.61")
    for f in ("meta-data", "user-data", "vendor-data"):
        r = ci(corrald, "/cloud-init/" + f, "127.0.0.61")
        err = assert_error(r, 409, "conflict")
        assert "held by 2 machines" in err["message"] and "token" in err["message"], err
        assert a["name"] not in r.text and b["name"] not in r.text
    # The lease moves away: the address is b's alone again.
    corrald.record_lease(mac_a, "127.0.0.62")
    md = yaml.safe_load(ci(corrald, "/cloud-init/meta-data", "127.0.0.61").raw)
    assert md["local-hostname"] == b["name"]
    md = yaml.safe_load(ci(corrald, "/cloud-init/meta-data", "127.0.0.62").raw)
    assert md["local-hostname"] == a["name"]


# --- finding 2: anyone could get any node's seed token --------------------------

@pytest.mark.parametrize("by", ["name", "nid"])
def test_foreign_name_or_nid_refused(corrald, prof, by):
    nid = 7000 + (1 if by == "name" else 2)
    n, mac = new_node(corrald, prof, nid=nid)
    corrald.record_lease(mac, "127.0.0.63" if by == "name" else "127.0.0.64")
    own = "127.0.0.63" if by == "name" else "127.0.0.64"
    q = {by: n["name"] if by == "name" else nid}
    r = corrald.bootscript(q, src="127.0.0.65")
    err = assert_problem(r, 403)
    assert "127.0.0.65" in err["message"] and "mac=" in err["message"], err
    assert token_of(r.text) is None and "kernel" not in r.text
    # From the node's own lease: its script.
    r = corrald.bootscript(q, src=own)
    assert r.status == 200 and token_of(r.text), r
    assert "corral.node=%s " % n["name"] in r.text


def test_mac_from_another_address_gets_no_token(corrald, prof):
    """A MAC whose lease is elsewhere: a script that only waits and asks
    again (a node's iPXE stops at a 4xx, and its lease may be on its way),
    no kernel, no seed token; counted as refused and on the node's
    timeline."""
    n, mac = new_node(corrald, prof)
    corrald.record_lease(mac, "127.0.0.66")
    r = corrald.bootscript({"mac": mac}, src="127.0.0.67")
    assert r.status == 200, r
    s = IpxeScript(r.text)
    assert not s.find("kernel") and token_of(r.text) is None, r.text
    assert "127.0.0.67" in r.text and "127.0.0.66" in r.text, r.text
    assert s.sleeps() and s.chain_urls(), r.text
    ev = corrald.get("/api/v1/nodes/%s/events" % n["name"]).body
    assert ev and ev[-1]["detail"].startswith("refused"), ev
    assert corrald.get("/api/v1/nodes/" + n["name"]).body["state"] == "new"
    # From the lease's address: the node's script.
    r = corrald.bootscript({"mac": mac}, src="127.0.0.66")
    assert token_of(r.text) and IpxeScript(r.text).find("kernel"), r.text


def test_first_boot_before_the_lease_is_recorded(corrald, prof):
    """iPXE asks for its script right after the DHCPACK, and dnsmasq runs the
    lease hook later: with no lease known yet, the MAC's script goes to any
    address that is no other machine's (test_dhcp.py shows it with a late
    hook); not to another machine's address."""
    n, mac = new_node(corrald, prof)
    r = corrald.bootscript({"mac": mac}, src="127.0.0.68")
    assert token_of(r.text) and "corral.node=%s " % n["name"] in r.text, r.text
    other, other_mac = new_node(corrald, prof)
    corrald.record_lease(other_mac, "127.0.0.69")
    r = corrald.bootscript({"mac": mac}, src="127.0.0.69")
    assert r.status == 200 and token_of(r.text) is None, r.text
    assert "another machine" in r.text, r.text


# --- phone-home needs the token -------------------------------------------------

def test_phone_home_without_token_refused_with_token_accepted(corrald, prof):
    n, mac = new_node(corrald, prof)
    corrald.record_lease(mac, "127.0.0.70")
    for form in ("hostname=" + n["name"], "instance_id=i-%s&hostname=%s" % (n["name"], n["name"])):
        for src in ("127.0.0.71", "127.0.0.70"):  # even from the node's own lease
            r = corrald.request("POST", "/phone-home", form, token=NO_TOKEN, headers=FORM,
                                src=src)
            err = assert_error(r, 403, "forbidden")
            assert "/phone-home/<token>" in err["message"], err
    assert corrald.get("/api/v1/nodes/" + n["name"]).body["state"] == "new"
    t = token_of(corrald.bootscript({"mac": mac}, src="127.0.0.70").text)
    r = corrald.request("POST", "/phone-home/" + t, "hostname=whatever", token=NO_TOKEN,
                        headers=FORM, src="127.0.0.71")
    assert r.status == 200 and r.body == {"node": n["name"], "state": "ready"}, r
    # The URL cloud-init's phone_home gets from vendor-data is such a one.
    vd = yaml.safe_load(ci(corrald, "/cloud-init/%s/vendor-data" % t, "127.0.0.70").raw)
    path = vd["phone_home"]["url"][len(corrald.advertise_url):]
    r = corrald.request("POST", path, "", token=NO_TOKEN, headers=FORM)
    assert r.status == 200 and r.body["node"] == n["name"], r


# --- node_identity = token ------------------------------------------------------

def test_token_only_mode(corrald_factory):
    """[security] node_identity = token: no tie by address at all, even a
    current lease; boot scripts by MAC and everything by token still work."""
    c = corrald_factory(conf={"security": {"node_identity": "token"}})
    img = mk(c, "images", {"name": "i", "kernel": "k", "initrd": "i"})
    mk(c, "profiles", {"name": "p", "image": img["name"]})
    n, mac = new_node(c, "p", nid=9)
    c.record_lease(mac, "127.0.0.72")
    for q, field in (({"name": n["name"]}, "name"), ({"nid": 9}, "nid")):
        err = assert_problem(c.bootscript(q, src="127.0.0.72"), 403)
        assert "node_identity = token" in err["message"], err
    err = assert_error(ci(c, "/cloud-init/meta-data", "127.0.0.72"), 403, "forbidden")
    assert "node_identity = token" in err["message"], err
    t = token_of(c.bootscript({"mac": mac}, src="127.0.0.72").text)
    assert t
    md = yaml.safe_load(ci(c, "/cloud-init/%s/meta-data" % t, "127.0.0.99").raw)
    assert md["local-hostname"] == n["name"]
    # and the lease still binds the MAC: from elsewhere, no token
    assert token_of(c.bootscript({"mac": mac}, src="127.0.0.73").text) is None


def test_node_identity_checked(tmp_path):
    c = Corrald(tmp_path, conf={"security": {"node_identity": "address"}})
    cp = c.run("-n")
    assert cp.returncode != 0
    assert b"node_identity" in cp.stderr and b"lease or token" in cp.stderr, cp.stderr
