/*
 * bootmod: finding, listing and hashing Corral's dracut modules.  See
 * bootmod.h.
 */
#include "bootmod.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "digest.h"
#include "fsutil.h"

#ifndef CORRAL_IMG_DRACUT_DIR
#define CORRAL_IMG_DRACUT_DIR "/usr/local/share/corral/dracut"
#endif
#ifndef CORRAL_IMG_DRACUT_SRC
#define CORRAL_IMG_DRACUT_SRC "image-builder/dracut"
#endif

#define BOOTMOD_FILE_MAX (1 << 20)

static int is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int bootmod_dir(struct buf *dir)
{
	const char *env = getenv("CORRAL_IMAGE_DRACUT");
	const char *tries[] = {env && env[0] ? env : NULL, CORRAL_IMG_DRACUT_DIR,
			       CORRAL_IMG_DRACUT_SRC};
	for (size_t i = 0; i < 3; i++) {
		if (tries[i] != NULL && is_dir(tries[i])) {
			buf_reset(dir);
			return buf_adds(dir, tries[i]);
		}
	}
	fprintf(stderr,
		"corral-image: Corral's dracut modules not found: set CORRAL_IMAGE_DRACUT, or "
		"install them in %s (source: %s)\n",
		CORRAL_IMG_DRACUT_DIR, CORRAL_IMG_DRACUT_SRC);
	return -ENOENT;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names in dir that do not start with '.', sorted, into a NULL-ended array. */
static int list_sorted(const char *dir, char ***out, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **v = NULL;
	size_t len = 0, cap = 0;
	if (d == NULL)
		return -errno;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (len + 1 >= cap) {
			cap = cap ? cap * 2 : 16;
			char **nv = realloc(v, cap * sizeof(*v));
			if (nv == NULL)
				goto err_mem;
			v = nv;
		}
		if ((v[len] = strdup(e->d_name)) == NULL)
			goto err_mem;
		v[++len] = NULL;
	}
	closedir(d);
	if (v != NULL)
		qsort(v, len, sizeof(*v), by_name);
	*out = v;
	*n = len;
	return 0;
err_mem:
	closedir(d);
	for (size_t i = 0; i < len; i++)
		free(v[i]);
	free(v);
	return -ENOMEM;
}

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int bootmod_files(const char *dir, struct buf *files)
{
	char **mods = NULL;
	size_t nmods = 0;
	int rc = list_sorted(dir, &mods, &nmods);
	struct buf sub;
	buf_init(&sub, 4096);
	for (size_t i = 0; rc == 0 && i < nmods; i++) {
		char **fl = NULL;
		size_t nf = 0;
		buf_reset(&sub);
		if ((rc = buf_printf(&sub, "%s/%s", dir, mods[i])) < 0)
			break;
		if (!is_dir(buf_str(&sub)))
			continue;
		if ((rc = list_sorted(buf_str(&sub), &fl, &nf)) < 0)
			break;
		for (size_t j = 0; rc == 0 && j < nf; j++)
			rc = buf_printf(files, "%s/%s\n", mods[i], fl[j]);
		free_list(fl, nf);
	}
	free_list(mods, nmods);
	buf_clear(&sub);
	return rc;
}

int bootmod_digest(const char *dir, char hex[65])
{
	struct buf files, all, one, path;
	int rc;
	buf_init(&files, 65536);
	buf_init(&all, 16 << 20);
	buf_init(&one, BOOTMOD_FILE_MAX);
	buf_init(&path, 4096);
	rc = bootmod_files(dir, &files);
	/* Each file as "NAME SIZE\n" + its bytes: no two sets look alike. */
	for (char *save = NULL, *l = strtok_r(files.data ? files.data : (char *)"", "\n", &save);
	     rc == 0 && l; l = strtok_r(NULL, "\n", &save)) {
		buf_reset(&path);
		buf_reset(&one);
		if ((rc = buf_printf(&path, "%s/%s", dir, l)) < 0 ||
		    (rc = fs_read_file(buf_str(&path), BOOTMOD_FILE_MAX, &one)) < 0)
			break;
		if ((rc = buf_printf(&all, "%s %zu\n", l, one.len)) < 0 ||
		    (rc = buf_add(&all, one.data ? one.data : "", one.len)) < 0)
			break;
	}
	if (rc == 0)
		digest_sha256_hex(all.data ? all.data : "", all.len, hex);
	buf_clear(&files);
	buf_clear(&all);
	buf_clear(&one);
	buf_clear(&path);
	return rc;
}
