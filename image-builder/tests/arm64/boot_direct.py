#!/usr/bin/python3
"""Boots an arm64 image from a corral-image store in QEMU (aarch64 virt,
TCG) directly with -kernel/-initrd, against a corrald on loopback serving
its root image, cloud-init and phone-home: the arm64 firmware chain
(UEFI → iPXE → boot script) is the firmware/ issue's; this shows that the
image itself boots through Corral.

  boot_direct.py STORE [IMAGE] [--build DIR] [--timeout S]

corrald runs on 127.0.0.1 with advertise_url http://10.0.2.2:PORT (QEMU's
user-mode network: the guest reaches the host's loopback there), the image
is pushed into its file root, a node is registered with the address its
requests come from (127.0.0.1, user-mode NAT), and the kernel line is the
one corrald's boot script gives the node (root=live:…, the seed URL,
corral.rootfs_sha256=…).  Prints the console's Corral lines and the node's
timeline; exit 0 when the node phoned home.
"""
import argparse
import os
import pathlib
import re
import shlex
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "netboot" / "tests" / "integ"))
from conftest import NO_TOKEN, Corrald, IpxeScript  # noqa: E402

USER_DATA = """#cloud-config
runcmd:
  - [sh, -c, 'echo "CORRAL-ARM64: runcmd arch=$(uname -m) root=$(findmnt -n -o FSTYPE /)" > /dev/ttyAMA0']
phone_home:
  url: http://10.0.2.2:%d/phone-home
  post: [instance_id, hostname]
  tries: 10
power_state:
  mode: poweroff
  delay: now
  condition: true
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("store")
    ap.add_argument("image", nargs="?", default="compute-arm64")
    ap.add_argument("--build", default=str(REPO / "build"))
    ap.add_argument("--timeout", type=int, default=3600)
    a = ap.parse_args()
    build = pathlib.Path(a.build)
    work = pathlib.Path(tempfile.mkdtemp(prefix="corral-arm64-"))
    cd = Corrald(work / "corrald", build=build)
    cd.conf["server"]["advertise_url"] = "http://10.0.2.2:%d" % cd.port
    cd.advertise_url = cd.conf["server"]["advertise_url"]
    cd.write_conf()
    cd.make_tokens()
    cd.start()
    vm = None
    try:
        env = dict(os.environ, CORRAL_URL=cd.url, CORRAL_TOKEN=cd.admin_token)
        p = subprocess.run([str(build / "corral-image"), "--store", a.store, "push", a.image,
                            "--files-root", str(cd.files_root), "--advertise", cd.advertise_url],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        print(p.stdout.strip())
        assert p.returncode == 0
        img = cd.get("/api/v1/images/" + a.image).body
        assert img["arch"] == "aarch64", img
        cd.ok("PUT", "/api/v1/profiles/arm64", {"image": a.image})
        mac = "52:54:00:a6:40:01"
        cd.ok("PUT", "/api/v1/nodes/arm64-node1",
              {"arch": "aarch64", "profile": "arm64", "user_data": USER_DATA % cd.port,
               "interfaces": [{"mac": mac, "ip": "127.0.0.1"}]})
        script = IpxeScript(cd.bootscript({"mac": mac}).text)
        words = shlex.split(script.line("kernel"))[1:]
        if "||" in words:  # the script's "|| goto retry"
            words = words[:words.index("||")]
        params = [w for w in words[1:] if not w.startswith("initrd=")]
        print("kernel line:", " ".join(params))
        layer = pathlib.Path(a.store) / "names" / a.image
        argv = ["qemu-system-aarch64", "-M", "virt", "-cpu", "cortex-a57", "-m", "2048",
                "-smp", "1", "-accel", "tcg", "-nographic", "-no-reboot",
                "-kernel", str(layer / "vmlinuz"), "-initrd", str(layer / "initrd"),
                "-append", " ".join(params),
                "-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0,mac=%s,romfile=" % mac]
        log = open(work / "console.log", "w")
        t0 = time.monotonic()
        vm = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        state = None
        while time.monotonic() - t0 < a.timeout:
            state = cd.get("/api/v1/nodes/arm64-node1").body["state"]
            if state == "ready" or vm.poll() is not None:
                break
            time.sleep(5)
        secs = time.monotonic() - t0
        con = (work / "console.log").read_text(errors="replace")
        for ln in con.splitlines():
            if re.search(r"corral:|CORRAL-ARM64|Linux version", ln):
                print("console:", ln.strip()[:200])
        for e in cd.get("/api/v1/nodes/arm64-node1/events").body:
            print("event: %s %-10s %s" % (e["time"], e["stage"], e["detail"][:100]))
        print("arm64 node: state %s after %.0f s (console log %s)" % (state, secs, work / "console.log"))
        return 0 if state == "ready" else 1
    finally:
        if vm is not None and vm.poll() is None:
            vm.terminate()
            vm.wait(10)
        cd.stop()


if __name__ == "__main__":
    sys.exit(main())
