#!/usr/bin/env bash
# test_systemd.sh: the systemd units (examples/systemd/) and Type=notify
# (issue 17; docs/operations.md "Running under systemd").
#
# Asserts: `systemd-analyze verify` passes on both units as `make install`
# writes them (ExecStart at the installed binary, the man pages they cite
# found), and fails on a unit with an unknown setting (the control);
# `systemd-analyze security --offline` rates keybridge.service at most 3.0
# ("OK"); every system call the key process's seccomp filter allows
# (bridge/keyproc/sandbox.c's table) is in the unit's SystemCallFilter
# (@system-service expanded, plus the unit's extra lines), and so are the
# calls the drop and the filter's loading take; serve started as root
# with exactly the unit's CapabilityBoundingSet (capsh --drop) serves,
# enrolls and stops cleanly without a permission warning, and with
# CAP_FOWNER taken away it warns (the set is not larger than needed and
# the check sees a missing one); serve and validator serve under a
# NOTIFY_SOCKET listener (notify_listen.py, an AF_UNIX datagram socket as
# systemd's) send READY=1 from their own pid once their listeners accept
# connections, STOPPING=1 at SIGTERM, and nothing without NOTIFY_SOCKET.

# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/vlib.sh
source "$(dirname "$0")/vlib.sh"

REPO=$(cd "$(dirname "$0")/../.." && pwd)
UNITS="$REPO/examples/systemd"
command -v systemd-analyze >/dev/null || fail "systemd-analyze is missing: scripts/deps.sh installs it (package systemd)"

# ---- systemd-analyze verify on the installed units ---------------------------
PFX="$OUT/usr"
KB_DEPS_CHECKED=1 make -s -C "$REPO" install PREFIX="$PFX" INSTALL_BIN="$KEYBRIDGE" >"$OUT/install.log" 2>&1 ||
	fail "make install PREFIX=$PFX: $(tail -n 5 "$OUT/install.log")"
for u in keybridge.service keybridge-validator.service; do
	f="$PFX/lib/systemd/system/$u"
	assert_contains "$(grep '^ExecStart=' "$f")" "$PFX/bin/keybridge " "ExecStart of the installed $u"
	rc=0
	MANPATH="$PFX/share/man" systemd-analyze verify "$f" >"$OUT/verify-$u.log" 2>&1 || rc=$?
	assert_eq 0 "$rc" "systemd-analyze verify $u: $(cat "$OUT/verify-$u.log")"
	[ ! -s "$OUT/verify-$u.log" ] || fail "systemd-analyze verify $u said: $(cat "$OUT/verify-$u.log")"
	log "systemd-analyze verify $u: OK"
done
# the control: verify does catch a broken unit
sed 's/^ProtectHome=yes/ProtectHomes=yes/' "$PFX/lib/systemd/system/keybridge.service" >"$OUT/broken.service"
rc=0
MANPATH="$PFX/share/man" systemd-analyze verify "$OUT/broken.service" >"$OUT/verify-broken.log" 2>&1 || rc=$?
assert_contains "$(cat "$OUT/verify-broken.log")" "ProtectHomes" "systemd-analyze verify of a unit with an unknown setting"

# ---- systemd-analyze security (offline: the container runs no systemd) -------
systemd-analyze security --offline=yes --no-pager "$PFX/lib/systemd/system/keybridge.service" \
	>"$OUT/security.txt" 2>&1 || true
score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$OUT/security.txt")
[ -n "$score" ] || fail "no exposure level in systemd-analyze security: $(tail -n 3 "$OUT/security.txt")"
log "systemd-analyze security keybridge.service: $score"
python3 -c "import sys; sys.exit(0 if float('$score') <= 3.0 else 1)" ||
	fail "keybridge.service exposure $score is above 3.0: $(grep '✗' "$OUT/security.txt" | head -n 20)"
