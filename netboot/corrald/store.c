/*
 * store: SQLite persistence.  See store.h for the contract.
 *
 * Durability: WAL with synchronous=FULL, so a write that returned 0 (and so
 * an API call that answered 2xx) survives a crash of corrald or of the
 * machine.  Boot events are written in batches by the events module and
 * may lose the last fraction of a second on a crash; that is by design.
 */
#include "store.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "buf.h"
#include "log.h"

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
};

#define STORE_NMIGRATIONS ((int)(sizeof(store_migrations) / sizeof(store_migrations[0])))

/* ---- statements ------------------------------------------------------ */

#define STORE_STATEMENTS(X)                                                                        \
	X(BEGIN, "BEGIN IMMEDIATE")                                                                \
	X(COMMIT, "COMMIT")                                                                        \
	X(ROLLBACK, "ROLLBACK")                                                                    \
	X(PING, "SELECT 1")                                                                        \
	/* images */                                                                               \
	X(IMAGE_GET, "SELECT name, arch, kernel, initrd, rootfs, params, created, updated"         \
		     " FROM images WHERE name=?1")                                                 \
	X(IMAGE_LIST, "SELECT name, arch, kernel, initrd, rootfs, params, created, updated"        \
		      " FROM images ORDER BY name")                                                \
	X(IMAGE_EXISTS, "SELECT 1 FROM images WHERE name=?1")                                      \
	X(IMAGE_PUT, "INSERT INTO images(name, arch, kernel, initrd, rootfs, params, created,"     \
		     " updated) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7) ON CONFLICT(name) DO"       \
		     " UPDATE SET arch=excluded.arch, kernel=excluded.kernel,"                     \
		     " initrd=excluded.initrd, rootfs=excluded.rootfs, params=excluded.params,"    \
		     " updated=excluded.updated")                                                  \
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
	/* boot resolution */                                                                      \
	X(BOOT_BY_MAC, "SELECT node_id FROM interfaces WHERE mac=?1")                              \
	X(BOOT_BY_NID, "SELECT id FROM nodes WHERE nid=?1")                                        \
	X(BOOT_NODE, "SELECT n.name, n.arch, n.enabled, n.params, n.profile_id,"                   \
		     " (SELECT mac FROM interfaces WHERE node_id=n.id ORDER BY position"           \
		     " LIMIT 1) FROM nodes n WHERE n.id=?1")                                       \
	X(BOOT_GROUP_PROFILE, "SELECT g.name, g.profile_id FROM node_groups ng JOIN groups g"      \
			      " ON g.id=ng.group_id WHERE ng.node_id=?1"                           \
			      " AND g.profile_id IS NOT NULL ORDER BY ng.position LIMIT 1")        \
	X(BOOT_DEFAULT_PROFILE, "SELECT p.id FROM settings s JOIN profiles p"                      \
				" ON p.name=s.value WHERE s.key='default_profile'")                \
	X(BOOT_PROFILE, "SELECT p.name, p.kernel, p.initrd, p.params, i.name, i.kernel,"           \
			" i.initrd, i.rootfs, i.params FROM profiles p LEFT JOIN images i"         \
			" ON i.id=p.image_id WHERE p.id=?1")                                       \
	X(CI_GROUPS, "SELECT g.metadata, g.user_data FROM node_groups ng JOIN groups g"            \
		     " ON g.id=ng.group_id WHERE ng.node_id=?1 ORDER BY ng.position")              \
	X(CI_NODE, "SELECT name, metadata, user_data FROM nodes WHERE id=?1")                      \
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
	X(LEASE_SAME, "SELECT 1 FROM leases WHERE mac=?1 AND ip=?2 AND abs(expires - ?3) < 2")     \
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
	X(SYS_PUT, "INSERT INTO systems(bmc_id, path, node_id, data) VALUES(?1, ?2, ?3, ?4)")      \
	X(SYS_OF_NODE, "SELECT b.address, b.port, b.scheme, b.insecure, b.credential, s.path,"     \
		       " s.data, b.auth FROM systems s JOIN bmcs b ON b.id=s.bmc_id"               \
		       " WHERE s.node_id=(SELECT id FROM nodes WHERE name=?1)")                    \
	X(SYS_POWER, "UPDATE systems SET data=json_set(data, '$.power_state', ?2,"                 \
		     " '$.power_checked', ?3)"                                                     \
		     " WHERE node_id=(SELECT id FROM nodes WHERE name=?1)")                        \
	X(MAC_OWNER, "SELECT n.name FROM interfaces i JOIN nodes n ON n.id=i.node_id"              \
		     " WHERE i.mac=?1")                                                            \
	X(LEASE_LIST, "SELECT mac, ip, expires, hostname, client_id FROM leases"                   \
		      " WHERE expires > ?1 ORDER BY mac")

#define X_ENUM(id, sql) ST_##id,
#define X_SQL(id, sql) [ST_##id] = sql,
enum store_stmt { STORE_STATEMENTS(X_ENUM) ST_COUNT };
static const char *const store_sql[ST_COUNT] = {STORE_STATEMENTS(X_SQL)};
#undef X_ENUM
#undef X_SQL

struct store_conn {
	sqlite3 *db;
	sqlite3_stmt *stmt[ST_COUNT];
	struct store_conn *next; /* all connections, for store_free */
};

struct store {
	char *path;
	pthread_key_t key;
	pthread_mutex_t lock; /* guards conns */
	struct store_conn *conns;
	_Atomic uint64_t generation;
};

/* ---- connections ----------------------------------------------------- */

int64_t store_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void store_time_str(int64_t us, char *out, size_t outlen)
{
	time_t t = (time_t)(us / 1000000);
	struct tm tm;
	gmtime_r(&t, &tm);
	char day[32];
	strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, outlen, "%s.%03dZ", day, (int)((us % 1000000) / 1000));
}

static int store_exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		log_warnx("store: %s", msg ? msg : "error");
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
		log_warnx("store: cannot open %s: %s", path,
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
 * starts here, so each starts on a fresh snapshot.
 */
static struct store_conn *store_conn(struct store *st)
{
	struct store_conn *c = pthread_getspecific(st->key);
	if (c != NULL) {
		store_idle(c);
		return c;
	}
	if (store_conn_open(st->path, &c) < 0)
		return NULL;
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
			log_warnx("store: prepare %d: %s", (int)id, sqlite3_errmsg(c->db));
			return NULL;
		}
		c->stmt[id] = s;
		return s;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return s;
}

