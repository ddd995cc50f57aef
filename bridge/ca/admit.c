/*
 * admit.c: the CA signs only what the ledger committed (docs/design.md
 * "The CA signs only what the ledger committed"; issue 13).
 *
 * Before the CA key signs a certificate, the key's side is shown a signed
 * checkpoint, the cert-issued entry that records the TBSCertificate, and
 * the key-register entry of the certificate's key, each with its RFC 9162
 * inclusion proof in the checkpoint's tree.  ca_cert_admit checks, in
 * this order, and refuses at the first that fails:
 *
 *   1. the checkpoint is signed as the trust requires (c->checkpoint_ok:
 *      the node's checkpoint key today, a validator quorum later) and
 *      names our ledger's origin;
 *   2. the entry is not below c->min_index (each committed TBS is signed
 *      once; an old checkpoint cannot bring back an entry signed before);
 *   3. both entries are leaves of that tree at the indexes given (the
 *      bytes shown are the bytes committed: one byte changed and the
 *      leaf hash, hence the proof, no longer holds);
 *   4. they parse as the ledger parses them, for our origin: a cert-issued
 *      entry signed by our bridge account, from our issuer, carrying a
 *      tbs field, and a key-register entry of the same key id;
 *   5. the TBS passes the pre-issuance lint (ca_lint_tbs, lint.c) against
 *      what the registration says: its name, SANs, SPKI, window and
 *      profile, with the configured URLs and the profile's configured
 *      options (validity, policy, noRevAvail); nothing comes from the
 *      requester.
 *
 * Revocation after the commit is not re-checked here: the key process has
 * no registry, and a key revoked meanwhile revokes the certificate too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge/ca/ca.h"

#define ADMIT_SPKI_MAX 1600	/* registered keys: EC P-256/P-384, RSA,
				 * Ed25519 */

/* 0 when the first line of checkpoint note is exactly origin. */
static int
admit_origin(const char *note, const char *origin)
{
	size_t n = strlen(origin);

	return n > 0 && strncmp(note, origin, n) == 0 && note[n] == '\n' ?
	    0 : -1;
}

/* The registration in key-register entry reg as the lint wants it: name,
 * SANs, window, SPKI (into spki[0..ADMIT_SPKI_MAX)).  0, or -1 with why. */
static int
admit_want(const struct ledger_entry *reg, const struct ca_admit_ctx *c,
    struct est_names *names, uint8_t *spki, struct ca_profile *prof,
    struct ca_lint_want *w, char *why, size_t whylen)
{
	const char *dns[EST_MAX_NAMES], *ip[EST_MAX_NAMES], *b64;
	int n, profile;

	memset(w, 0, sizeof(*w));
	memset(names, 0, sizeof(*names));
	names->ndns = (int)ledger_entry_all(reg, "dns", dns, EST_MAX_NAMES);
	names->nip = (int)ledger_entry_all(reg, "ip", ip, EST_MAX_NAMES);
	for (int i = 0; i < names->ndns; i++)
		snprintf(names->dns[i], sizeof(names->dns[i]), "%s", dns[i]);
	for (int i = 0; i < names->nip; i++)
		snprintf(names->ip[i], sizeof(names->ip[i]), "%s", ip[i]);
	b64 = ledger_entry_get(reg, "spki");
	if ((profile = est_profile_parse(ledger_entry_get(reg, "profile"))) <
	    0 || (n = ledger_b64_decode(b64, strlen(b64), spki,
	    ADMIT_SPKI_MAX)) <= 0 ||
	    ledger_time_parse(ledger_entry_get(reg, "not-before"),
	    &w->key_not_before) != 0 ||
	    ledger_time_parse(ledger_entry_get(reg, "not-after"),
	    &w->key_not_after) != 0) {
		snprintf(why, whylen, "admit: the key-register entry is "
		    "unreadable");
		return -1;
	}
	/* The profile's options from the key process's configuration:
	 * validity, policy OID, noRevAvail (bridge/ca/profile.c). */
	if (ca_profile_get(c->cfg, (enum est_profile)profile, prof) != 0) {
		snprintf(why, whylen, "admit: the %s profile's options are "
		    "out of bounds", est_profile_name(profile));
		return -1;
	}
	w->prof = prof;
	w->issuer = c->issuer;
	w->profile = (enum est_profile)profile;
	w->cn = ledger_entry_get(reg, "name");
	w->names = names;
	w->spki = spki;
	w->spki_len = (size_t)n;
	w->now = c->now;
	w->ocsp_url = c->ocsp_url;
	w->ca_issuers_url = c->ca_issuers_url;
	w->crl_url = c->crl_url;
	return 0;
}

/* Step 4: what the two entries must say of each other and of us.  NULL,
 * or the refusal. */
