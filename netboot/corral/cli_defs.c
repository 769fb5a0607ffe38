/*
 * cli_defs: every command of `corral` as data — the collections it talks
 * to, their list columns, each command's options and its handler.
 * Adding a field to a resource is one line here; no handler changes.
 */
#include "cli_defs.h"

#include "cli_args.h"
#include "cli_cmds.h"
#include "cli_cmds_redfish.h"
#include "cli_firmware.h"
#include "cli_image.h"
#include "cli_out.h"
#include "cli_res.h"
#include "cli_system.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- list columns ---- */

static const struct cli_col node_cols[] = {
	{"NAME", "name", NULL, CLI_COL_VALUE},       {"NID", "nid", NULL, CLI_COL_VALUE},
	{"ARCH", "arch", NULL, CLI_COL_VALUE},       {"STATE", "state", NULL, CLI_COL_VALUE},
	{"ENABLED", "enabled", NULL, CLI_COL_YESNO}, {"GROUPS", "groups", NULL, CLI_COL_VALUE},
	{"PROFILE", "profile", NULL, CLI_COL_VALUE}, {"MAC", "interfaces", "mac", CLI_COL_VALUE},
	{"IP", "interfaces", "ip", CLI_COL_VALUE},
};

static const struct cli_col group_cols[] = {
	{"NAME", "name", NULL, CLI_COL_VALUE},
	{"PROFILE", "profile", NULL, CLI_COL_VALUE},
	{"MEMBERS", "members", NULL, CLI_COL_COUNT},
	{"DESCRIPTION", "description", NULL, CLI_COL_VALUE},
};

static const struct cli_col image_cols[] = {
	{"NAME", "name", NULL, CLI_COL_VALUE},     {"ARCH", "arch", NULL, CLI_COL_VALUE},
	{"KERNEL", "kernel", NULL, CLI_COL_VALUE}, {"INITRD", "initrd", NULL, CLI_COL_VALUE},
	{"ROOTFS", "rootfs", NULL, CLI_COL_VALUE}, {"PARAMS", "params", NULL, CLI_COL_VALUE},
};

static const struct cli_col profile_cols[] = {
	{"NAME", "name", NULL, CLI_COL_VALUE},     {"IMAGE", "image", NULL, CLI_COL_VALUE},
	{"KERNEL", "kernel", NULL, CLI_COL_VALUE}, {"INITRD", "initrd", NULL, CLI_COL_VALUE},
	{"PARAMS", "params", NULL, CLI_COL_VALUE},
};

static const struct cli_col token_cols[] = {
	{"NAME", "name", NULL, CLI_COL_VALUE},
	{"SCOPE", "scope", NULL, CLI_COL_VALUE},
	{"CREATED", "created", NULL, CLI_COL_VALUE},
	{"LAST USED", "last_used", NULL, CLI_COL_VALUE},
};

static const struct cli_col discovered_cols[] = {
	{"MAC", "mac", NULL, CLI_COL_VALUE},
	{"IP", "ip", NULL, CLI_COL_VALUE},
	{"FIRST SEEN", "first_seen", NULL, CLI_COL_VALUE},
	{"LAST SEEN", "last_seen", NULL, CLI_COL_VALUE},
	{"REQUESTS", "requests", NULL, CLI_COL_VALUE},
};

static const struct cli_col credential_cols[] = {
	{"NAME", "name", NULL, CLI_COL_VALUE},
	{"USERNAME", "username", NULL, CLI_COL_VALUE},
	{"CREATED", "created", NULL, CLI_COL_VALUE},
	{"UPDATED", "updated", NULL, CLI_COL_VALUE},
};

static const struct cli_col bmc_cols[] = {
	{"ADDRESS", "address", NULL, CLI_COL_VALUE}, {"PORT", "port", NULL, CLI_COL_VALUE},
	{"STATUS", "status", NULL, CLI_COL_VALUE},   {"VENDOR", "vendor", NULL, CLI_COL_VALUE},
	{"MODEL", "model", NULL, CLI_COL_VALUE},     {"MAC", "mac", NULL, CLI_COL_VALUE},
	{"SYSTEMS", "systems", NULL, CLI_COL_COUNT}, {"NODES", "systems", "node", CLI_COL_VALUE},
	{"MESSAGE", "message", NULL, CLI_COL_VALUE},
};

