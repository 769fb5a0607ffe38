/*
 * nodereport: what a node's own boot code reports about a step corrald
 * cannot see, as a boot event: today the root image check of Corral's
 * initramfs module (stage "rootfs": the downloaded image did not match the
 * sha256 corrald gave it, so the node stopped before mounting it).
 *
 * POST /boot/v1/report/{token}, a form: stage=<one of the table's>,
 * detail=<text>.  Identity is the signed per-node seed token the node was
 * given on its kernel command line (ds=nocloud-net;s=…/cloud-init/<token>/),
 * never the source address: a report is believed only from the node it
 * names.  The detail is cut at 200 characters, control characters become
 * spaces.
 *
 * Callers: routes.c's table only (r->ctx is the struct app).
 */
#ifndef CORRAL_NODEREPORT_H
#define CORRAL_NODEREPORT_H

#include <stddef.h>

#include "http.h"

int nodereport_serve(struct http_req *r);

/* The decoded value of key in an application/x-www-form-urlencoded body
 * into out (control characters as spaces, cut to outlen - 1 bytes).
 * 0, -ENOENT (no such key) or -EINVAL (a bad %-escape). */
int nodereport_form_value(const char *body, const char *key, char *out, size_t outlen);

#endif
