/*
 * imgstore: layers by key, names as symbolic links, atomic commits.
 * See imgstore.h.
 */
#include "imgstore.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"

struct imgstore {
	char *dir;   /* the store's top directory */
	int lock_fd; /* flock()ed for the store's lifetime */
};

static int sub(const struct imgstore *s, const char *a, const char *b, struct buf *out)
{
	buf_reset(out);
	return b ? buf_printf(out, "%s/%s/%s", s->dir, a, b) : buf_printf(out, "%s/%s", s->dir, a);
}

static int store_open(const char *dir, int lock, struct imgstore **out);

int imgstore_open(const char *dir, struct imgstore **out)
{
	return store_open(dir, 1, out);
}

int imgstore_open_ro(const char *dir, struct imgstore **out)
{
	return store_open(dir, 0, out);
}

static int store_open(const char *dir, int lock, struct imgstore **out)
{
	static const char *const subs[] = {"layers", "names", "tmp", "logs"};
	struct imgstore *s = calloc(1, sizeof(*s));
	struct buf p;
	int rc;

	if (s == NULL)
		return -ENOMEM;
	buf_init(&p, 4096);
	s->lock_fd = -1;
	if ((s->dir = strdup(dir)) == NULL) {
		rc = -ENOMEM;
		goto err;
	}
	if ((rc = fs_mkdir_p(dir, 0755)) < 0)
		goto err;
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		if ((rc = sub(s, subs[i], NULL, &p)) < 0)
			goto err;
		if (mkdir(buf_str(&p), 0755) < 0 && errno != EEXIST) {
			rc = -errno;
			goto err;
		}
	}
	if (!lock)
		goto done;
	if ((rc = sub(s, "lock", NULL, &p)) < 0)
		goto err;
	s->lock_fd = open(buf_str(&p), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (s->lock_fd >= 0 && flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK)
		fprintf(stderr, "corral-image: waiting for another corral-image using %s\n", dir);
	if (s->lock_fd < 0 || flock(s->lock_fd, LOCK_EX) < 0) {
		rc = -errno;
		goto err;
	}
done:
	buf_clear(&p);
	*out = s;
	return 0;
err:
	buf_clear(&p);
	imgstore_close(s);
	return rc;
}

void imgstore_close(struct imgstore *s)
{
	if (s == NULL)
		return;
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	free(s->dir);
	free(s);
}

const char *imgstore_dir(const struct imgstore *s)
{
	return s->dir;
}

void imgstore_layer_key(const char *recipe_digest, const char *parent_key, char key[65])
{
	crypto_hash_sha256_state h;
	unsigned char out[crypto_hash_sha256_BYTES];
	/* Bumped whenever the builder makes a layer differently, so layers
	 * from an older builder are not reused by a newer one. */
	static const char tag[] = "corral-image-layer 2\n";
	crypto_hash_sha256_init(&h);
	crypto_hash_sha256_update(&h, (const unsigned char *)tag, sizeof(tag) - 1);
	crypto_hash_sha256_update(&h, (const unsigned char *)recipe_digest, strlen(recipe_digest));
	crypto_hash_sha256_update(&h, (const unsigned char *)"\n", 1);
	crypto_hash_sha256_update(&h, (const unsigned char *)parent_key, strlen(parent_key));
	crypto_hash_sha256_final(&h, out);
	sodium_bin2hex(key, 65, out, sizeof(out));
}

int imgstore_layer_path(const struct imgstore *s, const char *key, const char *file,
			struct buf *out)
{
	buf_reset(out);
	return file ? buf_printf(out, "%s/layers/%s/%s", s->dir, key, file) :
		      buf_printf(out, "%s/layers/%s", s->dir, key);
}

int imgstore_has_layer(const struct imgstore *s, const char *key)
{
	struct buf p;
	struct stat st;
	buf_init(&p, 4096);
	int ok = imgstore_layer_path(s, key, "manifest.json", &p) == 0 &&
		 stat(buf_str(&p), &st) == 0;
	buf_clear(&p);
	return ok;
}

