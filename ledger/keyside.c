/*
 * keyside.c: what the key process (bridge/keyproc/) needs of the ledger
 * without its internal header: the head of an unsigned entry, signature
 * lines for entries and checkpoints, and RFC 9162 proof checks (ledger.h
 * "for the key process").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/ledger_int.h"

/* The value of the line "key value" at *p (one line, without its '\n')
 * into out; advances *p past the line.  0, or -1 when the line is not
 * that key, or the value is empty or does not fit. */
static int
head_line(const char **p, const char *end, const char *key, char *out,
    size_t outlen)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	size_t klen = strlen(key), vlen;

	if (nl == NULL || (size_t)(nl - *p) <= klen + 1 ||
	    memcmp(*p, key, klen) != 0 || (*p)[klen] != ' ')
		return -1;
	vlen = (size_t)(nl - *p) - klen - 1;
	if (vlen >= outlen)
		return -1;
	memcpy(out, *p + klen + 1, vlen);
	out[vlen] = '\0';
	*p = nl + 1;
	return 0;
}

int
ledger_entry_head(const char *body, size_t len, enum ledger_entry_type *type,
    char account[LEDGER_NAME_MAX + 1], char *origin, size_t originlen,
    char *why, size_t whylen)
{
	const char *p = body, *end = body + len;
	char tname[64], seq[32], t[32];
	size_t flen = strlen(LEDGER_ENTRY_FORMAT);

	*type = 0;
	origin[0] = '\0';
	if (len == 0 || len > LEDGER_ENTRY_MAX || memchr(body, '\0', len) !=
	    NULL || body[len - 1] != '\n' || memmem(body, len, "\n\n",
	    2) != NULL) {
		snprintf(why, whylen, "not an unsigned entry body (text "
		    "ending in a newline, without a blank line, at most %d "
		    "bytes)", LEDGER_ENTRY_MAX);
		return -1;
	}
	if (len <= flen || memcmp(p, LEDGER_ENTRY_FORMAT, flen) != 0 ||
	    p[flen] != '\n') {
		snprintf(why, whylen, "not a %s entry", LEDGER_ENTRY_FORMAT);
		return -1;
	}
	p += flen + 1;
	if (head_line(&p, end, "type", tname, sizeof(tname)) != 0 ||
	    head_line(&p, end, "account", account, LEDGER_NAME_MAX + 1) !=
	    0 || head_line(&p, end, "seq", seq, sizeof(seq)) != 0 ||
	    head_line(&p, end, "time", t, sizeof(t)) != 0) {
		snprintf(why, whylen, "the entry does not start with type, "
		    "account, seq and time lines");
		return -1;
	}
	for (int i = 1; i <= LEDGER_TYPE_MAX; i++)
		if (strcmp(ledger_entry_type_name(i), tname) == 0)
			*type = i;
	if (*type == 0) {
		snprintf(why, whylen, "unknown entry type \"%s\"", tname);
		return -1;
	}
	/* The origin line, when there is one, follows time. */
	(void)head_line(&p, end, "origin", origin, originlen);
	return 0;
}

int
ledger_sign_line(const char *body, size_t len, const char *account,
    EVP_PKEY *key, char *line, size_t linelen)
{
	return ledger_note_sign_line(body, len, account, key, line, linelen);
}

int
ledger_checkpoint_read(const char *text, size_t len, char *origin,
    size_t originlen, uint64_t *size, uint8_t root[LEDGER_HASH_LEN])
{
	time_t t;

	return ledger_checkpoint_parse(text, len, origin, originlen, size,
	    root, &t);
}

int
ledger_checkpoint_verify(const char *note, size_t len, const char *vkey)
{
	return ledger_note_verify_vkey(note, len, vkey);
}

int
ledger_consistency_verify(uint64_t m, uint64_t n,
    const uint8_t root_m[LEDGER_HASH_LEN],
    const uint8_t root_n[LEDGER_HASH_LEN],
    const uint8_t proof[][LEDGER_HASH_LEN], size_t nproof)
{
	return ledger_merkle_verify_consistency(m, n, root_m, root_n, proof,
	    nproof);
}

int
ledger_inclusion_verify(const uint8_t leaf[LEDGER_HASH_LEN], uint64_t index,
    uint64_t size, const uint8_t proof[][LEDGER_HASH_LEN], size_t n,
    const uint8_t root[LEDGER_HASH_LEN])
{
	return ledger_merkle_verify_inclusion(leaf, index, size, proof, n,
	    root);
}
