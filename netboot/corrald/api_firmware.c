/*
 * api_firmware: the BMC firmware store and firmware update jobs
 * (docs/api.md, "BMC firmware"), and the node listener's route BMCs fetch
 * an image from.
 *
 *   POST   /api/v1/firmware               {"name","model","version","content"}
 *   GET    /api/v1/firmware[/NAME]
 *   DELETE /api/v1/firmware/NAME
 *   POST   /api/v1/firmware/NAME/update   {"targets":[...], "dry_run"}
 *   GET    /bmc-firmware/TOKEN/NAME       (no Corral token: the BMC fetches it)
 *
 * The image arrives base64 in JSON (the API takes JSON bodies only) and
 * is kept in the directory bmc-firmware/ beside store.path, named by its
 * token: 32 random bytes, hex, the one unguessable part of the URL a BMC
 * is given (docs/security.md says who can fetch what).  The file is
 * written (temporary name, fsync, rename) before its row, and removed
 * after it.  The update handler resolves targets (nodes, groups, BMC
 * addresses) into BMCs, skips those whose model is not the image's, and
 * hands the rest to redfish.c's worker; it never waits for a BMC.
 */
#include "api.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api_internal.h"
#include "app.h"
#include "digest.h"
#include "files.h"
#include "fsutil.h"
#include "log.h"
#include "valid.h"

#define FW_TOKEN_BYTES 32
#define FW_TEXT_MAX 63

/* dir: "bmc-firmware" beside the store's file.  0 or -ENAMETOOLONG. */
static int fw_dir(struct app *a, char *dir, size_t len)
{
	const char *sp = app_config(a)->store_path;
	const char *slash = strrchr(sp, '/');
	if (slash == NULL)
		return buf_fmt(dir, len, "bmc-firmware");
	return buf_fmt(dir, len, "%.*s/bmc-firmware", (int)(slash - sp), sp);
}

/* A model or version: 1 to 63 printable ASCII characters (version: no spaces). */
static int fw_text_ok(const char *s, bool spaces)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > FW_TEXT_MAX)
		return -EINVAL;
	for (; *s; s++)
		if (*s < (spaces ? ' ' : '!') || *s > '~')
			return -EINVAL;
	return 0;
}

/* Writes the image as dir/token (temporary name, fsync, rename). */
static int fw_write(const char *dir, const char *token, const unsigned char *data, size_t len)
{
	char tmp[PATH_MAX], dst[PATH_MAX];
	if (buf_fmt(tmp, sizeof(tmp), "%s/.%s.tmp", dir, token) < 0 ||
	    buf_fmt(dst, sizeof(dst), "%s/%s", dir, token) < 0)
		return -ENAMETOOLONG;
	int rc = fs_mkdir_p(dir, 0700);
	if (rc < 0)
		return rc;
	return fs_write_via(tmp, dst, data, len, 0600, true);
}

/* Checks an add's body; 0, or -EINVAL with e filled. */
static int fw_add_check(json_t *body, struct api_err *e)
{
	static const char *const known[] = {"name", "model", "version", "content", NULL};
	const char *key;
	json_t *v;
	json_object_foreach(body, key, v) {
		const char *const *k = known;
		while (*k && strcmp(*k, key) != 0)
			k++;
		if (*k == NULL)
			return api_fail(e, key, "unknown field");
	}
	const char *name = json_string_value(json_object_get(body, "name"));
	const char *content = json_string_value(json_object_get(body, "content"));
	if (name == NULL || valid_name(name) < 0)
		return api_fail(e, "name", "required: letters, digits, '.', '_' or '-'");
	if (fw_text_ok(json_string_value(json_object_get(body, "model")), true) < 0)
		return api_fail(e, "model",
				"required: the BMC model (as discovery records it), "
				"1 to 63 printable characters");
	if (fw_text_ok(json_string_value(json_object_get(body, "version")), false) < 0)
		return api_fail(e, "version", "required: 1 to 63 printable characters, no spaces");
	if (content == NULL || content[0] == '\0')
		return api_fail(e, "content", "required: the image, base64");
	return 0;
}

/*
 * The image from base64 into *data (malloc'd, *len bytes), at most max
 * bytes.  0; or an answer went out (413, 422) and -EINVAL.
 */
