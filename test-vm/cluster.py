#!/usr/bin/python3
"""QEMU test clusters for Corral, inside a network namespace.

A Cluster owns one network namespace (corral-vm<n>) holding a bridge
(br0, 10.77.<n>.1/24 and fd77:0:0:<n>::1/64, STP off, forward delay 0), one
tap per VM on that bridge, and every process started for it: corrald,
optionally a hand-written dnsmasq (the reference configuration, also the
"floor" for `make bench`), and the QEMU VMs.  Nothing touches the host's
interfaces: the host reaches corrald only through sockets opened inside the
namespace (a thread that setns()es into it), and QEMU, corrald and dnsmasq
run under `ip netns exec`.  Teardown stops each process by its PID
(SIGTERM, then SIGKILL) and deletes the namespace, which removes the
bridge and the taps.

VMs get deterministic MACs 52:54:00:77:<n>:<i> (hex) and pinned addresses
10.77.<n>.<10+i>.  Firmware: "bios" (default machine, SeaBIOS, the NIC's iPXE
option ROM), "uefi" (q35, OVMF_CODE_4M read-only + a per-VM copy of
OVMF_VARS_4M) or "arm64" (qemu-system-aarch64 -M virt -cpu cortex-a57
under TCG, AAVMF_CODE + a per-VM copy of AAVMF_VARS, console ttyAMA0).
pxe="firmware" empties the NIC's option ROM (romfile=) so the firmware's
own PXE runs and must TFTP snponly.efi/undionly.kpxe (arm64: always;
ipxe-arm64.efi) first; pxe="http" (uefi) also turns OVMF's PXE and IPv6
off, so it boots by UEFI HTTP boot (vendor class HTTPClient) instead.  The arm64 test OS and the firmware tree it needs
come from build_testos_arm64() and build_firmware().
KVM is used only when a probe guest actually runs under it (cached per
boot of the host); otherwise TCG.  See ../shared/NOTES-lab.md.

Library use:

    with Cluster() as c:
        cd = c.start_corrald()
        setup_testos(cd, build_testos())
        vm = c.add_vm("n1", firmware="bios")
        register_vm(cd, vm)
        c.start_dnsmasq(cd.port)            # skip when corrald runs its own
        vm.start(); vm.wait_for("phoned home", 120)

Also: vm.wait_console(regex) for firmware/iPXE output (not only test OS
markers), cd.metric(name) for /metrics, cd.cli(...) runs the `corral`
client in the namespace, cd.dnsmasq_pid() finds the dnsmasq corrald runs
(cd.kea_pid() its Kea, with corrald_dhcp_conf(backend="kea")).

Powered-off VMs behind virtual BMCs (issue 4): add_vm(..., powered_off=True)
starts QEMU at once but paused before the firmware (-S), with a QMP socket
and -no-shutdown (a guest poweroff leaves QEMU in "shutdown" instead of
exiting; -no-reboot is dropped, since under it QEMU turns a reset into a
shutdown).  vbmc=True (implies powered_off) also starts build/corral-vbmc
for it inside the namespace on vm.bmc_url = http://10.77.<n>.<200+i>:8000
(that address added to the bridge; outside the DHCP pool .100-.199), BMC MAC
vm.bmc_mac = 52:54:00:78:<n>:<i>, admin/admin, and gives QEMU the UUID and
serial the vBMC reports (-uuid, -smbios type=1).  Power such a VM with
Redfish (vm.redfish(...)) or QMP (vm.qmp(...)); vm.power_state() and
vm.wait_power("On"/"Off") read QEMU's run state; vm.new_boot() restarts
the console marker clock before a power-on.

CLI: cluster.py boot | down | probe-accel | testos (see --help).
Run it with /usr/bin/python3 as root; standard library only.
"""

import argparse
import base64
import ctypes
import hashlib
import http.client
import json
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent
IPXE_DIR = "/usr/lib/ipxe"
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"
QEMU = "qemu-system-x86_64"
# arm64 VMs (always TCG here): QEMU's virt board with AAVMF, Debian's
# UEFI for it (qemu-efi-aarch64).
QEMU_ARM64 = "qemu-system-aarch64"
AAVMF_CODE = "/usr/share/AAVMF/AAVMF_CODE.fd"
AAVMF_VARS = "/usr/share/AAVMF/AAVMF_VARS.fd"
NS_PREFIX = "corral-vm"
BRIDGE = "br0"
CACHE_DIR = pathlib.Path(os.environ.get("CORRAL_VM_CACHE", "/var/tmp/corral-test-vm"))
# What is built from this checkout's own files (the test OS, the firmware
# tree) is cached per checkout: two checkouts running VM tests at once must
# not rebuild each other's test OS under a running test.
CHECKOUT_CACHE = CACHE_DIR / ("checkout-" + hashlib.sha256(str(REPO).encode()).hexdigest()[:12])
MARK = "CORRAL-TESTOS: "
VBMC_PORT = 8000
VBMC_USER = "admin"
VBMC_PASSWORD = "admin"
CLONE_NEWNET = 0x40000000

_libc = ctypes.CDLL(None, use_errno=True)


def log(msg):
    print("cluster: %s" % msg, file=sys.stderr, flush=True)


def run(argv, check=True, **kw):
    """Run argv (no shell); returns CompletedProcess with text output."""
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    if check and p.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(argv), p.returncode, p.stderr.strip()))
    return p


def in_netns(ns, fn, *args, **kw):
    """Call fn(*args, **kw) in a fresh thread that has entered network
    namespace `ns` (setns affects only that thread); return its result or
    raise its exception.  Sockets fn opens live in the namespace."""
    box = {}

    def body():
        try:
            fd = os.open("/run/netns/%s" % ns, os.O_RDONLY | os.O_CLOEXEC)
            try:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    e = ctypes.get_errno()
                    raise OSError(e, "setns %s: %s" % (ns, os.strerror(e)))
            finally:
                os.close(fd)
            box["v"] = fn(*args, **kw)
        except BaseException as e:  # handed to the caller
            box["e"] = e

    t = threading.Thread(target=body, name="netns-" + ns, daemon=True)
    t.start()
    t.join()
    if "e" in box:
        raise box["e"]
    return box.get("v")