static int store_migrate(struct store_conn *c)
{
	sqlite3_stmt *s;
	int version = 0;
	if (sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK)
		return -EIO;
	if (sqlite3_step(s) == SQLITE_ROW)
		version = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	if (version > STORE_NMIGRATIONS) {
		log_warnx("store: database schema %d is newer than this corrald (%d)", version,
			  STORE_NMIGRATIONS);
		return -EPROTO;
	}
	for (int v = version; v < STORE_NMIGRATIONS; v++) {
		char bump[64];
		snprintf(bump, sizeof(bump), "PRAGMA user_version=%d", v + 1);
		if (store_exec(c->db, "BEGIN IMMEDIATE") < 0)
			return -EIO;
		if (store_exec(c->db, store_migrations[v]) < 0 || store_exec(c->db, bump) < 0) {
			store_exec(c->db, "ROLLBACK");
			log_warnx("store: migration %d failed", v + 1);
			return -EIO;
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

/* ---- small helpers --------------------------------------------------- */

static void store_seterr(struct store_err *err, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void store_seterr(struct store_err *err, const char *field, const char *fmt, ...)
{
	if (err == NULL)
		return;
	snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
}

static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
}

/* Binds a JSON member: string, integer, bool, null, or (object) its text. */
static void bind_json(sqlite3_stmt *s, int i, json_t *v)
{
	if (v == NULL || json_is_null(v)) {
		sqlite3_bind_null(s, i);
	} else if (json_is_string(v)) {
		sqlite3_bind_text(s, i, json_string_value(v), (int)json_string_length(v),
				  SQLITE_TRANSIENT);
	} else if (json_is_integer(v)) {
		sqlite3_bind_int64(s, i, json_integer_value(v));
	} else if (json_is_boolean(v)) {
		sqlite3_bind_int(s, i, json_is_true(v));
	} else {
		char *txt = json_dumps(v, JSON_COMPACT);
		if (txt == NULL)
			sqlite3_bind_null(s, i);
		else
			sqlite3_bind_text(s, i, txt, -1, free);
	}
}

static const char *col_text(sqlite3_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(s, i);
}

static json_t *col_str_or_null(sqlite3_stmt *s, int i)
{
	const char *v = col_text(s, i);
	return v ? json_string(v) : json_null();
}

static json_t *col_time(sqlite3_stmt *s, int i)
{
	if (sqlite3_column_type(s, i) == SQLITE_NULL)
		return json_null();
	char t[40];
	store_time_str(sqlite3_column_int64(s, i), t, sizeof(t));
	return json_string(t);
}

static json_t *col_json(sqlite3_stmt *s, int i)
{
	const char *v = col_text(s, i);
	json_t *j = v ? json_loads(v, 0, NULL) : NULL;
	return j ? j : json_object();
}

/* Step that must finish (no rows): 0, -EEXIST on a constraint, -EIO. */
static int store_done(struct store_conn *c, sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);
	if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		return 0;
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return -EEXIST;
	log_warnx("store: %s: %s", sqlite3_sql(s), sqlite3_errmsg(c->db));
	return -EIO;
}

void store_release(struct store *st)
{
	struct store_conn *c = pthread_getspecific(st->key);
	if (c != NULL)
		store_idle(c);
}

static int store_begin(struct store_conn *c)
{
	store_idle(c);
	sqlite3_stmt *s = store_stmt(c, ST_BEGIN);
	return s ? store_done(c, s) : -EIO;
}

static int store_commit(struct store *st, struct store_conn *c, bool bump)
{
	sqlite3_stmt *s = store_stmt(c, ST_COMMIT);
	int rc = s ? store_done(c, s) : -EIO;
	if (rc == 0 && bump)
		atomic_fetch_add(&st->generation, 1);
	return rc;
}

static void store_rollback(struct store_conn *c)
{
	sqlite3_stmt *s = store_stmt(c, ST_ROLLBACK);
	if (s != NULL && sqlite3_step(s) != SQLITE_DONE)
		log_warnx("store: rollback: %s", sqlite3_errmsg(c->db));
}

/* Runs a one-parameter existence query: 1 if a row, 0 if none, -EIO. */
static int store_has_row(struct store_conn *c, enum store_stmt id, const char *arg)
{
	sqlite3_stmt *s = store_stmt(c, id);
	if (s == NULL)
		return -EIO;
	bind_text(s, 1, arg);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : -EIO;
}

int store_ping(struct store *st)
{
	struct store_conn *c = store_conn(st);
	if (c == NULL)
		return -EIO;
	sqlite3_stmt *s = store_stmt(c, ST_PING);
	return s && sqlite3_step(s) == SQLITE_ROW ? 0 : -EIO;
}

/* ---- generic objects: images, profiles, groups ----------------------- */

enum col_type { COL_TEXT, COL_TEXT_NULL, COL_JSON, COL_TIME };

struct store_col {
	const char *name;
	enum col_type type;
};

struct store_ref {
	const char *field;      /* JSON member naming another object */
	enum store_stmt exists; /* statement checking that it exists */
	const char *what;       /* "image", "profile" */
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
	{"name", COL_TEXT},    {"arch", COL_TEXT},        {"kernel", COL_TEXT},
	{"initrd", COL_TEXT},  {"rootfs", COL_TEXT_NULL}, {"params", COL_TEXT},
	{"created", COL_TIME}, {"updated", COL_TIME},
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
	[STORE_IMAGE] = {"image", image_cols, 8, 6, ST_IMAGE_GET, ST_IMAGE_LIST, ST_IMAGE_EXISTS,
			 ST_IMAGE_PUT, ST_IMAGE_DELETE, ST_IMAGE_USERS, NULL, 0},
	[STORE_PROFILE] = {"profile", profile_cols, 7, 5, ST_PROFILE_GET, ST_PROFILE_LIST,
			   ST_PROFILE_EXISTS, ST_PROFILE_PUT, ST_PROFILE_DELETE, ST_PROFILE_USERS,
			   profile_refs, 1},
	[STORE_GROUP] = {"group", group_cols, 7, 5, ST_GROUP_GET, ST_GROUP_LIST, ST_GROUP_EXISTS,
			 ST_GROUP_PUT, ST_GROUP_DELETE, ST_GROUP_USERS, group_refs, 1},
};

static json_t *store_obj_row(const struct store_kind_desc *d, sqlite3_stmt *s)
{
	json_t *o = json_object();
	for (int i = 0; i < d->ncols && o != NULL; i++) {
		json_t *v;
		switch (d->cols[i].type) {
		case COL_TEXT:
			v = json_string(col_text(s, i) ? col_text(s, i) : "");
			break;
		case COL_TEXT_NULL:
			v = col_str_or_null(s, i);
			break;
		case COL_JSON:
			v = col_json(s, i);
			break;
		default:
			v = col_time(s, i);
			break;
		}
		json_object_set_new(o, d->cols[i].name, v);
	}
	return o;
}

/* Adds "members" to a group object. */
static int store_group_members(struct store_conn *c, json_t *g)
{
	sqlite3_stmt *s = store_stmt(c, ST_GROUP_MEMBERS);
	if (s == NULL)
		return -EIO;
	bind_text(s, 1, json_string_value(json_object_get(g, "name")));
	json_t *m = json_array();
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		json_array_append_new(m, json_string(col_text(s, 0)));
	json_object_set_new(g, "members", m);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

/*
 * Steps s to its end, each row made into an element of a new array by
 * row(ctx, s) (a row it cannot make, NULL, is left out).  *out is the
 * caller's.  0 or -EIO.
 */
static int store_rows(sqlite3_stmt *s, json_t *(*row)(const void *ctx, sqlite3_stmt *s),
		      const void *ctx, json_t **out)
{
	json_t *arr = json_array();
	int rc;
	if (arr == NULL)
		return -ENOMEM;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		json_array_append_new(arr, row(ctx, s));
	if (rc != SQLITE_DONE) {
		json_decref(arr);
		return -EIO;
	}
	*out = arr;
	return 0;
}

static json_t *store_obj_row_of(const void *ctx, sqlite3_stmt *s)
{
	return store_obj_row(ctx, s);
}

int store_obj_list(struct store *st, enum store_kind kind, json_t **out)
{
	const struct store_kind_desc *d = &store_kinds[kind];
	struct store_conn *c = store_conn(st);
	sqlite3_stmt *s = c ? store_stmt(c, d->list) : NULL;
	if (s == NULL)
		return -EIO;
	json_t *arr;
	if (store_rows(s, store_obj_row_of, d, &arr) < 0)
		return -EIO;
	if (kind == STORE_GROUP) {
		size_t i;
		json_t *g;
		json_array_foreach(arr, i, g) {
			if (store_group_members(c, g) < 0) {
				json_decref(arr);
				return -EIO;
			}
		}
	}
	*out = arr;
	return 0;
}

int store_obj_get(struct store *st, enum store_kind kind, const char *name, json_t **out)
{
	const struct store_kind_desc *d = &store_kinds[kind];
	struct store_conn *c = store_conn(st);
	sqlite3_stmt *s = c ? store_stmt(c, d->get) : NULL;
	if (s == NULL)
		return -EIO;
	bind_text(s, 1, name);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return -EIO;
	json_t *o = store_obj_row(d, s);
	if (kind == STORE_GROUP && store_group_members(c, o) < 0) {
		json_decref(o);
		return -EIO;
	}
	*out = o;
	return 0;
}

/* Checks that every object obj refers to exists; -ENXIO names the field. */
static int store_check_refs(struct store_conn *c, const struct store_ref *refs, int nrefs,
			    json_t *obj, const char *prefix, struct store_err *err)
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
			snprintf(field, sizeof(field), "%s%s", prefix, refs[i].field);
			store_seterr(err, field, "no such %s: %s", refs[i].what, name);
			return -ENXIO;
		}
	}
	return 0;
}

int store_obj_put(struct store *st, enum store_kind kind, json_t *obj, bool create_only,
		  bool *created, struct store_err *err)
{
	const struct store_kind_desc *d = &store_kinds[kind];
	const char *name = json_string_value(json_object_get(obj, "name"));
	struct store_conn *c = store_conn(st);
	if (c == NULL || name == NULL)
		return -EIO;
	int rc = store_begin(c);
	if (rc < 0)
		return rc;
	rc = store_has_row(c, d->exists, name);
	if (rc < 0)
		goto err_txn;
	*created = rc == 0;
	if (create_only && !*created) {
		store_seterr(err, "name", "%s %s already exists", d->what, name);
		rc = -EEXIST;
		goto err_txn;
	}
	rc = store_check_refs(c, d->refs, d->nrefs, obj, "", err);
	if (rc < 0)
		goto err_txn;
	sqlite3_stmt *s = store_stmt(c, d->put);
	if (s == NULL) {
		rc = -EIO;
		goto err_txn;
	}
	for (int i = 0; i < d->nput; i++)
		bind_json(s, i + 1, json_object_get(obj, d->cols[i].name));
	sqlite3_bind_int64(s, d->nput + 1, store_now_us());
	rc = store_done(c, s);
	if (rc < 0)
		goto err_txn;
	return store_commit(st, c, true);

err_txn:
	store_rollback(c);
	return rc;
}

