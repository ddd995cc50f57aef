#!/usr/bin/env bash
# tests/bench/pg.sh: the ledger on PostgreSQL beside the ledger on SQLite,
# measured in the same run (these machines are shared: the ratio is the
# figure, not the rate).  A throwaway PostgreSQL 15 (scripts/pg.sh, fsync
# and synchronous_commit on) in OUT/pg.
#
#   1. entries accepted per second through POST /api/v1/entries
#      (bench_entries, CLIENTS keep-alive TLS clients, every entry
#      acknowledged only after its block committed): a bridge on SQLite and
#      a bridge on PostgreSQL, ROUNDS alternating rounds, the round with the
#      median ratio reported;
#   2. four bridges (copies of one data directory) on one PostgreSQL
#      database, a bench_entries against each at once.  bench_entries
#      creates its accounts through the admin account, so the four set up
#      one after the other (a second apart: its account names carry the
#      time) and their loads overlap only partly: reported are the sum of
#      the four rates, and the rate of the whole database while all four
#      were loading (tree size sampled when the last one started and when
#      the first one finished);
#   3. `keybridge ledger verify` of every ledger written;
#   4. cached OCSP GETs (one enrolled certificate each, no nonce), wrk -t2
#      -c64 keep-alive, ROUNDS alternating rounds against the bridge on
#      PostgreSQL and the bridge on SQLite.
# Every answer must be 201 (entries) or 200 (OCSP): failures fail it.
# Env: BENCH_PG_CLIENTS (16), BENCH_PG_PER_CLIENT (250), BENCH_PG_ROUNDS (3),
# BENCH_PG_SECONDS (5 per wrk run), BENCH_PG_WINDOW (25: seconds the four
# bridges' loads are sized for, from the one-bridge rate),
# BENCH_PG_PER_CLIENT4 (per-client entries with four bridges; overrides
# the sizing).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
: "${OUT:=$root/tests/out/bench/pg}"
: "${KEYBRIDGE:=$root/build/keybridge}"
: "${BENCH:=$root/build/bench}"
mkdir -p "$OUT"
# shellcheck source=../integration/lib.sh
. "$root/tests/integration/lib.sh"
# shellcheck source=common.bash
. "$root/tests/bench/common.bash"

clients=${BENCH_PG_CLIENTS:-16}
per=${BENCH_PG_PER_CLIENT:-250}
rounds=${BENCH_PG_ROUNDS:-3}
secs=${BENCH_PG_SECONDS:-5}
window=${BENCH_PG_WINDOW:-25}
NBRIDGES=4
# a run again starts from empty data directories
rm -rf "$OUT/sqlite" "$OUT/pg1" "$OUT"/b[0-9]
command -v wrk >/dev/null || fail "wrk is not installed (scripts/deps.sh installs it)"

echo "setup: PostgreSQL 15 (scripts/pg.sh) in $OUT/pg, databases kb1 and kb$NBRIDGES"
# stopped with the benchmark, however it ends (kb_pg_exit)
kb_pg_start kb1 "kb$NBRIDGES"
DB1=$DB
DB4="${URL%/postgres}/kb$NBRIDGES"

# Bridges by name: directory, pid, HTTPS and HTTP URLs.
declare -A BDIR BPID BURL BHTTP
# start_bridge NAME DIR: keybridge serve (request log lines off).
start_bridge() {
	KB_SERVE_PID=""
	kb_start "$2" --log-level warn >/dev/null
	BDIR[$1]=$2
	BPID[$1]=$KB_SERVE_PID
	BURL[$1]=$KB_URL
	BHTTP[$1]=$KB_HTTP_URL
	KB_SERVE_PID=""
}
# stop_bridge NAME: SIGTERM; it must exit 0.
stop_bridge() {
	KB_SERVE_PID=${BPID[$1]}
	kb_stop >/dev/null
	BPID[$1]=""
}
# verify_ledger DIR WHAT: keybridge ledger verify must pass.
verify_ledger() {
	"$KEYBRIDGE" ledger verify -d "$1" >"$OUT/verify-$2.txt" 2>&1 ||
		fail "ledger verify of $2 failed: $(tail -n 5 "$OUT/verify-$2.txt")"
	echo "  ledger verify ($2): $(tail -n 1 "$OUT/verify-$2.txt")"
}
# entries NAME TAG PER: bench_entries against bridge NAME; prints its rate.
entries() {
	local f="$OUT/entries-$2.txt"
	"$BENCH/bench_entries" "${BDIR[$1]}" "$clients" "$3" >"$f" 2>&1 ||
		fail "bench_entries against $1: $(tail -n 5 "$f")"
	awk '/^entries_per_second/ { print $2 }' "$f"
}

