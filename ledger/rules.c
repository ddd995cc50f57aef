/*
 * rules.c: the rules of the ledger, applied on every append and on replay.
 *
 * One function decides whether an entry may join the log and applies its
 * effect on the registry: the daemon's group commit, the CLI's offline
 * append and the auditor's replay all go through ledger_rules_apply(), so
 * the three can never disagree.  The rules (docs/design.md "The trust rule"):
 *
 *  - the entry is signed by at least `threshold` distinct keys of its
 *    account, and every signature line by that account verifies; a key
 *    signs one line only (wave-2 entries: duplicate_signature);
 *  - seq is greater than the account's last seq (a replayed or older entry
 *    fails; gaps are allowed so a submitter may have several entries in
 *    flight and one refusal does not invalidate the rest);
 *  - the entry's time is within LEDGER_MAX_SKEW ahead / LEDGER_MAX_AGE
 *    behind the ledger time of the block that takes it;
 *  - the account's role allows the entry type;
 *  - an entry dated from LEDGER_RULES_V2_TIME on names the ledger's origin
 *    (an entry signed for one ledger cannot be replayed into another);
 *  - account keys are usable (ledger_account_key_parse: no small-order
 *    Ed25519 point);
 *  - a registered key is in its one canonical encoding (ledger_spki_check)
 *    and (its SPKI hash, the key id) is registered once, ever;
 *  - only the registering account revokes a key; a revoked key stays so;
 *  - certificates are recorded only for active keys inside their window,
 *    of the key's own profile;
 *  - a key has at most one current certificate per profile: a new one
 *    names the current one in `supersedes`, which it revokes (wave-2
 *    entries, ledger_rules_v2); a certificate of another key is
 *    superseded only when that key is the same device.
 *
 * Whether a key may get a certificate is decided in one function,
 * rules_may_issue (rules_cert.c): for cert-issued entries, and for the
 * bridge before it signs one (ledger_check_issue, read-only).  est/ checks
 * only the CSR's own request against the registration the bridge shows it.
 * This file has the entry's common checks and the accounts' and keys'
 * rules; rules_cert.c the certificates'.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/x509.h>

#include "common/spki.h"
#include "ledger/rules_int.h"

/* Signature check: distinct keys of `keys` (base64 SPKI) that signed. */
static enum ledger_status
rules_signatures(struct ledger_store *s, const struct ledger_entry *e,
    const char *name, char keys[][128], int nkeys, int threshold, char *why,
    size_t whylen)
{
	uint8_t kh[LEDGER_MAX_ACCT_KEYS][4];
	int used[LEDGER_MAX_ACCT_KEYS] = { 0 }, valid = 0;

	/* Every key must be usable, and its key hash selects the signature
	 * lines to try.  The cache is looked up by content again when
	 * verifying, so two keys sharing a slot only cost a re-parse. */
	for (int i = 0; i < nkeys; i++)
		if (ledger_keycache_get(s->keys, name, keys[i], kh[i]) ==
		    NULL) {
			snprintf(why, whylen, "account %s has an unusable key",
			    name);
			return LEDGER_ERR_MALFORMED;
		}
	for (size_t n = 0; n < e->nsigs; n++) {
		const struct ledger_note_sig *sig = &e->sigs[n];
		int matched = 0;

		if (strcmp(sig->name, name) != 0) {
			snprintf(why, whylen, "signature line %zu is by \"%s\", "
			    "not by the entry's account %s", n + 1, sig->name,
			    name);
			return LEDGER_ERR_SIGNATURE;
		}
		for (int i = 0; i < nkeys && !matched; i++) {
			if (memcmp(kh[i], sig->key_hash, 4) != 0)
				continue;
			if (ledger_keycache_verify(s->keys, name, keys[i],
			    e->text, e->body_len, sig) == 0) {
				matched = 1;
				/* One line per key (wave-2 entries): a second
				 * line of the same key, the same bytes again or
				 * another ECDSA signature, would store the same
				 * content under another leaf hash. */
				if (used[i] && ledger_rules_v2(e)) {
					snprintf(why, whylen, "signature line "
					    "%zu is a second signature by key "
					    "%d of account %s: one line per "
					    "key", n + 1, i + 1, name);
					return LEDGER_ERR_DUPLICATE_SIGNATURE;
				}
				if (!used[i]) {
					used[i] = 1;
					valid++;
				}
			}
		}
		if (!matched) {
			snprintf(why, whylen, "signature line %zu does not "
			    "verify with any key of account %s", n + 1, name);
			return LEDGER_ERR_SIGNATURE;
		}
	}
	if (valid < threshold) {
		snprintf(why, whylen, "%d valid signature%s of account %s, %d "
		    "required", valid, valid == 1 ? "" : "s", name, threshold);
		return LEDGER_ERR_THRESHOLD;
	}
	return LEDGER_OK;
}

