#!/usr/bin/python3
"""The appliance image in QEMU, for its tests and `make demo-appliance`.

Builds on test-vm/cluster.py: a Cluster's namespace gets a second bridge
for the management network (brm, 10.78.<n>.1/24); the cluster's own bridge
(br0, 10.77.<n>.0/24) is the boot network.  An Appliance is a QEMU machine
with its own copy of the image (raw, sparse, grown to `disk_gib` so the
first boot makes a data partition), the settings file written into the
image's FAT partition with mtools before power-on, and two virtio NICs:
management on brm (52:54:00:79:<n>:01, 10.78.<n>.2) and boot on br0
(52:54:00:79:<n>:02, 10.77.<n>.2).  Firmware: "bios" (SeaBIOS) or "uefi"
(OVMF).  The NICs carry no option ROM: the appliance boots from its disk.

    c = Cluster(); c.create(); add_mgmt_bridge(c)
    a = Appliance(c, image, firmware="bios", settings=a_settings_text)
    a.start(); token = a.wait_token(); a.wait_healthy()
    a.api("GET", "/nodes")          # from the management side
    a.ssh("systemctl is-system-running")

Standard library only; run as root with /usr/bin/python3.
"""
import hashlib
import http.client
import json
import os
import pathlib
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "test-vm"))

import cluster as C  # noqa: E402

MGMT_BRIDGE = "brm"
PORT = 8080      # node-facing paths, plain HTTP, on the boot network
API_PORT = 8443  # the API and web page, HTTPS, on the management port
DEFAULT_OUT = REPO / "build" / "appliance"


def image_path():
    """The image to boot: $CORRAL_APPLIANCE_IMAGE, else the newest build."""
    p = os.environ.get("CORRAL_APPLIANCE_IMAGE")
    return pathlib.Path(p) if p else DEFAULT_OUT / "corral-amd64.img"


_BUILT = {}  # (out, version, broken) -> image, for this process


def build(out=None, version=None, broken=False, log=None):
    """Run appliance/build.sh (cached steps make a rebuild quick); returns
    the path of the raw image it wrote.  version: the image's version
    string (default git describe); broken: the test-only image whose
    corrald never starts.  Built once per process (test modules share it)."""
    out = pathlib.Path(out or DEFAULT_OUT)
    key = (str(out), version, broken)
    if key in _BUILT and _BUILT[key].exists():
        return _BUILT[key]
    _BUILT[key] = _build(out, version, broken, log)
    return _BUILT[key]


def _build(out, version, broken, log):
    env = dict(os.environ)
    if not env.get("CORRAL_APPLIANCE_FIRMWARE"):
        # make firmware's tree, cached per checkout like the VM tests' own
        env["CORRAL_APPLIANCE_FIRMWARE"] = str(C.build_firmware())
    if version:
        env["CORRAL_APPLIANCE_VERSION"] = version
    if broken:
        env["CORRAL_APPLIANCE_BROKEN"] = "1"
    f = open(log, "w") if log else None
    try:
        p = subprocess.run(["sh", str(HERE / "build.sh"), str(out)], env=env, text=True,
                           stdout=f or subprocess.PIPE, stderr=subprocess.STDOUT)
    finally:
        if f:
            f.close()
    text = pathlib.Path(log).read_text() if log else p.stdout
    if p.returncode != 0:
        raise RuntimeError("appliance build failed:\n%s" % "\n".join(text.splitlines()[-40:]))
    m = re.findall(r"done: (corral-\S+\.img)", text)
    if not m:
        raise RuntimeError("appliance build printed no image name:\n%s" % text[-2000:])
    return out / m[-1]


def manifest(img):
    """The image's manifest (KEY=VALUE file next to it) as a dict."""
    path = pathlib.Path(str(img)[:-len(".img")] + ".manifest")
    out = {}
    for ln in path.read_text().splitlines():
        if "=" in ln and not ln.startswith("#"):
            k, v = ln.split("=", 1)
            out[k] = v
    return out


def layout(img):
    """{partition name: (start MiB, size MiB)} from the manifest."""
    res = {}
    for part in manifest(img)["layout"].split():
        name, start, size = part.split(":")
        res[name] = (int(start), int(size))
    return res


def mgmt_mac(n):
    """MAC of the management NIC of the appliance on cluster n."""
    return "52:54:00:79:%02x:01" % n


def boot_mac(n):
    """MAC of the boot-network NIC of the appliance on cluster n."""
    return "52:54:00:79:%02x:02" % n


