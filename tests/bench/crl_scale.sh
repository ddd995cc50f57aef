#!/usr/bin/env bash
# tests/bench/crl_scale.sh: partitioned and delta CRLs at scale (issue 18,
# "CRLs at scale"; by hand, not part of `make bench`).
#
# One ledger of N device keys with a certificate each, 10% revoked
# (bench_fill DIR N certs 10), served alternately ROUNDS times with
#   crl_partitions = 1   (the reference: one full CRL, made again at every
#                         revocation, as before issue 18) and
#   crl_partitions = P   (BENCH_CRL_PARTS, default 16: partition and delta
#                         CRLs).
# Each round revokes one good certificate's key (`key revoke`) once the
# bridge serves its CRLs and times, from the command's return, until
#   P = 1: the full CRL lists it;
#   P > 1: the delta of its partition lists it (and the full CRL's delta);
# with the CPU time serve and its key process spent meanwhile (utime +
# stime from /proc/PID/stat), and the sizes of the full CRL, of a
# partition CRL and of the delta.  Prints RESULT lines; each mode's median
# over the rounds as rows of the CSV contract (OUT/results.csv, with the
# ledger size), every round also in OUT/crl_scale.csv.
#   BENCH_CRL_N (100000), BENCH_CRL_PARTS (16), BENCH_CRL_ROUNDS (3),
#   BENCH_CRL_REUSE=1 keeps the ledger of an earlier run of the same OUT.
#   BENCH_CRL_FROM=DIR copies a data directory bench_fill filled elsewhere
#   (e.g. a million certificates; `make bench-scale`: scale.sh's 100,000)
#   to OUT/n$N instead of filling one, on ports of this run (a DIR without
#   bench_fill's fill-revoked.txt is not used: a ledger is filled); BENCH_CRL_SETTLE=0 times the revocation as soon as
#   the CRLs are served, while the pre-signing still runs (a start at a
#   million certificates signs 2,000,000 OCSP answers first).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
: "${OUT:=$root/tests/out/bench/crl_scale}"
: "${KEYBRIDGE:=$root/build/keybridge}"
: "${BENCH:=$root/build/bench}"
mkdir -p "$OUT"
# shellcheck source=../integration/lib.sh
. "$root/tests/integration/lib.sh"
# shellcheck source=common.bash
. "$root/tests/bench/common.bash"

N=${BENCH_CRL_N:-100000}
P=${BENCH_CRL_PARTS:-16}
ROUNDS=${BENCH_CRL_ROUNDS:-3}
dir="$OUT/n$N"
now_us() { local t=$EPOCHREALTIME; echo "${t/./}"; }
hz=$(getconf CLK_TCK)
csv() { echo "$1,$2,$3,$4" >>"$OUT/crl_scale.csv"; }
# lists FILE SERIAL: the DER CRL FILE lists SERIAL (lowercase hex)
lists() {
	[ "$(openssl crl -inform DER -in "$1" -noout -text 2>/dev/null | tr -d ' :' | grep -cix "serialnumber$2")" != 0 ]
}
# wait200 URL FILE: GET URL into FILE until HTTP 200 (120 s at most)
wait200() {
	local t0=$SECONDS
	until [ "$(curl -sS -o "$2" -w '%{http_code}' "$1")" = 200 ]; do
		[ $((SECONDS - t0)) -lt 120 ] || fail "GET $1: no 200 after 120 s"
		sleep 0.05
	done
}