/* Fills an account row from an account-create/update entry. */
static enum ledger_status
rules_account_fields(const struct ledger_entry *e,
    struct ledger_account_info *a, char *why, size_t whylen)
{
	const char *keys[LEDGER_MAX_ACCT_KEYS];
	size_t n = ledger_entry_all(e, "pubkey", keys, LEDGER_MAX_ACCT_KEYS);

	snprintf(a->name, sizeof(a->name), "%s", ledger_entry_get(e, "name"));
	a->threshold = atoi(ledger_entry_get(e, "threshold"));
	a->nkeys = (int)n;
	for (size_t i = 0; i < n; i++) {
		char kwhy[128];
		EVP_PKEY *pk = ledger_account_key_parse(keys[i], kwhy,
		    sizeof(kwhy));

		if (pk == NULL || strlen(keys[i]) >= sizeof(a->keys[i])) {
			EVP_PKEY_free(pk);
			snprintf(why, whylen, "pubkey %zu %s", i + 1, pk == NULL ?
			    kwhy : "is too long");
			return LEDGER_ERR_MALFORMED;
		}
		EVP_PKEY_free(pk);
		for (size_t j = 0; j < i; j++)
			if (strcmp(keys[i], keys[j]) == 0) {
				snprintf(why, whylen, "pubkey %zu repeats "
				    "pubkey %zu", i + 1, j + 1);
				return LEDGER_ERR_MALFORMED;
			}
		snprintf(a->keys[i], sizeof(a->keys[i]), "%s", keys[i]);
	}
	if (a->threshold > a->nkeys) {
		snprintf(why, whylen, "threshold %d is more than the %d keys",
		    a->threshold, a->nkeys);
		return LEDGER_ERR_MALFORMED;
	}
	return LEDGER_OK;
}

static enum ledger_status
rules_account_create(struct ledger_store *s, const struct ledger_entry *e,
    uint64_t index, char *why, size_t whylen)
{
	struct ledger_account_info a;
	enum ledger_status st;
	int rc;

	memset(&a, 0, sizeof(a));
	if ((st = rules_account_fields(e, &a, why, whylen)) != LEDGER_OK)
		return st;
	snprintf(a.role, sizeof(a.role), "%s", ledger_entry_get(e, "role"));
	a.created_index = index;
	/* The account an entry creates for itself has done its first seq. */
	a.seq = strcmp(a.name, e->account) == 0 ? e->seq : 0;
	if ((rc = s->ops->account_get(s, a.name, &(struct ledger_account_info)
	    { 0 })) < 0)
		goto storage;
	if (rc == 0) {
		snprintf(why, whylen, "account %s exists", a.name);
		return LEDGER_ERR_ACCOUNT_EXISTS;
	}
	if (s->ops->account_put(s, &a) != 0)
		goto storage;
	return LEDGER_OK;
storage:
	snprintf(why, whylen, "storage: %s", s->ops->errmsg(s));
	return LEDGER_ERR_STORAGE;
}

static enum ledger_status
rules_account_update(struct ledger_store *s, const struct ledger_entry *e,
    struct ledger_account_info *actor, char *why, size_t whylen)
{
	struct ledger_account_info a = *actor;
	enum ledger_status st;

	/* An account changes only its own keys and threshold, signed by its
	 * current keys: an admin cannot take another account over. */
	if (strcmp(ledger_entry_get(e, "name"), e->account) != 0) {
		snprintf(why, whylen, "account %s may update only itself",
		    e->account);
		return LEDGER_ERR_PERMISSION;
	}
	memset(a.keys, 0, sizeof(a.keys));
	if ((st = rules_account_fields(e, &a, why, whylen)) != LEDGER_OK)
		return st;
	if (s->ops->account_put(s, &a) != 0) {
		snprintf(why, whylen, "storage: %s", s->ops->errmsg(s));
		return LEDGER_ERR_STORAGE;
	}
	return LEDGER_OK;
}

