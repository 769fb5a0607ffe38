/*
 * power: Redfish power semantics for a QEMU machine, as pure functions.
 *
 * Maps QEMU's run state (QMP "query-status") to a Redfish PowerState and a
 * ComputerSystem.Reset type to the QMP steps that carry it out.  The
 * machine is started with -S (powered off = "prelaunch") and -no-shutdown
 * (a guest poweroff leaves QEMU in "shutdown" instead of exiting), so the
 * process stays for the vBMC to drive.  Nothing here talks to QEMU: the
 * caller runs the plan (vbmc service.c) and unit tests check the tables.
 *
 * Callers: service.c and the unit tests.
 */
#ifndef CORRAL_VBMC_POWER_H
#define CORRAL_VBMC_POWER_H

enum power_reset {
	POWER_ON,                /* power on; no-op when already on */
	POWER_FORCE_OFF,         /* cut power at once (QMP stop) */
	POWER_GRACEFUL_SHUTDOWN, /* ACPI power button; the guest decides */
	POWER_FORCE_RESTART,     /* hard reset; powers on a machine that is off */
	POWER_RESET_COUNT
};

/* One QMP step of a plan. */
enum power_step {
	STEP_CONT,         /* "cont": run the vCPUs */
	STEP_STOP,         /* "stop": pause the vCPUs (the machine is then Off) */
	STEP_RESET,        /* "system_reset" */
	STEP_WAIT_SETTLED, /* poll query-status until QEMU leaves "shutdown"
			      (a reset is processed asynchronously) */
	STEP_POWERDOWN,    /* "system_powerdown" (ACPI) */
};

#define POWER_MAX_STEPS 4

struct power_plan {
	enum power_step steps[POWER_MAX_STEPS];
	int nsteps; /* 0: nothing to do (already in the asked state) */
	int boots;  /* 1 if the plan starts firmware: a "Once" boot override is used up */
};

/* The Redfish names, indexed by enum power_reset ("On", "ForceOff", ...). */
extern const char *const power_reset_names[POWER_RESET_COUNT];

/* Parses a ResetType; 0, or -EINVAL for anything this vBMC does not offer. */
int power_reset_parse(const char *s, enum power_reset *out);

/* "On" if QEMU's run state is "running", else "Off" (paused, shutdown,
 * prelaunch, NULL = no QEMU, ...).  Returns a static string. */
const char *power_state_name(const char *qemu_status);

/* The QMP name of a step ("cont", ...), or NULL for STEP_WAIT_SETTLED. */
const char *power_step_command(enum power_step s);

/* Fills *plan for reset type t given QEMU's run state.  Never fails. */
void power_plan(enum power_reset t, const char *qemu_status, struct power_plan *plan);

#endif
