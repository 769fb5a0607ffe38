#!/usr/bin/python3
"""Redfish fixture server: many fake BMCs of chosen shapes on many addresses.

For corrald's discovery, inventory and power tests (and `make bench`): one
process serves any number of addresses (e.g. 127.0.1.1-127.0.1.255, all on
one port, or a port per address), each with a tree "shape" and credentials
of its own.  Standard library only; run with /usr/bin/python3.  Plain HTTP
unless --cert/--key are given (then every address speaks HTTPS).  Bind
loopback or namespace addresses only: 127.0.0.0/8 needs no setup on Linux.

Library:

    from redfish_fixture import FixtureServer, expected
    with FixtureServer({"127.0.1.1": "standard", "127.0.1.2": {"shape": "dell",
                        "user": "root", "password": "calvin"}}, port=8443) as fx:
        ...                      # run discovery against 127.0.1.1-127.0.1.2:8443
        fx.state("127.0.1.1")    # power state, boot override, resets received
        expected("127.0.1.2", "dell")   # what discovery should find there

CLI:

    redfish_fixture.py --listen 127.0.1.1-127.0.1.20 --port 8443 --shape systems-only
    redfish_fixture.py --listen 127.0.2.1-127.0.2.40 --shape all   # every shape in turn
    redfish_fixture.py --map map.json          # {"127.0.1.1": "dell", "127.0.1.2-127.0.1.9":
                                               #  {"shape": "standard", "user": "u",
                                               #   "password": "p", "port": 9000}}
    redfish_fixture.py --map map.json --describe   # print expected() for every address
    redfish_fixture.py --list-shapes

It prints "ready <n> endpoints" on stdout once every socket is bound and
serves until SIGINT/SIGTERM.  --listen takes A, A-B, A-<last octet> or a
CIDR (its host addresses); at most 4096 addresses.

Deterministic values
--------------------
For an address a.b.c.d (only b, c, d are used; in hex below as bb cc dd):

    host NIC k of system s       02:bb:cc:dd:0s:0k     e.g. 127.0.1.7 -> 02:00:01:07:01:01
    the BMC's own NIC            02:bb:cc:dd:00:01
    host-to-BMC link, host side  02:bb:cc:dd:0s:fk     (k = 1, 2)
    host-to-BMC link, BMC side   02:bb:cc:dd:00:f1
    system UUID                  uuid5(NAMESPACE_URL, "corral-fixture/<addr>/system/<s>")
    BMC UUID                     uuid5(NAMESPACE_URL, "corral-fixture/<addr>/bmc")
    system serial                FX<BB><CC><DD>-<s>  (hex, upper case)

MACs are served in lower case except in "dell" (upper case); corrald should
normalise.  expected(addr, shape) returns all of this as a dict: outcome,
bmc_mac, and per system: id, path, uuid, serial, manufacturer, model,
power_state, macs (normalised, in the order a walk meets them, duplicates
removed), reset_types, boot_targets; plus "skip": the interfaces served
that must NOT become host NICs, each with the reason.

Credentials
-----------
Per address (default admin/admin).  /redfish, /redfish/v1 and
POST /redfish/v1/SessionService/Sessions need none (as Redfish says);
everything else wants HTTP basic or an X-Auth-Token from a session
(POST {"UserName","Password"} -> 201, X-Auth-Token + Location; DELETE the
Location to log out).  Wrong or missing credentials: 401 with a Redfish
error body and WWW-Authenticate.  Errors always have the shape
{"error": {"code": "Base.1.0.GeneralError", "message": ...,
"@Message.ExtendedInfo": [{"MessageId": ...}]}}.

Power and boot: every shape with a system accepts POST
.../Actions/ComputerSystem.Reset (the reset types it lists; others 400)
and PATCH Systems/<id> {"Boot": {"BootSourceOverrideTarget",
"BootSourceOverrideEnabled"}}; PowerState starts "Off" ("power": "On" in a
--map entry changes that), changes as a real BMC's would, and a "Once"
override reverts to None/Disabled when the system powers on.  Not Redfish:
GET /_fixture/state (no auth) shows an address's state as JSON (power,
boot, resets received, requests served) and GET /_fixture/expected its
expected() answer, for tests that run in another process.

Shapes (name: what is served -> what discovery should make of it)
------------------------------------------------------------------
Well-formed trees; system "1", manager "1", chassis "1" unless said:

standard          NICs under Systems/1/EthernetInterfaces (1: M11, 2: M12, MACAddress
                  and PermanentMACAddress), the BMC's NIC under Managers/1/EthernetInterfaces
                  (M01), Chassis/1.  -> one node, NICs M11 M12; BMC MAC M01.
systems-only      As standard, but the manager has no EthernetInterfaces.
                  -> one node M11 M12; BMC MAC unknown (None).
managers-only     The system lists no NIC collection at all; the only EthernetInterfaces
                  are the Manager's (M01).  Judgement: no vendor puts host NICs under the
                  Manager; a Manager's EthernetInterfaces are always the BMC's own, so
                  corrald must not register M01 as a host NIC.  -> system stored with no
                  NICs, no node created (report "no host NIC"); BMC MAC M01.
network-adapters  No EthernetInterfaces; Systems/1/NetworkInterfaces/NIC.Slot.1 links (its
                  NetworkDeviceFunctions, and Links.NetworkAdapter) to
                  Chassis/1/NetworkAdapters/NIC.Slot.1, whose NetworkDeviceFunctions
                  NIC.Slot.1-1-1 / NIC.Slot.1-2-1 carry Ethernet.MACAddress (and
                  PermanentMACAddress) M11 / M12; its NetworkPorts 1 / 2 repeat them in
                  AssociatedNetworkAddresses.  -> one node M11 M12; BMC MAC M01.
permanent-mac     EthernetInterfaces 1 has no MACAddress key, 2 has "MACAddress": null;
                  both have PermanentMACAddress (M11, M12).  -> one node M11 M12.
no-managers       The service root has no Managers and no Chassis link.
                  -> one node M11 M12; BMC MAC None.
no-systems        The service root has no Systems link (Managers/1 with M01 is there).
                  -> BMC stored (M01), no system, no node.
no-nics           System 1 links neither EthernetInterfaces nor NetworkInterfaces.
                  -> system stored with no NICs, no node; BMC MAC M01.
broken-links      The root links Chassis and Managers but both answer 404; the
                  EthernetInterfaces collection lists 1 (M11) and 2, and member 2 answers
                  404.  -> one node with M11 (the dangling member reported, not fatal);
                  BMC MAC None.
vlan-duplicates   EthernetInterfaces: 1 (M11), 1.100 (a VLAN sub-interface repeating M11,
                  "VLAN": {"VLANEnable": true, "VLANId": 100}), 2 (M12, with a VLANs
                  collection), bond0 (a bond repeating M11).  -> one node M11 M12: a MAC
                  seen twice is one NIC.
host-interface    EthernetInterfaces: 1 (M11, a real NIC); ToManager (02:..:01:f1,
                  enabled, IPv4 169.254.95.120 AddressOrigin IPv4LinkLocal: Lenovo-style
                  host side of the host-to-BMC link); usb0 (02:..:01:f2,
                  InterfaceEnabled false, 169.254.0.2).  Managers/1/EthernetInterfaces:
                  1 (M01) and usb0 (02:..:00:f1, 169.254.0.1), and Managers/1/HostInterfaces/1.
                  corrald should skip an interface when InterfaceEnabled is false, or when
                  it has IPv4 addresses and all are link-local (169.254.0.0/16), or when
                  its Id/Name is "ToManager", "usb<n>" or names a host interface.  The
                  same rules pick the BMC MAC on the Manager side.
                  -> one node M11; BMC MAC M01.
dell              Dell-like ids: Systems/System.Embedded.1, Managers/iDRAC.Embedded.1,
                  Chassis/System.Embedded.1, NICs NIC.Integrated.1-1-1 and
                  NIC.Integrated.1-2-1, manager NIC NIC.1; MACs in UPPER case; Reset On
                  while On answers 409 (as iDRAC does).  -> one node M11 M12 (lower-cased);
                  BMC MAC M01.
self-ids          Systems/self, Managers/self, Chassis/self.  -> as standard.
slash-ids         Ids "1" but every @odata.id ends in "/" (HPE iLO style); both forms are
                  served.  -> as standard.
multi-system      Two systems Blade1 (M11 M12) and Blade2 (M21 M22) behind one manager
                  (an enclosure).  -> two nodes; BMC MAC M01.
boot-revert       As standard, but a boot override PATCH answers 204 and changes nothing
                  (some BMCs accept and silently revert): a read-back shows None/Disabled.
limited-reset     As standard, but the Reset action has no inline allowable values: it
                  points to "@Redfish.ActionInfo" Systems/1/ResetActionInfo whose ResetType
                  parameter allows On, ForceOff, GracefulRestart, PushPowerButton (no
                  ForceRestart, no GracefulShutdown); other types 400.

Bad peers (each should give a clear per-address result and store nothing):

unauthorized      401 for every request, the service root included.  -> "auth-failed".
error-500         Service root fine; every other request 500.  -> "error".
malformed-json    Root and collections fine; Systems/1 is cut-off JSON.  -> "malformed".
malformed-root    The service root is not valid JSON.  -> "not-redfish".
not-redfish       An HTML page (200, text/html) at /redfish/v1/, 404 elsewhere.
                  -> "not-redfish".
hang              Accepts the TCP connection, never reads or answers.  -> "timeout".
stall             Sends the root's headers (Content-Length 4096) and 64 bytes of body,
                  then nothing.  -> "timeout" (total timeout, not connect timeout).
huge              The service root is a 50 MiB JSON document (Content-Length given;
                  --huge-mib changes the size).  -> "too-large" (capped read).
huge-chunked      Root and collections fine; Systems/1 is 50 MiB, chunked (no
                  Content-Length).  -> "too-large".
"""

