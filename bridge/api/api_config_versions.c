/*
 * api_config_versions.c: the published versions of a configuration group
 * and their bytes (docs/api.md "Configuration versions and content").
 *
 *   GET /api/v1/configs/GROUP/versions             every version, newest first
 *   GET /api/v1/configs/GROUP/versions/V           one version, with its proof
 *   GET /api/v1/configs/GROUP/versions/V/content   its bytes: ETag (the
 *       SHA-256, quoted), If-None-Match (304), Range: bytes= (one range;
 *       206, 416), streamed from the blob folder API_CONTENT_CHUNK bytes at
 *       a time, the next piece read only once the last is written: a
 *       firmware image is never held in memory.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <jansson.h>

#include "bridge/api/api_int.h"
#include "bridge/config_blob.h"

#define API_CONTENT_CHUNK	(256 * 1024)	/* bytes per write */
#define API_RANGE_MAX		64		/* bytes of a Range header */
#define API_DEFAULT_TYPE	"application/octet-stream"

/* One content reply being streamed. */
struct api_stream {
	struct server *server;
	struct evhttp_request *req;
	struct blob_reader r;		/* a file or a large object */
	int64_t left;			/* bytes still to send */
};

static void
api_stream_free(struct api_stream *st)
{
	blob_reader_close(&st->r);
	free(st);
}

/* The connection went away mid-reply (server_req_on_close).  When the
 * client closed it, libevent has detached the request and leaves freeing
 * it to the reply's end (as events.c's streams); when the server frees
 * the connection, the request goes with it. */
static void
api_stream_closed(void *arg)
{
	struct api_stream *st = arg;
	struct evhttp_request *req = st->req;

	api_stream_free(st);
	if (evhttp_request_get_connection(req) == NULL)
		evhttp_send_reply_end(req);
}

/* Sends the next piece, or ends the reply (the previous piece written). */
static void
api_stream_next(struct evhttp_connection *evcon, void *arg)
{
	struct api_stream *st = arg;
	struct evhttp_request *req = st->req;
	struct evbuffer_iovec v;
	struct evbuffer *b;
	size_t want = st->left < API_CONTENT_CHUNK ? (size_t)st->left :
	    API_CONTENT_CHUNK;
	ssize_t n = -1;

	/* read() into the buffer's own space (evbuffer_read stops at 4 KiB
	 * a call in libevent 2.1) */
	if (st->left > 0 && (b = evbuffer_new()) != NULL) {
		if (evbuffer_reserve_space(b, (ev_ssize_t)want, &v, 1) == 1) {
			n = blob_reader_read(&st->r, v.iov_base, want);
			v.iov_len = n > 0 ? (size_t)n : 0;
			if (n > 0 && evbuffer_commit_space(b, &v, 1) != 0)
				n = -1;
		}
		if (n > 0) {
			st->left -= n;
			evhttp_send_reply_chunk_with_cb(req, b, api_stream_next,
			    st);
			evbuffer_free(b);
			return;
		}
		evbuffer_free(b);
		log_warn("api: blob read failed with %" PRId64 " bytes left",
		    st->left);
	}
	/* Done (or the file is shorter than it was: the client sees a
	 * short body against its Content-Length, never other bytes). */
	server_req_on_close(st->server, req, NULL, NULL);
	api_stream_free(st);
	evhttp_send_reply_end(req);
}

/*
 * Parses a single "bytes=" range of a size-byte body into [*from, *to].
 * 1 a range, 0 none to honour (absent, malformed or several: the whole
 * body, RFC 9110 14.2), -1 unsatisfiable (416).
 */
