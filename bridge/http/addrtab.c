/*
 * addrtab.c: connections counted per client address (http.h), for the
 * per-address cap of the front door (limits.c).
 *
 * An open-addressing table with linear probing and backward-shift
 * deletion (no tombstones, so a long attack leaves no slow table behind),
 * sized once for the most addresses the global connection cap allows.
 * The hash is SipHash (libsodium's crypto_shorthash) under a random key:
 * a client choosing its addresses (an IPv6 /64 holds 2^64 of them) cannot
 * make them collide.  An IPv4 address is its IPv4-mapped IPv6 form; an
 * IPv6 address counts by its /64, the block one site gets, so a client
 * cannot dodge the cap by hopping addresses inside its own network.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "bridge/http/http.h"

struct addrtab_slot {
	unsigned char key[ADDRTAB_KEY];
	unsigned count;			/* 0: the slot is empty */
};

struct addrtab {
	struct addrtab_slot *slots;
	size_t mask;			/* slots - 1, a power of two minus 1 */
	size_t n;			/* addresses held */
	size_t max;			/* most addresses held */
	unsigned char hkey[crypto_shorthash_KEYBYTES];
};

struct addrtab *
addrtab_new(size_t max_addrs)
{
	struct addrtab *t;
	size_t cap = 16;

	if (max_addrs == 0 || max_addrs > ((size_t)1 << 28) ||
	    sodium_init() < 0)
		return NULL;
	/* at most half full: short probes */
	while (cap < 2 * max_addrs)
		cap <<= 1;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	if ((t->slots = calloc(cap, sizeof(*t->slots))) == NULL) {
		free(t);
		return NULL;
	}
	t->mask = cap - 1;
	t->max = max_addrs;
	randombytes_buf(t->hkey, sizeof(t->hkey));
	return t;
}

void
addrtab_free(struct addrtab *t)
{
	if (t == NULL)
		return;
	free(t->slots);
	free(t);
}

int
addrtab_key(const struct sockaddr *sa, unsigned char key[ADDRTAB_KEY])
{
	const struct sockaddr_in *s4;
	const struct sockaddr_in6 *s6;

	memset(key, 0, ADDRTAB_KEY);
	if (sa->sa_family == AF_INET) {
		s4 = (const struct sockaddr_in *)(const void *)sa;
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &s4->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		s6 = (const struct sockaddr_in6 *)(const void *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
			memcpy(key, &s6->sin6_addr, 16);
		else
			memcpy(key, &s6->sin6_addr, 8);	/* its /64 */
		return 0;
	}
	return -1;
}

/* The slot holding key, or the empty slot where it would go. */
static struct addrtab_slot *
addrtab_find(const struct addrtab *t, const unsigned char *key)
{
	unsigned char h[crypto_shorthash_BYTES];
	uint64_t v;
	size_t i;

	crypto_shorthash(h, key, ADDRTAB_KEY, t->hkey);
	memcpy(&v, h, sizeof(v));
	for (i = (size_t)v & t->mask;; i = (i + 1) & t->mask)
		if (t->slots[i].count == 0 ||
		    memcmp(t->slots[i].key, key, ADDRTAB_KEY) == 0)
			return &t->slots[i];
}

unsigned
addrtab_add(struct addrtab *t, const unsigned char key[ADDRTAB_KEY])
{
	struct addrtab_slot *s = addrtab_find(t, key);

	if (s->count == 0) {
		if (t->n >= t->max)
			return 0;
		memcpy(s->key, key, ADDRTAB_KEY);
		t->n++;
	}
	return ++s->count;
}

unsigned
addrtab_count(const struct addrtab *t, const unsigned char key[ADDRTAB_KEY])
{
	return addrtab_find(t, key)->count;
}

/* The home slot of the key in slot i. */
static size_t
addrtab_home(const struct addrtab *t, size_t i)
{
	unsigned char h[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(h, t->slots[i].key, ADDRTAB_KEY, t->hkey);
	memcpy(&v, h, sizeof(v));
	return (size_t)v & t->mask;
}

int
addrtab_del(struct addrtab *t, const unsigned char key[ADDRTAB_KEY])
{
	struct addrtab_slot *s = addrtab_find(t, key);
	size_t hole, i, home;

	if (s->count == 0)
		return -1;
	if (--s->count > 0)
		return 0;
	t->n--;
	/* Backward shift: move later members of the probe run into the
	 * hole when their home slot does not lie between hole and them. */
	hole = (size_t)(s - t->slots);
	for (i = (hole + 1) & t->mask; t->slots[i].count != 0;
	    i = (i + 1) & t->mask) {
		home = addrtab_home(t, i);
		if (((i - home) & t->mask) < ((i - hole) & t->mask))
			continue;	/* home in (hole, i]: stays */
		t->slots[hole] = t->slots[i];
		t->slots[i].count = 0;
		hole = i;
	}
	return 0;
}

size_t
addrtab_size(const struct addrtab *t)
{
	return t->n;
}
