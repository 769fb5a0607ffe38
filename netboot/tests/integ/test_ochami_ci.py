"""
Contract tests: OpenCHAMI's cloud-init server paths (/cloud-init) on
corrald, with the requests `ochami cloud-init …` sends
(OpenCHAMI/ochami pkg/client/cloud_init/cloud_init.go: GroupData and
ClusterDefaults json.Marshal'ed from OpenCHAMI/cloud-init pkg/cistore) and
the answers of OpenCHAMI's handlers (cmd/cloud-init-server), including
OpenCHAMI's cloud-init issue #101 (a group set twice) and Corral's
node-identity rules on the public paths.
"""
import base64
import json
import time

from conftest import NO_TOKEN, IpxeScript, next_mac, uniq
from ochami_client import ochami

UD1 = "#cloud-config\npackages: [htop]\n"
UD2 = "#cloud-config\npackages: [git, vim]\nruncmd:\n  - echo two\n"


def group_data(name, content, encoding="plain", meta=None, description=None):
    """cistore.GroupData as json.Marshal writes it (CloudConfigFile's own
    MarshalJSON: content as a string, filename always, encoding omitempty)."""
    g = {"name": name}
    if description:
        g["description"] = description
    if meta:
        g["meta-data"] = meta
    f = {"content": content, "filename": ""}
    if encoding:
        f["encoding"] = encoding
    g["file"] = f
    return g


def test_group_set_twice_and_read_back(corrald):
    """`ochami cloud-init group set` twice: both succeed, the second wins."""
    c = corrald
    name = uniq("cig")
    r = ochami(c, "PUT", "/cloud-init/admin/groups/" + name,
               group_data(name, UD1, meta={"rack": "r1"}, description="first"))
    assert (r.status, r.raw, r.headers.get("Location")) == (201, b"", "/groups/" + name)
    r = ochami(c, "PUT", "/cloud-init/admin/groups/" + name,
               group_data(name, base64.b64encode(UD2.encode()).decode(), encoding="base64",
                          meta={"rack": "r2", "row": 3}))
    assert (r.status, r.headers.get("Location")) == (201, "/groups/" + name), r
    r = ochami(c, "GET", "/cloud-init/admin/groups/" + name)
    assert r.status == 200, r
    assert r.json == {"name": name, "meta-data": {"rack": "r2", "row": 3},
                      "file": {"content": UD2, "filename": "", "encoding": "plain"}}
    r = ochami(c, "GET", "/cloud-init/admin/groups")
    assert r.json[name] == {"name": name, "meta-data": {"rack": "r2", "row": 3},
                            "file": {"content": UD2, "filename": "", "encoding": "plain"}}
    # one store: Corral's group is that group
    g = c.get("/api/v1/groups/" + name).body
    assert (g["user_data"], g["metadata"], g["description"]) == (UD2, {"rack": "r2", "row": 3},
                                                                 "")
    # a third time through Corral's API, read back through OpenCHAMI's path
    assert c.patch("/api/v1/groups/" + name, {"user_data": UD1}).status == 200
    assert ochami(c, "GET", "/cloud-init/admin/groups/" + name).json["file"]["content"] == UD1


