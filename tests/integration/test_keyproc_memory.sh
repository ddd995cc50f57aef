#!/usr/bin/env bash
# test_keyproc_memory.sh: which process of a running `keybridge serve` holds
# which private key, read from its memory (/proc/PID/mem, every readable
# mapping, by memscan.py), and how each process is narrowed
# (/proc/PID/status, /proc/PID/limits; docs/design.md "Sandbox").
#
# The keys that must live only in the key process: the issuing CA key, the
# OCSP signer key, the bridge account key and the node's checkpoint key.
# The TLS key stays with the network process (as in nginx and relayd).
# admin.key and ca/root.key are never loaded by serve.  Each is searched as
# its PEM text, its DER (PKCS#8 and traditional) and its raw private value
# (big-endian and byte-reversed).
#
# KEYPROC_MERGED below says whether serve forks a key process yet:
#   0  (before the key process exists) the scan must FIND the four keys in
#      serve, the negative control that proves the scan sees keys where
#      they are; that the network process holds them is reported as the
#      expected failure it is until then.
#   1  (once bridge/keyproc/ is merged: the lead flips it) a key process,
#      the child of serve, must hold the four keys and the network process
#      none of them; the key process must show Seccomp: 2, NoNewPrivs: 1,
#      no core dumps, undumpable and the configured user.
# In both, the network process must hold the TLS key (a positive control
# of its scan), and neither admin.key nor ca/root.key; it must be
# undumpable, without core dumps and, started as root, run as the user.
KEYPROC_MERGED=1

# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

MEMSCAN="$KB_LIB_DIR/memscan.py"
# keys the network process must not hold, then the ones no process loads
APART_KEYS="ca ocsp bridge node"
NEVER_KEYS="admin root"

# proc_field PID FIELD: the value of FIELD in /proc/PID/status (tabs kept).
proc_field() {
	sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status"
}

# check_undumpable PID WHAT: the kernel hands /proc/PID/ of an undumpable
# process to root, so its owner is 0 although the process runs as another
# user; and its core file size limit is 0.
check_undumpable() {
	local uid owner core
	uid=$(proc_field "$1" Uid | awk '{print $2}')
	owner=$(stat -c %u "/proc/$1/status")
	if [ "$uid" = 0 ]; then
		fail "$2 (pid $1) still runs as root: the drop to the user did not happen"
	fi
	assert_eq 0 "$owner" "owner of /proc/$1/status of $2 running as uid $uid (undumpable: root)"
	core=$(awk '/^Max core file size/ {print $5 " " $6}' "/proc/$1/limits")
	assert_eq "0 0" "$core" "core file size limits (soft hard) of $2"
	log "$2 (pid $1): uid $uid, undumpable, no core dumps"
}

# scan_has JSON PROC KEY: 0 when memscan found KEY (any form) in PROC.
scan_has() {
	[ "$(jq -r --arg p "$2" --arg k "$3" '.[$p][$k] | length' <<<"$1")" -gt 0 ]
}

kb_init "$OUT/data"
kb_start "$OUT/data"
data=$KB_DIR
net=$KB_SERVE_PID

# Every key at work before the scan: a certificate (CA key, bridge key, a
# checkpoint by the node key) and an OCSP response (OCSP key).
kb_enroll dev1
openssl ocsp -issuer "$data/ca/issuing.pem" -cert "$OUT/dev1.pem" \
    -url "$KB_HTTP_URL/ocsp" -CAfile "$data/ca/root.pem" -resp_text \
    >"$OUT/ocsp.txt" 2>&1 || fail "openssl ocsp failed: $(tail -n 3 "$OUT/ocsp.txt")"
assert_contains "$(cat "$OUT/ocsp.txt")" "dev1.pem: good" "OCSP status of dev1"