int store_obj_delete(struct store *st, enum store_kind kind, const char *name,
		     struct store_err *err)
{
	const struct store_kind_desc *d = &store_kinds[kind];
	struct store_conn *c = store_conn(st);
	if (c == NULL)
		return -EIO;
	int rc = store_begin(c);
	if (rc < 0)
		return rc;
	rc = store_has_row(c, d->exists, name);
	if (rc <= 0) {
		rc = rc == 0 ? -ENOENT : rc;
		goto err_txn;
	}
	/* In use?  Name up to ten users so the operator knows what to change. */
	sqlite3_stmt *s = store_stmt(c, d->users);
	if (s == NULL) {
		rc = -EIO;
		goto err_txn;
	}
	bind_text(s, 1, name);
	char users[200] = "";
	size_t len = 0;
	int n = 0;
	while (sqlite3_step(s) == SQLITE_ROW) {
		if (++n > 10)
			continue;
		int k = snprintf(users + len, sizeof(users) - len, "%s%s %s", n > 1 ? ", " : "",
				 col_text(s, 0), col_text(s, 1));
		if (k > 0 && (size_t)k < sizeof(users) - len)
			len += (size_t)k;
	}
	if (n > 0) {
		store_seterr(err, NULL, "%s %s is in use by %s%s", d->what, name, users,
			     n > 10 ? " and more" : "");
		rc = -EBUSY;
		goto err_txn;
	}
	s = store_stmt(c, d->del);
	if (s == NULL) {
		rc = -EIO;
		goto err_txn;
	}
	bind_text(s, 1, name);
	rc = store_done(c, s);
	if (rc < 0)
		goto err_txn;
	return store_commit(st, c, true);

err_txn:
	store_rollback(c);
	return rc;
}

/* ---- nodes ----------------------------------------------------------- */

/* Node object from a NODE_GET/NODE_LIST row (without interfaces/groups). */
static json_t *store_node_row(sqlite3_stmt *s)
{
	json_t *n = json_object();
	json_object_set_new(n, "name", json_string(col_text(s, 1)));
	json_object_set_new(n, "nid",
			    sqlite3_column_type(s, 2) == SQLITE_NULL ?
				    json_null() :
				    json_integer(sqlite3_column_int64(s, 2)));
	json_object_set_new(n, "arch", json_string(col_text(s, 3)));
	json_object_set_new(n, "role", json_string(col_text(s, 4)));
	json_object_set_new(n, "groups", json_array());
	json_object_set_new(n, "enabled", json_boolean(sqlite3_column_int(s, 5)));
	json_object_set_new(n, "profile", col_str_or_null(s, 6));
	json_object_set_new(n, "params", json_string(col_text(s, 7)));
	json_object_set_new(n, "interfaces", json_array());
	json_object_set_new(n, "metadata", col_json(s, 8));
	json_object_set_new(n, "user_data", json_string(col_text(s, 9)));
	json_object_set_new(n, "state", json_string(col_text(s, 10)));
	if (col_text(s, 11) != NULL)
		json_object_set_new(
			n, "last_event",
			json_pack("{s:s, s:o}", "stage", col_text(s, 11), "time", col_time(s, 12)));
	else
		json_object_set_new(n, "last_event", json_null());
	json_object_set_new(n, "created", col_time(s, 13));
	json_object_set_new(n, "updated", col_time(s, 14));
	json_object_set_new(n, "ipxe_efi", json_string(col_text(s, 15)));
	return n;
}

static json_t *store_iface(sqlite3_stmt *s, int mac_col)
{
	return json_pack("{s:s, s:o}", "mac", col_text(s, mac_col), "ip",
			 col_str_or_null(s, mac_col + 1));
}

int store_node_get(struct store *st, const char *name, json_t **out)
{
	struct store_conn *c = store_conn(st);
	sqlite3_stmt *s = c ? store_stmt(c, ST_NODE_GET) : NULL;
	if (s == NULL)
		return -EIO;
	bind_text(s, 1, name);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return -EIO;
	int64_t id = sqlite3_column_int64(s, 0);
	json_t *n = store_node_row(s);

	s = store_stmt(c, ST_NODE_IFACES);
	if (s == NULL)
		goto err_node;
	sqlite3_bind_int64(s, 1, id);
	json_t *ifs = json_object_get(n, "interfaces");
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		json_array_append_new(ifs, store_iface(s, 0));
	if (rc != SQLITE_DONE)
		goto err_node;

	s = store_stmt(c, ST_NODE_GROUPS);
	if (s == NULL)
		goto err_node;
	sqlite3_bind_int64(s, 1, id);
	json_t *gs = json_object_get(n, "groups");
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		json_array_append_new(gs, json_string(col_text(s, 0)));
	if (rc != SQLITE_DONE)
		goto err_node;
	*out = n;
	return 0;

err_node:
	json_decref(n);
	return -EIO;
}

/*
 * Lists nodes in three queries whatever their number (nodes, then every
 * interface, then every membership), joined here by node id.
 */
int store_node_list(struct store *st, const struct store_node_filter *f, json_t **out)
{
	struct store_conn *c = store_conn(st);
	sqlite3_stmt *s = c ? store_stmt(c, ST_NODE_LIST) : NULL;
	if (s == NULL)
		return -EIO;
	bind_text(s, 1, f->state);
	bind_text(s, 2, f->arch);
	if (f->enabled >= 0)
		sqlite3_bind_int(s, 3, f->enabled);
	bind_text(s, 4, f->group);
	sqlite3_bind_int64(s, 5, f->limit);
	sqlite3_bind_int64(s, 6, f->offset);

	json_t *arr = json_array();
	json_t *by_id = json_object(); /* "id" → node, borrowed from arr */
	char key[24];
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		json_t *n = store_node_row(s);
		snprintf(key, sizeof(key), "%lld", (long long)sqlite3_column_int64(s, 0));
		json_object_set(by_id, key, n);
		json_array_append_new(arr, n);
	}
	if (rc != SQLITE_DONE)
		goto err_list;

	s = store_stmt(c, ST_ALL_IFACES);
	if (s == NULL)
		goto err_list;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		snprintf(key, sizeof(key), "%lld", (long long)sqlite3_column_int64(s, 0));
		json_t *n = json_object_get(by_id, key);
		if (n != NULL)
			json_array_append_new(json_object_get(n, "interfaces"), store_iface(s, 1));
	}
	if (rc != SQLITE_DONE)
		goto err_list;

	s = store_stmt(c, ST_ALL_NODE_GROUPS);
	if (s == NULL)
		goto err_list;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		snprintf(key, sizeof(key), "%lld", (long long)sqlite3_column_int64(s, 0));
		json_t *n = json_object_get(by_id, key);
		if (n != NULL)
			json_array_append_new(json_object_get(n, "groups"),
					      json_string(col_text(s, 1)));
	}
	if (rc != SQLITE_DONE)
		goto err_list;
	json_decref(by_id);
	*out = arr;
	return 0;

err_list:
	json_decref(by_id);
	json_decref(arr);
	return -EIO;
}

/* Name of the node that holds value under stmt (other than name); 1 if taken. */
static int store_taken(struct store_conn *c, enum store_stmt id, sqlite3_int64 ival,
		       const char *sval, const char *name, char *owner, size_t ownerlen)
{
	sqlite3_stmt *s = store_stmt(c, id);
	if (s == NULL)
		return -EIO;
	if (sval != NULL)
		bind_text(s, 1, sval);
	else
		sqlite3_bind_int64(s, 1, ival);
	bind_text(s, 2, name);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		snprintf(owner, ownerlen, "%s", col_text(s, 0));
		return 1;
	}
	return rc == SQLITE_DONE ? 0 : -EIO;
}