def test_group_post_delete_and_errors(corrald):
    c = corrald
    name = uniq("cip")
    r = ochami(c, "POST", "/cloud-init/admin/groups", group_data(name, UD1))
    assert (r.status, r.headers.get("Location")) == (201, "/groups/" + name), r
    r = ochami(c, "POST", "/cloud-init/admin/groups", group_data(name, UD1))
    assert r.status == 409, r
    before = c.get("/api/v1/groups").body
    for bad in (group_data("", UD1), group_data(uniq("x"), "not yaml: [", encoding="plain"),
                group_data(uniq("x"), "%%%", encoding="base64"),
                group_data(uniq("x"), UD1, encoding="rot13"), {"name": "bad name"}):
        r = ochami(c, "POST", "/cloud-init/admin/groups", bad)
        assert r.status == 422, (bad, r)
        assert r.json["error"]["code"] == "invalid_field"
    assert c.get("/api/v1/groups").body == before
    r = ochami(c, "DELETE", "/cloud-init/admin/groups/" + name)
    assert (r.status, r.raw) == (200, b"")
    assert c.get("/api/v1/groups/" + name).status == 404
    assert ochami(c, "GET", "/cloud-init/admin/groups/" + name).status == 404
    # a group with members keeps existing; only its cloud-init data goes
    g = uniq("cim")
    assert c.post("/api/v1/nodes", {"name": uniq("n"), "groups": [g]}).status == 201
    assert ochami(c, "PUT", "/cloud-init/admin/groups/" + g, group_data(g, UD1)).status == 201
    assert ochami(c, "DELETE", "/cloud-init/admin/groups/" + g).status == 200
    got = c.get("/api/v1/groups/" + g).body
    assert (got["user_data"], got["metadata"]) == ("", {})


def test_auth(corrald):
    c = corrald
    assert ochami(c, "GET", "/cloud-init/admin/groups", token=NO_TOKEN).status == 401
    assert ochami(c, "GET", "/cloud-init/admin/groups", token=c.read_token).status == 200
    r = ochami(c, "PUT", "/cloud-init/admin/groups/x", group_data("x", UD1), token=c.read_token)
    assert r.status == 403
    assert ochami(c, "POST", "/cloud-init/admin/cluster-defaults", {},
                  token=c.read_token).status == 403


def test_cluster_defaults_and_instance_info(fresh_corrald):
    c = fresh_corrald
    # ochami cloud-init defaults set: ClusterDefaults with omitempty members
    d = {"cloud_provider": "OpenCHAMI", "cluster-name": "demo", "short-name": "nid",
         "nid-length": 3, "public-keys": ["ssh-ed25519 AAAA user@head"],
         "base-url": "http://demo:8080/cloud-init"}
    r = ochami(c, "POST", "/cloud-init/admin/cluster-defaults", d)
    assert (r.status, r.raw) == (201, b"")
    assert ochami(c, "GET", "/cloud-init/admin/cluster-defaults").json == d
    # Corral keeps them in its defaults' metadata, beside what was there
    c.ok("PATCH", "/api/v1/defaults", {"metadata": dict(d, site="x")}, expect=200)
    r = ochami(c, "POST", "/cloud-init/admin/cluster-defaults", {"cluster-name": "demo2"})
    assert r.status == 201
    assert ochami(c, "GET", "/cloud-init/admin/cluster-defaults").json == {"cluster-name": "demo2"}
    assert c.get("/api/v1/defaults").body["metadata"] == {"cluster-name": "demo2", "site": "x"}
    r = ochami(c, "POST", "/cloud-init/admin/cluster-defaults", {"nid-length": "3"})
    assert r.status == 422
    # instance-info for a node, read back as the node's meta-data
    assert c.post("/api/v1/nodes", {"name": "x1c0s0b0n0"}).status == 201
    info = {"id": "x1c0s0b0n0", "instance-id": "", "local-hostname": "compute-1",
            "public-keys": ["ssh-rsa BBBB op@laptop"]}
    r = ochami(c, "PUT", "/cloud-init/admin/instance-info/x1c0s0b0n0", info)
    assert (r.status, r.raw) == (201, b"")
    md = json.loads(c.get("/api/v1/nodes/x1c0s0b0n0/cloud-init/meta-data").text)
    assert md["local-hostname"] == "compute-1"
    assert md["cluster-name"] == "demo2"
    assert md["public-keys"] == ["ssh-rsa BBBB op@laptop"]
    r = ochami(c, "GET", "/cloud-init/admin/impersonation/x1c0s0b0n0/meta-data")
    assert r.status == 200 and json.loads(r.text)["local-hostname"] == "compute-1"
    assert ochami(c, "PUT", "/cloud-init/admin/instance-info/nosuch", info).status == 404


