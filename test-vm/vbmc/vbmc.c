/*
 * corral-vbmc: a Redfish BMC in front of one QEMU virtual machine.
 *
 *   corral-vbmc --listen ADDR:PORT --qmp SOCKET --mac VM_MAC --bmc-mac BMC_MAC
 *               --name NAME [--user U --password P] [--uuid UUID] [--serial S]
 *               [--boot-mode Legacy|UEFI] [--qmp-timeout MS] [--log-level L]
 *
 * For test clusters (test-vm/cluster.py): plain HTTP, one account, state in
 * memory.  This file is the HTTP front on libmicrohttpd: argument parsing,
 * per-request state (allocated on the first callback, body capped, freed in
 * the completion callback) and turning a struct svc_reply into a response.
 * The Redfish service itself is service.c.  The main thread only waits for
 * SIGINT/SIGTERM (blocked everywhere, taken with sigwait) and then stops.
 *
 * Security: meant for a test namespace or loopback.  The password is taken
 * from the command line (visible in ps) because the test cluster is the
 * only user; it is never logged.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <jansson.h>
#include <microhttpd.h>

#include "buf.h"
#include "log.h"
#include "rfjson.h"
#include "service.h"

#define VBMC_MAX_BODY (64 * 1024)
#define VBMC_MAX_CONNECTIONS 64
#define VBMC_CONN_TIMEOUT 30 /* seconds an idle connection is kept */
#define VBMC_REALM "corral-vbmc"

/* Per-request state: created on the first callback, freed on completion. */
struct vbmc_req {
	struct buf body; /* capped at VBMC_MAX_BODY */
	int too_large;   /* the body went past the cap; answered 413 */
};

struct vbmc_opts {
	const char *listen;
	const char *qmp;
	char mac[18];     /* normalised to lower case */
	char bmc_mac[18]; /* normalised to lower case */
	const char *name;
	const char *user;
	const char *password;
	const char *uuid;
	const char *serial;
	const char *boot_mode;
	long qmp_timeout_ms;
	enum log_level level;
};

static void vbmc_usage(FILE *f)
{
	fprintf(f, "usage: corral-vbmc --listen ADDR:PORT --qmp SOCKET --mac VM_MAC --bmc-mac "
		   "BMC_MAC --name NAME\n"
		   "                   [--user U] [--password P] [--uuid UUID] [--serial S]\n"
		   "                   [--boot-mode Legacy|UEFI] [--qmp-timeout MS] "
		   "[--log-level error|warn|info|debug]\n");
}

/* Copies an aa:bb:cc:dd:ee:ff MAC (either case) into out[18], lower-cased;
 * 0, or -EINVAL for anything else. */
static int vbmc_mac_parse(const char *in, char *out)
{
	if (strlen(in) != 17)
		return -EINVAL;
	for (int i = 0; i < 17; i++) {
		char ch = in[i];
		if (i % 3 == 2) {
			if (ch != ':')
				return -EINVAL;
		} else if (ch >= 'A' && ch <= 'F') {
			ch = (char)(ch - 'A' + 'a');
		} else if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))) {
			return -EINVAL;
		}
		out[i] = ch;
	}
	out[17] = '\0';
	return 0;
}

/* A name that is safe as a URL segment: [A-Za-z0-9._-]{1,63}. */
static int vbmc_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 63)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-'))
			return -EINVAL;
	}
	return 0;
}

