"""The verified root image, corrald's side (docs/api.md): an image's
`rootfs_sha256` reaches the node's kernel command line as
`corral.rootfs_sha256=`, and the node's initramfs reports a refused root
image with `POST /boot/v1/report/{token}`, which becomes a `rootfs` event on
that node's timeline (only for the node the token names; only stage rootfs)."""
import hashlib
import json
import re

import pytest

from conftest import NO_TOKEN, IpxeScript, assert_problem, node, uniq, wait_until

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
SUM = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"


def boot_node(c, sha=SUM):
    img = {"name": uniq("vimg"), "kernel": "k", "initrd": "i", "rootfs": "r.squashfs"}
    if sha is not None:
        img["rootfs_sha256"] = sha
    assert c.post("/api/v1/images", img).status == 201
    p = uniq("vprof")
    assert c.post("/api/v1/profiles", {"name": p, "image": img["name"]}).status == 201
    n = node(profile=p)
    assert c.post("/api/v1/nodes", n).status == 201
    r = c.bootscript({"mac": n["interfaces"][0]["mac"]})
    assert r.status == 200, r
    return n, IpxeScript(r.text)


def report(c, token, body):
    return c.request("POST", "/boot/v1/report/%s" % token, body, token=NO_TOKEN, headers=FORM)


def test_digest_on_kernel_line(corrald):
    _, script = boot_node(corrald)
    assert script.kernel_arg("corral.rootfs_sha256") == SUM, script.kernel()
    _, script = boot_node(corrald, sha=None)
    assert script.kernel_arg("corral.rootfs_sha256") is None, script.kernel()


def test_report_becomes_rootfs_event(corrald):
    n, script = boot_node(corrald)
    _, token = script.seed_token()
    detail = "sha256 mismatch: expected %s got %s; not mounted" % (SUM[:12], "0" * 12)
    r = report(corrald, token, "stage=rootfs&detail=" + detail.replace(" ", "+").replace(";", "%3B"))
    assert r.status == 200, r
    assert r.body == {"node": n["name"], "stage": "rootfs"}
    evs = wait_until(lambda: [e for e in corrald.get("/api/v1/nodes/%s/events" % n["name"]).body
                              if e["stage"] == "rootfs"])
    assert evs and evs[-1]["detail"] == detail, evs


@pytest.mark.parametrize("body,status,field", [
    ("stage=phone-home&detail=x", 400, "stage"),
    ("detail=x", 400, "stage"),
    ("stage=rootfs&detail=%zz", 400, "detail"),
])
def test_report_refuses_other_stages_and_bad_forms(corrald, body, status, field):
    _, script = boot_node(corrald)
    _, token = script.seed_token()
    r = report(corrald, token, body)
    # /boot/v1 answers errors as problem details (BSS's shape,
    # docs/openchami.md), which have no field member: the detail says why
    err = assert_problem(r, status)
    assert field in err["message"] or "escape" in err["message"], r


def test_report_needs_the_nodes_token(corrald):
    n, script = boot_node(corrald)
    _, token = script.seed_token()
    bad = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert report(corrald, bad, "stage=rootfs&detail=x").status == 403
    assert report(corrald, "not-a-token", "stage=rootfs&detail=x").status == 403
    evs = corrald.get("/api/v1/nodes/%s/events" % n["name"]).body
    assert not [e for e in evs if e["stage"] == "rootfs"], evs


# --- corral image verify -----------------------------------------------------------

def push_like(c, name, files):
    """Files and manifest.json under images/<name>/, the image registered as
    corral-image push does (rootfs_sha256 from the manifest)."""
    arts = {}
    for f, data in files.items():
        c.add_file("images/%s/%s" % (name, f), data)
        arts[f] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    manifest = {"format": 1, "name": name, "layer": "ab" * 32, "artifacts": arts}
    c.add_file("images/%s/manifest.json" % name, json.dumps(manifest))
    c.ok("PUT", "/api/v1/images/" + name,
         {"kernel": "images/%s/vmlinuz" % name, "initrd": "images/%s/initrd" % name,
          "rootfs": "images/%s/rootfs.squashfs" % name,
          "rootfs_sha256": arts["rootfs.squashfs"]["sha256"]})
    return manifest


def test_image_verify(corrald, tmp_path):
    from test_cli import corral, failed
    name = uniq("verimg")
    files = {"vmlinuz": b"kernel" * 1000, "initrd": b"initrd" * 2000,
             "rootfs.squashfs": bytes(range(256)) * 4096}
    manifest = push_like(corrald, name, files)
    p = corral(corrald, "image", "verify", name)
    assert p.returncode == 0, (p.stdout, p.stderr)
    lines = [ln for ln in p.stdout.splitlines() if ln.split()[:1] in (["vmlinuz"], ["initrd"],
                                                                      ["rootfs.squashfs"])]
    assert len(lines) == 3 and all(ln.endswith(" ok") for ln in lines), p.stdout

    # One byte of the served root image changed: the root image is named.
    bad = bytearray(files["rootfs.squashfs"])
    bad[len(bad) // 2] ^= 1
    corrald.add_file("images/%s/rootfs.squashfs" % name, bytes(bad))
    p = corral(corrald, "image", "verify", name)
    line = failed(p, 1)
    assert "1 of 3 files do not match" in line, line
    assert re.search(r"^rootfs\.squashfs .* MISMATCH: served [0-9a-f]{12}, manifest %s" %
                     manifest["artifacts"]["rootfs.squashfs"]["sha256"][:12], p.stdout, re.M), p.stdout

    # A manifest of one's own (--manifest) that the server's files match.
    corrald.add_file("images/%s/rootfs.squashfs" % name, files["rootfs.squashfs"])
    own = tmp_path / "manifest.json"
    own.write_text(json.dumps(manifest))
    p = corral(corrald, "image", "verify", name, "--manifest", str(own))
    assert p.returncode == 0, (p.stdout, p.stderr)
    assert "manifest --manifest" in p.stdout


def test_image_verify_registered_digest_differs(corrald):
    """The manifest and the files agree but corrald tells nodes another
    digest: the nodes would refuse it, so verify says so."""
    from test_cli import corral, failed
    name = uniq("verimg")
    push_like(corrald, name, {"vmlinuz": b"k", "initrd": b"i", "rootfs.squashfs": b"r" * 100})
    corrald.ok("PATCH", "/api/v1/images/" + name, {"rootfs_sha256": SUM}, expect=200)
    p = corral(corrald, "image", "verify", name)
    failed(p, 1)
    assert "rootfs_sha256 %s is not the manifest's" % SUM[:12] in p.stdout, p.stdout
