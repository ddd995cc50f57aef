/*
 * test_ingest.c: the ingest pipeline (ledger/ingest.c, ledger/pipe.c)
 * through the real writer: signatures checked ahead on the pool give the
 * answers the serial writer gives (a bad signature is refused with the
 * same reason), and every entry answered OK carries the signed
 * checkpoint of its block (answered only once sealed), on both backends
 * (PostgreSQL: the pool alone; its seal stays on the writer's thread).
 */
#include <pthread.h>
#include <stdatomic.h>

#include "rules_fx.h"
#include "ledger/ledger_state.h"

#define INGEST_ROUNDS 60

struct answers {
	int ok, refused, unsealed;
	char why[256];
};

static void
answer_cb(enum ledger_status st, const struct ledger_receipt *r,
    const char *why, void *arg)
{
	struct answers *a = arg;

	if (st == LEDGER_OK) {
		a->ok++;
		/* the block's own signed checkpoint, covering the entry */
		if (r == NULL || r->tree_size <= r->index ||
		    strncmp(r->checkpoint, TEST_ORIGIN "\n", strlen(
		    TEST_ORIGIN) + 1) != 0 || strstr(r->checkpoint,
		    "\n\n\xe2\x80\x94 ") == NULL)
			a->unsealed++;
		return;
	}
	a->refused++;
	if (st != LEDGER_ERR_SIGNATURE || (a->why[0] != '\0' &&
	    strcmp(a->why, why) != 0))
		snprintf(a->why, sizeof(a->why), "unexpected: %s (%s)", why,
		    ledger_status_code(st));
	else
		snprintf(a->why, sizeof(a->why), "%s", why);
}

/* A config-publish by admin at seq; tampered: its body changed after
 * signing (the signature line no longer verifies). */
static char *
publish_note(struct fx *f, uint64_t seq, int tampered)
{
	struct ledger_field fl[3];
	char grp[32], ver[32], *note, *p;

	snprintf(grp, sizeof(grp), "g-ingest");
	snprintf(ver, sizeof(ver), "v%llu", (unsigned long long)seq);
	fl[0] = (struct ledger_field){ "group", grp };
	fl[1] = (struct ledger_field){ "version", ver };
	fl[2] = (struct ledger_field){ "sha256",
	    "3333333333333333333333333333333333333333333333333333333333333333" };
	note = ledger_entry_sign(ledger_entry_body(LEDGER_CONFIG_PUBLISH,
	    "admin", seq, time(NULL), TEST_ORIGIN, fl, 3), "admin", f->admin);
	assert_non_null(note);
	if (tampered) {
		assert_non_null(p = strstr(note, "3333"));
		p[0] = '4';
	}
	return note;
}

/* The caller's thread of a bridge: answers drained as they come (as
 * the event loop does on the writer's wake), not all at the stop. */
struct drainer {
	struct ledger *l;
	atomic_int stop;
	pthread_t th;
};

static void *
drainer_main(void *arg)
{
	struct drainer *d = arg;

	while (!atomic_load(&d->stop)) {
		ledger_drain(d->l);
		usleep(100);
	}
	return NULL;
}

static void
submit(struct fx *f, char *note, struct answers *a)
{
	assert_int_equal(ledger_submit(f->l, note, strlen(note), answer_cb,
	    a), 0);
	free(note);
}

/* Starts the writer (with its pool) and the drainer, and appends one
 * good entry, the writer's own check of admin's key: after it the pool
 * knows the key. */
static void
start_with_admin_known(struct fx *f, struct drainer *d, struct answers *good)
{
	struct ledger_stats st;

	d->l = f->l;
	assert_int_equal(ledger_writer_start(f->l, NULL, NULL), 0);
	assert_non_null(f->l->ing);
	assert_int_equal(pthread_create(&d->th, NULL, drainer_main, d), 0);
	submit(f, publish_note(f, f->seq_admin++, 0), good);
	do {
		usleep(1000);
		ledger_stats(f->l, &st);
	} while (st.entries < 1);
}

/* Waits for the first entry and INGEST_ROUNDS pairs to be answered, reads
 * the pool's counts and stops the drainer and the writer. */
static void
stop_after_rounds(struct fx *f, struct drainer *d, uint64_t *ahead,
    uint64_t *self, uint64_t *own)
{
	struct ledger_stats st;

	do {
		usleep(1000);
		ledger_stats(f->l, &st);
	} while (st.entries + st.refused + st.failed < 2 * INGEST_ROUNDS + 1);
	usleep(20000);	/* the last seal's answers, drained */
	ledger_ingest_stats(f->l->ing, ahead, self, own);
	atomic_store(&d->stop, 1);
	pthread_join(d->th, NULL);
	ledger_writer_stop(f->l);
}

