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
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/thread.h>

#include "bridge/bridge.h"
#include "bridge/validators.h"
#include "ledger/cosign.h"
#include "ledger/ledger_int.h"
#include "ledger/replay.h"
#include "validator/core.h"
#include "tests/common/tmp_fx.h"

#define ORIGIN		"test/ledger"
#define NODE		"test-node"
#define NV		4
#define WAIT_MS		400
#define BODY_MAX	(8 * 1024 * 1024)

/* One validator: its key, state and registry, and its HTTP server. */
struct tv {
	char name[32];
	EVP_PKEY *key;
	uint8_t kid[LEDGER_COSIGN_KEY_ID_LEN];
	char vkey[LEDGER_COSIGN_VKEY_MAX];
	const char *log_vkey;
	pthread_mutex_t mu;		/* st, r */
	struct vcore_state st;
	struct ledger_replay *r;
	int port;
	struct event_base *b;
	struct evhttp *http;
	pthread_t th;
	int up;
	uint64_t answers;
	size_t max_entries;		/* in one request */
};

struct fx {
	char dir[64];
	EVP_PKEY *node, *admin;
	char node_vkey[256];
	struct tv v[NV];
	struct bridge_config cfg;
	struct ledger_consensus *cons;
	struct bval *bv;
	struct ledger *l;
	uint64_t seq;
};

static int
tv_sign(void *arg, const char *msg, size_t len, uint8_t sig[64])
{
	struct tv *v = arg;
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	size_t siglen = 64;
	int ok = m != NULL && EVP_DigestSignInit(m, NULL, NULL, NULL,
	    v->key) == 1 && EVP_DigestSign(m, sig, &siglen,
	    (const unsigned char *)msg, len) == 1;

	EVP_MD_CTX_free(m);
	return ok ? 0 : -1;
}

static int
tv_log_verify(void *arg, const char *note, size_t len)
{
	return ledger_note_verify_vkey(note, len, ((struct tv *)arg)->log_vkey);
}

static int
tv_stage(void *arg, uint64_t index, const char *text, size_t len, time_t t,
    char *code, size_t codelen, char *why, size_t whylen)
{
	return ledger_replay_stage(((struct tv *)arg)->r, index, text, len, t,
	    code, codelen, why, whylen);
}

static void
tv_abort(void *arg)
{
	ledger_replay_abort(((struct tv *)arg)->r);
}

static int
tv_map_root(void *arg, uint8_t root[LEDGER_HASH_LEN])
{
	return ledger_replay_map_root(((struct tv *)arg)->r, root);
}

/* POST /add-block and /add-checkpoint: the core's answer. */
static void
tv_handle(struct evhttp_request *req, void *arg)
{
	struct tv *v = arg;
	struct vcore_ops ops = { tv_sign, tv_log_verify, tv_stage, tv_abort,
	    v, tv_map_root };
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	struct evbuffer *out = evbuffer_new();
	struct vcore_request rq;
	struct vcore_answer *ans = calloc(1, sizeof(*ans));
	size_t len = evbuffer_get_length(in);
	char *text = malloc(len + 1), why[128];

	assert_non_null(out);
	assert_non_null(ans);
	assert_non_null(text);
	evbuffer_copyout(in, text, len);
	text[len] = '\0';
	pthread_mutex_lock(&v->mu);
	v->answers++;
	if (vcore_request_parse(text, len, &rq, why, sizeof(why)) != 0) {
		ans->status = 400;
		snprintf(ans->body, sizeof(ans->body), "%s\n", why);
	} else {
		if (rq.nentries > v->max_entries)
			v->max_entries = rq.nentries;
		assert_int_equal(vcore_add(&v->st, &ops, v->kid, &rq,
		    time(NULL), ans), 0);
		vcore_request_free(&rq);
		/* the daemon commits the registry with the state */
		if (ans->status == 200)
			assert_int_equal(ledger_replay_commit(v->r), 0);
	}
	pthread_mutex_unlock(&v->mu);
	evbuffer_add(out, ans->body, strlen(ans->body));
	evhttp_send_reply(req, ans->status, "answer", out);
	evbuffer_free(out);
	free(ans);
	free(text);
}

