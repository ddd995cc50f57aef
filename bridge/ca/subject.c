/*
 * subject.c: the names of the CA certificates keybridge makes (root,
 * issuing CA, OCSP signer): `init --subject-c CC --subject-o ORG
 * [--subject-ou OU]`, kept in keybridge.conf (ca_subject_c, _o, _ou) so
 * that a later issuing CA (ca rollover) gets the same names.
 *
 * The CA/Browser Forum's Baseline Requirements 7.1.4 (and linters that
 * apply them, zlint's e_ca_organization_name_missing,
 * e_ca_country_name_missing) want O and C in a CA's subject; RFC 5280
 * 4.1.2.4 wants the DirectoryString attributes as UTF8String (or
 * PrintableString), and X.520 bounds them: ub-organization-name and
 * ub-organizational-unit-name 64 characters, countryName a
 * PrintableString of two letters, an ISO 3166-1 alpha-2 code.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "common/log.h"
#include "bridge/ca/ca.h"

#define SUBJECT_C_LEN	2

/* ISO 3166-1 alpha-2, the assigned codes (249, iso-codes 4.x and the
 * tz database's iso3166.tab agree), two letters each. */
static const char subject_iso3166[] =
    "ADAEAFAGAIALAMAOAQARASATAUAWAXAZBABBBDBEBFBGBHBIBJBLBMBNBOBQBRBSBT"
    "BVBWBYBZCACCCDCFCGCHCICKCLCMCNCOCRCUCVCWCXCYCZDEDJDKDMDODZECEEEGEH"
    "ERESETFIFJFKFMFOFRGAGBGDGEGFGGGHGIGLGMGNGPGQGRGSGTGUGWGYHKHMHNHRHT"
    "HUIDIEILIMINIOIQIRISITJEJMJOJPKEKGKHKIKMKNKPKRKWKYKZLALBLCLILKLRLS"
    "LTLULVLYMAMCMDMEMFMGMHMKMLMMMNMOMPMQMRMSMTMUMVMWMXMYMZNANCNENFNGNI"
    "NLNONPNRNUNZOMPAPEPFPGPHPKPLPMPNPRPSPTPWPYQARERORSRURWSASBSCSDSESG"
    "SHSISJSKSLSMSNSOSRSSSTSVSXSYSZTCTDTFTGTHTJTKTLTMTNTOTRTTTVTWTZUAUG"
    "UMUSUYUZVAVCVEVGVIVNVUWFWSYEYTZAZMZW";

/* 1 when the two letters c are an assigned ISO 3166-1 alpha-2 code. */
static int
subject_iso3166_ok(const char *c)
{
	size_t i;

	for (i = 0; i + 1 < sizeof(subject_iso3166); i += SUBJECT_C_LEN)
		if (subject_iso3166[i] == c[0] &&
		    subject_iso3166[i + 1] == c[1])
			return 1;
	return 0;
}

/*
 * The characters of UTF-8 text v, or -1 when it is not UTF-8 (RFC 3629:
 * no overlong forms, no surrogates, nothing above U+10FFFF) or holds a
 * control character (C0, DEL, C1): a name is printed in logs, in
 * `openssl x509 -subject` and on dashboards.
 */
static long
subject_utf8_chars(const char *v)
{
	const unsigned char *p = (const unsigned char *)v;
	unsigned long cp;
	long n = 0;
	int more, i;

	while (*p != '\0') {
		if (*p < 0x80) {
			if (*p < 0x20 || *p == 0x7f)
				return -1;
			p++;
			n++;
			continue;
		}
		if ((*p & 0xe0) == 0xc0) {
			cp = *p & 0x1f;
			more = 1;
		} else if ((*p & 0xf0) == 0xe0) {
			cp = *p & 0x0f;
			more = 2;
		} else if ((*p & 0xf8) == 0xf0) {
			cp = *p & 0x07;
			more = 3;
		} else
			return -1;
		for (i = 1; i <= more; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return -1;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		if ((more == 1 && cp < 0x80) || (more == 2 && cp < 0x800) ||
		    (more == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff) ||
		    (cp >= 0x80 && cp <= 0x9f))
			return -1;
		p += more + 1;
		n++;
	}
	return n;
}

/* See ca.h. */
int
ca_subject_check(const char *v, int country, char *why, size_t whylen)
{
	size_t len = v != NULL ? strlen(v) : 0;
	long chars;

	if (len == 0) {
		snprintf(why, whylen, "is empty");
		return -1;
	}
	if (country) {
		if (len != SUBJECT_C_LEN || v[0] < 'A' || v[0] > 'Z' ||
		    v[1] < 'A' || v[1] > 'Z') {
			snprintf(why, whylen, "\"%.8s\" is not two "
			    "upper-case letters (an ISO 3166-1 alpha-2 code "
			    "such as DE, US, JP)", v);
			return -1;
		}
		if (!subject_iso3166_ok(v)) {
			snprintf(why, whylen, "\"%s\" is not an assigned "
			    "ISO 3166-1 alpha-2 code", v);
			return -1;
		}
		return 0;
	}
	if ((chars = subject_utf8_chars(v)) < 0) {
		snprintf(why, whylen, "is not printable UTF-8 (no control "
		    "characters)");
		return -1;
	}
	if (chars > CA_NAME_CHARS_MAX) {
		snprintf(why, whylen, "is %ld characters long, at most %d "
		    "(X.520 upper bound)", chars, CA_NAME_CHARS_MAX);
		return -1;
	}
	if (v[0] == ' ' || v[len - 1] == ' ') {
		snprintf(why, whylen, "begins or ends with a blank");
		return -1;
	}
	return 0;
}

/* See ca.h. */
X509_NAME *
ca_subject_name(const struct bridge_config *c, const char *cn, char *err,
    size_t errlen)
{
	const struct {
		int nid, type;
		const char *v, *what;
	} rdn[] = {
		{ NID_countryName, V_ASN1_PRINTABLESTRING,
		    c != NULL ? c->ca_subject_c : "", "ca_subject_c" },
		{ NID_organizationName, V_ASN1_UTF8STRING,
		    c != NULL ? c->ca_subject_o : "", "ca_subject_o" },
		{ NID_organizationalUnitName, V_ASN1_UTF8STRING,
		    c != NULL ? c->ca_subject_ou : "", "ca_subject_ou" },
	};
	X509_NAME *n = NULL;
	char why[CONFIG_STR];
	size_t i;

	if ((n = X509_NAME_new()) == NULL)
		goto fail;
	for (i = 0; i < sizeof(rdn) / sizeof(rdn[0]); i++) {
		if (rdn[i].v[0] == '\0')
			continue;
		if (ca_subject_check(rdn[i].v, rdn[i].nid == NID_countryName,
		    why, sizeof(why)) != 0) {
			snprintf(err, errlen, "%s %s", rdn[i].what, why);
			goto out;
		}
		if (X509_NAME_add_entry_by_NID(n, rdn[i].nid, rdn[i].type,
		    (const unsigned char *)rdn[i].v, -1, -1, 0) != 1)
			goto fail;
	}
	/* As before: OpenSSL's default string mask makes it a UTF8String,
	 * and refuses more than ub-common-name (64). */
	if (X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0) != 1)
		goto fail;
	return n;
fail:
	log_openssl_why(err, errlen, "cannot build the CA's name");
out:
	X509_NAME_free(n);
	return NULL;
}