static int
api_range(const char *h, int64_t size, int64_t *from, int64_t *to)
{
	char *end;
	long long a, b;

	if (h == NULL || strlen(h) > API_RANGE_MAX ||
	    strncmp(h, "bytes=", 6) != 0 || strchr(h, ',') != NULL)
		return 0;
	h += 6;
	if (*h == '-') {			/* the last N bytes */
		errno = 0;
		b = strtoll(h + 1, &end, 10);
		if (errno != 0 || *end != '\0' || end == h + 1 || b < 0)
			return 0;
		if (b == 0 || size == 0)
			return -1;
		*from = b >= size ? 0 : size - b;
		*to = size - 1;
		return 1;
	}
	errno = 0;
	a = strtoll(h, &end, 10);
	if (errno != 0 || end == h || *end != '-' || a < 0)
		return 0;
	h = end + 1;
	if (*h == '\0')
		b = size - 1;
	else {
		b = strtoll(h, &end, 10);
		if (errno != 0 || *end != '\0' || b < a)
			return 0;
	}
	if (a >= size)
		return -1;
	*from = a;
	*to = b >= size ? size - 1 : b;
	return 1;
}

/* 1 when If-None-Match h names etag (or is "*"). */
static int
api_etag_matches(const char *h, const char *etag)
{
	const char *p;
	size_t n = strlen(etag);

	if (h == NULL)
		return 0;
	if (strcmp(h, "*") == 0)
		return 1;
	for (p = h; (p = strstr(p, etag)) != NULL; p += n)
		if ((p == h || p[-1] == ' ' || p[-1] == ',' || p[-1] == '/') &&
		    (p[n] == '\0' || p[n] == ',' || p[n] == ' '))
			return 1;
	return 0;
}

/* GET .../versions/V/content. */
static void
api_version_content(struct evhttp_request *req, struct api_ctx *ctx,
    const struct config_version *v)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	struct api_stream *st;
	struct blob_reader br;
	char etag[BLOB_HEX_LEN + 3], num[24], cr[80], err[256] = "no store";
	int64_t size, from = 0, to, len;
	int r, code = 200;

	if (ctx->blob_dir == NULL ||
	    (r = blob_reader_open(&br, ctx->blob_dir, v->info.sha256, err,
	    sizeof(err))) < 0) {
		ratelog_msg(&ctx->rl_blob, LOGL_WARN, "api: %s", err);
		api_reply_storage(req, "the published bytes");
		return;
	}
	size = br.size;
	if (r > 0) {
		server_reply_error(req, 404, "content_not_stored", "the bytes "
		    "of %s version %s are not in this bridge's blob folder "
		    "(published before it kept them, or removed)",
		    v->info.group, v->info.version);
		return;
	}
	if (v->info.size >= 0 && size != v->info.size) {
		blob_reader_close(&br);
		ratelog_msg(&ctx->rl_blob, LOGL_WARN, "api: blob %s is %"
		    PRId64 " bytes, its entry says %"
		    PRId64 " (run keybridge ledger verify)", v->info.sha256,
		    size, v->info.size);
		server_reply_error(req, 500, "blob_altered", "the stored bytes "
		    "of %s version %s do not match its entry", v->info.group,
		    v->info.version);
		return;
	}
	snprintf(etag, sizeof(etag), "\"%s\"", v->info.sha256);
	evhttp_add_header(out, "ETag", etag);
	evhttp_add_header(out, "Accept-Ranges", "bytes");
	evhttp_add_header(out, "Cache-Control", "no-cache");
	if (api_etag_matches(evhttp_find_header(in, "If-None-Match"), etag)) {
		blob_reader_close(&br);
		evhttp_send_reply(req, 304, "Not Modified", NULL);
		return;
	}
	to = size - 1;
	if ((r = api_range(evhttp_find_header(in, "Range"), size, &from,
	    &to)) < 0) {
		blob_reader_close(&br);
		snprintf(cr, sizeof(cr), "bytes */%" PRId64, size);
		evhttp_add_header(out, "Content-Range", cr);
		evhttp_remove_header(out, "Cache-Control");
		server_reply_error(req, 416, "range_not_satisfiable", "the "
		    "content is %" PRId64 " bytes", size);
		return;
	}
	if (r == 1) {
		code = 206;
		snprintf(cr, sizeof(cr), "bytes %" PRId64 "-%" PRId64 "/%"
		    PRId64, from, to, size);
		evhttp_add_header(out, "Content-Range", cr);
	}
	len = size == 0 ? 0 : to - from + 1;
	evhttp_add_header(out, "Content-Type", v->media_type[0] != '\0' ?
	    v->media_type : API_DEFAULT_TYPE);
	snprintf(num, sizeof(num), "%" PRId64, len);
	evhttp_add_header(out, "Content-Length", num);
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD || len == 0 ||
	    blob_reader_seek(&br, from) != 0) {
		blob_reader_close(&br);
		evhttp_send_reply(req, code, code == 206 ? "Partial Content" :
		    "OK", NULL);
		return;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL ||
	    server_req_on_close(ctx->server, req, api_stream_closed, st) != 0) {
		free(st);
		blob_reader_close(&br);
		evhttp_remove_header(out, "Content-Length");
		server_reply_error(req, 500, "internal", "cannot start the "
		    "content");
		return;
	}
	st->server = ctx->server;
	st->req = req;
	st->r = br;
	st->left = len;
	/* With Content-Length set the reply is not chunked-encoded. */
	evhttp_send_reply_start(req, code, code == 206 ? "Partial Content" :
	    "OK");
	api_stream_next(NULL, st);
}

