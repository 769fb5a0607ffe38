/*
 * recipe: YAML recipes → checked structs.  See recipe.h.
 *
 * The recipe is outside input written by an administrator: every value is
 * checked against one key table (type, required, form) and every problem
 * is reported with its file and line; nothing here runs anything.
 */
#include "recipe.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "fsutil.h"

#define RECIPE_MAX_BYTES (1024 * 1024)
#define RECIPE_MAX_DEPTH 16 /* parent chain */
#define RECIPE_MAX_ITEMS 4096

enum ktype { K_STR, K_BOOL, K_STRLIST, K_MAP, K_FILES, K_RUN };

struct key {
	const char *name;
	enum ktype type;
	int required;
};

/* The one table of top-level keys. */
static const struct key top_keys[] = {
	{"name", K_STR, 1},          {"description", K_STR, 0}, {"arch", K_STR, 0},
	{"base", K_MAP, 0},          {"parent", K_STR, 0},      {"packages", K_STRLIST, 0},
	{"remove", K_STRLIST, 0},    {"files", K_FILES, 0},     {"run", K_RUN, 0},
	{"kernel_params", K_STR, 0}, {"cloud_init", K_BOOL, 0}, {"live_boot", K_BOOL, 0},
};
static const struct key base_keys[] = {
	{"suite", K_STR, 0}, {"mirror", K_STR, 0},     {"variant", K_STR, 0},
	{"oci", K_STR, 0},   {"releasever", K_STR, 0},
};
static const struct key file_keys[] = {
	{"src", K_STR, 1},
	{"dest", K_STR, 1},
	{"mode", K_STR, 0},
};

struct ctx {
	const char *file;
	yaml_document_t *doc;
	struct buf *err;
	int nerr;
	yaml_node_t *cur_key; /* the key whose value is being read */
	int oci_base;         /* the recipe has base.oci: packages are the image's names */
};

static const char *type_name(enum ktype t)
{
	switch (t) {
	case K_STR:
		return "a string";
	case K_BOOL:
		return "true or false";
	case K_STRLIST:
		return "a list of strings";
	case K_MAP:
		return "a mapping";
	case K_FILES:
		return "a list of {src, dest, mode}";
	case K_RUN:
		return "a list of commands (each a list of strings)";
	}
	return "?";
}

__attribute__((format(printf, 4, 5))) static void bad(struct ctx *c, const yaml_node_t *n,
						      const char *key, const char *fmt, ...)
{
	va_list ap;
	int line = n ? (int)n->start_mark.line + 1 : 1;
	c->nerr++;
	buf_printf(c->err, "%s:%d: %s: ", c->file, line, key);
	va_start(ap, fmt);
	buf_vprintf(c->err, fmt, ap);
	va_end(ap);
	buf_addc(c->err, '\n');
}

