#!/usr/bin/env bash
# POST /api/v1/entries with {"entries": [...]} (issue 18, batch ingest):
# each entry is queued on its own, in the order given, and its outcome is
# results[i] of one 200 answer (a receipt with status 201, or the status
# and error object a single POST would answer); accepted and refused count
# them.  A malformed batch is one 400 with its own code and appends
# nothing.  Entries answered 201 are in the ledger after a SIGKILL and a
# restart, with the index and text of their receipt.  Entries are built
# with mkentry.py (openssl), not keybridge's encoder.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DIR="$OUT/data"
kb_mkentry_setup "$DIR"

# mk SEQ OUTFILE TYPE KEY=VALUE...: an entry by admin with seq SEQ.
mk() {
	kb_mkentry "$DIR" "$@"
}

# mk_conf SEQ OUTFILE VERSION: a config-publish of group batch-g by admin.
mk_conf() {
	mk "$1" "$2" config-publish group=batch-g version="$3" \
	    sha256="$(printf '%s' "$3" | sha256sum | cut -d' ' -f1)"
}

# post_batch OUTJSON FILE...: POSTs the batch of the files' texts; prints the
# HTTP status, the answer is in $API_BODY.
post_batch() {
	local body=$1
	shift
	local f
	# each file's exact bytes, final newline included
	for f in "$@"; do jq -Rs . "$f"; done | jq -s '{entries: .}' >"$body"
	api_call POST /api/v1/entries -H 'Content-Type: application/json' \
	    --data-binary @"$body"
}

S=$(api GET /api/v1/accounts/admin | jq -er .next_seq)

# ---- mixed: accepted, refused, and the order of seqs inside one batch -------------
new_key K p256
new_key K2 p256
kb_ok key register -d "$DIR" --pubkey "$OUT/keys/K.pub" --name dev-1 --json >/dev/null
S=$((S + 1))
K2ID=$(spki_key_id "$OUT/keys/K2.pub")
K2SPKI=$(openssl pkey -pubin -in "$OUT/keys/K2.pub" -outform DER | base64 -w0)
mk_conf "$S" "$OUT/e0.txt" v1
mk_conf $((S + 1)) "$OUT/e1.txt" v2
mk_conf $((S + 1)) "$OUT/e2.txt" v2b		# seq already taken by e1: 409
printf 'not an entry\n' >"$OUT/e3.txt"		# 400 malformed_entry
mk_conf $((S + 2)) "$OUT/e4.txt" v3		# after e1, not after e2
mk $((S + 3)) "$OUT/e5.txt" key-register key-id="$K2ID" spki="$K2SPKI" \
    name=dev-1 profile=device not-before="$NB" not-after="$NA"	# name_in_use
before=$(kb_tree_size)
code=$(post_batch "$OUT/b1.json" "$OUT"/e{0,1,2,3,4,5}.txt)
assert_eq 200 "$code" "HTTP status of a mixed batch (body: $(head -c 800 "$API_BODY"))"
cp "$API_BODY" "$OUT/r1.json"
assert_eq "201 201 409 400 201 409" "$(jq -r '[.results[].status] | join(" ")' "$OUT/r1.json")" \
    "statuses of the mixed batch, in order"
assert_eq "bad_sequence malformed_entry name_in_use" \
    "$(jq -r '[.results[] | select(.status != 201) | .error.code] | join(" ")' "$OUT/r1.json")" \
    "refusal codes of the mixed batch"
assert_eq "3 3" "$(jq -r '"\(.accepted) \(.refused)"' "$OUT/r1.json")" "accepted and refused"
jq -e '[.results[] | select(.status != 201) | .error.message | length > 0] | all' "$OUT/r1.json" >/dev/null ||
	fail "a refusal without a message: $(cat "$OUT/r1.json")"
jq -e '[.results[] | select(.status == 201) | .index] as $i | $i[0] < $i[1] and $i[1] < $i[2]' \
    "$OUT/r1.json" >/dev/null || fail "indexes not in the batch's order: $(cat "$OUT/r1.json")"
