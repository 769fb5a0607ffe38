/*
 * corral-image: recipes into bootable node images, and the image store.
 *
 *   corral-image build RECIPE [--push] [--force] [--quiet]
 *   corral-image import SOURCE NAME [--arch A] [--live-boot] [--kernel-params P]
 *                       [--push] [--force] [--quiet]
 *   corral-image check RECIPE            validate only (no work, no root)
 *   corral-image list | show NAME | rm NAME
 *   corral-image gc [--dry-run] [--keep-logs DAYS]
 *   corral-image push NAME [--as NAME]
 *
 * Common: --store DIR (default $CORRAL_IMAGE_STORE, else /var/lib/corral/images);
 * push: --url/--token (else CORRAL_URL/CORRAL_TOKEN), --files-root DIR,
 * --advertise URL (both else from corrald's GET /api/v1/status).
 * main only wires the modules together.
 */
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build.h"
#include "imgstore.h"
#include "import.h"
#include "pkgmgr.h"
#include "proc.h"
#include "push.h"
#include "recipe.h"

#ifndef CORRAL_VERSION
#define CORRAL_VERSION "0.1"
#endif

static void usage(FILE *f)
{
	fprintf(f, "usage: corral-image [--store DIR] COMMAND ...\n"
		   "  build RECIPE [--push] [--force] [--quiet] [--sources FILE]\n"
		   "                     build the image (and its parent layers) into the store\n"
		   "  import SOURCE NAME [--arch A] [--live-boot] [--kernel-params P]\n"
		   "                     [--releasever V] [--push]\n"
		   "                     an OCI image (layout directory, OCI archive or\n"
		   "                     docker-archive tarball) into the store as image NAME;\n"
		   "                     --live-boot installs a kernel and dracut's live\n"
		   "                     modules with the image's apt-get/dnf/zypper;\n"
		   "                     --releasever gives dnf/zypper $releasever\n"
		   "  check RECIPE       validate a recipe and its parents, build nothing\n"
		   "  list [--json]      images in the store\n"
		   "  show NAME          an image's manifest\n"
		   "  rm NAME            remove an image (refused while in use)\n"
		   "  gc [--dry-run] [--keep-logs DAYS]\n"
		   "                     remove the layers no image needs (not named, not a\n"
		   "                     parent of one), leftovers of dead builds in tmp/, and\n"
		   "                     logs older than DAYS (default 30; each image's newest\n"
		   "                     is kept); --dry-run only reports.  Waits while a build\n"
		   "                     holds the store\n"
		   "  push NAME [--as NAME]  copy into corrald's file root and register it\n"
		   "push options: --url URL --token TOKEN (else CORRAL_URL, CORRAL_TOKEN),\n"
		   "  --files-root DIR, --advertise URL (else from corrald's /api/v1/status)\n"
		   "store: --store, else $CORRAL_IMAGE_STORE, else /var/lib/corral/images\n");
}

struct args {
	const char *store;
	int push, force, quiet, json, dry_run;
	const char *sources;
	const char *keep_logs;  /* gc --keep-logs, unparsed */
	const char *name2;      /* import's second operand, NAME */
	const char *arch;       /* import --arch */
	const char *kparams;    /* import --kernel-params */
	const char *releasever; /* import --releasever */
	int live_boot;          /* import --live-boot */
	struct push_opts po;
};

static int cmd_check(const struct args *a, const char *path)
{
	struct recipe *r = NULL;
	struct buf err;
	char digest[65];
	buf_init(&err, 1 << 20);
	int rc = recipe_load(path, &r, &err);
	if (rc < 0) {
		fprintf(stderr, "%s", buf_str(&err));
		buf_clear(&err);
		return 1;
	}
	for (const struct recipe *x = r; x; x = x->parent_recipe) {
		if (recipe_digest(x, digest, &err) < 0) {
			fprintf(stderr, "%s", buf_str(&err));
			rc = -EINVAL;
			break;
		}
		printf("%s: ok (%s, recipe digest %.12s%s%s)\n", x->path, x->name, digest,
		       x->parent ? ", parent " : "", x->parent ? x->parent : "");
	}
	recipe_free(r);
	buf_clear(&err);
	return rc < 0 ? 1 : 0;
}

static int open_store(const struct args *a, struct imgstore **s)
{
	int rc = imgstore_open(a->store, s);
	if (rc < 0)
		fprintf(stderr, "corral-image: store %s: %s\n", a->store, strerror(-rc));
	return rc;
}

static int open_store_ro(const struct args *a, struct imgstore **s)
{
	int rc = imgstore_open_ro(a->store, s);
	if (rc < 0)
		fprintf(stderr, "corral-image: store %s: %s\n", a->store, strerror(-rc));
	return rc;
}

