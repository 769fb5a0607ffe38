/*
 * corrald: the Corral daemon.  Wires the modules together and waits for
 * signals; knows no subsystem's insides.
 *
 *   corrald [-c FILE] [-d]             run in the foreground (logs to stderr)
 *   corrald [-c FILE] -n               check the configuration and exit
 *   corrald [-c FILE] token create NAME [--read-only] | token list | token rm NAME
 *   corrald [-c FILE] cert             show the operator listener's certificate
 *
 * Two listeners: the node-facing paths on server.port (plain HTTP) and the
 * operator's API and web page on server.api_port (HTTPS, tls.*), each with
 * its own connection budget; one listener when the two ports are the same.
 * The open-file limit is raised to its hard limit at start, and the
 * budgets are fitted under it.
 *
 * Signals are blocked in every thread and taken synchronously by the main
 * thread with sigwait(): SIGHUP reloads, SIGTERM/SIGINT stop cleanly.  A
 * reload is parse → validate → prepare → swap: config_merge() says what
 * the new file changes, every side that must change (the file root, the
 * DHCP side) is prepared and started before anything is swapped, and any
 * failure leaves the running configuration and the running dnsmasq alone.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "app.h"
#include "dhcp.h"
#include "fsutil.h"
#include "log.h"
#include "prerender.h"
#include "routes.h"
#include "tlscert.h"

/* Descriptors kept for everything but client connections: the store,
 * files being served, dnsmasq's pipes, the event log; Redfish's sockets
 * come on top (redfish.concurrency). */
#define CORRALD_FD_RESERVE 512
/* The main thread's housekeeping period (housekeeping()), and the bytes a purge
 * must free before the heap is trimmed. */
#define CORRALD_TICK_S 10
#define CORRALD_TRIM_BYTES (256u * 1024)

struct app_retired {
	struct app_retired *next;
	struct config *cfg;
	struct files *files;
};

/* The running daemon: the handlers' shared state and what main alone holds. */
struct daemon {
	struct app a;
	const char *conf_path;        /* -c, or NULL: the default file if it exists */
	const char **labels;          /* the routes' metrics labels */
	struct http_server *http;     /* node-facing paths (every path with one listener) */
	struct http_server *http_api; /* the operator's API and web page; NULL: one listener */
	struct tlscert *tls;          /* the operator listener's certificate; NULL: plain HTTP */
	uint16_t port;                /* the port the node-facing listener listens on */
	rlim_t nofile;                /* the open-file limit in force */
	unsigned node_conns;          /* the node-facing listener's connection budget */
	struct dhcp_env denv;
	struct dhcp *dhcp;           /* NULL: dhcp.mode off */
	struct prerender *prerender; /* NULL: boot.prerender_kib 0 */
};

static void usage(FILE *f)
{
	fprintf(f, "usage: corrald [-c FILE] [-d] [-n]\n"
		   "       corrald [-c FILE] token create NAME [--read-only] | token list | "
		   "token rm NAME\n"
		   "       corrald [-c FILE] cert\n"
		   "  -c FILE  configuration (default " CONFIG_DEFAULT_PATH " if it exists)\n"
		   "  -d       debug logging\n"
		   "  -n       check the configuration and exit\n"
		   "  -V       print the version\n");
}

/* Loads the configuration: the named file, else the default one if present;
 * 0, or -EINVAL with the file's first error in err. */
static int load_config(const char *path, struct config *c, char *err, size_t errlen)
{
	config_defaults(c);
	if (path == NULL && access(CONFIG_DEFAULT_PATH, F_OK) == 0)
		path = CONFIG_DEFAULT_PATH;
	if (path != NULL && config_load(path, c, err, errlen) < 0)
		return -EINVAL;
	return 0;
}

/* mkdir -p root, then files_open: 0 or -errno. */
static int open_files(const char *root, struct files **out)
{
	int rc = fs_mkdir_p(root, 0750);
	return rc < 0 ? rc : files_open(root, out);
}

