"""Architecture-aware boot against a real corrald: a node's arch learned
from iPXE's ${buildarch} (arch= on the boot-script URL) unless set by hand,
one image per architecture on a profile, the "no image for ARCH" reason in
the script and on the timeline, and the validation of images and
ipxe_binary (errors name the field).  The DHCP side (option 93 through
dnsmasq's hook) is in test_dhcp_firmware.py; the rules themselves in the
unit test test_arch.c."""
import time

import pytest

from conftest import IpxeScript, assert_error, next_mac, node, uniq, wait_until

_ip = [40]


def mk(c, kind, body, status=201):
    r = c.post("/api/v1/" + kind, body)
    assert r.status == status, r
    return r.body


def image(c, arch):
    name = uniq("img-" + arch)
    return mk(c, "images", {"name": name, "arch": arch, "kernel": "%s/vmlinuz" % name,
                            "initrd": "%s/initrd.img" % name})["name"]


def booting_node(c, **kw):
    """A node with a MAC holding a lease on its own loopback address."""
    _ip[0] += 1
    ip = "127.0.0.%d" % _ip[0]
    mac = next_mac()
    n = mk(c, "nodes", node(uniq("an"), interfaces=[{"mac": mac}], **kw))
    c.record_lease(mac, ip)
    return n["name"], mac, ip


def script(c, mac, ip, **q):
    q["mac"] = mac
    r = c.bootscript(q, src=ip)
    assert r.status == 200, r
    return IpxeScript(r.text)


def get_node(c, name):
    r = c.get("/api/v1/nodes/" + name)
    assert r.status == 200, r
    return r.body


def wait_event(c, name, pred, timeout=6):
    deadline = time.monotonic() + timeout
    ev = []
    while time.monotonic() < deadline:
        r = c.get("/api/v1/nodes/%s/events" % name)
        assert r.status == 200, r
        ev = r.body
        if any(pred(e) for e in ev):
            return ev
        time.sleep(0.1)
    pytest.fail("no such event on %s's timeline: %s" % (name, ev))


def test_new_node_says_its_arch_is_default(corrald):
    name, _, _ = booting_node(corrald)
    n = get_node(corrald, name)
    assert (n["arch"], n["arch_source"]) == ("x86_64", "default")
    name, _, _ = booting_node(corrald, arch="aarch64")
    n = get_node(corrald, name)
    assert (n["arch"], n["arch_source"]) == ("aarch64", "manual")


def test_ipxe_buildarch_on_the_url_learns_the_arch(corrald):
    name, mac, ip = booting_node(corrald)
    script(corrald, mac, ip, arch="arm64")
    n = get_node(corrald, name)
    assert (n["arch"], n["arch_source"]) == ("aarch64", "ipxe")
    wait_event(corrald, name, lambda e: e["stage"] == "bootscript" and
               e["detail"] == "arch aarch64 learned from iPXE (${buildarch})")
    # i386 (a BIOS iPXE) is an x86_64 machine
    script(corrald, mac, ip, arch="i386")
    n = get_node(corrald, name)
    assert (n["arch"], n["arch_source"]) == ("x86_64", "ipxe")


def test_manual_arch_is_kept(corrald):
    name, mac, ip = booting_node(corrald, arch="x86_64")
    script(corrald, mac, ip, arch="arm64")
    n = get_node(corrald, name)
    assert (n["arch"], n["arch_source"]) == ("x86_64", "manual")


def test_unknown_buildarch_changes_nothing(corrald):
    name, mac, ip = booting_node(corrald)
    for junk in ("sparc64", "", "ARM64", "x" * 300):
        script(corrald, mac, ip, arch=junk)
    n = get_node(corrald, name)
    assert (n["arch"], n["arch_source"]) == ("x86_64", "default")


