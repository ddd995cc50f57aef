#!/usr/bin/env bash
# tests/bench/scale.sh: `make bench-scale` (issue 18, "A million
# certificates"; not part of `make bench`: it takes up to 20 minutes).
#
# For each size N of BENCH_SCALE_SIZES (default "10000 100000 1000000"): a
# ledger of N device keys with a certificate each, 10% of them revoked
# (bench_fill DIR N certs 10, through the group-commit writer), and:
#   1. `serve` with the default settings (no store, every answer in
#      memory): time from the process's start to the first OCSP answer
#      (HTTP 200 to a GET for a random serial) and to every certificate
#      answerable from a pre-signed answer (2N answers in memory, nothing
#      pending); RSS (VmRSS of serve and of its key process) at that point.
#      From BENCH_SCALE_STORE_FROM certificates on (default 1000000) the
#      bridge runs as docs/operations.md advises for big fleets from its
#      first start instead: ocsp_store, ocsp_cache_max = BENCH_SCALE_CACHE
#      and crl_partitions = BENCH_SCALE_PARTS (16), set before the fill so
#      that each certificate names its partition; step 1 is then the start
#      that fills the store (2N answers written);
#   2. cached OCSP GETs for random serials (a wrk Lua script picks one of
#      BENCH_SCALE_PATHS pre-encoded requests per request) beside nginx
#      serving one file, ROUNDS alternating rounds, p50/p99, CPU per answer;
#      RSS after the load, bytes per certificate;
#   3. GET /api/v1/status and /api/v1/certs/SERIAL latency (one curl,
#      keep-alive, sequential requests, p50/p99);
#   3b. enrollment: BENCH_SCALE_ENROLL keys (default 4000) registered after
#      the fill are enrolled over BENCH_SCALE_ENROLL_CLIENTS kept-alive
#      connections (bench_enroll): rate, p50/p99, CPU per enrollment;
#   4. `key revoke` of a good certificate's key: time until a GET shows it
#      revoked, and until the CRL lists it (with partitions: its
#      partition's delta CRL); the CRL's size;
#   5. `ledger verify` time beside one core's Ed25519 verify rate
#      (openssl speed, same run);
#   6. restarts with the persistent store (ocsp_store, ocsp_cache_max =
#      BENCH_SCALE_CACHE): the first start fills the store (step 1 did at
#      BENCH_SCALE_STORE_FROM), the second answers from it; time to first
#      answer and to all answerable, RSS, compared with the start without
#      the store of step 1.
# BENCH_SCALE_REUSE=1 keeps a ledger an earlier run of the same OUT filled.
# Prints RESULT lines; the figures as rows of the CSV contract with the
# ledger size (OUT/results.csv, docs/benchmarks.md "CSV contract": what
# `make bench-plots` draws against the ledger size), and every measurement
# also in OUT/scale.csv.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
: "${OUT:=$root/tests/out/bench/scale}"
: "${KEYBRIDGE:=$root/build/keybridge}"
: "${BENCH:=$root/build/bench}"
mkdir -p "$OUT"
# shellcheck source=../integration/lib.sh
. "$root/tests/integration/lib.sh"
# shellcheck source=common.bash
. "$root/tests/bench/common.bash"

# run_wrk as common.bash's, except that wrk's timeouts (no answer within
# 2 s, which a machine at load 10 gives the bridge and nginx alike) are
# counted in OUT/timeouts-NAME.txt and reported, not fatal; other socket
# errors and non-2xx answers still are.
run_wrk() {
	local name=$1 f="$OUT/wrk-$1.txt"
	shift
	wrk "$@" >"$f" 2>&1 || fail "wrk $* failed: $(tail -n 5 "$f")"
	if grep -Eq 'Non-2xx|Socket errors: connect [1-9]|read [1-9]|write [1-9]' "$f"; then
		fail "wrk against $name: errors: $(grep -E 'Socket errors|Non-2xx' "$f")"
	fi
	sed -n 's/.*timeout \([0-9]*\).*/\1/p' "$f" >"$OUT/timeouts-$name.txt"
	wrk_figures "$name" "$f"
}

# row METRIC VALUE UNIT [REF_METRIC REF_VALUE]: a contract row at size N
row() { bench_csv "$1" "$2" "$3" "${4:-}" "${5:-}" "$N"; }
# secs_of MS: MS milliseconds in seconds
secs_of() { awk -v m="$1" 'BEGIN { printf "%.3f", m / 1000 }'; }
mib_of() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

