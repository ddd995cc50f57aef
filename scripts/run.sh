#!/usr/bin/env bash
# scripts/run.sh BIN: initialises ./data (or $KEYBRIDGE_DATA) when it does not
# exist, prints where the bridge answers and what to try, then serves in the
# foreground (Ctrl-C stops it).
#
# Environment (all optional):
#   KEYBRIDGE_DATA         the data directory (default ./data)
#   KEYBRIDGE_EST_LISTEN   ADDR:PORT of HTTPS (EST, API, dashboard) for the
#                          first run's init (default 127.0.0.1:8443)
#   KEYBRIDGE_HTTP_LISTEN  ADDR:PORT of plain HTTP (OCSP, CRLs, /metrics)
#                          for the first run's init (default 127.0.0.1:8080)
# The listeners are written into keybridge.conf (and the URLs into every
# certificate) by init, so once the data directory exists they are changed
# there, not here: a KEYBRIDGE_*_LISTEN that disagrees with it is refused.
set -euo pipefail

if [ $# -ne 1 ]; then
	echo "usage: $0 /path/to/keybridge" >&2
	exit 2
fi
bin=$1
data=${KEYBRIDGE_DATA:-./data}

est_listen=${KEYBRIDGE_EST_LISTEN:-}
http_listen=${KEYBRIDGE_HTTP_LISTEN:-}

if [ ! -e "$data" ]; then
	echo "run: initialising $data"
	init_args=()
	[ -z "$est_listen" ] || init_args+=(--est-listen "$est_listen")
	[ -z "$http_listen" ] || init_args+=(--http-listen "$http_listen")
	"$bin" init "$data" "${init_args[@]}"
fi
if [ ! -f "$data/keybridge.conf" ]; then
	echo "run: $data exists but has no keybridge.conf; remove it or set KEYBRIDGE_DATA" >&2
	exit 1
fi

# conf_get KEY DEFAULT: a value of keybridge.conf ("key = value" lines).
conf_get() {
	local v
	v=$(sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*\\(.*[^[:space:]]\\)[[:space:]]*\$/\\1/p" \
	    "$data/keybridge.conf" | tail -n1)
	printf '%s\n' "${v:-$2}"
}
https=$(conf_get est_listen 127.0.0.1:8443)
# check_listen VAR KEY URLKEY VALUE: an asked-for listener must be the
# configured one.
check_listen() {
	local have
	have=$(conf_get "$2" "")
	if [ -n "$4" ] && [ "$4" != "$have" ]; then
		echo "run: $1=$4, but $data was initialised with $2 = $have;" \
		    "edit $2 and $3 in $data/keybridge.conf, or choose a new" \
		    "KEYBRIDGE_DATA" >&2
		exit 1
	fi
}
check_listen KEYBRIDGE_EST_LISTEN est_listen public_https_url "$est_listen"
check_listen KEYBRIDGE_HTTP_LISTEN http_listen public_http_url "$http_listen"
api="https://$https/api/v1"
# A wildcard listener is reached on loopback.
case "$https" in 0.0.0.0:*) api="https://127.0.0.1:${https##*:}/api/v1" ;; esac
plain=$(conf_get public_http_url http://127.0.0.1:8080)
est="https://$https/.well-known/est"
case "$https" in 0.0.0.0:*) est="https://127.0.0.1:${https##*:}/.well-known/est" ;; esac

cat <<EOF

keybridge is starting with data directory $data
  dashboard       ${api%/api/v1}/dashboard/ (a browser: trust $data/ca/root.pem or accept the warning)
  API status      $api/status
  checkpoint      $api/ledger/checkpoint
  EST             $est/simpleenroll
  OCSP            $plain/ocsp
  CRL             $plain/crl/<issuer>.crl (the URL is in every issued certificate)

Try, in another terminal (README.md, "First session", explains each step):
  curl --cacert $data/ca/root.pem $api/status
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out device.key
  openssl pkey -in device.key -pubout -out device.pub
  $bin key register -d $data --pubkey device.pub --name cam-001
  openssl req -new -key device.key -subj /CN=cam-001 -outform DER | base64 -w64 > device.csr
  curl --cacert $data/ca/root.pem -H 'Content-Type: application/pkcs10' --data-binary @device.csr \\
       $est/simpleenroll | base64 -d | openssl pkcs7 -inform DER -print_certs > device.pem
  openssl ocsp -issuer $data/ca/issuing.pem -cert device.pem -url $plain/ocsp -CAfile $data/ca/root.pem
  $bin ledger verify -d $data

EOF
exec "$bin" serve -d "$data"
