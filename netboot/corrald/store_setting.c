/*
 * store_setting: small key/value settings, and the defaults (profile,
 * metadata, user-data) kept among them.  See store.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_int.h"

static int store_setting_get_c(struct store_conn *c, const char *key, char **value)
{
	sqlite3_stmt *s = store_qc(c, ST_SETTING_GET, STORE_TEXT(key));
	if (s == NULL)
		return -EIO;
	int rc = store_one(c, s);
	if (rc < 0)
		return rc;
	*value = strdup(store_col_text(s, 0));
	return *value ? 0 : -ENOMEM;
}

int store_setting_get(struct store *st, const char *key, char **value)
{
	struct store_conn *c = store_conn(st);
	return c ? store_setting_get_c(c, key, value) : -EIO;
}

/* Sets key, or (value NULL) removes it. */
static int store_setting_set_c(struct store_conn *c, const char *key, const char *value)
{
	sqlite3_stmt *s = value ? store_qc(c, ST_SETTING_SET, STORE_TEXT(key), STORE_TEXT(value)) :
				  store_qc(c, ST_SETTING_DEL, STORE_TEXT(key));
	return s ? store_done(c, s) : -EIO;
}

int store_setting_set(struct store *st, const char *key, const char *value)
{
	struct store_conn *c;
	int rc = store_write_begin(st, &c);
	if (rc < 0)
		return rc;
	rc = store_setting_set_c(c, key, value);
	return store_write_end(st, c, rc, true);
}

int store_defaults_get(struct store *st, json_t **out)
{
	struct store_conn *c = store_conn(st);
	if (c == NULL)
		return -EIO;
	char *profile = NULL, *meta = NULL, *ud = NULL;
	int rc = store_setting_get_c(c, "default_profile", &profile);
	if (rc == 0 || rc == -ENOENT)
		rc = store_setting_get_c(c, "default_metadata", &meta);
	if (rc == 0 || rc == -ENOENT)
		rc = store_setting_get_c(c, "default_user_data", &ud);
	if (rc == 0 || rc == -ENOENT) {
		json_t *m = meta ? json_loads(meta, 0, NULL) : NULL;
		*out = json_pack("{s:o, s:o, s:s}", "profile",
				 profile ? json_string(profile) : json_null(), "metadata",
				 m ? m : json_object(), "user_data", ud ? ud : "");
		rc = *out ? 0 : -ENOMEM;
	}
	free(profile);
	free(meta);
	free(ud);
	return rc;
}

static int store_defaults_put_txn(struct store_conn *c, json_t *d, struct store_err *err)
{
	static const struct store_ref refs[] = {{"profile", ST_PROFILE_EXISTS, "profile"}};
	int rc = store_check_refs(c, refs, 1, d, "", err);
	if (rc < 0)
		return rc;
	char *meta = json_dumps(json_object_get(d, "metadata"), JSON_COMPACT);
	rc = store_setting_set_c(c, "default_profile",
				 json_string_value(json_object_get(d, "profile")));
	if (rc == 0)
		rc = store_setting_set_c(c, "default_metadata", meta ? meta : "{}");
	if (rc == 0)
		rc = store_setting_set_c(c, "default_user_data",
					 json_string_value(json_object_get(d, "user_data")));
	free(meta);
	return rc;
}

int store_defaults_put(struct store *st, json_t *d, struct store_err *err)
{
	struct store_conn *c;
	int rc = store_write_begin(st, &c);
	if (rc < 0)
		return rc;
	rc = store_defaults_put_txn(c, d, err);
	return store_write_end(st, c, rc, true);
}