sizes=${BENCH_SCALE_SIZES:-10000 100000 1000000}
store_from=${BENCH_SCALE_STORE_FROM:-1000000}
parts=${BENCH_SCALE_PARTS:-16}
enroll_n=${BENCH_SCALE_ENROLL:-4000}
enroll_clients=${BENCH_SCALE_ENROLL_CLIENTS:-64}	# as est.sh (the per-address limit)
secs=${BENCH_SCALE_SECONDS:-5}
rounds=${BENCH_SCALE_ROUNDS:-3}
npaths=${BENCH_SCALE_PATHS:-5000}
cache_max=${BENCH_SCALE_CACHE:-20000}
command -v wrk >/dev/null || fail "wrk is not installed (scripts/deps.sh installs it)"
command -v nginx >/dev/null || fail "nginx is not installed (scripts/deps.sh installs it)"
echo "scale: sizes $sizes; $(date -u +%FT%TZ); load: $(cut -d' ' -f1-3 /proc/loadavg)"
[ ! -f "$OUT/scale.csv" ] || mv "$OUT/scale.csv" "$OUT/scale.csv.prev"
echo "size,phase,metric,value" >"$OUT/scale.csv"

# now_us, metric, csv, rss_kb, keyproc_pid, make_paths, wait_answerable,
# scale_start, start_measured: shared with warmstart.sh
# shellcheck source=scale_lib.bash
. "$root/tests/bench/scale_lib.bash"

# enroll_at_scale DIR: bench_enroll's keepalive round (enroll_clients
# connections) over the keys step 0 registered, on the running bridge;
# reports the rate, p50/p99 and serve's and the key process's CPU per
# enrollment (from /proc: steadier than the rate on a shared machine).
enroll_at_scale() {
	local dir=$1 kp s0 k0 s1 k1 f="$OUT/enroll-$N.txt"
	kp=$(keyproc_pid)
	s0=$(cpu_ticks "$KB_SERVE_PID") k0=$(cpu_ticks "$kp")
	"$BENCH/bench_enroll" "$dir" "$enroll_clients" $((enroll_n / enroll_clients)) \
	    "$OUT/csrs-$N/csrs.txt" keepalive >"$f" 2>&1 || fail "bench_enroll: $(tail -n 5 "$f")"
	s1=$(cpu_ticks "$KB_SERVE_PID") k1=$(cpu_ticks "$kp")
	read -r e_ok e_rate e50 e99 <<<"$(awk '$1 == "enrollments_ok" { n = $2 } $1 == "enrollments_per_second" { r = $2 }
	    $1 == "p50_ms" { a = $2 } $1 == "p99_ms" { b = $2 } END { print n + 0, r + 0, a + 0, b + 0 }' "$f")"
	[ "$e_ok" -gt 0 ] || fail "bench_enroll: no enrollment answered 200: $(tail -n 5 "$f")"
	read -r e_scpu e_kcpu <<<"$(awk -v s=$((s1 - s0)) -v k=$((k1 - k0)) -v n="$e_ok" -v t="$(getconf CLK_TCK)" \
	    'BEGIN { printf "%.0f %.0f", s * 1e6 / t / n, k * 1e6 / t / n }')"
	echo "RESULT scale $N: enrollment keep-alive ($enroll_clients connections) $e_rate/s for $e_ok enrollments (p50 $e50 ms, p99 $e99 ms); CPU per enrollment serve $e_scpu us, key process $e_kcpu us"
	csv "$N" enroll rate "$e_rate"; csv "$N" enroll p50_ms "$e50"; csv "$N" enroll p99_ms "$e99"
	csv "$N" enroll cpu_us_serve "$e_scpu"; csv "$N" enroll cpu_us_keyproc "$e_kcpu"
	row enroll_rate "$e_rate" enrollments/s; row enroll_p99 "$e99" ms
	row enroll_cpu_serve "$e_scpu" us; row enroll_cpu_keyproc "$e_kcpu" us
}

