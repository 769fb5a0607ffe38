/*
 * corrald: the Corral daemon.  Wires the modules together and waits for
 * signals; knows no subsystem's insides.
 *
 *   corrald [-c FILE] [-d]             run in the foreground (logs to stderr)
 *   corrald [-c FILE] -n               check the configuration and exit
 *   corrald [-c FILE] token create NAME [--read-only] | token list | token rm NAME
 *
 * Signals are blocked in every thread and taken synchronously by the main
 * thread with sigwait(): SIGHUP reloads (parse → validate → swap; a bad
 * file keeps the running configuration), SIGTERM/SIGINT stop cleanly.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stddef.h>

#include "app.h"
#include "dhcp.h"
#include "fsutil.h"
#include "log.h"

struct app_retired {
	struct app_retired *next;
	struct config *cfg;
	struct files *files;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: corrald [-c FILE] [-d] [-n]\n"
		   "       corrald [-c FILE] token create NAME [--read-only] | token list | "
		   "token rm NAME\n"
		   "  -c FILE  configuration (default " CONFIG_DEFAULT_PATH " if it exists)\n"
		   "  -d       debug logging\n"
		   "  -n       check the configuration and exit\n"
		   "  -V       print the version\n");
}

/* Loads the configuration: the named file, else the default one if present. */
static int load_config(const char *path, struct config *c)
{
	char err[512];
	config_defaults(c);
	if (path == NULL && access(CONFIG_DEFAULT_PATH, F_OK) == 0)
		path = CONFIG_DEFAULT_PATH;
	if (path != NULL && config_load(path, c, err, sizeof(err)) < 0) {
		log_warnx("%s", err);
		return -EINVAL;
	}
	return 0;
}

static void resolve_base_url(struct config *c, uint16_t port)
{
	if (c->advertise_url[0] != '\0') {
		snprintf(c->base_url, sizeof(c->base_url), "%s", c->advertise_url);
	} else {
		char host[256] = "";
		const char *h = c->address;
		if (strcmp(h, "0.0.0.0") == 0 || strcmp(h, "::") == 0) {
			if (gethostname(host, sizeof(host) - 1) < 0 || host[0] == '\0')
				snprintf(host, sizeof(host), "localhost");
			h = host;
		}
		int v6 = strchr(h, ':') != NULL;
		snprintf(c->base_url, sizeof(c->base_url), "http://%s%s%s:%u", v6 ? "[" : "", h,
			 v6 ? "]" : "", port);
	}
	size_t n = strlen(c->base_url);
	while (n > 0 && c->base_url[n - 1] == '/')
		c->base_url[--n] = '\0';
}

