/*
 * vstore.c: the validator's persistent state (daemon.h) as JSON, kept in
 * its SQLite file's meta table under VD_STATE_KEY, and its key file.
 *
 * JSON rather than the struct's bytes: a rebuilt binary (another
 * VCORE_EVIDENCE_MAX, another compiler) still reads it, and `validator
 * status` and an operator with sqlite3 can read it too.  Sizes are
 * decimal strings (a uint64_t is past JSON's safe integers).
 */
#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/pem.h>

#include "ledger/replay.h"
#include "validator/daemon.h"

#define STATE_VERSION	1
#define HASH_B64_MAX	48

#define ERR(...)	snprintf(err, errlen, __VA_ARGS__)

/* A new JSON string of base64(h), or NULL. */
static json_t *
b64_json(const uint8_t h[LEDGER_HASH_LEN])
{
	char b[HASH_B64_MAX];

	if (ledger_b64_encode(h, LEDGER_HASH_LEN, b, sizeof(b)) != 0)
		return NULL;
	return json_string(b);
}

/* A new JSON string of a uint64_t in decimal, or NULL. */
static json_t *
u64_json(uint64_t v)
{
	char b[24];

	snprintf(b, sizeof(b), "%" PRIu64, v);
	return json_string(b);
}

char *
vd_state_to_json(const struct vcore_state *st, const struct vd_meta *m)
{
	json_t *j = NULL, *fr = NULL, *ev = NULL, *e;
	char *out = NULL;
	size_t i;

	if ((fr = json_array()) == NULL || (ev = json_array()) == NULL)
		goto out;
	for (i = 0; i < VCORE_FRONTIER_MAX; i++)
		/* json_array_append_new steals, also on failure */
		if (json_array_append_new(fr, ((st->size >> i) & 1) ?
		    b64_json(st->frontier[i]) : json_string("")) != 0)
			goto out;
	for (i = 0; i < st->nevidence && i < VCORE_EVIDENCE_MAX; i++) {
		e = json_pack("{s:o,s:s,s:s}", "size",
		    u64_json(st->evidence[i].size), "cosigned",
		    st->evidence[i].cosigned, "offered",
		    st->evidence[i].offered);
		if (e == NULL || json_array_append_new(ev, e) != 0)
			goto out;
	}
	/* "o" steals fr and ev, also when json_pack fails */
	j = json_pack("{s:i,s:s,s:s,s:s,s:o,s:o,s:I,s:s,s:o,s:I,s:I,s:o,"
	    "s:o,s:s,s:I,s:o}",
	    "version", STATE_VERSION,
	    "mode", st->mode == VCORE_WITNESS ? "witness" : "validator",
	    "name", st->name, "origin", st->origin,
	    "size", u64_json(st->size), "root", b64_json(st->root),
	    "checkpoint_time", (json_int_t)st->cp_time,
	    "checkpoint", st->checkpoint,
	    "frontier", fr,
	    "max_past", (json_int_t)st->max_past,
	    "max_future", (json_int_t)st->max_future,
	    "evidence", ev,
	    "equivocations", u64_json(st->equivocations),
	    "last_refusal", st->last_refusal,
	    "last_refusal_at", (json_int_t)m->last_refusal_at,
	    "refusals", u64_json(m->refusals));
	fr = ev = NULL;
	if (j != NULL)
		out = json_dumps(j, JSON_COMPACT);
out:
	json_decref(fr);
	json_decref(ev);
	json_decref(j);
	return out;
}

/* A decimal string member into *v.  0 or -1. */
static int
get_u64(json_t *o, const char *k, uint64_t *v)
{
	const char *s = json_string_value(json_object_get(o, k));
	char *end;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno != 0 || *end != '\0' ? -1 : 0;
}

/* A base64 hash (or "" when allow_empty) into h.  0 or -1. */
static int
get_hash(json_t *s, uint8_t h[LEDGER_HASH_LEN], int allow_empty)
{
	const char *t = json_string_value(s);

	if (t == NULL)
		return -1;
	if (*t == '\0')
		return allow_empty ? 0 : -1;
	return ledger_b64_decode(t, strlen(t), h, LEDGER_HASH_LEN) ==
	    LEDGER_HASH_LEN ? 0 : -1;
}

