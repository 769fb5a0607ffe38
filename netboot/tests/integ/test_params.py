"""Kernel parameters vs iPXE (docs/security.md, issue 11).

`params` of nodes, profiles and images land in the middle of the iPXE
`kernel` line.  Every word iPXE reads as more than a parameter -- a `;`,
`||` or `&&` word (another command), a word starting with `#` (a comment
that drops BOOTIF=, the seed URL and the retry path), `${...}` (settings
expansion), `\\` (line continuation), quotes (read by the kernel and
systemd), newlines and other control characters -- is refused with 422
`invalid_field` naming `params`, on create, update and import alike.
Parameters people use pass unchanged and reach the kernel line in order.
"""
import pytest

from conftest import IpxeScript, assert_error, next_mac, node, uniq

EVIL = "http://127.0.0.1:9/evil.ipxe"

# (rule, params): one row per iPXE parsing rule lib/valid.c refuses.
SPECIAL = [
    ("separator", "quiet ; chain " + EVIL),
    ("separator-alone", ";"),
    ("or", "quiet || chain " + EVIL),
    ("and", "quiet && chain " + EVIL),
    ("comment", "quiet #drops-BOOTIF"),
    ("comment-alone", "#"),
    ("expansion", "root=${root-path}"),
    ("dollar", "a$b"),
    ("continuation", "quiet\\"),
    ("backslash", "a\\b"),
    ("double-quote", 'a="b c'),
    ("single-quote", "a='b'"),
    ("quoted-separator", '"a ; b"'),
    ("newline", "quiet\nchain " + EVIL),
    ("carriage-return", "quiet\rchain"),
    ("tab", "a\tb"),
    ("control", "a\x1bb"),
    ("non-ascii", "caf\u00e9"),
]
IDS = [r for r, _ in SPECIAL]

LEGIT_IMAGE = "console=ttyS0,115200n8 root=live:http://h:8080/files/x/rootfs.squashfs"
LEGIT_PROFILE = "ip=dhcp rd.live.overlay.overlayfs=1 quiet"
LEGIT_NODE = "a=b=c x=100% y=%41 ds.extra=a;b tag=a#b a||b a&&b -- init.arg"


def mk(c, kind, body):
    r = c.post("/api/v1/" + kind, body)
    assert r.status == 201, r
    return r.body


def image(**kw):
    name = uniq("pimg")
    b = {"name": name, "kernel": "images/%s/vmlinuz" % name,
         "initrd": "images/%s/initrd" % name, "params": "console=ttyS0"}
    b.update(kw)
    return b


def refused(r):
    err = assert_error(r, 422, "invalid_field", field="params")
    assert err["message"].startswith("params: "), err
    return err


@pytest.mark.parametrize("params", [p for _, p in SPECIAL], ids=IDS)
def test_node_params_refused(corrald, params):
    n = node(params=params)
    refused(corrald.post("/api/v1/nodes", n))
    assert corrald.get("/api/v1/nodes/" + n["name"]).status == 404
    refused(corrald.put("/api/v1/nodes/" + n["name"], n))


@pytest.mark.parametrize("params", [p for _, p in SPECIAL], ids=IDS)
def test_node_patch_params_refused_and_unchanged(corrald, params):
    n = mk(corrald, "nodes", node(params="quiet"))
    refused(corrald.patch("/api/v1/nodes/" + n["name"], {"params": params}))
    assert corrald.get("/api/v1/nodes/" + n["name"]).body["params"] == "quiet"


@pytest.mark.parametrize("params", [p for _, p in SPECIAL], ids=IDS)
def test_profile_params_refused(corrald, params):
    img = mk(corrald, "images", image())
    refused(corrald.post("/api/v1/profiles", {"name": uniq("pprof"), "image": img["name"],
                                               "params": params}))
    prof = mk(corrald, "profiles", {"name": uniq("pprof"), "image": img["name"]})
    refused(corrald.patch("/api/v1/profiles/" + prof["name"], {"params": params}))


@pytest.mark.parametrize("params", [p for _, p in SPECIAL], ids=IDS)
def test_image_params_refused(corrald, params):
    refused(corrald.post("/api/v1/images", image(params=params)))
    img = mk(corrald, "images", image())
    refused(corrald.patch("/api/v1/images/" + img["name"], {"params": params}))


@pytest.mark.parametrize("params", [p for _, p in SPECIAL], ids=IDS)
def test_import_params_refused_names_the_node(corrald, params):
    nodes = [node(), node(params=params)]
    r = corrald.post("/api/v1/nodes/import", {"nodes": nodes})
    assert_error(r, 422, "invalid_field", field="nodes[1].params")
    for n in nodes:
        assert corrald.get("/api/v1/nodes/" + n["name"]).status == 404


def test_group_has_no_params(corrald):
    """Groups take kernel parameters only through their profile: a params
    field on a group is refused as unknown, so nothing reaches the line
    that way."""
    r = corrald.post("/api/v1/groups", {"name": uniq("pgrp"), "params": "a ; b"})
    assert_error(r, 422, "invalid_field", field="params")


def test_legit_params_reach_the_kernel_line_in_order(corrald):
    img = mk(corrald, "images", image(params=LEGIT_IMAGE))
    prof = mk(corrald, "profiles", {"name": uniq("pprof"), "image": img["name"],
                                     "params": LEGIT_PROFILE})
    mac = next_mac()
    n = mk(corrald, "nodes", node(profile=prof["name"], params=LEGIT_NODE,
                                  interfaces=[{"mac": mac}]))
    assert n["params"] == LEGIT_NODE
    r = corrald.bootscript({"mac": mac})
    assert r.status == 200, r
    s = IpxeScript(r.text)
    kline = s.line("kernel")
    # One command: the only terminator is the retry tail.
    words = kline.split()
    assert words[-3:] == IpxeScript.RETRY_TAIL, kline
    assert not [w for w in words[:-3] if w in (";", "||", "&&") or w.startswith("#")], kline
    _, _, args = s.kernel()
    want = (LEGIT_IMAGE + " " + LEGIT_PROFILE + " " + LEGIT_NODE).split()
    start = args.index(want[0])
    assert args[start:start + len(want)] == want, kline
    assert "BOOTIF=01-" + mac.replace(":", "-") in args[start + len(want):], kline
    assert s.kernel_arg("ds").startswith("nocloud-net;s="), kline
