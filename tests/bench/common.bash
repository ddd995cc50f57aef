# tests/bench/common.bash: helpers the benchmark scripts share (sourced
# after tests/integration/lib.sh; not a benchmark itself: scripts/bench.sh
# runs *.sh only).

# wait_url URL PID WHAT: until URL answers (10 s), PID alive.
wait_url() {
	local deadline=$((SECONDS + 10))
	until curl -sk -o /dev/null --max-time 2 "$1"; do
		kill -0 "$2" 2>/dev/null || fail "$3 (pid $2) exited before answering $1"
		[ "$SECONDS" -lt "$deadline" ] || fail "$3 (pid $2) does not answer $1 after 10 s"
		sleep 0.05
	done
}

# run_wrk NAME WRK-ARGS...: runs wrk and prints "rate p50_ms p99_ms"; fails
# the benchmark on wrk errors, socket errors or non-2xx answers.  wrk's
# output is kept in OUT/wrk-NAME.txt.
run_wrk() {
	local name=$1 f="$OUT/wrk-$1.txt"
	shift
	wrk "$@" >"$f" 2>&1 || fail "wrk $* failed: $(tail -n 5 "$f")"
	if grep -Eq 'Socket errors|Non-2xx' "$f"; then
		fail "wrk against $name: errors: $(grep -E 'Socket errors|Non-2xx' "$f")"
	fi
	wrk_figures "$name" "$f"
}

# wrk_figures NAME FILE: "rate p50_ms p99_ms" from wrk's --latency output
# in FILE; fails the benchmark when FILE has no rate or latency.
wrk_figures() {
	local name=$1 f=$2
	awk '
	function ms(v) {
		if (v ~ /us$/) return v * 0.001
		if (v ~ /ms$/) return v + 0
		if (v ~ /m$/) return v * 60000
		if (v ~ /s$/) return v * 1000
		return v
	}
	/^Requests\/sec:/ { rate = $2 }
	$1 == "50%" { p50 = ms($2) }
	$1 == "99%" { p99 = ms($2) }
	END {
		if (rate == "" || p99 == "") exit 1
		printf "%.0f %.3f %.3f\n", rate, p50, p99
	}' "$f" || fail "wrk against $name: no rate or latency in $f: $(tail -n 12 "$f")"
}

# cpu_ticks PID: user + system clock ticks PID (all its threads) used
# (fields 14 and 15 of /proc/PID/stat, counted after the command's name,
# which may hold spaces); 0 when PID is gone.
cpu_ticks() {
	{ sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null || echo; } |
	    awk '{ print $12 + $13 }'
}

