"""
TLS on the operator side (issue 11): the API and the web page over HTTPS on
a listener of their own, the node-facing paths on plain HTTP on theirs.

corrald here runs as installed: server.api_port apart from server.port,
tls.mode auto, no certificate given, so it makes a self-signed ECDSA pair
beside its key file (auth.key_file) at first start and shows it by fingerprint (its log,
`corrald cert`).  The CLI verifies the server with a CA file (--ca-file,
CORRAL_CA_FILE, cli.conf) or a pinned public-key fingerprint
(--fingerprint, CORRAL_FINGERPRINT, cli.conf), and refuses a server that
matches neither before it sends the token.  A pair named in the config is
used as it is; a pair that does not belong together is refused at start.
"""
import hashlib
import os
import re
import shutil
import socket
import ssl
import stat
import subprocess

import pytest

from conftest import ADMIN, NO_TOKEN, Corrald, free_port, http_request, mac_for, wait_until


def https_request(c, method, path, body=None, token=ADMIN, cafile=None, timeout=10):
    """One request to c's operator listener, verifying its certificate with cafile."""
    import http.client
    import json
    ctx = ssl.create_default_context(cafile=str(cafile or c.tls_cert))
    conn = http.client.HTTPSConnection("127.0.0.1", c.api_port, context=ctx, timeout=timeout)
    hdrs = {}
    if token is ADMIN:
        token = c.admin_token
    if token is not None:
        hdrs["Authorization"] = "Bearer " + token
    data = None
    if body is not None:
        data = json.dumps(body)
        hdrs["Content-Type"] = "application/json"
    try:
        conn.request(method, path, data, hdrs)
        r = conn.getresponse()
        raw = r.read()
        return r.status, (json.loads(raw) if raw and r.getheader("Content-Type", "").startswith(
            "application/json") else raw)
    finally:
        conn.close()


