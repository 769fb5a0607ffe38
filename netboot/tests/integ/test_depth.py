"""Nesting depth of stored JSON and YAML (docs/security.md, issue 11).

Request bodies are refused past 64 levels of arrays and objects by a byte
scan that runs before jansson (400 `bad_request`, naming the top-level
member); cloud-init user-data past 64 levels of YAML collections is
refused while libyaml's events are read (422 `invalid_field`, naming
`user_data` and the line).  Both answer in milliseconds however deep the
input goes, and whatever is stored can be served back.  The time bounds
below are generous on purpose: they assert "does not hang", and each
test prints what it measured.
"""
import json
import time

from conftest import assert_error, node, uniq

JSON = {"Content-Type": "application/json"}


def deep_json(levels, leaf="1"):
    """levels nested objects {"k": ...} around leaf, as text."""
    return '{"k": ' * levels + leaf + "}" * levels


def depth(v):
    if isinstance(v, list):
        return 1 + max([depth(x) for x in v] or [0])
    if isinstance(v, dict):
        return 1 + max([depth(x) for x in v.values()] or [0])
    return 0


def timed(fn):
    t0 = time.monotonic()
    r = fn()
    return r, (time.monotonic() - t0) * 1000


def node_body(n, metadata_text):
    """A node body whose metadata is given as JSON text."""
    head = json.dumps(n)[:-1]
    return head + ', "metadata": ' + metadata_text + "}"


def test_100k_deep_yaml_user_data_refused_fast(corrald):
    n = node(user_data="#cloud-config\nx: " + "[" * 100000)
    r, ms = timed(lambda: corrald.post("/api/v1/nodes", n))
    print("100k-deep user_data: %d in %.1f ms" % (r.status, ms))
    err = assert_error(r, 422, "invalid_field", field="user_data")
    assert "line 2: nested deeper than 64 levels" in err["message"], err
    assert ms < 1000, ms
    assert corrald.get("/api/v1/nodes/" + n["name"]).status == 404


def test_100k_deep_yaml_block_user_data_refused_fast(corrald):
    """Block style nests by indentation; the error names the line."""
    ud = "#cloud-config\n" + "".join("%sk%d:\n" % (" " * i, i) for i in range(1000))
    n = node(user_data=ud)
    r, ms = timed(lambda: corrald.post("/api/v1/nodes", n))
    print("1000-deep block user_data: %d in %.1f ms" % (r.status, ms))
    err = assert_error(r, 422, "invalid_field", field="user_data")
    # k0..k63 open levels 1-64 (lines 2-65); k63's value is the 65th.
    assert "line 66: nested deeper than 64 levels" in err["message"], err
    assert ms < 1000, ms


def test_user_data_at_the_limit_is_served(corrald):
    # The top mapping is level 1, x's 63 nested lists levels 2-64.
    ud = "#cloud-config\nx: " + "[" * 63 + "1" + "]" * 63 + "\n"
    n = node(user_data=ud)
    assert corrald.post("/api/v1/nodes", n).status == 201
    r = corrald.get("/api/v1/nodes/%s/cloud-init/user-data" % n["name"])
    assert r.status == 200, r
    assert r.text.startswith("#cloud-config\n"), r.text[:100]
    served = json.loads(r.text.split("\n", 1)[1])
    assert depth(served) == 64
    one_more = node(user_data="#cloud-config\nx: " + "[" * 64 + "1" + "]" * 64 + "\n")
    assert_error(corrald.post("/api/v1/nodes", one_more), 422, "invalid_field",
                 field="user_data")


def test_1500_deep_metadata_refused_naming_the_field(corrald):
    n = node()
    body = node_body(n, deep_json(1500))
    r, ms = timed(lambda: corrald.post("/api/v1/nodes", body, headers=JSON))
    print("1500-deep metadata: %d in %.1f ms" % (r.status, ms))
    err = assert_error(r, 400, "bad_request", field="metadata")
    assert err["message"] == "metadata: nested deeper than 64 levels (line 1)", err
    assert ms < 1000, ms
    assert corrald.get("/api/v1/nodes/" + n["name"]).status == 404


def test_metadata_at_the_limit_is_stored_and_served(corrald):
    """The limit counts the whole body: the node object is level 1, so its
    metadata may nest 63 levels; that is served back whole, and a body one
    level deeper is refused."""
    n = node()
    r = corrald.post("/api/v1/nodes", node_body(n, deep_json(63)), headers=JSON)
    assert r.status == 201, r
    assert depth(r.body["metadata"]) == 63
    r = corrald.get("/api/v1/nodes/%s/cloud-init/meta-data" % n["name"])
    assert r.status == 200, r
    served = json.loads(r.text)
    assert served["local-hostname"] == n["name"]
    assert depth(served) == 63  # merged into the top object: 1 + 62 below "k"
    assert depth(served["k"]) == 62
    m = node()
    r = corrald.post("/api/v1/nodes", node_body(m, deep_json(64)), headers=JSON)
    assert_error(r, 400, "bad_request", field="metadata")


def test_deep_group_and_defaults_metadata_refused(corrald):
    body = '{"name": "%s", "metadata": %s}' % (uniq("dgrp"), deep_json(1500))
    assert_error(corrald.post("/api/v1/groups", body, headers=JSON), 400, "bad_request",
                 field="metadata")
    body = '{"metadata": %s}' % deep_json(1500)
    assert_error(corrald.patch("/api/v1/defaults", body, headers=JSON), 400, "bad_request",
                 field="metadata")


def test_deep_import_names_the_member(corrald):
    inner = node_body(node(), deep_json(100))
    r = corrald.post("/api/v1/nodes/import", '{"nodes": [%s]}' % inner, headers=JSON)
    assert_error(r, 400, "bad_request", field="nodes")
    r = corrald.post("/api/v1/nodes/import", "[%s, %s]" % (json.dumps(node()), inner),
                     headers=JSON)
    assert_error(r, 400, "bad_request", field="[1]")


def test_1mib_of_brackets_refused_fast(corrald):
    """A body of nothing but '[' is refused at the 65th byte."""
    body = "[" * ((1 << 20) - 16)
    r, ms = timed(lambda: corrald.post("/api/v1/nodes", body, headers=JSON))
    print("1 MiB of '[': %d in %.1f ms" % (r.status, ms))
    err = assert_error(r, 400, "bad_request")
    assert "nested deeper than 64 levels" in err["message"], err
    assert ms < 1000, ms


def test_brackets_in_strings_do_not_count(corrald):
    n = node(role="[[[[", user_data="#!/bin/sh\necho '" + "[{" * 200 + "'\n",
             metadata={"note": "{" * 500})
    r = corrald.post("/api/v1/nodes", n)
    assert r.status == 201, r
    assert r.body["metadata"]["note"] == "{" * 500
