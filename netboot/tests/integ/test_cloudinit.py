"""cloud-init NoCloud paths and phone-home (docs/api.md, node-facing)."""
import json
import time

import pytest
import yaml

from conftest import NO_TOKEN, IpxeScript, assert_error, next_mac, node, uniq, wait_until

FORM = {"Content-Type": "application/x-www-form-urlencoded"}

DEFAULT_UD = """#cloud-config
packages: [curl]
ntp:
  servers: [ntp.default]
timezone: UTC
"""
G1_UD = """#cloud-config
packages: [htop]
ntp:
  enabled: true
write_files:
  - path: /etc/g1
    content: g1
timezone: Europe/Paris
"""
G2_UD = """#cloud-config
packages: [git]
runcmd:
  - echo g2
"""
NODE_UD = """#cloud-config
packages: [vim]
write_files:
  - path: /etc/node
    content: node
runcmd:
  - echo node
timezone: America/Chicago
"""


def mk(c, kind, body):
    r = c.post("/api/v1/" + kind, body)
    assert r.status == 201, r
    return r.body


def seed(c, **query):
    """(base, token) from the node's boot script."""
    r = c.bootscript(query)
    assert r.status == 200, r
    return IpxeScript(r.text).seed_token()


def get_ci(c, path, **kw):
    return c.request("GET", path, token=NO_TOKEN, **kw)


def setup_layers(c):
    img = mk(c, "images", {"name": uniq("ciimg"), "kernel": "k", "initrd": "i"})
    prof = mk(c, "profiles", {"name": uniq("ciprof"), "image": img["name"]})
    c.ok("PUT", "/api/v1/defaults",
         {"profile": prof["name"], "user_data": DEFAULT_UD,
          "metadata": {"site": "default", "dns": "1.1.1.1", "only_default": 1,
                       "nested": {"a": "default", "b": "default"}}}, expect=200)
    g1 = mk(c, "groups", {"name": uniq("cig1"), "user_data": G1_UD,
                          "metadata": {"site": "g1", "rack": "g1", "only_g1": True,
                                       "nested": {"b": "g1"}}})
    g2 = mk(c, "groups", {"name": uniq("cig2"), "user_data": G2_UD,
                          "metadata": {"rack": "g2", "only_g2": [1, 2]}})
    n = mk(c, "nodes", node(uniq("cin"), groups=[g1["name"], g2["name"]], user_data=NODE_UD,
                            metadata={"dns": "10.0.0.53", "only_node": "yes"}))
    return n


@pytest.fixture(scope="module")
def layered(corrald):
    n = setup_layers(corrald)
    base, token = seed(corrald, mac=n["interfaces"][0]["mac"])
    assert base == corrald.advertise_url
    return {"node": n, "token": token}


def test_meta_data(corrald, layered):
    r = get_ci(corrald, "/cloud-init/%s/meta-data" % layered["token"])
    assert r.status == 200, r
    md = json.loads(r.raw)  # JSON, which is also valid YAML
    assert yaml.safe_load(r.raw) == md
    n = layered["node"]
    assert md["instance-id"], md
    assert md["local-hostname"] == n["name"]
    assert md["only_default"] == 1
    assert md["only_g1"] is True
    assert md["only_g2"] == [1, 2]
    assert md["only_node"] == "yes"
    assert md["site"] == "g1"       # group over defaults
    assert md["rack"] == "g2"       # groups in order: the later group over the earlier
    assert md["dns"] == "10.0.0.53"  # node over everything


def test_user_data_merged(corrald, layered):
    r = get_ci(corrald, "/cloud-init/%s/user-data" % layered["token"])
    assert r.status == 200, r
    text = r.raw.decode()
    assert text.startswith("#cloud-config\n"), text
    ud = yaml.safe_load(text)
    # lists appended, defaults first, groups in order, node last
    assert ud["packages"] == ["curl", "htop", "git", "vim"], ud
    assert [f["path"] for f in ud["write_files"]] == ["/etc/g1", "/etc/node"]
    assert ud["runcmd"] == ["echo g2", "echo node"]
    # mappings merged key by key
    assert ud["ntp"] == {"servers": ["ntp.default"], "enabled": True}
    # scalars from the most specific layer
    assert ud["timezone"] == "America/Chicago"


