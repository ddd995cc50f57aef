/*
 * test_sim.c: a seeded, deterministic simulation of one sequencer and four
 * validators over the I/O-free core (validator/core.c, gather.c), in the
 * manner of TigerBeetle's VOPR: messages delayed, dropped, duplicated and
 * reordered; honest validators crashed and restarted from their persisted
 * state (a copy of struct vcore_state and the registry they committed);
 * on every third seed v2 is a plain C2SP witness (consistency proofs
 * only, no replay); one Byzantine party per seed:
 *   odd seeds:  validator 3 cosigns everything and also answers with lines
 *               over another root, malformed, by a wrong key, or old ones;
 *   even seeds: the sequencer forks the log (two branches from entry F,
 *               routed to different validators, a rule-breaking entry now
 *               and then, entries that are not the checkpoint's, a
 *               checkpoint dated far ahead) and
 *               validator 3 colludes, cosigning everything.
 * After every step: no two conflicting final checkpoints; no honest
 * validator ever cosigned two checkpoints of one size; no final checkpoint
 * covers a rule-breaking entry.  Then the network heals (no faults, every
 * validator up, the sequencer re-sends): the newest checkpoint becomes
 * final (odd seeds) and every entry of every final checkpoint is in the
 * registry of every honest validator on the final branch (on even seeds
 * a validator that followed the losing branch never can).
 *
 * Signatures: the policy's key IDs are real Ed25519 keys' (so line parsing
 * and key matching are the real ones), but sign and verify are a keyed
 * SHA-256 stand-in, injected through vcore_ops and vgather.verify, so that
 * ten thousand seeds run in seconds.  test_cosign.c and test_core.c cover
 * the real Ed25519.
 *
 *   KB_SIM_SEEDS=N   seeds to run (default 10000), from KB_SIM_FIRST (1)
 *   KB_SIM_SEED=N    replay one seed exactly, with a trace of its events
 * A failing seed prints itself and the command that replays it.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "tests/validator/sim_fx.h"

static uint64_t
env_u64(const char *name, uint64_t dflt)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? strtoull(v, NULL, 10) : dflt;
}

static void
test_sim_no_conflicting_finals_under_faults_and_one_byzantine(void **state)
{
	static struct sim s;
	struct timespec a, b;
	uint64_t first, count, seed, bad = 0, finals = 0, i;
	double secs;
	const char *one = getenv("KB_SIM_SEED");

	(void)state;
	sim_setup_policy();
	first = env_u64("KB_SIM_FIRST", 1);
	count = env_u64("KB_SIM_SEEDS", SEEDS_DEFAULT);
	if (one != NULL && *one != '\0') {
		first = strtoull(one, NULL, 10);
		count = 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; i < count; i++) {
		seed = first + i;
		if (sim_run(&s, seed, count == 1 && one != NULL) == -1)
			bad++;
		finals += s.nfinal;
		if (bad >= 5)
			break;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec -
	    a.tv_nsec) / 1e9;
	printf("sim: %" PRIu64 " seeds from %" PRIu64 " in %.2f s (%.0f "
	    "seeds/s), %" PRIu64 " steps, %" PRIu64 " messages, %" PRIu64
	    " cosigned, %" PRIu64 " refused, %" PRIu64 " final checkpoints, "
	    "%" PRIu64 " failed\n", i < count ? i + 1 : count, first, secs,
	    (double)(i < count ? i + 1 : count) / (secs > 0 ? secs : 1),
	    s.steps, s.delivered, s.cosigned, s.refused, finals, bad);
	printf("sim: validators' answers:");
	for (i = 0; i < VCORE_REFUSALS; i++)
		printf(" %s %" PRIu64, vcore_refusal_name((enum vcore_refusal)i),
		    s.refusals[i]);
	printf("\nsim: the gatherer discarded:");
	for (i = 1; i < LEDGER_COSIGN_VERDICTS; i++)
		printf(" %s %" PRIu64, ledger_cosign_verdict_name(
		    (enum ledger_cosign_verdict)i), s.discarded[i]);
	printf("\n");
	sim_release(&s);
	sim_teardown_policy();
	assert_int_equal(bad, 0);
	assert_true(finals > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sim_no_conflicting_finals_under_faults_and_one_byzantine),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
