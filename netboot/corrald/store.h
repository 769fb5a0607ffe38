/*
 * store: every byte of Corral's persistent state, in one SQLite file.
 *
 * The only module with SQL; it stores and reads rows and decides nothing
 * else.  Which profile a node boots (bootsel.c) and which node a BMC's
 * system is (bmcmatch.c) are rules of their own modules, built on the
 * row-level functions and the transactions below.  Any corrald module may
 * call the store; its files (store.c, store_*.c) share store_int.h, which
 * no other file includes.
 *
 * Every statement is a constant string with bound parameters, prepared
 * once per connection and reused.  Each thread gets its own connection
 * (WAL mode: readers never wait for the writer), opened on first use; all
 * connections are closed by store_free(), which must run after every
 * thread that used the store has stopped.
 *
 * Objects cross this boundary as jansson objects in the API's shapes
 * (docs/api.md); returned ones are the caller's (json_decref).  The
 * caller validates fields and fills defaults first; the store enforces
 * what only it can see atomically: uniqueness, references, and "in use" on
 * delete.  Every write is one transaction: it happens whole or not at all
 * (or, inside store_txn_begin() … store_txn_commit(), with the rest).
 *
 * Errors: 0 on success; -ENOENT no such object; -EEXIST a conflict (name,
 * NID, MAC or IP taken); -EBUSY delete refused because the object is in
 * use; -ENXIO a referenced object does not exist; -E2BIG a value too long
 * for the caller's buffer; -EIO a database failure.  For -EEXIST, -EBUSY
 * and -ENXIO, *err (when not NULL) names the field and says why.  The
 * store logs nothing: store_errmsg() says why this thread's last call
 * failed, and the caller that decides what the failure means logs it once.
 */
#ifndef CORRAL_STORE_H
#define CORRAL_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

struct store;

struct store_err {
	char field[96];
	char message[256];
};

/* Opens (creating and migrating) the database at path; why it failed: store_errmsg(). */
int store_open(const char *path, struct store **out);
void store_free(struct store *st);
/* Schema version after migrations. */
int store_schema_version(struct store *st);
/* Bumped on every committed change to boot-relevant data (for caches). */
uint64_t store_generation(struct store *st);
/* Bumped on every lease stored or dropped (for caches of node identity). */
uint64_t store_lease_generation(struct store *st);
/*
 * Ends this thread's open read snapshots (statements stopped on a row).
 * Call when a unit of work (an HTTP request) is done, so idle threads
 * never hold back WAL checkpoints.
 */
void store_release(struct store *st);
/* A trivial query: 0 if the database answers. */
int store_ping(struct store *st);
/*
 * Whether the store can write, for /healthz: 0, or a negative errno with
 * the reason in why[len]: -EIO when the last write failed for a reason of
 * the disk or the file (full, I/O error, read-only, not a database; a
 * later successful write clears it), -ENOSPC when the file system holding
 * the database has less than STORE_MIN_FREE bytes left for it.  A
 * conflict or a busy database is no reason.
 */
int store_health(struct store *st, char *why, size_t len);
#define STORE_MIN_FREE (1u << 20)
/*
 * Why this thread's last failed store call failed ("NODE_PUT: database is
 * locked"); for the caller's log line.  Valid until this thread's next
 * store call.
 */
const char *store_errmsg(void);

/*
 * Transactions, for rules made of several calls (bootsel, bmcmatch).
 * Between store_txn_begin() and store_txn_commit()/store_txn_rollback(),
 * every call this thread makes on st is part of one write transaction
 * (BEGIN IMMEDIATE: no other writer in between); the writes' generation
 * bump happens at the commit.  store_txn_read() opens a read transaction
 * instead: one snapshot for several reads; writes inside it fail.  They do
 * not nest (-EINVAL).  After a failed call inside a transaction, roll back.
 */
int store_txn_begin(struct store *st);
int store_txn_read(struct store *st);
/* 0, or the commit failed (and was rolled back). */
int store_txn_commit(struct store *st);
void store_txn_rollback(struct store *st);

