#!/usr/bin/python3
"""Assembles Corral's boot firmware tree (`make firmware`).

Every binary comes out of a Debian package that apt itself downloads and
verifies (firmware/apt-download.sh: a private sources list and state, the
archive keyring); nothing is downloaded by hand and nothing is built here.
SOURCES below says which package serves which file; corrald's
client-architecture table (printed by build/corral-fwtable) says which
files the tree must hold and which DHCP option 93 codes each one serves.

The tree: the binaries, each package's copyright file under doc/, and
manifest.json (file, architecture, option 93 codes, package, version,
sha256, size).  Nothing in it depends on the time or the machine it was
made on, so two runs against the same archive give the same bytes; the
tree is built beside OUTDIR and renamed into place.

usage: firmware/build.py [--table PROG] [--state DIR] OUTDIR
Standard library only; run with /usr/bin/python3.
"""

import argparse
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent

# Which Debian release serves which file.  x86 stays on Debian 12's iPXE,
# the build corrald has always served and its VM tests measured; the other
# architectures exist only in Debian 13's package (1.21.1, with HTTPS,
# VLAN, ping and poweroff).  Paths are inside the package.
SOURCES = [
    {"suite": "bookworm", "package": "ipxe",
     "files": {"undionly.kpxe": "usr/lib/ipxe/undionly.kpxe",
               "snponly.efi": "usr/lib/ipxe/snponly.efi",
               "ipxe.efi": "usr/lib/ipxe/ipxe.efi"}},
    {"suite": "trixie", "package": "ipxe",
     "files": {"ipxe-arm64.efi": "usr/lib/ipxe/ipxe-arm64.efi",
               "ipxe-riscv64.efi": "usr/lib/ipxe/ipxe-riscv64.efi",
               "ipxe-loong64.efi": "usr/lib/ipxe/ipxe-loong64.efi"}},
]
MANIFEST_FORMAT = 1


def fail(msg):
    print("firmware: %s" % msg, file=sys.stderr)
    sys.exit(1)


