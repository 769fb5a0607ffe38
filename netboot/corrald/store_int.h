/*
 * store_int: what the store's own files share.  PRIVATE: included only by
 * netboot/corrald/store*.c; every other module sees store.h alone.
 *
 * Owns the statement table (every SQL string corrald runs, each a constant
 * with bound parameters, prepared once per connection), the per-thread
 * connection and its open transaction, and the helpers each store function
 * is made of: store_q() (this thread's connection, the prepared statement,
 * its parameters bound, in one call), the step helpers, the row-to-JSON
 * helpers, and the write bracket store_write_begin()/store_write_end().
 *
 * Failures: a helper that fails records why (store_errmsg() shows it) and
 * returns NULL or -EIO; nothing here logs.  The caller that decides what a
 * failure means logs it, once.
 */
#ifndef CORRAL_STORE_INT_H
#define CORRAL_STORE_INT_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "store.h"

/* ---- statements ------------------------------------------------------ */

/* X(id, sql): ST_<id> names the statement; store.c holds the SQL array. */
#define STORE_STATEMENTS(X)                                                                        \
	X(BEGIN, "BEGIN IMMEDIATE")                                                                \
	X(BEGIN_READ, "BEGIN")                                                                     \
	X(COMMIT, "COMMIT")                                                                        \
	X(ROLLBACK, "ROLLBACK")                                                                    \
	X(PING, "SELECT 1")                                                                        \
	/* images */                                                                               \
	X(IMAGE_GET, "SELECT name, arch, kernel, initrd, rootfs, params, rootfs_sha256, created,"  \
		     " updated FROM images WHERE name=?1")                                         \
	X(IMAGE_LIST, "SELECT name, arch, kernel, initrd, rootfs, params, rootfs_sha256, created," \
		      " updated FROM images ORDER BY name")                                        \
	X(IMAGE_EXISTS, "SELECT 1 FROM images WHERE name=?1")                                      \
	X(IMAGE_PUT,                                                                               \
	  "INSERT INTO images(name, arch, kernel, initrd, rootfs, params,"                         \
	  " rootfs_sha256, created, updated) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)"           \
	  " ON CONFLICT(name) DO UPDATE SET arch=excluded.arch, kernel=excluded.kernel,"           \
	  " initrd=excluded.initrd, rootfs=excluded.rootfs, params=excluded.params,"               \
	  " rootfs_sha256=excluded.rootfs_sha256, updated=excluded.updated")                       \
	X(IMAGE_DELETE, "DELETE FROM images WHERE name=?1")                                        \
	X(IMAGE_USERS, "SELECT 'profile', name FROM profiles WHERE image_id=(SELECT id FROM"       \
		       " images WHERE name=?1) ORDER BY name LIMIT 11")                            \
	/* profiles */                                                                             \
	X(PROFILE_GET, "SELECT p.name, i.name, p.kernel, p.initrd, p.params, p.created,"           \
		       " p.updated FROM profiles p LEFT JOIN images i ON i.id=p.image_id"          \
		       " WHERE p.name=?1")                                                         \
	X(PROFILE_LIST, "SELECT p.name, i.name, p.kernel, p.initrd, p.params, p.created,"          \
			" p.updated FROM profiles p LEFT JOIN images i ON i.id=p.image_id"         \
			" ORDER BY p.name")                                                        \
	X(PROFILE_EXISTS, "SELECT 1 FROM profiles WHERE name=?1")                                  \
	X(PROFILE_PUT, "INSERT INTO profiles(name, image_id, kernel, initrd, params, created,"     \
		       " updated) VALUES(?1, (SELECT id FROM images WHERE name=?2), ?3, ?4,"       \
		       " ?5, ?6, ?6) ON CONFLICT(name) DO UPDATE SET"                              \
		       " image_id=excluded.image_id, kernel=excluded.kernel,"                      \
		       " initrd=excluded.initrd, params=excluded.params,"                          \
		       " updated=excluded.updated")                                                \
	X(PROFILE_DELETE, "DELETE FROM profiles WHERE name=?1")                                    \
	X(PROFILE_USERS, "SELECT * FROM (SELECT 'node', n.name FROM nodes n JOIN profiles p"       \
			 " ON p.id=n.profile_id WHERE p.name=?1 ORDER BY n.name LIMIT 11)"         \
			 " UNION ALL SELECT * FROM (SELECT 'group', g.name FROM groups g JOIN"     \
			 " profiles p ON p.id=g.profile_id WHERE p.name=?1 ORDER BY g.name"        \
			 " LIMIT 11) UNION ALL SELECT 'defaults', 'defaults' FROM settings"        \
			 " WHERE key='default_profile' AND value=?1")                              \
	/* groups */                                                                               \
	X(GROUP_GET, "SELECT g.name, g.description, p.name, g.metadata, g.user_data,"              \
		     " g.created, g.updated FROM groups g LEFT JOIN profiles p"                    \
		     " ON p.id=g.profile_id WHERE g.name=?1")                                      \
	X(GROUP_LIST, "SELECT g.name, g.description, p.name, g.metadata, g.user_data,"             \
		      " g.created, g.updated FROM groups g LEFT JOIN profiles p"                   \
		      " ON p.id=g.profile_id ORDER BY g.name")                                     \
	X(GROUP_EXISTS, "SELECT 1 FROM groups WHERE name=?1")                                      \
	X(GROUP_PUT, "INSERT INTO groups(name, description, profile_id, metadata, user_data,"      \
		     " created, updated) VALUES(?1, ?2, (SELECT id FROM profiles WHERE"            \
		     " name=?3), ?4, ?5, ?6, ?6) ON CONFLICT(name) DO UPDATE SET"                  \
		     " description=excluded.description, profile_id=excluded.profile_id,"          \
		     " metadata=excluded.metadata, user_data=excluded.user_data,"                  \
		     " updated=excluded.updated")                                                  \
	X(GROUP_DELETE, "DELETE FROM groups WHERE name=?1")                                        \
	X(GROUP_USERS, "SELECT 'node', n.name FROM node_groups ng JOIN nodes n"                    \
		       " ON n.id=ng.node_id WHERE ng.group_id=(SELECT id FROM groups"              \
		       " WHERE name=?1) ORDER BY n.name LIMIT 11")                                 \
	X(GROUP_MEMBERS, "SELECT n.name FROM node_groups ng JOIN nodes n ON n.id=ng.node_id"       \
			 " WHERE ng.group_id=(SELECT id FROM groups WHERE name=?1)"                \
			 " ORDER BY n.name")                                                       \
	X(GROUP_ENSURE, "INSERT INTO groups(name, created, updated) VALUES(?1, ?2, ?2)"            \
			" ON CONFLICT(name) DO NOTHING")                                           \
	/* nodes */                                                                                \
	X(NODE_GET, "SELECT n.id, n.name, n.nid, n.arch, n.role, n.enabled, p.name,"               \
		    " n.params, n.metadata, n.user_data, n.state, n.last_stage, n.last_time,"      \
		    " n.created, n.updated, n.ipxe_efi FROM nodes n LEFT JOIN profiles p"          \
		    " ON p.id=n.profile_id WHERE n.name=?1")                                       \
	X(NODE_GET_ID, "SELECT n.id, n.name, n.nid, n.arch, n.role, n.enabled, p.name,"            \
		       " n.params, n.metadata, n.user_data, n.state, n.last_stage, n.last_time,"   \
		       " n.created, n.updated, n.ipxe_efi FROM nodes n LEFT JOIN profiles p"       \
		       " ON p.id=n.profile_id WHERE n.id=?1")                                      \
	X(NODE_LIST, "SELECT n.id, n.name, n.nid, n.arch, n.role, n.enabled, p.name,"              \
		     " n.params, n.metadata, n.user_data, n.state, n.last_stage, n.last_time,"     \
		     " n.created, n.updated, n.ipxe_efi FROM nodes n LEFT JOIN profiles p"         \
		     " ON p.id=n.profile_id WHERE (?1 IS NULL OR n.state=?1)"                      \
		     " AND (?2 IS NULL OR n.arch=?2) AND (?3 IS NULL OR n.enabled=?3)"             \
		     " AND (?4 IS NULL OR EXISTS(SELECT 1 FROM node_groups ng JOIN groups g"       \
		     " ON g.id=ng.group_id WHERE ng.node_id=n.id AND g.name=?4))"                  \
		     " ORDER BY n.name LIMIT ?5 OFFSET ?6")                                        \
	X(NODE_IFACES, "SELECT mac, ip FROM interfaces WHERE node_id=?1 ORDER BY position")        \
	X(NODE_GROUPS, "SELECT g.name FROM node_groups ng JOIN groups g ON g.id=ng.group_id"       \
		       " WHERE ng.node_id=?1 ORDER BY ng.position")                                \
	X(NODE_BOOT, "SELECT n.name, n.arch, n.enabled, p.name, n.params, (SELECT mac"             \
		     " FROM interfaces WHERE node_id=n.id ORDER BY position LIMIT 1) FROM nodes n" \
		     " LEFT JOIN profiles p ON p.id=n.profile_id WHERE n.id=?1")                   \
	X(NODE_GROUP_ROWS, "SELECT g.name, p.name, g.metadata, g.user_data FROM node_groups ng"    \
			   " JOIN groups g ON g.id=ng.group_id LEFT JOIN profiles p"               \
			   " ON p.id=g.profile_id WHERE ng.node_id=?1 ORDER BY ng.position")       \
	X(ALL_IFACES, "SELECT node_id, mac, ip FROM interfaces ORDER BY node_id, position")        \
	X(ALL_NODE_GROUPS, "SELECT ng.node_id, g.name FROM node_groups ng JOIN groups g"           \
			   " ON g.id=ng.group_id ORDER BY ng.node_id, ng.position")                \
	X(NODE_ID, "SELECT id FROM nodes WHERE name=?1")                                           \
	X(NODE_NAME, "SELECT name FROM nodes WHERE id=?1")                                         \
	X(NODE_NID_TAKEN, "SELECT name FROM nodes WHERE nid=?1 AND name<>?2")                      \
	X(MAC_TAKEN, "SELECT n.name FROM interfaces i JOIN nodes n ON n.id=i.node_id"              \
		     " WHERE i.mac=?1 AND n.name<>?2")                                             \
	X(IP_TAKEN, "SELECT n.name FROM interfaces i JOIN nodes n ON n.id=i.node_id"               \
		    " WHERE i.ip=?1 AND n.name<>?2")                                               \
	X(NODE_PUT, "INSERT INTO nodes(id, name, nid, arch, role, enabled, profile_id, params,"    \
		    " metadata, user_data, ipxe_efi, created, updated) VALUES((SELECT high+1"      \
		    " FROM node_ids), ?1, ?2, ?3, ?4,"                                             \
		    " ?5, (SELECT id FROM profiles WHERE name=?6), ?7, ?8, ?9, ?10, ?11, ?11)"     \
		    " ON CONFLICT(name) DO UPDATE SET nid=excluded.nid, arch=excluded.arch,"       \
		    " role=excluded.role, enabled=excluded.enabled,"                               \
		    " profile_id=excluded.profile_id, params=excluded.params,"                     \
		    " metadata=excluded.metadata, user_data=excluded.user_data,"                   \
		    " ipxe_efi=excluded.ipxe_efi, updated=excluded.updated RETURNING id")          \
	X(NODE_IFACES_CLEAR, "DELETE FROM interfaces WHERE node_id=?1")                            \
	X(NODE_IFACE_ADD, "INSERT INTO interfaces(mac, node_id, position, ip)"                     \
			  " VALUES(?1, ?2, ?3, ?4)")                                               \
	X(NODE_GROUPS_CLEAR, "DELETE FROM node_groups WHERE node_id=?1")                           \
	X(NODE_GROUP_ADD, "INSERT OR IGNORE INTO node_groups(node_id, group_id, position)"         \
			  " VALUES(?1, (SELECT id FROM groups WHERE name=?2), ?3)")                \
	X(NODE_DELETE, "DELETE FROM nodes WHERE name=?1")                                          \
	X(NODE_BY_IP, "SELECT node_id FROM interfaces WHERE ip=?1 UNION ALL"                       \
		      " SELECT node_id FROM interfaces WHERE last_ip=?1 LIMIT 1")                  \
	X(NODE_COUNTS, "SELECT count(*), sum(state='new'), sum(state='booting'),"                  \
		       " sum(state='ready'), sum(enabled=0) FROM nodes")                           \
	X(OTHER_COUNTS, "SELECT (SELECT count(*) FROM groups), (SELECT count(*) FROM images),"     \
			" (SELECT count(*) FROM profiles), (SELECT count(*) FROM discovered)")     \
	X(DISCOVERED_FORGET, "DELETE FROM discovered WHERE mac=?1")                                \
	/* node lookups */                                                                         \
	X(NODE_BY_MAC, "SELECT node_id FROM interfaces WHERE mac=?1")                              \
	X(NODE_BY_NID, "SELECT id FROM nodes WHERE nid=?1")                                        \
	/* tokens */                                                                               \
	X(TOKEN_ADD, "INSERT INTO tokens(name, hash, scope, created) VALUES(?1, ?2, ?3, ?4)")      \
	X(TOKEN_FIND, "SELECT scope, last_used FROM tokens WHERE hash=?1")                         \
	X(TOKEN_TOUCH, "UPDATE tokens SET last_used=?2 WHERE hash=?1")                             \
	X(TOKEN_LIST, "SELECT name, scope, created, last_used FROM tokens ORDER BY name")          \
	X(TOKEN_DELETE, "DELETE FROM tokens WHERE name=?1")                                        \
	/* events */                                                                               \
	X(EVENT_ADD, "INSERT INTO events(node_id, time_us, stage, source, detail)"                 \
		     " VALUES(?1, ?2, ?3, ?4, ?5)")                                                \
	X(EVENT_NODE, "UPDATE nodes SET state=COALESCE(?4, state),"                                \
		      " last_stage=CASE WHEN last_time IS NULL OR last_time<=?3 THEN ?2"           \
		      " ELSE last_stage END, last_time=MAX(COALESCE(last_time, ?3), ?3)"           \
		      " WHERE id=?1")                                                              \
	X(EVENT_LAST_IP, "UPDATE interfaces SET last_ip=?2 WHERE mac=?1"                           \
			 " AND last_ip IS NOT ?2")                                                 \
	X(EVENT_DISCOVERED, "INSERT INTO discovered(mac, ip, first_seen, last_seen, requests)"     \
			    " SELECT ?1, ?2, ?3, ?3, 1 WHERE NOT EXISTS (SELECT 1 FROM interfaces" \
			    " WHERE mac=?1) ON CONFLICT(mac) DO UPDATE SET ip=excluded.ip,"        \
			    " last_seen=excluded.last_seen, requests=requests+1")                  \
	X(EVENT_LIST, "SELECT time_us, stage, source, detail FROM (SELECT * FROM events"           \
		      " WHERE node_id=?1 ORDER BY time_us DESC, id DESC LIMIT ?2)"                 \
		      " ORDER BY time_us, id")                                                     \
	X(EVENT_PRUNE, "DELETE FROM events WHERE time_us < ?1")                                    \
	X(EVENT_CAP, "DELETE FROM events WHERE id IN (SELECT id FROM (SELECT id, row_number()"     \
		     " OVER (PARTITION BY node_id ORDER BY time_us DESC, id DESC) AS rn"           \
		     " FROM events) WHERE rn > ?1)")                                               \
	X(DISCOVERED_LIST, "SELECT mac, ip, first_seen, last_seen, requests FROM discovered"       \
			   " ORDER BY last_seen DESC")                                             \
	X(DISCOVERED_DELETE, "DELETE FROM discovered WHERE mac=?1")                                \
	X(DISCOVERED_EXISTS, "SELECT 1 FROM discovered WHERE mac=?1")                              \
	/* settings */                                                                             \
	X(SETTING_GET, "SELECT value FROM settings WHERE key=?1")                                  \
	X(SETTING_SET, "INSERT INTO settings(key, value) VALUES(?1, ?2) ON CONFLICT(key)"          \
		       " DO UPDATE SET value=excluded.value")                                      \
	X(SETTING_DEL, "DELETE FROM settings WHERE key=?1")                                        \
	/* DHCP */                                                                                 \
	X(DHCP_HOSTS, "SELECT i.mac, i.ip, CASE WHEN i.position=0 THEN n.name ELSE '' END,"        \
		      " n.enabled, n.ipxe_efi FROM interfaces i JOIN nodes n ON n.id=i.node_id"    \
		      " ORDER BY i.mac")                                                           \
	X(LEASE_SET, "INSERT INTO leases(mac, ip, expires, hostname, client_id)"                   \
		     " VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(mac) DO UPDATE SET ip=excluded.ip,"  \
		     " expires=excluded.expires, hostname=excluded.hostname,"                      \
		     " client_id=excluded.client_id")                                              \
	X(LEASE_DEL, "DELETE FROM leases WHERE mac=?1")                                            \
	X(LEASE_LIST, "SELECT mac, ip, expires, hostname, client_id FROM leases"                   \
		      " WHERE expires > ?1 ORDER BY mac")                                          \
	X(LEASE_SAME, "SELECT 1 FROM leases WHERE mac=?1 AND ip=?2 AND abs(expires - ?3) < 2")     \
	X(LEASE_IP, "SELECT ip FROM leases WHERE mac=?1 AND expires > ?2")                         \
	X(ADDR_HOLDERS,                                                                            \
	  "SELECT l.mac, COALESCE(i.node_id, 0) FROM leases l LEFT JOIN interfaces i"              \
	  " ON i.mac=l.mac WHERE l.ip=?1 AND l.expires > ?2 UNION"                                 \
	  " SELECT mac, node_id FROM interfaces WHERE ip=?1 LIMIT ?3")                             \
	/* Redfish: credentials, BMCs and the systems behind them */                               \
	X(CRED_PUT,                                                                                \
	  "INSERT INTO credentials(name, username, secret, created, updated)"                      \
	  " VALUES(?1, ?2, ?3, ?4, ?4) ON CONFLICT(name) DO UPDATE SET"                            \
	  " username=excluded.username, secret=excluded.secret, updated=excluded.updated")         \
	X(CRED_GET, "SELECT username, secret FROM credentials WHERE name=?1")                      \
	X(CRED_LIST, "SELECT name, username, created, updated FROM credentials ORDER BY name")     \
	X(CRED_USERS, "SELECT 'bmc', address FROM bmcs WHERE credential=?1 ORDER BY address"       \
		      " LIMIT 11")                                                                 \
	X(CRED_EXISTS, "SELECT 1 FROM credentials WHERE name=?1")                                  \
	X(CRED_DELETE, "DELETE FROM credentials WHERE name=?1")                                    \
	X(BMC_PUT, "INSERT INTO bmcs(address, port, scheme, insecure, credential, status,"         \
		   " message, mac, vendor, model, uuid, firmware, auth, last_seen, created)"       \
		   " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?14, ?13, ?13)"     \
		   " ON CONFLICT(address, port) DO UPDATE SET scheme=excluded.scheme,"             \
		   " insecure=excluded.insecure, credential=excluded.credential,"                  \
		   " status=excluded.status, message=excluded.message, mac=excluded.mac,"          \
		   " vendor=excluded.vendor, model=excluded.model, uuid=excluded.uuid,"            \
		   " firmware=excluded.firmware, auth=excluded.auth, last_seen=excluded.last_seen" \
		   " RETURNING id")                                                                \
	X(BMC_LIST, "SELECT id, address, port, scheme, insecure, credential, status, message,"     \
		    " mac, vendor, model, uuid, firmware, last_seen, created, auth FROM bmcs"      \
		    " ORDER BY address, port")                                                     \
	X(BMC_DELETE, "DELETE FROM bmcs WHERE address=?1")                                         \
	X(SYS_OF_BMC, "SELECT s.path, n.name, s.data FROM systems s LEFT JOIN nodes n"             \
		      " ON n.id=s.node_id WHERE s.bmc_id=?1 ORDER BY s.path")                      \
	X(SYS_CLEAR, "DELETE FROM systems WHERE bmc_id=?1")                                        \
	X(SYS_NODE, "SELECT node_id FROM systems WHERE bmc_id=?1 AND path=?2"                      \
		    " AND node_id IS NOT NULL")                                                    \
	X(SYS_PUT, "INSERT INTO systems(bmc_id, path, node_id, data) VALUES(?1, ?2, ?3, ?4)")      \
	X(SYS_OF_NODE, "SELECT b.address, b.port, b.scheme, b.insecure, b.credential, s.path,"     \
		       " s.data, b.auth FROM systems s JOIN bmcs b ON b.id=s.bmc_id"               \
		       " WHERE s.node_id=(SELECT id FROM nodes WHERE name=?1)")                    \
	X(SYS_POWER, "UPDATE systems SET data=json_set(data, '$.power_state', ?2,"                 \
		     " '$.power_checked', ?3)"                                                     \
		     " WHERE node_id=(SELECT id FROM nodes WHERE name=?1)")

