#!/bin/sh
# examples/device/fetch.sh: a device's loop step for one configuration
# file (README.md "A device's loop"), POSIX sh with curl and kbverify.
#
#   fetch.sh URL DEST POLICY GROUP STATE
#
# Downloads URL and URL.tlog-proof (its proof bundle, as `keybridge config
# bundle` writes it beside the file) from any web server, checks them
# offline with kbverify against POLICY (the fleet's `keybridge policy`,
# installed with the firmware) and the device's STATE file, and installs
# the file as DEST (renamed into place: a power cut leaves the old or the
# new file) only when kbverify says it is GROUP's current publication.
# The server is not trusted: TLS to it is optional, the proof is what
# counts.  KBVERIFY names the verifier (default: kbverify on PATH).
#
# Prints kbverify's line and exits with its status: 0 installed, 2 a
# genuine but superseded version (DEST kept: fetch again later), 1 refused
# or not downloaded (DEST kept).
set -eu

[ $# -eq 5 ] || { echo "usage: fetch.sh URL DEST POLICY GROUP STATE" >&2; exit 1; }
URL=$1 DEST=$2 POLICY=$3 GROUP=$4 STATE=$5
KBVERIFY=${KBVERIFY:-kbverify}
MAX_BYTES=$((256 * 1024 * 1024))	# a firmware image at most
MAX_BUNDLE=$((1024 * 1024))

TMP=$(mktemp -d "$(dirname "$DEST")/.fetch.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
trap 'exit 1' HUP INT TERM

curl -sS -f --max-time 300 --max-filesize "$MAX_BYTES" -o "$TMP/file" "$URL" 2>"$TMP/err" ||
	{ echo "fetch.sh: $URL: $(cat "$TMP/err")" >&2; exit 1; }
curl -sS -f --max-time 60 --max-filesize "$MAX_BUNDLE" -o "$TMP/bundle" "$URL.tlog-proof" 2>"$TMP/err" ||
	{ echo "fetch.sh: $URL.tlog-proof: $(cat "$TMP/err")" >&2; exit 1; }
rc=0
"$KBVERIFY" --policy "$POLICY" --bundle "$TMP/bundle" --file "$TMP/file" \
    --group "$GROUP" --state "$STATE" || rc=$?
if [ "$rc" = 0 ]; then
	chmod 644 "$TMP/file"
	mv -f "$TMP/file" "$DEST"
fi
exit "$rc"