static const struct cli_col firmware_cols[] = {
	{"NAME", "name", NULL, CLI_COL_VALUE},       {"MODEL", "model", NULL, CLI_COL_VALUE},
	{"VERSION", "version", NULL, CLI_COL_VALUE}, {"SIZE", "size", NULL, CLI_COL_VALUE},
	{"SHA256", "sha256", NULL, CLI_COL_VALUE},   {"CREATED", "created", NULL, CLI_COL_VALUE},
};

/* Discovery, power and boot jobs mixed: each fills the columns of its kind. */
static const struct cli_col job_cols[] = {
	{"ID", "id", NULL, CLI_COL_VALUE},           {"TYPE", "type", NULL, CLI_COL_VALUE},
	{"ACTION", "action", NULL, CLI_COL_VALUE},   {"STATE", "state", NULL, CLI_COL_VALUE},
	{"STARTED", "started", NULL, CLI_COL_VALUE}, {"FINISHED", "finished", NULL, CLI_COL_VALUE},
	{"TARGETS", "targets", NULL, CLI_COL_VALUE}, {"FOUND", "found", NULL, CLI_COL_VALUE},
	{"NODES", "nodes", NULL, CLI_COL_VALUE},     {"FAILED", "failed", NULL, CLI_COL_VALUE},
	{"ERRORS", "errors", NULL, CLI_COL_VALUE},
};

/* ---- collections ---- */

static const struct cli_resource res_node = {"node", "/api/v1/nodes", "nodes",
					     1,      node_cols,       N(node_cols)};
static const struct cli_resource res_group = {"group", "/api/v1/groups", "groups",
					      1,       group_cols,       N(group_cols)};
static const struct cli_resource res_image = {"image", "/api/v1/images", "images",
					      1,       image_cols,       N(image_cols)};
static const struct cli_resource res_profile = {"profile", "/api/v1/profiles", "profiles",
						1,         profile_cols,       N(profile_cols)};
static const struct cli_resource res_token = {"token", "/api/v1/tokens", "tokens",
					      1,       token_cols,       N(token_cols)};
static const struct cli_resource res_discovered = {"discovered machine", "/api/v1/discovered",
						   "discovered",         1,
						   discovered_cols,      N(discovered_cols)};
static const struct cli_resource res_credential = {"credential",    "/api/v1/credentials", NULL, 1,
						   credential_cols, N(credential_cols)};
static const struct cli_resource res_bmc = {"BMC", "/api/v1/bmcs", NULL, 1, bmc_cols, N(bmc_cols)};
static const struct cli_resource res_job = {"job", "/api/v1/jobs", NULL, 1, job_cols, N(job_cols)};
static const struct cli_resource res_firmware = {"firmware image", "/api/v1/firmware", NULL, 1,
						 firmware_cols,    N(firmware_cols)};
static const struct cli_resource res_defaults = {"defaults", "/api/v1/defaults", NULL, 0, NULL, 0};

/* ---- options ---- */

#define Q CLI_OPT_QUERY
#define NUL CLI_OPT_NULLABLE

#define OPT_STR(name, key, flags, meta, help)                               \
	{                                                                   \
		name, key, CLI_OPT_STR, flags, 0, 0, NULL, NULL, meta, help \
	}
#define OPT_INT(name, key, flags, lo, hi, meta, help)                         \
	{                                                                     \
		name, key, CLI_OPT_INT, flags, lo, hi, NULL, NULL, meta, help \
	}
#define OPT_KIND(name, key, kind, meta, help)                    \
	{                                                        \
		name, key, kind, 0, 0, 0, NULL, NULL, meta, help \
	}
#define OPT_FLAG(name, key, val, help)                                  \
	{                                                               \
		name, key, CLI_OPT_FLAG, 0, 0, 0, val, NULL, NULL, help \
	}
#define OPT_CLEARS(name, key, clears, meta, help)                           \
	{                                                                   \
		name, key, CLI_OPT_STR, NUL, 0, 0, NULL, clears, meta, help \
	}

#define OPT_METADATA                                                      \
	OPT_KIND("--metadata-file", "metadata", CLI_OPT_JSONFILE, "FILE", \
		 "cloud-init meta-data: a file holding a JSON object")
#define OPT_USERDATA                                                        \
	OPT_KIND("--user-data-file", "user_data", CLI_OPT_TEXTFILE, "FILE", \
		 "cloud-init user-data (YAML, or a script); '-' reads stdin")

