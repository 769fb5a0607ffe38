"""Auth over the whole route table of docs/api.md, plus 404/405 answers."""
import sys

import pytest

from conftest import (REPO, NO_TOKEN, EventStream, Response, assert_error, free_port, next_mac,
                      node, uniq, wait_until)

# Every /api/v1 route of docs/api.md.  {node} etc. are filled from objects
# made by the `objs` fixture.  The body is what an admin would send.
ROUTES = [
    ("GET", "/api/v1/tokens", None),
    ("POST", "/api/v1/tokens", {"name": "{newtoken}", "scope": "read"}),
    ("DELETE", "/api/v1/tokens/{token}", None),
    ("GET", "/api/v1/nodes", None),
    ("GET", "/api/v1/nodes?group={group}&state=new&arch=x86_64&enabled=true&limit=5&offset=0",
     None),
    ("POST", "/api/v1/nodes", "NEWNODE"),
    ("GET", "/api/v1/nodes/{node}", None),
    ("PUT", "/api/v1/nodes/{node}", "NODE"),
    ("PATCH", "/api/v1/nodes/{node}", {"role": "x"}),
    ("DELETE", "/api/v1/nodes/{node}", None),
    ("POST", "/api/v1/nodes/import", {"nodes": []}),
    ("GET", "/api/v1/nodes/{node}/events", None),
    ("GET", "/api/v1/nodes/{node}/bootscript", None),
    ("GET", "/api/v1/groups", None),
    ("POST", "/api/v1/groups", {"name": "{newgroup}"}),
    ("GET", "/api/v1/groups/{group}", None),
    ("PUT", "/api/v1/groups/{group}", {"name": "{group}"}),
    ("PATCH", "/api/v1/groups/{group}", {"description": "x"}),
    ("DELETE", "/api/v1/groups/{group}", None),
    ("GET", "/api/v1/images", None),
    ("POST", "/api/v1/images", {"name": "{newimage}", "kernel": "k", "initrd": "i"}),
    ("GET", "/api/v1/images/{image}", None),
    ("PUT", "/api/v1/images/{image}", {"name": "{image}", "kernel": "k", "initrd": "i"}),
    ("PATCH", "/api/v1/images/{image}", {"params": "quiet"}),
    ("DELETE", "/api/v1/images/{image}", None),
    ("GET", "/api/v1/profiles", None),
    ("POST", "/api/v1/profiles", {"name": "{newprofile}", "kernel": "k", "initrd": "i"}),
    ("GET", "/api/v1/profiles/{profile}", None),
    ("PUT", "/api/v1/profiles/{profile}", {"name": "{profile}", "image": "{image}"}),
    ("PATCH", "/api/v1/profiles/{profile}", {"params": "quiet"}),
    ("DELETE", "/api/v1/profiles/{profile}", None),
    ("GET", "/api/v1/defaults", None),
    ("PUT", "/api/v1/defaults", {"metadata": {}}),
    ("PATCH", "/api/v1/defaults", {"metadata": {}}),
    ("GET", "/api/v1/discovered", None),
    ("DELETE", "/api/v1/discovered/{mac}", None),
    ("POST", "/api/v1/discovered/{mac2}/adopt", {"name": "{newnode}"}),
    ("GET", "/api/v1/status", None),
    ("GET", "/api/v1/stream", None),
    ("GET", "/api/v1/credentials", None),
    ("POST", "/api/v1/credentials", {"name": "{newcred}", "username": "u", "password": "p"}),
    ("DELETE", "/api/v1/credentials/{cred}", None),
    ("POST", "/api/v1/discovery", "DISCOVERY"),
    ("GET", "/api/v1/discovery/{job}", None),
    ("GET", "/api/v1/jobs", None),
    ("GET", "/api/v1/jobs/{job}", None),
    ("GET", "/api/v1/bmcs", None),
    ("DELETE", "/api/v1/bmcs/{bmc}", None),
    ("POST", "/api/v1/power", {"targets": ["{node}"], "action": "status"}),
    ("POST", "/api/v1/boot", {"targets": ["{node}"], "once": True}),
]

