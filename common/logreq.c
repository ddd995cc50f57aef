/*
 * logreq.c: the request line of an HTTP request, and its request id.
 *
 * The id ("5c1e9a0b-2a") is returned to the client in X-Request-Id and
 * written in the request's log line, so an operator can find the line of
 * a client's complaint.  It is this process's boot id (32 random bits,
 * drawn once) and a counter, cheap enough for every request and unique
 * across restarts with overwhelming odds.
 *
 * Without an access log a request line goes to the main log, as it
 * always has (text: `127.0.0.1 "GET /x" 200 12 bytes 3 ms id=...`, built
 * with one snprintf and no allocation); with one, every request of both
 * listeners is written there, in the main log's format.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/log.h"
#include "common/log_int.h"

/* This process's boot id and request counter: module state, like the
 * log's sink (ids are unique across both listeners). */
static pthread_once_t logreq_once = PTHREAD_ONCE_INIT;
static unsigned int logreq_boot;
static unsigned long long logreq_seq;

static void
logreq_boot_init(void)
{
	struct timespec ts;

	if (getrandom(&logreq_boot, sizeof(logreq_boot), 0) !=
	    (ssize_t)sizeof(logreq_boot)) {
		/* no entropy yet (early boot): still differs per start */
		clock_gettime(CLOCK_REALTIME, &ts);
		logreq_boot = (unsigned int)ts.tv_nsec ^
		    (unsigned int)getpid() << 16;
	}
}

/* See log.h. */
char *
log_request_id(char *buf, size_t len)
{
	unsigned long long n;

	pthread_once(&logreq_once, logreq_boot_init);
	n = __atomic_add_fetch(&logreq_seq, 1, __ATOMIC_RELAXED);
	snprintf(buf, len, "%08x-%llx", logreq_boot, n);
	return buf;
}

/* The request as a JSON object without time, level and pid (added by
 * log_emit_json), or NULL without memory. */
static json_t *
logreq_json(const struct log_request *r)
{
	char msg[LOG_LINE_MAX];
	json_t *o;

	if (r->status != 0)
		snprintf(msg, sizeof(msg), "%s %s %d", r->method, r->path,
		    r->status);
	else
		snprintf(msg, sizeof(msg), "%s %s: connection closed before "
		    "the reply", r->method, r->path);
	if ((o = json_object()) == NULL ||
	    json_object_set_new(o, "time", json_null()) != 0 ||
	    json_object_set_new(o, "level", json_null()) != 0 ||
	    json_object_set_new(o, "component", json_string("http")) != 0 ||
	    json_object_set_new(o, "message", log_json_str(msg)) != 0 ||
	    json_object_set_new(o, "request_id", json_string(r->id)) != 0 ||
	    json_object_set_new(o, "client", log_json_str(r->client)) != 0 ||
	    json_object_set_new(o, "listener",
	    json_string(r->listener)) != 0 ||
	    json_object_set_new(o, "method", json_string(r->method)) != 0 ||
	    json_object_set_new(o, "route", r->route != NULL ?
	    json_string(r->route) : json_null()) != 0 ||
	    json_object_set_new(o, "path", log_json_str(r->path)) != 0 ||
	    json_object_set_new(o, "status", json_integer(r->status)) != 0 ||
	    json_object_set_new(o, "bytes", json_integer(r->bytes != NULL ?
	    strtoll(r->bytes, NULL, 10) : 0)) != 0 ||
	    json_object_set_new(o, "duration_ms", json_real(r->ms)) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* The access log's text line: time, client, id, listener, request,
 * status, bytes, milliseconds (status "-" when the connection closed
 * first). */
static void
logreq_access_text(const struct log_request *r)
{
	char line[LOG_LINE_MAX], ts[LOG_TIME_MAX], st[16];
	int n;

	log_time_ms(ts, sizeof(ts));
	if (r->status != 0)
		snprintf(st, sizeof(st), "%d", r->status);
	else
		snprintf(st, sizeof(st), "-");
	n = snprintf(line, sizeof(line) - 1, "%s %s %s %s \"%s %s\" %s %s "
	    "%.3f\n", ts, r->client, r->id, r->listener, r->method, r->path,
	    st, r->bytes != NULL ? r->bytes : "0", r->ms);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line) - 1) {
		n = (int)sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	log_access_write(line, (size_t)n);
}

/* See log.h. */
void
log_request(enum log_level lv, const struct log_request *r)
{
	char *s;
	size_t len;

	if (log_access_on()) {
		if (log_current_format() == LOG_FORMAT_TEXT) {
			logreq_access_text(r);
			return;
		}
		if ((s = log_json_line(LOGL_INFO, logreq_json(r),
		    &len)) != NULL)
			log_access_write(s, len);
		free(s);
		return;
	}
	if ((int)lv > log_verbosity)
		return;
	if (log_current_format() == LOG_FORMAT_JSON) {
		log_emit_json(lv, logreq_json(r));
		return;
	}
	if (r->status != 0)
		log_msg(lv, "%s \"%s %s\" %d %s bytes %ld ms id=%s", r->client,
		    r->method, r->path, r->status, r->bytes != NULL ?
		    r->bytes : "0", (long)r->ms, r->id);
	else
		log_msg(lv, "%s \"%s %s\" - connection closed before reply, "
		    "%ld ms id=%s", r->client, r->method, r->path, (long)r->ms,
		    r->id);
}
