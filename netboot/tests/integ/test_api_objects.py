"""Images, profiles, groups, defaults, discovered machines, tokens, status."""
import pytest

from conftest import RFC3339, assert_error, next_mac, node, uniq, wait_until


def image(name=None, **kw):
    name = name or uniq("img")
    b = {"name": name, "arch": "x86_64", "kernel": "images/%s/vmlinuz" % name,
         "initrd": "images/%s/initrd" % name, "rootfs": "images/%s/rootfs.squashfs" % name,
         "params": "console=ttyS0"}
    b.update(kw)
    return b


def mk(c, kind, body):
    r = c.post("/api/v1/" + kind, body)
    assert r.status == 201, r
    return r.body


def mk_image(c, **kw):
    return mk(c, "images", image(**kw))


def mk_profile(c, image_name=None, **kw):
    b = {"name": uniq("prof"), "image": image_name or mk_image(c)["name"], "params": "quiet"}
    b.update(kw)
    return mk(c, "profiles", b)


# --- generic CRUD, table-driven over the three named kinds ------------------

def sample(c, kind):
    if kind == "images":
        return image()
    if kind == "profiles":
        return {"name": uniq("prof"), "image": mk_image(c)["name"], "params": "quiet"}
    return {"name": uniq("grp"), "description": "rack 1", "metadata": {"a": 1},
            "user_data": "#cloud-config\n{}\n"}


def change(kind):
    return {"images": {"params": "console=tty0"}, "profiles": {"params": "quiet splash"},
            "groups": {"description": "rack 2"}}[kind]


KINDS = ["images", "profiles", "groups"]


@pytest.mark.parametrize("kind", KINDS)
def test_crud(corrald, kind):
    body = sample(corrald, kind)
    name = body["name"]
    got = mk(corrald, kind, body)
    for k, v in body.items():
        assert got[k] == v, k
    assert RFC3339.match(got.get("created", "")), got
    # get
    r = corrald.get("/api/v1/%s/%s" % (kind, name))
    assert r.status == 200 and r.body == got
    # list
    r = corrald.get("/api/v1/" + kind)
    assert r.status == 200 and isinstance(r.body, list)
    assert name in [o["name"] for o in r.body]
    listed = [o["name"] for o in r.body]
    assert listed == sorted(listed)
    # duplicate
    assert_error(corrald.post("/api/v1/" + kind, body), 409, "conflict", field="name")
    # patch
    delta = change(kind)
    r = corrald.patch("/api/v1/%s/%s" % (kind, name), delta)
    assert r.status == 200, r
    for k, v in body.items():
        assert r.body[k] == delta.get(k, v), k
    # put replace → 200; put create → 201
    r = corrald.put("/api/v1/%s/%s" % (kind, name), body)
    assert r.status == 200, r
    assert corrald.get("/api/v1/%s/%s" % (kind, name)).body[list(delta)[0]] == body[list(delta)[0]]
    other = sample(corrald, kind)
    r = corrald.put("/api/v1/%s/%s" % (kind, other["name"]), other)
    assert r.status == 201, r
    # delete
    r = corrald.delete("/api/v1/%s/%s" % (kind, name))
    assert r.status == 204, r
    assert_error(corrald.get("/api/v1/%s/%s" % (kind, name)), 404, "not_found")
    assert_error(corrald.delete("/api/v1/%s/%s" % (kind, name)), 404, "not_found")
    assert_error(corrald.patch("/api/v1/%s/%s" % (kind, name), delta), 404, "not_found")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("bad", ["-x", "a b", "a" * 64, ""])
def test_bad_names_422(corrald, kind, bad):
    body = sample(corrald, kind)
    body["name"] = bad
    assert_error(corrald.post("/api/v1/" + kind, body), 422, "invalid_field", field="name")


@pytest.mark.parametrize("kind", KINDS)
def test_malformed_and_wrong_type(corrald, kind):
    r = corrald.post("/api/v1/" + kind, b"{nope", headers={"Content-Type": "application/json"})
    assert_error(r, 400, "bad_request")
    r = corrald.post("/api/v1/" + kind, b"[]", headers={"Content-Type": "application/json"})
    assert_error(r, 400, "bad_request")
    r = corrald.post("/api/v1/" + kind, b"{}", headers={"Content-Type": "text/plain"})
    assert_error(r, 415, "unsupported_media_type")


# --- images -------------------------------------------------------------------

def test_image_defaults(corrald):
    b = {"name": uniq("imgd"), "kernel": "k/vmlinuz", "initrd": "k/initrd"}
    got = mk(corrald, "images", b)
    assert got["arch"] == "x86_64"
    assert got["params"] == ""
    assert got["rootfs"] is None


