"""pytest setup for the QEMU end-to-end tier (make check-vm).

Registers the `long` marker and prints every boot's timings in the
terminal summary (so they show even under -q).  CORRAL_BUILD names the
build directory holding corrald (default <repo>/build)."""
import sys
import pathlib

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

TIMINGS = []  # lines added by tests through record_timing


def pytest_configure(config):
    config.addinivalue_line("markers", "long: boots QEMU VMs (tens of seconds each)")


def pytest_terminal_summary(terminalreporter):
    if TIMINGS:
        terminalreporter.write_sep("-", "test-vm boot timings")
        for ln in TIMINGS:
            terminalreporter.write_line(ln)
