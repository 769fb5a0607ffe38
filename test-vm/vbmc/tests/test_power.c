/*
 * Unit tests for power: ResetType names parse (and nothing else does), run
 * states map to On/Off, and each reset type from each QEMU run state yields
 * the documented QMP steps (the whole table, one row per case).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "power.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static void test_parse(void **state)
{
	static const struct {
		const char *in;
		int rc;
		enum power_reset out;
	} cases[] = {
		{"On", 0, POWER_ON},
		{"ForceOff", 0, POWER_FORCE_OFF},
		{"GracefulShutdown", 0, POWER_GRACEFUL_SHUTDOWN},
		{"ForceRestart", 0, POWER_FORCE_RESTART},
		{"on", -EINVAL, 0},
		{"GracefulRestart", -EINVAL, 0},
		{"PushPowerButton", -EINVAL, 0},
		{"Nmi", -EINVAL, 0},
		{"", -EINVAL, 0},
		{"On ", -EINVAL, 0},
		{NULL, -EINVAL, 0},
	};
	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		enum power_reset out = POWER_RESET_COUNT;
		assert_int_equal(power_reset_parse(cases[i].in, &out), cases[i].rc);
		if (cases[i].rc == 0) {
			assert_int_equal(out, cases[i].out);
			assert_string_equal(power_reset_names[out], cases[i].in);
		}
	}
}

static void test_state_names(void **state)
{
	(void)state;
	assert_string_equal(power_state_name("running"), "On");
	assert_string_equal(power_state_name("paused"), "Off");
	assert_string_equal(power_state_name("prelaunch"), "Off");
	assert_string_equal(power_state_name("shutdown"), "Off");
	assert_string_equal(power_state_name("guest-panicked"), "Off");
	assert_string_equal(power_state_name(""), "Off");
	assert_string_equal(power_state_name(NULL), "Off");
}

static void test_step_commands(void **state)
{
	(void)state;
	assert_string_equal(power_step_command(STEP_CONT), "cont");
	assert_string_equal(power_step_command(STEP_STOP), "stop");
	assert_string_equal(power_step_command(STEP_RESET), "system_reset");
	assert_string_equal(power_step_command(STEP_POWERDOWN), "system_powerdown");
	assert_null(power_step_command(STEP_WAIT_SETTLED));
}

/* Steps as letters: c=cont s=stop r=system_reset w=wait p=powerdown. */
static void plan_str(const struct power_plan *p, char *out)
{
	static const char letters[] = {[STEP_CONT] = 'c',
				       [STEP_STOP] = 's',
				       [STEP_RESET] = 'r',
				       [STEP_WAIT_SETTLED] = 'w',
				       [STEP_POWERDOWN] = 'p'};
	int i;
	for (i = 0; i < p->nsteps; i++)
		out[i] = letters[p->steps[i]];
	out[i] = '\0';
}

static void test_plans(void **state)
{
	static const struct {
		enum power_reset t;
		const char *status; /* NULL: no QEMU answer */
		const char *steps;
		int boots;
	} cases[] = {
		/* On: a machine started with -S just runs; any other Off is reset first. */
		{POWER_ON, "prelaunch", "c", 1},
		{POWER_ON, "shutdown", "rwc", 1},
		{POWER_ON, "paused", "rwc", 1},
		{POWER_ON, "guest-panicked", "rwc", 1},
		{POWER_ON, "running", "", 0},
		/* ForceOff: stop a running machine; an Off one stays as it is. */
		{POWER_FORCE_OFF, "running", "s", 0},
		{POWER_FORCE_OFF, "prelaunch", "", 0},
		{POWER_FORCE_OFF, "shutdown", "", 0},
		{POWER_FORCE_OFF, "paused", "", 0},
		/* GracefulShutdown: ACPI button, only when on. */
		{POWER_GRACEFUL_SHUTDOWN, "running", "p", 0},
		{POWER_GRACEFUL_SHUTDOWN, "shutdown", "", 0},
		{POWER_GRACEFUL_SHUTDOWN, "prelaunch", "", 0},
		/* ForceRestart: reset; an Off machine is also started. */
		{POWER_FORCE_RESTART, "running", "r", 1},
		{POWER_FORCE_RESTART, "paused", "rwc", 1},
		{POWER_FORCE_RESTART, "shutdown", "rwc", 1},
		{POWER_FORCE_RESTART, "prelaunch", "rwc", 1},
	};
	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct power_plan p;
		char got[POWER_MAX_STEPS + 1];
		power_plan(cases[i].t, cases[i].status, &p);
		plan_str(&p, got);
		if (strcmp(got, cases[i].steps) != 0 || p.boots != cases[i].boots)
			fail_msg("%s from %s: steps '%s' boots %d, want '%s' boots %d",
				 power_reset_names[cases[i].t], cases[i].status, got, p.boots,
				 cases[i].steps, cases[i].boots);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_state_names),
		cmocka_unit_test(test_step_commands),
		cmocka_unit_test(test_plans),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
