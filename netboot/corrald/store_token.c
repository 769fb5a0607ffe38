/*
 * store_token: API tokens, kept as SHA-256 hashes.  See store.h.
 */
#include <errno.h>

#include "auth.h"
#include "store.h"
#include "store_int.h"

int store_token_add(struct store *st, const char *name, const unsigned char *hash, int scope)
{
	struct store_conn *c;
	sqlite3_stmt *s = store_q(st, &c, ST_TOKEN_ADD, STORE_TEXT(name), STORE_BLOB(hash, 32),
				  STORE_INT(scope), STORE_INT(store_now_us()));
	return s ? store_done(c, s) : -EIO;
}

int store_token_find(struct store *st, const unsigned char *hash, int *scope)
{
	struct store_conn *c;
	sqlite3_stmt *s = store_q(st, &c, ST_TOKEN_FIND, STORE_BLOB(hash, 32));
	if (s == NULL)
		return -EIO;
	int rc = store_one(c, s);
	if (rc < 0)
		return rc;
	*scope = sqlite3_column_int(s, 0);
	int64_t last = sqlite3_column_int64(s, 1);
	int64_t now = store_now_us();
	/* Record use at most once a minute, so reads stay reads.  Best effort:
	 * a token that could not be touched still authenticates. */
	if (now - last > 60 * 1000000LL) {
		s = store_qc(c, ST_TOKEN_TOUCH, STORE_BLOB(hash, 32), STORE_INT(now));
		if (s != NULL)
			(void)store_done(c, s);
	}
	return 0;
}

static json_t *store_token_row(const void *ctx, sqlite3_stmt *s)
{
	(void)ctx;
	return json_pack("{s:s, s:s, s:o, s:o}", "name", store_col_text(s, 0), "scope",
			 auth_scope_name(sqlite3_column_int(s, 1)), "created", store_col_time(s, 2),
			 "last_used", store_col_time(s, 3));
}

int store_token_list(struct store *st, json_t **out)
{
	struct store_conn *c;
	sqlite3_stmt *s = store_q(st, &c, ST_TOKEN_LIST);
	return s ? store_rows(c, s, store_token_row, NULL, out) : -EIO;
}

int store_token_delete(struct store *st, const char *name)
{
	struct store_conn *c;
	sqlite3_stmt *s = store_q(st, &c, ST_TOKEN_DELETE, STORE_TEXT(name));
	return s ? store_done_changed(c, s) : -EIO;
}
