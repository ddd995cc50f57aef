#!/usr/bin/env bash
# tests/bench/warmstart.sh DIR: the restart of a big bridge with its
# persistent OCSP store (issue 18, docs/benchmarks.md "Memory and warm
# start at a million"), on DIR, a data directory bench_fill filled (its
# fill-serials.txt beside it; the bridge stopped).  With ocsp_store on and
# ocsp_cache_max = BENCH_WARM_CACHE (default 200000):
#   1. a first start, which fills the store when it is empty (timed to the
#      first answer and to every certificate answerable), then a clean
#      stop, which writes the status map's snapshot;
#   2. BENCH_WARM_ROUNDS (default 2) restarts: start to the first OCSP
#      answer and to every certificate answerable, signatures made (0
#      expected), serve's VmRSS / RssAnon / RssFile after start;
#   3. on the last: BENCH_WARM_COLD (default 2000) sequential GETs of
#      serials never asked before (each a store read: p50/p99), then
#      random-serial GETs beside nginx serving one file (wrk, alternating
#      rounds, CPU per answer from /proc), serve's RSS after the load.
# Prints RESULT lines; figures also in OUT/scale.csv.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
: "${OUT:=$root/tests/out/bench/warmstart}"
: "${KEYBRIDGE:=$root/build/keybridge}"
mkdir -p "$OUT"
# shellcheck source=../integration/lib.sh
. "$root/tests/integration/lib.sh"
# shellcheck source=common.bash
. "$root/tests/bench/common.bash"
# shellcheck source=scale_lib.bash
. "$root/tests/bench/scale_lib.bash"

dir=${1:?usage: warmstart.sh DIR}
cache_max=${BENCH_WARM_CACHE:-200000}
rounds=${BENCH_WARM_ROUNDS:-2}
ncold=${BENCH_WARM_COLD:-2000}
secs=${BENCH_SCALE_SECONDS:-5}
N=$(wc -l <"$dir/fill-serials.txt")
WANT=$((2 * N))
[ -f "$OUT/scale.csv" ] || echo "size,phase,metric,value" >"$OUT/scale.csv"
# rss_parts PID: "VmRSS RssAnon RssFile" in kB.
rss_parts() {
	awk '$1 == "VmRSS:" { r = $2 } $1 == "RssAnon:" { a = $2 }
	    $1 == "RssFile:" { f = $2 } END { print r + 0, a + 0, f + 0 }' "/proc/$1/status"
}
# ws_stop: SIGTERM and wait for serve's clean stop, which at a million
# writes a 500 MB map snapshot (kb_stop allows 10 s).
ws_stop() {
	kill -TERM "$KB_SERVE_PID" 2>/dev/null || true
	kb_wait_gone "$KB_SERVE_PID" 120 || fail "serve did not stop within 120 s"
	wait "$KB_SERVE_PID" 2>/dev/null || true
}
sigs() { metric keybridge_ocsp_signatures_total "$(curl -sS "$KB_HTTP_URL/metrics")"; }

echo "warmstart: $dir, $N certificates, ocsp_cache_max $cache_max; $(date -u +%FT%TZ); load: $(cut -d' ' -f1-3 /proc/loadavg)"
kb_conf_set "$dir" ocsp_store ocsp-store.db >/dev/null
kb_conf_set "$dir" ocsp_cache_max "$cache_max" >/dev/null
kb_conf_set "$dir" access_log access.log >/dev/null
kb_conf_set "$dir" http_max_conns_per_addr 256 >/dev/null	# wrk -c64 and curl
[ -s "$dir/paths.txt" ] || make_paths "$dir" 5000

mode=store
[ -s "$dir/ocsp-store.db" ] || mode=fill
start_measured "$dir" "$mode" "first-$mode"
echo "RESULT warmstart $N: first start ($mode) first answer $T_FIRST ms, all answerable $T_ALL ms, $(sigs) signatures, RSS serve $((RSS_SERVE / 1024)) MiB"
t=$(now_us)
ws_stop
echo "  stop (writes map.snap): $((($(now_us) - t) / 1000)) ms"

for ((k = 1; k <= rounds; k++)); do
	sleep 1
	start_measured "$dir" store "warm$k"
	read -r r a f <<<"$(rss_parts "$KB_SERVE_PID")"
	s=$(sigs)
	snap=$(grep -c "status map of .* leaves read from" "$OUT/serve.log" || true)
	echo "RESULT warmstart $N: warm restart $k: first answer $T_FIRST ms, all answerable $T_ALL ms, $s signatures; RSS serve $((r / 1024)) MiB (anon $((a / 1024)), file $((f / 1024))) = $((a * 1024 / N)) anon bytes per certificate; map snapshot lines in the log: $snap"
	csv "$N" "warm$k" signatures "$s"
	csv "$N" "warm$k" rss_anon_kb "$a"
	csv "$N" "warm$k" rss_file_kb "$f"
	[ "$k" -eq "$rounds" ] || ws_stop
done

# cold serials: the first GET of each, sequential, one keep-alive curl
cfg="$OUT/cold.cfg"
{
	printf 'write-out = "%%{http_code} %%{time_total}\\n"\n'
	head -n "$ncold" "$dir/paths.txt" | while read -r p; do
		printf 'url = "%s%s"\noutput = "/dev/null"\n' "$KB_HTTP_URL" "$p"
	done
} >"$cfg"
m0=$(curl -sS "$KB_HTTP_URL/metrics")
curl -s --max-time 300 -K "$cfg" >"$OUT/cold.txt" || true
m1=$(curl -sS "$KB_HTTP_URL/metrics")
read -r c50 c99 cn <<<"$(awk '$1 == 200 { print $2 * 1000 }' "$OUT/cold.txt" | sort -n | awk '
	{ v[NR] = $1 } END { printf "%.3f %.3f %d\n", v[int((50 * NR + 99) / 100)], v[int((99 * NR + 99) / 100)], NR }')"
hits=$(($(metric keybridge_ocsp_store_hits_total "$m1") - $(metric keybridge_ocsp_store_hits_total "$m0")))
echo "RESULT warmstart $N: cold serials (first GET each, sequential): p50 $c50 ms, p99 $c99 ms; $cn of $ncold answered 200, $hits store reads"
csv "$N" cold p50_ms "$c50"; csv "$N" cold p99_ms "$c99"; csv "$N" cold store_reads "$hits"

# random serials under load beside nginx serving one file
nginx_one_file "$OUT/nginx" "$dir"
WRK_SCRIPT="$dir/paths.lua" CPU_PIDS="$KB_SERVE_PID $NGX_WORKER" \
    wrk_rounds "warm-$N" 3 "$secs" "$KB_HTTP_URL/" "http://127.0.0.1:$NGX_PORT/"
stop_pid "$NGX_PID"
read -r r a f <<<"$(rss_parts "$KB_SERVE_PID")"
s=$(sigs)
ws_stop
echo "RESULT warmstart $N: OCSP GET random serials $MED_B req/s (p50 $MED_B50 ms, p99 $MED_B99 ms) = $MED_RATIO x nginx one file ($MED_N req/s, p99 $MED_N99 ms); CPU/answer bridge $MED_BCPU us, nginx $MED_NCPU us; RSS serve after load $((r / 1024)) MiB (anon $((a / 1024)), file $((f / 1024))); $s signatures since the start"
csv "$N" load ocsp_p99_ms "$MED_B99"; csv "$N" load rss_anon_kb "$a"; csv "$N" load rss_file_kb "$f"
echo "warmstart: done $(date -u +%FT%TZ); load: $(cut -d' ' -f1-3 /proc/loadavg)"