# crl_start DIR: serve in the background (a start at 100,000 certificates
# on a loaded machine takes longer than kb_start's 20 s); returns once the
# pre-signing is done (keybridge_ocsp_resign_pending 0), 600 s at most, so
# that the revocation is timed in the steady state.
crl_start() {
	local t0=$SECONDS pend
	KB_DIR=$1
	KB_URL="https://$(kb_conf_get "$1" est_listen)"
	KB_HTTP_URL="http://$(kb_conf_get "$1" http_listen)"
	"$KEYBRIDGE" serve -d "$1" >>"$OUT/serve.log" 2>&1 &
	KB_SERVE_PID=$!
	kb_track "$KB_SERVE_PID"
	while :; do
		kill -0 "$KB_SERVE_PID" 2>/dev/null || fail "serve exited (see $OUT/serve.log)"
		[ $((SECONDS - t0)) -lt 600 ] || fail "serve not settled after 600 s"
		pend=$(curl -s --max-time 5 "$KB_HTTP_URL/metrics" | awk '$1 == "keybridge_ocsp_resign_pending" { print $2 }' || true)
		[ "${pend:-x}" != 0 ] || break
		[ "${BENCH_CRL_SETTLE:-1}" != 0 ] || [ -z "$pend" ] || break
		sleep 1
	done
	echo "  serve settled after $((SECONDS - t0)) s (OCSP re-signs pending: $pend)"
}

# crl_stop: SIGTERM and wait (a clean stop at a million certificates
# writes the status map snapshot, ~6 s, which the next start loads).
crl_stop() {
	kill -TERM "$KB_SERVE_PID"
	kb_wait_gone "$KB_SERVE_PID" 120 || fail "serve did not stop within 120 s"
	kb_untrack "$KB_SERVE_PID"
	KB_SERVE_PID=""
}

echo "crl_scale: N=$N P=$P rounds=$ROUNDS; $(date -u +%FT%TZ); load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "size,mode,metric,value" >"$OUT/crl_scale.csv"
if [ -n "${BENCH_CRL_FROM:-}" ] && [ -f "$dir/fill-revoked.txt" ]; then
	echo "  reusing $dir (copied from $BENCH_CRL_FROM before)"
elif [ -n "${BENCH_CRL_FROM:-}" ] && [ -f "$BENCH_CRL_FROM/fill-revoked.txt" ]; then
	rm -rf "$dir"
	cp -a "$BENCH_CRL_FROM" "$dir"
	rm -f "$dir"/ocsp-store.db*
	kb_conf_set "$dir" ocsp_store off >/dev/null
	kb_conf_set "$dir" ocsp_cache_max 0 >/dev/null
	ports=$(kb_free_ports 2)
	KB_USED_PORTS="$KB_USED_PORTS $ports"
	kb_conf_set "$dir" est_listen "127.0.0.1:${ports% *}" >/dev/null
	kb_conf_set "$dir" http_listen "127.0.0.1:${ports#* }" >/dev/null
	kb_conf_set "$dir" public_http_url "http://127.0.0.1:${ports#* }" >/dev/null
	kb_conf_set "$dir" public_https_url "https://127.0.0.1:${ports% *}" >/dev/null
	echo "  copied $BENCH_CRL_FROM"
elif [ -z "${BENCH_CRL_REUSE:-}" ] || [ ! -f "$dir/fill-revoked.txt" ]; then
	rm -rf "$dir"
	kb_init "$dir" >/dev/null
	kb_conf_set "$dir" access_log access.log >/dev/null
	t=$(now_us)
	"$BENCH/bench_fill" "$dir" "$N" certs 10 >"$OUT/fill-$N.txt" 2>&1 ||
		fail "bench_fill: $(tail -n 5 "$OUT/fill-$N.txt")"
	echo "  bench_fill: $((($(now_us) - t) / 1000)) ms"
fi
grep -vxFf "$dir/fill-revoked.txt" "$dir/fill-serials.txt" | shuf -n $((2 * ROUNDS)) >"$OUT/victims.txt"

