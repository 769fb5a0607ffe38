/*
 * power: reset types and run states.  See power.h.
 */
#include "power.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

const char *const power_reset_names[POWER_RESET_COUNT] = {
	[POWER_ON] = "On",
	[POWER_FORCE_OFF] = "ForceOff",
	[POWER_GRACEFUL_SHUTDOWN] = "GracefulShutdown",
	[POWER_FORCE_RESTART] = "ForceRestart",
};

int power_reset_parse(const char *s, enum power_reset *out)
{
	if (s == NULL)
		return -EINVAL;
	for (int i = 0; i < POWER_RESET_COUNT; i++) {
		if (strcmp(s, power_reset_names[i]) == 0) {
			*out = (enum power_reset)i;
			return 0;
		}
	}
	return -EINVAL;
}

static int power_is_running(const char *qemu_status)
{
	return qemu_status != NULL && strcmp(qemu_status, "running") == 0;
}

const char *power_state_name(const char *qemu_status)
{
	return power_is_running(qemu_status) ? "On" : "Off";
}

const char *power_step_command(enum power_step s)
{
	switch (s) {
	case STEP_CONT:
		return "cont";
	case STEP_STOP:
		return "stop";
	case STEP_RESET:
		return "system_reset";
	case STEP_POWERDOWN:
		return "system_powerdown";
	case STEP_WAIT_SETTLED:
		break;
	}
	return NULL;
}

static void power_add(struct power_plan *p, enum power_step s)
{
	if (p->nsteps < POWER_MAX_STEPS)
		p->steps[p->nsteps++] = s;
}

/*
 * Off has three faces in QEMU: "prelaunch" (started with -S, never run:
 * a plain cont boots it), "shutdown" (the guest powered off under
 * -no-shutdown: QEMU refuses cont until a reset) and "paused" (ForceOff
 * stopped the vCPUs mid-flight: powering on must start afresh, not resume).
 * So every Off but prelaunch goes through system_reset before cont.
 */
void power_plan(enum power_reset t, const char *qemu_status, struct power_plan *plan)
{
	int running = power_is_running(qemu_status);
	int fresh = qemu_status != NULL && strcmp(qemu_status, "prelaunch") == 0;

	memset(plan, 0, sizeof(*plan));
	switch (t) {
	case POWER_ON:
		if (running)
			return;
		if (!fresh) {
			power_add(plan, STEP_RESET);
			power_add(plan, STEP_WAIT_SETTLED);
		}
		power_add(plan, STEP_CONT);
		plan->boots = 1;
		return;
	case POWER_FORCE_OFF:
		if (running)
			power_add(plan, STEP_STOP);
		return;
	case POWER_GRACEFUL_SHUTDOWN:
		if (running)
			power_add(plan, STEP_POWERDOWN);
		return;
	case POWER_FORCE_RESTART:
		power_add(plan, STEP_RESET);
		if (!running) {
			power_add(plan, STEP_WAIT_SETTLED);
			power_add(plan, STEP_CONT);
		}
		plan->boots = 1;
		return;
	case POWER_RESET_COUNT:
		break;
	}
}
