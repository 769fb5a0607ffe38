"""The boot timeline: every node-facing step is an event, in order, and the
node's state follows new → booting → ready."""
import time
import urllib.parse

import pytest

from conftest import FORM_HEADERS, NO_TOKEN, RFC3339, IpxeScript, assert_error, next_mac, node

def is_ci(stage):
    return stage == "cloud-init"


def events(c, name, **q):
    path = "/api/v1/nodes/%s/events" % name
    if q:
        path += "?" + urllib.parse.urlencode(q)
    r = c.get(path)
    assert r.status == 200, r
    return r.body


def wait_events(c, name, pred, timeout=6):
    """Events are written in batches: poll until pred(events) holds."""
    deadline = time.monotonic() + timeout
    ev = []
    while time.monotonic() < deadline:
        ev = events(c, name)
        if pred(ev):
            return ev
        time.sleep(0.1)
    return ev


def local_path(c, url):
    """The path part of a URL the script names on this daemon."""
    assert url.startswith(c.advertise_url + "/"), url
    return url[len(c.advertise_url):]


@pytest.fixture(scope="module")
def boot(corrald):
    """One whole boot of a node whose interface IP is 127.0.0.1 (our source)."""
    c = corrald
    c.add_file("img/vmlinuz", b"K" * 4096)
    c.add_file("img/initrd", b"I" * 8192)
    c.add_file("img/rootfs.squashfs", b"R" * 1000)
    c.ok("POST", "/api/v1/images", {"name": "evimg", "kernel": "img/vmlinuz", "initrd": "img/initrd",
                                    "rootfs": "img/rootfs.squashfs"}, expect=201)
    c.ok("POST", "/api/v1/profiles", {"name": "evprof", "image": "evimg"}, expect=201)
    mac = next_mac()
    n = c.ok("POST", "/api/v1/nodes", node("evnode", profile="evprof",
                                            interfaces=[{"mac": mac, "ip": "127.0.0.1"}]),
             expect=201)
    states = {"created": n["state"], "created_last_event": n.get("last_event")}

    r = c.bootscript({"mac": mac})
    assert r.status == 200
    s = IpxeScript(r.text)
    states["after_bootscript"] = wait_state(c, "booting")
    for url in (s.kernel()[1], s.initrd()[1]):
        got = c.get(local_path(c, url), token=NO_TOKEN)
        assert got.status == 200, got
    # the live root named by the image, then some other file
    assert c.get("/files/img/rootfs.squashfs", token=NO_TOKEN).status == 200
    c.add_file("extra/tool.bin", b"T" * 10)
    assert c.get("/files/extra/tool.bin", token=NO_TOKEN).status == 200
    _, token = s.seed_token()
    for what in ("meta-data", "user-data", "vendor-data"):
        got = c.get("/cloud-init/%s/%s" % (token, what), token=NO_TOKEN)
        assert got.status == 200, got
    states["before_phone_home"] = c.get("/api/v1/nodes/evnode").body["state"]
    got = c.post("/phone-home/" + token, "instance_id=x&hostname=evnode", token=NO_TOKEN,
                 headers=FORM_HEADERS)
    assert got.status == 200, got
    states["after_phone_home"] = wait_state(c, "ready")
    ev = wait_events(c, "evnode", lambda e: any(x["stage"] == "phone-home" for x in e))
    return {"events": ev, "states": states, "mac": mac, "token": token}


def wait_state(c, want, name="evnode", timeout=6):
    deadline = time.monotonic() + timeout
    got = None
    while time.monotonic() < deadline:
        got = c.get("/api/v1/nodes/" + name).body["state"]
        if got == want:
            break
        time.sleep(0.05)
    return got


def test_states(boot):
    st = boot["states"]
    assert st["created"] == "new"
    assert st["created_last_event"] is None
    assert st["after_bootscript"] == "booting"
    assert st["before_phone_home"] == "booting"
    assert st["after_phone_home"] == "ready"


