"""
Requests as OpenCHAMI's own clients send them, for the contract tests
(test_ochami_*.py) against corrald's BSS, SMD and cloud-init paths.

What the clients send, read from their request code (OpenCHAMI/ochami
pkg/client: client.go MakeRequest, http.go SetAuthorization; magellan
pkg/client/smd.go and net.go):

- ochami: Go's net/http with `User-Agent: ochami/<version>`, the token as
  `Authorization: Bearer <token>` when the command has one (some reads are
  sent without), the body `json.Marshal`ed (compact, struct field order)
  and NO Content-Type header; the query string from url.Values.Encode()
  (sorted keys, ':' as %3A).
- magellan send: POST <host>/hsm/v2/Inventory/RedfishEndpoints with
  `Content-Type: application/json`, `Authorization: Bearer <token>` and the
  collected object json.MarshalIndent'ed with two spaces.

problem() checks an RFC 7807 answer the way BSS and SMD send one.
"""
import base64
import json
import urllib.parse

from conftest import ADMIN, http_request

OCHAMI_UA = "ochami/0.7.0"


def go_json(obj):
    """json.Marshal: compact, no spaces; <, > and & escaped as Go does."""
    s = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    return s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").encode()


def encode_query(values):
    """url.Values.Encode(): keys sorted, each value in order, %-escaped."""
    parts = []
    for k in sorted(values):
        vs = values[k] if isinstance(values[k], list) else [values[k]]
        for v in vs:
            parts.append(urllib.parse.quote_plus(k) + "=" + urllib.parse.quote_plus(str(v)))
    return "&".join(parts)


class Reply:
    """status, headers, parsed JSON (or None), raw bytes."""

    def __init__(self, r):
        self.status = r.status
        self.headers = r.headers
        self.raw = r.raw
        self.ctype = r.headers.get("Content-Type", "") or ""
        self.json = None
        if r.raw and ("json" in self.ctype):
            try:
                self.json = json.loads(r.raw)
            except ValueError:
                self.json = None

    @property
    def text(self):
        return self.raw.decode("utf-8", "replace")

    def __repr__(self):
        return "<Reply %d %s %r>" % (self.status, self.ctype, self.raw[:400])


def ochami(c, method, path, body=None, token=ADMIN, query=None):
    """One request as the ochami CLI makes it (path under corrald's URL)."""
    hdrs = {"User-Agent": OCHAMI_UA}
    if token is ADMIN:
        token = c.admin_token
    if token:
        hdrs["Authorization"] = "Bearer " + token
    if query:
        path += "?" + (query if isinstance(query, str) else encode_query(query))
    data = go_json(body) if body is not None else None
    return Reply(http_request(c.host, c.port, method, path, data, hdrs))


def magellan_send(c, obj, token=ADMIN):
    """magellan send: one collected BMC to <host>/hsm/v2/Inventory/RedfishEndpoints."""
    hdrs = {"Content-Type": "application/json", "User-Agent": "Go-http-client/1.1"}
    if token is ADMIN:
        token = c.admin_token
    if token:
        hdrs["Authorization"] = "Bearer " + token
    data = json.dumps(obj, indent=2).encode()
    return Reply(http_request(c.host, c.port, "POST", "/hsm/v2/Inventory/RedfishEndpoints",
                              data, hdrs))


TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
          405: "Method Not Allowed", 409: "Conflict", 413: "Request Entity Too Large",
          415: "Unsupported Media Type", 500: "Internal Server Error"}


def problem(r, status, detail_contains=None):
    """r is an RFC 7807 problem as hms-base sends it; returns its detail."""
    assert r.status == status, r
    assert r.ctype == "application/problem+json", r
    p = r.json
    assert isinstance(p, dict), r
    assert set(p) == {"type", "title", "detail", "status"}, r
    assert p["type"] == "about:blank", r
    assert p["title"] == TITLES[status], r
    assert p["status"] == status, r
    assert isinstance(p["detail"], str) and p["detail"], r
    if detail_contains is not None:
        assert detail_contains in p["detail"], r
    return p["detail"]


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt_envelope(token, claims=None):
    """A Corral token in the JWT envelope `ochami` needs (docs/openchami.md):
    `ochami` parses its token as a JWT (for its expiry) and refuses one that
    is not; corrald takes the token from the payload's "corral_token"."""
    payload = {"sub": "ochami"}
    if token is not None:
        payload["corral_token"] = token
    payload.update(claims or {})
    return ".".join([b64url(b'{"alg":"HS256","typ":"JWT"}'),
                     b64url(json.dumps(payload, separators=(",", ":")).encode()),
                     b64url(b"corral")])
