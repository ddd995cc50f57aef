/*
 * entry.c: the text format of ledger entries.
 *
 * An entry is a C2SP signed note whose body is "key value" lines:
 *
 *   keybridge-entry v1
 *   type key-register
 *   account admin
 *   seq 7
 *   time 2026-12-03T14:07:08Z
 *   origin keybridge/ledger
 *   key-id 3b1f...
 *   spki MCowBQYDK2VwAyEA...
 *   name cam-042
 *   ...
 *
 *   — admin <base64(keyhash || signature)>
 *
 * The signature covers the body bytes exactly as stored; nothing is ever
 * re-serialised before verifying.  Parsing is strict: every field must be
 * one the type allows, the right number of times, with the right syntax,
 * so that two readers can never disagree about what an entry says.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/ledger_int.h"

enum field_syntax {
	SYN_NAME,	/* [A-Za-z0-9._@-], 1..64 */
	SYN_TOKEN,	/* [A-Za-z0-9._+-], 1..64 */
	SYN_TIME,	/* RFC 3339 UTC */
	SYN_HEX64,	/* 64 lowercase hex */
	SYN_SERIAL,	/* 1..40 lowercase hex, no leading zero */
	SYN_B64,	/* base64, 1..12000 */
	SYN_UINT,	/* decimal, no leading zero */
	SYN_THRESHOLD,	/* 1..LEDGER_MAX_ACCT_KEYS */
	SYN_ROLE,	/* admin | bridge */
	SYN_PROFILE,	/* device | server | admin */
	SYN_REASON,	/* RFC 5280 reason name */
	SYN_DNS,	/* DNS name, optional leading "*." */
	SYN_IP,		/* IPv4 or IPv6 literal */
	SYN_TEXT,	/* printable ASCII, 1..200 */
	SYN_PREAUTH,	/* 32 lowercase hex */
	SYN_ORIGIN,	/* printable ASCII but space, 1..LEDGER_ORIGIN_MAX */
};

/* Every type may carry one "origin" line: the ledger the entry is for
 * (rules.c requires it from LEDGER_RULES_V2_TIME on). */
#define ENTRY_ORIGIN_KEY "origin"

struct field_rule {
	enum ledger_entry_type type;
	const char *key;
	int min, max;
	enum field_syntax syn;
};