static int token_cmd(struct store *st, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "create") == 0 && (argc == 3 || argc == 4)) {
		enum auth_scope scope = AUTH_SCOPE_ADMIN;
		if (argc == 4) {
			if (strcmp(argv[3], "--read-only") != 0) {
				usage(stderr);
				return 2;
			}
			scope = AUTH_SCOPE_READ;
		}
		char tok[AUTH_TOKEN_LEN + 8];
		unsigned char hash[AUTH_HASH_LEN];
		auth_token_new(tok);
		auth_token_hash(tok, hash);
		int rc = store_token_add(st, argv[2], hash, scope);
		if (rc == -EEXIST) {
			log_warnx("token %s exists; remove it first (corrald token rm %s)", argv[2],
				  argv[2]);
			return 1;
		}
		if (rc < 0) {
			log_warnx("could not store the token: %s", store_errmsg());
			return 1;
		}
		printf("%s\n", tok);
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "list") == 0) {
		json_t *list;
		if (store_token_list(st, &list) < 0) {
			log_warnx("cannot list the tokens: %s", store_errmsg());
			return 1;
		}
		printf("%-24s %-6s %-25s %s\n", "NAME", "SCOPE", "CREATED", "LAST USED");
		size_t i;
		json_t *t;
		json_array_foreach(list, i, t) {
			const char *lu = json_string_value(json_object_get(t, "last_used"));
			printf("%-24s %-6s %-25s %s\n",
			       json_string_value(json_object_get(t, "name")),
			       json_string_value(json_object_get(t, "scope")),
			       json_string_value(json_object_get(t, "created")), lu ? lu : "-");
		}
		json_decref(list);
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "rm") == 0) {
		int rc = store_token_delete(st, argv[2]);
		if (rc < 0) {
			log_warnx("token %s: %s", argv[2],
				  rc == -ENOENT ? "no such token" : store_errmsg());
			return 1;
		}
		return 0;
	}
	usage(stderr);
	return 2;
}

/* Puts next and, if given, nf in force; the replaced ones are kept until exit (ret). */
static void swap(struct daemon *dm, struct config *next, struct files *nf, struct app_retired *ret)
{
	struct app *a = &dm->a;
	ret->cfg = atomic_exchange(&a->cfg, next);
	if (nf != NULL)
		ret->files = atomic_exchange(&a->files, nf);
	ret->next = a->retired;
	a->retired = ret;
	log_set_level(next->log_level);
	admit_set(a->admit, next->max_large, next->large_retry);
	bootcache_clear(a->bootcache);
	prerender_again(dm->prerender);
}

/*
 * SIGHUP: a new configuration, in force whole or not at all.  The sides
 * it changes are prepared first (a new file root opened, a new dnsmasq
 * started); only then are the structs swapped, which cannot fail.  Every
 * failure is logged once, here, with its reason.
 */
static void reload(struct daemon *dm)
{
	struct config *cur = atomic_load(&dm->a.cfg);
	struct config *next = malloc(sizeof(*next));
	struct app_retired *ret = calloc(1, sizeof(*ret));
	struct files *nf = NULL;
	struct dhcp *nd = NULL;
	struct config_change ch;
	char err[512];
	if (next == NULL || ret == NULL) {
		log_warnx("reload: out of memory; configuration not changed");
		goto err_free;
	}
	if (load_config(dm->conf_path, next, err, sizeof(err)) < 0) {
		log_warnx("reload: %s; configuration not changed", err);
		goto err_free;
	}
	if (config_merge(cur, next, dm->port, &ch) < 0) {
		log_warnx("reload: the advertised URL is too long; configuration not changed");
		goto err_free;
	}
	if (ch.files_root && open_files(next->files_root, &nf) < 0) {
		log_warnx("reload: cannot open files.root %s; configuration not changed",
			  next->files_root);
		goto err_free;
	}
	if (ch.dhcp) {
		if (dhcp_prepare(dm->dhcp, next, &dm->denv, &nd, err, sizeof(err)) < 0) {
			log_warnx("reload: %s; configuration not changed", err);
			goto err_files;
		}
		log_info("reload: DHCP settings changed; %s dnsmasq", nd == NULL ? "stopping" :
								      dm->dhcp != NULL ?
										   "restarting" :
										   "starting");
		if (dhcp_commit(&dm->dhcp, nd, err, sizeof(err)) < 0) {
			log_warnx("reload: %s; configuration not changed (dnsmasq runs the "
				  "previous settings again)",
				  err);
			goto err_files;
		}
	}
	swap(dm, next, nf, ret);
	if (ch.restart[0] != '\0')
		log_warnx("reload: %s take effect at the next restart", ch.restart);
	log_info("reloaded configuration");
	return;

err_files:
	files_free(nf);
err_free:
	free(ret);
	free(next);
}