import argparse
import base64
import hmac
import ipaddress
import json
import secrets
import selectors
import signal
import socket
import ssl
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler

R = "/redfish/v1"
DEFAULT_USER = "admin"
DEFAULT_PASSWORD = "admin"
DEFAULT_PORT = 8443
MAX_ADDRESSES = 4096
MAX_BODY = 64 * 1024
IDLE_TIMEOUT = 30.0  # seconds a keep-alive connection may sit idle
MAX_HELD = 4096      # "hang" connections kept open at most

RESET_TYPES = ["On", "ForceOff", "GracefulShutdown", "ForceRestart", "GracefulRestart",
               "PushPowerButton", "Nmi"]
BOOT_TARGETS = ["None", "Pxe", "Hdd"]
BOOT_ENABLED = ["Disabled", "Once", "Continuous"]

SHAPES = {
    "standard": "NICs under Systems and the BMC NIC under Managers",
    "systems-only": "NICs under Systems only; manager without EthernetInterfaces",
    "managers-only": "only the Manager has EthernetInterfaces (the BMC's own)",
    "network-adapters": "NetworkInterfaces -> Chassis NetworkAdapters, no EthernetInterfaces",
    "permanent-mac": "PermanentMACAddress only (MACAddress absent or null)",
    "no-managers": "service root without Managers and Chassis",
    "no-systems": "service root without Systems",
    "no-nics": "system without any NIC collection",
    "broken-links": "linked Managers/Chassis answer 404; one NIC member 404",
    "vlan-duplicates": "VLAN sub-interface and bond repeating the parent's MAC",
    "host-interface": "host-to-BMC link interfaces (ToManager, usb0) next to a real NIC",
    "dell": "Dell-like ids (System.Embedded.1), upper-case MACs, 409 on On while On",
    "self-ids": "members named self",
    "slash-ids": "@odata.id with a trailing slash",
    "multi-system": "two systems behind one manager",
    "boot-revert": "boot override PATCH accepted and silently ignored",
    "limited-reset": "reset types only through @Redfish.ActionInfo, no ForceRestart",
    "unauthorized": "401 for everything",
    "error-500": "service root fine, 500 for everything else",
    "malformed-json": "Systems/1 is cut-off JSON",
    "malformed-root": "service root is not JSON",
    "not-redfish": "an HTML page",
    "hang": "accepts the connection, never answers",
    "stall": "headers and part of the body, then silence",
    "huge": "a 50 MiB service root (Content-Length)",
    "huge-chunked": "a 50 MiB Systems/1, chunked",
}


# ---------------------------------------------------------------- values


def _octets(addr):
    ip = ipaddress.ip_address(addr)
    if ip.version != 4:
        raise ValueError("fixture addresses are IPv4: %s" % addr)
    return ip.packed[1], ip.packed[2], ip.packed[3]


def mac(addr, s, k):
    """The fixture's MAC for system s (0 = the BMC), NIC k, at addr."""
    b, c, d = _octets(addr)
    return "02:%02x:%02x:%02x:%02x:%02x" % (b, c, d, s, k)


