"""GET /boot/v1/bootscript: the iPXE script a node gets, line by line."""
import time

import pytest

from conftest import IpxeScript, assert_error, assert_problem, chain_query, next_mac, node, uniq, wait_until


def mk(c, kind, body):
    r = c.post("/api/v1/" + kind, body)
    assert r.status == 201, r
    return r.body


def mk_image(c, params="console=ttyS0,115200 img.a=1", **kw):
    name = uniq("bimg")
    b = {"name": name, "kernel": "images/%s/vmlinuz" % name,
         "initrd": "images/%s/initrd.img" % name, "params": params}
    b.update(kw)
    return mk(c, "images", b)


def mk_profile(c, params="quiet prof.b=2", **kw):
    b = {"name": uniq("bprof"), "params": params}
    if "kernel" not in kw:
        b["image"] = mk_image(c)["name"]
    b.update(kw)
    return mk(c, "profiles", b)


def script_for(c, src=None, **query):
    r = c.bootscript(query, src=src)
    assert r.status == 200, r
    assert r.headers.get("Content-Type", "").startswith("text/plain"), r.headers
    return IpxeScript(r.text)


def image_of_profile(c, prof_name):
    prof = c.get("/api/v1/profiles/" + prof_name).body
    return c.get("/api/v1/images/" + prof["image"]).body


@pytest.fixture(scope="module")
def setup(corrald):
    """Image → profile → group; node in that group with its own params.  Its
    first interface reserves 10.100.0.21 and holds a DHCP lease on
    127.0.0.21 (the lease is what it has now): it asks from there, as a
    node asks from its own address (docs/security.md)."""
    img = mk_image(corrald, params="console=ttyS0,115200 img.a=1")
    prof = mk_profile(corrald, params="quiet prof.b=2", image=img["name"])
    grp = mk(corrald, "groups", {"name": uniq("bgrp"), "profile": prof["name"]})
    mac = next_mac()
    n = mk(corrald, "nodes", node(uniq("x1000c0s0b0n"), nid=501, groups=[grp["name"]],
                                   params="node.c=3 nomodeset",
                                   interfaces=[{"mac": mac, "ip": "10.100.0.21"},
                                               {"mac": next_mac()}]))
    corrald.record_lease(mac, "127.0.0.21")
    return {"img": img, "prof": prof, "grp": grp, "node": n, "mac": mac, "ip": "127.0.0.21"}


def test_script_line_by_line(corrald, setup):
    c, n, img, mac = corrald, setup["node"], setup["img"], setup["mac"]
    adv = c.advertise_url
    s = script_for(c, mac=mac, src=setup["ip"])
    assert s.lines[0] == "#!ipxe", s.text

    # kernel line
    kline = s.line("kernel")
    assert kline.split()[-3:] == ["||", "goto", "retry"], kline
    opts, url, args = s.kernel()
    assert url == "%s/files/%s" % (adv, img["kernel"]), kline
    assert "initrd=%s" % s.initrd_name() in args, kline
    assert "BOOTIF=01-" + mac.replace(":", "-") in args, kline
    assert "corral.node=%s" % n["name"] in args, kline
    base, token = s.seed_token()
    assert base == adv
    assert token
    # params: image's, then profile's, then node's, each in its own order
    want = ["console=ttyS0,115200", "img.a=1", "quiet", "prof.b=2", "node.c=3", "nomodeset"]
    pos = [args.index(w) for w in want]
    assert pos == sorted(pos), "params out of order: %r" % args

    # initrd line
    iline = s.line("initrd")
    assert iline.split()[-3:] == ["||", "goto", "retry"], iline
    assert s.initrd()[1] == "%s/files/%s" % (adv, img["initrd"]), iline

    # boot line
    bline = s.line("boot")
    assert bline.split() == ["boot", "||", "goto", "retry"], bline

    k, i, b = s.find("kernel")[0], s.find("initrd")[0], s.find("boot")[0]
    assert k < b and i < b

    # retry path after boot
    r = s.label("retry")
    assert r > b
    tail = IpxeScript("\n".join(s.lines[r:]))
    assert tail.sleeps() == [5], tail.text
    chains = tail.chain_urls()
    assert len(chains) == 1, tail.text
    base, q = chain_query(chains[0])
    assert base == adv + "/boot/v1/bootscript"
    assert q.get("mac", "").lower().replace("-", ":") == mac
    assert q.get("retry") == "1"
    assert tail.find("sleep")[0] < tail.find("chain")[0]


def test_no_line_carries_unexpected_expansion(corrald, setup):
    """Nothing from the store may open an iPXE ${...} expansion."""
    s = script_for(corrald, mac=setup["mac"], src=setup["ip"])
    for l in s.lines:
        assert "${" not in l or "net0" in l, l


