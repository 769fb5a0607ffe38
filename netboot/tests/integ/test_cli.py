"""Integration tests of the `corral` CLI against a real corrald.

The `corrald` fixture (conftest.py) starts the daemon on a free loopback port
with a temporary store and yields an object with .url, .admin_token,
.read_token and .build (the build folder holding `corral`).  Each test runs
build/corral as a subprocess with CORRAL_URL/CORRAL_TOKEN in its environment
and checks stdout, the exit code and the one-line error on stderr.

Names, NIDs and MACs are unique per test, so the tests hold whether the
fixture gives each test its own daemon or shares one.
"""
import itertools
import json
import os
import random
import socket
import subprocess
import urllib.request

import pytest

_seq = itertools.count(random.randrange(1, 1 << 20) * 64)


def uniq(prefix):
    """A fresh name, NID and MAC."""
    n = next(_seq)
    mac = "52:54:00:%02x:%02x:%02x" % ((n >> 16) & 0xFF, (n >> 8) & 0xFF, n & 0xFF)
    return "%s%d" % (prefix, n), n + 1, mac


def ip_for(nid):
    """A fresh IPv4 address for the node of that NID."""
    n = nid - 1
    return "10.%d.%d.%d" % ((n >> 14) & 0xFF, (n >> 6) & 0xFF, (n & 0x3F) + 1)


def corral(srv, *args, token=None, url=None, env=None, stdin=None):
    e = dict(os.environ)
    e["CORRAL_URL"] = srv.url if url is None else url
    e["CORRAL_TOKEN"] = srv.admin_token if token is None else token
    # Never pick up the developer's own ~/.config/corral/cli.conf.
    e["XDG_CONFIG_HOME"] = "/nonexistent-corral-test"
    if env:
        e.update(env)
    return subprocess.run([os.path.join(str(srv.build), "corral"), *args], env=e,
                          input=stdin, capture_output=True, text=True, timeout=90)


def ok(srv, *args, **kw):
    p = corral(srv, *args, **kw)
    assert p.returncode == 0, "corral %s: rc %d: %s" % (" ".join(args), p.returncode, p.stderr)
    assert p.stderr == ""
    return p.stdout


def failed(p, code):
    """Exit code as expected and exactly one line on stderr: 'corral: <reason>'."""
    assert p.returncode == code, (p.returncode, p.stdout, p.stderr)
    lines = p.stderr.splitlines()
    assert len(lines) == 1, p.stderr
    assert lines[0].startswith("corral: "), lines[0]
    return lines[0]


def jget(srv, *args, **kw):
    return json.loads(ok(srv, "--json", *args, **kw))


def table(out):
    """Rows of a table as lists of cells (columns are split on 2+ spaces)."""
    import re
    return [re.split(r"\s{2,}", line.strip()) for line in out.splitlines() if line.strip()]


@pytest.fixture
def world(corrald):
    """An image, a profile using it, a group using the profile, one node."""
    img, _, _ = uniq("img")
    prof, _, _ = uniq("prof")
    grp, _, _ = uniq("grp")
    node, nid, mac = uniq("n")
    ok(corrald, "image", "create", img, "--kernel", "images/%s/vmlinuz" % img,
       "--initrd", "images/%s/initrd" % img, "--params", "console=ttyS0")
    ok(corrald, "profile", "create", prof, "--image", img, "--params", "quiet")
    ok(corrald, "group", "create", grp, "--profile", prof, "--description", "test nodes")
    ok(corrald, "node", "create", node, "--mac", mac + ",ip=" + ip_for(nid),
       "--nid", str(nid), "--group", grp)
    return dict(image=img, profile=prof, group=grp, node=node, nid=nid, mac=mac)


def test_list_shows_created_node(corrald, world):
    out = ok(corrald, "node", "list", "--group", world["group"])
    rows = table(out)
    assert rows[0][:2] == ["NAME", "NID"]
    assert any(r[0] == world["node"] and world["mac"] in r for r in rows[1:]), out
    assert world["image"] in ok(corrald, "image", "list")
    assert world["profile"] in ok(corrald, "profile", "list")
    assert world["group"] in ok(corrald, "group", "list")