def system_uuid(addr, s):
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "corral-fixture/%s/system/%d" % (addr, s)))


def bmc_uuid(addr):
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "corral-fixture/%s/bmc" % addr))


def serial(addr, s):
    b, c, d = _octets(addr)
    return "FX%02X%02X%02X-%d" % (b, c, d, s)


def expand(spec):
    """Addresses of "A", "A-B", "A-<last octet>" or a CIDR, in order."""
    spec = spec.strip()
    if "/" in spec:
        net = ipaddress.ip_network(spec, strict=False)
        out = [str(h) for h in net.hosts()] if net.num_addresses > 2 else [str(net.network_address)]
    elif "-" in spec:
        a, b = spec.split("-", 1)
        first = ipaddress.IPv4Address(a)
        if "." not in b:
            b = a.rsplit(".", 1)[0] + "." + b
        last = ipaddress.IPv4Address(b)
        if last < first:
            raise ValueError("empty range %s" % spec)
        if int(last) - int(first) >= MAX_ADDRESSES:
            raise ValueError("range %s: more than %d addresses" % (spec, MAX_ADDRESSES))
        out = [str(ipaddress.IPv4Address(i)) for i in range(int(first), int(last) + 1)]
    else:
        out = [str(ipaddress.IPv4Address(spec))]
    if len(out) > MAX_ADDRESSES:
        raise ValueError("%s: more than %d addresses" % (spec, MAX_ADDRESSES))
    return out


# ---------------------------------------------------------------- trees


class Tree:
    """The resources of one address at one moment: path -> JSON value, plus
    the expectation the same data implies.  Paths are stored without a
    trailing slash."""

    def __init__(self, addr, shape, state):
        self.addr = addr
        self.shape = shape
        self.state = state
        self.res = {}
        self.missing = set()  # linked but answering 404
        self.expect = {"address": addr, "shape": shape, "outcome": "ok", "bmc_mac": None,
                       "systems": [], "skip": []}
        self.slash = shape == "slash-ids"
        self.upper = shape == "dell"

    def ref(self, path):
        return {"@odata.id": path + "/" if self.slash else path}

    def m(self, s, k):
        v = mac(self.addr, s, k)
        return v.upper() if self.upper else v

    def put(self, path, body):
        body = dict(body)
        body.setdefault("@odata.id", path + "/" if self.slash else path)
        self.res[path] = body
        return body

    def collection(self, path, otype, name, members):
        return self.put(path, {"@odata.type": "#%s.%s" % (otype, otype), "Name": name,
                               "Members": [self.ref(p) for p in members],
                               "Members@odata.count": len(members)})

    def nic(self, path, nid, mac_value, name=None, **extra):
        body = {"@odata.type": "#EthernetInterface.v1_6_0.EthernetInterface", "Id": nid,
                "Name": name or ("Ethernet Interface %s" % nid), "MACAddress": mac_value,
                "PermanentMACAddress": mac_value, "InterfaceEnabled": True,
                "LinkStatus": "LinkUp", "Status": {"State": "Enabled", "Health": "OK"}}
        body.update(extra)
        for k, v in list(body.items()):
            if v is _ABSENT:
                del body[k]
        return self.put(path + "/" + nid, body)


_ABSENT = object()


def _ids(shape):
    if shape == "dell":
        return {"sys": ["System.Embedded.1"], "mgr": "iDRAC.Embedded.1",
                "chassis": "System.Embedded.1",
                "nics": ["NIC.Integrated.1-1-1", "NIC.Integrated.1-2-1"], "mgr_nic": "NIC.1"}
    if shape == "self-ids":
        return {"sys": ["self"], "mgr": "self", "chassis": "self", "nics": ["1", "2"],
                "mgr_nic": "1"}
    if shape == "multi-system":
        return {"sys": ["Blade1", "Blade2"], "mgr": "1", "chassis": "Enclosure",
                "nics": ["1", "2"], "mgr_nic": "1"}
    return {"sys": ["1"], "mgr": "1", "chassis": "1", "nics": ["1", "2"], "mgr_nic": "1"}


def _reset_allowed(shape):
    if shape == "limited-reset":
        return ["On", "ForceOff", "GracefulRestart", "PushPowerButton"]
    return ["On", "ForceOff", "GracefulShutdown", "ForceRestart"]


