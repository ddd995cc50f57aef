/*
 * fuzz_vrequest.c: a validator's requests (validator/core.c): the body
 * of a tlog-witness add-checkpoint or of keybridge's add-block
 * (vcore_request_parse), then the whole decision (vcore_add) of a
 * validator that has cosigned nothing yet, replaying the block's entries
 * through the ledger's rules (ledger/replay.c, an in-memory registry).
 * The log's signature is taken as valid: the sequencer that holds the
 * log key is one of the attackers a validator stands against, so what
 * follows the signature check is what must hold.  Each input meets the
 * same state: the state is copied from a template and the registry's
 * staging dropped.  Properties: an answer has an HTTP status; a 200
 * carries one cosignature line; a refusal names its reason.
 */
#include "tests/fuzz/fuzz.h"

#include <openssl/evp.h>

#include "ledger/ledger_int.h"
#include "ledger/replay.h"
#include "validator/core.h"

#define FUZZ_ORIGIN "fuzz/ledger"
#define FUZZ_NOW    ((time_t)1796342400)

static struct vcore_state fuzz_st0, fuzz_st;
static struct ledger_replay *fuzz_reg;
static uint8_t fuzz_kid[LEDGER_COSIGN_KEY_ID_LEN];

static int
fuzz_sign(void *arg, const char *msg, size_t len,
    uint8_t sig[LEDGER_COSIGN_ED_SIG_LEN])
{
	memset(sig, 0x42, LEDGER_COSIGN_ED_SIG_LEN);	/* any 64 bytes */
	return 0;
}

static int
fuzz_log_verify(void *arg, const char *note, size_t len)
{
	return 0;
}

static int
fuzz_stage(void *arg, uint64_t index, const char *text, size_t len,
    time_t t, char *code, size_t codelen, char *why, size_t whylen)
{
	return ledger_replay_stage(fuzz_reg, index, text, len, t, code,
	    codelen, why, whylen);
}

static void
fuzz_abort(void *arg)
{
	ledger_replay_abort(fuzz_reg);
}

/* An entry signed by the fixed admin key (as fuzz_entry.c's). */
static char *
fuzz_entry(EVP_PKEY *k, uint64_t seq, const char *name, const char *role)
{
	char pub[128], *body;
	struct ledger_field f[4] = { { "name", name }, { "role", role },
	    { "threshold", "1" }, { "pubkey", pub } };

	FUZZ_CHECK(ledger_pubkey_to_b64(k, pub, sizeof(pub)) == 0);
	FUZZ_CHECK((body = ledger_entry_body(LEDGER_ACCOUNT_CREATE, "admin",
	    seq, FUZZ_NOW - 60, FUZZ_ORIGIN, f, 4)) != NULL);
	return ledger_entry_sign(body, "admin", k);
}

/* Seeds: an add-block of one entry and of two, an add-checkpoint. */
static void
fuzz_write_seeds(const char *dir)
{
	static const unsigned char seed[32] = "keybridge fuzz admin key seed..";
	static char out[65536];
	EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL,
	    seed, sizeof(seed));
	struct vcore_entry ents[2];
	uint8_t leaf[2][LEDGER_HASH_LEN], root[LEDGER_HASH_LEN];
	char body[512], line[512], note[1024], path[4096];
	char *e[2];
	FILE *f;
	int i, n;

	FUZZ_CHECK(k != NULL);
	e[0] = fuzz_entry(k, 1, "admin", "admin");
	e[1] = fuzz_entry(k, 2, "bridge", "bridge");
	for (i = 0; i < 2; i++) {
		FUZZ_CHECK(e[i] != NULL);
		ents[i].text = e[i];
		ents[i].len = strlen(e[i]);
		ledger_merkle_leaf_hash(e[i], strlen(e[i]), leaf[i]);
	}
	for (i = 1; i <= 3; i++) {
		if (i < 3)
			memcpy(root, leaf[0], sizeof(root));
		if (i == 2)
			ledger_merkle_node_hash(leaf[0], leaf[1], root);
		FUZZ_CHECK(ledger_checkpoint_body(FUZZ_ORIGIN, i == 3 ? 1 :
		    (uint64_t)i, root, FUZZ_NOW - 10, body, sizeof(body)) == 0);
		FUZZ_CHECK(ledger_note_sign_line(body, strlen(body), "fuzz-log",
		    k, line, sizeof(line)) == 0);
		snprintf(note, sizeof(note), "%s\n%s", body, line);
		n = vcore_request_format(0, NULL, 0, ents, i == 3 ? 0 :
		    (size_t)i, note, out, sizeof(out));
		FUZZ_CHECK(n > 0);
		snprintf(path, sizeof(path), "%s/%s-%d", dir, i == 3 ?
		    "add-checkpoint" : "add-block", i);
		FUZZ_CHECK((f = fopen(path, "w")) != NULL);
		fputc(i == 3 ? 1 : 0, f);	/* witness, validator */
		fwrite(out, 1, (size_t)n, f);
		fclose(f);
	}
	free(e[0]);
	free(e[1]);
	EVP_PKEY_free(k);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];

	FUZZ_CHECK((fuzz_reg = ledger_replay_open(":memory:", FUZZ_ORIGIN,
	    err, sizeof(err))) != NULL);
	FUZZ_CHECK(vcore_state_init(&fuzz_st0, VCORE_VALIDATOR, "v1.fuzz",
	    FUZZ_ORIGIN, 86400, 300) == 0);
	memset(fuzz_kid, 0x17, sizeof(fuzz_kid));
	if (getenv("FUZZ_VREQUEST_SEEDS") != NULL)
		fuzz_write_seeds(getenv("FUZZ_VREQUEST_SEEDS"));
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static const struct vcore_ops ops = { fuzz_sign, fuzz_log_verify,
	    fuzz_stage, fuzz_abort, NULL, NULL /* no map root: the map line unchecked */ };
	static struct vcore_answer ans;
	struct vcore_request req;
	char why[256];

	if (len == 0)
		return 0;
	if (vcore_request_parse((const char *)data + 1, len - 1, &req, why,
	    sizeof(why)) != 0)
		return 0;
	FUZZ_CHECK(req.note != NULL && req.note_len > 0 &&
	    req.note_len < VCORE_NOTE_MAX);
	memcpy(&fuzz_st, &fuzz_st0, sizeof(fuzz_st));
	fuzz_st.mode = data[0] % 2 ? VCORE_WITNESS : VCORE_VALIDATOR;
	memset(&ans, 0, sizeof(ans));
	if (vcore_add(&fuzz_st, &ops, fuzz_kid, &req, FUZZ_NOW, &ans) == 0) {
		FUZZ_CHECK(ans.status >= 200 && ans.status < 600);
		if (ans.status == 200)
			FUZZ_CHECK(ans.refusal == VCORE_OK &&
			    strchr(ans.body, '\n') != NULL);
		else
			FUZZ_CHECK(ans.refusal != VCORE_OK &&
			    ans.reason[0] != '\0');
		if (getenv("FUZZ_VERBOSE") != NULL)
			fprintf(stderr, "%d %s\n", ans.status, ans.reason);
	}
	ledger_replay_abort(fuzz_reg);
	vcore_request_free(&req);
	return 0;
}
