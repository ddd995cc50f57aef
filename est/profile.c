/*
 * profile.c: the certificate profiles a URL label selects (docs/design.md
 * "Issuance": /.well-known/est/[label/]op).
 */
#include <string.h>

#include "est/est.h"

static const struct {
	const char *name;
	enum est_profile profile;
} est_profiles[] = {
	{ "device", EST_PROFILE_DEVICE },
	{ "server", EST_PROFILE_SERVER },
	{ "admin", EST_PROFILE_ADMIN },
};

/* "device" / "server" / "admin" (exact, lowercase: RFC 7030 3.2.2 labels are
 * case-sensitive path segments) -> profile; -1 when unknown or NULL. */
int
est_profile_parse(const char *name)
{
	size_t i;

	if (name == NULL)
		return -1;
	for (i = 0; i < sizeof(est_profiles) / sizeof(est_profiles[0]); i++)
		if (strcmp(name, est_profiles[i].name) == 0)
			return (int)est_profiles[i].profile;
	return -1;
}

/* The profile's name (static), or "unknown". */
const char *
est_profile_name(enum est_profile p)
{
	size_t i;

	for (i = 0; i < sizeof(est_profiles) / sizeof(est_profiles[0]); i++)
		if (est_profiles[i].profile == p)
			return est_profiles[i].name;
	return "unknown";
}