@pytest.mark.parametrize("field", ["kernel", "initrd", "rootfs"])
@pytest.mark.parametrize("loc", ["../x", "a/../../x", "/abs/vmlinuz", "ftp://host/vmlinuz",
                                 "file:///etc/passwd", "a/./b/../../../x", "..",
                                 "http://", "a\nb", "a b"])
def test_image_location_validation(corrald, field, loc):
    r = corrald.post("/api/v1/images", image(**{field: loc}))
    assert_error(r, 422, "invalid_field", field=field)


@pytest.mark.parametrize("loc", ["http://10.0.0.1/vmlinuz", "https://mirror.example/k/vmlinuz",
                                 "images/x/vmlinuz", "vmlinuz", "a-b/c_d/e.f"])
def test_image_location_ok(corrald, loc):
    got = mk(corrald, "images", image(kernel=loc))
    assert got["kernel"] == loc


@pytest.mark.parametrize("field", ["kernel", "initrd"])
def test_image_required_fields(corrald, field):
    b = image()
    del b[field]
    assert_error(corrald.post("/api/v1/images", b), 422, "invalid_field", field=field)


@pytest.mark.parametrize("params", ["root=live:${rootfs}", "a || b", "x\ny"])
def test_image_params_validated(corrald, params):
    assert_error(corrald.post("/api/v1/images", image(params=params)), 422, "invalid_field",
                 field="params")


def test_image_arch_validated(corrald):
    assert_error(corrald.post("/api/v1/images", image(arch="mips")), 422, "invalid_field",
                 field="arch")
    assert mk(corrald, "images", image(arch="aarch64"))["arch"] == "aarch64"


def test_delete_image_used_by_profile_409(corrald):
    img = mk_image(corrald)
    prof = mk_profile(corrald, img["name"])
    r = corrald.delete("/api/v1/images/" + img["name"])
    err = assert_error(r, 409, "conflict")
    assert prof["name"] in err["message"], err
    assert corrald.get("/api/v1/images/" + img["name"]).status == 200
    corrald.ok("DELETE", "/api/v1/profiles/" + prof["name"], expect=204)
    corrald.ok("DELETE", "/api/v1/images/" + img["name"], expect=204)


# --- profiles -------------------------------------------------------------------

def test_profile_missing_image_422(corrald):
    r = corrald.post("/api/v1/profiles", {"name": uniq("p"), "image": "no-such-image"})
    assert_error(r, 422, "invalid_field", field="image")


def test_profile_explicit_kernel_initrd(corrald):
    b = {"name": uniq("pk"), "kernel": "http://10.0.0.1/vmlinuz", "initrd": "boot/initrd.img",
         "params": "ip=dhcp"}
    got = mk(corrald, "profiles", b)
    assert got["image"] is None
    assert got["kernel"] == b["kernel"] and got["initrd"] == b["initrd"]


@pytest.mark.parametrize("body,field", [
    ({}, None),
    ({"kernel": "boot/vmlinuz"}, ("initrd", "image")),
    ({"initrd": "boot/initrd"}, ("kernel", "image")),
    ({"image": None, "kernel": None, "initrd": None}, None),
])
def test_profile_needs_image_or_kernel_and_initrd(corrald, body, field):
    b = {"name": uniq("pn")}
    b.update(body)
    err = assert_error(corrald.post("/api/v1/profiles", b), 422, "invalid_field")
    if field:
        assert err.get("field") in field, err


@pytest.mark.parametrize("field,loc", [("kernel", "../vmlinuz"), ("initrd", "/boot/initrd"),
                                       ("kernel", "ftp://x/y")])
def test_profile_location_validation(corrald, field, loc):
    b = {"name": uniq("pl"), "kernel": "boot/vmlinuz", "initrd": "boot/initrd"}
    b[field] = loc
    assert_error(corrald.post("/api/v1/profiles", b), 422, "invalid_field", field=field)


def test_profile_params_validated(corrald):
    r = corrald.post("/api/v1/profiles", {"name": uniq("pp"), "image": mk_image(corrald)["name"],
                                          "params": "$x"})
    assert_error(r, 422, "invalid_field", field="params")


def test_profile_patch_to_missing_image_422(corrald):
    prof = mk_profile(corrald)
    r = corrald.patch("/api/v1/profiles/" + prof["name"], {"image": "gone-image"})
    assert_error(r, 422, "invalid_field", field="image")
    assert corrald.get("/api/v1/profiles/" + prof["name"]).body == prof


