/*
 * proof.c: checking an entry against a signed checkpoint without the
 * database (docs/design.md "The CA signs only what the ledger
 * committed"): what the key process, a device or an auditor holds is a
 * checkpoint note, an entry's text, its leaf index and its RFC 9162
 * inclusion proof.  These functions say whether they hold together; the
 * entry's own fields are read with ledger_entry_new (entry.c).
 */
#include <stdio.h>
#include <string.h>

#include "ledger/ledger_int.h"

/* See ledger.h. */
int
ledger_proof_entry(const char *text, size_t len, uint64_t index,
    uint64_t size, const uint8_t (*proof)[LEDGER_HASH_LEN], size_t n,
    const uint8_t root[LEDGER_HASH_LEN])
{
	uint8_t leaf[LEDGER_HASH_LEN];

	if (text == NULL || len == 0 || len > LEDGER_ENTRY_MAX)
		return -1;
	ledger_merkle_leaf_hash(text, len, leaf);
	return ledger_merkle_verify_inclusion(leaf, index, size, proof, n,
	    root);
}

/* See ledger.h. */
int
ledger_proof_checkpoint(const char *note, const char *vkey, char *origin,
    size_t originlen, uint64_t *size, uint8_t root[LEDGER_HASH_LEN],
    time_t *t, char *why, size_t whylen)
{
	size_t len;

	if (note == NULL || vkey == NULL || (len = strlen(note)) == 0) {
		snprintf(why, whylen, "no checkpoint or no verifier key");
		return -1;
	}
	if (ledger_note_verify_vkey(note, len, vkey) != 0) {
		snprintf(why, whylen, "the checkpoint is not signed by %.64s",
		    vkey);
		return -1;
	}
	if (ledger_checkpoint_parse(note, len, origin, originlen, size, root,
	    t) != 0) {
		snprintf(why, whylen, "the checkpoint is malformed");
		return -1;
	}
	return 0;
}