# seq_latency NAME URL COUNT [CURL ARGS]: COUNT sequential GETs in one curl
# (keep-alive); prints "p50_ms p99_ms".
seq_latency() {
	local name=$1 url=$2 count=$3 cfg="$OUT/seq-$1.cfg"
	shift 3
	{
		printf 'write-out = "%%{http_code} %%{time_total}\\n"\n'
		for ((i = 0; i < count; i++)); do
			printf 'url = "%s"\noutput = "/dev/null"\n' "$url"
		done
	} >"$cfg"
	curl -s --max-time 300 "$@" -K "$cfg" >"$OUT/seq-$name.txt" || true
	awk '$1 == 200 { print $2 * 1000 }' "$OUT/seq-$name.txt" | sort -n | awk -v n="$count" -v w="$name" '
		{ v[NR] = $1 }
		END { if (NR != n) { print "only " NR " of " n " answered 200 (" w ")" > "/dev/stderr"; exit 1 }
		      printf "%.3f %.3f\n", v[int((50 * NR + 99) / 100)], v[int((99 * NR + 99) / 100)] }' ||
		fail "$name: not every request answered 200"
}

ed_rate=$(openssl speed -seconds 2 ed25519 2>/dev/null | awk '$1 == "253" && $4 == "(Ed25519)" { print $NF }')
echo "reference: openssl speed ed25519 verify, one core: ${ed_rate:-?} /s"

