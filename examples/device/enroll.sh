#!/bin/sh
# examples/device/enroll.sh: a device's EST client (RFC 7030) for keybridge,
# with curl and openssl only (POSIX sh: busybox will do).
#
#   enroll.sh [-k] [-f] [-s URL] [-r ROOT] [-d DIR] [-n NAME] [-l LABEL]
#             [-u CREDFILE] [-w DAYS]
#
# Each run does what the device needs next, and nothing when it needs
# nothing, so a timer can run it as often as it likes
# (keybridge-enroll.timer):
#
#   1. no key yet: makes an EC P-256 key, DIR/key.pem (0600), and its public
#      key DIR/key.pub, which the operator registers on the ledger
#      (`keybridge key register --pubkey key.pub --name NAME
#      [--config-group G]...`).  With -k it stops there.
#   2. no certificate (or an expired one, or one for another key):
#      POST /.well-known/est/[LABEL/]simpleenroll with a CSR of the key,
#      authorised by that registration (and HTTP Basic when the bridge asks
#      for it on the label: est_device_basic_auth, -u CREDFILE);
#   3. a certificate that expires within DAYS days (-w, default 30), or -f:
#      POST /.well-known/est/[LABEL/]simplereenroll over mutual TLS with the
#      current certificate and key (RFC 7030 4.2.2; the ledger supersedes
#      the old certificate in the same entry);
#   4. otherwise: prints until when the certificate is valid.
#
# The server is verified against ROOT (installed out of band, like the
# policy kbverify uses); the issuing CA comes from /cacerts over that
# verified TLS, and every new certificate must verify against ROOT
# through it, and be for the device's key, before it replaces the old one.
# Every file is written to a temporary name in DIR and renamed: a power
# cut leaves the old file or the new one, never half of one.
#
# Settings: options, or the environment (what keybridge-enroll.service
# reads from /etc/keybridge/enroll.env):
#   -s KB_EST_URL     https://bridge.example:8443 (no default)
#   -r KB_ROOT_CA     the root CA file (no default)
#   -d KB_DEVICE_DIR  key, certificate and chain (/var/lib/keybridge-device)
#   -n KB_NAME        the CSR's CN (the registration's name is what the
#                     certificate says; default: hostname)
#   -l KB_LABEL       the EST label, a profile: device (default) or ""
#   -u KB_BASIC_FILE  a file holding "user:password" for HTTP Basic
#   -w KB_RENEW_DAYS  the renewal window in days (30)
#   -f                renew now (simplereenroll), whatever the window
#   -k                make the key only
#
# Exit status: 0 enrolled, renewed or nothing to do; 1 refused or failed
# (one line on stderr, with the bridge's reason: `key_not_found: ...`
# until the key is registered); 2 usage.
set -eu

EST_URL=${KB_EST_URL:-}
ROOT=${KB_ROOT_CA:-}
DIR=${KB_DEVICE_DIR:-/var/lib/keybridge-device}
NAME=${KB_NAME:-$(hostname)}
LABEL=${KB_LABEL-device}
BASIC_FILE=${KB_BASIC_FILE:-}
RENEW_DAYS=${KB_RENEW_DAYS:-30}
FORCE=0
KEY_ONLY=0
CURL_MAX_TIME=60

say() { printf 'enroll.sh: %s\n' "$*"; }
die() { printf 'enroll.sh: %s\n' "$*" >&2; exit 1; }
usage() { printf 'enroll.sh: %s\n(see the comment at the top of %s)\n' "$*" "$0" >&2; exit 2; }

while getopts "kfs:r:d:n:l:u:w:" opt; do
	case $opt in
	k) KEY_ONLY=1 ;;
	f) FORCE=1 ;;
	s) EST_URL=$OPTARG ;;
	r) ROOT=$OPTARG ;;
	d) DIR=$OPTARG ;;
	n) NAME=$OPTARG ;;
	l) LABEL=$OPTARG ;;
	u) BASIC_FILE=$OPTARG ;;
	w) RENEW_DAYS=$OPTARG ;;
	*) usage "unknown option" ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || usage "unexpected argument $1"
case $RENEW_DAYS in
''|*[!0-9]*) usage "-w must be a number of days" ;;
esac
case $LABEL in
''|device|server|admin) ;;
*) usage "-l must be device, server, admin or empty" ;;
esac
case $NAME in
''|*[!A-Za-z0-9._@-]*) usage "-n must be 1 to 64 of A-Z a-z 0-9 . _ @ -" ;;
esac

