"""/healthz and /metrics (Prometheus text)."""
import re
import subprocess
import time

from conftest import NO_TOKEN, next_mac, node, wait_until

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\d+)?$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*')


def parse(text):
    """{(name, frozenset(labels.items())): value}; asserts the format."""
    out = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            if line.startswith("# TYPE"):
                assert len(line.split()) == 4, line
            continue
        m = SAMPLE.match(line)
        assert m, "not a Prometheus sample line: %r" % line
        name, _, labels, value = m.group(1), m.group(2), m.group(3), m.group(4)
        lab = {}
        if labels:
            pos = 0
            for lm in LABEL.finditer(labels):
                assert lm.start() == pos, "bad labels in %r" % line
                lab[lm.group(1)] = lm.group(2)
                pos = lm.end()
            assert pos == len(labels), "bad labels in %r" % line
        key = (name, frozenset(lab.items()))
        assert key not in out, "duplicate series %r" % line
        out[key] = float(value)
    return out


def series(m, name, **labels):
    """Sum of the series of name whose labels include the given ones."""
    want = set(labels.items())
    return sum(v for (n, l), v in m.items() if n == name and want <= set(l))


def find(m, name):
    return {l: v for (n, l), v in m.items() if n == name}


def metrics(c):
    r = c.get("/metrics", token=NO_TOKEN)
    assert r.status == 200, r
    assert r.headers.get("Content-Type", "").startswith("text/plain"), r.headers
    return parse(r.text)


def test_healthz(corrald):
    r = corrald.get("/healthz", token=NO_TOKEN)
    assert r.status == 200
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.body == {"status": "ok"}


# The store's directory becomes a 2 MiB tmpfs in corrald's own mount
# namespace (what the token commands wrote there is copied in first), so a
# test can fill it without touching the machine's file systems.
TMPFS_STORE = (
    'set -e; d=$1; shift; t=$(mktemp -d); cp -a "$d"/. "$t"/;'
    ' mount -t tmpfs -o size=2m tmpfs "$d"; cp -a "$t"/. "$d"/; rm -rf "$t"; exec "$@"')


def in_mount_ns(c, script):
    return subprocess.run(["nsenter", "-t", str(c.pid), "-m", "--", "sh", "-c", script],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)


def test_healthz_degraded_when_the_store_cannot_write(corrald_factory, tmp_path):
    """/healthz said ok while every write failed on a full disk.  Now: 503
    {"status":"degraded","reason":…} while the store's file system is full,
    still after space is freed until a write succeeds again, then ok."""
    store = tmp_path / "store"
    store.mkdir()
    c = corrald_factory(conf={"store": {"path": str(store / "corral.db")}}, start=False)
    c.prefix = ["unshare", "-m", "--propagation", "private", "sh", "-c", TMPFS_STORE, "sh",
                str(store)]
    c.start()
    assert c.get("/healthz", token=NO_TOKEN).body == {"status": "ok"}
    c.ok("POST", "/api/v1/nodes", node(), expect=201)
    in_mount_ns(c, 'cat /dev/zero > "%s/fill"' % store)  # ends at ENOSPC
    r = c.get("/healthz", token=NO_TOKEN)
    assert r.status == 503, r
    assert r.body["status"] == "degraded" and "free" in r.body["reason"], r.body
    assert str(store) in r.body["reason"], r.body
    w = c.post("/api/v1/nodes", node())
    assert w.status == 500, w
    r = c.get("/healthz", token=NO_TOKEN)
    assert r.status == 503 and r.body["status"] == "degraded", r
    # Space back: the failed write is still the last word until one works.
    assert in_mount_ns(c, 'rm "%s/fill"' % store).returncode == 0
    r = c.get("/healthz", token=NO_TOKEN)
    assert r.status == 503 and "last write" in r.body["reason"], r.body
    assert "full" in r.body["reason"], r.body
    c.ok("POST", "/api/v1/nodes", node(), expect=201)
    r = c.get("/healthz", token=NO_TOKEN)
    assert r.status == 200 and r.body == {"status": "ok"}, r


def test_healthz_head(corrald):
    assert corrald.request("HEAD", "/healthz", token=NO_TOKEN).status == 200


def test_metrics_families_present(corrald):
    m = metrics(corrald)
    names = {n for n, _ in m}
    for want in ("corral_http_requests_total", "corral_bootscripts_total",
                 "corral_bootscript_cache_total", "corral_file_bytes_total", "corral_nodes",
                 "corral_nodes_disabled", "corral_dnsmasq_restarts_total",
                 "corral_events_dropped_total", "corral_up_seconds"):
        assert want in names, "missing %s in %r" % (want, sorted(names))


def test_http_requests_counted_by_route_and_code(corrald):
    before = metrics(corrald)
    for _ in range(5):
        assert corrald.get("/api/v1/status").status == 200
    for _ in range(3):
        assert corrald.get("/api/v1/nodes/missing-node").status == 404
    # Counters are bumped when a request completes, a moment after the
    # client has its answer: allow a short settle.
    def grown():
        a = metrics(corrald)
        g404 = sum(v - before.get(k, 0) for k, v in a.items()
                   if k[0] == "corral_http_requests_total" and ("code", "404") in k[1])
        return a if g404 >= 3 else None
    after = wait_until(grown, timeout=3) or metrics(corrald)
    for (name, labels), v in after.items():
        if name == "corral_http_requests_total":
            d = dict(labels)
            assert "route" in d and "code" in d, d
    grew = {}
    for key, v in after.items():
        if key[0] == "corral_http_requests_total":
            delta = v - before.get(key, 0)
            if delta:
                grew[tuple(sorted(key[1]))] = delta
    ok200 = [k for k, d in grew.items() if dict(k)["code"] == "200" and d >= 5
             and "status" in dict(k)["route"]]
    assert ok200, "no status route series with code 200 grew by 5: %r" % grew
    nf404 = [k for k, d in grew.items() if dict(k)["code"] == "404" and d >= 3]
    assert nf404, "no code 404 series grew by 3: %r" % grew
    # the route label is the route, not the raw path (bounded cardinality)
    assert not any("missing-node" in dict(k)["route"] for k in grew), grew