@pytest.mark.parametrize("retry,sleep", [(0, 5), (1, 10), (2, 20), (3, 40), (4, 60), (5, 60),
                                         (12, 60), (1000, 60)])
def test_retry_backoff(corrald, setup, retry, sleep):
    """5 s, doubling to 60 s; retry=N re-chains with retry=N+1."""
    s = script_for(corrald, mac=setup["mac"], retry=retry, src=setup["ip"])
    tail = IpxeScript("\n".join(s.lines[s.label("retry"):]))
    assert tail.sleeps() == [sleep], tail.text
    _, q = chain_query(tail.chain_urls()[0])
    assert q["retry"] == str(retry + 1)
    assert s.line("kernel")  # still the full boot script


def test_retry_backoff_monotonic(corrald, setup):
    got = []
    for n in range(0, 10):
        s = script_for(corrald, mac=setup["mac"], retry=n, src=setup["ip"])
        got.append(IpxeScript("\n".join(s.lines[s.label("retry"):])).sleeps()[0])
    assert got[0] == 5
    assert got == sorted(got), got
    assert got[-1] == 60, got


def test_retry_cap_from_config(corrald_factory):
    c = corrald_factory(conf={"boot": {"retry_max_sleep": 12}})
    prof = mk_profile(c)
    n = mk(c, "nodes", node(profile=prof["name"]))
    mac = n["interfaces"][0]["mac"]
    sleeps = []
    for r in range(6):
        s = script_for(c, mac=mac, retry=r)
        sleeps.append(IpxeScript("\n".join(s.lines[s.label("retry"):])).sleeps()[0])
    assert sleeps[0] == 5 and max(sleeps) == 12 and sleeps[-1] == 12, sleeps


def test_advertise_url_used(corrald_factory):
    adv = "http://10.100.0.1:8080"
    c = corrald_factory(conf={"server": {"advertise_url": adv}})
    prof = mk_profile(c)
    n = mk(c, "nodes", node(profile=prof["name"]))
    s = script_for(c, mac=n["interfaces"][0]["mac"])
    assert s.kernel()[1].startswith(adv + "/files/")
    assert s.initrd()[1].startswith(adv + "/files/")
    assert s.seed_token()[0] == adv
    assert chain_query(s.chain_urls()[-1])[0] == adv + "/boot/v1/bootscript"


def test_mac_forms_in_query(corrald, setup):
    mac = setup["mac"]
    for form in (mac.upper(), mac.replace(":", "-"), mac.replace(":", "-").upper(),
                 "%s.%s.%s" % tuple(mac.replace(":", "")[i:i + 4] for i in (0, 4, 8))):
        s = script_for(corrald, mac=form, src=setup["ip"])
        assert "corral.node=%s" % setup["node"]["name"] in s.kernel()[2], form


@pytest.mark.parametrize("bad", ["zz", "aa:bb:cc:dd:ee", "aa:bb:cc:dd:ee:gg", "",
                                 "aa:bb:cc:dd:ee:ff:00", "../../etc"])
def test_malformed_mac_400(corrald, bad):
    r = corrald.bootscript({"mac": bad})
    assert r.status == 400, r


def test_second_interface_mac_sets_bootif(corrald, setup):
    other = setup["node"]["interfaces"][1]["mac"]
    s = script_for(corrald, mac=other, src=setup["ip"])
    assert "BOOTIF=01-" + other.replace(":", "-") in s.kernel()[2]
    _, q = chain_query(s.chain_urls()[-1])
    assert q["mac"].lower().replace("-", ":") == other


def test_lookup_by_name(corrald, setup):
    s = script_for(corrald, name=setup["node"]["name"], src=setup["ip"])
    args = s.kernel()[2]
    assert "corral.node=%s" % setup["node"]["name"] in args
    assert "BOOTIF=01-" + setup["mac"].replace(":", "-") in args
    _, q = chain_query(s.chain_urls()[-1])
    assert q.get("name") == setup["node"]["name"] and q.get("retry") == "1"


def test_lookup_by_nid(corrald, setup):
    s = script_for(corrald, nid=501, src=setup["ip"])
    args = s.kernel()[2]
    assert "corral.node=%s" % setup["node"]["name"] in args
    assert "BOOTIF=01-" + setup["mac"].replace(":", "-") in args
    _, q = chain_query(s.chain_urls()[-1])
    assert q.get("nid") == "501" and q.get("retry") == "1"


