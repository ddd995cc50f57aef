#!/usr/bin/env bash
# The dashboard (/dashboard/) in a real browser: headless Debian Chromium
# driven by playwright-core (from npm, with the system Chromium: no
# browser download) through tests/integration/dashboard_test.mjs.
#
# With curl first: the files are served with their Content-Type,
# Cache-Control: no-cache, an ETag (304 on If-None-Match), the
# Content-Security-Policy and nosniff; /dashboard redirects to /dashboard/;
# traversal spellings (/dashboard/../keybridge.conf, %2e%2e, //) and
# unknown names are JSON 404s; other methods 405; HEAD has no body.
#
# In the browser (mode live): the status header shows the tree size, a key
# registered with the CLI appears and its badge turns revoked after `key
# revoke`, without a reload; every entry's inclusion proof is verified in
# the browser (Web Crypto SHA-256 against the checkpoint root); an audit
# path and an entry text altered in transit are marked failed; no console
# error; a full-page screenshot in $OUT/dashboard.png.  Then with
# api_auth = token (mode token): the page asks for the token, refuses a
# wrong one and works with the right one.  Last, `dashboard = off` takes
# the page away and `dashboard = maybe` is refused at start.
#
# playwright-core is installed once into KB_NODE_CACHE (default
# $HOME/.cache/keybridge-node, outside tests/out) and reused.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PW_VERSION=1.65.1
NODE_CACHE=${KB_NODE_CACHE:-$HOME/.cache/keybridge-node}
CHROMIUM=/usr/bin/chromium
MJS="$KB_LIB_DIR/dashboard_test.mjs"
FILES=$(cd "$KB_LIB_DIR/../../examples/dashboard" && pwd)

# ---- the browser and its driver ----------------------------------------------------
[ -x "$CHROMIUM" ] || fail "$CHROMIUM is missing (Debian package chromium: make deps)"
command -v node >/dev/null || fail "node is missing (Debian package nodejs: make deps)"
command -v npm >/dev/null || fail "npm is missing (make deps)"
PLAYWRIGHT="$NODE_CACHE/node_modules/playwright-core"
if [ "$(jq -r .version "$PLAYWRIGHT/package.json" 2>/dev/null)" != "$PW_VERSION" ]; then
	log "installing playwright-core $PW_VERSION into $NODE_CACHE"
	mkdir -p "$NODE_CACHE"
	[ -f "$NODE_CACHE/package.json" ] ||
		echo '{"name": "keybridge-test-node", "private": true}' >"$NODE_CACHE/package.json"
	(cd "$NODE_CACHE" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund \
	    "playwright-core@$PW_VERSION") >"$OUT/npm.log" 2>&1 ||
		fail "npm install playwright-core failed: $(tail -n 5 "$OUT/npm.log")"
fi
export PLAYWRIGHT
log "$("$CHROMIUM" --version 2>/dev/null | head -n 1), node $(node --version), playwright-core $PW_VERSION"

DIR="$OUT/data"
kb_init "$DIR"
kb_start "$DIR"
CA="$DIR/ca/root.pem"

# ---- the files over HTTPS, with curl ---------------------------------------------------
HDR="$OUT/headers"
# fetch PATH [CURL ARGS...]: prints the status; headers in $HDR, body in $API_BODY
fetch() {
	local p=$1
	shift
	curl -sS --path-as-is -D "$HDR" -o "$API_BODY" -w '%{http_code}' --max-time 10 \
	    --cacert "$CA" "$@" "$KB_URL$p" || fail "GET $p: curl failed"
}
header() {
	tr -d '\r' <"$HDR" | awk -v n="$1" 'BEGIN { n = tolower(n) }
		{ i = index($0, ":"); if (i > 0 && tolower(substr($0, 1, i - 1)) == n) {
			v = substr($0, i + 1); sub(/^[ \t]+/, "", v); print v } }' | tail -n 1
}

