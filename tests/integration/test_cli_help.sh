#!/usr/bin/env bash
# test_cli_help.sh: the rough edges a first user hits (issue 17;
# docs/cli.md "Help", "key show", "key register").
#
# Asserts: every command and subcommand of `keybridge --help` prints its
# own usage on --help (exit 0, "usage: keybridge CMD SUB", one line per
# option, each described), `keybridge help CMD SUB` prints the same, and
# `CMD --help` lists a command's subcommands, as `keybridge key` does on
# stderr with exit 1; -V is --version; an unknown command in `help` is
# refused.  key show takes a unique key-id prefix and refuses an ambiguous
# one (key_ambiguous, both matches listed), a prefix that matches nothing
# (key_not_found) and one that is too short or not hex (usage), on SQLite
# and on PostgreSQL (two keys made to share their first 4 hex digits).
# key register refuses a name an active key has (name_in_use, naming it)
# offline and through the running bridge, takes it with
# --allow-same-name, and again once the old key is revoked; POST
# /api/v1/entries of a raw entry (mkentry.py) with a name in use is 409
# name_in_use, nothing appended, and taken with ?allow_same_name=1; the same key
# twice is still key_already_registered.  A missing --pubkey file says
# "No such file or directory".  https://HOST:PORT/ answers 302 to
# /dashboard/ (GET and HEAD; POST / stays a 404), and 404 with dashboard =
# off.  The bash completion loads (complete -p) and completes commands,
# subcommands and a subcommand's options from the binary.

# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

REPO=$(cd "$(dirname "$0")/../.." && pwd)

# ---- --help, help COMMAND, -V ------------------------------------------------------
mapfile -t cmds < <("$KEYBRIDGE" --help | awk 'NF == 0 { b++; next } b == 1 && /^  [a-z]/ {
	print $1 ($2 ~ /^[a-z][a-z-]*$/ ? " " $2 : "") }')
[ "${#cmds[@]}" -ge 28 ] || fail "only ${#cmds[@]} commands in keybridge --help: ${cmds[*]}"
nopts=0
for c in "${cmds[@]}"; do
	# shellcheck disable=SC2086 # c is "cmd sub"
	kb_run $c --help
	assert_eq 0 "$KB_RC" "exit status of keybridge $c --help (stderr: $(cat "$KB_STDERR"))"
	out=$(cat "$KB_STDOUT")
	assert_eq "usage: keybridge $c" "$(head -n 1 <<<"$out" | cut -c1-$((17 + ${#c})))" "first line of keybridge $c --help"
	n=$(grep -cE '^  (-[a-zA-Z], )?--[a-z0-9-]+' <<<"$out" || true)
	[ "$n" -ge 2 ] || fail "keybridge $c --help lists $n options: $out"
	assert_not_contains "$out" "(no description" "keybridge $c --help"
	# shellcheck disable=SC2086
	assert_eq "$out" "$("$KEYBRIDGE" help $c)" "keybridge help $c"
	nopts=$((nopts + n))
done
log "--help of ${#cmds[@]} commands: $nopts option lines, each described; help CMD the same"
reg=$(kb_ok key register --help)
for o in --pubkey --csr --name --profile --dns --ip --not-before --not-after --days --allow-same-name --as --account --json --remote --db "-d, --dir"; do
	grep -qE "^  $o( |$)" <<<"$reg" || fail "key register --help lacks a line for $o: $reg"
done
assert_not_contains "$reg" "--key-id" "key register --help (an option it does not take)"
subs=$(kb_ok key --help)
for s in register revoke preauth show list; do
	grep -qE "^  $s " <<<"$subs" || fail "keybridge key --help does not list $s: $subs"
done
assert_eq "$subs" "$(kb_ok help key)" "keybridge help key"
kb_run key
assert_eq 1 "$KB_RC" "exit status of keybridge key"
assert_contains "$(cat "$KB_STDERR")" "keybridge: usage: key needs a subcommand" "keybridge key"
assert_contains "$(cat "$KB_STDERR")" "  register " "keybridge key's list of subcommands"
assert_eq "$(kb_ok --version)" "$(kb_ok -V)" "-V and --version"
kb_fail usage help frobnicate
kb_fail usage key register --frobnicate