def new_cluster(keep=False):
    """A created Cluster whose workdir lives under /var/tmp/corral-appliance-vm
    (the appliance's disks are large; /tmp may be small or cleaned); end it
    with drop_cluster()."""
    base = pathlib.Path("/var/tmp/corral-appliance-vm")
    base.mkdir(parents=True, exist_ok=True)
    c = C.Cluster(workdir=tempfile.mkdtemp(prefix="vm-", dir=base), keep=keep)
    c.create()
    return c


def drop_cluster(c):
    """Tear c down and remove its workdir (kept when CORRAL_VM_KEEP_LOGS is set)."""
    c.teardown()
    if os.environ.get("CORRAL_VM_KEEP_LOGS") is None:
        shutil.rmtree(c.workdir, ignore_errors=True)


def add_mgmt_bridge(c):
    """The management network: bridge brm, 10.78.<n>.1/24, in c's namespace."""
    c.ip("link", "add", MGMT_BRIDGE, "type", "bridge", "stp_state", "0", "forward_delay", "0")
    c.ip("addr", "add", "10.78.%d.1/24" % c.index, "dev", MGMT_BRIDGE)
    c.ip("link", "set", MGMT_BRIDGE, "up")


def settings_text(c, mgmt_mac, boot_mac, ssh_pub=None, extra=""):
    """A good settings file for an appliance on cluster c."""
    n = c.index
    lines = [
        "# written by appliance/vm.py",
        "hostname = corral-%d" % n,
        "mgmt_interface = %s" % mgmt_mac,
        "mgmt_address = 10.78.%d.2/24" % n,
        "mgmt_gateway = 10.78.%d.1" % n,
        "boot_interface = %s" % boot_mac,
        "boot_subnet = 10.77.%d.0/24" % n,
        "boot_address = 10.77.%d.2" % n,
        "boot_pool = 10.77.%d.100-10.77.%d.199" % (n, n),
        "dhcp_mode = authoritative",
        "timezone = UTC",
    ]
    if ssh_pub:
        lines.append("ssh_key = %s" % ssh_pub.strip())
    return "\n".join(lines) + "\n" + extra