/* 8-4-4-4-12 hex digits. */
static int vbmc_uuid_ok(const char *s)
{
	if (strlen(s) != 36)
		return -EINVAL;
	for (int i = 0; i < 36; i++) {
		int dash = i == 8 || i == 13 || i == 18 || i == 23;
		char ch = s[i];
		if (dash ? ch != '-' :
			   !((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
			     (ch >= 'A' && ch <= 'F')))
			return -EINVAL;
	}
	return 0;
}

static int vbmc_long(const char *s, long min, long max, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/*
 * Parses ADDR:PORT or [V6ADDR]:PORT (numeric only) into *ss.
 * Returns 0 or -EINVAL.
 */
static int vbmc_parse_listen(const char *spec, struct sockaddr_storage *ss, socklen_t *sslen)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon = strrchr(spec, ':');
	long port;
	if (colon == NULL || vbmc_long(colon + 1, 1, 65535, &port) < 0)
		return -EINVAL;
	const char *h = spec;
	size_t hlen = (size_t)(colon - spec);
	if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
		h++;
		hlen -= 2;
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, h, hlen);
	host[hlen] = '\0';

	struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
				 .ai_socktype = SOCK_STREAM};
	struct addrinfo *ai = NULL;
	if (getaddrinfo(host, colon + 1, &hints, &ai) != 0 || ai == NULL)
		return -EINVAL;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*sslen = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

static void vbmc_parse_args(int argc, char **argv, struct vbmc_opts *o)
{
	enum {
		O_LISTEN = 256,
		O_QMP,
		O_MAC,
		O_BMC_MAC,
		O_NAME,
		O_USER,
		O_PASSWORD,
		O_UUID,
		O_SERIAL,
		O_BOOT_MODE,
		O_QMP_TIMEOUT,
		O_LOG_LEVEL
	};
	static const struct option longopts[] = {
		{"listen", required_argument, NULL, O_LISTEN},
		{"qmp", required_argument, NULL, O_QMP},
		{"mac", required_argument, NULL, O_MAC},
		{"bmc-mac", required_argument, NULL, O_BMC_MAC},
		{"name", required_argument, NULL, O_NAME},
		{"user", required_argument, NULL, O_USER},
		{"password", required_argument, NULL, O_PASSWORD},
		{"uuid", required_argument, NULL, O_UUID},
		{"serial", required_argument, NULL, O_SERIAL},
		{"boot-mode", required_argument, NULL, O_BOOT_MODE},
		{"qmp-timeout", required_argument, NULL, O_QMP_TIMEOUT},
		{"log-level", required_argument, NULL, O_LOG_LEVEL},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int ch;
	*o = (struct vbmc_opts){.user = "admin",
				.password = "admin",
				.boot_mode = "Legacy",
				.qmp_timeout_ms = 3000,
				.level = LOG_LVL_INFO};
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case O_LISTEN:
			o->listen = optarg;
			break;
		case O_QMP:
			o->qmp = optarg;
			break;
		case O_MAC:
			if (vbmc_mac_parse(optarg, o->mac) < 0)
				fatalx("--mac: aa:bb:cc:dd:ee:ff");
			break;
		case O_BMC_MAC:
			if (vbmc_mac_parse(optarg, o->bmc_mac) < 0)
				fatalx("--bmc-mac: aa:bb:cc:dd:ee:ff");
			break;
		case O_NAME:
			o->name = optarg;
			break;
		case O_USER:
			o->user = optarg;
			break;
		case O_PASSWORD:
			o->password = optarg;
			break;
		case O_UUID:
			o->uuid = optarg;
			break;
		case O_SERIAL:
			o->serial = optarg;
			break;
		case O_BOOT_MODE:
			o->boot_mode = optarg;
			break;
		case O_QMP_TIMEOUT:
			if (vbmc_long(optarg, 100, 60000, &o->qmp_timeout_ms) < 0)
				fatalx("--qmp-timeout: milliseconds, 100..60000");
			break;
		case O_LOG_LEVEL:
			if (log_level_parse(optarg, &o->level) < 0)
				fatalx("--log-level: error, warn, info or debug");
			break;
		case 'h':
			vbmc_usage(stdout);
			exit(0);
		default:
			vbmc_usage(stderr);
			exit(2);
		}
	}
	if (optind != argc || !o->listen || !o->qmp || !o->mac[0] || !o->bmc_mac[0] || !o->name) {
		vbmc_usage(stderr);
		exit(2);
	}
	if (vbmc_name_ok(o->name) < 0)
		fatalx("--name: 1-63 of A-Z a-z 0-9 . _ -");
	if (o->uuid && vbmc_uuid_ok(o->uuid) < 0)
		fatalx("--uuid: 8-4-4-4-12 hex digits");
	if (strcmp(o->boot_mode, "Legacy") != 0 && strcmp(o->boot_mode, "UEFI") != 0)
		fatalx("--boot-mode: Legacy or UEFI");
	if (o->user[0] == '\0' || strlen(o->user) >= SESSION_USER_MAX)
		fatalx("--user: 1-%d bytes", SESSION_USER_MAX - 1);
	if (o->serial && (o->serial[0] == '\0' || strlen(o->serial) > 64))
		fatalx("--serial: 1-64 bytes");
}