def test_json_output_parses(corrald, world):
    nodes = jget(corrald, "node", "list", "--group", world["group"])
    if isinstance(nodes, dict):
        nodes = nodes["nodes"]
    assert [n["name"] for n in nodes] == [world["node"]]
    n = jget(corrald, "node", "show", world["node"])
    assert n["nid"] == world["nid"]
    assert n["groups"] == [world["group"]]
    assert n["interfaces"][0]["mac"] == world["mac"]
    # --json also works after the command.
    assert json.loads(ok(corrald, "image", "show", world["image"], "--json"))["name"] == world["image"]


def test_show_is_key_value(corrald, world):
    out = ok(corrald, "node", "show", world["node"])
    assert any(line.split()[:2] == ["name", world["node"]] for line in out.splitlines())
    assert world["mac"] in out


def test_node_set_patches_only_given_fields(corrald, world, tmp_path):
    md = tmp_path / "md.json"
    md.write_text('{"rack": 7}')
    ud = tmp_path / "ud.yaml"
    ud.write_text("#cloud-config\nhostname: x\n")
    out = ok(corrald, "node", "set", world["node"], "--params", "console=ttyS1", "--role", "login",
             "--disable", "--metadata-file", str(md), "--user-data-file", str(ud))
    assert world["node"] in out
    n = jget(corrald, "node", "show", world["node"])
    assert n["params"] == "console=ttyS1"
    assert n["role"] == "login"
    assert n["enabled"] is False
    assert n["metadata"] == {"rack": 7}
    assert n["user_data"] == "#cloud-config\nhostname: x\n"
    assert n["nid"] == world["nid"]          # untouched
    assert n["groups"] == [world["group"]]  # untouched
    ok(corrald, "node", "set", world["node"], "--enable")
    assert jget(corrald, "node", "show", world["node"])["enabled"] is True


def test_boot_show_prints_script(corrald, world):
    out = ok(corrald, "boot", "show", world["node"])
    assert out.startswith("#!ipxe")
    assert "kernel" in out
    assert "corral.node=%s" % world["node"] in out


def test_events_timeline(corrald, world):
    mac = world["mac"]
    for _ in range(2):
        with urllib.request.urlopen("%s/boot/v1/bootscript?mac=%s" % (corrald.url, mac), timeout=10) as r:
            assert r.status == 200
    rows = table(ok(corrald, "events", world["node"]))
    assert rows[0] == ["TIME", "ELAPSED", "STAGE", "SOURCE", "DETAIL"]
    assert len(rows) >= 2
    assert rows[1][1] == "+0.0s"
    assert all(r[1].startswith("+") and r[1].endswith("s") for r in rows[1:])
    events = jget(corrald, "events", world["node"], "--limit", "1")
    assert isinstance(events, list) and len(events) == 1
    assert {"time", "stage"} <= set(events[0])


def _node_get(corrald, path, data=None):
    req = urllib.request.Request(corrald.url + path, data=data, headers={
        "Content-Type": "application/x-www-form-urlencoded"} if data else {})
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 200
        return r.read().decode()


def _phone_home_path(corrald, node):
    """/phone-home/<token>, the token of the node's seed URL (as an operator
    reads its boot script)."""
    import re
    script = corrald.get("/api/v1/nodes/%s/bootscript" % node).text
    return "/phone-home/" + re.search(r"/cloud-init/([^/\s]+)/", script).group(1)


def _readline(p, timeout=10.0):
    """The next stdout line of a running process (binary pipe, read here
    without Python's buffering), or None after timeout."""
    import select
    import time as _t
    buf = p.__dict__.setdefault("_linebuf", bytearray())
    deadline = _t.monotonic() + timeout
    while b"\n" not in buf:
        left = deadline - _t.monotonic()
        if left <= 0 or not select.select([p.stdout], [], [], left)[0]:
            return None
        chunk = os.read(p.stdout.fileno(), 65536)
        if not chunk:
            return None
        buf += chunk
    i = buf.index(b"\n")
    line = bytes(buf[:i + 1]).decode()
    del buf[:i + 1]
    return line