round=0
for r in $(seq 1 "$ROUNDS"); do
	for mode in 1 "$P"; do
		round=$((round + 1))
		victim=$(sed -n "${round}p" "$OUT/victims.txt")
		kb_conf_set "$dir" crl_partitions "$mode" >/dev/null
		crl_start "$dir"
		curl -sS --cacert "$dir/ca/root.pem" -o "$OUT/victim.json" "$KB_URL/api/v1/certs/$victim"
		kid=$(jq -er .key_id "$OUT/victim.json") || fail "no key_id for $victim"
		id=$(jq -er .issuer "$OUT/victim.json")
		full="$KB_HTTP_URL/crl/$id.crl"
		p=$((16#${victim: -2} % mode))
		if [ "$mode" = 1 ]; then url=$full; else url="$KB_HTTP_URL/crl/$id/$mode/$p.delta.crl"; fi
		wait200 "$full" "$OUT/full.crl"
		wait200 "$url" "$OUT/watch.crl"
		if [ "$mode" != 1 ]; then
			wait200 "$KB_HTTP_URL/crl/$id/$mode/$p.crl" "$OUT/part.crl"
			wait200 "$KB_HTTP_URL/crl/$id.delta.crl" "$OUT/fdelta.crl"
		fi
		sleep 2		# the first CRLs made and served
		kp=$(keyproc_pid)
		c0=$(($(cpu_ticks "$KB_SERVE_PID") + $(cpu_ticks "$kp")))
		load=$(cut -d' ' -f1 /proc/loadavg)
		"$KEYBRIDGE" key revoke -d "$dir" --key-id "$kid" --reason keyCompromise >/dev/null
		t0=$(now_us)
		until curl -sS -o "$OUT/watch.crl" "$url" && lists "$OUT/watch.crl" "$victim"; do
			[ $((($(now_us) - t0) / 1000000)) -lt 60 ] || fail "$victim not in $url after 60 s"
		done
		ms=$((($(now_us) - t0) / 1000))
		c1=$(($(cpu_ticks "$KB_SERVE_PID") + $(cpu_ticks "$kp")))
		cpu=$(((c1 - c0) * 1000 / hz))
		fb=$(wc -c <"$OUT/full.crl"); wb=$(wc -c <"$OUT/watch.crl")
		if [ "$mode" = 1 ]; then
			echo "RESULT crl $N P=1 round $r: revocation in the full CRL after $ms ms (serve + key process CPU $cpu ms, load $load); full CRL $fb bytes"
		else
			pb=$(wc -c <"$OUT/part.crl")
			fd=$(curl -sS "$KB_HTTP_URL/crl/$id.delta.crl" | wc -c)
			echo "RESULT crl $N P=$mode round $r: revocation in its partition's delta after $ms ms (serve + key process CPU $cpu ms, load $load); full CRL $fb bytes, partition CRL $pb bytes, delta $wb bytes, full CRL's delta $fd bytes"
			csv "$N" "$mode" part_bytes "$pb"; csv "$N" "$mode" delta_bytes "$wb"
		fi
		csv "$N" "$mode" visible_ms "$ms"; csv "$N" "$mode" cpu_ms "$cpu"; csv "$N" "$mode" full_bytes "$fb"
		crl_stop
	done
done
# median VAR MODE: the median over the rounds of MODE's METRIC
median() {
	awk -F, -v m="$2" -v k="$1" '$2 == m && $3 == k { print $4 }' "$OUT/crl_scale.csv" | sort -n |
	    awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'
}
full_ms=$(median visible_ms 1)
bench_csv revoke_to_full_crl "$full_ms" ms "" "" "$N"
bench_csv revoke_to_delta_crl "$(median visible_ms "$P")" ms revoke_to_full_crl "$full_ms" "$N"
bench_csv revoke_cpu_full_crl "$(median cpu_ms 1)" ms "" "" "$N"
bench_csv revoke_cpu_delta_crl "$(median cpu_ms "$P")" ms "" "" "$N"
bench_csv crl_full_bytes "$(median full_bytes 1)" bytes "" "" "$N"
bench_csv crl_partition_bytes "$(median part_bytes "$P")" bytes "" "" "$N"
bench_csv crl_delta_bytes "$(median delta_bytes "$P")" bytes "" "" "$N"
uptime