#define NODE_OPTS                                                                                  \
	OPT_KIND("--mac", "interfaces", CLI_OPT_IFACE, "MAC[,ip=IP]",                              \
		 "an interface; repeat for more, the first boots (set: replaces all; '' clears)"), \
		OPT_INT("--nid", "nid", NUL, 1, 2147483648LL, "N",                                 \
			"node ID, 1 to 2^31 ('' clears)"),                                         \
		OPT_STR("--arch", "arch", 0, "ARCH", "x86_64, aarch64, riscv64 or loongarch64"),   \
		OPT_STR("--role", "role", 0, "ROLE", "free text"),                                 \
		OPT_KIND("--group", "groups", CLI_OPT_LIST, "G",                                   \
			 "a group, in order (the first with a profile wins); repeat or G1,G2"),    \
		OPT_STR("--profile", "profile", NUL, "P",                                          \
			"boot profile over the groups' ('' clears)"),                              \
		OPT_STR("--params", "params", 0, "\"...\"",                                        \
			"kernel parameters after the profile's"),                                  \
		OPT_STR("--ipxe-binary", "ipxe_binary", NUL, "FILE",                               \
			"first-stage iPXE, e.g. ipxe.efi ('' clears)"),                            \
		OPT_METADATA, OPT_USERDATA

static const struct cli_opt node_create_opts[] = {
	NODE_OPTS,
	OPT_FLAG("--disabled", "enabled", "false", "create it disabled: it boots from disk"),
};

static const struct cli_opt node_set_opts[] = {
	NODE_OPTS,
	OPT_FLAG("--enable", "enabled", "true", "let it network-boot"),
	OPT_FLAG("--disable", "enabled", "false", "make it exit to the next boot device"),
};

static const struct cli_opt node_adopt_opts[] = {
	OPT_INT("--nid", "nid", NUL, 1, 2147483648LL, "N", "node ID, 1 to 2^31"),
	OPT_STR("--arch", "arch", 0, "ARCH", "x86_64, aarch64, riscv64 or loongarch64"),
	OPT_STR("--role", "role", 0, "ROLE", "free text"),
	OPT_KIND("--group", "groups", CLI_OPT_LIST, "G", "a group; repeat or G1,G2"),
	OPT_STR("--profile", "profile", NUL, "P", "boot profile over the groups'"),
	OPT_STR("--params", "params", 0, "\"...\"", "kernel parameters after the profile's"),
};

static const struct cli_opt node_list_opts[] = {
	OPT_STR("--group", "group", Q, "G", "only members of group G"),
	OPT_STR("--state", "state", Q, "S", "only nodes in state S (new, booting, ready)"),
	OPT_STR("--arch", "arch", Q, "A", "only nodes of arch A"),
	OPT_STR("--enabled", "enabled", Q, "true|false", "only enabled or disabled nodes"),
	OPT_INT("--limit", "limit", Q, 1, 1000000, "N", "at most N nodes"),
	OPT_INT("--offset", "offset", Q, 0, 2147483647, "N", "skip the first N nodes"),
};

static const struct cli_opt group_opts[] = {
	OPT_STR("--description", "description", 0, "TEXT", "what the group is"),
	OPT_STR("--profile", "profile", NUL, "P", "boot profile of its members ('' clears)"),
	OPT_STR("--ipxe-binary", "ipxe_binary", NUL, "FILE",
		"first-stage iPXE of its members, e.g. ipxe.efi ('' clears)"),
	OPT_METADATA,
	OPT_USERDATA,
};

static const struct cli_opt image_opts[] = {
	OPT_STR("--kernel", "kernel", 0, "K", "kernel: a path under the file root or a URL"),
	OPT_STR("--initrd", "initrd", 0, "I", "initrd: a path under the file root or a URL"),
	OPT_STR("--rootfs", "rootfs", NUL, "R", "root file system (squashfs) ('' clears)"),
	OPT_STR("--params", "params", 0, "P", "kernel parameters"),
	OPT_STR("--arch", "arch", 0, "A", "x86_64, aarch64, riscv64 or loongarch64"),
};

static const struct cli_opt image_verify_opts[] = {
	OPT_KIND("--manifest", "manifest", CLI_OPT_TEXTFILE, "FILE",
		 "the image's manifest.json (default: the one pushed beside its files)"),
};