# ---- key show: a unique prefix --------------------------------------------------------------
# two P-256 keys whose ids share their first 4 hex digits, and a third
python3 - "$OUT/keys" <<'EOF'
import hashlib, os, sys
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives import serialization as s
d = sys.argv[1]
os.makedirs(d, exist_ok=True)
seen = {}
def save(name, k):
    open(os.path.join(d, name + ".pub"), "wb").write(k.public_key().public_bytes(
        s.Encoding.PEM, s.PublicFormat.SubjectPublicKeyInfo))
while True:
    k = ec.generate_private_key(ec.SECP256R1())
    kid = hashlib.sha256(k.public_key().public_bytes(s.Encoding.DER,
        s.PublicFormat.SubjectPublicKeyInfo)).hexdigest()
    if kid[:4] in seen and seen[kid[:4]][0] != kid:
        save("twin1", seen[kid[:4]][1]); save("twin2", k)
        break
    seen[kid[:4]] = (kid, k)
k = ec.generate_private_key(ec.SECP256R1())
save("solo", k)
EOF
t1=$(spki_key_id "$OUT/keys/twin1.pub")
t2=$(spki_key_id "$OUT/keys/twin2.pub")
solo=$(spki_key_id "$OUT/keys/solo.pub")
assert_eq "${t1:0:4}" "${t2:0:4}" "the twins' first 4 hex digits"
# prefix_checks DIR BACKEND: key show with prefixes on DIR's ledger
prefix_checks() {
	local dir=$1 be=$2 p
	kb_ok key register -d "$dir" --pubkey "$OUT/keys/twin1.pub" --name twin1 >/dev/null
	kb_ok key register -d "$dir" --pubkey "$OUT/keys/twin2.pub" --name twin2 >/dev/null
	kb_ok key register -d "$dir" --pubkey "$OUT/keys/solo.pub" --name solo >/dev/null
	assert_contains "$(kb_ok key show -d "$dir" --key-id "${solo:0:4}")" "$solo  active" "key show of a 4-digit prefix ($be)"
	assert_eq "$solo" "$(kb_ok key show -d "$dir" --key-id "${solo:0:12}" --json | jq -r .key_id)" "key show --json of a 12-digit prefix ($be)"
	assert_contains "$(kb_ok key show -d "$dir" --key-id "$t1")" "twin1" "key show of a whole id ($be)"
	# the shortest prefix that tells the twins apart
	p=${t1:0:4}
	while [ "${t2:0:${#p}}" = "$p" ]; do p=${t1:0:$((${#p} + 1))}; done
	assert_contains "$(kb_ok key show -d "$dir" --key-id "$p")" "twin1" "key show of $p, unique ($be)"
	kb_fail key_ambiguous key show -d "$dir" --key-id "${t1:0:4}"
	assert_contains "$(cat "$KB_STDERR")" "2 keys start with ${t1:0:4}" "the ambiguous prefix's message ($be)"
	assert_contains "$(cat "$KB_STDERR")" "  $t1  twin1" "the ambiguous prefix's matches ($be)"
	assert_contains "$(cat "$KB_STDERR")" "  $t2  twin2" "the ambiguous prefix's matches ($be)"
	# a prefix no key has (the twins' prefix with its last digit changed)
	p=${t1:0:3}$(printf '%x' $(((16#${t1:3:1} + 8) % 16)))
	while [ "${solo:0:4}" = "$p" ]; do p=${p:0:3}$(printf '%x' $(((16#${p:3:1} + 1) % 16))); done
	kb_fail key_not_found key show -d "$dir" --key-id "$p"
	kb_fail usage key show -d "$dir" --key-id "${t1:0:3}"
	kb_fail usage key show -d "$dir" --key-id "${t1:0:4}'%"
	# upper case (the whole id: a short prefix may hold no letter at all)
	kb_fail usage key show -d "$dir" --key-id "$(tr a-f A-F <<<"$t1")"
	log "key show prefixes on $be: unique, whole, ambiguous (both listed), none, too short, not hex"
}
kb_init "$OUT/data"
DATA=$KB_DIR
prefix_checks "$DATA" SQLite
kb_pg_start kb
kb_init "$OUT/pgdata" --db "$DB"
prefix_checks "$OUT/pgdata" PostgreSQL
KB_DIR=$DATA
KB_URL="https://$(kb_conf_get "$DATA" est_listen)"

# ---- key register: a name an active key already has -----------------------------------------
new_device_key cam1 p256
new_device_key cam2 p256
new_device_key cam3 p256
c1=$(spki_key_id "$OUT/keys/cam1.pub")
kb_ok key register -d "$DATA" --pubkey "$OUT/keys/cam1.pub" --name cam-001 >/dev/null
# the ledger's size offline: the checkpoint's second line
ledger_size() { kb_ok ledger checkpoint -d "$DATA" | sed -n 2p; }
size=$(ledger_size)
kb_fail name_in_use key register -d "$DATA" --pubkey "$OUT/keys/cam2.pub" --name cam-001
assert_contains "$(cat "$KB_STDERR")" "the active key $c1 is already named cam-001" "name_in_use's message"
assert_contains "$(cat "$KB_STDERR")" "--allow-same-name" "name_in_use's message"
assert_eq "$size" "$(ledger_size)" "tree size after the name_in_use refusal"
# a name that only starts the same is another name
kb_ok key register -d "$DATA" --pubkey "$OUT/keys/cam3.pub" --name cam-00 >/dev/null
kb_fail key_already_registered key register -d "$DATA" --pubkey "$OUT/keys/cam1.pub" --name cam-001
kb_start "$DATA"
kb_fail name_in_use key register -d "$DATA" --pubkey "$OUT/keys/cam2.pub" --name cam-001 --remote
kb_ok key register -d "$DATA" --pubkey "$OUT/keys/cam2.pub" --name cam-001 --allow-same-name --remote >/dev/null
new_device_key cam4 p256
kb_fail name_in_use key register -d "$DATA" --pubkey "$OUT/keys/cam4.pub" --name cam-001
# the API's own check: an entry signed elsewhere (mkentry.py), posted raw
new_device_key cam5 p256
c5=$(spki_key_id "$OUT/keys/cam5.pub")
raw_reg() {
	python3 "$KB_LIB_DIR/mkentry.py" "$DATA/admin.key" admin \
	    "$(api GET /api/v1/accounts/admin | jq -er .next_seq)" "$(kb_conf_get "$DATA" origin)" \
	    key-register key-id="$c5" spki="$(openssl pkey -pubin -in "$OUT/keys/cam5.pub" -outform DER | base64 -w0)" \
	    name=cam-001 profile=device not-before="$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
	    not-after="$(date -u -d '+30 days' +%Y-%m-%dT%H:%M:%SZ)" >"$OUT/cam5.entry" || fail "mkentry.py"
}
raw_reg
before=$(kb_tree_size)
api_expect_error 409 name_in_use POST /api/v1/entries -H 'Content-Type: text/plain' --data-binary @"$OUT/cam5.entry"
assert_contains "$(jq -r .error.message "$API_BODY")" "is already named cam-001" "the API's name_in_use message"
assert_eq "$before" "$(kb_tree_size)" "tree size after the API's name_in_use"
api_expect_error 400 bad_parameter POST "/api/v1/entries?allow_same_name=yes" -H 'Content-Type: text/plain' --data-binary @"$OUT/cam5.entry"
assert_eq 201 "$(api_call POST "/api/v1/entries?allow_same_name=1" -H 'Content-Type: text/plain' --data-binary @"$OUT/cam5.entry")" "POST of the raw entry with ?allow_same_name=1 (body: $(head -c 300 "$API_BODY"))"
kb_ok key revoke -d "$DATA" --key-id "$c5" >/dev/null
kb_ok key revoke -d "$DATA" --key-id "$c1" >/dev/null
kb_ok key revoke -d "$DATA" --key-id "$(spki_key_id "$OUT/keys/cam2.pub")" >/dev/null
kb_ok key register -d "$DATA" --pubkey "$OUT/keys/cam4.pub" --name cam-001 >/dev/null
log "key register: name_in_use offline and through the bridge, --allow-same-name, free again once revoked"

# ---- cannot read FILE: why ---------------------------------------------------------------------
kb_fail usage key register -d "$DATA" --pubkey "$OUT/missing.pub" --name x
assert_contains "$(cat "$KB_STDERR")" "cannot read $OUT/missing.pub: No such file or directory" "a missing --pubkey"
kb_fail usage account create -d "$DATA" --name x --pubkey "$OUT/missing.pub"
assert_contains "$(cat "$KB_STDERR")" "cannot read $OUT/missing.pub: No such file or directory" "a missing account --pubkey"

# ---- https://HOST:PORT/ -> the dashboard -------------------------------------------------------
C=(--cacert "$DATA/ca/root.pem")
hdr=$(curl -sS -o /dev/null -D - "${C[@]}" "$KB_URL/" | tr -d '\r')
assert_contains "$hdr" "HTTP/1.1 302" "GET / with the dashboard on"
assert_contains "$hdr" "Location: /dashboard/" "GET /'s Location"
assert_contains "$(curl -sS -I "${C[@]}" "$KB_URL/" | tr -d '\r')" "HTTP/1.1 302" "HEAD /"
assert_contains "$(curl -sSL "${C[@]}" "$KB_URL/")" "<html" "GET / followed"
assert_eq 404 "$(curl -s -o /dev/null -w '%{http_code}' "${C[@]}" -X POST "$KB_URL/")" "POST /"
assert_eq 404 "$(curl -s -o /dev/null -w '%{http_code}' "${C[@]}" "$KB_URL/nothing")" "GET /nothing"
kb_stop
kb_conf_set "$DATA" dashboard off
kb_start "$DATA"
assert_eq 404 "$(curl -s -o /dev/null -w '%{http_code}' "${C[@]}" "$KB_URL/")" "GET / with dashboard = off"
kb_stop
log "GET / redirects to /dashboard/ when it is on, 404 when off"

# ---- bash completion ------------------------------------------------------------------------------
comp=$(PATH="$(dirname "$KEYBRIDGE"):$PATH" bash -c '
	source "$1"
	complete -p keybridge
	c() { COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _keybridge; echo "[$*] ${COMPREPLY[*]}"; }
	c keybridge ""
	c keybridge ke
	c keybridge key ""
	c keybridge key register --al
	c keybridge key register -d /tmp --pub
	c keybridge help val
	c keybridge serve --
	c keybridge backup -d /tmp --wi
	c keybridge restore -i x.tar -d /tmp --ch
' _ "$REPO/examples/bash-completion/keybridge" 2>&1)
assert_contains "$comp" "complete -F _keybridge keybridge" "complete -p keybridge"
assert_contains "$comp" "[keybridge ] account backup ca check config init key ledger policy proof restore serve validator help" "completion of the commands"
assert_contains "$comp" "[keybridge ke] key" "completion of ke"
assert_contains "$comp" "[keybridge key ] register revoke preauth show list" "completion of key's subcommands"
assert_contains "$comp" "[keybridge key register --al] --allow-same-name" "completion of a register option"
assert_contains "$comp" "[keybridge key register -d /tmp --pub] --pubkey" "completion after -d DIR"
assert_contains "$comp" "[keybridge help val] validator" "completion after help"
assert_contains "$comp" "[keybridge backup -d /tmp --wi] --with-keys" "completion of a backup option"
assert_contains "$comp" "[keybridge restore -i x.tar -d /tmp --ch] --checkpoint" "completion after restore -i FILE"
assert_contains "$comp" "[keybridge serve --] --dir --est-listen --http-listen --db --log-level --help" "completion of serve's options"
log "bash completion: $(wc -l <<<"$comp") checks"
log "PASS"
