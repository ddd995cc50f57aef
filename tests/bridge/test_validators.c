/*
 * test_validators.c: bridge/validators.c, the validators consensus,
 * against four validators that listen on loopback HTTP in threads of
 * this process: each is the I/O-free core (validator/core.h vcore_add)
 * with a real Ed25519 key and a real registry of its own that replays
 * every entry through the ledger's rules (ledger/replay.h), behind a
 * real evhttp server, as the daemon puts them together.  The ledger is a
 * real SQLite ledger whose writer seals through bval_consensus_new.
 *
 * "Killing" a validator closes its listener (connections are refused);
 * restarting it listens again on the same port with the state it had
 * persisted (what the daemon reads back at start).  The end-to-end tests
 * with the daemon itself are tests/integration/test_validators_*.sh.
 */

#include "tests/bridge/validators_fx.h"


/* Every block's checkpoint carries >= 3 valid cosignatures; the
 * validators replayed every entry, up to the last block; the status
 * shows it. */
static void
test_every_block_is_final_with_a_quorum_of_cosignatures(void **state)
{
	struct fx *f = *state;
	struct ledger_receipt r;
	struct bval_peer_status ps[NV];
	struct bval_stats st;
	uint64_t total = 0;

	for (int i = 0; i < 30; i++) {
		assert_int_equal(append(f, &r), LEDGER_OK);
		assert_int_equal(r.tree_size, (uint64_t)i + 1);
		if (cosigned_by(f, r.checkpoint) < 3)
			fail_msg("block %d: %zu cosignatures:\n%s", i,
			    cosigned_by(f, r.checkpoint), r.checkpoint);
	}
	/* The fourth reaches the last block too, with no block after it:
	 * one busy with an older block through the last seals (a loaded
	 * machine may hold its thread back) is sent the last block by the
	 * writer's idle step (validators.c bval_idle), as under `keybridge
	 * serve`; ledger_append sealed on this thread, with no idle step. */
	assert_int_equal(ledger_writer_start(f->l, no_wake, NULL), 0);
	for (int i = 0; i < NV; i++) {
		for (int ms = 0; ms < 10000 && tv_size(&f->v[i]) < 30; ms += 10)
			usleep(10000);
		assert_int_equal(tv_size(&f->v[i]), 30);
	}
	bval_stats(f->bv, &st);
	assert_int_equal(st.npeers, NV);
	assert_int_equal(st.quorum, 3);
	assert_int_equal(st.seals, 30);
	assert_int_equal(st.seal_failures, 0);
	assert_int_equal(st.final_size, 30);
	assert_true(st.finality_p50_ms > 0);
	assert_true(st.finality_p99_ms >= st.finality_p50_ms);
	/* the bridge takes the last answers at its next idle step */
	for (int ms = 0, behind = 1; behind && ms < 10000; ms += 10) {
		assert_int_equal(bval_peers(f->bv, ps, NV), NV);
		behind = 0;
		for (int i = 0; i < NV; i++)
			behind |= ps[i].cosigned_size < 30 || ps[i].lag != 0;
		if (behind)
			usleep(10000);
	}
	for (int i = 0; i < NV; i++) {
		assert_string_equal(ps[i].name, f->v[i].name);
		assert_int_equal(ps[i].up, 1);
		assert_int_equal(ps[i].cosigned_size, 30);
		assert_int_equal(ps[i].lag, 0);
		assert_int_equal(ps[i].refused, 0);
		assert_int_equal(ps[i].unreachable, 0);
		total += ps[i].accepted;
	}
	/* counted: those that made each block final (a straggler's answer,
	 * taken at the next block, is not counted for its own) */
	assert_true(total >= 3 * 30);
}

/* v4 down: finality goes on with three; back with its state, it is sent
 * what it missed from its last cosigned size and cosigns the newest. */
static void
test_one_validator_down_then_back_catches_up(void **state)
{
	struct fx *f = *state;
	struct ledger_receipt r;
	struct bval_peer_status ps[NV];
	uint64_t before;

	for (int i = 0; i < 5; i++)
		assert_int_equal(append(f, &r), LEDGER_OK);
	assert_int_equal(append(f, &r), LEDGER_OK);
	tv_stop(&f->v[3]);
	before = tv_size(&f->v[3]);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(append(f, &r), LEDGER_OK);
		assert_true(cosigned_by(f, r.checkpoint) >= 3);
	}
	assert_int_equal(tv_size(&f->v[3]), before);
	bval_peers(f->bv, ps, NV);
	assert_int_equal(ps[3].up, 0);
	assert_true(ps[3].unreachable > 0);
	assert_true(ps[3].lag >= 10);
	tv_start(&f->v[3]);
	/* one request out per validator: it is at most a block or two
	 * behind the newest once its catch-up answer is in.  How many
	 * appends that takes depends on the machine's load (CI runs two
	 * tests at once), so the bound is a generous count, not 10. */
	for (int i = 0; i < CATCHUP_APPENDS; i++) {
		assert_int_equal(append(f, &r), LEDGER_OK);
		bval_peers(f->bv, ps, NV);
		if (i >= 2 && tv_size(&f->v[3]) >= r.tree_size - 1 &&
		    ps[3].up == 1 && ps[3].lag <= 2)
			break;
	}
	assert_true(tv_size(&f->v[3]) >= r.tree_size - 1);
	assert_true(tv_size(&f->v[3]) > before + 10);
	assert_int_equal(ps[3].up, 1);
	if (ps[3].lag > 2)
		fail_msg("v4 lags %llu after catching up",
		    (unsigned long long)ps[3].lag);
}