static yaml_node_t *node_get(struct ctx *c, int id)
{
	return yaml_document_get_node(c->doc, id);
}

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* A scalar that YAML would read as null. */
static int is_null(const yaml_node_t *n)
{
	const char *s = scalar(n);
	if (s == NULL || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	return s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0;
}

static int parse_bool(const yaml_node_t *n, int *out)
{
	static const char *const t[] = {"true", "True", "TRUE", "yes", "Yes", "on", NULL};
	static const char *const f[] = {"false", "False", "FALSE", "no", "No", "off", NULL};
	const char *s = scalar(n);
	if (s == NULL || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return -EINVAL;
	for (int i = 0; t[i]; i++)
		if (strcmp(s, t[i]) == 0)
			return *out = 1, 0;
	for (int i = 0; f[i]; i++)
		if (strcmp(s, f[i]) == 0)
			return *out = 0, 0;
	return -EINVAL;
}

static int charset_ok(const char *s, const char *set, size_t min, size_t max)
{
	size_t n = strlen(s);
	return n >= min && n <= max && strspn(s, set) == n;
}

#define ALNUM "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
#define LOWER_DIGIT "abcdefghijklmnopqrstuvwxyz0123456789"

/* Names Corral accepts for objects (docs/api.md): 1-63 of [A-Za-z0-9._-],
 * starting with a letter or digit. */
int recipe_name_ok(const char *s)
{
	return charset_ok(s, ALNUM "._-", 1, 63) && strchr(ALNUM, s[0]) != NULL;
}

/* Debian package names (policy 5.6.1), with an optional =version or /suite. */
static int package_ok(const char *s)
{
	size_t n = strcspn(s, "=/");
	char name[128];
	if (n < 2 || n >= sizeof(name))
		return 0;
	memcpy(name, s, n);
	name[n] = '\0';
	if (!charset_ok(name, LOWER_DIGIT "+.-", 2, 127) || strchr(LOWER_DIGIT, name[0]) == NULL)
		return 0;
	if (s[n] != '\0' && !charset_ok(s + n + 1, ALNUM "+.~:-", 1, 127))
		return 0;
	return 1;
}

/* On an OCI base the image's own package manager reads the names: RPM
 * names have capitals and underscores (NetworkManager, perl-Data_Dumper),
 * and dnf/zypper take name.arch and name-version.  Never a leading '-'
 * (an option) nor blanks or shell characters. */
static int package_any_ok(const char *s)
{
	size_t n = strcspn(s, "=/");
	char name[128];
	if (n < 1 || n >= sizeof(name))
		return 0;
	memcpy(name, s, n);
	name[n] = '\0';
	if (!charset_ok(name, ALNUM "+._-:~^", 1, 127) || strchr(ALNUM, name[0]) == NULL)
		return 0;
	if (s[n] != '\0' && !charset_ok(s + n + 1, ALNUM "+.~:-", 1, 127))
		return 0;
	return 1;
}

/* 1 when the root mapping has base: {oci: ...} (read before the keys are
 * walked: `packages` may come before `base`). */
static int has_oci_base(struct ctx *c, yaml_node_t *root)
{
	if (root->type != YAML_MAPPING_NODE)
		return 0;
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
	     p++) {
		const char *k = scalar(node_get(c, p->key));
		yaml_node_t *v = node_get(c, p->value);
		if (k == NULL || strcmp(k, "base") != 0 || v == NULL ||
		    v->type != YAML_MAPPING_NODE)
			continue;
		for (yaml_node_pair_t *q = v->data.mapping.pairs.start;
		     q < v->data.mapping.pairs.top; q++) {
			const char *bk = scalar(node_get(c, q->key));
			if (bk != NULL && strcmp(bk, "oci") == 0)
				return 1;
		}
	}
	return 0;
}

/* Kernel parameters go into an iPXE script and a JSON body: printable
 * ASCII without '$' (corrald refuses it), quotes or backslashes. */
int recipe_params_ok(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p > 0x7e || *p == '$' || *p == '"' || *p == '\'' || *p == '\\')
			return 0;
	return strlen(s) <= 1024;
}

static int abs_path_ok(const char *s)
{
	if (s[0] != '/' || strlen(s) > 1024)
		return 0;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20)
			return 0;
	/* No ".." component: files go where they say, inside the image. */
	for (const char *p = s; (p = strstr(p, "..")) != NULL; p += 2)
		if (p[-1] == '/' && (p[2] == '/' || p[2] == '\0'))
			return 0;
	return 1;
}

static char *xstrdup(struct ctx *c, const char *s)
{
	char *d = strdup(s);
	if (d == NULL)
		bad(c, NULL, "(recipe)", "out of memory");
	return d;
}

static int take_str(struct ctx *c, const yaml_node_t *n, const char *key, char **out)
{
	const char *s = scalar(n);
	if (s == NULL || is_null(n)) {
		bad(c, n, key, "must be %s", type_name(K_STR));
		return -EINVAL;
	}
	if (memchr(s, '\0', n->data.scalar.length) != NULL || n->data.scalar.length > 4096) {
		bad(c, n, key, "must be a string of at most 4096 bytes without NUL");
		return -EINVAL;
	}
	*out = xstrdup(c, s);
	return *out ? 0 : -ENOMEM;
}

/* n as a list (of type t) of at most RECIPE_MAX_ITEMS: *len, or -EINVAL (said). */
static int seq_items(struct ctx *c, const yaml_node_t *n, const char *key, enum ktype t,
		     size_t *len)
{
	if (n->type != YAML_SEQUENCE_NODE) {
		bad(c, n, key, "must be %s", type_name(t));
		return -EINVAL;
	}
	*len = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (*len > RECIPE_MAX_ITEMS) {
		bad(c, n, key, "more than %d items", RECIPE_MAX_ITEMS);
		return -EINVAL;
	}
	return 0;
}

