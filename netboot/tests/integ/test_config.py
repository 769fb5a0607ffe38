"""corrald's configuration file: `-n` checks, errors with file:line, SIGHUP
reloads (a bad file keeps the old configuration), SIGTERM exits cleanly."""
import os
import re
import signal
import subprocess
import time

import pytest

from conftest import BUILD, REPO, NO_TOKEN, Corrald, http_request, next_mac, node, wait_until


def check(conf_path, env=None):
    return subprocess.run([str(BUILD / "corrald"), "-n", "-c", str(conf_path)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          stdin=subprocess.DEVNULL, timeout=30, env=env)


def test_check_good_config_exits_0(tmp_path):
    c = Corrald(tmp_path / "good")
    cp = check(c.conf_path)
    assert cp.returncode == 0, cp.stderr.decode()


def test_check_example_config_exits_0(tmp_path):
    """The shipped example must check (its paths need not exist)."""
    example = REPO / "netboot" / "corral.conf.example"
    cp = check(example)
    assert cp.returncode == 0, cp.stderr.decode()


# (name, lines of the file, 1-based line number to blame)
BAD_FILES = [
    ("unknown-key", ["[server]", "address = 127.0.0.1", "colour = blue"], 3),
    ("unknown-section-key", ["[server]", "port = 1234", "", "[nosuch]", "thing = 1"], 5),
    ("bad-number", ["[server]", "address = 127.0.0.1", "threads = lots"], 3),
    ("number-out-of-range", ["[boot]", "unknown_wait = 0"], 2),
    ("number-trailing-junk", ["[server]", "port = 80x"], 2),
    ("negative-number", ["; comment", "[cloud_init]", "token_ttl = -5"], 3),
    ("bad-log-level", ["[server]", "log_level = chatty"], 2),
    ("syntax-error", ["[server]", "address = 127.0.0.1", "this is not ini"], 3),
    ("unclosed-section", ["[server", "port = 1"], 1),
    ("bad-advertise-url", ["[server]", "advertise_url = ftp://x"], 2),
]


@pytest.mark.parametrize("name,lines,line", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_check_bad_config_names_file_and_line(tmp_path, name, lines, line):
    conf = tmp_path / ("%s.conf" % name)
    conf.write_text("\n".join(lines) + "\n")
    cp = check(conf)
    err = cp.stderr.decode(errors="replace")
    assert cp.returncode != 0, "corrald -n accepted a bad file:\n%s" % "\n".join(lines)
    assert "%s:%d" % (conf, line) in err, "stderr should name %s:%d, got: %r" % (conf, line, err)


def test_bad_config_refuses_to_start(tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text("[server]\nport = nope\n")
    p = subprocess.Popen([str(BUILD / "corrald"), "-c", str(conf)], stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = p.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        pytest.fail("corrald started with a bad config")
    assert p.returncode != 0
    assert ("%s:2" % conf).encode() in err


def test_example_config_every_key_uncommented_checks(tmp_path):
    """The example documents every key with its default; uncommenting any
    of them must give a file corrald accepts."""
    example = (REPO / "netboot" / "corral.conf.example").read_text()
    out = []
    for line in example.splitlines():
        m = re.match(r"^;\s*([a-z_]+\s*=.*)$", line)
        out.append(m.group(1) if m else line)
    conf = tmp_path / "uncommented.conf"
    conf.write_text("\n".join(out) + "\n")
    cp = check(conf)
    assert cp.returncode == 0, cp.stderr.decode()


def test_missing_config_file_is_an_error(tmp_path):
    cp = check(tmp_path / "nonexistent.conf")
    assert cp.returncode != 0
    assert str(tmp_path / "nonexistent.conf") in cp.stderr.decode()


@pytest.fixture
def open_tmp():
    """A temporary directory another user can enter (pytest's own are 0700)."""
    import shutil
    import tempfile
    d = tempfile.mkdtemp(prefix="corral-integ-")
    os.chmod(d, 0o777)
    try:
        yield __import__("pathlib").Path(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_empty_config_uses_defaults(open_tmp):
    """An empty file means every default: 0.0.0.0:8080 and, for a user
    other than root, the store under $XDG_DATA_HOME/corral (pointed at a
    temporary directory here; as root we drop to nobody so that the default
    /var/lib/corral is never touched)."""
    import shutil
    import socket
    tmp_path = open_tmp
    home = tmp_path / "home"
    xdg = tmp_path / "xdg"
    home.mkdir()
    xdg.mkdir()
    env = dict(os.environ, XDG_DATA_HOME=str(xdg), HOME=str(home))
    c = Corrald(tmp_path / "c", port=8080)
    c.env = env
    c.write_conf("")
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("root and no setpriv to run corrald as another user")
        for d in (tmp_path, home, xdg, c.dir):
            os.chmod(d, 0o777)
        os.chmod(c.conf_path, 0o644)
        c.prefix = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
    cp = subprocess.run(c.prefix + [str(c.binary), "-n", "-c", str(c.conf_path)], env=env,
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    assert cp.returncode == 0, cp.stderr.decode()
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", 8080))
    except OSError:
        pytest.skip("port 8080 (the default) is busy on this machine")
    finally:
        s.close()
    c.start()
    try:
        r = c.get("/healthz", token=NO_TOKEN)
        assert r.status == 200
        assert (xdg / "corral" / "corral.db").exists()
        r = c.bootscript({"mac": next_mac()})
        assert r.status == 200
        assert "sleep 10" in r.text
    finally:
        rc = c.stop()
        c.cleanup()
    assert rc == 0


def unknown_script(c, mac):
    r = c.bootscript({"mac": mac})
    assert r.status == 200, r
    return r.text


def sleeps(script):
    return [int(m) for m in re.findall(r"^\s*sleep\s+(\d+)\s*$", script, re.M)]


def test_sighup_bad_file_keeps_old_config(fresh_corrald):
    c = fresh_corrald
    assert 10 in sleeps(unknown_script(c, next_mac()))
    good = c.conf_path.read_text()
    c.write_conf(good.replace("unknown_wait = 10", "unknown_wait = 3") + "bogus line\n")
    c.signal(signal.SIGHUP)
    time.sleep(1.0)
    assert c.alive(), "corrald died on SIGHUP with a bad file:\n" + c.stderr_tail()
    r = c.get("/healthz", token=NO_TOKEN)
    assert r.status == 200
    r = c.get("/api/v1/status")
    assert r.status == 200
    # Nothing of the bad file was applied, not even the valid line before the error.
    assert 10 in sleeps(unknown_script(c, next_mac()))
    assert 3 not in sleeps(unknown_script(c, next_mac()))
    assert str(c.conf_path) in c.stderr_text(), "the reload error should name the file"


def test_sighup_good_file_applies(fresh_corrald):
    c = fresh_corrald
    mac = next_mac()
    assert 10 in sleeps(unknown_script(c, mac))
    c.set_conf("boot", "unknown_wait", 3)
    c.signal(signal.SIGHUP)
    deadline = time.monotonic() + 5
    got = None
    while time.monotonic() < deadline:
        got = sleeps(unknown_script(c, mac))
        if 3 in got:
            break
        time.sleep(0.1)
    assert 3 in got, "unknown_wait 3 not applied after SIGHUP; sleeps %r" % got
    assert c.alive()
    assert c.get("/api/v1/status").status == 200


def test_sighup_twice_and_still_serving(fresh_corrald):
    c = fresh_corrald
    for _ in range(3):
        c.signal(signal.SIGHUP)
        time.sleep(0.2)
    assert c.alive()
    assert c.get("/healthz", token=NO_TOKEN).status == 200


def reload_and_wait(c, changes):
    """Sets {(section, key): value}, sends SIGHUP, waits for the outcome;
    returns what corrald logged meanwhile."""
    mark = len(c.stderr_text())
    for (sec, key), v in changes.items():
        c.conf.setdefault(sec, {})[key] = str(v)
    c.write_conf()
    c.signal(signal.SIGHUP)

    def outcome():
        t = c.stderr_text()[mark:]
        done = "reloaded configuration" in t or "configuration not changed" in t
        return t if done else None

    out = wait_until(outcome, timeout=10)
    assert out, "no reload outcome logged:\n" + c.stderr_tail()
    return out


def test_sighup_unusable_files_root_keeps_old_config(fresh_corrald):
    """A new files.root that cannot be opened refuses the whole file: the
    old root keeps serving and no other key of the file is applied."""
    c = fresh_corrald
    c.add_file("which.txt", "old")
    blocker = c.dir / "not-a-dir"
    blocker.write_text("a file where a directory should be")
    out = reload_and_wait(c, {("files", "root"): blocker / "root", ("boot", "unknown_wait"): 3})
    lines = [l for l in out.splitlines() if "configuration not changed" in l]
    assert len(lines) == 1 and "files.root" in lines[0], out
    assert "reloaded configuration" not in out, out
    r = c.get("/files/which.txt", token=NO_TOKEN)
    assert r.status == 200 and r.raw == b"old", r
    assert 10 in sleeps(unknown_script(c, next_mac()))
    assert c.get("/api/v1/status").body["files_root"] == str(c.files_root)


def test_sighup_restart_only_keys_are_named_and_kept(fresh_corrald):
    """Keys read once at start (here server.max_body and redfish.timeout_ms)
    are named in one warning and keep their running value; the rest of the
    file applies."""
    c = fresh_corrald
    out = reload_and_wait(c, {("server", "max_body"): 2048, ("redfish", "timeout_ms"): 9000,
                              ("boot", "unknown_wait"): 3})
    assert "reloaded configuration" in out, out
    warn = [l for l in out.splitlines() if "next restart" in l]
    assert len(warn) == 1, out
    assert "server.max_body" in warn[0] and "redfish.timeout_ms" in warn[0], warn
    assert "unknown_wait" not in warn[0], warn
    assert 3 in sleeps(unknown_script(c, next_mac()))
    # the running 1 MiB cap, not the file's 2 KiB
    r = c.post("/api/v1/nodes", node(metadata={"pad": "x" * 5000}))
    assert r.status == 201, r


def test_sigterm_exits_0(fresh_corrald):
    c = fresh_corrald
    assert c.get("/healthz", token=NO_TOKEN).status == 200
    c.signal(signal.SIGTERM)
    try:
        rc = c.proc.wait(10)
    except subprocess.TimeoutExpired:
        pytest.fail("corrald did not exit within 10 s of SIGTERM")
    assert rc == 0, c.stderr_tail()
    # The port is closed afterwards.
    with pytest.raises(OSError):
        http_request(c.host, c.port, "GET", "/healthz", timeout=2)


def test_sigint_exits_0(fresh_corrald):
    c = fresh_corrald
    c.signal(signal.SIGINT)
    rc = c.proc.wait(10)
    assert rc == 0, c.stderr_tail()


def test_port_in_use_fails_to_start(corrald_factory, tmp_path):
    a = corrald_factory()
    b = Corrald(tmp_path / "b", port=a.port)
    b.make_tokens()
    b.start(wait=False)
    try:
        rc = b.proc.wait(10)
    except subprocess.TimeoutExpired:
        b.cleanup()
        pytest.fail("a second corrald on a busy port kept running")
    assert rc != 0
    b.cleanup()
    assert a.get("/healthz", token=NO_TOKEN).status == 200


def test_token_create_prints_one_line(tmp_path):
    c = Corrald(tmp_path / "t")
    tok = c.token_create("ops")
    assert tok and " " not in tok
    tok2 = c.token_create("viewer", read_only=True)
    assert tok2 != tok
    c.start()
    try:
        assert c.get("/api/v1/nodes", token=tok).status == 200
        assert c.get("/api/v1/nodes", token=tok2).status == 200
        r = c.post("/api/v1/groups", {"name": "g"}, token=tok2)
        assert r.status == 403
        r = c.post("/api/v1/groups", {"name": "g"}, token=tok)
        assert r.status == 201
    finally:
        c.cleanup()