# ---- the narrowing ---------------------------------------------------------
user=$(kb_conf_get "$data" user)
user=${user:-keybridge}
if [ "$(id -u)" -eq 0 ]; then
	uid=$(id -u "$user") || fail "no user $user (scripts/deps.sh creates it)"
	assert_eq "$uid $uid $uid $uid" "$(proc_field "$net" Uid | tr -s '\t' ' ')" \
	    "Uid (real, effective, saved, fs) of serve after the drop"
	assert_eq "$(id -g "$user")" "$(proc_field "$net" Gid | awk '{print $2}')" "Gid of serve"
	assert_not_contains " $(proc_field "$net" Groups) " " 0 " "supplementary groups of serve"
	# Negative control of the undumpable check: a dumpable process of
	# the same user owns its /proc/PID/.
	setpriv --reuid="$uid" --regid="$(id -g "$user")" --clear-groups sleep 30 &
	ctl=$!
	kb_track "$ctl"
	sleep 0.2
	assert_eq "$uid" "$(stat -c %u "/proc/$ctl/status")" "owner of /proc/PID/status of a dumpable process of $user"
	stop_pid "$ctl"
fi
check_undumpable "$net" "the network process"

keyproc=$(pgrep -P "$net" || true)
if [ "$KEYPROC_MERGED" = 1 ]; then
	[ -n "$keyproc" ] || fail "serve (pid $net) has no child: no key process"
	[ "$(wc -w <<<"$keyproc")" -eq 1 ] || fail "serve has several children: $keyproc"
	assert_eq 2 "$(proc_field "$keyproc" Seccomp)" "Seccomp of the key process (2: filter)"
	assert_eq 1 "$(proc_field "$keyproc" NoNewPrivs)" "NoNewPrivs of the key process"
	check_undumpable "$keyproc" "the key process"
	if [ "$(id -u)" -eq 0 ]; then
		assert_eq "$uid" "$(proc_field "$keyproc" Uid | awk '{print $2}')" "Uid of the key process"
	fi
	assert_eq 0 "$(proc_field "$net" Seccomp)" "Seccomp of the network process (none: it runs libevent, SQLite, libpq)"
elif [ -n "$keyproc" ]; then
	fail "serve has a child ($keyproc) but KEYPROC_MERGED=0: flip it in $0"
fi

# ---- the memory ------------------------------------------------------------
args=(--pid "net=$net")
[ -z "$keyproc" ] || args+=(--pid "key=$keyproc")
args+=(--key "ca=$(kb_conf_path "$data" ca_issuing_key)"
    --key "ocsp=$(kb_conf_path "$data" ocsp_key)"
    --key "bridge=$(kb_conf_path "$data" bridge_key)"
    --key "node=$(kb_conf_path "$data" validator_key)"
    --key "tls=$(kb_conf_path "$data" tls_key)"
    --key "admin=$(kb_conf_path "$data" admin_key)"
    --key "root=$data/ca/root.key")
scan=$(python3 "$MEMSCAN" "${args[@]}") || fail "memscan.py failed"
printf '%s\n' "$scan" >"$OUT/memscan.json"
log "memscan: $scan"
[ "$(jq -r '.net._bytes' <<<"$scan")" -gt 1000000 ] ||
	fail "memscan read less than 1 MB of the network process: $scan"

# The TLS key is the network process's: the scan of it must see it.
scan_has "$scan" net tls || fail "the TLS key is not found in the network process: the scan is blind ($scan)"
for k in $NEVER_KEYS; do
	! scan_has "$scan" net "$k" || fail "$k key found in the network process: $scan"
done

if [ "$KEYPROC_MERGED" = 1 ]; then
	for k in $APART_KEYS; do
		scan_has "$scan" key "$k" || fail "the $k key is not in the key process's memory (negative control: the scan must find it there): $scan"
		! scan_has "$scan" net "$k" || fail "the $k key is in the network process's memory ($(jq -c --arg k "$k" '.net[$k]' <<<"$scan")): $scan"
	done
	for k in $NEVER_KEYS tls; do
		! scan_has "$scan" key "$k" || fail "$k key found in the key process: $scan"
	done
	log "the four keys are in the key process only; the TLS key in the network process only"
else
	# Negative control until the key process exists: the keys are where
	# they are loaded today, and the scan must say so.
	for k in $APART_KEYS; do
		scan_has "$scan" net "$k" || fail "the $k key is not found in serve, which holds it until the key process exists: the scan is blind ($scan)"
	done
	log "EXPECTED FAILURE until KEYPROC merges: the network process holds ca, ocsp, bridge and node keys (set KEYPROC_MERGED=1 then)"
fi

kb_stop
log "PASS"