vscore=$(systemd-analyze security --offline=yes --no-pager "$PFX/lib/systemd/system/keybridge-validator.service" 2>&1 |
	sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
log "systemd-analyze security keybridge-validator.service: $vscore"

# ---- the key process's system calls within the unit's filter -----------------
python3 - "$REPO/bridge/keyproc/sandbox.c" "$UNITS/keybridge.service" <<'EOF' || fail "a system call serve needs is outside keybridge.service's SystemCallFilter"
import re, subprocess, sys
src, unit = open(sys.argv[1]).read(), open(sys.argv[2]).read()
table = src[src.index("sandbox_keyproc_calls[] = {"):]
table = table[:table.index("};")]
need = set(re.findall(r'\{ "([a-z0-9_]+)",', table)) | {"tgkill"}
# what serve itself does around the filter: the drop, the filter's
# loading, no_new_privs and the core limit
need |= {"setgroups", "setresgid", "setresuid", "setgid", "setuid",
         "prctl", "seccomp", "setrlimit", "fchown", "socketpair", "clone"}
assert len(need) > 30, need
out = subprocess.run(["systemd-analyze", "syscall-filter"], capture_output=True,
                     text=True, check=True).stdout
groups, cur = {}, None
for line in out.splitlines():
    if line.startswith("@"):
        cur = line.split()[0]
        groups[cur] = []
    elif cur and line.strip() and not line.strip().startswith("#"):
        groups[cur].append(line.strip())
def expand(names):
    r = set()
    for n in names:
        r |= expand(groups[n]) if n.startswith("@") else {n}
    return r
allowed = set()
for line in re.findall(r'^SystemCallFilter=(?!~)(.*)$', unit, re.M):
    allowed |= expand(line.split())
missing = sorted(n for n in need if n not in allowed)
print("keyproc and drop calls checked: %d, outside the filter: %s" % (len(need), missing or "none"))
sys.exit(1 if missing else 0)
EOF

# ---- capabilities: exactly the unit's bounding set --------------------------------
kb_init "$OUT/data"
DATA=$KB_DIR
if [ "$(id -u)" -eq 0 ] && command -v capsh >/dev/null; then
	keep=$(sed -n 's/^CapabilityBoundingSet=//p' "$UNITS/keybridge.service" | tr 'A-Z ' 'a-z,')
	all=$(capsh --print | sed -n 's/^Bounding set =//p')
	# serve_capped KEEP LOG: serve under a bounding set of KEEP only,
	# until it answers; one enrollment; SIGTERM; its exit status.
	serve_capped() {
		local drop pid rc=0
		drop=$(tr ',' '\n' <<<"$all" | grep -vxF -f <(tr ',' '\n' <<<"$1") | paste -sd,)
		capsh --drop="$drop" -- -c "exec '$KEYBRIDGE' serve -d '$DATA'" >"$2" 2>&1 &
		pid=$!
		kb_track "$pid"
		until curl -sf -o /dev/null --max-time 2 --cacert "$DATA/ca/root.pem" "$KB_URL/api/v1/status"; do
			kill -0 "$pid" 2>/dev/null || fail "serve under capabilities $1 exited: $(tail -n 3 "$2")"
			sleep 0.1
		done
		KB_SERVE_PID=$pid
		kb_enroll "cap$RANDOM"
		KB_SERVE_PID=""
		kill -TERM "$pid"
		wait "$pid" || rc=$?
		kb_untrack "$pid"
		assert_eq 0 "$rc" "exit status of serve under capabilities $1"
	}
	serve_capped "$keep" "$OUT/serve-caps.log"
	assert_eq "$(kb_conf_get "$DATA" user)" "$(stat -c %U "$DATA/checkpoint.trusted")" "owner of checkpoint.trusted written under the unit's capabilities"
	assert_not_contains "$(cat "$OUT/serve-caps.log")" "not permitted" "serve's log under the unit's capabilities ($keep)"
	log "serve under $keep: served, enrolled, stopped with 0, no permission warning"
	rm -f "$DATA/checkpoint.trusted"
	serve_capped "${keep/,cap_fowner/}" "$OUT/serve-nofowner.log"
	assert_contains "$(cat "$OUT/serve-nofowner.log")" "Operation not permitted" "serve's log without CAP_FOWNER (the control)"
	log "without cap_fowner: $(grep -m1 -o 'cannot remember.*' "$OUT/serve-nofowner.log")"
else
	log "SKIP the capability check: not root or no capsh"
fi

# ---- Type=notify: serve --------------------------------------------------------------
NOTIFY="$OUT/notify.sock"
python3 "$KB_LIB_DIR/notify_listen.py" "$NOTIFY" "$OUT/notify.log" \
	"$(kb_conf_get "$DATA" est_listen)" "$(kb_conf_get "$DATA" http_listen)" &
kb_track $!
NL_PID=$!
until grep -q listening "$OUT/notify.log" 2>/dev/null; do sleep 0.05; done
NOTIFY_SOCKET=$NOTIFY "$KEYBRIDGE" serve -d "$DATA" >>"$OUT/serve.log" 2>&1 &
pid=$!
kb_track "$pid"
deadline=$((SECONDS + 20))
until grep -q 'READY=1' "$OUT/notify.log"; do
	kill -0 "$pid" 2>/dev/null || fail "serve exited before READY=1 (see $OUT/serve.log)"
	[ "$SECONDS" -lt "$deadline" ] || fail "no READY=1 within 20 s: $(cat "$OUT/notify.log")"
	sleep 0.05
done
ready=$(grep 'READY=1' "$OUT/notify.log")
assert_eq 1 "$(grep -c 'READY=1' "$OUT/notify.log")" "READY=1 messages"
assert_contains "$ready" "pid=$pid " "sender of READY=1 (the main process, NotifyAccess=main)"
assert_contains "$ready" "probes=OK" "both listeners accepting when READY=1 arrived"
assert_not_contains "$(cat "$OUT/notify.log")" "STOPPING=1" "notifications before SIGTERM"
curl -sf -o /dev/null --cacert "$DATA/ca/root.pem" "$KB_URL/api/v1/status" || fail "the API after READY=1"
# notify_wait TEXT: until the listener has logged TEXT (it writes a
# datagram a moment after the sender has exited), at most 5 s; the
# assertion that follows reports a miss.
notify_wait() {
	local deadline=$((SECONDS + 5))
	until grep -qF -- "$1" "$OUT/notify.log" || [ "$SECONDS" -ge "$deadline" ]; do
		sleep 0.05
	done
}
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
kb_untrack "$pid"
assert_eq 0 "$rc" "exit status of serve after SIGTERM"
notify_wait 'STOPPING=1'
stopping=$(grep 'STOPPING=1' "$OUT/notify.log" || true)
assert_contains "$stopping" "pid=$pid " "STOPPING=1 from serve at SIGTERM"
log "serve: $(grep -c . "$OUT/notify.log") lines: $(tail -n 2 "$OUT/notify.log" | paste -sd' ')"

# without NOTIFY_SOCKET nothing is sent (and serve runs the same)
lines=$(wc -l <"$OUT/notify.log")
kb_start "$DATA"
kb_stop
assert_eq "$lines" "$(wc -l <"$OUT/notify.log")" "notifications from a serve without NOTIFY_SOCKET"

# ---- Type=notify: validator serve --------------------------------------------------
vd_init v1 "$DATA"
vport=${VD_URL[v1]##*:}
kill -TERM "$NL_PID"
wait "$NL_PID" 2>/dev/null || true
kb_untrack "$NL_PID"
: >"$OUT/notify.log"
python3 "$KB_LIB_DIR/notify_listen.py" "$NOTIFY" "$OUT/notify.log" "127.0.0.1:$vport" &
kb_track $!
until grep -q listening "$OUT/notify.log" 2>/dev/null; do sleep 0.05; done
NOTIFY_SOCKET=$NOTIFY "$KEYBRIDGE" validator serve -d "$OUT/v1" >>"$OUT/v1.log" 2>&1 &
pid=$!
kb_track "$pid"
deadline=$((SECONDS + 20))
until grep -q 'READY=1' "$OUT/notify.log"; do
	kill -0 "$pid" 2>/dev/null || fail "validator serve exited before READY=1 (see $OUT/v1.log)"
	[ "$SECONDS" -lt "$deadline" ] || fail "no READY=1 from the validator within 20 s"
	sleep 0.05
done
ready=$(grep 'READY=1' "$OUT/notify.log")
assert_contains "$ready" "pid=$pid " "sender of the validator's READY=1"
assert_contains "$ready" "probes=OK" "the validator's listener accepting when READY=1 arrived"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
kb_untrack "$pid"
assert_eq 0 "$rc" "exit status of validator serve after SIGTERM"
notify_wait "pid=$pid probes=- msg=STOPPING=1"
assert_contains "$(cat "$OUT/notify.log")" "pid=$pid probes=- msg=STOPPING=1" "the validator's STOPPING=1"
log "PASS"