STREAM = "/api/v1/stream"


def send(c, method, path, body=None, token=None):
    """c.request, but a 200 event stream is read only to its headers."""
    if method == "GET" and path == STREAM:
        s = EventStream(c, token=token)
        s.close()
        return Response(s.status, s.headers, b"", b"")
    return c.request(method, path, body, token=token, timeout=10)

# GETs that the contract reserves for admin tokens.
ADMIN_READS = {"/api/v1/tokens", "/api/v1/credentials"}

IDS = ["%s %s" % (m, p.split("?")[0] + ("?…" if "?" in p else "")) for m, p, _ in ROUTES]


@pytest.fixture(scope="module")
def rf_peer():
    """A Redfish peer refusing every login (test-vm/redfish_fixture.py, in this
    process) on 127.0.0.1: a discovery of it records a BMC."""
    sys.path.insert(0, str(REPO / "test-vm"))
    from redfish_fixture import FixtureServer
    fx = FixtureServer({"127.0.0.1": "unauthorized"}, port=free_port()).start()
    try:
        yield fx.entries[0].port
    finally:
        fx.stop()


def redfish_objs(c, o, port):
    """Credentials, a finished discovery job and the BMC it recorded."""
    o.update({"cred": uniq("cred"), "cred2": uniq("cred"), "newcred": uniq("nc"),
              "bmc": "127.0.0.1", "rfport": port})
    for k in ("cred", "cred2"):
        c.ok("POST", "/api/v1/credentials", {"name": o[k], "username": "u", "password": "p"},
             expect=201)
    job = c.ok("POST", "/api/v1/discovery", fill(o, "DISCOVERY"), expect=202)
    o["job"] = str(job["id"])
    assert wait_until(lambda: c.get("/api/v1/jobs/" + o["job"]).body["state"] == "done", 30)
    assert any(b["address"] == "127.0.0.1" for b in c.get("/api/v1/bmcs").body)


@pytest.fixture(scope="module")
def objs(corrald, rf_peer):
    c = corrald
    o = {
        "token": uniq("authtok"), "group": uniq("authgrp"), "image": uniq("authimg"),
        "profile": uniq("authprof"), "node": uniq("authnode"), "mac": next_mac(),
        "mac2": next_mac(), "newnode": uniq("adopt"),
        "newtoken": uniq("tk"), "newgroup": uniq("ng"), "newimage": uniq("ni"),
        "newprofile": uniq("np"),
    }
    redfish_objs(c, o, rf_peer)
    c.ok("POST", "/api/v1/tokens", {"name": o["token"], "scope": "read"}, expect=201)
    c.ok("POST", "/api/v1/images", {"name": o["image"], "kernel": "k", "initrd": "i"}, expect=201)
    c.ok("POST", "/api/v1/profiles", {"name": o["profile"], "image": o["image"]}, expect=201)
    c.ok("POST", "/api/v1/groups", {"name": o["group"], "profile": o["profile"]}, expect=201)
    n = node(o["node"], groups=[o["group"]])
    o["node_body"] = n
    c.ok("POST", "/api/v1/nodes", n, expect=201)
    assert c.bootscript({"mac": o["mac"]}).status == 200  # now discovered
    assert c.bootscript({"mac": o["mac2"]}).status == 200
    assert wait_until(lambda: len(c.get("/api/v1/discovered").body) >= 2)
    return o


def fill(objs, v):
    if v == "NEWNODE":
        return node()
    if v == "DISCOVERY":
        return {"targets": ["127.0.0.1"], "port": objs["rfport"], "scheme": "http",
                "credential": objs["cred2"]}
    if v == "NODE":
        return dict(objs["node_body"])
    if isinstance(v, str):
        return v.format(**objs)
    if isinstance(v, dict):
        return {k: fill(objs, x) for k, x in v.items()}
    if isinstance(v, list):
        return [fill(objs, x) for x in v]
    return v


