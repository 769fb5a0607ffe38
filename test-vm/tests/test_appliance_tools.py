"""The appliance's tools on the host, without booting anything (fast).

- corral-setup's settings check: a good file passes; each kind of mistake
  is reported with the file name and its line; CRLF line ends and a UTF-8
  byte-order mark (a file edited on another OS) are fine.
- grubenv: blocks the appliance writes are what grub-editenv reads, and the
  other way round; always exactly 1024 bytes.
- grub.cfg passes grub-script-check.
- `corral system VERB ...` hands its command line to the maintenance tool
  and fails clearly where there is none.
"""
import os
import pathlib
import shutil
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
TOOLS = REPO / "appliance" / "rootfs" / "usr" / "lib" / "corral" / "appliance"
BUILD = pathlib.Path(os.environ.get("CORRAL_BUILD", REPO / "build"))

GOOD = """# a comment
hostname = corral1
mgmt_interface = 52:54:00:aa:00:01
mgmt_address = 192.168.50.2/24
mgmt_gateway = 192.168.50.1
dns = 192.168.50.1, 9.9.9.9
boot_interface = eno2
boot_subnet = 10.100.0.0/16
boot_pool = 10.100.128.1 - 10.100.255.254
dhcp_mode = authoritative
ssh_key = ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ0lGabc admin@example
ssh_key = ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ0lGdef other@example
timezone = Europe/Berlin
ntp = 0.debian.pool.ntp.org, 10.0.0.1
"""