static int take_strlist(struct ctx *c, const yaml_node_t *n, const char *key, char ***out,
			size_t *count, int (*ok)(const char *), const char *what)
{
	size_t len;
	if (seq_items(c, n, key, K_STRLIST, &len) < 0)
		return -EINVAL;
	char **v = calloc(len + 1, sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	size_t i = 0;
	int rc = 0;
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++) {
		yaml_node_t *e = node_get(c, *it);
		const char *s = scalar(e);
		if (s == NULL || is_null(e)) {
			bad(c, e, key, "item %zu must be a string", i + 1);
			rc = -EINVAL;
			continue;
		}
		if (ok != NULL && !ok(s)) {
			bad(c, e, key, "\"%s\" is not %s", s, what);
			rc = -EINVAL;
			continue;
		}
		if ((v[i++] = xstrdup(c, s)) == NULL)
			rc = -ENOMEM;
	}
	*out = v;
	*count = i;
	return rc;
}

/* Checks a mapping's keys against a table: unknown keys, duplicates and
 * missing required ones.  Calls fn for every known key. */
typedef int (*key_fn)(struct ctx *c, const struct key *k, yaml_node_t *v, void *arg);

/* "where.name" ("name" when where is "(recipe)"), for messages: a cut one still names it. */
static void key_path(char *out, size_t len, const char *where, const char *name)
{
	int top = where[0] == '(';
	int n = snprintf(out, len, "%s%s%s", top ? "" : where, top ? "" : ".", name);
	if (n < 0 || (size_t)n >= len)
		out[len - 1] = '\0';
}

static int walk_map(struct ctx *c, yaml_node_t *map, const char *where, const struct key *keys,
		    size_t nkeys, key_fn fn, void *arg)
{
	unsigned seen = 0; /* one bit per table row */
	int rc = 0;
	/* Missing keys are blamed on the key that holds this mapping. */
	yaml_node_t *owner = c->cur_key && map->start_mark.line != c->cur_key->start_mark.line ?
				     c->cur_key :
				     map;
	if (map->type != YAML_MAPPING_NODE) {
		bad(c, map, where, "must be %s", type_name(K_MAP));
		return -EINVAL;
	}
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = node_get(c, p->key), *v = node_get(c, p->value);
		const char *ks = scalar(k);
		size_t i;
		if (ks == NULL) {
			bad(c, k, where, "keys must be strings");
			rc = -EINVAL;
			continue;
		}
		for (i = 0; i < nkeys; i++)
			if (strcmp(ks, keys[i].name) == 0)
				break;
		char full[160];
		key_path(full, sizeof(full), where, ks);
		if (i == nkeys) {
			struct buf known;
			buf_init(&known, 512);
			for (size_t j = 0; j < nkeys; j++)
				buf_printf(&known, "%s%s", j ? ", " : "", keys[j].name);
			bad(c, k, full, "unknown key (known: %s)", buf_str(&known));
			buf_clear(&known);
			rc = -EINVAL;
			continue;
		}
		if (seen & (1u << i)) {
			bad(c, k, full, "given twice");
			rc = -EINVAL;
			continue;
		}
		seen |= 1u << i;
		c->cur_key = k;
		if (fn(c, &keys[i], v, arg) < 0)
			rc = -EINVAL;
	}
	for (size_t i = 0; i < nkeys; i++) {
		if (keys[i].required && !(seen & (1u << i))) {
			char full[160];
			key_path(full, sizeof(full), where, keys[i].name);
			bad(c, owner, full, "missing (required: %s)", type_name(keys[i].type));
			rc = -EINVAL;
		}
	}
	return rc;
}

