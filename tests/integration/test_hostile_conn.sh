#!/usr/bin/env bash
# Hostile connections at the front door (issue 16): slow heads and bodies,
# idle keep-alive, TLS handshakes never finished, the per-address cap,
# descriptor pressure under a low `ulimit -n`, accept() failing with
# EMFILE, and RSS after five storms of slow connections.  The clients are
# tests/integration/hostile_conn.py: raw sockets (and ssl) from
# 127.0.0.2..., while a probe on 127.0.0.1 measures latency.  Every case
# asserts the close (and when) or the status; a health probe follows each
# group.  Short deadlines (2 s) keep it under a minute.
# The probe's p99, the daemon's CPU and its RSS are measured:
# kb-test: alone
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DL=2				# every deadline of this test, seconds
DIR="$OUT/data"
RES="$OUT/results.jsonl"
HC="$(dirname "$0")/hostile_conn.py"
kb_init "$DIR"
for k in http_header_timeout http_body_timeout http_tls_handshake_timeout \
    http_keepalive_timeout; do
	kb_conf_set "$DIR" "$k" "$DL"
done

# start_limited SOFT HARD: the bridge with RLIMIT_NOFILE SOFT:HARD (prlimit
# execs it: the PID is the bridge's).
start_limited() {
	local real=$KEYBRIDGE
	printf '#!/bin/sh\nexec prlimit --nofile=%s:%s -- %q "$@"\n' "$1" "$2" "$real" >"$OUT/kb-limited"
	chmod +x "$OUT/kb-limited"
	KEYBRIDGE="$OUT/kb-limited"
	kb_start "$DIR"
	KEYBRIDGE=$real
}

# the sanitizer build: its allocator is not glibc's (RSS not asserted)
SAN=()
if nm "$KEYBRIDGE" 2>/dev/null | grep __asan_init >/dev/null; then
	SAN=(--sanitized)
fi

# metric NAME: its value in /metrics
metric() { kb_metric "$1"; }

# at_least NAME MIN: the metric is MIN or more (a case)
at_least() {
	local v
	v=$(metric "$1")
	[ -n "$v" ] && [ "$v" -ge "$2" ] || fail "metrics: $1 is '$v', want at least $2"
	echo "case metric_$3: $1 $v (at least $2)" | tee -a "$OUT/cases.txt"
}

hc() {
	python3 "$HC" "$1" "${SAN[@]}" --pid "$KB_SERVE_PID" --tls-port "$KB_EST_PORT" \
	    --http-port "$KB_HTTP_PORT" --ca "$DIR/ca/root.pem" \
	    --log "$OUT/serve.log" --deadline "$DL" --results "$RES" "${@:2}" |
	    tee -a "$OUT/cases.txt"
}

# 1. soft 256, hard 1024: raised to the hard limit at start
start_limited 256 1024
line=$(grep 'http: at most' "$OUT/serve.log" | tail -n 1)
assert_contains "$line" "at most 960 connections (descriptor limit 1024, 64 kept), 64 per address" "the start's limits line"
assert_eq 1024 "$(awk '/^Max open files/ { print $4 }' "/proc/$KB_SERVE_PID/limits")" "the bridge's soft RLIMIT_NOFILE after start"
echo "case nofile_raised_to_hard: 256 -> 1024, cap 960" | tee -a "$OUT/cases.txt"
hc deadlines; log "phase deadlines done"
hc caps --per-addr 64; log "phase caps done"
at_least 'keybridge_http_connections_closed_total{reason="header_timeout"}' 40 header_timeout
at_least 'keybridge_http_connections_closed_total{reason="tls_handshake_timeout"}' 6 tls_handshake
at_least 'keybridge_http_connections_closed_total{reason="body_min_rate"}' 2 body_min_rate
at_least 'keybridge_http_connections_closed_total{reason="keepalive_timeout"}' 2 keepalive
at_least 'keybridge_http_connections_closed_total{reason="max_conns_per_addr"}' 2 per_addr
assert_eq 960 "$(metric keybridge_http_connections_max)" "keybridge_http_connections_max"
hc storms
kb_stop

# 2. ulimit -n 256 (hard too): cap 192, four addresses of 60 slow ones
start_limited 256 256
assert_contains "$(grep 'http: at most' "$OUT/serve.log" | tail -n 1)" "at most 192 connections (descriptor limit 256, 64 kept)" "the limits line under ulimit -n 256"
hc pressure --cap 192 --nofile 256
at_least 'keybridge_http_connections_closed_total{reason="max_conns"}' 40 max_conns
kb_stop

# 3. no reserve: accept() itself runs out of descriptors
kb_conf_set "$DIR" http_fd_reserve 0
start_limited 256 256
hc emfile --nofile 256
at_least keybridge_http_accept_pauses_total 1 accept_pauses
kb_stop

n=$(grep -c '^case ' "$OUT/cases.txt")
log "summary: $n cases passed"
python3 - "$RES" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    p = r.get("probe") or {}
    b = r.get("reference") or {}
    print("summary %-9s cases %2d%s%s%s%s" % (r["phase"], r["cases"],
          "  probe n %s p50 %s ms p99 %s ms max %s ms errors %s (reference p50 %s p99 %s ms)" % (p["n"], p.get("p50_ms"), p.get("p99_ms"), p.get("max_ms"), p["errors"], b.get("p50_ms"), b.get("p99_ms")) if p else "",
          "  cpu %.0f%%" % (100 * r["cpu"]) if "cpu" in r else "",
          "  log lines %d" % r["log_lines"] if "log_lines" in r else "",
          "  rss kB %s peak %s" % (r["rss_kb"], r["peak_kb"]) if "rss_kb" in r else ""))
PY