def check(tmp_path, text, raw=None):
    f = tmp_path / "settings.txt"
    f.write_bytes(raw if raw is not None else text.encode())
    p = subprocess.run(["bash", str(TOOLS / "setup"), "--check", str(f)],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return p.returncode, p.stdout.replace(str(f), "settings.txt")


def test_good_settings_pass(tmp_path):
    rc, out = check(tmp_path, GOOD)
    assert (rc, out) == (0, "")


def test_crlf_and_byte_order_mark_pass(tmp_path):
    raw = b"\xef\xbb\xbf" + GOOD.replace("\n", "\r\n").encode()
    rc, out = check(tmp_path, None, raw)
    assert (rc, out) == (0, "")


@pytest.mark.parametrize("line, value, message", [
    ("mgmt_address", "192.168.50.2/33", "mgmt_address: '192.168.50.2/33' is not 'dhcp' or an address"),
    ("mgmt_interface", "eth0 eth1", "is neither an interface name nor a MAC address"),
    ("boot_subnet", "10.100.0.1/16", "has host bits set"),
    ("boot_pool", "10.100.128.1-10.101.0.9", "is not inside boot_subnet"),
    ("boot_pool", "10.100.300.1-10.100.0.9", "is not FIRST-LAST"),
    ("dhcp_mode", "maybe", "is not authoritative, proxy or off"),
    ("hostname", "a_b", "is not a host name"),
    ("timezone", "Mars/Base", "is not a time zone"),
    ("timezone", "../../etc/passwd", "is not a time zone"),
    ("ssh_key", "ssh-foo AAAA", "not an OpenSSH public key"),
    ("dns", "192.168.50.1, name.example", "'name.example' is not an IPv4 address"),
])
def test_error_names_file_and_line(tmp_path, line, value, message):
    lines = GOOD.splitlines()
    i = next(k for k, ln in enumerate(lines) if ln.startswith(line + " "))
    lines[i] = "%s = %s" % (line, value)
    rc, out = check(tmp_path, "\n".join(lines) + "\n")
    assert rc == 1
    assert out.startswith("settings.txt line %d: %s" % (i + 1, line)), out
    assert message in out, out


def test_structural_errors(tmp_path):
    text = GOOD + "colour = blue\njust words\nhostname = again\n"
    rc, out = check(tmp_path, text)
    n = len(GOOD.splitlines())
    assert rc == 1
    assert "settings.txt line %d: unknown key 'colour'" % (n + 1) in out
    assert "settings.txt line %d: 'just words' is not 'key = value'" % (n + 2) in out
    assert "settings.txt line %d: hostname given twice (first at line 2)" % (n + 3) in out


def test_required_keys_and_pool_overlap(tmp_path):
    rc, out = check(tmp_path, "boot_subnet = 10.0.0.0/24\nboot_pool = 10.0.0.1-10.0.0.9\n")
    assert rc == 1
    assert "settings.txt: mgmt_interface is required" in out
    assert "settings.txt: boot_interface is required unless dhcp_mode = off" in out
    assert "contains the appliance's own boot_address 10.0.0.1" in out
    # With DHCP off, the boot network may stay unset.
    rc, out = check(tmp_path, "mgmt_interface = eno1\nmgmt_address = dhcp\ndhcp_mode = off\n")
    assert (rc, out) == (0, "")


def test_template_has_no_settings(tmp_path):
    """The image's settings.txt is all comments: first boot asks instead."""
    text = (REPO / "appliance" / "settings.txt").read_text()
    assert all(not ln.strip() or ln.startswith("#") for ln in text.splitlines())
    # Each key it documents is one the check knows.
    for ln in text.splitlines():
        if ln.startswith("#") and " = " in ln and ln[1:2].isalpha():
            key = ln[1:].split(" = ")[0]
            rc, out = check(tmp_path, "%s = x\n" % key)
            assert "unknown key" not in out, (key, out)


def grubenv(*args):
    return subprocess.run(["sh", str(TOOLS / "grubenv")] + [str(a) for a in args], check=True,
                          stdout=subprocess.PIPE, text=True).stdout


@pytest.mark.skipif(not shutil.which("grub-editenv"), reason="grub-editenv missing (grub-common)")
def test_grubenv_matches_grub_editenv(tmp_path):
    f = tmp_path / "grubenv"
    grubenv("new", f, "active=a")
    grubenv("set", f, "trial=b", "machine_id=0123abcd")
    grubenv("set", f, "trial=")
    assert f.stat().st_size == 1024
    got = subprocess.run(["grub-editenv", str(f), "list"], check=True, stdout=subprocess.PIPE,
                         text=True).stdout
    assert sorted(got.split()) == ["active=a", "machine_id=0123abcd"]
    subprocess.run(["grub-editenv", str(f), "set", "tried=b"], check=True)
    assert grubenv("get", f, "tried").strip() == "b"
    assert grubenv("get", f, "active").strip() == "a"
    assert grubenv("get", f, "trial").strip() == ""
    with pytest.raises(subprocess.CalledProcessError):
        grubenv("set", f, "active=a b")


@pytest.mark.skipif(not shutil.which("grub-script-check"), reason="grub-script-check missing")
def test_grub_cfg_parses():
    subprocess.run(["grub-script-check", str(REPO / "appliance" / "grub" / "grub.cfg")], check=True)


def test_corral_system_runs_the_tool(tmp_path):
    corral = BUILD / "corral"
    if not corral.exists():
        pytest.fail("%s missing: make" % corral)
    tool = tmp_path / "tool"
    tool.write_text("#!/bin/sh\necho \"args: $*\"\nexit 7\n")
    tool.chmod(0o755)
    env = dict(os.environ, CORRAL_SYSTEM_TOOL=str(tool))
    p = subprocess.run([str(corral), "system", "upgrade", "/tmp/x.img", "--no-reboot"], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert (p.returncode, p.stdout) == (7, "args: upgrade /tmp/x.img --no-reboot\n")
    p = subprocess.run([str(corral), "system", "status"], env=env, stdout=subprocess.PIPE, text=True)
    assert p.stdout == "args: status\n"
    env["CORRAL_SYSTEM_TOOL"] = str(tmp_path / "none")
    p = subprocess.run([str(corral), "system", "status"], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    assert p.returncode == 1
    assert "corral system works on a Corral appliance" in p.stderr


def test_kernel_command_line_keys():
    def run(words):
        p = subprocess.run(["bash", str(TOOLS / "setup"), "--check-cmdline", words],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        return p.returncode, p.stdout
    good = ("BOOT_IMAGE=(hd0,gpt4)/boot/vmlinuz root=PARTLABEL=corral-root-a ro quiet corral.slot=a "
            "corral.mgmt_interface=eno1 corral.mgmt_address=10.0.0.2/24 corral.boot_interface=eno2 "
            "corral.boot_subnet=10.100.0.0/16 corral.ssh_key=ssh-ed25519,AAAAC3NzaC1lZDI1NTE5,me@x")
    assert run(good) == (0, "")
    rc, out = run(good + " corral.timezone=Nowhere")
    assert rc == 1
    assert out == "kernel command line: timezone: 'Nowhere' is not a time zone (such as Europe/Berlin or UTC)\n"