def served_cert_der(port):
    """The certificate the server at 127.0.0.1:port presents (unverified)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw) as s:
            return s.getpeercert(binary_form=True)


def cert_info(c):
    """`corrald cert` as a dict of its first lines."""
    cp = c.run("cert", check=True)
    info = {}
    for line in cp.stdout.decode().splitlines():
        if not line.strip():
            break
        k, _, v = line.partition(" ")
        info[k] = v.strip()
    return info


def start_tls(tmp_path, name="tls", **tls):
    c = Corrald(tmp_path / name, conf={"server": {"api_port": free_port()},
                                       "tls": {"mode": "auto", **tls}})
    c.api_port = int(c.conf["server"]["api_port"])
    c.tls_cert = pathlib_get(c.conf["tls"].get("cert"), c.dir / "tls.crt")
    c.tls_key = pathlib_get(c.conf["tls"].get("key"), c.dir / "tls.key")
    if "cert" not in tls:
        c.set_conf("tls", "cert", c.tls_cert)
        c.set_conf("tls", "key", c.tls_key)
    c.make_tokens()
    return c


def pathlib_get(v, default):
    import pathlib
    return pathlib.Path(v) if v else default


@pytest.fixture(scope="module")
def tlsd(tmp_path_factory):
    c = start_tls(tmp_path_factory.mktemp("tlsd"))
    c.start()
    try:
        yield c
    finally:
        c.cleanup()


def corral(c, *args, url=None, env=None, xdg="/nonexistent-corral-test"):
    e = {k: v for k, v in os.environ.items() if not k.startswith("CORRAL_")}
    e["CORRAL_URL"] = url or "https://127.0.0.1:%d" % c.api_port
    e["CORRAL_TOKEN"] = c.admin_token
    e["XDG_CONFIG_HOME"] = xdg
    e.update(env or {})
    return subprocess.run([str(c.build / "corral"), *args], env=e, capture_output=True,
                          text=True, timeout=60)


def api_requests_logged(c):
    return len(re.findall(r"GET /api/v1/nodes ", c.stderr_text()))


# ---- the pair made at first start --------------------------------------------


def test_self_signed_pair_made_and_shown(tlsd):
    key_mode = stat.S_IMODE(os.stat(tlsd.tls_key).st_mode)
    assert key_mode == 0o600, oct(key_mode)
    assert stat.S_IMODE(os.stat(tlsd.tls_cert).st_mode) == 0o644
    assert b"BEGIN PRIVATE KEY" in tlsd.tls_key.read_bytes()
    info = cert_info(tlsd)
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", info["fingerprint"]), info
    assert "127.0.0.1" in info["names"] and "localhost" in info["names"], info
    # The log names the same fingerprint, and says the pair was made.
    log = tlsd.stderr_text()
    assert "tls: made a self-signed certificate %s" % tlsd.tls_cert in log
    assert "public key %s (corral --fingerprint)" % info["fingerprint"] in log
    # The certificate served is the one shown.
    der = served_cert_der(tlsd.api_port)
    want = hashlib.sha256(der).hexdigest().upper()
    assert info["sha256"].replace(":", "") == want, (info, want)


def test_operator_paths_over_https_node_paths_over_http(tlsd):
    st, body = https_request(tlsd, "GET", "/api/v1/status")
    assert st == 200, body
    st, body = https_request(tlsd, "GET", "/ui/", token=NO_TOKEN)
    assert st == 200 and b"<html" in body
    # plain HTTP on the operator port gets no HTTP answer
    with pytest.raises(Exception):
        r = http_request("127.0.0.1", tlsd.api_port, "GET", "/healthz", timeout=3)
        assert r.status != 200
    # the boot path is plain HTTP on its own port ...
    mac = mac_for(0x7151)
    st, _ = https_request(tlsd, "POST", "/api/v1/nodes",
                          {"name": "tls-n1", "interfaces": [{"mac": mac}]})
    assert st == 201
    r = tlsd.bootscript({"mac": mac})
    assert r.status == 200 and r.raw.startswith(b"#!ipxe"), r
    # ... and nodes are told http:// URLs
    assert b"http://127.0.0.1:%d/" % tlsd.port in r.raw
    # the API on the node port says where it is
    r = tlsd.get("/api/v1/status")
    assert r.status == 421
    assert "https://127.0.0.1:%d/api/v1/status" % tlsd.api_port in r.error["message"]


# ---- where the pair goes by default: beside auth.key_file ---------------------------


def pin_data_dir(c, data):
    """corrald's data directory, where the pair used to go by default,
    becomes data (named .../corral): for root, data bind-mounted on
    /var/lib/corral in a mount namespace of corrald's own (the host's
    /var/lib/corral is never touched); otherwise $XDG_DATA_HOME."""
    data.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        c.prefix = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                    'mkdir -p /var/lib/corral && mount --bind "$0" /var/lib/corral && exec "$@"',
                    str(data)]
    else:
        c.env = dict(os.environ, XDG_DATA_HOME=str(data.parent))


def default_pair_corrald(tmp_path):
    """A corrald whose auth.key_file is in keys/, apart from its data
    directory data/corral, and whose config names no tls.cert or tls.key."""
    keys = tmp_path / "keys"
    keys.mkdir()
    c = Corrald(tmp_path / "d", conf={"server": {"api_port": free_port()},
                                      "tls": {"mode": "auto"},
                                      "auth": {"key_file": keys / "secret.key"}})
    c.api_port = int(c.conf["server"]["api_port"])
    c.data = tmp_path / "data" / "corral"
    pin_data_dir(c, c.data)
    c.make_tokens()
    return c, keys


def test_default_pair_made_beside_the_key_file(tmp_path):
    c, keys = default_pair_corrald(tmp_path)
    try:
        c.start()
        c.tls_cert = keys / "tls.crt"
        assert "tls: made a self-signed certificate %s " % c.tls_cert in c.stderr_text()
        assert stat.S_IMODE(os.stat(keys / "tls.key").st_mode) == 0o600
        assert sorted(os.listdir(c.data)) == [], "the data directory got %s" % os.listdir(c.data)
        st, body = https_request(c, "GET", "/api/v1/status")  # verified with keys/tls.crt
        assert st == 200, body
    finally:
        c.cleanup()


def test_pair_left_in_the_data_directory_is_kept(tmp_path):
    """An install from before the default moved: its self-signed pair in
    the data directory goes on being served (the fingerprint operators
    pinned stays), and the log says where it is and what to do."""
    c, keys = default_pair_corrald(tmp_path)
    old = {"cert": c.data / "tls.crt", "key": c.data / "tls.key"}
    c.set_conf("tls", "cert", old["cert"])
    c.set_conf("tls", "key", old["key"])
    made = cert_info(c)  # the pair, made where the old default put it
    del c.conf["tls"]["cert"], c.conf["tls"]["key"]
    c.write_conf()
    try:
        c.start()
        log = c.stderr_text()
        seen = "/var/lib/corral" if os.geteuid() == 0 else str(c.data)  # corrald's view
        assert "tls: kept the pair %s/tls.crt, %s/tls.key from the data directory" % (
            seen, seen) in log, log[-2000:]
        assert "made a self-signed" not in log
        assert not (keys / "tls.crt").exists() and not (keys / "tls.key").exists()
        der = served_cert_der(c.api_port)
        assert made["sha256"].replace(":", "") == hashlib.sha256(der).hexdigest().upper()
        c.tls_cert = old["cert"]
        st, body = https_request(c, "GET", "/api/v1/status")
        assert st == 200, body
    finally:
        c.cleanup()


# ---- the CLI verifies the server ----------------------------------------------------


def test_cli_with_pinned_fingerprint(tlsd):
    fp = cert_info(tlsd)["fingerprint"]
    p = corral(tlsd, "--fingerprint", fp, "node", "list")
    assert p.returncode == 0, p.stderr
    # as browsers and openssl print them: upper case, ':' between bytes
    hexs = fp[7:].upper()
    spaced = "sha256:" + ":".join(hexs[i:i + 2] for i in range(0, 64, 2))
    assert corral(tlsd, "--fingerprint", spaced, "node", "list").returncode == 0
    # from the environment, and from cli.conf
    assert corral(tlsd, "node", "list", env={"CORRAL_FINGERPRINT": fp}).returncode == 0


def test_cli_fingerprint_from_cli_conf(tlsd, tmp_path):
    fp = cert_info(tlsd)["fingerprint"]
    (tmp_path / "corral").mkdir()
    (tmp_path / "corral" / "cli.conf").write_text("fingerprint = %s\n" % fp)
    p = corral(tlsd, "node", "list", xdg=str(tmp_path))
    assert p.returncode == 0, p.stderr


def test_cli_with_ca_file(tlsd):
    p = corral(tlsd, "--ca-file", str(tlsd.tls_cert), "node", "list")
    assert p.returncode == 0, p.stderr
    p = corral(tlsd, "node", "list", env={"CORRAL_CA_FILE": str(tlsd.tls_cert)})
    assert p.returncode == 0, p.stderr
    # the certificate names localhost as well
    p = corral(tlsd, "--ca-file", str(tlsd.tls_cert), "status",
               url="https://localhost:%d" % tlsd.api_port)
    assert p.returncode == 0, p.stderr


def test_cli_refuses_a_wrong_fingerprint_before_sending_the_token(tlsd):
    before = api_requests_logged(tlsd)
    wrong = "sha256:" + "ab" * 32
    p = corral(tlsd, "--fingerprint", wrong, "node", "list")
    assert p.returncode == 3, (p.returncode, p.stderr)
    assert "public key is not %s" % wrong in p.stderr, p.stderr
    assert "nothing was sent" in p.stderr
    # corrald saw no request: the handshake stopped it
    r = tlsd.get("/healthz", token=NO_TOKEN)  # any request, so the log is flushed past it
    assert r.status == 200
    assert api_requests_logged(tlsd) == before


def test_cli_refuses_an_untrusted_certificate(tlsd):
    before = api_requests_logged(tlsd)
    p = corral(tlsd, "node", "list")
    assert p.returncode == 3, (p.returncode, p.stderr)
    assert "certificate is not trusted" in p.stderr, p.stderr
    assert "--ca-file" in p.stderr and "--fingerprint" in p.stderr
    assert api_requests_logged(tlsd) == before
    # another certificate as the CA file: refused as well
    other = start_tls(tlsd.dir.parent, name="other-ca")
    other.run("cert", check=True)
    p = corral(tlsd, "--ca-file", str(other.tls_cert), "node", "list")
    assert p.returncode == 3, p.stderr
    assert "certificate is not trusted" in p.stderr


def test_cli_fingerprint_needs_https(tlsd):
    fp = cert_info(tlsd)["fingerprint"]
    p = corral(tlsd, "--fingerprint", fp, "node", "list",
               url="http://127.0.0.1:%d" % tlsd.port)
    assert p.returncode == 2, p.stderr
    assert "needs an https:// server URL" in p.stderr
    p = corral(tlsd, "--fingerprint", "sha256:1234", "node", "list")
    assert p.returncode == 2 and "64 hex digits" in p.stderr


def test_cli_stream_over_https(tlsd):
    """events --follow (a Server-Sent Events stream) verifies the same way."""
    fp = cert_info(tlsd)["fingerprint"]
    mac = mac_for(0x7152)
    st, _ = https_request(tlsd, "POST", "/api/v1/nodes",
                          {"name": "tls-n2", "interfaces": [{"mac": mac}]})
    assert st == 201
    proc = subprocess.Popen(
        [str(tlsd.build / "corral"), "--fingerprint", fp, "events", "tls-n2", "--follow",
         "--until", "bootscript", "--timeout", "30"],
        env={**{k: v for k, v in os.environ.items() if not k.startswith("CORRAL_")},
             "CORRAL_URL": "https://127.0.0.1:%d" % tlsd.api_port,
             "CORRAL_TOKEN": tlsd.admin_token, "XDG_CONFIG_HOME": "/nonexistent"},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # until the stream is up and sees one: a boot-script fetch every 0.3 s
        for _ in range(100):
            assert tlsd.bootscript({"mac": mac}).status == 200
            try:
                out, err = proc.communicate(timeout=0.3)
                break
            except subprocess.TimeoutExpired:
                continue
        else:
            pytest.fail("events --follow over HTTPS saw no boot-script event")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "bootscript" in out, (out, err)


# ---- a pair named in the configuration ----------------------------------------------


def test_configured_pair_is_used_as_is(tlsd, tmp_path):
    mine = tmp_path / "pki"
    mine.mkdir()
    shutil.copy(tlsd.tls_cert, mine / "server.pem")
    shutil.copy(tlsd.tls_key, mine / "server.key")
    before = (mine / "server.pem").read_bytes()
    c = start_tls(tmp_path, name="given", cert=str(mine / "server.pem"),
                  key=str(mine / "server.key"))
    c.start()
    try:
        assert "made a self-signed" not in c.stderr_text()
        assert (mine / "server.pem").read_bytes() == before
        assert not (c.dir / "tls.crt").exists()
        assert cert_info(c)["fingerprint"] == cert_info(tlsd)["fingerprint"]
        assert served_cert_der(c.api_port) == served_cert_der(tlsd.api_port)
    finally:
        c.cleanup()


def test_mismatched_pair_refused_at_start(tlsd, tmp_path):
    other = start_tls(tmp_path, name="other")
    other.run("cert", check=True)  # makes its own pair
    c = start_tls(tmp_path, name="mixed", cert=str(tlsd.tls_cert), key=str(other.tls_key))
    c.start(wait=False)
    try:
        assert c.proc.wait(10) != 0
        assert "is not the private key of the certificate" in c.stderr_text()
    finally:
        c.cleanup()


def test_half_a_pair_refused_at_start(tmp_path):
    c = start_tls(tmp_path, name="half")
    c.tls_cert.write_text("-----BEGIN CERTIFICATE-----\n")  # a cert file, no key file
    c.start(wait=False)
    try:
        assert c.proc.wait(10) != 0
        assert "exists but %s does not" % c.tls_key in c.stderr_text()
        assert not c.tls_key.exists()  # nothing made over what the admin has
    finally:
        c.cleanup()


def test_tls_on_with_one_listener_serves_every_path_over_https(tmp_path):
    c = Corrald(tmp_path / "one", conf={"tls": {"mode": "on"}})
    c.set_conf("tls", "cert", c.dir / "tls.crt")
    c.set_conf("tls", "key", c.dir / "tls.key")
    c.make_tokens()
    c.start(wait=False)
    try:
        ctx = ssl.create_default_context(cafile=str(c.dir / "tls.crt")) \
            if wait_until(lambda: (c.dir / "tls.crt").exists(), timeout=10) else None
        assert ctx is not None, c.stderr_tail()
        import http.client

        def healthy():
            try:
                conn = http.client.HTTPSConnection("127.0.0.1", c.port, context=ctx, timeout=2)
                conn.request("GET", "/healthz")
                return conn.getresponse().status == 200
            except OSError:
                return False
        assert wait_until(healthy, timeout=10), c.stderr_tail()
    finally:
        c.cleanup()