def test_api_bootscript_equals_node_script(corrald, setup):
    name = setup["node"]["name"]
    for _ in range(5):
        api = corrald.get("/api/v1/nodes/%s/bootscript" % name)
        assert api.status == 200, api
        assert api.headers["Content-Type"].startswith("text/plain")
        nodes = corrald.bootscript({"name": name}, src=setup["ip"])
        if api.raw == nodes.raw:
            break
        time.sleep(0.3)  # a token minted across a second boundary
    assert api.text == nodes.text


def test_api_bootscript_does_not_change_state(fresh_corrald):
    c = fresh_corrald
    prof = mk_profile(c)
    n = mk(c, "nodes", node(profile=prof["name"]))
    assert c.get("/api/v1/nodes/%s/bootscript" % n["name"]).status == 200
    got = c.get("/api/v1/nodes/" + n["name"]).body
    assert got["state"] == "new"
    assert c.get("/api/v1/nodes/%s/events" % n["name"]).body == []


def test_api_bootscript_needs_read_token(corrald, setup):
    r = corrald.get("/api/v1/nodes/%s/bootscript" % setup["node"]["name"], token=None)
    assert r.status == 401


# --- precedence -------------------------------------------------------------------

def kernel_of(c, mac):
    return script_for(c, mac=mac).kernel()[1]


def test_node_profile_beats_group(corrald, setup):
    pn = mk_profile(corrald)
    n = mk(corrald, "nodes", node(groups=[setup["grp"]["name"]], profile=pn["name"]))
    img = image_of_profile(corrald, pn["name"])
    assert kernel_of(corrald, n["interfaces"][0]["mac"]).endswith("/files/" + img["kernel"])


def test_first_group_with_profile_wins(corrald):
    p1, p2 = mk_profile(corrald), mk_profile(corrald)
    g0 = mk(corrald, "groups", {"name": uniq("g0")})  # no profile
    g1 = mk(corrald, "groups", {"name": uniq("g1"), "profile": p1["name"]})
    g2 = mk(corrald, "groups", {"name": uniq("g2"), "profile": p2["name"]})
    n = mk(corrald, "nodes", node(groups=[g0["name"], g2["name"], g1["name"]]))
    img2 = image_of_profile(corrald, p2["name"])
    assert kernel_of(corrald, n["interfaces"][0]["mac"]).endswith("/files/" + img2["kernel"])
    # reorder groups: the other profile now
    corrald.ok("PATCH", "/api/v1/nodes/" + n["name"],
               {"groups": [g1["name"], g2["name"]]}, expect=200)
    img1 = image_of_profile(corrald, p1["name"])
    assert kernel_of(corrald, n["interfaces"][0]["mac"]).endswith("/files/" + img1["kernel"])


def test_defaults_last(fresh_corrald):
    c = fresh_corrald
    pd, pg = mk_profile(c), mk_profile(c)
    c.ok("PUT", "/api/v1/defaults", {"profile": pd["name"]}, expect=200)
    g_none = mk(c, "groups", {"name": uniq("gn")})
    g_prof = mk(c, "groups", {"name": uniq("gp"), "profile": pg["name"]})
    a = mk(c, "nodes", node(groups=[g_none["name"]]))
    b = mk(c, "nodes", node(groups=[g_none["name"], g_prof["name"]]))
    d = mk(c, "nodes", node())
    imgd = image_of_profile(c, pd["name"])
    imgg = image_of_profile(c, pg["name"])
    assert kernel_of(c, a["interfaces"][0]["mac"]).endswith("/files/" + imgd["kernel"])
    assert kernel_of(c, d["interfaces"][0]["mac"]).endswith("/files/" + imgd["kernel"])
    assert kernel_of(c, b["interfaces"][0]["mac"]).endswith("/files/" + imgg["kernel"])


def test_profile_with_explicit_kernel_initrd(corrald):
    p = mk(corrald, "profiles", {"name": uniq("pk"), "kernel": "boot/pk/vmlinuz",
                                 "initrd": "boot/pk/initrd", "params": "pk.x=1"})
    n = mk(corrald, "nodes", node(profile=p["name"], params="n.y=2"))
    s = script_for(corrald, mac=n["interfaces"][0]["mac"])
    assert s.kernel()[1] == corrald.advertise_url + "/files/boot/pk/vmlinuz"
    assert s.initrd()[1] == corrald.advertise_url + "/files/boot/pk/initrd"
    args = s.kernel()[2]
    assert args.index("pk.x=1") < args.index("n.y=2")