def snapshot(c):
    """What a refused write must not change."""
    out = {}
    for p in ("/api/v1/nodes", "/api/v1/groups", "/api/v1/images", "/api/v1/profiles",
              "/api/v1/defaults", "/api/v1/discovered"):
        b = c.get(p).body
        if isinstance(b, list):
            for o in b:
                o.pop("last_seen", None)
                o.pop("requests", None)
                o.pop("members", None)
        out[p] = b
    out["tokens"] = sorted(t["name"] for t in c.get("/api/v1/tokens").body)
    out["credentials"] = c.get("/api/v1/credentials").body
    out["bmcs"] = [dict(b, last_seen=None) for b in c.get("/api/v1/bmcs").body]
    return out


@pytest.mark.parametrize("method,path,body", ROUTES, ids=IDS)
def test_no_token_401(corrald, objs, method, path, body):
    r = corrald.request(method, fill(objs, path), fill(objs, body), token=NO_TOKEN)
    assert_error(r, 401, "unauthorized")
    assert "Bearer" in r.headers.get("WWW-Authenticate", ""), r.headers


@pytest.mark.parametrize("bad", ["nonsense", "", "Bearer", "x" * 300])
@pytest.mark.parametrize("method,path,body", ROUTES, ids=IDS)
def test_bad_token_401(corrald, objs, method, path, body, bad):
    r = corrald.request(method, fill(objs, path), fill(objs, body), token=bad)
    assert_error(r, 401, "unauthorized")


@pytest.mark.parametrize("scheme", ["Basic {t}", "bearer{t}", "Token {t}", "{t}"])
def test_wrong_auth_scheme_401(corrald, scheme):
    r = corrald.request("GET", "/api/v1/nodes", token=NO_TOKEN,
                        headers={"Authorization": scheme.format(t=corrald.admin_token)})
    assert_error(r, 401, "unauthorized")


def test_bearer_case_insensitive(corrald):
    r = corrald.request("GET", "/api/v1/nodes", token=NO_TOKEN,
                        headers={"Authorization": "bearer " + corrald.admin_token})
    assert r.status == 200


@pytest.mark.parametrize("method,path,body", ROUTES, ids=IDS)
def test_read_token(corrald, objs, method, path, body):
    before = snapshot(corrald) if method != "GET" else None
    r = send(corrald, method, fill(objs, path), fill(objs, body), token=corrald.read_token)
    if method == "GET" and path not in ADMIN_READS:
        assert r.status == 200, r
    elif method == "GET":
        assert_error(r, 403, "forbidden")
    else:
        assert_error(r, 403, "forbidden")
        assert snapshot(corrald) == before, "a refused write changed something"


@pytest.mark.parametrize("method,path,body", [r for r in ROUTES if r[0] == "GET"],
                         ids=[i for i, r in zip(IDS, ROUTES) if r[0] == "GET"])
def test_admin_token_reads(corrald, objs, method, path, body):
    r = send(corrald, method, fill(objs, path), token=corrald.admin_token)
    assert r.status == 200, r


@pytest.mark.parametrize("method,path,body", [r for r in ROUTES if r[0] == "GET"],
                         ids=[i for i, r in zip(IDS, ROUTES) if r[0] == "GET"])
def test_head_like_get(corrald, objs, method, path, body):
    r = corrald.request("HEAD", fill(objs, path), token=corrald.read_token)
    assert r.status == (403 if path in ADMIN_READS else 200), r
    r = corrald.request("HEAD", fill(objs, path), token=NO_TOKEN)
    assert r.status == 401, r


