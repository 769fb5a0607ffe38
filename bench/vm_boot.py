#!/usr/bin/python3
"""`make bench`: QEMU VM boot time, power-on to phone-home, through corrald
and through the floor.

    bench/vm_boot.py BUILD_DIR      (BUILD_DIR holds corrald; the table also
                                     goes to BUILD_DIR/bench/vm-boot.txt)

One network namespace (test-vm/cluster.py) with five BIOS VMs (the NIC's
iPXE ROM, TCG unless KVM really works here): one boots alone, then four
power on at once.  Both runs use the same VMs, MACs, addresses, kernel and
initramfs (the test OS):

  corrald  corrald with its own dnsmasq ([dhcp] mode = authoritative): DHCP,
           boot script, files, cloud-init and phone-home all from corrald;
  floor    the hand-written reference dnsmasq (cluster.start_dnsmasq) and
           nginx on the same address and port serving static copies: the
           kernel and initrd, each node's boot script as a file per MAC
           (what corrald served it), its cloud-init files, and `return 200`
           for phone-home.

Then one arm64 VM (qemu-system-aarch64 -M virt, AAVMF, the firmware's own
PXE -> ipxe-arm64.efi from `make firmware`'s tree) boots through corrald
alone, beside the x86 rows: it is registered without an arch and learns
it from its DHCP request, and the default profile names an image per
architecture.  The floor's hand-written dnsmasq has no arm64 row, so its
ratio is arm64/x86 through corrald (what emulating a whole AArch64 machine
under TCG costs), not corrald/floor.

The ratio is corrald/floor (1.00 = no cost over static files).  Under TCG
the guest kernel dominates each boot, so the ratio is near 1 unless the
network-boot side adds delays.  One run on a shared, noisy machine: a
measurement, never a pass/fail test; the script fails only when it cannot
measure (a boot does not finish, a server does not start).

Environment: BENCH_VM_TIMEOUT (seconds per boot phase, default 300),
BENCH_VM_ARM64=0 (no arm64 row: e.g. to measure a corrald without
per-architecture images),
CORRAL_ACCEL=kvm|tcg (skip the probe), CORRAL_VM_KEEP_LOGS=1 (keep the
workdir).  Root, /usr/bin/python3, qemu, dnsmasq, nginx (make deps).
"""

import http.client
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "test-vm"))

import cluster as C  # noqa: E402

FOUR = 4
TIMEOUT = float(os.environ.get("BENCH_VM_TIMEOUT", "300"))


def say(msg):
    print("bench-vm: %s" % msg, file=sys.stderr, flush=True)


GAVE_UP = re.compile(r"No more network devices|No bootable device")


def boot(c, vms, label, timeout=None):
    """Power on vms at once; seconds from each one's power-on to its
    phone-home marker.  Fails as soon as a VM's network boot gives up."""
    for vm in vms:
        vm.start()
    out = {}
    timeout = timeout or TIMEOUT
    deadline = time.monotonic() + timeout
    try:
        while len(out) < len(vms):
            for vm in vms:
                if vm.name in out:
                    continue
                t = next((t for m, t in dict(vm.marks).items() if m.startswith("phoned home")), None)
                if t is not None:
                    out[vm.name] = t
                elif GAVE_UP.search(vm.console_text()) or any(m.startswith("FAIL") for m in vm.marks):
                    raise RuntimeError("%s: boot failed\n%s" % (vm.name, vm.tail(25)))
                elif not vm.running() and vm.t_exit is not None:
                    raise RuntimeError("%s: QEMU exited before phone-home\n%s" % (vm.name, vm.tail(25)))
            if time.monotonic() > deadline:
                raise RuntimeError("no phone-home from %s after %ss" % (
                    ", ".join(vm.name for vm in vms if vm.name not in out), timeout))
            time.sleep(0.1)
        for vm in vms:
            vm.wait_exit(60)
    except Exception as e:
        for vm in vms:
            vm.stop()
        raise RuntimeError("%s: %s" % (label, e))
    say("%s: %s" % (label, ", ".join("%s %.1f s" % kv for kv in out.items())))
    return out


def static_tree(c, cd, vms, www):
    """Copies of what corrald serves the VMs, laid out at the same paths."""
    (www / "boot").mkdir(parents=True)
    files = www / "files" / "testos"
    files.mkdir(parents=True)
    for f in ("vmlinuz", "initrd.img"):
        shutil.copyfile(cd.files_root / "testos" / f, files / f)
    auth = {"Authorization": "Bearer " + cd.token}
    for vm in vms:
        st, script = cd.http("GET", "/api/v1/nodes/%s/bootscript" % vm.name, headers=auth)
        if st != 200 or "\nkernel " not in script:
            raise RuntimeError("no boot script for %s: %s %s" % (vm.name, st, script))
        # nginx's $arg_mac is the raw query value: iPXE may send the
        # colons as they are or percent-encoded.
        for name in (vm.mac, vm.mac.replace(":", "%3A"), vm.mac.replace(":", "%3a")):
            (www / "boot" / name).write_text(script)
        m = re.search(r"ds=nocloud-net;s=(http://[^/\s]+)(/cloud-init/[^/\s]+/)", script)
        if not m or m.group(1) != cd.url:
            raise RuntimeError("no cloud-init seed on %s's kernel line: %s" % (vm.name, script))
        seed = www / m.group(2).strip("/")
        seed.mkdir(parents=True)
        for f in ("meta-data", "user-data", "vendor-data"):
            st, body = C.in_netns(c.ns, _fetch, "GET", cd.address, cd.port, m.group(2) + f)
            if st != 200:
                raise RuntimeError("%s%s -> %d" % (m.group(2), f, st))
            (seed / f).write_bytes(body)
    for d, _, fs in os.walk(www):
        os.chmod(d, 0o755)
        for f in fs:
            os.chmod(os.path.join(d, f), 0o644)