/* Sends *rp as the response: JSON body, Redfish headers, auth headers. */
static enum MHD_Result vbmc_send(struct MHD_Connection *conn, struct svc_reply *rp)
{
	struct MHD_Response *resp;
	char *text = NULL;
	if (rp->body != NULL)
		text = json_dumps(rp->body, JSON_COMPACT);
	if (text != NULL)
		resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	else
		resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	if (resp == NULL) {
		free(text);
		return MHD_NO;
	}
	if (text != NULL)
		MHD_add_response_header(resp, "Content-Type", "application/json; charset=utf-8");
	MHD_add_response_header(resp, "OData-Version", "4.0");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	if (rp->location[0] != '\0')
		MHD_add_response_header(resp, "Location", rp->location);
	if (rp->token[0] != '\0')
		MHD_add_response_header(resp, "X-Auth-Token", rp->token);
	if (rp->allow[0] != '\0')
		MHD_add_response_header(resp, "Allow", rp->allow);
	if (rp->www_authenticate)
		MHD_add_response_header(resp, "WWW-Authenticate", "Basic realm=\"" VBMC_REALM "\"");
	enum MHD_Result r = MHD_queue_response(conn, rp->status, resp);
	MHD_destroy_response(resp);
	return r;
}

static enum MHD_Result vbmc_access(void *cls, struct MHD_Connection *conn, const char *url,
				   const char *method, const char *version, const char *upload_data,
				   size_t *upload_data_size, void **con_cls)
{
	struct svc *svc = cls;
	struct vbmc_req *r = *con_cls;

	if (r == NULL) {
		r = calloc(1, sizeof(*r));
		if (r == NULL)
			return MHD_NO;
		buf_init(&r->body, VBMC_MAX_BODY);
		*con_cls = r;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		/* Past the cap the rest is read and dropped, then answered 413. */
		if (!r->too_large && buf_add(&r->body, upload_data, *upload_data_size) < 0)
			r->too_large = 1;
		*upload_data_size = 0;
		return MHD_YES;
	}

	struct svc_reply rp;
	if (r->too_large) {
		memset(&rp, 0, sizeof(rp));
		svc_reply_error(&rp, 413, "Base.1.0.GeneralError",
				"The request body is larger than %d bytes.", VBMC_MAX_BODY);
	} else {
		char *pass = NULL;
		char *user = MHD_basic_auth_get_username_password(conn, &pass);
		struct svc_request rq = {
			.method = method,
			.path = url,
			.token = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Auth-Token"),
			.basic_user = user,
			.basic_pass = pass,
			.body = r->body.data,
			.body_len = r->body.len,
		};
		svc_handle(svc, &rq, &rp);
		if (pass != NULL) {
			explicit_bzero(pass, strlen(pass));
			MHD_free(pass);
		}
		if (user != NULL)
			MHD_free(user);
	}
	log_debug("%s %s -> %u", method, url, rp.status);
	enum MHD_Result ret = vbmc_send(conn, &rp);
	svc_reply_clear(&rp);
	return ret;
}

