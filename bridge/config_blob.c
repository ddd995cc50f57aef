/*
 * config_blob.c: published configuration versions with their entries'
 * fields (config_blob.h).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge/config_blob.h"
#include "bridge/render.h"

int
config_blob_store(const struct bridge_config *cfg, char *out, size_t n)
{
	char p[PATH_MAX];
	const char *d = ledger_db_is_postgres(cfg->db) ? cfg->db :
	    config_path(cfg, cfg->blob_dir, p, sizeof(p));
	int len = snprintf(out, n, "%s", d);

	return len < 0 || (size_t)len >= n ? -1 : 0;
}

int
config_note_encode(const char *text, char *out, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)text; *p != '\0';
	    p++) {
		if (*p > 0x20 && *p < 0x7f && *p != '%') {
			if (o + 1 >= n)
				return -1;
			out[o++] = (char)*p;
			continue;
		}
		if (o + 3 >= n)
			return -1;
		out[o++] = '%';
		out[o++] = hex[*p >> 4];
		out[o++] = hex[*p & 0xf];
	}
	if (o >= n)
		return -1;
	out[o] = '\0';
	return 0;
}

/* Decodes a note's %XX escapes into out (n bytes, truncating); a control
 * byte becomes '?'. */
static void
config_note_decode(const char *in, char *out, size_t n)
{
	size_t o = 0;
	int hi, lo, c;

	for (; *in != '\0' && o + 1 < n; in++) {
		c = (unsigned char)*in;
		if (c == '%' && (hi = ledger_hexval(in[1])) >= 0 &&
		    (lo = ledger_hexval(in[2])) >= 0) {
			c = hi << 4 | lo;
			in += 2;
		}
		out[o++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	out[o] = '\0';
}

/* Copies an entry's fields into the version being filled. */
static int
config_entry_cb(const struct ledger_entry_info *ei, void *arg)
{
	struct config_version *v = arg;
	struct ledger_entry *e;
	const char *s;
	char why[128];

	v->time = ei->ledger_time;
	if ((e = ledger_entry_new(ei->text, ei->len, why, sizeof(why))) ==
	    NULL)
		return 1;
	if ((s = ledger_entry_get(e, "media-type")) != NULL)
		snprintf(v->media_type, sizeof(v->media_type), "%s", s);
	if ((s = ledger_entry_get(e, "note")) != NULL)
		config_note_decode(s, v->note, sizeof(v->note));
	ledger_entry_free(e);
	return 1;
}

/* Fills v from c and c's entry.  0 or -1. */
static int
config_version_fill(struct ledger *l, const struct ledger_config_info *c,
    struct config_version *v)
{
	memset(v, 0, sizeof(*v));
	v->info = *c;
	return ledger_entries(l, c->index, 1, config_entry_cb, v);
}

struct config_iter {
	struct ledger *l;
	const char *version;
	int (*cb)(const struct config_version *, void *);
	void *arg;
	struct config_version *out;
	int found, failed;
};

static int
config_iter_cb(const struct ledger_config_info *c, void *arg)
{
	struct config_iter *it = arg;
	struct config_version v;

	if (it->out != NULL) {
		if (it->version != NULL && strcmp(c->version, it->version) != 0)
			return 0;
		it->found = 1;
		if (config_version_fill(it->l, c, it->out) != 0)
			it->failed = 1;
		return 1;
	}
	if (config_version_fill(it->l, c, &v) != 0) {
		it->failed = 1;
		return 1;
	}
	return it->cb(&v, it->arg);
}

int
config_version_find(struct ledger *l, const char *group,
    const char *version, struct config_version *v)
{
	struct config_iter it = { l, version, NULL, NULL, v, 0, 0 };

	if (ledger_configs(l, group, config_iter_cb, &it) != 0 || it.failed)
		return -1;
	return it.found ? 0 : 1;
}

int
config_versions(struct ledger *l, const char *group,
    int (*cb)(const struct config_version *, void *), void *arg)
{
	struct config_iter it = { l, NULL, cb, arg, NULL, 0, 0 };

	if (ledger_configs(l, group, config_iter_cb, &it) != 0 || it.failed)
		return -1;
	return 0;
}

json_t *
config_version_json(const struct config_version *v)
{
	char t[21];

	ledger_time_format(v->time, t);
	return json_pack("{s:s,s:s,s:s,s:o,s:s?,s:s?,s:s?,s:o,s:s}",
	    "group", v->info.group, "version", v->info.version,
	    "sha256", v->info.sha256,
	    "size", v->info.size >= 0 ? json_integer(v->info.size) :
	    json_null(),
	    "media_type", v->media_type[0] != '\0' ? v->media_type : NULL,
	    "note", v->note[0] != '\0' ? v->note : NULL,
	    "file", v->info.file[0] != '\0' ? v->info.file : NULL,
	    "index", render_json_u64(v->info.index), "time", t);
}
