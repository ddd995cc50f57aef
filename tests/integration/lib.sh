# shellcheck shell=bash
# tests/integration/lib.sh: helpers for the integration tests.
#
# Sourced by tests/integration/test_*.sh, which scripts/run-integration.sh
# runs with OUT (the test's own output folder, already empty), KEYBRIDGE (the
# binary, absolute) and TOOLS (the test tools folder).  Every process a test
# starts is recorded by PID and stopped by PID when the test ends, however it
# ends.  Everything listens on 127.0.0.1 only.
#
# Failures: `fail MSG` prints "FAIL: MSG" and exits 1.  Inside $(...) it only
# ends the subshell, but the tests run under `set -e`, so `x=$(cmd)` then
# ends the test too (never write `local x=$(cmd)`: `local` hides the status).

set -euo pipefail

: "${OUT:?OUT must be set (run through scripts/run-integration.sh)}"
: "${KEYBRIDGE:?KEYBRIDGE must be set to the absolute path of the binary}"
TOOLS=${TOOLS:-}
export OUT KEYBRIDGE TOOLS
mkdir -p "$OUT"

KB_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export VERIFY_PROOF="$KB_LIB_DIR/verify_proof.py"
API_BODY="$OUT/api_body"	# body of the last api_call
KB_STDOUT="$OUT/kb.stdout"	# output of the last kb_run / kb_ok / kb_fail
KB_STDERR="$OUT/kb.stderr"
KB_RC=0

KB_PIDS=()		# every background process started (serve, loops)
KB_SERVE_PID=""		# the running `keybridge serve`, if any
KB_DIR=""		# data directory of the last kb_init / kb_start
KB_URL=""		# https://127.0.0.1:PORT of that bridge
KB_EST_PORT=""
KB_HTTP_PORT=""
KB_USED_PORTS=""

# ---- reporting -----------------------------------------------------------

log() {
	printf '%s %s\n' "$(date +%H:%M:%S)" "$*"
}

fail() {
	printf 'FAIL: %s\n' "$*" >&2
	exit 1
}

# assert_eq EXPECTED GOT WHAT
assert_eq() {
	if [ "$1" != "$2" ]; then
		fail "$3: expected '$1', got '$2'"
	fi
}

# assert_ne UNEXPECTED GOT WHAT
assert_ne() {
	if [ "$1" = "$2" ]; then
		fail "$3: expected anything but '$1'"
	fi
}

# assert_contains HAYSTACK NEEDLE WHAT (fixed string)
assert_contains() {
	case "$1" in
	*"$2"*) ;;
	*) fail "$3: expected to contain '$2', got: $(printf '%s' "$1" | head -c 2000)" ;;
	esac
}

# assert_not_contains HAYSTACK NEEDLE WHAT (fixed string)
assert_not_contains() {
	case "$1" in
	*"$2"*) fail "$3: expected not to contain '$2', got: $(printf '%s' "$1" | head -c 2000)" ;;
	*) ;;
	esac
}

# assert_match STRING ERE WHAT
assert_match() {
	# a here-string, not a pipe: grep -q may exit before printf has
	# written, and under pipefail printf's SIGPIPE failed the assertion
	if ! grep -Eq -- "$2" <<<"$1"; then
		fail "$3: expected to match /$2/, got: $(printf '%s' "$1" | head -c 2000)"
	fi
}

# assert_file_mode FILE MODE (octal, as stat %a prints it)
assert_file_mode() {
	[ -e "$1" ] || fail "expected file $1 to exist"
	assert_eq "$2" "$(stat -c %a "$1")" "mode of $1"
}

# ms_since T0: milliseconds since T0 (a `date +%s%N` reading).
ms_since() {
	echo $((($(date +%s%N) - $1) / 1000000))
}

# ---- processes -------------------------------------------------------------

# kb_track PID: stop PID (by PID) when the test ends.
kb_track() {
	KB_PIDS+=("$1")
}

# kb_untrack PID: PID has been reaped; never signal it again (PIDs recycle).
kb_untrack() {
	local keep=() p
	for p in "${KB_PIDS[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	KB_PIDS=("${keep[@]}")
}

# kb_wait_gone PID SECONDS: 0 when PID exited within SECONDS, 1 otherwise.
kb_wait_gone() {
	local deadline=$((SECONDS + $2))
	while kill -0 "$1" 2>/dev/null; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.05
	done
	return 0
}

kb_cleanup() {
	local rc=$? p
	trap - EXIT
	for p in "${KB_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in "${KB_PIDS[@]}"; do
		if ! kb_wait_gone "$p" 5; then
			echo "cleanup: pid $p ignored SIGTERM, sending SIGKILL" >&2
			kill -KILL "$p" 2>/dev/null || true
		fi
		wait "$p" 2>/dev/null || true
	done
	if [ "$rc" -ne 0 ] && [ -s "$OUT/serve.log" ]; then
		echo "--- last 25 lines of $OUT/serve.log" >&2
		tail -n 25 "$OUT/serve.log" >&2
	fi
	exit "$rc"
}
trap kb_cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# ---- ports -------------------------------------------------------------------

