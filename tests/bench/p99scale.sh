#!/usr/bin/env bash
# tests/bench/p99scale.sh BIG SMALL: the random-serial OCSP GET tail of a
# big ledger beside a small one and nginx, in the same run (issue 18: "OCSP
# p99 at 1M within 2x of the 10k figure"; docs/benchmarks.md "OCSP p99 at a
# million").  BIG and SMALL are data directories bench_fill filled (with
# their paths.txt from warmstart.sh or scale.sh; stopped).  Both bridges run
# at once with ocsp_store and ocsp_cache_max = BENCH_WARM_CACHE (default
# 200000), each waited for until its start-up pass is done and nothing is
# pending, and each sampled serial asked once (the issue measures cached
# GETs); then BENCH_P99_ROUNDS (default 5) rounds, each of wrk -t2 -c64
# for BENCH_SCALE_SECONDS (default 5) against BIG, SMALL and nginx (one
# worker serving one answer file) in turn.  Every round prints, per server:
# rate, p50, p99, CPU per answer, minor/major page faults, involuntary
# context switches (time the loop waited for a core), and for a bridge the
# signatures made and store reads during the round (a re-signing wave or a
# cache miss on the tail's path shows there).  Prints RESULT lines; figures
# also in OUT/p99scale.csv.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
: "${OUT:=$root/tests/out/bench/p99scale}"
: "${KEYBRIDGE:=$root/build/keybridge}"
mkdir -p "$OUT"
# shellcheck source=../integration/lib.sh
. "$root/tests/integration/lib.sh"
# shellcheck source=common.bash
. "$root/tests/bench/common.bash"
# shellcheck source=scale_lib.bash
. "$root/tests/bench/scale_lib.bash"

big=${1:?usage: p99scale.sh BIG SMALL}
small=${2:?usage: p99scale.sh BIG SMALL}
rounds=${BENCH_P99_ROUNDS:-5}
secs=${BENCH_SCALE_SECONDS:-5}
cache_max=${BENCH_WARM_CACHE:-200000}
echo "size,round,server,metric,value" >"$OUT/p99scale.csv"
PID_big="" PID_small="" URL_big="" URL_small=""	# set by p99_start

# p99_start DIR TAG: serve on DIR with free ports; waits until a sampled
# serial is answered, the start-up pass logged its end and nothing is
# pending.  Sets PID_<TAG>, URL_<TAG>.
p99_start() {
	local dir=$1 tag=$2 p q url pid m deadline=$((SECONDS + 900)) path
	read -r p q <<<"$(kb_free_ports 2 | xargs)"
	KB_USED_PORTS="$KB_USED_PORTS $p $q"
	kb_conf_set "$dir" est_listen "127.0.0.1:$p" >/dev/null
	kb_conf_set "$dir" http_listen "127.0.0.1:$q" >/dev/null
	kb_conf_set "$dir" public_https_url "https://127.0.0.1:$p" >/dev/null
	kb_conf_set "$dir" public_http_url "http://127.0.0.1:$q" >/dev/null
	kb_conf_set "$dir" ocsp_store ocsp-store.db >/dev/null
	kb_conf_set "$dir" ocsp_cache_max "$cache_max" >/dev/null
	kb_conf_set "$dir" http_max_conns_per_addr 256 >/dev/null
	[ -s "$dir/paths.txt" ] || make_paths "$dir" 5000
	sed -i "s#io.lines(\"[^\"]*\")#io.lines(\"$dir/paths.txt\")#" "$dir/paths.lua"
	url="http://127.0.0.1:$q"
	"$KEYBRIDGE" serve -d "$dir" --log-level info >"$OUT/serve-$tag.log" 2>&1 &
	pid=$!
	kb_track "$pid"
	path=$(awk 'NR == 1' "$dir/paths.txt")
	until [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$url$path" || true)" = 200 ]; do
		kill -0 "$pid" 2>/dev/null || fail "serve on $dir exited: $(tail -n 5 "$OUT/serve-$tag.log")"
		[ "$SECONDS" -lt "$deadline" ] || fail "no OCSP answer from $dir after 900 s"
		sleep 0.1
	done
	while :; do
		m=$(curl -sS --max-time 10 "$url/metrics")
		if [ "$(metric keybridge_ocsp_resign_pending "$m")" = 0 ] &&
		    grep -q "queued for every certificate" "$OUT/serve-$tag.log"; then
			break
		fi
		[ "$SECONDS" -lt "$deadline" ] || fail "$dir: pending re-signs after 900 s"
		sleep 1
	done
	printf -v "PID_$tag" %s "$pid"
	printf -v "URL_$tag" %s "$url"
}