static void *
tv_main(void *arg)
{
	event_base_dispatch(((struct tv *)arg)->b);
	return NULL;
}

/* Listens on 127.0.0.1:v->port (0: any, then remembered). */
static void
tv_start(struct tv *v)
{
	struct evhttp_bound_socket *bs;
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);

	assert_non_null(v->b = event_base_new());
	assert_non_null(v->http = evhttp_new(v->b));
	evhttp_set_max_body_size(v->http, BODY_MAX);
	evhttp_set_cb(v->http, "/add-block", tv_handle, v);
	evhttp_set_cb(v->http, "/add-checkpoint", tv_handle, v);
	assert_non_null(bs = evhttp_bind_socket_with_handle(v->http,
	    "127.0.0.1", (ev_uint16_t)v->port));
	assert_int_equal(getsockname(evhttp_bound_socket_get_fd(bs),
	    (struct sockaddr *)&sa, &sl), 0);
	v->port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(&v->th, NULL, tv_main, v), 0);
	v->up = 1;
}

/* Stops listening and closes its connections (a crash, for the bridge;
 * the state stays as persisted). */
static void
tv_stop(struct tv *v)
{
	if (!v->up)
		return;
	event_base_loopexit(v->b, NULL);
	pthread_join(v->th, NULL);
	evhttp_free(v->http);
	event_base_free(v->b);
	v->up = 0;
}

static uint64_t
tv_size(struct tv *v)
{
	uint64_t n;

	pthread_mutex_lock(&v->mu);
	n = v->st.size;
	pthread_mutex_unlock(&v->mu);
	return n;
}

/* The node's signature, as the key process makes it. */
static int
node_sign(void *arg, const struct ledger_seal *s, char *line, size_t len)
{
	return ledger_note_sign_line(s->body, strlen(s->body), NODE, arg,
	    line, len);
}

/* The next account-create entry by admin (seq 1: admin itself). */
static char *
entry(struct fx *f)
{
	struct ledger_field fl[4];
	char k[256], name[32], *note;
	EVP_PKEY *key = f->seq == 0 ? f->admin :
	    ledger_key_generate("ed25519");

	assert_non_null(key);
	assert_int_equal(ledger_pubkey_to_b64(key, k, sizeof(k)), 0);
	if (f->seq == 0)
		snprintf(name, sizeof(name), "admin");
	else
		snprintf(name, sizeof(name), "acct%llu",
		    (unsigned long long)f->seq);
	f->seq++;
	fl[0] = (struct ledger_field){ "name", name };
	fl[1] = (struct ledger_field){ "role", "admin" };
	fl[2] = (struct ledger_field){ "threshold", "1" };
	fl[3] = (struct ledger_field){ "pubkey", k };
	note = ledger_entry_body(LEDGER_ACCOUNT_CREATE, "admin", f->seq,
	    time(NULL), ORIGIN, fl, 4);
	assert_non_null(note = ledger_entry_sign(note, "admin", f->admin));
	if (key != f->admin)
		EVP_PKEY_free(key);
	return note;
}

static enum ledger_status
append_text(struct fx *f, const char *e, struct ledger_receipt *r)
{
	char why[512];

	return ledger_append(f->l, e, strlen(e), r, why, sizeof(why));
}

static enum ledger_status
append(struct fx *f, struct ledger_receipt *r)
{
	char *e = entry(f);
	enum ledger_status st = append_text(f, e, r);

	free(e);
	return st;
}