def test_events_follow_until_phone_home(corrald, world):
    """`corral events NODE --until phone-home`: the timeline so far, then
    each new event of that node as it happens (none of other nodes), and
    exit 0 at its phone-home: what a script waits on after a reboot."""
    node, mac = world["node"], world["mac"]
    corrald.record_lease(mac, "127.0.0.1")  # the node asks from its lease's address
    _node_get(corrald, "/boot/v1/bootscript?mac=%s" % mac)
    other, _, other_mac = uniq("o")
    ok(corrald, "node", "create", other, "--mac", other_mac, "--group", world["group"])
    env = dict(os.environ, CORRAL_URL=corrald.url, CORRAL_TOKEN=corrald.admin_token,
               XDG_CONFIG_HOME="/nonexistent-corral-test")
    p = subprocess.Popen([os.path.join(str(corrald.build), "corral"), "events", node,
                          "--until", "phone-home", "--timeout", "60"], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)
    try:
        header = _readline(p)
        assert header is not None and header.split() == ["TIME", "ELAPSED", "STAGE", "SOURCE",
                                                          "DETAIL"], header
        old = _readline(p)
        assert old is not None and old.split()[1:3] == ["+0.0s", "bootscript"], old
        # Printed once listening: what happens now is streamed.
        _node_get(corrald, "/boot/v1/bootscript?mac=%s" % other_mac)
        _node_get(corrald, _phone_home_path(corrald, other), b"hostname=x")
        _node_get(corrald, "/boot/v1/bootscript?mac=%s&retry=1" % mac)
        line = _readline(p)
        assert line is not None and line.split()[2] == "bootscript" and "retry 1" in line, line
        _node_get(corrald, _phone_home_path(corrald, node), b"hostname=x")
        line = _readline(p)
        assert line is not None and line.split()[2:4] == ["phone-home", "127.0.0.1"], line
        assert p.wait(timeout=10) == 0, p.stderr.read()
        assert p.stdout.read() == b"" and p.stderr.read() == b"" and not p._linebuf
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_events_follow_json_timeout_and_bad_stage(corrald, world):
    node, mac = world["node"], world["mac"]
    _node_get(corrald, "/boot/v1/bootscript?mac=%s" % mac)
    # --follow with --json: one JSON object a line; --timeout ends it (0 without --until).
    p = corral(corrald, "--json", "events", node, "--follow", "--timeout", "1")
    assert p.returncode == 0 and p.stderr == "", p
    lines = [json.loads(l) for l in p.stdout.splitlines()]
    assert lines and lines[0]["stage"] == "bootscript" and {"time", "detail"} <= set(lines[0])
    # --until that never comes: exit 1, one line saying so.
    p = corral(corrald, "events", node, "--until", "phone-home", "--timeout", "1")
    assert failed(p, 1) == "corral: events: no phone-home from %s within 1 s" % node
    p = corral(corrald, "events", node, "--until", "bogus")
    assert p.returncode == 2 and "--until: not a boot stage: bogus" in p.stderr, p
    # A bad token: the stream's refusal, said as any other.
    p = corral(corrald, "events", node, "--follow", token="nope")
    assert p.returncode == 1 and "401" in p.stderr, p


def test_import_yaml_three_nodes(corrald, tmp_path):
    grp, _, _ = uniq("imp")
    nodes = [uniq("y") for _ in range(3)]
    text = "# nodes for import\nnodes:\n"
    for name, nid, mac in nodes:
        text += ("  - name: %s\n    nid: %d\n    groups: [%s]\n    enabled: true\n"
                 "    role: \"0042\"\n    profile: ~\n"
                 "    interfaces:\n      - mac: \"%s\"\n" % (name, nid, grp, mac))
    f = tmp_path / "nodes.yaml"
    f.write_text(text)
    out = ok(corrald, "node", "import", str(f))
    assert "3 created" in out and "0 replaced" in out
    got = jget(corrald, "node", "list", "--group", grp)
    if isinstance(got, dict):
        got = got["nodes"]
    assert sorted((n["name"], n["nid"]) for n in got) == sorted((n, i) for n, i, _ in nodes)
    # Plain scalars are typed, quoted ones stay strings.
    assert all(n["enabled"] is True and n["role"] == "0042" and n["profile"] is None for n in got)
    assert "3 replaced" in ok(corrald, "node", "import", str(f))


def test_import_json_bare_array(corrald, tmp_path):
    (a, anid, amac), (b, bnid, bmac) = uniq("j"), uniq("j")
    f = tmp_path / "nodes.json"
    f.write_text(json.dumps([{"name": a, "nid": anid, "interfaces": [{"mac": amac}]},
                             {"name": b, "nid": bnid, "interfaces": [{"mac": bmac}]}]))
    assert "2 created" in ok(corrald, "node", "import", str(f))
    assert jget(corrald, "node", "show", b)["nid"] == bnid


