#!/usr/bin/env bash
# tests/bench/ocsp.sh: OCSP answers per second from the bridge's plain-HTTP
# listener beside references measured in the same run (these machines are
# shared: the ratio is the figure, not the rate):
#
#   1. the bridge: GET /ocsp/<base64 request> (no nonce: the pre-signed,
#      cached answer), wrk -t2 -c64 --latency, keep-alive, ROUNDS rounds;
#   2. nginx serving the same response bytes as a static file at the same
#      URL (default_type application/ocsp-response), worker_processes 1 like
#      the bridge's one event loop, same wrk run;
#   3. `openssl ocsp -index ... -port` answering the same certificate (it
#      signs every answer, serves one connection at a time and closes it),
#      run in a private network namespace (it binds every interface) and
#      driven by one curl POSTing the same request BENCH_OCSP_SEQ times in a
#      row, a new connection each; the bridge is measured under the same
#      client too.  (wrk is not used there: openssl ocsp hangs on wrk's
#      opening probe connection.)
#
# Then the revocation latency, N times (BENCH_OCSP_REVOKES, default 20): a
# key registered and enrolled beforehand is revoked with `keybridge key
# revoke`; from the command's return, a POST of a pre-built request in a
# tight loop until the answer says revoked, and GETs of the CRL until it
# lists the serial.  Prints p50/p99 (nearest rank) of both.
# Every answer must be HTTP 200 (wrk's non-2xx and socket errors fail the
# benchmark), and the answers are checked with `openssl ocsp -respin`.
# Env: BENCH_OCSP_SECONDS (5 per wrk run), BENCH_OCSP_ROUNDS (5),
# BENCH_OCSP_REVOKES (20), BENCH_OCSP_SEQ (2000).
# BENCH_OCSP_LOOPS=2: instead of all that, the two-loop mode (issue 18, see
# "ocsp_loops" below): a second bridge with ocsp_loops = 2 beside nginx
# with worker_processes 2, and the first one (one loop) beside nginx with
# one worker, in alternating rounds of the same wrk; with CPU per answer.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
: "${OUT:=$root/tests/out/bench/ocsp}"
: "${KEYBRIDGE:=$root/build/keybridge}"
mkdir -p "$OUT"
# shellcheck source=../integration/lib.sh
. "$root/tests/integration/lib.sh"
# shellcheck source=common.bash
. "$root/tests/bench/common.bash"

secs=${BENCH_OCSP_SECONDS:-5}
rounds=${BENCH_OCSP_ROUNDS:-5}
nrev=${BENCH_OCSP_REVOKES:-20}
seq_n=${BENCH_OCSP_SEQ:-2000}
dir="$OUT/ocsp"
rm -rf "$dir"	# a run again starts from an empty data directory
command -v wrk >/dev/null || fail "wrk is not installed (scripts/deps.sh installs it)"
command -v nginx >/dev/null || fail "nginx is not installed (scripts/deps.sh installs it)"
# ---- the bridge and one certificate --------------------------------------------------------
echo "setup: a bridge, one enrolled device certificate"
kb_init "$dir" >/dev/null
bench_loopback_conns "$dir"
kb_start "$dir" >/dev/null
ROOT="$dir/ca/root.pem"
ISSUING="$dir/ca/issuing.pem"
BASE="http://127.0.0.1:$KB_HTTP_PORT"

kb_enroll bench >/dev/null
LEAF="$OUT/bench.pem"
OCSP_URL=$(openssl x509 -in "$LEAF" -noout -ocsp_uri)
assert_eq "$BASE/ocsp" "$OCSP_URL" "OCSP URL of the certificate"
openssl ocsp -issuer "$ISSUING" -cert "$LEAF" -no_nonce -reqout "$OUT/req.der" 2>/dev/null
ENC=$(base64 -w0 "$OUT/req.der" | sed 's/+/%2B/g; s/\//%2F/g; s/=/%3D/g')
PATH_Q="/ocsp/$ENC"