/*
 * The proof of a version (a hook: today the inclusion proof to the
 * latest checkpoint, api_proof_of; the proof bundles of issue 15 may
 * replace it).  NULL when it cannot be made.
 */
static json_t *
api_version_proof(struct api_ctx *ctx, const struct config_version *v)
{
	return api_proof_of(ctx->ledger, v->info.index);
}

static int
api_versions_list_cb(const struct config_version *v, void *arg)
{
	return json_array_append_new(arg, config_version_json(v)) != 0;
}

/* GET .../versions. */
static void
api_versions_list(struct evhttp_request *req, struct api_ctx *ctx,
    const char *group)
{
	json_t *arr;

	if ((arr = json_array()) == NULL) {
		server_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	if (config_versions(ctx->ledger, group, api_versions_list_cb, arr) !=
	    0) {
		json_decref(arr);
		api_reply_storage(req, "the configurations");
		return;
	}
	if (json_array_size(arr) == 0) {
		json_decref(arr);
		server_reply_error(req, 404, "config_not_found",
		    "nothing is published for group %s", group);
		return;
	}
	server_reply_json(req, 200, json_pack("{s:s,s:o}", "group", group,
	    "versions", arr));
}

/* See api_int.h. */
void
api_config_versions(struct evhttp_request *req, struct api_ctx *ctx,
    const char *group, const char *rest)
{
	char version[LEDGER_NAME_MAX + 2];
	struct config_version v;
	const char *slash;
	json_t *j, *proof;
	size_t n;
	int rc;

	if (api_params(req, NULL) != 0)
		return;
	if (*rest == '\0') {
		api_versions_list(req, ctx, group);
		return;
	}
	slash = *rest == '/' ? strchr(rest + 1, '/') : NULL;
	n = slash != NULL ? (size_t)(slash - rest - 1) : strlen(rest) - 1;
	if (*rest != '/' || n == 0 || n >= sizeof(version) ||
	    (slash != NULL && strcmp(slash, "/content") != 0)) {
		server_reply_error(req, 404, "not_found", "want /api/v1/configs"
		    "/GROUP/versions[/V[/content]]");
		return;
	}
	memcpy(version, rest + 1, n);
	version[n] = '\0';
	if ((rc = config_version_find(ctx->ledger, group, version, &v)) < 0) {
		api_reply_storage(req, "the configurations");
		return;
	}
	if (rc > 0) {
		server_reply_error(req, 404, "config_not_found", "group %s has "
		    "no version %s", group, version);
		return;
	}
	if (slash != NULL) {
		api_version_content(req, ctx, &v);
		return;
	}
	if ((proof = api_version_proof(ctx, &v)) == NULL) {
		api_reply_storage(req, "the inclusion proof");
		return;
	}
	j = config_version_json(&v);
	if (j == NULL || json_object_set_new(j, "proof", proof) != 0) {
		json_decref(j);
		server_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	server_reply_json(req, 200, j);
}
