/*
 * ui: serves the embedded web page.  See ui.h.
 */
#include "ui.h"

#include <string.h>

#include "http.h"

static const char *ui_type(const char *path)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{".html", "text/html; charset=utf-8"},
		{".js", "text/javascript; charset=utf-8"},
		{".css", "text/css; charset=utf-8"},
		{".svg", "image/svg+xml"},
		{".png", "image/png"},
		{".json", "application/json"},
	};
	const char *dot = strrchr(path, '.');
	for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].type;
	return "application/octet-stream";
}

int ui_serve(struct http_req *r)
{
	const char *path = r->args[0] ? r->args[0] : "";
	if (path[0] == '\0')
		path = "index.html";
	for (unsigned i = 0; i < ui_nassets; i++) {
		const struct ui_asset *a = &ui_assets[i];
		if (strcmp(a->path, path) != 0)
			continue;
		const char *inm = http_header(r, MHD_HTTP_HEADER_IF_NONE_MATCH);
		int fresh = inm != NULL && strstr(inm, a->etag) != NULL;
		struct MHD_Response *resp = MHD_create_response_from_buffer(
			fresh ? 0 : a->len, (void *)(uintptr_t)a->data, MHD_RESPMEM_PERSISTENT);
		if (resp == NULL)
			return -1;
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ui_type(path));
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, a->etag);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
		/* The page only talks to its own origin. */
		MHD_add_response_header(resp, "Content-Security-Policy",
					"default-src 'self'; img-src 'self' data:; "
					"style-src 'self'; frame-ancestors 'none'");
		MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
		r->bytes_out = fresh ? 0 : a->len;
		return http_reply(r, fresh ? 304 : 200, resp);
	}
	return http_reply_error(r, 404, "not_found", NULL, "no such page: /ui/%s", path);
}

int ui_redirect(struct http_req *r)
{
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(0, (void *)(uintptr_t) "", MHD_RESPMEM_PERSISTENT);
	if (resp == NULL)
		return -1;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, "/ui/");
	return http_reply(r, 302, resp);
}
