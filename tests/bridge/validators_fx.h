/*
 * validators_fx.h: what test_validators.c and test_validators_bounds.c
 * share: four validators listening on loopback HTTP in threads of the
 * test process (the I/O-free core with a real Ed25519 key and a real
 * registry, behind a real evhttp server), "killed" and restarted, and a
 * real SQLite ledger whose writer seals through bval_consensus_new.
 * Static inline, as tests/ledger/mapsnap_fx.h.
 */
#ifndef KEYBRIDGE_TESTS_BRIDGE_VALIDATORS_FX_H
#define KEYBRIDGE_TESTS_BRIDGE_VALIDATORS_FX_H

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
/* Appends after a validator is back before it must have caught up. */
#define CATCHUP_APPENDS	200

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

static inline int
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

static inline int
tv_log_verify(void *arg, const char *note, size_t len)
{
	return ledger_note_verify_vkey(note, len, ((struct tv *)arg)->log_vkey);
}

static inline int
tv_stage(void *arg, uint64_t index, const char *text, size_t len, time_t t,
    char *code, size_t codelen, char *why, size_t whylen)
{
	return ledger_replay_stage(((struct tv *)arg)->r, index, text, len, t,
	    code, codelen, why, whylen);
}

static inline void
tv_abort(void *arg)
{
	ledger_replay_abort(((struct tv *)arg)->r);
}

static inline int
tv_map_root(void *arg, uint8_t root[LEDGER_HASH_LEN])
{
	return ledger_replay_map_root(((struct tv *)arg)->r, root);
}

/* POST /add-block and /add-checkpoint: the core's answer. */
static inline void
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

static inline void *
tv_main(void *arg)
{
	event_base_dispatch(((struct tv *)arg)->b);
	return NULL;
}

/* Listens on 127.0.0.1:v->port (0: any, then remembered). */
static inline void
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
static inline void
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

static inline uint64_t
tv_size(struct tv *v)
{
	uint64_t n;

	pthread_mutex_lock(&v->mu);
	n = v->st.size;
	pthread_mutex_unlock(&v->mu);
	return n;
}

/* The node's signature, as the key process makes it. */
static inline int
node_sign(void *arg, const struct ledger_seal *s, char *line, size_t len)
{
	return ledger_note_sign_line(s->body, strlen(s->body), NODE, arg,
	    line, len);
}

/* The next account-create entry by admin (seq 1: admin itself). */
static inline char *
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

static inline enum ledger_status
append_text(struct fx *f, const char *e, struct ledger_receipt *r)
{
	char why[512];

	return ledger_append(f->l, e, strlen(e), r, why, sizeof(why));
}

static inline enum ledger_status
append(struct fx *f, struct ledger_receipt *r)
{
	char *e = entry(f);
	enum ledger_status st = append_text(f, e, r);

	free(e);
	return st;
}

/* Valid cosignatures of the configured validators in note. */
static inline size_t
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

static inline int
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

static inline int
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

static inline double
ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static inline void
no_wake(void *arg)
{
}

#endif
