/*
 * imgstore: layers by key, names as symbolic links, atomic commits.
 * See imgstore.h.
 */
#include "imgstore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <sodium.h>
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

void imgstore_clean_tmp(struct imgstore *s)
{
	struct buf p;
	DIR *d;
	struct dirent *e;
	buf_init(&p, 4096);
	if (sub(s, "tmp", NULL, &p) < 0 || (d = opendir(buf_str(&p))) == NULL) {
		buf_clear(&p);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		const char *dot = strrchr(e->d_name, '.');
		if (e->d_name[0] == '.' || dot == NULL)
			continue;
		long pid = strtol(dot + 1, NULL, 10);
		/* We hold the store's lock: any other builder is gone. */
		if (pid > 0 && pid != (long)getpid()) {
			struct buf q;
			buf_init(&q, 4096);
			if (sub(s, "tmp", e->d_name, &q) == 0)
				fs_rm_tree(buf_str(&q));
			buf_clear(&q);
		}
	}
	closedir(d);
	buf_clear(&p);
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
		if (e->d_name[0] == '.' || strstr(e->d_name, ".tmp.") != NULL)
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

/* The parent key a layer's manifest names ("" when none). */
static int layer_parent(const struct imgstore *s, const char *key, char parent[65])
{
	struct buf p;
	json_error_t jerr;
	buf_init(&p, 4096);
	parent[0] = '\0';
	if (imgstore_layer_path(s, key, "manifest.json", &p) < 0) {
		buf_clear(&p);
		return -ENOMEM;
	}
	json_t *m = json_load_file(buf_str(&p), 0, &jerr);
	buf_clear(&p);
	if (m == NULL)
		return -EINVAL;
	const char *pk = json_string_value(json_object_get(json_object_get(m, "parent"), "key"));
	if (pk && key_ok(pk))
		memcpy(parent, pk, 65);
	json_decref(m);
	return 0;
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
	if (!shared && imgstore_layer_path(s, key, NULL, &p) == 0)
		rc = fs_rm_tree(buf_str(&p));
out:
	buf_clear(&names);
	buf_clear(&p);
	return rc;
}