def test_import_is_all_or_nothing(corrald, tmp_path):
    (a, anid, amac), (b, bnid, _) = uniq("g"), uniq("g")
    f = tmp_path / "bad.yaml"
    f.write_text("- name: %s\n  nid: %d\n  interfaces: [{mac: '%s'}]\n"
                 "- name: %s\n  nid: %d\n  interfaces: [{mac: 'not-a-mac'}]\n" % (a, anid, amac, b, bnid))
    line = failed(corral(corrald, "node", "import", str(f)), 1)
    assert "nodes[1]" in line and "mac" in line
    failed(corral(corrald, "node", "show", a), 1)  # the good one was not written


def test_api_error_is_one_line_naming_the_field(corrald):
    name, _, _ = uniq("bad")
    line = failed(corral(corrald, "node", "create", name, "--mac", "zz:zz"), 1)
    assert line.startswith("corral: node create: ")
    assert "interfaces[0].mac" in line
    assert "(422)" in line
    line = failed(corral(corrald, "node", "show", name), 1)
    assert "(404)" in line


def test_conflict_and_in_use(corrald, world):
    line = failed(corral(corrald, "node", "create", world["node"]), 1)
    assert "(409)" in line
    line = failed(corral(corrald, "image", "rm", world["image"]), 1)
    assert "(409)" in line


def test_usage_errors_exit_2(corrald):
    failed(corral(corrald, "node", "create"), 2)
    failed(corral(corrald, "node", "create", "x", "--bogus"), 2)
    failed(corral(corrald, "node", "create", "x", "--nid", "0"), 2)
    failed(corral(corrald, "node", "frob"), 2)
    failed(corral(corrald, "frob"), 2)
    failed(corral(corrald, "node", "set", "x"), 2)  # nothing to change


def test_unreachable_server_exit_3(corrald):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    url = "http://127.0.0.1:%d" % port
    line = failed(corral(corrald, "node", "list", url=url), 3)
    assert url in line


def test_read_only_token(corrald):
    ok(corrald, "node", "list", token=corrald.read_token)
    name, _, _ = uniq("ro")
    line = failed(corral(corrald, "node", "create", name, token=corrald.read_token), 1)
    low = line.lower()
    assert "forbidden" in low or "read-only" in low or "read only" in low
    failed(corral(corrald, "node", "show", name), 1)


def test_bad_token_is_refused(corrald):
    line = failed(corral(corrald, "node", "list", token="not-a-token"), 1)
    assert "(401" in line


def test_rm(corrald):
    a, anid, amac = uniq("rm")
    b, _, _ = uniq("rm")
    ok(corrald, "node", "create", a, "--nid", str(anid), "--mac", amac)
    ok(corrald, "node", "create", b)
    ok(corrald, "node", "rm", a, b)
    failed(corral(corrald, "node", "show", a), 1)
    failed(corral(corrald, "node", "show", b), 1)


def test_group_image_profile_set_show_rm(corrald):
    img, _, _ = uniq("img")
    prof, _, _ = uniq("prof")
    grp, _, _ = uniq("grp")
    ok(corrald, "image", "create", img, "--kernel", "k", "--initrd", "i", "--arch", "x86_64")
    ok(corrald, "image", "set", img, "--params", "console=tty0")
    assert jget(corrald, "image", "show", img)["params"] == "console=tty0"
    ok(corrald, "profile", "create", prof, "--kernel", "http://example.invalid/k",
       "--initrd", "http://example.invalid/i")
    ok(corrald, "profile", "set", prof, "--image", img)  # drops kernel/initrd
    p = jget(corrald, "profile", "show", prof)
    assert p["image"] == img and not p.get("kernel")
    ok(corrald, "group", "create", grp)
    ok(corrald, "group", "set", grp, "--profile", prof, "--description", "d")
    g = jget(corrald, "group", "show", grp)
    assert g["profile"] == prof and g["description"] == "d"
    assert grp in ok(corrald, "group", "show", grp)
    ok(corrald, "group", "rm", grp)
    ok(corrald, "profile", "rm", prof)
    ok(corrald, "image", "rm", img)
    failed(corral(corrald, "image", "show", img), 1)