/* On `set`, naming an image drops kernel/initrd and the reverse: a profile
   has one or the other. */
static const struct cli_opt profile_opts[] = {
	OPT_CLEARS("--image", "image", "kernel,initrd", "I", "boot image I"),
	OPT_CLEARS("--kernel", "kernel", "image", "K", "or a kernel (path or URL) ..."),
	OPT_CLEARS("--initrd", "initrd", "image", "I", "... with this initrd"),
	OPT_KIND("--arch-image", "images", CLI_OPT_MAP, "ARCH=I",
		 "the image for nodes of ARCH, e.g. aarch64=compute-arm64; repeat or "
		 "A=I,A=I (set: replaces all; '' clears)"),
	OPT_STR("--params", "params", 0, "P", "kernel parameters after the image's"),
	OPT_STR("--ipxe-binary", "ipxe_binary", NUL, "FILE",
		"first-stage iPXE of its nodes, e.g. ipxe.efi ('' clears)"),
};

static const struct cli_opt defaults_opts[] = {
	OPT_STR("--profile", "profile", NUL, "P",
		"profile of nodes whose node and groups name none ('' clears)"),
	OPT_USERDATA,
	OPT_METADATA,
};

static const struct cli_opt token_opts[] = {
	OPT_FLAG("--read-only", "scope", "\"read\"", "may only read (GET); default: admin"),
};

static const struct cli_opt system_upgrade_opts[] = {
	OPT_FLAG("--no-reboot", "no_reboot", "true",
		 "write and check the slot; switch at the next reboot"),
};

static const struct cli_opt events_opts[] = {
	OPT_INT("--limit", "limit", Q, 1, 1000000, "N", "at most N events (server default 1000)"),
	{"--follow", "follow", CLI_OPT_FLAG, Q, 0, 0, "true", NULL, NULL,
	 "then print new events as they happen, until Ctrl-C (--json: one JSON object a line)"},
	OPT_STR("--until", "until", Q, "STAGE",
		"follow until a new STAGE event (phone-home: the node is up), then exit 0"),
	OPT_INT("--timeout", "timeout", Q, 1, 604800, "SECONDS",
		"follow for this long at most (exit 1 if --until did not come)"),
};

/* Redfish.  Options the CLI keeps to itself (waiting, the password from
   stdin, --profile of boot pxe) are CLI_OPT_QUERY: no API call sends them. */
#define OPT_QFLAG(name, key, help)                                         \
	{                                                                  \
		name, key, CLI_OPT_FLAG, Q, 0, 0, "true", NULL, NULL, help \
	}
#define OPT_WAIT(deflt)                                                               \
	OPT_INT("--timeout", "timeout", Q, 1, 604800, "SECONDS",                      \
		"stop waiting after this long (default " deflt "); the job goes on"), \
		OPT_QFLAG("--no-wait", "no-wait", "print the job's ID and return at once")

static const struct cli_opt credential_opts[] = {
	OPT_STR("--username", "username", 0, "U", "user name on the BMCs (required)"),
	OPT_KIND("--password-file", "password", CLI_OPT_TEXTFILE, "FILE",
		 "read the password from FILE (one line)"),
	OPT_QFLAG("--password-stdin", "password-stdin",
		  "read the password from stdin (asked for, not echoed, on a terminal)"),
};

static const struct cli_opt discover_opts[] = {
	OPT_INT("--port", "port", 0, 1, 65535, "N", "BMC port (default 443, or 80 with http)"),
	OPT_STR("--scheme", "scheme", 0, "http|https", "default https"),
	OPT_STR("--credential", "credential", 0, "NAME",
		"credential to log in with (default: the one named 'default')"),
	OPT_FLAG("--insecure", "insecure", "true",
		 "do not verify the BMCs' TLS certificates (kept per BMC for power and boot)"),
	OPT_STR("--auth", "auth", 0, "basic|session",
		"basic auth on every request (default), or a Redfish session (X-Auth-Token)"),
	OPT_INT("--concurrency", "concurrency", 0, 1, 4096, "N",
		"addresses probed at once (default: corrald's [redfish] concurrency)"),
	OPT_WAIT("1800 s"),
};

static const struct cli_opt control_opts[] = {
	OPT_WAIT("300 s"),
};

