#!/usr/bin/env bash
# tests/bench/api.sh: JSON API answers per second with a big ledger, beside
# nginx serving a static JSON file of the same size over the same TLS, in
# the same run (these machines are shared: the ratio is the figure):
#
#   1. a bridge whose ledger holds N device keys and N certificates
#      (BENCH_API_CERTS, default 100,000; bench_fill writes them through the
#      group-commit writer, 2N signed entries);
#   2. GET /api/v1/status, and GET /api/v1/certs/SERIAL going round every
#      serial of the fill in a random order (a wrk script; so every answer
#      is a lookup somewhere in the database, not the same row again),
#      wrk -t2 -c64 --latency over keep-alive HTTPS,
#      ROUNDS alternating 5-second rounds of bridge and nginx, the round
#      with the median ratio reported;
#      (request logging off on both sides: --log-level warn, access_log
#      off);
#   3. nginx: one worker (like the bridge's one event loop), the bridge's
#      own TLS certificate and key, serving the bridge's answer saved to a
#      file (so the same number of bytes) at the same paths.
# Every round also reports the CPU time each server spent per answer
# (from /proc: steadier than the rates when other work shares the cores).
# Every answer must be 200 (wrk's non-2xx and socket errors fail it).
# Env: BENCH_API_CERTS (100000), BENCH_API_SECONDS (5), BENCH_API_ROUNDS (5).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
: "${OUT:=$root/tests/out/bench/api}"
: "${KEYBRIDGE:=$root/build/keybridge}"
: "${BENCH:=$root/build/bench}"
mkdir -p "$OUT"
# shellcheck source=../integration/lib.sh
. "$root/tests/integration/lib.sh"
# shellcheck source=common.bash
. "$root/tests/bench/common.bash"

ncerts=${BENCH_API_CERTS:-100000}
secs=${BENCH_API_SECONDS:-5}
rounds=${BENCH_API_ROUNDS:-5}
dir="$OUT/bridge"
rm -rf "$dir"

echo "setup: $ncerts device keys and certificates on the ledger (bench_fill)"
kb_init "$dir" >/dev/null
bench_loopback_conns "$dir"
s=$(date +%s)
"$BENCH/bench_fill" "$dir" "$ncerts" certs >"$OUT/fill.txt" 2>&1 ||
	fail "bench_fill: $(tail -n 5 "$OUT/fill.txt")"
echo "  $(tail -n 1 "$OUT/fill.txt") in $(($(date +%s) - s)) s"
# Per-request log lines off, as nginx runs with access_log off.
kb_start "$dir" --log-level warn >/dev/null
BASE=$KB_URL
# The bridge pre-signs an OCSP answer per certificate and CertID hash on
# its signing thread after start; measure the API once that is done, not
# beside it (how long it took is a figure of its own).
s=$(date +%s)
deadline=$((SECONDS + 600))
while :; do
	m=$(curl -sS --max-time 10 "$KB_HTTP_URL/metrics") || fail "GET /metrics: no answer"
	cached=$(awk '$1 == "keybridge_ocsp_responses_cached" { print $2 }' <<<"$m")
	pending=$(awk '$1 == "keybridge_ocsp_resign_pending" { print $2 }' <<<"$m")
	[ "${cached:-0}" -lt $((2 * ncerts)) ] || [ "${pending:-1}" -ne 0 ] || break
	[ "$SECONDS" -lt "$deadline" ] || fail "OCSP pre-signing not done after 600 s ($cached cached, $pending pending)"
	sleep 1
done
echo "  OCSP answers pre-signed for every certificate (SHA-1 and SHA-256 CertIDs): $cached in $(($(date +%s) - s)) s after start"
serial=$(sed -n "$((ncerts / 2 + 1))p" "$dir/fill-serials.txt")
[ -n "$serial" ] || fail "no serial in $dir/fill-serials.txt"

# fetch PATH FILE: the bridge's answer, 200 and JSON.
fetch() {
	local code
	code=$(curl -sS --cacert "$dir/ca/root.pem" -o "$2" -w '%{http_code}' --max-time 30 "$BASE$1") ||
		fail "GET $1: no answer"
	assert_eq 200 "$code" "GET $1"
	python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$2" || fail "GET $1: not JSON"
}
fetch /api/v1/status "$OUT/status.json"
python3 - "$OUT/status.json" "$ncerts" <<'PY' || fail "status does not count the filled certificates"
import json, sys
s = json.load(open(sys.argv[1]))
n = int(sys.argv[2])
flat = json.dumps(s)
good = s.get("certificates", {}).get("good")
keys = s.get("keys", {}).get("active")
if good != n or keys != n:
    sys.exit("certs.good=%r keys.active=%r, want %d: %s" % (good, keys, n, flat[:400]))
