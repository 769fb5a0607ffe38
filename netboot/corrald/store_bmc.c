/*
 * store_bmc: BMCs as discovered and the systems behind them, each linked
 * to the node it is (or to none).  Which node a system is, and what a new
 * one is called, is bmcmatch.c's business; this file only stores rows.
 * See store.h.
 */
#include <errno.h>

#include "store.h"
#include "store_int.h"

int store_bmc_put(struct store *st, json_t *bmc, int64_t *id)
{
	static const char *const cols[] = {"address",    "port",   "scheme",  "insecure",
					   "credential", "status", "message", "mac",
					   "vendor",     "model",  "uuid",    "firmware"};
	struct store_arg args[14];
	for (int i = 0; i < 12; i++)
		args[i] = STORE_JSON(json_object_get(bmc, cols[i]));
	json_t *auth = json_object_get(bmc, "auth");
	args[12] = STORE_INT(store_now_us());
	args[13] = STORE_TEXT(json_is_string(auth) ? json_string_value(auth) : "basic");
	struct store_conn *c;
	sqlite3_stmt *s = store_query(st, &c, ST_BMC_PUT, args, 14);
	if (s == NULL)
		return -EIO;
	int rc = store_one(c, s);
	if (rc < 0)
		return rc == -ENOENT ? store_fail(c, s) : rc;
	*id = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return 0;
}

int store_bmc_system_node(struct store *st, int64_t bmc_id, const char *path, int64_t *node_id)
{
	struct store_conn *c;
	sqlite3_stmt *s = store_q(st, &c, ST_SYS_NODE, STORE_INT(bmc_id), STORE_TEXT(path));
	if (s == NULL)
		return -EIO;
	int rc = store_one(c, s);
	if (rc == 0)
		*node_id = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return rc;
}

int store_bmc_systems_clear(struct store *st, int64_t bmc_id)
{
	struct store_conn *c;
	sqlite3_stmt *s = store_q(st, &c, ST_SYS_CLEAR, STORE_INT(bmc_id));
	return s ? store_done(c, s) : -EIO;
}

int store_bmc_system_put(struct store *st, int64_t bmc_id, const char *path, int64_t node_id,
			 json_t *sys)
{
	struct store_conn *c;
	sqlite3_stmt *s = store_q(st, &c, ST_SYS_PUT, STORE_INT(bmc_id), STORE_TEXT(path),
				  node_id != 0 ? STORE_INT(node_id) : STORE_NULL, STORE_JSON(sys));
	return s ? store_done(c, s) : -EIO;
}

static json_t *store_bmc_row(sqlite3_stmt *s)
{
	json_t *b =
		json_pack("{s:s, s:i, s:s, s:b, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
			  "address", store_col_text(s, 1), "port", sqlite3_column_int(s, 2),
			  "scheme", store_col_text(s, 3), "insecure", sqlite3_column_int(s, 4),
			  "credential", store_col_text(s, 5), "status", store_col_text(s, 6),
			  "message", store_col_text(s, 7), "mac", store_col_str(s, 8), "vendor",
			  store_col_str(s, 9), "model", store_col_str(s, 10), "uuid",
			  store_col_str(s, 11), "firmware", store_col_str(s, 12), "last_seen",
			  store_col_time(s, 13), "created", store_col_time(s, 14));
	json_object_set_new(b, "auth", json_string(store_col_text(s, 15)));
	return b;
}

/* Sets "systems" of BMC b (row id bmc_id). */
static int store_bmc_systems(struct store_conn *c, int64_t bmc_id, json_t *b)
{
	sqlite3_stmt *s = store_qc(c, ST_SYS_OF_BMC, STORE_INT(bmc_id));
	if (s == NULL)
		return -EIO;
	json_t *systems = json_array();
	int rc;
	while ((rc = store_step(c, s)) == 1) {
		json_t *d = store_col_json(s, 2);
		json_object_set_new(d, "path", json_string(store_col_text(s, 0)));
		json_object_set_new(d, "node", store_col_str(s, 1));
		json_array_append_new(systems, d);
	}
	json_object_set_new(b, "systems", systems);
	return rc;
}

int store_bmc_list(struct store *st, json_t **out)
{
	struct store_conn *c;
	sqlite3_stmt *s = store_q(st, &c, ST_BMC_LIST);
	if (s == NULL)
		return -EIO;
	json_t *arr = json_array();
	json_t *ids = json_array();
	int rc;
	while ((rc = store_step(c, s)) == 1) {
		json_array_append_new(arr, store_bmc_row(s));
		json_array_append_new(ids, json_integer(sqlite3_column_int64(s, 0)));
	}
	size_t i;
	json_t *b;
	json_array_foreach(arr, i, b) {
		if (rc < 0)
			break;
		rc = store_bmc_systems(c, json_integer_value(json_array_get(ids, i)), b);
	}
	json_decref(ids);
	if (rc < 0) {
		json_decref(arr);
		return rc;
	}
	*out = arr;
	return 0;
}

int store_bmc_delete(struct store *st, const char *address)
{
	struct store_conn *c;
	sqlite3_stmt *s = store_q(st, &c, ST_BMC_DELETE, STORE_TEXT(address));
	return s ? store_done_changed(c, s) : -EIO;
}

int store_node_system(struct store *st, const char *node, json_t **out)
{
	struct store_conn *c;
	sqlite3_stmt *s = store_q(st, &c, ST_SYS_OF_NODE, STORE_TEXT(node));
	if (s == NULL)
		return -EIO;
	int rc = store_one(c, s);
	if (rc == 0) {
		*out = json_pack("{s:s, s:i, s:s, s:b, s:s, s:s, s:o, s:s}", "address",
				 store_col_text(s, 0), "port", sqlite3_column_int(s, 1), "scheme",
				 store_col_text(s, 2), "insecure", sqlite3_column_int(s, 3),
				 "credential", store_col_text(s, 4), "path", store_col_text(s, 5),
				 "system", store_col_json(s, 6), "auth", store_col_text(s, 7));
		rc = *out ? 0 : -ENOMEM;
	}
	sqlite3_reset(s);
	return rc;
}

int store_node_power_state(struct store *st, const char *node, const char *state)
{
	char t[40];
	int rc = store_time_str(store_now_us(), t, sizeof(t));
	if (rc < 0)
		return store_failf("power state time: %d", rc);
	struct store_conn *c;
	sqlite3_stmt *s =
		store_q(st, &c, ST_SYS_POWER, STORE_TEXT(node), STORE_TEXT(state), STORE_TEXT(t));
	return s ? store_done(c, s) : -EIO;
}
