/*
 * keyproc_fx.c: the key processes and the network process of
 * keyproc_fx.h.
 */
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "tests/bridge/keyproc/keyproc_fx.h"

#define KL_ERRLEN	512

void
keyproc_fx_init(struct keyproc_fx *k)
{
	char path[PATH_MAX];

	assert_int_equal(tbs_fx_setup(&k->fx), 0);
	/* The URLs of the want, as the key process derives them. */
	snprintf(k->fx.cfg.public_http_url, sizeof(k->fx.cfg.public_http_url),
	    "%s", KL_URL);
	k->bridge = ledger_key_generate("ed25519");
	k->node = ledger_key_generate("ed25519");
	assert_int_equal(ledger_key_save(k->bridge, config_path(&k->fx.cfg,
	    k->fx.cfg.bridge_key, path, sizeof(path))), 0);
	assert_int_equal(ledger_key_save(k->node, config_path(&k->fx.cfg,
	    k->fx.cfg.validator_key, path, sizeof(path))), 0);
}

void
keyproc_fx_open(struct keyproc_fx *k)
{
	char err[KL_ERRLEN] = "";

	if ((k->s = signer_open(&k->fx.cfg, err, sizeof(err))) == NULL)
		fail_msg("signer_open: %s", err);
	snprintf(k->ocsp_url, sizeof(k->ocsp_url), "%s/ocsp", KL_URL);
	snprintf(k->cai_url, sizeof(k->cai_url), "%s/ca/issuing.der", KL_URL);
	snprintf(k->crl_url, sizeof(k->crl_url), "%s/crl/%s.crl", KL_URL,
	    signer_issuer_id(k->s));
	k->fx.ocsp_url = k->ocsp_url;
	k->fx.ca_issuers_url = k->cai_url;
	k->fx.crl_url = k->crl_url;
}

void
keyproc_fx_fini(struct keyproc_fx *k)
{
	signer_free(k->s);
	EVP_PKEY_free(k->bridge);
	EVP_PKEY_free(k->node);
	tbs_fx_teardown(&k->fx);
}
/* A signed entry of type t by the bridge account (malloc'd). */
char *
keyproc_fx_entry(struct keyproc_fx *k, enum ledger_entry_type t, uint64_t seq,
    const struct ledger_field *fl, size_t n)
{
	char *note = ledger_entry_body(t, k->fx.cfg.bridge_account, seq,
	    time(NULL), k->fx.cfg.origin, fl, n);

	assert_non_null(note);
	assert_non_null(note = ledger_entry_sign(note,
	    k->fx.cfg.bridge_account, k->bridge));
	return note;
}

/* The key-register entry of t's want. */
char *
keyproc_fx_reg(struct keyproc_fx *k, const struct tbs_fx_tbs *t, char id[65])
{
	const struct ca_lint_want *w = &t->want;
	struct ledger_field fl[KL_NFIELDS];
	char spki[KL_B64_MAX], nb[21], na[21];
	size_t n = 0;

	assert_int_equal(ledger_b64_encode(w->spki, w->spki_len, spki,
	    sizeof(spki)), 0);
	ledger_spki_key_id(w->spki, w->spki_len, id);
	ledger_time_format(w->key_not_before, nb);
	ledger_time_format(w->key_not_after, na);
	fl[n++] = (struct ledger_field){ "key-id", id };
	fl[n++] = (struct ledger_field){ "spki", spki };
	fl[n++] = (struct ledger_field){ "name", w->cn };
	fl[n++] = (struct ledger_field){ "profile",
	    est_profile_name(w->profile) };
	for (int i = 0; i < w->names->ndns; i++)
		fl[n++] = (struct ledger_field){ "dns", w->names->dns[i] };
	for (int i = 0; i < w->names->nip; i++)
		fl[n++] = (struct ledger_field){ "ip", w->names->ip[i] };
	fl[n++] = (struct ledger_field){ "not-before", nb };
	fl[n++] = (struct ledger_field){ "not-after", na };
	return keyproc_fx_entry(k, LEDGER_KEY_REGISTER, 1, fl, n);
}