def read_table(prog):
    """corral-fwtable's rows as dicts."""
    try:
        out = subprocess.run([prog], check=True, stdout=subprocess.PIPE, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        fail("%s: %s (run make firmware, which builds it)" % (prog, e))
    rows = []
    for line in out.splitlines():
        f = line.split("\t")
        if len(f) != 8:
            fail("%s: bad line %r" % (prog, line))
        rows.append({"code": int(f[0]), "name": f[1], "tag": f[2], "file": f[3],
                     "full_file": None if f[4] == "-" else f[4], "platform": f[5],
                     "http": f[6] == "1", "optional": f[7] == "1"})
    if not rows:
        fail("%s printed no rows" % prog)
    return rows


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def resolve(root, rel):
    """The regular file rel names inside an extracted package root,
    following symbolic links (absolute ones are taken relative to root:
    bookworm's ipxe.efi points to /boot/ipxe.efi)."""
    p = root / rel
    for _ in range(16):
        if not p.is_symlink():
            break
        t = os.readlink(p)
        p = (root / t.lstrip("/")) if t.startswith("/") else (p.parent / t)
    p = pathlib.Path(os.path.normpath(p))
    if root.resolve() not in p.resolve().parents or not p.is_file():
        fail("%s is not a file inside the package" % rel)
    return p


def deb_field(deb, field):
    return subprocess.run(["dpkg-deb", "-f", str(deb), field], check=True,
                          stdout=subprocess.PIPE, text=True).stdout.strip()


def manifest(rows, files):
    """The manifest as a dict.  rows: corral-fwtable's table; files:
    {name: {"sha256", "size", "package", "version", "suite"}}."""
    entries = []
    for name in sorted(files):
        mine = [r for r in rows if r["file"] == name]
        full = [r for r in rows if r["full_file"] == name]
        plats = {r["platform"] for r in mine + full}
        if len(plats) != 1:
            fail("%s: the table gives it %s platforms" % (name, sorted(plats) or "no"))
        f = files[name]
        entries.append({
            "file": name,
            "architecture": plats.pop(),
            # option 93 codes that get this file by default, and those that
            # get it when the node asks for full iPXE (ipxe_full)
            "client_arch": sorted(r["code"] for r in mine),
            "client_arch_full": sorted(r["code"] for r in full),
            "http_boot": sorted(r["code"] for r in mine + full if r["http"]),
            "package": f["package"],
            "suite": f["suite"],
            "version": f["version"],
            "sha256": f["sha256"],
            "size": f["size"],
        })
    return {"format": MANIFEST_FORMAT, "files": entries}


def check_coverage(rows, have):
    """Every file the table names has a source, and no source adds a file
    the table does not name."""
    want = {r["file"] for r in rows} | {r["full_file"] for r in rows if r["full_file"]}
    missing = sorted(want - set(have))
    extra = sorted(set(have) - want)
    if missing:
        fail("no source for %s (add it to SOURCES)" % ", ".join(missing))
    if extra:
        fail("%s in SOURCES but not in corrald's table" % ", ".join(extra))


def build(rows, state, outdir):
    check_coverage(rows, [n for s in SOURCES for n in s["files"]])
    arch = subprocess.run(["dpkg", "--print-architecture"], check=True, stdout=subprocess.PIPE,
                          text=True).stdout.strip()
    outdir = outdir.resolve()
    outdir.parent.mkdir(parents=True, exist_ok=True)
    work = pathlib.Path(tempfile.mkdtemp(prefix=".firmware-", dir=outdir.parent))
    try:
        tree = work / "tree"
        (tree / "doc").mkdir(parents=True)
        files = {}
        for src in SOURCES:
            debs = state / "debs" / src["suite"]
            got = subprocess.run(
                ["sh", str(HERE / "apt-download.sh"), str(state / "apt"), src["suite"], arch,
                 str(debs), src["package"]], stdout=subprocess.PIPE, text=True)
            if got.returncode != 0 or not got.stdout.strip():
                fail("apt could not fetch %s from %s" % (src["package"], src["suite"]))
            deb = pathlib.Path(got.stdout.split()[0])
            version = deb_field(deb, "Version")
            root = work / ("x-" + src["suite"])
            subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
            for name, rel in src["files"].items():
                dst = tree / name
                shutil.copyfile(resolve(root, rel), dst)
                os.chmod(dst, 0o644)
                files[name] = {"sha256": sha256(dst), "size": dst.stat().st_size,
                               "package": src["package"], "version": version,
                               "suite": src["suite"]}
            cp = root / "usr/share/doc" / src["package"] / "copyright"
            if cp.is_file():
                dst = tree / "doc" / ("%s_%s.copyright" % (src["package"], src["suite"]))
                shutil.copyfile(cp, dst)
                os.chmod(dst, 0o644)
        m = manifest(rows, files)
        (tree / "manifest.json").write_text(json.dumps(m, indent=1, sort_keys=True) + "\n")
        for p in [tree, tree / "doc"]:
            os.chmod(p, 0o755)
        old = work / "old"
        if outdir.exists():
            os.rename(outdir, old)
        os.rename(tree, outdir)
        return m
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir", type=pathlib.Path)
    ap.add_argument("--table", default=str(HERE.parent / "build" / "corral-fwtable"),
                    help="corral-fwtable program (default build/corral-fwtable)")
    ap.add_argument("--state", type=pathlib.Path,
                    help="apt state and downloaded packages (default OUTDIR-apt)")
    a = ap.parse_args(argv)
    state = (a.state or a.outdir.with_name(a.outdir.name + "-apt")).resolve()
    m = build(read_table(a.table), state, a.outdir)
    for f in m["files"]:
        print("firmware: %-17s %-12s %-18s %s %s" % (
            f["file"], f["architecture"], ",".join(map(str, f["client_arch"] + f["client_arch_full"])),
            f["suite"], f["sha256"][:16]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
