/*
 * api_internal: what api.c and api_redfish.c share: how a refused request
 * is described (struct api_err, api_fail, api_invalid), how a store result
 * becomes an answer (api_store_error) and how a body is read (api_body).
 * For the api module's own files only; every other module uses api.h.
 */
#ifndef CORRAL_API_INTERNAL_H
#define CORRAL_API_INTERNAL_H

#include <jansson.h>

#include "http.h"
#include "store.h"

/* A refused field: its path ("nodes[3].interfaces[0].mac") and the message. */
struct api_err {
	char field[96];
	char message[320];
};

/* Fills e: the field and "field: message".  Returns -EINVAL. */
int api_fail(struct api_err *e, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Answers 422 invalid_field naming e's field. */
int api_invalid(struct http_req *r, const struct api_err *e);
/* Answers for a store result rc < 0: 404 (no such what name), 409, 422 or
 * 500; se (may be NULL) says which field the store blamed. */
int api_store_error(struct http_req *r, int rc, const struct store_err *se, const char *what,
		    const char *name);
/* The request body as a JSON object (a new reference), or NULL when a 400
 * went out instead. */
json_t *api_body(struct http_req *r);

#endif