/* Resources with the generic shape: images, profiles, groups. */
enum store_kind { STORE_IMAGE, STORE_PROFILE, STORE_GROUP };
int store_obj_list(struct store *st, enum store_kind kind, json_t **out);
int store_obj_get(struct store *st, enum store_kind kind, const char *name, json_t **out);
/* Creates (create_only) or creates/replaces obj; *created says which. */
int store_obj_put(struct store *st, enum store_kind kind, json_t *obj, bool create_only,
		  bool *created, struct store_err *err);
int store_obj_delete(struct store *st, enum store_kind kind, const char *name,
		     struct store_err *err);

/* Nodes. */
struct store_node_filter {
	const char *group, *state, *arch; /* NULL: any */
	int enabled;                      /* -1 any, 0, 1 */
	long long limit, offset;          /* limit -1: all */
};
int store_node_list(struct store *st, const struct store_node_filter *f, json_t **out);
int store_node_get(struct store *st, const char *name, json_t **out);
int store_node_get_id(struct store *st, int64_t id, json_t **out);
/* What of node id matters to booting, in one query:
 * {"name","arch","enabled","profile","params","mac"} (its first MAC, or null). */
int store_node_boot(struct store *st, int64_t id, json_t **out);
/* The node's groups in its order, with what they give a node to boot:
 * [{"name","profile","metadata","user_data"}]; *out is the caller's. */
int store_node_groups(struct store *st, int64_t id, json_t **out);
int store_node_put(struct store *st, json_t *node, bool create_only, bool *created,
		   struct store_err *err);
/* All or nothing; errors are prefixed with "nodes[i].". */
int store_node_import(struct store *st, json_t *nodes, int *created, int *replaced,
		      struct store_err *err);
int store_node_delete(struct store *st, const char *name);
/* Node id by name, by an interface's static or last-seen IP, by an
 * interface's MAC, by NID; -ENOENT. */
int store_node_id(struct store *st, const char *name, int64_t *id);
int store_node_by_ip(struct store *st, const char *ip, int64_t *id);
int store_node_by_mac(struct store *st, const char *mac, int64_t *id);
int store_node_by_nid(struct store *st, long long nid, int64_t *id);
/* Name of node id into out; -ENOENT, -E2BIG. */
int store_node_name(struct store *st, int64_t id, char *out, size_t outlen);
/* Node counts by state: {"total","new","booting","ready","disabled"}. */
int store_node_counts(struct store *st, json_t **out);
int store_counts(struct store *st, json_t *into); /* groups, images, profiles, discovered */

/* Defaults (profile, metadata, user_data). */
int store_defaults_get(struct store *st, json_t **out);
int store_defaults_put(struct store *st, json_t *defaults, struct store_err *err);

/* Tokens for the API: hash is 32 bytes; scope an enum auth_scope (auth.h). */
int store_token_add(struct store *st, const char *name, const unsigned char *hash, int scope);
int store_token_find(struct store *st, const unsigned char *hash, int *scope);
int store_token_list(struct store *st, json_t **out);
int store_token_delete(struct store *st, const char *name);

/* Boot events, written in batches by the events module. */
struct store_event {
	int64_t node_id; /* 0: none (then mac names a discovered machine) */
	int64_t time_us;
	char stage[24];
	char source[48];
	char detail[200];
	char mac[18];      /* for discovered machines and last-seen IPs */
	const char *state; /* new node state, or NULL to keep */
};
int store_events_write(struct store *st, const struct store_event *ev, size_t n);
int store_events_list(struct store *st, int64_t node_id, long long limit, json_t **out);
/* Drops events older than before_us, and all but each node's newest per_node. */
int store_events_prune(struct store *st, int64_t before_us, int per_node);

/* Discovered (unknown) MACs. */
int store_discovered_list(struct store *st, json_t **out);
int store_discovered_delete(struct store *st, const char *mac);
/* 0 if mac is a discovered machine, -ENOENT if not. */
int store_discovered_exists(struct store *st, const char *mac);