def test_learned_arch_survives_a_put_of_its_get(corrald):
    name, mac, ip = booting_node(corrald)
    script(corrald, mac, ip, arch="arm64")
    n = get_node(corrald, name)
    for k in ("state", "last_event", "created", "updated"):
        n.pop(k, None)
    n["params"] = "changed=1"
    r = corrald.put("/api/v1/nodes/" + name, n)
    assert r.status == 200, r
    assert (r.body["arch"], r.body["arch_source"]) == ("aarch64", "ipxe")
    # a body without arch keeps it too; one with arch sets it by hand
    r = corrald.patch("/api/v1/nodes/" + name, {"params": "again=1"})
    assert r.status == 200, r
    assert (r.body["arch"], r.body["arch_source"]) == ("aarch64", "ipxe")
    r = corrald.patch("/api/v1/nodes/" + name, {"arch": "x86_64"})
    assert r.status == 200, r
    assert (r.body["arch"], r.body["arch_source"]) == ("x86_64", "manual")


def test_profile_gives_each_arch_its_image(corrald):
    x86, arm = image(corrald, "x86_64"), image(corrald, "aarch64")
    prof = mk(corrald, "profiles", {"name": uniq("pa"), "images": {"x86_64": x86,
                                                                   "aarch64": arm}})
    assert prof["images"] == {"x86_64": x86, "aarch64": arm}
    n86, mac86, ip86 = booting_node(corrald, profile=prof["name"])
    narm, macarm, iparm = booting_node(corrald, profile=prof["name"])
    s86 = script(corrald, mac86, ip86, arch="x86_64")
    sarm = script(corrald, macarm, iparm, arch="arm64")  # learned, then used
    assert "/files/%s/vmlinuz" % x86 in s86.line("kernel"), s86.text
    assert "/files/%s/vmlinuz" % arm in sarm.line("kernel"), sarm.text
    assert "image %s" % arm in sarm.text


def test_old_single_image_form_still_boots(corrald):
    x86 = image(corrald, "x86_64")
    prof = mk(corrald, "profiles", {"name": uniq("po"), "image": x86})
    assert prof["images"] == {}
    name, mac, ip = booting_node(corrald, profile=prof["name"])
    assert "/files/%s/vmlinuz" % x86 in script(corrald, mac, ip).line("kernel")
    s = script(corrald, mac, ip, arch="x86_64")
    assert "/files/%s/vmlinuz" % x86 in s.line("kernel")


def noimage_noprofile(c):
    """corral_bootscripts_total of kinds noimage and noprofile."""
    from test_health_metrics import metrics, series
    m = metrics(c)
    return tuple(series(m, "corral_bootscripts_total", kind=k) for k in ("noimage", "noprofile"))


def test_no_image_for_the_arch_is_the_reason(corrald):
    x86 = image(corrald, "x86_64")
    pname = uniq("px")
    mk(corrald, "profiles", {"name": pname, "image": x86})
    name, mac, ip = booting_node(corrald, profile=pname)
    before = noimage_noprofile(corrald)
    s = script(corrald, mac, ip, arch="arm64")
    # counted as its own kind, not with the nodes that have no profile
    want = (before[0] + 1, before[1])
    assert wait_until(lambda: noimage_noprofile(corrald) == want, timeout=3), \
        (before, noimage_noprofile(corrald))
    why = "no image for aarch64 in profile %s" % pname
    assert why in s.text, s.text
    assert s.find("kernel") is None or not s.find("kernel"), s.text
    assert "chain" in s.text  # it waits and asks again
    ev = wait_event(corrald, name, lambda e: e["stage"] == "bootscript" and e["detail"] == why)
    # an image for it arrives: the next request boots it
    arm = image(corrald, "aarch64")
    r = corrald.put("/api/v1/profiles/" + pname, {"image": x86, "images": {"aarch64": arm}})
    assert r.status == 200, r
    s = script(corrald, mac, ip, arch="arm64")
    assert "/files/%s/vmlinuz" % arm in s.line("kernel"), s.text
    assert ev