#define STORE_X_ENUM(id, sql) ST_##id,
enum store_stmt { STORE_STATEMENTS(STORE_X_ENUM) ST_COUNT };
#undef STORE_X_ENUM

/* ---- connections ----------------------------------------------------- */

enum store_txn_kind { STORE_TXN_NONE, STORE_TXN_READ, STORE_TXN_WRITE };

struct store_conn {
	sqlite3 *db;
	sqlite3_stmt *stmt[ST_COUNT]; /* prepared on first use */
	enum store_txn_kind txn;      /* the transaction store_txn_*() opened */
	bool txn_bump;                /* a write inside it changed boot-relevant data */
	bool writing;                 /* inside a write transaction (BEGIN IMMEDIATE) */
	struct store *st;             /* the store it belongs to */
	struct store_conn *next;      /* all connections, for store_free */
};

struct store {
	char *path;
	pthread_key_t key;    /* this thread's struct store_conn */
	pthread_mutex_t lock; /* guards conns and write_why */
	struct store_conn *conns;
	_Atomic uint64_t generation;
	_Atomic uint64_t lease_generation; /* bumped by every lease written or dropped */
	_Atomic bool write_failed;         /* the last write failed for the disk's sake */
	char write_why[256];               /* why, while write_failed */
};

/* This thread's connection, opened on first use, its statements left on a
 * row reset (outside a transaction); NULL on failure (recorded). */