static int cmd_build(const struct args *a, const char *path)
{
	struct recipe *r = NULL;
	struct imgstore *s = NULL;
	struct buf err;
	char key[65];
	int rc;

	buf_init(&err, 1 << 20);
	/* Every check before any work. */
	if ((rc = recipe_load(path, &r, &err)) < 0) {
		fprintf(stderr, "%s", buf_str(&err));
		goto out;
	}
	if (a->push && (a->po.url == NULL || a->po.token == NULL)) {
		fprintf(stderr, "corral-image: --push needs CORRAL_URL and CORRAL_TOKEN\n");
		rc = -EINVAL;
		goto out;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "corral-image: building needs root (mmdebstrap, chroot, mounts)\n");
		rc = -EPERM;
		goto out;
	}
	if ((rc = open_store(a, &s)) < 0)
		goto out;
	struct build_opts bo = {a->force, a->quiet, a->sources};
	double t0 = proc_now();
	if ((rc = build_image(s, r, &bo, key)) < 0)
		goto out;
	if (!a->quiet)
		printf("%s: ready in %.1f s: layer %s (%u cached)\n", r->name, proc_now() - t0, key,
		       proc_cache_hits());
	if (a->push)
		rc = push_image(s, r->name, &a->po);
out:
	imgstore_close(s);
	recipe_free(r);
	buf_clear(&err);
	if (rc == -EINTR)
		return 130;
	return rc < 0 ? 1 : 0;
}

/* import SOURCE NAME: arg is SOURCE, a->name2 the name. */
static int cmd_import(const struct args *a, const char *source)
{
	struct imgstore *s = NULL;
	char key[65];
	int rc;
	const char *arch = a->arch;
	if (arch != NULL && strcmp(arch, "x86_64") == 0)
		arch = "amd64";
	else if (arch != NULL && strcmp(arch, "aarch64") == 0)
		arch = "arm64";
	struct import_opts o = {source,       a->name2, arch,     a->kparams,
				a->live_boot, a->force, a->quiet, a->releasever};
	if (recipe_name_ok(a->name2) == 0) {
		fprintf(stderr,
			"corral-image: import: \"%s\": an image name is 1-63 of "
			"[A-Za-z0-9._-], starting with a letter or digit\n",
			a->name2);
		return 2;
	}
	if (a->kparams != NULL && !recipe_params_ok(a->kparams)) {
		fprintf(stderr, "corral-image: import: --kernel-params: printable ASCII without $, "
				"quotes or backslashes\n");
		return 2;
	}
	if (a->releasever != NULL && !pkgmgr_releasever_ok(a->releasever)) {
		fprintf(stderr, "corral-image: import: --releasever: 1-32 of [A-Za-z0-9._-]\n");
		return 2;
	}
	if (a->push && (a->po.url == NULL || a->po.token == NULL)) {
		fprintf(stderr, "corral-image: --push needs CORRAL_URL and CORRAL_TOKEN\n");
		return 1;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "corral-image: importing needs root (chroot, mounts)\n");
		return 1;
	}
	if ((rc = open_store(a, &s)) < 0)
		return 1;
	double t0 = proc_now();
	if ((rc = import_image(s, &o, key)) == 0) {
		if (!a->quiet)
			printf("%s: ready in %.1f s: layer %s (%u cached)\n", a->name2,
			       proc_now() - t0, key, proc_cache_hits());
		if (a->push)
			rc = push_image(s, a->name2, &a->po);
	}
	imgstore_close(s);
	if (rc == -EINTR)
		return 130;
	return rc < 0 ? 1 : 0;
}

static json_t *manifest(struct imgstore *s, const char *name, char key[65])
{
	struct buf p;
	json_error_t jerr;
	if (imgstore_resolve(s, name, key) < 0)
		return NULL;
	buf_init(&p, 4096);
	imgstore_layer_path(s, key, "manifest.json", &p);
	json_t *m = json_load_file(buf_str(&p), 0, &jerr);
	buf_clear(&p);
	return m;
}