/* The fields each entry type carries (docs/design.md "Entries"). */
static const struct field_rule field_rules[] = {
	{ LEDGER_ACCOUNT_CREATE, "name", 1, 1, SYN_NAME },
	{ LEDGER_ACCOUNT_CREATE, "role", 1, 1, SYN_ROLE },
	{ LEDGER_ACCOUNT_CREATE, "threshold", 1, 1, SYN_THRESHOLD },
	{ LEDGER_ACCOUNT_CREATE, "pubkey", 1, LEDGER_MAX_ACCT_KEYS, SYN_B64 },
	{ LEDGER_ACCOUNT_UPDATE, "name", 1, 1, SYN_NAME },
	{ LEDGER_ACCOUNT_UPDATE, "threshold", 1, 1, SYN_THRESHOLD },
	{ LEDGER_ACCOUNT_UPDATE, "pubkey", 1, LEDGER_MAX_ACCT_KEYS, SYN_B64 },
	{ LEDGER_KEY_REGISTER, "key-id", 1, 1, SYN_HEX64 },
	{ LEDGER_KEY_REGISTER, "spki", 1, 1, SYN_B64 },
	{ LEDGER_KEY_REGISTER, "name", 1, 1, SYN_NAME },
	{ LEDGER_KEY_REGISTER, "profile", 1, 1, SYN_PROFILE },
	{ LEDGER_KEY_REGISTER, "dns", 0, LEDGER_MAX_SANS, SYN_DNS },
	{ LEDGER_KEY_REGISTER, "ip", 0, LEDGER_MAX_SANS, SYN_IP },
	{ LEDGER_KEY_REGISTER, "not-before", 1, 1, SYN_TIME },
	{ LEDGER_KEY_REGISTER, "not-after", 1, 1, SYN_TIME },
	{ LEDGER_KEY_REGISTER, "csr", 0, 1, SYN_B64 },
	{ LEDGER_KEY_REGISTER, "preauth", 0, 1, SYN_PREAUTH },
	/* The configuration groups its device may read (a group name as
	 * config-publish writes it); rules.c: each once, device keys only. */
	{ LEDGER_KEY_REGISTER, "config-group", 0, LEDGER_MAX_CONFIG_GROUPS,
	    SYN_NAME },
	{ LEDGER_KEY_PREAUTH, "preauth-id", 1, 1, SYN_PREAUTH },
	{ LEDGER_KEY_PREAUTH, "name", 1, 1, SYN_NAME },
	{ LEDGER_KEY_PREAUTH, "profile", 1, 1, SYN_PROFILE },
	{ LEDGER_KEY_PREAUTH, "dns", 0, LEDGER_MAX_SANS, SYN_DNS },
	{ LEDGER_KEY_PREAUTH, "ip", 0, LEDGER_MAX_SANS, SYN_IP },
	{ LEDGER_KEY_PREAUTH, "not-before", 1, 1, SYN_TIME },
	{ LEDGER_KEY_PREAUTH, "not-after", 1, 1, SYN_TIME },
	{ LEDGER_KEY_PREAUTH, "expires", 1, 1, SYN_TIME },
	{ LEDGER_KEY_PREAUTH, "secret-sha256", 1, 1, SYN_HEX64 },
	{ LEDGER_KEY_PREAUTH, "config-group", 0, LEDGER_MAX_CONFIG_GROUPS,
	    SYN_NAME },
	{ LEDGER_KEY_REVOKE, "key-id", 1, 1, SYN_HEX64 },
	{ LEDGER_KEY_REVOKE, "reason", 1, 1, SYN_REASON },
	{ LEDGER_CERT_ISSUED, "serial", 1, 1, SYN_SERIAL },
	{ LEDGER_CERT_ISSUED, "issuer", 1, 1, SYN_NAME },
	{ LEDGER_CERT_ISSUED, "key-id", 1, 1, SYN_HEX64 },
	{ LEDGER_CERT_ISSUED, "profile", 1, 1, SYN_PROFILE },
	{ LEDGER_CERT_ISSUED, "not-before", 1, 1, SYN_TIME },
	{ LEDGER_CERT_ISSUED, "not-after", 1, 1, SYN_TIME },
	/* Two forms (rules_cert.c): the certificate signed before it was
	 * recorded (cert-sha256, and the certificate itself in later
	 * entries), or, since the CA signs only what the ledger committed,
	 * the TBSCertificate alone ("tbs", base64 DER), signed after. */
	{ LEDGER_CERT_ISSUED, "cert-sha256", 0, 1, SYN_HEX64 },
	{ LEDGER_CERT_ISSUED, "cert", 0, 1, SYN_B64 },
	{ LEDGER_CERT_ISSUED, "tbs", 0, 1, SYN_B64 },
	{ LEDGER_CERT_ISSUED, "supersedes", 0, 1, SYN_SERIAL },
	{ LEDGER_CERT_REVOKED, "serial", 1, 1, SYN_SERIAL },
	{ LEDGER_CERT_REVOKED, "reason", 1, 1, SYN_REASON },
	{ LEDGER_CONFIG_PUBLISH, "group", 1, 1, SYN_NAME },
	{ LEDGER_CONFIG_PUBLISH, "version", 1, 1, SYN_TOKEN },
	{ LEDGER_CONFIG_PUBLISH, "sha256", 1, 1, SYN_HEX64 },
	{ LEDGER_CONFIG_PUBLISH, "size", 0, 1, SYN_UINT },
	{ LEDGER_CONFIG_PUBLISH, "file", 0, 1, SYN_TEXT },
	/* Since the blob store (ledger/blob.h): optional, so older entries
	 * replay as before; the rules never read the bytes. */
	{ LEDGER_CONFIG_PUBLISH, "media-type", 0, 1, SYN_TEXT },
	{ LEDGER_CONFIG_PUBLISH, "note", 0, 1, SYN_TEXT },
};