/* Same lists, same order. */
static int
rules_same_names(const char *a, size_t wa, int na, const char *b, size_t wb,
    int nb)
{
	if (na != nb)
		return 0;
	for (int i = 0; i < na; i++)
		if (strcmp(a + (size_t)i * wa, b + (size_t)i * wb) != 0)
			return 0;
	return 1;
}

/* See rules_int.h. */
enum ledger_status
rules_preauth_usable(struct ledger_store *s, const char *id, time_t now,
    struct ledger_preauth_info *pa, char *why, size_t whylen)
{
	int rc = s->ops->preauth_get(s, id, pa);

	if (rc < 0) {
		snprintf(why, whylen, "storage: %s", s->ops->errmsg(s));
		return LEDGER_ERR_STORAGE;
	}
	if (rc == 1)
		snprintf(why, whylen, "no pre-authorisation %s", id);
	else if (pa->used_key[0] != '\0')
		snprintf(why, whylen, "pre-authorisation %s was used already "
		    "(at entry %llu)", id, (unsigned long long)pa->used_index);
	else if (now > pa->expires)
		snprintf(why, whylen, "pre-authorisation %s has expired", id);
	else
		return LEDGER_OK;
	return LEDGER_ERR_PREAUTH;
}

/* The pre-authorisation `id` must be usable and fix exactly what the
 * registration k says. */
static enum ledger_status
rules_preauth_match(struct ledger_store *s, const char *id,
    const struct ledger_key_info *k, time_t now,
    struct ledger_preauth_info *pa, char *why, size_t whylen)
{
	enum ledger_status st = rules_preauth_usable(s, id, now, pa, why,
	    whylen);

	if (st != LEDGER_OK)
		return st;
	if (strcmp(pa->name, k->name) != 0 ||
	    strcmp(pa->profile, k->profile) != 0 ||
	    pa->not_before != k->not_before || pa->not_after != k->not_after ||
	    !rules_same_names(&pa->dns[0][0], sizeof(pa->dns[0]), pa->ndns,
	    &k->dns[0][0], sizeof(k->dns[0]), k->ndns) ||
	    !rules_same_names(&pa->ip[0][0], sizeof(pa->ip[0]), pa->nip,
	    &k->ip[0][0], sizeof(k->ip[0]), k->nip) ||
	    !rules_same_names(&pa->groups[0][0], sizeof(pa->groups[0]),
	    pa->ngroups, &k->groups[0][0], sizeof(k->groups[0]),
	    k->ngroups)) {
		snprintf(why, whylen, "the registration differs from "
		    "pre-authorisation %s", id);
		return LEDGER_ERR_PREAUTH;
	}
	return LEDGER_OK;
}

/* The config-group lines of a registration or a pre-authorisation of
 * profile `profile` into groups[0..*n) (entry.c bounds their count and
 * syntax): each group once, and only for a device key, the one profile
 * whose certificate reads configurations as a device (bridge/api
 * "device access").  0, or -1 with why. */
static int
rules_groups(const struct ledger_entry *e, const char *profile,
    char groups[][LEDGER_NAME_MAX + 1], int *n, char *why, size_t whylen)
{
	const char *g[LEDGER_MAX_CONFIG_GROUPS];

	*n = (int)ledger_entry_all(e, "config-group", g,
	    LEDGER_MAX_CONFIG_GROUPS);
	if (*n > 0 && strcmp(profile, "device") != 0) {
		snprintf(why, whylen, "config-group is for device keys, not "
		    "profile %s", profile);
		return -1;
	}
	for (int i = 0; i < *n; i++) {
		for (int j = 0; j < i; j++)
			if (strcmp(g[i], g[j]) == 0) {
				snprintf(why, whylen, "config-group %s is "
				    "named twice", g[i]);
				return -1;
			}
		snprintf(groups[i], sizeof(groups[i]), "%s", g[i]);
	}
	return 0;
}