static int base_key(struct ctx *c, const struct key *k, yaml_node_t *v, void *arg)
{
	struct recipe *r = arg;
	char key[32];
	int rc;
	buf_fmt_msg(key, sizeof(key), "base.%s", k->name); /* for messages */
	if (strcmp(k->name, "suite") == 0) {
		if ((rc = take_str(c, v, key, &r->suite)) < 0)
			return rc;
		if (!charset_ok(r->suite, "abcdefghijklmnopqrstuvwxyz-", 2, 32)) {
			bad(c, v, key, "\"%s\" is not a Debian suite name", r->suite);
			return -EINVAL;
		}
	} else if (strcmp(k->name, "mirror") == 0) {
		if ((rc = take_str(c, v, key, &r->mirror)) < 0)
			return rc;
		if ((strncmp(r->mirror, "http://", 7) != 0 &&
		     strncmp(r->mirror, "https://", 8) != 0) ||
		    strpbrk(r->mirror, " \t\n\"'\\") != NULL) {
			bad(c, v, key, "must be an http:// or https:// URL without blanks");
			return -EINVAL;
		}
	} else if (strcmp(k->name, "releasever") == 0) {
		if ((rc = take_str(c, v, key, &r->releasever)) < 0)
			return rc;
		if (!charset_ok(r->releasever, ALNUM "._-", 1, 32) || r->releasever[0] == '-') {
			bad(c, v, key, "\"%s\": 1-32 of [A-Za-z0-9._-] (dnf's $releasever, e.g. 9)",
			    r->releasever);
			return -EINVAL;
		}
	} else if (strcmp(k->name, "oci") == 0) {
		/* An OCI image layout directory or archive, relative to the recipe. */
		char *raw = NULL;
		struct stat st;
		if ((rc = take_str(c, v, key, &raw)) < 0)
			return rc;
		struct buf p;
		buf_init(&p, PATH_MAX);
		if (raw[0] == '/')
			buf_adds(&p, raw);
		else
			buf_printf(&p, "%s/%s", r->dir, raw);
		r->oci = buf_take(&p);
		if (r->oci == NULL || stat(r->oci, &st) < 0) {
			bad(c, v, key,
			    "\"%s\": no such OCI image (a layout directory or an archive)", raw);
			free(raw);
			return -EINVAL;
		}
		free(raw);
	} else if (strcmp(k->name, "variant") == 0) {
		static const char *const ok[] = {"minbase",   "buildd",   "required",
						 "important", "standard", NULL};
		if ((rc = take_str(c, v, key, &r->variant)) < 0)
			return rc;
		int i;
		for (i = 0; ok[i] && strcmp(ok[i], r->variant) != 0; i++)
			;
		if (ok[i] == NULL) {
			bad(c, v, key, "must be minbase, buildd, required, important or standard");
			return -EINVAL;
		}
	}
	return 0;
}

struct file_arg {
	struct recipe *r;
	struct recipe_file *f;
	char *src_raw;
	char *mode_raw;
};

static int file_key(struct ctx *c, const struct key *k, yaml_node_t *v, void *arg)
{
	struct file_arg *fa = arg;
	char key[32];
	buf_fmt_msg(key, sizeof(key), "files.%s", k->name); /* for messages */
	if (strcmp(k->name, "src") == 0)
		return take_str(c, v, key, &fa->src_raw);
	if (strcmp(k->name, "mode") == 0)
		return take_str(c, v, key, &fa->mode_raw);
	int rc = take_str(c, v, key, &fa->f->dest);
	if (rc == 0 && !abs_path_ok(fa->f->dest)) {
		bad(c, v, key, "\"%s\" must be an absolute path without \"..\"", fa->f->dest);
		return -EINVAL;
	}
	return rc;
}

static int take_files(struct ctx *c, struct recipe *r, yaml_node_t *n)
{
	size_t len;
	if (seq_items(c, n, "files", K_FILES, &len) < 0)
		return -EINVAL;
	r->files = calloc(len ? len : 1, sizeof(*r->files));
	if (r->files == NULL)
		return -ENOMEM;
	int rc = 0;
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++) {
		yaml_node_t *e = node_get(c, *it);
		struct recipe_file *f = &r->files[r->nfiles++];
		struct file_arg fa = {r, f, NULL, NULL};
		c->cur_key = NULL;
		f->mode = 0644;
		if (walk_map(c, e, "files", file_keys, 3, file_key, &fa) < 0)
			rc = -EINVAL;
		if (fa.mode_raw != NULL) {
			char *end;
			unsigned long m = strtoul(fa.mode_raw, &end, 8);
			if (fa.mode_raw[0] == '\0' || *end != '\0' || m > 07777) {
				bad(c, e, "files.mode", "\"%s\" is not an octal mode like \"0644\"",
				    fa.mode_raw);
				rc = -EINVAL;
			}
			f->mode = (mode_t)m;
		}
		if (fa.src_raw != NULL) {
			struct buf p;
			struct stat st;
			buf_init(&p, PATH_MAX);
			if (fa.src_raw[0] == '/')
				buf_adds(&p, fa.src_raw);
			else
				buf_printf(&p, "%s/%s", r->dir, fa.src_raw);
			f->src = buf_take(&p);
			if (f->src == NULL || stat(f->src, &st) < 0 || !S_ISREG(st.st_mode)) {
				bad(c, e, "files.src", "\"%s\" is not a readable regular file",
				    fa.src_raw);
				rc = -EINVAL;
			}
		}
		free(fa.src_raw);
		free(fa.mode_raw);
	}
	return rc;
}

