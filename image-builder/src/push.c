/*
 * push: artifacts into corrald's file root, registration over its API.
 * See push.h.
 */
#include "push.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"

#define REPLY_MAX 65536

/* What push needs of corrald: where its file root is and the base URL its
 * nodes use.  From the flags, else from corrald's own GET /api/v1/status. */
struct server_vals {
	char files_root[4096];
	char advertise[1024];
};

int push_params(const char *advertise, const char *dir, const char *recipe_params, struct buf *out)
{
	size_t n = strlen(advertise);
	while (n > 0 && advertise[n - 1] == '/')
		n--;
	return buf_printf(out,
			  "root=live:%.*s/files/%s/rootfs.squashfs ip=dhcp "
			  "rd.live.overlay.overlayfs=1 net.ifnames=0%s%s",
			  (int)n, advertise, dir, recipe_params && *recipe_params ? " " : "",
			  recipe_params ? recipe_params : "");
}

static size_t on_reply(char *data, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;
	if (buf_add(b, data, size * n) < 0)
		return 0;
	return size * n;
}

/* One API call; *status gets the HTTP status. */
static int api_call(const struct push_opts *o, const char *method, const char *path,
		    const char *body, long *status, struct buf *reply)
{
	struct buf url, auth;
	struct curl_slist *h = NULL;
	int rc = 0;
	CURL *c = curl_easy_init();
	if (c == NULL)
		return -ENOMEM;
	buf_init(&url, 4096);
	buf_init(&auth, 4096);
	size_t ul = strlen(o->url);
	while (ul > 0 && o->url[ul - 1] == '/')
		ul--;
	if (buf_printf(&url, "%.*s%s", (int)ul, o->url, path) < 0 ||
	    buf_printf(&auth, "Authorization: Bearer %s", o->token) < 0) {
		rc = -E2BIG;
		goto out;
	}
	h = curl_slist_append(h, buf_str(&auth));
	h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, buf_str(&url));
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_reply);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, reply);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	if (body != NULL)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	CURLcode cr = curl_easy_perform(c);
	if (cr != CURLE_OK) {
		fprintf(stderr, "corral-image: %s %s: %s\n", method, buf_str(&url),
			curl_easy_strerror(cr));
		rc = -EHOSTUNREACH;
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
out:
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	buf_clear(&url);
	buf_clear(&auth);
	return rc;
}

static int copy_val(char *dst, size_t len, const char *src, const char *what)
{
	if (buf_fmt(dst, len, "%s", src) < 0) {
		fprintf(stderr, "corral-image: %s is too long\n", what);
		return -ENAMETOOLONG;
	}
	return 0;
}

static int fill_from_server(const struct push_opts *o, struct server_vals *v)
{
	int rc = 0;
	memset(v, 0, sizeof(*v));
	if (o->files_root && (rc = copy_val(v->files_root, sizeof(v->files_root), o->files_root,
					    "--files-root")) < 0)
		return rc;
	if (o->advertise &&
	    (rc = copy_val(v->advertise, sizeof(v->advertise), o->advertise, "--advertise")) < 0)
		return rc;
	if (v->files_root[0] != '\0' && v->advertise[0] != '\0')
		return 0;
	struct buf reply;
	long status = 0;
	json_t *st = NULL;
	buf_init(&reply, REPLY_MAX);
	if ((rc = api_call(o, "GET", "/api/v1/status", NULL, &status, &reply)) < 0)
		goto out;
	st = status == 200 ? json_loadb(reply.data, reply.len, 0, NULL) : NULL;
	const char *root = json_string_value(json_object_get(st, "files_root"));
	const char *adv = json_string_value(json_object_get(st, "advertise_url"));
	if (root == NULL || adv == NULL) {
		fprintf(stderr,
			"corral-image: GET /api/v1/status answered %ld without "
			"files_root and advertise_url\n",
			status);
		rc = -EPROTO;
		goto out;
	}
	if (v->files_root[0] == '\0')
		rc = copy_val(v->files_root, sizeof(v->files_root), root, "files_root");
	if (rc == 0 && v->advertise[0] == '\0')
		rc = copy_val(v->advertise, sizeof(v->advertise), adv, "advertise_url");
out:
	json_decref(st);
	buf_clear(&reply);
	return rc;
}

