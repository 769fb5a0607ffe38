/*
 * store_obj: images, profiles and groups, the resources with the generic
 * shape (a row of columns, references to other objects by name, "in use"
 * on delete), driven by one description per kind.  See store.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_int.h"

enum store_col_type { COL_TEXT, COL_TEXT_NULL, COL_JSON, COL_TIME };

struct store_col {
	const char *name;
	enum store_col_type type;
};

struct store_kind_desc {
	const char *what;
	const struct store_col *cols; /* SELECT order; the first nput are bound in PUT */
	int ncols, nput;
	enum store_stmt get, list, exists, put, del, users;
	const struct store_ref *refs;
	int nrefs;
};

static const struct store_col image_cols[] = {
	{"name", COL_TEXT},
	{"arch", COL_TEXT},
	{"kernel", COL_TEXT},
	{"initrd", COL_TEXT},
	{"rootfs", COL_TEXT_NULL},
	{"params", COL_TEXT},
	{"rootfs_sha256", COL_TEXT_NULL},
	{"created", COL_TIME},
	{"updated", COL_TIME},
};
static const struct store_col profile_cols[] = {
	{"name", COL_TEXT},        {"image", COL_TEXT_NULL}, {"kernel", COL_TEXT_NULL},
	{"initrd", COL_TEXT_NULL}, {"params", COL_TEXT},     {"created", COL_TIME},
	{"updated", COL_TIME},
};
static const struct store_col group_cols[] = {
	{"name", COL_TEXT},     {"description", COL_TEXT}, {"profile", COL_TEXT_NULL},
	{"metadata", COL_JSON}, {"user_data", COL_TEXT},   {"created", COL_TIME},
	{"updated", COL_TIME},
};
static const struct store_ref profile_refs[] = {{"image", ST_IMAGE_EXISTS, "image"}};
static const struct store_ref group_refs[] = {{"profile", ST_PROFILE_EXISTS, "profile"}};

static const struct store_kind_desc store_kinds[] = {
	[STORE_IMAGE] = {"image", image_cols, 9, 7, ST_IMAGE_GET, ST_IMAGE_LIST, ST_IMAGE_EXISTS,
			 ST_IMAGE_PUT, ST_IMAGE_DELETE, ST_IMAGE_USERS, NULL, 0},
	[STORE_PROFILE] = {"profile", profile_cols, 7, 5, ST_PROFILE_GET, ST_PROFILE_LIST,
			   ST_PROFILE_EXISTS, ST_PROFILE_PUT, ST_PROFILE_DELETE, ST_PROFILE_USERS,
			   profile_refs, 1},
	[STORE_GROUP] = {"group", group_cols, 7, 5, ST_GROUP_GET, ST_GROUP_LIST, ST_GROUP_EXISTS,
			 ST_GROUP_PUT, ST_GROUP_DELETE, ST_GROUP_USERS, group_refs, 1},
};

static json_t *store_obj_row(const void *ctx, sqlite3_stmt *s)
{
	const struct store_kind_desc *d = ctx;
	json_t *o = json_object();
	for (int i = 0; i < d->ncols && o != NULL; i++) {
		json_t *v;
		switch (d->cols[i].type) {
		case COL_TEXT:
			v = json_string(store_col_text(s, i) ? store_col_text(s, i) : "");
			break;
		case COL_TEXT_NULL:
			v = store_col_str(s, i);
			break;
		case COL_JSON:
			v = store_col_json(s, i);
			break;
		default:
			v = store_col_time(s, i);
			break;
		}
		json_object_set_new(o, d->cols[i].name, v);
	}
	return o;
}

/* Adds "members" to a group object. */
static int store_group_members(struct store_conn *c, json_t *g)
{
	const char *name = json_string_value(json_object_get(g, "name"));
	sqlite3_stmt *s = store_qc(c, ST_GROUP_MEMBERS, STORE_TEXT(name));
	if (s == NULL)
		return -EIO;
	json_t *m = json_array();
	int rc;
	while ((rc = store_step(c, s)) == 1)
		json_array_append_new(m, json_string(store_col_text(s, 0)));
	json_object_set_new(g, "members", m);
	return rc;
}

int store_obj_list(struct store *st, enum store_kind kind, json_t **out)
{
	const struct store_kind_desc *d = &store_kinds[kind];
	struct store_conn *c;
	sqlite3_stmt *s = store_q(st, &c, d->list);
	if (s == NULL)
		return -EIO;
	json_t *arr;
	int rc = store_rows(c, s, store_obj_row, d, &arr);
	if (rc < 0)
		return rc;
	if (kind == STORE_GROUP) {
		size_t i;
		json_t *g;
		json_array_foreach(arr, i, g) {
			if ((rc = store_group_members(c, g)) < 0) {
				json_decref(arr);
				return rc;
			}
		}
	}
	*out = arr;
	return 0;
}