kb_init "$OUT/sqlite" >/dev/null
bench_loopback_conns "$OUT/sqlite"
start_bridge sqlite "$OUT/sqlite"
kb_init "$OUT/pg1" --db "$DB1" >/dev/null
bench_loopback_conns "$OUT/pg1"
start_bridge pg1 "$OUT/pg1"

# ---- 1. one bridge: PostgreSQL beside SQLite ---------------------------------------------
echo "append: $rounds rounds of bench_entries ($clients clients x $per entries), SQLite then PostgreSQL"
: >"$OUT/rounds-append.txt"
for ((k = 1; k <= rounds; k++)); do
	rs=$(entries sqlite "sqlite-$k" "$per")
	rp=$(entries pg1 "pg1-$k" "$per")
	echo "  round $k: SQLite $rs entries/s (p99 $(awk '/^p99_ms/ { print $2 }' "$OUT/entries-sqlite-$k.txt") ms), PostgreSQL $rp entries/s (p99 $(awk '/^p99_ms/ { print $2 }' "$OUT/entries-pg1-$k.txt") ms)"
	awk -v s="$rs" -v p="$rp" 'BEGIN { printf "%.4f %s %s\n", p / s, p, s }' >>"$OUT/rounds-append.txt"
done
read -r A_RATIO A_PG A_SQ <<<"$(sort -n "$OUT/rounds-append.txt" | awk -v m=$(((rounds + 1) / 2)) 'NR == m')"
echo "  median round: PostgreSQL $A_PG entries/s, SQLite $A_SQ entries/s"

# ---- 2. four bridges on one database --------------------------------------------------------
kb_init "$OUT/b1" --db "$DB4" >/dev/null
for ((i = 2; i <= NBRIDGES; i++)); do
	kb_copy_dir "$OUT/b1" "$OUT/b$i"
done
for ((i = 1; i <= NBRIDGES; i++)); do
	start_bridge "b$i" "$OUT/b$i"
done
# Sized so that the four loads last about WINDOW seconds together at the
# one-bridge rate: the setups take a second or more each, and the first
# load must still run when the last one starts.
per4=${BENCH_PG_PER_CLIENT4:-$(awk -v r="$A_PG" -v w="$window" -v n=$((NBRIDGES * clients)) \
    'BEGIN { p = int(r * w / n); if (p < 50) p = 50; print p }')}
echo "append, $NBRIDGES bridges on one database: bench_entries ($clients clients x $per4 entries) against each at once"
accounts0=$(DB=$DB4 psql_q "SELECT count(*) FROM accounts")
declare -a EPID
for ((i = 1; i <= NBRIDGES; i++)); do
	f="$OUT/entries-b$i.txt"
	# the end time of each run: its window is [end - seconds, end]
	( "$BENCH/bench_entries" "${BDIR[b$i]}" "$clients" "$per4" >"$f" 2>&1; rc=$?
	  date +%s.%N >"$OUT/end-b$i.txt"; exit $rc ) &
	EPID[i]=$!
	kb_track "${EPID[i]}"
	# its accounts made (setup done), and a new second for the next
	# one's account names
	deadline=$((SECONDS + 60))
	until [ "$(DB=$DB4 psql_q "SELECT count(*) FROM accounts")" -ge $((accounts0 + i * clients)) ]; do
		kill -0 "${EPID[i]}" 2>/dev/null || fail "bench_entries against b$i ended in its setup: $(tail -n 5 "$f")"
		[ "$SECONDS" -lt "$deadline" ] || fail "bench_entries against b$i: no accounts after 60 s"
		sleep 0.02
	done
	if [ "$i" -lt "$NBRIDGES" ]; then
		s=$(date +%s)
		while [ "$(date +%s)" -eq "$s" ]; do sleep 0.02; done
	fi