def test_vendor_data_points_phone_home_at_the_token(corrald, layered):
    """vendor-data sets cloud-init's phone_home to this node's phone-home URL
    with a token of its own (phone-home takes nothing else)."""
    r = get_ci(corrald, "/cloud-init/%s/vendor-data" % layered["token"])
    assert r.status == 200, r
    text = r.raw.decode()
    assert text.startswith("#cloud-config\n"), text
    ph = yaml.safe_load(text)["phone_home"]
    assert ph["post"] == ["instance_id", "hostname"] and ph["tries"] == 10, ph
    prefix = corrald.advertise_url + "/phone-home/"
    assert ph["url"].startswith(prefix), ph
    r = corrald.request("POST", ph["url"][len(corrald.advertise_url):], "instance_id=x",
                        token=NO_TOKEN, headers=FORM)
    assert r.status == 200 and r.body["node"] == layered["node"]["name"], r


@pytest.mark.parametrize("what", ["meta-data", "user-data", "vendor-data"])
@pytest.mark.parametrize("tamper", ["flip-last", "flip-first", "flip-middle", "truncate",
                                    "append", "garbage", "empty-ish"])
def test_tampered_token_403(corrald, layered, what, tamper):
    t = layered["token"]

    def flip(ch):
        return "a" if ch != "a" else "b"

    mid = len(t) // 2
    bad = {
        "flip-last": t[:-1] + flip(t[-1]),
        "flip-first": flip(t[0]) + t[1:],
        "flip-middle": t[:mid] + flip(t[mid]) + t[mid + 1:],
        "truncate": t[:mid],
        "append": t + "a",
        "garbage": "not-a-token",
        "empty-ish": "0",
    }[tamper]
    if bad == t:
        pytest.skip("tampering left the token unchanged")
    r = get_ci(corrald, "/cloud-init/%s/%s" % (bad, what))
    assert r.status == 403, r


def test_spliced_tokens_of_two_nodes_403(corrald, layered):
    """Any head of one node's token joined to the tail of another's is
    refused: the node part cannot be swapped under a valid signature."""
    c = corrald
    img = mk(c, "images", {"name": uniq("spi"), "kernel": "k", "initrd": "i"})
    p = mk(c, "profiles", {"name": uniq("spp"), "image": img["name"]})
    other = mk(c, "nodes", node(profile=p["name"]))
    _, t2 = seed(c, mac=other["interfaces"][0]["mac"])
    t1 = layered["token"]
    assert t1 != t2
    tried = 0
    for k in range(1, min(len(t1), len(t2))):
        for bad in (t1[:k] + t2[k:], t2[:k] + t1[k:]):
            if bad in (t1, t2):
                continue
            tried += 1
            r = get_ci(c, "/cloud-init/%s/meta-data" % bad)
            assert r.status == 403, (k, bad, r)
    assert tried


def test_token_of_deleted_node(fresh_corrald):
    c = fresh_corrald
    img = mk(c, "images", {"name": "i", "kernel": "k", "initrd": "i"})
    p = mk(c, "profiles", {"name": "p", "image": img["name"]})
    n = mk(c, "nodes", node(profile=p["name"]))
    _, token = seed(c, mac=n["interfaces"][0]["mac"])
    assert get_ci(c, "/cloud-init/%s/meta-data" % token).status == 200
    c.ok("DELETE", "/api/v1/nodes/" + n["name"], expect=204)
    r = get_ci(c, "/cloud-init/%s/meta-data" % token)
    assert r.status in (403, 404), r


def test_token_survives_restart(fresh_corrald):
    """The HMAC key is kept: a token handed out before a restart still works."""
    c = fresh_corrald
    img = mk(c, "images", {"name": "i", "kernel": "k", "initrd": "i"})
    p = mk(c, "profiles", {"name": "p", "image": img["name"]})
    n = mk(c, "nodes", node(profile=p["name"]))
    _, token = seed(c, mac=n["interfaces"][0]["mac"])
    c.restart()
    r = get_ci(c, "/cloud-init/%s/meta-data" % token)
    assert r.status == 200, r
    assert yaml.safe_load(r.raw)["local-hostname"] == n["name"]
    assert oct(c.key_file.stat().st_mode & 0o777) == oct(0o600)