def _proc_starttime(pid):
    """Field 22 of /proc/PID/stat (start time in ticks), or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def stop_pid(pid, starttime=None, timeout=5.0, popen=None):
    """SIGTERM pid, wait up to timeout, then SIGKILL.  With starttime,
    only a process with that start time is signalled (no PID reuse)."""
    if starttime is not None and _proc_starttime(pid) != starttime:
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if popen is not None:
            if popen.poll() is not None:
                return
        elif _proc_starttime(pid) is None:
            return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    if popen is not None:
        try:
            popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass


# ---------------------------------------------------------------- accel


def _accel_cache_key():
    h = hashlib.sha256()
    for p in ("/proc/sys/kernel/random/boot_id", "/proc/version"):
        try:
            h.update(pathlib.Path(p).read_bytes())
        except OSError:
            pass
    qemu = shutil.which(QEMU) or ""
    h.update(qemu.encode())
    try:
        st = os.stat(qemu)
        h.update(("%d %d" % (st.st_mtime_ns, st.st_size)).encode())
    except OSError:
        pass
    return h.hexdigest()[:16]


def default_kernel():
    ks = sorted(pathlib.Path("/boot").glob("vmlinuz-*"),
                key=lambda p: [int(x) if x.isdigit() else x for x in re.split(r"(\d+)", p.name)])
    return str(ks[-1]) if ks else None


def probe_accel(kernel=None, timeout=30.0, refresh=False):
    """"kvm" if a guest really runs under KVM here, else "tcg".

    CORRAL_ACCEL=kvm|tcg overrides.  The probe boots `kernel` (default: the
    newest /boot/vmlinuz-*) with -accel kvm and no disk or NIC: KVM works when
    the kernel's own messages reach the serial console (so firmware and the
    kernel's early boot ran) and it panics cleanly for want of a root.  The
    answer is cached per host boot in CACHE_DIR."""
    forced = os.environ.get("CORRAL_ACCEL")
    if forced in ("kvm", "tcg"):
        return forced
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
        os.close(fd)
    except OSError:
        return "tcg"
    cache = CACHE_DIR / ("accel-%s" % _accel_cache_key())
    if not refresh:
        try:
            v = cache.read_text().strip()
            if v in ("kvm", "tcg"):
                return v
        except OSError:
            pass
    kernel = kernel or default_kernel()
    if not kernel:
        return "tcg"
    answer = "tcg"
    with tempfile.TemporaryDirectory(prefix="corral-accel-") as d:
        serial = os.path.join(d, "serial")
        err = open(os.path.join(d, "stderr"), "w+")
        argv = [QEMU, "-accel", "kvm", "-cpu", "host", "-m", "128", "-nodefaults",
                "-display", "none", "-no-reboot", "-serial", "file:" + serial,
                "-kernel", kernel, "-append", "console=ttyS0 panic=-1 loglevel=7"]
        p = subprocess.Popen(argv, stdout=err, stderr=err, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                text = ""
                try:
                    text = pathlib.Path(serial).read_text(errors="replace")
                except OSError:
                    pass
                if "Linux version" in text and "Kernel panic" in text:
                    answer = "kvm"
                    break
                err.seek(0)
                if "KVM internal error" in err.read() or p.poll() is not None:
                    break
                time.sleep(0.2)
        finally:
            stop_pid(p.pid, popen=p, timeout=2)
            err.close()
    try:
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        cache.write_text(answer + "\n")
    except OSError:
        pass
    return answer


# ---------------------------------------------------------------- test OS


def build_testos(outdir=None):
    """Build (or reuse, cached by input hash) the test OS; returns the
    directory holding vmlinuz and initrd.img."""
    outdir = pathlib.Path(outdir or CHECKOUT_CACHE / "testos")
    run(["sh", str(HERE / "testos" / "build.sh"), str(outdir)])
    return outdir


def build_testos_arm64(outdir=None):
    """Build (or reuse) the arm64 test OS: Debian's arm64 kernel and
    busybox-static fetched with apt's arm64 lists; returns its directory."""
    outdir = pathlib.Path(outdir or CHECKOUT_CACHE / "testos-arm64")
    run(["sh", str(HERE / "testos" / "build-arm64.sh"), str(outdir)])
    return outdir


def build_firmware(outdir=None):
    """The firmware tree (firmware/build.py, what `make firmware` makes)
    in CACHE_DIR/firmware, built with $CORRAL_BUILD/corral-fwtable's table;
    returns its directory.  Run for every session: apt fetches nothing
    when its packages are current."""
    outdir = pathlib.Path(outdir or CHECKOUT_CACHE / "firmware")
    table = pathlib.Path(os.environ.get("CORRAL_BUILD", REPO / "build")) / "corral-fwtable"
    run(["/usr/bin/python3", str(REPO / "firmware" / "build.py"), "--table", str(table),
         "--state", str(CACHE_DIR / "firmware-apt"), str(outdir)])
    return outdir


def vbmc_binary():
    """$CORRAL_BUILD/corral-vbmc (build/ by default) as a string; raises
    RuntimeError naming the path when it is not an executable, so a VM
    test's fixture fails (never skips) before it creates a cluster."""
    binary = str(pathlib.Path(os.environ.get("CORRAL_BUILD", REPO / "build")) / "corral-vbmc")
    if not os.access(binary, os.X_OK):
        raise RuntimeError("%s missing: build corral-vbmc (make)" % binary)
    return binary


# ---------------------------------------------------------------- HTTP