/* Valid cosignatures of the configured validators in note. */
static size_t
cosigned_by(struct fx *f, const char *note)
{
	struct ledger_cosigner pol[NV];
	size_t nvalid = 0;

	for (int i = 0; i < NV; i++)
		assert_int_equal(ledger_cosigner_parse(f->v[i].vkey, &pol[i]),
		    0);
	(void)ledger_cosign_quorum(note, strlen(note), pol, NV, 3, NULL, 0,
	    NULL, &nvalid);
	for (int i = 0; i < NV; i++)
		ledger_cosigner_clear(&pol[i]);
	return nvalid;
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct ledger_config lc;
	struct ledger_cosigner c;
	char err[512], db[PATH_MAX];

	assert_non_null(f);
	log_verbosity = LOGL_ERR;
	fx_tmpdir(f->dir, sizeof(f->dir), "kb-test-bval");
	assert_non_null(f->node = ledger_key_generate("ed25519"));
	assert_non_null(f->admin = ledger_key_generate("ed25519"));
	assert_int_equal(ledger_note_vkey_format(f->node, NODE, f->node_vkey,
	    sizeof(f->node_vkey)), 0);
	config_defaults(&f->cfg, f->dir);
	f->cfg.validator_wait_ms = WAIT_MS;
	for (int i = 0; i < NV; i++) {
		struct tv *v = &f->v[i];
		struct config_validator *cv = &f->cfg.validators[i];

		snprintf(v->name, sizeof(v->name), "v%d.test", i + 1);
		assert_non_null(v->key = ledger_key_generate("ed25519"));
		assert_int_equal(ledger_cosigner_from_key(v->name, v->key, &c),
		    0);
		memcpy(v->kid, c.key_id, sizeof(v->kid));
		ledger_cosigner_clear(&c);
		assert_int_equal(ledger_cosign_vkey_format(v->key, v->name,
		    v->vkey, sizeof(v->vkey)), 0);
		v->log_vkey = f->node_vkey;
		pthread_mutex_init(&v->mu, NULL);
		assert_int_equal(vcore_state_init(&v->st, VCORE_VALIDATOR,
		    v->name, ORIGIN, 600, 60), 0);
		assert_non_null(v->r = ledger_replay_open(":memory:", ORIGIN,
		    err, sizeof(err)));
		tv_start(v);
		snprintf(cv->name, sizeof(cv->name), "%s", v->name);
		snprintf(cv->vkey, sizeof(cv->vkey), "%s", v->vkey);
		snprintf(cv->url, sizeof(cv->url), "http://127.0.0.1:%d",
		    v->port);
	}
	f->cfg.nvalidators = NV;
	/* the ledger file first: the consensus opens a read connection */
	memset(&lc, 0, sizeof(lc));
	lc.db = config_path(&f->cfg, f->cfg.db, db, sizeof(db));
	lc.origin = ORIGIN;
	lc.batch_max = 4;	/* several batches wait behind a failed seal */
	{
		struct ledger_consensus *solo = ledger_consensus_solo_new(
		    f->node, NODE);
		struct ledger *l0;

		lc.consensus = solo;
		assert_non_null(l0 = ledger_open(&lc, err, sizeof(err)));
		ledger_close(l0);
		ledger_consensus_free(solo);
	}
	if ((f->cons = bval_consensus_new(&f->cfg, node_sign, f->node, &f->bv,
	    err, sizeof(err))) == NULL)
		fail_msg("bval_consensus_new: %s", err);
	lc.consensus = f->cons;
	if ((f->l = ledger_open(&lc, err, sizeof(err))) == NULL)
		fail_msg("ledger_open: %s", err);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	ledger_close(f->l);
	ledger_consensus_free(f->cons);
	for (int i = 0; i < NV; i++) {
		tv_stop(&f->v[i]);
		ledger_replay_close(f->v[i].r);
		EVP_PKEY_free(f->v[i].key);
		pthread_mutex_destroy(&f->v[i].mu);
	}
	EVP_PKEY_free(f->node);
	EVP_PKEY_free(f->admin);
	fx_rmtree(f->dir);
	free(f);
	return 0;
}

static double
ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static void
no_wake(void *arg)
{
}

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

/* Appends after v4 is back before it must have caught up. */
#define CATCHUP_APPENDS	200

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

struct answers {
	pthread_mutex_t mu;
	int n, ok, no_quorum, other;
};