static const struct cli_opt boot_pxe_opts[] = {
	OPT_FLAG("--once", "once", "true", "PXE at the next boot only (the default)"),
	OPT_FLAG("--continuous", "once", "false", "PXE at every boot until changed"),
	OPT_FLAG("--reset", "reset", "true", "then power on (if off) or restart the nodes"),
	OPT_STR("--profile", "profile", Q, "P",
		"first give each named node or group boot profile P (PATCH)"),
	OPT_WAIT("300 s"),
};

static const struct cli_opt firmware_add_opts[] = {
	OPT_STR("--model", "model", 0, "M",
		"the BMC model it is for, as 'corral bmc list' shows it (required)"),
	OPT_STR("--version", "version", 0, "V", "the firmware version in FILE (required)"),
	OPT_STR("--name", "name", 0, "NAME", "the image's name (default: FILE's base name)"),
};

static const struct cli_opt firmware_update_opts[] = {
	OPT_STR("--image", "image", Q, "NAME", "the firmware image to install (required)"),
	OPT_FLAG("--dry-run", "dry_run", "true",
		 "read each BMC's versions and say what would happen; change nothing"),
	OPT_WAIT("3600 s"),
};

static const struct cli_opt job_wait_opts[] = {
	OPT_INT("--timeout", "timeout", Q, 1, 604800, "SECONDS",
		"stop waiting after this long (default 1800 s); the job goes on"),
};

#define POWER(verb, summary) \
	CMD("power", verb, cli_cmd_power, NULL, control_opts, 1, -1, "NODE|GROUP...", summary)

/* ---- commands ---- */

#define CMD(resource, verb, run, res, opts, minpos, maxpos, usage, summary)             \
	{                                                                               \
		resource, verb, run, res, opts, N(opts), minpos, maxpos, usage, summary \
	}
#define CMD0(resource, verb, run, res, minpos, maxpos, usage, summary)            \
	{                                                                         \
		resource, verb, run, res, NULL, 0, minpos, maxpos, usage, summary \
	}

/* list/show/create/set/rm of a collection whose create and set take opts. */
#define CRUD(word, res, opts, plural)                                                      \
	CMD0(word, "list", cli_res_list, res, 0, 0, "", "list " plural),                   \
		CMD0(word, "show", cli_res_show, res, 1, 1, "NAME", "show " word " NAME"), \
		CMD(word, "create", cli_res_create, res, opts, 1, 1, "NAME",               \
		    "create " word " NAME"),                                               \
		CMD(word, "set", cli_res_set, res, opts, 1, 1, "NAME",                     \
		    "change fields of " word " NAME (only those given)"),                  \
		CMD0(word, "rm", cli_res_rm, res, 1, -1, "NAME...", "remove " plural)

