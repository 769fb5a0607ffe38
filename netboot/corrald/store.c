/*
 * store: the connection, the schema and its migrations, the statement
 * table's SQL, transactions, and the helpers the store_*.c files share
 * (store_int.h).  See store.h for the contract.
 *
 * Durability: WAL with synchronous=FULL, so a write that returned 0 (and so
 * an API call that answered 2xx) survives a crash of corrald or of the
 * machine.  Boot events are written in batches by the events module and
 * may lose the last fraction of a second on a crash; that is by design.
 */
#include "store.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "store_int.h"

/* ---- schema ---------------------------------------------------------- */

/* Numbered migrations: migrations[i] takes user_version i to i+1.  Never
 * edit a released one; add the next. */
static const char *const store_migrations[] = {
	/* 1: the first schema */
	"CREATE TABLE images("
	" id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
	" arch TEXT NOT NULL DEFAULT 'x86_64', kernel TEXT NOT NULL, initrd TEXT NOT NULL,"
	" rootfs TEXT, params TEXT NOT NULL DEFAULT '',"
	" created INTEGER NOT NULL, updated INTEGER NOT NULL);"
	"CREATE TABLE profiles("
	" id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
	" image_id INTEGER REFERENCES images(id) ON DELETE RESTRICT,"
	" kernel TEXT, initrd TEXT, params TEXT NOT NULL DEFAULT '',"
	" created INTEGER NOT NULL, updated INTEGER NOT NULL);"
	"CREATE INDEX profiles_image ON profiles(image_id);"
	"CREATE TABLE groups("
	" id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, description TEXT NOT NULL DEFAULT '',"
	" profile_id INTEGER REFERENCES profiles(id) ON DELETE RESTRICT,"
	" metadata TEXT NOT NULL DEFAULT '{}', user_data TEXT NOT NULL DEFAULT '',"
	" created INTEGER NOT NULL, updated INTEGER NOT NULL);"
	"CREATE INDEX groups_profile ON groups(profile_id);"
	"CREATE TABLE nodes("
	" id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, nid INTEGER UNIQUE,"
	" arch TEXT NOT NULL DEFAULT 'x86_64', role TEXT NOT NULL DEFAULT '',"
	" enabled INTEGER NOT NULL DEFAULT 1,"
	" profile_id INTEGER REFERENCES profiles(id) ON DELETE RESTRICT,"
	" params TEXT NOT NULL DEFAULT '', metadata TEXT NOT NULL DEFAULT '{}',"
	" user_data TEXT NOT NULL DEFAULT '', state TEXT NOT NULL DEFAULT 'new',"
	" last_stage TEXT, last_time INTEGER,"
	" created INTEGER NOT NULL, updated INTEGER NOT NULL);"
	"CREATE INDEX nodes_state ON nodes(state);"
	"CREATE INDEX nodes_profile ON nodes(profile_id);"
	"CREATE TABLE interfaces("
	" mac TEXT PRIMARY KEY, node_id INTEGER NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,"
	" position INTEGER NOT NULL, ip TEXT, last_ip TEXT);"
	"CREATE INDEX interfaces_node ON interfaces(node_id, position);"
	"CREATE UNIQUE INDEX interfaces_ip ON interfaces(ip) WHERE ip IS NOT NULL;"
	"CREATE INDEX interfaces_last_ip ON interfaces(last_ip) WHERE last_ip IS NOT NULL;"
	"CREATE TABLE node_groups("
	" node_id INTEGER NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,"
	" group_id INTEGER NOT NULL REFERENCES groups(id) ON DELETE RESTRICT,"
	" position INTEGER NOT NULL, PRIMARY KEY(node_id, group_id)) WITHOUT ROWID;"
	"CREATE INDEX node_groups_group ON node_groups(group_id);"
	"CREATE TABLE tokens("
	" id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, hash BLOB NOT NULL UNIQUE,"
	" scope INTEGER NOT NULL, created INTEGER NOT NULL, last_used INTEGER);"
	"CREATE TABLE events("
	" id INTEGER PRIMARY KEY, node_id INTEGER NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,"
	" time_us INTEGER NOT NULL, stage TEXT NOT NULL, source TEXT NOT NULL DEFAULT '',"
	" detail TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX events_node ON events(node_id, time_us);"
	"CREATE INDEX events_time ON events(time_us);"
	"CREATE TABLE discovered("
	" mac TEXT PRIMARY KEY, ip TEXT, first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,"
	" requests INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE settings(key TEXT PRIMARY KEY, value TEXT NOT NULL);",
	/* 2: DHCP: per-node UEFI iPXE choice; the lease database (dnsmasq runs
	 * with leasefile-ro and keeps its leases here through the hook) */
	"ALTER TABLE nodes ADD COLUMN ipxe_efi TEXT NOT NULL DEFAULT 'snponly.efi';"
	"CREATE TABLE leases("
	" mac TEXT PRIMARY KEY, ip TEXT NOT NULL, expires INTEGER NOT NULL,"
	" hostname TEXT NOT NULL DEFAULT '', client_id TEXT NOT NULL DEFAULT '');",
	/* 3: Redfish: credentials (secret sealed with libsodium), BMCs and the
	 * systems behind them, linked to the nodes they are */
	"CREATE TABLE credentials("
	" id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, username TEXT NOT NULL,"
	" secret BLOB NOT NULL, created INTEGER NOT NULL, updated INTEGER NOT NULL);"
	"CREATE TABLE bmcs("
	" id INTEGER PRIMARY KEY, address TEXT NOT NULL, port INTEGER NOT NULL,"
	" scheme TEXT NOT NULL, insecure INTEGER NOT NULL DEFAULT 0, credential TEXT NOT NULL,"
	" status TEXT NOT NULL, message TEXT NOT NULL DEFAULT '', mac TEXT, vendor TEXT,"
	" model TEXT, uuid TEXT, firmware TEXT, last_seen INTEGER NOT NULL,"
	" created INTEGER NOT NULL, UNIQUE(address, port));"
	"CREATE TABLE systems("
	" id INTEGER PRIMARY KEY, bmc_id INTEGER NOT NULL REFERENCES bmcs(id) ON DELETE CASCADE,"
	" path TEXT NOT NULL, node_id INTEGER REFERENCES nodes(id) ON DELETE SET NULL,"
	" data TEXT NOT NULL, UNIQUE(bmc_id, path));"
	"CREATE INDEX systems_node ON systems(node_id);",
	/* 4: Redfish session login (X-Auth-Token) per BMC, beside basic auth */
	"ALTER TABLE bmcs ADD COLUMN auth TEXT NOT NULL DEFAULT 'basic';",
	/* 5: node ids are never used twice (SQLite reuses the highest rowid once
	 * its row is deleted): a cloud-init seed token, which names its node by
	 * id, must not open a node created after its own was deleted, nor may a
	 * late boot event land on the newcomer's timeline.  (The high-water mark
	 * starts at today's highest id: a highest node deleted before this
	 * migration left no trace, its id can come back once.) */
	"CREATE TABLE node_ids(high INTEGER NOT NULL);"
	"INSERT INTO node_ids SELECT COALESCE(MAX(id), 0) FROM nodes;"
	"CREATE TRIGGER nodes_id_high AFTER INSERT ON nodes BEGIN"
	" UPDATE node_ids SET high=NEW.id WHERE high<NEW.id; END;",
	/* 6: who holds an address now is asked on every node-facing request
	 * (node identity, docs/security.md) */
	"CREATE INDEX leases_ip ON leases(ip);",
	/* 7: the root image's sha256, passed to the node on the kernel command
	 * line (corral.rootfs_sha256=) so its initramfs checks the download
	 * before mounting it */
	"ALTER TABLE images ADD COLUMN rootfs_sha256 TEXT;",
};

