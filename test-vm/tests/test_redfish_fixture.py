"""The Redfish fixture server (test-vm/redfish_fixture.py) keeps its word.

corrald's discovery tests rely on the exact trees, MACs and failure modes
the fixture documents.  Here a small reference walker (the rules the
fixture's docstring states: EthernetInterfaces, else NetworkInterfaces ->
NetworkDeviceFunctions; MACAddress, else PermanentMACAddress; lower-case;
duplicates and host-to-BMC links skipped; the BMC MAC from the Manager)
walks every shape on loopback addresses and must arrive at expected() for
each; the bad peers must fail the documented way and in bounded time.
No root, no VMs: plain loopback sockets, a few seconds in all.
"""
import base64
import http.client
import ipaddress
import json
import shutil
import socket
import ssl
import subprocess
import threading
import time

import pytest

import redfish_fixture as F

CAP = 1 << 20  # what the walker reads of one body at most


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class PeerError(Exception):
    def __init__(self, outcome, detail=""):
        super().__init__("%s %s" % (outcome, detail))
        self.outcome = outcome


class Client:
    def __init__(self, addr, port, user="admin", password="admin", token=None, timeout=2.0,
                 tls=None):
        self.addr, self.port, self.timeout, self.tls = addr, port, timeout, tls
        self.auth = "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
        self.token = token

    def request(self, method, path, body=None, auth=True):
        if self.tls:
            c = http.client.HTTPSConnection(self.addr, self.port, timeout=self.timeout,
                                            context=self.tls)
        else:
            c = http.client.HTTPConnection(self.addr, self.port, timeout=self.timeout)
        hdrs = {}
        if auth and self.token:
            hdrs["X-Auth-Token"] = self.token
        elif auth:
            hdrs["Authorization"] = self.auth
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        deadline = time.monotonic() + self.timeout * 2  # total, not per read
        try:
            c.request(method, path, body=data, headers=hdrs)
            r = c.getresponse()
            raw = b""
            while True:
                if time.monotonic() > deadline:
                    raise PeerError("timeout", "total")
                chunk = r.read1(65536) if hasattr(r, "read1") else r.read(65536)
                if not chunk:
                    break
                raw += chunk
                if len(raw) > CAP:
                    raise PeerError("too-large", path)
            return r.status, dict(r.getheaders()), raw
        except socket.timeout:
            raise PeerError("timeout", path)
        finally:
            c.close()

    def get(self, path, auth=True):
        st, _, raw = self.request("GET", path, auth=auth)
        if st == 401:
            raise PeerError("auth-failed", path)
        if st == 404:
            return None
        if st >= 500:
            raise PeerError("error", "%s %d" % (path, st))
        try:
            v = json.loads(raw)
        except ValueError:
            raise PeerError("malformed", path)
        if not isinstance(v, dict):
            raise PeerError("malformed", path)
        return v


def _members(c, coll):
    v = c.get(coll["@odata.id"]) if coll else None
    return [m["@odata.id"] for m in (v or {}).get("Members", [])]


def _nic_mac(n):
    m = n.get("MACAddress") or n.get("PermanentMACAddress")
    return m.lower() if m else None


def _skip_reason(n):
    """The documented skip rules: disabled, link-local only, host-interface names."""
    if n.get("InterfaceEnabled") is False:
        return "disabled"
    v4 = [a.get("Address", "") for a in n.get("IPv4Addresses") or []]
    if v4 and all(ipaddress.ip_address(a) in ipaddress.ip_network("169.254.0.0/16") for a in v4):
        return "link-local"
    nid = str(n.get("Id", ""))
    if nid == "ToManager" or (nid.startswith("usb") and nid[3:].isdigit()):
        return "host-interface"
    return None