# keyproc_pid: the running bridge's key process (serve's one child).
keyproc_pid() {
	local p
	p=$(cat /proc/"$KB_SERVE_PID"/task/*/children 2>/dev/null | tr ' ' '\n' |
	    grep -m 1 '[0-9]') || fail "no key process under serve $KB_SERVE_PID"
	echo "$p"
}

# wrk_rounds TAG ROUNDS SECS URL_BRIDGE URL_REF: ROUNDS alternating wrk
# runs (-t2 -c64, keep-alive) against the bridge and the reference (the
# machine is shared and noisy), one line per round; the round with the
# median ratio is the one reported, in MED_RATIO MED_B MED_B50 MED_B99
# MED_N MED_N50 MED_N99.  WRK_SCRIPT, when set, is passed as wrk -s.
# With CPU_PIDS="BRIDGE_PID NGINX_WORKER_PID" each round also reports the
# CPU time each server spent per answer (steadier than rates when other
# work shares the cores); their medians in MED_BCPU MED_NCPU (us).
wrk_rounds() {
	local tag=$1 rounds=$2 secs=$3 ub=$4 un=$5 k r b_rate b_p50 b_p99 n_rate n_p50 n_p99
	local bpid npid t0 bcpu=0 ncpu=0 hz cpu=""
	local -a extra=()
	[ -z "${WRK_SCRIPT:-}" ] || extra=(-s "$WRK_SCRIPT")
	read -r bpid npid <<<"${CPU_PIDS:-}"
	hz=$(getconf CLK_TCK)
	: >"$OUT/rounds-$tag.txt"
	: >"$OUT/cpu-$tag.txt"
	for ((k = 1; k <= rounds; k++)); do
		[ -z "$bpid" ] || t0=$(cpu_ticks "$bpid")
		r=$(run_wrk "$tag-bridge" -t2 -c64 -d"${secs}s" --latency "${extra[@]}" "$ub")
		read -r b_rate b_p50 b_p99 <<<"$r"
		[ -z "$bpid" ] || bcpu=$(awk -v a="$t0" -v b="$(cpu_ticks "$bpid")" -v hz="$hz" -v r="$b_rate" -v s="$secs" \
		    'BEGIN { printf "%.1f", (b - a) / hz * 1e6 / (r * s) }')
		[ -z "$npid" ] || t0=$(cpu_ticks "$npid")
		r=$(run_wrk "$tag-nginx" -t2 -c64 -d"${secs}s" --latency "${extra[@]}" "$un")
		read -r n_rate n_p50 n_p99 <<<"$r"
		[ -z "$npid" ] || ncpu=$(awk -v a="$t0" -v b="$(cpu_ticks "$npid")" -v hz="$hz" -v r="$n_rate" -v s="$secs" \
		    'BEGIN { printf "%.1f", (b - a) / hz * 1e6 / (r * s) }')
		[ -z "$bpid" ] || cpu="; CPU per answer: bridge $bcpu us, nginx $ncpu us"
		echo "  round $k: bridge $b_rate req/s (p50 $b_p50 ms, p99 $b_p99 ms), nginx $n_rate req/s (p50 $n_p50 ms, p99 $n_p99 ms)$cpu"
		echo "$(awk -v b="$b_rate" -v n="$n_rate" 'BEGIN { printf "%.4f", b / n }') $b_rate $b_p50 $b_p99 $n_rate $n_p50 $n_p99" >>"$OUT/rounds-$tag.txt"
		echo "$bcpu $ncpu" >>"$OUT/cpu-$tag.txt"
	done
	read -r MED_RATIO MED_B MED_B50 MED_B99 MED_N MED_N50 MED_N99 <<<"$(sort -n "$OUT/rounds-$tag.txt" | awk -v m=$(((rounds + 1) / 2)) 'NR == m')"
	MED_BCPU=$(sort -n -k1,1 "$OUT/cpu-$tag.txt" | awk -v m=$(((rounds + 1) / 2)) 'NR == m { print $1 }')
	MED_NCPU=$(sort -n -k2,2 "$OUT/cpu-$tag.txt" | awk -v m=$(((rounds + 1) / 2)) 'NR == m { print $2 }')
	echo "  median round: bridge $MED_B req/s, nginx $MED_N req/s"
}

# nginx_start DIR SERVER-BLOCK: nginx with one worker (like the bridge's one
# event loop), no access log, long keep-alive, everything under DIR (DIR/www
# is its root), the given server { } body (lib.sh's nginx_conf); sets
# NGX_PID (tracked: stopped with the test).  The caller waits for it.
nginx_start() {
	local ngx=$1 body=$2
	mkdir -p "$ngx/www"
	NGX_ERROR_LEVEL=warn nginx_conf "$ngx" "    access_log off;
    keepalive_requests 1000000;
    types { }
    server {
        root $ngx/www;
$body
    }"
	nginx -p "$ngx" -c "$ngx/nginx.conf" -e "$ngx/error.log" >"$ngx/stdout.log" 2>&1 &
	NGX_PID=$!
	kb_track "$NGX_PID"
}

# ---- figures as CSV (docs/benchmarks.md "CSV contract") ------------------------------------
# Sourcing this file starts a fresh OUT/results.csv: every benchmark
# writes its figures there beside its text report, one row per figure,
# with bench_csv; scripts/bench.sh gathers them into
# tests/out/bench/results.csv and, with BENCH_RECORD=1, docs/bench/history.csv.
BENCH_CSV_HEADER="run_id,date,bench,metric,value,unit,reference_metric,reference_value,ratio,ledger_size,load"
BENCH_CSV="$OUT/results.csv"
# The run: scripts/bench.sh exports one id for all its scripts; a script
# run alone makes its own (UTC time and the commit, "+" when the tree has
# uncommitted changes).
if [ -z "${BENCH_RUN_ID:-}" ]; then
	BENCH_RUN_ID="$(date -u +%Y%m%dT%H%M%SZ)-$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo nogit)"
	[ -z "$(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null)" ] || BENCH_RUN_ID="$BENCH_RUN_ID+"
fi
BENCH_NAME=${BENCH_NAME:-$(basename "$0" .sh)}
echo "$BENCH_CSV_HEADER" >"$BENCH_CSV"

# bench_csv METRIC VALUE UNIT [REF_METRIC REF_VALUE [LEDGER_SIZE]]: one row
# in OUT/results.csv.  METRIC and REF_METRIC are names of lower-case
# letters, digits and _ . - (the bridge's figure, and what it is set
# beside: "nginx_rate", "ed25519_verify_rate"); VALUE and REF_VALUE
# numbers; UNIT one of the units the contract lists ("entries/s", "ms",
# "us", "MiB", "s", "x", ...); ratio = VALUE / REF_VALUE, computed here;
# LEDGER_SIZE the certificates (or entries) on the ledger measured, empty
# when it does not apply.  The date is the row's (UTC), the load the
# 1-minute load average when it was written.  A malformed row fails the
# benchmark rather than poison the history.
bench_csv() {
	local metric=$1 value=$2 unit=$3 refm=${4:-} refv=${5:-} size=${6:-} ratio="" num='^-?[0-9]+([.][0-9]+)?([eE][-+]?[0-9]+)?$'
	[[ "$metric" =~ ^[a-z0-9_.-]+$ ]] || fail "bench_csv: bad metric name '$metric'"
	[[ "$value" =~ $num ]] || fail "bench_csv $metric: value '$value' is not a number"
	[[ "$unit" =~ ^[A-Za-z0-9/%_.-]+$ ]] || fail "bench_csv $metric: bad unit '$unit'"
	if [ -n "$refm$refv" ]; then
		[[ "$refm" =~ ^[a-z0-9_.-]+$ ]] || fail "bench_csv $metric: bad reference name '$refm'"
		[[ "$refv" =~ $num ]] || fail "bench_csv $metric: reference value '$refv' is not a number"
		ratio=$(awk -v a="$value" -v b="$refv" 'BEGIN { if (b != 0) printf "%.4f", a / b }')
	fi
	[ -z "$size" ] || [[ "$size" =~ ^[0-9]+$ ]] || fail "bench_csv $metric: ledger size '$size' is not a count"
	printf '%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n' "$BENCH_RUN_ID" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
	    "$BENCH_NAME" "$metric" "$value" "$unit" "$refm" "$refv" "$ratio" "$size" \
	    "$(cut -d' ' -f1 /proc/loadavg)" >>"$BENCH_CSV"
}

# rss_mib PID: the resident memory of PID in MiB (VmRSS), 0 when it is gone.
rss_mib() {
	[ -r "/proc/$1/status" ] || { echo 0; return 0; }
	awk '$1 == "VmRSS:" { printf "%.1f\n", $2 / 1024; found = 1 } END { if (!found) print 0 }' \
	    "/proc/$1/status"
}

# bench_loopback_conns DIR: lets the one load client past the bridge's
# per-address connection limit (http_max_conns_per_addr, 64 by default,
# both listeners together): wrk's 64 connections from 127.0.0.1 plus the
# script's own probes make 65, the bridge closes one at once, and wrk
# counts a socket error that fails the benchmark.
bench_loopback_conns() {
	sed -i 's/^http_max_conns_per_addr = .*/http_max_conns_per_addr = 1024/' "$1/keybridge.conf"
	grep -q '^http_max_conns_per_addr = 1024$' "$1/keybridge.conf" ||
		fail "no http_max_conns_per_addr line to raise in $1/keybridge.conf"
}