# kb_free_ports N: N distinct loopback ports that can be bound now, searched
# from a start derived from $$ in KB_PORT_LO..KB_PORT_HI (default 20000 up
# to the kernel's ephemeral range, ip_local_port_range, at most 32768; the
# integration runner gives each of its job slots a part of it) and not
# handed out before in this test.  Below the ephemeral range, so that a
# daemon restarted on its own port never finds it taken by an outgoing
# connection.
kb_free_ports() {
	python3 - "$1" "$$" "$KB_USED_PORTS" "${KB_PORT_LO:-}" "${KB_PORT_HI:-}" <<'EOF'
import socket, sys
n, seed, used = int(sys.argv[1]), int(sys.argv[2]), set(sys.argv[3].split())
eph = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
lo = int(sys.argv[4]) if sys.argv[4] else 20000
hi = int(sys.argv[5]) if sys.argv[5] else min(eph, 32768) - 1
span = hi - lo + 1
start, got = (seed * 7919) % span, []
for i in range(span):
    p = lo + (start + i) % span
    if str(p) in used:
        continue
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        s.close()
    got.append(str(p))
    if len(got) == n:
        break
if len(got) != n:
    sys.exit("no free loopback ports in %d-%d" % (lo, hi))
print(" ".join(got))
EOF
}

# ---- the bridge ---------------------------------------------------------------

# kb_conf_get DIR KEY: a value from DIR/keybridge.conf ("key = value").
kb_conf_get() {
	sed -n "s/^[[:space:]]*$2[[:space:]]*=[[:space:]]*\\(.*[^[:space:]]\\)[[:space:]]*\$/\\1/p" \
	    "$1/keybridge.conf" | tail -n 1
}

# ---- PKCS#11 tokens (SoftHSM2) ---------------------------------------------------

# KB_TEST_PKCS11=1: every kb_init makes a SoftHSM2 token of its own and
# inits with --pkcs11-*, so the issuing CA and OCSP signer keys live in
# it (tests/integration/test_pkcs11_*.sh run four tests so; any other
# test can: KB_TEST_PKCS11=1 make integration T=...).
KB_TEST_PKCS11=${KB_TEST_PKCS11:-0}
KB_P11_MODULE=${KB_P11_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
KB_P11_PIN=1234567		# the user PIN of the tests' tokens
KB_P11_SO_PIN=87654321
KB_P11_DIR=""			# OUT/softhsm once kb_softhsm has run
KB_P11_PINFILE=""
KB_P11_N=0			# tokens made by kb_init

# kb_softhsm: SoftHSM2 for this test alone: SOFTHSM2_CONF names a conf in
# OUT/softhsm whose tokendir is OUT/softhsm/tokens, and
# OUT/softhsm/pin (mode 0600) holds KB_P11_PIN.
kb_softhsm() {
	[ -z "$KB_P11_DIR" ] || return 0
	[ -r "$KB_P11_MODULE" ] || fail "no PKCS#11 module $KB_P11_MODULE (scripts/deps.sh installs softhsm2)"
	KB_P11_DIR="$OUT/softhsm"
	mkdir -p "$KB_P11_DIR/tokens"
	printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
	    "$KB_P11_DIR" >"$KB_P11_DIR/softhsm2.conf"
	export SOFTHSM2_CONF="$KB_P11_DIR/softhsm2.conf"
	KB_P11_PINFILE="$KB_P11_DIR/pin"
	(umask 077 && printf '%s\n' "$KB_P11_PIN" >"$KB_P11_PINFILE")
}

# kb_token LABEL: a new, empty SoftHSM2 token labelled LABEL.
kb_token() {
	kb_softhsm
	softhsm2-util --init-token --free --label "$1" --pin "$KB_P11_PIN" \
	    --so-pin "$KB_P11_SO_PIN" >"$KB_P11_DIR/init-$1.log" 2>&1 ||
		fail "softhsm2-util --init-token $1: $(cat "$KB_P11_DIR/init-$1.log")"
}

# kb_cakey_args DIR KEY: the openssl options that sign with DIR's key KEY
# (ca_issuing_key, ocsp_key), in KB_CAKEY (an array): -CAkey FILE, or for
# a pkcs11: URI libp11's OpenSSL engine (Debian libengine-pkcs11-openssl)
# signing in the token; PKCS11_MODULE_PATH is then exported.
kb_cakey_args() {
	local v
	v=$(kb_conf_get "$1" "$2")
	case "$v" in
	pkcs11:*)
		export PKCS11_MODULE_PATH
		PKCS11_MODULE_PATH=$(kb_conf_get "$1" pkcs11_module)
		KB_CAKEY=(-engine pkcs11 -CAkeyform engine
		    -CAkey "$v?pin-value=$(cat "$(kb_conf_get "$1" pkcs11_pin_file)")") ;;
	*) KB_CAKEY=(-CAkey "$(kb_conf_path "$1" "$2")") ;;
	esac
}

