#!/usr/bin/env bash
# scripts/run.sh BIN: initialises ./data (or $KEYBRIDGE_DATA) when it does not
# exist, prints where the bridge answers and what to try, then serves in the
# foreground (Ctrl-C stops it).
set -euo pipefail

if [ $# -ne 1 ]; then
	echo "usage: $0 /path/to/keybridge" >&2
	exit 2
fi
bin=$1
data=${KEYBRIDGE_DATA:-./data}

if [ ! -e "$data" ]; then
	echo "run: initialising $data"
	"$bin" init "$data"
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
api="https://$https/api/v1"
# A wildcard listener is reached on loopback.
case "$https" in 0.0.0.0:*) api="https://127.0.0.1:${https##*:}/api/v1" ;; esac

cat <<EOF

keybridge is starting with data directory $data
  API status      $api/status
  checkpoint      $api/ledger/checkpoint

Try, in another terminal:
  curl --cacert $data/ca/root.pem $api/status
  curl --cacert $data/ca/root.pem $api/ledger/checkpoint
  openssl genpkey -algorithm ed25519 -out device.key && openssl pkey -in device.key -pubout -out device.pub
  $bin key register -d $data --pubkey device.pub --name cam-001
  $bin key list -d $data
  $bin ledger verify -d $data

EOF
exec "$bin" serve -d "$data"
