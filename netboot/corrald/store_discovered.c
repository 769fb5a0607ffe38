/*
 * store_discovered: machines that asked to boot with a MAC no node has
 * (written by store_event.c, forgotten when a node takes the MAC).
 * See store.h.
 */
#include <errno.h>

#include "store.h"
#include "store_int.h"

static json_t *store_discovered_row(const void *ctx, sqlite3_stmt *s)
{
	(void)ctx;
	return json_pack("{s:s, s:o, s:o, s:o, s:I}", "mac", store_col_text(s, 0), "ip",
			 store_col_str(s, 1), "first_seen", store_col_time(s, 2), "last_seen",
			 store_col_time(s, 3), "requests", (json_int_t)sqlite3_column_int64(s, 4));
}

int store_discovered_list(struct store *st, json_t **out)
{
	struct store_conn *c;
	sqlite3_stmt *s = store_q(st, &c, ST_DISCOVERED_LIST);
	return s ? store_rows(c, s, store_discovered_row, NULL, out) : -EIO;
}

int store_discovered_exists(struct store *st, const char *mac)
{
	struct store_conn *c = store_conn(st);
	if (c == NULL)
		return -EIO;
	int rc = store_has_row(c, ST_DISCOVERED_EXISTS, mac);
	return rc < 0 ? rc : rc == 1 ? 0 : -ENOENT;
}

int store_discovered_delete(struct store *st, const char *mac)
{
	struct store_conn *c;
	sqlite3_stmt *s = store_q(st, &c, ST_DISCOVERED_DELETE, STORE_TEXT(mac));
	return s ? store_done_changed(c, s) : -EIO;
}