static int cmd_list(const struct args *a, const char *none)
{
	struct imgstore *s;
	struct buf names;
	char key[65];
	if (open_store_ro(a, &s) < 0)
		return 1;
	buf_init(&names, 1 << 20);
	imgstore_names(s, &names);
	json_t *arr = json_array();
	if (!a->json)
		printf("%-24s %-12s %-12s %-20s %9s %s\n", "NAME", "LAYER", "PARENT", "BUILT",
		       "ROOTFS", "PACKAGES");
	for (char *save = NULL, *n = strtok_r(names.data ? names.data : (char *)"", "\n", &save); n;
	     n = strtok_r(NULL, "\n", &save)) {
		json_t *m = manifest(s, n, key);
		if (m == NULL)
			continue;
		json_t *par = json_object_get(m, "parent");
		json_t *sq = json_object_get(json_object_get(m, "artifacts"), "rootfs.squashfs");
		if (a->json) {
			json_array_append_new(
				arr, json_pack("{s:s,s:s,s:O,s:O,s:O}", "name", n, "layer", key,
					       "parent", par ? par : json_null(), "built",
					       json_object_get(m, "built"), "artifacts",
					       json_object_get(m, "artifacts")));
		} else {
			printf("%-24s %-12.12s %-12s %-20s %8.1fM %zu\n", n, key,
			       json_is_object(par) ?
				       json_string_value(json_object_get(par, "name")) :
				       "-",
			       json_string_value(json_object_get(m, "built")),
			       (double)json_integer_value(json_object_get(sq, "size")) / 1048576.0,
			       json_array_size(json_object_get(m, "packages")));
		}
		json_decref(m);
	}
	if (a->json) {
		char *t = json_dumps(arr, JSON_INDENT(1));
		if (t)
			printf("%s\n", t);
		free(t);
	}
	json_decref(arr);
	buf_clear(&names);
	imgstore_close(s);
	return 0;
}

static int cmd_show(const struct args *a, const char *name)
{
	struct imgstore *s;
	char key[65];
	if (open_store_ro(a, &s) < 0)
		return 1;
	json_t *m = manifest(s, name, key);
	if (m == NULL) {
		fprintf(stderr, "corral-image: no image %s in the store %s\n", name, a->store);
		imgstore_close(s);
		return 1;
	}
	char *t = json_dumps(m, JSON_INDENT(1) | JSON_SORT_KEYS);
	if (t)
		printf("%s\n", t);
	free(t);
	json_decref(m);
	imgstore_close(s);
	return 0;
}

static int cmd_rm(const struct args *a, const char *name)
{
	struct imgstore *s;
	struct buf why;
	int rc;
	if (open_store(a, &s) < 0)
		return 1;
	buf_init(&why, 8192);
	/* Registered with corrald?  corrald refuses (409) while a profile uses it. */
	if (a->po.url != NULL && a->po.token != NULL) {
		rc = push_unregister(&a->po, name, &why);
		if (rc < 0 && rc != -ENOENT) {
			fprintf(stderr, "corral-image: %s in use, not removed: %s\n", name,
				buf_str(&why));
			goto out;
		}
	}
	if ((rc = imgstore_rm(s, name, &why)) < 0) {
		fprintf(stderr, "corral-image: %s not removed: %s\n", name,
			why.len ? buf_str(&why) : strerror(-rc));
		goto out;
	}
	printf("removed %s\n", name);
out:
	buf_clear(&why);
	imgstore_close(s);
	return rc < 0 ? 1 : 0;
}

/* gc --keep-logs: whole days, 0 to 100 years. */
static int parse_days(const char *s, unsigned *out)
{
	char *end;
	if (!isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > 36500)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

static int cmd_gc(const struct args *a, const char *none)
{
	struct imgstore *s;
	struct imgstore_gc_result res;
	struct buf report, why;
	struct stat st;
	unsigned days = 30;
	int rc;

	if (a->keep_logs != NULL && parse_days(a->keep_logs, &days) < 0) {
		fprintf(stderr, "corral-image: --keep-logs %s: a whole number of days, 0-36500\n",
			a->keep_logs);
		return 2;
	}
	/* Opening creates a store; gc must not make one at a mistyped path. */
	buf_init(&why, 8192);
	if (buf_printf(&why, "%s/layers", a->store) < 0 || stat(buf_str(&why), &st) < 0 ||
	    !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "corral-image: store %s: not an image store (no layers/)\n",
			a->store);
		buf_clear(&why);
		return 1;
	}
	buf_reset(&why);
	if (open_store(a, &s) < 0) {
		buf_clear(&why);
		return 1;
	}
	buf_init(&report, 64 << 20);
	rc = imgstore_gc(s, a->dry_run, days, &res, &report, &why);
	fputs(buf_str(&report), stdout);
	if (rc < 0)
		fprintf(stderr, "corral-image: gc: %s\n", why.len ? buf_str(&why) : strerror(-rc));
	buf_clear(&report);
	buf_clear(&why);
	imgstore_close(s);
	return rc < 0 ? 1 : 0;
}

/*
 * The options of argv into a (whose defaults are set); optind is then the
 * command.  Returns -1 to go on, else the exit code (--help, --version, a
 * bad option).
 */
