#!/usr/bin/env bash
# Hostile framing and payloads on both listeners (issue 16): conflicting
# and repeated Content-Length, every Transfer-Encoding but one chunked,
# whitespace before a colon, obs-fold, controls, bare LF, Host, Expect,
# declared bodies over a route's limit (413 before the body, no 100),
# methods, versions, targets, paths that are not UTF-8 or are long,
# CL.TE / TE.CL / TE.TE smuggling and pipelines of good and bad requests.
# hostile_framing.py asserts each case's exact statuses and the close,
# and a health probe of both listeners after each group; then the refusals
# must be counted in /metrics and logged.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DIR="$OUT/data"
kb_init "$DIR"
kb_start "$DIR"

# descriptors of the bridge: the front check holds each connection's
# bufferevent until evhttp is done with it, then must let it go
fds() { find "/proc/$KB_SERVE_PID/fd" -mindepth 1 -maxdepth 1 | wc -l; }
fd0=$(fds)

log "hostile framing cases on https:$KB_EST_PORT and http:$KB_HTTP_PORT"
rc=0
PYTHONPATH="$KB_LIB_DIR" python3 "$KB_LIB_DIR/hostile_framing.py" \
    "$KB_EST_PORT" "$KB_HTTP_PORT" "$DIR/ca/root.pem" >"$OUT/cases.log" 2>&1 || rc=$?
cat "$OUT/cases.log"
[ "$rc" -eq 0 ] || fail "hostile framing cases failed (see above)"
n=$(grep -c '^\(https\|http\) ' "$OUT/cases.log" || true)
[ "$n" -ge 120 ] || fail "only $n cases ran, want at least 120"

deadline=$((SECONDS + 5))
until [ "$(fds)" -le $((fd0 + 2)) ]; do
	[ "$SECONDS" -lt "$deadline" ] ||
		fail "the bridge holds $(fds) descriptors 5 s after the cases, $fd0 before"
	sleep 0.1
done
log "descriptors: $fd0 before the cases, $(fds) after"

# Every refusal counted by listener and reason, and logged once.
curl -sS --max-time 10 "$KB_HTTP_URL/metrics" >"$OUT/metrics.txt"
for l in https http; do
	for reason in bare_lf content_length cl_and_te transfer_encoding \
	    header_name obs_fold control_char host expect body_too_large \
	    head_too_large uri_too_long method version request_line target \
	    chunked_body; do
		v=$(sed -n "s/^keybridge_http_refused_total{listener=\"$l\",reason=\"$reason\"} //p" "$OUT/metrics.txt")
		[ -n "$v" ] && [ "$v" -gt 0 ] ||
			fail "keybridge_http_refused_total{listener=\"$l\",reason=\"$reason\"} is \"$v\", want > 0"
	done
done
want=$(grep -c '^http \+bare_lf' "$OUT/cases.log" || true)
got=$(sed -n 's/^keybridge_http_refused_total{listener="http",reason="bare_lf"} //p' "$OUT/metrics.txt")
got_https=$(sed -n 's/^keybridge_http_refused_total{listener="https",reason="bare_lf"} //p' "$OUT/metrics.txt")
assert_eq "$got" "$got_https" "bare_lf refusals counted alike on both listeners"
assert_eq 6 "$got" "bare_lf refusals on the plain listener (4 bare_lf cases, the pipelined one and the one in pieces)"
# The log keeps 10 refusal lines a second per listener, and the cases
# above refuse hundreds: the two logged here run again alone, in a second
# of their own, so their lines are there whatever the timing.
PYTHONPATH="$KB_LIB_DIR" python3 "$KB_LIB_DIR/hostile_framing.py" \
    "$KB_EST_PORT" "$KB_HTTP_PORT" "$DIR/ca/root.pem" \
    bare_lf_in_second_piece,api_body_over_limit_json >"$OUT/logged.log" 2>&1 ||
	{ cat "$OUT/logged.log"; fail "the logged refusal cases failed"; }
grep -q "^4 cases, 0 failed" "$OUT/logged.log" || fail "want the two logged cases on each listener"
grep -q 'https: 127.0.0.1 refused: bare_lf (400,' "$OUT/serve.log" ||
	fail "no log line for a bare_lf refusal on https"
grep -q 'http: 127.0.0.1 refused: body_too_large (413,' "$OUT/serve.log" ||
	fail "no log line for a body_too_large refusal on http"
# never a 5xx other than 501/505 in the request log (an internal error)
if grep -E '" 5(0[02346789]|[1-9][0-9]) ' "$OUT/serve.log"; then
	fail "a 5xx answer in the request log"
fi
kb_stop
kb_check_sanitizers
log "PASS"