const struct cli_cmd cli_cmds[] = {
	CMD("node", "list", cli_res_list, &res_node, node_list_opts, 0, 0, "", "list nodes"),
	CMD0("node", "show", cli_res_show, &res_node, 1, 1, "NAME", "show node NAME"),
	CMD("node", "create", cli_res_create, &res_node, node_create_opts, 1, 1, "NAME",
	    "create node NAME"),
	CMD("node", "set", cli_res_set, &res_node, node_set_opts, 1, 1, "NAME",
	    "change fields of node NAME (only those given)"),
	CMD0("node", "rm", cli_res_rm, &res_node, 1, -1, "NAME...", "remove nodes"),
	CMD0("node", "import", cli_cmd_import, &res_node, 1, 1, "FILE",
	     "create or replace nodes from a JSON or YAML file (all or nothing)"),
	CMD0("node", "discovered", cli_res_list, &res_discovered, 0, 0, "",
	     "list MACs that asked to boot but belong to no node"),
	CMD("node", "adopt", cli_cmd_adopt, &res_node, node_adopt_opts, 2, 2, "MAC NAME",
	    "make discovered machine MAC node NAME; it boots at its next retry"),
	CRUD("group", &res_group, group_opts, "groups"),
	CRUD("image", &res_image, image_opts, "images"),
	CMD("image", "verify", cli_cmd_image_verify, &res_image, image_verify_opts, 1, 1, "NAME",
	    "check the files corrald serves for image NAME against its manifest (sha256)"),
	CRUD("profile", &res_profile, profile_opts, "boot profiles"),
	CMD0("boot", "show", cli_cmd_bootscript, &res_node, 1, 1, "NODE",
	     "print the iPXE script NODE would get now"),
	CMD("boot", "pxe", cli_cmd_boot_pxe, NULL, boot_pxe_opts, 1, -1, "NODE|GROUP...",
	    "make nodes boot from the network (Redfish boot override), optionally reset"),
	CMD("discover", NULL, cli_cmd_discover, NULL, discover_opts, 1, -1, "TARGET...",
	    "find Redfish BMCs in CIDRs, FIRST-LAST ranges or hosts; register their nodes"),
	CMD0("bmc", "list", cli_res_list, &res_bmc, 0, 0, "", "list BMCs found by discovery"),
	CMD0("bmc", "rm", cli_res_rm, &res_bmc, 1, -1, "ADDRESS...",
	     "forget BMCs (their nodes stay)"),
	POWER("on", "power nodes on"),
	POWER("off", "power nodes off"),
	POWER("reset", "restart nodes"),
	POWER("cycle", "power-cycle nodes"),
	POWER("status", "read the nodes' power state"),
	CMD0("job", "list", cli_res_list, &res_job, 0, 0, "",
	     "list the discovery, power, boot and firmware jobs corrald keeps (the newest 64)"),
	CMD0("job", "show", cli_cmd_job, NULL, 1, 1, "ID",
	     "show a discovery, power, boot or firmware job"),
	CMD("job", "wait", cli_cmd_job, NULL, job_wait_opts, 1, 1, "ID",
	    "wait for a job, then show it"),
	CMD("firmware", "add", cli_cmd_firmware_add, &res_firmware, firmware_add_opts, 1, 1, "FILE",
	    "store a BMC firmware image for corrald to serve to BMCs"),
	CMD0("firmware", "list", cli_res_list, &res_firmware, 0, 0, "",
	     "list the BMC firmware images"),
	CMD0("firmware", "show", cli_res_show, &res_firmware, 1, 1, "NAME",
	     "show firmware image NAME"),
	CMD0("firmware", "rm", cli_res_rm, &res_firmware, 1, -1, "NAME...",
	     "remove firmware images"),
	CMD("firmware", "update", cli_cmd_firmware_update, NULL, firmware_update_opts, 1, -1,
	    "NODE|GROUP|BMC...",
	    "update BMCs (those of the image's model) through Redfish UpdateService"),
	CMD0("credential", "list", cli_res_list, &res_credential, 0, 0, "",
	     "list BMC credentials (never the passwords)"),
	CMD("credential", "set", cli_cmd_credential_set, &res_credential, credential_opts, 1, 1,
	    "NAME", "create or replace a BMC credential (stored encrypted)"),
	CMD0("credential", "rm", cli_res_rm, &res_credential, 1, -1, "NAME...",
	     "remove credentials no BMC uses"),
	CMD("events", NULL, cli_cmd_events, &res_node, events_opts, 1, 1, "NODE",
	    "a node's boot timeline"),
	CMD0("status", NULL, cli_cmd_status, NULL, 0, 0, "", "server summary"),
	CMD0("token", "list", cli_res_list, &res_token, 0, 0, "", "list API tokens"),
	CMD("token", "create", cli_cmd_token_create, &res_token, token_opts, 1, 1, "NAME",
	    "create an API token; prints its secret once"),
	CMD0("token", "rm", cli_res_rm, &res_token, 1, -1, "NAME...", "revoke API tokens"),
	CMD0("system", "status", cli_cmd_system, NULL, 0, 0, "",
	     "appliance: both root slots, their versions, which one runs"),
	CMD("system", "upgrade", cli_cmd_system, NULL, system_upgrade_opts, 1, 1, "IMAGE|URL",
	    "appliance: write an image into the other slot, check it, boot it (rolls back if unhealthy)"),
	CMD0("system", "backup", cli_cmd_system, NULL, 1, 1, "FILE",
	     "appliance: the data partition (store, keys, images, settings) into one archive"),
	CMD0("system", "restore", cli_cmd_system, NULL, 1, 1, "FILE",
	     "appliance: put a backup archive back"),
	CMD0("defaults", "show", cli_res_show, &res_defaults, 0, 0, "",
	     "show the defaults (profile, cloud-init data)"),
	CMD("defaults", "set", cli_res_set, &res_defaults, defaults_opts, 0, 0, "",
	    "change the defaults"),
};

const size_t cli_ncmds = N(cli_cmds);