assert_eq $((before + 3)) "$(kb_tree_size)" "tree_size after the mixed batch (3 kept)"
assert_eq $((S + 3)) "$(api GET /api/v1/accounts/admin | jq -er .next_seq)" "admin's next seq"

# ---- all accepted: refused 0 ------------------------------------------------------
mk_conf $((S + 3)) "$OUT/f0.txt" v4
mk_conf $((S + 4)) "$OUT/f1.txt" v5
code=$(post_batch "$OUT/b2.json" "$OUT/f0.txt" "$OUT/f1.txt")
assert_eq 200 "$code" "HTTP status of a whole batch"
cp "$API_BODY" "$OUT/r2.json"
assert_eq "2 0 201 201" "$(jq -r '"\(.accepted) \(.refused) \(.results[0].status) \(.results[1].status)"' "$OUT/r2.json")" \
    "a batch where everything was kept"

# ---- malformed batches: one 400, nothing appended ----------------------------------
before=$(kb_tree_size)
one=$(jq -Rs . "$OUT/f0.txt")
bad() {	# bad STATUS CODE BODY
	api_expect_error "$1" "$2" POST /api/v1/entries -H 'Content-Type: application/json' --data-binary "$3"
}
bad 400 bad_batch '{"entries": "x"}'
bad 400 bad_batch '{"entries": {"a": 1}}'
bad 400 empty_batch '{"entries": []}'
bad 400 bad_batch '{"entries": ["x", 7]}'
bad 400 bad_batch '{"entries": ["x", ""]}'
bad 400 bad_batch '{"entries": [null]}'
bad 400 bad_batch "{\"entry\": $one, \"entries\": [$one]}"
bad 400 invalid_json '{"entries": ["x",'
bad 400 invalid_json '{"entries": [], "entries": []}'
jq -n '{entries: [range(1025) | "x"]}' >"$OUT/big.json"
bad 400 batch_too_large @"$OUT/big.json"
jq -n '{entries: [range(1024) | "x"]}' >"$OUT/max.json"
code=$(api_call POST /api/v1/entries -H 'Content-Type: application/json' --data-binary @"$OUT/max.json")
assert_eq "200 0 1024 malformed_entry" \
    "$code $(jq -r '"\(.accepted) \(.refused) \(.results[1023].error.code)"' "$API_BODY")" \
    "1024 entries (the limit): answered one by one"
jq -n --arg e "$(head -c 70000 /dev/zero | tr '\0' x)" '{entries: [$e]}' >"$OUT/huge.json"
bad 413 body_too_large @"$OUT/huge.json"
api_expect_error 400 bad_parameter POST '/api/v1/entries?allow_same_name=2' \
    -H 'Content-Type: application/json' --data-binary '{"entries": ["x"]}'
assert_eq "$before" "$(kb_tree_size)" "tree_size after the malformed batches"

# ---- durability: what was answered 201 is there after a crash -----------------------
kb_kill9
kb_start "$DIR"
n=0
for r in r1:e0 r1:e1 r1:e4 r2:f0 r2:f1; do
	resp=${r%%:*} file=${r#*:}
	case $file in
	e0) i=0 ;; e1) i=1 ;; e4) i=4 ;; f0) i=0 ;; f1) i=1 ;;
	esac
	idx=$(jq -er ".results[$i].index" "$OUT/$resp.json")
	got=$(api GET "/api/v1/ledger/entries/$idx" | jq -er .entry)
	assert_eq "$(cat "$OUT/$file.txt")" "$got" "entry $idx ($file) after SIGKILL and restart"
	n=$((n + 1))
done
assert_eq 5 "$n" "acknowledged entries checked after the restart"
assert_match "$(kb_ok ledger verify -d "$DIR")" '^ledger OK:' "ledger verify"
kb_stop
