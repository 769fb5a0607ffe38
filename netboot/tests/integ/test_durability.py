"""kill -9 in the middle of a write burst loses no acknowledged write and
leaves no half-written node."""
import threading
import time

from conftest import NO_TOKEN, http_request, mac_for


THREADS = 8


def burst(c, stop, acked, lock, tid):
    i = 0
    while not stop.is_set():
        i += 1
        name = "d%d-%05d" % (tid, i)
        n = tid * 100000 + i
        body = {"name": name, "nid": n, "groups": ["dur-%d" % (tid % 3)],
                "interfaces": [{"mac": mac_for(2 * n)}, {"mac": mac_for(2 * n + 1),
                                                          "ip": "10.%d.%d.%d" % (
                                                              tid, (i >> 8) & 255, i & 255)}],
                "metadata": {"i": i}}
        try:
            r = http_request(c.host, c.port, "POST", "/api/v1/nodes", body,
                             {"Authorization": "Bearer " + c.admin_token}, timeout=10)
        except OSError:
            if stop.is_set():
                return
            time.sleep(0.01)
            continue
        if 200 <= r.status < 300:
            with lock:
                acked[name] = body
        elif not stop.is_set():
            with lock:
                acked.setdefault("__errors__", []).append((name, r.status, r.raw[:200]))


def check_store(c, acked):
    r = c.get("/api/v1/nodes")
    assert r.status == 200, r
    stored = {n["name"]: n for n in r.body}
    missing = [n for n in acked if n not in stored]
    assert not missing, "%d acknowledged nodes lost after kill -9, e.g. %r" % (
        len(missing), missing[:5])
    for name, n in stored.items():
        if not name.startswith("d"):
            continue
        assert len(n["interfaces"]) == 2, "half-written node %r" % n
        assert len(n["groups"]) == 1, "half-written node %r" % n
        tid, i = int(name[1:name.index("-")]), int(name.split("-")[1])
        k = tid * 100000 + i
        assert n["nid"] == k
        assert [x["mac"] for x in n["interfaces"]] == [mac_for(2 * k), mac_for(2 * k + 1)]
        assert n["metadata"] == {"i": i}
    for name, body in acked.items():
        assert stored[name]["interfaces"][1]["ip"] == body["interfaces"][1]["ip"]
    return stored


def test_kill9_during_write_burst(fresh_corrald):
    c = fresh_corrald
    stop = threading.Event()
    acked, lock = {}, threading.Lock()
    threads = [threading.Thread(target=burst, args=(c, stop, acked, lock, t), daemon=True)
               for t in range(THREADS)]
    for t in threads:
        t.start()
    # Let a good number of writes through, then kill mid-flight.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with lock:
            if len(acked) >= 150:
                break
        time.sleep(0.02)
    c.kill9()
    stop.set()
    for t in threads:
        t.join(15)
    errors = acked.pop("__errors__", [])
    assert not errors, "server errors during the burst: %r" % errors[:5]
    assert len(acked) > 0, "no write succeeded before the kill"

    c.start()
    stored = check_store(c, acked)
    # The store works normally afterwards: writes, conflicts, health.
    assert c.get("/healthz", token=NO_TOKEN).status == 200
    assert c.post("/api/v1/nodes", {"name": "after-restart",
                                    "interfaces": [{"mac": "02:ff:00:00:00:01"}]}).status == 201
    any_name = next(iter(acked))
    assert c.post("/api/v1/nodes", acked[any_name]).status == 409
    status = c.get("/api/v1/status").body
    assert status["nodes"]["total"] == len(stored) + 1


def test_kill9_repeatedly(fresh_corrald):
    """Three kill -9 cycles on the same store, each with a short burst."""
    c = fresh_corrald
    all_acked = {}
    for round_ in range(3):
        stop = threading.Event()
        acked, lock = {}, threading.Lock()
        threads = [threading.Thread(target=burst, args=(c, stop, acked, lock, 10 + round_ * 8 + t),
                                    daemon=True) for t in range(4)]
        for t in threads:
            t.start()
        time.sleep(0.5)
        c.kill9()
        stop.set()
        for t in threads:
            t.join(15)
        acked.pop("__errors__", None)
        all_acked.update(acked)
        c.start()
        check_store(c, all_acked)


def test_clean_restart_keeps_everything(fresh_corrald):
    c = fresh_corrald
    c.ok("POST", "/api/v1/images", {"name": "i", "kernel": "k", "initrd": "i"}, expect=201)
    c.ok("POST", "/api/v1/profiles", {"name": "p", "image": "i"}, expect=201)
    c.ok("POST", "/api/v1/groups", {"name": "g", "profile": "p", "metadata": {"a": 1}},
         expect=201)
    c.ok("POST", "/api/v1/nodes", {"name": "n1", "groups": ["g"],
                                   "interfaces": [{"mac": "02:00:00:00:00:01"}]}, expect=201)
    c.ok("PUT", "/api/v1/defaults", {"profile": "p", "metadata": {"site": "x"}}, expect=200)
    before = {p: c.get(p).body for p in ("/api/v1/nodes", "/api/v1/groups", "/api/v1/images",
                                         "/api/v1/profiles", "/api/v1/defaults")}
    assert c.stop() == 0
    c.start()
    after = {p: c.get(p).body for p in before}
    assert after == before


def test_api_writes_during_boot_traffic_never_500(fresh_corrald):
    """Node-facing requests write events and discovered machines in the
    background; API writes at the same time must not fail with 500
    ("database is locked" is a store failure the daemon must absorb)."""
    c = fresh_corrald
    c.ok("POST", "/api/v1/images", {"name": "i", "kernel": "k", "initrd": "i"}, expect=201)
    c.ok("POST", "/api/v1/profiles", {"name": "p", "image": "i"}, expect=201)
    known = [c.ok("POST", "/api/v1/nodes", {"name": "bt%d" % i, "profile": "p",
                                            "interfaces": [{"mac": mac_for(0x500000 + i)}]},
                  expect=201) for i in range(4)]
    stop = threading.Event()
    bad, lock = [], threading.Lock()

    def boots(tid):
        i = 0
        while not stop.is_set():
            i += 1
            mac = mac_for(0x600000 + tid * 0x10000 + i) if i % 2 else \
                known[i % len(known)]["interfaces"][0]["mac"]
            r = c.bootscript({"mac": mac})
            if r.status != 200:
                with lock:
                    bad.append(("bootscript", r.status, r.raw[:200]))

    def writes():
        i = 0
        while not stop.is_set():
            i += 1
            for method, path, body in (
                    ("POST", "/api/v1/nodes", {"name": "w%d" % i,
                                               "interfaces": [{"mac": mac_for(0x700000 + i)}]}),
                    ("DELETE", "/api/v1/discovered/" + mac_for(0x600000 + i), None),
                    ("POST", "/api/v1/tokens", {"name": "tk%d" % i, "scope": "read"}),
                    ("DELETE", "/api/v1/tokens/tk%d" % i, None),
                    ("PATCH", "/api/v1/nodes/bt0", {"role": "r%d" % i})):
                r = c.request(method, path, body)
                if r.status >= 500:
                    with lock:
                        bad.append((method, path, r.status, r.raw[:200]))

    threads = [threading.Thread(target=boots, args=(t,), daemon=True) for t in range(3)]
    threads.append(threading.Thread(target=writes, daemon=True))
    for t in threads:
        t.start()
    time.sleep(4)
    stop.set()
    for t in threads:
        t.join(15)
    assert not bad, "%d server errors, e.g. %r" % (len(bad), bad[:5])