# kb_init_token_args: with KB_TEST_PKCS11=1, a new token and the init
# options naming it, in KB_INIT_P11 (an array; empty otherwise).
kb_init_token_args() {
	KB_INIT_P11=()
	[ "$KB_TEST_PKCS11" = 1 ] || return 0
	KB_P11_N=$((KB_P11_N + 1))
	kb_token "kb$KB_P11_N"
	KB_INIT_P11=(--pkcs11-module "$KB_P11_MODULE" --pkcs11-token "kb$KB_P11_N"
	    --pkcs11-pin-file "$KB_P11_PINFILE")
}

# kb_init DIR [ARGS...]: `keybridge init DIR` on two fresh loopback ports
# (with KB_TEST_PKCS11=1: its CA and OCSP keys in a new SoftHSM2 token).
kb_init() {
	local dir=$1 ports
	shift
	kb_init_token_args
	set -- "$@" "${KB_INIT_P11[@]}"
	ports=$(kb_free_ports 2)
	KB_EST_PORT=${ports% *}
	KB_HTTP_PORT=${ports#* }
	KB_USED_PORTS="$KB_USED_PORTS $ports"
	log "+ keybridge init $dir --est-listen 127.0.0.1:$KB_EST_PORT --http-listen 127.0.0.1:$KB_HTTP_PORT $*"
	kb_run init "$dir" --est-listen "127.0.0.1:$KB_EST_PORT" \
	    --http-listen "127.0.0.1:$KB_HTTP_PORT" "$@"
	if [ "$KB_RC" -ne 0 ]; then
		fail "keybridge init exited $KB_RC: $(cat "$KB_STDERR")"
	fi
	KB_DIR=$dir
	KB_URL="https://127.0.0.1:$KB_EST_PORT"
	if [ "$KB_TEST_PKCS11" = 1 ]; then
		assert_match "$(kb_conf_get "$dir" ca_issuing_key)" '^pkcs11:token=kb[0-9]+;object=issuing-ca;type=private$' "ca_issuing_key of $dir"
		assert_match "$(kb_conf_get "$dir" ocsp_key)" '^pkcs11:token=kb[0-9]+;object=ocsp-signer;type=private$' "ocsp_key of $dir"
		if [ -e "$dir/ca/issuing.key" ] || [ -e "$dir/ca/ocsp.key" ]; then
			fail "init --pkcs11-* left a CA key file in $dir/ca"
		fi
	fi
}

# kb_start DIR [ARGS...]: `keybridge serve -d DIR` in the background, logging
# to $OUT/serve.log; returns once GET /api/v1/status answers (20 s at most).
kb_start() {
	local dir=$1 listen deadline rc probe
	shift
	[ -z "$KB_SERVE_PID" ] || fail "kb_start: a bridge is already running (pid $KB_SERVE_PID)"
	listen=$(kb_conf_get "$dir" est_listen)
	[ -n "$listen" ] || fail "kb_start: no est_listen in $dir/keybridge.conf"
	KB_DIR=$dir
	KB_URL="https://$listen"
	# The key process drops to the bridge's user and SoftHSM2 reopens
	# its token files at every signature: as an operator would, give
	# the user the token directory (docs/operations.md).
	if [ -n "$KB_P11_DIR" ] && [ "$(id -u)" = 0 ] && id keybridge >/dev/null 2>&1; then
		chown -R keybridge: "$KB_P11_DIR/tokens"
	fi
	printf -- '--- %s keybridge serve -d %s %s\n' "$(date +%T)" "$dir" "$*" >>"$OUT/serve.log"
	"$KEYBRIDGE" serve -d "$dir" "$@" >>"$OUT/serve.log" 2>&1 &
	KB_SERVE_PID=$!
	kb_track "$KB_SERVE_PID"
	log "started keybridge serve (pid $KB_SERVE_PID) on $KB_URL"
	deadline=$((SECONDS + 20))
	# with api_auth = token the API's reads are closed: EST's cacerts is not
	probe=/api/v1/status
	[ "$(kb_conf_get "$dir" api_auth)" != token ] || probe=/.well-known/est/cacerts
	until curl -sf -o /dev/null --max-time 2 --cacert "$dir/ca/root.pem" \
	    "$KB_URL$probe"; do
		if ! kill -0 "$KB_SERVE_PID" 2>/dev/null; then
			rc=0
			wait "$KB_SERVE_PID" || rc=$?
			kb_untrack "$KB_SERVE_PID"
			KB_SERVE_PID=""
			fail "keybridge serve exited with status $rc before answering on $KB_URL$probe (see $OUT/serve.log)"
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			fail "keybridge serve (pid $KB_SERVE_PID) did not answer $KB_URL$probe within 20 s (see $OUT/serve.log)"
		fi
		sleep 0.1
	done
	# ... and the plain-HTTP listener (OCSP, CRLs)
	KB_HTTP_URL="http://$(kb_conf_get "$dir" http_listen)"
	until curl -s -o /dev/null --max-time 2 "$KB_HTTP_URL/ca/issuing.der"; do
		kill -0 "$KB_SERVE_PID" 2>/dev/null || fail "keybridge serve exited before answering on $KB_HTTP_URL (see $OUT/serve.log)"
		[ "$SECONDS" -lt "$deadline" ] || fail "keybridge serve did not answer on $KB_HTTP_URL within 20 s (see $OUT/serve.log)"
		sleep 0.05
	done
}

# kb_conf_path DIR KEY: a path from DIR/keybridge.conf, resolved against DIR.
kb_conf_path() {
	local p
	p=$(kb_conf_get "$1" "$2")
	case "$p" in
	/*) printf '%s\n' "$p" ;;
	*) printf '%s/%s\n' "$1" "$p" ;;
	esac
}

# kb_check_sanitizers: fails when a sanitizer reported into serve.log.
kb_check_sanitizers() {
	if grep -Eq 'ERROR: (Address|Leak|Memory|Thread)Sanitizer|runtime error:' \
	    "$OUT/serve.log" 2>/dev/null; then
		grep -E -m 5 -A 10 'ERROR: [A-Za-z]+Sanitizer|runtime error:' "$OUT/serve.log" >&2 || true
		fail "a sanitizer reported an error in $OUT/serve.log"
	fi
}

# kb_stop: SIGTERM to the bridge; it must exit with status 0 within 10 s.
kb_stop() {
	local pid=$KB_SERVE_PID rc=0
	[ -n "$pid" ] || fail "kb_stop: no bridge running"
	kill -TERM "$pid"
	if ! kb_wait_gone "$pid" 10; then
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		kb_untrack "$pid"
		KB_SERVE_PID=""
		fail "keybridge serve (pid $pid) did not exit within 10 s of SIGTERM"
	fi
	wait "$pid" || rc=$?
	kb_untrack "$pid"
	KB_SERVE_PID=""
	log "stopped keybridge serve (pid $pid): exit status $rc"
	kb_check_sanitizers
	assert_eq 0 "$rc" "exit status of keybridge serve after SIGTERM"
}

# kb_kill9: SIGKILL to the bridge (a crash), and reap it.
kb_kill9() {
	local pid=$KB_SERVE_PID rc=0
	[ -n "$pid" ] || fail "kb_kill9: no bridge running"
	kill -KILL "$pid"
	wait "$pid" || rc=$?
	kb_untrack "$pid"
	KB_SERVE_PID=""
	log "killed keybridge serve (pid $pid) with SIGKILL: exit status $rc"
	kb_check_sanitizers
}

# ---- OCSP answers and metrics ---------------------------------------------------

# kb_metric NAME: NAME's value on the running bridge's /metrics (empty
# when it has none).
kb_metric() {
	curl -sS --max-time 10 "$KB_HTTP_URL/metrics" | awk -v m="$1" '$1 == m { print $2 }'
}

# kb_ocsp_status NAME [ARGS]: the verified OCSP status (good, revoked) of
# $OUT/NAME.pem, asked by openssl ocsp (ARGS added, e.g. -sha256) of the
# responder its certificate names, with $ISSUING as the issuer and $ROOT
# as the trust anchor; the answer's text is kept in $OUT/q/NAME.txt.
# Fails when the answer does not verify.
kb_ocsp_status() {
	local n=$1 f="$OUT/q/$1.txt" url
	shift
	mkdir -p "$OUT/q"
	url=$(openssl x509 -in "$OUT/$n.pem" -noout -ocsp_uri)
	timeout 20 openssl ocsp -issuer "$ISSUING" -url "$url" -CAfile "$ROOT" \
	    -timeout 10 -no_nonce "$@" -cert "$OUT/$n.pem" >"$f" 2>&1 ||
		fail "openssl ocsp for $n failed: $(head -c 1500 "$f")"
	assert_contains "$(cat "$f")" "Response verify OK" "OCSP answer for $n"
	awk -v c="$OUT/$n.pem: " 'index($0, c) == 1 { print substr($0, length(c) + 1); exit }' "$f"
}

# kb_store_bridge: inits and starts a bridge in $OUT/data with the OCSP
# store on (ocsp-store.db) and ocsp_cache_max = 4 answers; sets DIR,
# STORE, ROOT and ISSUING.
kb_store_bridge() {
	DIR="$OUT/data"
	STORE="$DIR/ocsp-store.db"
	mkdir -p "$OUT/q"
	kb_init "$DIR"
	kb_conf_set "$DIR" ocsp_store ocsp-store.db
	kb_conf_set "$DIR" ocsp_cache_max 4
	kb_start "$DIR"
	ROOT="$DIR/ca/root.pem"
	ISSUING="$DIR/ca/issuing.pem"
}

# kb_ocsp_settled N: waits (60 s at most) until the running bridge has
# signed N OCSP answers and none waits, pending or paced; then 0.7 s more
# (a store's transaction is committed every 500 ms).
kb_ocsp_settled() {
	local deadline=$((SECONDS + 60)) s p
	while :; do
		s=$(kb_metric keybridge_ocsp_signatures_total)
		p=$(($(kb_metric keybridge_ocsp_resign_pending) + $(kb_metric keybridge_ocsp_resign_paced)))
		[ "${s:-0}" -lt "$1" ] || [ "$p" -ne 0 ] || break
		[ "$SECONDS" -lt "$deadline" ] || fail "$s of $1 OCSP signatures after 60 s ($p waiting)"
		sleep 0.2
	done
	sleep 0.7
}

# kb_crl_num TEXT EXT: the decimal value of the INTEGER extension EXT ("CRL
# Number", "Delta CRL Indicator") in TEXT, a file of `openssl crl -text`;
# empty when absent.  (openssl prints them in decimal, or in hex with 0x
# when long; `-crlnumber` always prints hex.)
kb_crl_num() {
	local v
	v=$(awk -v e="X509v3 $2:" 'index($0, e) { getline; gsub(/[ \t]/, ""); print; exit }' "$1")
	[ -n "$v" ] || return 0
	python3 -c 'import sys; v = sys.argv[1]; print(int(v, 16) if v.lower().startswith("0x") else int(v))' "$v"
}

# ---- entries built outside keybridge (mkentry.py, openssl) --------------------

# kb_mkentry_setup DIR: inits and starts a bridge in DIR for a test that
# POSTs entries built by mkentry.py; sets MKENTRY, ORIGIN (the ledger's
# origin) and NB/NA (a validity from now to 30 days on).
kb_mkentry_setup() {
	MKENTRY="$KB_LIB_DIR/mkentry.py"
	kb_init "$1"
	kb_start "$1"
	ORIGIN=$(kb_conf_get "$1" origin)
	ORIGIN=${ORIGIN:-keybridge/ledger}
	NB=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	NA=$(date -u -d '+30 days' +%Y-%m-%dT%H:%M:%SZ)
}

# kb_mkentry DIR SEQ OUTFILE TYPE KEY=VALUE...: an entry of TYPE by DIR's
# admin account with sequence number SEQ, for this ledger's origin.
kb_mkentry() {
	local dir=$1 seq=$2 out=$3
	shift 3
	python3 "$MKENTRY" "$dir/admin.key" admin "$seq" "$ORIGIN" "$@" >"$out" ||
		fail "mkentry.py could not build $out"
}

# ---- the command line ----------------------------------------------------------

# kb_run ARGS...: runs keybridge; stdout in $KB_STDOUT, stderr in $KB_STDERR,
# exit status in KB_RC.  Never fails by itself.
kb_run() {
	KB_RC=0
	"$KEYBRIDGE" "$@" >"$KB_STDOUT" 2>"$KB_STDERR" || KB_RC=$?
}

# kb_ok ARGS...: runs keybridge, which must exit 0; prints its stdout.
kb_ok() {
	kb_run "$@"
	if [ "$KB_RC" -ne 0 ]; then
		fail "keybridge $* exited $KB_RC, expected 0; stderr: $(head -c 2000 "$KB_STDERR")"
	fi
	cat "$KB_STDOUT"
}

# kb_fail CODE ARGS...: runs keybridge, which must refuse with exit status 1
# and the stderr line "keybridge: CODE: <message>".
kb_fail() {
	local code=$1
	shift
	kb_run "$@"
	if [ "$KB_RC" -ne 1 ]; then
		fail "keybridge $* exited $KB_RC, expected 1 with '$code'; stderr: $(head -c 2000 "$KB_STDERR"); stdout: $(head -c 500 "$KB_STDOUT")"
	fi
	if ! grep -Eq "^keybridge: $code: .+" "$KB_STDERR"; then
		fail "keybridge $*: expected a stderr line 'keybridge: $code: <message>', got: $(head -c 2000 "$KB_STDERR")"
	fi
	log "refused as expected ($code): keybridge $*"
}

# ---- the HTTPS API --------------------------------------------------------------

# api METHOD PATH [CURL ARGS...]: the response body; fails unless 2xx.
api() {
	local method=$1 path=$2 code
	shift 2
	code=$(api_call "$method" "$path" "$@")
	case "$code" in
	2??) ;;
	*) fail "$method $path: expected 2xx, got HTTP $code: $(head -c 1000 "$API_BODY")" ;;
	esac
	cat "$API_BODY"
}

# api_call METHOD PATH [CURL ARGS...]: prints the HTTP status; the body is in
# $API_BODY.  Fails only when no HTTP response arrived.
api_call() {
	local method=$1 path=$2 code
	shift 2
	[ -n "$KB_URL" ] || fail "api_call: no bridge (kb_init or kb_start first)"
	code=$(curl -sS -o "$API_BODY" -w '%{http_code}' --max-time 30 \
	    --cacert "$KB_DIR/ca/root.pem" -X "$method" "$@" "$KB_URL$path") ||
		fail "$method $path: curl failed (HTTP '$code')"
	printf '%s\n' "$code"
}

# api_expect_error STATUS CODE METHOD PATH [CURL ARGS...]: the request must be
# answered with HTTP STATUS and a JSON body {"error":{"code":CODE,...}}.
# CODE "-" checks the status only.
api_expect_error() {
	local want_status=$1 want_code=$2 method=$3 path=$4 code got
	shift 4
	code=$(api_call "$method" "$path" "$@")
	if [ "$code" != "$want_status" ]; then
		fail "$method $path: expected HTTP $want_status $want_code, got HTTP $code: $(head -c 1000 "$API_BODY")"
	fi
	if [ "$want_code" != "-" ]; then
		got=$(jq -r '.error.code // "(no error.code)"' "$API_BODY" 2>/dev/null) ||
			got="(body is not JSON: $(head -c 300 "$API_BODY"))"
		if [ "$got" != "$want_code" ]; then
			fail "$method $path: expected error code '$want_code', got '$got'; body: $(head -c 1000 "$API_BODY")"
		fi
		jq -e '.error.message | type == "string" and length > 0' "$API_BODY" >/dev/null ||
			fail "$method $path: error without a message: $(head -c 1000 "$API_BODY")"
	fi
	log "HTTP $code ${want_code} as expected: $method $path"
}

# ---- keys --------------------------------------------------------------------------

# new_device_key NAME TYPE: OUT/keys/NAME.key and NAME.pub with openssl;
# TYPE is ed25519 or p256.
new_device_key() {
	mkdir -p "$OUT/keys"
	case "$2" in
	ed25519) openssl genpkey -algorithm ed25519 -out "$OUT/keys/$1.key" 2>/dev/null ;;
	p256) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	    -out "$OUT/keys/$1.key" 2>/dev/null ;;
	*) fail "new_device_key: unknown type $2" ;;
	esac
	openssl pkey -in "$OUT/keys/$1.key" -pubout -out "$OUT/keys/$1.pub"
}

# spki_key_id PUBKEY_PEM: hex SHA-256 of the SubjectPublicKeyInfo DER, the
# key id as docs/design.md defines it (computed here independently).
spki_key_id() {
	openssl pkey -pubin -in "$1" -outform DER | sha256sum | cut -d' ' -f1
}

# ---- EST (RFC 7030) helpers ----------------------------------------------------------

EST_HEADERS="$OUT/est_headers"	# response headers of the last est_call

# kb_conf_set DIR KEY VALUE: sets KEY in DIR/keybridge.conf, replacing its
# line (a key given twice is an error for the bridge) or appending one.
kb_conf_set() {
	local conf="$1/keybridge.conf" tmp
	tmp=$(mktemp "$conf.XXXXXX")
	awk -v k="$2" -v v="$3" '
		BEGIN { done = 0 }
		$0 ~ "^[[:space:]]*" k "[[:space:]]*=" { print k " = " v; done = 1; next }
		{ print }
		END { if (!done) print k " = " v }' "$conf" >"$tmp"
	chmod --reference="$conf" "$tmp"
	mv "$tmp" "$conf"
	assert_eq "$3" "$(kb_conf_get "$1" "$2")" "$2 in $conf after kb_conf_set"
}

# kb_tree_size: tree_size from GET /api/v1/status (leaves $API_BODY alone).
kb_tree_size() {
	local s
	s=$(curl -sS --max-time 30 --cacert "$KB_DIR/ca/root.pem" "$KB_URL/api/v1/status") ||
		fail "GET /api/v1/status: curl failed"
	jq -er '.tree_size' <<<"$s" || fail "GET /api/v1/status: no tree_size in: $(head -c 500 <<<"$s")"
}

# new_key NAME TYPE: OUT/keys/NAME.key and NAME.pub; TYPE is p256, p384,
# p521, secp256k1, rsa1024, rsa2048 or ed25519.
new_key() {
	local k="$OUT/keys/$1.key"
	mkdir -p "$OUT/keys"
	case "$2" in
	p256) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$k" 2>/dev/null ;;
	p384) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$k" 2>/dev/null ;;
	p521) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-521 -out "$k" 2>/dev/null ;;
	secp256k1) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:secp256k1 -out "$k" 2>/dev/null ;;
	rsa1024) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out "$k" 2>/dev/null ;;
	rsa2048) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$k" 2>/dev/null ;;
	ed25519) openssl genpkey -algorithm ed25519 -out "$k" 2>/dev/null ;;
	*) fail "new_key: unknown type $2" ;;
	esac
	openssl pkey -in "$k" -pubout -out "$OUT/keys/$1.pub"
}

# est_csr KEYNAME OUTNAME [OPENSSL REQ ARGS...]: a PKCS#10 for OUT/keys/KEYNAME.key
# as base64 DER in 64-column lines in OUT/csr/OUTNAME.b64 (DER in .der);
# prints the .b64 path.  Without -subj in the args the subject is
# /CN=OUTNAME.
est_csr() {
	local key="$OUT/keys/$1.key" base="$OUT/csr/$2" a subj=1
	shift 2
	mkdir -p "$OUT/csr"
	for a in "$@"; do
		[ "$a" != "-subj" ] || subj=0
	done
	if [ "$subj" = 1 ]; then
		set -- -subj "/CN=$(basename "$base")" "$@"
	fi
	openssl req -new -key "$key" "$@" -outform DER -out "$base.der" ||
		fail "est_csr: openssl req failed for $key"
	base64 -w64 "$base.der" >"$base.b64"
	printf '%s\n' "$base.b64"
}

# est_call METHOD PATH [CURL ARGS...]: like api_call (status printed, body in
# $API_BODY), with the response headers in $EST_HEADERS.
est_call() {
	local method=$1 path=$2 code
	shift 2
	[ -n "$KB_URL" ] || fail "est_call: no bridge (kb_init or kb_start first)"
	code=$(curl -sS -o "$API_BODY" -D "$EST_HEADERS" -w '%{http_code}' --max-time 30 \
	    --cacert "$KB_DIR/ca/root.pem" -X "$method" "$@" "$KB_URL$path") ||
		fail "$method $path: curl failed (HTTP '$code')"
	printf '%s\n' "$code"
}

# est_header NAME: the value of response header NAME of the last est_call
# (case-insensitive name, CR removed; empty when absent).
est_header() {
	tr -d '\r' <"$EST_HEADERS" | awk -v n="$1" '
		BEGIN { n = tolower(n) }
		{ i = index($0, ":"); if (i > 0 && tolower(substr($0, 1, i - 1)) == n) {
			v = substr($0, i + 1); sub(/^[ \t]+/, "", v); print v } }' | tail -n 1
}

# est_p7_certs B64FILE PEMFILE: decodes a base64 certs-only PKCS#7 (lines
# ending in LF or CRLF) into the PEM certificates it holds; prints how many.
est_p7_certs() {
	tr -d '\r' <"$1" | base64 -d >"$1.der" 2>/dev/null || fail "$1 is not base64: $(head -c 300 "$1")"
	openssl pkcs7 -inform DER -in "$1.der" -print_certs -out "$2" ||
		fail "$1 does not decode as a DER PKCS#7: $(head -c 300 "$1")"
	grep -c -- '-----BEGIN CERTIFICATE-----' "$2" || true
}

# est_check_b64_lines FILE WHAT: base64 in lines of at most 64 characters
# (all but the last exactly 64), CRLF or LF.
est_check_b64_lines() {
	local bad
	bad=$(tr -d '\r' <"$1" | awk '
		{ if ($0 !~ /^[A-Za-z0-9+\/=]*$/) { print NR ": not base64: " substr($0, 1, 80); exit }
		  len[NR] = length($0) }
		END { for (i = 1; i < NR; i++) if (len[i] != 64) { print i ": " len[i] " columns"; exit }
		      if (NR == 0 || len[NR] == 0 || len[NR] > 64) print NR ": last line of " len[NR] " columns" }')
	[ -z "$bad" ] || fail "$2: base64 lines of 64 columns expected, line $bad"
}

# est_enroll PATH CSRB64 OUTPEM [CURL ARGS...]: POSTs the CSR to PATH; the
# answer must be 200, application/pkcs7-mime; smime-type=certs-only,
# Content-Transfer-Encoding: base64, base64 in 64-column lines, of a PKCS#7
# holding exactly one certificate, written to OUTPEM.
est_enroll() {
	local path=$1 csr=$2 pem=$3 code ct n
	shift 3
	code=$(est_call POST "$path" -H 'Content-Type: application/pkcs10' \
	    --data-binary "@$csr" "$@")
	[ "$code" = 200 ] || fail "POST $path ($csr): expected HTTP 200, got $code: $(head -c 1000 "$API_BODY")"
	ct=$(est_header Content-Type)
	assert_match "$ct" '^application/pkcs7-mime; *smime-type=certs-only$' "Content-Type of POST $path"
	assert_eq base64 "$(est_header Content-Transfer-Encoding)" "Content-Transfer-Encoding of POST $path"
	cp "$API_BODY" "$pem.b64"
	est_check_b64_lines "$pem.b64" "body of POST $path"
	n=$(est_p7_certs "$pem.b64" "$pem")
	assert_eq 1 "$n" "certificates in the PKCS#7 answered by POST $path"
	log "enrolled at $path: $(openssl x509 -in "$pem" -noout -subject -serial | paste -sd' ')"
}

# kb_enroll NAME: a new P-256 key OUT/keys/NAME.key registered (name NAME,
# device profile) on the running bridge and enrolled over EST into
# OUT/NAME.pem; its key id in KB_KEY_ID (call it directly, not in $(...)).
kb_enroll() {
	local r
	new_key "$1" p256
	r=$(kb_ok key register -d "$KB_DIR" --pubkey "$OUT/keys/$1.pub" --name "$1" --json)
	KB_KEY_ID=$(jq -er .key_id <<<"$r") || fail "key register --json printed no key_id: $r"
	est_enroll /.well-known/est/simpleenroll "$(est_csr "$1" "$1")" "$OUT/$1.pem"
}

# est_refused STATUS METHOD PATH [CURL ARGS...]: the request must be refused
# with HTTP STATUS, a text/plain body of one non-empty line, and nothing
# appended to the ledger (tree_size unchanged).
est_refused() {
	local want=$1 method=$2 path=$3 before after code ct lines
	shift 3
	before=$(kb_tree_size)
	code=$(est_call "$method" "$path" "$@")
	if [ "$code" != "$want" ]; then
		fail "$method $path: expected HTTP $want, got HTTP $code: $(head -c 1000 "$API_BODY")"
	fi
	ct=$(est_header Content-Type)
	assert_match "$ct" '^text/plain' "Content-Type of the HTTP $want refusal of $method $path"
	lines=$(grep -c . "$API_BODY" || true)
	assert_eq 1 "$lines" "non-empty lines in the HTTP $want refusal of $method $path (body: $(head -c 500 "$API_BODY"))"
	after=$(kb_tree_size)
	assert_eq "$before" "$after" "tree_size after the HTTP $want refusal of $method $path"
	log "HTTP $code as expected: $method $path: $(head -n 1 "$API_BODY")"
}

# cert_serial_hex PEM: the serial as the ledger writes it (lowercase hex,
# no leading zeros).
cert_serial_hex() {
	local s
	s=$(openssl x509 -in "$1" -noout -serial) || fail "cert_serial_hex: $1 is not a certificate"
	s=${s#serial=}
	s=$(tr 'A-F' 'a-f' <<<"$s" | sed 's/^0*//')
	printf '%s\n' "${s:-0}"
}

# cert_sha256 PEM: hex SHA-256 of the certificate's DER.
cert_sha256() {
	openssl x509 -in "$1" -outform DER | sha256sum | cut -d' ' -f1
}

# cert_tbs_b64 PEM: base64 of the certificate's DER TBSCertificate exactly
# as encoded: what its cert-issued entry records ("tbs"), the CA having
# signed it only once that entry was committed.
cert_tbs_b64() {
	openssl x509 -in "$1" -outform DER | python3 -c '
import base64, sys
d = sys.stdin.buffer.read()
def tlv(b, i):  # (header length, content length) of the DER element at i
    n = b[i + 1]
    if n < 0x80:
        return 2, n
    k = n & 0x7f
    return 2 + k, int.from_bytes(b[i + 2:i + 2 + k], "big")
h, _ = tlv(d, 0)
th, tl = tlv(d, h)
print(base64.b64encode(d[h:h + th + tl]).decode())'
}

# kb_wait_kept PEM: waits (5 s at most) until the bridge keeps PEM beside
# the ledger: the answer of an enrollment leaves as soon as the CA signed
# the committed TBS, and the signed certificate is kept in the writer's
# next transaction; then GET /api/v1/certs/SERIAL has its cert_sha256.
kb_wait_kept() {
	local serial sha got i
	serial=$(cert_serial_hex "$1")
	sha=$(cert_sha256 "$1")
	for ((i = 0; i < 100; i++)); do
		got=$(curl -sS --max-time 10 --cacert "$KB_DIR/ca/root.pem" \
		    "$KB_URL/api/v1/certs/$serial" | jq -r .cert_sha256) || got=""
		[ "$got" != "$sha" ] || return 0
		sleep 0.05
	done
	fail "the bridge did not keep $1 (serial $serial) within 5 s: cert_sha256 '$got'"
}

# cert_key_id PEM: hex SHA-256 of the certificate's SubjectPublicKeyInfo DER.
cert_key_id() {
	openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1
}

# kb_entries_from FROM OUTFILE: every ledger entry from index FROM to the
# end, as one JSON array of the API's entry objects, paged through
# GET /api/v1/ledger/entries.
kb_entries_from() {
	local from=$1 out=$2 page="$OUT/entries_page.json" size n
	size=$(kb_tree_size)
	echo '[]' >"$out"
	while [ "$from" -lt "$size" ]; do
		curl -sS --max-time 30 --cacert "$KB_DIR/ca/root.pem" -o "$page" \
		    "$KB_URL/api/v1/ledger/entries?from=$from&limit=100" ||
			fail "GET /api/v1/ledger/entries?from=$from: curl failed"
		n=$(jq -er '.entries | length' "$page") ||
			fail "GET /api/v1/ledger/entries?from=$from: $(head -c 500 "$page")"
		[ "$n" -gt 0 ] || break
		jq -s '.[0] + .[1].entries' "$out" "$page" >"$out.tmp"
		mv "$out.tmp" "$out"
		from=$((from + n))
	done
}

# kb_entries_with FILE TYPE LINE...: indexes (one per line) of the entries in
# FILE (from kb_entries_from) of TYPE whose text has every LINE as a whole line.
kb_entries_with() {
	local file=$1 type=$2
	shift 2
	jq -r --arg t "$type" '
		$ARGS.positional as $want
		| .[] | select(.type == $t)
		| select((.entry | split("\n")) as $l | all($want[]; . as $w | any($l[]; . == $w)))
		| .index' --args "$@" <"$file"
}

# ---- PostgreSQL and nginx: srvlib.sh -------------------------------------------

# shellcheck source=tests/integration/srvlib.sh
. "$KB_LIB_DIR/srvlib.sh"

# ---- helper processes ------------------------------------------------------------

# wait_port PORT PID WHAT: until 127.0.0.1:PORT accepts (10 s), PID alive.
wait_port() {
	local deadline=$((SECONDS + 10))
	until python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$1" 2>/dev/null; do
		kill -0 "$2" 2>/dev/null || fail "$3 (pid $2) exited before listening on 127.0.0.1:$1"
		[ "$SECONDS" -lt "$deadline" ] || fail "$3 (pid $2) does not listen on 127.0.0.1:$1 after 10 s"
		sleep 0.1
	done
}

# stop_pid PID [WHAT]: SIGTERM, wait (10 s, then SIGKILL), untrack.
stop_pid() {
	kill -TERM "$1" 2>/dev/null || true
	kb_wait_gone "$1" 10 || kill -KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	kb_untrack "$1"
	[ -z "${2:-}" ] || log "stopped $2 (pid $1)"
}