static void
count_done(enum ledger_status st, const struct ledger_receipt *r,
    const char *why, void *arg)
{
	struct answers *a = arg;

	a->n++;
	if (st == LEDGER_OK)
		a->ok++;
	else if (st == LEDGER_ERR_NO_QUORUM)
		a->no_quorum++;
	else
		a->other++;
}

/* Through the writer thread, two down: every queued submission is
 * answered no_quorum within about two seal waits, none acknowledged;
 * one back: the next ones are final. */
static void
test_queued_submissions_are_answered_within_the_bound(void **state)
{
	struct fx *f = *state;
	struct ledger_account_info ai;
	struct answers a;
	struct timespec t0;
	char *e;
	int n = 40;

	memset(&a, 0, sizeof(a));
	assert_int_equal(append(f, NULL), LEDGER_OK);
	assert_int_equal(ledger_writer_start(f->l, no_wake, NULL), 0);
	tv_stop(&f->v[0]);
	tv_stop(&f->v[1]);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < n; i++) {
		e = entry(f);
		assert_int_equal(ledger_submit(f->l, e, strlen(e), count_done,
		    &a), 0);
		free(e);
		if (i % 10 == 0)
			usleep(20000);
	}
	while (a.n < n && ms_since(&t0) < 4 * WAIT_MS + 2000) {
		usleep(10000);
		ledger_drain(f->l);
	}
	assert_int_equal(a.n, n);
	assert_int_equal(a.ok, 0);
	assert_int_equal(a.other, 0);
	assert_int_equal(a.no_quorum, n);
	assert_true(ms_since(&t0) < 2 * WAIT_MS + 1000);
	tv_start(&f->v[0]);
	memset(&a, 0, sizeof(a));
	/* the first batch is stored (the unsealed block, final later):
	 * its sequence numbers are used; the others' are not */
	assert_int_equal(ledger_account_get(f->l, "admin", &ai), 0);
	assert_true(ai.seq < f->seq);
	f->seq = ai.seq;
	for (int i = 0; i < 5; i++) {
		e = entry(f);
		assert_int_equal(ledger_submit(f->l, e, strlen(e), count_done,
		    &a), 0);
		free(e);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (a.n < 5 && ms_since(&t0) < 4 * WAIT_MS + 2000) {
		usleep(10000);
		ledger_drain(f->l);
	}
	assert_int_equal(a.ok, 5);
	ledger_writer_stop(f->l);
}

#define CHUNK		8	/* entries of one catch-up step, lowered */

/* Appends until v's size reaches the newest block (at most n blocks);
 * returns the last receipt's size. */
static uint64_t
append_until_caught_up(struct fx *f, struct tv *v, int n)
{
	struct ledger_receipt r;

	for (int i = 0; i < n; i++) {
		assert_int_equal(append(f, &r), LEDGER_OK);
		assert_true(cosigned_by(f, r.checkpoint) >= 3);
		if (tv_size(v) == r.tree_size)
			return r.tree_size;
		usleep(5000);	/* its answer may come after the quorum */
	}
	return r.tree_size;
}

/* v4 misses more than 3 catch-up steps' worth of entries: back, it is
 * walked forward through the stored blocks, never more than CHUNK
 * entries a request, each step cosigned, until it cosigns the newest
 * checkpoint; its registry holds every entry.  Finality never waits
 * for it. */