static const char *const type_names[] = {
	[LEDGER_ACCOUNT_CREATE] = "account-create",
	[LEDGER_ACCOUNT_UPDATE] = "account-update",
	[LEDGER_KEY_REGISTER] = "key-register",
	[LEDGER_KEY_REVOKE] = "key-revoke",
	[LEDGER_CERT_ISSUED] = "cert-issued",
	[LEDGER_CERT_REVOKED] = "cert-revoked",
	[LEDGER_CONFIG_PUBLISH] = "config-publish",
	[LEDGER_KEY_PREAUTH] = "key-preauth",
};

static const char *const status_codes[] = {
	[LEDGER_OK] = "ok",
	[LEDGER_ERR_MALFORMED] = "malformed_entry",
	[LEDGER_ERR_TOO_LARGE] = "entry_too_large",
	[LEDGER_ERR_UNKNOWN_ACCOUNT] = "account_not_found",
	[LEDGER_ERR_SIGNATURE] = "signature_invalid",
	[LEDGER_ERR_THRESHOLD] = "threshold_not_met",
	[LEDGER_ERR_SEQUENCE] = "bad_sequence",
	[LEDGER_ERR_TIME] = "bad_time",
	[LEDGER_ERR_PERMISSION] = "permission_denied",
	[LEDGER_ERR_ACCOUNT_EXISTS] = "account_exists",
	[LEDGER_ERR_DUPLICATE_KEY] = "key_already_registered",
	[LEDGER_ERR_UNKNOWN_KEY] = "key_not_found",
	[LEDGER_ERR_NOT_OWNER] = "not_key_owner",
	[LEDGER_ERR_KEY_REVOKED] = "key_revoked",
	[LEDGER_ERR_WINDOW] = "outside_validity_window",
	[LEDGER_ERR_DUPLICATE_SERIAL] = "serial_exists",
	[LEDGER_ERR_UNKNOWN_CERT] = "cert_not_found",
	[LEDGER_ERR_CERT_REVOKED] = "cert_revoked",
	[LEDGER_ERR_DUPLICATE_CONFIG] = "config_version_exists",
	[LEDGER_ERR_PREAUTH_EXISTS] = "preauth_exists",
	[LEDGER_ERR_PREAUTH] = "preauth_invalid",
	[LEDGER_ERR_STORAGE] = "storage_error",
	[LEDGER_ERR_UNAVAILABLE] = "unavailable",
	[LEDGER_ERR_KEY_NOT_CANONICAL] = "key_not_canonical",
	[LEDGER_ERR_WRONG_ORIGIN] = "wrong_origin",
	[LEDGER_ERR_CERT_CURRENT] = "current_cert_exists",
	[LEDGER_ERR_NOT_SAME_DEVICE] = "not_same_device",
	[LEDGER_ERR_NO_QUORUM] = "no_quorum",
	[LEDGER_ERR_DUPLICATE_SIGNATURE] = "duplicate_signature",
};

static const struct {
	int code;
	const char *name;
} reasons[] = {
	{ LEDGER_REASON_UNSPECIFIED, "unspecified" },
	{ LEDGER_REASON_KEY_COMPROMISE, "keyCompromise" },
	{ LEDGER_REASON_CA_COMPROMISE, "cACompromise" },
	{ LEDGER_REASON_AFFILIATION_CHANGED, "affiliationChanged" },
	{ LEDGER_REASON_SUPERSEDED, "superseded" },
	{ LEDGER_REASON_CESSATION, "cessationOfOperation" },
	{ LEDGER_REASON_PRIVILEGE_WITHDRAWN, "privilegeWithdrawn" },
};

const char *
ledger_status_code(enum ledger_status st)
{
	if ((size_t)st >= sizeof(status_codes) / sizeof(status_codes[0]))
		return "internal";
	return status_codes[st];
}

const char *
ledger_entry_type_name(enum ledger_entry_type t)
{
	if (t < LEDGER_ACCOUNT_CREATE || t > LEDGER_TYPE_MAX)
		return "unknown";
	return type_names[t];
}