/* The routes' metrics labels, in table order. */
static const char **route_labels(void)
{
	const char **labels = calloc(routes_count, sizeof(*labels));
	for (size_t i = 0; labels != NULL && i < routes_count; i++)
		labels[i] = routes_table[i].label;
	return labels;
}

/* Options: -1 to go on (optind at the first operand), else the exit code. */
static int parse_args(int argc, char **argv, const char **conf_path, int *check_only, int *debug)
{
	int ch;
	while ((ch = getopt(argc, argv, "+c:dnhV")) != -1) {
		switch (ch) {
		case 'c':
			*conf_path = optarg;
			break;
		case 'd':
			*debug = 1;
			break;
		case 'n':
			*check_only = 1;
			break;
		case 'V':
			printf("corrald %s\n", CORRAL_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc && strcmp(argv[optind], "token") != 0 &&
	    !(strcmp(argv[optind], "cert") == 0 && optind + 1 == argc)) {
		usage(stderr);
		return 2;
	}
	return -1;
}

/*
 * Raises the soft open-file limit to the hard one (systemd's unit sets
 * LimitNOFILE; the usual soft 1,024 is what a slow-client flood used up
 * first) and returns the limit in force.
 */
static rlim_t raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 1024;
	rlim_t was = rl.rlim_cur;
	/* "unlimited" is not a value setrlimit takes for descriptors */
	rlim_t want = rl.rlim_max == RLIM_INFINITY ? (rlim_t)1 << 20 : rl.rlim_max;
	if (want > rl.rlim_cur) {
		rl.rlim_cur = want;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
			log_warn("cannot raise the open-file limit from %llu to %llu",
				 (unsigned long long)was, (unsigned long long)want);
			return was;
		}
	}
	log_info("open-file limit %llu (was %llu; the hard limit is %llu)",
		 (unsigned long long)rl.rlim_cur, (unsigned long long)was,
		 (unsigned long long)rl.rlim_max);
	return rl.rlim_cur;
}

/*
 * The node-facing listener's connection budget: server.max_connections,
 * lowered to what the open-file limit leaves after the operator
 * listener's budget and the reserve (logged when it is).
 */
static unsigned node_conn_budget(const struct daemon *dm, const struct config *cfg)
{
	rlim_t other = CORRALD_FD_RESERVE + cfg->rf_concurrency +
		       (config_split_listeners(cfg) ? cfg->api_max_conns : 0);
	rlim_t room = dm->nofile > other + 64 ? dm->nofile - other : 64;
	if (cfg->max_conns <= room)
		return cfg->max_conns;
	log_warnx("server.max_connections %u lowered to %llu to fit the open-file limit %llu "
		  "(raise LimitNOFILE)",
		  cfg->max_conns, (unsigned long long)room, (unsigned long long)dm->nofile);
	return (unsigned)room;
}

/*
 * A burst of connections is over (none open now): give the freed memory
 * back.  libmicrohttpd's per-connection pools and a storm's transient
 * allocations are freed by then, but glibc keeps the pages of its
 * per-thread arenas until asked (bench/PROFILE.md: 171 MiB -> 44 MiB).
 */
static void http_idle(void *ctx)
{
	(void)ctx;
	malloc_trim(0);
}

/*
 * Every CORRALD_TICK_S from the main thread: the answer cache drops what
 * no request can hit any more (a storm's address memos live 5 s, and
 * stale renderings stay until evicted), and the memory goes back to the
 * kernel when that was worth it.
 */
static void housekeeping(struct daemon *dm)
{
	struct app *a = &dm->a;
	size_t freed = bootcache_purge(a->bootcache, store_generation(a->store), store_now_us());
	if (freed >= CORRALD_TRIM_BYTES)
		malloc_trim(0);
}