static int take_run(struct ctx *c, struct recipe *r, yaml_node_t *n)
{
	size_t len;
	if (seq_items(c, n, "run", K_RUN, &len) < 0)
		return -EINVAL;
	r->run = calloc(len ? len : 1, sizeof(*r->run));
	if (r->run == NULL)
		return -ENOMEM;
	int rc = 0;
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++) {
		yaml_node_t *e = node_get(c, *it);
		struct recipe_cmd *cmd = &r->run[r->nrun++];
		cmd->line = (int)e->start_mark.line + 1;
		if (e->type != YAML_SEQUENCE_NODE) {
			/* Not a shell string: commands run with execve and an argv. */
			bad(c, e, "run",
			    "each command must be a list of strings (argv), "
			    "like [systemctl, enable, ssh]");
			rc = -EINVAL;
			continue;
		}
		if (take_strlist(c, e, "run", &cmd->argv, &cmd->argc, NULL, NULL) < 0) {
			rc = -EINVAL;
			continue;
		}
		if (cmd->argc == 0) {
			bad(c, e, "run", "a command must not be empty");
			rc = -EINVAL;
		}
	}
	return rc;
}

static int top_key(struct ctx *c, const struct key *k, yaml_node_t *v, void *arg)
{
	struct recipe *r = arg;
	const char *n = k->name;
	int rc;
	if (strcmp(n, "name") == 0) {
		if ((rc = take_str(c, v, n, &r->name)) < 0)
			return rc;
		if (!recipe_name_ok(r->name)) {
			bad(c, v, n,
			    "\"%s\": 1-63 of [A-Za-z0-9._-], starting with a letter or digit",
			    r->name);
			return -EINVAL;
		}
	} else if (strcmp(n, "description") == 0) {
		return take_str(c, v, n, &r->description);
	} else if (strcmp(n, "arch") == 0) {
		if ((rc = take_str(c, v, n, &r->arch)) < 0)
			return rc;
		/* Debian's names inside: amd64, arm64. */
		const char *deb =
			strcmp(r->arch, "x86_64") == 0 || strcmp(r->arch, "amd64") == 0  ? "amd64" :
			strcmp(r->arch, "aarch64") == 0 || strcmp(r->arch, "arm64") == 0 ? "arm64" :
											   NULL;
		if (deb == NULL) {
			bad(c, v, n, "\"%s\" is not supported (x86_64/amd64, aarch64/arm64)",
			    r->arch);
			return -EINVAL;
		}
		free(r->arch);
		r->arch = xstrdup(c, deb);
	} else if (strcmp(n, "base") == 0) {
		return walk_map(c, v, "base", base_keys, sizeof(base_keys) / sizeof(base_keys[0]),
				base_key, r);
	} else if (strcmp(n, "parent") == 0) {
		return take_str(c, v, n, &r->parent);
	} else if (strcmp(n, "packages") == 0) {
		return take_strlist(c, v, n, &r->packages, &r->npackages,
				    c->oci_base ? package_any_ok : package_ok,
				    c->oci_base ? "a package name" : "a Debian package name");
	} else if (strcmp(n, "remove") == 0) {
		return take_strlist(c, v, n, &r->remove, &r->nremove,
				    c->oci_base ? package_any_ok : package_ok,
				    c->oci_base ? "a package name" : "a Debian package name");
	} else if (strcmp(n, "files") == 0) {
		return take_files(c, r, v);
	} else if (strcmp(n, "run") == 0) {
		return take_run(c, r, v);
	} else if (strcmp(n, "kernel_params") == 0) {
		if ((rc = take_str(c, v, n, &r->kernel_params)) < 0)
			return rc;
		if (!recipe_params_ok(r->kernel_params)) {
			bad(c, v, n, "printable ASCII without $, quotes or backslashes");
			return -EINVAL;
		}
	} else if (strcmp(n, "live_boot") == 0) {
		if (parse_bool(v, &r->live_boot) < 0) {
			bad(c, v, n, "must be %s", type_name(K_BOOL));
			return -EINVAL;
		}
	} else if (strcmp(n, "cloud_init") == 0) {
		if (parse_bool(v, &r->cloud_init) < 0) {
			bad(c, v, n, "must be %s", type_name(K_BOOL));
			return -EINVAL;
		}
	}
	return 0;
}