/* A string member into dst[0..cap).  0 or -1 (absent, too long). */
static int
get_str(json_t *o, const char *k, char *dst, size_t cap)
{
	const char *s = json_string_value(json_object_get(o, k));

	if (s == NULL || strlen(s) >= cap)
		return -1;
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

/* The evidence array into st.  0 or -1. */
static int
get_evidence(json_t *ev, struct vcore_state *st)
{
	struct vcore_evidence *e;
	json_t *x;
	size_t i;

	if (!json_is_array(ev) || json_array_size(ev) > VCORE_EVIDENCE_MAX)
		return -1;
	json_array_foreach(ev, i, x) {
		e = &st->evidence[i];
		if (get_u64(x, "size", &e->size) != 0 ||
		    get_str(x, "cosigned", e->cosigned,
		    sizeof(e->cosigned)) != 0 ||
		    get_str(x, "offered", e->offered, sizeof(e->offered)) != 0)
			return -1;
	}
	st->nevidence = json_array_size(ev);
	return 0;
}

int
vd_state_from_json(const char *text, struct vcore_state *st,
    struct vd_meta *m, char *err, size_t errlen)
{
	json_error_t je;
	json_t *j, *fr;
	const char *mode;
	size_t i;
	int rc = -1;

	memset(st, 0, sizeof(*st));
	memset(m, 0, sizeof(*m));
	if ((j = json_loads(text, 0, &je)) == NULL) {
		ERR("the state is not JSON: %s", je.text);
		return -1;
	}
	if (json_integer_value(json_object_get(j, "version")) != STATE_VERSION) {
		ERR("the state is not of version %d", STATE_VERSION);
		goto out;
	}
	mode = json_string_value(json_object_get(j, "mode"));
	fr = json_object_get(j, "frontier");
	if (mode == NULL || (strcmp(mode, "witness") != 0 &&
	    strcmp(mode, "validator") != 0) ||
	    get_str(j, "name", st->name, sizeof(st->name)) != 0 ||
	    get_str(j, "origin", st->origin, sizeof(st->origin)) != 0 ||
	    get_u64(j, "size", &st->size) != 0 ||
	    get_hash(json_object_get(j, "root"), st->root, 0) != 0 ||
	    get_str(j, "checkpoint", st->checkpoint,
	    sizeof(st->checkpoint)) != 0 ||
	    get_str(j, "last_refusal", st->last_refusal,
	    sizeof(st->last_refusal)) != 0 ||
	    get_u64(j, "equivocations", &st->equivocations) != 0 ||
	    get_u64(j, "refusals", &m->refusals) != 0 ||
	    !json_is_array(fr) || json_array_size(fr) != VCORE_FRONTIER_MAX ||
	    get_evidence(json_object_get(j, "evidence"), st) != 0) {
		ERR("the state lacks a field or has a bad one");
		goto out;
	}
	st->mode = strcmp(mode, "witness") == 0 ? VCORE_WITNESS :
	    VCORE_VALIDATOR;
	for (i = 0; i < VCORE_FRONTIER_MAX; i++)
		if (get_hash(json_array_get(fr, i), st->frontier[i],
		    !((st->size >> i) & 1)) != 0) {
			ERR("the state's frontier is not its size's");
			goto out;
		}
	st->cp_time = (time_t)json_integer_value(json_object_get(j,
	    "checkpoint_time"));
	st->max_past = json_integer_value(json_object_get(j, "max_past"));
	st->max_future = json_integer_value(json_object_get(j, "max_future"));
	m->last_refusal_at = (time_t)json_integer_value(json_object_get(j,
	    "last_refusal_at"));
	rc = 0;
out:
	json_decref(j);
	return rc;
}

int
vd_state_read(const struct vd_config *c, struct vcore_state *st,
    struct vd_meta *m, char *err, size_t errlen)
{
	char *text = malloc(VD_STATE_JSON_MAX);
	char why[256];
	int rc = -1, r;

	if (text == NULL) {
		ERR("out of memory");
		return -1;
	}
	r = ledger_replay_meta_read(c->db_path, VD_STATE_KEY, text,
	    VD_STATE_JSON_MAX, why, sizeof(why));
	if (r == 1)
		ERR("%s holds no validator state", c->db_path);
	else if (r != 0)
		ERR("%s", why);
	else if (vd_state_from_json(text, st, m, why, sizeof(why)) != 0)
		ERR("%s: %s", c->db_path, why);
	else
		rc = 0;
	free(text);
	return rc;
}

EVP_PKEY *
vd_key_load(const char *path, char *err, size_t errlen)
{
	EVP_PKEY *k;

	/* ledger_key_load refuses a key file group or others can read */
	if ((k = ledger_key_load(path, err, errlen)) == NULL)
		return NULL;
	if (EVP_PKEY_get_base_id(k) != EVP_PKEY_ED25519) {
		ERR("%s is not an Ed25519 key (cosignature/v1 needs one)", path);
		EVP_PKEY_free(k);
		return NULL;
	}
	return k;
}
