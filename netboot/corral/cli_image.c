/*
 * cli_image: image verification against its manifest.  See cli_image.h.
 *
 * Downloads use their own curl handle (the shared one caps replies in
 * memory): no redirects, http and https only, a connect timeout and a
 * low-speed limit instead of a total one (a root image may be large).
 */
#include "cli_image.h"

#include <curl/curl.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "cli_http.h"

#define MANIFEST_MAX (16u << 20)

/* One download being hashed. */
struct dl {
	crypto_hash_sha256_state h;
	unsigned long long size;
	struct buf *keep; /* the body too (the manifest), or NULL */
	int over;         /* keep's cap was passed */
};

static size_t dl_write(char *data, size_t size, size_t n, void *arg)
{
	struct dl *d = arg;
	crypto_hash_sha256_update(&d->h, (const unsigned char *)data, size * n);
	d->size += size * n;
	if (d->keep != NULL && buf_add(d->keep, data, size * n) < 0) {
		d->over = 1;
		return 0;
	}
	return size * n;
}

/* A location (path under the file root, or a URL) as a URL into out. */
static int loc_url(const struct cli *c, const char *loc, struct buf *out)
{
	buf_reset(out);
	if (strncmp(loc, "http://", 7) == 0 || strncmp(loc, "https://", 8) == 0)
		return buf_adds(out, loc);
	return buf_printf(out, "%s/files/%s", c->url, loc);
}

/* GETs url, hashing it: hex and *size; keep gets the body when not NULL.
 * 0, or -EIO with the reason in err. */
static int fetch_hash(const char *url, struct buf *keep, char hex[65], unsigned long long *size,
		      char *err, size_t errlen)
{
	struct dl d = {.keep = keep};
	unsigned char bin[crypto_hash_sha256_BYTES];
	long status = 0;
	CURL *h = curl_easy_init();
	if (h == NULL)
		return -ENOMEM;
	crypto_hash_sha256_init(&d.h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 30L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, dl_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &d);
	CURLcode cr = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(h);
	if (cr != CURLE_OK || status != 200) {
		if (cr != CURLE_OK)
			buf_fmt_msg(err, errlen, "%s",
				    d.over ? "larger than allowed" : curl_easy_strerror(cr));
		else
			buf_fmt_msg(err, errlen, "HTTP %ld", status);
		return -EIO;
	}
	crypto_hash_sha256_final(&d.h, bin);
	sodium_bin2hex(hex, 65, bin, sizeof(bin));
	*size = d.size;
	return 0;
}

/* The manifest: --manifest's text, else <dir of the root image>/manifest.json. */
static int load_manifest(struct cli *c, const struct cli_args *a, json_t *img, json_t **out,
			 struct buf *where)
{
	json_error_t jerr;
	const char *text = json_string_value(json_object_get(a->body, "manifest"));
	if (text != NULL) {
		buf_adds(where, "--manifest");
		*out = json_loads(text, 0, &jerr);
		return *out ? 0 : cli_fail(CLI_EXIT_FAIL, "--manifest: not JSON: %s", jerr.text);
	}
	const char *loc = json_string_value(json_object_get(img, "rootfs"));
	if (loc == NULL)
		loc = json_string_value(json_object_get(img, "kernel"));
	const char *slash = loc ? strrchr(loc, '/') : NULL;
	struct buf rel, url, body;
	char hex[65], err[256];
	unsigned long long size;
	buf_init(&rel, 8192);
	buf_init(&url, 8192);
	buf_init(&body, MANIFEST_MAX);
	int rc = CLI_EXIT_OK;
	if (slash == NULL || buf_printf(&rel, "%.*s/manifest.json", (int)(slash - loc), loc) < 0 ||
	    loc_url(c, buf_str(&rel), &url) < 0) {
		rc = cli_fail(CLI_EXIT_FAIL, "image has no directory to find manifest.json in; "
					     "give --manifest FILE");
	} else if (fetch_hash(buf_str(&url), &body, hex, &size, err, sizeof(err)) < 0) {
		rc = cli_fail(CLI_EXIT_FAIL, "%s: %s (give --manifest FILE)", buf_str(&url), err);
	} else if ((*out = json_loadb(body.data ? body.data : "", body.len, 0, &jerr)) == NULL) {
		rc = cli_fail(CLI_EXIT_FAIL, "%s: not JSON: %s", buf_str(&url), jerr.text);
	}
	buf_adds(where, buf_str(&url));
	buf_clear(&rel);
	buf_clear(&url);
	buf_clear(&body);
	return rc;
}