# check_resp FILE WHAT: FILE is a verified OCSP response saying good.
check_resp() {
	local out
	out=$(openssl ocsp -respin "$1" -issuer "$ISSUING" -cert "$LEAF" -no_nonce -CAfile "$ROOT" \
	    -verify_other "$ISSUING" 2>&1) || fail "$2: the OCSP answer does not verify: $out"
	assert_contains "$out" "$LEAF: good" "$2"
}
# A new certificate is pre-signed after its first OCSP request, not at
# its enrollment (docs/design.md "EST18"): one GET first, then the
# pre-signed answer within a moment.
curl -sS -o /dev/null --max-time 10 "$BASE$PATH_Q" || fail "first GET $PATH_Q: no answer"
for _ in $(seq 50); do
	curl -sS -o "$OUT/warm1.der" --max-time 10 "$BASE$PATH_Q" &&
	    curl -sS -o "$OUT/warm2.der" --max-time 10 "$BASE$PATH_Q" &&
	    cmp -s "$OUT/warm1.der" "$OUT/warm2.der" && break
	sleep 0.1
done
code=$(curl -sS -o "$OUT/resp.der" -w '%{http_code}' --max-time 10 "$BASE$PATH_Q") ||
	fail "GET $PATH_Q: no answer"
assert_eq 200 "$code" "GET $PATH_Q"
check_resp "$OUT/resp.der" "the bridge's GET answer"
curl -sS -o "$OUT/resp2.der" --max-time 10 "$BASE$PATH_Q" || fail "second GET $PATH_Q: no answer"
cached=no
cmp -s "$OUT/resp.der" "$OUT/resp2.der" && cached=yes
resp_len=$(wc -c <"$OUT/resp.der")
echo "  GET $BASE/ocsp/<${#ENC} characters>: $resp_len bytes; the same bytes twice (cached): $cached"