PY
fetch "/api/v1/certs/$serial" "$OUT/cert.json"
grep -q '"status": *"good"' "$OUT/cert.json" || fail "certs/$serial is not good: $(head -c 300 "$OUT/cert.json")"
echo "  status: $(wc -c <"$OUT/status.json") bytes; certs/SERIAL: $(wc -c <"$OUT/cert.json") bytes"

# ---- nginx: the same bytes, the same TLS ---------------------------------------------
nport=$(kb_free_ports 1)
KB_USED_PORTS="$KB_USED_PORTS $nport"
NGX="$OUT/nginx"
mkdir -p "$NGX/www"
cp "$OUT/status.json" "$NGX/www/status"
cp "$OUT/cert.json" "$NGX/www/cert"
nginx_start "$NGX" "        listen 127.0.0.1:$nport ssl;
        ssl_certificate $(kb_conf_path "$dir" tls_cert);
        ssl_certificate_key $(kb_conf_path "$dir" tls_key);
        default_type application/json;
        location = /api/v1/status { try_files /status =404; }
        location /api/v1/certs/ { try_files /cert =404; }"
wait_url "https://127.0.0.1:$nport/api/v1/status" "$NGX_PID" nginx
NBASE="https://127.0.0.1:$nport"
curl -sS --cacert "$dir/ca/root.pem" --resolve "127.0.0.1:$nport:127.0.0.1" -o "$OUT/status-nginx.json" "$NBASE/api/v1/status" ||
	fail "nginx over TLS: no answer"
cmp -s "$OUT/status.json" "$OUT/status-nginx.json" || fail "nginx does not serve the same bytes"

: >"$OUT/result.txt"
# every serial, in a random order
shuf --random-source=<(yes) "$dir/fill-serials.txt" >"$OUT/serials.txt"
cat >"$OUT/certs.lua" <<LUA
local paths = {}
for line in io.lines("$OUT/serials.txt") do
	paths[#paths + 1] = "/api/v1/certs/" .. line
end
local i = 0
request = function()
	i = i % #paths + 1
	return wrk.format("GET", paths[i])
end
LUA
for what in status cert; do
	if [ "$what" = status ]; then
		path=/api/v1/status
		WRK_SCRIPT=""
		desc=$path
	else
		path=/api/v1/certs/
		WRK_SCRIPT="$OUT/certs.lua"
		desc="/api/v1/certs/SERIAL ($(wc -l <"$OUT/serials.txt") serials in turn)"
	fi
	echo "load: $rounds rounds of wrk -t2 -c64 -d${secs}s --latency GET $desc (keep-alive HTTPS), bridge then nginx"
	CPU_PIDS="$KB_SERVE_PID $(pgrep -P "$NGX_PID" | head -n 1)" \
	    wrk_rounds "$what" "$rounds" "$secs" "$BASE$path" "$NBASE$path"
	awk -v w="$desc" -v n="$ncerts" -v r="$MED_RATIO" -v b="$MED_B" -v b50="$MED_B50" -v b99="$MED_B99" \
	    -v nr="$MED_N" -v n99="$MED_N99" -v bc="$MED_BCPU" -v nc="$MED_NCPU" 'BEGIN {
		printf "RESULT api GET %s with %d certificates: %.0f answers/s (p50 %.2f ms, p99 %.2f ms, wrk 64 keep-alive HTTPS connections) = %.2f x nginx serving the same bytes over the same TLS (%.0f/s, p99 %.2f ms); CPU per answer (medians) bridge %.1f us, nginx %.1f us = %.2f; target >= 0.5, p99 < 10 ms\n", w, n, b, b50, b99, r, nr, n99, bc, nc, nc / bc
	}' | tee -a "$OUT/result.txt"
	bench_csv "${what}_rate" "$MED_B" answers/s nginx_rate "$MED_N" "$ncerts"
	bench_csv "${what}_p50" "$MED_B50" ms nginx_p50 "$MED_N50" "$ncerts"
	bench_csv "${what}_p99" "$MED_B99" ms nginx_p99 "$MED_N99" "$ncerts"
	bench_csv "${what}_cpu_per_answer" "$MED_BCPU" us nginx_cpu_per_answer "$MED_NCPU" "$ncerts"
done
bench_csv rss_serve_after_load "$(rss_mib "$KB_SERVE_PID")" MiB "" "" "$ncerts"
stop_pid "$NGX_PID"
kb_stop