/* Writes one node inside an open transaction.  prefix goes before field names. */
static int store_node_put_txn(struct store_conn *c, json_t *node, bool create_only, bool *created,
			      const char *prefix, struct store_err *err)
{
	const char *name = json_string_value(json_object_get(node, "name"));
	char owner[64], field[96];
	int rc;
	if (name == NULL)
		return -EINVAL;

	rc = store_has_row(c, ST_NODE_ID, name);
	if (rc < 0)
		return rc;
	*created = rc == 0;
	if (create_only && !*created) {
		snprintf(field, sizeof(field), "%sname", prefix);
		store_seterr(err, field, "node %s already exists", name);
		return -EEXIST;
	}
	json_t *nid = json_object_get(node, "nid");
	if (json_is_integer(nid)) {
		rc = store_taken(c, ST_NODE_NID_TAKEN, json_integer_value(nid), NULL, name, owner,
				 sizeof(owner));
		if (rc != 0) {
			snprintf(field, sizeof(field), "%snid", prefix);
			store_seterr(err, field, "NID %lld belongs to node %s",
				     (long long)json_integer_value(nid), owner);
			return rc < 0 ? rc : -EEXIST;
		}
	}
	json_t *ifs = json_object_get(node, "interfaces");
	size_t i;
	json_t *ifc;
	json_array_foreach(ifs, i, ifc) {
		const char *mac = json_string_value(json_object_get(ifc, "mac"));
		const char *ip = json_string_value(json_object_get(ifc, "ip"));
		rc = store_taken(c, ST_MAC_TAKEN, 0, mac, name, owner, sizeof(owner));
		if (rc != 0) {
			snprintf(field, sizeof(field), "%sinterfaces[%zu].mac", prefix, i);
			store_seterr(err, field, "MAC %s belongs to node %s", mac, owner);
			return rc < 0 ? rc : -EEXIST;
		}
		if (ip == NULL)
			continue;
		rc = store_taken(c, ST_IP_TAKEN, 0, ip, name, owner, sizeof(owner));
		if (rc != 0) {
			snprintf(field, sizeof(field), "%sinterfaces[%zu].ip", prefix, i);
			store_seterr(err, field, "IP %s belongs to node %s", ip, owner);
			return rc < 0 ? rc : -EEXIST;
		}
	}
	static const struct store_ref node_refs[] = {{"profile", ST_PROFILE_EXISTS, "profile"}};
	rc = store_check_refs(c, node_refs, 1, node, prefix, err);
	if (rc < 0)
		return rc;

	int64_t now = store_now_us();
	sqlite3_stmt *s = store_stmt(c, ST_NODE_PUT);
	if (s == NULL)
		return -EIO;
	static const char *const put_fields[] = {"name",      "nid",     "arch",   "role",
						 "enabled",   "profile", "params", "metadata",
						 "user_data", "ipxe_efi"};
	for (int k = 0; k < 10; k++)
		bind_json(s, k + 1, json_object_get(node, put_fields[k]));
	sqlite3_bind_int64(s, 11, now);
	if (sqlite3_step(s) != SQLITE_ROW) {
		log_warnx("store: node put: %s", sqlite3_errmsg(c->db));
		return -EIO;
	}
	int64_t id = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);

	s = store_stmt(c, ST_NODE_IFACES_CLEAR);
	if (s == NULL)
		return -EIO;
	sqlite3_bind_int64(s, 1, id);
	if ((rc = store_done(c, s)) < 0)
		return rc;
	json_array_foreach(ifs, i, ifc) {
		const char *mac = json_string_value(json_object_get(ifc, "mac"));
		s = store_stmt(c, ST_NODE_IFACE_ADD);
		if (s == NULL)
			return -EIO;
		bind_text(s, 1, mac);
		sqlite3_bind_int64(s, 2, id);
		sqlite3_bind_int64(s, 3, (sqlite3_int64)i);
		bind_text(s, 4, json_string_value(json_object_get(ifc, "ip")));
		if ((rc = store_done(c, s)) < 0) {
			snprintf(field, sizeof(field), "%sinterfaces[%zu]", prefix, i);
			store_seterr(err, field, "MAC or IP given twice");
			return rc;
		}
		/* A discovered machine that now has a node is no longer unknown. */
		s = store_stmt(c, ST_DISCOVERED_FORGET);
		if (s == NULL)
			return -EIO;
		bind_text(s, 1, mac);
		if ((rc = store_done(c, s)) < 0)
			return rc;
	}

	s = store_stmt(c, ST_NODE_GROUPS_CLEAR);
	if (s == NULL)
		return -EIO;
	sqlite3_bind_int64(s, 1, id);
	if ((rc = store_done(c, s)) < 0)
		return rc;
	json_t *groups = json_object_get(node, "groups");
	json_t *g;
	json_array_foreach(groups, i, g) {
		s = store_stmt(c, ST_GROUP_ENSURE);
		if (s == NULL)
			return -EIO;
		bind_json(s, 1, g);
		sqlite3_bind_int64(s, 2, now);
		if ((rc = store_done(c, s)) < 0)
			return rc;
		s = store_stmt(c, ST_NODE_GROUP_ADD);
		if (s == NULL)
			return -EIO;
		sqlite3_bind_int64(s, 1, id);
		bind_json(s, 2, g);
		sqlite3_bind_int64(s, 3, (sqlite3_int64)i);
		if ((rc = store_done(c, s)) < 0)
			return rc;
	}
	return 0;
}

int store_node_put(struct store *st, json_t *node, bool create_only, bool *created,
		   struct store_err *err)
{
	struct store_conn *c = store_conn(st);
	if (c == NULL)
		return -EIO;
	int rc = store_begin(c);
	if (rc < 0)
		return rc;
	rc = store_node_put_txn(c, node, create_only, created, "", err);
	if (rc < 0) {
		store_rollback(c);
		return rc;
	}
	return store_commit(st, c, true);
}

int store_node_import(struct store *st, json_t *nodes, int *ncreated, int *nreplaced,
		      struct store_err *err)
{
	struct store_conn *c = store_conn(st);
	if (c == NULL)
		return -EIO;
	int rc = store_begin(c);
	if (rc < 0)
		return rc;
	*ncreated = *nreplaced = 0;
	size_t i;
	json_t *n;
	json_array_foreach(nodes, i, n) {
		char prefix[32];
		bool created;
		snprintf(prefix, sizeof(prefix), "nodes[%zu].", i);
		rc = store_node_put_txn(c, n, false, &created, prefix, err);
		if (rc < 0) {
			store_rollback(c);
			return rc;
		}
		if (created)
			(*ncreated)++;
		else
			(*nreplaced)++;
	}
	return store_commit(st, c, true);
}

int store_node_delete(struct store *st, const char *name)
{
	struct store_conn *c = store_conn(st);
	sqlite3_stmt *s = c ? store_stmt(c, ST_NODE_DELETE) : NULL;
	if (s == NULL)
		return -EIO;
	int rc = store_begin(c);
	if (rc < 0)
		return rc;
	bind_text(s, 1, name);
	rc = store_done(c, s);
	if (rc == 0 && sqlite3_changes(c->db) == 0)
		rc = -ENOENT;
	if (rc < 0) {
		store_rollback(c);
		return rc;
	}
	return store_commit(st, c, true);
}

static int store_one_id(struct store *st, enum store_stmt id, const char *text, int64_t num,
			int64_t *out)
{
	struct store_conn *c = store_conn(st);
	sqlite3_stmt *s = c ? store_stmt(c, id) : NULL;
	if (s == NULL)
		return -EIO;
	if (text != NULL)
		bind_text(s, 1, text);
	else
		sqlite3_bind_int64(s, 1, num);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(s, 0);
		return 0;
	}
	return rc == SQLITE_DONE ? -ENOENT : -EIO;
}

int store_node_id(struct store *st, const char *name, int64_t *id)
{
	return store_one_id(st, ST_NODE_ID, name, 0, id);
}

int store_node_by_ip(struct store *st, const char *ip, int64_t *id)
{
	return store_one_id(st, ST_NODE_BY_IP, ip, 0, id);
}

int store_node_name(struct store *st, int64_t id, char *out, size_t outlen)
{
	struct store_conn *c = store_conn(st);
	sqlite3_stmt *s = c ? store_stmt(c, ST_NODE_NAME) : NULL;
	if (s == NULL)
		return -EIO;
	sqlite3_bind_int64(s, 1, id);
	int rc = sqlite3_step(s);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? -ENOENT : -EIO;
	snprintf(out, outlen, "%s", col_text(s, 0));
	return 0;
}

int store_node_counts(struct store *st, json_t **out)
{
	struct store_conn *c = store_conn(st);
	sqlite3_stmt *s = c ? store_stmt(c, ST_NODE_COUNTS) : NULL;
	if (s == NULL || sqlite3_step(s) != SQLITE_ROW)
		return -EIO;
	*out = json_pack("{s:I, s:I, s:I, s:I, s:I}", "total",
			 (json_int_t)sqlite3_column_int64(s, 0), "new",
			 (json_int_t)sqlite3_column_int64(s, 1), "booting",
			 (json_int_t)sqlite3_column_int64(s, 2), "ready",
			 (json_int_t)sqlite3_column_int64(s, 3), "disabled",
			 (json_int_t)sqlite3_column_int64(s, 4));
	return *out ? 0 : -ENOMEM;
}

int store_counts(struct store *st, json_t *into)
{
	struct store_conn *c = store_conn(st);
	sqlite3_stmt *s = c ? store_stmt(c, ST_OTHER_COUNTS) : NULL;
	if (s == NULL || sqlite3_step(s) != SQLITE_ROW)
		return -EIO;
	static const char *const names[] = {"groups", "images", "profiles", "discovered"};
	for (int i = 0; i < 4; i++)
		json_object_set_new(into, names[i], json_integer(sqlite3_column_int64(s, i)));
	return 0;
}

/* ---- settings and defaults ------------------------------------------- */

static int store_setting_get_c(struct store_conn *c, const char *key, char **value)
{
	sqlite3_stmt *s = store_stmt(c, ST_SETTING_GET);
	if (s == NULL)
		return -EIO;
	bind_text(s, 1, key);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return -EIO;
	*value = strdup(col_text(s, 0));
	return *value ? 0 : -ENOMEM;
}