struct store_conn *store_conn(struct store *st);

/* ---- one call: connection, statement, parameters --------------------- */

enum store_arg_type {
	STORE_ARG_NULL,
	STORE_ARG_TEXT,
	STORE_ARG_INT,
	STORE_ARG_BLOB,
	STORE_ARG_JSON
};

/* One parameter to bind; build it with the macros below. */
struct store_arg {
	enum store_arg_type type;
	const char *text;  /* STORE_ARG_TEXT; NULL binds NULL */
	sqlite3_int64 num; /* STORE_ARG_INT: the value; STORE_ARG_BLOB: its size */
	const void *blob;  /* STORE_ARG_BLOB */
	json_t *json;      /* STORE_ARG_JSON: string, integer, bool, null or (else) its text */
};

#define STORE_NULL ((struct store_arg){.type = STORE_ARG_NULL})
#define STORE_TEXT(v) ((struct store_arg){.type = STORE_ARG_TEXT, .text = (v)})
#define STORE_INT(v) ((struct store_arg){.type = STORE_ARG_INT, .num = (sqlite3_int64)(v)})
#define STORE_BLOB(p, n) \
	((struct store_arg){.type = STORE_ARG_BLOB, .blob = (p), .num = (sqlite3_int64)(n)})
#define STORE_JSON(j) ((struct store_arg){.type = STORE_ARG_JSON, .json = (j)})