static int key_ok(const char *k)
{
	return strlen(k) == 64 && strspn(k, "0123456789abcdef") == 64;
}

int imgstore_resolve(const struct imgstore *s, const char *name, char key[65])
{
	struct buf p;
	char target[512];
	buf_init(&p, 4096);
	int rc = sub(s, "names", name, &p);
	if (rc < 0)
		goto out;
	ssize_t n = readlink(buf_str(&p), target, sizeof(target) - 1);
	if (n < 0) {
		rc = -errno;
		goto out;
	}
	target[n] = '\0';
	/* "../layers/<key>" */
	const char *k = strrchr(target, '/');
	k = k ? k + 1 : target;
	if (!key_ok(k)) {
		rc = -EINVAL;
		goto out;
	}
	memcpy(key, k, 65);
	rc = imgstore_has_layer(s, key) ? 0 : -ENOENT;
out:
	buf_clear(&p);
	return rc;
}

int imgstore_set_name(struct imgstore *s, const char *name, const char *key)
{
	struct buf link, tmp, target;
	int rc;
	buf_init(&link, 4096);
	buf_init(&tmp, 4096);
	buf_init(&target, 4096);
	if ((rc = sub(s, "names", name, &link)) < 0 ||
	    (rc = buf_printf(&tmp, "%s.tmp.%d", buf_str(&link), (int)getpid())) < 0 ||
	    (rc = buf_printf(&target, "../layers/%s", key)) < 0)
		goto out;
	unlink(buf_str(&tmp));
	if (symlink(buf_str(&target), buf_str(&tmp)) < 0 ||
	    rename(buf_str(&tmp), buf_str(&link)) < 0) {
		rc = -errno;
		unlink(buf_str(&tmp));
		goto out;
	}
	if ((rc = sub(s, "names", NULL, &tmp)) == 0)
		fs_sync_dir(buf_str(&tmp));
out:
	buf_clear(&link);
	buf_clear(&tmp);
	buf_clear(&target);
	return rc;
}

int imgstore_tmp_dir(struct imgstore *s, const char *key, struct buf *out)
{
	int rc;
	buf_reset(out);
	if ((rc = buf_printf(out, "%s/tmp/%.16s.%d", s->dir, key, (int)getpid())) < 0)
		return rc;
	fs_rm_tree(buf_str(out));
	if (mkdir(buf_str(out), 0755) < 0)
		return -errno;
	return 0;
}

int imgstore_commit(struct imgstore *s, const char *tmp_out, const char *key)
{
	struct buf dst;
	int rc = 0;
	buf_init(&dst, 4096);
	if ((rc = imgstore_layer_path(s, key, NULL, &dst)) < 0)
		goto out;
	/* A leftover incomplete directory of the same key (no manifest). */
	if (!imgstore_has_layer(s, key))
		fs_rm_tree(buf_str(&dst));
	if (rename(tmp_out, buf_str(&dst)) < 0) {
		rc = -errno;
		goto out;
	}
	if ((rc = sub(s, "layers", NULL, &dst)) == 0)
		fs_sync_dir(buf_str(&dst));
out:
	buf_clear(&dst);
	return rc;
}

/* 1 for a tmp/ entry "<anything>.<pid>" of a process other than this one. */
static int tmp_stale(const char *name)
{
	const char *dot = strrchr(name, '.');
	if (name[0] == '.' || dot == NULL || dot[1] == '\0' ||
	    strspn(dot + 1, "0123456789") != strlen(dot + 1))
		return 0;
	long pid = strtol(dot + 1, NULL, 10);
	/* The caller holds the store's lock: any other builder is gone. */
	return pid > 0 && pid != (long)getpid();
}