@pytest.mark.parametrize("user", ["group", "node", "defaults"])
def test_delete_profile_in_use_409(fresh_corrald, user):
    c = fresh_corrald
    prof = mk_profile(c)
    if user == "group":
        g = mk(c, "groups", {"name": uniq("g"), "profile": prof["name"]})
        who = g["name"]
    elif user == "node":
        n = mk(c, "nodes", node(profile=prof["name"]))
        who = n["name"]
    else:
        c.ok("PUT", "/api/v1/defaults", {"profile": prof["name"]}, expect=200)
        who = "default"
    r = c.delete("/api/v1/profiles/" + prof["name"])
    err = assert_error(r, 409, "conflict")
    assert who in err["message"], err
    assert c.get("/api/v1/profiles/" + prof["name"]).status == 200


def test_group_and_node_missing_profile_422(corrald):
    r = corrald.post("/api/v1/groups", {"name": uniq("g"), "profile": "nope-profile"})
    assert_error(r, 422, "invalid_field", field="profile")
    r = corrald.post("/api/v1/nodes", node(profile="nope-profile"))
    assert_error(r, 422, "invalid_field", field="profile")


# --- groups ---------------------------------------------------------------------

def test_group_defaults_and_members(corrald):
    g = uniq("gm")
    got = mk(corrald, "groups", {"name": g})
    assert got["description"] == "" and got["profile"] is None
    assert got["metadata"] == {} and got["user_data"] == "" and got["members"] == []
    n1, n2 = node(uniq("gmb"), groups=[g]), node(uniq("gma"), groups=[g])
    mk(corrald, "nodes", n1)
    mk(corrald, "nodes", n2)
    members = corrald.get("/api/v1/groups/" + g).body["members"]
    assert sorted(members) == sorted([n1["name"], n2["name"]])


def test_group_members_read_only(corrald):
    g = uniq("gro")
    r = corrald.post("/api/v1/groups", {"name": g, "members": ["someone"]})
    if r.status == 201:
        assert r.body["members"] == []
    else:
        assert_error(r, 422, "invalid_field", field="members")


def test_group_delete_with_members_409(corrald):
    g = uniq("gdel")
    n = node(groups=[g])
    mk(corrald, "nodes", n)
    err = assert_error(corrald.delete("/api/v1/groups/" + g), 409, "conflict")
    assert g in err["message"] or n["name"] in err["message"], err
    assert corrald.get("/api/v1/groups/" + g).status == 200
    corrald.ok("PATCH", "/api/v1/nodes/" + n["name"], {"groups": []}, expect=200)
    corrald.ok("DELETE", "/api/v1/groups/" + g, expect=204)


@pytest.mark.parametrize("field,value", [("metadata", []), ("metadata", "x"),
                                         ("description", 5), ("user_data", 3),
                                         ("user_data", "a: [b\n")])
def test_group_field_validation(corrald, field, value):
    r = corrald.post("/api/v1/groups", {"name": uniq("gv"), field: value})
    assert_error(r, 422, "invalid_field", field=field)


# --- defaults ---------------------------------------------------------------------

def test_defaults(fresh_corrald):
    c = fresh_corrald
    r = c.get("/api/v1/defaults")
    assert r.status == 200
    assert r.body == {"profile": None, "metadata": {}, "user_data": ""}
    prof = mk_profile(c)
    r = c.put("/api/v1/defaults", {"profile": prof["name"], "metadata": {"site": "a"},
                                   "user_data": "#cloud-config\ntimezone: UTC\n"})
    assert r.status == 200, r
    assert c.get("/api/v1/defaults").body == {"profile": prof["name"], "metadata": {"site": "a"},
                                              "user_data": "#cloud-config\ntimezone: UTC\n"}
    r = c.patch("/api/v1/defaults", {"metadata": {"site": "b"}})
    assert r.status == 200, r
    assert c.get("/api/v1/defaults").body == {"profile": prof["name"], "metadata": {"site": "b"},
                                              "user_data": "#cloud-config\ntimezone: UTC\n"}
    # PUT: left-out fields take their defaults
    c.ok("PUT", "/api/v1/defaults", {"metadata": {"x": 1}}, expect=200)
    assert c.get("/api/v1/defaults").body == {"profile": None, "metadata": {"x": 1},
                                              "user_data": ""}


@pytest.mark.parametrize("body,field", [
    ({"profile": "missing-profile"}, "profile"), ({"metadata": [1]}, "metadata"),
    ({"user_data": "x: [\n"}, "user_data"), ({"profile": 5}, "profile"),
])
def test_defaults_validation(corrald, body, field):
    before = corrald.get("/api/v1/defaults").body
    for method in ("PUT", "PATCH"):
        r = corrald.request(method, "/api/v1/defaults", body)
        assert_error(r, 422, "invalid_field", field=field)
    assert corrald.get("/api/v1/defaults").body == before