class Appliance(C.VM):
    """The appliance as a QEMU machine on cluster c (see the module doc).
    Reuses cluster.VM's console handling (wait_console, tail, stop)."""

    def __init__(self, c, image, firmware="bios", name="appliance", settings=None,
                 mem=1024, cpus=1, disk_gib=4, ssh_key=None):
        C.VM.__init__(self, c, name, 90, firmware=firmware, nic="virtio", pxe="firmware", mem=mem)
        self.image = pathlib.Path(image)
        self.cpus = cpus
        self.disk_gib = disk_gib
        n = c.index
        self.mgmt_mac = mgmt_mac(n)
        self.boot_mac = boot_mac(n)
        self.mac = self.boot_mac
        self.mgmt_ip = "10.78.%d.2" % n
        self.ip = self.boot_ip = "10.77.%d.2" % n
        self.tap_mgmt, self.tap_boot = "tapam", "tapab"
        self.disk = self.dir / "disk.img"
        self.ssh_key = ssh_key  # private key file for root
        self.token = None
        self.fingerprint = None  # the HTTPS key's, from the console
        self.cert_sha256 = None  # the certificate's, pinned by http()
        self.files_root = None  # not local: files go over SSH (put_files)
        self.write_disk(settings)
        for tap, br in ((self.tap_mgmt, MGMT_BRIDGE), (self.tap_boot, C.BRIDGE)):
            c.ip("tuntap", "add", "dev", tap, "mode", "tap")
            c.ip("link", "set", tap, "master", br)
            c.ip("link", "set", tap, "up")
        c.vms.append(self)

    # -- the disk

    def write_disk(self, settings):
        """A private, sparse copy of the image, grown to disk_gib, with
        `settings` (text, or None to keep the template) as settings.txt."""
        C.run(["cp", "--sparse=always", str(self.image), str(self.disk)])
        os.truncate(self.disk, self.disk_gib << 30)
        if settings is not None:
            self.put_settings(settings)

    def put_settings(self, text):
        start, _ = layout(self.image)["settings"]
        src = self.dir / "settings.txt"
        src.write_bytes(text.replace("\n", "\r\n").encode())
        env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
        C.run(["mcopy", "-o", "-i", "%s@@%d" % (self.disk, start << 20), str(src), "::/settings.txt"],
              env=env)

    # -- QEMU

    def argv(self):
        a = [C.QEMU, "-name", self.name, "-accel", self.cluster.accel, "-m", str(self.mem),
             "-smp", str(self.cpus), "-display", "none", "-nographic", "-monitor", "none",
             "-serial", "file:%s" % self.console]
        if self.cluster.accel == "kvm":
            a += ["-cpu", "host"]
        if self.firmware == "uefi":
            vars_copy = self.dir / "OVMF_VARS.fd"
            if not vars_copy.exists():
                shutil.copyfile(C.OVMF_VARS, vars_copy)
            a += ["-machine", "q35",
                  "-drive", "if=pflash,format=raw,unit=0,readonly=on,file=%s" % C.OVMF_CODE,
                  "-drive", "if=pflash,format=raw,unit=1,file=%s" % vars_copy]
        a += ["-drive", "file=%s,format=raw,if=none,id=d0,cache=unsafe" % self.disk,
              "-device", "virtio-blk-pci,drive=d0,bootindex=0"]
        for i, (tap, mac) in enumerate(((self.tap_mgmt, self.mgmt_mac), (self.tap_boot, self.boot_mac))):
            a += ["-netdev", "tap,id=n%d,ifname=%s,script=no,downscript=no" % (i, tap),
                  "-device", "virtio-net-pci,netdev=n%d,mac=%s,romfile=" % (i, mac)]
        return a

    def console_from(self, offset=0):
        return self.console_text()[offset:]

    def wait_text(self, pattern, timeout=600, offset=0):
        """Wait until the console text after `offset` matches `pattern`;
        returns the match.  Raises TimeoutError, or RuntimeError when QEMU
        exits first."""
        rx = re.compile(pattern, re.M)
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.console_from(offset))
            if m:
                return m
            for bad in ("You are in emergency mode", "Kernel panic - not syncing"):
                if bad in self.console_from(offset):
                    raise RuntimeError("%s: %s (waiting for %r)\n%s" % (self.name, bad, pattern, self.tail(60)))
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError("%s: QEMU exited (%s) before %r\n%s" %
                                   (self.name, self.proc.returncode, pattern, self.tail(60)))
            if time.monotonic() > deadline:
                raise TimeoutError("%s: console never matched %r in %ss\n%s" %
                                   (self.name, pattern, timeout, self.tail(60)))
            time.sleep(0.5)

    def wait_token(self, timeout=900):
        """The admin token that first boot prints on the console, with the
        HTTPS certificate's fingerprints (http() pins the certificate)."""
        self.token = self.wait_text(r"CORRAL_TOKEN=(\S+)", timeout).group(1)
        text = self.console_text()
        m = re.search(r"public key (sha256:[0-9a-f]{64})", text)
        self.fingerprint = m.group(1) if m else None
        m = re.search(r"certificate sha256 ([0-9A-F:]{95})", text)
        self.cert_sha256 = m.group(1) if m else None
        return self.token

    # -- HTTP from the management side

    def http(self, method, path, body=None, headers=None, timeout=30, address=None, port=API_PORT):
        """A request from the management side: to the operator listener
        (HTTPS, API_PORT) by default, or to `port` PORT (node paths, plain
        HTTP) at `address`."""
        hdrs = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")

        def req():
            if port == PORT:
                conn = http.client.HTTPConnection(address or self.mgmt_ip, port, timeout=timeout)
            else:
                # The self-signed certificate is checked against the one the
                # console printed (once known), not against a CA.
                ctx = ssl.create_default_context()
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
                conn = http.client.HTTPSConnection(address or self.mgmt_ip, port, timeout=timeout,
                                                   context=ctx)
            try:
                conn.connect()
                if port != PORT and self.cert_sha256:
                    der = conn.sock.getpeercert(binary_form=True)
                    got = ":".join("%02X" % b for b in hashlib.sha256(der).digest())
                    if got != self.cert_sha256:
                        raise ssl.SSLError("certificate sha256 %s, the console printed %s" %
                                           (got, self.cert_sha256))
                conn.request(method, path, body=data, headers=hdrs)
                r = conn.getresponse()
                raw = r.read()
                if (r.getheader("Content-Type") or "").startswith("application/json") and raw:
                    return r.status, json.loads(raw)
                return r.status, raw.decode("utf-8", "replace")
            finally:
                conn.close()

        return C.in_netns(self.cluster.ns, req)

    def api(self, method, path, body=None, expect=None):
        st, out = self.http(method, "/api/v1" + path, body, {"Authorization": "Bearer " + self.token})
        if not ((st in expect) if expect else (200 <= st < 300)):
            raise RuntimeError("%s /api/v1%s -> %d %s" % (method, path, st, out))
        return out

    def events(self, node):
        return self.api("GET", "/nodes/%s/events" % node)

    def node(self, name):
        return self.api("GET", "/nodes/%s" % name)

    def wait_healthy(self, timeout=900):
        """Poll /healthz on the management address (HTTPS); returns seconds
        since power-on when it first answered 200."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%s: QEMU exited\n%s" % (self.name, self.tail(60)))
            try:
                st, _ = self.http("GET", "/healthz", timeout=3)
                if st == 200:
                    return round(time.monotonic() - self.t_start, 1)
                last = st
            except OSError as e:
                last = e
            time.sleep(1)
        raise TimeoutError("%s: /healthz never answered 200 (%s)\n%s" % (self.name, last, self.tail(60)))

    # -- SSH (root, with the key from the settings file)

    def ssh_argv(self, *args):
        return ["ssh", "-i", str(self.ssh_key), "-o", "StrictHostKeyChecking=no",
                "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "BatchMode=yes",
                "-o", "ConnectTimeout=20"] + list(args)

    def ssh(self, command, check=True, timeout=300):
        """Run a shell command on the appliance as root; returns stdout."""
        p = subprocess.run(self.cluster.exec_argv(self.ssh_argv("root@" + self.mgmt_ip, command)),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise RuntimeError("ssh %r -> %d: %s%s" % (command, p.returncode, p.stdout, p.stderr))
        return p.stdout

    def put_files(self, files, dest):
        """Copy local files to directory `dest` on the appliance (scp)."""
        self.ssh("mkdir -p %s" % dest)
        argv = self.ssh_argv()
        argv[0] = "scp"
        argv += [str(f) for f in files] + ["root@%s:%s/" % (self.mgmt_ip, dest)]
        C.run(self.cluster.exec_argv(argv))


class SharedLab:
    """One appliance, booted with SeaBIOS from a good settings file, that
    several test modules share (a first boot under TCG takes minutes):
    test_appliance.py checks its first boot and PXE-boots clients from it,
    then test_appliance_upgrade.py fills its store further, upgrades it and
    ends it.  get() boots one when there is none (whatever order the modules
    run in); drop() ends it (the session's end does too)."""

    def __init__(self):
        self.c = None
        self.a = None
        self.t_health = None  # seconds from power-on to /healthz ok

    def get(self, image, explain):
        """(cluster, appliance), booted and healthy, its token read.  A
        failed boot raises AssertionError with explain(c, vms)'s text."""
        if self.a is not None:
            return self.c, self.a
        c = new_cluster()
        try:
            add_mgmt_bridge(c)
            key, pub = make_ssh_key(c.workdir)
            n = c.index
            a = Appliance(c, image, firmware="bios",
                          settings=settings_text(c, mgmt_mac(n), boot_mac(n), pub), ssh_key=key)
            a.start()
            try:
                a.wait_token()
                self.t_health = a.wait_healthy()
            except (RuntimeError, TimeoutError) as e:
                raise AssertionError("%s\n%s" % (e, explain(c, [a]))) from None
        except BaseException:
            drop_cluster(c)
            raise
        self.c, self.a = c, a
        return c, a

    def drop(self):
        if self.c is not None:
            drop_cluster(self.c)
        self.c = self.a = None


def make_ssh_key(directory):
    """A fresh ed25519 key pair in directory; returns (private path, public text)."""
    key = pathlib.Path(directory) / "id_ed25519"
    if not key.exists():
        C.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "corral-test", "-f", str(key)])
    return key, (key.parent / "id_ed25519.pub").read_text().strip()


def setup_testos(a, testos_dir, params="console=ttyS0 quiet", name="testos"):
    """The test OS onto the appliance (scp) and made the default boot."""
    d = "/var/lib/corral/files/" + name
    a.put_files([pathlib.Path(testos_dir) / "vmlinuz", pathlib.Path(testos_dir) / "initrd.img"], d)
    a.api("PUT", "/images/" + name, {"kernel": name + "/vmlinuz", "initrd": name + "/initrd.img",
                                     "params": params})
    a.api("PUT", "/profiles/" + name, {"image": name})
    a.api("PUT", "/defaults", {"profile": name})
