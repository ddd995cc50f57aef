/*
 * config_blob.h: a published configuration version with what its entry
 * says beyond the registry row (media type, note, time), shared by the
 * command line (cmd_config.c) and the API (api_config_versions.c), and
 * where the data directory keeps the bytes (ledger/blob.h).
 */
#ifndef KEYBRIDGE_CONFIG_BLOB_H
#define KEYBRIDGE_CONFIG_BLOB_H

#include <time.h>

#include <jansson.h>

#include "bridge/config.h"
#include "ledger/blob.h"
#include "ledger/ledger.h"

#define CONFIG_TEXT_MAX 201		/* SYN_TEXT fields, with the NUL */

struct config_version {
	struct ledger_config_info info;
	char media_type[CONFIG_TEXT_MAX];	/* "" in entries before it */
	char note[CONFIG_TEXT_MAX];		/* "" when none */
	time_t time;				/* its block's time */
};

/* The note of an entry is percent-encoded (a field value has no space):
 * every byte outside '!'..'~' and '%' itself as %XX.  Encodes text into
 * out (n bytes); 0, or -1 when it does not fit. */
int config_note_encode(const char *text, char *out, size_t n);

/* The blob store of cfg into out (ledger/blob.h): with a ledger in
 * PostgreSQL its URL (large objects), else the blob folder (blob_dir
 * resolved against the data directory).  0, or -1 when it does not fit. */
int config_blob_store(const struct bridge_config *cfg, char *out, size_t n);

/* Group's version (NULL: the current one) with its entry's fields into
 * *v.  0, 1 when there is no such version (or group), -1 on a storage
 * error. */
int config_version_find(struct ledger *l, const char *group,
    const char *version, struct config_version *v);

/* Every version of group, newest first, with their entries' fields: cb
 * returning non-zero stops.  0 or -1. */
int config_versions(struct ledger *l, const char *group,
    int (*cb)(const struct config_version *, void *), void *arg);

/* The version as JSON (the API's and `config history --json`'s shape):
 * group, version, sha256, size, media_type, note, file, index, time. */
json_t *config_version_json(const struct config_version *v);

#endif