def test_profile_arch_images(corrald):
    """--arch-image ARCH=I sets a profile's per-architecture images (repeat
    or comma-separated; on set it replaces the map, '' clears it); a
    wrong arch or image is the server's 422 naming images.<arch>."""
    x86, _, _ = uniq("imgx")
    arm, _, _ = uniq("imga")
    rv, _, _ = uniq("imgr")
    prof, _, _ = uniq("prof")
    for name, arch in ((x86, "x86_64"), (arm, "aarch64"), (rv, "riscv64")):
        ok(corrald, "image", "create", name, "--kernel", "k", "--initrd", "i", "--arch", arch)
    ok(corrald, "profile", "create", prof, "--image", x86, "--arch-image",
       "aarch64=%s,riscv64=%s" % (arm, rv))
    p = jget(corrald, "profile", "show", prof)
    assert p["image"] == x86 and p["images"] == {"aarch64": arm, "riscv64": rv}, p
    ok(corrald, "profile", "set", prof, "--arch-image", "aarch64=" + arm)
    assert jget(corrald, "profile", "show", prof)["images"] == {"aarch64": arm}
    assert arm in ok(corrald, "profile", "show", prof)  # the table form shows it too
    # the server judges: an image of another arch, an unknown arch
    line = failed(corral(corrald, "profile", "set", prof, "--arch-image", "aarch64=" + rv), 1)
    assert "images.aarch64" in line, line
    line = failed(corral(corrald, "profile", "set", prof, "--arch-image", "sparc64=" + rv), 1)
    assert "images.sparc64" in line, line
    assert jget(corrald, "profile", "show", prof)["images"] == {"aarch64": arm}
    # the CLI judges the form
    line = failed(corral(corrald, "profile", "set", prof, "--arch-image", arm), 2)
    assert "--arch-image: expected ARCH=I" in line, line
    ok(corrald, "profile", "set", prof, "--arch-image", "")
    assert jget(corrald, "profile", "show", prof)["images"] == {}
    ok(corrald, "profile", "rm", prof)
    for name in (x86, arm, rv):
        ok(corrald, "image", "rm", name)


def test_status(corrald, world):
    out = ok(corrald, "status")
    keys = [r[0] for r in table(out)]
    for k in ("version", "uptime", "nodes", "groups", "images", "profiles", "discovered"):
        assert k in keys, out
    st = jget(corrald, "status")
    assert st["nodes"]["total"] >= 1


def test_discovered(corrald):
    _, _, mac = uniq("d")
    with urllib.request.urlopen("%s/boot/v1/bootscript?mac=%s" % (corrald.url, mac), timeout=10) as r:
        assert r.status == 200
    assert mac in ok(corrald, "node", "discovered")


def test_defaults(corrald, world):
    ok(corrald, "defaults", "set", "--profile", world["profile"])
    assert jget(corrald, "defaults", "show")["profile"] == world["profile"]
    ok(corrald, "defaults", "set", "--profile", "")
    assert jget(corrald, "defaults", "show")["profile"] is None


def test_tokens(corrald):
    name, _, _ = uniq("tok")
    out = ok(corrald, "token", "create", name, "--read-only")
    secret = out.strip().splitlines()[-1]
    assert secret and " " not in secret
    assert name in ok(corrald, "token", "list")
    ok(corrald, "node", "list", token=secret)
    failed(corral(corrald, "token", "create", name + "x", token=secret), 1)
    ok(corrald, "token", "rm", name)
    failed(corral(corrald, "node", "list", token=secret), 1)


def test_config_file(corrald, tmp_path):
    conf = tmp_path / "corral"
    conf.mkdir()
    (conf / "cli.conf").write_text("# test\nurl = %s\ntoken = %s\n" % (corrald.url, corrald.admin_token))
    p = corral(corrald, "status", url="", token="", env={"XDG_CONFIG_HOME": str(tmp_path)})
    assert p.returncode == 0, p.stderr


def test_help_and_version(corrald):
    out = ok(corrald, "help")
    assert "node create" in out and "Exit status" in out
    assert "--mac" in ok(corrald, "node", "create", "--help")
    assert ok(corrald, "--version").startswith("corral ")
