"""Redfish session auth: a BMC that takes only X-Auth-Token sessions.

The peer below stands in for a physical BMC and speaks Redfish: a public
service root, POST SessionService/Sessions with UserName/Password answering
201 with X-Auth-Token and Location, every other resource only with that
token (basic auth is refused), DELETE of the session.  Discovery with
"auth": "session" must log in, walk with the token, register the node and
log out; power and boot jobs for that node must log in the same way; with
basic auth the same BMC is recorded auth_failed and makes no node.
"""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from socketserver import ThreadingMixIn

import pytest

from conftest import free_port, wait_until

ADDR = "127.0.33.1"
R = "/redfish/v1"


class SessionBMC(ThreadingMixIn, HTTPServer):
    daemon_threads = True

    def __init__(self, port):
        super().__init__((ADDR, port), Handler)
        self.lock = threading.Lock()
        self.tokens = {}        # token -> session path
        self.logins = 0
        self.logouts = 0
        self.basic_tries = 0
        self.power = "Off"
        self.boot = ("None", "Disabled")


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def reply(self, code, obj=None, headers=()):
        body = json.dumps(obj if obj is not None else {}).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def authed(self):
        s = self.server
        if self.headers.get("Authorization"):
            with s.lock:
                s.basic_tries += 1
        return self.headers.get("X-Auth-Token") in s.tokens

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(n) or b"{}")

    def tree(self):
        s = self.server
        return {
            R + "/": {"RedfishVersion": "1.8.0", "UUID": "sess-1",
                      "Systems": {"@odata.id": R + "/Systems"},
                      "Links": {"Sessions": {"@odata.id": R + "/SessionService/Sessions"}}},
            R + "/Systems": {"Members": [{"@odata.id": R + "/Systems/S1"}]},
            R + "/Systems/S1": {
                "Id": "S1", "PowerState": s.power,
                "Boot": {"BootSourceOverrideTarget": s.boot[0],
                         "BootSourceOverrideEnabled": s.boot[1]},
                "Actions": {"#ComputerSystem.Reset": {
                    "target": R + "/Systems/S1/Actions/ComputerSystem.Reset",
                    "ResetType@Redfish.AllowableValues": ["On", "ForceOff", "ForceRestart"]}},
                "EthernetInterfaces": {"@odata.id": R + "/Systems/S1/EthernetInterfaces"}},
            R + "/Systems/S1/EthernetInterfaces": {
                "Members": [{"@odata.id": R + "/Systems/S1/EthernetInterfaces/1"}]},
            R + "/Systems/S1/EthernetInterfaces/1": {"Id": "1", "MACAddress": "02:33:00:00:00:01"},
        }

    def do_GET(self):
        path = self.path if self.path.endswith("/") and self.path == R + "/" else self.path.rstrip("/")
        if path in (R, R + "/"):
            return self.reply(200, self.tree()[R + "/"])
        if not self.authed():
            return self.reply(401, {"error": {"message": "session required"}})
        t = self.tree()
        return self.reply(200, t[path]) if path in t else self.reply(404)

    def do_POST(self):
        s = self.server
        if self.path == R + "/SessionService/Sessions":
            b = self.body()
            if b.get("UserName") != "admin" or b.get("Password") != "s3cret":
                return self.reply(401, {"error": {"message": "bad login"}})
            with s.lock:
                s.logins += 1
                tok = "tok-%d" % s.logins
                loc = R + "/SessionService/Sessions/%d" % s.logins
                s.tokens[tok] = loc
            return self.reply(201, {"Id": str(s.logins)},
                              [("X-Auth-Token", tok), ("Location", loc)])
        if not self.authed():
            return self.reply(401)
        if self.path.endswith("ComputerSystem.Reset"):
            s.power = "Off" if self.body().get("ResetType") == "ForceOff" else "On"
            return self.reply(204)
        self.reply(404)

    def do_PATCH(self):
        if not self.authed():
            return self.reply(401)
        b = self.body().get("Boot", {})
        self.server.boot = (b.get("BootSourceOverrideTarget", "None"),
                            b.get("BootSourceOverrideEnabled", "Disabled"))
        self.reply(204)

    def do_DELETE(self):
        s = self.server
        tok = self.headers.get("X-Auth-Token")
        with s.lock:
            if tok in s.tokens and s.tokens[tok] == self.path:
                del s.tokens[tok]
                s.logouts += 1
                return self.reply(204)
        self.reply(401)


@pytest.fixture
def bmc():
    srv = SessionBMC(free_port())
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def run_job(c, path, body):
    r = c.request("POST", "/api/v1" + path, body)
    assert r.status == 202, r
    job = r.body
    assert wait_until(lambda: c.request("GET", "/api/v1/jobs/%d" % job["id"]).body["state"] ==
                      "done", timeout=20)
    return c.request("GET", "/api/v1/jobs/%d" % job["id"]).body


def test_session_login_discovers_controls_and_logs_out(corrald, bmc):
    c = corrald
    port = bmc.server_address[1]
    r = c.request("POST", "/api/v1/credentials",
                  {"name": "sess", "username": "admin", "password": "s3cret"})
    assert r.status == 201, r

    # Basic auth is refused by this BMC: recorded, no node.
    job = run_job(c, "/discovery", {"targets": [ADDR], "port": port, "scheme": "http",
                                    "credential": "sess"})
    assert [b["status"] for b in job["bmcs"]] == ["auth_failed"], job
    assert job["nodes_created"] == [], job

    job = run_job(c, "/discovery", {"targets": [ADDR], "port": port, "scheme": "http",
                                    "credential": "sess", "auth": "session"})
    assert [b["status"] for b in job["bmcs"]] == ["ok"], job
    assert len(job["nodes_created"]) == 1, job
    name = job["nodes_created"][0]
    node = c.request("GET", "/api/v1/nodes/" + name).body
    assert [i["mac"] for i in node["interfaces"]] == ["02:33:00:00:00:01"]
    bmcs = [b for b in c.request("GET", "/api/v1/bmcs").body if b["address"] == ADDR]
    assert bmcs[0]["auth"] == "session"
    assert bmc.logins == 1 and bmc.logouts == 1 and bmc.tokens == {}

    # Control jobs for that node log in too, and out again.
    job = run_job(c, "/boot", {"targets": [name], "once": True, "reset": True})
    res = job["nodes"][0]
    assert res["ok"], job
    assert bmc.boot == ("Pxe", "Once") and bmc.power == "On"
    job = run_job(c, "/power", {"targets": [name], "action": "off"})
    assert job["nodes"][0]["ok"] and job["nodes"][0]["power_state"] == "Off", job
    time.sleep(0.2)
    assert bmc.logins == 3 and bmc.logouts == 3 and bmc.tokens == {}, (bmc.logins, bmc.logouts)


def test_auth_must_be_basic_or_session(corrald):
    r = corrald.request("POST", "/api/v1/discovery", {"targets": [ADDR], "auth": "digest"})
    assert r.status == 422 and r.error["field"] == "auth", r
