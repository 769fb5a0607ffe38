/*
 * ui: the web page, served at /ui/ from files embedded in the binary at
 * build time (netboot/ui/ → netboot/tools/embed.c).  The page talks to
 * the operator API with the token the user signs in with; nothing here
 * needs a token (the files hold no data).
 *
 * Callers: routes.c's table (the handlers); ui_assets is generated at
 * build time (build/gen/ui_assets.c).
 */
#ifndef CORRAL_UI_H
#define CORRAL_UI_H

#include <stddef.h>

struct ui_asset {
	const char *path; /* relative to /ui/, e.g. "app.js" */
	const unsigned char *data;
	size_t len;
	const char *etag; /* quoted, from the content */
};

extern const struct ui_asset ui_assets[];
extern const unsigned ui_nassets;

struct http_req;
/* GET /ui/<path> ("" is index.html). */
int ui_serve(struct http_req *r);
/* GET / and /ui: redirect to /ui/. */
int ui_redirect(struct http_req *r);

#endif