static const char *
admit_entries(const struct ledger_entry *e, const struct ledger_entry *reg,
    const struct ca_admit_ctx *c)
{
	const char *eo = ledger_entry_get(e, "origin");
	const char *ro = ledger_entry_get(reg, "origin");

	if (ledger_entry_type_of(e) != LEDGER_CERT_ISSUED)
		return "the entry is not a cert-issued entry";
	if (ledger_entry_get(e, "tbs") == NULL)
		return "the cert-issued entry carries no tbs";
	if (ledger_entry_type_of(reg) != LEDGER_KEY_REGISTER)
		return "the registration is not a key-register entry";
	if (eo == NULL || strcmp(eo, c->origin) != 0 || ro == NULL ||
	    strcmp(ro, c->origin) != 0)
		return "an entry is for another ledger's origin";
	/* The ledger lets only bridge accounts sign cert-issued entries;
	 * of those, this CA signs its own bridge's. */
	if (c->account == NULL ||
	    strcmp(ledger_entry_account_of(e), c->account) != 0)
		return "the cert-issued entry is not signed by our bridge "
		    "account";
	if (strcmp(ledger_entry_get(e, "issuer"), c->issuer_id) != 0)
		return "the cert-issued entry names another issuer";
	if (strcmp(ledger_entry_get(e, "key-id"),
	    ledger_entry_get(reg, "key-id")) != 0)
		return "the key-register entry is not the certificate's key's";
	if (strcmp(ledger_entry_get(e, "profile"),
	    ledger_entry_get(reg, "profile")) != 0)
		return "the cert-issued entry's profile is not the key's";
	return NULL;
}

/* See ca.h. */
int
ca_cert_admit(const struct ca_cert_req *r, const struct ca_admit_ctx *c,
    uint8_t **tbs, size_t *tbslen, char *why, size_t whylen)
{
	struct ledger_entry *e = NULL, *reg = NULL;
	struct ca_lint_want w;
	struct ca_profile prof;
	struct est_names *names = NULL;
	uint8_t root[LEDGER_HASH_LEN], *spki = NULL, *der = NULL;
	uint64_t size = 0;
	const char *fail = NULL, *b64;
	char pwhy[256];
	int n, rc = -1;

	*tbs = NULL;
	*tbslen = 0;
	if (r->checkpoint == NULL || r->entry == NULL || r->reg == NULL) {
		snprintf(why, whylen, "admit: the request is incomplete");
		goto out;
	}
	/* 1. */
	if (c->checkpoint_ok(c->checkpoint_arg, r->checkpoint, &size, root,
	    pwhy, sizeof(pwhy)) != 0) {
		snprintf(why, whylen, "admit: checkpoint: %s", pwhy);
		goto out;
	}
	if (admit_origin(r->checkpoint, c->origin) != 0)
		fail = "the checkpoint is for another ledger's origin";
	/* 2. */
	else if (r->entry_index < c->min_index)
		fail = "the entry is older than the last one signed";
	/* 3. */
	else if (ledger_proof_entry(r->entry, strlen(r->entry),
	    r->entry_index, size, r->entry_proof, r->entry_nproof, root) != 0)
		fail = "the cert-issued entry is not in the checkpoint's tree";
	else if (ledger_proof_entry(r->reg, strlen(r->reg), r->reg_index,
	    size, r->reg_proof, r->reg_nproof, root) != 0)
		fail = "the key-register entry is not in the checkpoint's tree";
	if (fail != NULL) {
		snprintf(why, whylen, "admit: %s", fail);
		goto out;
	}
	/* 4. */
	if ((e = ledger_entry_new(r->entry, strlen(r->entry), pwhy,
	    sizeof(pwhy))) == NULL || (reg = ledger_entry_new(r->reg,
	    strlen(r->reg), pwhy, sizeof(pwhy))) == NULL) {
		snprintf(why, whylen, "admit: an entry does not parse: %s",
		    pwhy);
		goto out;
	}
	if ((fail = admit_entries(e, reg, c)) != NULL) {
		snprintf(why, whylen, "admit: %s", fail);
		goto out;
	}
	b64 = ledger_entry_get(e, "tbs");
	if ((der = malloc(LEDGER_CERT_DER_MAX)) == NULL ||
	    (n = ledger_b64_decode(b64, strlen(b64), der,
	    LEDGER_CERT_DER_MAX)) <= 0) {
		snprintf(why, whylen, "admit: the tbs field does not decode");
		goto out;
	}
	/* 5. */
	if ((names = malloc(sizeof(*names))) == NULL ||
	    (spki = malloc(ADMIT_SPKI_MAX)) == NULL) {
		snprintf(why, whylen, "admit: out of memory");
		goto out;
	}
	if (admit_want(reg, c, names, spki, &prof, &w, why, whylen) != 0 ||
	    ca_lint_tbs(der, (size_t)n, &w, why, whylen) != 0)
		goto out;
	*tbs = der;
	*tbslen = (size_t)n;
	der = NULL;
	rc = 0;
out:
	ledger_entry_free(e);
	ledger_entry_free(reg);
	free(der);
	free(spki);
	free(names);
	return rc;
}