done
t_all=$(date +%s.%N)
size_all=$(DB=$DB4 psql_q "SELECT size FROM blocks ORDER BY height DESC LIMIT 1")
# wait for the first one to finish, then the rest
t_first="" size_first=""
while :; do
	n_done=0
	for ((i = 1; i <= NBRIDGES; i++)); do
		[ -s "$OUT/end-b$i.txt" ] && n_done=$((n_done + 1))
	done
	if [ "$n_done" -gt 0 ] && [ -z "$t_first" ]; then
		t_first=$(date +%s.%N)
		size_first=$(DB=$DB4 psql_q "SELECT size FROM blocks ORDER BY height DESC LIMIT 1")
	fi
	[ "$n_done" -lt "$NBRIDGES" ] || break
	sleep 0.02
done
sum4=0
for ((i = 1; i <= NBRIDGES; i++)); do
	rc=0
	wait "${EPID[i]}" || rc=$?
	kb_untrack "${EPID[i]}"
	[ "$rc" -eq 0 ] || fail "bench_entries against b$i: exit $rc: $(tail -n 5 "$OUT/entries-b$i.txt")"
	r=$(awk '/^entries_per_second/ { print $2 }' "$OUT/entries-b$i.txt")
	echo "  b$i: $r entries/s over $(awk '/^seconds/ { print $2 }' "$OUT/entries-b$i.txt") s (p99 $(awk '/^p99_ms/ { print $2 }' "$OUT/entries-b$i.txt") ms)"
	sum4=$((sum4 + r))
done
rate_all=$(awk -v a="$size_all" -v b="$size_first" -v s="$t_all" -v e="$t_first" \
    'BEGIN { if (e - s < 0.5) print 0; else printf "%.0f\n", (b - a) / (e - s) }')
win_all=$(awk -v s="$t_all" -v e="$t_first" 'BEGIN { printf "%.1f\n", e - s }')
echo "  sum of the four rates: $sum4 entries/s; while all four loaded (${win_all} s): $rate_all entries/s"
for ((i = 1; i <= NBRIDGES; i++)); do
	stop_bridge "b$i"
done
verify_ledger "$OUT/b1" "$NBRIDGES bridges"

# ---- 3. OCSP from a bridge on PostgreSQL and on SQLite ----------------------------------------------
echo "setup: one enrolled certificate on each bridge (SQLite, PostgreSQL)"
declare -A OPATH
for b in sqlite pg1; do
	KB_DIR=${BDIR[$b]}
	KB_URL=${BURL[$b]}
	kb_enroll "ocsp-$b" >/dev/null
	openssl ocsp -issuer "$KB_DIR/ca/issuing.pem" -cert "$OUT/ocsp-$b.pem" -no_nonce \
	    -reqout "$OUT/req-$b.der" 2>/dev/null
	OPATH[$b]="/ocsp/$(base64 -w0 "$OUT/req-$b.der" | sed 's/+/%2B/g; s/\//%2F/g; s/=/%3D/g')"
	code=$(curl -sS -o "$OUT/resp-$b.der" -w '%{http_code}' --max-time 10 "${BHTTP[$b]}${OPATH[$b]}") ||
		fail "GET OCSP from $b: no answer"
	assert_eq 200 "$code" "GET OCSP from $b"
	out=$(openssl ocsp -respin "$OUT/resp-$b.der" -issuer "$KB_DIR/ca/issuing.pem" \
	    -cert "$OUT/ocsp-$b.pem" -no_nonce -CAfile "$KB_DIR/ca/root.pem" 2>&1) ||
		fail "the OCSP answer of $b does not verify: $out"
	assert_contains "$out" "ocsp-$b.pem: good" "OCSP answer of $b"