/* One listener from the configuration; fatal if it cannot listen. */
static struct http_server *listen_one(struct daemon *dm, const struct config *cfg,
				      struct http_config *hc)
{
	struct http_server *srv;
	hc->threads = cfg->threads;
	hc->max_body = cfg->max_body;
	hc->conn_timeout = cfg->idle_timeout;
	hc->header_timeout = cfg->header_timeout;
	hc->body_timeout = cfg->body_timeout;
	hc->max_conns_per_ip = cfg->max_conns_per_ip;
	hc->idle = http_idle;
	hc->routes = routes_table;
	hc->nroutes = routes_count;
	hc->auth = routes_auth;
	hc->done = routes_done;
	hc->error_body = routes_error_body;
	hc->untyped_json = routes_untyped_json;
	hc->ctx = &dm->a;
	int rc = http_server_start(hc, &srv);
	if (rc < 0)
		fatalx("cannot listen on %s port %u%s: %s", hc->address, hc->port,
		       hc->tls_cert != NULL ? " with TLS" : "",
		       rc == -EIO && hc->tls_cert != NULL ?
			       "libmicrohttpd refused the certificate" :
			       strerror(-rc));
	return srv;
}

/* The operator listener's certificate, made if missing; fatal if unusable. */
static void load_tls(struct daemon *dm, const struct config *cfg)
{
	char err[512];
	if (fs_mkdir_parent(cfg->tls_cert, 0750) < 0 || fs_mkdir_parent(cfg->tls_key, 0750) < 0)
		fatal("cannot create the directories for %s and %s", cfg->tls_cert, cfg->tls_key);
	if (tlscert_load(cfg->tls_cert, cfg->tls_key, config_api_address(cfg), cfg->tls_names,
			 &dm->tls, err, sizeof(err)) < 0)
		fatalx("tls: %s", err);
	const struct tlscert *t = dm->tls;
	if (cfg->tls_old_dir)
		log_info("tls: kept the pair %s, %s from the data directory (the default is now "
			 "beside auth.key_file); move it there or name it in tls.cert and tls.key",
			 cfg->tls_cert, cfg->tls_key);
	if (t->generated)
		log_info("tls: made a self-signed certificate %s for %s", cfg->tls_cert, t->names);
	if (t->not_after < time(NULL))
		log_warnx("tls: the certificate %s expired; browsers and the CLI refuse it",
			  cfg->tls_cert);
	log_info("tls: certificate %s, public key %s (corral --fingerprint), certificate "
		 "SHA-256 %s",
		 cfg->tls_cert, t->fingerprint, t->cert_sha256);
}

/*
 * The listeners: the node-facing one (dm->port is its port) and, with
 * server.api_port apart, the operator's.  Fatal if either cannot listen.
 */
static void start_http(struct daemon *dm, struct config *cfg)
{
	bool split = config_split_listeners(cfg);
	bool tls = config_tls_enabled(cfg);
	if (tls)
		load_tls(dm, cfg);
	dm->node_conns = node_conn_budget(dm, cfg);
	struct http_config node = {
		.name = split ? "node" : "http",
		.role = split ? HTTP_ROLE_NODE : HTTP_ROLE_ALL,
		.address = cfg->address,
		.port = (uint16_t)cfg->port,
		.max_conns = dm->node_conns,
		/* a split operator listener keeps MHD's default pool (browsers' headers) */
		.conn_memory = cfg->conn_memory,
		.tls_cert = !split && tls ? dm->tls->cert_pem : NULL,
		.tls_key = !split && tls ? dm->tls->key_pem : NULL,
	};
	if (split) {
		struct http_config api = {
			.name = "api",
			.role = HTTP_ROLE_OPERATOR,
			.address = config_api_address(cfg),
			.port = (uint16_t)cfg->api_port,
			.max_conns = cfg->api_max_conns,
			.tls_cert = tls ? dm->tls->cert_pem : NULL,
			.tls_key = tls ? dm->tls->key_pem : NULL,
			.other_scheme = "http",
			.other_port = (uint16_t)cfg->port, /* 0: not known yet, not named */
		};
		dm->http_api = listen_one(dm, cfg, &api);
		node.other_scheme = tls ? "https" : "http";
		node.other_port = http_server_port(dm->http_api);
	}
	dm->http = listen_one(dm, cfg, &node);
	dm->port = http_server_port(dm->http);
	if (cfg->port == 0) /* now the port is known */
		(void)config_resolve_base_url(cfg, dm->port);
	if (split)
		log_info("operator API and web page on %s://%s:%u (%u connections at most)",
			 tls ? "https" : "http", config_api_address(cfg),
			 http_server_port(dm->http_api), cfg->api_max_conns);
	else if (!tls)
		log_warnx("the API and the web page share the node-facing listener and speak "
			  "plain HTTP: tokens cross the network in the clear (set server.api_port "
			  "apart for HTTPS; see docs/security.md)");
}