void imgstore_clean_tmp(struct imgstore *s)
{
	struct buf p, q;
	DIR *d;
	struct dirent *e;
	buf_init(&p, 4096);
	buf_init(&q, 4096);
	if (sub(s, "tmp", NULL, &p) < 0 || (d = opendir(buf_str(&p))) == NULL)
		goto out;
	while ((e = readdir(d)) != NULL) {
		if (tmp_stale(e->d_name) && sub(s, "tmp", e->d_name, &q) == 0)
			fs_rm_tree(buf_str(&q));
	}
	closedir(d);
out:
	buf_clear(&p);
	buf_clear(&q);
}

int imgstore_log_path(struct imgstore *s, const char *name, struct buf *out)
{
	char ts[32];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y%m%dT%H%M%SZ", &tm);
	buf_reset(out);
	return buf_printf(out, "%s/logs/%s-%s-%d.log", s->dir, name, ts, (int)getpid());
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A link set_name() is still writing ("NAME.tmp.<pid>"): not a name of its own. */
static int is_tmp_link(const char *name)
{
	const char *t = strstr(name, ".tmp.");
	const char *last = NULL;
	while (t != NULL) {
		last = t;
		t = strstr(t + 1, ".tmp.");
	}
	if (last == NULL || last[5] == '\0')
		return 0;
	for (const char *p = last + 5; *p; p++)
		if (*p < '0' || *p > '9')
			return 0;
	return 1;
}

int imgstore_names(const struct imgstore *s, struct buf *out)
{
	struct buf p;
	DIR *d;
	struct dirent *e;
	char *names[4096];
	size_t n = 0;
	int rc = 0;
	buf_init(&p, 4096);
	if ((rc = sub(s, "names", NULL, &p)) < 0)
		goto out;
	if ((d = opendir(buf_str(&p))) == NULL) {
		rc = -errno;
		goto out;
	}
	while ((e = readdir(d)) != NULL && n < sizeof(names) / sizeof(names[0])) {
		if (e->d_name[0] == '.' || is_tmp_link(e->d_name))
			continue;
		if ((names[n] = strdup(e->d_name)) != NULL)
			n++;
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_str);
	for (size_t i = 0; i < n; i++) {
		if (rc == 0)
			rc = buf_printf(out, "%s\n", names[i]);
		free(names[i]);
	}
out:
	buf_clear(&p);
	return rc;
}

/* A layer's manifest.json, parsed (NULL: missing or not JSON, see jerr). */
static json_t *layer_manifest(const struct imgstore *s, const char *key, json_error_t *jerr)
{
	struct buf p;
	json_t *m = NULL;
	buf_init(&p, 4096);
	if (imgstore_layer_path(s, key, "manifest.json", &p) == 0)
		m = json_load_file(buf_str(&p), 0, jerr);
	else
		buf_fmt_msg(jerr->text, sizeof(jerr->text), "path too long");
	buf_clear(&p);
	return m;
}

/* The parent key a manifest names: 0 with "" for none (parent null or
 * absent); -EINVAL when "parent" is there but holds no valid key. */
static int manifest_parent(json_t *m, char parent[65])
{
	json_t *par = json_object_get(m, "parent");
	parent[0] = '\0';
	if (par == NULL || json_is_null(par))
		return 0;
	const char *pk = json_string_value(json_object_get(par, "key"));
	if (pk == NULL || !key_ok(pk))
		return -EINVAL;
	memcpy(parent, pk, 65);
	return 0;
}

/* The parent key a layer's manifest names ("" when none). */
static int layer_parent(const struct imgstore *s, const char *key, char parent[65])
{
	json_error_t jerr;
	json_t *m = layer_manifest(s, key, &jerr);
	parent[0] = '\0';
	if (m == NULL)
		return -EINVAL;
	int rc = manifest_parent(m, parent);
	json_decref(m);
	return rc;
}

/* Takes layers/<key> out of the store with one rename() into
 * tmp/removed-<key>.<pid>, then deletes it there: a crash in between leaves
 * the layer whole or gone from layers/, and its remains in tmp/ are a
 * stale entry for imgstore_clean_tmp.  0 or a negative errno, reason in why. */
static int layer_discard(struct imgstore *s, const char *key, struct buf *why)
{
	struct buf from, to, dir;
	int rc;
	buf_init(&from, 4096);
	buf_init(&to, 4096);
	buf_init(&dir, 4096);
	if ((rc = imgstore_layer_path(s, key, NULL, &from)) < 0 ||
	    (rc = buf_printf(&to, "%s/tmp/removed-%s.%d", s->dir, key, (int)getpid())) < 0) {
		buf_printf(why, "layer %.12s: path too long", key);
		goto out;
	}
	/* Ours only if a process of the same pid crashed here before. */
	fs_rm_tree(buf_str(&to));
	if (rename(buf_str(&from), buf_str(&to)) < 0) {
		rc = -errno;
		buf_printf(why, "layer %.12s: cannot move it into tmp/: %s", key, strerror(errno));
		goto out;
	}
	/* The rename reaches the disk before any deletion does. */
	if (sub(s, "layers", NULL, &dir) == 0)
		fs_sync_dir(buf_str(&dir));
	if (sub(s, "tmp", NULL, &dir) == 0)
		fs_sync_dir(buf_str(&dir));
	if ((rc = fs_rm_tree(buf_str(&to))) < 0)
		buf_printf(why, "layer %.12s: moved to %s but not all of it deleted: %s", key,
			   buf_str(&to), strerror(-rc));
out:
	buf_clear(&from);
	buf_clear(&to);
	buf_clear(&dir);
	return rc;
}

int imgstore_rm(struct imgstore *s, const char *name, struct buf *why)
{
	char key[65], other[65], parent[65];
	struct buf names, p;
	int rc, shared = 0;

	if ((rc = imgstore_resolve(s, name, key)) < 0) {
		buf_printf(why, "no image %s in the store", name);
		return rc;
	}
	buf_init(&names, 1 << 20);
	buf_init(&p, 4096);
	if ((rc = imgstore_names(s, &names)) < 0)
		goto out;
	/* Refuse while another image is built on this one. */
	char *save = NULL;
	for (char *n = strtok_r(names.data ? names.data : (char *)"", "\n", &save); n;
	     n = strtok_r(NULL, "\n", &save)) {
		if (strcmp(n, name) == 0 || imgstore_resolve(s, n, other) < 0)
			continue;
		if (strcmp(other, key) == 0) {
			shared = 1;
			continue;
		}
		for (int depth = 0; depth < 32 && layer_parent(s, other, parent) == 0 && parent[0];
		     depth++) {
			if (strcmp(parent, key) == 0) {
				buf_printf(why, "image %s is built on %s (remove it first)", n,
					   name);
				rc = -EBUSY;
				goto out;
			}
			memcpy(other, parent, 65);
		}
	}
	if ((rc = sub(s, "names", name, &p)) < 0)
		goto out;
	if (unlink(buf_str(&p)) < 0) {
		rc = -errno;
		goto out;
	}
	if (!shared)
		rc = layer_discard(s, key, why);
out:
	buf_clear(&names);
	buf_clear(&p);
	return rc;
}

/*
 * gc: plan first (read everything, decide, refuse on a damaged chain), then
 * remove.  The plan is three growable arrays.
 */

/* Most entries gc takes from one directory; a store past this is refused
 * rather than read without bound. */
#define GC_MAX_ENTRIES (1u << 20)

struct vec {
	void *v;     /* elem-sized slots */
	size_t n;    /* slots used */
	size_t cap;  /* slots allocated */
	size_t elem; /* bytes per slot */
};

/* A new zeroed slot at the end; NULL when out of memory or past the cap. */
static void *vec_push(struct vec *a)
{
	if (a->n == a->cap) {
		size_t nc = a->cap ? a->cap * 2 : 64;
		if (nc > GC_MAX_ENTRIES)
			return NULL;
		void *nv = realloc(a->v, nc * a->elem);
		if (nv == NULL)
			return NULL;
		a->v = nv;
		a->cap = nc;
	}
	void *slot = (char *)a->v + a->n++ * a->elem;
	memset(slot, 0, a->elem);
	return slot;
}

struct gc_layer {
	char key[65];
	int live;
	char *name;  /* the manifest's "name" (NULL: unknown) */
	char *built; /* the manifest's "built" */
	unsigned long long size;
};

struct gc_tmp {
	char *file; /* entry under tmp/ */
	unsigned long long size;
};

struct gc_log {
	char *file;  /* entry under logs/ */
	char *group; /* its image name, or the whole file name when not ours */
	time_t mtime;
	unsigned long long size;
	int drop;
};

struct gc_plan {
	struct vec layers; /* struct gc_layer, sorted by key */
	struct vec tmps;   /* struct gc_tmp */
	struct vec logs;   /* struct gc_log */
};

static void plan_clear(struct gc_plan *pl)
{
	struct gc_layer *l = pl->layers.v;
	struct gc_tmp *t = pl->tmps.v;
	struct gc_log *g = pl->logs.v;
	for (size_t i = 0; i < pl->layers.n; i++) {
		free(l[i].name);
		free(l[i].built);
	}
	for (size_t i = 0; i < pl->tmps.n; i++)
		free(t[i].file);
	for (size_t i = 0; i < pl->logs.n; i++) {
		free(g[i].file);
		free(g[i].group);
	}
	free(pl->layers.v);
	free(pl->tmps.v);
	free(pl->logs.v);
}

/* A line of the report.  A report past its cap loses lines but never stops
 * a removal halfway. */
__attribute__((format(printf, 2, 3))) static void say(struct buf *report, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	(void)buf_vprintf(report, fmt, ap);
	va_end(ap);
}

static int cmp_layer(const void *a, const void *b)
{
	return strcmp(((const struct gc_layer *)a)->key, ((const struct gc_layer *)b)->key);
}

static struct gc_layer *find_layer(struct gc_plan *pl, const char *key)
{
	struct gc_layer k;
	if (pl->layers.n == 0)
		return NULL; /* bsearch's base must not be NULL */
	memcpy(k.key, key, 65);
	return bsearch(&k, pl->layers.v, pl->layers.n, sizeof(k), cmp_layer);
}

/* Opens STORE/<name>/ for a scan; 0 or a negative errno, reason in why. */
static int gc_opendir(const struct imgstore *s, const char *name, DIR **d, struct buf *why)
{
	struct buf p;
	int rc = 0;
	buf_init(&p, 4096);
	if ((rc = sub(s, name, NULL, &p)) == 0 && (*d = opendir(buf_str(&p))) == NULL)
		rc = -errno;
	if (rc < 0)
		buf_printf(why, "%s/%s: %s", s->dir, name, strerror(-rc));
	buf_clear(&p);
	return rc;
}

/* Every directory under layers/ named by a key, sorted. */
static int gc_scan_layers(const struct imgstore *s, struct gc_plan *pl, struct buf *why)
{
	struct buf p;
	struct stat st;
	struct dirent *e;
	DIR *d;
	int rc = gc_opendir(s, "layers", &d, why);
	if (rc < 0)
		return rc;
	buf_init(&p, 4096);
	while ((e = readdir(d)) != NULL) {
		if (!key_ok(e->d_name))
			continue;
		if (sub(s, "layers", e->d_name, &p) < 0 || lstat(buf_str(&p), &st) < 0 ||
		    !S_ISDIR(st.st_mode))
			continue;
		struct gc_layer *l = vec_push(&pl->layers);
		if (l == NULL) {
			rc = -ENOMEM;
			buf_printf(why, "layers/: more than %u entries or out of memory",
				   GC_MAX_ENTRIES);
			break;
		}
		memcpy(l->key, e->d_name, 65);
	}
	closedir(d);
	buf_clear(&p);
	if (rc == 0 && pl->layers.n > 0)
		qsort(pl->layers.v, pl->layers.n, sizeof(struct gc_layer), cmp_layer);
	return rc;
}

/* Marks l and its ancestors live (image: the name that led here). */
static int gc_mark_live(const struct imgstore *s, struct gc_plan *pl, struct gc_layer *l,
			const char *image, struct buf *why)
{
	char parent[65];
	json_error_t jerr;
	while (!l->live) {
		l->live = 1;
		json_t *m = layer_manifest(s, l->key, &jerr);
		if (m == NULL) {
			buf_printf(why, "image %s: layer %.12s: manifest.json: %s; nothing removed",
				   image, l->key, jerr.text);
			return -EINVAL;
		}
		int rc = manifest_parent(m, parent);
		json_decref(m);
		if (rc < 0) {
			buf_printf(why,
				   "image %s: layer %.12s: manifest.json: parent has no valid key; "
				   "nothing removed",
				   image, l->key);
			return rc;
		}
		if (parent[0] == '\0')
			return 0;
		struct gc_layer *p = find_layer(pl, parent);
		if (p == NULL) {
			buf_printf(why,
				   "image %s: layer %.12s is built on layer %.12s, which is not in "
				   "the store; nothing removed",
				   image, l->key, parent);
			return -ENOENT;
		}
		l = p;
	}
	return 0;
}

/* Follows every name in names/ (set_name's temporary links excepted). */
static int gc_mark_names(const struct imgstore *s, struct gc_plan *pl, struct buf *report,
			 struct buf *why)
{
	struct buf p;
	struct dirent *e;
	char target[512];
	DIR *d;
	int rc = gc_opendir(s, "names", &d, why);
	if (rc < 0)
		return rc;
	buf_init(&p, 4096);
	while (rc == 0 && (e = readdir(d)) != NULL) {
		/* set_name()'s half-written links ("NAME.tmp.<pid>") are no names;
		 * a name with ".tmp." inside it otherwise ("web.tmp.v2") is */
		if (e->d_name[0] == '.' || is_tmp_link(e->d_name))
			continue;
		ssize_t n = -1;
		if (sub(s, "names", e->d_name, &p) == 0)
			n = readlink(buf_str(&p), target, sizeof(target) - 1);
		if (n < 0) {
			say(report, "note: names/%s is not a link to a layer (ignored)\n",
			    e->d_name);
			continue;
		}
		target[n] = '\0';
		const char *k = strrchr(target, '/');
		k = k ? k + 1 : target;
		struct gc_layer *l = key_ok(k) ? find_layer(pl, k) : NULL;
		if (l == NULL) {
			say(report, "note: names/%s points at %s, which is not a layer (ignored)\n",
			    e->d_name, target);
			continue;
		}
		rc = gc_mark_live(s, pl, l, e->d_name, why);
	}
	closedir(d);
	buf_clear(&p);
	return rc;
}

/* What a garbage layer was (from its manifest, if it has one) and its size. */
static void gc_describe(const struct imgstore *s, struct gc_layer *l)
{
	struct buf p;
	json_error_t jerr;
	json_t *m = layer_manifest(s, l->key, &jerr);
	if (m != NULL) {
		const char *name = json_string_value(json_object_get(m, "name"));
		const char *built = json_string_value(json_object_get(m, "built"));
		l->name = name ? strdup(name) : NULL;
		l->built = built ? strdup(built) : NULL;
		json_decref(m);
	}
	buf_init(&p, 4096);
	if (imgstore_layer_path(s, l->key, NULL, &p) == 0)
		l->size = fs_du(buf_str(&p));
	buf_clear(&p);
}

static int gc_scan_tmp(const struct imgstore *s, struct gc_plan *pl, struct buf *why)
{
	struct buf p;
	struct dirent *e;
	DIR *d;
	int rc = gc_opendir(s, "tmp", &d, why);
	if (rc < 0)
		return rc;
	buf_init(&p, 4096);
	while ((e = readdir(d)) != NULL) {
		if (!tmp_stale(e->d_name) || sub(s, "tmp", e->d_name, &p) < 0)
			continue;
		struct gc_tmp *t = vec_push(&pl->tmps);
		if (t == NULL || (t->file = strdup(e->d_name)) == NULL) {
			rc = -ENOMEM;
			buf_printf(why, "tmp/: more than %u entries or out of memory",
				   GC_MAX_ENTRIES);
			break;
		}
		t->size = fs_du(buf_str(&p));
	}
	closedir(d);
	buf_clear(&p);
	return rc;
}

/* Length of the image name in "<name>-YYYYMMDDTHHMMSSZ-<pid>.log" (what
 * imgstore_log_path makes); 0 for any other file name. */
static size_t log_image_len(const char *f)
{
	static const char pat[] = "dddddddddTddddddZ"; /* '-' and the time */
	size_t n = strlen(f), d;
	if (n < 4 || strcmp(f + n - 4, ".log") != 0)
		return 0;
	n -= 4;
	for (d = n; d > 0 && isdigit((unsigned char)f[d - 1]); d--)
		;
	/* f[d..n) the pid, f[d-1] '-', before it '-' and 16 time characters. */
	if (d == n || d < sizeof(pat) + 1 || f[d - 1] != '-')
		return 0;
	const char *t = f + d - 1 - (sizeof(pat) - 1);
	if (t[0] != '-')
		return 0;
	for (size_t i = 1; i < sizeof(pat) - 1; i++) {
		if (pat[i] == 'd' ? !isdigit((unsigned char)t[i]) : t[i] != pat[i])
			return 0;
	}
	return (size_t)(t - f);
}

/* Groups by image name, newest first (mtime, then file name). */
static int cmp_log(const void *a, const void *b)
{
	const struct gc_log *x = a, *y = b;
	int c = strcmp(x->group, y->group);
	if (c != 0)
		return c;
	if (x->mtime != y->mtime)
		return x->mtime > y->mtime ? -1 : 1;
	return -strcmp(x->file, y->file);
}

static int gc_scan_logs(const struct imgstore *s, struct gc_plan *pl, unsigned keep_days,
			struct buf *why)
{
	struct buf p;
	struct stat st;
	struct dirent *e;
	DIR *d;
	int rc = gc_opendir(s, "logs", &d, why);
	if (rc < 0)
		return rc;
	buf_init(&p, 4096);
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);
		if (e->d_name[0] == '.' || n < 4 || strcmp(e->d_name + n - 4, ".log") != 0 ||
		    sub(s, "logs", e->d_name, &p) < 0 || lstat(buf_str(&p), &st) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		size_t gl = log_image_len(e->d_name);
		struct gc_log *g = vec_push(&pl->logs);
		if (g == NULL || (g->file = strdup(e->d_name)) == NULL ||
		    (g->group = strndup(e->d_name, gl ? gl : n)) == NULL) {
			rc = -ENOMEM;
			buf_printf(why, "logs/: more than %u entries or out of memory",
				   GC_MAX_ENTRIES);
			break;
		}
		g->mtime = st.st_mtime;
		g->size = (unsigned long long)st.st_size;
	}
	closedir(d);
	buf_clear(&p);
	if (rc < 0 || pl->logs.n == 0)
		return rc;
	struct gc_log *g = pl->logs.v;
	qsort(g, pl->logs.n, sizeof(*g), cmp_log);
	time_t cutoff = time(NULL) - (time_t)keep_days * 86400;
	for (size_t i = 0; i < pl->logs.n; i++) {
		int newest = i == 0 || strcmp(g[i].group, g[i - 1].group) != 0;
		g[i].drop = !newest && g[i].mtime <= cutoff;
	}
	return 0;
}