def test_unknown_paths_do_not_make_new_routes(corrald):
    for i in range(5):
        corrald.get("/random-%d-%s" % (i, next_mac()), token=NO_TOKEN)
    m = metrics(corrald)
    for l in find(m, "corral_http_requests_total"):
        assert "random-" not in dict(l)["route"], l


def test_bootscripts_by_kind(fresh_corrald):
    c = fresh_corrald
    img = c.ok("POST", "/api/v1/images", {"name": "i", "kernel": "k", "initrd": "i"}, expect=201)
    c.ok("POST", "/api/v1/profiles", {"name": "p", "image": img["name"]}, expect=201)
    booting = c.ok("POST", "/api/v1/nodes", node(profile="p"), expect=201)
    disabled = c.ok("POST", "/api/v1/nodes", node(profile="p", enabled=False), expect=201)
    noprof = c.ok("POST", "/api/v1/nodes", node(), expect=201)
    before = metrics(c)
    c.bootscript({"mac": booting["interfaces"][0]["mac"]})
    c.bootscript({"mac": booting["interfaces"][0]["mac"]})
    c.bootscript({"mac": disabled["interfaces"][0]["mac"]})
    c.bootscript({"mac": noprof["interfaces"][0]["mac"]})
    c.bootscript({"mac": next_mac()})
    c.record_lease(booting["interfaces"][0]["mac"], "127.0.0.9")
    c.bootscript({"mac": booting["interfaces"][0]["mac"]})  # not from its lease: refused
    wait_until(lambda: series(metrics(c), "corral_bootscripts_total") -
               series(before, "corral_bootscripts_total") >= 6, timeout=3)
    after = metrics(c)
    for kind, n in (("node", 2), ("disabled", 1), ("noprofile", 1), ("unknown", 1),
                    ("refused", 1)):
        d = series(after, "corral_bootscripts_total", kind=kind) - \
            series(before, "corral_bootscripts_total", kind=kind)
        assert d == n, "kind=%s grew by %s, want %d" % (kind, d, n)


def test_file_bytes(corrald):
    corrald.add_file("m/blob", b"z" * 12345)
    before = series(metrics(corrald), "corral_file_bytes_total")
    assert corrald.get("/files/m/blob", token=NO_TOKEN).status == 200
    assert corrald.get("/files/m/blob", token=NO_TOKEN, headers={"Range": "bytes=0-99"}).status == 206
    after = wait_until(lambda: (lambda v: v if v - before >= 12445 else 0)(
        series(metrics(corrald), "corral_file_bytes_total")), timeout=3) or \
        series(metrics(corrald), "corral_file_bytes_total")
    assert after - before == 12345 + 100


def test_nodes_by_state(fresh_corrald):
    c = fresh_corrald
    img = c.ok("POST", "/api/v1/images", {"name": "i", "kernel": "k", "initrd": "i"}, expect=201)
    c.ok("POST", "/api/v1/profiles", {"name": "p", "image": img["name"]}, expect=201)
    nodes = [c.ok("POST", "/api/v1/nodes", node(profile="p"), expect=201) for _ in range(3)]
    m = metrics(c)
    assert series(m, "corral_nodes", state="new") == 3
    c.bootscript({"mac": nodes[0]["interfaces"][0]["mac"]})
    s = c.bootscript({"mac": nodes[1]["interfaces"][0]["mac"]}).text
    token = re.search(r"/cloud-init/([^/\s]+)/", s).group(1)
    c.post("/phone-home/" + token, "hostname=x", token=NO_TOKEN,
           headers={"Content-Type": "application/x-www-form-urlencoded"})
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        m = metrics(c)
        if series(m, "corral_nodes", state="ready") == 1:
            break
        time.sleep(0.1)
    assert series(m, "corral_nodes", state="new") == 1
    assert series(m, "corral_nodes", state="booting") == 1
    assert series(m, "corral_nodes", state="ready") == 1
    assert series(m, "corral_nodes_disabled") == 0
    c.ok("PATCH", "/api/v1/nodes/" + nodes[2]["name"], {"enabled": False}, expect=200)
    assert series(metrics(c), "corral_nodes_disabled") == 1


def test_bootscript_cache_counts(fresh_corrald):
    c = fresh_corrald
    img = c.ok("POST", "/api/v1/images", {"name": "i", "kernel": "k", "initrd": "i"}, expect=201)
    c.ok("POST", "/api/v1/profiles", {"name": "p", "image": img["name"]}, expect=201)
    n = c.ok("POST", "/api/v1/nodes", node(profile="p"), expect=201)
    before = metrics(c)
    for _ in range(4):
        c.bootscript({"mac": n["interfaces"][0]["mac"]})
    wait_until(lambda: series(metrics(c), "corral_bootscript_cache_total") -
               series(before, "corral_bootscript_cache_total") >= 4, timeout=3)
    after = metrics(c)
    labels = {dict(l).get("result") for l in find(after, "corral_bootscript_cache_total")}
    assert {"hit", "miss"} <= labels, labels
    d = series(after, "corral_bootscript_cache_total") - \
        series(before, "corral_bootscript_cache_total")
    assert d == 4, d


def test_up_seconds_grows(corrald):
    a = series(metrics(corrald), "corral_up_seconds")
    time.sleep(1.1)
    b = series(metrics(corrald), "corral_up_seconds")
    assert b > a >= 0