/*
 * Good and tampered entries interleaved, many in flight: every good one
 * is answered OK with its block's checkpoint, every tampered one is
 * refused with exactly the serial writer's reason, and most were
 * checked on the pool (the admin key is learned from the first entry,
 * which the writer checks itself).  The ledger verifies.
 */
static void
test_entries_checked_ahead_are_answered_as_serially(void **state)
{
	struct fx *f = *state;
	struct ledger_verify_report rep;
	struct answers good = { 0 }, bad = { 0 };
	uint64_t ahead = 0, self = 0, own = 0;
	struct drainer d = { 0 };

	/* the first entry teaches the pool admin's key */
	start_with_admin_known(f, &d, &good);
	for (int i = 0; i < INGEST_ROUNDS; i++) {
		/* a tampered entry at a seq no good one uses */
		submit(f, publish_note(f, f->seq_admin + 1000000 + (uint64_t)i,
		    1), &bad);
		submit(f, publish_note(f, f->seq_admin++, 0), &good);
	}
	stop_after_rounds(f, &d, &ahead, &self, &own);
	assert_int_equal(good.ok, INGEST_ROUNDS + 1);
	assert_int_equal(good.refused, 0);
	assert_int_equal(good.unsealed, 0);
	assert_int_equal(bad.ok, 0);
	assert_int_equal(bad.refused, INGEST_ROUNDS);
	assert_string_equal(bad.why, "signature line 1 does not verify with "
	    "any key of account admin");
	assert_true(ahead > 0);
	assert_int_equal(own, 0);
	assert_int_equal(ledger_verify(f->db, f->vkey, &rep, NULL, NULL), 0);
	if (!rep.ok)
		fail_msg("verify: %s", rep.what);
}

static void
submit_own(struct fx *f, char *note, struct answers *a)
{
	const char *t = note;
	size_t len = strlen(note);

	assert_int_equal(ledger_submit_own(f->l, &t, &len, 1, answer_cb, a),
	    0);
	free(note);
}

/*
 * The process's own entries (ledger_submit_own) never go through the
 * pool, yet get the same rules from the writer: good ones are answered
 * with their block's checkpoint, tampered ones refused with the serial
 * writer's reason, and the pool checked none of them (all counted as
 * the writer's own).
 */
static void
test_own_entries_skip_the_pool_and_keep_the_rules(void **state)
{
	struct fx *f = *state;
	struct ledger_verify_report rep;
	struct answers good = { 0 }, bad = { 0 };
	uint64_t ahead = 0, self = 0, own = 0, ahead0 = 0;
	struct drainer d = { 0 };

	/* as above: the directory knows admin's key after this one */
	start_with_admin_known(f, &d, &good);
	/* the first one may have been checked ahead (self, own unused) */
	ledger_ingest_stats(f->l->ing, &ahead0, &self, &own);
	for (int i = 0; i < INGEST_ROUNDS; i++) {
		submit_own(f, publish_note(f, f->seq_admin + 1000000 +
		    (uint64_t)i, 1), &bad);
		submit_own(f, publish_note(f, f->seq_admin++, 0), &good);
	}
	stop_after_rounds(f, &d, &ahead, &self, &own);
	assert_int_equal(good.ok, INGEST_ROUNDS + 1);
	assert_int_equal(good.unsealed, 0);
	assert_int_equal(bad.ok, 0);
	assert_int_equal(bad.refused, INGEST_ROUNDS);
	assert_string_equal(bad.why, "signature line 1 does not verify with "
	    "any key of account admin");
	assert_int_equal(ahead, ahead0);
	assert_int_equal(own, 2 * INGEST_ROUNDS);
	assert_int_equal(ledger_verify(f->db, f->vkey, &rep, NULL, NULL), 0);
	if (!rep.ok)
		fail_msg("verify: %s", rep.what);
}

/* With the pool stopped (the writer stopped), the same tampered entry
 * appended serially gets the same reason: the reference for the above. */
static void
test_serial_append_gives_the_same_reason(void **state)
{
	struct fx *f = *state;
	struct ledger_receipt r;
	char why[256], *note = publish_note(f, f->seq_admin, 1);

	assert_int_equal(ledger_append(f->l, note, strlen(note), &r, why,
	    sizeof(why)), LEDGER_ERR_SIGNATURE);
	assert_string_equal(why, "signature line 1 does not verify with any "
	    "key of account admin");
	free(note);
}

static int
run_suite(const struct backend *be)
{
	const struct CMUnitTest tests[] = {
		T(test_entries_checked_ahead_are_answered_as_serially),
		T(test_own_entries_skip_the_pool_and_keep_the_rules),
		T(test_serial_append_gives_the_same_reason),
	};
	char name[64];

	snprintf(name, sizeof(name), "ledger/ingest (%s)", be->name);
	return cmocka_run_group_tests_name(name, tests, NULL, NULL);
}

int
main(void)
{
	return fx_main("test_ingest", run_suite, NULL);
}
