"""Boot scripts rendered ahead of their requests (prerender.h): after a
start or an inventory change every node's script is in the answer cache
before the node asks, so a storm's first request of each node is a hit;
a node changed through the API still gets its new script on its next
request; boot.prerender_kib bounds what is rendered ahead, and 0 turns it
off."""
import re
import time

from conftest import next_mac, node, uniq, wait_until


def _metric(c, name, label=None):
    text = c.metrics()
    pat = re.escape(name) + (r'\{result="%s"\}' % label if label else "") + r" (\d+)"
    m = re.search(pat, text)
    assert m, (name, text)
    return int(m.group(1))


def _hits(c):
    return _metric(c, "corral_bootscript_cache_total", "hit")


def _misses(c):
    return _metric(c, "corral_bootscript_cache_total", "miss")


def _nodes(c, count, params="pre.0"):
    img = c.post("/api/v1/images", {"name": uniq("pimg"), "kernel": "images/p/vmlinuz",
                                      "initrd": "images/p/initrd.img"}).body
    prof = c.post("/api/v1/profiles", {"name": uniq("pprof"), "image": img["name"]}).body
    made = []
    for _ in range(count):
        mac = next_mac()
        n = c.post("/api/v1/nodes", node(uniq("pre"), profile=prof["name"], params=params,
                                         interfaces=[{"mac": mac}]))
        assert n.status == 201, n
        made.append((n.body["name"], mac))
    return made


def _script(c, mac):
    r = c.bootscript({"mac": mac})
    assert r.status == 200, r
    return r.text


def test_first_request_is_a_hit(fresh_corrald):
    c = fresh_corrald
    made = _nodes(c, 20)
    # rendered in the background once the inventory stood still for a
    # second: a script and the node's boot files each
    assert wait_until(lambda: _metric(c, "corral_cache_entries") >= 40, timeout=15), \
        c.metrics()
    hits, misses = _hits(c), _misses(c)
    for name, mac in made:
        text = _script(c, mac)
        assert "pre.0" in text and "boot || goto retry" in text, text
    assert _hits(c) - hits == 20, c.metrics()
    assert _misses(c) == misses, c.metrics()


def test_change_reaches_the_next_request(fresh_corrald):
    """A PATCH makes every rendered script stale at once: the node's next
    request has the change (rendered then, or by the next pass), and once
    the pass has run the others are hits again."""
    c = fresh_corrald
    made = _nodes(c, 10)
    assert wait_until(lambda: _metric(c, "corral_cache_entries") >= 20, timeout=15), \
        c.metrics()
    name, mac = made[0]
    assert "pre.0" in _script(c, mac)
    r = c.patch("/api/v1/nodes/" + name, {"params": "pre.1"})
    assert r.status == 200, r
    text = _script(c, mac)
    assert "pre.1" in text and "pre.0" not in text, text
    # the pass after the change renders the other nine again
    other = made[1][1]
    hits = _hits(c)

    def hit_again():
        before = _hits(c)
        _script(c, other)
        return _hits(c) > before

    assert wait_until(hit_again, timeout=15), c.metrics()
    assert _hits(c) > hits
    # and the changed one stays changed
    assert "pre.1" in _script(c, mac)


def test_prerender_off(corrald_factory):
    c = corrald_factory(conf={"boot": {"prerender_kib": 0}})
    made = _nodes(c, 5)
    time.sleep(2.5)  # a pass would have run by now, were there one
    misses = _misses(c)
    _script(c, made[0][1])
    assert _misses(c) == misses + 1, c.metrics()


def test_prerender_bounded(corrald_factory):
    """boot.prerender_kib = 16 holds a dozen or so scripts, not 60."""
    c = corrald_factory(conf={"boot": {"prerender_kib": 16}})
    made = _nodes(c, 60)
    assert wait_until(lambda: _metric(c, "corral_cache_entries") > 0, timeout=15)
    time.sleep(2.5)  # the pass is over
    assert _metric(c, "corral_cache_bytes") <= 16 * 1024 + 4096, c.metrics()
    hits = _hits(c)
    for _, mac in made:
        _script(c, mac)
    got = _hits(c) - hits
    assert 0 < got < 60, (got, c.metrics())
