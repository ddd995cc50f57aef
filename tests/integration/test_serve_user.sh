#!/usr/bin/env bash
# test_serve_user.sh: `keybridge serve` started as root drops to the
# configured user (keybridge.conf `user`, default keybridge), and the data
# directory stays usable by it whatever root commands do beside it
# (docs/operations.md "The bridge's user and the sandbox").
#
# Asserts: init (as root) hands DIR/ and ledger.db to the user while keys,
# keybridge.conf, ca/ and tls/ stay root's; serve runs as the user; files
# root commands create while it runs (ledger verify's checkpoint.trusted,
# a new keybridge.lock) take the user as owner; a data directory left
# root's (an older bridge's) is handed over at the next start; a missing
# user and a uid-0 user stop serve with a clear message; a symbolic link
# or a hard link planted in place of a state file is refused, its target
# left root's.  Needs root (skips otherwise).

# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	log "SKIP: not root (serve drops privileges only when started as root)"
	exit 0
fi

# serve_refused WHAT: `keybridge serve -d $data` must exit 1 at once (a
# serve that starts instead is stopped after 20 s and fails the test).
serve_refused() {
	KB_RC=0
	timeout 20 "$KEYBRIDGE" serve -d "$data" >"$KB_STDOUT" 2>"$KB_STDERR" || KB_RC=$?
	assert_eq 1 "$KB_RC" "exit status of serve with $1 (124: it started)"
	log "serve refused $1: $(tail -n 1 "$KB_STDERR")"
}

# owner PATH: user:group of PATH (symbolic links not followed).
owner() {
	stat -c %U:%G "$1"
}

kb_init "$OUT/data"
data=$KB_DIR
user=$(kb_conf_get "$data" user)
assert_eq keybridge "$user" "user written by init"
id -u "$user" >/dev/null || fail "no user $user: scripts/deps.sh creates it"
me="$user:$(id -gn "$user")"

# ---- what init hands over --------------------------------------------------
assert_eq "$me" "$(owner "$data")" "owner of the data directory after init"
assert_eq "$me" "$(owner "$data/ledger.db")" "owner of ledger.db after init"
for f in keybridge.conf node.key bridge.key admin.key ca tls ca/issuing.key \
    ca/ocsp.key ca/root.key tls/server.key; do
	assert_eq root:root "$(owner "$data/$f")" "owner of $f after init"
done
for f in node.key bridge.key admin.key ca/issuing.key ca/ocsp.key tls/server.key; do
	assert_file_mode "$data/$f" 600
done

# ---- serve as the user; root commands beside it ------------------------------
kb_start "$data"
assert_eq "$(id -u "$user")" "$(awk '/^Uid:/ {print $3}' "/proc/$KB_SERVE_PID/status")" \
    "effective uid of serve"
kb_enroll dev1
rm -f "$data/checkpoint.trusted"
kb_ok ledger verify -d "$data" >/dev/null
assert_eq "$me" "$(owner "$data/checkpoint.trusted")" "owner of checkpoint.trusted written by a root ledger verify"
kb_enroll dev2		# serve replaces that file again as it grows
sleep 1.5
kb_stop
assert_eq "$me" "$(owner "$data/checkpoint.trusted")" "owner of checkpoint.trusted after serve"
rm -f "$data/keybridge.lock"
new_key offline p256
kb_ok key register -d "$data" --pubkey "$OUT/keys/offline.pub" --name offline >/dev/null
assert_eq "$me" "$(owner "$data/keybridge.lock")" "owner of keybridge.lock made by a root command"

# ---- a data directory left root's is handed over at start ---------------------
chown root:root "$data" "$data/ledger.db" "$data/checkpoint.trusted" "$data/keybridge.lock"
kb_start "$data"
for f in . ledger.db checkpoint.trusted keybridge.lock; do
	assert_eq "$me" "$(owner "$data/$f")" "owner of $f after serve started as root"
done
kb_enroll dev3
kb_stop

# ---- refusals ------------------------------------------------------------------
kb_conf_set "$data" user kb-test-no-such-user
serve_refused "a user that does not exist"
assert_contains "$(cat "$KB_STDERR")" 'useradd --system --home-dir /var/lib/keybridge --shell /usr/sbin/nologin kb-test-no-such-user' \
    "serve's refusal of a missing user"
kb_conf_set "$data" user root
serve_refused "user = root"
assert_contains "$(cat "$KB_STDERR")" 'has uid 0' "serve's refusal of user = root"
kb_conf_set "$data" user keybridge

# A file planted by the user in place of a state file: serve must not hand
# its target over (the user would then own a file of root's).
echo secret >"$OUT/victim"
chmod 600 "$OUT/victim"
rm -f "$data/checkpoint.trusted"
ln -s "$OUT/victim" "$data/checkpoint.trusted"
serve_refused "checkpoint.trusted a symbolic link"
assert_contains "$(cat "$KB_STDERR")" "a symbolic link; not handing it" "serve's refusal of a symbolic link"
assert_eq root:root "$(owner "$OUT/victim")" "owner of a symbolic link's target after serve"
rm -f "$data/checkpoint.trusted"
ln "$OUT/victim" "$data/checkpoint.trusted"
serve_refused "checkpoint.trusted a hard link"
assert_contains "$(cat "$KB_STDERR")" "not a regular file with one link" "serve's refusal of a hard link"
assert_eq root:root "$(owner "$OUT/victim")" "owner of a hard link's other name after serve"
rm -f "$data/checkpoint.trusted"

# and it starts again once the plant is gone
kb_start "$data"
kb_stop
log "PASS"
