/*
 * cmd_ledger.c: `keybridge ledger verify|log|checkpoint`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bridge/cli/cli.h"

static void
verify_progress(uint64_t done, uint64_t total, void *arg)
{
	if (isatty(STDERR_FILENO) || done == total)
		fprintf(stderr, "verify: %llu of %llu entries replayed\n",
		    (unsigned long long)done, (unsigned long long)total);
}

/* Replays the whole ledger; exit 0 when it all holds, 1 at the first
 * broken point, named by entry index and block. */
static int
ledger_cmd_verify(struct cli *c)
{
	struct ledger_verify_report rep;
	const char *vkey = c->o.vkey != NULL ? c->o.vkey :
	    c->cfg.validator_vkey;
	char db[PATH_MAX];

	if (cli_only(c, "vkey db json") != 0)
		return 1;
	config_path(&c->cfg, c->cfg.db, db, sizeof(db));
	if (!ledger_db_is_postgres(db) && access(db, R_OK) != 0)
		return cli_fail("verify", "cannot read %s", db);
	if (ledger_verify(db, vkey, &rep, verify_progress, NULL) != 0)
		return cli_fail("verify", "%s", rep.what);
	if (!rep.ok) {
		if (rep.bad_index >= 0)
			printf("ledger BROKEN at entry %lld (block %lld): %s\n",
			    (long long)rep.bad_index, (long long)rep.bad_block,
			    rep.what);
		else
			printf("ledger BROKEN: %s\n", rep.what);
		return 1;
	}
	printf("ledger OK: %llu entries in %llu blocks replayed; every "
	    "signature, rule, root and checkpoint holds and the registry "
	    "matches\n", (unsigned long long)rep.entries,
	    (unsigned long long)rep.blocks);
	return 0;
}

static int
log_entry(const struct ledger_entry_info *e, void *arg)
{
	struct cli *c = arg;
	char t[21], hex[LEDGER_HASH_LEN * 2 + 1];

	ledger_time_format(e->ledger_time, t);
	ledger_hex(e->leaf_hash, LEDGER_HASH_LEN, hex);
	if (c->json) {
		json_t *j = json_pack("{s:I, s:I, s:s, s:s, s:s, s:I, s:s, "
		    "s:s%}", "index", (json_int_t)e->index, "block",
		    (json_int_t)e->block, "ledger_time", t, "type",
		    ledger_entry_type_name(e->type), "account", e->account,
		    "seq", (json_int_t)e->seq, "leaf_hash", hex, "entry",
		    e->text, e->len);

		if (j != NULL) {
			json_dumpf(j, stdout, JSON_COMPACT);
			putchar('\n');
		}
		json_decref(j);
		return 0;
	}
	printf("%6llu  %s  block %-6llu %-15s %s seq %llu\n",
	    (unsigned long long)e->index, t, (unsigned long long)e->block,
	    ledger_entry_type_name(e->type), e->account,
	    (unsigned long long)e->seq);
	return 0;
}

int
cmd_ledger(struct cli *c, const char *sub)
{
	struct ledger *l;
	char cp[1024], *end;
	unsigned long long from = 0, limit = 100;
	int rc = 1;

	if (cli_load_config(c) != 0)
		return 1;
	c->cmd = "ledger";
	if (strcmp(sub, "verify") == 0)
		return ledger_cmd_verify(c);
	if (strcmp(sub, "log") == 0) {
		if (cli_only(c, "json from limit db") != 0)
			return 1;
		if (c->o.from != NULL && ((from = strtoull(c->o.from, &end,
		    10)), *end != '\0' || c->o.from[0] == '-'))
			return cli_fail("usage", "--from must be an index");
		if (c->o.limit != NULL && ((limit = strtoull(c->o.limit, &end,
		    10)), *end != '\0' || limit < 1 ||
		    limit > LEDGER_LIST_MAX))
			return cli_fail("usage", "--limit must be 1 to %d",
			    LEDGER_LIST_MAX);
		if ((l = cli_ledger_open(c, 0)) == NULL)
			return 1;
		rc = ledger_entries(l, from, (size_t)limit, log_entry, c) == 0 ?
		    0 : cli_fail("ledger", "cannot read the log");
		cli_ledger_close(c, l);
		return rc;
	}
	if (strcmp(sub, "checkpoint") == 0) {
		if (cli_only(c, "db") != 0 ||
		    (l = cli_ledger_open(c, 0)) == NULL)
			return 1;
		if (ledger_checkpoint(l, cp, sizeof(cp), NULL) == 0) {
			fputs(cp, stdout);
			rc = 0;
		} else
			rc = cli_fail("empty_ledger", "the ledger is empty");
		cli_ledger_close(c, l);
		return rc;
	}
	return cli_fail("usage", "ledger verify|log|checkpoint");
}
