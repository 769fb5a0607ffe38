"""The boot firmware tree (firmware/, `make firmware`) and /firmware/.

- firmware/build.py's manifest from corrald's architecture table, printed
  by build/corral-fwtable: every option 93 code lands on its file (no
  network).
- GET|HEAD /firmware/{path} serves dhcp.ipxe_dir like /files/: bytes,
  ranges, 404 for every way out of the directory and for a directory that
  is not there; a node's whole download is a "firmware" step.
- `make firmware` for real, twice, each time with a fresh apt state
  (private lists and cache, packages fetched and verified by apt from the
  host's Debian mirror): the same files with the same sha256s; the manifest
  agrees with the table, with the files' bytes and with each binary's own
  PE machine type.
"""
import hashlib
import importlib.util
import json
import os
import pathlib
import struct
import subprocess

import pytest

from conftest import BUILD, NO_TOKEN, REPO, assert_error, next_mac, uniq, wait_until

FWTABLE = BUILD / "corral-fwtable"
# PE/COFF Machine field -> iPXE platform of an EFI binary.
PE_MACHINES = {0x8664: "x86_64-efi", 0xaa64: "arm64-efi", 0x5064: "riscv64-efi",
               0x6264: "loong64-efi"}


def load_build():
    spec = importlib.util.spec_from_file_location("fwbuild", REPO / "firmware" / "build.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def table():
    if not FWTABLE.exists():
        pytest.fail("no %s (run make)" % FWTABLE)
    return load_build().read_table(str(FWTABLE))


# ---- the manifest, from the table (no network) ----------------------------------


def test_table_names_every_architecture_once():
    rows = table()
    codes = [r["code"] for r in rows]
    assert len(codes) == len(set(codes)), codes
    # x86 BIOS, x86-64 UEFI (7 and 9), arm64, riscv64, loong64, and UEFI HTTP boot
    assert set(codes) == {0, 7, 9, 11, 27, 39, 16, 19, 28, 40}
    assert {r["code"] for r in rows if r["http"]} == {16, 19, 28, 40}


def test_manifest_gives_each_file_its_codes():
    b = load_build()
    rows = table()
    files = {}
    for r in rows:
        for name in (r["file"], r["full_file"]):
            if name:
                files[name] = {"sha256": "0" * 64, "size": 1, "package": "ipxe",
                               "version": "1", "suite": "s"}
    m = b.manifest(rows, files)
    by = {f["file"]: f for f in m["files"]}
    assert m["format"] == 1
    assert [f["file"] for f in m["files"]] == sorted(by)
    assert by["undionly.kpxe"]["client_arch"] == [0]
    assert by["undionly.kpxe"]["architecture"] == "i386-pcbios"
    assert by["snponly.efi"]["client_arch"] == [7, 9, 16]
    assert by["snponly.efi"]["http_boot"] == [16]
    assert by["ipxe.efi"]["client_arch"] == []
    assert by["ipxe.efi"]["client_arch_full"] == [7, 9, 16]
    assert by["ipxe-arm64.efi"]["client_arch"] == [11, 19]
    assert by["ipxe-arm64.efi"]["architecture"] == "arm64-efi"
    assert by["ipxe-riscv64.efi"]["client_arch"] == [27, 28]
    assert by["ipxe-loong64.efi"]["client_arch"] == [39, 40]
    # every code of the table is in the manifest, on the file the table names
    for r in rows:
        assert r["code"] in by[r["file"]]["client_arch"], r
        if r["full_file"]:
            assert r["code"] in by[r["full_file"]]["client_arch_full"], r


def test_every_table_file_has_one_source():
    b = load_build()
    names = [n for s in b.SOURCES for n in s["files"]]
    assert len(names) == len(set(names)), names
    rows = table()
    want = {r["file"] for r in rows} | {r["full_file"] for r in rows if r["full_file"]}
    assert set(names) == want


# ---- GET /firmware/ ----------------------------------------------------------------

FW_A = bytes((i * 13 + 1) % 256 for i in range(4096))


@pytest.fixture(scope="module")
def fwdir(tmp_path_factory):
    d = tmp_path_factory.mktemp("fw")
    (d / "ipxe-arm64.efi").write_bytes(FW_A)
    (d / "sub").mkdir()
    (d / "sub" / "x.efi").write_bytes(b"x")
    (d.parent / "outside.txt").write_bytes(b"SECRET")
    os.symlink("/etc/passwd", d / "passwd")
    os.symlink("../outside.txt", d / "out")
    return d


@pytest.fixture(scope="module")
def fwd(fwdir, tmp_path_factory):
    from conftest import new_corrald
    c = new_corrald(tmp_path_factory.mktemp("corrald-fw"), conf={"dhcp": {"ipxe_dir": fwdir}})
    try:
        yield c
    finally:
        c.cleanup()


def test_firmware_served_whole(fwd):
    r = fwd.request("GET", "/firmware/ipxe-arm64.efi", token=NO_TOKEN)
    assert r.status == 200, r
    assert r.raw == FW_A
    assert r.headers["Content-Length"] == str(len(FW_A))
    assert r.headers.get("ETag")
    r = fwd.request("HEAD", "/firmware/ipxe-arm64.efi", token=NO_TOKEN)
    assert r.status == 200 and r.raw == b""
    r = fwd.request("GET", "/firmware/sub/x.efi", token=NO_TOKEN)
    assert r.status == 200 and r.raw == b"x"


def test_firmware_range(fwd):
    r = fwd.request("GET", "/firmware/ipxe-arm64.efi", token=NO_TOKEN,
                    headers={"Range": "bytes=100-199"})
    assert r.status == 206, r
    assert r.raw == FW_A[100:200]


@pytest.mark.parametrize("path", [
    "/firmware/nothing.efi", "/firmware/sub", "/firmware/../outside.txt",
    "/firmware/%2e%2e/outside.txt", "/firmware/passwd", "/firmware/out", "/firmware/",
])
def test_firmware_never_leaves_its_directory(fwd, path):
    r = fwd.request("GET", path, token=NO_TOKEN)
    assert r.status == 404, r
    assert b"SECRET" not in r.raw and b"root:" not in r.raw


def test_firmware_needs_no_token_and_takes_no_writes(fwd):
    r = fwd.request("PUT", "/firmware/ipxe-arm64.efi", body=b"x", token=NO_TOKEN)
    assert_error(r, 405, "method_not_allowed")


def test_firmware_download_is_a_step_of_the_node(fwd):
    name = uniq("fw")
    fwd.ok("POST", "/api/v1/nodes", {"name": name,
                                     "interfaces": [{"mac": next_mac(), "ip": "127.0.0.1"}]})
    assert fwd.request("GET", "/firmware/ipxe-arm64.efi", token=NO_TOKEN).status == 200

    def step():
        ev = fwd.ok("GET", "/api/v1/nodes/%s/events" % name)
        return [e for e in ev if e["stage"] == "firmware"]

    got = wait_until(step, timeout=5)
    assert got and got[0]["detail"] == "ipxe-arm64.efi", got
    assert got[0]["source"] == "127.0.0.1"
    fwd.ok("DELETE", "/api/v1/nodes/%s" % name)


def test_missing_firmware_directory_is_404(corrald_factory, tmp_path):
    c = corrald_factory({"dhcp": {"ipxe_dir": tmp_path / "none"}})
    r = c.request("GET", "/firmware/snponly.efi", token=NO_TOKEN)
    assert_error(r, 404, "not_found")


# ---- make firmware, for real ---------------------------------------------------------


def pe_platform(path):
    """The iPXE platform an EFI binary is built for, from its PE header."""
    data = path.read_bytes()[:4096]
    assert data[:2] == b"MZ", path
    off = struct.unpack_from("<I", data, 0x3c)[0]
    assert data[off:off + 4] == b"PE\0\0", path
    return PE_MACHINES.get(struct.unpack_from("<H", data, off + 4)[0])


def build_tree(out, state):
    cp = subprocess.run(["/usr/bin/python3", str(REPO / "firmware" / "build.py"), "--table",
                         str(FWTABLE), "--state", str(state), str(out)],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=600)
    assert cp.returncode == 0, cp.stderr
    return json.loads((out / "manifest.json").read_text())


def tree_digest(d):
    return {p.relative_to(d).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(d.rglob("*")) if p.is_file()}


def test_make_firmware_is_reproducible_and_true(tmp_path):
    m1 = build_tree(tmp_path / "a", tmp_path / "state-a")
    m2 = build_tree(tmp_path / "b", tmp_path / "state-b")
    assert m1 == m2
    d1, d2 = tree_digest(tmp_path / "a"), tree_digest(tmp_path / "b")
    assert d1 == d2
    # a second run over the same output replaces it with the same bytes
    build_tree(tmp_path / "a", tmp_path / "state-a")
    assert tree_digest(tmp_path / "a") == d1

    rows = table()
    by = {f["file"]: f for f in m1["files"]}
    assert set(d1) == set(by) | {"manifest.json"} | {n for n in d1 if n.startswith("doc/")}
    for name, f in by.items():
        assert d1[name] == f["sha256"], name
        assert (tmp_path / "a" / name).stat().st_size == f["size"]
        assert f["package"] == "ipxe"
        if name.endswith(".efi"):
            assert pe_platform(tmp_path / "a" / name) == f["architecture"], name
        else:
            assert f["architecture"] == "i386-pcbios"
    for r in rows:
        assert r["code"] in by[r["file"]]["client_arch"], r
        assert by[r["file"]]["architecture"] == r["platform"]
    # x86 stays on Debian 12's build, which corrald served before; the
    # rest comes from Debian 13 (the only iPXE Debian has for them)
    assert by["snponly.efi"]["suite"] == "bookworm"
    assert by["ipxe-arm64.efi"]["suite"] == "trixie"
    assert by["ipxe-arm64.efi"]["version"].startswith("1.21.1")
    # ... byte for byte the one Debian 12's installed package has
    installed = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "ipxe"],
                               stdout=subprocess.PIPE, text=True).stdout
    if installed == by["snponly.efi"]["version"]:
        assert d1["snponly.efi"] == hashlib.sha256(
            pathlib.Path("/usr/lib/ipxe/snponly.efi").read_bytes()).hexdigest()