int recipe_parent_is_file(const char *parent)
{
	size_t n = strlen(parent);
	return strchr(parent, '/') != NULL || (n > 5 && strcmp(parent + n - 5, ".yaml") == 0) ||
	       (n > 4 && strcmp(parent + n - 4, ".yml") == 0);
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (slash == NULL)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

/* The chain of recipe files being loaded, for cycle detection. */
struct chain {
	const char *realpath;
	const char *path;
	const struct chain *next;
};

static int load_chain(const char *path, const struct chain *chain, int depth, struct recipe **out,
		      struct buf *err);

/*
 * parent: names a recipe file: loads it (relative to this recipe's
 * directory) as r->parent_recipe, refusing a cycle or a chain deeper than
 * RECIPE_MAX_DEPTH.  Problems are reported through c; returns 0, or
 * -ENOMEM.
 */
static int load_parent(struct ctx *c, yaml_node_t *root, struct recipe *r,
		       const struct chain *chain, int depth)
{
	struct buf *err = c->err;
	struct buf p;
	buf_init(&p, PATH_MAX);
	if (r->parent[0] == '/')
		buf_adds(&p, r->parent);
	else
		buf_printf(&p, "%s/%s", r->dir, r->parent);
	char *ppath = buf_take(&p);
	if (ppath == NULL)
		return -ENOMEM;
	/* Find the line of the parent key for messages. */
	yaml_node_t *pn = root;
	for (yaml_node_pair_t *pr = root->data.mapping.pairs.start;
	     pr < root->data.mapping.pairs.top; pr++) {
		const char *ks = scalar(node_get(c, pr->key));
		if (ks && strcmp(ks, "parent") == 0)
			pn = node_get(c, pr->value);
	}
	char rp[PATH_MAX];
	if (realpath(ppath, rp) == NULL) {
		bad(c, pn, "parent", "cannot read recipe \"%s\": %s", r->parent, strerror(errno));
	} else {
		const struct chain *ch;
		for (ch = chain; ch; ch = ch->next)
			if (strcmp(ch->realpath, rp) == 0)
				break;
		if (ch != NULL) {
			bad(c, pn, "parent", "cycle: ");
			err->len--; /* drop the newline bad() added */
			err->data[err->len] = '\0';
			buf_printf(err, "%s", rp);
			for (const struct chain *x = chain; x; x = x->next) {
				buf_printf(err, " <- %s", x->path);
				if (x == ch)
					break;
			}
			buf_addc(err, '\n');
		} else if (depth >= RECIPE_MAX_DEPTH) {
			bad(c, pn, "parent", "more than %d layers", RECIPE_MAX_DEPTH);
		} else if (c->nerr == 0) {
			struct chain me = {rp, ppath, chain};
			if (load_chain(ppath, &me, depth + 1, &r->parent_recipe, err) < 0)
				c->nerr++;
		}
	}
	free(ppath);
	return 0;
}

static int parse_chain(const char *path, const char *text, size_t len, const struct chain *chain,
		       int depth, struct recipe **out, struct buf *err)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	struct ctx c = {path, &doc, err, 0, NULL, 0};
	int rc = -EINVAL;
	struct recipe *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return -ENOMEM;
	r->cloud_init = -1;
	r->path = strdup(path);
	r->dir = dir_of(path);
	if (r->path == NULL || r->dir == NULL) {
		rc = -ENOMEM;
		goto err_free;
	}
	if (!yaml_parser_initialize(&parser)) {
		rc = -ENOMEM;
		goto err_free;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		buf_printf(err, "%s:%d: (yaml): %s\n", path, (int)parser.problem_mark.line + 1,
			   parser.problem ? parser.problem : "not YAML");
		goto err_parser;
	}
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (root == NULL) {
		buf_printf(err, "%s:1: (recipe): empty file\n", path);
		goto err_doc;
	}
	c.oci_base = has_oci_base(&c, root);
	walk_map(&c, root, "(recipe)", top_keys, sizeof(top_keys) / sizeof(top_keys[0]), top_key,
		 r);

	/* Rules across keys. */
	if (r->parent == NULL && r->suite == NULL && r->oci == NULL &&
	    root->type == YAML_MAPPING_NODE && c.nerr == 0)
		bad(&c, root, "base",
		    "missing: a recipe needs a base (base.suite or base.oci) or a parent");
	if (r->suite != NULL && r->oci != NULL)
		bad(&c, root, "base", "either suite (Debian, by mmdebstrap) or oci (an OCI image)");
	if (r->oci != NULL && (r->mirror != NULL || r->variant != NULL))
		bad(&c, root, "base", "mirror and variant are for base.suite, not base.oci");
	if (r->releasever != NULL && r->oci == NULL)
		bad(&c, root, "base",
		    "releasever is for base.oci (an image whose dnf or zypper needs it)");
	if (r->live_boot && r->oci == NULL)
		bad(&c, root, "live_boot",
		    "only for a recipe with base.oci (a Debian base has it)");
	if (r->parent != NULL && (r->suite != NULL || r->oci != NULL))
		bad(&c, root, "parent", "a recipe has either a base or a parent, not both");
	if (r->parent != NULL && recipe_parent_is_file(r->parent)) {
		if (load_parent(&c, root, r, chain, depth) < 0) {
			rc = -ENOMEM;
			goto err_doc;
		}
	} else if (r->parent != NULL && !recipe_name_ok(r->parent)) {
		bad(&c, root, "parent", "\"%s\" is neither a recipe file (.yaml) nor an image name",
		    r->parent);
	}
	if (c.nerr > 0)
		goto err_doc;
	if (r->arch == NULL)
		r->arch = strdup(r->parent_recipe ? r->parent_recipe->arch : "amd64");
	if (r->suite != NULL && r->variant == NULL)
		r->variant = strdup("minbase");
	if (r->arch == NULL || (r->suite != NULL && r->variant == NULL)) {
		rc = -ENOMEM;
		goto err_doc;
	}
	if (r->parent_recipe != NULL && strcmp(r->arch, r->parent_recipe->arch) != 0) {
		buf_printf(err, "%s:1: arch: %s differs from the parent's %s\n", path, r->arch,
			   r->parent_recipe->arch);
		goto err_doc;
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	*out = r;
	return 0;

err_doc:
	yaml_document_delete(&doc);
err_parser:
	yaml_parser_delete(&parser);
err_free:
	recipe_free(r);
	return rc;
}

static int load_chain(const char *path, const struct chain *chain, int depth, struct recipe **out,
		      struct buf *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct buf text;
	int rc;

	if (fd < 0) {
		rc = -errno;
		buf_printf(err, "%s: cannot read: %s\n", path, strerror(errno));
		return rc;
	}
	buf_init(&text, RECIPE_MAX_BYTES);
	rc = fs_read_fd(fd, RECIPE_MAX_BYTES, &text);
	close(fd);
	if (rc == -E2BIG) {
		buf_printf(err, "%s: larger than %d bytes\n", path, RECIPE_MAX_BYTES);
		rc = -EINVAL;
		goto err_text;
	}
	if (rc < 0) {
		buf_printf(err, "%s: read error\n", path);
		rc = -EIO;
		goto err_text;
	}
	char rp[PATH_MAX];
	struct chain me = {path, path, NULL};
	if (chain == NULL) {
		if (realpath(path, rp) != NULL)
			me.realpath = rp;
		chain = &me;
	}
	rc = parse_chain(path, buf_str(&text), text.len, chain, depth, out, err);
	if (rc == 0 && ((*out)->realpath = strdup(chain->realpath)) == NULL) {
		recipe_free(*out);
		*out = NULL;
		rc = -ENOMEM;
	}
err_text:
	buf_clear(&text);
	return rc;
}

int recipe_load(const char *path, struct recipe **out, struct buf *err)
{
	*out = NULL;
	return load_chain(path, NULL, 0, out, err);
}

int recipe_parse(const char *path, const char *text, size_t len, struct recipe **out,
		 struct buf *err)
{
	struct chain me = {path, path, NULL};
	*out = NULL;
	return parse_chain(path, text, len, &me, 0, out, err);
}

static void strv_free(char **v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void recipe_free(struct recipe *r)
{
	if (r == NULL)
		return;
	recipe_free(r->parent_recipe);
	free(r->path);
	free(r->realpath);
	free(r->dir);
	free(r->name);
	free(r->description);
	free(r->arch);
	free(r->suite);
	free(r->oci);
	free(r->releasever);
	free(r->mirror);
	free(r->variant);
	free(r->parent);
	strv_free(r->packages, r->npackages);
	strv_free(r->remove, r->nremove);
	for (size_t i = 0; i < r->nfiles; i++) {
		free(r->files[i].src);
		free(r->files[i].dest);
	}
	free(r->files);
	for (size_t i = 0; i < r->nrun; i++)
		strv_free(r->run[i].argv, r->run[i].argc);
	free(r->run);
	free(r->kernel_params);
	free(r);
}

int recipe_cloud_init(const struct recipe *r)
{
	for (; r; r = r->parent_recipe)
		if (r->cloud_init >= 0)
			return r->cloud_init;
	return 1;
}

const struct recipe *recipe_root(const struct recipe *r)
{
	while (r->parent_recipe != NULL)
		r = r->parent_recipe;
	return r->suite != NULL || r->oci != NULL ? r : NULL;
}

/* Length-prefixed fields, so "a","bc" and "ab","c" hash differently. */
static void h_str(crypto_hash_sha256_state *h, const char *tag, const char *s)
{
	/* "tag N:" ("tag 0-:" for none), in pieces: no fixed buffer to outgrow. */
	size_t n = s ? strlen(s) : 0;
	char num[24]; /* a size_t's digits, "-" and ":" */
	size_t i = sizeof(num);
	num[--i] = ':';
	if (s == NULL)
		num[--i] = '-';
	do {
		num[--i] = (char)('0' + n % 10);
		n /= 10;
	} while (n > 0);
	num[--i] = ' ';
	crypto_hash_sha256_update(h, (const unsigned char *)tag, strlen(tag));
	crypto_hash_sha256_update(h, (const unsigned char *)num + i, sizeof(num) - i);
	n = s ? strlen(s) : 0;
	if (s)
		crypto_hash_sha256_update(h, (const unsigned char *)s, n);
}

static int h_file(crypto_hash_sha256_state *h, const char *path)
{
	unsigned char chunk[65536];
	size_t n;
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return -errno;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		crypto_hash_sha256_update(h, chunk, n);
	int rc = ferror(f) ? -EIO : 0;
	fclose(f);
	return rc;
}

int recipe_digest(const struct recipe *r, char hex[65], struct buf *err)
{
	crypto_hash_sha256_state h;
	unsigned char out[crypto_hash_sha256_BYTES];
	char num[32];

	crypto_hash_sha256_init(&h);
	h_str(&h, "corral-recipe", "1");
	h_str(&h, "name", r->name);
	h_str(&h, "arch", r->arch);
	h_str(&h, "suite", r->suite);
	h_str(&h, "mirror", r->mirror);
	h_str(&h, "variant", r->variant);
	/* Only when set, so the digests of existing recipes stay as they were.
	 * The image's content (its diff_ids) enters the layer key in build.c. */
	if (r->oci != NULL)
		h_str(&h, "oci", r->oci);
	if (r->live_boot)
		h_str(&h, "live_boot", "1");
	if (r->releasever != NULL)
		h_str(&h, "releasever", r->releasever);
	/* The parent's identity enters through the layer key, not here. */
	for (size_t i = 0; i < r->npackages; i++)
		h_str(&h, "package", r->packages[i]);
	for (size_t i = 0; i < r->nremove; i++)
		h_str(&h, "remove", r->remove[i]);
	for (size_t i = 0; i < r->nfiles; i++) {
		if (buf_fmt(num, sizeof(num), "%04o", (unsigned)r->files[i].mode) < 0)
			goto err_num; /* 32 bytes hold any number here */
		h_str(&h, "file", r->files[i].dest);
		h_str(&h, "mode", num);
		int rc = h_file(&h, r->files[i].src);
		if (rc < 0) {
			buf_printf(err, "%s: files: cannot read %s: %s\n", r->path, r->files[i].src,
				   strerror(-rc));
			return rc;
		}
	}
	for (size_t i = 0; i < r->nrun; i++) {
		if (buf_fmt(num, sizeof(num), "%zu", r->run[i].argc) < 0)
			goto err_num;
		h_str(&h, "run", num);
		for (size_t j = 0; j < r->run[i].argc; j++)
			h_str(&h, "arg", r->run[i].argv[j]);
	}
	h_str(&h, "kernel_params", r->kernel_params);
	if (buf_fmt(num, sizeof(num), "%d", recipe_cloud_init(r)) < 0)
		goto err_num;
	h_str(&h, "cloud_init", num);
	crypto_hash_sha256_final(&h, out);
	sodium_bin2hex(hex, 65, out, sizeof(out));
	return 0;

err_num:
	buf_printf(err, "%s: recipe digest: a number did not fit\n", r->path);
	return -EINVAL;
}