/*
 * Statement id on connection c, reset, with args bound to ?1, ?2, ...;
 * NULL on failure (recorded).  Use through store_qc()/store_q().
 */
sqlite3_stmt *store_bind(struct store_conn *c, enum store_stmt id, const struct store_arg *args,
			 size_t nargs);
/* The same on this thread's connection, which goes to *cp. */
sqlite3_stmt *store_query(struct store *st, struct store_conn **cp, enum store_stmt id,
			  const struct store_arg *args, size_t nargs);

/* The argument list of store_q/store_qc as (array, count); empty allowed. */
#define STORE_ARGS(...)                                                        \
	((const struct store_arg[]){STORE_NULL, __VA_ARGS__} + 1),             \
		(sizeof((const struct store_arg[]){STORE_NULL, __VA_ARGS__}) / \
			 sizeof(struct store_arg) -                            \
		 1)
/*
 * s = store_q(st, &c, ST_X, STORE_TEXT(name), STORE_INT(id));
 * if (s == NULL)
 *	return -EIO;
 */
#define store_q(st, cp, id, ...) store_query((st), (cp), (id), STORE_ARGS(__VA_ARGS__))
#define store_qc(c, id, ...) store_bind((c), (id), STORE_ARGS(__VA_ARGS__))

/* ---- stepping -------------------------------------------------------- */

