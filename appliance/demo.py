#!/usr/bin/python3
"""make demo-appliance: the appliance image at work, in QEMU.

Builds the image (or reuses it: every build step is cached), boots it with
a first-boot settings file on its CORRAL partition and two NICs (management
and boot network, in a fresh network namespace), reads the admin token from
its console, copies the test OS onto it over SSH, PXE-boots one client VM
from it and prints that client's timeline as the appliance's API reports it.
--keep leaves everything running and prints how to reach it.
"""
import argparse
import os
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import vm as V  # noqa: E402

C = V.C


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(V.DEFAULT_OUT), help="image directory (build/appliance)")
    ap.add_argument("--image", help="boot this image instead of building one")
    ap.add_argument("--firmware", choices=("bios", "uefi"), default="bios", help="the appliance's")
    ap.add_argument("--keep", action="store_true", help="leave the appliance and client running")
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("demo-appliance: needs root (namespaces, QEMU taps, image build)", file=sys.stderr)
        return 1

    t0 = time.monotonic()
    if a.image:
        img = pathlib.Path(a.image)
    else:
        print("building the appliance image (cached steps) ...", flush=True)
        img = V.build(a.out, log=pathlib.Path(a.out) / "build.log")
    print("image %s (built or reused in %.0f s)" % (img, time.monotonic() - t0))
    testos = C.build_testos()

    c = V.new_cluster(keep=a.keep)
    ok = False
    try:
        V.add_mgmt_bridge(c)
        key, pub = V.make_ssh_key(c.workdir)
        settings = V.settings_text(c, V.mgmt_mac(c.index), V.boot_mac(c.index), pub)
        print("settings.txt written to the image's CORRAL partition:")
        for ln in settings.splitlines():
            print("    " + ln)
        ap_vm = V.Appliance(c, img, firmware=a.firmware, settings=settings, ssh_key=key)
        ap_vm.start()
        print("appliance powered on (%s, %s); console: %s" % (a.firmware, c.accel, ap_vm.console))
        tok = ap_vm.wait_token()
        print("first boot printed the admin token (%s...) and the HTTPS key %s"
              % (tok[:8], ap_vm.fingerprint))
        t = ap_vm.wait_healthy()
        print("corrald healthy on the management port https://%s:%d %.0f s after power-on"
              % (ap_vm.mgmt_ip, V.API_PORT, t))
        print("system state: %s" % ap_vm.ssh("systemctl is-system-running --wait", check=False).strip())
        V.setup_testos(ap_vm, testos)
        client = c.add_vm("node1", firmware="bios")
        C.register_vm(ap_vm, client)
        client.start()
        th = client.wait_for(r"^phoned home", timeout=600)
        print("node1 (BIOS) PXE-booted from the appliance and phoned home %.1f s after power-on" % th)
        print("node1's timeline, from the appliance's API (GET /api/v1/nodes/node1/events):")
        for ln in C.format_timeline(ap_vm, client.name):
            print(ln)
        ok = C.missing_stages(ap_vm, client.name) == []
    except Exception as e:  # the demo reports, then tears down
        print("demo-appliance failed: %s" % e, file=sys.stderr)
    finally:
        if a.keep:
            c.save_state()
            print("kept: namespace %s, workdir %s" % (c.ns, c.workdir))
            print("  web page: ip netns exec %s curl -k https://10.78.%d.2:%d/ui/" % (c.ns, c.index, V.API_PORT))
            print("  ssh: ip netns exec %s ssh -i %s/id_ed25519 root@10.78.%d.2" % (c.ns, c.workdir, c.index))
            print("  stop: /usr/bin/python3 %s down %s" % (C.__file__, c.workdir))
        else:
            V.drop_cluster(c)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