def walk(c):
    """Reference discovery of one BMC; returns the fields expected() has."""
    try:
        root = c.get(F.R + "/", auth=False)
    except PeerError as e:
        if e.outcome == "malformed":  # a root that is not JSON is not a Redfish service
            raise PeerError("not-redfish")
        raise
    if root is None or "RedfishVersion" not in root:
        raise PeerError("not-redfish")
    out = {"bmc_mac": None, "systems": []}
    if "Managers" in root:
        for mp in _members(c, root["Managers"])[:1]:
            m = c.get(mp)
            for np in _members(c, (m or {}).get("EthernetInterfaces")):
                n = c.get(np)
                if n and not _skip_reason(n) and _nic_mac(n):
                    out["bmc_mac"] = _nic_mac(n)
                    break
    if "Systems" in root:
        for sp in _members(c, root["Systems"]):
            s = c.get(sp)
            if s is None:
                continue
            macs = []
            if "EthernetInterfaces" in s:
                for np in _members(c, s["EthernetInterfaces"]):
                    n = c.get(np)
                    if n and not _skip_reason(n) and _nic_mac(n) and _nic_mac(n) not in macs:
                        macs.append(_nic_mac(n))
            elif "NetworkInterfaces" in s:
                for ip in _members(c, s["NetworkInterfaces"]):
                    ni = c.get(ip)
                    for fp in _members(c, (ni or {}).get("NetworkDeviceFunctions")):
                        f = c.get(fp) or {}
                        e = f.get("Ethernet") or {}
                        m = (e.get("MACAddress") or e.get("PermanentMACAddress") or "").lower()
                        if m and m not in macs:
                            macs.append(m)
            reset = s["Actions"]["#ComputerSystem.Reset"]
            types = reset.get("ResetType@Redfish.AllowableValues")
            if types is None and "@Redfish.ActionInfo" in reset:
                info = c.get(reset["@Redfish.ActionInfo"])
                types = [p for p in info["Parameters"] if p["Name"] == "ResetType"][0]["AllowableValues"]
            out["systems"].append({
                "id": s["Id"], "uuid": s["UUID"], "serial": s["SerialNumber"],
                "power_state": s["PowerState"], "macs": macs, "reset_types": types,
                "boot_targets": s["Boot"]["BootSourceOverrideTarget@Redfish.AllowableValues"]})
    return out


GOOD = [s for s in F.SHAPES if s not in F.BAD_PEERS]


@pytest.fixture(scope="module")
def fx():
    port = _free_port()
    spec = {"127.0.5.%d" % (i + 1): s for i, s in enumerate(F.SHAPES)}
    spec["127.0.6.1"] = {"shape": "standard", "user": "root", "password": "calvin"}
    spec["127.0.6.2"] = {"shape": "standard", "power": "On"}
    with F.FixtureServer(spec, port=port, huge_mib=4) as f:
        f.port = port
        f.addr = {s: "127.0.5.%d" % (i + 1) for i, s in enumerate(F.SHAPES)}
        yield f


@pytest.mark.parametrize("shape", GOOD)
def test_good_shapes_walk_to_expected(fx, shape):
    addr = fx.addr[shape]
    want = F.expected(addr, shape)
    got = walk(Client(addr, fx.port))
    assert got["bmc_mac"] == want["bmc_mac"]
    assert len(got["systems"]) == len(want["systems"])
    for g, w in zip(got["systems"], want["systems"]):
        for k in ("id", "uuid", "serial", "power_state", "macs", "reset_types", "boot_targets"):
            assert g[k] == w[k], (shape, k)
    # What the docstring promises for the MACs themselves.
    b, c, d = ipaddress.ip_address(addr).packed[1:]
    for i, s in enumerate(want["systems"], start=1):
        for m in s["macs"]:
            assert m.startswith("02:%02x:%02x:%02x:%02x:" % (b, c, d, i))
    # Another process sees the same answer.
    assert Client(addr, fx.port).get("/_fixture/expected", auth=False) == want


def test_documented_macs():
    assert F.mac("127.0.1.7", 1, 1) == "02:00:01:07:01:01"
    assert F.expected("127.0.1.7", "standard")["systems"][0]["macs"] == \
        ["02:00:01:07:01:01", "02:00:01:07:01:02"]
    assert F.expected("127.0.1.7", "standard")["bmc_mac"] == "02:00:01:07:00:01"
    assert F.expected("127.0.1.7", "multi-system")["systems"][1]["macs"] == \
        ["02:00:01:07:02:01", "02:00:01:07:02:02"]
    assert F.expected("127.0.1.7", "managers-only")["systems"][0]["macs"] == []
    assert F.expected("127.0.1.7", "vlan-duplicates")["systems"][0]["macs"] == \
        ["02:00:01:07:01:01", "02:00:01:07:01:02"]
    assert F.expected("127.0.1.7", "host-interface")["systems"][0]["macs"] == ["02:00:01:07:01:01"]
    assert F.expected("127.0.1.7", "no-systems")["systems"] == []
    assert F.expected("127.0.1.7", "hang")["outcome"] == "timeout"


@pytest.mark.parametrize("shape", sorted(F.BAD_PEERS))
def test_bad_peers_fail_as_documented(fx, shape):
    addr = fx.addr[shape]
    t0 = time.monotonic()
    with pytest.raises(PeerError) as e:
        walk(Client(addr, fx.port, timeout=1.0))
    outcome = e.value.outcome
    want = F.BAD_PEERS[shape]
    assert outcome == want
    assert time.monotonic() - t0 < 5