/* One step: 1 a row, 0 done, -EIO (recorded). */
int store_step(struct store_conn *c, sqlite3_stmt *s);
/* A step that must finish: 0, -EEXIST on a constraint, -EIO (recorded). */
int store_done(struct store_conn *c, sqlite3_stmt *s);
/* store_done, then -ENOENT if it changed no row. */
int store_done_changed(struct store_conn *c, sqlite3_stmt *s);
/* A step that must give a row: 0 (on the row), -ENOENT, -EIO (recorded). */
int store_one(struct store_conn *c, sqlite3_stmt *s);
/* Runs a one-parameter existence query: 1 if a row, 0 if none, -EIO. */
int store_has_row(struct store_conn *c, enum store_stmt id, const char *arg);
/* The first column of the one row of id with arg as ?1, as an id; -ENOENT, -EIO. */
int store_one_id(struct store *st, enum store_stmt id, struct store_arg arg, int64_t *out);
/*
 * Steps s to its end, each row made into an element of a new array by
 * row(ctx, s).  *out is the caller's.  0, -ENOMEM or -EIO.
 */
int store_rows(struct store_conn *c, sqlite3_stmt *s,
	       json_t *(*row)(const void *ctx, sqlite3_stmt *s), const void *ctx, json_t **out);

/* Records why the last call failed: "<statement>: <SQLite's message>"; -EIO. */
int store_fail(struct store_conn *c, sqlite3_stmt *s);
/* Records a failure in words; -EIO. */
int store_failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- writes ---------------------------------------------------------- */