int store_setting_get(struct store *st, const char *key, char **value)
{
	struct store_conn *c = store_conn(st);
	return c ? store_setting_get_c(c, key, value) : -EIO;
}

static int store_setting_set_c(struct store_conn *c, const char *key, const char *value)
{
	sqlite3_stmt *s = store_stmt(c, value ? ST_SETTING_SET : ST_SETTING_DEL);
	if (s == NULL)
		return -EIO;
	bind_text(s, 1, key);
	if (value != NULL)
		bind_text(s, 2, value);
	return store_done(c, s);
}

int store_setting_set(struct store *st, const char *key, const char *value)
{
	struct store_conn *c = store_conn(st);
	if (c == NULL)
		return -EIO;
	int rc = store_begin(c);
	if (rc < 0)
		return rc;
	rc = store_setting_set_c(c, key, value);
	if (rc < 0) {
		store_rollback(c);
		return rc;
	}
	return store_commit(st, c, true);
}

int store_defaults_get(struct store *st, json_t **out)
{
	struct store_conn *c = store_conn(st);
	if (c == NULL)
		return -EIO;
	char *profile = NULL, *meta = NULL, *ud = NULL;
	int rc1 = store_setting_get_c(c, "default_profile", &profile);
	int rc2 = store_setting_get_c(c, "default_metadata", &meta);
	int rc3 = store_setting_get_c(c, "default_user_data", &ud);
	if ((rc1 < 0 && rc1 != -ENOENT) || (rc2 < 0 && rc2 != -ENOENT) ||
	    (rc3 < 0 && rc3 != -ENOENT)) {
		free(profile);
		free(meta);
		free(ud);
		return -EIO;
	}
	json_t *m = meta ? json_loads(meta, 0, NULL) : NULL;
	*out = json_pack("{s:o, s:o, s:s}", "profile", profile ? json_string(profile) : json_null(),
			 "metadata", m ? m : json_object(), "user_data", ud ? ud : "");
	free(profile);
	free(meta);
	free(ud);
	return *out ? 0 : -ENOMEM;
}

int store_defaults_put(struct store *st, json_t *d, struct store_err *err)
{
	struct store_conn *c = store_conn(st);
	if (c == NULL)
		return -EIO;
	int rc = store_begin(c);
	if (rc < 0)
		return rc;
	static const struct store_ref refs[] = {{"profile", ST_PROFILE_EXISTS, "profile"}};
	rc = store_check_refs(c, refs, 1, d, "", err);
	if (rc < 0)
		goto err_txn;
	char *meta = json_dumps(json_object_get(d, "metadata"), JSON_COMPACT);
	rc = store_setting_set_c(c, "default_profile",
				 json_string_value(json_object_get(d, "profile")));
	if (rc == 0)
		rc = store_setting_set_c(c, "default_metadata", meta ? meta : "{}");
	if (rc == 0)
		rc = store_setting_set_c(c, "default_user_data",
					 json_string_value(json_object_get(d, "user_data")));
	free(meta);
	if (rc < 0)
		goto err_txn;
	return store_commit(st, c, true);

err_txn:
	store_rollback(c);
	return rc;
}

/* ---- boot resolution ------------------------------------------------- */

void store_boot_clear(struct store_boot *b)
{
	free(b->kernel);
	free(b->initrd);
	free(b->rootfs);
	free(b->params);
	memset(b, 0, sizeof(*b));
}

static char *store_strdup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* "a b c" from the non-empty parts. */
static char *store_join_params(const char *a, const char *b, const char *c)
{
	const char *parts[3] = {a, b, c};
	struct {
		char *p;
		size_t n;
	} out = {NULL, 0};
	size_t total = 1;
	for (int i = 0; i < 3; i++)
		total += parts[i] ? strlen(parts[i]) + 1 : 0;
	out.p = malloc(total);
	if (out.p == NULL)
		return NULL;
	out.p[0] = '\0';
	for (int i = 0; i < 3; i++) {
		if (parts[i] == NULL || parts[i][0] == '\0')
			continue;
		size_t l = strlen(parts[i]);
		if (out.n > 0)
			out.p[out.n++] = ' ';
		memcpy(out.p + out.n, parts[i], l);
		out.n += l;
		out.p[out.n] = '\0';
	}
	return out.p;
}

int store_boot_lookup(struct store *st, enum store_boot_key key, const char *value,
		      struct store_boot *b)
{
	memset(b, 0, sizeof(*b));
	struct store_conn *c = store_conn(st);
	if (c == NULL)
		return -EIO;
	int64_t id;
	int rc;
	switch (key) {
	case STORE_BOOT_MAC:
		rc = store_one_id(st, ST_BOOT_BY_MAC, value, 0, &id);
		break;
	case STORE_BOOT_NAME:
		rc = store_one_id(st, ST_NODE_ID, value, 0, &id);
		break;
	case STORE_BOOT_NID:
		rc = store_one_id(st, ST_BOOT_BY_NID, NULL, strtoll(value, NULL, 10), &id);
		break;
	default:
		id = strtoll(value, NULL, 10);
		rc = 0;
		break;
	}
	if (rc < 0)
		return rc;
	b->node_id = id;

	sqlite3_stmt *s = store_stmt(c, ST_BOOT_NODE);
	if (s == NULL)
		return -EIO;
	sqlite3_bind_int64(s, 1, id);
	if (sqlite3_step(s) != SQLITE_ROW)
		return -EIO;
	snprintf(b->name, sizeof(b->name), "%s", col_text(s, 0));
	snprintf(b->arch, sizeof(b->arch), "%s", col_text(s, 1));
	b->enabled = sqlite3_column_int(s, 2) != 0;
	char *node_params = store_strdup_or_null(col_text(s, 3));
	int64_t pid = sqlite3_column_type(s, 4) == SQLITE_NULL ? 0 : sqlite3_column_int64(s, 4);
	snprintf(b->mac, sizeof(b->mac), "%s",
		 key == STORE_BOOT_MAC ? value :
		 col_text(s, 5)        ? col_text(s, 5) :
					 "");
	snprintf(b->source, sizeof(b->source), "node");

	if (pid == 0) {
		s = store_stmt(c, ST_BOOT_GROUP_PROFILE);
		if (s == NULL)
			goto err_params;
		sqlite3_bind_int64(s, 1, id);
		if (sqlite3_step(s) == SQLITE_ROW) {
			snprintf(b->source, sizeof(b->source), "group %s", col_text(s, 0));
			pid = sqlite3_column_int64(s, 1);
		}
	}
	if (pid == 0) {
		s = store_stmt(c, ST_BOOT_DEFAULT_PROFILE);
		if (s == NULL)
			goto err_params;
		if (sqlite3_step(s) == SQLITE_ROW) {
			snprintf(b->source, sizeof(b->source), "default");
			pid = sqlite3_column_int64(s, 0);
		}
	}
	if (pid == 0) {
		free(node_params);
		snprintf(b->source, sizeof(b->source), "none");
		return 0;
	}
	s = store_stmt(c, ST_BOOT_PROFILE);
	if (s == NULL)
		goto err_params;
	sqlite3_bind_int64(s, 1, pid);
	if (sqlite3_step(s) != SQLITE_ROW)
		goto err_params;
	b->has_profile = true;
	snprintf(b->profile, sizeof(b->profile), "%s", col_text(s, 0));
	snprintf(b->image, sizeof(b->image), "%s", col_text(s, 4) ? col_text(s, 4) : "");
	b->kernel = store_strdup_or_null(col_text(s, 1) ? col_text(s, 1) : col_text(s, 5));
	b->initrd = store_strdup_or_null(col_text(s, 2) ? col_text(s, 2) : col_text(s, 6));
	b->rootfs = store_strdup_or_null(col_text(s, 7));
	b->params = store_join_params(col_text(s, 8), col_text(s, 3), node_params);
	free(node_params);
	if (b->kernel == NULL || b->initrd == NULL || b->params == NULL) {
		/* A profile with neither image nor kernel/initrd cannot be stored;
		 * only memory can fail here. */
		store_boot_clear(b);
		return -ENOMEM;
	}
	return 0;

err_params:
	free(node_params);
	return -EIO;
}