def test_huge_is_really_huge(fx):
    # The 4 MiB configured here (50 MiB by default) arrives whole for a reader without a cap.
    c = http.client.HTTPConnection(fx.addr["huge"], fx.port, timeout=5)
    c.request("GET", "/redfish/v1/")
    r = c.getresponse()
    assert int(r.getheader("Content-Length")) == 4 * 1024 * 1024
    body = r.read()
    c.close()
    assert len(body) == 4 * 1024 * 1024
    assert json.loads(body)["Id"] == "RootService"
    c = http.client.HTTPConnection(fx.addr["huge-chunked"], fx.port, timeout=5)
    c.request("GET", "/redfish/v1/Systems/1", headers={"Authorization": "Basic YWRtaW46YWRtaW4="})
    r = c.getresponse()
    assert r.getheader("Transfer-Encoding") == "chunked"
    assert len(r.read()) == 4 * 1024 * 1024
    c.close()


def test_auth_basic_and_sessions(fx):
    addr = "127.0.6.1"  # root/calvin
    c = Client(addr, fx.port)
    assert c.get(F.R + "/", auth=False)["RedfishVersion"]
    st, hdrs, raw = c.request("GET", F.R + "/Systems")
    assert st == 401 and "WWW-Authenticate" in hdrs
    assert json.loads(raw)["error"]["code"] == "Base.1.0.GeneralError"
    assert Client(addr, fx.port, "root", "calvin").get(F.R + "/Systems")["Members@odata.count"] == 1
    st, _, _ = c.request("GET", F.R + "/Systems", auth=False)
    assert st == 401

    st, hdrs, raw = c.request("POST", F.R + "/SessionService/Sessions",
                              {"UserName": "root", "Password": "nope"}, auth=False)
    assert st == 401
    st, hdrs, raw = c.request("POST", F.R + "/SessionService/Sessions",
                              {"UserName": "root", "Password": "calvin"}, auth=False)
    assert st == 201
    tok, loc = hdrs["X-Auth-Token"], hdrs["Location"]
    s = Client(addr, fx.port, token=tok)
    assert s.get(F.R + "/Systems/1")["Id"] == "1"
    assert s.get(loc)["UserName"] == "root"
    st, _, _ = s.request("DELETE", loc)
    assert st == 204
    st, _, _ = s.request("GET", F.R + "/Systems")
    assert st == 401


def test_power_and_boot_override(fx):
    addr = fx.addr["standard"]
    c = Client(addr, fx.port)
    sp = F.R + "/Systems/1"
    st, _, _ = c.request("PATCH", sp, {"Boot": {"BootSourceOverrideTarget": "Pxe",
                                                "BootSourceOverrideEnabled": "Once"}})
    assert st == 204
    assert c.get(sp)["Boot"]["BootSourceOverrideEnabled"] == "Once"
    st, _, raw = c.request("PATCH", sp, {"Boot": {"BootSourceOverrideTarget": "Floppy"}})
    assert st == 400
    st, _, raw = c.request("POST", sp + "/Actions/ComputerSystem.Reset", {"ResetType": "Nmi"})
    assert st == 400
    st, _, _ = c.request("POST", sp + "/Actions/ComputerSystem.Reset", {"ResetType": "On"})
    assert st == 204
    s = c.get(sp)
    assert s["PowerState"] == "On"
    assert s["Boot"]["BootSourceOverrideTarget"] == "None"  # Once used up
    assert s["Boot"]["BootSourceOverrideEnabled"] == "Disabled"
    st, _, _ = c.request("POST", sp + "/Actions/ComputerSystem.Reset", {"ResetType": "ForceOff"})
    assert c.get(sp)["PowerState"] == "Off"
    state = fx.state(addr)
    assert state["resets"][-2:] == [["1", "On"], ["1", "ForceOff"]]
    st, hdrs, _ = c.request("DELETE", sp)
    assert st == 405 and "PATCH" in hdrs["Allow"]
    assert c.get(F.R + "/Nope") is None

    # The quirks: a silent revert, a 409 on On while On, ActionInfo-only reset types.
    r = Client(fx.addr["boot-revert"], fx.port)
    st, _, _ = r.request("PATCH", sp, {"Boot": {"BootSourceOverrideTarget": "Pxe"}})
    assert st == 204 and r.get(sp)["Boot"]["BootSourceOverrideTarget"] == "None"
    d = Client(fx.addr["dell"], fx.port)
    dp = F.R + "/Systems/System.Embedded.1/Actions/ComputerSystem.Reset"
    assert d.request("POST", dp, {"ResetType": "On"})[0] == 204
    assert d.request("POST", dp, {"ResetType": "On"})[0] == 409
    lim = Client(fx.addr["limited-reset"], fx.port)
    assert lim.request("POST", sp + "/Actions/ComputerSystem.Reset",
                       {"ResetType": "ForceRestart"})[0] == 400
    assert lim.request("POST", sp + "/Actions/ComputerSystem.Reset",
                       {"ResetType": "PushPowerButton"})[0] == 204
    assert lim.get(sp)["PowerState"] == "On"
    assert Client("127.0.6.2", fx.port).get(sp)["PowerState"] == "On"  # "power": "On"


