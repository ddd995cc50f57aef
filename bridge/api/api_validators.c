/*
 * api_validators.c: the validators as the JSON API shows them (issue 14):
 * each validator's health in GET /api/v1/status, and each cosignature of
 * the latest final checkpoint in GET /api/v1/ledger/checkpoint.  Read
 * through the consensus's snapshots (bridge/validators.h), which any
 * thread may take; with no validators (solo) the same fields say so.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge/api/api_int.h"
#include "bridge/validators.h"

/* One validator's health (a new object, or NULL). */
static json_t *
api_peer_json(const struct bval_peer_status *p)
{
	json_t *j, *disc = json_object();
	int v;

	if (disc == NULL)
		return NULL;
	/* every verdict but "valid": the cosignatures a 200 brought that
	 * were not counted, and why */
	for (v = LEDGER_COSIGN_VALID + 1; v < LEDGER_COSIGN_VERDICTS; v++)
		if (json_object_set_new(disc, ledger_cosign_verdict_name(
		    (enum ledger_cosign_verdict)v), render_json_u64(
		    p->discarded[v])) != 0) {
			json_decref(disc);
			return NULL;
		}
	/* "o" steals disc and the rendered values, also on failure; "s?"
	 * gives null for NULL (no refusal yet) */
	j = json_pack("{s:s,s:s,s:s,s:s,s:b,s:o,s:o,s:f,s:s?,s:o,s:o,s:o,"
	    "s:o,s:o}", "name", p->name, "url", p->url, "vkey", p->vkey,
	    "role", p->witness ? "witness" : "validator", "up", p->up,
	    "cosigned_size", render_json_u64(p->cosigned_size),
	    "lag", render_json_u64(p->lag), "latency_ms", p->latency_ms,
	    "last_refusal", p->last_refusal[0] != '\0' ? p->last_refusal : NULL,
	    "last_refusal_at", p->last_refusal_at > 0 ?
	    render_json_time(p->last_refusal_at) : json_null(),
	    "accepted", render_json_u64(p->accepted),
	    "refused", render_json_u64(p->refused),
	    "discarded", disc,
	    "unreachable", render_json_u64(p->unreachable));
	return j;
}

/* See api_int.h. */
int
api_validators_status(struct bval *v, uint64_t solo_final, json_t *j)
{
	struct bval_peer_status *peers = NULL;
	struct bval_stats st;
	json_t *arr = json_array(), *fin;
	size_t n = 0;
	int rc = -1;

	if (arr == NULL)
		return -1;
	bval_stats(v, &st);
	if (v != NULL) {
		if ((peers = calloc(st.npeers > 0 ? st.npeers : 1,
		    sizeof(*peers))) == NULL)
			goto out;
		n = bval_peers(v, peers, st.npeers);
	}
	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(arr, api_peer_json(&peers[i])) != 0)
			goto out;
	/* solo: every signed checkpoint is final, and finality is the
	 * commit itself */
	fin = v == NULL ? json_null() : json_pack("{s:f,s:f,s:o,s:o}",
	    "p50_ms", st.finality_p50_ms, "p99_ms", st.finality_p99_ms,
	    "seals", render_json_u64(st.seals), "seals_without_quorum",
	    render_json_u64(st.seal_failures));
	if (json_object_set_new(j, "validators", arr) != 0) {
		arr = NULL;
		json_decref(fin);
		goto out;
	}
	arr = NULL;
	if (fin == NULL || json_object_set_new(j, "finality", fin) != 0 ||
	    json_object_set_new(j, "quorum", json_integer(
	    (json_int_t)st.quorum)) != 0 ||
	    json_object_set_new(j, "final_size", render_json_u64(v != NULL ?
	    st.final_size : solo_final)) != 0)
		goto out;
	rc = 0;
out:
	json_decref(arr);
	free(peers);
	return rc;
}

/* See api_int.h. */
json_t *
api_cosignatures_json(struct bval *v, const char *note, size_t *nvalid)
{
	struct bval_peer_status *peers = NULL;
	struct ledger_cosigner *cs = NULL;
	struct ledger_cosign_result res[LEDGER_COSIGN_LINES_MAX];
	struct bval_stats st;
	size_t n = 0, nc = 0, nres = 0, i;
	json_t *arr = json_array();

	*nvalid = 0;
	if (arr == NULL || v == NULL)
		return arr;
	bval_stats(v, &st);
	if (st.npeers == 0)
		return arr;
	if ((peers = calloc(st.npeers, sizeof(*peers))) == NULL ||
	    (cs = calloc(st.npeers, sizeof(*cs))) == NULL)
		goto fail;
	n = bval_peers(v, peers, st.npeers);
	for (i = 0; i < n && nc < LEDGER_COSIGN_POLICY_MAX; i++)
		if (ledger_cosigner_parse(peers[i].vkey, &cs[nc]) == 0)
			nc++;
	/* Every line, with the verdict the bridge's own check gives it
	 * (lines that name no validator, the node's own, are left out). */
	(void)ledger_cosign_quorum(note, strlen(note), cs, nc, st.quorum, res,
	    LEDGER_COSIGN_LINES_MAX, &nres, nvalid);
	for (i = 0; i < nres; i++) {
		if (res[i].verdict == LEDGER_COSIGN_UNKNOWN)
			continue;
		if (json_array_append_new(arr, json_pack("{s:s,s:o,s:s}",
		    "name", res[i].name, "timestamp",
		    render_json_u64(res[i].timestamp), "verdict",
		    ledger_cosign_verdict_name(res[i].verdict))) != 0)
			goto fail;
	}
	goto out;
fail:
	json_decref(arr);
	arr = NULL;
out:
	for (i = 0; cs != NULL && i < nc; i++)
		ledger_cosigner_clear(&cs[i]);
	free(cs);
	free(peers);
	return arr;
}