def test_event_shape(boot):
    ev = boot["events"]
    assert ev, "no events"
    for e in ev:
        assert set(e) >= {"time", "stage", "source", "detail"}, e
        assert RFC3339.match(e["time"]), e
        assert isinstance(e["stage"], str) and e["stage"]
        assert isinstance(e["source"], str)
        assert isinstance(e["detail"], str)
    times = [e["time"] for e in ev]
    assert times == sorted(times), "events not oldest first: %r" % times


def test_stages_in_order(boot):
    stages = [e["stage"] for e in boot["events"]]

    def first(pred):
        idx = [i for i, s in enumerate(stages) if pred(s)]
        assert idx, "no such stage in %r" % stages
        return idx[0]

    b = first(lambda s: s == "bootscript")
    k = first(lambda s: s == "kernel")
    i = first(lambda s: s == "initrd")
    r = first(lambda s: s == "rootfs")
    f = first(lambda s: s == "file")
    ci = [n for n, s in enumerate(stages) if is_ci(s)]
    p = first(lambda s: s == "phone-home")
    assert ci, "no cloud-init event in %r" % stages
    assert b < k < i < r < f < min(ci) and max(ci) < p, stages
    assert stages == ["bootscript", "kernel", "initrd", "rootfs", "file", "cloud-init",
                      "cloud-init", "cloud-init", "phone-home"], stages


def test_cloud_init_fetches_each_recorded(boot):
    details = [e["detail"] for e in boot["events"] if is_ci(e["stage"])]
    assert len(details) == 3, boot["events"]
    for what, d in zip(("meta-data", "user-data", "vendor-data"), details):
        assert what in d, details


def test_file_events_name_the_file(boot):
    by = {e["stage"]: e["detail"] for e in boot["events"]}
    assert "img/vmlinuz" in by["kernel"]
    assert "img/initrd" in by["initrd"]
    assert "img/rootfs.squashfs" in by["rootfs"]
    assert "extra/tool.bin" in by["file"]


def test_source_is_the_client(boot):
    for e in boot["events"]:
        assert "127.0.0.1" in e["source"], e


def test_last_event(corrald, boot):
    n = corrald.get("/api/v1/nodes/evnode").body
    last = boot["events"][-1]
    assert n["last_event"]["stage"] == last["stage"] == "phone-home"
    assert n["last_event"]["time"] == last["time"]
    assert RFC3339.match(n["last_event"]["time"])


def test_limit_gives_the_newest(corrald, boot):
    ev = events(corrald, "evnode", limit=2)
    assert ev == boot["events"][-2:]
    assert events(corrald, "evnode", limit=1000) == boot["events"]
    assert events(corrald, "evnode", limit=1) == boot["events"][-1:]


@pytest.mark.parametrize("bad", ["x", "-1"])
def test_bad_limit_400(corrald, boot, bad):
    assert_error(corrald.get("/api/v1/nodes/evnode/events?limit=" + bad), 400, "bad_request")


def test_reboot_goes_back_to_booting(corrald, boot):
    r = corrald.bootscript({"mac": boot["mac"]})
    assert r.status == 200
    assert wait_state(corrald, "booting") == "booting"
    ev = wait_events(corrald, "evnode", lambda e: e[-1]["stage"] == "bootscript")
    assert ev[-1]["stage"] == "bootscript"
    assert len(ev) > len(boot["events"])


def test_events_go_with_node(corrald):
    c = corrald
    mac = next_mac()
    c.ok("POST", "/api/v1/nodes", node("evgone", profile="evprof",
                                        interfaces=[{"mac": mac}]), expect=201)
    c.bootscript({"mac": mac})
    assert wait_events(c, "evgone", lambda e: len(e) >= 1)
    c.ok("DELETE", "/api/v1/nodes/evgone", expect=204)
    c.ok("POST", "/api/v1/nodes", node("evgone", interfaces=[{"mac": mac}]), expect=201)
    assert events(c, "evgone") == []
    assert c.get("/api/v1/nodes/evgone").body["state"] == "new"


def test_events_of_unknown_node_404(corrald):
    assert_error(corrald.get("/api/v1/nodes/no-such/events"), 404, "not_found")