#define STORE_NMIGRATIONS ((int)(sizeof(store_migrations) / sizeof(store_migrations[0])))

#define STORE_X_SQL(id, sql) [ST_##id] = sql,
#define STORE_X_NAME(id, sql) [ST_##id] = #id,
static const char *const store_sql[ST_COUNT] = {STORE_STATEMENTS(STORE_X_SQL)};
static const char *const store_stmt_name[ST_COUNT] = {STORE_STATEMENTS(STORE_X_NAME)};
#undef STORE_X_SQL
#undef STORE_X_NAME

/* ---- failures ---------------------------------------------------------- */

/* Why this thread's last store call failed (store_errmsg). */
static _Thread_local char store_why[256];

/*
 * A message for a person into out: one that does not fit is cut and ends
 * in "..." so the reader knows.
 */
static void store_vmsg(char *out, size_t len, const char *fmt, va_list ap)
{
	int n = vsnprintf(out, len, fmt, ap);
	if (n >= 0 && (size_t)n < len)
		return;
	if (len > 4)
		memcpy(out + len - 4, "...", 4);
	else if (n < 0 && len > 0)
		out[0] = '\0';
}

const char *store_errmsg(void)
{
	return store_why[0] ? store_why : "unknown store failure";
}

void store_msg(char *out, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	store_vmsg(out, len, fmt, ap);
	va_end(ap);
}