@pytest.mark.parametrize("body,field,words", [
    ({"images": {"sparc64": "x"}}, "images.sparc64", "not an architecture"),
    ({"images": {"aarch64": 7}}, "images.aarch64", "image name"),
    ({"images": ["x"]}, "images", "object"),
    ({"images": {"aarch64": "no-such-image"}}, "images.aarch64", "no such image"),
    ({"ipxe_binary": "grub.efi"}, "ipxe_binary", "firmware table"),
    ({"ipxe_binary": "ipxe-arm64.efi"}, "ipxe_binary", "dhcp.ipxe_dir"),
])
def test_profile_fields_refused_name_the_field(corrald, body, field, words):
    b = {"name": uniq("pbad"), "kernel": "k", "initrd": "i"}
    b.update(body)
    err = assert_error(corrald.post("/api/v1/profiles", b), 422, "invalid_field", field=field)
    assert words in err["message"], err
    assert corrald.get("/api/v1/profiles/" + b["name"]).status == 404


def test_image_of_another_arch_refused(corrald):
    x86 = image(corrald, "x86_64")
    b = {"name": uniq("pbad"), "images": {"aarch64": x86}}
    err = assert_error(corrald.post("/api/v1/profiles", b), 422, "invalid_field",
                       field="images.aarch64")
    assert "is for x86_64, not aarch64" in err["message"], err


def test_image_used_only_through_images_cannot_be_deleted(corrald):
    arm = image(corrald, "aarch64")
    pname = uniq("pu")
    mk(corrald, "profiles", {"name": pname, "images": {"aarch64": arm}})
    err = assert_error(corrald.delete("/api/v1/images/" + arm), 409, "conflict")
    assert pname in err["message"], err


@pytest.mark.parametrize("kind", ["nodes", "groups"])
def test_ipxe_binary_refused_names_the_field(corrald, kind):
    b = node() if kind == "nodes" else {"name": uniq("g")}
    b["ipxe_binary"] = "../../etc/passwd"
    assert_error(corrald.post("/api/v1/" + kind, b), 422, "invalid_field", field="ipxe_binary")
    b["ipxe_binary"] = "ipxe-riscv64.efi"  # in the table, not in Debian 12's /usr/lib/ipxe
    err = assert_error(corrald.post("/api/v1/" + kind, b), 422, "invalid_field",
                       field="ipxe_binary")
    assert "dhcp.ipxe_dir" in err["message"]
    b["ipxe_binary"] = "ipxe.efi"
    r = corrald.post("/api/v1/" + kind, b)
    assert r.status == 201, r
    assert r.body["ipxe_binary"] == "ipxe.efi"


def test_arch_refused_names_the_field(corrald):
    err = assert_error(corrald.post("/api/v1/nodes", node(arch="arm64")), 422, "invalid_field",
                       field="arch")
    assert "aarch64" in err["message"]
    assert_error(corrald.post("/api/v1/nodes", node(arch="aarch64", arch_source="bmc")), 422,
                 "invalid_field", field="arch_source")


def test_learning_the_same_arch_keeps_other_nodes_cached(corrald):
    """An x86 node's first boot learns arch_source ipxe with the arch it
    already had: nothing it is served changes, so other nodes' cached
    scripts stay (a store generation bump would empty the cache, and make
    the DHCP side resync, once per node of a power-on storm)."""
    from test_health_metrics import metrics, series

    a, amac, aip = booting_node(corrald)
    b, bmac, bip = booting_node(corrald)
    script(corrald, amac, aip, arch="x86_64")
    script(corrald, amac, aip, arch="x86_64")  # cached now
    script(corrald, bmac, bip, arch="x86_64")
    assert get_node(corrald, b)["arch_source"] == "ipxe"
    before = metrics(corrald)
    script(corrald, amac, aip, arch="x86_64")
    after = metrics(corrald)
    name = "corral_bootscript_cache_total"
    assert series(after, name, result="hit") - series(before, name, result="hit") == 1
    assert series(after, name, result="miss") == series(before, name, result="miss")