def test_defaults_no_delete_405(corrald):
    r = corrald.delete("/api/v1/defaults")
    assert r.status == 405
    assert "GET" in r.headers.get("Allow", "")


# --- discovered ---------------------------------------------------------------------

def test_discovered(fresh_corrald):
    c = fresh_corrald
    assert c.get("/api/v1/discovered").body == []
    mac = next_mac()
    assert c.bootscript({"mac": mac.upper()}).status == 200
    r = wait_until(lambda: (lambda x: x.body and x)(c.get("/api/v1/discovered")))
    assert r and r.status == 200
    assert len(r.body) == 1
    d = r.body[0]
    assert d["mac"] == mac
    assert d["ip"] == "127.0.0.1"
    assert d["requests"] == 1
    assert RFC3339.match(d["first_seen"]) and RFC3339.match(d["last_seen"])
    c.bootscript({"mac": mac.replace(":", "-")})
    d2 = wait_until(lambda: [x for x in c.get("/api/v1/discovered").body
                             if x["requests"] == 2])
    assert d2, c.get("/api/v1/discovered").body
    d2 = d2[0]
    assert d2["requests"] == 2
    assert d2["first_seen"] == d["first_seen"]
    assert d2["last_seen"] >= d["last_seen"]
    # a status count
    assert c.get("/api/v1/status").body["discovered"] == 1
    # forget it
    r = c.delete("/api/v1/discovered/" + mac)
    assert r.status == 204, r
    assert c.get("/api/v1/discovered").body == []
    assert_error(c.delete("/api/v1/discovered/" + mac), 404, "not_found")


def test_discovered_delete_accepts_other_mac_forms(fresh_corrald):
    c = fresh_corrald
    mac = next_mac()
    c.bootscript({"mac": mac})
    assert wait_until(lambda: c.get("/api/v1/discovered").body)
    r = c.delete("/api/v1/discovered/" + mac.replace(":", "-").upper())
    assert r.status == 204, r
    assert c.get("/api/v1/discovered").body == []


def test_discovered_delete_bad_mac(corrald):
    r = corrald.delete("/api/v1/discovered/not-a-mac")
    assert r.status in (400, 404), r


def test_adopt_discovered(fresh_corrald):
    c = fresh_corrald
    img = mk_image(c)
    prof = mk(c, "profiles", {"name": "ap", "image": img["name"]})
    mac = next_mac()
    first = c.bootscript({"mac": mac})
    assert "sleep" in first.text and "kernel" not in first.text
    assert wait_until(lambda: c.get("/api/v1/discovered").body)
    r = c.post("/api/v1/discovered/%s/adopt" % mac,
               {"name": "adopted1", "groups": ["ag"], "profile": prof["name"], "nid": 77})
    assert r.status == 201, r
    n = r.body
    assert n["name"] == "adopted1" and n["nid"] == 77 and n["groups"] == ["ag"]
    assert [i["mac"] for i in n["interfaces"]] == [mac]
    assert c.get("/api/v1/nodes/adopted1").body == n
    assert mac not in [d["mac"] for d in c.get("/api/v1/discovered").body]
    # the same URL the machine re-chains to now boots it
    again = c.bootscript({"mac": mac})
    assert "corral.node=adopted1" in again.text
    # adopting again: it is no longer discovered
    assert_error(c.post("/api/v1/discovered/%s/adopt" % mac, {"name": "adopted2"}), 404,
                 "not_found")


def test_adopt_other_mac_form(fresh_corrald):
    c = fresh_corrald
    mac = next_mac()
    c.bootscript({"mac": mac})
    assert wait_until(lambda: c.get("/api/v1/discovered").body)
    r = c.post("/api/v1/discovered/%s/adopt" % mac.replace(":", "-").upper(), {"name": "ad"})
    assert r.status == 201, r
    assert r.body["interfaces"][0]["mac"] == mac


