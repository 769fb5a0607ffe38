/*
 * store_cred: BMC credentials.  The secret arrives sealed (auth.c) and
 * leaves sealed; lists never carry it.  See store.h.
 */
#include <errno.h>
#include <string.h>

#include "store.h"
#include "store_int.h"

int store_cred_put(struct store *st, const char *name, const char *username,
		   const unsigned char *secret, size_t len)
{
	struct store_conn *c;
	sqlite3_stmt *s = store_q(st, &c, ST_CRED_PUT, STORE_TEXT(name), STORE_TEXT(username),
				  STORE_BLOB(secret, len), STORE_INT(store_now_us()));
	return s ? store_done(c, s) : -EIO;
}

int store_cred_get(struct store *st, const char *name, char *username, size_t ulen,
		   unsigned char *secret, size_t *len)
{
	struct store_conn *c;
	sqlite3_stmt *s = store_q(st, &c, ST_CRED_GET, STORE_TEXT(name));
	if (s == NULL)
		return -EIO;
	int rc = store_one(c, s);
	size_t n = (size_t)sqlite3_column_bytes(s, 1);
	if (rc == 0 && n > *len)
		rc = -E2BIG;
	if (rc == 0)
		rc = store_fmt(username, ulen, "%s", store_col_text(s, 0));
	if (rc == 0) {
		memcpy(secret, sqlite3_column_blob(s, 1), n);
		*len = n;
	}
	sqlite3_reset(s); /* the secret stays in no statement */
	return rc;
}

static json_t *store_cred_row(const void *ctx, sqlite3_stmt *s)
{
	(void)ctx;
	return json_pack("{s:s, s:s, s:o, s:o}", "name", store_col_text(s, 0), "username",
			 store_col_text(s, 1), "created", store_col_time(s, 2), "updated",
			 store_col_time(s, 3));
}

int store_cred_list(struct store *st, json_t **out)
{
	struct store_conn *c;
	sqlite3_stmt *s = store_q(st, &c, ST_CRED_LIST);
	return s ? store_rows(c, s, store_cred_row, NULL, out) : -EIO;
}

static int store_cred_delete_txn(struct store_conn *c, const char *name, struct store_err *err)
{
	int rc = store_has_row(c, ST_CRED_EXISTS, name);
	if (rc <= 0)
		return rc == 0 ? -ENOENT : rc;
	rc = store_has_row(c, ST_CRED_USERS, name);
	if (rc != 0) {
		store_seterr(err, NULL,
			     "credential %s is in use by BMCs; delete or change them first", name);
		return rc < 0 ? rc : -EBUSY;
	}
	sqlite3_stmt *s = store_qc(c, ST_CRED_DELETE, STORE_TEXT(name));
	return s ? store_done(c, s) : -EIO;
}

int store_cred_delete(struct store *st, const char *name, struct store_err *err)
{
	struct store_conn *c;
	int rc = store_write_begin(st, &c);
	if (rc < 0)
		return rc;
	rc = store_cred_delete_txn(c, name, err);
	return store_write_end(st, c, rc, false);
}
