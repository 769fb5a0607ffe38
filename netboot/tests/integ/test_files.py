"""GET|HEAD /files/{path}: headers, conditional and range requests, and
every way out of the file root answering 404."""
import email.utils
import hashlib
import http.client
import os
import urllib.parse

import pytest

from conftest import NO_TOKEN, assert_error

DATA = bytes((i * 7 + 3) % 256 for i in range(1000))
SECRET = b"TOP-SECRET-OUTSIDE-THE-ROOT\n"


@pytest.fixture(scope="module")
def files(corrald):
    c = corrald
    c.add_file("a.bin", DATA)
    c.add_file("sub/b.txt", b"hello sub\n")
    c.add_file("with space.txt", b"spaced\n")
    c.add_file("empty", b"")
    secret = c.dir / "secret.txt"  # next to the root, not in it
    secret.write_bytes(SECRET)
    root = c.files_root
    os.symlink("/etc/passwd", root / "link-passwd")
    os.symlink("../secret.txt", root / "link-secret")
    os.symlink(str(secret), root / "sub" / "abs-link-secret")
    os.symlink("/", root / "sub" / "link-slash")
    os.symlink("/etc", root / "link-etc")
    os.mkfifo(root / "fifo")
    return {"secret": secret}


def get(c, path, headers=None, method="GET"):
    return c.request(method, path, token=NO_TOKEN, headers=headers)


def test_get_whole_file(corrald, files):
    r = get(corrald, "/files/a.bin")
    assert r.status == 200
    assert r.raw == DATA
    assert r.headers["Content-Length"] == str(len(DATA))
    assert r.headers.get("ETag", "").startswith('"') or r.headers.get("ETag", "").startswith('W/"')
    lm = r.headers.get("Last-Modified")
    assert lm and email.utils.parsedate_to_datetime(lm)
    st = os.stat(corrald.files_root / "a.bin")
    assert abs(email.utils.parsedate_to_datetime(lm).timestamp() - int(st.st_mtime)) < 1


def test_get_nested_and_encoded_names(corrald, files):
    assert get(corrald, "/files/sub/b.txt").raw == b"hello sub\n"
    r = get(corrald, "/files/with%20space.txt")
    assert r.status == 200 and r.raw == b"spaced\n"


def test_empty_file(corrald, files):
    r = get(corrald, "/files/empty")
    assert r.status == 200
    assert r.raw == b"" and r.headers["Content-Length"] == "0"


def test_head(corrald, files):
    g = get(corrald, "/files/a.bin")
    h = get(corrald, "/files/a.bin", method="HEAD")
    assert h.status == 200
    assert h.headers["Content-Length"] == str(len(DATA))
    assert h.headers["ETag"] == g.headers["ETag"]
    assert h.headers["Last-Modified"] == g.headers["Last-Modified"]