static int token_cmd(struct store *st, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "create") == 0 && (argc == 3 || argc == 4)) {
		int scope = 2;
		if (argc == 4) {
			if (strcmp(argv[3], "--read-only") != 0) {
				usage(stderr);
				return 2;
			}
			scope = 1;
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

/* True if the DHCP side must restart for c (dnsmasq reads its file only at start). */
static int dhcp_changed(const struct config *a, const struct config *b)
{
	size_t from = offsetof(struct config, dhcp_mode);
	size_t to = offsetof(struct config, dhcp_hook) + sizeof(a->dhcp_hook);
	return memcmp((const char *)a + from, (const char *)b + from, to - from) != 0 ||
	       strcmp(a->base_url, b->base_url) != 0;
}

/* SIGHUP: a new configuration, swapped in whole or not at all. */
static void reload(struct app *a, struct dhcp **dhcp, const char *path, uint16_t port)
{
	struct config *old = atomic_load(&a->cfg);
	struct config *c = malloc(sizeof(*c));
	if (c == NULL)
		return;
	if (load_config(path, c) < 0) {
		log_warnx("reload: configuration not changed");
		free(c);
		return;
	}
	/* What the running process cannot change without a restart. */
	if (strcmp(c->address, old->address) != 0 || c->port != old->port ||
	    c->threads != old->threads || strcmp(c->store_path, old->store_path) != 0 ||
	    strcmp(c->key_file, old->key_file) != 0)
		log_warnx("reload: server.address, server.port, server.threads, store.path and "
			  "auth.key_file take effect at the next restart");
	snprintf(c->address, sizeof(c->address), "%s", old->address);
	c->port = old->port;
	c->threads = old->threads;
	snprintf(c->store_path, sizeof(c->store_path), "%s", old->store_path);
	snprintf(c->key_file, sizeof(c->key_file), "%s", old->key_file);
	resolve_base_url(c, port);

	struct files *nf = NULL;
	if (strcmp(c->files_root, old->files_root) != 0) {
		if (fs_mkdir_p(c->files_root, 0750) < 0 || files_open(c->files_root, &nf) < 0) {
			log_warnx("reload: cannot open files.root %s; configuration not changed",
				  c->files_root);
			free(c);
			return;
		}
	}
	struct app_retired *ret = calloc(1, sizeof(*ret));
	if (ret == NULL) {
		files_free(nf);
		free(c);
		return;
	}
	ret->cfg = old;
	if (nf != NULL)
		ret->files = atomic_exchange(&a->files, nf);
	atomic_store(&a->cfg, c);
	ret->next = a->retired;
	a->retired = ret;
	log_set_level(c->log_level);
	bootcache_clear(a->bootcache);
	if (dhcp_changed(old, c)) {
		log_info("reload: DHCP settings changed; restarting dnsmasq");
		dhcp_free(*dhcp);
		if (dhcp_start(c, a->store, a->events, a->metrics, dhcp) < 0)
			log_warnx("reload: the DHCP side did not start; fix dhcp.* and reload");
	}
	log_info("reloaded configuration");
}

/* The routes' metrics labels, in table order. */
static const char *const *route_labels(const char **labels)
{
	for (size_t i = 0; i < app_nroutes; i++)
		labels[i] = app_routes[i].label;
	return labels;
}

int main(int argc, char **argv)
{
	const char **labels = NULL;
	const char *conf_path = NULL;
	int check_only = 0, debug = 0, ch;
	log_init("corrald", LOG_LVL_INFO);

	while ((ch = getopt(argc, argv, "+c:dnhV")) != -1) {
		switch (ch) {
		case 'c':
			conf_path = optarg;
			break;
		case 'd':
			debug = 1;
			break;
		case 'n':
			check_only = 1;
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
	argc -= optind;
	argv += optind;
	if (argc > 0 && strcmp(argv[0], "token") != 0) {
		usage(stderr);
		return 2;
	}

	struct app a;
	memset(&a, 0, sizeof(a));
	struct config *cfg = malloc(sizeof(*cfg));
	if (cfg == NULL)
		fatalx("out of memory");
	if (load_config(conf_path, cfg) < 0)
		return 1;
	if (check_only) {
		printf("configuration OK\n");
		free(cfg);
		return 0;
	}
	log_set_level(debug ? LOG_LVL_DEBUG : cfg->log_level);

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
	int rc = store_open(cfg->store_path, &a.store);
	if (rc < 0)
		fatalx("cannot open the store %s: %s", cfg->store_path, store_errmsg());
	if (argc > 0) {
		rc = token_cmd(a.store, argc, argv);
		store_free(a.store);
		free(cfg);
		return rc;
	}
	if (auth_key_load(cfg->key_file, a.seed_key) < 0)
		fatalx("cannot read or create the key file %s", cfg->key_file);
	struct files *files;
	if (fs_mkdir_p(cfg->files_root, 0750) < 0 || files_open(cfg->files_root, &files) < 0)
		fatal("cannot open files.root %s", cfg->files_root);
	atomic_init(&a.files, files);
	if (hub_new(&a.hub) < 0 ||
	    events_start(a.store, a.hub, cfg->events_keep_days, &a.events) < 0 ||
	    (labels = calloc(app_nroutes, sizeof(*labels))) == NULL ||
	    metrics_new(route_labels(labels), app_nroutes, &a.metrics) < 0 ||
	    bootcache_new(200000, &a.bootcache) < 0)
		fatalx("out of memory");
	a.started_us = store_now_us();
	resolve_base_url(cfg, (uint16_t)cfg->port);
	atomic_init(&a.cfg, cfg);

	struct http_config hc = {
		.address = cfg->address,
		.port = (uint16_t)cfg->port,
		.threads = cfg->threads,
		.max_body = cfg->max_body,
		.conn_timeout = 60,
		.routes = app_routes,
		.nroutes = app_nroutes,
		.auth = app_auth,
		.done = app_done,
		.ctx = &a,
	};
	struct http_server *http;
	rc = http_server_start(&hc, &http);
	if (rc < 0)
		fatalx("cannot listen on %s port %u", cfg->address, cfg->port);
	uint16_t port = http_server_port(http);
	if (cfg->port == 0)
		resolve_base_url(cfg, port);
	log_info("listening on %s port %u; nodes are told %s; store %s; files %s", cfg->address,
		 port, cfg->base_url, cfg->store_path, cfg->files_root);
	struct redfish_settings rs = {cfg->rf_concurrency, cfg->rf_connect_timeout, cfg->rf_timeout,
				      cfg->rf_max_reply, cfg->rf_ca_file};
	if (redfish_start(a.store, a.seed_key, &rs, &a.redfish) < 0)
		fatalx("cannot start the Redfish worker");
	redfish_set_hub(a.redfish, a.hub);
	struct dhcp *dhcp = NULL;
	if (dhcp_start(cfg, a.store, a.events, a.metrics, &dhcp) < 0)
		fatalx("the DHCP side did not start (dhcp.mode = %s); see the messages above",
		       cfg->dhcp_mode);

	for (;;) {
		int sig;
		if (sigwait(&sigs, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			reload(&a, &dhcp, conf_path, port);
			continue;
		}
		log_info("signal %d: shutting down", sig);
		break;
	}

	dhcp_free(dhcp);
	redfish_free(a.redfish);
	hub_close(a.hub);
	http_server_free(http);
	events_free(a.events);
	hub_free(a.hub);
	bootcache_free(a.bootcache);
	metrics_free(a.metrics);
	free(labels);
	files_free(atomic_load(&a.files));
	store_free(a.store);
	while (a.retired != NULL) {
		struct app_retired *next = a.retired->next;
		free(a.retired->cfg);
		files_free(a.retired->files);
		free(a.retired);
		a.retired = next;
	}
	free(atomic_load(&a.cfg));
	return 0;
}