int store_cloudinit_layers(struct store *st, int64_t node_id, char *name, size_t namelen,
			   json_t **metadata, json_t **user_data)
{
	struct store_conn *c = store_conn(st);
	if (c == NULL)
		return -EIO;
	sqlite3_stmt *s = store_stmt(c, ST_CI_NODE);
	if (s == NULL)
		return -EIO;
	sqlite3_bind_int64(s, 1, node_id);
	int rc = sqlite3_step(s);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? -ENOENT : -EIO;
	snprintf(name, namelen, "%s", col_text(s, 0));
	json_t *node_meta = col_json(s, 1);
	char *node_ud = strdup(col_text(s, 2));

	json_t *metas = json_array(), *uds = json_array();
	char *dmeta = NULL, *dud = NULL;
	if (store_setting_get_c(c, "default_metadata", &dmeta) == 0) {
		json_t *m = json_loads(dmeta, 0, NULL);
		json_array_append_new(metas, m ? m : json_object());
	}
	if (store_setting_get_c(c, "default_user_data", &dud) == 0)
		json_array_append_new(uds, json_string(dud));
	free(dmeta);
	free(dud);

	s = store_stmt(c, ST_CI_GROUPS);
	if (s == NULL)
		goto err_layers;
	sqlite3_bind_int64(s, 1, node_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		json_array_append_new(metas, col_json(s, 0));
		json_array_append_new(uds, json_string(col_text(s, 1)));
	}
	if (rc != SQLITE_DONE)
		goto err_layers;
	json_array_append_new(metas, node_meta);
	json_array_append_new(uds, json_string(node_ud ? node_ud : ""));
	free(node_ud);
	*metadata = metas;
	*user_data = uds;
	return 0;

err_layers:
	free(node_ud);
	json_decref(node_meta);
	json_decref(metas);
	json_decref(uds);
	return -EIO;
}

/* ---- tokens ---------------------------------------------------------- */

int store_token_add(struct store *st, const char *name, const unsigned char *hash, int scope)
{
	struct store_conn *c = store_conn(st);
	sqlite3_stmt *s = c ? store_stmt(c, ST_TOKEN_ADD) : NULL;
	if (s == NULL)
		return -EIO;
	bind_text(s, 1, name);
	sqlite3_bind_blob(s, 2, hash, 32, SQLITE_TRANSIENT);
	sqlite3_bind_int(s, 3, scope);
	sqlite3_bind_int64(s, 4, store_now_us());
	return store_done(c, s);
}

int store_token_find(struct store *st, const unsigned char *hash, int *scope)
{
	struct store_conn *c = store_conn(st);
	sqlite3_stmt *s = c ? store_stmt(c, ST_TOKEN_FIND) : NULL;
	if (s == NULL)
		return -EIO;
	sqlite3_bind_blob(s, 1, hash, 32, SQLITE_TRANSIENT);
	int rc = sqlite3_step(s);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? -ENOENT : -EIO;
	*scope = sqlite3_column_int(s, 0);
	int64_t last = sqlite3_column_int64(s, 1);
	int64_t now = store_now_us();
	/* Record use at most once a minute, so reads stay reads. */
	if (now - last > 60 * 1000000LL) {
		s = store_stmt(c, ST_TOKEN_TOUCH);
		if (s != NULL) {
			sqlite3_bind_blob(s, 1, hash, 32, SQLITE_TRANSIENT);
			sqlite3_bind_int64(s, 2, now);
			(void)store_done(c, s); /* best effort */
		}
	}
	return 0;
}

static json_t *store_token_row(const void *ctx, sqlite3_stmt *s)
{
	(void)ctx;
	return json_pack("{s:s, s:s, s:o, s:o}", "name", col_text(s, 0), "scope",
			 auth_scope_name(sqlite3_column_int(s, 1)), "created", col_time(s, 2),
			 "last_used", col_time(s, 3));
}

int store_token_list(struct store *st, json_t **out)
{
	struct store_conn *c = store_conn(st);
	sqlite3_stmt *s = c ? store_stmt(c, ST_TOKEN_LIST) : NULL;
	if (s == NULL)
		return -EIO;
	return store_rows(s, store_token_row, NULL, out);
}

int store_token_delete(struct store *st, const char *name)
{
	struct store_conn *c = store_conn(st);
	sqlite3_stmt *s = c ? store_stmt(c, ST_TOKEN_DELETE) : NULL;
	if (s == NULL)
		return -EIO;
	bind_text(s, 1, name);
	int rc = store_done(c, s);
	if (rc == 0 && sqlite3_changes(c->db) == 0)
		return -ENOENT;
	return rc;
}

/* ---- events and discovered machines ---------------------------------- */

int store_events_write(struct store *st, const struct store_event *ev, size_t n)
{
	struct store_conn *c = store_conn(st);
	if (c == NULL)
		return -EIO;
	int rc = store_begin(c);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct store_event *e = &ev[i];
		sqlite3_stmt *s;
		if (e->node_id == 0) {
			s = store_stmt(c, ST_EVENT_DISCOVERED);
			if (s == NULL)
				goto err_io;
			bind_text(s, 1, e->mac);
			bind_text(s, 2, e->source);
			sqlite3_bind_int64(s, 3, e->time_us);
			rc = store_done(c, s);
			continue;
		}
		s = store_stmt(c, ST_EVENT_ADD);
		if (s == NULL)
			goto err_io;
		sqlite3_bind_int64(s, 1, e->node_id);
		sqlite3_bind_int64(s, 2, e->time_us);
		bind_text(s, 3, e->stage);
		bind_text(s, 4, e->source);
		bind_text(s, 5, e->detail);
		rc = store_done(c, s);
		if (rc == -EEXIST) {
			rc = 0; /* the node was deleted meanwhile: drop its event */
			continue;
		}
		s = store_stmt(c, ST_EVENT_NODE);
		if (s == NULL)
			goto err_io;
		sqlite3_bind_int64(s, 1, e->node_id);
		bind_text(s, 2, e->stage);
		sqlite3_bind_int64(s, 3, e->time_us);
		bind_text(s, 4, e->state);
		if (rc == 0)
			rc = store_done(c, s);
		if (rc == 0 && e->mac[0] != '\0' && e->source[0] != '\0') {
			s = store_stmt(c, ST_EVENT_LAST_IP);
			if (s == NULL)
				goto err_io;
			bind_text(s, 1, e->mac);
			bind_text(s, 2, e->source);
			rc = store_done(c, s);
		}
	}
	if (rc < 0) {
		store_rollback(c);
		return rc;
	}
	return store_commit(st, c, false);

err_io:
	store_rollback(c);
	return -EIO;
}

static json_t *store_event_row(const void *ctx, sqlite3_stmt *s)
{
	(void)ctx;
	return json_pack("{s:o, s:s, s:s, s:s}", "time", col_time(s, 0), "stage", col_text(s, 1),
			 "source", col_text(s, 2), "detail", col_text(s, 3));
}

int store_events_list(struct store *st, int64_t node_id, long long limit, json_t **out)
{
	struct store_conn *c = store_conn(st);
	sqlite3_stmt *s = c ? store_stmt(c, ST_EVENT_LIST) : NULL;
	if (s == NULL)
		return -EIO;
	sqlite3_bind_int64(s, 1, node_id);
	sqlite3_bind_int64(s, 2, limit);
	return store_rows(s, store_event_row, NULL, out);
}

int store_events_prune(struct store *st, int64_t before_us, int per_node)
{
	struct store_conn *c = store_conn(st);
	sqlite3_stmt *s = c ? store_stmt(c, ST_EVENT_PRUNE) : NULL;
	if (s == NULL)
		return -EIO;
	sqlite3_bind_int64(s, 1, before_us);
	int rc = store_done(c, s);
	if (rc < 0)
		return rc;
	s = store_stmt(c, ST_EVENT_CAP);
	if (s == NULL)
		return -EIO;
	sqlite3_bind_int(s, 1, per_node);
	return store_done(c, s);
}

static json_t *store_discovered_row(const void *ctx, sqlite3_stmt *s)
{
	(void)ctx;
	return json_pack("{s:s, s:o, s:o, s:o, s:I}", "mac", col_text(s, 0), "ip",
			 col_str_or_null(s, 1), "first_seen", col_time(s, 2), "last_seen",
			 col_time(s, 3), "requests", (json_int_t)sqlite3_column_int64(s, 4));
}

int store_discovered_list(struct store *st, json_t **out)
{
	struct store_conn *c = store_conn(st);
	sqlite3_stmt *s = c ? store_stmt(c, ST_DISCOVERED_LIST) : NULL;
	if (s == NULL)
		return -EIO;
	return store_rows(s, store_discovered_row, NULL, out);
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
	struct store_conn *c = store_conn(st);
	sqlite3_stmt *s = c ? store_stmt(c, ST_DISCOVERED_DELETE) : NULL;
	if (s == NULL)
		return -EIO;
	bind_text(s, 1, mac);
	int rc = store_done(c, s);
	if (rc == 0 && sqlite3_changes(c->db) == 0)
		return -ENOENT;
	return rc;
}

/* ---- DHCP -------------------------------------------------------------- */