def test_http_urls_used_as_is(corrald):
    img = mk_image(corrald, kernel="http://10.0.0.1:8000/k/vmlinuz?x=1",
                   initrd="https://mirror.example/k/initrd.img")
    p = mk_profile(corrald, image=img["name"])
    n = mk(corrald, "nodes", node(profile=p["name"]))
    s = script_for(corrald, mac=n["interfaces"][0]["mac"])
    assert s.kernel()[1] == "http://10.0.0.1:8000/k/vmlinuz?x=1"
    assert s.initrd()[1] == "https://mirror.example/k/initrd.img"
    assert "initrd=%s" % s.initrd_name() in s.kernel()[2]


def test_changes_apply_at_once(corrald, setup):
    """A profile change shows in the next script (no cache staleness)."""
    p = mk_profile(corrald, params="first.x=1")
    n = mk(corrald, "nodes", node(profile=p["name"]))
    mac = n["interfaces"][0]["mac"]
    assert "first.x=1" in script_for(corrald, mac=mac).kernel()[2]
    corrald.ok("PATCH", "/api/v1/profiles/" + p["name"], {"params": "second.x=2"}, expect=200)
    args = script_for(corrald, mac=mac).kernel()[2]
    assert "second.x=2" in args and "first.x=1" not in args


# Every change that decides a script must show in the very next script
# (the server caches scripts): (what to change, what the script then holds).
CHANGES = [
    ("image params", lambda c, w: c.ok("PATCH", "/api/v1/images/" + w["img"],
                                        {"params": "img.new=1"}), "img.new=1"),
    ("image kernel", lambda c, w: c.ok("PATCH", "/api/v1/images/" + w["img"],
                                        {"kernel": "new/vmlinuz"}), "/files/new/vmlinuz"),
    ("profile params", lambda c, w: c.ok("PATCH", "/api/v1/profiles/" + w["prof"],
                                          {"params": "prof.new=1"}), "prof.new=1"),
    ("profile image", lambda c, w: c.ok("PATCH", "/api/v1/profiles/" + w["prof"],
                                         {"image": w["img2"]}), "/files/img2/vmlinuz"),
    ("group profile", lambda c, w: c.ok("PATCH", "/api/v1/groups/" + w["grp"],
                                         {"profile": w["prof2"]}), "prof2.x=1"),
    ("node params", lambda c, w: c.ok("PATCH", "/api/v1/nodes/" + w["node"],
                                       {"params": "node.new=1"}), "node.new=1"),
    ("node profile", lambda c, w: c.ok("PATCH", "/api/v1/nodes/" + w["node"],
                                        {"profile": w["prof2"]}), "prof2.x=1"),
    ("node groups", lambda c, w: c.ok("PATCH", "/api/v1/nodes/" + w["node"],
                                       {"groups": [w["grp2"]]}), "prof2.x=1"),
    ("node disabled", lambda c, w: c.ok("PATCH", "/api/v1/nodes/" + w["node"],
                                         {"enabled": False}), "exit"),
    ("node replaced", lambda c, w: c.ok("PUT", "/api/v1/nodes/" + w["node"],
                                         {"name": w["node"], "profile": w["prof2"],
                                          "interfaces": [{"mac": w["mac"]}]}), "prof2.x=1"),
    ("node deleted", lambda c, w: c.ok("DELETE", "/api/v1/nodes/" + w["node"]), "sleep 10"),
    ("defaults", lambda c, w: (c.ok("PATCH", "/api/v1/nodes/" + w["node"], {"groups": []}),
                               c.ok("PUT", "/api/v1/defaults", {"profile": w["prof2"]})),
     "prof2.x=1"),
]


@pytest.mark.parametrize("what,change,expect", CHANGES, ids=[x[0] for x in CHANGES])
def test_changes_show_in_next_script(fresh_corrald, what, change, expect):
    c = fresh_corrald
    mk(c, "images", {"name": "img1", "kernel": "img1/vmlinuz", "initrd": "img1/initrd",
                     "params": "img.old=1"})
    mk(c, "images", {"name": "img2", "kernel": "img2/vmlinuz", "initrd": "img2/initrd"})
    mk(c, "profiles", {"name": "prof1", "image": "img1", "params": "prof.old=1"})
    mk(c, "profiles", {"name": "prof2", "image": "img2", "params": "prof2.x=1"})
    mk(c, "groups", {"name": "grp1", "profile": "prof1"})
    mk(c, "groups", {"name": "grp2", "profile": "prof2"})
    mac = next_mac()
    mk(c, "nodes", {"name": "cn1", "groups": ["grp1"], "params": "node.old=1",
                    "interfaces": [{"mac": mac}]})
    w = {"img": "img1", "img2": "img2", "prof": "prof1", "prof2": "prof2", "grp": "grp1",
         "grp2": "grp2", "node": "cn1", "mac": mac}
    for _ in range(3):  # warm any cache
        first = c.bootscript({"mac": mac}).text
    assert "/files/img1/vmlinuz" in first and "prof.old=1" in first
    assert expect not in first
    change(c, w)
    after = c.bootscript({"mac": mac}).text
    assert expect in after, "after %s the script still reads:\n%s" % (what, after)


