/*
 * dashboard.h: the dashboard page (examples/dashboard: static HTML, CSS
 * and JavaScript that read only the public API), served from the binary
 * at /dashboard/ on the HTTPS listener that carries /api/v1, so that the
 * page and the API share one origin (no CORS, the same TLS certificate).
 */
#ifndef KEYBRIDGE_DASHBOARD_H
#define KEYBRIDGE_DASHBOARD_H

#include <stddef.h>

/* One embedded file.  The table is generated at build time from
 * examples/dashboard/ by scripts/embed-dashboard.sh (build/gen/). */
struct dashboard_file {
	const char *name;		/* "index.html": [A-Za-z0-9._-], no '/' */
	const unsigned char *data;
	size_t len;
	const char *etag;		/* "\"<hex of SHA-256>\"", quoted */
};

extern const struct dashboard_file dashboard_files[];
extern const size_t dashboard_nfiles;


/* The embedded file called name (exact match), or NULL. */
const struct dashboard_file *dashboard_find(const char *name);
/* The Content-Type of a file name, by its extension (a static string). */
const char *dashboard_mime(const char *name);

#endif