static int
entry_type_parse(const char *s)
{
	for (int t = LEDGER_ACCOUNT_CREATE; t <= LEDGER_TYPE_MAX; t++)
		if (strcmp(s, type_names[t]) == 0)
			return t;
	return -1;
}

int
ledger_reason_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (strcmp(name, reasons[i].name) == 0)
			return reasons[i].code;
	return -1;
}

const char *
ledger_reason_name(int reason)
{
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].code == reason)
			return reasons[i].name;
	return NULL;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian), without timegm's
 * dependence on the environment. */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

int
ledger_time_parse(const char *s, time_t *t)
{
	static const unsigned mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30,
	    31, 30, 31 };
	unsigned y, mo, d, h, mi, se;
	char tail;

	if (strlen(s) != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
	    s[13] != ':' || s[16] != ':' || s[19] != 'Z')
		return -1;
	for (int i = 0; i < 19; i++)
		if (i != 4 && i != 7 && i != 10 && i != 13 && i != 16 &&
		    !isdigit((unsigned char)s[i]))
			return -1;
	if (sscanf(s, "%4u-%2u-%2uT%2u:%2u:%2uZ%c", &y, &mo, &d, &h, &mi, &se,
	    &tail) != 6)
		return -1;
	if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 ||
	    d > mdays[mo - 1] || h > 23 || mi > 59 || se > 59)
		return -1;
	if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) ||
	    y % 400 == 0))
		return -1;
	*t = (time_t)(days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 +
	    se);
	return 0;
}

void
ledger_time_format(time_t t, char out[21])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int
all_chars(const char *s, size_t minlen, size_t maxlen, const char *extra)
{
	size_t n = strlen(s);

	if (n < minlen || n > maxlen)
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && strchr(extra, *s) == NULL)
			return 0;
	return 1;
}

static int
is_hex(const char *s, size_t minlen, size_t maxlen)
{
	size_t n = strlen(s);

	if (n < minlen || n > maxlen)
		return 0;
	for (; *s != '\0'; s++)
		if (!isdigit((unsigned char)*s) && (*s < 'a' || *s > 'f'))
			return 0;
	return 1;
}

static int
is_uint(const char *s, uint64_t *v)
{
	uint64_t x = 0;

	if (*s == '\0' || (s[0] == '0' && s[1] != '\0') || strlen(s) > 19)
		return 0;
	for (; *s != '\0'; s++) {
		if (!isdigit((unsigned char)*s))
			return 0;
		x = x * 10 + (uint64_t)(*s - '0');
	}
	if (v != NULL)
		*v = x;
	return 1;
}

/* RFC 1035 / 5280 host name: labels of [A-Za-z0-9-], no edge hyphens;
 * a leading "*." wildcard label is allowed. */
static int
is_dns(const char *s)
{
	size_t n = strlen(s), lab = 0;

	if (n == 0 || n > 253)
		return 0;
	if (strncmp(s, "*.", 2) == 0)
		s += 2;
	if (*s == '\0')
		return 0;
	for (const char *p = s; ; p++) {
		if (*p == '.' || *p == '\0') {
			if (lab == 0 || lab > 63 || p[-1] == '-')
				return 0;
			if (*p == '\0')
				return 1;
			lab = 0;
			continue;
		}
		if (!isalnum((unsigned char)*p) && *p != '-')
			return 0;
		if (lab == 0 && *p == '-')
			return 0;
		lab++;
	}
}

static int
is_ip(const char *s)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, s, buf) == 1 ||
	    inet_pton(AF_INET6, s, buf) == 1;
}