int store_dhcp_hosts(struct store *st, struct store_dhcp_host **out, size_t *n)
{
	struct store_conn *c = store_conn(st);
	sqlite3_stmt *s = c ? store_stmt(c, ST_DHCP_HOSTS) : NULL;
	if (s == NULL)
		return -EIO;
	struct store_dhcp_host *v = NULL;
	size_t len = 0, cap = 0;
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (len == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct store_dhcp_host *nv = realloc(v, ncap * sizeof(*nv));
			if (nv == NULL) {
				free(v);
				sqlite3_reset(s);
				return -ENOMEM;
			}
			v = nv;
			cap = ncap;
		}
		struct store_dhcp_host *h = &v[len++];
		memset(h, 0, sizeof(*h));
		snprintf(h->mac, sizeof(h->mac), "%s", col_text(s, 0));
		snprintf(h->ip, sizeof(h->ip), "%s", col_text(s, 1) ? col_text(s, 1) : "");
		snprintf(h->name, sizeof(h->name), "%s", col_text(s, 2));
		h->enabled = sqlite3_column_int(s, 3) != 0;
		h->ipxe_full = strcmp(col_text(s, 4), "ipxe.efi") == 0;
	}
	if (rc != SQLITE_DONE) {
		free(v);
		return -EIO;
	}
	*out = v;
	*n = len;
	return 0;
}

int store_lease_set(struct store *st, const char *mac, const char *ip, int64_t expires,
		    const char *hostname, const char *client_id)
{
	struct store_conn *c = store_conn(st);
	sqlite3_stmt *s = c ? store_stmt(c, ST_LEASE_SET) : NULL;
	if (s == NULL)
		return -EIO;
	bind_text(s, 1, mac);
	bind_text(s, 2, ip);
	sqlite3_bind_int64(s, 3, expires);
	bind_text(s, 4, hostname ? hostname : "");
	bind_text(s, 5, client_id ? client_id : "");
	return store_done(c, s);
}

int store_lease_same(struct store *st, const char *mac, const char *ip, int64_t expires)
{
	struct store_conn *c = store_conn(st);
	sqlite3_stmt *s = c ? store_stmt(c, ST_LEASE_SAME) : NULL;
	if (s == NULL)
		return -EIO;
	bind_text(s, 1, mac);
	bind_text(s, 2, ip);
	sqlite3_bind_int64(s, 3, expires);
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -EIO;
}

int store_lease_del(struct store *st, const char *mac)
{
	struct store_conn *c = store_conn(st);
	sqlite3_stmt *s = c ? store_stmt(c, ST_LEASE_DEL) : NULL;
	if (s == NULL)
		return -EIO;
	bind_text(s, 1, mac);
	return store_done(c, s);
}

int store_leases(struct store *st, int64_t now, struct buf *out)
{
	struct store_conn *c = store_conn(st);
	sqlite3_stmt *s = c ? store_stmt(c, ST_LEASE_LIST) : NULL;
	if (s == NULL)
		return -EIO;
	sqlite3_bind_int64(s, 1, now);
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *host = col_text(s, 3), *cid = col_text(s, 4);
		/* dnsmasq's lease file format: expiry MAC IP name client-id */
		if (buf_printf(out, "%lld %s %s %s %s\n", (long long)sqlite3_column_int64(s, 2),
			       col_text(s, 0), col_text(s, 1), host[0] ? host : "*",
			       cid[0] ? cid : "*") < 0) {
			sqlite3_reset(s);
			return -E2BIG;
		}
	}
	return rc == SQLITE_DONE ? 0 : -EIO;
}

int store_node_by_mac(struct store *st, const char *mac, int64_t *id)
{
	return store_one_id(st, ST_BOOT_BY_MAC, mac, 0, id);
}

/* ---- Redfish: credentials, BMCs, systems ------------------------------- */

int store_cred_put(struct store *st, const char *name, const char *username,
		   const unsigned char *secret, size_t len)
{
	struct store_conn *c = store_conn(st);
	sqlite3_stmt *s = c ? store_stmt(c, ST_CRED_PUT) : NULL;
	if (s == NULL)
		return -EIO;
	bind_text(s, 1, name);
	bind_text(s, 2, username);
	sqlite3_bind_blob(s, 3, secret, (int)len, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 4, store_now_us());
	return store_done(c, s);
}

int store_cred_get(struct store *st, const char *name, char *username, size_t ulen,
		   unsigned char *secret, size_t *len)
{
	struct store_conn *c = store_conn(st);
	sqlite3_stmt *s = c ? store_stmt(c, ST_CRED_GET) : NULL;
	if (s == NULL)
		return -EIO;
	bind_text(s, 1, name);
	int rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(s);
		return rc == SQLITE_DONE ? -ENOENT : -EIO;
	}
	size_t n = (size_t)sqlite3_column_bytes(s, 1);
	if (n > *len) {
		sqlite3_reset(s);
		return -E2BIG;
	}
	snprintf(username, ulen, "%s", col_text(s, 0));
	memcpy(secret, sqlite3_column_blob(s, 1), n);
	*len = n;
	sqlite3_reset(s);
	return 0;
}

static json_t *store_cred_row(const void *ctx, sqlite3_stmt *s)
{
	(void)ctx;
	return json_pack("{s:s, s:s, s:o, s:o}", "name", col_text(s, 0), "username", col_text(s, 1),
			 "created", col_time(s, 2), "updated", col_time(s, 3));
}

int store_cred_list(struct store *st, json_t **out)
{
	struct store_conn *c = store_conn(st);
	sqlite3_stmt *s = c ? store_stmt(c, ST_CRED_LIST) : NULL;
	if (s == NULL)
		return -EIO;
	return store_rows(s, store_cred_row, NULL, out);
}

int store_cred_delete(struct store *st, const char *name, struct store_err *err)
{
	struct store_conn *c = store_conn(st);
	if (c == NULL)
		return -EIO;
	int rc = store_begin(c);
	if (rc < 0)
		return rc;
	rc = store_has_row(c, ST_CRED_EXISTS, name);
	if (rc <= 0) {
		rc = rc == 0 ? -ENOENT : rc;
		goto err_txn;
	}
	rc = store_has_row(c, ST_CRED_USERS, name);
	if (rc != 0) {
		store_seterr(err, NULL,
			     "credential %s is in use by BMCs; delete or change them first", name);
		rc = rc < 0 ? rc : -EBUSY;
		goto err_txn;
	}
	sqlite3_stmt *s = store_stmt(c, ST_CRED_DELETE);
	if (s == NULL) {
		rc = -EIO;
		goto err_txn;
	}
	bind_text(s, 1, name);
	if ((rc = store_done(c, s)) < 0)
		goto err_txn;
	return store_commit(st, c, false);

err_txn:
	store_rollback(c);
	return rc;
}