static void
test_validator_far_behind_catches_up_in_bounded_steps(void **state)
{
	struct fx *f = *state;
	struct ledger_receipt r;
	struct bval_peer_status ps[NV];
	struct tv *v4 = &f->v[3];
	uint64_t before, missed = 5 * CHUNK + 3, answers, size;

	bval_set_chunk_max(f->bv, CHUNK);
	for (int i = 0; i < 3; i++)
		assert_int_equal(append(f, &r), LEDGER_OK);
	append_until_caught_up(f, v4, 5);
	tv_stop(v4);
	before = tv_size(v4);
	for (uint64_t i = 0; i < missed; i++) {
		assert_int_equal(append(f, &r), LEDGER_OK);
		assert_true(cosigned_by(f, r.checkpoint) >= 3);
	}
	assert_int_equal(tv_size(v4), before);
	assert_true(r.tree_size - before > 3 * CHUNK);
	pthread_mutex_lock(&v4->mu);
	answers = v4->answers;
	v4->max_entries = 0;
	pthread_mutex_unlock(&v4->mu);
	tv_start(v4);
	size = append_until_caught_up(f, v4, CATCHUP_APPENDS);
	if (tv_size(v4) != size)
		fail_msg("v4 at %llu, the log at %llu",
		    (unsigned long long)tv_size(v4),
		    (unsigned long long)size);
	pthread_mutex_lock(&v4->mu);
	/* in steps: at least missed / CHUNK requests, none over CHUNK */
	assert_true(v4->answers - answers >= missed / CHUNK);
	if (v4->max_entries > CHUNK)
		fail_msg("a request of %zu entries (steps of %d)",
		    v4->max_entries, CHUNK);
	assert_int_equal(ledger_replay_size(v4->r), size);
	pthread_mutex_unlock(&v4->mu);
	/* the bridge takes its last answer at a next block (the next on a
	 * quiet machine; a later one under load) */
	for (int i = 0; i < CATCHUP_APPENDS; i++) {
		assert_int_equal(append(f, &r), LEDGER_OK);
		bval_peers(f->bv, ps, NV);
		if (ps[3].lag <= 1)
			break;
		usleep(5000);
	}
	assert_int_equal(ps[3].up, 1);
	assert_int_equal(ps[3].refused, 0);
	assert_true(ps[3].cosigned_size >= size);
	assert_true(ps[3].lag <= 1);
}

/* The validator's time bound is kept: down longer than its max_past, v4
 * refuses the old stored checkpoints of the first step (time out of
 * bounds), the bridge says so and goes on with three; the operator's
 * resync (a larger max_past while it catches up) brings it back. */
static void
test_validator_down_longer_than_max_past_refuses_then_resyncs(void **state)
{
	struct fx *f = *state;
	struct ledger_receipt r;
	struct bval_peer_status ps[NV];
	struct tv *v4 = &f->v[3];
	uint64_t size;

	bval_set_chunk_max(f->bv, CHUNK);
	for (int i = 0; i < 2; i++)
		assert_int_equal(append(f, &r), LEDGER_OK);
	append_until_caught_up(f, v4, 5);
	tv_stop(v4);
	for (int i = 0; i < 3 * CHUNK; i++)
		assert_int_equal(append(f, &r), LEDGER_OK);
	pthread_mutex_lock(&v4->mu);
	v4->st.max_past = 1;
	pthread_mutex_unlock(&v4->mu);
	sleep(3);
	tv_start(v4);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(append(f, &r), LEDGER_OK);
		assert_true(cosigned_by(f, r.checkpoint) >= 3);
		usleep(5000);
	}
	assert_true(tv_size(v4) < r.tree_size - 3 * CHUNK + 1);
	bval_peers(f->bv, ps, NV);
	assert_true(ps[3].refused > 0);
	if (strstr(ps[3].last_refusal, "time-out-of-bounds") == NULL)
		fail_msg("last refusal: %s", ps[3].last_refusal);
	pthread_mutex_lock(&v4->mu);
	v4->st.max_past = 600;
	pthread_mutex_unlock(&v4->mu);
	size = append_until_caught_up(f, v4, CATCHUP_APPENDS);
	assert_int_equal(tv_size(v4), size);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_every_block_is_final_with_a_quorum_of_cosignatures,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_one_validator_down_then_back_catches_up, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_two_down_is_no_quorum_and_the_block_becomes_final_later,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_queued_submissions_are_answered_within_the_bound,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_bridge_restart_resumes_from_each_validators_size,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_validator_far_behind_catches_up_in_bounded_steps,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_validator_down_longer_than_max_past_refuses_then_resyncs,
		    setup, teardown),
	};

	if (evthread_use_pthreads() != 0)
		return 1;
	return cmocka_run_group_tests_name("bridge/validators", tests, NULL,
	    NULL);
}
