"""
Contract tests: OpenCHAMI's SMD paths (/hsm/v2) on corrald.

`ochami discover static` is replayed request by request as its code sends
them (OpenCHAMI/ochami cmd/discover/static/static.go, pkg/discover
discover.go DiscoveryInfoV2, pkg/client/smd/smd.go): POST
State/Components, one POST Inventory/RedfishEndpoints per BMC in the V2
schema, one POST groups per group; and magellan's `send` of a collected
BMC (OpenCHAMI/magellan pkg/collect.go, pkg/client/smd.go).  Answers are
checked field by field against SMD's (cmd/smd/smd-api.go, response.go,
pkg/sm), and what was made is read back through Corral's API and CLI.
"""
import json
import os
import subprocess
import uuid

import pytest

from conftest import NO_TOKEN, next_mac, uniq
from ochami_client import magellan_send, ochami, problem

ACTIONS = ["On", "ForceOff", "GracefulShutdown", "GracefulRestart", "ForceRestart", "Nmi",
           "ForceOn", "PushPowerButton", "PowerCycle", "Suspend", "Pause", "Resume"]
SMD_URI = "https://demo.openchami.cluster:8443/hsm/v2"
ZERO_TIME = "0001-01-01T00:00:00Z"


def corral_cli(c, *args):
    env = dict(os.environ, CORRAL_URL=c.url, CORRAL_TOKEN=c.admin_token,
               XDG_CONFIG_HOME="/nonexistent-corral-test")
    p = subprocess.run([str(c.build / "corral"), *args], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    assert p.returncode == 0, p.stderr
    return p.stdout.decode()


def nodes_yaml(k):
    """A nodes.yaml (new format) as `ochami discover static` reads it: one
    BMC, two nodes with interfaces and groups."""
    bmc = "x100%dc1s7b0" % k
    return {
        "bmcs": [{"name": "", "xname": bmc, "mac": next_mac(), "ip": "172.16.%d.101" % k,
                  "fqdn": ""}],
        "nodes": [
            {"name": "node%d1" % k, "nid": 10 * k + 1, "xname": bmc + "n0", "bmc": bmc,
             "groups": ["compute%d" % k, "slurm%d" % k],
             "interfaces": [{"mac_addr": next_mac(),
                             "ip_addrs": [{"name": "internal", "ip_addr": "172.16.%d.1" % k}]},
                            {"mac_addr": next_mac(),
                             "ip_addrs": [{"name": "HSN", "ip_addr": "192.168.%d.1" % k}]}]},
            {"name": "node%d2" % k, "nid": 10 * k + 2, "xname": bmc + "n1", "bmc": bmc,
             "groups": ["compute%d" % k],
             "interfaces": [{"mac_addr": next_mac(),
                             "ip_addrs": [{"name": "internal", "ip_addr": "172.16.%d.2" % k}]}]},
        ]}


def discovery_info_v2(items):
    """pkg/discover DiscoveryInfoV2: components, RedfishEndpointsV2 (as Go
    marshals RedfishEndpointV2), groups (as static.go builds them)."""
    comps, rfes, bmcs, groups = [], [], {}, {}
    host = "https://demo.openchami.cluster:8443"
    for b in items["bmcs"]:
        mgr_uuid = str(uuid.uuid4())
        rfe = {"ID": b["xname"], "Type": "NodeBMC", "MACAddr": b["mac"], "IPAddress": b["ip"],
               "UUID": mgr_uuid, "DiscoveryInfo": {"LastAttempt": ZERO_TIME},
               "SchemaVersion": 1, "Systems": None,
               "Managers": [{"uri": host + "/redfish/v1/Managers/" + b["xname"],
                             "uuid": mgr_uuid, "name": b["xname"],
                             "ethernet_interfaces": [{
                                 "mac": b["mac"], "ip": b["ip"], "name": b["xname"],
                                 "description": "Interface for BMC " + b["xname"]}],
                             "actions": None, "description": "", "type": "NodeBMC"}]}
        bmcs[b["xname"]] = rfe
        rfes.append(rfe)
    for n in items["nodes"]:
        comps.append({"ID": n["xname"], "Type": "Node", "State": "On", "Enabled": True,
                      "NID": n["nid"]})
        rfe = bmcs[n["bmc"]]
        sys_ = {"uri": host + "/redfish/v1/Systems/" + n["xname"], "uuid": str(uuid.uuid4()),
                "name": n["name"], "ethernet_interfaces": [], "actions": ACTIONS}
        for i, iface in enumerate(n["interfaces"]):
            sys_["ethernet_interfaces"].append({
                "mac": iface["mac_addr"], "ip": iface["ip_addrs"][0]["ip_addr"],
                "name": n["xname"], "description": "Interface %d for %s" % (i, n["name"])})
        rfe["Systems"] = (rfe["Systems"] or []) + [sys_]
        for g in n["groups"]:
            grp = groups.setdefault(g, {"label": g, "description": "The %s group" % g,
                                        "members": {"ids": []}})
            if n["xname"] not in grp["members"]["ids"]:
                grp["members"]["ids"].append(n["xname"])
    return {"Components": comps}, rfes, list(groups.values())


def discover_static(c, items):
    comps, rfes, groups = discovery_info_v2(items)
    r = ochami(c, "POST", "/hsm/v2/State/Components", comps)
    assert r.status == 204 and r.raw == b"", r
    for rfe in rfes:
        r = ochami(c, "POST", "/hsm/v2/Inventory/RedfishEndpoints", rfe)
        assert r.status == 201, r
        assert r.json == [{"URI": "/hsm/v2/Inventory/RedfishEndpoints/" + rfe["ID"]}]
        assert r.headers.get("Location") == "/hsm/v2/Inventory/RedfishEndpoints/" + rfe["ID"]
    for g in groups:
        r = ochami(c, "POST", "/hsm/v2/groups", g)
        assert r.status == 201, r
        assert r.json == [{"URI": "/hsm/v2/groups/" + g["label"]}]
    return comps, rfes, groups


def test_discover_static(corrald):
    c = corrald
    items = nodes_yaml(1)
    discover_static(c, items)
    b = items["bmcs"][0]
    n0, n1 = items["nodes"]
    # Corral's view: the nodes, named by xname, with NIDs, interfaces, groups
    got = c.get("/api/v1/nodes/" + n0["xname"]).body
    assert got["nid"] == n0["nid"]
    assert got["interfaces"] == [{"mac": i["mac_addr"], "ip": i["ip_addrs"][0]["ip_addr"]}
                                 for i in n0["interfaces"]]
    assert got["groups"] == n0["groups"]
    assert got["enabled"] is True
    assert c.get("/api/v1/nodes/" + n1["xname"]).body["groups"] == n1["groups"]
    # the BMC is in Corral's list as discovery records one, its systems linked
    bmc = next(x for x in c.get("/api/v1/bmcs").body if x["address"] == b["ip"])
    assert (bmc["port"], bmc["scheme"], bmc["status"], bmc["mac"]) == (8443, "https", "ok",
                                                                       b["mac"])
    systems = {s["path"]: s for s in bmc["systems"]}
    s0 = systems["/redfish/v1/Systems/" + n0["xname"]]
    assert s0["node"] == n0["xname"]
    assert s0["macs"] == [i["mac_addr"] for i in n0["interfaces"]]
    assert s0["reset_types"] == ACTIONS
    assert systems["/redfish/v1/Systems/" + n1["xname"]]["node"] == n1["xname"]
    # the CLI shows them
    out = corral_cli(c, "bmc", "list")
    assert b["ip"] in out
    out = json.loads(corral_cli(c, "--json", "node", "show", n0["xname"]))
    assert out["nid"] == n0["nid"]

    # SMD's view, field by field
    r = ochami(c, "GET", "/hsm/v2/State/Components/" + n0["xname"])
    assert r.json == {"ID": n0["xname"], "Type": "Node", "State": "Populated", "Flag": "OK",
                      "Enabled": True, "NID": n0["nid"], "NetType": "Sling", "Arch": "X86",
                      "Class": "River"}
    r = ochami(c, "GET", "/hsm/v2/State/Components/ByNID/%d" % n1["nid"])
    assert r.json["ID"] == n1["xname"]
    r = ochami(c, "GET", "/hsm/v2/Inventory/EthernetInterfaces",
               query={"ComponentID": n0["xname"]})
    mac0 = n0["interfaces"][0]["mac_addr"]
    assert r.status == 200
    assert [e["MACAddress"] for e in r.json] == [i["mac_addr"] for i in n0["interfaces"]]
    e = r.json[0]
    assert e["ID"] == mac0.replace(":", "")
    assert (e["ComponentID"], e["Type"], e["Description"]) == (n0["xname"], "Node", "")
    assert e["IPAddresses"] == [{"IPAddress": n0["interfaces"][0]["ip_addrs"][0]["ip_addr"]}]
    r = ochami(c, "GET", "/hsm/v2/Inventory/RedfishEndpoints/" + b["xname"])
    assert r.status == 200, r
    assert (r.json["ID"], r.json["Type"], r.json["FQDN"], r.json["IPAddress"],
            r.json["MACAddr"], r.json["Enabled"]) == (b["xname"], "NodeBMC", b["ip"], b["ip"],
                                                      b["mac"], True)
    assert r.json["DiscoveryInfo"]["LastDiscoveryStatus"] == "DiscoverOK"
    r = ochami(c, "GET", "/hsm/v2/groups", query={"group": "compute1"})
    assert r.json == [{"label": "compute1", "description": "The compute1 group",
                       "members": {"ids": sorted([n0["xname"], n1["xname"]])}}]
    r = ochami(c, "GET", "/hsm/v2/memberships/" + n0["xname"])
    assert r.json == {"id": n0["xname"], "groupLabels": ["compute1", "slurm1"],
                      "partitionName": ""}

    # ochami discover static --overwrite: POST is 409, then PUT (and PATCH BulkNID)
    comps, rfes, groups = discovery_info_v2(items)
    problem(ochami(c, "POST", "/hsm/v2/Inventory/RedfishEndpoints", rfes[0]), 409)
    r = ochami(c, "PUT", "/hsm/v2/Inventory/RedfishEndpoints/" + rfes[0]["ID"], rfes[0])
    assert r.status == 200, r
    assert r.json["ID"] == b["xname"]
    r = ochami(c, "PATCH", "/hsm/v2/State/Components/BulkNID",
               {"Components": [{"ID": comp["ID"], "Type": "", "NID": comp["NID"] + 500}
                               for comp in comps["Components"]]})
    assert r.status == 204, r
    assert c.get("/api/v1/nodes/" + n0["xname"]).body["nid"] == n0["nid"] + 500
    problem(ochami(c, "POST", "/hsm/v2/groups", groups[0]), 409)
    # the BMC was registered once, its systems still linked
    bmcs = [x for x in c.get("/api/v1/bmcs").body if x["address"] == b["ip"]]
    assert len(bmcs) == 1
    assert sorted(s["node"] for s in bmcs[0]["systems"]) == sorted([n0["xname"], n1["xname"]])


def magellan_payload(bmc_id, ip, macs, name="compute-a"):
    """One entry of `magellan collect`'s output (pkg/collect.go, pkg/crawler)."""
    base = "https://%s:443" % ip
    return {
        "ID": bmc_id, "Type": "", "Name": "", "FQDN": ip, "User": "root",
        "MACRequired": True, "RediscoverOnUpdate": False, "SchemaVersion": 1,
        "MACAddr": macs["bmc"],
        "Systems": [{
            "uri": base + "/redfish/v1/Systems/Self", "uuid": str(uuid.uuid4()),
            "manufacturer": "Supermicro", "system_type": "Physical", "name": name,
            "model": "SYS-1029", "serial": "S123",
            "ethernet_interfaces": [
                {"uri": base + "/redfish/v1/Systems/Self/EthernetInterfaces/1",
                 "mac": macs["host"], "ip": "", "name": "EthernetInterface1",
                 "description": "Ethernet Interface"},
                {"uri": base + "/redfish/v1/Systems/Self/EthernetInterfaces/ToManager",
                 "mac": next_mac(), "ip": "169.254.3.1", "name": "ToManager",
                 "description": "Interface to the BMC"}],
            "actions": ["On", "ForceOff", "ForceRestart", "PowerCycle"],
            "power": {"state": "Off"}, "node_id": "Self"}],
        "Managers": [{
            "uri": base + "/redfish/v1/Managers/1", "uuid": str(uuid.uuid4()), "name": "Manager",
            "model": "X11", "type": "BMC", "firmware_version": "1.73.14",
            "ethernet_interfaces": [{"uri": base + "/redfish/v1/Managers/1/EthernetInterfaces/1",
                                     "mac": macs["bmc"], "ip": ip, "name": "eth0"}],
            "serial_console": None, "command_shell": None}],
    }


def test_magellan_send(corrald):
    c = corrald
    macs = {"bmc": next_mac(), "host": next_mac()}
    body = magellan_payload("x3000c0s1b0", "10.20.0.11", macs)
    r = magellan_send(c, body)
    assert r.status == 201, r
    assert r.json == [{"URI": "/hsm/v2/Inventory/RedfishEndpoints/x3000c0s1b0"}]
    bmc = next(x for x in c.get("/api/v1/bmcs").body if x["address"] == "10.20.0.11")
    assert (bmc["port"], bmc["mac"], bmc["model"], bmc["firmware"]) == (443, macs["bmc"], "X11",
                                                                       "1.73.14")
    assert bmc["credential"] == ""  # magellan sends the user, never the password
    s = bmc["systems"][0]
    assert s["path"] == "/redfish/v1/Systems/Self"
    assert s["macs"] == [macs["host"]]  # the link to the BMC is no host NIC
    assert (s["power_state"], s["manufacturer"], s["model"], s["serial"]) == (
        "Off", "Supermicro", "SYS-1029", "S123")
    assert s["node"] == "x3000c0s1b0n0"  # named as SMD names it
    node = c.get("/api/v1/nodes/x3000c0s1b0n0").body
    assert node["interfaces"] == [{"mac": macs["host"], "ip": None}]
    # sent again: 409; with --force-update magellan PUTs it
    problem(magellan_send(c, body), 409, "same FQDN or xname ID")
    r = ochami(c, "PUT", "/hsm/v2/Inventory/RedfishEndpoints/x3000c0s1b0", body)
    assert r.status == 200, r
    assert len([x for x in c.get("/api/v1/bmcs").body if x["address"] == "10.20.0.11"]) == 1
    # a second BMC whose system is a node Corral already has (by MAC) links to it
    known = next_mac()
    assert c.post("/api/v1/nodes", {"name": "known1", "interfaces": [{"mac": known}]}).status == 201
    r = magellan_send(c, magellan_payload("x3000c0s2b0", "10.20.0.12",
                                          {"bmc": next_mac(), "host": known}))
    assert r.status == 201, r
    bmc = next(x for x in c.get("/api/v1/bmcs").body if x["address"] == "10.20.0.12")
    assert bmc["systems"][0]["node"] == "known1"
    assert c.get("/api/v1/nodes/x3000c0s2b0n0").status == 404
    # the list and the delete
    r = ochami(c, "GET", "/hsm/v2/Inventory/RedfishEndpoints", query={"id": "x3000c0s2b0"})
    assert [e["ID"] for e in r.json["RedfishEndpoints"]] == ["x3000c0s2b0"]
    r = ochami(c, "DELETE", "/hsm/v2/Inventory/RedfishEndpoints/x3000c0s2b0")
    assert (r.status, r.json) == (200, {"code": 0, "message": "deleted 1 entry"})
    assert not [x for x in c.get("/api/v1/bmcs").body if x["address"] == "10.20.0.12"]
    assert c.get("/api/v1/nodes/known1").status == 200  # nodes stay
    problem(ochami(c, "GET", "/hsm/v2/Inventory/RedfishEndpoints/x3000c0s2b0"), 404)


def test_rfe_password_becomes_a_sealed_credential(corrald):
    c = corrald
    body = magellan_payload("x3000c0s3b0", "10.20.0.13", {"bmc": next_mac(), "host": next_mac()})
    body["Password"] = "s3cret"
    assert magellan_send(c, body).status == 201
    bmc = next(x for x in c.get("/api/v1/bmcs").body if x["address"] == "10.20.0.13")
    assert bmc["credential"] == "smd-x3000c0s3b0"
    creds = c.get("/api/v1/credentials").body
    assert {"name": "smd-x3000c0s3b0", "username": "root"}.items() <= \
        next(x for x in creds if x["name"] == "smd-x3000c0s3b0").items()
    assert b"s3cret" not in json.dumps(creds).encode()
    r = ochami(c, "GET", "/hsm/v2/Inventory/RedfishEndpoints/x3000c0s3b0")
    assert (r.json["User"], r.json["Password"]) == ("root", "")


def test_rfe_conflict_writes_nothing(corrald):
    c = corrald
    m1, m2 = next_mac(), next_mac()
    for name, m in (("split1", m1), ("split2", m2)):
        assert c.post("/api/v1/nodes", {"name": name, "interfaces": [{"mac": m}]}).status == 201
    body = magellan_payload("x3000c0s4b0", "10.20.0.14", {"bmc": next_mac(), "host": m1})
    body["Systems"][0]["ethernet_interfaces"].append({"mac": m2, "name": "EthernetInterface2"})
    before = (c.get("/api/v1/bmcs").body, c.get("/api/v1/nodes").body)
    problem(magellan_send(c, body), 409, "belong to nodes")
    after = (c.get("/api/v1/bmcs").body, c.get("/api/v1/nodes").body)
    assert before == after
    for bad in ({"ID": "bad id!"}, {"MACAddr": "nope"}, {"FQDN": "a b", "IPAddress": ""}):
        b = dict(body, **bad)
        problem(magellan_send(c, b), 400)
    assert c.get("/api/v1/bmcs").body == before[0]


def test_components(corrald):
    c = corrald
    x = "x5000c0s0b0n%d"
    r = ochami(c, "POST", "/hsm/v2/State/Components", {"Components": [
        {"ID": x % 0, "Type": "Node", "State": "On", "Enabled": True, "NID": 7001,
         "Role": "Compute", "Arch": "ARM"},
        {"ID": x % 1, "Type": "Node", "State": "On", "NID": 7002}]})
    assert r.status == 204, r
    got = c.get("/api/v1/nodes/" + x % 0).body
    assert (got["nid"], got["role"], got["arch"], got["enabled"]) == (7001, "Compute",
                                                                      "aarch64", True)
    r = ochami(c, "GET", "/hsm/v2/State/Components", query={"nid": 7001})
    assert r.json == {"Components": [{"ID": x % 0, "Type": "Node", "State": "Populated",
                                      "Flag": "OK", "Enabled": True, "Role": "Compute",
                                      "NID": 7001, "NetType": "Sling", "Arch": "ARM",
                                      "Class": "River"}]}
    r = ochami(c, "POST", "/hsm/v2/State/Components/Query", {"ComponentIDs": [x % 1, "nosuch"]})
    assert [co["ID"] for co in r.json["Components"]] == [x % 1]
    # ochami smd component add --overwrite: PUT {"Component", "Force"}
    r = ochami(c, "PUT", "/hsm/v2/State/Components/" + x % 1,
               {"Component": {"ID": x % 1, "Type": "Node", "State": "On", "Enabled": False,
                              "NID": 7003}, "Force": True})
    assert r.status == 204, r
    assert c.get("/api/v1/nodes/" + x % 1).body["nid"] == 7003
    # Corral's CLI edits it; SMD reads the edit back
    corral_cli(c, "node", "set", x % 1, "--nid", "7004")
    assert ochami(c, "GET", "/hsm/v2/State/Components/" + x % 1).json["NID"] == 7004
    # bad input: nothing written
    before = c.get("/api/v1/nodes").body
    problem(ochami(c, "POST", "/hsm/v2/State/Components", {"Components": [
        {"ID": x % 2, "Type": "Node", "NID": 7010},
        {"ID": "x5000c0s0b0", "Type": "NodeBMC"}]}), 400, "Corral keeps nodes only")
    problem(ochami(c, "POST", "/hsm/v2/State/Components", {"Components": [
        {"ID": x % 2, "Type": "Node", "NID": 7001}]}), 409, "7001")
    problem(ochami(c, "POST", "/hsm/v2/State/Components", {"Components": []}), 400)
    problem(ochami(c, "POST", "/hsm/v2/State/Components", {"Components": [
        {"ID": x % 3, "NID": "x"}]}), 400)
    assert c.get("/api/v1/nodes").body == before
    problem(ochami(c, "PUT", "/hsm/v2/State/Components/" + x % 1,
                   {"Component": {"ID": x % 0}}), 400, "do not match")
    # delete one
    r = ochami(c, "DELETE", "/hsm/v2/State/Components/" + x % 1)
    assert (r.status, r.json) == (200, {"code": 0, "message": "deleted 1 entry"})
    problem(ochami(c, "GET", "/hsm/v2/State/Components/" + x % 1), 404, "no such xname.")
    problem(ochami(c, "DELETE", "/hsm/v2/State/Components/" + x % 1), 404)
    problem(ochami(c, "GET", "/hsm/v2/State/Components/ByNID/99999"), 404, "no such NID.")


def test_ethernet_interfaces(corrald):
    c = corrald
    a, b = uniq("eth"), uniq("eth")
    for n in (a, b):
        assert c.post("/api/v1/nodes", {"name": n}).status == 201
    mac = next_mac()
    mid = mac.replace(":", "")
    # ochami smd iface add (the struct ochami marshals)
    body = {"ID": "", "ComponentID": a, "Type": "Node", "Description": "eth0",
            "MACAddress": mac, "IPAddresses": [{"IPAddress": "10.9.0.5", "Network": "mgmt"}]}
    r = ochami(c, "POST", "/hsm/v2/Inventory/EthernetInterfaces", body)
    assert r.status == 201, r
    assert r.json == {"URI": "/hsm/v2/Inventory/EthernetInterfaces/" + mid}
    assert r.headers.get("Location") == "/hsm/v2/Inventory/EthernetInterfaces/" + mid
    assert c.get("/api/v1/nodes/" + a).body["interfaces"] == [{"mac": mac, "ip": "10.9.0.5"}]
    problem(ochami(c, "POST", "/hsm/v2/Inventory/EthernetInterfaces", body), 409,
            "same MAC address")
    problem(ochami(c, "POST", "/hsm/v2/Inventory/EthernetInterfaces",
                   dict(body, MACAddress=next_mac(), ComponentID="nosuch")), 400, "nosuch")
    problem(ochami(c, "POST", "/hsm/v2/Inventory/EthernetInterfaces",
                   dict(body, MACAddress="zz")), 400)
    r = ochami(c, "GET", "/hsm/v2/Inventory/EthernetInterfaces", token=c.read_token,
               query={"MACAddress": mac})
    assert [(e["ID"], e["ComponentID"]) for e in r.json] == [(mid, a)]
    r = ochami(c, "GET", "/hsm/v2/Inventory/EthernetInterfaces/%s/IPAddresses" % mid)
    assert r.json == [{"IPAddress": "10.9.0.5"}]
    # PATCH: to node b, another address
    r = ochami(c, "PATCH", "/hsm/v2/Inventory/EthernetInterfaces/" + mid,
               {"ComponentID": b, "IPAddresses": [{"IPAddress": "10.9.0.6"}]})
    assert r.status == 200, r
    assert (r.json["ComponentID"], r.json["IPAddresses"]) == (b, [{"IPAddress": "10.9.0.6"}])
    assert c.get("/api/v1/nodes/" + a).body["interfaces"] == []
    assert c.get("/api/v1/nodes/" + b).body["interfaces"] == [{"mac": mac, "ip": "10.9.0.6"}]
    problem(ochami(c, "PATCH", "/hsm/v2/Inventory/EthernetInterfaces/" + mid, {}), 400)
    # Corral's CLI adds one; SMD lists it
    mac2 = next_mac()
    corral_cli(c, "node", "set", a, "--mac", mac2)
    r = ochami(c, "GET", "/hsm/v2/Inventory/EthernetInterfaces/" + mac2.replace(":", ""))
    assert (r.status, r.json["ComponentID"]) == (200, a)
    r = ochami(c, "DELETE", "/hsm/v2/Inventory/EthernetInterfaces/" + mid)
    assert (r.status, r.json) == (200, {"code": 0, "message": "deleted 1 entry"})
    assert c.get("/api/v1/nodes/" + b).body["interfaces"] == []
    problem(ochami(c, "GET", "/hsm/v2/Inventory/EthernetInterfaces/" + mid), 404)


def test_groups(corrald):
    c = corrald
    n1, n2 = uniq("gm"), uniq("gm")
    for n in (n1, n2):
        assert c.post("/api/v1/nodes", {"name": n, "groups": ["first" + n]}).status == 201
    label = uniq("grp")
    r = ochami(c, "POST", "/hsm/v2/groups", {"label": label, "description": "d",
                                            "tags": ["t"], "members": {"ids": [n1]}})
    assert r.status == 201, r
    assert c.get("/api/v1/nodes/" + n1).body["groups"] == ["first" + n1, label]  # last
    r = ochami(c, "POST", "/hsm/v2/groups/%s/members" % label, {"id": n2})
    assert r.status == 201, r
    assert r.json == [{"URI": "/hsm/v2/groups/%s/members/%s" % (label, n2)}]
    problem(ochami(c, "POST", "/hsm/v2/groups/%s/members" % label, {"id": n2}), 409)
    r = ochami(c, "GET", "/hsm/v2/groups/%s/members" % label)
    assert sorted(r.json["ids"]) == sorted([n1, n2])
    # PUT (ochami smd group member set): exactly n2
    r = ochami(c, "PUT", "/hsm/v2/groups/%s/members" % label, {"group": label, "ids": [n2]})
    assert r.status == 201, r
    assert c.get("/api/v1/groups/" + label).body["members"] == [n2]
    r = ochami(c, "PATCH", "/hsm/v2/groups/" + label, {"description": "new"})
    assert r.status == 204
    assert c.get("/api/v1/groups/" + label).body["description"] == "new"
    assert label in ochami(c, "GET", "/hsm/v2/groups/labels").json
    r = ochami(c, "DELETE", "/hsm/v2/groups/%s/members/%s" % (label, n2))
    assert (r.status, r.json) == (200, {"code": 0, "message": "deleted 1 entry"})
    problem(ochami(c, "DELETE", "/hsm/v2/groups/%s/members/%s" % (label, n2)), 404)
    # a group made with Corral's CLI, read through SMD, deleted through SMD
    g2 = uniq("cg")
    corral_cli(c, "group", "create", g2)
    corral_cli(c, "node", "set", n1, "--group", "first%s,%s" % (n1, g2))
    r = ochami(c, "GET", "/hsm/v2/groups/" + g2)
    assert r.json == {"label": g2, "description": "", "members": {"ids": [n1]}}
    r = ochami(c, "DELETE", "/hsm/v2/groups/" + g2)
    assert (r.status, r.json) == (200, {"code": 0, "message": "deleted 1 entry"})
    assert g2 not in c.get("/api/v1/nodes/" + n1).body["groups"]
    problem(ochami(c, "GET", "/hsm/v2/groups/" + g2), 404, "No such group")
    # bad input writes nothing
    before = c.get("/api/v1/groups").body
    problem(ochami(c, "POST", "/hsm/v2/groups", {"label": uniq("g"),
                                                "members": {"ids": [n1, "nosuch"]}}), 400)
    problem(ochami(c, "POST", "/hsm/v2/groups", {"label": "bad label"}), 400)
    problem(ochami(c, "POST", "/hsm/v2/groups", {"label": uniq("g"), "exclusiveGroup": "x"}),
            400)
    assert c.get("/api/v1/groups").body == before
    r = ochami(c, "GET", "/hsm/v2/memberships", query={"id": n1})
    assert r.json == [{"id": n1, "groupLabels": c.get("/api/v1/nodes/" + n1).body["groups"],
                       "partitionName": ""}]


def test_service_and_auth(corrald):
    c = corrald
    r = ochami(c, "GET", "/hsm/v2/service/ready", token=NO_TOKEN)
    assert (r.status, r.json) == (200, {"code": 0, "message": "HSM is healthy"})
    r = ochami(c, "GET", "/hsm/v2/service/liveness", token=NO_TOKEN)
    assert (r.status, r.raw) == (204, b"")
    r = ochami(c, "GET", "/hsm/v2/service/values", token=NO_TOKEN)
    assert r.status == 200 and r.json["Type"] == ["Node"] and "Ready" in r.json["State"]
    problem(ochami(c, "GET", "/hsm/v2/State/Components", token=NO_TOKEN), 401)
    problem(ochami(c, "POST", "/hsm/v2/groups", {"label": "x"}, token=c.read_token), 403)
    assert ochami(c, "GET", "/hsm/v2/groups", token=c.read_token).status == 200
    problem(ochami(c, "GET", "/hsm/v2/Inventory/Hardware"), 404)
    r = ochami(c, "PATCH", "/hsm/v2/groups", {})
    problem(r, 405)


def test_delete_all(fresh_corrald):
    c = fresh_corrald
    items = nodes_yaml(3)
    discover_static(c, items)
    r = ochami(c, "DELETE", "/hsm/v2/Inventory/EthernetInterfaces")
    assert (r.status, r.json["message"]) == (200, "deleted 3 entries")
    r = ochami(c, "DELETE", "/hsm/v2/Inventory/RedfishEndpoints")
    assert (r.status, r.json["message"]) == (200, "deleted 1 entries")
    r = ochami(c, "DELETE", "/hsm/v2/State/Components")
    assert (r.status, r.json["message"]) == (200, "deleted 2 entries")
    assert c.get("/api/v1/nodes").body == []
    problem(ochami(c, "DELETE", "/hsm/v2/State/Components"), 404, "no entries to delete")


def test_rfe_odd_values_kept_out(corrald):
    """What corrald's Redfish worker later reads is as discovery would have
    it: reset types are strings, texts are short strings."""
    c = corrald
    body = magellan_payload("x3000c0s5b0", "10.20.0.15", {"bmc": next_mac(), "host": next_mac()})
    body["Systems"][0]["actions"] = [1, None, "On", {"x": 1}, "ForceOff"]
    body["Systems"][0]["serial"] = 12345
    body["Systems"][0]["model"] = "m" * 300
    assert magellan_send(c, body).status == 201
    bmc = next(x for x in c.get("/api/v1/bmcs").body if x["address"] == "10.20.0.15")
    s = bmc["systems"][0]
    assert s["reset_types"] == ["On", "ForceOff"]
    assert (s["serial"], s["model"]) == (None, None)
    assert s["power_checked"]
