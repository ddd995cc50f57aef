/*
 * dashboard.c: GET /dashboard/ (docs/design.md "JSON API and dashboard").
 *
 * The page is static HTML, CSS and JavaScript (examples/dashboard/) that
 * reads only the public API.  Its files are compiled into the binary
 * (scripts/embed-dashboard.sh writes the table at build time), so an
 * installed keybridge needs no path to them and a request can only ever
 * name one of them: the last path segment is compared with the table's
 * names, nothing is looked up on disk, and "..", "%2e%2e", "a/b" and the
 * like are simply not names in the table (404).
 *
 * Served on the HTTPS listener beside /api/v1: the page and the API share
 * one origin, so the page needs no CORS and its Content-Security-Policy can
 * be default-src 'self'.  The files themselves carry no secret and are
 * served without the API token; the page asks for the token when the API
 * answers it 401 (a listener off loopback) and sends it as a bearer token.
 *
 * Answers: 200 with Content-Type by extension, Cache-Control: no-cache (the
 * browser revalidates, so a new build is picked up at once) and an ETag
 * (SHA-256 of the file), 304 on a matching If-None-Match, 301 from
 * /dashboard to /dashboard/, 404 and 405 as the API's JSON errors.
 */
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "common/log.h"
#include "bridge/http/http.h"
#include "bridge/api/api.h"
#include "bridge/api/dashboard.h"

#define DASHBOARD_ECHO		200	/* bytes of a path echoed in a 404 */
#define DASHBOARD_ROOT		"/dashboard"
#define DASHBOARD_PREFIX	"/dashboard/"
#define DASHBOARD_INDEX		"index.html"
#define DASHBOARD_NAME_MAX	64	/* bytes of a file name */
/* What the page may load: itself and the API, nothing else; no framing,
 * no <base>, no plugins, no form posts anywhere. */
#define DASHBOARD_CSP \
	"default-src 'self'; object-src 'none'; base-uri 'none'; " \
	"frame-ancestors 'none'; form-action 'none'"

const struct dashboard_file *
dashboard_find(const char *name)
{
	size_t i;

	for (i = 0; i < dashboard_nfiles; i++)
		if (strcmp(dashboard_files[i].name, name) == 0)
			return &dashboard_files[i];
	return NULL;
}

const char *
dashboard_mime(const char *name)
{
	static const struct {
		const char *ext;
		const char *type;
	} types[] = {
		{ ".html", "text/html; charset=utf-8" },
		{ ".css", "text/css; charset=utf-8" },
		/* RFC 9239: text/javascript; module scripts need a JS type */
		{ ".js", "text/javascript; charset=utf-8" },
		{ ".svg", "image/svg+xml" },
		{ ".png", "image/png" },
		{ ".json", "application/json" },
		{ ".txt", "text/plain; charset=utf-8" },
	};
	const char *dot = strrchr(name, '.');
	size_t i;

	if (dot != NULL)
		for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (strcmp(dot, types[i].ext) == 0)
				return types[i].type;
	return "application/octet-stream";
}

/* The headers every answer about a file carries (200 and 304). */
static void
dashboard_headers(struct evkeyvalq *h, const struct dashboard_file *f)
{
	evhttp_add_header(h, "Cache-Control", "no-cache");
	evhttp_add_header(h, "ETag", f->etag);
	evhttp_add_header(h, "Content-Security-Policy", DASHBOARD_CSP);
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "X-Frame-Options", "DENY");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
}

/* 1 when the If-None-Match header of req names f's ETag or is "*"
 * (RFC 9110 13.1.2; a weak comparison, so W/"x" matches "x" too). */
static int
dashboard_not_modified(struct evhttp_request *req,
    const struct dashboard_file *f)
{
	const char *inm = evhttp_find_header(
	    evhttp_request_get_input_headers(req), "If-None-Match");

	if (inm == NULL)
		return 0;
	while (*inm == ' ' || *inm == '\t')
		inm++;
	return strcmp(inm, "*") == 0 || strstr(inm, f->etag) != NULL;
}

