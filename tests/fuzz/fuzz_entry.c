/*
 * fuzz_entry.c: signed entries and their submission (bridge/api/
 * api_entries.c api_entry_of, ledger/entry.c, ledger/note.c, the rules
 * through ledger/replay.c).  The first input byte picks the
 * Content-Type of a POST /api/v1/entries (text/plain, application/json,
 * none, another); the rest is the body.  The entry it carries is parsed
 * (ledger_entry_new), its signature lines parsed again one by one, and
 * it is staged through every rule as entry 1 of a registry whose entry 0
 * (made in LLVMFuzzerInitialize) created the account "admin" with a
 * fixed Ed25519 key; the staging is dropped after each input, so every
 * input meets the same registry.  Properties: a parsed entry has 1 to
 * LEDGER_MAX_SIGS signatures and a body inside the text; a refusal
 * always names its rule.
 *
 * Seeds: with FUZZ_ENTRY_SEEDS=DIR and FUZZ_ENTRY_FROM=FILE (entries of
 * a real ledger, one `ledger log --json` line each), LLVMFuzzerInitialize
 * writes each entry's fields re-signed as admin's seq 2 into DIR, so
 * that seeds pass the signature check (tests/fuzz/seeds.sh).
 */
#include "tests/fuzz/fuzz.h"

#include <jansson.h>
#include <openssl/evp.h>

#include "ledger/ledger.h"
#include "ledger/cosign.h"
#include "ledger/ledger_int.h"
#include "ledger/replay.h"
#include "bridge/api/api_int.h"

#define FUZZ_ORIGIN "fuzz/ledger"
#define FUZZ_TIME   ((time_t)1796342400)	/* 2026-12-02: rules v2 */

/* The account key: fixed, so that seeds made once stay signed. */
static const unsigned char fuzz_admin_seed[32] = "keybridge fuzz admin key seed..";
static EVP_PKEY *fuzz_admin;
static struct ledger_replay *fuzz_reg;

/* entry (fields of e, the header re-made) as admin's seq, signed. */
static char *
fuzz_resign(const struct ledger_entry *e, uint64_t seq)
{
	struct ledger_field f[LEDGER_ENTRY_FIELDS];
	size_t i, n = 0;

	for (i = 5; i < e->nfields; i++)
		if (strcmp(e->fields[i].key, "origin") != 0)
			f[n++] = e->fields[i];
	return ledger_entry_sign(ledger_entry_body(e->type, "admin", seq,
	    FUZZ_TIME, FUZZ_ORIGIN, f, n), "admin", fuzz_admin);
}

