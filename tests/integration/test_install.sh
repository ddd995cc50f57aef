#!/usr/bin/env bash
# test_install.sh: `make install` and `make uninstall` with PREFIX and
# DESTDIR, and scripts/deps.sh waiting for the apt lock (issue 17;
# docs/operations.md "Installing").
#
# Asserts: make install DESTDIR=D PREFIX=/opt/kb puts exactly the binary
# (0755), the two man pages, the example configuration, the two systemd
# units (ExecStart at /opt/kb/bin/keybridge, not at the example's path) and
# the bash completion (0644 each) under D/opt/kb, nothing else; the
# installed binary runs; make uninstall with the same variables leaves no
# file under D.  deps.sh --wait-lock, with a lock held by another process
# (an fcntl lock as apt's, on a file of the test's own via KB_APT_LOCKS),
# says it waits, waits until the lock is released and exits 0; with the
# lock held beyond KB_APT_LOCK_WAIT it gives up with exit 1 and says so.

# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

REPO=$(cd "$(dirname "$0")/../.." && pwd)
D="$OUT/dest"
P=/opt/kb

KB_DEPS_CHECKED=1 make -s -C "$REPO" install DESTDIR="$D" PREFIX="$P" INSTALL_BIN="$KEYBRIDGE" >"$OUT/install.log" 2>&1 ||
	fail "make install: $(tail -n 5 "$OUT/install.log")"
got=$(cd "$D" && find . -type f -printf '%m %p\n' | sort)
want=$(sort <<EOW
755 ./opt/kb/bin/keybridge
644 ./opt/kb/share/man/man8/keybridge.8
644 ./opt/kb/share/man/man5/keybridge.conf.5
644 ./opt/kb/share/doc/keybridge/keybridge.conf.example
644 ./opt/kb/lib/systemd/system/keybridge.service
644 ./opt/kb/lib/systemd/system/keybridge-validator.service
644 ./opt/kb/share/bash-completion/completions/keybridge
EOW
)
assert_eq "$want" "$got" "files and modes make install wrote under DESTDIR"
[ -z "$(cd "$D" && find . -type l)" ] || fail "make install made symbolic links: $(cd "$D" && find . -type l)"
for u in keybridge.service keybridge-validator.service; do
	assert_contains "$(grep '^ExecStart=' "$D$P/lib/systemd/system/$u")" "ExecStart=$P/bin/keybridge " "ExecStart of the installed $u"
done
cmp -s "$KEYBRIDGE" "$D$P/bin/keybridge" || fail "the installed binary is not the one built"
assert_contains "$("$D$P/bin/keybridge" --version)" "keybridge " "the installed binary's --version"
cmp -s "$REPO/man/keybridge.8" "$D$P/share/man/man8/keybridge.8" || fail "the installed keybridge.8 differs"
log "make install: $(wc -l <<<"$got") files under DESTDIR$P"

KB_DEPS_CHECKED=1 make -s -C "$REPO" uninstall DESTDIR="$D" PREFIX="$P" >"$OUT/uninstall.log" 2>&1 ||
	fail "make uninstall: $(tail -n 5 "$OUT/uninstall.log")"
left=$(cd "$D" && find . ! -type d)
assert_eq "" "$left" "files left under DESTDIR after make uninstall"
[ ! -e "$D$P/share/doc/keybridge" ] || fail "make uninstall left $P/share/doc/keybridge"
log "make uninstall: nothing left"

# ---- deps.sh waits for the apt lock --------------------------------------------
LOCK="$OUT/lock-frontend"
: >"$LOCK"
# hold LOCK (fcntl, as apt and dpkg lock) for $1 seconds; "held" once it is
hold_lock() {
	python3 -c '
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(float(sys.argv[2]))' "$LOCK" "$1" >"$OUT/holder.out" &
	HOLDER=$!
	kb_track "$HOLDER"
	until grep -q held "$OUT/holder.out" 2>/dev/null; do sleep 0.05; done
}
hold_lock 2
start=$SECONDS
rc=0
KB_APT_LOCKS="$LOCK" KB_APT_LOCK_WAIT=30 "$REPO/scripts/deps.sh" --wait-lock >"$OUT/wait.log" 2>&1 || rc=$?
assert_eq 0 "$rc" "deps.sh --wait-lock once the lock is released: $(cat "$OUT/wait.log")"
assert_contains "$(cat "$OUT/wait.log")" "holds its lock; waiting up to 30s" "deps.sh's message while the lock is held"
assert_contains "$(cat "$OUT/wait.log")" "the apt lock is free after" "deps.sh's message once it is free"
kill -0 "$HOLDER" 2>/dev/null && fail "deps.sh stopped waiting while the lock was still held"
wait "$HOLDER" || true
kb_untrack "$HOLDER"
log "deps.sh waited $((SECONDS - start))s: $(paste -sd' ' "$OUT/wait.log")"

hold_lock 30
rc=0
KB_APT_LOCKS="$LOCK" KB_APT_LOCK_WAIT=1 "$REPO/scripts/deps.sh" --wait-lock >"$OUT/giveup.log" 2>&1 || rc=$?
assert_eq 1 "$rc" "deps.sh --wait-lock with the lock held beyond KB_APT_LOCK_WAIT"
assert_contains "$(cat "$OUT/giveup.log")" "still held after 1s" "deps.sh's message when it gives up"
kill "$HOLDER"
wait "$HOLDER" 2>/dev/null || true
kb_untrack "$HOLDER"
# no lock held: no wait, no message
rc=0
KB_APT_LOCKS="$LOCK" "$REPO/scripts/deps.sh" --wait-lock >"$OUT/free.log" 2>&1 || rc=$?
assert_eq 0 "$rc" "deps.sh --wait-lock with no lock held"
assert_eq "" "$(cat "$OUT/free.log")" "deps.sh's output with no lock held"
log "PASS"
