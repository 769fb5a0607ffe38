"""End to end: a VM that starts powered off behind its virtual BMC.

cluster.py's add_vm(vbmc=True) starts QEMU paused before the firmware (-S,
-no-shutdown, a QMP socket) and build/corral-vbmc for it on
10.77.<n>.<200+i>:8000 inside the namespace.  Everything below goes through
Redfish from inside the namespace: the VM is reported Off with its MAC and
the BMC's own; wrong credentials get 401 and sessions work; a PXE-once boot
override is stored, read back, and used up by the power-on; Reset On boots
the test OS through corrald (its own dnsmasq) to "phoned home"; the guest's
own poweroff shows as Off; ForceOff, ForceRestart and GracefulShutdown
drive QEMU as documented.  TCG: one boot of ~10-40 s.
"""
import pytest

import cluster as C
from conftest import TIMINGS, explained, preconditions

pytestmark = pytest.mark.long

R = "/redfish/v1"


@pytest.fixture(scope="module")
def lab(testos):
    preconditions()
    C.vbmc_binary()
    c = C.Cluster()
    c.create()
    try:
        cd = c.start_corrald(extra_conf=c.corrald_dhcp_conf())
        C.setup_testos(cd, testos)
        vm = c.add_vm("vb1", firmware="bios", vbmc=True)
        C.register_vm(cd, vm)
        c.other = c.add_vm("vb2", firmware="uefi", vbmc=True)  # stays off
        yield c, cd, vm
    finally:
        c.teardown()


def _system(vm):
    st, _, body = vm.redfish("GET", R + "/Systems/" + vm.name)
    assert st == 200, body
    return body


def _reset(vm, kind, expect=204):
    st, _, body = vm.redfish("POST", R + "/Systems/%s/Actions/ComputerSystem.Reset" % vm.name,
                             {"ResetType": kind})
    assert st == expect, (kind, st, body)


def test_starts_off_behind_its_vbmc(lab):
    c, cd, vm = lab
    with explained(c, [vm], [vm.dir / "vbmc.log"]):
        assert vm.run_state() == "prelaunch"
        st, _, root = vm.redfish("GET", R + "/", auth=None)
        assert st == 200
        for k in ("Systems", "Chassis", "Managers", "SessionService"):
            assert root[k]["@odata.id"] == R + "/" + k
        assert root["RedfishVersion"] and root["UUID"]

        _, _, systems = vm.redfish("GET", R + "/Systems")
        assert [m["@odata.id"] for m in systems["Members"]] == [R + "/Systems/vb1"]
        s = _system(vm)
        assert s["PowerState"] == "Off"
        assert s["UUID"] == vm.uuid and s["SerialNumber"] == vm.serial
        assert (s["Manufacturer"], s["Model"]) == ("Corral", "QEMU")
        assert s["Actions"]["#ComputerSystem.Reset"]["ResetType@Redfish.AllowableValues"] == \
            ["On", "ForceOff", "GracefulShutdown", "ForceRestart"]
        assert s["Boot"]["BootSourceOverrideTarget@Redfish.AllowableValues"] == ["None", "Pxe", "Hdd"]

        _, _, nics = vm.redfish("GET", s["EthernetInterfaces"]["@odata.id"])
        assert nics["Members@odata.count"] == 1
        _, _, nic = vm.redfish("GET", nics["Members"][0]["@odata.id"])
        assert nic["MACAddress"] == vm.mac and nic["PermanentMACAddress"] == vm.mac

        _, _, mgrs = vm.redfish("GET", R + "/Managers")
        _, _, mgr = vm.redfish("GET", mgrs["Members"][0]["@odata.id"])
        _, _, mnics = vm.redfish("GET", mgr["EthernetInterfaces"]["@odata.id"])
        _, _, mnic = vm.redfish("GET", mnics["Members"][0]["@odata.id"])
        assert mnic["MACAddress"] == vm.bmc_mac != vm.mac

        _, _, chassis = vm.redfish("GET", R + "/Chassis")
        st, _, ch = vm.redfish("GET", chassis["Members"][0]["@odata.id"])
        assert st == 200 and ch["PowerState"] == "Off"


def test_each_vm_has_its_own_bmc(lab):
    c, cd, vm = lab
    other = c.other
    with explained(c, [vm, other], [other.dir / "vbmc.log"]):
        assert other.bmc_ip != vm.bmc_ip and other.bmc_mac != vm.bmc_mac
        assert vm.bmc_url == "http://%s.%d:8000" % (c.prefix, 200 + vm.index)
        s = _system(other)
        assert s["Id"] == "vb2" and s["UUID"] == other.uuid != vm.uuid
        assert s["Boot"]["BootSourceOverrideMode"] == "UEFI"
        assert _system(vm)["Boot"]["BootSourceOverrideMode"] == "Legacy"
        _, _, nic = other.redfish("GET", R + "/Systems/vb2/EthernetInterfaces/eth0")
        assert nic["MACAddress"] == other.mac
        # One BMC does not answer for the other's system.
        assert vm.redfish("GET", R + "/Systems/vb2")[0] == 404
        assert other.run_state() == "prelaunch"