/* An admin pre-authorises the bridge to register one generated key. */
static enum ledger_status
rules_key_preauth(struct ledger_store *s, const struct ledger_entry *e,
    uint64_t index, time_t now, char *why, size_t whylen)
{
	struct ledger_preauth_info *pa = calloc(1, sizeof(*pa));
	const char *names[LEDGER_MAX_SANS];
	enum ledger_status st = LEDGER_OK;
	int rc;

	if (pa == NULL)
		RULES_FAIL(LEDGER_ERR_STORAGE, "out of memory");
	snprintf(pa->id, sizeof(pa->id), "%s", ledger_entry_get(e,
	    "preauth-id"));
	snprintf(pa->account, sizeof(pa->account), "%s", e->account);
	snprintf(pa->name, sizeof(pa->name), "%s", ledger_entry_get(e, "name"));
	snprintf(pa->profile, sizeof(pa->profile), "%s",
	    ledger_entry_get(e, "profile"));
	pa->ndns = (int)ledger_entry_all(e, "dns", names, LEDGER_MAX_SANS);
	for (int i = 0; i < pa->ndns; i++)
		snprintf(pa->dns[i], sizeof(pa->dns[i]), "%s", names[i]);
	pa->nip = (int)ledger_entry_all(e, "ip", names, LEDGER_MAX_SANS);
	for (int i = 0; i < pa->nip; i++)
		snprintf(pa->ip[i], sizeof(pa->ip[i]), "%s", names[i]);
	ledger_time_parse(ledger_entry_get(e, "not-before"), &pa->not_before);
	ledger_time_parse(ledger_entry_get(e, "not-after"), &pa->not_after);
	ledger_time_parse(ledger_entry_get(e, "expires"), &pa->expires);
	snprintf(pa->secret_sha256, sizeof(pa->secret_sha256), "%s",
	    ledger_entry_get(e, "secret-sha256"));
	pa->created_index = index;
	if (rules_groups(e, pa->profile, pa->groups, &pa->ngroups, why,
	    whylen) != 0) {
		st = LEDGER_ERR_MALFORMED;
		goto out;
	}
	if (pa->not_after <= pa->not_before || pa->not_after <= now)
		RULES_FAIL(LEDGER_ERR_WINDOW, "the key's window is empty or "
		    "over");
	if (pa->expires <= now)
		RULES_FAIL(LEDGER_ERR_WINDOW, "the pre-authorisation expires "
		    "before the ledger time");
	if ((rc = s->ops->preauth_get(s, pa->id,
	    &(struct ledger_preauth_info){ 0 })) < 0 ||
	    (rc == 1 && s->ops->preauth_put(s, pa) != 0))
		RULES_FAIL(LEDGER_ERR_STORAGE, "storage: %s",
		    s->ops->errmsg(s));
	if (rc == 0)
		RULES_FAIL(LEDGER_ERR_PREAUTH_EXISTS, "pre-authorisation %s "
		    "exists", pa->id);
out:
	free(pa);
	return st;
}

/* Step 1 of a key-register: the SPKI must be base64 DER of one
 * SubjectPublicKeyInfo in its canonical encoding, and key-id its SHA-256.
 * Sets *pk (the caller frees it) and id. */
static enum ledger_status
rules_key_spki(const struct ledger_entry *e, EVP_PKEY **pk,
    char id[LEDGER_KEYID_LEN + 1], char *why, size_t whylen)
{
	const char *spki = ledger_entry_get(e, "spki");
	size_t sl = strlen(spki);
	enum ledger_status st = LEDGER_OK;
	uint8_t *der = NULL;
	const unsigned char *p;
	char kwhy[160];
	int len;

	*pk = NULL;
	if (sl >= sizeof(((struct ledger_key_info *)0)->spki) ||
	    (der = malloc(sl)) == NULL ||
	    (len = ledger_b64_decode(spki, sl, der, sl)) <= 0)
		RULES_FAIL(LEDGER_ERR_MALFORMED, "spki is not base64 DER");
	/* An EC P-256 or P-384 key in its one DER encoding is read without
	 * OpenSSL 3.0's decoder and encoder (common/spki.h: they cost the
	 * writer more than the entry's signature check); any other key, or
	 * encoding, the slow way below, which refuses what it must. */
	if ((*pk = spki_ec_read(der, (size_t)len)) != NULL)
		goto key_id;
	p = der;
	if ((*pk = d2i_PUBKEY(NULL, &p, len)) == NULL || p != der + len)
		RULES_FAIL(LEDGER_ERR_MALFORMED, "spki is not a "
		    "SubjectPublicKeyInfo");
	/* One key, one encoding: a BER variant of the same key (long-form
	 * lengths, say), its EC point compressed or hybrid, or its curve
	 * spelt out as explicit parameters would hash to another key id and
	 * slip past "a key is registered once, ever".  Every entry, v1 too:
	 * no honest ledger holds a second encoding of a key. */
	if (ledger_spki_check(*pk, der, (size_t)len, kwhy, sizeof(kwhy)) != 0)
		RULES_FAIL(LEDGER_ERR_KEY_NOT_CANONICAL, "spki is not the "
		    "canonical encoding of its key: %s", kwhy);
key_id:
	ledger_spki_key_id(der, (size_t)len, id);
	if (strcmp(id, ledger_entry_get(e, "key-id")) != 0)
		RULES_FAIL(LEDGER_ERR_MALFORMED, "key-id is not the SHA-256 "
		    "of spki (%s)", id);
out:
	free(der);
	return st;
}