/* Two down: an append is answered no_quorum after the bounded wait, and
 * nothing is acknowledged; the next, other entry too, without being
 * applied.  One back: the stored block becomes final first, a
 * byte-identical resubmission gets its receipt, and the other entry is
 * appended after it. */
static void
test_two_down_is_no_quorum_and_the_block_becomes_final_later(void **state)
{
	struct fx *f = *state;
	struct ledger_receipt r, r2;
	struct timespec t0;
	char *e1, *e2;
	char why[512];
	double ms;
	uint64_t size;

	for (int i = 0; i < 3; i++)
		assert_int_equal(append(f, &r), LEDGER_OK);
	size = r.tree_size;
	tv_stop(&f->v[2]);
	tv_stop(&f->v[3]);
	e1 = entry(f);
	e2 = entry(f);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(ledger_append(f->l, e1, strlen(e1), &r, why,
	    sizeof(why)), LEDGER_ERR_NO_QUORUM);
	ms = ms_since(&t0);
	assert_true(ms >= WAIT_MS - 5 && ms < WAIT_MS + 1000);
	assert_non_null(strstr(why, "no quorum"));
	assert_string_equal(ledger_status_code(LEDGER_ERR_NO_QUORUM),
	    "no_quorum");
	/* stored, not final */
	assert_int_equal(ledger_size(f->l), size + 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(append_text(f, e2, &r), LEDGER_ERR_NO_QUORUM);
	assert_true(ms_since(&t0) < WAIT_MS + 1000);
	assert_int_equal(ledger_size(f->l), size + 1);	/* not applied */
	tv_start(&f->v[2]);
	/* e1 again, byte for byte: its stored entry's receipt */
	assert_int_equal(append_text(f, e1, &r), LEDGER_OK);
	assert_int_equal(r.index, ledger_size(f->l) - 1);
	assert_true(cosigned_by(f, r.checkpoint) >= 3);
	assert_true(r.index < r.tree_size);
	/* e2 was never applied: appended now, after e1 */
	assert_int_equal(append_text(f, e2, &r2), LEDGER_OK);
	assert_int_equal(r2.index, r.index + 1);
	assert_true(cosigned_by(f, r2.checkpoint) >= 3);
	free(e1);
	free(e2);
}

/* The bridge restarts (a new consensus knows no validator's size): its
 * first request to each is from the wrong size; the 409 names the
 * validator's, and it is sent the block again from there. */
static void
test_bridge_restart_resumes_from_each_validators_size(void **state)
{
	struct fx *f = *state;
	struct ledger_receipt r;
	struct ledger_config lc;
	struct bval_peer_status ps[NV];
	char err[512], db[PATH_MAX];

	for (int i = 0; i < 5; i++)
		assert_int_equal(append(f, &r), LEDGER_OK);
	ledger_close(f->l);
	ledger_consensus_free(f->cons);
	if ((f->cons = bval_consensus_new(&f->cfg, node_sign, f->node, &f->bv,
	    err, sizeof(err))) == NULL)
		fail_msg("bval_consensus_new: %s", err);
	memset(&lc, 0, sizeof(lc));
	lc.db = config_path(&f->cfg, f->cfg.db, db, sizeof(db));
	lc.origin = ORIGIN;
	lc.consensus = f->cons;
	assert_non_null(f->l = ledger_open(&lc, err, sizeof(err)));
	assert_int_equal(append(f, &r), LEDGER_OK);
	assert_int_equal(r.tree_size, 6);
	assert_true(cosigned_by(f, r.checkpoint) >= 3);
	bval_peers(f->bv, ps, NV);
	for (int i = 0; i < NV; i++)
		assert_int_equal(ps[i].refused, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_every_block_is_final_with_a_quorum_of_cosignatures,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_one_validator_down_then_back_catches_up,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_two_down_is_no_quorum_and_the_block_becomes_final_later,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_bridge_restart_resumes_from_each_validators_size,
		    setup, teardown),
	};

	if (evthread_use_pthreads() != 0)
		return 1;
	return cmocka_run_group_tests_name("bridge/validators", tests, NULL,
	    NULL);
}