int store_obj_get(struct store *st, enum store_kind kind, const char *name, json_t **out)
{
	const struct store_kind_desc *d = &store_kinds[kind];
	struct store_conn *c;
	sqlite3_stmt *s = store_q(st, &c, d->get, STORE_TEXT(name));
	if (s == NULL)
		return -EIO;
	int rc = store_one(c, s);
	if (rc < 0)
		return rc;
	json_t *o = store_obj_row(d, s);
	if (kind == STORE_GROUP && (rc = store_group_members(c, o)) < 0) {
		json_decref(o);
		return rc;
	}
	*out = o;
	return 0;
}

int store_check_refs(struct store_conn *c, const struct store_ref *refs, int nrefs, json_t *obj,
		     const char *prefix, struct store_err *err)
{
	for (int i = 0; i < nrefs; i++) {
		const char *name = json_string_value(json_object_get(obj, refs[i].field));
		if (name == NULL)
			continue;
		int rc = store_has_row(c, refs[i].exists, name);
		if (rc < 0)
			return rc;
		if (rc == 0) {
			char field[96];
			store_msg(field, sizeof(field), "%s%s", prefix, refs[i].field);
			store_seterr(err, field, "no such %s: %s", refs[i].what, name);
			return -ENXIO;
		}
	}
	return 0;
}

static int store_obj_put_txn(struct store_conn *c, const struct store_kind_desc *d, json_t *obj,
			     bool create_only, bool *created, struct store_err *err)
{
	const char *name = json_string_value(json_object_get(obj, "name"));
	if (name == NULL)
		return -EINVAL;
	int rc = store_has_row(c, d->exists, name);
	if (rc < 0)
		return rc;
	*created = rc == 0;
	if (create_only && !*created) {
		store_seterr(err, "name", "%s %s already exists", d->what, name);
		return -EEXIST;
	}
	rc = store_check_refs(c, d->refs, d->nrefs, obj, "", err);
	if (rc < 0)
		return rc;
	struct store_arg args[16];
	for (int i = 0; i < d->nput; i++)
		args[i] = STORE_JSON(json_object_get(obj, d->cols[i].name));
	args[d->nput] = STORE_INT(store_now_us());
	sqlite3_stmt *s = store_bind(c, d->put, args, (size_t)d->nput + 1);
	return s ? store_done(c, s) : -EIO;
}

int store_obj_put(struct store *st, enum store_kind kind, json_t *obj, bool create_only,
		  bool *created, struct store_err *err)
{
	struct store_conn *c;
	int rc = store_write_begin(st, &c);
	if (rc < 0)
		return rc;
	rc = store_obj_put_txn(c, &store_kinds[kind], obj, create_only, created, err);
	return store_write_end(st, c, rc, true);
}

/* -EBUSY naming up to ten users of name, so the operator knows what to change; 0 if none. */
static int store_obj_users(struct store_conn *c, const struct store_kind_desc *d, const char *name,
			   struct store_err *err)
{
	sqlite3_stmt *s = store_qc(c, d->users, STORE_TEXT(name));
	if (s == NULL)
		return -EIO;
	char users[200] = "";
	size_t len = 0;
	int n = 0, rc;
	while ((rc = store_step(c, s)) == 1) {
		if (++n > 10)
			continue;
		/* A list too long for users ends where it was cut. */
		if (store_fmt(users + len, sizeof(users) - len, "%s%s %s", n > 1 ? ", " : "",
			      store_col_text(s, 0), store_col_text(s, 1)) == 0)
			len += strlen(users + len);
		else
			users[len] = '\0';
	}
	if (rc < 0)
		return rc;
	if (n == 0)
		return 0;
	store_seterr(err, NULL, "%s %s is in use by %s%s", d->what, name, users,
		     n > 10 ? " and more" : "");
	return -EBUSY;
}

static int store_obj_delete_txn(struct store_conn *c, const struct store_kind_desc *d,
				const char *name, struct store_err *err)
{
	int rc = store_has_row(c, d->exists, name);
	if (rc <= 0)
		return rc == 0 ? -ENOENT : rc;
	if ((rc = store_obj_users(c, d, name, err)) < 0)
		return rc;
	sqlite3_stmt *s = store_qc(c, d->del, STORE_TEXT(name));
	return s ? store_done(c, s) : -EIO;
}

int store_obj_delete(struct store *st, enum store_kind kind, const char *name,
		     struct store_err *err)
{
	struct store_conn *c;
	int rc = store_write_begin(st, &c);
	if (rc < 0)
		return rc;
	rc = store_obj_delete_txn(c, &store_kinds[kind], name, err);
	return store_write_end(st, c, rc, true);
}
