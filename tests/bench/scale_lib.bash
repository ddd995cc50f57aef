# tests/bench/scale_lib.bash: the helpers of scale.sh that warmstart.sh
# shares (issue 18): serve started and timed to its first OCSP answer and
# to every certificate answerable, RSS from /proc, random-serial GET paths.
# Sourced after tests/integration/lib.sh and common.bash; uses OUT, N,
# WANT, KEYBRIDGE.
now_us() { local t=$EPOCHREALTIME; echo "${t/./}"; }
metric() { awk -v m="$1" '$1 == m { print $2 }' <<<"$2"; }
csv() { echo "$1,$2,$3,$4" >>"$OUT/scale.csv"; }
# rss_kb PID: VmRSS of PID in kB.
rss_kb() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

# nginx_one_file NGXDIR DIR: nginx (one worker) on a free port serving
# the bridge's answer to DIR's first sampled path for every /ocsp/ GET,
# the reference of the random-serial rounds; sets NGX_PORT and
# NGX_WORKER (stop it with stop_pid "$NGX_PID").
nginx_one_file() {
	NGX=$1
	NGX_PORT=$(kb_free_ports 1)
	KB_USED_PORTS="$KB_USED_PORTS $NGX_PORT"
	rm -rf "$NGX"
	mkdir -p "$NGX/www"
	curl -sS -o "$NGX/www/resp" "$KB_HTTP_URL$(awk 'NR == 1' "$2/paths.txt")"
	nginx_start "$NGX" "        listen 127.0.0.1:$NGX_PORT;
        default_type application/ocsp-response;
        location /ocsp/ { try_files /resp =404; }"
	wait_url "http://127.0.0.1:$NGX_PORT/ocsp/x" "$NGX_PID" nginx
	NGX_WORKER=$(pgrep -P "$NGX_PID" | awk 'NR == 1')
}

# make_paths DIR N: N random serials of DIR's fill-serials.txt as GET paths
# (/ocsp/<URL-encoded base64 of a SHA-1 CertID request>) into DIR/paths.txt,
# and a wrk script picking one at random per request into DIR/paths.lua.
make_paths() {
	shuf -n "$2" "$1/fill-serials.txt" >"$1/sample.txt"
	python3 - "$1/ca/issuing.pem" "$1/sample.txt" "$1/paths.txt" <<'PY'
import base64, sys, urllib.parse
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.ocsp import OCSPRequestBuilder
iss = x509.load_pem_x509_certificate(open(sys.argv[1], 'rb').read())
name_hash = hashes.Hash(hashes.SHA1()); name_hash.update(iss.subject.public_bytes())
key = iss.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
key_hash = hashes.Hash(hashes.SHA1()); key_hash.update(key)
nh, kh = name_hash.finalize(), key_hash.finalize()
with open(sys.argv[3], 'w') as out:
    for line in open(sys.argv[2]):
        req = OCSPRequestBuilder().add_certificate_by_hash(nh, kh, int(line, 16), hashes.SHA1()).build()
        der = req.public_bytes(serialization.Encoding.DER)
        out.write('/ocsp/' + urllib.parse.quote(base64.b64encode(der).decode(), safe='') + '\n')
PY
	cat >"$1/paths.lua" <<LUA
local paths = {}
for l in io.lines("$1/paths.txt") do paths[#paths + 1] = l end
math.randomseed(os.time())
request = function()
	return wrk.format("GET", paths[math.random(#paths)])
end
LUA
}

# wait_answerable DIR MODE T0: waits (polling every 20 ms) for the first
# OCSP answer (a GET of one sampled serial answered 200) and for every
# certificate answerable from a signed answer: MODE mem: 2N answers in
# memory and nothing pending; MODE fill: 2N written to the store and
# nothing pending; MODE store: the start-up pass over the certificates
# done (its log line) and nothing pending.  Sets T_FIRST and T_ALL (ms
# from T0, in us).
wait_answerable() {
	local dir=$1 mode=$2 t0=$3 m c p w path deadline=$((SECONDS + 900)) code
	path=$(awk 'NR == 1' "$dir/paths.txt")
	T_FIRST="" T_ALL=""
	while [ -z "$T_FIRST" ]; do
		kill -0 "$KB_SERVE_PID" 2>/dev/null || fail "serve exited while starting: $(tail -n 5 "$OUT/serve.log")"
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$KB_HTTP_URL$path" || true)
		[ "$code" != 200 ] || T_FIRST=$((($(now_us) - t0) / 1000))
		[ "$SECONDS" -lt "$deadline" ] || fail "no OCSP answer after 900 s"
		[ -n "$T_FIRST" ] || sleep 0.02
	done
	while :; do
		m=$(curl -sS --max-time 10 "$KB_HTTP_URL/metrics") || fail "GET /metrics: no answer"
		c=$(metric keybridge_ocsp_responses_cached "$m")
		p=$(metric keybridge_ocsp_resign_pending "$m")
		w=$(metric keybridge_ocsp_store_writes_total "$m")
		if [ "${p:-1}" -eq 0 ] && grep -q "queued for every certificate" "$OUT/serve.log"; then
			case $mode in
			mem) [ "${c:-0}" -lt "$WANT" ] || break ;;
			fill) [ "${w:-0}" -lt "$WANT" ] || break ;;
			store) break ;;
			esac
		fi
		[ "$SECONDS" -lt "$deadline" ] || fail "not every certificate answerable after 900 s ($c cached, $w stored, $p pending)"
		sleep 0.02
	done
	T_ALL=$((($(now_us) - t0) / 1000))
}

# scale_start DIR: serve in the background, as kb_start but without its
# 20 s deadline (at 100k the ledger's open alone takes ~14 s);
# wait_answerable does the waiting.
scale_start() {
	KB_DIR=$1
	KB_URL="https://$(kb_conf_get "$1" est_listen)"
	KB_HTTP_URL="http://$(kb_conf_get "$1" http_listen)"
	"$KEYBRIDGE" serve -d "$1" --log-level info >>"$OUT/serve.log" 2>&1 &
	KB_SERVE_PID=$!
	kb_track "$KB_SERVE_PID"
}

# start_measured DIR MODE TAG: starts serve and reports start-up figures.
start_measured() {
	local dir=$1 mode=$2 tag=$3 t0 kp rs rk
	: >"$OUT/serve.log"
	t0=$(now_us)
	scale_start "$dir"
	wait_answerable "$dir" "$mode" "$t0"
	kp=$(keyproc_pid)
	rs=$(rss_kb "$KB_SERVE_PID")
	rk=$(rss_kb "$kp")
	RSS_SERVE=$rs RSS_KEYPROC=$rk
	echo "  $tag: first OCSP answer ${T_FIRST} ms, every certificate answerable ${T_ALL} ms; RSS serve $((rs / 1024)) MiB, key process $((rk / 1024)) MiB"
	csv "$N" "$tag" first_answer_ms "$T_FIRST"
	csv "$N" "$tag" all_answerable_ms "$T_ALL"
	csv "$N" "$tag" rss_serve_kb "$rs"
	csv "$N" "$tag" rss_keyproc_kb "$rk"
}