def build(addr, shape, state):
    """The Tree of a well-formed shape (bad peers use the 'standard' tree
    for whatever they answer normally)."""
    t = Tree(addr, shape, state)
    ids = _ids(shape)
    root = {"@odata.type": "#ServiceRoot.v1_5_0.ServiceRoot", "Id": "RootService",
            "Name": "Corral Redfish fixture", "RedfishVersion": "1.6.0", "UUID": bmc_uuid(addr),
            "Vendor": "Corral fixture", "SessionService": t.ref(R + "/SessionService"),
            "Links": {"Sessions": t.ref(R + "/SessionService/Sessions")}}
    if shape != "no-systems":
        root["Systems"] = t.ref(R + "/Systems")
    if shape != "no-managers":
        root["Managers"] = t.ref(R + "/Managers")
        root["Chassis"] = t.ref(R + "/Chassis")
    t.put(R, root)
    t.put("/redfish", {"v1": R + "/"})
    t.res["/redfish"].pop("@odata.id")
    t.put(R + "/SessionService", {"@odata.type": "#SessionService.v1_1_6.SessionService",
                                  "Id": "SessionService", "Name": "Session Service",
                                  "ServiceEnabled": True, "SessionTimeout": 1800,
                                  "Sessions": t.ref(R + "/SessionService/Sessions")})
    sessions = [R + "/SessionService/Sessions/" + sid for sid in sorted(state.session_ids())]
    t.collection(R + "/SessionService/Sessions", "SessionCollection", "Sessions", sessions)
    for p in sessions:
        t.put(p, {"@odata.type": "#Session.v1_0_0.Session", "Id": p.rsplit("/", 1)[1],
                  "Name": "User Session", "UserName": state.user})

    mgr = R + "/Managers/" + ids["mgr"]
    chassis = R + "/Chassis/" + ids["chassis"]
    sys_paths = [R + "/Systems/" + s for s in ids["sys"]]

    # -- managers
    if shape != "no-managers":
        t.collection(R + "/Managers", "ManagerCollection", "Managers", [mgr])
        mbody = {"@odata.type": "#Manager.v1_5_0.Manager", "Id": ids["mgr"], "Name": "BMC",
                 "ManagerType": "BMC", "UUID": bmc_uuid(addr), "FirmwareVersion": "1.0",
                 "Status": {"State": "Enabled", "Health": "OK"},
                 "Links": {"ManagerForServers": [t.ref(p) for p in sys_paths],
                           "ManagerForChassis": [t.ref(chassis)]}}
        if shape != "systems-only":
            mbody["EthernetInterfaces"] = t.ref(mgr + "/EthernetInterfaces")
            members = [mgr + "/EthernetInterfaces/" + ids["mgr_nic"]]
            if shape == "host-interface":
                members.append(mgr + "/EthernetInterfaces/usb0")
            t.collection(mgr + "/EthernetInterfaces", "EthernetInterfaceCollection",
                         "Manager Ethernet Interfaces", members)
            t.nic(mgr + "/EthernetInterfaces", ids["mgr_nic"], t.m(0, 1), "Manager NIC",
                  IPv4Addresses=[{"Address": "10.%d.%d.%d" % _octets(addr),
                                  "AddressOrigin": "DHCP", "SubnetMask": "255.0.0.0"}])
            t.expect["bmc_mac"] = mac(addr, 0, 1)
            if shape == "host-interface":
                t.nic(mgr + "/EthernetInterfaces", "usb0", t.m(0, 0xf1), "Host Interface",
                      IPv4Addresses=[{"Address": "169.254.0.1", "AddressOrigin": "IPv4LinkLocal",
                                      "SubnetMask": "255.255.0.0"}])
                t.expect["skip"].append({"mac": mac(addr, 0, 0xf1), "where": "manager",
                                         "why": "host-to-BMC link (usb0, link-local)"})
                mbody["HostInterfaces"] = t.ref(mgr + "/HostInterfaces")
                t.collection(mgr + "/HostInterfaces", "HostInterfaceCollection",
                             "Host Interfaces", [mgr + "/HostInterfaces/1"])
                t.put(mgr + "/HostInterfaces/1", {
                    "@odata.type": "#HostInterface.v1_2_0.HostInterface", "Id": "1",
                    "Name": "Host Interface", "HostInterfaceType": "NetworkHostInterface",
                    "InterfaceEnabled": True,
                    "ManagerEthernetInterface": t.ref(mgr + "/EthernetInterfaces/usb0"),
                    "HostEthernetInterfaces": t.ref(sys_paths[0] + "/EthernetInterfaces")})
        t.put(mgr, mbody)
        t.collection(R + "/Chassis", "ChassisCollection", "Chassis", [chassis])
        cbody = {"@odata.type": "#Chassis.v1_11_0.Chassis", "Id": ids["chassis"],
                 "Name": "Chassis", "ChassisType": "Enclosure" if shape == "multi-system"
                 else "RackMount", "Manufacturer": "Corral", "SerialNumber": serial(addr, 0),
                 "Links": {"ComputerSystems": [t.ref(p) for p in sys_paths],
                           "ManagedBy": [t.ref(mgr)]}}
        t.put(chassis, cbody)
        if shape == "broken-links":
            t.missing.update({R + "/Managers", mgr, R + "/Chassis", chassis})
            t.expect["bmc_mac"] = None

    if shape == "no-systems":
        return t

    # -- systems
    t.collection(R + "/Systems", "ComputerSystemCollection", "Systems", sys_paths)
    for si, (sid, sp) in enumerate(zip(ids["sys"], sys_paths), start=1):
        st = state.system(sid)
        allowed = _reset_allowed(shape)
        reset = {"target": sp + "/Actions/ComputerSystem.Reset"}
        if shape == "limited-reset":
            reset["@Redfish.ActionInfo"] = sp + "/ResetActionInfo"
            t.put(sp + "/ResetActionInfo", {
                "@odata.type": "#ActionInfo.v1_1_2.ActionInfo", "Id": "ResetActionInfo",
                "Name": "Reset Action Info",
                "Parameters": [{"Name": "ResetType", "Required": True, "DataType": "String",
                                "AllowableValues": allowed}]})
        else:
            reset["ResetType@Redfish.AllowableValues"] = allowed
        body = {"@odata.type": "#ComputerSystem.v1_10_0.ComputerSystem", "Id": sid,
                "Name": "System %s" % sid, "SystemType": "Physical", "UUID": system_uuid(addr, si),
                "SerialNumber": serial(addr, si), "Manufacturer": "Corral Fixture",
                "Model": "Shape %s" % shape, "PowerState": st["power"],
                "Status": {"State": "Enabled", "Health": "OK"},
                "Boot": {"BootSourceOverrideTarget": st["boot_target"],
                         "BootSourceOverrideEnabled": st["boot_enabled"],
                         "BootSourceOverrideTarget@Redfish.AllowableValues": BOOT_TARGETS},
                "Actions": {"#ComputerSystem.Reset": reset},
                "Links": {"Chassis": [t.ref(chassis)], "ManagedBy": [t.ref(mgr)]}}
        exp = {"id": sid, "path": sp, "uuid": system_uuid(addr, si), "serial": serial(addr, si),
               "manufacturer": "Corral Fixture", "model": "Shape %s" % shape,
               "power_state": st["power"], "reset_types": allowed, "boot_targets": BOOT_TARGETS,
               "macs": []}
        t.expect["systems"].append(exp)
        nics = sp + "/EthernetInterfaces"
        if shape in ("managers-only", "no-nics"):
            pass
        elif shape == "network-adapters":
            body["NetworkInterfaces"] = t.ref(sp + "/NetworkInterfaces")
            _network_adapters(t, sp, chassis, si, exp)
        else:
            body["EthernetInterfaces"] = t.ref(nics)
            _ethernet_interfaces(t, nics, ids, si, exp)
        t.put(sp, body)
    return t


