/*
 * store: every byte of Corral's persistent state, in one SQLite file.
 *
 * The only module with SQL.  Every statement is a constant string with
 * bound parameters, prepared once per connection and reused.  Each thread
 * gets its own connection (WAL mode: readers never wait for the writer),
 * opened on first use; all connections are closed by store_free(), which
 * must run after every thread that used the store has stopped.
 *
 * Objects cross this boundary as jansson objects in the API's shapes
 * (docs/api.md).  The caller validates fields and fills defaults first;
 * the store enforces what only it can see atomically: uniqueness,
 * references, and "in use" on delete.  Every write is one transaction: it
 * happens whole or not at all.
 *
 * Errors: 0 on success; -ENOENT no such object; -EEXIST a conflict (name,
 * NID, MAC or IP taken); -EBUSY delete refused because the object is in
 * use; -ENXIO a referenced object does not exist; -EIO a database failure
 * (logged here).  For -EEXIST, -EBUSY and -ENXIO, *err (when not NULL)
 * names the field and says why.
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

/* Opens (creating and migrating) the database at path. */
int store_open(const char *path, struct store **out);
void store_free(struct store *st);
/* Schema version after migrations. */
int store_schema_version(struct store *st);
/* Bumped on every committed change to boot-relevant data (for caches). */
uint64_t store_generation(struct store *st);
/*
 * Ends this thread's open read snapshots (statements stopped on a row).
 * Call when a unit of work (an HTTP request) is done, so idle threads
 * never hold back WAL checkpoints.
 */
void store_release(struct store *st);
/* A trivial query: 0 if the database answers. */
int store_ping(struct store *st);

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
int store_node_put(struct store *st, json_t *node, bool create_only, bool *created,
		   struct store_err *err);
/* All or nothing; errors are prefixed with "nodes[i].". */
int store_node_import(struct store *st, json_t *nodes, int *created, int *replaced,
		      struct store_err *err);
int store_node_delete(struct store *st, const char *name);
/* Node id by name / by an interface's static or last-seen IP; -ENOENT. */
int store_node_id(struct store *st, const char *name, int64_t *id);
int store_node_by_ip(struct store *st, const char *ip, int64_t *id);
/* Name of node id into out. */
int store_node_name(struct store *st, int64_t id, char *out, size_t outlen);
/* Node counts by state: {"total","new","booting","ready","disabled"}. */
int store_node_counts(struct store *st, json_t **out);
int store_counts(struct store *st, json_t *into); /* groups, images, profiles, discovered */

/* Defaults (profile, metadata, user_data). */
int store_defaults_get(struct store *st, json_t **out);
int store_defaults_put(struct store *st, json_t *defaults, struct store_err *err);

/* What a boot script needs, resolved node → group → default in one place. */
struct store_boot {
	int64_t node_id;
	char name[64];
	char mac[18]; /* boot MAC: the one asked for, else the first interface */
	char arch[16];
	bool enabled;
	bool has_profile;               /* false: nothing to boot */
	char profile[64];               /* profile name */
	char source[80];                /* "node", "group <name>" or "default" */
	char image[64];                 /* image name or "" */
	char *kernel, *initrd, *rootfs; /* locations (path or URL); rootfs may be NULL */
	char *params;                   /* image + profile + node parameters, space-joined */
};
enum store_boot_key { STORE_BOOT_MAC, STORE_BOOT_NAME, STORE_BOOT_NID, STORE_BOOT_ID };
int store_boot_lookup(struct store *st, enum store_boot_key key, const char *value,
		      struct store_boot *out);
void store_boot_clear(struct store_boot *b);

/* cloud-init layers for a node: arrays of metadata objects and user-data
 * strings, least specific first (defaults, groups in order, node). */
int store_cloudinit_layers(struct store *st, int64_t node_id, char *name, size_t namelen,
			   json_t **metadata, json_t **user_data);

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
int store_node_by_mac(struct store *st, const char *mac, int64_t *id);

/* Redfish: credentials (the secret is sealed by the caller), BMCs, systems. */
int store_cred_put(struct store *st, const char *name, const char *username,
		   const unsigned char *secret, size_t len);
/* *len: buffer size in, secret size out. */
int store_cred_get(struct store *st, const char *name, char *username, size_t ulen,
		   unsigned char *secret, size_t *len);
int store_cred_list(struct store *st, json_t **out); /* never the secrets */
int store_cred_delete(struct store *st, const char *name, struct store_err *err);
/*
 * One discovered BMC ({"address","port","scheme","insecure","credential",
 * "status","message","mac","vendor","model","uuid","firmware","systems":
 * [{"path","macs":[…],"hostname",…}]}) and the nodes its systems are, in
 * one transaction.  report must hold arrays nodes_created, nodes_updated,
 * conflicts; they are appended to.
 */
int store_bmc_record(struct store *st, json_t *bmc, json_t *report);
int store_bmc_list(struct store *st, json_t **out);
int store_bmc_delete(struct store *st, const char *address);
/* The BMC and system a node is: {"address","port","scheme","insecure","credential","path","system"}. */
int store_node_system(struct store *st, const char *node, json_t **out);
/* Records the power state a node's BMC reported, and when (the system's "power_checked"). */
int store_node_power_state(struct store *st, const char *node, const char *state);

/* Small key/value settings. */
int store_setting_get(struct store *st, const char *key, char **value);
int store_setting_set(struct store *st, const char *key, const char *value);

/* RFC 3339 UTC with milliseconds from microseconds since the epoch. */
void store_time_str(int64_t us, char *out, size_t outlen);
int64_t store_now_us(void);

#endif