static double mib(unsigned long long bytes)
{
	return (double)bytes / 1048576.0;
}

static const char *plural(unsigned n)
{
	return n == 1 ? "" : "s";
}

int imgstore_gc(struct imgstore *s, int dry_run, unsigned keep_log_days,
		struct imgstore_gc_result *res, struct buf *report, struct buf *why)
{
	struct gc_plan pl = {{NULL, 0, 0, sizeof(struct gc_layer)},
			     {NULL, 0, 0, sizeof(struct gc_tmp)},
			     {NULL, 0, 0, sizeof(struct gc_log)}};
	struct buf p;
	const char *verb = dry_run ? "would remove" : "removed";
	int rc;

	memset(res, 0, sizeof(*res));
	buf_init(&p, 4096);
	if (s->lock_fd < 0) {
		buf_printf(why, "the store was opened without its lock");
		rc = -EPERM;
		goto out;
	}
	/* The whole plan, before anything is touched. */
	if ((rc = gc_scan_layers(s, &pl, why)) < 0 ||
	    (rc = gc_mark_names(s, &pl, report, why)) < 0 || (rc = gc_scan_tmp(s, &pl, why)) < 0 ||
	    (rc = gc_scan_logs(s, &pl, keep_log_days, why)) < 0)
		goto out;