/* Step 2: a CSR, when the entry carries one, is the proof of possession:
 * one PKCS#10 request whose signature verifies, for the key pk. */
static enum ledger_status
rules_key_csr(const struct ledger_entry *e, EVP_PKEY *pk, char *why,
    size_t whylen)
{
	const char *csr = ledger_entry_get(e, "csr");
	enum ledger_status st = LEDGER_OK;
	uint8_t *der = NULL;
	const unsigned char *p;
	X509_REQ *req = NULL;
	size_t cl;
	int n;

	if (csr == NULL)
		return LEDGER_OK;
	cl = strlen(csr);
	if ((der = malloc(cl)) == NULL ||
	    (n = ledger_b64_decode(csr, cl, der, cl)) <= 0)
		RULES_FAIL(LEDGER_ERR_MALFORMED, "csr is not base64");
	p = der;
	if ((req = d2i_X509_REQ(NULL, &p, n)) == NULL || p != der + n)
		RULES_FAIL(LEDGER_ERR_MALFORMED, "csr is not a PKCS#10 request");
	if (X509_REQ_verify(req, X509_REQ_get0_pubkey(req)) != 1)
		RULES_FAIL(LEDGER_ERR_MALFORMED, "csr signature does not "
		    "verify");
	if (EVP_PKEY_eq(X509_REQ_get0_pubkey(req), pk) != 1)
		RULES_FAIL(LEDGER_ERR_MALFORMED, "csr is for another key than "
		    "spki");
out:
	X509_REQ_free(req);
	free(der);
	return st;
}

/* Step 3: the registration k the entry makes (key id k->key_id set by the
 * caller): who may register it, its name, profile, names and window, which
 * must be sane and not already over at ledger time now. */
static enum ledger_status
rules_key_fields(const struct ledger_entry *e,
    const struct ledger_account_info *actor, uint64_t index, time_t now,
    struct ledger_key_info *k, char *why, size_t whylen)
{
	const char *preauth = ledger_entry_get(e, "preauth");
	const char *names[LEDGER_MAX_SANS];

