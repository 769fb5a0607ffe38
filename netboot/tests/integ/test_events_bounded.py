"""The bounded timeline (issue 13): identical repeats of a node's latest
event are one row with an exact count and first and last time; distinct
events stay rows of their own; rows are pruned by age, by a per-node cap
and by a total cap from the configuration; an unknown MAC in its retry
loop is one discovered row however often it asks; `corral events` prints
a coalesced row as ×N with its first and last time."""
import datetime
import os
import sqlite3
import subprocess
import threading
import time

from conftest import NO_TOKEN, next_mac, node


def ms(s):
    """An API time (RFC 3339, milliseconds, Z) as integer milliseconds since the epoch."""
    d = datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    return int(round(d.timestamp() * 1000))


def now_ms():
    return int(time.time() * 1000)


def rows(c, name):
    r = c.get("/api/v1/nodes/%s/events" % name)
    assert r.status == 200, r
    return r.body


def script(c, mac, src=None, **q):
    path = "/boot/v1/bootscript?mac=" + mac + "".join("&%s=%s" % kv for kv in q.items())
    r = c.get(path, token=NO_TOKEN, src=src)
    assert r.status == 200, r
    return r


def file_get(c, rel, src):
    r = c.get("/files/" + rel, token=NO_TOKEN, src=src)
    assert r.status == 200, r


def table_rows(c):
    """Rows in the events table, read from the store file itself."""
    db = sqlite3.connect("file:%s?mode=ro" % c.conf["store"]["path"], uri=True, timeout=10)
    try:
        return db.execute("SELECT count(*) FROM events").fetchone()[0]
    finally:
        db.close()


def test_sequential_repeats_one_row_exact(corrald):
    """A node asking for its boot script 25 times: one row, count 25, its
    first time within the first request, its last within the last."""
    c = corrald
    n = c.ok("POST", "/api/v1/nodes", node(), expect=201)
    mac = n["interfaces"][0]["mac"]
    t_first = []
    t_last = []
    for i in range(25):
        before = now_ms()
        script(c, mac)
        after = now_ms()
        if i == 0:
            t_first = (before, after)
        t_last = (before, after)
    ev = rows(c, n["name"])
    assert len(ev) == 1, ev
    e = ev[0]
    assert e["stage"] == "bootscript"
    assert e["count"] == 25
    assert e["time"] == e["first"]
    assert t_first[0] - 1 <= ms(e["first"]) <= t_first[1] + 1, (t_first, e)
    assert t_last[0] - 1 <= ms(e["last"]) <= t_last[1] + 1, (t_last, e)
    # the node's last event is the row's last time
    last = c.get("/api/v1/nodes/" + n["name"]).body["last_event"]
    assert last["stage"] == "bootscript" and last["time"] == e["last"]


def test_burst_counts_every_request(corrald):
    """200 requests from 8 threads at once: one row counting all 200."""
    c = corrald
    n = c.ok("POST", "/api/v1/nodes", node(), expect=201)
    mac = n["interfaces"][0]["mac"]
    errors = []

    def hammer():
        try:
            for _ in range(25):
                script(c, mac)
        except AssertionError as e:  # noqa: PERF203 - report, do not lose, a failure
            errors.append(e)

    start = now_ms()
    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    end = now_ms()
    assert errors == []
    ev = rows(c, n["name"])
    assert [(e["stage"], e["count"]) for e in ev] == [("bootscript", 200)], ev
    assert start - 1 <= ms(ev[0]["first"]) <= ms(ev[0]["last"]) <= end + 1


def test_distinct_events_not_merged(corrald):
    """Another stage, another detail, or anything in between: rows of their own."""
    c = corrald
    c.add_file("bnd/a.bin", b"a" * 10)
    c.add_file("bnd/b.bin", b"b" * 10)
    src = "127.0.0.21"
    n = c.ok("POST", "/api/v1/nodes",
             node(interfaces=[{"mac": next_mac(), "ip": src}]), expect=201)
    mac = n["interfaces"][0]["mac"]
    script(c, mac, src=src)
    script(c, mac, src=src)                 # ×2
    script(c, mac, src=src, retry=1)         # another detail ("…, retry 1")
    file_get(c, "bnd/a.bin", src)
    file_get(c, "bnd/a.bin", src)            # ×2
    file_get(c, "bnd/b.bin", src)            # another file
    file_get(c, "bnd/a.bin", src)            # a.bin again, but b.bin came between
    script(c, mac, src=src)                  # the first script again: not its latest
    got = [(e["stage"], e["detail"].split(",")[-1].strip() if e["stage"] == "bootscript"
            else e["detail"], e["count"]) for e in rows(c, n["name"])]
    assert [(s, k) for s, _, k in got] == [("bootscript", 2), ("bootscript", 1), ("file", 2),
                                           ("file", 1), ("file", 1), ("bootscript", 1)], got
    assert got[1][1] == "retry 1"
    assert [d for s, d, _ in got if s == "file"] == ["bnd/a.bin", "bnd/b.bin", "bnd/a.bin"]