static int
syntax_ok(enum field_syntax syn, const char *v)
{
	time_t t;
	uint64_t n;

	switch (syn) {
	case SYN_NAME:
		return all_chars(v, 1, LEDGER_NAME_MAX, "._@-");
	case SYN_TOKEN:
		return all_chars(v, 1, LEDGER_NAME_MAX, "._+-");
	case SYN_TIME:
		return ledger_time_parse(v, &t) == 0;
	case SYN_HEX64:
		return is_hex(v, 64, 64);
	case SYN_SERIAL:
		return is_hex(v, 1, 40) && (v[0] != '0' || v[1] == '\0');
	case SYN_B64:
		return all_chars(v, 1, 12000, "+/=");
	case SYN_UINT:
		return is_uint(v, NULL);
	case SYN_THRESHOLD:
		return is_uint(v, &n) && n >= 1 && n <= LEDGER_MAX_ACCT_KEYS;
	case SYN_ROLE:
		return strcmp(v, "admin") == 0 || strcmp(v, "bridge") == 0;
	case SYN_PROFILE:
		return strcmp(v, "device") == 0 || strcmp(v, "server") == 0 ||
		    strcmp(v, "admin") == 0;
	case SYN_REASON:
		return ledger_reason_parse(v) >= 0;
	case SYN_DNS:
		return is_dns(v);
	case SYN_IP:
		return is_ip(v);
	case SYN_PREAUTH:
		return is_hex(v, LEDGER_PREAUTH_ID_LEN, LEDGER_PREAUTH_ID_LEN);
	case SYN_ORIGIN:
		for (const char *p = v; *p != '\0'; p++)
			if (*p <= 0x20 || *p > 0x7e)
				return 0;
		return strlen(v) >= 1 && strlen(v) <= LEDGER_ORIGIN_MAX;
	case SYN_TEXT:
		for (const char *p = v; *p != '\0'; p++)
			if (*p < 0x20 || *p > 0x7e)
				return 0;
		return strlen(v) >= 1 && strlen(v) <= 200;
	}
	return 0;
}

/* Splits the body into key/value pairs inside e->buf. */
static enum ledger_status
entry_split_fields(struct ledger_entry *e, char *why, size_t whylen)
{
	char *line = e->buf, *nl, *sp;

	e->nfields = 0;
	while (*line != '\0') {
		nl = strchr(line, '\n');
		if (nl == NULL) {
			snprintf(why, whylen, "body does not end in a newline");
			return LEDGER_ERR_MALFORMED;
		}
		*nl = '\0';
		sp = strchr(line, ' ');
		if (sp == NULL || sp == line || sp[1] == '\0' ||
		    strchr(sp + 1, ' ') != NULL) {
			snprintf(why, whylen, "line %zu is not \"key value\"",
			    e->nfields + 1);
			return LEDGER_ERR_MALFORMED;
		}
		*sp = '\0';
		if (!all_chars(line, 1, 32, "-")) {
			snprintf(why, whylen, "line %zu: bad key",
			    e->nfields + 1);
			return LEDGER_ERR_MALFORMED;
		}
		if (e->nfields == LEDGER_ENTRY_FIELDS) {
			snprintf(why, whylen, "more than %d lines",
			    LEDGER_ENTRY_FIELDS);
			return LEDGER_ERR_MALFORMED;
		}
		e->fields[e->nfields].key = line;
		e->fields[e->nfields].value = sp + 1;
		e->nfields++;
		line = nl + 1;
	}
	return LEDGER_OK;
}

/* The five header lines, in this order. */
static enum ledger_status
entry_header(struct ledger_entry *e, char *why, size_t whylen)
{
	static const char *const hdr[] = { "keybridge-entry", "type",
	    "account", "seq", "time" };
	int t;

	if (e->nfields < 5) {
		snprintf(why, whylen, "missing header lines");
		return LEDGER_ERR_MALFORMED;
	}
	for (size_t i = 0; i < 5; i++)
		if (strcmp(e->fields[i].key, hdr[i]) != 0) {
			snprintf(why, whylen, "line %zu must be \"%s\"", i + 1,
			    hdr[i]);
			return LEDGER_ERR_MALFORMED;
		}
	if (strcmp(e->fields[0].value, "v1") != 0) {
		snprintf(why, whylen, "unsupported entry format %s",
		    e->fields[0].value);
		return LEDGER_ERR_MALFORMED;
	}
	if ((t = entry_type_parse(e->fields[1].value)) < 0) {
		snprintf(why, whylen, "unknown entry type");
		return LEDGER_ERR_MALFORMED;
	}
	e->type = (enum ledger_entry_type)t;
	if (!syntax_ok(SYN_NAME, e->fields[2].value)) {
		snprintf(why, whylen, "bad account name");
		return LEDGER_ERR_MALFORMED;
	}
	snprintf(e->account, sizeof(e->account), "%s", e->fields[2].value);
	if (!is_uint(e->fields[3].value, &e->seq) || e->seq == 0) {
		snprintf(why, whylen, "seq must be a positive integer");
		return LEDGER_ERR_MALFORMED;
	}
	if (ledger_time_parse(e->fields[4].value, &e->time) != 0) {
		snprintf(why, whylen, "time must be YYYY-MM-DDTHH:MM:SSZ");
		return LEDGER_ERR_MALFORMED;
	}
	return LEDGER_OK;
}