	/* The bridge registers only keys it generated under an admin's
	 * pre-authorisation, which then owns the key; admins never cite one. */
	if ((strcmp(actor->role, "bridge") == 0) != (preauth != NULL)) {
		snprintf(why, whylen, "%s", preauth != NULL ?
		    "only the bridge registers a key under a pre-authorisation" :
		    "the bridge registers keys only under a pre-authorisation");
		return LEDGER_ERR_PERMISSION;
	}
	snprintf(k->account, sizeof(k->account), "%s", e->account);
	snprintf(k->name, sizeof(k->name), "%s", ledger_entry_get(e, "name"));
	snprintf(k->profile, sizeof(k->profile), "%s",
	    ledger_entry_get(e, "profile"));
	snprintf(k->spki, sizeof(k->spki), "%s", ledger_entry_get(e, "spki"));
	k->ndns = (int)ledger_entry_all(e, "dns", names, LEDGER_MAX_SANS);
	for (int i = 0; i < k->ndns; i++)
		snprintf(k->dns[i], sizeof(k->dns[i]), "%s", names[i]);
	k->nip = (int)ledger_entry_all(e, "ip", names, LEDGER_MAX_SANS);
	for (int i = 0; i < k->nip; i++)
		snprintf(k->ip[i], sizeof(k->ip[i]), "%s", names[i]);
	ledger_time_parse(ledger_entry_get(e, "not-before"), &k->not_before);
	ledger_time_parse(ledger_entry_get(e, "not-after"), &k->not_after);
	k->status = LEDGER_KEY_ACTIVE;
	k->registered_index = index;
	k->has_csr = ledger_entry_get(e, "csr") != NULL;
	if (rules_groups(e, k->profile, k->groups, &k->ngroups, why,
	    whylen) != 0)
		return LEDGER_ERR_MALFORMED;
	if (k->not_after <= k->not_before) {
		snprintf(why, whylen, "not-after is not after not-before");
		return LEDGER_ERR_WINDOW;
	}
	if (k->not_after <= now) {
		snprintf(why, whylen, "the validity window ended before the "
		    "ledger time");
		return LEDGER_ERR_WINDOW;
	}
	return LEDGER_OK;
}

/*
 * A key-register entry, step by step: the SPKI (rules_key_spki), the CSR
 * (rules_key_csr), the registration (rules_key_fields), the
 * pre-authorisation it cites, which must fix exactly that registration and
 * then owns the key (rules_preauth_match), and the key must never have been
 * registered.  Applying it stores the key and spends the slot.
 */
static enum ledger_status
rules_key_register(struct ledger_store *s, const struct ledger_entry *e,
    const struct ledger_account_info *actor, uint64_t index, time_t now,
    char *why, size_t whylen)
{
	const char *preauth = ledger_entry_get(e, "preauth");
	struct ledger_key_info *k = calloc(1, sizeof(*k));
	struct ledger_preauth_info *pa = NULL;
	enum ledger_status st = LEDGER_OK;
	EVP_PKEY *pk = NULL;
	int rc;

	if (k == NULL)
		RULES_FAIL(LEDGER_ERR_STORAGE, "out of memory");
	if ((st = rules_key_spki(e, &pk, k->key_id, why, whylen)) !=
	    LEDGER_OK || (st = rules_key_csr(e, pk, why, whylen)) !=
	    LEDGER_OK || (st = rules_key_fields(e, actor, index, now, k, why,
	    whylen)) != LEDGER_OK)
		goto out;
	if (preauth != NULL) {
		if ((pa = malloc(sizeof(*pa))) == NULL)
			RULES_FAIL(LEDGER_ERR_STORAGE, "out of memory");
		if ((st = rules_preauth_match(s, preauth, k, now, pa, why,
		    whylen)) != LEDGER_OK)
			goto out;
		snprintf(k->account, sizeof(k->account), "%s", pa->account);
	}
	if ((rc = s->ops->key_get(s, k->key_id, &(struct ledger_key_info)
	    { 0 }, NULL, 0)) < 0)
		RULES_FAIL(LEDGER_ERR_STORAGE, "storage: %s",
		    s->ops->errmsg(s));
	if (rc == 0)
		RULES_FAIL(LEDGER_ERR_DUPLICATE_KEY, "key %s is already "
		    "registered (a key is registered once, ever)", k->key_id);
	if (s->ops->key_put(s, k, ledger_entry_get(e, "csr")) != 0 ||
	    (preauth != NULL && s->ops->preauth_use(s, preauth, k->key_id,
	    index) != 0))
		RULES_FAIL(LEDGER_ERR_STORAGE, "storage: %s",
		    s->ops->errmsg(s));
	ledger_store_touch(s, LEDGER_MAP_KEY, k->key_id);
out:
	free(pa);
	free(k);
	EVP_PKEY_free(pk);
	return st;
}

/* See rules_int.h. */
enum ledger_status
rules_key_lookup(struct ledger_store *s, const struct ledger_entry *e,
    struct ledger_key_info *k, char *why, size_t whylen)
{
	const char *id = ledger_entry_get(e, "key-id");
	int rc = s->ops->key_get(s, id, k, NULL, 0);