def _ethernet_interfaces(t, nics, ids, si, exp):
    shape, addr = t.shape, t.addr
    n1, n2 = ids["nics"]
    members = [n1, n2]
    if shape == "vlan-duplicates":
        members = [n1, n1 + ".100", n2, "bond0"]
    elif shape == "host-interface":
        members = [n1, "ToManager", "usb0"]
    elif shape == "broken-links":
        t.missing.add(nics + "/" + n2)
    t.collection(nics, "EthernetInterfaceCollection", "Ethernet Interfaces",
                 [nics + "/" + m for m in members])
    if shape == "permanent-mac":
        t.nic(nics, n1, _ABSENT, PermanentMACAddress=t.m(si, 1))
        t.nic(nics, n2, None, PermanentMACAddress=t.m(si, 2))
    else:
        t.nic(nics, n1, t.m(si, 1))
        if shape != "host-interface":
            n2body = t.nic(nics, n2, t.m(si, 2))
    exp["macs"].append(mac(addr, si, 1))
    if shape == "host-interface":
        t.nic(nics, "ToManager", t.m(si, 0xf1), "Manager Network Interface",
              Description="Interface for communication with the BMC",
              IPv4Addresses=[{"Address": "169.254.95.120", "AddressOrigin": "IPv4LinkLocal",
                              "SubnetMask": "255.255.0.0"}])
        t.nic(nics, "usb0", t.m(si, 0xf2), "usb0", InterfaceEnabled=False, LinkStatus="NoLink",
              IPv4Addresses=[{"Address": "169.254.0.2", "AddressOrigin": "IPv4LinkLocal",
                              "SubnetMask": "255.255.0.0"}])
        t.expect["skip"] += [
            {"mac": mac(addr, si, 0xf1), "where": "system",
             "why": "host-to-BMC link (ToManager, link-local only)"},
            {"mac": mac(addr, si, 0xf2), "where": "system",
             "why": "InterfaceEnabled false (usb0, link-local)"}]
        return
    if shape != "broken-links":
        exp["macs"].append(mac(addr, si, 2))
    if shape == "vlan-duplicates":
        t.nic(nics, n1 + ".100", t.m(si, 1), "VLAN 100 on %s" % n1,
              VLAN={"VLANEnable": True, "VLANId": 100})
        t.nic(nics, "bond0", t.m(si, 1), "bond0", Description="Bond of %s and %s" % (n1, n2))
        n2body["VLANs"] = t.ref(nics + "/" + n2 + "/VLANs")
        t.collection(nics + "/" + n2 + "/VLANs", "VLanNetworkInterfaceCollection", "VLANs",
                     [nics + "/" + n2 + "/VLANs/200"])
        t.put(nics + "/" + n2 + "/VLANs/200", {
            "@odata.type": "#VLanNetworkInterface.v1_1_3.VLanNetworkInterface", "Id": "200",
            "Name": "VLAN 200", "VLANEnable": True, "VLANId": 200})
        t.expect["skip"] += [
            {"mac": mac(addr, si, 1), "where": "system", "why": "VLAN sub-interface 1.100 (duplicate)"},
            {"mac": mac(addr, si, 1), "where": "system", "why": "bond0 (duplicate)"}]


def _network_adapters(t, sp, chassis, si, exp):
    addr = t.addr
    ni = sp + "/NetworkInterfaces"
    ad = chassis + "/NetworkAdapters/NIC.Slot.1"
    t.res[chassis]["NetworkAdapters"] = t.ref(chassis + "/NetworkAdapters")
    t.collection(ni, "NetworkInterfaceCollection", "Network Interfaces", [ni + "/NIC.Slot.1"])
    t.put(ni + "/NIC.Slot.1", {
        "@odata.type": "#NetworkInterface.v1_2_0.NetworkInterface", "Id": "NIC.Slot.1",
        "Name": "Network Interface", "Status": {"State": "Enabled", "Health": "OK"},
        "Links": {"NetworkAdapter": t.ref(ad)},
        "NetworkDeviceFunctions": t.ref(ad + "/NetworkDeviceFunctions"),
        "NetworkPorts": t.ref(ad + "/NetworkPorts")})
    t.collection(chassis + "/NetworkAdapters", "NetworkAdapterCollection", "Network Adapters", [ad])
    t.put(ad, {"@odata.type": "#NetworkAdapter.v1_5_0.NetworkAdapter", "Id": "NIC.Slot.1",
               "Name": "Dual port adapter", "Manufacturer": "Corral",
               "NetworkDeviceFunctions": t.ref(ad + "/NetworkDeviceFunctions"),
               "NetworkPorts": t.ref(ad + "/NetworkPorts")})
    funcs = ["NIC.Slot.1-1-1", "NIC.Slot.1-2-1"]
    t.collection(ad + "/NetworkDeviceFunctions", "NetworkDeviceFunctionCollection", "Functions",
                 [ad + "/NetworkDeviceFunctions/" + f for f in funcs])
    t.collection(ad + "/NetworkPorts", "NetworkPortCollection", "Ports",
                 [ad + "/NetworkPorts/%d" % (k + 1) for k in range(2)])
    for k, f in enumerate(funcs, start=1):
        t.put(ad + "/NetworkDeviceFunctions/" + f, {
            "@odata.type": "#NetworkDeviceFunction.v1_3_3.NetworkDeviceFunction", "Id": f,
            "Name": f, "NetDevFuncType": "Ethernet",
            "Ethernet": {"MACAddress": t.m(si, k), "PermanentMACAddress": t.m(si, k)},
            "Links": {"PhysicalPortAssignment": t.ref(ad + "/NetworkPorts/%d" % k)}})
        t.put(ad + "/NetworkPorts/%d" % k, {
            "@odata.type": "#NetworkPort.v1_2_1.NetworkPort", "Id": str(k), "Name": "Port %d" % k,
            "PhysicalPortNumber": str(k), "LinkStatus": "Up",
            "AssociatedNetworkAddresses": [t.m(si, k)]})
        exp["macs"].append(mac(addr, si, k))


def _is_system(tree, path):
    body = tree.res.get(path)
    return body is not None and path not in tree.missing and \
        str(body.get("@odata.type", "")).startswith("#ComputerSystem.")


BAD_PEERS = {
    "unauthorized": "auth-failed", "error-500": "error", "malformed-json": "malformed",
    "malformed-root": "not-redfish", "not-redfish": "not-redfish", "hang": "timeout",
    "stall": "timeout", "huge": "too-large", "huge-chunked": "too-large",
}


def expected(addr, shape):
    """What discovery should conclude about `addr` serving `shape` (see the
    module docstring); a fresh state (power Off, no override)."""
    if shape not in SHAPES:
        raise ValueError("unknown shape %r" % shape)
    if shape in BAD_PEERS:
        return {"address": addr, "shape": shape, "outcome": BAD_PEERS[shape], "bmc_mac": None,
                "systems": [], "skip": []}
    return build(addr, shape, State(addr, shape, DEFAULT_USER, DEFAULT_PASSWORD)).expect


# ---------------------------------------------------------------- state


