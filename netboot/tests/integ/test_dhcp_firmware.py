"""The client-architecture table through corrald's real dnsmasq and Kea.

A small DHCP client written here (raw DHCPDISCOVER on a UDP socket bound to
the client namespace's eth0) sends the vendor class (option 60) and client
architecture (option 93) of each kind of firmware and reads the offer's
boot file and option 60.  Each test runs with both DHCP backends
(dhcp.backend = dnsmasq, then kea): one arch table answers alike from
both:

- UEFI HTTP boot (vendor class HTTPClient, codes 16, 19, 28, 40) gets the
  URL of its binary on corrald's /firmware/ and HTTPClient echoed; a node
  set to full iPXE (ipxe_efi = ipxe.efi) gets that binary's URL;
- PXE firmware of every other code gets its binary's TFTP name;
- with dhcp.ipxe_dir naming a firmware tree, dnsmasq's TFTP root and
  /firmware/ serve the same arm64 binary; with Debian 12's /usr/lib/ipxe
  (no arm64 build) dnsmasq still starts and the log says what is missing.

Skipped unless root with /usr/sbin/dnsmasq, busybox and iproute2; the Kea
half also needs /usr/sbin/kea-dhcp4 (Debian's kea-dhcp4-server).
"""
import os
import random
import shutil
import socket
import struct
import threading

import pytest

import netns
from netns import _setns, wait_for

_why = netns.skip_reason()
pytestmark = pytest.mark.skipif(_why is not None, reason=_why or "")

IPXE_DIR = "/usr/lib/ipxe"
ARM64_BYTES = bytes((i * 31 + 7) % 256 for i in range(3000))


# ---- a DHCP client -----------------------------------------------------------------


def _packet(xid, mac, opts):
    """A BOOTREQUEST from mac (broadcast flag set) carrying the DHCP
    options opts (ending with 255), padded to the 300 bytes firmware sends."""
    hw = bytes(int(x, 16) for x in mac.split(":"))
    pkt = struct.pack("!BBBBIHH4s4s4s4s16s64s128sI", 1, 1, 6, 0, xid, 0, 0x8000, b"\0" * 4,
                      b"\0" * 4, b"\0" * 4, b"\0" * 4, hw + b"\0" * 10, b"", b"",
                      0x63825363) + opts
    return pkt + b"\0" * max(0, 300 - len(pkt))


def _exchange(s, pkt, xid, kind, tries=1):
    """Broadcasts pkt up to tries times; returns the first reply of DHCP
    message type kind to xid (as parse() gives it), or None."""
    for _ in range(tries):
        s.sendto(pkt, ("255.255.255.255", 67))
        try:
            while True:
                data, _ = s.recvfrom(4096)
                reply = parse(data, xid, kind)
                if reply is not None:
                    return reply
        except socket.timeout:
            continue
    return None


