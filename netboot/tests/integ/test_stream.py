"""GET /api/v1/stream: Server-Sent Events for boot events and API changes."""
import threading
import time

import pytest

from conftest import NO_TOKEN, EventStream, assert_error, next_mac, node, uniq


@pytest.fixture
def stream(corrald):
    s = EventStream(corrald, token=corrald.read_token)
    try:
        yield s
    finally:
        s.close()


def test_stream_headers(stream):
    assert stream.status == 200
    assert stream.headers["Content-Type"].startswith("text/event-stream")


@pytest.mark.parametrize("token", [NO_TOKEN, "bogus"])
def test_stream_needs_token(corrald, token):
    s = EventStream(corrald, token=token)
    try:
        assert s.status == 401
    finally:
        s.close()


def test_stream_wrong_method_405(corrald):
    r = corrald.post("/api/v1/stream", {})
    assert_error(r, 405, "method_not_allowed")
    assert "GET" in r.headers.get("Allow", "")


def test_inventory_event_after_write_not_after_read(corrald, stream):
    for _ in range(3):
        corrald.get("/api/v1/nodes")
    name = uniq("sg")
    corrald.ok("POST", "/api/v1/groups", {"name": name}, expect=201)
    got = stream.events(lambda e, d: e == "inventory")
    inv = [d for e, d in got if e == "inventory"]
    assert inv, got
    assert inv[0]["method"] == "POST"
    assert inv[0]["path"] == "/api/v1/groups"
    assert isinstance(inv[0]["route"], str) and inv[0]["route"]
    corrald.ok("PATCH", "/api/v1/groups/" + name, {"description": "x"}, expect=200)
    got = stream.events(lambda e, d: e == "inventory")
    inv = [d for e, d in got if e == "inventory"]
    assert inv, got
    assert (inv[0]["method"], inv[0]["path"]) == ("PATCH", "/api/v1/groups/" + name)


def test_refused_write_is_not_an_event(corrald, stream):
    corrald.post("/api/v1/groups", {"name": "bad name"})  # 422
    corrald.post("/api/v1/groups", {"name": uniq("ok")}, token=corrald.read_token)  # 403
    good = uniq("good")
    corrald.ok("POST", "/api/v1/groups", {"name": good}, expect=201)
    got = stream.events(lambda e, d: e == "inventory")
    inv = [d for e, d in got if e == "inventory"]
    assert len(inv) == 1 and inv[0]["method"] == "POST", got


def test_boot_events(corrald, stream):
    c = corrald
    img = uniq("si")
    c.ok("POST", "/api/v1/images", {"name": img, "kernel": "k", "initrd": "i"}, expect=201)
    prof = uniq("sp")
    c.ok("POST", "/api/v1/profiles", {"name": prof, "image": img}, expect=201)
    n = c.ok("POST", "/api/v1/nodes", node(profile=prof), expect=201)
    c.bootscript({"mac": n["interfaces"][0]["mac"]})
    got = stream.events(lambda e, d: e == "boot")
    boot = [d for e, d in got if e == "boot"]
    assert boot, got
    b = boot[0]
    assert b["node"] == n["name"] and b["stage"] == "bootscript"
    assert b["source"] == "127.0.0.1"
    assert set(b) >= {"node", "stage", "time", "source", "detail"}
    assert b.get("state", "booting") == "booting"
    # an unknown machine
    mac = next_mac()
    c.bootscript({"mac": mac})
    got = stream.events(lambda e, d: e == "boot" and d.get("mac") == mac)
    d = [d for e, d in got if e == "boot" and d.get("mac") == mac]
    assert d, got
    assert d[0]["discovered"] is True and d[0]["stage"] == "bootscript"
    assert set(d[0]) >= {"mac", "stage", "time", "source", "discovered"}


def test_only_from_now_on(corrald):
    corrald.ok("POST", "/api/v1/groups", {"name": uniq("before")}, expect=201)
    corrald.bootscript({"mac": next_mac()})
    time.sleep(0.5)
    s = EventStream(corrald)
    try:
        ev = s.next_event(timeout=1.5)
        assert ev is None or ev[0] == "resync", ev
    finally:
        s.close()


def test_many_streams_hold_no_worker(corrald_factory):
    """threads = 2: ten open streams must not starve other requests."""
    c = corrald_factory()
    streams = [EventStream(c) for _ in range(10)]
    try:
        assert all(s.status == 200 for s in streams)
        t0 = time.monotonic()
        for _ in range(5):
            assert c.get("/healthz", token=NO_TOKEN, timeout=5).status == 200
            assert c.get("/api/v1/nodes", timeout=5).status == 200
        assert time.monotonic() - t0 < 5
        c.ok("POST", "/api/v1/groups", {"name": "fanout"}, expect=201)
        results = [None] * len(streams)

        def read(i):
            results[i] = streams[i].events(lambda e, d: e == "inventory", timeout=5)

        threads = [threading.Thread(target=read, args=(i,)) for i in range(len(streams))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        for i, got in enumerate(results):
            assert any(e == "inventory" and d["path"] == "/api/v1/groups" for e, d in got or []), \
                (i, got)
    finally:
        for s in streams:
            s.close()
    # closed streams leave the daemon healthy
    time.sleep(0.2)
    assert c.get("/healthz", token=NO_TOKEN).status == 200
    assert c.alive()


def test_stream_survives_client_gone(corrald_factory):
    c = corrald_factory()
    for _ in range(20):
        s = EventStream(c)
        s.close()
    c.ok("POST", "/api/v1/groups", {"name": "after"}, expect=201)
    c.bootscript({"mac": next_mac()})
    assert c.get("/healthz", token=NO_TOKEN).status == 200
    assert c.stop() == 0