umask 077
mkdir -p "$DIR"
TMP=$(mktemp -d "$DIR/.enroll.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
trap 'exit 1' HUP INT TERM

# install SRC DST MODE: SRC becomes DST at once (same file system).
install_file() {
	chmod "$3" "$1"
	mv -f "$1" "$2"
}

# ---- 1. the key ---------------------------------------------------------
if [ ! -s "$DIR/key.pem" ]; then
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	    -out "$TMP/key.pem" 2>"$TMP/err" || die "cannot make a key: $(cat "$TMP/err")"
	install_file "$TMP/key.pem" "$DIR/key.pem" 600
	say "made a P-256 key in $DIR/key.pem"
fi
openssl pkey -in "$DIR/key.pem" -pubout -out "$TMP/key.pub" 2>"$TMP/err" ||
	die "$DIR/key.pem is not a private key: $(cat "$TMP/err")"
cmp -s "$TMP/key.pub" "$DIR/key.pub" 2>/dev/null || install_file "$TMP/key.pub" "$DIR/key.pub" 644
if [ "$KEY_ONLY" = 1 ]; then
	say "the public key to register: $DIR/key.pub"
	exit 0
fi
[ -n "$EST_URL" ] || usage "no EST URL (-s or KB_EST_URL)"
[ -r "$ROOT" ] || usage "no readable root CA (-r or KB_ROOT_CA)"
EST="${EST_URL%/}/.well-known/est${LABEL:+/$LABEL}"

# est PATH OUT [CURL ARGS...]: a request to the EST server verified
# against ROOT (HTTP Basic from BASIC_FILE, given to curl on its standard
# input so that no command line shows it); the body in OUT, the status
# printed.
est() {
	_path=$1 _out=$2
	shift 2
	if [ -n "$BASIC_FILE" ]; then
		[ -r "$BASIC_FILE" ] || die "cannot read $BASIC_FILE"
		_cred=$(head -n 1 "$BASIC_FILE")
		case $_cred in
		*:*) ;;
		*) die "$BASIC_FILE must hold user:password" ;;
		esac
		case $_cred in
		*'"'*|*\\*) die "$BASIC_FILE: quotes and backslashes are not supported" ;;
		esac
		printf 'user = "%s"\n' "$_cred" |
		    curl -sS -K - --max-time "$CURL_MAX_TIME" --cacert "$ROOT" \
		    -o "$_out" -w '%{http_code}' "$@" "$EST/$_path" 2>"$TMP/curl.err" ||
			die "$EST/$_path: $(cat "$TMP/curl.err")"
	else
		curl -sS --max-time "$CURL_MAX_TIME" --cacert "$ROOT" \
		    -o "$_out" -w '%{http_code}' "$@" "$EST/$_path" 2>"$TMP/curl.err" </dev/null ||
			die "$EST/$_path: $(cat "$TMP/curl.err")"
	fi
}

# certs_of B64 PEM: the certificates of a base64 certs-only PKCS#7.
certs_of() {
	tr -d '\r\n' <"$1" | openssl base64 -d -A >"$1.der" 2>/dev/null &&
	    [ -s "$1.der" ] &&
	    openssl pkcs7 -inform DER -in "$1.der" -print_certs -out "$2" 2>/dev/null
}

# ---- the issuing CA, over TLS verified against ROOT ------------------------
code=$(est cacerts "$TMP/cacerts.b64")
[ "$code" = 200 ] || die "cacerts: HTTP $code: $(head -c 300 "$TMP/cacerts.b64")"
certs_of "$TMP/cacerts.b64" "$TMP/chain.pem" || die "cacerts: not a PKCS#7 of certificates"
cmp -s "$TMP/chain.pem" "$DIR/chain.pem" 2>/dev/null || install_file "$TMP/chain.pem" "$DIR/chain.pem" 644

# ---- what to do -----------------------------------------------------------
op=simpleenroll
if [ -s "$DIR/cert.pem" ]; then
	openssl x509 -in "$DIR/cert.pem" -noout -pubkey >"$TMP/cert.pub" 2>/dev/null || :
	if ! cmp -s "$TMP/cert.pub" "$DIR/key.pub"; then
		say "$DIR/cert.pem is not for $DIR/key.pem: enrolling again"
	elif ! openssl x509 -in "$DIR/cert.pem" -noout -checkend 0 >/dev/null; then
		say "$DIR/cert.pem has expired: enrolling again"
	elif [ "$FORCE" = 0 ] && openssl x509 -in "$DIR/cert.pem" -noout \
	    -checkend $((RENEW_DAYS * 86400)) >/dev/null; then
		say "valid until $(openssl x509 -in "$DIR/cert.pem" -noout -enddate | cut -d= -f2); renews within $RENEW_DAYS days of it"
		exit 0
	else
		op=simplereenroll
	fi
fi

# ---- the request -------------------------------------------------------------
openssl req -new -key "$DIR/key.pem" -subj "/CN=$NAME" -outform DER \
    -out "$TMP/csr.der" 2>"$TMP/err" || die "cannot make the CSR: $(cat "$TMP/err")"
openssl base64 -in "$TMP/csr.der" -out "$TMP/csr.b64"
if [ "$op" = simplereenroll ]; then
	set -- --cert "$DIR/cert.pem" --key "$DIR/key.pem"
else
	set --
fi
code=$(est "$op" "$TMP/answer.b64" "$@" -H 'Content-Type: application/pkcs10' \
    --data-binary "@$TMP/csr.b64")
[ "$code" = 200 ] || die "$op refused (HTTP $code): $(head -c 500 "$TMP/answer.b64" | tr '\n' ' ')"
certs_of "$TMP/answer.b64" "$TMP/cert.pem" || die "$op: the answer is not a PKCS#7 of certificates"

# ---- check it before it replaces anything -------------------------------------
openssl verify -CAfile "$ROOT" -untrusted "$DIR/chain.pem" "$TMP/cert.pem" >"$TMP/err" 2>&1 ||
	die "$op: the certificate does not verify against $ROOT: $(cat "$TMP/err")"
openssl x509 -in "$TMP/cert.pem" -noout -pubkey >"$TMP/new.pub"
cmp -s "$TMP/new.pub" "$DIR/key.pub" || die "$op: the certificate is not for $DIR/key.pem"
install_file "$TMP/cert.pem" "$DIR/cert.pem" 644
say "$op: $(openssl x509 -in "$DIR/cert.pem" -noout -serial), valid until $(openssl x509 -in "$DIR/cert.pem" -noout -enddate | cut -d= -f2)"
