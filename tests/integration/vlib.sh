# shellcheck shell=bash
# tests/integration/vlib.sh: helpers for the validator tests
# (test_validator_*.sh), sourced after lib.sh.  Each validator NAME lives
# in OUT/NAME, logs to OUT/NAME.log, and its pid is in VD_PID[NAME].

BYZSEQ="$KB_LIB_DIR/../validator/byzseq.py"
declare -A VD_PID=()
declare -A VD_URL=()
declare -A VD_VKEY=()

# vd_init NAME BRIDGE_DIR [ARGS...]: `keybridge validator init OUT/NAME`
# on a free loopback port for the bridge in BRIDGE_DIR (its origin and
# node vkey); its vkey (the last line printed) in VD_VKEY[NAME].
vd_init() {
	local name=$1 bdir=$2 port out
	shift 2
	port=$(kb_free_ports 1)
	KB_USED_PORTS="$KB_USED_PORTS $port"
	out=$(kb_ok validator init "$OUT/$name" --name "$name.test" \
	    --listen "127.0.0.1:$port" \
	    --ledger "https://$(kb_conf_get "$bdir" est_listen)" \
	    --ledger-ca "$bdir/ca/root.pem" \
	    --log-vkey "$(kb_conf_get "$bdir" validator_vkey)" \
	    --origin "$(kb_conf_get "$bdir" origin)" "$@")
	VD_VKEY[$name]=$(tail -n 1 <<<"$out")
	VD_URL[$name]="http://127.0.0.1:$port"
	assert_match "${VD_VKEY[$name]}" "^$name\\.test\\+[0-9a-f]{8}\\+[A-Za-z0-9+/]+=*\$" "the vkey printed last by validator init $name"
	assert_file_mode "$OUT/$name/validator.key" 600
}

# vd_start NAME: `keybridge validator serve -d OUT/NAME` in the background;
# returns once GET /status answers.
vd_start() {
	local name=$1 deadline
	printf -- '--- %s validator serve -d %s\n' "$(date +%T)" "$OUT/$name" >>"$OUT/$name.log"
	"$KEYBRIDGE" validator serve -d "$OUT/$name" --log-level debug >>"$OUT/$name.log" 2>&1 &
	VD_PID[$name]=$!
	kb_track "${VD_PID[$name]}"
	deadline=$((SECONDS + 20))
	until curl -sf -o /dev/null --max-time 2 "${VD_URL[$name]}/status"; do
		kill -0 "${VD_PID[$name]}" 2>/dev/null || fail "validator $name exited before answering (see $OUT/$name.log: $(tail -n 3 "$OUT/$name.log"))"
		[ "$SECONDS" -lt "$deadline" ] || fail "validator $name does not answer within 20 s"
		sleep 0.1
	done
	log "started validator $name (pid ${VD_PID[$name]}) on ${VD_URL[$name]}"
}

# vd_check_sanitizers NAME: fails when a sanitizer reported into its log.
vd_check_sanitizers() {
	if grep -Eq 'ERROR: (Address|Leak|Memory|Thread)Sanitizer|runtime error:' "$OUT/$1.log"; then
		grep -E -m 5 -A 10 'ERROR: [A-Za-z]+Sanitizer|runtime error:' "$OUT/$1.log" >&2 || true
		fail "a sanitizer reported an error in $OUT/$1.log"
	fi
}

# vd_stop NAME: SIGTERM; it must exit 0 within 10 s.
vd_stop() {
	local name=$1 pid=${VD_PID[$1]} rc=0
	kill -TERM "$pid"
	kb_wait_gone "$pid" 10 || fail "validator $name (pid $pid) did not exit within 10 s of SIGTERM"
	wait "$pid" || rc=$?
	kb_untrack "$pid"
	vd_check_sanitizers "$name"
	assert_eq 0 "$rc" "exit status of validator $name after SIGTERM"
	log "stopped validator $name"
}

# vd_kill9 NAME: SIGKILL (a crash), reaped.
vd_kill9() {
	local pid=${VD_PID[$1]}
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null || true
	kb_untrack "$pid"
	vd_check_sanitizers "$1"
	log "killed validator $1 (pid $pid) with SIGKILL"
}
