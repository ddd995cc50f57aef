# shellcheck shell=bash
# tests/integration/vbridge.sh: a bridge with validators, for
# test_validators_*.sh (sourced after lib.sh and vlib.sh).

VERIFY_COSIG="$KB_LIB_DIR/../validator/verify_cosig.py"
ENTRIES_BIN=${BENCH_ENTRIES:-"$(dirname "$KEYBRIDGE")/bench/bench_entries"}
VB_NAMES=()

# vb_setup DIR WAIT_MS NAME...: `keybridge init DIR`, a validator per NAME
# (init and serve), their `validator =` lines and validator_wait_ms in
# DIR/keybridge.conf.  The bridge is not started.
vb_setup() {
	local dir=$1 wait=$2 n
	shift 2
	kb_init "$dir"
	for n in "$@"; do
		vd_init "$n" "$dir"
		vd_start "$n"
		printf 'validator = %s.test %s %s\n' "$n" "${VD_VKEY[$n]}" \
		    "${VD_URL[$n]}" >>"$dir/keybridge.conf"
		VB_NAMES+=("$n")
	done
	kb_conf_set "$dir" validator_wait_ms "$wait"
}

# vb_vkeys: the validators' vkeys, one per argument word.
vb_vkeys() {
	local n
	for n in "${VB_NAMES[@]}"; do
		printf '%s ' "${VD_VKEY[$n]}"
	done
}

# vb_check_blocks DIR FROM_HEIGHT QUORUM: every block of DIR's ledger from
# FROM_HEIGHT on carries >= QUORUM valid cosignatures of the validators,
# checked by verify_cosig.py (no keybridge code).  Prints how many.
vb_check_blocks() {
	local dir=$1 from=$2 q=$3 f n=0
	mkdir -p "$OUT/notes"
	rm -f "$OUT"/notes/*.note
	python3 - "$dir/ledger.db" "$from" "$OUT/notes" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
for h, cp in db.execute("SELECT height, checkpoint FROM blocks WHERE height >= ? ORDER BY height", (int(sys.argv[2]),)):
    with open("%s/%08d.note" % (sys.argv[3], h), "w") as f:
        f.write(cp)
PY
	# verify_cosig.py's own main() per note, in one interpreter (one
	# process per block would take minutes)
	# shellcheck disable=SC2046
	n=$(python3 - "$VERIFY_COSIG" "$OUT/notes" "$q" $(vb_vkeys) <<'PY'
import contextlib, glob, importlib.util, io, sys
spec = importlib.util.spec_from_file_location("verify_cosig", sys.argv[1])
vc = importlib.util.module_from_spec(spec)
spec.loader.exec_module(vc)
n = 0
for f in sorted(glob.glob(sys.argv[2] + "/*.note")):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = vc.main(["verify_cosig.py", f, sys.argv[3]] + sys.argv[4:])
    if rc != 0:
        sys.stderr.write("%s: %s%s\n" % (f, out.getvalue(), open(f).read()))
        sys.exit(1)
    n += 1
print(n)
PY
	) || fail "a block with fewer than $q valid cosignatures (above)"
	[ "$n" -gt 0 ] || fail "no block from height $from to check"
	echo "$n"
}

# vb_status NAME FIELD: a field of validator NAME's GET /status.
vb_status() {
	curl -sf --max-time 5 "${VD_URL[$1]}/status" | jq -r ".$2"
}

# vb_height DIR: the next block height of DIR's ledger.
vb_height() {
	sqlite3 "$1/ledger.db" 'SELECT coalesce(max(height), -1) + 1 FROM blocks'
}