class Corrald:
    """A corrald started inside a cluster's namespace."""

    def __init__(self, cluster, proc, conf, workdir, address, port, token):
        self.cluster = cluster
        self.proc = proc
        self.conf = conf
        self.workdir = workdir
        self.address = address
        self.port = port
        self.token = token
        self.url = "http://%s:%d" % (address, port)
        self.files_root = workdir / "files"
        self.binary = pathlib.Path(os.environ.get("CORRAL_BUILD", REPO / "build")) / "corrald"

    def http(self, method, path, body=None, headers=None, timeout=30):
        """One request inside the namespace; returns (status, parsed body).
        JSON bodies are dumped and parsed; other bodies are bytes/str."""
        hdrs = dict(headers or {})
        data = None
        if body is not None:
            if isinstance(body, (dict, list)):
                data = json.dumps(body).encode()
                hdrs.setdefault("Content-Type", "application/json")
            else:
                data = body.encode() if isinstance(body, str) else bytes(body)

        def req():
            c = http.client.HTTPConnection(self.address, self.port, timeout=timeout)
            try:
                c.request(method, path, body=data, headers=hdrs)
                r = c.getresponse()
                raw = r.read()
                ctype = r.getheader("Content-Type", "") or ""
                if ctype.startswith("application/json") and raw:
                    try:
                        return r.status, json.loads(raw)
                    except ValueError:
                        pass
                return r.status, raw.decode("utf-8", "replace")
            finally:
                c.close()

        return in_netns(self.cluster.ns, req)

    def api(self, method, path, body=None, expect=None):
        """An /api/v1 call with the admin token; raises unless the status
        is in `expect` (default: any 2xx)."""
        st, out = self.http(method, "/api/v1" + path, body,
                            {"Authorization": "Bearer " + self.token})
        ok = (st in expect) if expect else (200 <= st < 300)
        if not ok:
            raise RuntimeError("%s /api/v1%s -> %d %s" % (method, path, st, out))
        return out

    def wait_healthy(self, timeout=15):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                st, _ = self.http("GET", "/healthz", timeout=2)
                if st == 200:
                    return
                last = st
            except OSError as e:
                last = e
            time.sleep(0.1)
        raise RuntimeError("corrald not healthy (%s); log:\n%s" %
                           (last, self.cluster.tail(self.workdir / "corrald.log")))

    def events(self, node):
        return self.api("GET", "/nodes/%s/events" % node)

    def node(self, name):
        return self.api("GET", "/nodes/%s" % name)

    def metric(self, name):
        """The value of an unlabelled line of /metrics (float), or None."""
        st, text = self.http("GET", "/metrics")
        if st != 200:
            raise RuntimeError("/metrics -> %d" % st)
        for ln in str(text).splitlines():
            parts = ln.split()
            if len(parts) == 2 and parts[0] == name:
                return float(parts[1])
        return None

    def cli(self, *args, check=True):
        """Run the `corral` client next to corrald inside the namespace,
        with CORRAL_URL/CORRAL_TOKEN in its environment; returns the
        CompletedProcess (raises on a non-zero exit when check)."""
        env = dict(os.environ, CORRAL_URL=self.url, CORRAL_TOKEN=self.token)
        return run(self.cluster.exec_argv([str(self.binary.parent / "corral")] + list(args)),
                   check=check, env=env)

    def child_pid(self, comm_name):
        """PID of corrald's child process named comm_name, or None."""
        me = self.proc.pid
        for d in pathlib.Path("/proc").iterdir():
            if not d.name.isdigit():
                continue
            try:
                st = (d / "stat").read_text()
            except OSError:
                continue
            comm = st[st.find("(") + 1:st.rfind(")")]
            fields = st[st.rfind(")") + 2:].split()
            if comm == comm_name and int(fields[1]) == me:
                return int(d.name)
        return None

    def dnsmasq_pid(self):
        """PID of the dnsmasq corrald runs itself (its child named dnsmasq),
        or None."""
        return self.child_pid("dnsmasq")

    def kea_pid(self):
        """PID of the Kea corrald runs with dhcp.backend = kea, or None."""
        return self.child_pid("kea-dhcp4")


def setup_testos(cd, testos_dir, params="console=ttyS0 quiet", name="testos", default=True,
                 arch="x86_64"):
    """Copy the test OS under corrald's file root: image `name` (for arch:
    a node of another architecture is not given it), profile `name`, and
    (default) defaults.profile = `name`."""
    dst = cd.files_root / name
    dst.mkdir(parents=True, exist_ok=True)
    for f in ("vmlinuz", "initrd.img"):
        shutil.copyfile(pathlib.Path(testos_dir) / f, dst / f)
    cd.api("PUT", "/images/" + name, {"kernel": name + "/vmlinuz", "arch": arch,
                                       "initrd": name + "/initrd.img", "params": params})
    cd.api("PUT", "/profiles/" + name, {"image": name})
    if default:
        cd.api("PUT", "/defaults", {"profile": name})


def register_vm(cd, vm, **fields):
    """POST the VM as a node (name, boot interface with its MAC and pinned IP)."""
    body = {"name": vm.name, "interfaces": [{"mac": vm.mac, "ip": vm.ip}]}
    body.update(fields)
    return cd.api("POST", "/nodes", body)


# ---------------------------------------------------------------- VMs


