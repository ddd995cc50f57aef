#!/usr/bin/env bash
# A Byzantine sequencer against real validator processes (issue 14):
# tests/validator/byzseq.py holds the log key (the bridge's node.key) and
# two real ledgers of one origin that fork after a shared prefix: branch A
# revokes key k1 and registers k3, branch B has a certificate enrolled
# for k1 over EST.  Against three honest validators, a witness and one
# colluding validator (byzseq.py collude: a real process that cosigns
# everything with its own key) it sends a fork (A to two honest ones and
# the colluder, B to the third and the colluder), a certificate for the
# revoked key, a replayed sequence number, a root that is not its
# entries', a rollback, times a year ahead and behind, another log key,
# another origin, a bad proof, a growth without its entries and bad
# input; each honest validator refuses each with its status and reason,
# keeps the equivocation evidence (GET /evidence, `validator status`
# exit 2) and no two conflicting checkpoints gather three valid
# cosignatures.  Then the validator's front door (the bridge's, issue
# 16): a slowloris, the per-address cap and bad framing against v2
# (tests/integration/vd_front.py) while a probe from 127.0.0.1 is
# answered.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vlib.sh"

B="$OUT/bridge"		# branch B: a certificate for k1
A="$OUT/bridge-a"	# branch A: k1 revoked, then k3 registered

kb_init "$B"
new_key k1 p256
r=$(kb_ok key register -d "$B" --pubkey "$OUT/keys/k1.pub" --name k1 --json)
K1=$(jq -er .key_id <<<"$r")
kb_copy_dir "$B" "$A"
kb_start "$B"
est_enroll /.well-known/est/simpleenroll "$(est_csr k1 k1)" "$OUT/k1.pem"
kb_stop
kb_ok key revoke -d "$A" --key-id "$K1" --reason keyCompromise >/dev/null
new_key k3 p256
kb_ok key register -d "$A" --pubkey "$OUT/keys/k3.pub" --name k3 >/dev/null

# ---- the validators ------------------------------------------------------------
for v in v1 v2 v3; do
	vd_init "$v" "$B"
done
vd_init w1 "$B" --witness
assert_contains "$(cat "$OUT/w1/validator.conf")" "mode = witness" "w1's config"
# v1 takes small requests only (the 413 of a body over max_body)
sed -i 's/^max_body = .*/max_body = 65536/' "$OUT/v1/validator.conf"
# v2: short front-door limits for vd_front.py below
VD_DL=2
VD_PER_ADDR=4
sed -i "s/^http_header_timeout = .*/http_header_timeout = $VD_DL/; s/^http_max_conns_per_addr = .*/http_max_conns_per_addr = $VD_PER_ADDR/" \
    "$OUT/v2/validator.conf"
assert_contains "$(cat "$OUT/v2/validator.conf")" "http_header_timeout = $VD_DL" "v2's config"
for v in v1 v2 v3 w1; do
	vd_start "$v"
done
cport=$(kb_free_ports 1)
KB_USED_PORTS="$KB_USED_PORTS $cport"
python3 "$BYZSEQ" collude --listen "127.0.0.1:$cport" --name c4.test \
    --key-out "$OUT/c4.vkey" >"$OUT/c4.log" 2>&1 &
CPID=$!
kb_track "$CPID"
wait_port "$cport" "$CPID" "the colluding validator"

# ---- the attack -------------------------------------------------------------------
jq -n --arg origin "$(kb_conf_get "$B" origin)" \
    --arg key "$(kb_conf_path "$B" validator_key)" \
    --arg kname "$(kb_conf_get "$B" validator_name)" \
    --arg la "$A/ledger.db" --arg lb "$B/ledger.db" \
    --arg u1 "${VD_URL[v1]}" --arg k1 "${VD_VKEY[v1]}" \
    --arg u2 "${VD_URL[v2]}" --arg k2 "${VD_VKEY[v2]}" \
    --arg u3 "${VD_URL[v3]}" --arg k3 "${VD_VKEY[v3]}" \
    --arg uw "${VD_URL[w1]}" --arg kw "${VD_VKEY[w1]}" \
    --arg uc "http://127.0.0.1:$cport" --arg kc "$(cat "$OUT/c4.vkey")" '
{origin: $origin, node_key: $key, node_name: $kname,
 ledger_a: $la, ledger_b: $lb,
 honest: [{name: "v1.test", url: $u1, vkey: $k1},
          {name: "v2.test", url: $u2, vkey: $k2},
          {name: "v3.test", url: $u3, vkey: $k3}],
 colluder: {name: "c4.test", url: $uc, vkey: $kc},
 witness: {name: "w1.test", url: $uw, vkey: $kw},
 small_body_url: $u1, max_body: 65536}' >"$OUT/attack.json"
