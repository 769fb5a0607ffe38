/*
 * store_firmware: the BMC firmware store's rows (name, model, version,
 * sha256, size, the URL token).  The files themselves are api_firmware.c's
 * (written before the row, removed after it).  See store.h.
 */
#include <errno.h>

#include "store.h"
#include "store_int.h"

int store_fw_put(struct store *st, const char *name, const char *model, const char *version,
		 const char *sha256, int64_t size, const char *token)
{
	struct store_conn *c;
	sqlite3_stmt *s = store_q(st, &c, ST_FW_PUT, STORE_TEXT(name), STORE_TEXT(model),
				  STORE_TEXT(version), STORE_TEXT(sha256), STORE_INT(size),
				  STORE_TEXT(token), STORE_INT(store_now_us()));
	return s ? store_done(c, s) : -EIO;
}

static json_t *store_fw_row(const void *ctx, sqlite3_stmt *s)
{
	json_t *j =
		json_pack("{s:s, s:s, s:s, s:s, s:I, s:o}", "name", store_col_text(s, 0), "model",
			  store_col_text(s, 1), "version", store_col_text(s, 2), "sha256",
			  store_col_text(s, 3), "size", (json_int_t)sqlite3_column_int64(s, 4),
			  "created", store_col_time(s, 5));
	if (j != NULL && ctx != NULL) /* store_fw_get: the token too */
		json_object_set_new(j, "token", json_string(store_col_text(s, 6)));
	return j;
}

int store_fw_get(struct store *st, const char *name, json_t **out)
{
	struct store_conn *c;
	sqlite3_stmt *s = store_q(st, &c, ST_FW_GET, STORE_TEXT(name));
	if (s == NULL)
		return -EIO;
	int rc = store_one(c, s);
	if (rc == 0) {
		*out = store_fw_row("token", s);
		rc = *out ? 0 : -ENOMEM;
	}
	sqlite3_reset(s);
	return rc;
}

int store_fw_list(struct store *st, json_t **out)
{
	struct store_conn *c;
	sqlite3_stmt *s = store_q(st, &c, ST_FW_LIST);
	return s ? store_rows(c, s, store_fw_row, NULL, out) : -EIO;
}

int store_fw_delete(struct store *st, const char *name)
{
	struct store_conn *c;
	sqlite3_stmt *s = store_q(st, &c, ST_FW_DELETE, STORE_TEXT(name));
	return s ? store_done_changed(c, s) : -EIO;
}