/* Sends file f: its bytes by reference (they are static), or for HEAD the
 * headers alone with the Content-Length a GET would have (evhttp 2.1
 * would otherwise write the body after a HEAD's headers). */
static void
dashboard_send(struct evhttp_request *req, const struct dashboard_file *f)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *buf = NULL;
	char len[32];

	dashboard_headers(h, f);
	if (dashboard_not_modified(req, f)) {
		evhttp_send_reply(req, HTTP_NOTMODIFIED, "Not Modified", NULL);
		return;
	}
	evhttp_add_header(h, "Content-Type", dashboard_mime(f->name));
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		snprintf(len, sizeof(len), "%zu", f->len);
		evhttp_add_header(h, "Content-Length", len);
		evhttp_send_reply(req, HTTP_OK, "OK", NULL);
		return;
	}
	if ((buf = evbuffer_new()) == NULL ||
	    evbuffer_add_reference(buf, f->data, f->len, NULL, NULL) != 0) {
		evhttp_clear_headers(h);
		server_reply_error(req, HTTP_INTERNAL, "internal",
		    "out of memory");
		goto out;
	}
	evhttp_send_reply(req, HTTP_OK, "OK", buf);
out:
	if (buf != NULL)
		evbuffer_free(buf);
}

/* server_handler for /dashboard and /dashboard/ (arg unused). */
static void
dashboard_handle(struct evhttp_request *req, void *arg)
{
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
	const char *path = u != NULL ? evhttp_uri_get_path(u) : NULL;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	const struct dashboard_file *f = NULL;
	const char *name;
	char echo[DASHBOARD_ECHO];

	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET, HEAD");
		server_reply_error(req, 405, "method_not_allowed",
		    "use GET on the dashboard");
		return;
	}
	if (path == NULL)
		path = "";
	if (strcmp(path, DASHBOARD_ROOT) == 0) {
		/* relative URLs in the page resolve under the folder */
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Location", DASHBOARD_PREFIX);
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Cache-Control", "no-cache");
		evhttp_send_reply(req, HTTP_MOVEPERM, "Moved Permanently",
		    NULL);
		return;
	}
	if (strncmp(path, DASHBOARD_PREFIX, sizeof(DASHBOARD_PREFIX) - 1) == 0) {
		name = path + sizeof(DASHBOARD_PREFIX) - 1;
		if (*name == '\0')
			name = DASHBOARD_INDEX;
		if (strlen(name) <= DASHBOARD_NAME_MAX)
			f = dashboard_find(name);
	}
	if (f == NULL) {
		/* client bytes: escaped, cut between characters */
		server_escape(echo, sizeof(echo), path, strlen(path));
		server_reply_error(req, HTTP_NOTFOUND, "not_found",
		    "no such file in the dashboard: %s", echo);
		return;
	}
	dashboard_send(req, f);
}

int
dashboard_register(struct server *https, const char *setting)
{
	if (strcmp(setting, "off") == 0)
		return 0;
	if (strcmp(setting, "on") != 0) {
		log_err("dashboard must be on or off, not \"%s\"",
		    setting);
		return -1;
	}
	if (dashboard_find(DASHBOARD_INDEX) == NULL) {
		log_err("dashboard: this build holds no %s", DASHBOARD_INDEX);
		return -1;
	}
	if (server_route_head(https, DASHBOARD_ROOT, dashboard_handle,
	    NULL) != 0 ||
	    server_route_head(https, DASHBOARD_PREFIX, dashboard_handle,
	    NULL) != 0 ||
	    /* https://HOST:PORT/ is where a first user looks */
	    server_set_root_redirect(https, DASHBOARD_PREFIX) != 0) {
		log_err("dashboard: cannot add its routes");
		return -1;
	}
	return 0;
}