def nginx_conf(c, port, www, ngx):
    return """# the floor for bench/vm_boot.py: static copies of corrald's answers
daemon off;
worker_processes %(ncpu)d;
user nobody nogroup;
pid %(ngx)s/nginx.pid;
error_log %(ngx)s/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	sendfile on;
	tcp_nopush on;
	keepalive_timeout 65;
	default_type text/plain;
	client_body_temp_path %(ngx)s/body;
	proxy_temp_path %(ngx)s/proxy;
	fastcgi_temp_path %(ngx)s/fastcgi;
	uwsgi_temp_path %(ngx)s/uwsgi;
	scgi_temp_path %(ngx)s/scgi;
	server {
		listen %(ip)s:%(port)d;
		root %(www)s;
		location = /boot/v1/bootscript {
			try_files /boot/$arg_mac =404;
		}
		# /phone-home/<seed token> (corrald's phone-home takes the token
		# since node identity; an exact /phone-home answered those 404)
		location ^~ /phone-home {
			return 200 "{}\\n";
		}
	}
}
""" % {"ncpu": os.cpu_count() or 1, "ngx": ngx, "www": www, "ip": c.server_ip, "port": port}


def start_nginx(c, port, www):
    ngx = c.workdir / "nginx"
    ngx.mkdir()
    conf = ngx / "nginx.conf"
    conf.write_text(nginx_conf(c, port, www, ngx))
    p = c.spawn("nginx", ["nginx", "-p", str(ngx), "-e", str(ngx / "error.log"), "-c", str(conf)],
                ngx / "stderr.log")
    deadline = time.monotonic() + 10
    while True:
        try:
            st, _ = C.in_netns(c.ns, _fetch, "HEAD", c.server_ip, port, "/files/testos/vmlinuz")
            if st == 200:
                return p
        except OSError:
            pass
        if p.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("nginx did not come up: %s\n%s" % (
                c.tail(ngx / "error.log"), c.tail(ngx / "stderr.log")))
        time.sleep(0.1)


def _fetch(method, host, port, path):
    """(status, body bytes); call through C.in_netns."""
    h = http.client.HTTPConnection(host, port, timeout=10)
    try:
        h.request(method, path)
        r = h.getresponse()
        return r.status, r.read()
    finally:
        h.close()


def version(argv, rx):
    try:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        m = re.search(rx, p.stdout)
        return m.group(1) if m else "?"
    except OSError:
        return "?"


def arm64_why_not():
    """None when an arm64 VM can be booted here, else why not."""
    if os.environ.get("BENCH_VM_ARM64") == "0":
        return "BENCH_VM_ARM64=0"
    if not shutil.which(C.QEMU_ARM64):
        return "%s missing (make deps: qemu-system-arm)" % C.QEMU_ARM64
    for f in (C.AAVMF_CODE, C.AAVMF_VARS):
        if not os.path.exists(f):
            return "%s missing (make deps: qemu-efi-aarch64)" % f
    return None


