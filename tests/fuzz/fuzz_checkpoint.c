/*
 * fuzz_checkpoint.c: checkpoints and cosignatures (ledger/note.c,
 * ledger/cosign.c): what a device, a validator or the bridge's gatherer
 * reads from the network.  The first input byte picks what the rest is:
 *   even  a signed checkpoint note: parsed (ledger_checkpoint_parse,
 *         ledger_note_split), its log signature checked against a fixed
 *         log key, its cosignatures counted against a policy of three
 *         fixed cosigners, quorum two (ledger_cosign_quorum,
 *         ledger_cosign_checkpoint_ok);
 *   odd   a verifier key line: parsed as a signed-note vkey and as a
 *         cosigner (ledger_note_vkey_parse, ledger_cosigner_parse).
 * Properties: the quorum's count never exceeds the policy, and
 * checkpoint_ok agrees with the log signature and the quorum.
 * FUZZ_CHECKPOINT_SEEDS=DIR: LLVMFuzzerInitialize writes a checkpoint
 * signed by the log and the three cosigners, and their vkeys, as seeds.
 */
#include "tests/fuzz/fuzz.h"

#include <openssl/err.h>
#include <openssl/evp.h>

#include "ledger/cosign.h"
#include "ledger/ledger.h"
#include "ledger/ledger_int.h"

#define FUZZ_NCOSIGNERS 3
#define FUZZ_QUORUM     2
#define FUZZ_TIME       1796342400

static char fuzz_log_vkey[LEDGER_COSIGN_VKEY_MAX];
static struct ledger_cosigner fuzz_cs[FUZZ_NCOSIGNERS];
static struct ledger_cosign_policy fuzz_policy;
static EVP_PKEY *fuzz_keys[1 + FUZZ_NCOSIGNERS];

/* A fixed Ed25519 key, the i-th. */
static EVP_PKEY *
fuzz_key(int i)
{
	unsigned char seed[32];

	memset(seed, 'k' + i, sizeof(seed));
	return EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed,
	    sizeof(seed));
}

/* text into DIR/name, after the mode byte. */
static void
fuzz_seed(const char *dir, const char *name, char mode, const char *text)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FUZZ_CHECK((f = fopen(path, "w")) != NULL);
	fprintf(f, "%c%s", mode, text);
	fclose(f);
}

/* A checkpoint of the log, cosigned by every cosigner, and the vkeys. */
static void
fuzz_write_seeds(const char *dir)
{
	uint8_t root[LEDGER_HASH_LEN];
	char body[512], note[4096], line[512], name[16];
	int i;

	memset(root, 0x5a, sizeof(root));
	FUZZ_CHECK(ledger_checkpoint_body("fuzz/ledger", 42, root, FUZZ_TIME,
	    body, sizeof(body)) == 0);
	FUZZ_CHECK(ledger_note_sign_line(body, strlen(body), "fuzz-log",
	    fuzz_keys[0], line, sizeof(line)) == 0);
	snprintf(note, sizeof(note), "%s\n%s", body, line);
	for (i = 0; i < FUZZ_NCOSIGNERS; i++) {
		FUZZ_CHECK(ledger_cosign_line(body, strlen(body),
		    fuzz_cs[i].name, fuzz_keys[1 + i], FUZZ_TIME + 1, line,
		    sizeof(line)) == 0);
		snprintf(note + strlen(note), sizeof(note) - strlen(note),
		    "%s", line);
		snprintf(name, sizeof(name), "cosigned-%d", i + 1);
		fuzz_seed(dir, name, 0, note);
		snprintf(name, sizeof(name), "vkey-%d", i + 1);
		fuzz_seed(dir, name, 1, fuzz_cs[i].vkey);
	}
	fuzz_seed(dir, "vkey-log", 1, fuzz_log_vkey);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char name[16];
	int i;

	for (i = 0; i <= FUZZ_NCOSIGNERS; i++)
		FUZZ_CHECK((fuzz_keys[i] = fuzz_key(i)) != NULL);
	FUZZ_CHECK(ledger_note_vkey_format(fuzz_keys[0], "fuzz-log",
	    fuzz_log_vkey, sizeof(fuzz_log_vkey)) == 0);
	for (i = 0; i < FUZZ_NCOSIGNERS; i++) {
		snprintf(name, sizeof(name), "v%d.fuzz", i + 1);
		FUZZ_CHECK(ledger_cosigner_from_key(name, fuzz_keys[1 + i],
		    &fuzz_cs[i]) == 0);
	}
	fuzz_policy.log_vkey = fuzz_log_vkey;
	fuzz_policy.cosigners = fuzz_cs;
	fuzz_policy.ncosigners = FUZZ_NCOSIGNERS;
	fuzz_policy.quorum = FUZZ_QUORUM;
	if (getenv("FUZZ_CHECKPOINT_SEEDS") != NULL)
		fuzz_write_seeds(getenv("FUZZ_CHECKPOINT_SEEDS"));
	return 0;
}

/* A note from the network. */
static void
fuzz_note(const char *note, size_t len)
{
	struct ledger_note_sig sigs[LEDGER_MAX_SIGS];
	struct ledger_cosign_result res[LEDGER_MAX_SIGS];
	uint8_t root[LEDGER_HASH_LEN];
	char origin[LEDGER_ORIGIN_MAX + 1], why[256];
	size_t body_len, nsigs, nres = 0, nvalid = 0;
	uint64_t size;
	time_t t;
	int signed_ok, quorum_ok, ok;

	(void)ledger_checkpoint_parse(note, len, origin, sizeof(origin), &size,
	    root, &t);
	if (ledger_note_split(note, len, &body_len, sigs, LEDGER_MAX_SIGS,
	    &nsigs, why, sizeof(why)) == 0)
		FUZZ_CHECK(body_len <= len && nsigs <= LEDGER_MAX_SIGS);
	signed_ok = ledger_checkpoint_verify(note, len, fuzz_log_vkey) == 0;
	quorum_ok = ledger_cosign_quorum(note, len, fuzz_cs, FUZZ_NCOSIGNERS,
	    FUZZ_QUORUM, res, LEDGER_MAX_SIGS, &nres, &nvalid) == 0;
	FUZZ_CHECK(nvalid <= FUZZ_NCOSIGNERS && nres <= LEDGER_MAX_SIGS);
	FUZZ_CHECK(quorum_ok == (nvalid >= FUZZ_QUORUM));
	why[0] = '\0';
	ok = ledger_cosign_checkpoint_ok(&fuzz_policy, note, &size, root, why,
	    sizeof(why)) == 0;
	if (ok)
		FUZZ_CHECK(signed_ok && quorum_ok);
	else
		FUZZ_CHECK(why[0] != '\0');
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct ledger_cosigner c;
	char *s, name[LEDGER_NAME_MAX + 1];
	EVP_PKEY *k;

	if (len == 0 || len - 1 >= LEDGER_NOTE_MAX)
		return 0;
	s = fuzz_cstr(data + 1, len - 1);
	if (data[0] % 2 == 0)
		fuzz_note(s, strlen(s));
	else {
		if ((k = ledger_note_vkey_parse(s, name, sizeof(name))) != NULL)
			EVP_PKEY_free(k);
		memset(&c, 0, sizeof(c));
		if (ledger_cosigner_parse(s, &c) == 0)
			ledger_cosigner_clear(&c);
	}
	free(s);
	ERR_clear_error();
	return 0;
}