def test_adopt_errors(fresh_corrald):
    c = fresh_corrald
    taken = mk(c, "nodes", node("taken"))
    assert_error(c.post("/api/v1/discovered/%s/adopt" % next_mac(), {"name": "x"}), 404,
                 "not_found")
    mac = next_mac()
    c.bootscript({"mac": mac})
    assert wait_until(lambda: c.get("/api/v1/discovered").body)
    assert_error(c.post("/api/v1/discovered/%s/adopt" % mac, {"name": "bad name"}), 422,
                 "invalid_field", field="name")
    assert_error(c.post("/api/v1/discovered/%s/adopt" % mac, {"name": taken["name"]}), 409,
                 "conflict", field="name")
    assert_error(c.post("/api/v1/discovered/%s/adopt" % mac, {"name": "y", "profile": "nope"}),
                 422, "invalid_field", field="profile")
    r = c.post("/api/v1/discovered/%s/adopt" % mac, b"{", headers={"Content-Type": "application/json"})
    assert_error(r, 400, "bad_request")
    # nothing of the failures was written; the MAC is still discovered
    assert [d["mac"] for d in c.get("/api/v1/discovered").body] == [mac]
    assert c.get("/api/v1/nodes/y").status == 404


# --- tokens ---------------------------------------------------------------------

def test_token_list(corrald):
    r = corrald.get("/api/v1/tokens")
    assert r.status == 200
    by = {t["name"]: t for t in r.body}
    assert by["test-admin"]["scope"] == "admin"
    assert by["test-read"]["scope"] == "read"
    for t in r.body:
        assert set(t) >= {"name", "scope", "created", "last_used"}, t
        assert RFC3339.match(t["created"])
    raw = r.raw.decode()
    assert corrald.admin_token not in raw and corrald.read_token not in raw


def test_token_create_and_use(corrald):
    name = uniq("tok")
    r = corrald.post("/api/v1/tokens", {"name": name, "scope": "admin"})
    assert r.status == 201, r
    assert r.body["name"] == name and r.body["scope"] == "admin"
    secret = r.body["token"]
    assert isinstance(secret, str) and len(secret) >= 16
    assert corrald.get("/api/v1/status", token=secret).status == 200
    assert corrald.post("/api/v1/groups", {"name": uniq("tg")}, token=secret).status == 201
    listing = corrald.get("/api/v1/tokens")
    assert secret not in listing.raw.decode()
    entry = [t for t in listing.body if t["name"] == name][0]
    assert entry["last_used"] is not None


def test_token_read_scope(corrald):
    name = uniq("tokr")
    r = corrald.post("/api/v1/tokens", {"name": name, "scope": "read"})
    assert r.status == 201, r
    secret = r.body["token"]
    assert corrald.get("/api/v1/nodes", token=secret).status == 200
    assert_error(corrald.post("/api/v1/groups", {"name": uniq("tg")}, token=secret),
                 403, "forbidden")


@pytest.mark.parametrize("body,field", [
    ({"name": "ok-name", "scope": "root"}, "scope"), ({"name": "bad name", "scope": "read"}, "name"),
    ({"scope": "read"}, "name"),
])
def test_token_validation(corrald, body, field):
    assert_error(corrald.post("/api/v1/tokens", body), 422, "invalid_field", field=field)


def test_token_duplicate_409(corrald):
    assert_error(corrald.post("/api/v1/tokens", {"name": "test-read", "scope": "read"}), 409,
                 "conflict", field="name")


def test_token_delete(corrald):
    name = uniq("tokd")
    secret = corrald.ok("POST", "/api/v1/tokens", {"name": name, "scope": "read"},
                        expect=201)["token"]
    assert corrald.delete("/api/v1/tokens/" + name).status == 204
    assert name not in [t["name"] for t in corrald.get("/api/v1/tokens").body]
    assert_error(corrald.get("/api/v1/nodes", token=secret), 401, "unauthorized")
    assert_error(corrald.delete("/api/v1/tokens/" + name), 404, "not_found")


# --- status ---------------------------------------------------------------------

def test_status(fresh_corrald):
    c = fresh_corrald
    r = c.get("/api/v1/status")
    assert r.status == 200
    s = r.body
    assert set(s) >= {"version", "uptime", "nodes", "groups", "images", "profiles", "discovered"}
    assert isinstance(s["version"], str) and s["version"]
    assert isinstance(s["uptime"], (int, float)) and s["uptime"] >= 0
    assert s["nodes"] == {"total": 0, "new": 0, "booting": 0, "ready": 0, "disabled": 0}
    assert (s["groups"], s["images"], s["profiles"], s["discovered"]) == (0, 0, 0, 0)
    prof = mk_profile(c)
    mk(c, "nodes", node(groups=[uniq("sg")]))
    mk(c, "nodes", node(enabled=False))
    s = c.get("/api/v1/status").body
    assert s["nodes"]["total"] == 2
    assert s["nodes"]["new"] + s["nodes"]["booting"] + s["nodes"]["ready"] == 2
    assert s["nodes"]["disabled"] == 1
    assert s["groups"] == 1 and s["images"] == 1 and s["profiles"] == 1
    assert prof