int store_failf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	store_vmsg(store_why, sizeof(store_why), fmt, ap);
	va_end(ap);
	return -EIO;
}

/* ---- write health (/healthz) ------------------------------------------- */

/* A failure that says the disk or the file cannot take writes. */
static bool store_disk_failure(int code)
{
	switch (code & 0xff) {
	case SQLITE_FULL:
	case SQLITE_IOERR:
	case SQLITE_READONLY:
	case SQLITE_CANTOPEN:
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
	case SQLITE_PERM:
		return true;
	default:
		return false;
	}
}

/* Notes this thread's last failure (store_why) as the store's write health. */
static void store_health_fail(struct store *st)
{
	pthread_mutex_lock(&st->lock);
	store_msg(st->write_why, sizeof(st->write_why), "%s", store_why);
	atomic_store(&st->write_failed, true);
	pthread_mutex_unlock(&st->lock);
}

/* A write reached the disk: whatever failed before works again. */
static void store_health_ok(struct store *st)
{
	if (atomic_load(&st->write_failed))
		atomic_store(&st->write_failed, false);
}

int store_health(struct store *st, char *why, size_t len)
{
	if (atomic_load(&st->write_failed)) {
		pthread_mutex_lock(&st->lock);
		store_msg(why, len, "the last write to %s failed: %s", st->path, st->write_why);
		pthread_mutex_unlock(&st->lock);
		return -EIO;
	}
	/* The directory, not the file: a new WAL or journal goes there too. */
	char dir[PATH_MAX];
	if (store_fmt(dir, sizeof(dir), "%s", st->path) < 0)
		return 0;
	char *slash = strrchr(dir, '/');
	if (slash == NULL)
		memcpy(dir, ".", 2);
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	struct statvfs vfs;
	if (statvfs(dir, &vfs) < 0)
		return 0; /* nothing to tell: the writes themselves will say */
	/* corrald may use the blocks kept for root when it runs as root. */
	unsigned long long blocks = geteuid() == 0 ? vfs.f_bfree : vfs.f_bavail;
	unsigned long long avail = blocks * vfs.f_frsize;
	if (avail >= STORE_MIN_FREE)
		return 0;
	store_msg(why, len, "the file system of %s has %llu KiB free (less than %u KiB)", dir,
		  avail / 1024, STORE_MIN_FREE / 1024);
	return -ENOSPC;
}