def test_token_from_another_key_refused(corrald_factory):
    c = corrald_factory()
    img = mk(c, "images", {"name": "i", "kernel": "k", "initrd": "i"})
    p = mk(c, "profiles", {"name": "p", "image": img["name"]})
    n = mk(c, "nodes", node(profile=p["name"]))
    _, token = seed(c, mac=n["interfaces"][0]["mac"])
    assert get_ci(c, "/cloud-init/%s/meta-data" % token).status == 200
    c2 = corrald_factory()
    assert get_ci(c2, "/cloud-init/%s/meta-data" % token).status == 403


def test_token_expires(corrald_factory):
    """cloud_init.token_ttl = 60 (the minimum): the token works, then is 403
    after a minute; a new boot script carries a fresh one that works."""
    c = corrald_factory(conf={"cloud_init": {"token_ttl": 60}})
    img = mk(c, "images", {"name": "i", "kernel": "k", "initrd": "i"})
    p = mk(c, "profiles", {"name": "p", "image": img["name"]})
    n = mk(c, "nodes", node(profile=p["name"]))
    t0 = time.monotonic()
    _, token = seed(c, mac=n["interfaces"][0]["mac"])
    assert get_ci(c, "/cloud-init/%s/meta-data" % token).status == 200
    time.sleep(max(0, 62 - (time.monotonic() - t0)))
    for what in ("meta-data", "user-data", "vendor-data"):
        r = get_ci(c, "/cloud-init/%s/%s" % (token, what))
        assert r.status == 403, (what, r)
    _, fresh = seed(c, mac=n["interfaces"][0]["mac"])
    assert fresh != token
    assert get_ci(c, "/cloud-init/%s/meta-data" % fresh).status == 200


# --- identity by source address --------------------------------------------------

def test_by_source_address(fresh_corrald):
    """The interface's reserved address names the node."""
    c = fresh_corrald
    # unknown source first
    for what in ("meta-data", "user-data", "vendor-data"):
        r = get_ci(c, "/cloud-init/" + what)
        assert r.status == 404, r
    n = setup_layers(c)
    c.ok("PATCH", "/api/v1/nodes/" + n["name"],
         {"interfaces": [{"mac": next_mac(), "ip": "127.0.0.1"}]}, expect=200)
    r = get_ci(c, "/cloud-init/meta-data")
    assert r.status == 200, r
    md = yaml.safe_load(r.raw)
    assert md["local-hostname"] == n["name"]
    assert md["dns"] == "10.0.0.53"
    r = get_ci(c, "/cloud-init/user-data")
    assert r.status == 200
    assert yaml.safe_load(r.raw)["packages"] == ["curl", "htop", "git", "vim"]
    r = get_ci(c, "/cloud-init/vendor-data")
    assert r.status == 200


def test_by_address_of_its_dhcp_lease(fresh_corrald):
    """An address names a node by its current DHCP lease; the address a boot
    script was fetched from does not (it used to: finding 1)."""
    c = fresh_corrald
    img = mk(c, "images", {"name": "i", "kernel": "k", "initrd": "i"})
    p = mk(c, "profiles", {"name": "p", "image": img["name"]})
    n = mk(c, "nodes", node(profile=p["name"]))  # no IP on its interface
    assert get_ci(c, "/cloud-init/meta-data").status == 404
    seed(c, mac=n["interfaces"][0]["mac"])  # fetched from 127.0.0.1
    c.get("/api/v1/nodes/%s/events" % n["name"])  # the events are stored
    assert_error(get_ci(c, "/cloud-init/meta-data"), 404, "not_found")
    c.record_lease(n["interfaces"][0]["mac"], "127.0.0.1")
    r = get_ci(c, "/cloud-init/meta-data")
    assert r.status == 200, r
    assert yaml.safe_load(r.raw)["local-hostname"] == n["name"]
    c.record_lease(n["interfaces"][0]["mac"], "127.0.0.1", ttl=-1)  # expired
    assert_error(get_ci(c, "/cloud-init/meta-data"), 404, "not_found")


# --- user-data that is not cloud-config --------------------------------------