def test_unknown_mac_retry_loop_one_row(corrald):
    """An unknown machine asking again and again: one discovered row, its
    requests counted, first and last seen exact."""
    c = corrald
    mac = next_mac()
    before = now_ms()
    script(c, mac)
    first_after = now_ms()
    for _ in range(29):
        last_before = now_ms()
        script(c, mac)
    after = now_ms()
    found = [d for d in c.get("/api/v1/discovered").body if d["mac"] == mac]
    assert len(found) == 1, found
    d = found[0]
    assert d["requests"] == 30
    assert before - 1 <= ms(d["first_seen"]) <= first_after + 1, (before, d)
    assert last_before - 1 <= ms(d["last_seen"]) <= after + 1, (last_before, d)


def test_window_from_config(corrald_factory):
    """events.coalesce_window: a repeat after the window is a new row."""
    c = corrald_factory({"events": {"coalesce_window": 1}})
    n = c.ok("POST", "/api/v1/nodes", node(), expect=201)
    mac = n["interfaces"][0]["mac"]
    script(c, mac)
    script(c, mac)
    time.sleep(1.3)
    script(c, mac)
    assert [e["count"] for e in rows(c, n["name"])] == [2, 1]


def test_per_node_and_total_caps(corrald_factory):
    """events.per_node keeps a node's newest rows; events.max_total all
    nodes' together, the oldest stored going first."""
    c = corrald_factory({"events": {"per_node": 5, "max_total": 12}})
    for i in range(8):
        c.add_file("cap/f%d" % i, b"x")
    names = []
    for k, src in enumerate(("127.0.0.31", "127.0.0.32", "127.0.0.33")):
        n = c.ok("POST", "/api/v1/nodes",
                 node(interfaces=[{"mac": next_mac(), "ip": src}]), expect=201)
        names.append(n["name"])
        for i in range(8 if k == 0 else 5):
            file_get(c, "cap/f%d" % i, src)
        if k == 0:
            # 8 rows, capped at the newest 5
            assert [e["detail"] for e in rows(c, n["name"])] == ["cap/f%d" % i for i in range(3, 8)]
    # 15 rows kept per node, 12 in all: the first node's 3 oldest (f3..f5) went
    assert [e["detail"] for e in rows(c, names[0])] == ["cap/f6", "cap/f7"]
    assert len(rows(c, names[1])) == 5 and len(rows(c, names[2])) == 5
    assert table_rows(c) == 12
    # a long run of distinct events: the table stays at the cap
    for _ in range(3):
        for i in range(8):
            file_get(c, "cap/f%d" % i, "127.0.0.32")
    rows(c, names[1])  # flushes the writer
    assert table_rows(c) == 12
    assert [e["detail"] for e in rows(c, names[1])] == ["cap/f%d" % i for i in range(3, 8)]


def test_age_prunes_old_rows(corrald_factory):
    """events.keep_days: rows whose first time is older go (here rows a
    previous run left, 40 days old); newer ones stay."""
    c = corrald_factory({"events": {"keep_days": 30}})
    n = c.ok("POST", "/api/v1/nodes", node(), expect=201)
    mac = n["interfaces"][0]["mac"]
    script(c, mac)
    rows(c, n["name"])
    c.stop()
    day_us = 86400 * 1000000
    now_us = int(time.time() * 1000000)
    db = sqlite3.connect(c.conf["store"]["path"], timeout=10)
    with db:
        node_id = db.execute("SELECT id FROM nodes WHERE name=?", (n["name"],)).fetchone()[0]
        for days, detail in ((40, "old"), (31, "older than 30"), (29, "recent")):
            t = now_us - days * day_us
            db.execute("INSERT INTO events(node_id, time_us, stage, source, detail, count, last_us)"
                       " VALUES(?, ?, 'dhcp', '', ?, 1, ?)", (node_id, t, detail, t))
    db.close()
    c.start()
    script(c, mac, retry=1)  # a batch: the writer prunes after it
    got = [e["detail"] for e in rows(c, n["name"])]
    assert "old" not in got and "older than 30" not in got, got
    assert got[0] == "recent", got
    assert len(got) == 3, got


def test_cli_prints_coalesced_rows(corrald):
    """`corral events NODE`: a coalesced row says ×N with its first and last
    time, exactly as the API has them; a single event says nothing more."""
    c = corrald
    c.add_file("bnd/cli.bin", b"c")
    src = "127.0.0.22"
    n = c.ok("POST", "/api/v1/nodes",
             node(interfaces=[{"mac": next_mac(), "ip": src}]), expect=201)
    mac = n["interfaces"][0]["mac"]
    for _ in range(3):
        script(c, mac, src=src)
    file_get(c, "bnd/cli.bin", src)
    ev = rows(c, n["name"])
    assert [e["count"] for e in ev] == [3, 1]
    env = dict(os.environ, CORRAL_URL=c.url, CORRAL_TOKEN=c.admin_token,
               XDG_CONFIG_HOME="/nonexistent-corral-test")
    p = subprocess.run([os.path.join(str(c.build), "corral"), "events", n["name"]], env=env,
                       capture_output=True, text=True, timeout=90)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert len(lines) == 3, p.stdout
    assert lines[1].endswith(" \u00d73 (first %s, last %s)" % (ev[0]["first"], ev[0]["last"])), lines[1]
    assert lines[2].endswith("bnd/cli.bin"), lines[2]
