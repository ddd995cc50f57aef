#!/usr/bin/env bash
# test_ledger_rollback: `ledger verify` and a rolled-back ledger (issue 11,
# defect 2), on SQLite and on PostgreSQL.  Keys are registered and one is
# revoked through a running bridge, which remembers its latest checkpoint
# in DIR/checkpoint.trusted; then the last blocks are deleted with
# sqlite3/psql and the registry put back to match (the revocation undone).
# That database is whole in itself: verify without a trusted checkpoint
# calls it OK (asserted: the hole).  With --checkpoint, with the remembered
# checkpoint and with the receipt of a removed entry it is refused as
# rolled back; a fork (the same size again, another root) is refused too;
# older checkpoints and receipts of kept entries still verify.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# sql BACKEND SQL: runs SQL on the test's database of that backend.
sql() {
	case "$1" in
	sqlite) sqlite3 "$DIR/ledger.db" "$2" ;;
	pg) psql_q "$2" ;;
	esac
}

# expect_refused WHAT PATTERN ARGS...: ledger verify ARGS exits 1, says
# "ledger BROKEN: ..." matching PATTERN, and not OK.
expect_refused() {
	local what=$1 pat=$2 out
	shift 2
	kb_run ledger verify -d "$DIR" "$@"
	out="$(cat "$KB_STDOUT" "$KB_STDERR")"
	assert_eq 1 "$KB_RC" "exit status of ledger verify $what (output: $out)"
	assert_match "$(cat "$KB_STDOUT")" "^ledger BROKEN: $pat" "ledger verify $what"
	assert_not_contains "$out" "ledger OK" "ledger verify $what"
	log "ledger verify $what: $(head -n 1 "$KB_STDOUT")"
}

# register NAME: registers a fresh P-256 key; its receipt in OUT/BE-NAME.json.
register() {
	new_key "$BE-$1" p256
	kb_ok key register -d "$DIR" --pubkey "$OUT/keys/$BE-$1.pub" --name "$1" \
	    --json >"$OUT/$BE-$1.json"
}