int store_fail(struct store_conn *c, sqlite3_stmt *s)
{
	const char *name = "statement";
	for (int i = 0; i < ST_COUNT; i++)
		if (c->stmt[i] == s && s != NULL)
			name = store_stmt_name[i];
	int rc = store_failf("%s: %s", name, sqlite3_errmsg(c->db));
	if (c->st != NULL && store_disk_failure(sqlite3_extended_errcode(c->db)))
		store_health_fail(c->st);
	return rc;
}

/* ---- time ---------------------------------------------------------------- */

int64_t store_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int store_time_str(int64_t us, char *out, size_t outlen)
{
	time_t t = (time_t)(us / 1000000);
	struct tm tm;
	char day[32];
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		if (outlen > 0)
			out[0] = '\0';
		return -EINVAL;
	}
	return store_fmt(out, outlen, "%s.%03dZ", day, (int)((us % 1000000) / 1000));
}

/* ---- connections --------------------------------------------------------- */

static int store_exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		store_failf("%s", msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return -EIO;
	}
	return 0;
}

static int store_conn_open(const char *path, struct store_conn **out)
{
	struct store_conn *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	int rc = sqlite3_open_v2(path, &c->db,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
				 NULL);
	if (rc != SQLITE_OK) {
		store_failf("cannot open %s: %s", path,
			    c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
		goto err_open;
	}
	sqlite3_busy_timeout(c->db, 10000);
	if (store_exec(c->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
			      " PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;") < 0)
		goto err_open;
	*out = c;
	return 0;

err_open:
	sqlite3_close(c->db);
	free(c);
	return -EIO;
}

static void store_conn_close(struct store_conn *c)
{
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(c->stmt[i]);
	sqlite3_close(c->db);
	free(c);
}

/*
 * Resets statements left on a row.  A statement stopped on a row keeps a
 * read transaction open: its old snapshot makes a later write on this
 * connection fail with SQLITE_BUSY_SNAPSHOT and stops WAL checkpoints.
 */
static void store_idle(struct store_conn *c)
{
	for (sqlite3_stmt *s = sqlite3_next_stmt(c->db, NULL); s; s = sqlite3_next_stmt(c->db, s))
		if (sqlite3_stmt_busy(s))
			sqlite3_reset(s);
}

/*
 * This thread's connection, opened on first use.  Every public function
 * starts here, so each starts on a fresh snapshot; inside a transaction
 * the caller opened, the transaction's snapshot holds, and statements are
 * reset when it ends.
 */
struct store_conn *store_conn(struct store *st)
{
	struct store_conn *c = pthread_getspecific(st->key);
	if (c != NULL) {
		if (c->txn == STORE_TXN_NONE)
			store_idle(c);
		return c;
	}
	if (store_conn_open(st->path, &c) < 0)
		return NULL;
	c->st = st;
	pthread_mutex_lock(&st->lock);
	c->next = st->conns;
	st->conns = c;
	pthread_mutex_unlock(&st->lock);
	pthread_setspecific(st->key, c);
	return c;
}

/* The prepared statement id, reset and ready to bind; NULL on failure. */
static sqlite3_stmt *store_stmt(struct store_conn *c, enum store_stmt id)
{
	sqlite3_stmt *s = c->stmt[id];
	if (s == NULL) {
		if (sqlite3_prepare_v3(c->db, store_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &s,
				       NULL) != SQLITE_OK) {
			store_failf("prepare %s: %s", store_stmt_name[id], sqlite3_errmsg(c->db));
			return NULL;
		}
		c->stmt[id] = s;
		return s;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return s;
}

/* Binds a JSON value: string, integer, bool, null, or (otherwise) its text. */
static int store_bind_json(sqlite3_stmt *s, int i, json_t *v)
{
	if (v == NULL || json_is_null(v))
		return sqlite3_bind_null(s, i);
	if (json_is_string(v))
		return sqlite3_bind_text(s, i, json_string_value(v), (int)json_string_length(v),
					 SQLITE_TRANSIENT);
	if (json_is_integer(v))
		return sqlite3_bind_int64(s, i, json_integer_value(v));
	if (json_is_boolean(v))
		return sqlite3_bind_int(s, i, json_is_true(v));
	char *txt = json_dumps(v, JSON_COMPACT);
	if (txt == NULL)
		return sqlite3_bind_null(s, i);
	return sqlite3_bind_text(s, i, txt, -1, free);
}

static int store_bind_one(sqlite3_stmt *s, int i, const struct store_arg *a)
{
	switch (a->type) {
	case STORE_ARG_TEXT:
		if (a->text == NULL)
			return sqlite3_bind_null(s, i);
		return sqlite3_bind_text(s, i, a->text, -1, SQLITE_TRANSIENT);
	case STORE_ARG_INT:
		return sqlite3_bind_int64(s, i, a->num);
	case STORE_ARG_BLOB:
		return sqlite3_bind_blob(s, i, a->blob, (int)a->num, SQLITE_TRANSIENT);
	case STORE_ARG_JSON:
		return store_bind_json(s, i, a->json);
	default:
		return sqlite3_bind_null(s, i);
	}
}

sqlite3_stmt *store_bind(struct store_conn *c, enum store_stmt id, const struct store_arg *args,
			 size_t nargs)
{
	sqlite3_stmt *s = store_stmt(c, id);
	if (s == NULL)
		return NULL;
	for (size_t i = 0; i < nargs; i++) {
		if (store_bind_one(s, (int)i + 1, &args[i]) != SQLITE_OK) {
			store_fail(c, s);
			return NULL;
		}
	}
	return s;
}

sqlite3_stmt *store_query(struct store *st, struct store_conn **cp, enum store_stmt id,
			  const struct store_arg *args, size_t nargs)
{
	struct store_conn *c = store_conn(st);
	*cp = c;
	return c ? store_bind(c, id, args, nargs) : NULL;
}

/* ---- open, migrate, close ------------------------------------------------ */

static int store_migrate(struct store_conn *c)
{
	sqlite3_stmt *s;
	int version = 0;
	if (sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK)
		return store_failf("PRAGMA user_version: %s", sqlite3_errmsg(c->db));
	if (sqlite3_step(s) == SQLITE_ROW)
		version = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	if (version > STORE_NMIGRATIONS) {
		store_failf("database schema %d is newer than this corrald (%d)", version,
			    STORE_NMIGRATIONS);
		return -EPROTO;
	}
	for (int v = version; v < STORE_NMIGRATIONS; v++) {
		char bump[64];
		if (store_fmt(bump, sizeof(bump), "PRAGMA user_version=%d", v + 1) < 0)
			return store_failf("migration %d: version statement too long", v + 1);
		if (store_exec(c->db, "BEGIN IMMEDIATE") < 0)
			return -EIO;
		if (store_exec(c->db, store_migrations[v]) < 0 || store_exec(c->db, bump) < 0) {
			char why[sizeof(store_why)];
			memcpy(why, store_why, sizeof(why));
			(void)store_exec(c->db, "ROLLBACK");
			return store_failf("migration %d failed: %s", v + 1, why);
		}
		if (store_exec(c->db, "COMMIT") < 0)
			return -EIO;
		log_info("store: migrated schema to version %d", v + 1);
	}
	return 0;
}

int store_open(const char *path, struct store **out)
{
	struct store *st = calloc(1, sizeof(*st));
	if (st == NULL)
		return -ENOMEM;
	st->path = strdup(path);
	if (st->path == NULL)
		goto err_alloc;
	if (pthread_key_create(&st->key, NULL) != 0)
		goto err_alloc;
	pthread_mutex_init(&st->lock, NULL);
	struct store_conn *c = store_conn(st);
	if (c == NULL)
		goto err_conn;
	int rc = store_migrate(c);
	if (rc < 0) {
		store_free(st);
		return rc;
	}
	*out = st;
	return 0;

err_conn:
	pthread_key_delete(st->key);
	pthread_mutex_destroy(&st->lock);
err_alloc:
	free(st->path);
	free(st);
	return -EIO;
}

void store_free(struct store *st)
{
	if (st == NULL)
		return;
	struct store_conn *c = st->conns;
	while (c != NULL) {
		struct store_conn *next = c->next;
		store_conn_close(c);
		c = next;
	}
	pthread_key_delete(st->key);
	pthread_mutex_destroy(&st->lock);
	free(st->path);
	free(st);
}

int store_schema_version(struct store *st)
{
	(void)st;
	return STORE_NMIGRATIONS;
}

uint64_t store_generation(struct store *st)
{
	return atomic_load(&st->generation);
}

uint64_t store_lease_generation(struct store *st)
{
	return atomic_load(&st->lease_generation);
}

void store_release(struct store *st)
{
	struct store_conn *c = pthread_getspecific(st->key);
	if (c != NULL)
		store_idle(c);
}

int store_ping(struct store *st)
{
	struct store_conn *c;
	sqlite3_stmt *s = store_q(st, &c, ST_PING);
	if (s == NULL)
		return -EIO;
	return store_one(c, s);
}

/* ---- stepping ------------------------------------------------------------ */

int store_step(struct store_conn *c, sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return store_fail(c, s);
}

int store_done(struct store_conn *c, sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);
	if (rc == SQLITE_DONE || rc == SQLITE_ROW) {
		/* A write outside a transaction is committed by now. */
		if (c->st != NULL && !sqlite3_stmt_readonly(s) && sqlite3_get_autocommit(c->db))
			store_health_ok(c->st);
		return 0;
	}
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return -EEXIST;
	return store_fail(c, s);
}

int store_done_changed(struct store_conn *c, sqlite3_stmt *s)
{
	int rc = store_done(c, s);
	if (rc == 0 && sqlite3_changes(c->db) == 0)
		return -ENOENT;
	return rc;
}

int store_one(struct store_conn *c, sqlite3_stmt *s)
{
	int rc = store_step(c, s);
	return rc == 1 ? 0 : rc == 0 ? -ENOENT : rc;
}

int store_has_row(struct store_conn *c, enum store_stmt id, const char *arg)
{
	sqlite3_stmt *s = store_qc(c, id, STORE_TEXT(arg));
	return s ? store_step(c, s) : -EIO;
}

int store_one_id(struct store *st, enum store_stmt id, struct store_arg arg, int64_t *out)
{
	struct store_conn *c;
	sqlite3_stmt *s = store_q(st, &c, id, arg);
	if (s == NULL)
		return -EIO;
	int rc = store_one(c, s);
	if (rc == 0)
		*out = sqlite3_column_int64(s, 0);
	return rc;
}

int store_rows(struct store_conn *c, sqlite3_stmt *s,
	       json_t *(*row)(const void *ctx, sqlite3_stmt *s), const void *ctx, json_t **out)
{
	json_t *arr = json_array();
	int rc;
	if (arr == NULL)
		return -ENOMEM;
	while ((rc = store_step(c, s)) == 1)
		json_array_append_new(arr, row(ctx, s));
	if (rc < 0) {
		json_decref(arr);
		return rc;
	}
	*out = arr;
	return 0;
}

/* ---- transactions -------------------------------------------------------- */

static int store_exec_stmt(struct store_conn *c, enum store_stmt id)
{
	sqlite3_stmt *s = store_qc(c, id);
	return s ? store_done(c, s) : -EIO;
}

static int store_begin(struct store_conn *c, enum store_stmt id)
{
	store_idle(c);
	int rc = store_exec_stmt(c, id);
	c->writing = rc == 0 && id == ST_BEGIN;
	return rc;
}

/* Rolls back; keeps the reason the caller recorded for its failure. */
static void store_rollback(struct store_conn *c)
{
	store_idle(c);
	sqlite3_stmt *s = store_stmt(c, ST_ROLLBACK);
	if (s != NULL)
		(void)sqlite3_step(s);
	c->txn = STORE_TXN_NONE;
	c->writing = false;
}

static int store_commit(struct store *st, struct store_conn *c, bool bump)
{
	store_idle(c);
	int rc = store_exec_stmt(c, ST_COMMIT);
	if (rc < 0) {
		store_rollback(c);
		return rc;
	}
	c->txn = STORE_TXN_NONE;
	if (c->writing)
		store_health_ok(st);
	c->writing = false;
	if (bump)
		atomic_fetch_add(&st->generation, 1);
	return 0;
}

int store_write_begin(struct store *st, struct store_conn **cp)
{
	struct store_conn *c = store_conn(st);
	*cp = c;
	if (c == NULL)
		return -EIO;
	if (c->txn == STORE_TXN_WRITE)
		return 0;
	if (c->txn == STORE_TXN_READ)
		return store_failf("a write inside a read transaction");
	return store_begin(c, ST_BEGIN);
}

int store_write_end(struct store *st, struct store_conn *c, int rc, bool bump)
{
	if (c->txn == STORE_TXN_WRITE) {
		if (rc == 0 && bump)
			c->txn_bump = true;
		return rc;
	}
	if (rc < 0) {
		store_rollback(c);
		return rc;
	}
	return store_commit(st, c, bump);
}

static int store_txn_open(struct store *st, enum store_txn_kind kind)
{
	struct store_conn *c = store_conn(st);
	if (c == NULL)
		return -EIO;
	if (c->txn != STORE_TXN_NONE)
		return -EINVAL; /* transactions do not nest */
	int rc = store_begin(c, kind == STORE_TXN_WRITE ? ST_BEGIN : ST_BEGIN_READ);
	if (rc == 0) {
		c->txn = kind;
		c->txn_bump = false;
	}
	return rc;
}

int store_txn_begin(struct store *st)
{
	return store_txn_open(st, STORE_TXN_WRITE);
}

int store_txn_read(struct store *st)
{
	return store_txn_open(st, STORE_TXN_READ);
}

int store_txn_commit(struct store *st)
{
	struct store_conn *c = pthread_getspecific(st->key);
	if (c == NULL || c->txn == STORE_TXN_NONE)
		return -EINVAL;
	return store_commit(st, c, c->txn == STORE_TXN_WRITE && c->txn_bump);
}

void store_txn_rollback(struct store *st)
{
	struct store_conn *c = pthread_getspecific(st->key);
	if (c != NULL && c->txn != STORE_TXN_NONE)
		store_rollback(c);
}

/* ---- values -------------------------------------------------------------- */

int store_fmt(char *out, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out, len, fmt, ap);
	va_end(ap);
	return n >= 0 && (size_t)n < len ? 0 : -E2BIG;
}

void store_seterr(struct store_err *err, const char *field, const char *fmt, ...)
{
	if (err == NULL)
		return;
	/* Cut (and marked), not refused: these are messages for a person.
	 * Field paths are short ("nodes[123].interfaces[4].mac"). */
	va_list ap;
	va_start(ap, fmt);
	store_vmsg(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	store_msg(err->field, sizeof(err->field), "%s", field ? field : "");
}

json_t *store_col_str(sqlite3_stmt *s, int i)
{
	const char *v = store_col_text(s, i);
	return v ? json_string(v) : json_null();
}

json_t *store_col_time(sqlite3_stmt *s, int i)
{
	char t[40];
	if (sqlite3_column_type(s, i) == SQLITE_NULL ||
	    store_time_str(sqlite3_column_int64(s, i), t, sizeof(t)) < 0)
		return json_null();
	return json_string(t);
}

json_t *store_col_json(sqlite3_stmt *s, int i)
{
	const char *v = store_col_text(s, i);
	json_t *j = v ? json_loads(v, 0, NULL) : NULL;
	return j ? j : json_object();
}