class State:
    """Mutable per-address state: power, boot override, sessions, counters."""

    def __init__(self, addr, shape, user, password, power="Off"):
        self.addr = addr
        self.shape = shape
        self.user = user
        self.password = password
        self.initial_power = power
        self.lock = threading.Lock()
        self.systems = {}
        self.sessions = {}  # token -> session id
        self.resets = []    # [(system id, reset type)]
        self.patches = 0
        self.requests = 0

    def system(self, sid):
        return self.systems.setdefault(sid, {"power": self.initial_power, "boot_target": "None",
                                             "boot_enabled": "Disabled"})

    def session_ids(self):
        return list(self.sessions.values())

    def snapshot(self):
        with self.lock:
            return {"address": self.addr, "shape": self.shape,
                    "systems": json.loads(json.dumps(self.systems)),
                    "resets": [list(r) for r in self.resets], "patches": self.patches,
                    "sessions": len(self.sessions), "requests": self.requests}


# ---------------------------------------------------------------- HTTP


def _error(msgid, message):
    return {"error": {"code": "Base.1.0.GeneralError", "message": message,
                      "@Message.ExtendedInfo": [{"MessageId": msgid, "Message": message,
                                                 "Severity": "Critical"}]}}


class Handler(BaseHTTPRequestHandler):
    """One connection's requests; self.entry is the address's Entry."""

    protocol_version = "HTTP/1.1"
    server_version = "CorralRedfishFixture/1.0"
    sys_version = ""
    timeout = IDLE_TIMEOUT

    def __init__(self, conn, peer, fixture, entry):
        self.fixture = fixture
        self.entry = entry
        super().__init__(conn, peer, fixture)

    def log_message(self, fmt, *args):
        if self.fixture.verbose:
            sys.stderr.write("fixture %s: %s\n" % (self.entry.addr, fmt % args))

    # -- replies

    def send_json(self, status, body, headers=()):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("OData-Version", "4.0")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def send_raw(self, status, ctype, data):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def send_error_json(self, status, msgid, message, headers=()):
        hdrs = list(headers)
        if status == 401:
            hdrs.append(("WWW-Authenticate", 'Basic realm="redfish-fixture"'))
        self.send_json(status, _error(msgid, message), hdrs)

    def send_empty(self, status, headers=()):
        self.send_response(status)
        self.send_header("Content-Length", "0")
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()

    # -- request plumbing

    def read_body(self):
        n = self.headers.get("Content-Length")
        try:
            n = int(n or 0)
        except ValueError:
            n = -1
        if n < 0 or n > MAX_BODY:
            self.send_error_json(413, "Base.1.0.GeneralError", "body too large")
            self.close_connection = True
            return None
        return self.rfile.read(n) if n else b""

    def json_body(self):
        raw = self.body
        try:
            v = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            v = None
        if not isinstance(v, dict):
            self.send_error_json(400, "Base.1.0.MalformedJSON", "The body is not a JSON object.")
            return None
        return v

    def authorised(self):
        st = self.entry.state
        tok = self.headers.get("X-Auth-Token")
        if tok is not None:
            with st.lock:
                ok = any(hmac.compare_digest(tok, t) for t in st.sessions)
            if ok:
                return True
            self.send_error_json(401, "Base.1.0.NoValidSession", "The session token is not valid.")
            return False
        auth = self.headers.get("Authorization", "")
        if auth[:6].lower() == "basic ":
            try:
                user, _, pw = base64.b64decode(auth[6:].strip(), validate=True).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                user, pw = None, None
            if user is not None and hmac.compare_digest(user, st.user) & \
                    hmac.compare_digest(pw, st.password):
                return True
            self.send_error_json(401, "Base.1.0.NoValidSession", "The user name or password is not valid.")
            return False
        self.send_error_json(401, "Base.1.0.NoValidSession", "Authentication is required.")
        return False

    def do_GET(self):
        self.dispatch("GET")

    def do_HEAD(self):
        self.dispatch("HEAD")

    def do_POST(self):
        self.dispatch("POST")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def do_PUT(self):
        self.dispatch("PUT")

    def dispatch(self, method):
        e = self.entry
        st = e.state
        with st.lock:
            st.requests += 1
        # Read any body first, whatever the answer: an unread body would be
        # taken for the next request on this keep-alive connection.
        self.body = self.read_body()
        if self.body is None:
            return
        path = self.path.split("?", 1)[0]
        while len(path) > 1 and path.endswith("/"):
            path = path[:-1]
        if path == "/_fixture/state" and method == "GET":
            return self.send_json(200, st.snapshot())
        if path == "/_fixture/expected" and method == "GET":
            return self.send_json(200, expected(e.addr, e.shape))
        shape = e.shape
        if shape == "unauthorized":
            return self.send_error_json(401, "Base.1.0.NoValidSession", "Authentication failed.")
        if shape == "not-redfish":
            if path == R:
                return self.send_raw(200, "text/html", b"<!doctype html><title>Router</title>"
                                     b"<h1>Welcome to your router</h1>\n")
            return self.send_raw(404, "text/html", b"<h1>Not Found</h1>\n")
        if shape == "malformed-root" and path == R:
            return self.send_raw(200, "application/json", b'{"@odata.id": "/redfish/v1/", "Id": "Ro')
        if shape == "huge" and path == R:
            return self.send_huge(chunked=False)
        if shape == "stall" and path == R:
            return self.send_stall()
        public = path in ("/redfish", R) and method in ("GET", "HEAD")
        login = path == R + "/SessionService/Sessions" and method == "POST"
        if shape == "error-500" and not public:
            return self.send_error_json(500, "Base.1.0.InternalError", "Internal error.")
        if not public and not login and not self.authorised():
            return
        if shape == "malformed-json" and path == R + "/Systems/1" and method in ("GET", "HEAD"):
            return self.send_raw(200, "application/json",
                                 b'{"@odata.id": "/redfish/v1/Systems/1", "Id": "1", "UUID": ')
        if shape == "huge-chunked" and path == R + "/Systems/1" and method == "GET":
            return self.send_huge(chunked=True)
        with st.lock:
            tree = build(e.addr, "standard" if shape in BAD_PEERS else shape, st)
        if login:
            return self.login()
        if path.endswith("/Actions/ComputerSystem.Reset"):
            sp = path[:-len("/Actions/ComputerSystem.Reset")]
            if _is_system(tree, sp):
                if method != "POST":
                    return self.not_allowed("POST")
                return self.reset(sp)
        if path in tree.missing or path not in tree.res:
            return self.send_error_json(404, "Base.1.0.ResourceMissingAtURI",
                                        "The resource at %s was not found." % path[:200])
        if path.startswith(R + "/SessionService/Sessions/"):
            if method == "DELETE":
                return self.logout(path.rsplit("/", 1)[1])
            if method in ("GET", "HEAD"):
                return self.send_json(200, tree.res[path])
            return self.not_allowed("GET, HEAD, DELETE")
        is_sys = _is_system(tree, path)
        if method == "PATCH" and is_sys:
            return self.patch(tree.res[path]["Id"])
        if method in ("GET", "HEAD"):
            return self.send_json(200, tree.res[path])
        return self.not_allowed("GET, HEAD, PATCH" if is_sys else "GET, HEAD")

    def not_allowed(self, allow):
        self.send_error_json(405, "Base.1.0.OperationNotAllowed", "Method not allowed.",
                             [("Allow", allow)])

    # -- actions

    def login(self):
        st = self.entry.state
        body = self.json_body()
        if body is None:
            return
        user, pw = body.get("UserName"), body.get("Password")
        if not isinstance(user, str) or not isinstance(pw, str):
            return self.send_error_json(400, "Base.1.0.PropertyMissing", "UserName and Password are required.")
        if not (hmac.compare_digest(user, st.user) & hmac.compare_digest(pw, st.password)):
            return self.send_error_json(401, "Base.1.0.NoValidSession", "The user name or password is not valid.")
        tok, sid = secrets.token_hex(32), secrets.token_hex(8)
        with st.lock:
            if len(st.sessions) >= 64:  # bounded: forget the oldest
                st.sessions.pop(next(iter(st.sessions)))
            st.sessions[tok] = sid
        loc = R + "/SessionService/Sessions/" + sid
        self.send_json(201, {"@odata.id": loc, "@odata.type": "#Session.v1_0_0.Session", "Id": sid,
                             "Name": "User Session", "UserName": user},
                       [("X-Auth-Token", tok), ("Location", loc)])

    def logout(self, sid):
        st = self.entry.state
        with st.lock:
            for tok, s in list(st.sessions.items()):
                if s == sid:
                    del st.sessions[tok]
                    break
        self.send_empty(204)

    def reset(self, sp):
        st = self.entry.state
        body = self.json_body()
        if body is None:
            return
        sid = sp.rsplit("/", 1)[1]
        allowed = _reset_allowed(self.entry.shape)
        rt = body.get("ResetType")
        if rt is None:
            return self.send_error_json(400, "Base.1.0.ActionParameterMissing", "ResetType is required.")
        if rt not in allowed:
            return self.send_error_json(400, "Base.1.0.ActionParameterNotSupported",
                                        "ResetType %s is not supported." % str(rt)[:64])
        with st.lock:
            s = st.system(sid)
            was = s["power"]
            if self.entry.shape == "dell" and rt == "On" and was == "On":
                conflict = True
            else:
                conflict = False
                now = {"On": "On", "ForceOff": "Off", "GracefulShutdown": "Off",
                       "ForceRestart": "On", "GracefulRestart": "On",
                       "PushPowerButton": "Off" if was == "On" else "On", "Nmi": was}[rt]
                boots = (now == "On" and was == "Off") or rt in ("ForceRestart", "GracefulRestart")
                s["power"] = now
                if boots and s["boot_enabled"] == "Once":
                    s["boot_target"], s["boot_enabled"] = "None", "Disabled"
                st.resets.append((sid, rt))
        if conflict:
            return self.send_error_json(409, "Base.1.0.GeneralError", "Server is already powered ON.")
        self.send_empty(204)

    def patch(self, sid):
        st = self.entry.state
        body = self.json_body()
        if body is None:
            return
        boot = body.get("Boot")
        if set(body) != {"Boot"} or not isinstance(boot, dict):
            return self.send_error_json(400, "Base.1.0.PropertyNotWritable", "Only Boot is writable.")
        target = boot.get("BootSourceOverrideTarget")
        enabled = boot.get("BootSourceOverrideEnabled")
        for k, v in boot.items():
            allowed = {"BootSourceOverrideTarget": BOOT_TARGETS,
                       "BootSourceOverrideEnabled": BOOT_ENABLED,
                       "BootSourceOverrideMode": ["Legacy", "UEFI"]}.get(k)
            if allowed is None:
                return self.send_error_json(400, "Base.1.0.PropertyUnknown", "Boot/%s is not known." % k[:64])
            if v not in allowed:
                return self.send_error_json(400, "Base.1.0.PropertyValueNotInList",
                                            "%s is not allowed for Boot/%s." % (str(v)[:64], k))
        with st.lock:
            st.patches += 1
            if self.entry.shape != "boot-revert":
                s = st.system(sid)
                if target is not None:
                    s["boot_target"] = target
                    if enabled is None and s["boot_enabled"] == "Disabled" and target != "None":
                        s["boot_enabled"] = "Once"
                if enabled is not None:
                    s["boot_enabled"] = enabled
                if s["boot_target"] == "None" or s["boot_enabled"] == "Disabled":
                    s["boot_target"], s["boot_enabled"] = "None", "Disabled"
        self.send_empty(204)

    # -- bad peers

    def send_huge(self, chunked):
        size = self.fixture.huge_bytes
        head = b'{"@odata.id": "/redfish/v1/", "Id": "RootService", "Oem": {"Pad": "'
        tail = b'"}}'
        pad = size - len(head) - len(tail)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(size))
        self.end_headers()
        block = b"x" * 65536
        try:
            def out(data):
                if chunked:
                    self.wfile.write(b"%x\r\n" % len(data) + data + b"\r\n")
                else:
                    self.wfile.write(data)
            out(head)
            while pad > 0:
                n = min(pad, len(block))
                out(block[:n])
                pad -= n
            out(tail)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
        except OSError:
            pass  # the client stopped reading: that is the point
        self.close_connection = True

    def send_stall(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "4096")
        self.end_headers()
        try:
            self.wfile.write(b'{"@odata.id": "/redfish/v1/", "Id": "RootService", "Name": "Sta')
            self.wfile.flush()
        except OSError:
            pass
        self.fixture.stopping.wait()
        self.close_connection = True


