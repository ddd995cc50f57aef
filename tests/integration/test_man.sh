#!/usr/bin/env bash
# test_man.sh: the man pages keybridge(8) and keybridge.conf(5) (issue 17).
#
# Asserts: `mandoc -Tlint -Wwarning` reports nothing on either page (style
# notes such as "referenced manual not found", which depend on the
# machine's mandoc.db, are not counted); every long option of main.c's
# option table (long_opts) is in keybridge(8), and every option each
# command's --help lists (the command's own cli_only list) is in that
# command's entry of COMMANDS or in COMMON OPTIONS; every key of
# bridge/config_table.c, every `validator`/`witness` line key, and every
# key `keybridge init` writes is an entry of keybridge.conf(5).  The
# lists come from the sources and the binary, never from a list kept
# here: an option or key added without its man entry fails this test.

# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

REPO=$(cd "$(dirname "$0")/../.." && pwd)
M8="$REPO/man/keybridge.8"
M5="$REPO/man/keybridge.conf.5"
command -v mandoc >/dev/null || fail "mandoc is missing (scripts/deps.sh installs it)"

for m in "$M8" "$M5"; do
	rc=0
	mandoc -Tlint -Wwarning "$m" >"$OUT/lint.log" 2>&1 || rc=$?
	assert_eq 0 "$rc" "mandoc -Tlint -Wwarning $(basename "$m"): $(cat "$OUT/lint.log")"
	assert_eq "" "$(cat "$OUT/lint.log")" "mandoc -Tlint -Wwarning $(basename "$m")"
	mandoc -Tutf8 "$m" >/dev/null || fail "mandoc cannot render $(basename "$m")"
done
log "mandoc -Tlint: both pages clean"

# ---- every option of the binary in keybridge(8) ------------------------------------
# main.c's long_opts: { "name", has_arg, NULL, O_... }
opts=$(sed -n '/^static struct option long_opts/,/^};/p' "$REPO/bridge/cli/main.c" |
	grep -oE '^\s*\{ "[a-z0-9-]+"' | grep -oE '[a-z0-9-]+')
n=$(wc -w <<<"$opts")
[ "$n" -gt 50 ] || fail "only $n options read from main.c's long_opts: $opts"
missing=""
for o in $opts; do
	grep -qE "Fl -$o( |$)" "$M8" || missing="$missing --$o"
done
for s in d h i n o V; do
	grep -qE "Fl $s( |$)" "$M8" || missing="$missing -$s"
done
[ -z "$missing" ] || fail "options of the binary missing from keybridge(8):$missing"
log "keybridge(8) has all $n long options of main.c and -d -h -i -n -o -V"

# ---- every command's options in its own entry ------------------------------------------
# the commands: the first words of keybridge --help's synopses
mapfile -t cmds < <("$KEYBRIDGE" --help | awk 'NF == 0 { b++; next } b == 1 && /^  [a-z]/ {
	print $1 ($2 ~ /^[a-z][a-z-]*$/ ? " " $2 : "") }')
[ "${#cmds[@]}" -gt 20 ] || fail "only ${#cmds[@]} commands in keybridge --help"
# section CMD: the COMMANDS entry of CMD (its .It line, the .It lines right
# after it that share its text, and that text) and COMMON OPTIONS
section() {
	awk -v head=".It Cm $1" '
	/^\.Sh / { common = ($0 == ".Sh COMMON OPTIONS"); insec = 0 }
	common { print; next }
	index($0, ".It Cm ") == 1 {
		if (index($0 " ", head " ") == 1) { insec = 1; inhead = 1; print; next }
		if (insec && inhead) { print; next }
		insec = 0; next
	}
	insec { inhead = 0; print }' "$M8"
}
missing=""
for c in "${cmds[@]}"; do
	sec=$(section "$c")
	grep -q "^\.It Cm $c" <<<"$sec" || { missing="$missing [$c: no entry]"; continue; }
	# shellcheck disable=SC2086 # c is "cmd sub"
	for o in $("$KEYBRIDGE" $c --help | grep -oE '^  (-[a-zA-Z], )?--[a-z0-9-]+' | grep -oE -- '--[a-z0-9-]+'); do
		grep -qE "Fl ${o#-}( |$)" <<<"$sec" || missing="$missing [$c $o]"
	done
done
[ -z "$missing" ] || fail "keybridge(8) lacks, in the command's entry:$missing"
log "keybridge(8): every option of each of ${#cmds[@]} commands' --help in its entry"

# ---- every configuration key in keybridge.conf(5) -----------------------------------------
keys=$(grep -oE '^\s*C(STR0?|LONG|LEVEL)\([a-z_0-9]+' "$REPO/bridge/config_table.c" | grep -oE '[a-z_0-9]+$')
# and the keys config.c's parser takes outside the table (the repeatable
# validator and witness lines)
keys="$keys $(grep -ohE 'strcmp\(key, "[a-z_0-9]+"\)' "$REPO"/bridge/config*.c | grep -oE '"[a-z_0-9]+"' | tr -d '"')"
n=$(wc -w <<<"$keys")
[ "$n" -gt 40 ] || fail "only $n keys read from bridge/config_table.c: $keys"
kb_init "$OUT/data"
written=$(grep -oE '^[a-z_0-9]+ =' "$OUT/data/keybridge.conf" | grep -oE '^[a-z_0-9]+')
missing=""
for k in $keys $written; do
	grep -qxF ".It Cm $k" "$M5" || missing="$missing $k"
done
[ -z "$missing" ] || fail "configuration keys missing from keybridge.conf(5):$(tr ' ' '\n' <<<"$missing" | sort -u | paste -sd' ')"
log "keybridge.conf(5) has all $n keys of the table and the $(wc -w <<<"$written") init writes"
log "PASS"