/* Every field after the header must be allowed for the type, with valid
 * syntax, and appear between min and max times. */
static enum ledger_status
entry_fields_check(struct ledger_entry *e, char *why, size_t whylen)
{
	size_t nrules = sizeof(field_rules) / sizeof(field_rules[0]);
	int count[sizeof(field_rules) / sizeof(field_rules[0])] = { 0 };
	int norigin = 0;

	for (size_t i = 5; i < e->nfields; i++) {
		size_t r;

		if (strcmp(e->fields[i].key, ENTRY_ORIGIN_KEY) == 0) {
			if (!syntax_ok(SYN_ORIGIN, e->fields[i].value) ||
			    ++norigin > 1) {
				snprintf(why, whylen, "field \"origin\" must "
				    "appear at most once, 1 to %d printable "
				    "characters without spaces",
				    LEDGER_ORIGIN_MAX);
				return LEDGER_ERR_MALFORMED;
			}
			continue;
		}
		for (r = 0; r < nrules; r++)
			if (field_rules[r].type == e->type &&
			    strcmp(field_rules[r].key, e->fields[i].key) == 0)
				break;
		if (r == nrules) {
			snprintf(why, whylen, "field \"%s\" is not allowed in "
			    "%s", e->fields[i].key, type_names[e->type]);
			return LEDGER_ERR_MALFORMED;
		}
		if (!syntax_ok(field_rules[r].syn, e->fields[i].value)) {
			snprintf(why, whylen, "field \"%s\" has a bad value",
			    e->fields[i].key);
			return LEDGER_ERR_MALFORMED;
		}
		count[r]++;
	}
	for (size_t r = 0; r < nrules; r++) {
		if (field_rules[r].type != e->type)
			continue;
		if (count[r] < field_rules[r].min ||
		    count[r] > field_rules[r].max) {
			snprintf(why, whylen, "field \"%s\" must appear %d to "
			    "%d times", field_rules[r].key, field_rules[r].min,
			    field_rules[r].max);
			return LEDGER_ERR_MALFORMED;
		}
	}
	return LEDGER_OK;
}

enum ledger_status
ledger_entry_parse(const char *text, size_t len, struct ledger_entry *e,
    char *why, size_t whylen)
{
	enum ledger_status st;

	memset(e, 0, sizeof(*e));
	if (len > LEDGER_ENTRY_MAX) {
		snprintf(why, whylen, "entry is %zu bytes, at most %d allowed",
		    len, LEDGER_ENTRY_MAX);
		return LEDGER_ERR_TOO_LARGE;
	}
	if (memchr(text, '\0', len) != NULL) {
		snprintf(why, whylen, "entry contains a NUL byte");
		return LEDGER_ERR_MALFORMED;
	}
	if (ledger_note_split(text, len, &e->body_len, e->sigs,
	    LEDGER_MAX_SIGS, &e->nsigs, why, whylen) != 0)
		return LEDGER_ERR_MALFORMED;
	if (e->nsigs == 0) {
		snprintf(why, whylen, "entry is not signed");
		return LEDGER_ERR_MALFORMED;
	}
	e->text = text;
	e->len = len;
	if ((e->buf = malloc(e->body_len + 1)) == NULL) {
		snprintf(why, whylen, "out of memory");
		return LEDGER_ERR_MALFORMED;
	}
	memcpy(e->buf, text, e->body_len);
	e->buf[e->body_len] = '\0';
	if ((st = entry_split_fields(e, why, whylen)) != LEDGER_OK ||
	    (st = entry_header(e, why, whylen)) != LEDGER_OK ||
	    (st = entry_fields_check(e, why, whylen)) != LEDGER_OK) {
		ledger_entry_clear(e);
		return st;
	}
	return LEDGER_OK;
}