int push_image(struct imgstore *s, const char *name, const struct push_opts *o)
{
	static const char *const files[] = {"vmlinuz", "initrd", "rootfs.squashfs",
					    "manifest.json"};
	const char *as = o->as ? o->as : name;
	struct server_vals v;
	struct buf dir, src, dst, params, reply;
	char key[65], rel[512];
	json_t *m = NULL, *body = NULL;
	json_error_t jerr;
	char *text = NULL;
	long status = 0;
	int rc;

	if (o->url == NULL || o->token == NULL) {
		fprintf(stderr, "corral-image: push needs CORRAL_URL and CORRAL_TOKEN (or --url, "
				"--token)\n");
		return -EINVAL;
	}
	if ((rc = imgstore_resolve(s, name, key)) < 0) {
		fprintf(stderr, "corral-image: no image %s in the store %s\n", name,
			imgstore_dir(s));
		return rc;
	}
	if ((rc = fill_from_server(o, &v)) < 0)
		return rc;
	buf_init(&dir, 4096);
	buf_init(&src, 4096);
	buf_init(&dst, 4096);
	buf_init(&params, 8192);
	buf_init(&reply, REPLY_MAX);
	if (buf_fmt(rel, sizeof(rel), "images/%s", as) < 0) {
		fprintf(stderr, "corral-image: image name too long: %s\n", as);
		rc = -ENAMETOOLONG;
		goto out;
	}
	if ((rc = buf_printf(&dir, "%s/%s", v.files_root, rel)) < 0 ||
	    (rc = fs_mkdir_p(buf_str(&dir), 0755)) < 0) {
		fprintf(stderr, "corral-image: %s: %s\n", buf_str(&dir), strerror(-rc));
		goto out;
	}
	for (int i = 0; i < 4; i++) {
		imgstore_layer_path(s, key, files[i], &src);
		buf_reset(&dst);
		buf_printf(&dst, "%s/%s", buf_str(&dir), files[i]);
		if ((rc = fs_link_or_copy(buf_str(&src), buf_str(&dst))) < 0) {
			fprintf(stderr, "corral-image: %s → %s: %s\n", buf_str(&src), buf_str(&dst),
				strerror(-rc));
			goto out;
		}
	}
	fs_sync_dir(buf_str(&dir));
	imgstore_layer_path(s, key, "manifest.json", &src);
	if ((m = json_load_file(buf_str(&src), 0, &jerr)) == NULL) {
		fprintf(stderr, "corral-image: %s: %s\n", buf_str(&src), jerr.text);
		rc = -EINVAL;
		goto out;
	}
	if ((rc = push_params(v.advertise, rel,
			      json_string_value(json_object_get(m, "kernel_params")), &params)) < 0)
		goto out;
	char kpath[600], ipath[600], rpath[600], path[600];
	/* rel fits in 512: all of these fit. */
	if (buf_fmt(kpath, sizeof(kpath), "%s/vmlinuz", rel) < 0 ||
	    buf_fmt(ipath, sizeof(ipath), "%s/initrd", rel) < 0 ||
	    buf_fmt(rpath, sizeof(rpath), "%s/rootfs.squashfs", rel) < 0 ||
	    buf_fmt(path, sizeof(path), "/api/v1/images/%s", as) < 0) {
		rc = -ENAMETOOLONG;
		goto out;
	}
	/* corrald names architectures as the kernel does; the manifest as Debian. */
	const char *arch = json_string_value(json_object_get(m, "arch"));
	arch = arch && strcmp(arch, "arm64") == 0 ? "aarch64" : "x86_64";
	const char *sum = json_string_value(json_object_get(
		json_object_get(json_object_get(m, "artifacts"), "rootfs.squashfs"), "sha256"));
	body = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s?}", "arch", arch, "kernel", kpath, "initrd",
			 ipath, "rootfs", rpath, "params", buf_str(&params), "rootfs_sha256", sum);
	text = json_dumps(body, JSON_COMPACT);
	if (text == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	if ((rc = api_call(o, "PUT", path, text, &status, &reply)) < 0)
		goto out;
	if (status < 200 || status > 299) {
		fprintf(stderr, "corral-image: PUT %s → %ld %s\n", path, status, buf_str(&reply));
		rc = -EPROTO;
		goto out;
	}
	printf("pushed %s (layer %.12s) as image %s: files under %s, params: %s\n", name, key, as,
	       buf_str(&dir), buf_str(&params));
out:
	free(text);
	json_decref(body);
	json_decref(m);
	buf_clear(&dir);
	buf_clear(&src);
	buf_clear(&dst);
	buf_clear(&params);
	buf_clear(&reply);
	return rc;
}

int push_unregister(const struct push_opts *o, const char *name, struct buf *why)
{
	struct buf reply;
	char path[600];
	long status = 0;
	int rc;
	buf_init(&reply, REPLY_MAX);
	if (buf_fmt(path, sizeof(path), "/api/v1/images/%s", name) < 0) {
		rc = -ENAMETOOLONG;
		goto out;
	}
	if ((rc = api_call(o, "DELETE", path, NULL, &status, &reply)) < 0)
		goto out;
	if (status == 404)
		rc = -ENOENT;
	else if (status == 409) {
		rc = -EBUSY;
		buf_printf(why, "corrald: %s", buf_str(&reply));
	} else if (status < 200 || status > 299) {
		rc = -EPROTO;
		buf_printf(why, "corrald: DELETE %s → %ld %s", path, status, buf_str(&reply));
	}
out:
	buf_clear(&reply);
	return rc;
}
