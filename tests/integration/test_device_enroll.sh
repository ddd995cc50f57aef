#!/usr/bin/env bash
# examples/device/enroll.sh against a real bridge (issue 15): run with
# dash (a device's POSIX sh) and HTTP Basic on the device label
# (est_device_basic_auth).  -k makes the key (0600) and key.pub; before
# key.pub is registered the enrollment is refused with the bridge's
# key_not_found and writes no certificate; registered, the first run
# enrolls (simpleenroll) a certificate that `openssl verify` accepts
# against the root with the chain enroll.sh fetched, for the device's key,
# recorded on the ledger; a second run does nothing (outside the renewal
# window: nothing appended); with a window longer than the certificate's
# life it renews over mutual TLS (simplereenroll): a new serial, the old
# one superseded on the ledger; -f renews too.  Wrong Basic credentials
# are a 401 that leaves the certificate in place, and so is a lying EST
# server (nginx) answering a certificate of another CA, or one of the
# bridge's CA for another key.  The systemd units pass
# `systemd-analyze verify` with no warning.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ENROLL="$KB_LIB_DIR/../../examples/device/enroll.sh"
SH=$(command -v dash || command -v sh)
DIR="$OUT/data"
DEV="$OUT/device"
kb_init "$DIR"
kb_conf_set "$DIR" est_device_basic_auth 'estdev:s3cr3t-pw'
kb_start "$DIR"
ROOT="$DIR/ca/root.pem"
printf 'estdev:s3cr3t-pw\n' >"$OUT/basic"
chmod 600 "$OUT/basic"

# enroll WANT_RC ARGS...: runs enroll.sh (settings from the environment,
# as the systemd unit gives them); its output in ENROLL_OUT.
enroll() {
	local want=$1 rc=0
	shift
	ENROLL_OUT=$(KB_EST_URL="$KB_URL" KB_ROOT_CA="$ROOT" KB_DEVICE_DIR="$DEV" \
	    KB_NAME=cam-enroll KB_BASIC_FILE="$OUT/basic" "$SH" "$ENROLL" "$@" 2>&1) || rc=$?
	log "enroll.sh $* -> $rc: $ENROLL_OUT"
	[ "$rc" = "$want" ] || fail "enroll.sh $*: exit $rc, expected $want: $ENROLL_OUT"
}
serial() { cert_serial_hex "$1"; }

# ---- the key, then a refusal until it is registered ------------------------
enroll 0 -k
assert_file_mode "$DEV/key.pem" 600
assert_contains "$ENROLL_OUT" "the public key to register: $DEV/key.pub" "enroll.sh -k"
[ ! -e "$DEV/cert.pem" ] || fail "enroll.sh -k wrote a certificate"
enroll 1
assert_contains "$ENROLL_OUT" "key_not_found" "the refusal of an unregistered key"
[ ! -e "$DEV/cert.pem" ] || fail "a refused enrollment wrote a certificate"

r=$(kb_ok key register -d "$DIR" --pubkey "$DEV/key.pub" --name cam-enroll --config-group cams --json)
KID=$(jq -er .key_id <<<"$r")

# ---- first enrollment -------------------------------------------------------
enroll 0
assert_contains "$ENROLL_OUT" "simpleenroll: serial=" "the first run"
openssl verify -CAfile "$ROOT" -untrusted "$DIR/ca/issuing.pem" "$DEV/cert.pem" >/dev/null ||
	fail "the enrolled certificate does not verify against the root"
openssl verify -CAfile "$ROOT" -untrusted "$DEV/chain.pem" "$DEV/cert.pem" >/dev/null ||
	fail "the enrolled certificate does not verify with the chain enroll.sh fetched"
assert_eq "$(openssl pkey -in "$DEV/key.pem" -pubout)" "$(openssl x509 -in "$DEV/cert.pem" -noout -pubkey)" "the certificate's key"
assert_file_mode "$DEV/key.pem" 600
S1=$(serial "$DEV/cert.pem")
assert_eq "$KID" "$(api GET "/api/v1/certs/$S1" | jq -r .key_id)" "the ledger's record of the certificate"
assert_eq good "$(jq -r .status "$API_BODY")" "status of the first certificate"
for t in "$DEV"/.enroll.*; do
	[ ! -e "$t" ] || fail "enroll.sh left a temporary directory: $t"
done

# ---- nothing to do outside the window ----------------------------------------
T=$(kb_tree_size)
enroll 0
assert_contains "$ENROLL_OUT" "valid until" "a run outside the renewal window"
assert_eq "$T" "$(kb_tree_size)" "entries after a run with nothing to do"
assert_eq "$S1" "$(serial "$DEV/cert.pem")" "the certificate after a run with nothing to do"

# ---- within the window: simplereenroll over mutual TLS ------------------------
enroll 0 -w 400
assert_contains "$ENROLL_OUT" "simplereenroll: serial=" "a run within the renewal window"
S2=$(serial "$DEV/cert.pem")
assert_ne "$S1" "$S2" "serial after the renewal"
openssl verify -CAfile "$ROOT" -untrusted "$DIR/ca/issuing.pem" "$DEV/cert.pem" >/dev/null ||
	fail "the renewed certificate does not verify against the root"