def test_many_addresses_at_once():
    """255 addresses on one port, all probed in parallel, plus hanging peers
    that hold connections without costing a thread each."""
    port = _free_port()
    spec = {"127.0.7.1-127.0.7.255": "standard", "127.0.8.1-127.0.8.20": "hang"}
    with F.FixtureServer(spec, port=port) as f:
        results = {}

        def probe(a):
            try:
                results[a] = walk(Client(a, port, timeout=10))["systems"][0]["macs"]
            except Exception as e:  # noqa: BLE001 (reported below)
                results[a] = e
        before = threading.active_count()
        held = [socket.create_connection(("127.0.8.%d" % i, port)) for i in range(1, 21)]
        time.sleep(0.3)
        assert threading.active_count() - before < 5
        t0 = time.monotonic()
        ts = [threading.Thread(target=probe, args=("127.0.7.%d" % i,)) for i in range(1, 256)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        took = time.monotonic() - t0
        for h in held:
            h.close()
        bad = {a: r for a, r in results.items() if not isinstance(r, list)}
        assert not bad, list(bad.items())[:3]
        assert results["127.0.7.200"] == ["02:00:07:c8:01:01", "02:00:07:c8:01:02"]
        assert took < 60
        assert f.state("127.0.8.3")["requests"] == 1  # the accepted, unanswered connection


def test_map_file_and_cli(tmp_path):
    port = _free_port()
    m = tmp_path / "map.json"
    m.write_text(json.dumps({"127.0.9.1": "dell", "127.0.9.2-3": {"shape": "systems-only",
                                                                   "user": "u", "password": "p"}}))
    out = subprocess.run(["/usr/bin/python3", F.__file__, "--map", str(m), "--port", str(port),
                          "--describe"], stdout=subprocess.PIPE, check=True, text=True).stdout
    d = json.loads(out)
    assert [e["shape"] for e in d] == ["dell", "systems-only", "systems-only"]
    p = subprocess.Popen(["/usr/bin/python3", F.__file__, "--map", str(m), "--port", str(port)],
                         stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "ready 3 endpoints"
        assert walk(Client("127.0.9.3", port, "u", "p"))["systems"][0]["macs"] == \
            ["02:00:09:03:01:01", "02:00:09:03:01:02"]
        with pytest.raises(PeerError):
            walk(Client("127.0.9.3", port))  # admin/admin is wrong there
    finally:
        p.terminate()
        p.wait(timeout=10)
    assert p.returncode == 0
    bad = subprocess.run(["/usr/bin/python3", F.__file__, "--listen", "127.0.9.1",
                          "--shape", "nonsense", "--port", str(port)],
                         stderr=subprocess.PIPE, text=True)
    assert bad.returncode == 1 and "unknown shape" in bad.stderr


@pytest.mark.skipif(not shutil.which("openssl"), reason="openssl not installed")
def test_tls(tmp_path):
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.10.1", "-addext", "subjectAltName=IP:127.0.10.1",
                    "-keyout", str(key), "-out", str(cert)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    port = _free_port()
    with F.FixtureServer({"127.0.10.1": "standard"}, port=port, cert=str(cert), key=str(key)):
        ctx = ssl.create_default_context(cafile=str(cert))
        assert walk(Client("127.0.10.1", port, tls=ctx))["bmc_mac"] == "02:00:0a:01:00:01"
        with pytest.raises(ssl.SSLError):
            walk(Client("127.0.10.1", port, tls=ssl.create_default_context()))


def test_keep_alive_survives_refused_bodies(fx):
    """A refused request's body is consumed, so the next request on the
    same connection parses (clients pool connections)."""
    c = http.client.HTTPConnection(fx.addr["standard"], fx.port, timeout=5)
    basic = "Basic " + base64.b64encode(b"admin:admin").decode()
    sp = F.R + "/Systems/1"
    for hdrs, path, want in (({}, sp + "/Actions/ComputerSystem.Reset", 401),
                             ({"Authorization": basic}, F.R + "/Nope", 404),
                             ({"Authorization": basic}, F.R + "/Systems", 405),
                             ({"Authorization": basic}, sp + "/Actions/ComputerSystem.Reset", 400)):
        c.request("POST", path, body=b'{"ResetType": "Bogus"}', headers=hdrs)
        r = c.getresponse()
        r.read()
        assert r.status == want, path
    c.request("GET", F.R + "/Systems", headers={"Authorization": basic})
    r = c.getresponse()
    assert r.status == 200 and json.loads(r.read())["Members@odata.count"] == 1
    c.close()