# proc_counts PID: "minflt majflt ticks ivcs".
proc_counts() {
	local f
	f=$(sed 's/^.*) //' "/proc/$1/stat")
	echo "$(awk '{ print $8, $10, $12 + $13 }' <<<"$f") $(awk '$1 == "nonvoluntary_ctxt_switches:" { print $2 }' "/proc/$1/status")"
}

# one_round SIZE ROUND NAME PID URL LUA [METRICS_URL]
one_round() {
	local size=$1 k=$2 name=$3 pid=$4 url=$5 lua=$6 murl=${7:-} a b m0="" m1="" r
	local rate p50 p99 f0 j0 t0 c0 f1 j1 t1 c1 cpu sg="" sr=""
	a=$(proc_counts "$pid")
	[ -z "$murl" ] || m0=$(curl -sS --max-time 10 "$murl/metrics")
	r=$(run_wrk "$name-$k" -t2 -c64 -d"${secs}s" --latency -s "$lua" "$url/")
	[ -z "$murl" ] || m1=$(curl -sS --max-time 10 "$murl/metrics")
	b=$(proc_counts "$pid")
	read -r rate p50 p99 <<<"$r"
	read -r f0 j0 t0 c0 <<<"$a"
	read -r f1 j1 t1 c1 <<<"$b"
	cpu=$(awk -v t=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" -v r="$rate" -v s="$secs" \
	    'BEGIN { printf "%.1f", t / hz * 1e6 / (r * s) }')
	if [ -n "$murl" ]; then
		sg=$(($(metric keybridge_ocsp_signatures_total "$m1") - $(metric keybridge_ocsp_signatures_total "$m0")))
		sr=$(($(metric keybridge_ocsp_store_hits_total "$m1") - $(metric keybridge_ocsp_store_hits_total "$m0")))
	fi
	echo "  round $k $name: $rate/s p50 $p50 ms p99 $p99 ms; CPU $cpu us/answer; faults $((f1 - f0)) minor $((j1 - j0)) major; $((c1 - c0)) involuntary switches${murl:+; $sg signatures, $sr store reads}; load $(cut -d' ' -f1 /proc/loadavg)"
	for x in "rate:$rate" "p50_ms:$p50" "p99_ms:$p99" "cpu_us:$cpu" "majflt:$((j1 - j0))" "ivcs:$((c1 - c0))" ${murl:+"signatures:$sg"} ${murl:+"store_reads:$sr"}; do
		echo "$size,$k,$name,${x%%:*},${x#*:}" >>"$OUT/p99scale.csv"
	done
}

nb=$(wc -l <"$big/fill-serials.txt")
ns=$(wc -l <"$small/fill-serials.txt")
echo "p99scale: $big ($nb certificates) and $small ($ns); ocsp_cache_max $cache_max; $(date -u +%FT%TZ); load: $(cut -d' ' -f1-3 /proc/loadavg)"
p99_start "$big" big
p99_start "$small" small
echo "  both answerable, nothing pending: $(date -u +%T)"
# "cached GETs": every sampled serial asked once before the rounds (a
# 3 s wrk run asks each of the 5,000 some twenty times), so a first
# round's store reads are not counted as the tail
for tag in big small; do
	url_var=URL_$tag
	dir_var=$tag
	run_wrk "warmup-$tag" -t2 -c64 -d3s --latency -s "${!dir_var}/paths.lua" "${!url_var}/" >/dev/null
done
KB_HTTP_URL=$URL_small
nginx_one_file "$OUT/nginx" "$small"
for ((k = 1; k <= rounds; k++)); do
	one_round "$nb" "$k" big "$PID_big" "$URL_big" "$big/paths.lua" "$URL_big"
	one_round "$ns" "$k" small "$PID_small" "$URL_small" "$small/paths.lua" "$URL_small"
	one_round 0 "$k" nginx "$NGX_WORKER" "http://127.0.0.1:$NGX_PORT" "$small/paths.lua"
done
stop_pid "$NGX_PID"
for tag in big small; do
	pid_var=PID_$tag
	kill -TERM "${!pid_var}" 2>/dev/null || true
	kb_wait_gone "${!pid_var}" 120 || fail "serve ($tag) did not stop within 120 s"
done
med() { awk -F, -v s="$1" -v m="$2" '$3 == s && $4 == m { print $5 }' "$OUT/p99scale.csv" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
echo "RESULT p99scale: median of $rounds rounds: $nb certificates p50 $(med big p50_ms) ms p99 $(med big p99_ms) ms; $ns certificates p50 $(med small p50_ms) ms p99 $(med small p99_ms) ms; nginx p99 $(med nginx p99_ms) ms; ratio of p99s $(awk -v a="$(med big p99_ms)" -v b="$(med small p99_ms)" 'BEGIN { printf "%.2f", a / b }')"
echo "p99scale: done $(date -u +%FT%TZ); load: $(cut -d' ' -f1-3 /proc/loadavg)"