static int parse_opts(int argc, char **argv, struct args *a)
{
	enum {
		O_STORE = 256,
		O_PUSH,
		O_FORCE,
		O_QUIET,
		O_JSON,
		O_SOURCES,
		O_URL,
		O_TOKEN,
		O_FILES,
		O_ADV,
		O_AS,
		O_DRY_RUN,
		O_KEEP_LOGS,
		O_ARCH,
		O_LIVE_BOOT,
		O_KPARAMS,
		O_RELEASEVER,
		O_HELP,
		O_VERSION
	};
	static const struct option opts[] = {
		{"store", required_argument, NULL, O_STORE},
		{"push", no_argument, NULL, O_PUSH},
		{"force", no_argument, NULL, O_FORCE},
		{"quiet", no_argument, NULL, O_QUIET},
		{"json", no_argument, NULL, O_JSON},
		{"sources", required_argument, NULL, O_SOURCES},
		{"url", required_argument, NULL, O_URL},
		{"token", required_argument, NULL, O_TOKEN},
		{"files-root", required_argument, NULL, O_FILES},
		{"advertise", required_argument, NULL, O_ADV},
		{"as", required_argument, NULL, O_AS},
		{"dry-run", no_argument, NULL, O_DRY_RUN},
		{"keep-logs", required_argument, NULL, O_KEEP_LOGS},
		{"arch", required_argument, NULL, O_ARCH},
		{"live-boot", no_argument, NULL, O_LIVE_BOOT},
		{"kernel-params", required_argument, NULL, O_KPARAMS},
		{"releasever", required_argument, NULL, O_RELEASEVER},
		{"help", no_argument, NULL, O_HELP},
		{"version", no_argument, NULL, O_VERSION},
		{NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case O_STORE:
			a->store = optarg;
			break;
		case O_PUSH:
			a->push = 1;
			break;
		case O_FORCE:
			a->force = 1;
			break;
		case O_QUIET:
			a->quiet = 1;
			break;
		case O_JSON:
			a->json = 1;
			break;
		case O_SOURCES:
			a->sources = optarg;
			break;
		case O_URL:
			a->po.url = optarg;
			break;
		case O_TOKEN:
			a->po.token = optarg;
			break;
		case O_FILES:
			a->po.files_root = optarg;
			break;
		case O_ADV:
			a->po.advertise = optarg;
			break;
		case O_AS:
			a->po.as = optarg;
			break;
		case O_DRY_RUN:
			a->dry_run = 1;
			break;
		case O_KEEP_LOGS:
			a->keep_logs = optarg;
			break;
		case O_ARCH:
			a->arch = optarg;
			break;
		case O_LIVE_BOOT:
			a->live_boot = 1;
			break;
		case O_KPARAMS:
			a->kparams = optarg;
			break;
		case O_RELEASEVER:
			a->releasever = optarg;
			break;
		case 'h':
		case O_HELP:
			usage(stdout);
			return 0;
		case O_VERSION:
			printf("corral-image %s\n", CORRAL_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	return -1;
}

static int cmd_push(const struct args *a, const char *name)
{
	struct imgstore *s;
	if (open_store(a, &s) < 0)
		return 1;
	int rc = push_image(s, name, &a->po) < 0 ? 1 : 0;
	imgstore_close(s);
	return rc;
}

/* The commands and how many operands each takes (0, 1 or 2). */
static const struct command {
	const char *name;
	int nargs;
	int (*run)(const struct args *a, const char *arg); /* the exit code */
} commands[] = {
	{"build", 1, cmd_build}, {"check", 1, cmd_check},   {"list", 0, cmd_list},
	{"show", 1, cmd_show},   {"rm", 1, cmd_rm},         {"gc", 0, cmd_gc},
	{"push", 1, cmd_push},   {"import", 2, cmd_import},
};

int main(int argc, char **argv)
{
	struct args a;
	int rc;

	memset(&a, 0, sizeof(a));
	a.store = getenv("CORRAL_IMAGE_STORE");
	if (a.store == NULL || a.store[0] == '\0')
		a.store = "/var/lib/corral/images";
	a.po.url = getenv("CORRAL_URL");
	a.po.token = getenv("CORRAL_TOKEN");
	if ((rc = parse_opts(argc, argv, &a)) >= 0)
		return rc;
	const struct command *cmd = NULL;
	for (size_t i = 0; optind < argc && i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[optind], commands[i].name) == 0)
			cmd = &commands[i];
	if (cmd == NULL || optind + 1 + cmd->nargs != argc) {
		usage(stderr);
		return 2;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "corral-image: libsodium failed to start\n");
		return 1;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	proc_init(-1, a.quiet);
	if (cmd->nargs == 2)
		a.name2 = argv[optind + 2];
	rc = cmd->run(&a, cmd->nargs ? argv[optind + 1] : NULL);
	curl_global_cleanup();
	return rc;
}