# ---------------------------------------------------------------- server


class Entry:
    def __init__(self, addr, port, shape, user=DEFAULT_USER, password=DEFAULT_PASSWORD, power="Off"):
        if shape not in SHAPES:
            raise ValueError("%s: unknown shape %r (see --list-shapes)" % (addr, shape))
        if power not in ("On", "Off"):
            raise ValueError("%s: power On or Off" % addr)
        self.addr = addr
        self.port = port
        self.shape = shape
        self.state = State(addr, shape, user, password, power)


def _entries(spec, port):
    """{address or range: shape | {shape, user, password, port, power}} -> [Entry]."""
    out = []
    seen = set()
    for key, val in spec.items():
        if isinstance(val, str):
            val = {"shape": val}
        if not isinstance(val, dict) or "shape" not in val:
            raise ValueError("%s: want a shape name or an object with 'shape'" % key)
        unknown = set(val) - {"shape", "user", "password", "port", "power"}
        if unknown:
            raise ValueError("%s: unknown keys %s" % (key, sorted(unknown)))
        addrs = expand(key)
        shapes = list(SHAPES) if val["shape"] == "all" else [val["shape"]]
        for i, a in enumerate(addrs):
            p = int(val.get("port", port))
            if (a, p) in seen:
                raise ValueError("%s:%d given twice" % (a, p))
            seen.add((a, p))
            out.append(Entry(a, p, shapes[i % len(shapes)], val.get("user", DEFAULT_USER),
                             val.get("password", DEFAULT_PASSWORD), val.get("power", "Off")))
    if len(out) > MAX_ADDRESSES:
        raise ValueError("more than %d endpoints" % MAX_ADDRESSES)
    return out


