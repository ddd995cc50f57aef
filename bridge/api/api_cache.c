/*
 * api_cache.c: the answers of GET /api/v1/certs/SERIAL, kept as text.
 *
 * A certificate's JSON changes only when the ledger revokes it or its key
 * (status.c sees every such entry after its commit, as it does for the
 * OCSP answers, and forgets the serials here), and when it expires (each
 * answer is kept only until its notAfter, or for good once it says
 * expired).  So an answer is rendered once from the registry and then sent
 * from memory: the SQLite lookup, the jansson objects and their dump were
 * two thirds of the endpoint's CPU.  The table is bounded (api_cache_entries
 * answers; 0 turns it off): when it is full it is emptied and fills again
 * with what is asked, so memory stays below about 600 bytes an entry.
 * Used on the event loop thread only.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bridge/api/api_int.h"

#define API_CACHE_BUCKETS_MIN 1024

struct api_cache_ent {
	struct api_cache_ent *next;
	time_t until;			/* valid while now < until */
	size_t len;
	char serial[41];
	char text[];			/* len bytes, NUL-terminated */
};

struct api_cert_cache {
	struct api_cache_ent **b;
	size_t nb;			/* power of two */
	size_t n, max;
};

/* FNV-1a over the serial (random hex: any hash does). */
static size_t
api_cache_hash(const struct api_cert_cache *c, const char *serial)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *serial != '\0'; serial++)
		h = (h ^ (unsigned char)*serial) * 1099511628211ULL;
	return (size_t)(h & (c->nb - 1));
}

/* See api_int.h. */
struct api_cert_cache *
api_cert_cache_new(size_t max)
{
	struct api_cert_cache *c;
	size_t nb = API_CACHE_BUCKETS_MIN;

	if (max == 0)
		return NULL;
	while (nb < max && nb < ((size_t)1 << 30))
		nb <<= 1;
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->b = calloc(nb, sizeof(*c->b))) == NULL) {
		free(c);
		return NULL;
	}
	c->nb = nb;
	c->max = max;
	return c;
}

static void
api_cache_clear(struct api_cert_cache *c)
{
	struct api_cache_ent *e, *next;
	size_t i;

	for (i = 0; i < c->nb; i++) {
		for (e = c->b[i]; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
		c->b[i] = NULL;
	}
	c->n = 0;
}

/* See api_int.h. */
void
api_cert_cache_free(struct api_cert_cache *c)
{
	if (c == NULL)
		return;
	api_cache_clear(c);
	free(c->b);
	free(c);
}

/* See api_int.h. */
const char *
api_cert_cache_get(struct api_cert_cache *c, const char *serial, time_t now,
    size_t *len)
{
	struct api_cache_ent *e;

	if (c == NULL)
		return NULL;
	for (e = c->b[api_cache_hash(c, serial)]; e != NULL; e = e->next)
		if (strcmp(e->serial, serial) == 0 && now < e->until) {
			*len = e->len;
			return e->text;
		}
	return NULL;
}

/* See api_int.h. */
void
api_cert_cache_forget(struct api_cert_cache *c, const char *serial)
{
	struct api_cache_ent **pp, *e;

	if (c == NULL)
		return;
	if (serial == NULL) {
		api_cache_clear(c);
		return;
	}
	for (pp = &c->b[api_cache_hash(c, serial)]; (e = *pp) != NULL;
	    pp = &e->next)
		if (strcmp(e->serial, serial) == 0) {
			*pp = e->next;
			free(e);
			c->n--;
			return;
		}
}

/* See api_int.h. */
void
api_cert_cache_put(struct api_cert_cache *c, const char *serial,
    const char *text, size_t len, time_t until)
{
	struct api_cache_ent *e;
	size_t h, slen = strlen(serial);

	if (c == NULL || slen >= sizeof(e->serial) || len > API_CACHE_TEXT_MAX)
		return;
	api_cert_cache_forget(c, serial);
	if (c->n >= c->max)
		api_cache_clear(c);
	if ((e = malloc(sizeof(*e) + len + 1)) == NULL)
		return;			/* not kept: answered anyway */
	memcpy(e->serial, serial, slen + 1);
	memcpy(e->text, text, len);
	e->text[len] = '\0';
	e->len = len;
	e->until = until;
	h = api_cache_hash(c, serial);
	e->next = c->b[h];
	c->b[h] = e;
	c->n++;
}