class VM:
    """One QEMU machine on the cluster's bridge.  Console: self.console."""

    def __init__(self, cluster, name, index, firmware="bios", nic="virtio", pxe="ipxe",
                 mem=256, extra_args=(), powered_off=False):
        if firmware not in ("bios", "uefi", "arm64"):
            raise ValueError("firmware: bios, uefi or arm64")
        if firmware == "arm64" and pxe != "firmware":
            raise ValueError("arm64: pxe=firmware (QEMU's NIC ROMs are x86 iPXE)")
        if pxe not in ("ipxe", "firmware", "http"):
            raise ValueError("pxe: ipxe (the NIC's iPXE ROM), firmware (romfile= empty) or "
                             "http (uefi: OVMF's HTTP boot, its PXE turned off)")
        if pxe == "http" and firmware != "uefi":
            raise ValueError("pxe=http: firmware=uefi only")
        if firmware in ("uefi", "arm64") and nic != "virtio":
            raise ValueError("Debian's OVMF has no e1000 driver: use nic=virtio")
        if not 128 <= mem <= 4096:
            raise ValueError("mem: MiB, 128..4096")
        self.cluster = cluster
        self.name = name
        self.index = index
        self.firmware = firmware
        self.nic = nic
        self.pxe = pxe
        self.mem = mem
        self.extra_args = list(extra_args)
        n = cluster.index
        self.mac = "52:54:00:77:%02x:%02x" % (n, index)
        self.ip = "%s.%d" % (cluster.prefix, 10 + index)
        self.tap = "tap%d" % index
        self.dir = cluster.workdir / "vm" / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.console = self.dir / "console.log"
        self.proc = None
        self.t_start = None
        self.t_exit = None
        self.marks = {}  # console line (marker) -> seconds after start, first seen
        self._pos = 0
        self._partial = ""
        self._lock = threading.Lock()
        # Powered-off mode (QMP) and the virtual BMC; see the module doc.
        self.powered_off = powered_off
        self.qmp_socket = cluster.workdir / ("qmp-%d.sock" % index)
        if powered_off and len(str(self.qmp_socket)) > 107:
            raise ValueError("QMP socket path too long: %s" % self.qmp_socket)
        self.uuid = str(uuid.uuid5(uuid.NAMESPACE_URL, "corral-test-vm/%d/%d" % (n, index)))
        self.serial = "CRLVM%02X%02X" % (n, index)
        self.bmc_ip = None
        self.bmc_url = None
        self.bmc_mac = None
        self.bmc_user = VBMC_USER
        self.bmc_password = VBMC_PASSWORD
        self.vbmc = None  # Popen of its corral-vbmc

    def argv(self):
        arm64 = self.firmware == "arm64"
        accel = "tcg" if arm64 else self.cluster.accel  # an x86 host runs arm64 under TCG
        a = [QEMU_ARM64 if arm64 else QEMU, "-name", self.name, "-accel", accel,
             "-m", str(self.mem), "-smp", "1",
             "-display", "none", "-nographic", "-monitor", "none", "-no-reboot",
             "-serial", "file:%s" % self.console]
        if accel == "kvm":
            a += ["-cpu", "host"]
        if arm64:
            vars_copy = self.dir / "AAVMF_VARS.fd"
            if not vars_copy.exists():
                shutil.copyfile(AAVMF_VARS, vars_copy)
            a += ["-machine", "virt", "-cpu", "cortex-a57",
                  "-drive", "if=pflash,format=raw,unit=0,readonly=on,file=%s" % AAVMF_CODE,
                  "-drive", "if=pflash,format=raw,unit=1,file=%s" % vars_copy]
        if self.powered_off:
            a.remove("-no-reboot")
            a += ["-S", "-no-shutdown", "-qmp", "unix:%s,server=on,wait=off" % self.qmp_socket,
                  "-uuid", self.uuid, "-smbios", "type=1,serial=%s" % self.serial]
        if self.firmware == "uefi":
            vars_copy = self.dir / "OVMF_VARS.fd"
            if not vars_copy.exists():
                shutil.copyfile(OVMF_VARS, vars_copy)
            a += ["-machine", "q35",
                  "-drive", "if=pflash,format=raw,unit=0,readonly=on,file=%s" % OVMF_CODE,
                  "-drive", "if=pflash,format=raw,unit=1,file=%s" % vars_copy]
        model = {"virtio": "virtio-net-pci", "e1000": "e1000"}[self.nic]
        dev = "%s,netdev=n0,mac=%s,bootindex=1" % (model, self.mac)
        if self.pxe in ("firmware", "http"):
            dev += ",romfile="
        if self.pxe == "http":
            # OVMF's own switches (fw_cfg): no PXE and no IPv6, so the first
            # network boot option it tries is UEFI HTTP boot over IPv4.
            for knob in ("IPv4PXESupport", "IPv6PXESupport", "IPv6Support"):
                a += ["-fw_cfg", "name=opt/org.tianocore/%s,string=n" % knob]
        a += ["-netdev", "tap,id=n0,ifname=%s,script=no,downscript=no" % self.tap,
              "-device", dev]
        return a + self.extra_args

    def start(self):
        """Power on (the console file starts empty).  A powered_off VM's
        QEMU starts paused instead (add_vm does that): power it on through
        its vBMC or vm.qmp("cont")."""
        if self.proc and self.proc.poll() is None:
            raise RuntimeError("%s already running" % self.name)
        self.console.write_bytes(b"")
        self._pos, self._partial, self.marks, self.t_exit = 0, "", {}, None
        self.t_start = time.monotonic()
        self.proc = self.cluster.spawn("vm-" + self.name, self.argv(), self.dir / "qemu.log")
        threading.Thread(target=self._monitor, args=(self.proc,), daemon=True,
                         name="console-" + self.name).start()
        return self

    def _monitor(self, proc):
        # Reads the console every 50 ms while QEMU runs, so every marker's
        # time is when it appeared, whichever VM a caller waits on; notes
        # when QEMU exits (the guest powered off).
        while True:
            try:
                proc.wait(timeout=0.05)
                done = True
            except subprocess.TimeoutExpired:
                done = False
            with self._lock:
                self._scan()
            if done:
                break
        if proc is self.proc:
            self.t_exit = round(time.monotonic() - self.t_start, 2)

    def _scan(self):
        try:
            with open(self.console, "rb") as f:
                f.seek(self._pos)
                chunk = f.read()
        except OSError:
            return
        if not chunk:
            return
        self._pos += len(chunk)
        now = time.monotonic() - self.t_start
        text = self._partial + chunk.decode("utf-8", "replace")
        lines = re.split(r"\r?\n|\r", text)
        self._partial = lines.pop()
        for ln in lines:
            i = ln.find(MARK)
            if i >= 0:
                self.marks.setdefault(ln[i + len(MARK):].strip(), round(now, 2))

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def wait_for(self, pattern, timeout=180):
        """Wait until a console marker line ("CORRAL-TESTOS: <text>") matches
        the regular expression `pattern`; return seconds from power-on to the
        moment it was seen.  Raises RuntimeError on FAIL markers, on QEMU
        exiting first, or on timeout (with the console's tail)."""
        if self.proc is None:
            raise RuntimeError("%s was never started" % self.name)
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            exited = self.t_exit is not None  # set after the monitor's last scan
            with self._lock:
                marks = dict(self.marks)
            for m, t in marks.items():
                if rx.search(m):
                    return t
            fails = [m for m in marks if m.startswith("FAIL")]
            if fails:
                raise RuntimeError("%s: test OS failed: %s\n%s" % (self.name, fails[0], self.tail()))
            if exited:
                raise RuntimeError("%s: QEMU exited (%s) before %r\n%s" %
                                   (self.name, self.proc and self.proc.returncode, pattern, self.tail()))
            if time.monotonic() > deadline:
                raise TimeoutError("%s: no %r after %ss\n%s" % (self.name, pattern, timeout, self.tail()))
            time.sleep(0.1)

    def wait_exit(self, timeout=60):
        """Wait for QEMU to exit (the test OS powers off); return seconds
        from power-on, or raise TimeoutError."""
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise TimeoutError("%s still running after %ss" % (self.name, timeout))
        deadline = time.monotonic() + 2
        while self.t_exit is None and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.t_exit

    def console_text(self):
        """The whole console so far, without terminal escape sequences."""
        try:
            raw = self.console.read_bytes().decode("utf-8", "replace")
        except OSError:
            return ""
        return re.sub(r"\x1b(\[[0-9;?=]*[A-Za-z]|[()][A-Za-z0-9]|[A-Za-z])|[\x08\r]", "", raw)

    def wait_console(self, pattern, timeout=120):
        """Wait until the console text (any output, not only test OS
        markers) matches the regular expression `pattern`; return seconds
        from power-on.  Raises TimeoutError (with the console's tail)."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            if rx.search(self.console_text()):
                return round(time.monotonic() - self.t_start, 2)
            if time.monotonic() > deadline:
                raise TimeoutError("%s: console never matched %r in %ss\n%s" %
                                   (self.name, pattern, timeout, self.tail()))
            time.sleep(0.2)

    def tail(self, n=40):
        return self.cluster.tail(self.console, n) + "\n--- qemu:\n" + self.cluster.tail(self.dir / "qemu.log", 10)

    def stop(self):
        if self.proc is not None:
            stop_pid(self.proc.pid, popen=self.proc)

    # -- powered-off VMs: QMP and the virtual BMC

    def qmp(self, command, arguments=None, timeout=5.0):
        """Run one QMP command on a powered_off VM's QEMU; returns its
        "return" value, raises RuntimeError on a QMP error, OSError when
        QEMU is not there.  One connection per call (QEMU serves one QMP
        client at a time: calls made while its vBMC holds the monitor wait)."""
        if not self.powered_off:
            raise RuntimeError("%s has no QMP socket (add_vm(powered_off=True))" % self.name)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(str(self.qmp_socket))
            f = s.makefile("rwb")

            def reply():
                while True:
                    line = f.readline()
                    if not line:
                        raise OSError("QMP connection closed")
                    msg = json.loads(line)
                    if "event" not in msg:
                        return msg

            reply()  # greeting
            out = None
            for cmd, args in (("qmp_capabilities", None), (command, arguments)):
                req = {"execute": cmd}
                if args is not None:
                    req["arguments"] = args
                f.write(json.dumps(req).encode() + b"\n")
                f.flush()
                msg = reply()
                if "error" in msg:
                    raise RuntimeError("QMP %s: %s" % (cmd, msg["error"].get("desc")))
                out = msg.get("return")
            return out
        finally:
            s.close()

    def run_state(self):
        """QEMU's run state ("prelaunch", "running", "paused", "shutdown",
        ...), or None when QEMU is not running."""
        if not self.running():
            return None
        try:
            return self.qmp("query-status")["status"]
        except (OSError, ValueError):
            return None

    def power_state(self):
        """"On" or "Off", as the vBMC reports it."""
        return "On" if self.run_state() == "running" else "Off"

    def wait_power(self, state, timeout=60):
        """Wait until power_state() is state ("On"/"Off"); returns seconds
        since t_start, or raises TimeoutError."""
        deadline = time.monotonic() + timeout
        while True:
            if self.power_state() == state:
                return round(time.monotonic() - self.t_start, 2)
            if time.monotonic() > deadline:
                raise TimeoutError("%s: not %s after %ss (run state %s)\n%s" %
                                   (self.name, state, timeout, self.run_state(), self.tail()))
            time.sleep(0.2)

    def new_boot(self):
        """Forget the console markers seen so far and restart the clock, so
        wait_for() and marks time the next boot of a VM whose QEMU keeps
        running across power cycles."""
        with self._lock:
            self._scan()
            self.marks = {}
            self.t_start = time.monotonic()

    def redfish(self, method, path, body=None, auth="basic", token=None, password=None,
                timeout=10):
        """One HTTP request to this VM's vBMC, from inside the namespace.
        auth: "basic" (admin/admin, or `password`), "token" (X-Auth-Token
        `token`) or None.  Returns (status, headers dict, parsed JSON body
        or None)."""
        if self.bmc_ip is None:
            raise RuntimeError("%s has no vBMC (add_vm(vbmc=True))" % self.name)
        hdrs = {}
        if auth == "basic":
            cred = "%s:%s" % (self.bmc_user, self.bmc_password if password is None else password)
            hdrs["Authorization"] = "Basic " + base64.b64encode(cred.encode()).decode()
        elif auth == "token":
            hdrs["X-Auth-Token"] = token
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"

        def req():
            c = http.client.HTTPConnection(self.bmc_ip, VBMC_PORT, timeout=timeout)
            try:
                c.request(method, path, body=data, headers=hdrs)
                r = c.getresponse()
                raw = r.read()
                parsed = None
                if raw:
                    try:
                        parsed = json.loads(raw)
                    except ValueError:
                        parsed = raw.decode("utf-8", "replace")
                return r.status, dict(r.getheaders()), parsed
            finally:
                c.close()

        return in_netns(self.cluster.ns, req)


# ---------------------------------------------------------------- cluster


class Cluster:
    """A network namespace with a bridge, processes and VMs; see module doc.

    index: the <n> of the namespace, subnet and MACs (default: the lowest
    free one from CORRAL_VM_NET or 1).  workdir: where configs, logs, consoles
    and leases go (default: a new temporary directory, removed on teardown
    unless keep).  accel: "kvm"/"tcg" (default: probe_accel())."""

    def __init__(self, index=None, workdir=None, keep=False, accel=None):
        self.index = index
        self.keep = keep
        self._own_workdir = workdir is None
        self.workdir = pathlib.Path(workdir or tempfile.mkdtemp(prefix="corral-vm-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        # dnsmasq drops to nobody: its TFTP root and state below this
        # directory must be reachable (mkdtemp makes it 0700).  Secrets
        # inside (key file, state.json) are 0600 themselves.
        os.chmod(self.workdir, 0o755)
        self.accel = accel
        self.ns = None
        self.procs = {}  # name -> Popen
        self.vms = []
        self.corrald = None
        self.dnsmasq = None

    # -- lifecycle

    def __enter__(self):
        self.create()
        return self

    def __exit__(self, *exc):
        if self.keep:
            self.save_state()
        else:
            self.teardown()

    @property
    def prefix(self):
        return "10.77.%d" % self.index

    @property
    def server_ip(self):
        return self.prefix + ".1"

    def create(self):
        if os.geteuid() != 0:
            raise RuntimeError("test-vm needs root (network namespaces, taps)")
        if self.accel is None:
            self.accel = probe_accel()
        start = self.index or int(os.environ.get("CORRAL_VM_NET", "1"))
        candidates = [self.index] if self.index else list(range(start, 255)) + list(range(1, start))
        existing = set(run(["ip", "netns", "list"]).stdout.split())
        for n in candidates:
            ns = "%s%d" % (NS_PREFIX, n)
            if ns in existing and not self.index:
                continue
            if run(["ip", "netns", "add", ns], check=False).returncode == 0:
                self.index, self.ns = n, ns
                break
            if self.index:
                raise RuntimeError("cannot create namespace %s (exists?)" % ns)
        else:
            raise RuntimeError("no free %s<n> namespace" % NS_PREFIX)
        try:
            self.ip("link", "set", "lo", "up")
            # A fixed address: a bridge with none takes its lowest port's
            # MAC and changes it when a VM with a lower tap MAC joins, which
            # leaves the VMs already running with a stale ARP entry for
            # the server.
            self.ip("link", "add", BRIDGE, "address", "02:cb:ff:%02x:00:01" % self.index, "type",
                    "bridge", "stp_state", "0", "forward_delay", "0")
            self.ip("addr", "add", "%s/24" % self.server_ip, "dev", BRIDGE)
            # A global IPv6 prefix so dnsmasq's RA (ra-only) has one to
            # announce: iPXE then finishes IPv6 setup at once instead of
            # waiting ~16 s.
            self.ip("addr", "add", "fd77:0:0:%x::1/64" % self.index, "dev", BRIDGE, "nodad")
            self.ip("link", "set", BRIDGE, "up")
        except Exception:
            self.teardown()
            raise
        log("namespace %s, bridge %s %s/24, accel %s, workdir %s" %
            (self.ns, BRIDGE, self.server_ip, self.accel, self.workdir))
        self.save_state()
        return self

    def ip(self, *args):
        return run(["ip", "-n", self.ns] + list(args))

    def exec_argv(self, argv):
        return ["ip", "netns", "exec", self.ns] + list(argv)

    def spawn(self, name, argv, logfile, env=None):
        """Start argv inside the namespace (`ip netns exec` execs it, so the
        PID is the program's); stdout+stderr to logfile."""
        if name in self.procs and self.procs[name].poll() is None:
            raise RuntimeError("%s already running" % name)
        out = open(logfile, "ab")
        try:
            p = subprocess.Popen(self.exec_argv(argv), stdin=subprocess.DEVNULL, stdout=out,
                                 stderr=subprocess.STDOUT, start_new_session=True, env=env)
        finally:
            out.close()
        self.procs[name] = p
        self.save_state()
        return p

    def stop(self, name):
        p = self.procs.get(name)
        if p is not None:
            stop_pid(p.pid, popen=p)

    def save_state(self):
        """workdir/state.json: namespace and PIDs (with start times), so
        `cluster.py down` can stop a kept cluster from another process."""
        if not self.ns:
            return
        st = {"ns": self.ns, "index": self.index, "workdir": str(self.workdir),
              "own_workdir": self._own_workdir,
              "procs": [{"name": k, "pid": p.pid, "start": _proc_starttime(p.pid)}
                        for k, p in self.procs.items() if p.poll() is None]}
        if self.corrald:
            st["corrald"] = {"url": self.corrald.url, "token": self.corrald.token,
                             "conf": str(self.corrald.conf)}
        tmp = self.workdir / "state.json.tmp"
        tmp.write_text(json.dumps(st, indent=1) + "\n")
        os.chmod(tmp, 0o600)
        tmp.rename(self.workdir / "state.json")

    def teardown(self):
        """Stop every process by PID (VMs first), delete the namespace, and
        remove the workdir if this cluster made it."""
        for vm in self.vms:
            vm.stop()
        for name in list(self.procs):
            self.stop(name)
        if self.ns:
            run(["ip", "netns", "del", self.ns], check=False)
            self.ns = None
        if self._own_workdir and not self.keep and os.environ.get("CORRAL_VM_KEEP_LOGS") is None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    @staticmethod
    def tail(path, n=40):
        try:
            lines = pathlib.Path(path).read_text(errors="replace").splitlines()
        except OSError:
            return "(no %s)" % path
        return "\n".join(lines[-n:])

    # -- services

    def start_corrald(self, binary=None, port=8080, extra_conf="", token_name="test-vm"):
        """Start corrald on <bridge ip>:port with a store, file root and key
        in workdir/corrald; make an admin token; wait for /healthz.
        extra_conf is INI text appended to the generated configuration."""
        binary = str(binary or pathlib.Path(os.environ.get("CORRAL_BUILD", REPO / "build")) / "corrald")
        d = self.workdir / "corrald"
        (d / "files").mkdir(parents=True, exist_ok=True)
        conf = d / "corral.conf"
        conf.write_text(
            "; generated by test-vm/cluster.py\n"
            "[server]\naddress = %(ip)s\nport = %(port)d\napi_port = %(port)d\nadvertise_url = http://%(ip)s:%(port)d\n"
            "[store]\npath = %(d)s/corral.db\n"
            "[files]\nroot = %(d)s/files\n"
            "[auth]\nkey_file = %(d)s/secret.key\n"
            "[boot]\nunknown_wait = 3\n" % {"ip": self.server_ip, "port": port, "d": d}
            + (extra_conf and "\n" + extra_conf + "\n"))
        tok = run([binary, "-c", str(conf), "token", "create", token_name]).stdout.strip().split()[-1]
        p = self.spawn("corrald", [binary, "-c", str(conf)], d / "corrald.log")
        self.corrald = Corrald(self, p, conf, d, self.server_ip, port, tok)
        self.corrald.binary = pathlib.Path(binary)
        self.corrald.wait_healthy()
        self.save_state()
        return self.corrald

    def corrald_dhcp_conf(self, mode="authoritative", backend="dnsmasq", ipxe_dir=None):
        """INI text for start_corrald(extra_conf=...) that makes corrald
        generate and supervise its own dnsmasq on the bridge (instead of
        start_dnsmasq()); backend "kea": Kea answers DHCP, dnsmasq keeps
        TFTP and DNS (Kea's lease file lands next to corrald's store).
        ipxe_dir: a firmware tree (build_firmware()) instead of Debian's
        /usr/lib/ipxe."""
        return ("[dhcp]\nmode = %s\nbackend = %s\ninterface = %s\nsubnet = %s.0/24\n"
                "pool_start = %s.100\npool_end = %s.199\nstate_dir = %s\n"
                % (mode, backend, BRIDGE, self.prefix, self.prefix, self.prefix,
                   self.workdir / "corrald" / "dhcp")
                + ("ipxe_dir = %s\n" % ipxe_dir if ipxe_dir else ""))

    def dnsmasq_conf(self, http_port, hosts=(), verbose=True):
        """The hand-written reference dnsmasq configuration (text): DHCP pool
        .100-.199, hosts pinned by MAC, TFTP of Debian's iPXE by client arch,
        iPXE's second request pointed at corrald's boot script."""
        d = self.workdir / "dnsmasq"
        p, br = self.prefix, BRIDGE
        lines = [
            "# hand-written reference configuration (test-vm/cluster.py)",
            "interface=%s" % br,
            "bind-interfaces",
            "port=0",  # no DNS
            "no-resolv",
            "no-hosts",
            "dhcp-authoritative",
            "dhcp-range=%s.100,%s.199,255.255.255.0,1h" % (p, p),
            # iPXE waits ~16 s for IPv6 autoconfiguration without an RA.
            "enable-ra",
            "dhcp-range=::,constructor:%s,ra-only" % br,
            "no-ping",  # ~3 s per new lease otherwise
            "dhcp-lease-max=10000",
            "tftp-max=500",
            "dhcp-leasefile=%s/leases" % d,
            "pid-file=%s/dnsmasq.pid" % d,
            "enable-tftp",
            "tftp-root=%s" % IPXE_DIR,
            "dhcp-match=set:ipxe,175",
            "dhcp-userclass=set:ipxe,iPXE",
            # iPXE: don't wait ~3 s for proxy-DHCP offers.
            "dhcp-option=tag:ipxe,encap:175,176,1b",
            "dhcp-match=set:efi64,option:client-arch,7",
            "dhcp-match=set:efi64,option:client-arch,9",
            "dhcp-boot=tag:!ipxe,tag:efi64,snponly.efi",
            "dhcp-boot=tag:!ipxe,tag:!efi64,undionly.kpxe",
            # Written to a file and given to dnsmasq without a shell, so
            # ${net0/mac} reaches iPXE literally for it to expand.
            "dhcp-boot=tag:ipxe,http://%s:%d/boot/v1/bootscript?mac=${net0/mac}" % (self.server_ip, http_port),
        ]
        if verbose:
            lines.append("log-dhcp")
        for h in hosts:
            mac, ip, name = h
            lines.append("dhcp-host=%s,%s,%s" % (mac, ip, name))
        return "\n".join(lines) + "\n"

    def start_dnsmasq(self, http_port, hosts=None, verbose=True):
        """Start dnsmasq on the bridge with dnsmasq_conf(); hosts default to
        every VM added so far (and later ones are not included: add VMs
        first, or call again after stop('dnsmasq'))."""
        if hosts is None:
            hosts = [(vm.mac, vm.ip, vm.name) for vm in self.vms]
        d = self.workdir / "dnsmasq"
        d.mkdir(parents=True, exist_ok=True)
        os.chmod(d, 0o755)
        conf = d / "dnsmasq.conf"
        conf.write_text(self.dnsmasq_conf(http_port, hosts, verbose))
        (d / "leases").touch()
        p = self.spawn("dnsmasq", ["dnsmasq", "--conf-file=%s" % conf, "--keep-in-foreground",
                                   "--log-facility=-", "--user=root", "--group=root"],
                       d / "dnsmasq.log")
        # Ready when its DHCP socket is bound (it logs "started" first).
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if p.poll() is not None:
                raise RuntimeError("dnsmasq exited: %s" % self.tail(d / "dnsmasq.log"))
            if "DHCP, IP range" in self.tail(d / "dnsmasq.log", 100):
                break
            time.sleep(0.05)
        self.dnsmasq = p
        return p

    def add_vm(self, name, firmware="bios", nic="virtio", pxe="ipxe", mem=256, extra_args=(),
               powered_off=False, vbmc=False, vbmc_args=()):
        """Create a VM with the next index and its tap on the bridge.  Not
        started, unless powered_off: then its QEMU starts now, paused before
        the firmware.  vbmc (implies powered_off): also its corral-vbmc,
        with vbmc_args added to its command line (e.g. --update-mode)."""
        i = len(self.vms) + 1
        if i > 89:
            raise RuntimeError("at most 89 VMs per cluster (pinned IPs .11-.99)")
        if vbmc and i > 54:
            raise RuntimeError("at most 54 VMs with a vBMC (BMC addresses .201-.254)")
        powered_off = powered_off or vbmc
        vm = VM(self, name, i, firmware, nic, pxe, mem, extra_args, powered_off=powered_off)
        self.ip("tuntap", "add", "dev", vm.tap, "mode", "tap")
        self.ip("link", "set", vm.tap, "master", BRIDGE)
        self.ip("link", "set", vm.tap, "up")
        self.vms.append(vm)
        if powered_off:
            vm.start()
            self._wait_qmp(vm)
        if vbmc:
            self.start_vbmc(vm, extra=vbmc_args)
        return vm

    def _wait_qmp(self, vm, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            if vm.proc.poll() is not None:
                raise RuntimeError("%s: QEMU exited: %s" % (vm.name, self.tail(vm.dir / "qemu.log")))
            try:
                vm.qmp("query-status", timeout=2)
                return
            except (OSError, ValueError):
                if time.monotonic() > deadline:
                    raise RuntimeError("%s: no QMP on %s" % (vm.name, vm.qmp_socket))
                time.sleep(0.05)

    def start_vbmc(self, vm, binary=None, timeout=10, extra=()):
        """Start corral-vbmc for a powered_off VM on 10.77.<n>.<200+i>:8000
        (the address is added to the bridge), extra arguments appended;
        waits until it answers."""
        binary = str(binary) if binary else vbmc_binary()
        vm.bmc_ip = "%s.%d" % (self.prefix, 200 + vm.index)
        vm.bmc_mac = "52:54:00:78:%02x:%02x" % (self.index, vm.index)
        vm.bmc_url = "http://%s:%d" % (vm.bmc_ip, VBMC_PORT)
        self.ip("addr", "add", "%s/32" % vm.bmc_ip, "dev", BRIDGE)
        argv = [binary, "--listen", "%s:%d" % (vm.bmc_ip, VBMC_PORT), "--qmp", str(vm.qmp_socket),
                "--mac", vm.mac, "--bmc-mac", vm.bmc_mac, "--name", vm.name,
                "--user", vm.bmc_user, "--password", vm.bmc_password, "--uuid", vm.uuid,
                "--serial", vm.serial, "--boot-mode", "Legacy" if vm.firmware == "bios" else "UEFI"]
        argv += list(extra)
        log_path = vm.dir / "vbmc.log"
        vm.vbmc = self.spawn("vbmc-" + vm.name, argv, log_path)
        deadline = time.monotonic() + timeout
        while True:
            if vm.vbmc.poll() is not None:
                raise RuntimeError("corral-vbmc for %s exited: %s" % (vm.name, self.tail(log_path)))
            try:
                if vm.redfish("GET", "/redfish/v1/", auth=None, timeout=2)[0] == 200:
                    return vm
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("corral-vbmc for %s not answering: %s" % (vm.name, self.tail(log_path)))
            time.sleep(0.05)


# ---------------------------------------------------------------- reports


def stages(cd, node):
    """The node's boot timeline as [(stage, time string)]."""
    return [(e["stage"], e["time"]) for e in cd.api("GET", "/nodes/%s/events" % node)]


def format_timeline(cd, node):
    """Lines 'stage  +seconds  source  detail' for the node's events."""
    ev = cd.api("GET", "/nodes/%s/events" % node)
    out = []
    base = None
    for e in ev:
        t = _parse_time(e["time"])
        if base is None:
            base = t
        out.append("  %-11s +%6.2fs  %-15s %s" % (e["stage"], t - base,
                                                  e.get("source") or "", e.get("detail") or ""))
    return out


def _parse_time(s):
    # 2026-11-25T12:00:00.123Z
    m = re.match(r"(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)(\.\d+)?Z", s)
    if not m:
        return 0.0
    import calendar
    secs = calendar.timegm(tuple(int(x) for x in m.groups()[:6]))
    return secs + float(m.group(7) or 0)


def missing_stages(cd, node, want=("bootscript", "kernel", "initrd", "cloud-init", "phone-home")):
    """The stages of `want` not found in order on the node's timeline."""
    got = [s for s, _ in stages(cd, node)]
    missing = []
    pos = 0
    for w in want:
        try:
            pos = got.index(w, pos) + 1
        except ValueError:
            missing.append(w)
    return missing


def boot_and_check(cluster, cd, vms, timeout=240):
    """Start the VMs at once, wait for each to phone home and power off;
    returns {name: {"phoned_home": s, "off": s, "marks": {...}}}."""
    for vm in vms:
        vm.start()
    res = {}
    for vm in vms:
        t = vm.wait_for(r"^phoned home", timeout)
        res[vm.name] = {"phoned_home": t}
    for vm in vms:
        try:
            res[vm.name]["off"] = vm.wait_exit(30)
        except TimeoutError:
            res[vm.name]["off"] = None
        res[vm.name]["marks"] = dict(vm.marks)
    return res


# ---------------------------------------------------------------- CLI


def cmd_boot(a):
    testos = build_testos(a.testos)
    fw = testos_arm64 = None
    if a.arm64:
        if a.dnsmasq != "corrald":
            print("--arm64 needs --dnsmasq corrald (the firmware tree)", file=sys.stderr)
            return 2
        fw, testos_arm64 = build_firmware(), build_testos_arm64()
    c = Cluster(index=a.net, workdir=a.workdir, keep=a.keep, accel=a.accel)
    c.create()
    ok = False
    try:
        extra = pathlib.Path(a.corrald_conf).read_text() if a.corrald_conf else ""
        if a.dnsmasq == "corrald":
            extra = c.corrald_dhcp_conf(backend=a.dhcp_backend, ipxe_dir=fw) + extra
        cd = c.start_corrald(a.corrald, port=a.port, extra_conf=extra)
        setup_testos(cd, testos)
        if a.arm64:
            setup_testos(cd, testos_arm64, params="console=ttyAMA0 quiet", name="testos-arm64",
                         default=False, arch="aarch64")
        vms = []
        for i in range(a.bios):
            vms.append(c.add_vm("bios%d" % (i + 1), "bios", nic=a.nic, mem=a.mem))
        for i in range(a.uefi):
            vms.append(c.add_vm("uefi%d" % (i + 1), "uefi", pxe=a.uefi_pxe, mem=a.mem))
        for i in range(a.arm64):
            vms.append(c.add_vm("arm%d" % (i + 1), "arm64", pxe="firmware", mem=max(a.mem, 512)))
        for vm in vms:
            if vm.firmware == "arm64":
                register_vm(cd, vm, arch="aarch64", profile="testos-arm64")
            else:
                register_vm(cd, vm)
        if a.dnsmasq == "hand":
            c.start_dnsmasq(cd.port, verbose=not a.quiet_dnsmasq)
        res = boot_and_check(c, cd, vms, a.timeout)
        ok = True
        for vm in vms:
            node = cd.node(vm.name)
            miss = missing_stages(cd, vm.name)
            print("%s (%s%s, %s): phoned home %.1fs, off %ss, state %s%s" % (
                vm.name, vm.firmware, "" if vm.pxe == "ipxe" else " firmware-PXE", vm.mac,
                res[vm.name]["phoned_home"], res[vm.name]["off"], node["state"],
                ", missing stages: " + ",".join(miss) if miss else ""))
            for ln in format_timeline(cd, vm.name):
                print(ln)
            ok = ok and node["state"] == "ready" and not miss
    except Exception as e:
        print("boot failed: %s" % e, file=sys.stderr)
        ok = False
    finally:
        if a.keep:
            c.save_state()
            print("cluster kept: namespace %s, workdir %s" % (c.ns, c.workdir))
            if c.corrald:
                print("  API: ip netns exec %s %s/corral --url %s --token %s status" % (
                    c.ns, pathlib.Path(os.environ.get("CORRAL_BUILD", REPO / "build")),
                    c.corrald.url, c.corrald.token))
            print("  stop: %s %s down %s" % (sys.executable, __file__, c.workdir))
        else:
            c.teardown()
    return 0 if ok else 1


def cmd_down(a):
    st = json.loads((pathlib.Path(a.workdir) / "state.json").read_text())
    for p in reversed(st.get("procs", [])):
        stop_pid(p["pid"], starttime=p.get("start"))
    run(["ip", "netns", "del", st["ns"]], check=False)
    if st.get("own_workdir"):
        shutil.rmtree(st["workdir"], ignore_errors=True)
    print("stopped %s" % st["ns"])
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("boot", help="start a cluster, boot VMs through corrald, print timelines")
    b.add_argument("--bios", type=int, default=1, help="BIOS VMs (default 1)")
    b.add_argument("--uefi", type=int, default=1, help="UEFI VMs (default 1)")
    b.add_argument("--arm64", type=int, default=0,
                   help="arm64 VMs (default 0; TCG, AAVMF's PXE + TFTP ipxe-arm64.efi; builds "
                   "the firmware tree and the arm64 test OS with apt; needs --dnsmasq corrald)")
    b.add_argument("--uefi-pxe", choices=("firmware", "ipxe"), default="firmware",
                   help="UEFI VMs: OVMF's own PXE + TFTP snponly.efi (default) or the NIC's iPXE ROM")
    b.add_argument("--nic", choices=("virtio", "e1000"), default="virtio", help="BIOS VMs' NIC")
    b.add_argument("--mem", type=int, default=256)
    b.add_argument("--dnsmasq", choices=("hand", "corrald", "none"), default="hand",
                   help="hand: the hand-written reference dnsmasq (default); corrald: corrald "
                   "runs its own ([dhcp] section added); none: no DHCP server from this tool "
                   "(configure corrald with --corrald-conf)")
    b.add_argument("--dhcp-backend", choices=("dnsmasq", "kea"), default="dnsmasq",
                   help="with --dnsmasq corrald: dhcp.backend (kea: Kea answers DHCP, "
                   "corrald's dnsmasq keeps TFTP and DNS)")
    b.add_argument("--quiet-dnsmasq", action="store_true", help="no log-dhcp")
    b.add_argument("--corrald", help="corrald binary (default $CORRAL_BUILD/corrald)")
    b.add_argument("--corrald-conf", help="INI file appended to corrald's generated config")
    b.add_argument("--port", type=int, default=8080)
    b.add_argument("--net", type=int, help="<n> of corral-vm<n> / 10.77.<n>.0/24")
    b.add_argument("--workdir")
    b.add_argument("--testos", help="test OS build directory (default cache)")
    b.add_argument("--accel", choices=("kvm", "tcg"))
    b.add_argument("--timeout", type=float, default=240)
    b.add_argument("--keep", action="store_true", help="leave the cluster running")
    b.set_defaults(fn=cmd_boot)
    d = sub.add_parser("down", help="stop a kept cluster")
    d.add_argument("workdir")
    d.set_defaults(fn=cmd_down)
    p = sub.add_parser("probe-accel", help="print kvm or tcg")
    p.add_argument("--refresh", action="store_true")
    p.set_defaults(fn=lambda a: print(probe_accel(refresh=a.refresh)) or 0)
    t = sub.add_parser("testos", help="build the test OS, print its directory")
    t.add_argument("outdir", nargs="?")
    t.set_defaults(fn=lambda a: print(build_testos(a.outdir)) or 0)
    a = ap.parse_args(argv)

    def on_term(signum, frame):
        # SIGTERM (make interrupted, CI timeout): unwind so teardown runs.
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    return a.fn(a)


if __name__ == "__main__":
    sys.exit(main())