/* Checks one file; prints its line; 1 when it matches. */
static int verify_one(struct cli *c, const char *file, const char *loc, json_t *art,
		      const char *registered)
{
	const char *want = json_string_value(json_object_get(art, "sha256"));
	json_int_t want_size = json_integer_value(json_object_get(art, "size"));
	char hex[65] = "", err[256] = "";
	unsigned long long size = 0;
	struct buf url;
	int ok = 0;
	buf_init(&url, 8192);
	if (loc == NULL)
		buf_fmt_msg(err, sizeof(err), "the image names no %s", file);
	else if (want == NULL)
		buf_fmt_msg(err, sizeof(err), "not in the manifest");
	else if (loc_url(c, loc, &url) < 0)
		buf_fmt_msg(err, sizeof(err), "location too long");
	else if (fetch_hash(buf_str(&url), NULL, hex, &size, err, sizeof(err)) == 0) {
		if (strcmp(hex, want) != 0)
			buf_fmt_msg(err, sizeof(err), "MISMATCH: served %.12s, manifest %.12s", hex,
				    want);
		else if ((json_int_t)size != want_size)
			buf_fmt_msg(err, sizeof(err), "MISMATCH: %llu bytes, manifest %lld", size,
				    (long long)want_size);
		else if (registered != NULL && strcmp(registered, want) != 0)
			buf_fmt_msg(
				err, sizeof(err),
				"MISMATCH: the image's rootfs_sha256 %.12s is not the manifest's",
				registered);
		else
			ok = 1;
	}
	printf("%-16s %-12.12s %12llu  %s\n", file, hex[0] ? hex : "-", size, ok ? "ok" : err);
	buf_clear(&url);
	return ok;
}

int cli_cmd_image_verify(struct cli *c, const struct cli_cmd *cmd, const struct cli_args *a)
{
	static const char *const files[] = {"vmlinuz", "initrd", "rootfs.squashfs"};
	static const char *const fields[] = {"kernel", "initrd", "rootfs"};
	struct cli_reply r;
	struct buf path, where;
	json_t *m = NULL;
	int good = 0;
	cli_reply_init(&r);
	buf_init(&path, CLI_PATH_MAX);
	buf_init(&where, 8192);
	int rc = cli_path(&path, "/api/v1/images", a->pos[0], NULL) < 0 ?
			 cli_fail(CLI_EXIT_USAGE, "image name too long") :
			 cli_call(c, cmd, "GET", buf_str(&path), NULL, &r);
	if (rc != CLI_EXIT_OK || (rc = load_manifest(c, a, r.json, &m, &where)) != CLI_EXIT_OK)
		goto out;
	json_t *arts = json_object_get(m, "artifacts");
	printf("image %s, manifest %s (layer %.12s)\n", a->pos[0], buf_str(&where),
	       json_string_value(json_object_get(m, "layer")) ?: "?");
	printf("%-16s %-12s %12s  %s\n", "FILE", "SHA256", "BYTES", "RESULT");
	for (int i = 0; i < 3; i++) {
		const char *reg =
			i == 2 ? json_string_value(json_object_get(r.json, "rootfs_sha256")) : NULL;
		good += verify_one(c, files[i],
				   json_string_value(json_object_get(r.json, fields[i])),
				   json_object_get(arts, files[i]), reg);
	}
	if (good != 3)
		rc = cli_fail(CLI_EXIT_FAIL, "image %s: %d of 3 files do not match the manifest",
			      a->pos[0], 3 - good);
	else if (json_string_value(json_object_get(r.json, "rootfs_sha256")) == NULL)
		printf("note: the image has no rootfs_sha256, so nodes do not check its root "
		       "image (push it again with corral-image)\n");
out:
	json_decref(m);
	cli_reply_clear(&r);
	buf_clear(&path);
	buf_clear(&where);
	return rc;
}