def main(argv):
    if len(argv) != 2:
        print("usage: bench/vm_boot.py BUILD_DIR", file=sys.stderr)
        return 2
    build = pathlib.Path(argv[1]).resolve()
    os.environ["CORRAL_BUILD"] = str(build)
    if os.geteuid() != 0:
        say("error: needs root (network namespaces, taps)")
        return 1
    for tool in (C.QEMU, "dnsmasq", "nginx"):
        if not shutil.which(tool):
            say("error: %s not found (run 'make deps')" % tool)
            return 1
    if not (build / "corrald").exists():
        say("error: %s/corrald not built (run 'make')" % build)
        return 1

    def on_term(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)

    load0 = " ".join(open("/proc/loadavg").read().split()[:3])
    testos = C.build_testos()
    arm_why = arm64_why_not()
    fw = testos_arm = None
    if arm_why is None:
        fw, testos_arm = C.build_firmware(), C.build_testos_arm64()
    c = C.Cluster()
    c.create()
    rows = {}
    try:
        cd = c.start_corrald(extra_conf=c.corrald_dhcp_conf(ipxe_dir=fw))
        C.setup_testos(cd, testos)
        solo = c.add_vm("solo")
        many = [c.add_vm("four%d" % i) for i in range(1, FOUR + 1)]
        vms = [solo] + many
        for vm in vms:
            C.register_vm(cd, vm)
        arm = None
        if arm_why is None:
            C.setup_testos(cd, testos_arm, params="console=ttyAMA0 quiet", name="testos-arm64",
                           default=False, arch="aarch64")
            cd.api("PUT", "/profiles/testos", {"image": "testos",
                                               "images": {"aarch64": "testos-arm64"}})
            arm = c.add_vm("arm64", firmware="arm64", pxe="firmware", mem=512)
            C.register_vm(cd, arm)  # no arch: learned from its DHCP request
        deadline = time.monotonic() + 10
        while "DHCP, IP range" not in c.tail(cd.workdir / "corrald.log", 200):
            if time.monotonic() > deadline:
                raise RuntimeError("corrald's dnsmasq did not start:\n" + c.tail(cd.workdir / "corrald.log"))
            time.sleep(0.1)

        say("corrald (own dnsmasq): one BIOS VM, then %d at once" % FOUR)
        rows["corrald"] = (boot(c, [solo], "corrald, one"), boot(c, many, "corrald, four"))
        for vm in vms:
            if cd.node(vm.name)["state"] != "ready":
                raise RuntimeError("%s not ready through corrald" % vm.name)
        if arm is not None:
            say("corrald (own dnsmasq): one arm64 VM (AAVMF, TCG)")
            rows["arm64"] = boot(c, [arm], "corrald, arm64", timeout=max(TIMEOUT, 900.0))
            n = cd.node(arm.name)
            if n["state"] != "ready" or n["arch"] != "aarch64":
                raise RuntimeError("arm64 not ready as aarch64 through corrald: %s" % n)

        www = c.workdir / "www"
        static_tree(c, cd, vms, www)
        dns_pid = cd.dnsmasq_pid()
        c.stop("corrald")  # corrald stops its dnsmasq
        deadline = time.monotonic() + 10
        while dns_pid and C._proc_starttime(dns_pid) is not None:
            if time.monotonic() > deadline:
                raise RuntimeError("corrald's dnsmasq (pid %d) outlived corrald" % dns_pid)
            time.sleep(0.05)
        start_nginx(c, cd.port, www)
        c.start_dnsmasq(cd.port, hosts=[(vm.mac, vm.ip, vm.name) for vm in vms], verbose=False)

        say("floor (hand-written dnsmasq + nginx, static files): one BIOS VM, then %d at once" % FOUR)
        rows["floor"] = (boot(c, [solo], "floor, one"), boot(c, many, "floor, four"))
    except Exception as e:
        say("error: %s" % e)
        return 1
    finally:
        c.teardown()

    (c1, c4), (f1, f4) = rows["corrald"], rows["floor"]
    lines = []
    lines.append("VM boot, power-on to phone-home, BIOS (SeaBIOS + iPXE ROM, %s, 256 MiB): "
                 "ONE run on a shared, noisy machine, not a test" % c.accel.upper())
    lines.append("  load average before %s, after %s; %d CPUs" % (
        load0, " ".join(open("/proc/loadavg").read().split()[:3]), os.cpu_count() or 0))
    lines.append("  corrald: corrald %s with its own dnsmasq %s; floor: hand-written dnsmasq + nginx %s "
                 "serving the same files statically" % (
                     version([str(build / "corrald"), "-V"], r"(\S+)\s*$"),
                     version(["dnsmasq", "--version"], r"version (\S+)"),
                     version(["nginx", "-v"], r"nginx/(\S+)")))
    lines.append("%-22s %9s %9s %7s" % ("", "corrald", "floor", "ratio"))

    def row(label, a, b):
        lines.append("%-22s %8.1fs %8.1fs %7.2f" % (label, a, b, a / b if b else float("nan")))

    row("one VM", c1["solo"], f1["solo"])
    for vm in many:
        row("four at once: %s" % vm.name, c4[vm.name], f4[vm.name])
    row("four at once: mean", sum(c4.values()) / FOUR, sum(f4.values()) / FOUR)
    row("four at once: last", max(c4.values()), max(f4.values()))
    if "arm64" in rows:
        a = rows["arm64"]["arm64"]
        lines.append("%-22s %8.1fs %9s %7.2f  (arm64/x86 one VM, both through corrald)" % (
            "one arm64 VM (AAVMF)", a, "-", a / c1["solo"] if c1["solo"] else float("nan")))
    else:
        lines.append("one arm64 VM: not measured: %s" % arm_why)
    lines.append("ratio = corrald/floor (1.00: corrald costs nothing over static files); "
                 "the guest kernel under TCG is most of every boot.")
    text = "\n".join(lines)
    sys.stderr.flush()
    print(text, flush=True)
    try:
        (build / "bench").mkdir(exist_ok=True)
        (build / "bench" / "vm-boot.txt").write_text(text + "\n")
    except OSError:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