/* DHCP host entries: one per interface. */
struct store_dhcp_host {
	char mac[18];
	char ip[16];   /* "" = dynamic */
	char name[64]; /* node name on its boot interface, "" on others */
	bool enabled;
	bool ipxe_full; /* UEFI gets ipxe.efi instead of snponly.efi */
};
/* All host entries, sorted by MAC; *out is the caller's (free()). */
int store_dhcp_hosts(struct store *st, struct store_dhcp_host **out, size_t *n);
/* The lease database dnsmasq keeps through corral-dhcp-hook (leasefile-ro). */
int store_lease_set(struct store *st, const char *mac, const char *ip, int64_t expires,
		    const char *hostname, const char *client_id);
int store_lease_del(struct store *st, const char *mac);
/* 1 if mac holds exactly this lease already (within a second), 0 if not. */
int store_lease_same(struct store *st, const char *mac, const char *ip, int64_t expires);
/* Unexpired leases in dnsmasq's lease-file format, appended to out. */
struct buf;
int store_leases(struct store *st, int64_t now, struct buf *out);
/* The address mac's lease (unexpired at now, Unix seconds) gives: 0, or -ENOENT. */
int store_lease_ip(struct store *st, const char *mac, int64_t now, char *ip, size_t iplen);
/*
 * Who holds address ip at now: the MACs with an unexpired lease on it and
 * the interfaces it is reserved for (their "ip"), each with its node (0:
 * a MAC no node has).  At most max into out; *n the count found (up to
 * max).
 */
struct store_holder {
	char mac[18];
	int64_t node_id;
};
int store_addr_holders(struct store *st, const char *ip, int64_t now, struct store_holder *out,
		       size_t max, size_t *n);

/* Redfish: credentials (the secret is sealed by the caller), BMCs, systems. */
int store_cred_put(struct store *st, const char *name, const char *username,
		   const unsigned char *secret, size_t len);
/* *len: buffer size in, secret size out. */
int store_cred_get(struct store *st, const char *name, char *username, size_t ulen,
		   unsigned char *secret, size_t *len);
int store_cred_list(struct store *st, json_t **out); /* never the secrets */
int store_cred_delete(struct store *st, const char *name, struct store_err *err);
/*
 * One BMC as discovered ({"address","port","scheme","insecure","auth",
 * "credential","status","message","mac","vendor","model","uuid",
 * "firmware"}), created or updated by address and port; its row id in *id.
 */
int store_bmc_put(struct store *st, json_t *bmc, int64_t *id);
/* The node system path of BMC bmc_id is linked to: 0, or -ENOENT (none). */
int store_bmc_system_node(struct store *st, int64_t bmc_id, const char *path, int64_t *node_id);
/* Forgets the systems of BMC bmc_id, before they are put again. */
int store_bmc_systems_clear(struct store *st, int64_t bmc_id);
/* One system ({"path","macs":[…],"hostname",…}) of BMC bmc_id; node_id 0: no node. */
int store_bmc_system_put(struct store *st, int64_t bmc_id, const char *path, int64_t node_id,
			 json_t *sys);
int store_bmc_list(struct store *st, json_t **out);
int store_bmc_delete(struct store *st, const char *address);
/* The BMC and system a node is: {"address","port","scheme","insecure","credential","path","system"}. */
int store_node_system(struct store *st, const char *node, json_t **out);
/* Records the power state a node's BMC reported, and when (the system's "power_checked"). */
int store_node_power_state(struct store *st, const char *node, const char *state);

/* Small key/value settings. */
int store_setting_get(struct store *st, const char *key, char **value);
int store_setting_set(struct store *st, const char *key, const char *value);

/* RFC 3339 UTC with milliseconds from microseconds since the epoch; 0,
 * -E2BIG (40 bytes are enough) or -EINVAL. */
int store_time_str(int64_t us, char *out, size_t outlen);
int64_t store_now_us(void);

#endif