/*
 * Every public write runs between these: store_write_begin() opens a
 * transaction (BEGIN IMMEDIATE), or joins the one the caller opened with
 * store_txn_begin(); store_write_end() commits (bumping the generation if
 * bump) or, when rc < 0, rolls back.  Inside the caller's transaction it
 * only notes the bump and returns rc: the caller commits or rolls back.
 */
int store_write_begin(struct store *st, struct store_conn **cp);
int store_write_end(struct store *st, struct store_conn *c, int rc, bool bump);

/* ---- values ---------------------------------------------------------- */

/* snprintf that fails: 0, or -E2BIG if out was too small (out then holds a prefix). */
int store_fmt(char *out, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Text for a person (an error message, a field path) into out; text that
 * does not fit is cut and ends in "...". */
void store_msg(char *out, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Fills *err (when not NULL), as store_msg does. */
void store_seterr(struct store_err *err, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static inline const char *store_col_text(sqlite3_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(s, i);
}

/* Column i as a JSON string, or null. */
json_t *store_col_str(sqlite3_stmt *s, int i);
/* Column i (microseconds) as an RFC 3339 string, or null. */
json_t *store_col_time(sqlite3_stmt *s, int i);
/* Column i (JSON text) parsed; {} if NULL or not JSON. */
json_t *store_col_json(sqlite3_stmt *s, int i);

/* ---- references between objects ------------------------------------- */

struct store_ref {
	const char *field;      /* JSON member naming another object */
	enum store_stmt exists; /* statement checking that it exists */
	const char *what;       /* "image", "profile" */
};

/* Checks that every object obj refers to exists; -ENXIO names prefix+field in *err. */
int store_check_refs(struct store_conn *c, const struct store_ref *refs, int nrefs, json_t *obj,
		     const char *prefix, struct store_err *err);

#endif