	struct gc_layer *l = pl.layers.v;
	for (size_t i = 0; i < pl.layers.n; i++) {
		if (l[i].live)
			continue;
		gc_describe(s, &l[i]);
		if (!dry_run && (rc = layer_discard(s, l[i].key, why)) < 0)
			goto out;
		if (l[i].name == NULL)
			say(report, "%s layer %.12s  %.1f MiB  (no manifest)\n", verb, l[i].key,
			    mib(l[i].size));
		else
			say(report, "%s layer %.12s  %.1f MiB  (was %s, built %s)\n", verb,
			    l[i].key, mib(l[i].size), l[i].name, l[i].built ? l[i].built : "?");
		res->layers++;
		res->bytes += l[i].size;
	}
	struct gc_tmp *t = pl.tmps.v;
	for (size_t i = 0; i < pl.tmps.n; i++) {
		if (!dry_run && ((rc = sub(s, "tmp", t[i].file, &p)) < 0 ||
				 (rc = fs_rm_tree(buf_str(&p))) < 0)) {
			buf_printf(why, "tmp/%s: not all of it deleted: %s", t[i].file,
				   strerror(-rc));
			goto out;
		}
		say(report, "%s tmp/%s  %.1f MiB  (left by a process that is gone)\n", verb,
		    t[i].file, mib(t[i].size));
		res->leftovers++;
		res->bytes += t[i].size;
	}
	struct gc_log *g = pl.logs.v;
	for (size_t i = 0; i < pl.logs.n; i++) {
		if (!g[i].drop)
			continue;
		if (!dry_run && (rc = sub(s, "logs", g[i].file, &p)) == 0 &&
		    unlink(buf_str(&p)) < 0 && errno != ENOENT)
			rc = -errno;
		if (rc < 0) {
			buf_printf(why, "logs/%s: %s", g[i].file, strerror(-rc));
			goto out;
		}
		res->logs++;
		res->bytes += g[i].size;
	}
	if (!dry_run && res->logs > 0 && sub(s, "logs", NULL, &p) == 0)
		fs_sync_dir(buf_str(&p));
	rc = 0;
out:
	if (rc == 0 || res->layers + res->logs + res->leftovers > 0) {
		say(report, "gc: %s %u layer%s and %u log%s, %s %.1f MiB", verb, res->layers,
		    plural(res->layers), res->logs, plural(res->logs),
		    dry_run ? "would free" : "freed", mib(res->bytes));
		if (res->leftovers > 0)
			say(report, " (with %u leftover%s in tmp/)", res->leftovers,
			    plural(res->leftovers));
		say(report, "\n");
	}
	plan_clear(&pl);
	buf_clear(&p);
	return rc;
}