/* Writes the seeds of FUZZ_ENTRY_FROM into FUZZ_ENTRY_SEEDS. */
static void
fuzz_write_seeds(const char *dir, const char *from)
{
	char line[65536], path[4096], why[256], *s;
	struct ledger_entry e;
	const char *text;
	json_t *j;
	FILE *in = fopen(from, "r"), *out;
	int n = 0;

	FUZZ_CHECK(in != NULL);
	while (fgets(line, sizeof(line), in) != NULL) {
		if ((j = json_loads(line, 0, NULL)) == NULL)
			continue;
		text = json_string_value(json_object_get(j, "entry"));
		if (text != NULL && ledger_entry_parse(text, strlen(text), &e,
		    why, sizeof(why)) == LEDGER_OK) {
			if ((s = fuzz_resign(&e, 2)) != NULL) {
				snprintf(path, sizeof(path), "%s/real-%02d", dir,
				    n++);
				FUZZ_CHECK((out = fopen(path, "w")) != NULL);
				fprintf(out, "t%s", s);	/* text/plain */
				fclose(out);
				snprintf(path, sizeof(path), "%s/real-%02d-json",
				    dir, n - 1);
				FUZZ_CHECK((out = fopen(path, "w")) != NULL);
				json_decref(j);
				j = json_pack("{s:s}", "entry", s);
				fputc('a', out);	/* application/json */
				json_dumpf(j, out, JSON_COMPACT);
				fclose(out);
				free(s);
			}
			ledger_entry_clear(&e);
		}
		json_decref(j);
	}
	fclose(in);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char pub[128], err[256], code[64], why[256], *genesis, *body;
	struct ledger_field f[4] = { { "name", "admin" }, { "role", "admin" },
	    { "threshold", "1" }, { "pubkey", pub } };

	FUZZ_CHECK((fuzz_admin = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519,
	    NULL, fuzz_admin_seed, sizeof(fuzz_admin_seed))) != NULL);
	FUZZ_CHECK(ledger_pubkey_to_b64(fuzz_admin, pub, sizeof(pub)) == 0);
	FUZZ_CHECK((body = ledger_entry_body(LEDGER_ACCOUNT_CREATE, "admin", 1,
	    FUZZ_TIME, FUZZ_ORIGIN, f, 4)) != NULL);
	FUZZ_CHECK((genesis = ledger_entry_sign(body, "admin",
	    fuzz_admin)) != NULL);
	FUZZ_CHECK((fuzz_reg = ledger_replay_open(":memory:", FUZZ_ORIGIN,
	    err, sizeof(err))) != NULL);
	FUZZ_CHECK(ledger_replay_stage(fuzz_reg, 0, genesis, strlen(genesis),
	    FUZZ_TIME, code, sizeof(code), why, sizeof(why)) == 0);
	FUZZ_CHECK(ledger_replay_commit(fuzz_reg) == 0);
	free(genesis);
	if (getenv("FUZZ_ENTRY_SEEDS") != NULL &&
	    getenv("FUZZ_ENTRY_FROM") != NULL)
		fuzz_write_seeds(getenv("FUZZ_ENTRY_SEEDS"),
		    getenv("FUZZ_ENTRY_FROM"));
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static const char *const ctypes[] = { "text/plain; charset=utf-8",
	    "application/json", NULL, "application/x-www-form-urlencoded" };
	const char *ct, *text, *code;
	char msg[256], why[256], rule[64];
	struct ledger_note_sig sig;
	struct ledger_entry *e;
	json_t *j = NULL;
	size_t tlen, i;
	const char *p, *nl;

	if (len == 0)
		return 0;
	ct = ctypes[data[0] % 4];
	if (api_entry_of(ct, (const char *)data + 1, len - 1, &text, &tlen, &j,
	    &code, msg, sizeof(msg)) != 0) {
		FUZZ_CHECK(code != NULL && msg[0] != '\0');
		goto out;
	}
	if ((e = ledger_entry_new(text, tlen, why, sizeof(why))) != NULL) {
		FUZZ_CHECK(e->nsigs >= 1 && e->nsigs <= LEDGER_MAX_SIGS &&
		    e->body_len < tlen);
		/* each signature line again, on its own */
		for (p = text + e->body_len + 1, i = 0; p < text + tlen &&
		    (nl = memchr(p, '\n', (size_t)(text + tlen - p))) != NULL;
		    p = nl + 1, i++)
			FUZZ_CHECK(ledger_note_sig_parse(p, (size_t)(nl - p),
			    &sig, why, sizeof(why)) == 0);
		FUZZ_CHECK(i == e->nsigs);
		ledger_entry_free(e);
	}
	rule[0] = '\0';
	if (ledger_replay_stage(fuzz_reg, 1, text, tlen, FUZZ_TIME, rule,
	    sizeof(rule), why, sizeof(why)) != 0) {
		FUZZ_CHECK(rule[0] != '\0');
		if (getenv("FUZZ_VERBOSE") != NULL)
			fprintf(stderr, "refused: %s: %s\n", rule, why);
	} else if (getenv("FUZZ_VERBOSE") != NULL)
		fprintf(stderr, "staged\n");
	ledger_replay_abort(fuzz_reg);
out:
	json_decref(j);
	return 0;
}