# ---- nginx serving the same bytes ------------------------------------------------------------------
ports=$(kb_free_ports 2)
KB_USED_PORTS="$KB_USED_PORTS $ports"
nport=${ports% *}
oport=${ports#* }
NGX="$OUT/nginx"
mkdir -p "$NGX/www"
cp "$OUT/resp.der" "$NGX/www/resp"
nginx_start "$NGX" "        listen 127.0.0.1:$nport;
        default_type application/ocsp-response;
        location /ocsp/ { try_files /resp =404; }"
ngx_pid=$NGX_PID
wait_url "http://127.0.0.1:$nport/ocsp/x" "$ngx_pid" nginx
code=$(curl -sS -o "$OUT/resp-nginx.der" -w '%{http_code}' --max-time 10 "http://127.0.0.1:$nport$PATH_Q") ||
	fail "GET from nginx: no answer"
assert_eq 200 "$code" "GET $PATH_Q from nginx"
cmp -s "$OUT/resp.der" "$OUT/resp-nginx.der" || fail "nginx does not serve the same bytes"

# ---- ocsp_loops: two event loops against two nginx workers (issue 18) -------------------------------
# BENCH_OCSP_LOOPS=2.  Every round runs, with the same wrk (-t2 -c64,
# keep-alive, the same GET), the one-loop bridge, nginx with one worker,
# a second bridge with ocsp_loops = 2, nginx with two workers (each nginx
# serving its bridge's answer bytes), in that order; ROUNDS rounds, the
# medians reported.  On a 2-core machine wrk shares the cores with the
# server, so the rates say little about two cores' worth: the CPU each
# server spent per answer (from /proc: the bridge process's threads, the
# nginx workers) is the steadier figure.
if [ "${BENCH_OCSP_LOOPS:-1}" = 2 ]; then
	echo "ocsp_loops: a second bridge with ocsp_loops = 2, nginx with 2 workers"
	dir2="$OUT/ocsp2"
	KB_SERVE_PID1=$KB_SERVE_PID
	KB_SERVE_PID=""
	kb_init "$dir2" >/dev/null
	kb_conf_set "$dir2" ocsp_loops 2
	kb_conf_set "$dir2" http_max_conns_per_addr 256	# as the first's
	kb_start "$dir2" >/dev/null
	KB_SERVE_PID2=$KB_SERVE_PID
	HTTP2=$(kb_conf_get "$dir2" http_listen)
	kb_enroll bench2 >/dev/null
	openssl ocsp -issuer "$dir2/ca/issuing.pem" -cert "$OUT/bench2.pem" -no_nonce \
	    -reqout "$OUT/req2.der" 2>/dev/null
	PATH_Q2="/ocsp/$(base64 -w0 "$OUT/req2.der" | sed 's/+/%2B/g; s/\//%2F/g; s/=/%3D/g')"
	for _ in 1 2 3; do curl -sS -o "$OUT/resp-2loops.der" --max-time 10 "http://$HTTP2$PATH_Q2"; done
	out=$(openssl ocsp -respin "$OUT/resp-2loops.der" -issuer "$dir2/ca/issuing.pem" \
	    -cert "$OUT/bench2.pem" -CAfile "$dir2/ca/root.pem" 2>&1) ||
		fail "the two-loop bridge's answer does not verify: $out"
	assert_contains "$out" "$OUT/bench2.pem: good" "the two-loop bridge's answer"
	[ "$(ss -Hltn "sport = :${HTTP2##*:}" | wc -l)" = 2 ] ||
		fail "the two-loop bridge does not have two listening sockets"
	ports2=$(kb_free_ports 1)
	KB_USED_PORTS="$KB_USED_PORTS $ports2"
	NGX2="$OUT/nginx2"
	mkdir -p "$NGX2/www"
	cp "$OUT/resp-2loops.der" "$NGX2/www/resp"
	NGX_ERROR_LEVEL=warn nginx_conf "$NGX2" "    access_log off;
    keepalive_requests 1000000;
    types { }
    server {
        root $NGX2/www;
        listen 127.0.0.1:$ports2;
        default_type application/ocsp-response;
        location /ocsp/ { try_files /resp =404; }
    }"
	sed -i 's/^worker_processes 1;/worker_processes 2;/' "$NGX2/nginx.conf"
	nginx -p "$NGX2" -c "$NGX2/nginx.conf" -e "$NGX2/error.log" >"$NGX2/stdout.log" 2>&1 &
	ngx2_pid=$!
	kb_track "$ngx2_pid"
	wait_url "http://127.0.0.1:$ports2/ocsp/x" "$ngx2_pid" nginx
	sleep 0.5
	# ticks PID...: user + system clock ticks of the processes (all their
	# threads) summed
	ticks() { local t=0 p; for p in "$@"; do t=$((t + $(cpu_ticks "$p"))); done; echo "$t"; }
	hz=$(getconf CLK_TCK)
	# one NAME URL PIDS...: a wrk run; prints "rate p99_ms cpu_us_per_answer"
	one() {
		local name=$1 url=$2 t0 r rate p50 p99
		shift 2
		t0=$(ticks "$@")
		r=$(run_wrk "loops-$name" -t2 -c64 -d"${secs}s" --latency "$url") || exit 1
		read -r rate p50 p99 <<<"$r"
		awk -v a="$t0" -v b="$(ticks "$@")" -v hz="$hz" -v r="$rate" -v s="$secs" -v p="$p99" \
		    'BEGIN { printf "%s %s %.1f\n", r, p, (b - a) / hz * 1e6 / (r * s) }'
	}
	n1w=$(pgrep -P "$ngx_pid" | tr '\n' ' ')
	n2w=$(pgrep -P "$ngx2_pid" | tr '\n' ' ')
	[ "$(wc -w <<<"$n2w")" = 2 ] || fail "nginx with worker_processes 2 has workers: $n2w"
	echo "  load: $(uptime)"
	: >"$OUT/rounds-loops.txt"
	for ((k = 1; k <= rounds; k++)); do
		r=$(one b1 "$BASE$PATH_Q" "$KB_SERVE_PID1") || fail "wrk against the one-loop bridge"
		read -r b1 b1p b1c <<<"$r"
		# shellcheck disable=SC2086
		r=$(one n1 "http://127.0.0.1:$nport$PATH_Q" $n1w) || fail "wrk against nginx"
		read -r g1 g1p g1c <<<"$r"
		r=$(one b2 "http://$HTTP2$PATH_Q2" "$KB_SERVE_PID2") || fail "wrk against the two-loop bridge"
		read -r b2 b2p b2c <<<"$r"
		# shellcheck disable=SC2086
		r=$(one n2 "http://127.0.0.1:$ports2$PATH_Q2" $n2w) || fail "wrk against nginx (2 workers)"
		read -r g2 g2p g2c <<<"$r"
		echo "  round $k: 1 loop $b1/s (p99 $b1p ms, $b1c us CPU/answer) vs nginx 1 worker $g1/s ($g1c us): $(awk -v a="$b1" -v b="$g1" 'BEGIN { printf "%.2f", a / b }');" \
		    "2 loops $b2/s (p99 $b2p ms, $b2c us) vs nginx 2 workers $g2/s ($g2c us): $(awk -v a="$b2" -v b="$g2" 'BEGIN { printf "%.2f", a / b }')"
		echo "$b1 $g1 $b2 $g2 $b1c $g1c $b2c $g2c $b1p $g1p $b2p $g2p" >>"$OUT/rounds-loops.txt"
	done
	echo "  load: $(uptime)"
	curl -sS --max-time 10 "http://$HTTP2/metrics" | grep '^keybridge_ocsp_loop_requests_total' |
	    sed 's/^/  two-loop bridge: /'
	stop_pid "$ngx2_pid"
	stop_pid "$ngx_pid"
	KB_SERVE_PID=$KB_SERVE_PID2
	kb_stop >/dev/null
	KB_SERVE_PID=$KB_SERVE_PID1
	kb_stop >/dev/null
	# med COLUMN: the median of a column of rounds-loops.txt
	med() { awk -v c="$1" '{ print $c }' "$OUT/rounds-loops.txt" | sort -g | awk -v m=$(((rounds + 1) / 2)) 'NR == m'; }
	# medrow A B: the round (its line) whose ratio column A / column B is
	# the median one, the ratio first
	medrow() { awk -v a="$1" -v b="$2" '{ printf "%.4f %s\n", $a / $b, $0 }' "$OUT/rounds-loops.txt" |
	    sort -g | awk -v m=$(((rounds + 1) / 2)) 'NR == m'; }
	read -r r1 b1 g1 _ <<<"$(medrow 1 2)"
	read -r r2 _ _ b2 g2 _ <<<"$(medrow 3 4)"
	awk -v b1="$b1" -v g1="$g1" -v b2="$b2" -v g2="$g2" -v r1="$r1" -v r2="$r2" \
	    -v b1c="$(med 5)" -v g1c="$(med 6)" -v b2c="$(med 7)" -v g2c="$(med 8)" \
	    -v s21="$(awk '{ printf "%.4f\n", $3 / $1 }' "$OUT/rounds-loops.txt" | sort -g | awk -v m=$(((rounds + 1) / 2)) 'NR == m')" \
	    -v n="$rounds" '
	BEGIN {
		printf "RESULT ocsp one loop: %.0f answers/s = %.2f x nginx 1 worker (%.0f/s) in the median round of %d; CPU per answer (medians) %.1f us vs nginx %.1f us (bridge/nginx %.2f); target >= 0.85\n", b1, r1, g1, n, b1c, g1c, b1c / g1c
		printf "RESULT ocsp two loops (ocsp_loops = 2): %.0f answers/s = %.2f x nginx 2 workers (%.0f/s) in the median round of %d; CPU per answer (medians) %.1f us vs nginx %.1f us (bridge/nginx %.2f); %.2f x the one-loop bridge (median); target >= 1.0\n", b2, r2, g2, n, b2c, g2c, b2c / g2c, s21
	}' | tee "$OUT/result-loops.txt"
	bench_csv loops1_rate "$b1" answers/s nginx1_rate "$g1"
	bench_csv loops2_rate "$b2" answers/s nginx2_rate "$g2"
	bench_csv loops1_cpu_per_answer "$(med 5)" us nginx1_cpu_per_answer "$(med 6)"
	bench_csv loops2_cpu_per_answer "$(med 7)" us nginx2_cpu_per_answer "$(med 8)"
	exit 0
fi

# ---- openssl ocsp as a responder ---------------------------------------------------------------------
# `openssl ocsp -port` (OpenSSL 3.0) serves one connection at a time, answers
# HTTP/1.0 and closes, and hangs on wrk's opening probe connection (connect,
# close, no request): so it is driven by one curl that POSTs the request
# SEQ times in a row (a new connection each time, "Connection: close", as
# openssl wants), and the bridge is measured with the same client for a
# like-for-like figure.
# -port takes a bare port and binds every interface: to keep every socket on
# loopback it runs, with its client, in a private network namespace
# (`unshare -n`: only its own lo).
serial=$(openssl x509 -in "$LEAF" -noout -serial | cut -d= -f2)
expiry=$(date -u -d "$(openssl x509 -in "$LEAF" -noout -enddate | cut -d= -f2)" +%y%m%d%H%M%SZ)
printf 'V\t%s\t\t%s\tunknown\t/CN=bench\n' "$expiry" "$serial" >"$OUT/index.txt"
# seq_cfg URL: a curl config POSTing req.der to URL SEQ times.
seq_cfg() {
	printf 'header = "Content-Type: application/ocsp-request"\n'
	printf 'header = "Connection: close"\n'
	printf 'data-binary = "@%s"\n' "$OUT/req.der"
	printf 'write-out = "%%{http_code} %%{time_total}\\n"\n'
	for ((i = 0; i < seq_n; i++)); do
		printf 'url = "%s"\noutput = "/dev/null"\n' "$1"
	done
}
# seq_run NAME CFG: runs the curl loop; OUT/seq-NAME.txt has one "code
# seconds" line per request and a last "wall <ns>" line.
seq_run() {
	local s e
	s=$(date +%s%N)
	curl -s --max-time 120 -K "$2" >"$OUT/seq-$1.txt" || true
	e=$(date +%s%N)
	echo "wall $((e - s))" >>"$OUT/seq-$1.txt"
}
# seq_stats NAME: "rate p50_ms p99_ms" of OUT/seq-NAME.txt; fails unless all
# SEQ requests were answered 200.
seq_stats() {
	local f="$OUT/seq-$1.txt" ok
	ok=$(awk '$1 == 200' "$f" | wc -l)
	[ "$ok" -eq "$seq_n" ] ||
		fail "$1: $ok of $seq_n sequential POSTs answered 200: $(grep -v '^200 ' "$f" | sort | uniq -c | head -n 5)"
	awk '$1 == 200 { print $2 * 1000 }' "$f" | sort -n | awk -v n="$seq_n" \
	    -v wall="$(awk '$1 == "wall" { print $2 }' "$f")" '
		{ v[NR] = $1 }
		END { printf "%.0f %.3f %.3f\n", n / (wall / 1e9), v[int((50 * NR + 99) / 100)], v[int((99 * NR + 99) / 100)] }'
}
seq_cfg "http://127.0.0.1:$oport/" >"$OUT/seq-openssl.cfg"
seq_cfg "$OCSP_URL" >"$OUT/seq-bridge.cfg"
# openssl-ns.sh PORT: inside the namespace, openssl ocsp on PORT, one POST
# (its answer in resp-openssl.der), then the curl loop; openssl ocsp is
# stopped however this ends.
cat >"$OUT/openssl-ns.sh" <<'NS'
set -u
ip link set lo up || exit 1
port=$1
openssl ocsp -index "$OUT/index.txt" -CA "$ISSUING" -rsigner "$SIGNER" -rkey "$SIGNER_KEY" \
    -port "$port" -nmin 60 >"$OUT/openssl-ocsp.log" 2>&1 &
ossl=$!
trap 'kill -TERM $ossl 2>/dev/null; wait $ossl; exit 143' TERM INT
n=0
until curl -s -o "$OUT/resp-openssl.der" --max-time 2 -H 'Content-Type: application/ocsp-request' \
    --data-binary "@$OUT/req.der" "http://127.0.0.1:$port/"; do
	n=$((n + 1))
	if ! kill -0 $ossl 2>/dev/null || [ $n -ge 100 ]; then
		echo "openssl ocsp does not answer on 127.0.0.1:$port" >&2
		kill -TERM $ossl 2>/dev/null
		wait $ossl
		exit 1
	fi
	sleep 0.1
done
s=$(date +%s%N)
curl -s --max-time 120 -K "$OUT/seq-openssl.cfg" >"$OUT/seq-openssl.txt" &
wait $!
e=$(date +%s%N)
echo "wall $((e - s))" >>"$OUT/seq-openssl.txt"
kill -TERM $ossl 2>/dev/null
wait $ossl
exit 0
NS
SIGNER=$(kb_conf_path "$dir" ocsp_cert)
SIGNER_KEY=$(kb_conf_path "$dir" ocsp_key)
export ISSUING SIGNER SIGNER_KEY
OSSL_NS=yes
unshare -n true 2>/dev/null || OSSL_NS=no

# ---- load ----------------------------------------------------------------------------------------------
# The machine is shared and noisy: ROUNDS alternating bridge/nginx runs,
# and the round with the median ratio is the one reported.
echo "load: $rounds rounds of wrk -t2 -c64 -d${secs}s --latency GET $PATH_Q (keep-alive), bridge then nginx"
echo "  nginx runs worker_processes 1, like the bridge's one event loop"
wrk_rounds ocsp "$rounds" "$secs" "$BASE$PATH_Q" "http://127.0.0.1:$nport$PATH_Q"
b_rate=$MED_B b_p50=$MED_B50 b_p99=$MED_B99 n_rate=$MED_N n_p50=$MED_N50 n_p99=$MED_N99
stop_pid "$ngx_pid"
echo "load: one curl, $seq_n POSTs of the same request one after the other (openssl ocsp serves one at a time)"
if [ "$OSSL_NS" = yes ]; then
	unshare -n bash "$OUT/openssl-ns.sh" "$oport" 2>"$OUT/openssl-ns.err" &
	ns_pid=$!
	kb_track "$ns_pid"
	rc=0
	wait "$ns_pid" || rc=$?
	kb_untrack "$ns_pid"
	[ "$rc" -eq 0 ] ||
		fail "openssl ocsp in a private network namespace: exit $rc: $(cat "$OUT/openssl-ns.err") $(tail -n 3 "$OUT/openssl-ocsp.log" 2>/dev/null)"
	check_resp "$OUT/resp-openssl.der" "openssl ocsp's answer"
	r=$(seq_stats openssl)
	read -r o_rate o_p50 o_p99 <<<"$r"
	echo "  openssl ocsp: $o_rate req/s, p50 $o_p50 ms, p99 $o_p99 ms"
else
	echo "  openssl ocsp: not measured: unshare -n is not permitted here, and openssl ocsp -port binds every interface"
	o_rate=0 o_p99=0
fi
seq_run bridge "$OUT/seq-bridge.cfg"
r=$(seq_stats bridge)
read -r s_rate s_p50 s_p99 <<<"$r"
echo "  bridge: $s_rate req/s, p50 $s_p50 ms, p99 $s_p99 ms"
# the bridge still answers the same, good
curl -sS -o "$OUT/resp-after.der" --max-time 10 "$BASE$PATH_Q" || fail "GET after the load: no answer"
check_resp "$OUT/resp-after.der" "the bridge's GET answer after the load"

# ---- revocation latency ----------------------------------------------------------------------------------
echo "revocation latency: $nrev keys registered and enrolled, then each revoked in turn"
CRL_URL=$(openssl x509 -in "$LEAF" -noout -ext crlDistributionPoints | grep -o 'URI:[^ ]*' | head -n 1 | cut -c5-)
[ -n "$CRL_URL" ] || fail "no CRL distribution point in the certificate"
declare -a RKID RSER
for ((i = 0; i < nrev; i++)); do
	kb_enroll "rev$i" >/dev/null
	RKID[i]=$KB_KEY_ID
	RSER[i]=$(cert_serial_hex "$OUT/rev$i.pem")
	openssl ocsp -issuer "$ISSUING" -cert "$OUT/rev$i.pem" -no_nonce -reqout "$OUT/rev$i.req" 2>/dev/null
done
# microseconds, without a process per reading
now_us() { local t=$EPOCHREALTIME; echo "${t/./}"; }
# Each poll is one curl; openssl parses an answer only when its bytes differ
# from the last one seen (the good answer, the previous CRL), so the loop
# turns every few milliseconds.
post_rev() {
	curl -sS -o "$2" --max-time 5 -H 'Content-Type: application/ocsp-request' \
	    --data-binary "@$OUT/rev$1.req" "$OCSP_URL" || fail "POST $OCSP_URL: no answer"
}
get_crl() {
	curl -sS -o "$1" --max-time 5 "$CRL_URL" || fail "GET $CRL_URL: no answer"
}
: >"$OUT/lat-ocsp.txt"
: >"$OUT/lat-crl.txt"
for ((i = 0; i < nrev; i++)); do
	post_rev "$i" "$OUT/rev.seen"
	openssl ocsp -respin "$OUT/rev.seen" -resp_text -noverify 2>/dev/null | grep -q 'Cert Status: good' ||
		fail "rev$i is not good before its revocation"
	get_crl "$OUT/crl.seen"
	kb_ok key revoke -d "$dir" --key-id "${RKID[i]}" --reason keyCompromise >/dev/null
	t0=$(now_us)
	t_ocsp="" t_crl=""
	while [ -z "$t_ocsp" ] || [ -z "$t_crl" ]; do
		if [ -z "$t_ocsp" ]; then
			post_rev "$i" "$OUT/rev.resp"
			if ! cmp -s "$OUT/rev.resp" "$OUT/rev.seen"; then
				t=$(now_us)
				if openssl ocsp -respin "$OUT/rev.resp" -resp_text -noverify 2>/dev/null |
				    grep -q 'Cert Status: revoked'; then
					t_ocsp=$t
				fi
				cp "$OUT/rev.resp" "$OUT/rev.seen"
			fi
		fi
		if [ -z "$t_crl" ]; then
			get_crl "$OUT/crl.now"
			if ! cmp -s "$OUT/crl.now" "$OUT/crl.seen"; then
				t=$(now_us)
				if openssl crl -inform DER -in "$OUT/crl.now" -noout -text 2>/dev/null |
				    grep -Eiq "Serial Number: 0*${RSER[i]}\$"; then
					t_crl=$t
				fi
				cp "$OUT/crl.now" "$OUT/crl.seen"
			fi
		fi
		[ $(($(now_us) - t0)) -lt 10000000 ] ||
			fail "revocation $i (serial ${RSER[i]}) not visible within 10 s (OCSP: ${t_ocsp:-no}, CRL: ${t_crl:-no})"
	done
	echo $(((t_ocsp - t0) / 1000)) >>"$OUT/lat-ocsp.txt"
	echo $(((t_crl - t0) / 1000)) >>"$OUT/lat-crl.txt"
done
# pct FILE P: the P-th percentile (nearest rank) of the numbers in FILE.
pct() {
	sort -n "$1" | awk -v p="$2" '{ v[NR] = $1 } END { r = int((p * NR + 99) / 100); if (r < 1) r = 1; print v[r] }'
}
o50=$(pct "$OUT/lat-ocsp.txt" 50)
o99=$(pct "$OUT/lat-ocsp.txt" 99)
c50=$(pct "$OUT/lat-crl.txt" 50)
c99=$(pct "$OUT/lat-crl.txt" 99)
echo "  OCSP ms: $(paste -sd' ' "$OUT/lat-ocsp.txt")"
echo "  CRL ms:  $(paste -sd' ' "$OUT/lat-crl.txt")"
kb_stop >/dev/null

awk -v br="$b_rate" -v b50="$b_p50" -v b99="$b_p99" -v nr="$n_rate" -v n99="$n_p99" \
    -v orate="$o_rate" -v o99="$o_p99" -v sr="$s_rate" -v s99="$s_p99" -v seq="$seq_n" \
    -v n="$nrev" -v o50l="$o50" -v o99l="$o99" -v c50l="$c50" -v c99l="$c99" '
BEGIN {
	printf "RESULT ocsp GET cached: %.0f answers/s (p50 %.2f ms, p99 %.2f ms, wrk 64 connections) = %.2f x nginx serving the same bytes as a static file (%.0f/s, p99 %.2f ms); one worker each; target >= 0.8\n", br, b50, b99, br / nr, nr, n99
	if (orate > 0)
		printf "RESULT ocsp vs openssl ocsp: %.0f answers/s (wrk 64 connections) = %.1f x openssl ocsp -port (%.0f/s, p99 %.2f ms: %d POSTs in a row, a connection each); the bridge under that same client: %.0f/s, p99 %.2f ms = %.1f x; target >= 10\n", br, br / orate, orate, o99, seq, sr, s99, sr / orate
	else
		printf "RESULT ocsp vs openssl ocsp: not measured (no private network namespace for openssl ocsp -port); the bridge under %d POSTs in a row: %.0f/s, p99 %.2f ms; target >= 10\n", seq, sr, s99
	printf "RESULT ocsp p99 at 64 connections: %.2f ms; target < 5 ms\n", b99
	printf "RESULT revocation latency (key revoke return to first revoked answer, %d revocations, nearest rank): OCSP p50 %d ms p99 %d ms; CRL p50 %d ms p99 %d ms; target p99 < 1000 ms\n", n, o50l, o99l, c50l, c99l
}' | tee "$OUT/result.txt"
bench_csv get_rate "$b_rate" answers/s nginx_rate "$n_rate"
bench_csv get_p50 "$b_p50" ms nginx_p50 "$n_p50"
bench_csv get_p99 "$b_p99" ms nginx_p99 "$n_p99"
if [ "$o_rate" != 0 ]; then
	bench_csv seq_rate "$s_rate" answers/s openssl_ocsp_rate "$o_rate"
	bench_csv seq_p99 "$s_p99" ms openssl_ocsp_p99 "$o_p99"
else
	bench_csv seq_rate "$s_rate" answers/s
	bench_csv seq_p99 "$s_p99" ms
fi
bench_csv revoke_ocsp_p50 "$o50" ms
bench_csv revoke_ocsp_p99 "$o99" ms
bench_csv revoke_crl_p50 "$c50" ms
bench_csv revoke_crl_p99 "$c99" ms