	if (rc < 0) {
		snprintf(why, whylen, "storage: %s", s->ops->errmsg(s));
		return LEDGER_ERR_STORAGE;
	}
	if (rc == 1) {
		snprintf(why, whylen, "key %s is not registered", id);
		return LEDGER_ERR_UNKNOWN_KEY;
	}
	return LEDGER_OK;
}

static enum ledger_status
rules_key_revoke(struct ledger_store *s, const struct ledger_entry *e,
    uint64_t index, time_t now, char *why, size_t whylen)
{
	struct ledger_key_info k;
	enum ledger_status st;

	if ((st = rules_key_lookup(s, e, &k, why, whylen)) != LEDGER_OK)
		return st;
	if (strcmp(k.account, e->account) != 0) {
		snprintf(why, whylen, "key %s belongs to account %s; only it "
		    "may revoke the key", k.key_id, k.account);
		return LEDGER_ERR_NOT_OWNER;
	}
	if (k.status == LEDGER_KEY_REVOKED) {
		snprintf(why, whylen, "key %s was revoked at entry %llu",
		    k.key_id, (unsigned long long)k.revoked_index);
		return LEDGER_ERR_KEY_REVOKED;
	}
	if (s->ops->key_revoke(s, k.key_id, now,
	    ledger_reason_parse(ledger_entry_get(e, "reason")), index) != 0) {
		snprintf(why, whylen, "storage: %s", s->ops->errmsg(s));
		return LEDGER_ERR_STORAGE;
	}
	ledger_store_touch(s, LEDGER_MAP_KEY, k.key_id);
	return LEDGER_OK;
}

static enum ledger_status
rules_config_publish(struct ledger_store *s, const struct ledger_entry *e,
    uint64_t index, char *why, size_t whylen)
{
	const char *group = ledger_entry_get(e, "group");
	const char *version = ledger_entry_get(e, "version");
	const char *size = ledger_entry_get(e, "size");
	int rc;

	if ((rc = s->ops->config_exists(s, group, version)) < 0)
		goto storage;
	if (rc == 0) {
		snprintf(why, whylen, "group %s already has version %s", group,
		    version);
		return LEDGER_ERR_DUPLICATE_CONFIG;
	}
	if (s->ops->config_put(s, group, version,
	    ledger_entry_get(e, "sha256"),
	    size != NULL ? strtoll(size, NULL, 10) : -1,
	    ledger_entry_get(e, "file"), index) != 0)
		goto storage;
	return LEDGER_OK;
storage:
	snprintf(why, whylen, "storage: %s", s->ops->errmsg(s));
	return LEDGER_ERR_STORAGE;
}

/* Which role may write which entry type. */
static int
rules_role_allows(const char *role, enum ledger_entry_type t)
{
	if (t == LEDGER_ACCOUNT_UPDATE || t == LEDGER_CERT_REVOKED)
		return 1;
	if (strcmp(role, "bridge") == 0)
		return t == LEDGER_CERT_ISSUED || t == LEDGER_KEY_REGISTER;
	return t != LEDGER_CERT_ISSUED;		/* admin */
}

/* The genesis entry: at index 0 an account-create of itself, signed by the
 * keys it creates.  Nothing else may create itself. */
static enum ledger_status
rules_genesis(const struct ledger_entry *e, struct ledger_account_info *a,
    char *why, size_t whylen)
{
	enum ledger_status st;

	if (e->type != LEDGER_ACCOUNT_CREATE ||
	    strcmp(ledger_entry_get(e, "name"), e->account) != 0 ||
	    strcmp(ledger_entry_get(e, "role"), "admin") != 0 || e->seq != 1) {
		snprintf(why, whylen, "entry 0 must be the admin account "
		    "creating itself with seq 1");
		return LEDGER_ERR_MALFORMED;
	}
	memset(a, 0, sizeof(*a));
	if ((st = rules_account_fields(e, a, why, whylen)) != LEDGER_OK)
		return st;
	snprintf(a->role, sizeof(a->role), "admin");
	a->seq = 0;
	return LEDGER_OK;
}

/* An entry is for one ledger: from LEDGER_RULES_V2_TIME on it names the
 * ledger's origin (its checkpoints' first line), so that an entry signed
 * for one ledger cannot be replayed into another that shares an account
 * name and key.  Older entries replay without it. */