for N in $sizes; do
	dir="$OUT/n$N"
	WANT=$((2 * N))
	echo "== $N certificates (10% revoked)"
	if [ -n "${BENCH_SCALE_REUSE:-}" ] && [ -f "$dir/fill-revoked.txt" ] && [ -f "$OUT/fill-$N.txt" ]; then
		# a ledger bench_fill made in an earlier run (its fill figures kept)
		echo "  reusing $dir"
		rm -f "$dir"/ocsp-store.db*
		fill_ms=$(awk -F, -v n="$N" '$1 == n && $2 == "fill" && $3 == "ms" { print $4 }' "$OUT/scale.csv.prev" 2>/dev/null)
	else
		rm -rf "$dir"
		kb_init "$dir" >/dev/null
		# request lines at info would fill the log the start-up is read from
		kb_conf_set "$dir" access_log access.log >/dev/null
		bench_loopback_conns "$dir"	# wrk -c64 and the probes
		if [ "$N" -ge "$store_from" ]; then
			kb_conf_set "$dir" crl_partitions "$parts" >/dev/null
		fi
		t=$(now_us)
		# the map's build from the whole registry is timed below the
		# store's size only: its cost per leaf is the same (90 s at 1M)
		BENCH_FILL_MAP_BUILD=$([ "$N" -lt "$store_from" ] && echo 1 || echo 0) \
		    "$BENCH/bench_fill" "$dir" "$N" certs 10 >"$OUT/fill-$N.txt" 2>&1 ||
			fail "bench_fill: $(tail -n 5 "$OUT/fill-$N.txt")"
		fill_ms=$((($(now_us) - t) / 1000))
	fi
	echo "  bench_fill: ${fill_ms} ms ($(grep -h map_build_seconds "$OUT/fill-$N.txt" || echo "map build not timed"))"
	# keys registered after the fill, without a certificate: step 3b enrolls them
	rm -rf "$OUT/csrs-$N"
	"$BENCH/bench_register" "$dir" "$enroll_n" "$OUT/csrs-$N" >"$OUT/register-$N.txt" 2>&1 ||
		fail "bench_register: $(tail -n 5 "$OUT/register-$N.txt")"
	csv "$N" fill ms "$fill_ms"
	[ -z "$fill_ms" ] || row fill_seconds "$(secs_of "$fill_ms")" s
	make_paths "$dir" "$npaths"
	db_kb=$(du -k "$dir/ledger.db"* | awk '{ s += $1 } END { print s }')
	csv "$N" fill ledger_kb "$db_kb"

	# 1. the default settings, or at scale the store from the first start
	if [ "$N" -ge "$store_from" ]; then
		big=1 setting="store, ocsp_cache_max $cache_max, crl_partitions $parts"
		kb_conf_set "$dir" ocsp_store ocsp-store.db >/dev/null
		kb_conf_set "$dir" ocsp_cache_max "$cache_max" >/dev/null
		start_measured "$dir" fill store-cold
	else
		big="" setting="no store"
		kb_conf_set "$dir" ocsp_store off >/dev/null
		kb_conf_set "$dir" ocsp_cache_max 0 >/dev/null
		start_measured "$dir" mem mem
	fi
	mem_all=$T_ALL
	rss0=$RSS_SERVE

	# 2. cached GETs of random serials beside nginx serving one file
	nginx_one_file "$OUT/nginx-$N" "$dir"
	m0=$(curl -sS "$KB_HTTP_URL/metrics")
	WRK_SCRIPT="$dir/paths.lua" CPU_PIDS="$KB_SERVE_PID $NGX_WORKER" \
	    wrk_rounds "scale-$N" "$rounds" "$secs" "$KB_HTTP_URL/" "http://127.0.0.1:$NGX_PORT/"
	m1=$(curl -sS "$KB_HTTP_URL/metrics")
	misses=$(($(metric keybridge_ocsp_cache_misses_total "$m1") - $(metric keybridge_ocsp_cache_misses_total "$m0")))
	stop_pid "$NGX_PID"
	rs=$(rss_kb "$KB_SERVE_PID")
	rk=$(rss_kb "$(keyproc_pid)")
	tmo=$(cat "$OUT"/timeouts-scale-"$N"-bridge.txt 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')
	echo "RESULT scale $N: OCSP GET random serials $MED_B req/s (p50 $MED_B50 ms, p99 $MED_B99 ms, $misses misses, $tmo wrk timeouts in the last round) = $MED_RATIO x nginx one file ($MED_N req/s, p99 $MED_N99 ms); CPU/answer bridge $MED_BCPU us, nginx $MED_NCPU us"
	echo "RESULT scale $N: start ($setting) first OCSP answer $T_FIRST ms, all $mem_all ms pre-signed${big:+ into the store}; RSS serve $((rs / 1024)) MiB after load ($((rss0 / 1024)) MiB after start), key process $((rk / 1024)) MiB; $(((rs * 1024) / N)) bytes of serve RSS per certificate"
	csv "$N" load ocsp_rate "$MED_B"; csv "$N" load ocsp_p50_ms "$MED_B50"; csv "$N" load ocsp_p99_ms "$MED_B99"
	csv "$N" load nginx_rate "$MED_N"; csv "$N" load ratio "$MED_RATIO"; csv "$N" load misses "$misses"
	csv "$N" load rss_serve_kb "$rs"; csv "$N" load rss_keyproc_kb "$rk"
	csv "$N" load cpu_us_bridge "$MED_BCPU"; csv "$N" load cpu_us_nginx "$MED_NCPU"
	row first_start_first_answer "$(secs_of "$T_FIRST")" s
	# at scale the first start is the store's fill, and memory that of
	# the store and the bounded cache: series of their own
	if [ -n "$big" ]; then
		row store_fill_seconds "$(secs_of "$mem_all")" s
		row rss_serve_store_after_start "$(mib_of "$rss0")" MiB
		row rss_serve_store_after_load "$(mib_of "$rs")" MiB
	else
		row first_start_all_answerable "$(secs_of "$mem_all")" s
		row rss_serve_after_start "$(mib_of "$rss0")" MiB
		row rss_serve_after_load "$(mib_of "$rs")" MiB
	fi
	row rss_keyproc "$(mib_of "$rk")" MiB
	row ocsp_get_rate "$MED_B" answers/s nginx_rate "$MED_N"
	row ocsp_get_p50 "$MED_B50" ms
	row ocsp_get_p99 "$MED_B99" ms nginx_p99 "$MED_N99"
	row ocsp_cpu_per_answer "$MED_BCPU" us nginx_cpu_per_answer "$MED_NCPU"
	row serve_bytes_per_cert $(((rs * 1024) / N)) bytes

	# 3. API latency
	serial=$(sed -n 2p "$dir/sample.txt")
	read -r s50 s99 <<<"$(seq_latency status "$KB_URL/api/v1/status" 200 --cacert "$dir/ca/root.pem")"
	read -r c50 c99 <<<"$(seq_latency cert "$KB_URL/api/v1/certs/$serial" 500 --cacert "$dir/ca/root.pem")"
	echo "RESULT scale $N: /api/v1/status p50 $s50 ms p99 $s99 ms; /api/v1/certs/SERIAL p50 $c50 ms p99 $c99 ms (sequential, keep-alive)"
	csv "$N" api status_p50_ms "$s50"; csv "$N" api status_p99_ms "$s99"
	csv "$N" api cert_p50_ms "$c50"; csv "$N" api cert_p99_ms "$c99"
	row api_status_p50 "$s50" ms; row api_status_p99 "$s99" ms
	row api_cert_p50 "$c50" ms; row api_cert_p99 "$c99" ms

	# 3b. enrollment over kept-alive connections on the full ledger
	enroll_at_scale "$dir"

	# 4. revocation to OCSP and CRL
	grep -vxFf "$dir/fill-revoked.txt" "$dir/sample.txt" | awk 'NR == 1' >"$OUT/victim.txt"
	victim=$(cat "$OUT/victim.txt")
	vpath=$(sed -n "$(grep -nxF "$victim" "$dir/sample.txt" | cut -d: -f1)p" "$dir/paths.txt")
	curl -sS --cacert "$dir/ca/root.pem" -o "$OUT/victim.json" "$KB_URL/api/v1/certs/$victim"
	kid=$(jq -er .key_id "$OUT/victim.json") || fail "no key_id for $victim"
	iss=$(jq -er .issuer "$OUT/victim.json")
	full_url="$KB_HTTP_URL/crl/$iss.crl" crl_url="$KB_HTTP_URL/crl/$iss.crl" crl_what="the CRL"
	if [ -n "$big" ]; then	# the partition the certificate's CRL DP names (crl_scale.sh)
		crl_url="$KB_HTTP_URL/crl/$iss/$parts/$((16#${victim: -2} % parts)).delta.crl"
		crl_what="its partition's delta CRL"
	fi
	curl -sS -o "$OUT/crl-before.crl" "$crl_url"
	"$KEYBRIDGE" key revoke -d "$dir" --key-id "$kid" --reason keyCompromise >/dev/null
	t0=$(now_us)
	ocsp_ms="" crl_ms=""
	while [ -z "$ocsp_ms" ] || [ -z "$crl_ms" ]; do
		if [ -z "$ocsp_ms" ]; then
			curl -sS -o "$OUT/v.der" "$KB_HTTP_URL$vpath"
			# grep -c reads everything: -q would leave openssl a
			# SIGPIPE that pipefail turns into a miss on big CRLs
			[ "$(openssl ocsp -respin "$OUT/v.der" -resp_text -noverify 2>/dev/null | grep -c "Cert Status: revoked")" = 0 ] ||
				ocsp_ms=$((($(now_us) - t0) / 1000))
		fi
		if [ -z "$crl_ms" ]; then
			curl -sS -o "$OUT/crl.crl" "$crl_url"
			[ "$(openssl crl -inform DER -in "$OUT/crl.crl" -noout -text 2>/dev/null | tr -d ' :' | grep -cix "serialnumber${victim}")" = 0 ] ||
				crl_ms=$((($(now_us) - t0) / 1000))
		fi
		[ $((($(now_us) - t0) / 1000000)) -lt 60 ] || fail "revocation of $victim not visible after 60 s (ocsp '$ocsp_ms' crl '$crl_ms')"
	done
	watch_bytes=$(wc -c <"$OUT/crl.crl")
	curl -sS -o "$OUT/crl.crl" "$full_url"
	crl_bytes=$(wc -c <"$OUT/crl.crl")
	nrev=$(openssl crl -inform DER -in "$OUT/crl.crl" -noout -text | grep -c "Serial Number")
	echo "RESULT scale $N: revocation visible in OCSP after $ocsp_ms ms, in $crl_what after $crl_ms ms ($watch_bytes bytes); full CRL $crl_bytes bytes for $nrev revoked ($((crl_bytes / nrev)) bytes each)"
	csv "$N" revoke ocsp_ms "$ocsp_ms"; csv "$N" revoke crl_ms "$crl_ms"
	csv "$N" revoke crl_bytes "$crl_bytes"; csv "$N" revoke crl_entries "$nrev"
	row revoke_to_ocsp "$ocsp_ms" ms; row revoke_to_crl "$crl_ms" ms
	row crl_full_bytes "$crl_bytes" bytes; row crl_watched_bytes "$watch_bytes" bytes
	kb_stop >/dev/null

	# 5. ledger verify
	t=$(now_us)
	"$KEYBRIDGE" ledger verify -d "$dir" >"$OUT/verify-$N.txt" 2>&1 || fail "ledger verify: $(tail -n 3 "$OUT/verify-$N.txt")"
	v_ms=$((($(now_us) - t) / 1000))
	entries=$((2 * N + N / 10 + 2 + enroll_n + e_ok))
	echo "RESULT scale $N: ledger verify $v_ms ms for ~$entries entries ($(awk -v e="$entries" -v ms="$v_ms" -v r="${ed_rate:-0}" 'BEGIN { x = e / (ms / 1000); printf "%.0f entries/s = %.2f x one core Ed25519 verify %.0f/s", x, (r > 0 ? x / r : 0), r }'))"
	csv "$N" verify ms "$v_ms"
	row verify_seconds "$(secs_of "$v_ms")" s
	[ -z "$ed_rate" ] || row verify_rate "$(awk -v e="$entries" -v ms="$v_ms" 'BEGIN { printf "%.0f", e / (ms / 1000) }')" \
	    entries/s ed25519_verify_rate "$ed_rate"

	# 6. restarts: without the store (step 1's figure), with it cold, then
	# warm; at scale step 1 was the cold one
	if [ -z "$big" ]; then
		kb_conf_set "$dir" ocsp_store ocsp-store.db >/dev/null
		kb_conf_set "$dir" ocsp_cache_max "$cache_max" >/dev/null
		start_measured "$dir" fill store-cold
		cold_all=$T_ALL
		kb_stop >/dev/null
		sleep 1
	else
		cold_all=$mem_all
	fi
	start_measured "$dir" store store-warm
	warm_first=$T_FIRST warm_all=$T_ALL warm_rss=$RSS_SERVE
	m0=$(curl -sS "$KB_HTTP_URL/metrics")
	run_wrk "store-$N" -t2 -c64 -d"${secs}s" --latency -s "$dir/paths.lua" "$KB_HTTP_URL/" >"$OUT/store-wrk-$N.txt"
	read -r st_rate st_p50 st_p99 <"$OUT/store-wrk-$N.txt"
	m1=$(curl -sS "$KB_HTTP_URL/metrics")
	sigs=$(metric keybridge_ocsp_signatures_total "$m1")
	hits=$(metric keybridge_ocsp_store_hits_total "$m1")
	rs=$(rss_kb "$KB_SERVE_PID")
	store_kb=$(du -k "$dir/ocsp-store.db"* | awk '{ s += $1 } END { print s }')
	kb_stop >/dev/null
	nostore="without the store $mem_all ms (all re-signed), "
	[ -z "$big" ] || nostore=""
	echo "RESULT scale $N: restart to every certificate answerable: ${nostore}with the store $warm_all ms (first answer $warm_first ms, $sigs signatures); filling the store at the first start $cold_all ms; store file $((store_kb / 1024)) MiB ($((store_kb * 1024 / N)) bytes per certificate)"
	echo "RESULT scale $N: with the store and ocsp_cache_max $cache_max: OCSP GET random serials $st_rate req/s (p50 $st_p50 ms, p99 $st_p99 ms; $hits store reads), RSS serve $((warm_rss / 1024)) MiB after start, $((rs / 1024)) MiB after load"
	csv "$N" store cold_all_ms "$cold_all"; csv "$N" store warm_all_ms "$warm_all"
	csv "$N" store warm_first_ms "$warm_first"; csv "$N" store signatures "$sigs"
	csv "$N" store file_kb "$store_kb"; csv "$N" store rss_after_load_kb "$rs"
	csv "$N" store ocsp_rate "$st_rate"; csv "$N" store ocsp_p99_ms "$st_p99"
	[ -n "$big" ] || row store_fill_seconds "$(secs_of "$cold_all")" s
	row warm_start_first_answer "$(secs_of "$warm_first")" s
	row warm_start_all_answerable "$(secs_of "$warm_all")" s
	row warm_start_signatures "$sigs" answers
	row rss_serve_warm_after_start "$(mib_of "$warm_rss")" MiB
	row rss_serve_warm_after_load "$(mib_of "$rs")" MiB
	row warm_ocsp_get_rate "$st_rate" answers/s; row warm_ocsp_get_p99 "$st_p99" ms
	row store_file_bytes $((store_kb * 1024)) bytes
done
echo "scale: done $(date -u +%FT%TZ); load: $(cut -d' ' -f1-3 /proc/loadavg)"