def test_admin_writes_whole_table(fresh_corrald, rf_peer):
    """Walk the writes with an admin token on a fresh daemon: each succeeds."""
    c = fresh_corrald
    o = {
        "token": "auth-tok", "group": "auth-grp", "image": "auth-img", "profile": "auth-prof",
        "node": "auth-node", "mac": next_mac(), "mac2": next_mac(), "newnode": "adopted",
        "newtoken": "tk2", "newgroup": "ng2",
        "newimage": "ni2", "newprofile": "np2",
    }
    c.ok("POST", "/api/v1/tokens", {"name": o["token"], "scope": "read"}, expect=201)
    c.ok("POST", "/api/v1/images", {"name": o["image"], "kernel": "k", "initrd": "i"}, expect=201)
    c.ok("POST", "/api/v1/profiles", {"name": o["profile"], "image": o["image"]}, expect=201)
    c.ok("POST", "/api/v1/groups", {"name": o["group"]}, expect=201)
    n = node(o["node"], groups=[o["group"]])
    o["node_body"] = n
    c.ok("POST", "/api/v1/nodes", n, expect=201)
    c.bootscript({"mac": o["mac"]})
    c.bootscript({"mac": o["mac2"]})
    assert wait_until(lambda: len(c.get("/api/v1/discovered").body) >= 2)
    redfish_objs(c, o, rf_peer)
    # Order: deletes of nodes before groups, profiles before images.
    writes = [r for r in ROUTES if r[0] != "GET"]
    order = ["tokens", "power", "boot", "nodes", "groups", "profiles", "images", "defaults",
             "discovered", "discovery", "bmcs", "credentials"]
    writes.sort(key=lambda r: (r[0] == "DELETE",
                               order.index(r[1].split("/")[3].split("?")[0])))
    for method, path, body in writes:
        r = c.request(method, fill(o, path), fill(o, body))
        assert 200 <= r.status < 300, "%s %s -> %r" % (method, path, r)


# --- node-facing and health paths need no token ------------------------------

@pytest.fixture(scope="module")
def node_facing(corrald, objs):
    corrald.add_file("auth/hello.txt", b"hello")
    # By its MAC, as iPXE asks (name= is answered to the node's own address only).
    mac = corrald.get("/api/v1/nodes/" + objs["node"]).body["interfaces"][0]["mac"]
    r = corrald.bootscript({"mac": mac})
    assert r.status == 200
    import re
    m = re.search(r"/cloud-init/([^/\s]+)/", r.text)
    assert m, r.text
    return {"token": m.group(1)}


@pytest.mark.parametrize("method,path", [
    ("GET", "/healthz"), ("GET", "/metrics"),
    ("GET", "/boot/v1/bootscript?mac={mac}"),
    ("GET", "/cloud-init/{token}/meta-data"), ("GET", "/cloud-init/{token}/user-data"),
    ("GET", "/cloud-init/{token}/vendor-data"),
    ("GET", "/files/auth/hello.txt"), ("HEAD", "/files/auth/hello.txt"),
])
def test_node_facing_no_token(corrald, objs, node_facing, method, path):
    path = path.format(mac=next_mac(), token=node_facing["token"])
    r = corrald.request(method, path, token=NO_TOKEN)
    assert r.status == 200, r