for f in index.html:text/html app.js:text/javascript style.css:text/css favicon.svg:image/svg\\+xml; do
	name=${f%%:*}
	type=${f#*:}
	path="/dashboard/$name"
	[ "$name" = index.html ] && path=/dashboard/
	assert_eq 200 "$(fetch "$path")" "GET $path"
	cmp -s "$API_BODY" "$FILES/$name" || fail "GET $path: not the bytes of examples/dashboard/$name"
	assert_match "$(header Content-Type)" "^$type(; charset=utf-8)?\$" "Content-Type of $path"
	assert_eq no-cache "$(header Cache-Control)" "Cache-Control of $path"
	assert_eq nosniff "$(header X-Content-Type-Options)" "X-Content-Type-Options of $path"
	assert_match "$(header Content-Security-Policy)" "^default-src 'self'(;|\$)" "Content-Security-Policy of $path"
	assert_eq "\"$(sha256sum "$FILES/$name" | cut -d' ' -f1)\"" "$(header ETag)" "ETag of $path"
	etag=$(header ETag)
	assert_eq 304 "$(fetch "$path" -H "If-None-Match: $etag")" "GET $path with If-None-Match"
	assert_eq "$etag" "$(header ETag)" "ETag of the 304 of $path"
	len=$(wc -c <"$FILES/$name")
	assert_eq 200 "$(fetch "$path" -I)" "HEAD $path"
	assert_eq "$len" "$(header Content-Length)" "Content-Length of HEAD $path"
done
log "files served with their types, no-cache, ETag/304, CSP and nosniff"
assert_eq 200 "$(fetch /dashboard/index.html)" "GET /dashboard/index.html"
assert_eq 301 "$(fetch /dashboard)" "GET /dashboard"
assert_eq /dashboard/ "$(header Location)" "Location of /dashboard"
for p in /dashboard/../keybridge.conf /dashboard/%2e%2e/keybridge.conf /dashboard/%2e%2e/x \
    /dashboard/..%2fkeybridge.conf /dashboard//index.html /dashboard/index.html/ \
    /dashboard/./app.js /dashboard/nothing.js /dashboard/INDEX.HTML /dashboard/app.js%00 \
    /dashboardx /dashboard/.. "/dashboard/$(head -c 300 /dev/zero | tr '\0' a)"; do
	api_expect_error 404 not_found GET "$p" --path-as-is
done
for m in POST PUT DELETE; do
	api_expect_error 405 method_not_allowed "$m" /dashboard/
done
assert_eq "GET, HEAD" "$(curl -sS -D - -o /dev/null --cacert "$CA" -X POST "$KB_URL/dashboard/app.js" |
    tr -d '\r' | sed -n 's/^Allow: //Ip')" "Allow of the 405"

# ---- in the browser: live updates, proofs, no reload --------------------------------------
# something to show: two keys, one enrolled certificate
new_key cam-001 p256
kb_ok key register -d "$DIR" --pubkey "$OUT/keys/cam-001.pub" --name cam-001 >/dev/null
new_key web-01 p256
kb_ok key register -d "$DIR" --pubkey "$OUT/keys/web-01.pub" --name web-01 --profile server \
    --dns web-01.example >/dev/null
kb_enroll cam-002
# two text versions of a configuration, for the side-by-side diff
printf 'mode = fast\nlevel = 1\nname = cams\n' >"$OUT/cams-1.conf"
printf 'mode = fast\nlevel = 2\nname = cams\nextra = yes\n' >"$OUT/cams-2.conf"
kb_ok config publish -d "$DIR" --group cams --file "$OUT/cams-1.conf" --version 1.0 >/dev/null
kb_ok config publish -d "$DIR" --group cams --file "$OUT/cams-2.conf" --version 2.0 --note "level two" >/dev/null
new_key live-cam p256
new_key late-cam p256

export KB_URL KB_DIR KEYBRIDGE OUT
log "+ node dashboard_test.mjs live"
KEY_PUB="$OUT/keys/live-cam.pub" KEY_NAME=live-cam KEY2_PUB="$OUT/keys/late-cam.pub" KEY2_NAME=late-cam \
    node "$MJS" live ||
	fail "the dashboard in the browser (mode live), see above"
[ -s "$OUT/dashboard.png" ] || fail "no screenshot $OUT/dashboard.png"
assert_eq 89504e470d0a1a0a "$(head -c 8 "$OUT/dashboard.png" | od -An -tx1 | tr -d ' \n')" \
    "PNG signature of $OUT/dashboard.png"

# the key the browser saw revoked is revoked for the API too
KEY_ID=$(spki_key_id "$OUT/keys/live-cam.pub")
assert_eq revoked "$(api GET "/api/v1/keys/$KEY_ID" | jq -r .status)" "status of live-cam"
kb_stop

# ---- the token: api_auth = token ----------------------------------------------------------------------
TOKEN=$(openssl rand -hex 24)
kb_conf_set "$DIR" api_auth token
kb_conf_set "$DIR" api_token "$TOKEN"
kb_start "$DIR"
api_expect_error 401 unauthorized GET /api/v1/status
log "the page is served without the token; the API asks for it"
log "+ node dashboard_test.mjs token"
KB_TOKEN=$TOKEN node "$MJS" token || fail "the dashboard in the browser (mode token), see above"
kb_stop
kb_conf_set "$DIR" api_auth auto

# ---- dashboard = off, and a bad value -------------------------------------------------------------------
kb_conf_set "$DIR" dashboard off
kb_start "$DIR"
api_expect_error 404 not_found GET /dashboard/
api_expect_error 404 not_found GET /dashboard
kb_stop
kb_conf_set "$DIR" dashboard maybe
rc=0
"$KEYBRIDGE" serve -d "$DIR" >"$OUT/bad-serve.log" 2>&1 || rc=$?
assert_eq 1 "$rc" "exit status of serve with dashboard = maybe"
assert_contains "$(cat "$OUT/bad-serve.log")" 'dashboard must be on or off' "serve's complaint"
log "OK"
