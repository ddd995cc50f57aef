/*
 * fuzz_est_route.c: EST's routing and labels (est/routes.c) and its HTTP
 * Basic credentials (est/auth.c).  The input is three lines: a
 * request-target, an Authorization value and a Content-Type value.  The
 * target goes through evhttp's URI parser, as a request's does, then
 * est_route_parse; the label through est_profile_parse; the credentials
 * through est_basic_parse and est_basic_check against one fixed pair.
 * Properties: a route found has a label that fits and holds no '/'; a
 * known profile's name parses back to itself; credentials that parse
 * are what est_basic_check compares (it says 1 exactly when they are
 * the fixed pair).
 */
#include "tests/fuzz/fuzz.h"

#include <event2/http.h>
#include <openssl/crypto.h>

#include "est/est.h"
#include "est/est_int.h"

#define FUZZ_USER "device-7"
#define FUZZ_PASS "s3cret:with:colons"

/* The next '\n'-ended line of s (cut in place), or the rest. */
static char *
fuzz_line(char **s)
{
	char *l = *s, *nl;

	if (l == NULL)
		return NULL;
	if ((nl = strchr(l, '\n')) != NULL) {
		*nl = '\0';
		*s = nl + 1;
	} else
		*s = NULL;
	return l;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char *in = fuzz_cstr(data, len), *rest = in, *target, *auth, *ctype;
	char label[EST_LABEL_MAX], user[256], pass[256];
	struct evhttp_uri *u;
	int op, prof;

	target = fuzz_line(&rest);
	auth = fuzz_line(&rest);
	ctype = fuzz_line(&rest);
	if ((u = evhttp_uri_parse_with_flags(target, 0)) != NULL) {
		if ((op = est_route_parse(evhttp_uri_get_path(u), label,
		    sizeof(label))) >= 0) {
			FUZZ_CHECK(op < 5 && strlen(label) < sizeof(label) &&
			    strchr(label, '/') == NULL);
			if (label[0] != '\0' &&
			    (prof = est_profile_parse(label)) >= 0)
				FUZZ_CHECK(strcmp(est_profile_name(
				    (enum est_profile)prof), label) == 0);
		}
		evhttp_uri_free(u);
	}
	(void)est_route_parse(target, label, sizeof(label));
	if (est_basic_parse(auth, user, sizeof(user), pass,
	    sizeof(pass)) == 0) {
		FUZZ_CHECK(strchr(user, ':') == NULL);
		FUZZ_CHECK(est_basic_check(auth, FUZZ_USER, FUZZ_PASS) ==
		    (strcmp(user, FUZZ_USER) == 0 &&
		    strcmp(pass, FUZZ_PASS) == 0));
	} else
		FUZZ_CHECK(est_basic_check(auth, FUZZ_USER, FUZZ_PASS) == 0);
	(void)est_route_is_pkcs10(ctype);
	OPENSSL_cleanse(pass, sizeof(pass));
	free(in);
	return 0;
}