/* The cert-issued entry carrying t's TBS, whatever it holds. */
char *
keyproc_fx_cert(struct keyproc_fx *k, const struct tbs_fx_tbs *t, const char *id)
{
	struct ledger_field fl[7];
	char b64[KL_B64_MAX], nb[21], na[21];

	assert_int_equal(ledger_b64_encode(t->der, t->len, b64, sizeof(b64)),
	    0);
	ledger_time_format(t->want.now, nb);
	ledger_time_format(t->want.key_not_after, na);
	fl[0] = (struct ledger_field){ "serial", KL_SERIAL };
	fl[1] = (struct ledger_field){ "issuer", k->issuer_id != NULL ?
	    k->issuer_id : signer_issuer_id(k->s) };
	fl[2] = (struct ledger_field){ "key-id", id };
	fl[3] = (struct ledger_field){ "profile",
	    est_profile_name(t->want.profile) };
	fl[4] = (struct ledger_field){ "not-before", nb };
	fl[5] = (struct ledger_field){ "not-after", na };
	fl[6] = (struct ledger_field){ "tbs", b64 };
	return keyproc_fx_entry(k, LEDGER_CERT_ISSUED, 2, fl, 7);
}

int
keyproc_fx_sign(struct keyproc_fx *k, enum tbs_fx_case c,
    keyproc_fx_cosign_fn *cosign, void *arg, X509 **cert, char *why,
    size_t whylen)
{
	uint8_t ep[LEDGER_PROOF_MAX][LEDGER_HASH_LEN];
	uint8_t rp[LEDGER_PROOF_MAX][LEDGER_HASH_LEN];
	uint8_t leaf[LEDGER_HASH_LEN], root[LEDGER_HASH_LEN];
	struct ledger_merkle *m;
	struct ca_cert_req req;
	struct tbs_fx_tbs t;
	char id[65], body[512], note[4096], *reg, *entry, *cp;
	time_t now = time(NULL);
	int rc;

	k->fx.now = now;
	assert_int_equal(tbs_fx_build(&k->fx, c, &t), 0);
	reg = keyproc_fx_reg(k, &t, id);
	entry = keyproc_fx_cert(k, &t, id);
	assert_non_null(m = ledger_merkle_new());
	ledger_merkle_leaf_hash(reg, strlen(reg), leaf);
	assert_int_equal(ledger_merkle_append(m, leaf), 0);
	ledger_merkle_leaf_hash(entry, strlen(entry), leaf);
	assert_int_equal(ledger_merkle_append(m, leaf), 0);
	assert_int_equal(ledger_merkle_root(m, 2, root), 0);
	assert_int_equal(ledger_checkpoint_body(k->fx.cfg.origin, 2, root,
	    now, body, sizeof(body)), 0);
	assert_non_null(cp = ledger_entry_sign(strdup(body),
	    k->fx.cfg.validator_name, k->node));
	memset(&req, 0, sizeof(req));
	req.checkpoint = cp;
	if (cosign != NULL) {
		snprintf(note, sizeof(note), "%s", cp);
		cosign(arg, body, now, note, sizeof(note));
		req.checkpoint = note;
	}
	req.entry = entry;
	req.entry_index = 1;
	req.reg = reg;
	req.reg_index = 0;
	assert_int_equal(ledger_merkle_inclusion(m, 1, 2, ep,
	    &req.entry_nproof), 0);
	assert_int_equal(ledger_merkle_inclusion(m, 0, 2, rp,
	    &req.reg_nproof), 0);
	req.entry_proof = (const uint8_t (*)[LEDGER_HASH_LEN])ep;
	req.reg_proof = (const uint8_t (*)[LEDGER_HASH_LEN])rp;
	rc = signer_sign_committed(k->s, &req, cert, why, whylen);
	ledger_merkle_free(m);
	free(cp);
	free(reg);
	free(entry);
	tbs_fx_tbs_free(&t);
	return rc;
}

/* ---- test_keyproc*.c's key process (struct keyproc_fx_kp) ---- */

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int
save_key(struct keyproc_fx_kp *f, const char *rel)
{
	char path[PATH_MAX];
	EVP_PKEY *k = ledger_key_generate("ed25519");
	int rc;

	if (k == NULL)
		return -1;
	rc = ledger_key_save(k, config_path(&f->cfg, rel, path, sizeof(path)));
	EVP_PKEY_free(k);
	return rc;
}

