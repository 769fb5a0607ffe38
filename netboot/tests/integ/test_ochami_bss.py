"""
Contract tests: OpenCHAMI's BSS paths (/boot/v1) on corrald, with the
requests `ochami bss …` sends (ochami_client.py), answers checked field by
field against what BSS answers (OpenCHAMI/bss cmd/boot-script-service
default_api.go, serviceAPI.go; pkg/bssTypes), and round trips with
Corral's own API.
"""
import pytest

from conftest import NO_TOKEN, next_mac, uniq
from ochami_client import jwt_envelope, ochami, problem

KERNEL = "http://10.0.0.1/boot/vmlinuz"
INITRD = "http://10.0.0.1/boot/initrd.img"
PARAMS = "console=ttyS0,115200 ip=dhcp quiet"

# What Go's json.Marshal makes of a bssTypes.BootParams with an empty
# CloudInit: the struct is never left out, its maps are null.
EMPTY_CI = {"meta-data": None, "user-data": None,
            "phone-home": {"pub_key_dsa": "", "pub_key_rsa": "", "pub_key_ecdsa": "",
                           "instance_id": "", "hostname": "", "fqdn": ""}}


def bootparams(**kw):
    """A BootParams body as ochami marshals it (omitempty lists and strings left out)."""
    bp = {}
    for k in ("hosts", "macs", "nids", "params", "kernel", "initrd"):
        if kw.get(k):
            bp[k] = kw[k]
    bp["cloud-init"] = kw.get("cloud_init", EMPTY_CI)
    return bp


xname_counter = [0]