def test_public_paths_and_identity(fresh_corrald):
    c = fresh_corrald
    g = "compute"
    assert ochami(c, "PUT", "/cloud-init/admin/groups/" + g, group_data(g, UD2)).status == 201
    assert ochami(c, "PUT", "/cloud-init/admin/groups/other", group_data("other", UD1)).status == 201
    img = {"name": "ci-img", "kernel": "k", "initrd": "i"}
    assert c.post("/api/v1/images", img).status == 201
    assert c.post("/api/v1/profiles", {"name": "ci-prof", "image": "ci-img"}).status == 201
    mac = next_mac()
    me = {"name": "x9c0s0b0n0", "groups": [g], "profile": "ci-prof",
          "interfaces": [{"mac": mac, "ip": "127.0.0.1"}]}
    assert c.post("/api/v1/nodes", me).status == 201
    assert c.post("/api/v1/nodes", {"name": "x9c0s0b0n1", "groups": ["other"],
                                    "interfaces": [{"mac": next_mac()}]}).status == 201
    # {group}.yaml for a member, found by its source address (127.0.0.1)
    r = ochami(c, "GET", "/cloud-init/%s.yaml" % g, token=NO_TOKEN)
    assert (r.status, r.text) == (200, UD2)
    r = ochami(c, "GET", "/cloud-init/other.yaml", token=NO_TOKEN)
    assert r.status == 404  # not a member
    # by seed token: the token path
    token = IpxeScript(c.bootscript({"mac": mac}).text).seed_token()[1]
    r = ochami(c, "GET", "/cloud-init/%s/%s.yaml" % (token, g), token=NO_TOKEN)
    assert (r.status, r.text) == (200, UD2)
    bad = token[:-1] + ("0" if token[-1] != "0" else "1")
    assert ochami(c, "GET", "/cloud-init/%s/%s.yaml" % (bad, g), token=NO_TOKEN).status == 403
    # the NoCloud files are still serve.c's
    r = ochami(c, "GET", "/cloud-init/meta-data", token=NO_TOKEN)
    assert r.status == 200 and "x9c0s0b0n0" in r.text
    # impersonation: what a node gets, for an operator
    r = ochami(c, "GET", "/cloud-init/admin/impersonation/x9c0s0b0n0/%s.yaml" % g)
    assert (r.status, r.text) == (200, UD2)
    assert ochami(c, "GET",
                  "/cloud-init/admin/impersonation/x9c0s0b0n0/other.yaml").status == 404
    # phone-home/{id}: only from that node's address
    r = ochami(c, "POST", "/cloud-init/phone-home/x9c0s0b0n1", token=NO_TOKEN)
    assert r.status == 403
    r = ochami(c, "POST", "/cloud-init/phone-home/x9c0s0b0n0", token=NO_TOKEN)
    assert (r.status, r.json) == (200, {"node": "x9c0s0b0n0", "state": "ready"})
    deadline = time.monotonic() + 5
    while c.get("/api/v1/nodes/x9c0s0b0n0").body["state"] != "ready":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    r = ochami(c, "GET", "/cloud-init/version", token=NO_TOKEN)
    assert r.status == 200 and r.json["process_name"] == "corrald"


def test_group_from_corral_cli_reads_back(corrald, tmp_path):
    import os
    import subprocess
    c = corrald
    name = uniq("clig")
    f = tmp_path / "ud.yaml"
    f.write_text(UD1)
    env = dict(os.environ, CORRAL_URL=c.url, CORRAL_TOKEN=c.admin_token,
               XDG_CONFIG_HOME="/nonexistent-corral-test")
    p = subprocess.run([str(c.build / "corral"), "group", "create", name, "--description",
                        "from the CLI", "--user-data-file", str(f)], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    assert p.returncode == 0, p.stderr
    r = ochami(c, "GET", "/cloud-init/admin/groups/" + name)
    assert r.json == {"name": name, "description": "from the CLI",
                      "file": {"content": UD1, "filename": "", "encoding": "plain"}}
