#!/usr/bin/python3
"""Writes the seed corpus of the rfreply fuzz target: every reply a
discovery walk meets on each shape of test-vm's Redfish fixture
(test-vm/redfish_fixture.py), each as the kind the walk asks for it.

A corpus file is one byte, the kind (enum redfish_kind in
netboot/corrald/redfish.h), then the reply's body.  Files are named by the
sha1 of their content, as libFuzzer names what it adds.

usage: netboot/fuzz/rfreply_corpus.py [OUTDIR]   (default: the corpus dir)

Shapes that never answer with a whole reply (hang, stall, huge*) are left
out.  Loopback only: the fixture listens on 127.77.0.x.
"""
import base64
import hashlib
import json
import pathlib
import sys
import urllib.error
import urllib.request

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "test-vm"))
import redfish_fixture as F  # noqa: E402

# enum redfish_kind, in redfish.h's order
(ROOT, SYSTEMS, SYSTEM, ETH_COLL, ETH, NETIF_COLL, NETIF, ADAPTER, NDF_COLL, NDF,
 MANAGERS, MANAGER, MGR_ETH_COLL, MGR_ETH, CHASSIS, ACTIONINFO) = range(16)
SKIP = {"hang", "stall", "huge", "huge-chunked"}
PORT = 18443


def link(obj, member=None):
    v = obj.get(member) if member else obj
    return v.get("@odata.id") if isinstance(v, dict) else None


def members(obj, limit=64):
    return [link(m) for m in (obj.get("Members") or [])[:limit] if isinstance(m, dict)]


def walk(get, out):
    """The walk's requests, in its order; out gets (kind, body) per reply."""
    todo = [(ROOT, "/redfish/v1/")]
    seen = set()
    while todo:
        kind, path = todo.pop(0)
        if not path or (kind, path) in seen:
            continue
        seen.add((kind, path))
        body = get(path)
        if body is None:
            continue
        out.append((kind, body))
        try:
            j = json.loads(body)
        except ValueError:
            continue
        if not isinstance(j, dict):
            continue
        nxt = {
            ROOT: lambda: [(SYSTEMS, link(j, "Systems")), (MANAGERS, link(j, "Managers")),
                           (CHASSIS, link(j, "Chassis"))],
            SYSTEMS: lambda: [(SYSTEM, m) for m in members(j)],
            SYSTEM: lambda: [(ETH_COLL, link(j, "EthernetInterfaces")),
                             (NETIF_COLL, link(j, "NetworkInterfaces")),
                             (ACTIONINFO, ((j.get("Actions") or {}).get("#ComputerSystem.Reset")
                                           or {}).get("@Redfish.ActionInfo"))],
            ETH_COLL: lambda: [(ETH, m) for m in members(j)],
            NETIF_COLL: lambda: [(NETIF, m) for m in members(j)],
            NETIF: lambda: [(ADAPTER, link(j.get("Links") or {}, "NetworkAdapter"))],
            ADAPTER: lambda: [(NDF_COLL, link(j, "NetworkDeviceFunctions"))],
            NDF_COLL: lambda: [(NDF, m) for m in members(j)],
            MANAGERS: lambda: [(MANAGER, m) for m in members(j, 1)],
            MANAGER: lambda: [(MGR_ETH_COLL, link(j, "EthernetInterfaces"))],
            MGR_ETH_COLL: lambda: [(MGR_ETH, m) for m in members(j, 1)],
        }.get(kind)
        if nxt:
            todo.extend(nxt())


def main():
    outdir = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "corpus" / "rfreply"
    outdir.mkdir(parents=True, exist_ok=True)
    shapes = [s for s in F.SHAPES if s not in SKIP]
    spec = {"127.77.0.%d" % (i + 1): s for i, s in enumerate(shapes)}
    auth = "Basic " + base64.b64encode(b"admin:admin").decode()
    written = 0
    with F.FixtureServer(spec, port=PORT, huge_mib=1):
        for addr in spec:
            def get(path, addr=addr):
                req = urllib.request.Request("http://%s:%d%s" % (addr, PORT, path),
                                             headers={"Authorization": auth})
                try:
                    with urllib.request.urlopen(req, timeout=5) as r:
                        return r.read()
                except (urllib.error.URLError, OSError):
                    return None
            replies = []
            walk(get, replies)
            for kind, body in replies:
                data = bytes([kind]) + body
                name = hashlib.sha1(data).hexdigest()
                p = outdir / name
                if not p.exists():
                    p.write_bytes(data)
                    written += 1
    print("%d new corpus files in %s" % (written, outdir))


if __name__ == "__main__":
    main()