def three_nodes(c):
    """Three nodes made through Corral's API: xname names, NIDs, one MAC each."""
    base = 100 + xname_counter[0] * 3
    xname_counter[0] += 1
    nodes = []
    for i in range(3):
        n = {"name": "x1000c1s%db0n%d" % (base // 3, i), "nid": base + i,
             "interfaces": [{"mac": next_mac()}]}
        r = c.post("/api/v1/nodes", n)
        assert r.status == 201, r
        nodes.append(n)
    return nodes


def test_add_get_script_patch_delete(corrald):
    c = corrald
    nodes = three_nodes(c)
    macs = [n["interfaces"][0]["mac"] for n in nodes]
    # ochami bss boot params add --mac … --kernel … --initrd … --params …
    r = ochami(c, "POST", "/boot/v1/bootparameters",
               bootparams(macs=macs, kernel=KERNEL, initrd=INITRD, params=PARAMS))
    assert r.status == 201, r
    assert r.raw == b"", r
    # One profile, named by the three, used by the three nodes (Corral's view).
    profiles = set()
    for n in nodes:
        got = c.get("/api/v1/nodes/" + n["name"]).body
        assert got["params"] == ""
        profiles.add(got["profile"])
    assert len(profiles) == 1
    prof = c.get("/api/v1/profiles/" + profiles.pop()).body
    assert prof["name"].startswith("bss-")
    assert (prof["image"], prof["kernel"], prof["initrd"], prof["params"]) == \
        (None, KERNEL, INITRD, PARAMS)

    # ochami bss boot params get --mac / --xname / --nid
    for query in ({"mac": macs[0]}, {"name": nodes[0]["name"]}, {"nid": nodes[0]["nid"]}):
        r = ochami(c, "GET", "/boot/v1/bootparameters", query=query)
        assert r.status == 200, r
        assert r.ctype.startswith("application/json")
        assert r.json == [{"hosts": [nodes[0]["name"]], "macs": [macs[0]],
                           "nids": [nodes[0]["nid"]], "params": PARAMS, "kernel": KERNEL,
                           "initrd": INITRD, "cloud-init": EMPTY_CI}], query
    # several at once: ochami repeats the key (--mac a --mac b), BSS joins
    # the values with commas, and takes a comma list as well
    r = ochami(c, "GET", "/boot/v1/bootparameters", query={"mac": [macs[1], macs[2]]})
    assert sorted(e["hosts"][0] for e in r.json) == [nodes[1]["name"], nodes[2]["name"]]
    r = ochami(c, "GET", "/boot/v1/bootparameters", query="mac=%s,%s" % (macs[1], macs[2]))
    assert sorted(e["hosts"][0] for e in r.json) == [nodes[1]["name"], nodes[2]["name"]]
    r = ochami(c, "GET", "/boot/v1/bootparameters",
               query={"name": [nodes[0]["name"]], "nid": [nodes[2]["nid"]]})
    assert sorted(e["hosts"][0] for e in r.json) == [nodes[0]["name"], nodes[2]["name"]]
    r = ochami(c, "GET", "/boot/v1/hosts", query={"mac": [macs[0], macs[1]]})
    assert [h["ID"] for h in r.json] == [nodes[0]["name"], nodes[1]["name"]]

    # The iPXE script by MAC, name and NID (no token: nodes ask for it).
    # Node identity (docs/security.md): name= and nid= are answered to the
    # node's own address only, so the asker here holds the node's lease.
    c.record_lease(macs[1], "127.0.0.1")
    for q in ({"mac": macs[1]}, {"name": nodes[1]["name"]}, {"nid": nodes[1]["nid"]}):
        r = ochami(c, "GET", "/boot/v1/bootscript", token=NO_TOKEN, query=q)
        assert r.status == 200, r
        lines = r.text.splitlines()
        assert lines[0] == "#!ipxe"
        kline = next(l for l in lines if l.startswith("kernel "))
        assert kline.startswith("kernel %s initrd=initrd %s " % (KERNEL, PARAMS)), kline
        assert "BOOTIF=01-" + macs[1].replace(":", "-") in kline
        assert "initrd --name initrd %s || goto retry" % INITRD in lines
    # BSS's JSON form (json=1), with ochami's other query keys (arch, timestamp)
    r = ochami(c, "GET", "/boot/v1/bootscript", token=NO_TOKEN,
               query={"mac": macs[2], "json": 1, "arch": "x86_64", "timestamp": 1700000000})
    assert r.status == 200, r
    assert set(r.json) == {"params", "kernel", "initrd"}
    assert r.json["kernel"] == {"path": KERNEL}
    assert r.json["initrd"] == {"path": INITRD}
    assert r.json["params"].startswith("kernel initrd=initrd %s BOOTIF=01-%s" %
                                       (PARAMS, macs[2].replace(":", "-"))), r.json

    # ochami bss boot params update --mac m0 --params … (PATCH): only params change
    r = ochami(c, "PATCH", "/boot/v1/bootparameters",
               bootparams(macs=[macs[0]], params="console=ttyS1"))
    assert r.status == 200, r
    got = ochami(c, "GET", "/boot/v1/bootparameters", query={"mac": macs[0]}).json[0]
    assert (got["kernel"], got["initrd"], got["params"]) == (KERNEL, INITRD, "console=ttyS1")
    got = ochami(c, "GET", "/boot/v1/bootparameters", query={"mac": macs[1]}).json[0]
    assert got["params"] == PARAMS

    # ochami bss boot params delete --mac m0
    r = ochami(c, "DELETE", "/boot/v1/bootparameters", bootparams(macs=[macs[0]]))
    assert r.status == 200, r
    problem(ochami(c, "GET", "/boot/v1/bootparameters", query={"mac": macs[0]}), 404,
            "Cannot find boot parameters for requested MACs")
    assert c.get("/api/v1/nodes/" + nodes[0]["name"]).body["profile"] is None
    # the node is Corral's inventory: still there, now waiting for a profile
    r = ochami(c, "GET", "/boot/v1/bootscript", token=NO_TOKEN, query={"mac": macs[0]})
    assert r.status == 200 and "kernel " not in r.text, r


def test_put_replaces_and_gc_profiles(corrald):
    c = corrald
    nodes = three_nodes(c)
    names = [n["name"] for n in nodes]
    r = ochami(c, "POST", "/boot/v1/bootparameters",
               bootparams(hosts=names, kernel=KERNEL, initrd=INITRD, params="a=1"))
    assert r.status == 201, r
    old = c.get("/api/v1/nodes/" + names[0]).body["profile"]
    # ochami bss boot params set (PUT): new parameters for all three
    r = ochami(c, "PUT", "/boot/v1/bootparameters",
               bootparams(hosts=names, kernel=KERNEL, initrd=INITRD, params="a=2"))
    assert r.status == 200, r
    new = c.get("/api/v1/nodes/" + names[0]).body["profile"]
    assert new != old
    assert c.get("/api/v1/profiles/" + old).status == 404  # nothing used it any more
    for n in names:
        assert ochami(c, "GET", "/boot/v1/bootparameters",
                      query={"name": n}).json[0]["params"] == "a=2"


def test_post_twice_is_already_exists(corrald):
    c = corrald
    n = three_nodes(c)[0]
    body = bootparams(hosts=[n["name"]], kernel=KERNEL, initrd=INITRD)
    assert ochami(c, "POST", "/boot/v1/bootparameters", body).status == 201
    problem(ochami(c, "POST", "/boot/v1/bootparameters", body), 400,
            "Already exists: " + n["name"])


def test_unknown_xname_and_mac_become_nodes(corrald):
    c = corrald
    x = "x3000c0s%db0n0" % (xname_counter[0] + 40)
    mac = next_mac()
    r = ochami(c, "PUT", "/boot/v1/bootparameters",
               bootparams(hosts=[x], macs=[mac], kernel=KERNEL, initrd=INITRD))
    assert r.status == 200, r
    assert c.get("/api/v1/nodes/" + x).body["profile"].startswith("bss-")
    by_mac = "mac-" + mac.replace(":", "")
    got = c.get("/api/v1/nodes/" + by_mac).body
    assert got["interfaces"] == [{"mac": mac, "ip": None}]
    # a host that is neither a node, a group nor a node xname is refused
    problem(ochami(c, "PUT", "/boot/v1/bootparameters",
                   bootparams(hosts=["nosuchthing"], kernel=KERNEL, initrd=INITRD)), 400,
            "nosuchthing")


def snapshot(c):
    nodes = c.get("/api/v1/nodes").body
    profiles = c.get("/api/v1/profiles").body
    groups = c.get("/api/v1/groups").body
    strip = lambda objs: sorted(
        [{k: v for k, v in o.items() if k not in ("last_event", "state")} for o in objs],
        key=lambda o: o["name"])
    return strip(nodes), strip(profiles), strip(groups)


@pytest.mark.parametrize("bad", [
    {"macs": ["GOOD", "zz:zz:zz:zz:zz:zz"]},
    {"macs": ["GOOD", "52:54:00:12:34"]},
    {"macs": ["GOOD"], "nids": [999999]},
    {"hosts": ["x9000c0s0b0n0", "bad name!"]},
    {"macs": ["GOOD"], "kernel": "ftp://x/k"},
    {"macs": ["GOOD"], "params": "console=ttyS0 ; shell"},
    {"macs": ["GOOD"], "kernel": None},
    {"macs": ["GOOD"], "cloud_init": {"meta-data": [1], "user-data": None}},
])
def test_bad_post_writes_nothing(corrald, bad):
    c = corrald
    node = three_nodes(c)[0]
    good = node["interfaces"][0]["mac"]
    kw = {"kernel": KERNEL, "initrd": INITRD, "params": PARAMS}
    kw.update({k: ([good if m == "GOOD" else m for m in v] if k == "macs" else v)
               for k, v in bad.items()})
    if kw.get("kernel") is None:
        kw.pop("kernel")
    before = snapshot(c)
    r = ochami(c, "POST", "/boot/v1/bootparameters", bootparams(**kw))
    assert r.status in (400, 404), r
    problem(r, r.status)
    assert snapshot(c) == before


def test_malformed_bodies(corrald):
    c = corrald
    for raw in (b"{", b"[]", b"\"x\"", b"{\"macs\": \"aa\"}"):
        r = ochami(c, "POST", "/boot/v1/bootparameters")
        problem(r, 400)
        from conftest import http_request
        from ochami_client import Reply
        r = Reply(http_request(c.host, c.port, "POST", "/boot/v1/bootparameters", raw,
                               {"Authorization": "Bearer " + c.admin_token}))
        problem(r, 400)


def test_auth_and_protocol_errors_are_problems(corrald):
    c = corrald
    problem(ochami(c, "GET", "/boot/v1/bootparameters", token=NO_TOKEN), 401)
    problem(ochami(c, "GET", "/boot/v1/bootparameters", token="crl_nope"), 401)
    assert ochami(c, "GET", "/boot/v1/bootparameters", token=c.read_token).status == 200
    problem(ochami(c, "POST", "/boot/v1/bootparameters", bootparams(hosts=["x1c0s0b0n0"]),
                   token=c.read_token), 403)
    problem(ochami(c, "GET", "/boot/v1/nosuchpath"), 404)
    r = ochami(c, "PUT", "/boot/v1/dumpstate", {})
    problem(r, 405)
    assert r.headers.get("Allow") == "GET, HEAD"
    # a body with another type than JSON is still refused
    from conftest import http_request
    from ochami_client import Reply
    r = Reply(http_request(c.host, c.port, "POST", "/boot/v1/bootparameters", b"x=1",
                           {"Authorization": "Bearer " + c.admin_token,
                            "Content-Type": "application/x-www-form-urlencoded"}))
    problem(r, 415)
    # the bootscript's own bad input is BSS-shaped too
    problem(ochami(c, "GET", "/boot/v1/bootscript", token=NO_TOKEN), 400)
    problem(ochami(c, "GET", "/boot/v1/bootscript", token=NO_TOKEN, query="mac=nope"), 400)
    problem(ochami(c, "GET", "/boot/v1/bootscript", token=NO_TOKEN,
                   query={"mac": next_mac(), "json": 1}), 404, "not configured for booting")
    # Corral's own API keeps its error shape
    r = c.get("/api/v1/nodes/nosuch")
    assert r.status == 404 and r.error.get("code") == "not_found"


def test_service_status_without_token(corrald):
    c = corrald
    r = ochami(c, "GET", "/boot/v1/service/status", token=NO_TOKEN)
    assert (r.status, r.json) == (200, {"bss-status": "running"})
    r = ochami(c, "GET", "/boot/v1/service/version", token=NO_TOKEN)
    assert r.status == 200 and set(r.json) == {"bss-version"} and r.json["bss-version"]
    r = ochami(c, "GET", "/boot/v1/service/status/all", token=NO_TOKEN)
    assert r.status == 200
    assert r.json["bss-status"] == "running"
    assert r.json["bss-status-hsm"] == "connected"
    assert r.json["bss-storage-backend"] == {"name": "sqlite", "status": "connected"}
    r = ochami(c, "GET", "/boot/v1/service/storage/status", token=NO_TOKEN)
    assert r.json == {"bss-storage-backend": {"name": "sqlite", "status": "connected"}}
    problem(ochami(c, "GET", "/boot/v1/service/nope", token=NO_TOKEN), 404)


def test_corral_made_boot_config_reads_back(corrald):
    """Made with Corral's API (what the CLI sends): read back through BSS."""
    c = corrald
    img = uniq("img")
    assert c.post("/api/v1/images", {"name": img, "kernel": "images/%s/vmlinuz" % img,
                                     "initrd": "images/%s/initrd" % img,
                                     "params": "console=ttyS0"}).status == 201
    prof = uniq("prof")
    assert c.post("/api/v1/profiles", {"name": prof, "image": img,
                                       "params": "quiet"}).status == 201
    grp = uniq("grp")
    assert c.post("/api/v1/groups", {"name": grp, "profile": prof,
                                     "metadata": {"role": "compute"},
                                     "user_data": "#cloud-config\npackages: [htop]\n"}).status == 201
    n = {"name": uniq("cn"), "nid": 4242, "groups": [grp], "params": "debug",
         "interfaces": [{"mac": next_mac(), "ip": "10.1.0.42"}],
         "metadata": {"rack": 7}, "user_data": "#cloud-config\nhostname: x\n"}
    assert c.post("/api/v1/nodes", n).status == 201
    r = ochami(c, "GET", "/boot/v1/bootparameters", query={"name": n["name"]})
    assert r.status == 200, r
    assert r.json == [{
        "hosts": [n["name"]], "macs": [n["interfaces"][0]["mac"]], "nids": [4242],
        "params": "console=ttyS0 quiet debug",
        "kernel": "images/%s/vmlinuz" % img, "initrd": "images/%s/initrd" % img,
        "cloud-init": {"meta-data": {"rack": 7}, "user-data": {"hostname": "x"},
                       "phone-home": EMPTY_CI["phone-home"]}}]
    # the group itself, as BSS lists a boot group
    r = ochami(c, "GET", "/boot/v1/bootparameters", query={"name": grp})
    assert r.json == [{"hosts": [grp], "params": "console=ttyS0 quiet",
                       "kernel": "images/%s/vmlinuz" % img,
                       "initrd": "images/%s/initrd" % img,
                       "cloud-init": {"meta-data": {"role": "compute"},
                                      "user-data": {"packages": ["htop"]},
                                      "phone-home": EMPTY_CI["phone-home"]}}]
    # and the whole list has both
    r = ochami(c, "GET", "/boot/v1/bootparameters")
    hosts = [e["hosts"][0] for e in r.json]
    assert n["name"] in hosts and grp in hosts
    # PATCH through BSS edits what Corral made: a new profile, same kernel
    r = ochami(c, "PATCH", "/boot/v1/bootparameters",
               bootparams(hosts=[n["name"]], params="console=ttyS0 quiet"))
    assert r.status == 200, r
    got = c.get("/api/v1/nodes/" + n["name"]).body
    assert got["params"] == "" and got["profile"].startswith("bss-")
    assert c.get("/api/v1/profiles/" + prof).status == 200  # the group still uses it
    r = ochami(c, "GET", "/boot/v1/bootparameters", query={"name": n["name"]})
    assert r.json[0]["params"] == "console=ttyS0 quiet"
    assert r.json[0]["kernel"] == "images/%s/vmlinuz" % img


def test_cloud_init_with_boot_params(corrald):
    c = corrald
    n = three_nodes(c)[0]
    ci = {"meta-data": {"cluster": "demo"}, "user-data": {"runcmd": ["echo hi"]},
          "phone-home": EMPTY_CI["phone-home"]}
    r = ochami(c, "POST", "/boot/v1/bootparameters",
               bootparams(hosts=[n["name"]], kernel=KERNEL, initrd=INITRD, cloud_init=ci))
    assert r.status == 201, r
    got = c.get("/api/v1/nodes/" + n["name"]).body
    assert got["metadata"] == {"cluster": "demo"}
    assert got["user_data"].startswith("#cloud-config\n")
    r = c.get("/api/v1/nodes/%s/cloud-init/user-data" % n["name"])
    assert "echo hi" in r.text
    # PATCH merges keys; null removes one
    r = ochami(c, "PATCH", "/boot/v1/bootparameters",
               bootparams(hosts=[n["name"]], cloud_init={
                   "meta-data": {"cluster": None, "site": "x"}, "user-data": None,
                   "phone-home": EMPTY_CI["phone-home"]}))
    assert r.status == 200, r
    assert c.get("/api/v1/nodes/" + n["name"]).body["metadata"] == {"site": "x"}


def test_default_host_is_corrals_defaults(fresh_corrald):
    c = fresh_corrald
    r = ochami(c, "PUT", "/boot/v1/bootparameters",
               bootparams(hosts=["Default"], kernel=KERNEL, initrd=INITRD, params="x=1"))
    assert r.status == 200, r
    d = c.get("/api/v1/defaults").body
    assert d["profile"].startswith("bss-")
    r = ochami(c, "GET", "/boot/v1/bootparameters", query={"name": "Default"})
    assert r.json[0]["hosts"] == ["Default"] and r.json[0]["params"] == "x=1"
    # a node with nothing of its own now boots from it
    mac = next_mac()
    assert c.post("/api/v1/nodes", {"name": "plain1", "interfaces": [{"mac": mac}]}).status == 201
    r = ochami(c, "GET", "/boot/v1/bootscript", token=NO_TOKEN, query={"mac": mac})
    assert "kernel %s initrd=initrd x=1 " % KERNEL in r.text
    r = ochami(c, "DELETE", "/boot/v1/bootparameters", bootparams(hosts=["Default"]))
    assert r.status == 200, r
    assert c.get("/api/v1/defaults").body["profile"] is None


def test_hosts_and_dumpstate(corrald):
    c = corrald
    nodes = three_nodes(c)
    r = ochami(c, "GET", "/boot/v1/hosts", query={"name": nodes[0]["name"]})
    assert r.status == 200, r
    assert r.json == [{"ID": nodes[0]["name"], "Type": "Node", "State": "Populated",
                       "Flag": "OK", "Enabled": True, "NID": nodes[0]["nid"],
                       "NetType": "Sling", "Arch": "X86", "Class": "River", "FQDN": "",
                       "MAC": [nodes[0]["interfaces"][0]["mac"]],
                       "EndpointEnabled": True}]
    r = ochami(c, "GET", "/boot/v1/hosts", query={"mac": nodes[1]["interfaces"][0]["mac"]})
    assert [h["ID"] for h in r.json] == [nodes[1]["name"]]
    problem(ochami(c, "GET", "/boot/v1/hosts", query={"name": "nosuch"}), 404,
            "Unknown host name 'nosuch'")
    problem(ochami(c, "GET", "/boot/v1/hosts", query={"nid": "x"}), 400, "Invalid nid")
    r = ochami(c, "POST", "/boot/v1/hosts", None)
    assert r.status == 204
    r = ochami(c, "GET", "/boot/v1/dumpstate")
    assert r.status == 200 and set(r.json) == {"Components", "Params"}
    assert nodes[2]["name"] in [h["ID"] for h in r.json["Components"]]


def test_endpoint_history(fresh_corrald):
    c = fresh_corrald
    mac = next_mac()
    assert c.post("/api/v1/nodes", {"name": "x1c0s0b0n0", "interfaces": [{"mac": mac}]}).status == 201
    assert ochami(c, "PUT", "/boot/v1/bootparameters",
                  bootparams(macs=[mac], kernel=KERNEL, initrd=INITRD)).status == 200
    assert ochami(c, "GET", "/boot/v1/bootscript", token=NO_TOKEN, query={"mac": mac}).status == 200
    import time
    deadline = time.monotonic() + 5
    while True:
        r = ochami(c, "GET", "/boot/v1/endpoint-history", query={"name": "x1c0s0b0n0"})
        if r.json or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert r.status == 200, r
    assert len(r.json) == 1
    e = r.json[0]
    assert (e["name"], e["endpoint"]) == ("x1c0s0b0n0", "bootscript")
    assert abs(e["last_epoch"] - time.time()) < 120
    r = ochami(c, "GET", "/boot/v1/endpoint-history", query={"endpoint": "user-data"})
    assert r.json == []
    problem(ochami(c, "GET", "/boot/v1/endpoint-history", query={"endpoint": "x"}), 400)


def test_token_in_jwt_envelope(corrald):
    """`ochami` only sends JWTs: a Corral token inside one works, and only that."""
    c = corrald
    r = ochami(c, "GET", "/boot/v1/bootparameters", token=jwt_envelope(c.admin_token))
    assert r.status == 200, r
    r = ochami(c, "GET", "/hsm/v2/State/Components", token=jwt_envelope(c.read_token))
    assert r.status == 200, r
    problem(ochami(c, "POST", "/boot/v1/bootparameters", bootparams(hosts=["x1c0s0b0n9"]),
                   token=jwt_envelope(c.read_token)), 403)
    problem(ochami(c, "GET", "/boot/v1/bootparameters", token=jwt_envelope(None)), 401)
    problem(ochami(c, "GET", "/boot/v1/bootparameters", token=jwt_envelope("crl_nope")), 401)
    problem(ochami(c, "GET", "/boot/v1/bootparameters", token="a.b.c"), 401)
    # and Corral's own API takes it too: one token, however it travels
    assert c.get("/api/v1/whoami", token=jwt_envelope(c.read_token)).body == {"scope": "read"}


def test_new_mac_never_replaces_a_node(corrald):
    """A MAC no node has makes node mac-<hex>; a node of that name that has
    other MACs is not replaced: the request is refused, nothing written."""
    c = corrald
    mac = next_mac()
    name = "mac-" + mac.replace(":", "")
    other = next_mac()
    assert c.post("/api/v1/nodes", {"name": name, "interfaces": [{"mac": other}]}).status == 201
    problem(ochami(c, "POST", "/boot/v1/bootparameters",
                   bootparams(macs=[mac], kernel=KERNEL, initrd=INITRD)), 409, name)
    assert c.get("/api/v1/nodes/" + name).body["interfaces"] == [{"mac": other, "ip": None}]