def _as_client(ns, timeout, talk):
    """Runs talk(sock) in a thread inside namespace ns, sock a UDP socket
    bound to eth0's port 68 with receive timeout timeout; returns what talk
    returns (None if it does not finish in 4 x timeout) and re-raises what
    it raises."""
    box = {}

    def run():
        try:
            _setns(ns)
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"eth0")
                s.bind(("0.0.0.0", 68))
                s.settimeout(timeout)
                box["v"] = talk(s)
            finally:
                s.close()
        except BaseException as e:  # handed to the caller
            box["e"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(timeout * 4)
    if "e" in box:
        raise box["e"]
    return box.get("v")


def discover(ns, mac, vendor_class, arch, user_class=None, timeout=5.0):
    """One DHCPDISCOVER from namespace ns (eth0, MAC mac) with option 60 =
    vendor_class, option 93 = arch and, if given, option 77 = user_class
    (as iPXE sends it: the bare string); returns the first DHCPOFFER as
    {"file": str, "options": {code: bytes}, "yiaddr": str}, or None."""
    xid = random.getrandbits(32)
    opts = bytes([53, 1, 1])
    opts += bytes([60, len(vendor_class)]) + vendor_class.encode()
    opts += bytes([93, 2]) + struct.pack("!H", arch)
    opts += bytes([94, 3, 1, 3, 16])  # UNDI 3.16
    if user_class:
        opts += bytes([77, len(user_class)]) + user_class.encode()
    opts += bytes([55, 6, 1, 3, 43, 60, 66, 67])
    opts += bytes([255])
    pkt = _packet(xid, mac, opts)
    # three tries: the first may go before the bridge forwards
    return _as_client(ns, timeout, lambda s: _exchange(s, pkt, xid, 2, tries=3))


def acquire(ns, mac, vendor_class, arch, timeout=3.0):
    """A lease as PXE firmware takes one: DHCPDISCOVER, then DHCPREQUEST of
    the offered address, both with option 60 = vendor_class and 93 = arch;
    returns the DHCPACK (as discover() returns an offer) or None.  dnsmasq
    runs corrald's hook for the lease ("add", with the request's tags)."""
    xid = random.getrandbits(32)

    def packet(kind, extra=b""):
        opts = bytes([53, 1, kind]) + bytes([60, len(vendor_class)]) + vendor_class.encode()
        opts += bytes([93, 2]) + struct.pack("!H", arch) + extra
        opts += bytes([55, 4, 1, 3, 60, 67, 255])
        return _packet(xid, mac, opts)

    def talk(s):
        off = _exchange(s, packet(1), xid, 2)
        if off is None:
            return None
        sid = off["options"].get(54, b"")
        extra = bytes([50, 4]) + socket.inet_aton(off["yiaddr"])
        extra += bytes([54, len(sid)]) + sid
        return _exchange(s, packet(3, extra), xid, 5)

    return _as_client(ns, timeout, talk)


def parse(data, xid, kind=2):
    if len(data) < 240 or data[0] != 2 or struct.unpack_from("!I", data, 4)[0] != xid:
        return None
    if struct.unpack_from("!I", data, 236)[0] != 0x63825363:
        return None
    opts, i = {}, 240
    while i < len(data) and data[i] != 255:
        if data[i] == 0:
            i += 1
            continue
        code, n = data[i], data[i + 1]
        opts[code] = opts.get(code, b"") + data[i + 2:i + 2 + n]
        i += 2 + n
    if opts.get(53) != bytes([kind]):
        return None
    file = data[108:236].split(b"\0", 1)[0].decode()
    if 67 in opts:  # a long name goes in option 67 instead
        file = opts[67].rstrip(b"\0").decode()
    return {"file": file, "options": opts, "yiaddr": socket.inet_ntoa(data[16:20])}


# ---- fixtures -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lab():
    lab = netns.Lab()
    try:
        yield lab
    finally:
        lab.close()


@pytest.fixture(scope="module")
def fwdir(lab):
    """A firmware tree: Debian 12's x86 binaries and a stand-in arm64 one."""
    d = lab.dir / "firmware"
    d.mkdir()
    for f in ("undionly.kpxe", "snponly.efi", "ipxe.efi"):
        shutil.copyfile(os.path.join(IPXE_DIR, f), d / f)
    (d / "ipxe-arm64.efi").write_bytes(ARM64_BYTES)
    os.chmod(d, 0o755)
    return d


KEA = "/usr/sbin/kea-dhcp4"


@pytest.fixture(scope="module", params=["dnsmasq", "kea"])
def srv(request, lab, fwdir):
    """corrald with each DHCP backend in turn (one arch table for both):
    every test below runs against dnsmasq, then against Kea (the first one
    stopped, so that one DHCP server answers on the bridge)."""
    backend = request.param
    if backend == "kea" and not os.access(KEA, os.X_OK):
        pytest.skip("no %s (Debian's kea-dhcp4-server)" % KEA)
    c = lab.corrald(name="corrald-" + backend,
                    dhcp={"ipxe_dir": str(fwdir), "backend": backend})
    if backend == "kea":
        assert wait_for(lambda: "DHCP4_STARTED" in c.stderr_text(), timeout=20), \
            c.stderr_tail()
        assert wait_for(c.dnsmasq_pid, timeout=10), c.stderr_tail()  # TFTP
    else:
        c.wait_dnsmasq()
    yield c
    c.stop()


_seq = [0]


def client(lab):
    _seq[0] += 1
    return lab.client("02:f1:%02x:00:00:%02x" % (lab.nn, _seq[0]))


def url(lab, f):
    return "http://%s:8080/firmware/%s" % (lab.server_ip, f)


# ---- UEFI HTTP boot -------------------------------------------------------------------

HTTP_CASES = [(16, "snponly.efi"), (19, "ipxe-arm64.efi"), (28, "ipxe-riscv64.efi"),
              (40, "ipxe-loong64.efi")]


@pytest.mark.parametrize("arch,binary", HTTP_CASES)
def test_http_boot_client_gets_url_and_vendor_class(lab, srv, arch, binary):
    cl = client(lab)
    off = discover(cl.ns, cl.mac, "HTTPClient:Arch:%05d:UNDI:003001" % arch, arch)
    assert off is not None, srv.stderr_tail()
    assert off["file"] == url(lab, binary), off
    assert off["options"].get(60) == b"HTTPClient", off["options"]
    assert off["yiaddr"].startswith("10.%d.0." % lab.nn)


def test_http_boot_node_with_full_ipxe_gets_ipxe_efi(lab, srv):
    cl = client(lab)
    srv.ok("POST", "/api/v1/nodes", {"name": "hb-full", "ipxe_efi": "ipxe.efi",
                                     "interfaces": [{"mac": cl.mac, "ip": lab.ip4(30)}]})
    want = url(lab, "ipxe.efi")

    def offer():
        o = discover(cl.ns, cl.mac, "HTTPClient:Arch:00016:UNDI:003001", 16, timeout=2)
        return o if o and o["file"] == want else None

    off = wait_for(offer, timeout=10, interval=0.2)
    assert off, "no offer of %s" % want
    assert off["yiaddr"] == lab.ip4(30)
    assert off["options"].get(60) == b"HTTPClient"


# ---- PXE firmware ---------------------------------------------------------------------

PXE_CASES = [(0, "undionly.kpxe"), (7, "snponly.efi"), (9, "snponly.efi"),
             (11, "ipxe-arm64.efi"), (27, "ipxe-riscv64.efi"), (39, "ipxe-loong64.efi")]


@pytest.mark.parametrize("arch,binary", PXE_CASES)
def test_pxe_client_gets_tftp_name(lab, srv, arch, binary):
    cl = client(lab)
    off = discover(cl.ns, cl.mac, "PXEClient:Arch:%05d:UNDI:002001" % arch, arch)
    assert off is not None, srv.stderr_tail()
    assert off["file"] == binary, off
    assert off["options"].get(60) != b"HTTPClient"


def test_ipxe_itself_gets_the_boot_script(lab, srv):
    """iPXE's own request (user class iPXE) on arm64 gets the boot script
    URL, not the first stage again: the two-stage chain needs no script
    built into the binary."""
    cl = client(lab)
    off = discover(cl.ns, cl.mac, "PXEClient:Arch:00011:UNDI:003010", 11, user_class="iPXE")
    assert off is not None
    assert off["file"] == ("http://%s:8080/boot/v1/bootscript?mac=${net0/mac}&arch=${buildarch}" % lab.server_ip)


# ---- the architecture a firmware's request says ------------------------------------


# dnsmasq only: Kea's lease file does not keep option 93, so under Kea a
# node's architecture is learned one step later, from iPXE's arch= on the
# boot-script URL (test_arch.py).
@pytest.mark.parametrize("srv", ["dnsmasq"], indirect=True)
def test_firmware_dhcp_request_teaches_the_node_its_arch(lab, srv):
    """A node written without arch takes aarch64 from its firmware's lease
    (option 93 = 11, through dnsmasq's tag and the hook); one set by hand
    keeps its own."""
    cl, cl2 = client(lab), client(lab)
    srv.ok("POST", "/api/v1/nodes", {"name": "arch-learn", "interfaces": [{"mac": cl.mac}]})
    srv.ok("POST", "/api/v1/nodes", {"name": "arch-manual", "arch": "x86_64",
                                     "interfaces": [{"mac": cl2.mac}]})
    vc = "PXEClient:Arch:00011:UNDI:003000"
    assert wait_for(lambda: acquire(cl.ns, cl.mac, vc, 11), timeout=15, interval=0.2)
    assert wait_for(lambda: acquire(cl2.ns, cl2.mac, vc, 11), timeout=15, interval=0.2)

    def node(name):
        return srv.ok("GET", "/api/v1/nodes/" + name)

    assert wait_for(lambda: node("arch-learn")["arch_source"] == "dhcp", timeout=10), \
        node("arch-learn")
    assert node("arch-learn")["arch"] == "aarch64"

    def events(name):
        return srv.ok("GET", "/api/v1/nodes/%s/events" % name)

    assert wait_for(lambda: any(e["detail"] == "arch aarch64 learned from DHCP (client "
                                "architecture)" for e in events("arch-learn")), timeout=10)
    # arch-manual's lease reached corrald too (its timeline has it), its arch did not move
    assert wait_for(lambda: any(e["stage"] == "dhcp" and e["detail"].startswith("PXE firmware")
                                for e in events("arch-manual")), timeout=10)
    n = node("arch-manual")
    assert (n["arch"], n["arch_source"]) == ("x86_64", "manual"), n


# ---- the same binary over TFTP and HTTP ----------------------------------------------


def test_tftp_and_http_serve_the_tree(lab, srv):
    cl = client(lab)
    cl.set_ip(lab.ip4(60))
    assert cl.tftp_get("ipxe-arm64.efi") == ARM64_BYTES
    r = srv.request("GET", "/firmware/ipxe-arm64.efi", token=None)
    assert r.status == 200 and r.raw == ARM64_BYTES
    with open(os.path.join(IPXE_DIR, "snponly.efi"), "rb") as f:
        assert cl.tftp_get("snponly.efi") == f.read()


def test_debian12_ipxe_dir_still_starts_and_names_what_is_missing(lab):
    c = lab.corrald(name="corrald-deb12", dhcp={"ipxe_dir": IPXE_DIR}, start=False)
    # another DHCP server on the same bridge: only start, check, stop
    for other in lab.corralds:
        if other is not c and other.alive():
            other.stop()
    c.start()
    c.wait_dnsmasq()
    log = c.stderr_text()
    assert "ipxe-arm64.efi" in log and "ARM 64-bit UEFI clients get no boot file" in log, log
    cl = client(lab)
    off = discover(cl.ns, cl.mac, "PXEClient:Arch:00007:UNDI:003016", 7)
    assert off is not None and off["file"] == "snponly.efi"