def test_credentials_and_sessions(lab):
    c, cd, vm = lab
    with explained(c, [vm], [vm.dir / "vbmc.log"]):
        st, hdrs, body = vm.redfish("GET", R + "/Systems/vb1", password="wrong")
        assert st == 401
        assert body["error"]["code"] == "Base.1.0.GeneralError" and body["error"]["message"]
        assert hdrs.get("WWW-Authenticate", "").startswith("Basic")
        assert vm.redfish("GET", R + "/Systems/vb1", auth=None)[0] == 401
        assert vm.redfish("GET", R + "/Nope")[0] == 404
        st, hdrs, _ = vm.redfish("DELETE", R + "/Systems")
        assert st == 405 and hdrs["Allow"] == "GET, HEAD"

        st, _, _ = vm.redfish("POST", R + "/SessionService/Sessions",
                              {"UserName": "admin", "Password": "wrong"}, auth=None)
        assert st == 401
        st, hdrs, sess = vm.redfish("POST", R + "/SessionService/Sessions",
                                    {"UserName": "admin", "Password": "admin"}, auth=None)
        assert st == 201
        tok, loc = hdrs["X-Auth-Token"], hdrs["Location"]
        assert sess["@odata.id"] == loc
        st, _, s = vm.redfish("GET", R + "/Systems/vb1", auth="token", token=tok)
        assert st == 200 and s["Id"] == "vb1"
        assert vm.redfish("DELETE", loc, auth="token", token=tok)[0] == 204
        assert vm.redfish("GET", R + "/Systems/vb1", auth="token", token=tok)[0] == 401


def test_pxe_once_then_on_boots_to_phone_home_and_guest_poweroff_is_off(lab):
    c, cd, vm = lab
    with explained(c, [vm], [vm.dir / "vbmc.log"]):
        st, _, _ = vm.redfish("PATCH", R + "/Systems/vb1",
                              {"Boot": {"BootSourceOverrideTarget": "Pxe",
                                        "BootSourceOverrideEnabled": "Once"}})
        assert st == 204
        boot = _system(vm)["Boot"]
        assert (boot["BootSourceOverrideTarget"], boot["BootSourceOverrideEnabled"]) == ("Pxe", "Once")
        assert vm.redfish("PATCH", R + "/Systems/vb1",
                          {"Boot": {"BootSourceOverrideTarget": "Floppy"}})[0] == 400
        assert _system(vm)["Boot"]["BootSourceOverrideTarget"] == "Pxe"  # a refusal changes nothing

        vm.new_boot()
        _reset(vm, "On")
        s = _system(vm)
        assert s["PowerState"] == "On"
        # Used up by the power-on, as a real BMC's one-time override is.
        assert (s["Boot"]["BootSourceOverrideTarget"], s["Boot"]["BootSourceOverrideEnabled"]) == \
            ("None", "Disabled")

        t_home = vm.wait_for(r"^phoned home", timeout=300)
        assert cd.node(vm.name)["state"] == "ready"
        # SeaBIOS shows the SMBIOS UUID: the one Redfish reports.
        assert "Machine UUID " + s["UUID"] in vm.console_text()
        t_off = vm.wait_power("Off", timeout=60)
        assert vm.running() and vm.run_state() == "shutdown"  # QEMU stays for the vBMC
        assert _system(vm)["PowerState"] == "Off"
    TIMINGS.append("vbmc     %s: Reset On -> phoned home %.1f s, guest off (Redfish Off) %.1f s (accel %s)"
                   % (vm.name, t_home, t_off, c.accel))


def test_power_cycle_forceoff_forcerestart(lab):
    c, cd, vm = lab
    with explained(c, [vm], [vm.dir / "vbmc.log"]):
        if vm.power_state() == "On":
            _reset(vm, "ForceOff")
        # On after a guest poweroff or a ForceOff: reset + cont, the firmware starts again.
        vm.new_boot()
        _reset(vm, "On")
        assert _system(vm)["PowerState"] == "On" and vm.run_state() == "running"
        vm.wait_console(r"iPXE|SeaBIOS|Booting", timeout=60)
        _reset(vm, "On")  # already on: nothing changes
        assert vm.run_state() == "running"

        _reset(vm, "ForceOff")
        assert _system(vm)["PowerState"] == "Off" and vm.run_state() == "paused"
        _reset(vm, "ForceOff")  # off already: fine
        _reset(vm, "GracefulShutdown")  # off: nothing to ask the guest

        _reset(vm, "ForceRestart")  # from Off: reset and run
        assert _system(vm)["PowerState"] == "On"
        _reset(vm, "ForceRestart")  # while on: a reset, still on
        assert vm.run_state() == "running"
        _reset(vm, "GracefulShutdown")  # ACPI button: accepted; the guest decides
        _reset(vm, "ForceOff")
        assert vm.power_state() == "Off"

        st, _, body = vm.redfish("POST", R + "/Systems/vb1/Actions/ComputerSystem.Reset",
                                 {"ResetType": "Nmi"})
        assert st == 400 and body["error"]["message"]
        log = (vm.dir / "vbmc.log").read_text()
        assert "ForceOff (was running" in log and "ForceRestart (was paused" in log
        assert c.other.run_state() == "prelaunch"  # its neighbour was never touched