def test_head_sends_no_body(corrald, files):
    """A HEAD answer must not carry the body (read the raw socket)."""
    import socket
    s = socket.create_connection((corrald.host, corrald.port), timeout=5)
    try:
        s.sendall(b"HEAD /files/a.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert body == b""


def test_etag_304(corrald, files):
    etag = get(corrald, "/files/a.bin").headers["ETag"]
    for inm in (etag, "W/" + etag if not etag.startswith("W/") else etag, '"nope", ' + etag, "*"):
        r = get(corrald, "/files/a.bin", headers={"If-None-Match": inm})
        assert r.status == 304, inm
        assert r.raw == b""
        assert r.headers.get("ETag") == etag
    r = get(corrald, "/files/a.bin", headers={"If-None-Match": '"other"'})
    assert r.status == 200 and r.raw == DATA
    r = get(corrald, "/files/a.bin", headers={"If-None-Match": etag}, method="HEAD")
    assert r.status == 304


def test_etag_changes_with_file(corrald, files):
    corrald.add_file("changing", b"one")
    e1 = get(corrald, "/files/changing").headers["ETag"]
    corrald.add_file("changing", b"three")
    r = get(corrald, "/files/changing", headers={"If-None-Match": e1})
    assert r.status == 200 and r.raw == b"three"
    assert r.headers["ETag"] != e1


@pytest.mark.parametrize("rng,start,end", [
    ("bytes=0-9", 0, 9), ("bytes=10-", 10, 999), ("bytes=-5", 995, 999), ("bytes=999-999", 999, 999),
    ("bytes=990-5000", 990, 999), ("bytes=-5000", 0, 999), ("bytes=0-0", 0, 0),
    ("bytes=500-599", 500, 599),
])
def test_range_206(corrald, files, rng, start, end):
    r = get(corrald, "/files/a.bin", headers={"Range": rng})
    assert r.status == 206, r
    assert r.headers["Content-Range"] == "bytes %d-%d/%d" % (start, end, len(DATA))
    assert r.headers["Content-Length"] == str(end - start + 1)
    assert r.raw == DATA[start:end + 1]


@pytest.mark.parametrize("rng", ["bytes=1000-", "bytes=1000-2000", "bytes=5000-"])
def test_range_416(corrald, files, rng):
    r = get(corrald, "/files/a.bin", headers={"Range": rng})
    assert_error(r, 416, "range_not_satisfiable")
    assert r.headers.get("Content-Range") == "bytes */%d" % len(DATA)


@pytest.mark.parametrize("rng", ["bytes=0-1,5-6", "bytes=0-9, 20-29", "bytes=9-2", "items=0-9",
                                 "bytes=abc", "bytes=", "0-9"])
def test_range_ignored_200(corrald, files, rng):
    r = get(corrald, "/files/a.bin", headers={"Range": rng})
    assert r.status == 200, r
    assert r.raw == DATA
    assert "Content-Range" not in r.headers


def test_range_on_empty_file_416(corrald, files):
    r = get(corrald, "/files/empty", headers={"Range": "bytes=0-0"})
    assert r.status == 416


def raw_get(c, path):
    """A request line sent byte for byte: no client-side path cleanup."""
    conn = http.client.HTTPConnection(c.host, c.port, timeout=10)
    try:
        conn.putrequest("GET", path, skip_host=False, skip_accept_encoding=True)
        conn.endheaders()
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


ESCAPES = [
    "/files/../secret.txt",
    "/files/%2e%2e/secret.txt",
    "/files/%2E%2E/secret.txt",
    "/files/.%2e/secret.txt",
    "/files/%2e./secret.txt",
    "/files/..%2fsecret.txt",
    "/files/..%2Fsecret.txt",
    "/files/%2e%2e%2fsecret.txt",
    "/files/sub/../../secret.txt",
    "/files/sub/%2e%2e/%2e%2e/secret.txt",
    "/files/sub/..%2f..%2fsecret.txt",
    "/files/./../secret.txt",
    "/files/sub/./../../secret.txt",
    "/files/..",
    "/files/%2e%2e",
    "/files/..%5csecret.txt",
    "/files/..\\secret.txt",
    "/files/%252e%252e/secret.txt",
    "/files/../../../../../../../../etc/passwd",
    "/files//etc/passwd",
    "/files///etc/passwd",
    "/files/%2fetc/passwd",
    "/files/%2Fetc%2Fpasswd",
    "/files/sub//../../secret.txt",
    "/files/sub/b.txt/../../secret.txt",
]


@pytest.mark.parametrize("path", ESCAPES)
def test_escapes_404(corrald, files, path):
    status, body = raw_get(corrald, path)
    assert status == 404, (path, status, body[:200])
    assert SECRET not in body and b"root:" not in body


def test_absolute_path_of_secret_404(corrald, files):
    secret = str(files["secret"])
    for path in ("/files/" + secret, "/files" + secret,
                 "/files/" + urllib.parse.quote(secret, safe="")):
        status, body = raw_get(corrald, path)
        assert status == 404, (path, status)
        assert SECRET not in body


@pytest.mark.parametrize("path", ["/files/link-passwd", "/files/link-secret",
                                  "/files/sub/abs-link-secret", "/files/sub/link-slash/etc/passwd",
                                  "/files/link-etc/passwd", "/files/link-etc/hostname"])
def test_symlinks_out_404(corrald, files, path):
    r = get(corrald, path)
    assert_error(r, 404, "not_found")
    assert SECRET not in r.raw and b"root:" not in r.raw
    r = get(corrald, path, method="HEAD")
    assert r.status == 404


@pytest.mark.parametrize("path", ["/files/sub", "/files/sub/", "/files/", "/files",
                                  "/files/fifo", "/files/nonexistent", "/files/sub/nope.txt"])
def test_not_regular_or_missing_404(corrald, files, path):
    r = get(corrald, path)
    assert r.status == 404, r


def test_files_need_no_token_and_ignore_one(corrald, files):
    assert corrald.request("GET", "/files/a.bin", token="bogus").status == 200
    assert corrald.request("GET", "/files/a.bin").status == 200


def test_large_file_sha256(corrald, files):
    size = 50 * 1024 * 1024
    p = corrald.files_root / "big" / "rootfs.squashfs"
    p.parent.mkdir(exist_ok=True)
    want = hashlib.sha256()
    with open(p, "wb") as f:
        left = size
        while left:
            chunk = os.urandom(min(left, 1 << 20))
            want.update(chunk)
            f.write(chunk)
            left -= len(chunk)
    conn = http.client.HTTPConnection(corrald.host, corrald.port, timeout=60)
    try:
        conn.request("GET", "/files/big/rootfs.squashfs")
        r = conn.getresponse()
        assert r.status == 200
        assert r.getheader("Content-Length") == str(size)
        got = hashlib.sha256()
        n = 0
        while True:
            chunk = r.read(1 << 20)
            if not chunk:
                break
            got.update(chunk)
            n += len(chunk)
    finally:
        conn.close()
    assert n == size
    assert got.hexdigest() == want.hexdigest()
    # and a range from the middle of it
    r = get(corrald, "/files/big/rootfs.squashfs",
            headers={"Range": "bytes=%d-%d" % (size // 2, size // 2 + 99)})
    assert r.status == 206
    with open(p, "rb") as f:
        f.seek(size // 2)
        assert r.raw == f.read(100)


def test_parallel_downloads(corrald, files):
    import concurrent.futures
    blob = os.urandom(3 * 1024 * 1024)
    corrald.add_file("par.bin", blob)
    digest = hashlib.sha256(blob).hexdigest()

    def one(_):
        r = get(corrald, "/files/par.bin")
        return r.status, hashlib.sha256(r.raw).hexdigest()

    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        results = list(ex.map(one, range(16)))
    assert all(r == (200, digest) for r in results), results