# --- nodes that cannot boot yet ------------------------------------------------------

def test_no_profile_waits_and_reasks(fresh_corrald):
    c = fresh_corrald
    n = mk(c, "nodes", node(groups=[uniq("empty")]))
    mac = n["interfaces"][0]["mac"]
    s = script_for(c, mac=mac)
    assert s.lines[0] == "#!ipxe"
    assert not s.find("kernel") and not s.find("boot") and not s.find("exit"), s.text
    assert s.find("echo"), "the script should say why it waits:\n" + s.text
    assert 10 in s.sleeps(), s.text
    chains = s.chain_urls()
    assert chains, s.text
    base, q = chain_query(chains[-1])
    assert base == c.advertise_url + "/boot/v1/bootscript"
    assert q["mac"].lower().replace("-", ":") == mac
    # giving the node a profile makes the same URL boot
    p = mk_profile(c)
    c.ok("PATCH", "/api/v1/nodes/" + n["name"], {"profile": p["name"]}, expect=200)
    assert script_for(c, mac=mac).find("kernel")


def test_disabled_node_exits(corrald, setup):
    n = mk(corrald, "nodes", node(groups=[setup["grp"]["name"]], enabled=False))
    s = script_for(corrald, mac=n["interfaces"][0]["mac"])
    assert s.lines[0] == "#!ipxe"
    assert s.find("exit"), s.text
    assert s.find("echo"), s.text
    assert not s.find("kernel") and not s.find("boot") and not s.find("chain"), s.text
    # and back
    corrald.ok("PATCH", "/api/v1/nodes/" + n["name"], {"enabled": True}, expect=200)
    assert script_for(corrald, mac=n["interfaces"][0]["mac"]).find("kernel")


def test_unknown_mac_then_registered(fresh_corrald):
    c = fresh_corrald
    prof = mk_profile(c)
    mac = next_mac()
    s = script_for(c, mac=mac.upper())
    assert s.lines[0] == "#!ipxe"
    assert not s.find("kernel"), s.text
    assert 10 in s.sleeps(), s.text
    base, q = chain_query(s.chain_urls()[-1])
    assert base == c.advertise_url + "/boot/v1/bootscript"
    assert q["mac"].lower().replace("-", ":") == mac
    disc = wait_until(lambda: c.get("/api/v1/discovered").body)
    assert [d["mac"] for d in disc] == [mac]
    # register it: the same URL now boots
    n = mk(c, "nodes", node(profile=prof["name"], interfaces=[{"mac": mac}]))
    s = script_for(c, mac=mac.upper())
    assert "corral.node=%s" % n["name"] in s.kernel()[2]
    gone = wait_until(lambda: mac not in [d["mac"] for d in c.get("/api/v1/discovered").body])
    assert gone, "registered MAC still listed as discovered: %r" % c.get("/api/v1/discovered").body


@pytest.mark.parametrize("query", [{"name": "nobody-here"}, {"nid": 987654}])
def test_unknown_name_or_nid_refused_as_any_other(corrald, setup, query):
    """name= and nid= are answered to the node's own address only, so an
    unknown one gets the same 403 as a known one asked from elsewhere (no
    probing for names); was a 200 script that waits."""
    r = corrald.bootscript(query)
    k = list(query)[0]
    err = assert_problem(r, 403)
    known = corrald.bootscript({k: setup["node"]["name"] if k == "name" else 501})
    assert assert_problem(known, 403)["message"] == err["message"], known


def test_unknown_wait_from_config(corrald_factory):
    c = corrald_factory(conf={"boot": {"unknown_wait": 42}})
    assert 42 in script_for(c, mac=next_mac()).sleeps()
    n = mk(c, "nodes", node())
    assert 42 in script_for(c, mac=n["interfaces"][0]["mac"]).sleeps()


def test_node_state_booting_after_script(corrald, setup):
    n = mk(corrald, "nodes", node(groups=[setup["grp"]["name"]]))
    assert corrald.get("/api/v1/nodes/" + n["name"]).body["state"] == "new"
    script_for(corrald, mac=n["interfaces"][0]["mac"])
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        got = corrald.get("/api/v1/nodes/" + n["name"]).body
        if got["state"] == "booting":
            break
        time.sleep(0.1)
    assert got["state"] == "booting"