/* `corrald cert`: the operator listener's certificate (made if missing) and its fingerprints. */
static int cert_cmd(const struct config *cfg)
{
	struct tlscert *t;
	char err[512], from[32], until[32];
	if (fs_mkdir_parent(cfg->tls_cert, 0750) < 0 || fs_mkdir_parent(cfg->tls_key, 0750) < 0 ||
	    tlscert_load(cfg->tls_cert, cfg->tls_key, config_api_address(cfg), cfg->tls_names, &t,
			 err, sizeof(err)) < 0) {
		log_warnx("tls: %s", err);
		return 1;
	}
	struct tm tm;
	strftime(from, sizeof(from), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t->not_before, &tm));
	strftime(until, sizeof(until), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t->not_after, &tm));
	printf("certificate  %s%s\n", cfg->tls_cert,
	       t->generated ? " (self-signed, made now)" : "");
	printf("key          %s\n", cfg->tls_key);
	printf("subject      %s\n", t->subject);
	printf("names        %s\n", t->names);
	printf("valid        %s to %s\n", from, until);
	printf("fingerprint  %s\n", t->fingerprint);
	printf("sha256       %s\n", t->cert_sha256);
	if (config_tls_enabled(cfg))
		printf("served at    https://%s:%u/ (tls.mode %s)\n", config_api_address(cfg),
		       config_split_listeners(cfg) ? cfg->api_port : cfg->port, cfg->tls_mode);
	else
		printf("served at    nowhere: the operator listener speaks plain HTTP (tls.mode %s%s)\n",
		       cfg->tls_mode,
		       config_split_listeners(cfg) ? "" : ", server.api_port = server.port");
	printf("\nfingerprint pins the public key: corral --fingerprint %s ...\n"
	       "sha256 is the certificate's, as browsers show it.\n",
	       t->fingerprint);
	tlscert_free(t);
	return 0;
}

/* Everything a serving daemon runs, after the store is open; fatal on failure. */
static void start_daemon(struct daemon *dm, struct config *cfg)
{
	struct app *a = &dm->a;
	struct files *files;
	char err[512];
	if (auth_key_load(cfg->key_file, a->seed_key) < 0)
		fatalx("cannot read or create the key file %s", cfg->key_file);
	if (open_files(cfg->files_root, &files) < 0)
		fatal("cannot open files.root %s", cfg->files_root);
	atomic_init(&a->files, files);
	struct events_conf ec = {cfg->events_keep_days, cfg->events_per_node, cfg->events_max_total,
				 cfg->events_coalesce_s};
	if (hub_new(&a->hub) < 0 || events_start(a->store, a->hub, &ec, &a->events) < 0 ||
	    (dm->labels = route_labels()) == NULL ||
	    metrics_new(dm->labels, routes_count, &a->metrics) < 0 ||
	    bootcache_new((size_t)cfg->cache_kib * 1024, &a->bootcache) < 0 ||
	    admit_new(cfg->max_large, cfg->large_retry, &a->admit) < 0)
		fatalx("out of memory");
	a->started_us = store_now_us();
	if (config_resolve_base_url(cfg, (uint16_t)cfg->port) < 0)
		fatalx("the advertised URL is too long");
	atomic_init(&a->cfg, cfg);
	dm->nofile = raise_nofile();
	start_http(dm, cfg);
	if (prerender_start(a, (size_t)cfg->prerender_kib * 1024, &dm->prerender) < 0)
		fatalx("cannot start the boot-script pre-rendering");
	log_info("listening on %s port %u (%u connections at most, %u per address); nodes are "
		 "told %s; store %s; files %s",
		 cfg->address, dm->port, dm->node_conns, cfg->max_conns_per_ip, cfg->base_url,
		 cfg->store_path, cfg->files_root);
	struct redfish_settings rs = {cfg->rf_concurrency, cfg->rf_connect_timeout,
				      cfg->rf_timeout,     cfg->rf_max_reply,
				      cfg->rf_ca_file,     cfg->rf_update_timeout};
	if (redfish_start(a->store, a->seed_key, &rs, &a->redfish) < 0)
		fatalx("cannot start the Redfish worker");
	redfish_set_hub(a->redfish, a->hub);
	dm->denv = (struct dhcp_env){a->store, a->events, a->metrics};
	if (dhcp_start(cfg, &dm->denv, &dm->dhcp, err, sizeof(err)) < 0)
		fatalx("the DHCP side did not start (dhcp.mode = %s): %s", cfg->dhcp.mode, err);
}