/* Owner of mac into owner ("" if none); 0 or -EIO. */
static int store_mac_owner(struct store_conn *c, const char *mac, char *owner, size_t len)
{
	sqlite3_stmt *s = store_stmt(c, ST_MAC_OWNER);
	if (s == NULL)
		return -EIO;
	bind_text(s, 1, mac);
	int rc = sqlite3_step(s);
	owner[0] = '\0';
	if (rc == SQLITE_ROW)
		snprintf(owner, len, "%s", col_text(s, 0));
	sqlite3_reset(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -EIO;
}

/* A node name for a system nobody registered: its host name, else from the BMC. */
static void store_system_name(struct store_conn *c, json_t *bmc, json_t *sys, size_t nsys,
			      size_t idx, char *out, size_t len)
{
	const char *host = json_string_value(json_object_get(sys, "hostname"));
	const char *addr = json_string_value(json_object_get(bmc, "address"));
	char base[64];
	int ok = host != NULL && host[0] != '\0' && strlen(host) < 48;
	for (const char *p = host; ok && *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
			ok = 0;
	if (ok) {
		snprintf(base, sizeof(base), "%s", host);
	} else {
		snprintf(base, sizeof(base), "bmc-%.40s", addr ? addr : "x");
		for (char *p = base; *p; p++)
			if (*p == '.' || *p == ':')
				*p = '-';
		if (nsys > 1) {
			size_t n = strlen(base);
			snprintf(base + n, sizeof(base) - n, "-s%zu", idx + 1);
		}
	}
	/* Unique among nodes: add -2, -3, ... */
	snprintf(out, len, "%s", base);
	for (int k = 2; k < 100 && store_has_row(c, ST_NODE_ID, out) == 1; k++)
		snprintf(out, len, "%.56s-%d", base, k);
}

/*
 * Records one BMC as discovered and brings the nodes in line with its
 * systems, in one transaction: a system whose MACs belong to no node
 * becomes a new node; one whose MACs belong to one node is linked to it
 * (MACs it lacks are added if free); MACs spread over several nodes are a
 * conflict, reported and left alone.  A BMC whose status is not "ok"
 * creates nothing.  report gets nodes_created, nodes_updated, conflicts.
 */
int store_bmc_record(struct store *st, json_t *bmc, json_t *report)
{
	struct store_conn *c = store_conn(st);
	if (c == NULL)
		return -EIO;
	int rc = store_begin(c);
	if (rc < 0)
		return rc;
	int64_t now = store_now_us();
	sqlite3_stmt *s = store_stmt(c, ST_BMC_PUT);
	if (s == NULL)
		goto err_io;
	static const char *const cols[] = {"address",    "port",   "scheme",  "insecure",
					   "credential", "status", "message", "mac",
					   "vendor",     "model",  "uuid",    "firmware"};
	for (int i = 0; i < 12; i++)
		bind_json(s, i + 1, json_object_get(bmc, cols[i]));
	json_t *auth = json_object_get(bmc, "auth");
	bind_text(s, 14, json_is_string(auth) ? json_string_value(auth) : "basic");
	sqlite3_bind_int64(s, 13, now);
	if (sqlite3_step(s) != SQLITE_ROW)
		goto err_io;
	int64_t bmc_id = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	const char *status = json_string_value(json_object_get(bmc, "status"));
	if (status == NULL || strcmp(status, "ok") != 0)
		return store_commit(st, c, false); /* keep its systems as they were */

	s = store_stmt(c, ST_SYS_CLEAR);
	if (s == NULL)
		goto err_io;
	sqlite3_bind_int64(s, 1, bmc_id);
	if (store_done(c, s) < 0)
		goto err_io;

	json_t *systems = json_object_get(bmc, "systems");
	json_t *created = json_object_get(report, "nodes_created");
	json_t *updated = json_object_get(report, "nodes_updated");
	json_t *conflicts = json_object_get(report, "conflicts");
	bool changed = false;
	size_t i;
	json_t *sys;
	json_array_foreach(systems, i, sys) {
		json_t *macs = json_object_get(sys, "macs");
		char owner[64], node[64] = "";
		int spread = 0;
		size_t k;
		json_t *m;
		json_array_foreach(macs, k, m) {
			if (store_mac_owner(c, json_string_value(m), owner, sizeof(owner)) < 0)
				goto err_io;
			if (owner[0] == '\0')
				continue;
			if (node[0] == '\0')
				snprintf(node, sizeof(node), "%s", owner);
			else if (strcmp(node, owner) != 0)
				spread = 1;
		}
		const char *path = json_string_value(json_object_get(sys, "path"));
		if (spread) {
			json_array_append_new(
				conflicts, json_pack("{s:s, s:s, s:s}", "system", path, "message",
						     "its MACs belong to several nodes; nothing "
						     "changed",
						     "node", node));
			node[0] = '\0';
		} else if (json_array_size(macs) == 0) {
			json_array_append_new(
				conflicts, json_pack("{s:s, s:s}", "system", path, "message",
						     "no usable MAC address found; no node made"));
		} else if (node[0] == '\0') {
			/* New node from the system. */
			store_system_name(c, bmc, sys, json_array_size(systems), i, node,
					  sizeof(node));
			json_t *ifs = json_array();
			json_array_foreach(macs, k, m)
				json_array_append_new(ifs, json_pack("{s:O, s:n}", "mac", m, "ip"));
			json_t *n = json_pack(
				"{s:s, s:n, s:s, s:s, s:[], s:b, s:n, s:s, s:o, s:{s:O, s:s}, s:s, s:s}",
				"name", node, "nid", "arch", "x86_64", "role", "", "groups",
				"enabled", 1, "profile", "params", "", "interfaces", ifs,
				"metadata", "bmc", json_object_get(bmc, "address"), "system", path,
				"user_data", "", "ipxe_efi", "snponly.efi");
			bool was_created;
			rc = n ? store_node_put_txn(c, n, true, &was_created, "", NULL) : -ENOMEM;
			json_decref(n);
			if (rc < 0)
				goto err_rc;
			json_array_append_new(created, json_string(node));
			changed = true;
		} else {
			/* Known node: add the MACs it lacks (they are free: not spread). */
			json_t *n = NULL;
			if (store_node_get(st, node, &n) < 0)
				goto err_io;
			json_t *ifs = json_object_get(n, "interfaces");
			size_t before = json_array_size(ifs);
			json_array_foreach(macs, k, m) {
				if (store_mac_owner(c, json_string_value(m), owner, sizeof(owner)) <
				    0) {
					json_decref(n);
					goto err_io;
				}
				if (owner[0] == '\0')
					json_array_append_new(
						ifs, json_pack("{s:O, s:n}", "mac", m, "ip"));
			}
			if (json_array_size(ifs) != before) {
				bool was_created;
				rc = store_node_put_txn(c, n, false, &was_created, "", NULL);
				if (rc < 0) {
					json_decref(n);
					goto err_rc;
				}
				json_array_append_new(updated, json_string(node));
				changed = true;
			}
			json_decref(n);
		}
		s = store_stmt(c, ST_SYS_PUT);
		if (s == NULL)
			goto err_io;
		sqlite3_bind_int64(s, 1, bmc_id);
		bind_text(s, 2, path);
		int64_t nid = 0;
		if (node[0] != '\0')
			(void)store_one_id(st, ST_NODE_ID, node, 0, &nid);
		if (nid != 0)
			sqlite3_bind_int64(s, 3, nid);
		else
			sqlite3_bind_null(s, 3);
		bind_json(s, 4, sys);
		if (store_done(c, s) < 0)
			goto err_io;
	}
	return store_commit(st, c, changed);

err_io:
	rc = -EIO;
err_rc:
	store_rollback(c);
	return rc;
}

int store_bmc_list(struct store *st, json_t **out)
{
	struct store_conn *c = store_conn(st);
	sqlite3_stmt *s = c ? store_stmt(c, ST_BMC_LIST) : NULL;
	if (s == NULL)
		return -EIO;
	json_t *arr = json_array();
	json_t *ids = json_array();
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		json_t *b =
			json_pack("{s:s, s:i, s:s, s:b, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, "
				  "s:o, s:o}",
				  "address", col_text(s, 1), "port", sqlite3_column_int(s, 2),
				  "scheme", col_text(s, 3), "insecure", sqlite3_column_int(s, 4),
				  "credential", col_text(s, 5), "status", col_text(s, 6), "message",
				  col_text(s, 7), "mac", col_str_or_null(s, 8), "vendor",
				  col_str_or_null(s, 9), "model", col_str_or_null(s, 10), "uuid",
				  col_str_or_null(s, 11), "firmware", col_str_or_null(s, 12),
				  "last_seen", col_time(s, 13), "created", col_time(s, 14));
		json_object_set_new(b, "auth", json_string(col_text(s, 15)));
		json_array_append_new(arr, b);
		json_array_append_new(ids, json_integer(sqlite3_column_int64(s, 0)));
	}
	if (rc != SQLITE_DONE)
		goto err_list;
	size_t i;
	json_t *b;
	json_array_foreach(arr, i, b) {
		s = store_stmt(c, ST_SYS_OF_BMC);
		if (s == NULL)
			goto err_list;
		sqlite3_bind_int64(s, 1, json_integer_value(json_array_get(ids, i)));
		json_t *systems = json_array();
		while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
			json_t *d = col_json(s, 2);
			json_object_set_new(d, "path", json_string(col_text(s, 0)));
			json_object_set_new(d, "node", col_str_or_null(s, 1));
			json_array_append_new(systems, d);
		}
		json_object_set_new(b, "systems", systems);
		if (rc != SQLITE_DONE)
			goto err_list;
	}
	json_decref(ids);
	*out = arr;
	return 0;

err_list:
	json_decref(ids);
	json_decref(arr);
	return -EIO;
}

int store_bmc_delete(struct store *st, const char *address)
{
	struct store_conn *c = store_conn(st);
	sqlite3_stmt *s = c ? store_stmt(c, ST_BMC_DELETE) : NULL;
	if (s == NULL)
		return -EIO;
	bind_text(s, 1, address);
	int rc = store_done(c, s);
	if (rc == 0 && sqlite3_changes(c->db) == 0)
		return -ENOENT;
	return rc;
}

int store_node_system(struct store *st, const char *node, json_t **out)
{
	struct store_conn *c = store_conn(st);
	sqlite3_stmt *s = c ? store_stmt(c, ST_SYS_OF_NODE) : NULL;
	if (s == NULL)
		return -EIO;
	bind_text(s, 1, node);
	int rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(s);
		return rc == SQLITE_DONE ? -ENOENT : -EIO;
	}
	*out = json_pack("{s:s, s:i, s:s, s:b, s:s, s:s, s:o, s:s}", "address", col_text(s, 0),
			 "port", sqlite3_column_int(s, 1), "scheme", col_text(s, 2), "insecure",
			 sqlite3_column_int(s, 3), "credential", col_text(s, 4), "path",
			 col_text(s, 5), "system", col_json(s, 6), "auth", col_text(s, 7));
	sqlite3_reset(s);
	return *out ? 0 : -ENOMEM;
}

int store_node_power_state(struct store *st, const char *node, const char *state)
{
	struct store_conn *c = store_conn(st);
	sqlite3_stmt *s = c ? store_stmt(c, ST_SYS_POWER) : NULL;
	if (s == NULL)
		return -EIO;
	char t[40];
	store_time_str(store_now_us(), t, sizeof(t));
	bind_text(s, 1, node);
	bind_text(s, 2, state);
	bind_text(s, 3, t);
	return store_done(c, s);
}
