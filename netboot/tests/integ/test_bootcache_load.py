"""Prepared answers (bootcache.h) under load: a node changed through the API
gets the new boot script and cloud-init documents on its next request while
clients loop on them, and the answers never mix two versions."""
import threading
import time

import re

from conftest import next_mac, node, uniq


def _setup(c, ip):
    img = c.post("/api/v1/images", {"name": uniq("limg"), "kernel": "images/l/vmlinuz",
                                      "initrd": "images/l/initrd.img"}).body
    prof = c.post("/api/v1/profiles", {"name": uniq("lprof"), "image": img["name"]}).body
    mac = next_mac()
    n = c.post("/api/v1/nodes", node(uniq("load"), profile=prof["name"], params="gen.0",
                                     interfaces=[{"mac": mac}])).body
    c.record_lease(mac, ip)
    return n, mac


class Looper(threading.Thread):
    """Fetches one URL from the node's address as fast as it can; keeps
    (start, end, status, text) of every answer."""

    def __init__(self, c, path, src):
        super().__init__(daemon=True)
        self.c, self.path, self.src = c, path, src
        self.stop = threading.Event()
        self.seen = []

    def run(self):
        while not self.stop.is_set():
            t0 = time.monotonic()
            r = self.c.request("GET", self.path, token=None, src=self.src)
            self.seen.append((t0, time.monotonic(), r.status, r.text))

    def after(self, t):
        return [s for s in self.seen if s[0] > t]


def _wait_for_answers_after(loops, t, n=5, timeout=20):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if all(len(lp.after(t)) >= n for lp in loops):
            return
        time.sleep(0.02)
    raise AssertionError("the loops got no answers after the change")


def test_change_under_load(corrald):
    c = corrald
    n, mac = _setup(c, "127.0.0.61")
    name = n["name"]
    loops = [Looper(c, "/boot/v1/bootscript?mac=" + mac, "127.0.0.61") for _ in range(3)]
    loops.append(Looper(c, "/cloud-init/user-data", "127.0.0.61"))
    for lp in loops:
        lp.start()
    try:
        _wait_for_answers_after(loops, 0)
        for gen in range(1, 8):
            r = c.patch("/api/v1/nodes/" + name,
                        {"params": "gen.%d" % gen,
                         "user_data": "#cloud-config\nhostname: gen%d\n" % gen})
            assert r.status == 200, r
            t = time.monotonic()  # the change is committed: every request from now sees it
            _wait_for_answers_after(loops, t)
            for lp in loops[:3]:
                for t0, t1, status, text in lp.after(t):
                    assert status == 200, text
                    assert "gen.%d" % gen in text, (gen, text)
                    assert "gen.%d" % (gen - 1) not in text, (gen, text)
            for t0, t1, status, text in loops[3].after(t):
                assert status == 200, text
                assert "gen%d" % gen in text and "gen%d" % (gen - 1) not in text, text
    finally:
        for lp in loops:
            lp.stop.set()
        for lp in loops:
            lp.join(10)
    # they were busy: hundreds of answers, all whole scripts
    total = sum(len(lp.seen) for lp in loops[:3])
    assert total > 100, total
    for lp in loops[:3]:
        for _, _, status, text in lp.seen:
            assert status == 200 and text.startswith("#!ipxe") and "boot || goto retry" in text
    hits = re.search(r'corral_bootscript_cache_total\{result="hit"\} (\d+)', c.metrics())
    assert int(hits.group(1)) > total / 2, c.metrics()


def test_disable_under_load(corrald):
    """A disabled node's next script exits; enabled again, it boots again."""
    c = corrald
    n, mac = _setup(c, "127.0.0.62")
    name = n["name"]
    lp = Looper(c, "/boot/v1/bootscript?mac=" + mac, "127.0.0.62")
    lp.start()
    try:
        _wait_for_answers_after([lp], 0)
        for enabled in (False, True, False):
            assert c.patch("/api/v1/nodes/" + name, {"enabled": enabled}).status == 200
            t = time.monotonic()
            _wait_for_answers_after([lp], t)
            for _, _, status, text in lp.after(t):
                assert status == 200, text
                assert ("boot || goto retry" in text) == enabled, (enabled, text)
    finally:
        lp.stop.set()
        lp.join(10)
