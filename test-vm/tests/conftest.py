"""pytest setup for the QEMU end-to-end tier (make check-vm).

Registers the `long` marker and prints every boot's timings in the
terminal summary (so they show even under -q).  CORRAL_BUILD names the
build directory holding corrald (default <repo>/build).

Shared helpers for the test modules: preconditions() (skip unless root,
fail if a package is missing), explained() (a failure inside it carries
the VMs' console tails and corrald's log tail), record_boot() (a line per
boot in the summary), and the session fixture `testos`."""
import contextlib
import os
import pathlib
import shutil
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import cluster as C  # noqa: E402

TIMINGS = []  # lines added by tests through record_timing


def pytest_configure(config):
    config.addinivalue_line("markers", "long: boots QEMU VMs (tens of seconds each)")


def pytest_terminal_summary(terminalreporter):
    if TIMINGS:
        terminalreporter.write_sep("-", "test-vm boot timings")
        for ln in TIMINGS:
            terminalreporter.write_line(ln)


def preconditions():
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces, taps)")
    for tool in (C.QEMU, "dnsmasq", "ip"):
        if not shutil.which(tool):
            pytest.fail("%s missing: run make deps" % tool)
    for f in (C.OVMF_CODE, C.OVMF_VARS, C.IPXE_DIR + "/snponly.efi", C.IPXE_DIR + "/undionly.kpxe"):
        if not os.path.exists(f):
            pytest.fail("%s missing: run make deps" % f)


@pytest.fixture(scope="session")
def testos():
    preconditions()
    return C.build_testos()


@pytest.fixture(scope="session")
def appliance_lab():
    """The booted appliance the appliance test modules share (appliance/vm.py
    SharedLab: one first boot for test_appliance.py and the upgrade test)."""
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "appliance"))
    import vm as V

    lab = V.SharedLab()
    yield lab
    lab.drop()


def diagnosis(c, vms=(), logs=(), n=30):
    """Console tails of `vms`, corrald's log tail, and the tails of any
    extra log files, as one text block."""
    out = []
    for vm in vms:
        out.append("--- console of %s (%s, %s), last %d lines:" % (vm.name, vm.firmware, vm.mac, n))
        out.append(c.tail(vm.console, n))
        q = c.tail(vm.dir / "qemu.log", 5)
        if q.strip() and not q.startswith("(no "):
            out.append("--- qemu of %s:\n%s" % (vm.name, q))
    if c.corrald is not None:
        out.append("--- corrald log (%s), last %d lines:" % (c.corrald.workdir / "corrald.log", 2 * n))
        out.append(c.tail(c.corrald.workdir / "corrald.log", 2 * n))
    for p in logs:
        out.append("--- %s, last %d lines:" % (p, n))
        out.append(c.tail(p, n))
    return "\n".join(out)


@contextlib.contextmanager
def explained(c, vms=(), logs=()):
    """Turn any failure inside into an AssertionError that also shows the
    VMs' consoles and corrald's log."""
    try:
        yield
    except (AssertionError, RuntimeError, TimeoutError, OSError, KeyError) as e:
        raise AssertionError("%s\n%s" % (e, diagnosis(c, vms, logs))) from None


def record_boot(label, vm, t_home, extra=""):
    TIMINGS.append("%-14s %-9s %-4s phoned home %5.1f s after power-on%s" %
                   (label, vm.name, vm.firmware, t_home, extra))