assert_eq superseded "$(api GET "/api/v1/certs/$S1" | jq -r .reason)" "the first certificate after the renewal"
assert_eq good "$(api GET "/api/v1/certs/$S2" | jq -r .status)" "the renewed certificate"
enroll 0 -f
S3=$(serial "$DEV/cert.pem")
assert_ne "$S2" "$S3" "serial after enroll.sh -f"

# ---- wrong credentials: refused, the certificate kept ---------------------------
printf 'estdev:wrong\n' >"$OUT/basic"
enroll 1 -f
assert_contains "$ENROLL_OUT" "HTTP 401" "the refusal with wrong credentials"
assert_eq "$S3" "$(serial "$DEV/cert.pem")" "the certificate after a refusal"

# ---- a lying EST server: nothing it answers replaces the certificate ---------
# nginx with the bridge's TLS certificate (so the root verifies it) answers
# cacerts truly, and a renewal with a certificate of another CA for the
# device's key (/device/) or one of the issuing CA for another key
# (/server/, enroll.sh -l server)
p7() { openssl crl2pkcs7 -nocrl -certfile "$1" -outform DER | base64 -w0; }
openssl req -new -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$OUT/evil-ca.key" -subj /CN=evil-ca -days 2 -out "$OUT/evil-ca.pem" 2>/dev/null
openssl x509 -new -force_pubkey "$DEV/key.pub" -subj /CN=cam-enroll -CA "$OUT/evil-ca.pem" \
    -CAkey "$OUT/evil-ca.key" -days 1 -out "$OUT/evil-leaf.pem" 2>/dev/null ||
	openssl x509 -req -in <(openssl req -new -key "$DEV/key.pem" -subj /CN=cam-enroll) \
	    -CA "$OUT/evil-ca.pem" -CAkey "$OUT/evil-ca.key" -days 1 -out "$OUT/evil-leaf.pem" 2>/dev/null ||
	fail "could not make the other CA's certificate"
new_key other p256
kb_cakey_args "$DIR" ca_issuing_key
openssl x509 -req -in <(openssl req -new -key "$OUT/keys/other.key" -subj /CN=cam-enroll) \
    -CA "$DIR/ca/issuing.pem" "${KB_CAKEY[@]}" -set_serial 0x7e57 -days 1 \
    -extfile <(printf 'extendedKeyUsage=clientAuth\n') -out "$OUT/other-leaf.pem" 2>/dev/null ||
	fail "could not make the certificate for another key"
openssl verify -CAfile "$ROOT" -untrusted "$DIR/ca/issuing.pem" "$OUT/other-leaf.pem" >/dev/null ||
	fail "the other key's certificate should verify (the negative control is the key)"
CACERTS=$(p7 "$DEV/chain.pem")
LPORT=$(kb_free_ports 1)
KB_USED_PORTS="$KB_USED_PORTS $LPORT"
nginx_conf "$OUT/nginx" "
    access_log $OUT/nginx/access.log;
    server {
        listen 127.0.0.1:$LPORT ssl;
        ssl_certificate $DIR/tls/server.pem;
        ssl_certificate_key $DIR/tls/server.key;
        default_type application/pkcs7-mime;
        location ~ ^/.well-known/est/(device|server)/cacerts\$ { return 200 \"$CACERTS\"; }
        location = /.well-known/est/device/simplereenroll { return 200 \"$(p7 "$OUT/evil-leaf.pem")\"; }
        location = /.well-known/est/server/simplereenroll { return 200 \"$(p7 "$OUT/other-leaf.pem")\"; }
    }"
nginx_run "$OUT/nginx" "$LPORT"
printf 'estdev:s3cr3t-pw\n' >"$OUT/basic"
KB_URL_REAL=$KB_URL
KB_URL="https://127.0.0.1:$LPORT"
enroll 1 -f
assert_contains "$ENROLL_OUT" "does not verify against" "a certificate of another CA"
enroll 1 -f -l server
assert_contains "$ENROLL_OUT" "is not for $DEV/key.pem" "a certificate for another key"
KB_URL=$KB_URL_REAL
assert_eq "$S3" "$(serial "$DEV/cert.pem")" "the certificate after the lying server"
stop_pid "$N_PID" nginx

# ---- the systemd units --------------------------------------------------------
command -v systemd-analyze >/dev/null ||
	fail "systemd-analyze is missing: scripts/deps.sh installs it (package systemd)"
R="$OUT/sdroot"
mkdir -p "$R/etc/systemd/system" "$R/usr/local/sbin" "$R/usr/lib/systemd"
cp -a /usr/lib/systemd/system "$R/usr/lib/systemd/"
cp "$ENROLL" "$R/usr/local/sbin/keybridge-enroll"
cp "$KB_LIB_DIR"/../../examples/device/keybridge-enroll.{service,timer} "$R/etc/systemd/system/"
out=$(cd "$R" && systemd-analyze verify --root="$R" keybridge-enroll.service keybridge-enroll.timer 2>&1) ||
	fail "systemd-analyze verify: $out"
assert_eq "" "$out" "systemd-analyze verify's warnings"
log "systemd-analyze verify: the service and the timer are clean"
kb_stop