static void vbmc_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			   enum MHD_RequestTerminationCode toe)
{
	struct vbmc_req *r = *con_cls;
	if (r == NULL)
		return;
	buf_clear(&r->body);
	free(r);
	*con_cls = NULL;
}

int main(int argc, char **argv)
{
	struct vbmc_opts o;
	struct sockaddr_storage ss;
	socklen_t sslen;
	char uuid[37], bmc_uuid[37], seed[128], serial[32];
	struct svc *svc = NULL;
	sigset_t sigs;
	int sig = 0, rc;

	log_init("corral-vbmc", LOG_LVL_INFO);
	vbmc_parse_args(argc, argv, &o);
	log_set_level(o.level);
	if (vbmc_parse_listen(o.listen, &ss, &sslen) < 0)
		fatalx("--listen %s: want ADDR:PORT or [V6ADDR]:PORT, numeric", o.listen);

	/* Stable identities when none are given: the same VM, the same UUIDs. */
	if (o.uuid == NULL) {
		if (buf_fmt(seed, sizeof(seed), "system/%s/%s", o.name, o.mac) < 0)
			fatalx("name too long");
		svc_uuid_from(seed, uuid);
		o.uuid = uuid;
	}
	if (buf_fmt(seed, sizeof(seed), "bmc/%s/%s", o.name, o.bmc_mac) < 0)
		fatalx("name too long");
	svc_uuid_from(seed, bmc_uuid);
	if (o.serial == NULL) {
		/* CRL + the MAC's last three octets: CRL7701AB for ..:77:01:ab. */
		char hex[7];
		size_t k = 0;
		for (const char *p = o.mac + 9; *p != '\0' && k < sizeof(hex) - 1; p++) {
			if (*p != ':')
				hex[k++] = (char)(*p >= 'a' ? *p - 'a' + 'A' : *p);
		}
		hex[k] = '\0';
		if (buf_fmt(serial, sizeof(serial), "CRL%s", hex) < 0)
			fatalx("serial too long");
		o.serial = serial;
	}

	struct svc_config cfg = {
		.id = {.name = o.name,
		       .uuid = o.uuid,
		       .serial = o.serial,
		       .mac = o.mac,
		       .bmc_mac = o.bmc_mac,
		       .bmc_uuid = bmc_uuid},
		.qmp_path = o.qmp,
		.qmp_timeout_ms = (int)o.qmp_timeout_ms,
		.user = o.user,
		.password = o.password,
		.boot_mode = strcmp(o.boot_mode, "UEFI") == 0 ? RF_MODE_UEFI : RF_MODE_LEGACY,
	};
	rc = svc_new(&cfg, &svc);
	if (rc < 0)
		fatalx("service: %s", strerror(-rc));

	/* Threads MHD starts inherit this mask: only sigwait sees the signals. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	unsigned flags =
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	struct MHD_Daemon *d = MHD_start_daemon(
		flags, 0, NULL, NULL, vbmc_access, svc, MHD_OPTION_SOCK_ADDR,
		(struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT, (unsigned)VBMC_MAX_CONNECTIONS,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)VBMC_CONN_TIMEOUT,
		MHD_OPTION_NOTIFY_COMPLETED, vbmc_completed, NULL, MHD_OPTION_END);
	if (d == NULL)
		fatalx("cannot listen on %s", o.listen);
	log_info("%s: Redfish on http://%s/redfish/v1/ (QMP %s, VM %s, BMC %s)", o.name, o.listen,
		 o.qmp, o.mac, o.bmc_mac);

	for (;;) {
		if (sigwait(&sigs, &sig) != 0)
			continue;
		if (sig != SIGHUP)
			break;
	}
	log_info("%s: signal %d, stopping", o.name, sig);
	MHD_stop_daemon(d);
	svc_free(svc);
	return 0;
}