void
ledger_entry_clear(struct ledger_entry *e)
{
	free(e->buf);
	e->buf = NULL;
	e->nfields = 0;
}

const char *
ledger_entry_get(const struct ledger_entry *e, const char *key)
{
	for (size_t i = 5; i < e->nfields; i++)
		if (strcmp(e->fields[i].key, key) == 0)
			return e->fields[i].value;
	return NULL;
}

size_t
ledger_entry_all(const struct ledger_entry *e, const char *key,
    const char **out, size_t max)
{
	size_t n = 0;

	for (size_t i = 5; i < e->nfields && n < max; i++)
		if (strcmp(e->fields[i].key, key) == 0)
			out[n++] = e->fields[i].value;
	return n;
}

/* See ledger.h. */
struct ledger_entry *
ledger_entry_new(const char *text, size_t len, char *why, size_t whylen)
{
	struct ledger_entry *e = malloc(sizeof(*e));

	if (e == NULL) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	if (ledger_entry_parse(text, len, e, why, whylen) != LEDGER_OK) {
		free(e);
		return NULL;
	}
	return e;
}

void
ledger_entry_free(struct ledger_entry *e)
{
	if (e == NULL)
		return;
	ledger_entry_clear(e);
	free(e);
}

enum ledger_entry_type
ledger_entry_type_of(const struct ledger_entry *e)
{
	return e->type;
}

const char *
ledger_entry_account_of(const struct ledger_entry *e)
{
	return e->account;
}

char *
ledger_entry_body(enum ledger_entry_type type, const char *account,
    uint64_t seq, time_t t, const char *origin,
    const struct ledger_field *fields, size_t n)
{
	char ts[21], *out = NULL;
	size_t len, off;

	ledger_time_format(t, ts);
	len = 128 + strlen(account) + (origin != NULL ? strlen(origin) + 8 : 0);
	for (size_t i = 0; i < n; i++)
		len += strlen(fields[i].key) + strlen(fields[i].value) + 2;
	if ((out = malloc(len)) == NULL)
		return NULL;
	off = (size_t)snprintf(out, len, "%s\ntype %s\naccount %s\nseq %llu\n"
	    "time %s\n", LEDGER_ENTRY_FORMAT, ledger_entry_type_name(type),
	    account, (unsigned long long)seq, ts);
	if (origin != NULL)
		off += (size_t)snprintf(out + off, len - off, "%s %s\n",
		    ENTRY_ORIGIN_KEY, origin);
	for (size_t i = 0; i < n; i++)
		off += (size_t)snprintf(out + off, len - off, "%s %s\n",
		    fields[i].key, fields[i].value);
	return out;
}

char *
ledger_entry_sign(char *note, const char *account, EVP_PKEY *key)
{
	char line[256], *out = NULL, *sep;
	size_t body_len, len = strlen(note);

	/* The body ends before the blank line that starts the signatures;
	 * an unsigned body gets the blank line now. */
	sep = strstr(note, "\n\n");
	body_len = sep != NULL ? (size_t)(sep - note) + 1 : len;
	if (ledger_note_sign_line(note, body_len, account, key, line,
	    sizeof(line)) != 0)
		goto out;
	if ((out = malloc(len + strlen(line) + 2)) == NULL)
		goto out;
	if (sep == NULL)
		snprintf(out, len + strlen(line) + 2, "%s\n%s", note, line);
	else
		snprintf(out, len + strlen(line) + 2, "%s%s", note, line);
out:
	free(note);
	return out;
}
