/*
 * storm_prep: the preparing half of the boot-storm simulator (see storm.h):
 * the nodes' import JSON, and corrald's answers mirrored as static files
 * for the reference server.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "buf.h"
#include "fsutil.h"
#include "storm.h"
#include "valid.h"

/* ---- storm nodes ------------------------------------------------------------ */

int cmd_nodes(uint32_t first, uint32_t n, uint32_t base)
{
	char name[16], mac[18], ip[INET_ADDRSTRLEN];
	fputs("{\"nodes\":[", stdout);
	for (uint32_t i = first; i < first + n; i++) {
		node_name(i, name, sizeof(name));
		node_mac(i, mac);
		node_ip(base, i, ip);
		printf("%s{\"name\":\"%s\",\"interfaces\":[{\"mac\":\"%s\",\"ip\":\"%s\"}]}",
		       i > first ? "," : "", name, mac, ip);
	}
	fputs("]}\n", stdout);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* ---- storm mirror ---------------------------------------------------------- */

/* Every "from" in s replaced by "to", into out. */
static int replace_all(const char *s, const char *from, const char *to, struct buf *out)
{
	size_t flen = strlen(from);
	int rc = 0;
	const char *p;
	while ((p = strstr(s, from)) != NULL) {
		rc |= buf_add(out, s, (size_t)(p - s));
		rc |= buf_adds(out, to);
		s = p + flen;
	}
	rc |= buf_adds(out, s);
	return rc;
}

/*
 * The boot script as a static server would hand it out: corrald's URL
 * replaced by the static server's, the seed token by the node's name (the
 * static server has one directory per node), name= by mac= in the retry
 * line (the script was asked for by name through the API).
 */
static int mirror_script(const char *script, const char *from, const char *to, const char *name,
			 const char *mac, struct buf *out)
{
	struct buf a, b;
	char k1[64], k2[64];
	buf_init(&a, STORM_SCRIPT_MAX);
	buf_init(&b, STORM_SCRIPT_MAX);
	int rc = replace_all(script, from, to, &a);
	const char *s = buf_str(&a), *p = strstr(s, "/cloud-init/");
	if (rc == 0 && p != NULL) {
		p += strlen("/cloud-init/");
		const char *end = strchr(p, '/');
		if (end == NULL)
			end = p + strlen(p);
		rc |= buf_add(&b, s, (size_t)(p - s));
		rc |= buf_adds(&b, name);
		rc |= buf_adds(&b, end);
	} else {
		rc |= buf_adds(&b, s);
	}
	snprintf(k1, sizeof(k1), "bootscript?name=%s", name);
	snprintf(k2, sizeof(k2), "bootscript?mac=%s", mac);
	rc |= replace_all(buf_str(&b), k1, k2, out);
	buf_clear(&a);
	buf_clear(&b);
	return rc;
}

static int write_file(const char *path, const char *data, size_t len)
{
	if (fs_mkdir_parent(path, 0755) < 0)
		return -errno;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	int rc = fs_write_all(fd, data, len);
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

struct mjob {
	uint32_t idx;
	int kind; /* 0 boot script, 1..3 cloud-init file */
	struct buf body;
};

static size_t mirror_write(char *p, size_t size, size_t n, void *arg)
{
	struct mjob *j = arg;
	return buf_add(&j->body, p, size * n) == 0 ? size * n : 0;
}

static const char *const ci_files[] = {"meta-data", "user-data", "vendor-data"};

static void mirror_start(CURLM *m, CURL *e, struct mjob *j, const char *url, struct curl_slist *hdr,
			 uint32_t idx, int kind)
{
	char u[STORM_URL_MAX + 128], name[16];
	node_name(idx, name, sizeof(name));
	if (kind == 0)
		snprintf(u, sizeof(u), "%s/api/v1/nodes/%s/bootscript", url, name);
	else
		snprintf(u, sizeof(u), "%s/api/v1/nodes/%s/cloud-init/%s", url, name,
			 ci_files[kind - 1]);
	j->idx = idx;
	j->kind = kind;
	buf_reset(&j->body);
	curl_easy_reset(e);
	curl_easy_setopt(e, CURLOPT_URL, u);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, mirror_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, j);
	curl_easy_setopt(e, CURLOPT_PRIVATE, j);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, 60L);
	curl_multi_add_handle(m, e);
}

int cmd_mirror(const char *url, const char *auth_file, const char *to, const char *dir,
	       uint32_t first, uint32_t n)
{
	enum { PAR = 16 };
	char header[512];
	FILE *f = fopen(auth_file, "r");
	if (f == NULL || fgets(header, sizeof(header), f) == NULL)
		die("cannot read %s", auth_file);
	fclose(f);
	header[strcspn(header, "\r\n")] = '\0';
	struct curl_slist *hdr = curl_slist_append(NULL, header);
	CURLM *m = curl_multi_init();
	CURL *easy[PAR];
	struct mjob jobs[PAR];
	uint64_t next = 0, total = (uint64_t)n * 4, done = 0;
	int running = 0;
	for (int i = 0; i < PAR; i++) {
		easy[i] = curl_easy_init();
		buf_init(&jobs[i].body, STORM_SCRIPT_MAX);
		if (next < total) {
			mirror_start(m, easy[i], &jobs[i], url, hdr, first + (uint32_t)(next / 4),
				     (int)(next % 4));
			next++;
		}
	}
	while (done < total) {
		curl_multi_perform(m, &running);
		CURLMsg *msg;
		int left;
		while ((msg = curl_multi_info_read(m, &left)) != NULL) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			CURL *e = msg->easy_handle;
			struct mjob *j;
			long code = 0;
			curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&j);
			curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
			curl_multi_remove_handle(m, e);
			char name[16], mac[18], path[PATH_MAX];
			node_name(j->idx, name, sizeof(name));
			node_mac(j->idx, mac);
			if (msg->data.result != CURLE_OK || code != 200)
				die("mirror: %s of %s: %s, HTTP %ld",
				    j->kind ? ci_files[j->kind - 1] : "boot script", name,
				    curl_easy_strerror(msg->data.result), code);
			int rc;
			if (j->kind == 0) {
				struct buf out;
				buf_init(&out, STORM_SCRIPT_MAX);
				rc = mirror_script(buf_str(&j->body), url, to, name, mac, &out);
				snprintf(path, sizeof(path), "%s/bootscript/%s", dir, mac);
				if (rc == 0)
					rc = write_file(path, buf_str(&out), out.len);
				buf_clear(&out);
			} else {
				snprintf(path, sizeof(path), "%s/cloud-init/%s/%s", dir, name,
					 ci_files[j->kind - 1]);
				rc = write_file(path, buf_str(&j->body), j->body.len);
			}
			if (rc < 0)
				die("mirror: cannot write %s: %s", path, strerror(-rc));
			done++;
			if (next < total) {
				mirror_start(m, e, j, url, hdr, first + (uint32_t)(next / 4),
					     (int)(next % 4));
				next++;
			}
		}
		if (done < total)
			curl_multi_poll(m, NULL, 0, 1000, NULL);
	}
	for (int i = 0; i < PAR; i++) {
		curl_easy_cleanup(easy[i]);
		buf_clear(&jobs[i].body);
	}
	curl_multi_cleanup(m);
	curl_slist_free_all(hdr);
	return 0;
}