log "+ byzseq.py attack"
rc=0
python3 "$BYZSEQ" attack "$OUT/attack.json" >"$OUT/attack.log" 2>&1 || rc=$?
cat "$OUT/attack.log"
assert_eq 0 "$rc" "byzseq.py attack exit status (see FAIL lines above)"
n=$(grep -c '^ok ' "$OUT/attack.log")
log "$n assertions of byzseq.py held"

# ---- what the operators see ---------------------------------------------------------
for v in v1 v2 v3; do
	kb_run validator status -d "$OUT/$v"
	cat "$KB_STDOUT"
	assert_eq 2 "$KB_RC" "validator status -d $v exit status (evidence kept)"
	assert_match "$(cat "$KB_STDOUT")" "equivocations +[1-9][0-9]* \\(evidence kept: 1;" "$v's equivocation count"
	assert_match "$(cat "$KB_STDOUT")" "last refusal +[a-z-]+: " "$v's last refusal"
	assert_contains "$(cat "$KB_STDOUT")" "unreachable" "$v: the bridge is stopped"
	ev=$(curl -sf "${VD_URL[$v]}/evidence")
	assert_eq 1 "$(jq '.evidence | length' <<<"$ev")" "$v: GET /evidence pairs"
done
kb_run validator status -d "$OUT/w1"
assert_eq 2 "$KB_RC" "validator status -d w1 exit status (evidence kept)"

# ---- the front door: the bridge's deadlines, caps and strict framing -----------------
log "+ vd_front.py against v2"
rc=0
python3 "$KB_LIB_DIR/vd_front.py" "${VD_URL[v2]##*:}" "$VD_DL" "$VD_PER_ADDR" \
    >"$OUT/front.log" 2>&1 || rc=$?
cat "$OUT/front.log"
assert_eq 0 "$rc" "vd_front.py exit status (see FAIL lines above)"
assert_eq 8 "$(grep -c '^case ' "$OUT/front.log")" "vd_front.py cases"
grep -q 'http: 127.0.0.2 refused: ' "$OUT/v2.log" ||
	fail "v2.log has no line for the refused requests"
# the refusals were logged with their reasons
grep -q 'refused (422 rule-broken): rule-broken: entry [0-9]* breaks key_revoked' "$OUT/v1.log" ||
	fail "v1.log has no key_revoked refusal"
# the state and the registry agree after all that: restart each
for v in v1 v2 v3 w1; do
	vd_stop "$v"
	vd_start "$v"
done
size=$(curl -sf "${VD_URL[v1]}/status" | jq -r .size)
p3=$(sqlite3 "$A/ledger.db" 'SELECT count(*) FROM entries')
assert_eq "$p3" "$size" "v1's cosigned size after restart (all of branch A)"
assert_eq "$p3" "$(sqlite3 "$OUT/v1/validator.db" 'SELECT count(*) FROM entries')" "entries in v1's registry"
# status against a running bridge: lag
kb_start "$B"
kb_run validator status -d "$OUT/v1"
assert_eq 2 "$KB_RC" "status exit with the bridge up (evidence still kept)"
assert_match "$(cat "$KB_STDOUT")" "lag +[0-9]+" "v1's lag"
# init against the running bridge: the origin from its checkpoint, which
# must verify under --log-vkey and name --origin when given
port=$(kb_free_ports 1)
INIT=(--name v9.test --listen "127.0.0.1:$port" --ledger "$KB_URL"
    --ledger-ca "$B/ca/root.pem")
kb_fail init validator init "$OUT/v9" "${INIT[@]}" --log-vkey "$(kb_conf_get "$OUT/bridge-a" validator_vkey | sed 's/+[0-9a-f]\{8\}+/+00000000+/')"
kb_fail init validator init "$OUT/v9" "${INIT[@]}" --log-vkey "$(cat "$OUT/c4.vkey")"
assert_contains "$(cat "$KB_STDERR")" "does not verify under --log-vkey" "init's reason"
kb_fail init validator init "$OUT/v9" "${INIT[@]}" --log-vkey "$(kb_conf_get "$B" validator_vkey)" --origin other/log
assert_contains "$(cat "$KB_STDERR")" "but the ledger's checkpoints say $(kb_conf_get "$B" origin)" "init's reason"
[ ! -e "$OUT/v9" ] || fail "a refused init left $OUT/v9"
kb_ok validator init "$OUT/v9" "${INIT[@]}" --log-vkey "$(kb_conf_get "$B" validator_vkey)" >/dev/null
assert_eq "$(kb_conf_get "$B" origin)" "$(sed -n 's/^origin = //p' "$OUT/v9/validator.conf")" "the origin init took from the bridge"
kb_fail init validator init "$OUT/v9" "${INIT[@]}" --log-vkey "$(kb_conf_get "$B" validator_vkey)"
assert_contains "$(cat "$KB_STDERR")" "already a validator directory" "a second init's reason"
kb_stop
for v in v1 v2 v3 w1; do
	vd_stop "$v"
done
