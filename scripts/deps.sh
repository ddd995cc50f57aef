#!/usr/bin/env bash
# scripts/deps.sh: the Debian 12 packages keybridge needs to build and test.
#
#   scripts/deps.sh --check   exit 0 when all are installed, else 1 and list
#                             the missing ones on stdout
#   scripts/deps.sh           install the missing ones (apt-get as root, or
#                             through sudo when it works without a password;
#                             otherwise print the exact command and exit 1)
#   scripts/deps.sh --wait-lock   only wait for the apt lock (as the install
#                             does first): KB_APT_LOCK_WAIT seconds (300)
#
# Run as root, both also want the system user a root-started `keybridge
# serve` drops to (KB_USER, default keybridge; docs/operations.md "The
# bridge's user"): --check reports it missing, the install creates it.
#
# The list lives in one variable: later work adds to it (nginx, postgresql,
# chromium, ...).
set -euo pipefail

PACKAGES="build-essential pkg-config libssl-dev openssl libevent-dev \
libsqlite3-dev sqlite3 libpq-dev libjansson-dev libcmocka-dev curl jq \
python3 wrk clang libclang-rt-14-dev nginx prometheus postgresql libsodium-dev valgrind"
# PKCS#11 keys: libp11 (the EVP_PKEY in a token) and p11-kit (URIs, the
# module loader) to build; SoftHSM2 and OpenSC's pkcs11-tool to test.
PACKAGES="$PACKAGES libp11-dev libp11-kit-dev softhsm2 opensc \
libengine-pkcs11-openssl"
# The key process's seccomp filter (bridge/keyproc/sandbox.c).
# A second TLS stack for the Ed25519 device certificates (test_profiles:
# gnutls-cli with TLS 1.3 mutual authentication).
PACKAGES="$PACKAGES gnutls-bin"
PACKAGES="$PACKAGES libseccomp-dev"
# make bench-plots draws the benchmarks' figures (scripts/bench-plots.py).
PACKAGES="$PACKAGES gnuplot-nox"
# The validators' independent cosignature checker (tests/validator/
# verify_cosig.py: Ed25519 from Python's cryptography).
PACKAGES="$PACKAGES python3-cryptography"
# test_heal_unsigned stops the key process at one operation with gdb.
PACKAGES="$PACKAGES gdb"
# The strict request-head check in front of evhttp (bridge/http/strict.c).
PACKAGES="$PACKAGES libhttp-parser-dev"
# The dashboard: xxd embeds its files at build time; its browser test runs
# Debian's Chromium under Node.js (playwright-core from npm).  NodeSource's
# nodejs carries its own npm, which Debian's npm package (made for
# Debian's nodejs) must not replace: npm is added only when missing.
PACKAGES="$PACKAGES xxd chromium nodejs"
command -v npm >/dev/null 2>&1 || PACKAGES="$PACKAGES npm"
# Running as a service (issue 17): sd_notify for Type=notify
# (libsystemd-dev), mandoc to lint the man pages (the completion script's
# test needs bash alone, not bash-completion), and systemd for
# systemd-analyze (test_systemd, test_device_enroll verify the units): a
# bare container lacks it, and a CI machine may be one.
PACKAGES="$PACKAGES libsystemd-dev mandoc systemd"

# missing: prints the packages of $PACKAGES that are not fully installed.
missing() {
	local p st
	for p in $PACKAGES; do
		st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
		if [ "$st" != "install ok installed" ]; then
			printf '%s\n' "$p"
		fi
	done
}

KB_USER=${KB_USER:-keybridge}
# user_missing: 0 when run as root and KB_USER does not exist (as anyone
# else, serve never drops and needs no user).
user_missing() {
	[ "$(id -u)" -eq 0 ] && ! id -u "$KB_USER" >/dev/null 2>&1
}

# make_user: creates KB_USER as a system user without a login.
make_user() {
	echo "deps: creating the system user $KB_USER"
	useradd --system --home-dir /var/lib/keybridge --no-create-home \
	    --shell /usr/sbin/nologin "$KB_USER"
}

KB_APT_LOCK_WAIT=${KB_APT_LOCK_WAIT:-300}
# The locks apt and dpkg take (fcntl locks: flock(1) does not see them).
KB_APT_LOCKS=${KB_APT_LOCKS:-"/var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock"}
# lock_held: 0 when another process holds one of KB_APT_LOCKS.
lock_held() {
	python3 - $KB_APT_LOCKS <<'PY' 2>/dev/null
import fcntl, os, sys
for p in sys.argv[1:]:
    try:
        fd = os.open(p, os.O_RDWR)
    except OSError:
        continue
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        sys.exit(0)
    finally:
        os.close(fd)
sys.exit(1)
PY
}
# wait_apt_lock: waits (bounded by KB_APT_LOCK_WAIT, with a message every
# 10 s) until no other process holds an apt or dpkg lock; 1 when it is
# still held at the end (apt then waits no longer either and says why).
wait_apt_lock() {
	local waited=0
	lock_held || return 0
	echo "deps: another apt or dpkg process holds its lock; waiting up to" \
	    "${KB_APT_LOCK_WAIT}s (KB_APT_LOCK_WAIT) for it to finish"
	while lock_held; do
		if [ "$waited" -ge "$KB_APT_LOCK_WAIT" ]; then
			echo "deps: the apt lock is still held after ${waited}s" >&2
			return 1
		fi
		sleep 1
		waited=$((waited + 1))
		[ $((waited % 10)) -ne 0 ] || echo "deps: still waiting for the apt lock (${waited}s)"
	done
	echo "deps: the apt lock is free after ${waited}s"
}

case "${1:-}" in
--wait-lock)
	# only the wait (tests/integration/test_install.sh, with KB_APT_LOCKS)
	wait_apt_lock
	exit $?
	;;
--check)
	if user_missing; then
		echo "missing user: $KB_USER"
		exit 1
	fi
	miss=$(missing)
	if [ -n "$miss" ]; then
		echo "missing packages: $(echo "$miss" | paste -sd' ')"
		exit 1
	fi
	exit 0
	;;
"")
	;;
-h|--help)
	sed -n '2,17p' "$0"
	exit 0
	;;
*)
	echo "usage: $0 [--check]" >&2
	exit 2
	;;
esac

if user_missing; then
	make_user
fi
miss=$(missing)
if [ -z "$miss" ]; then
	echo "deps: all packages installed"
	exit 0
fi
# shellcheck disable=SC2086 # word splitting of the package list is wanted
set -- $miss
echo "deps: installing: $*"

if [ "$(id -u)" -eq 0 ]; then
	SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	SUDO=(sudo -n)
else
	echo "deps: not root and sudo needs a password; run as root:" >&2
	echo "  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $*" >&2
	exit 1
fi

# Another apt or dpkg (unattended-upgrades, a second terminal) may hold
# the lock: wait for it up to KB_APT_LOCK_WAIT seconds, saying so, then
# let apt wait the rest (its DPkg::Lock::Timeout) instead of failing with
# "Could not get lock /var/lib/dpkg/lock-frontend".
wait_apt_lock || exit 1
APT=(apt-get -o "DPkg::Lock::Timeout=$KB_APT_LOCK_WAIT")
"${SUDO[@]}" "${APT[@]}" update
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
	"${APT[@]}" install -y --no-install-recommends "$@"

miss=$(missing)
if [ -n "$miss" ]; then
	echo "deps: still missing after install: $(echo "$miss" | paste -sd' ')" >&2
	exit 1
fi
echo "deps: done"