static enum ledger_status
rules_origin(struct ledger_store *s, const struct ledger_entry *e, char *why,
    size_t whylen)
{
	const char *origin = ledger_entry_get(e, "origin");

	if (!ledger_rules_v2(e))
		return LEDGER_OK;
	if (origin == NULL) {
		snprintf(why, whylen, "the entry names no origin: entries "
		    "dated from 2026-12-03 carry \"origin %s\"",
		    s->origin != NULL ? s->origin : "ORIGIN");
		return LEDGER_ERR_WRONG_ORIGIN;
	}
	if (s->origin == NULL || strcmp(origin, s->origin) != 0) {
		snprintf(why, whylen, "the entry is for ledger \"%s\", this is "
		    "\"%s\"", origin, s->origin != NULL ? s->origin : "");
		return LEDGER_ERR_WRONG_ORIGIN;
	}
	return LEDGER_OK;
}

enum ledger_status
ledger_rules_apply(struct ledger_store *s, const struct ledger_entry *e,
    uint64_t index, time_t now, char *why, size_t whylen)
{
	struct ledger_account_info actor;
	enum ledger_status st;
	int rc;

	if ((st = rules_origin(s, e, why, whylen)) != LEDGER_OK)
		return st;
	if (index == 0) {
		if ((st = rules_genesis(e, &actor, why, whylen)) != LEDGER_OK)
			return st;
	} else if ((rc = s->ops->account_get(s, e->account, &actor)) != 0) {
		if (rc < 0) {
			snprintf(why, whylen, "storage: %s", s->ops->errmsg(s));
			return LEDGER_ERR_STORAGE;
		}
		snprintf(why, whylen, "account %s does not exist", e->account);
		return LEDGER_ERR_UNKNOWN_ACCOUNT;
	}
	if ((st = rules_signatures(s, e, e->account, actor.keys, actor.nkeys,
	    actor.threshold, why, whylen)) != LEDGER_OK)
		return st;
	if (e->seq <= actor.seq) {
		snprintf(why, whylen, "seq %llu of account %s: must be above "
		    "%llu (a replayed or out-of-order entry)",
		    (unsigned long long)e->seq, e->account,
		    (unsigned long long)actor.seq);
		return LEDGER_ERR_SEQUENCE;
	}
	if (e->time > now + LEDGER_MAX_SKEW || e->time < now - LEDGER_MAX_AGE) {
		snprintf(why, whylen, "entry time is more than %ds ahead of or "
		    "%ds behind the ledger time", LEDGER_MAX_SKEW,
		    LEDGER_MAX_AGE);
		return LEDGER_ERR_TIME;
	}
	if (!rules_role_allows(actor.role, e->type)) {
		snprintf(why, whylen, "account %s (role %s) may not write %s "
		    "entries", e->account, actor.role,
		    ledger_entry_type_name(e->type));
		return LEDGER_ERR_PERMISSION;
	}
	/* Advance the actor's sequence first; the effect below may rewrite
	 * the same account (account-update) and must keep the new seq. */
	if (index != 0) {
		actor.seq = e->seq;
		if (s->ops->account_seq(s, actor.name, actor.seq) != 0) {
			snprintf(why, whylen, "storage: %s", s->ops->errmsg(s));
			return LEDGER_ERR_STORAGE;
		}
	}
	switch (e->type) {
	case LEDGER_ACCOUNT_CREATE:
		return rules_account_create(s, e, index, why, whylen);
	case LEDGER_ACCOUNT_UPDATE:
		return rules_account_update(s, e, &actor, why, whylen);
	case LEDGER_KEY_REGISTER:
		return rules_key_register(s, e, &actor, index, now, why,
		    whylen);
	case LEDGER_KEY_PREAUTH:
		return rules_key_preauth(s, e, index, now, why, whylen);
	case LEDGER_KEY_REVOKE:
		return rules_key_revoke(s, e, index, now, why, whylen);
	case LEDGER_CERT_ISSUED:
		return rules_cert_issued(s, e, index, now, why, whylen);
	case LEDGER_CERT_REVOKED:
		return rules_cert_revoked(s, e, &actor, index, now, why,
		    whylen);
	case LEDGER_CONFIG_PUBLISH:
		return rules_config_publish(s, e, index, why, whylen);
	}
	snprintf(why, whylen, "unknown entry type");
	return LEDGER_ERR_MALFORMED;
}