done
echo "load: $rounds rounds of wrk -t2 -c64 -d${secs}s --latency GET /ocsp/<request> (keep-alive), PostgreSQL then SQLite"
: >"$OUT/rounds-ocsp.txt"
for ((k = 1; k <= rounds; k++)); do
	read -r p_rate p_p50 p_p99 <<<"$(run_wrk "ocsp-pg-$k" -t2 -c64 -d"${secs}s" --latency "${BHTTP[pg1]}${OPATH[pg1]}")"
	read -r s_rate s_p50 s_p99 <<<"$(run_wrk "ocsp-sqlite-$k" -t2 -c64 -d"${secs}s" --latency "${BHTTP[sqlite]}${OPATH[sqlite]}")"
	echo "  round $k: PostgreSQL $p_rate req/s (p50 $p_p50 ms, p99 $p_p99 ms), SQLite $s_rate req/s (p50 $s_p50 ms, p99 $s_p99 ms)"
	awk -v p="$p_rate" -v s="$s_rate" 'BEGIN { printf "%.4f", p / s }' >>"$OUT/rounds-ocsp.txt"
	echo " $p_rate $p_p99 $s_rate $s_p99" >>"$OUT/rounds-ocsp.txt"
done
read -r O_RATIO O_PG O_PG99 O_SQ O_SQ99 <<<"$(sort -n "$OUT/rounds-ocsp.txt" | awk -v m=$(((rounds + 1) / 2)) 'NR == m')"
O_ALL=$(sort -n "$OUT/rounds-ocsp.txt" | awk '{ printf "%s%.2f", (NR > 1 ? ", " : ""), $1 }')
stop_bridge sqlite
stop_bridge pg1
verify_ledger "$OUT/sqlite" SQLite
verify_ledger "$OUT/pg1" "PostgreSQL, one bridge"

awk -v ar="$A_RATIO" -v ap="$A_PG" -v as="$A_SQ" -v c="$clients" -v per="$per" -v per4="$per4" \
    -v n="$NBRIDGES" -v sum4="$sum4" -v all="$rate_all" -v win="$win_all" \
    -v orr="$O_RATIO" -v op="$O_PG" -v op99="$O_PG99" -v os="$O_SQ" -v os99="$O_SQ99" -v oall="$O_ALL" '
BEGIN {
	printf "RESULT pg append, one bridge: %.0f entries/s (%d clients x %d entries) = %.2f x the bridge on SQLite in the same round (%.0f/s; median of %s rounds); target >= 0.5\n", ap, c, per, ar, as, "'"$rounds"'"
	printf "RESULT pg append, %d bridges on one database: %.0f entries/s summed (%d x %d clients x %d entries; setups one after the other) = %.2f x SQLite; %.0f entries/s while all %d loaded (%s s) = %.2f x SQLite\n", n, sum4, n, c, per4, sum4 / as, all, n, win, all / as
	printf "RESULT pg ocsp GET cached: %.0f answers/s (p99 %.2f ms, wrk 64 connections) = %.2f x the bridge on SQLite (%.0f/s, p99 %.2f ms; median of the round ratios %s); target 1.0 within noise\n", op, op99, orr, os, os99, oall
}' | tee "$OUT/result.txt"
bench_csv append_rate "$A_PG" entries/s sqlite_append_rate "$A_SQ"
bench_csv append_4bridges_sum_rate "$sum4" entries/s sqlite_append_rate "$A_SQ"
bench_csv append_4bridges_all_loaded_rate "$rate_all" entries/s sqlite_append_rate "$A_SQ"
bench_csv ocsp_get_rate "$O_PG" answers/s sqlite_ocsp_get_rate "$O_SQ"
bench_csv ocsp_get_p99 "$O_PG99" ms sqlite_ocsp_get_p99 "$O_SQ99"