rollback_case() {
	BE=$1
	DIR="$OUT/data-$BE"
	local s0 s1 kid1 kid3 n size
	if [ "$BE" = pg ]; then
		kb_init "$DIR" --db "$DB"
	else
		kb_init "$DIR"
	fi
	kb_start "$DIR"
	register k1
	register k2
	kid1=$(jq -er .key_id "$OUT/$BE-k1.json")
	api GET /api/v1/ledger/checkpoint | jq -j .checkpoint >"$OUT/$BE-cp-old.txt"
	s0=$(sed -n 2p "$OUT/$BE-cp-old.txt")
	# the part that will be removed: a revocation and a registration
	kb_ok key revoke -d "$DIR" --key-id "$kid1" --reason keyCompromise \
	    --json >"$OUT/$BE-revoke.json"
	register k3
	kid3=$(jq -er .key_id "$OUT/$BE-k3.json")
	api GET /api/v1/ledger/checkpoint | jq -j .checkpoint >"$OUT/$BE-cp-new.txt"
	s1=$(sed -n 2p "$OUT/$BE-cp-new.txt")
	assert_eq $((s0 + 2)) "$s1" "tree size after the revocation and k3"
	kb_stop
	# serve remembered the latest checkpoint (public: 0644)
	[ -f "$DIR/checkpoint.trusted" ] || fail "serve wrote no $DIR/checkpoint.trusted"
	assert_file_mode "$DIR/checkpoint.trusted" 644
	cmp -s "$DIR/checkpoint.trusted" "$OUT/$BE-cp-new.txt" ||
		fail "$DIR/checkpoint.trusted is not the latest checkpoint: $(cat "$DIR/checkpoint.trusted")"
	assert_match "$(kb_ok ledger verify -d "$DIR")" "^ledger OK: $s1 entries.*extends 1 trusted checkpoint" \
	    "ledger verify with the remembered checkpoint before the rollback"
	assert_match "$(kb_ok ledger verify -d "$DIR" --checkpoint "$OUT/$BE-cp-old.txt" \
	    --receipt "$OUT/$BE-revoke.json")" "^ledger OK: .*extends 3 trusted checkpoints" \
	    "ledger verify with an older checkpoint and a receipt before the rollback"

	# ---- the rollback: the last two blocks and their effects ----------------------
	[ "$BE" != sqlite ] || sqlite3 "$DIR/ledger.db" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null
	sql "$BE" "DELETE FROM entries WHERE idx >= $s0;
	    DELETE FROM blocks WHERE first >= $s0;
	    DELETE FROM keys WHERE key_id = '$kid3';
	    UPDATE keys SET status = 1, revoked_at = NULL, reason = NULL, revoked_idx = NULL
	        WHERE key_id = '$kid1';
	    UPDATE accounts SET seq = seq - 2 WHERE name = 'admin';
	    UPDATE counters SET n = (SELECT count(*) FROM keys WHERE status = 1) WHERE name = 'keys_active';
	    UPDATE counters SET n = (SELECT count(*) FROM keys WHERE status = 2) WHERE name = 'keys_revoked';
	    UPDATE counters SET n = (SELECT count(*) FROM entries e WHERE 'type:' || e.type = counters.name)
	        WHERE name LIKE 'type:%';" >/dev/null
	assert_eq "$s0" "$(sql "$BE" "SELECT count(*) FROM entries")" "entries after the rollback"
	assert_eq 1 "$(sql "$BE" "SELECT status FROM keys WHERE key_id = '$kid1'")" "k1 active again after the rollback"

	# The hole: without a trusted checkpoint the rolled-back ledger is whole.
	out=$(kb_ok ledger verify -d "$DIR" --no-remember)
	assert_match "$out" "^ledger OK: $s0 entries" "ledger verify without a checkpoint (the rolled-back ledger is whole in itself)"
	log "without a checkpoint: $out"

	# ... and its fix.
	expect_refused "--checkpoint (newer)" "the stored ledger has $s0 entries, fewer than the trusted checkpoint's $s1 \\($OUT/$BE-cp-new.txt\\): it was rolled back" \
	    --no-remember --checkpoint "$OUT/$BE-cp-new.txt"
	expect_refused "with the checkpoint remembered by serve" "the stored ledger has $s0 entries, fewer than the trusted checkpoint's $s1 \\($DIR/checkpoint.trusted\\): it was rolled back"
	assert_contains "$(cat "$KB_STDERR")" "$DIR/checkpoint.trusted is the checkpoint this ledger was last seen at" \
	    "the hint about the remembered checkpoint"
	cmp -s "$DIR/checkpoint.trusted" "$OUT/$BE-cp-new.txt" || fail "a refused verify changed $DIR/checkpoint.trusted"
	expect_refused "--receipt of the removed revocation" "the stored ledger has $s0 entries, fewer than the trusted checkpoint's $((s0 + 1)) \\($OUT/$BE-revoke.json\\): it was rolled back" \
	    --no-remember --receipt "$OUT/$BE-revoke.json"
	# positive controls: what was kept still verifies
	assert_match "$(kb_ok ledger verify -d "$DIR" --no-remember --checkpoint "$OUT/$BE-cp-old.txt" \
	    --receipt "$OUT/$BE-k1.json")" "^ledger OK: $s0 entries" \
	    "ledger verify with the older checkpoint and the receipt of a kept entry"
	# a receipt whose leaf hash is not the entry's at its index
	jq -c '.leaf_hash = "'"$(printf '%064d' 0)"'"' "$OUT/$BE-k1.json" >"$OUT/$BE-badleaf.json"
	expect_refused "--receipt with another leaf hash" "$OUT/$BE-badleaf.json: entry $(jq -r .index "$OUT/$BE-k1.json") of the stored ledger is not the receipt's" \
	    --no-remember --receipt "$OUT/$BE-badleaf.json"

	# ---- a fork: the bridge refuses to sign the rolled-back database's next tree ----------
	# Its key process signed the checkpoint of size s1 and keeps that promise
	# (DIR/keyproc.state): it signs no smaller tree and no other root of that
	# size.  The registration is stored (the block is committed before its
	# checkpoint is signed) but not acknowledged, and no checkpoint of the
	# fork is served.
	kb_start "$DIR"
	grep -q "it was rolled back; keeping that checkpoint as it is" "$OUT/serve.log" ||
		fail "serve did not report the rolled-back database (see $OUT/serve.log)"
	new_key "$BE-k4" p256
	kb_fail storage_error key register -d "$DIR" --pubkey "$OUT/keys/$BE-k4.pub" --name k4 --json
	grep -q "keyproc: refused operation 5: checkpoint of size $((s0 + 1)) is smaller than the last signed one ($s1)" \
	    "$OUT/serve.log" || fail "the key process did not refuse the rolled-back ledger's checkpoint (see $OUT/serve.log)"
	code=$(api_call GET /api/v1/ledger/checkpoint)
	[ "$code" != 200 ] || fail "a checkpoint of the fork is served: $(head -c 300 "$API_BODY")"
	kb_stop
	# The fork made offline: the command line holds node.key itself (it is
	# not the network process; it signs the stored block), which is what
	# verify must catch.
	register k5
	size=$(kb_ok ledger verify -d "$DIR" --no-remember | sed -n 's/^ledger OK: \([0-9]*\) entries.*/\1/p')
	assert_eq "$s1" "$size" "tree size of the fork"
	cmp -s "$DIR/checkpoint.trusted" "$OUT/$BE-cp-new.txt" ||
		fail "serve replaced the checkpoint that the fork does not extend"
	out=$(kb_ok ledger verify -d "$DIR" --no-remember)
	assert_match "$out" "^ledger OK: $s1 entries" "ledger verify of the fork without a checkpoint"
	expect_refused "--checkpoint of the same size on a fork" "root at size $s1 differs from the trusted checkpoint \\($OUT/$BE-cp-new.txt\\)" \
	    --no-remember --checkpoint "$OUT/$BE-cp-new.txt"
	expect_refused "with the remembered checkpoint on a fork" "root at size $s1 differs from the trusted checkpoint \\($DIR/checkpoint.trusted\\)"
	expect_refused "--checkpoint older than the fork point" "root at size" \
	    --no-remember --checkpoint "$OUT/$BE-cp-old.txt" --checkpoint "$OUT/$BE-cp-new.txt"

	# ---- the remembered checkpoint: unreadable, then trust on first use -----------
	cp "$DIR/checkpoint.trusted" "$OUT/$BE-remembered.txt"
	printf 'not a checkpoint\n' >"$DIR/checkpoint.trusted"
	kb_fail trusted_checkpoint ledger verify -d "$DIR"
	assert_contains "$(cat "$KB_STDERR")" "$DIR/checkpoint.trusted: not a checkpoint note" "verify with an unparsable remembered checkpoint"
	rm "$DIR/checkpoint.trusted"
	out=$(kb_ok ledger verify -d "$DIR")
	assert_match "$out" "^ledger OK: $s1 entries" "ledger verify with no remembered checkpoint"
	assert_contains "$(cat "$KB_STDERR")" "now holds the checkpoint of tree size $s1" "verify remembers what it verified"
	kb_ok ledger checkpoint -d "$DIR" >"$OUT/$BE-cp-fork.txt"
	cmp -s "$DIR/checkpoint.trusted" "$OUT/$BE-cp-fork.txt" || fail "verify remembered another checkpoint than the ledger's"
	assert_file_mode "$DIR/checkpoint.trusted" 644
	n=$(find "$DIR" -name 'checkpoint.trusted.*' | wc -l)
	assert_eq 0 "$n" "temporary files left in $DIR"
	log "$BE: rollback, receipt and fork refused; kept checkpoints verify"
}

rollback_case sqlite
kb_pg_start kb
rollback_case pg
log "ledger rollback OK"