class FixtureServer:
    """Serves entries (see _entries) until stop().  One accept thread
    watches every listening socket; each connection gets a thread, except
    "hang" connections, which are only held open."""

    def __init__(self, spec, port=DEFAULT_PORT, cert=None, key=None, huge_mib=50, verbose=False):
        self.entries = _entries(spec, port)
        self.by_sock = {}
        self.by_addr = {(e.addr, e.port): e for e in self.entries}
        self.tls = None
        if cert:
            self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.tls.load_cert_chain(cert, key)
        self.huge_bytes = int(huge_mib * 1024 * 1024)
        self.verbose = verbose
        self.stopping = threading.Event()
        self.sel = selectors.DefaultSelector()
        self.held = []  # "hang" connections
        self.thread = None
        self.conns = set()
        self.lock = threading.Lock()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        try:
            for e in self.entries:
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind((e.addr, e.port))
                s.listen(128)
                s.setblocking(False)
                self.by_sock[s] = e
                self.sel.register(s, selectors.EVENT_READ, e)
        except OSError:
            self.stop()
            raise
        self.thread = threading.Thread(target=self._accept_loop, name="fixture-accept", daemon=True)
        self.thread.start()
        return self

    def _accept_loop(self):
        while not self.stopping.is_set():
            for key, _ in self.sel.select(timeout=0.2):
                e = key.data
                try:
                    conn, peer = key.fileobj.accept()
                except OSError:
                    continue
                if e.shape == "hang":
                    with e.state.lock:
                        e.state.requests += 1
                    self.held.append(conn)
                    if len(self.held) > MAX_HELD:  # bounded: the oldest goes
                        self.held.pop(0).close()
                    continue
                conn.setblocking(True)
                threading.Thread(target=self._serve, args=(conn, peer, e), daemon=True).start()

    def _serve(self, conn, peer, e):
        with self.lock:
            self.conns.add(conn)
        try:
            if self.tls is not None:
                conn.settimeout(10)
                conn = self.tls.wrap_socket(conn, server_side=True)
            Handler(conn, peer, self, e)
        except (OSError, ssl.SSLError, ValueError):
            pass
        finally:
            with self.lock:
                self.conns.discard(conn)
            try:
                conn.close()
            except OSError:
                pass

    def state(self, addr, port=None):
        """The address's state snapshot (see State.snapshot)."""
        for (a, p), e in self.by_addr.items():
            if a == addr and (port is None or p == port):
                return e.state.snapshot()
        raise KeyError(addr)

    def expected(self, addr):
        for e in self.entries:
            if e.addr == addr:
                return expected(addr, e.shape)
        raise KeyError(addr)

    def stop(self):
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout=5)
        for s in list(self.by_sock):
            try:
                self.sel.unregister(s)
            except (KeyError, ValueError):
                pass
            s.close()
        self.by_sock.clear()
        for c in self.held:
            c.close()
        self.held = []
        with self.lock:
            conns = list(self.conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


# ---------------------------------------------------------------- CLI


def main(argv=None):
    ap = argparse.ArgumentParser(description="Redfish fixture server (see the module docstring)")
    ap.add_argument("--listen", help="A, A-B, A-<last octet> or CIDR")
    ap.add_argument("--port", type=int, default=DEFAULT_PORT)
    ap.add_argument("--shape", default="standard", help="a shape, or 'all' (each in turn)")
    ap.add_argument("--user", default=DEFAULT_USER)
    ap.add_argument("--password", default=DEFAULT_PASSWORD)
    ap.add_argument("--map", help='JSON file: {"ADDR or RANGE": "shape" | {"shape", "user", '
                    '"password", "port", "power"}}')
    ap.add_argument("--cert", help="PEM certificate: serve HTTPS")
    ap.add_argument("--key", help="PEM key for --cert")
    ap.add_argument("--huge-mib", type=float, default=50, help="size of the huge bodies (MiB)")
    ap.add_argument("--describe", action="store_true", help="print expected() of every address")
    ap.add_argument("--list-shapes", action="store_true")
    ap.add_argument("-v", "--verbose", action="store_true", help="log every request")
    a = ap.parse_args(argv)
    if a.list_shapes:
        for k, v in SHAPES.items():
            print("%-17s %s" % (k, v))
        return 0
    if a.map:
        with open(a.map) as f:
            spec = json.load(f)
        if not isinstance(spec, dict):
            ap.error("--map: a JSON object")
    elif a.listen:
        spec = {a.listen: {"shape": a.shape, "user": a.user, "password": a.password}}
    else:
        ap.error("--listen or --map")
    if bool(a.cert) != bool(a.key):
        ap.error("--cert and --key go together")
    try:
        if a.describe:
            print(json.dumps([expected(e.addr, e.shape) for e in _entries(spec, a.port)], indent=1))
            return 0
        fx = FixtureServer(spec, a.port, a.cert, a.key, a.huge_mib, a.verbose)
        fx.start()
    except (OSError, ValueError) as e:
        print("redfish_fixture: %s" % e, file=sys.stderr)
        return 1
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    print("ready %d endpoints" % len(fx.entries), flush=True)
    while not done.wait(1):
        pass
    fx.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