@pytest.mark.parametrize("ud", [
    "#!/bin/sh\necho hello from $(hostname)\n",
    "#!/bin/bash\nset -e\nprintf '%s\\n' ok\n",
    'Content-Type: multipart/mixed; boundary="XX"\nMIME-Version: 1.0\n\n--XX\n'
    'Content-Type: text/x-shellscript\n\n#!/bin/sh\necho hi\n--XX--\n',
])
def test_non_cloud_config_served_as_is(corrald, ud):
    g = mk(corrald, "groups", {"name": uniq("sg"), "user_data": "#cloud-config\npackages: [x]\n"})
    n = mk(corrald, "nodes", node(groups=[g["name"]], user_data=ud))
    # the module daemon has no default profile: give the node one
    img = mk(corrald, "images", {"name": uniq("si"), "kernel": "k", "initrd": "i"})
    p = mk(corrald, "profiles", {"name": uniq("sp"), "image": img["name"]})
    corrald.ok("PATCH", "/api/v1/nodes/" + n["name"], {"profile": p["name"]}, expect=200)
    _, token = seed(corrald, mac=n["interfaces"][0]["mac"])
    r = get_ci(corrald, "/cloud-init/%s/user-data" % token)
    assert r.status == 200
    assert r.raw.decode() == ud


def test_empty_user_data_everywhere(fresh_corrald):
    c = fresh_corrald
    img = mk(c, "images", {"name": "i", "kernel": "k", "initrd": "i"})
    p = mk(c, "profiles", {"name": "p", "image": img["name"]})
    n = mk(c, "nodes", node(profile=p["name"]))
    _, token = seed(c, mac=n["interfaces"][0]["mac"])
    r = get_ci(c, "/cloud-init/%s/user-data" % token)
    assert r.status == 200, r
    md = yaml.safe_load(get_ci(c, "/cloud-init/%s/meta-data" % token).raw)
    assert md["local-hostname"] == n["name"]


# --- phone-home ------------------------------------------------------------------

def wait_state(c, name, state, timeout=5):
    deadline = time.monotonic() + timeout
    got = None
    while time.monotonic() < deadline:
        got = c.get("/api/v1/nodes/" + name).body["state"]
        if got == state:
            return got
        time.sleep(0.1)
    return got


def test_phone_home_without_token_refused(fresh_corrald):
    """Phone-home needs the node's token: a form naming a node (instance_id,
    hostname) or the node's own address no longer marks it ready."""
    c = fresh_corrald
    img = mk(c, "images", {"name": "i", "kernel": "k", "initrd": "i"})
    p = mk(c, "profiles", {"name": "p", "image": img["name"]})
    n = mk(c, "nodes", node(profile=p["name"],
                            interfaces=[{"mac": next_mac(), "ip": "127.0.0.1"}]))
    _, token = seed(c, mac=n["interfaces"][0]["mac"])
    md = yaml.safe_load(get_ci(c, "/cloud-init/%s/meta-data" % token).raw)
    for form in ("instance_id=%s&hostname=%s" % (md["instance-id"], n["name"]),
                 "hostname=" + n["name"], "pub_key_rsa=x", ""):
        r = c.request("POST", "/phone-home", form, token=NO_TOKEN, headers=FORM)
        err = assert_error(r, 403, "forbidden")
        assert "token" in err["message"], err
    assert wait_state(c, n["name"], "ready", timeout=0.5) != "ready"


def test_phone_home_with_token(fresh_corrald):
    c = fresh_corrald
    img = mk(c, "images", {"name": "i", "kernel": "k", "initrd": "i"})
    p = mk(c, "profiles", {"name": "p", "image": img["name"]})
    n = mk(c, "nodes", node(profile=p["name"]))
    _, token = seed(c, mac=n["interfaces"][0]["mac"])
    r = c.request("POST", "/phone-home/" + token, "instance_id=whatever&hostname=whatever",
                  token=NO_TOKEN, headers=FORM)
    assert r.status == 200, r
    assert r.body == {"node": n["name"], "state": "ready"}
    assert wait_state(c, n["name"], "ready") == "ready"


def test_phone_home_bad_token_403(fresh_corrald):
    c = fresh_corrald
    mk(c, "nodes", node())
    r = c.request("POST", "/phone-home/" + "0" * 56, "instance_id=nobody&hostname=nobody",
                  token=NO_TOKEN, headers=FORM)
    assert_error(r, 403, "forbidden")