def test_phone_home_no_token(corrald, objs, node_facing):
    r = corrald.request("POST", "/phone-home/" + node_facing["token"], "instance_id=x&hostname=y",
                        token=NO_TOKEN,
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status == 200, r


def test_node_facing_ignores_bad_token(corrald):
    r = corrald.request("GET", "/healthz", token="garbage")
    assert r.status == 200


# --- 404 and 405 ----------------------------------------------------------------

@pytest.mark.parametrize("method,path,allow", [
    ("DELETE", "/api/v1/nodes", {"GET", "POST"}),
    ("PUT", "/api/v1/nodes", {"GET", "POST"}),
    ("POST", "/api/v1/nodes/{node}", {"GET", "PUT", "PATCH", "DELETE"}),
    ("POST", "/api/v1/nodes/{node}/events", {"GET"}),
    ("DELETE", "/api/v1/nodes/{node}/bootscript", {"GET"}),
    ("DELETE", "/api/v1/status", {"GET"}),
    ("POST", "/api/v1/defaults", {"GET", "PUT", "PATCH"}),
    ("POST", "/api/v1/discovered", {"GET"}),
    ("GET", "/api/v1/discovered/{mac}", {"DELETE"}),
    ("GET", "/api/v1/discovered/{mac}/adopt", {"POST"}),
    ("DELETE", "/api/v1/discovered/{mac}/adopt", {"POST"}),
    ("PUT", "/api/v1/tokens", {"GET", "POST"}),
    ("GET", "/api/v1/tokens/{token}", {"DELETE"}),
    ("DELETE", "/api/v1/images", {"GET", "POST"}),
    ("POST", "/api/v1/groups/{group}", {"GET", "PUT", "PATCH", "DELETE"}),
    ("POST", "/healthz", {"GET"}),
    ("POST", "/metrics", {"GET"}),
    ("POST", "/boot/v1/bootscript", {"GET"}),
    ("PUT", "/files/x", {"GET", "HEAD"}),
    ("GET", "/phone-home", {"POST"}),
])
def test_405_with_allow(corrald, objs, method, path, allow):
    r = corrald.request(method, fill(objs, path), {} if method in ("POST", "PUT") else None)
    if path.startswith("/boot/v1/"):  # BSS's path: RFC 7807 problem details (docs/openchami.md)
        assert r.status == 405 and r.headers.get("Content-Type") == "application/problem+json", r
    else:
        assert_error(r, 405, "method_not_allowed")
    got = {m.strip() for m in r.headers.get("Allow", "").split(",") if m.strip()}
    assert allow <= got, "Allow %r should list %r" % (got, allow)
    assert not ({"GET", "PUT", "POST", "PATCH", "DELETE"} - allow) & got, \
        "Allow %r lists methods the route does not have" % got


@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/v2/nodes", "/nope", "/api/v1/nodes/a/b/c",
                                  "/api/v1", "/api/v1/", "/boot/v2/bootscript",
                                  "/cloud-init/", "/api/v1/nodesx"])
def test_404_json(corrald, path):
    r = corrald.get(path)
    assert_error(r, 404, "not_found")


def test_unknown_method_405_or_501(corrald):
    r = corrald.request("BREW", "/api/v1/nodes")
    assert r.status in (405, 501), r


# --- revocation -----------------------------------------------------------------

def test_revocation_is_immediate(corrald):
    name = uniq("rev")
    secret = corrald.ok("POST", "/api/v1/tokens", {"name": name, "scope": "admin"},
                        expect=201)["token"]
    assert corrald.get("/api/v1/nodes", token=secret).status == 200
    assert corrald.delete("/api/v1/tokens/" + name).status == 204
    assert_error(corrald.get("/api/v1/nodes", token=secret), 401, "unauthorized")
    assert_error(corrald.post("/api/v1/groups", {"name": uniq("g")}, token=secret), 401,
                 "unauthorized")


def test_token_can_revoke_itself(corrald):
    name = uniq("self")
    secret = corrald.ok("POST", "/api/v1/tokens", {"name": name, "scope": "admin"},
                        expect=201)["token"]
    assert corrald.delete("/api/v1/tokens/" + name, token=secret).status == 204
    assert corrald.get("/api/v1/status", token=secret).status == 401


def test_cli_made_token_revocable_over_api(fresh_corrald):
    c = fresh_corrald
    assert c.get("/api/v1/status", token=c.read_token).status == 200
    assert c.delete("/api/v1/tokens/test-read").status == 204
    assert_error(c.get("/api/v1/status", token=c.read_token), 401, "unauthorized")


def test_posted_token_secret_works_and_not_listed(corrald):
    name = uniq("sec")
    r = corrald.post("/api/v1/tokens", {"name": name, "scope": "admin"})
    assert r.status == 201, r
    secret = r.body["token"]
    assert corrald.post("/api/v1/groups", {"name": uniq("g")}, token=secret).status == 201
    listing = corrald.get("/api/v1/tokens", token=secret)
    assert listing.status == 200
    assert secret not in listing.raw.decode()
    for t in listing.body:
        assert "token" not in t and "secret" not in t and "hash" not in t, t


def test_tokens_survive_restart(fresh_corrald):
    c = fresh_corrald
    secret = c.ok("POST", "/api/v1/tokens", {"name": "keep", "scope": "read"},
                  expect=201)["token"]
    c.restart()
    assert c.get("/api/v1/nodes", token=secret).status == 200
    assert c.get("/api/v1/nodes", token=c.admin_token).status == 200