static int fw_decode(struct http_req *r, const char *content, size_t max, unsigned char **data,
		     size_t *len)
{
	size_t b64 = strlen(content), cap = b64 / 4 * 3 + 4;
	if (b64 / 4 * 3 > max + 3) {
		http_reply_error(r, 413, "too_large", "content",
				 "content: the image is larger than %zu bytes "
				 "(redfish.firmware_max_size)",
				 max);
		return -EINVAL;
	}
	*data = malloc(cap);
	if (*data == NULL) {
		http_reply_error(r, 500, "internal", NULL, "out of memory");
		return -EINVAL;
	}
	if (sodium_base642bin(*data, cap, content, b64, " \r\n\t", len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    *len == 0) {
		http_reply_error(r, 422, "invalid_field", "content",
				 "content: not base64 (the image, standard alphabet)");
		goto err_free;
	}
	if (*len > max) {
		http_reply_error(r, 413, "too_large", "content",
				 "content: the image is %zu bytes, larger than %zu "
				 "(redfish.firmware_max_size)",
				 *len, max);
		goto err_free;
	}
	return 0;
err_free:
	free(*data);
	*data = NULL;
	return -EINVAL;
}

static int fw_add(struct http_req *r)
{
	struct app *a = r->ctx;
	struct api_err e;
	json_t *body = api_body(r), *out = NULL;
	if (body == NULL)
		return 0;
	unsigned char *data = NULL;
	size_t len = 0;
	int rc;
	if (fw_add_check(body, &e) < 0) {
		rc = api_invalid(r, &e);
		goto out;
	}
	/* Borrowed from body, which lives until the end. */
	const char *name = json_string_value(json_object_get(body, "name"));
	const char *model = json_string_value(json_object_get(body, "model"));
	const char *version = json_string_value(json_object_get(body, "version"));
	if (fw_decode(r, json_string_value(json_object_get(body, "content")),
		      app_config(a)->rf_firmware_max, &data, &len) < 0) {
		rc = 0; /* answered */
		goto out;
	}
	if (store_fw_get(a->store, name, &out) == 0) {
		rc = http_reply_error(r, 409, "conflict", "name",
				      "name: firmware image %s exists (remove it first)", name);
		goto out;
	}
	char dir[PATH_MAX], path[PATH_MAX], token[FW_TOKEN_BYTES * 2 + 1];
	char sha[DIGEST_HEX_LEN + 1];
	unsigned char raw[FW_TOKEN_BYTES];
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(token, sizeof(token), raw, sizeof(raw));
	digest_sha256_hex(data, len, sha);
	rc = fw_dir(a, dir, sizeof(dir));
	if (rc == 0)
		rc = fw_write(dir, token, data, len);
	if (rc < 0) {
		log_warnx("api: firmware %s: cannot write the image in %s: %s", name, dir,
			  strerror(-rc));
		rc = http_reply_error(r, 500, "internal", NULL, "cannot write the image");
		goto out;
	}
	rc = store_fw_put(a->store, name, model, version, sha, (int64_t)len, token);
	if (rc < 0) {
		if (buf_fmt(path, sizeof(path), "%s/%s", dir, token) == 0)
			unlink(path);
		rc = rc == -EEXIST ? /* added by another request meanwhile */
			     http_reply_error(r, 409, "conflict", "name",
					      "name: firmware image %s exists", name) :
			     api_store_error(r, rc, NULL, "firmware image", name);
		goto out;
	}
	rc = store_fw_get(a->store, name, &out);
	if (rc < 0) {
		rc = api_store_error(r, rc, NULL, "firmware image", name);
		goto out;
	}
	json_object_del(out, "token");
	log_info("firmware image %s added: model %s, version %s, %zu bytes, sha256 %s", name, model,
		 version, len, sha);
	rc = http_reply_json(r, 201, out);
	out = NULL; /* the reply's */
out:
	json_decref(out);
	free(data);
	json_decref(body);
	return rc;
}

int api_firmware_list(struct http_req *r)
{
	struct app *a = r->ctx;
	if (r->method_id == HTTP_POST)
		return fw_add(r);
	json_t *list;
	int rc = store_fw_list(a->store, &list);
	return rc < 0 ? api_store_error(r, rc, NULL, "firmware image", "") :
			http_reply_json(r, 200, list);
}

int api_firmware_one(struct http_req *r)
{
	struct app *a = r->ctx;
	const char *name = r->args[0];
	json_t *fw;
	int rc = store_fw_get(a->store, name, &fw);
	if (rc < 0)
		return api_store_error(r, rc, NULL, "firmware image", name);
	if (r->method_id != HTTP_DELETE) {
		json_object_del(fw, "token");
		return http_reply_json(r, 200, fw);
	}
	char dir[PATH_MAX], path[PATH_MAX];
	rc = store_fw_delete(a->store, name);
	if (rc == 0 && fw_dir(a, dir, sizeof(dir)) == 0 &&
	    buf_fmt(path, sizeof(path), "%s/%s", dir,
		    json_string_value(json_object_get(fw, "token"))) == 0 &&
	    unlink(path) < 0 && errno != ENOENT)
		log_warnx("firmware image %s: cannot remove %s: %s", name, path, strerror(errno));
	json_decref(fw);
	if (rc < 0)
		return api_store_error(r, rc, NULL, "firmware image", name);
	log_info("firmware image %s removed", name);
	return http_reply_empty(r, 204);
}

/* ---- update jobs ------------------------------------------------------------ */

/* The BMC (of list) with address; NULL if none. */
static json_t *fw_bmc_by_address(json_t *list, const char *address)
{
	size_t i;
	json_t *b;
	json_array_foreach(list, i, b)
		if (strcmp(json_string_value(json_object_get(b, "address")), address) == 0)
			return b;
	return NULL;
}

/* The BMC (of list) one of whose systems is node; NULL if none. */
static json_t *fw_bmc_of_node(json_t *list, const char *node)
{
	size_t i, k;
	json_t *b, *sys;
	json_array_foreach(list, i, b)
		json_array_foreach(json_object_get(b, "systems"), k, sys) {
			const char *n = json_string_value(json_object_get(sys, "node"));
			if (n != NULL && strcmp(n, node) == 0)
				return b;
		}
	return NULL;
}

/* Adds BMC b (for node, may be NULL) to picked, once per BMC. */
static void fw_pick(json_t *picked, json_t *b, const char *node)
{
	const char *addr = json_string_value(json_object_get(b, "address"));
	json_t *have = json_object_get(picked, addr);
	if (have == NULL) {
		have = json_pack("{s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:[]}", "address",
				 json_object_get(b, "address"), "port", json_object_get(b, "port"),
				 "scheme", json_object_get(b, "scheme"), "insecure",
				 json_object_get(b, "insecure"), "credential",
				 json_object_get(b, "credential"), "auth",
				 json_object_get(b, "auth"), "model", json_object_get(b, "model"),
				 "firmware", json_object_get(b, "firmware"), "nodes");
		json_object_set_new(picked, addr, have);
	}
	if (node == NULL)
		return;
	json_t *nodes = json_object_get(have, "nodes");
	size_t i;
	json_t *n;
	json_array_foreach(nodes, i, n)
		if (strcmp(json_string_value(n), node) == 0)
			return;
	json_array_append_new(nodes, json_string(node));
}

/*
 * Targets into BMCs: picked (address → BMC) and skipped (nodes with no
 * BMC).  422 naming the first target that is no node, group or BMC.
 */
static int fw_resolve(struct http_req *r, json_t *targets, json_t *picked, json_t *skipped)
{
	struct app *a = r->ctx;
	json_t *bmcs;
	if (!json_is_array(targets) || json_array_size(targets) == 0)
		return http_reply_error(r, 422, "invalid_field", "targets",
					"targets: a non-empty array of node, group or BMC "
					"names"),
		       -EINVAL;
	int rc = store_bmc_list(a->store, &bmcs);
	if (rc < 0)
		return api_store_error(r, rc, NULL, "BMC", ""), rc;
	size_t i, k;
	json_t *t, *m;
	json_array_foreach(targets, i, t) {
		const char *name = json_string_value(t);
		json_t *g = NULL, *b;
		int64_t id;
		json_t *nodes = json_array();
		if (name != NULL && (b = fw_bmc_by_address(bmcs, name)) != NULL)
			fw_pick(picked, b, NULL);
		else if (name != NULL && valid_name(name) == 0 &&
			 store_node_id(a->store, name, &id) == 0)
			json_array_append(nodes, t);
		else if (name != NULL && valid_name(name) == 0 &&
			 store_obj_get(a->store, STORE_GROUP, name, &g) == 0)
			json_array_extend(nodes, json_object_get(g, "members"));
		else {
			json_decref(nodes);
			json_decref(bmcs);
			http_reply_error(r, 422, "invalid_field", "targets",
					 "targets[%zu]: no node, group or BMC named %s", i,
					 name ? name : "(not a string)");
			return -EINVAL;
		}
		json_decref(g);
		json_array_foreach(nodes, k, m) {
			const char *node = json_string_value(m);
			b = fw_bmc_of_node(bmcs, node);
			if (b != NULL)
				fw_pick(picked, b, node);
			else
				json_array_append_new(
					skipped,
					json_pack(
						"{s:n, s:[s], s:s, s:s}", "address", "nodes", node,
						"status", "skipped", "message",
						"no BMC known for this node (run discovery first)"));
		}
		json_decref(nodes);
	}
	json_decref(bmcs);
	return 0;
}

int api_firmware_update(struct http_req *r)
{
	struct app *a = r->ctx;
	json_t *body = api_body(r);
	if (body == NULL)
		return 0;
	json_t *dry = json_object_get(body, "dry_run");
	const char *key;
	json_t *v;
	json_object_foreach(body, key, v)
		if (strcmp(key, "targets") != 0 && strcmp(key, "dry_run") != 0) {
			json_decref(body);
			return http_reply_error(r, 422, "invalid_field", key, "%s: unknown field",
						key);
		}
	if (dry != NULL && !json_is_boolean(dry)) {
		json_decref(body);
		return http_reply_error(r, 422, "invalid_field", "dry_run",
					"dry_run: true or false");
	}
	json_t *fw;
	int rc = store_fw_get(a->store, r->args[0], &fw);
	if (rc < 0) {
		json_decref(body);
		return api_store_error(r, rc, NULL, "firmware image", r->args[0]);
	}
	json_t *picked = json_object(), *skipped = json_array(), *go = json_array();
	if (fw_resolve(r, json_object_get(body, "targets"), picked, skipped) < 0) {
		rc = 0; /* answered */
		goto out;
	}
	const char *want = json_string_value(json_object_get(fw, "model"));
	json_t *b;
	json_object_foreach(picked, key, b) {
		const char *model = json_string_value(json_object_get(b, "model"));
		if (model != NULL && strcmp(model, want) == 0) {
			json_array_append(go, b);
			continue;
		}
		json_t *s = json_pack(
			"{s:O, s:O, s:O, s:O, s:s}", "address", json_object_get(b, "address"),
			"port", json_object_get(b, "port"), "model", json_object_get(b, "model"),
			"nodes", json_object_get(b, "nodes"), "status", "skipped");
		char msg[200];
		buf_fmt_msg(msg, sizeof(msg), "model mismatch: the BMC is %s, the image is for %s",
			    model ? model : "(unknown)", want);
		json_object_set_new(s, "message", json_string(msg));
		json_array_append_new(skipped, s);
	}
	char url[512];
	if (buf_fmt(url, sizeof(url), "%s/bmc-firmware/%s/%s", app_config(a)->base_url,
		    json_string_value(json_object_get(fw, "token")), r->args[0]) < 0) {
		rc = http_reply_error(r, 500, "internal", NULL, "the image's URL is too long");
		goto out;
	}
	int id;
	rc = redfish_firmware(a->redfish, go, skipped, fw, url, json_is_true(dry), &id);
	if (rc < 0) {
		rc = http_reply_error(r, 500, "internal", NULL, "cannot start the job");
		goto out;
	}
	json_t *j = redfish_job(a->redfish, id);
	rc = j ? http_reply_json(r, 202, j) :
		 http_reply_error(r, 500, "internal", NULL, "job lost");
out:
	json_decref(go);
	json_decref(skipped);
	json_decref(picked);
	json_decref(fw);
	json_decref(body);
	return rc;
}

/* ---- the BMCs' download ------------------------------------------------------ */

int api_firmware_serve(struct http_req *r)
{
	struct app *a = r->ctx;
	const char *token = r->args[0], *name = r->args[1];
	json_t *fw = NULL;
	/* One answer for every miss: a wrong token must not tell a name exists. */
	if (valid_name(name) < 0 || store_fw_get(a->store, name, &fw) < 0) {
		json_decref(fw);
		return http_reply_error(r, 404, "not_found", NULL, "no such image");
	}
	const char *want = json_string_value(json_object_get(fw, "token"));
	if (strlen(token) != strlen(want) || sodium_memcmp(token, want, strlen(want)) != 0) {
		json_decref(fw);
		return http_reply_error(r, 404, "not_found", NULL, "no such image");
	}
	char dir[PATH_MAX];
	struct files *f;
	int rc = fw_dir(a, dir, sizeof(dir));
	if (rc == 0)
		rc = files_open(dir, &f);
	if (rc < 0) {
		json_decref(fw);
		return http_reply_error(r, 404, "not_found", NULL, "no such image");
	}
	rc = files_serve(f, r, want);
	files_free(f);
	if (r->status == 200 && r->method_id == HTTP_GET)
		log_info("firmware image %s fetched by %s", name, r->client_ip);
	json_decref(fw);
	return rc;
}