int
keyproc_fx_group_setup(void **state)
{
	struct pki_init_opts o = { .name = "keybridge" };
	struct keyproc_fx_kp *f = calloc(1, sizeof(*f));
	char err[KL_ERRLEN] = "", path[PATH_MAX];
	uint8_t leaf[LEDGER_HASH_LEN];
	FILE *fp;

	log_verbosity = LOGL_ERR;
	*state = f;
	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/kb-test-keyproc-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	config_defaults(&f->cfg, f->dir);
	if (config_write(&f->cfg, config_path(&f->cfg, CONFIG_FILE, path,
	    sizeof(path))) != 0 ||
	    config_load(&f->cfg, f->dir, err, sizeof(err)) != 0 ||
	    pki_init(&f->cfg, &o, err, sizeof(err)) != 0 ||
	    save_key(f, f->cfg.bridge_key) != 0 ||
	    save_key(f, f->cfg.validator_key) != 0) {
		fprintf(stderr, "init %s: %s\n", f->dir, err);
		return -1;
	}
	if ((fp = fopen(config_path(&f->cfg, f->cfg.ca_root, path,
	    sizeof(path)), "r")) == NULL)
		return -1;
	f->root = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	if (f->root == NULL || (f->tree = ledger_merkle_new()) == NULL)
		return -1;
	for (int i = 0; i < KEYPROC_FX_NLEAVES; i++) {
		memset(leaf, i + 1, sizeof(leaf));
		if (ledger_merkle_append(f->tree, leaf) != 0)
			return -1;
	}
	return 0;
}

int
keyproc_fx_group_teardown(void **state)
{
	struct keyproc_fx_kp *f = *state;

	if (f != NULL) {
		X509_free(f->root);
		ledger_merkle_free(f->tree);
		if (f->dir[0] != '\0')
			nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	}
	free(f);
	return 0;
}

/* A key process and its signer. */
void
keyproc_fx_up(struct keyproc_fx_kp *f)
{
	char err[KL_ERRLEN] = "";

	f->kp = keyproc_start(&f->cfg, 0, err, sizeof(err));
	if (f->kp == NULL)
		fail_msg("keyproc_start: %s", err);
	if ((f->s = signer_new(f->kp, err, sizeof(err))) == NULL)
		fail_msg("signer_new: %s", err);
}

void
keyproc_fx_down(struct keyproc_fx_kp *f)
{
	signer_free(f->s);
	keyproc_free(f->kp);
	f->s = NULL;
	f->kp = NULL;
}

/* Each test starts a key process with no promise yet. */
int
keyproc_fx_setup(void **state)
{
	struct keyproc_fx_kp *f = *state;
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/%s", f->dir, KEYPROC_STATE_FILE);
	(void)unlink(path);
	keyproc_fx_up(f);
	f->chan = KEYPROC_CHAN_SPARE;
	return 0;
}

int
keyproc_fx_teardown(void **state)
{
	keyproc_fx_down(*state);
	return 0;
}

/* One request on f->chan (the spare channel unless a test says): 0
 * signed, -1 refused (why must contain want), -2 gone.  The answer is
 * freed. */
int
keyproc_fx_call(struct keyproc_fx_kp *f, enum keyproc_op op,
    struct keyproc_buf *req, const char *want)
{
	char why[KEYPROC_WHY_MAX] = "";
	uint8_t *ans = NULL;
	size_t len;
	int rc;

	rc = keyproc_call(f->kp, f->chan, op, req, &ans, &len, why,
	    sizeof(why));
	keyproc_buf_free(req);
	free(ans);
	if (rc == -1 && want != NULL && strstr(why, want) == NULL)
		fail_msg("refused for another reason: %s (want \"%s\")", why,
		    want);
	return rc;
}


/* A checkpoint request for the first size leaves of the tree, proven
 * from old (proof NULL: none; bad: one hash flipped). */
int
keyproc_fx_cp_call(struct keyproc_fx_kp *f, uint64_t size,
    const uint8_t *root_override, uint64_t old, int with_proof, int bad, const char *want)
{
	struct keyproc_buf b = { 0 };
	uint8_t root[LEDGER_HASH_LEN],
	    proof[LEDGER_PROOF_MAX][LEDGER_HASH_LEN];
	char body[512];
	size_t n = 0;

	assert_int_equal(ledger_merkle_root(f->tree, size, root), 0);
	if (root_override != NULL)
		memcpy(root, root_override, LEDGER_HASH_LEN);
	assert_int_equal(ledger_checkpoint_body(f->cfg.origin, size, root,
	    time(NULL), body, sizeof(body)), 0);
	if (with_proof && old > 0 && old < size)
		assert_int_equal(ledger_merkle_consistency(f->tree, old, size,
		    proof, &n), 0);
	if (bad && n > 0)
		proof[n - 1][0] ^= 1;
	keyproc_put_str(&b, body);
	keyproc_put_u64(&b, old);
	keyproc_put_bytes(&b, proof, n * LEDGER_HASH_LEN);
	return keyproc_fx_call(f, KEYPROC_OP_SIGN_CHECKPOINT, &b, want);
}