/* Stops and frees what start_daemon() started, in reverse. */
static void stop_daemon(struct daemon *dm)
{
	struct app *a = &dm->a;
	dhcp_free(dm->dhcp);
	redfish_free(a->redfish);
	hub_close(a->hub);
	http_server_free(dm->http_api);
	http_server_free(dm->http);
	prerender_free(dm->prerender);
	tlscert_free(dm->tls);
	events_free(a->events);
	hub_free(a->hub);
	bootcache_free(a->bootcache);
	admit_free(a->admit);
	metrics_free(a->metrics);
	free(dm->labels);
	files_free(atomic_load(&a->files));
	store_free(a->store);
	while (a->retired != NULL) {
		struct app_retired *next = a->retired->next;
		free(a->retired->cfg);
		files_free(a->retired->files);
		free(a->retired);
		a->retired = next;
	}
	free(atomic_load(&a->cfg));
}

int main(int argc, char **argv)
{
	struct daemon dm;
	int check_only = 0, debug = 0;
	char err[512];
	memset(&dm, 0, sizeof(dm));
	log_init("corrald", LOG_LVL_INFO);
	int rc = parse_args(argc, argv, &dm.conf_path, &check_only, &debug);
	if (rc >= 0)
		return rc;
	argc -= optind;
	argv += optind;

	struct config *cfg = malloc(sizeof(*cfg));
	if (cfg == NULL)
		fatalx("out of memory");
	if (load_config(dm.conf_path, cfg, err, sizeof(err)) < 0) {
		log_warnx("%s", err);
		free(cfg);
		return 1;
	}
	if (check_only) {
		printf("configuration OK\n");
		free(cfg);
		return 0;
	}
	log_set_level(debug ? LOG_LVL_DEBUG : cfg->log_level);
	/* Before any thread: each would get an arena of its own (bench/PROFILE.md) */
	if (cfg->malloc_arenas > 0)
		mallopt(M_ARENA_MAX, (int)cfg->malloc_arenas);
	if (argc > 0 && strcmp(argv[0], "cert") == 0) {
		rc = cert_cmd(cfg);
		free(cfg);
		return rc;
	}

	/* Block the signals we wait for before any thread starts. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (auth_init() < 0)
		fatalx("libsodium failed to initialise");
	if (fs_mkdir_parent(cfg->store_path, 0750) < 0 || fs_mkdir_parent(cfg->key_file, 0750) < 0)
		fatal("cannot create the directories for %s and %s", cfg->store_path,
		      cfg->key_file);
	if (store_open(cfg->store_path, &dm.a.store) < 0)
		fatalx("cannot open the store %s: %s", cfg->store_path, store_errmsg());
	if (argc > 0) {
		rc = token_cmd(dm.a.store, argc, argv);
		store_free(dm.a.store);
		free(cfg);
		return rc;
	}
	/* SQLite's page caches (one per connection, per thread) under one cap */
	sqlite3_soft_heap_limit64((sqlite3_int64)cfg->store_memory_kib * 1024);
	start_daemon(&dm, cfg);

	for (;;) {
		struct timespec tick = {CORRALD_TICK_S, 0};
		int sig = sigtimedwait(&sigs, NULL, &tick);
		if (sig < 0) {
			if (errno == EAGAIN)
				housekeeping(&dm);
			continue;
		}
		if (sig == SIGHUP) {
			reload(&dm);
			continue;
		}
		log_info("signal %d: shutting down", sig);
		break;
	}
	stop_daemon(&dm);
	return 0;
}
