# shellcheck shell=bash
# srvlib.sh: the servers tests start beside the bridge (a throwaway
# PostgreSQL through scripts/pg.sh, nginx).  Sourced by lib.sh (it uses
# lib.sh's KB_LIB_DIR, fail, log and kb_free_ports): source lib.sh, not
# this file.

# ---- PostgreSQL (scripts/pg.sh) ---------------------------------------------------------

PGSH="$(cd "$KB_LIB_DIR/../.." && pwd)/scripts/pg.sh"

# kb_pg_exit: the EXIT trap of a test with a PostgreSQL server: the test's
# bridges stop first, then the server (its files stay for a look when the
# test failed), then kb_cleanup.
kb_pg_exit() {
	local rc=$? p
	for p in "${KB_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in "${KB_PIDS[@]}"; do
		kb_wait_gone "$p" 10 || kill -KILL "$p" 2>/dev/null || true
	done
	if [ "$rc" -eq 0 ]; then
		"$PGSH" destroy "$PG" >/dev/null 2>&1 || true
	else
		"$PGSH" stop "$PG" >/dev/null 2>&1 || true
	fi
	(exit "$rc")
	kb_cleanup
}

# kb_pg_start [DBNAME...]: a throwaway PostgreSQL server in OUT/pg
# (scripts/pg.sh) with the databases named; sets PG (its folder), URL (the
# server's postgres database) and DB (the first database's URL), and
# makes kb_pg_exit the EXIT trap.
kb_pg_start() {
	local d
	PG="$OUT/pg"
	trap kb_pg_exit EXIT
	URL=$("$PGSH" start "$PG") || fail "scripts/pg.sh start $PG failed"
	for d in "$@"; do
		"$PGSH" psql "$PG" -c "CREATE DATABASE $d" || fail "CREATE DATABASE $d"
	done
	DB="${URL%/postgres}/${1:-postgres}"
}

# kb_copy_dir FROM TO: a copy of bridge data directory FROM (one CA, one
# validator key, one db: a second bridge of the same deployment) on
# listeners of its own.
kb_copy_dir() {
	local ports
	cp -a "$1" "$2"
	rm -f "$2/keybridge.lock"
	ports=$(kb_free_ports 2)
	KB_USED_PORTS="$KB_USED_PORTS $ports"
	kb_conf_set "$2" est_listen "127.0.0.1:${ports% *}"
	kb_conf_set "$2" http_listen "127.0.0.1:${ports#* }"
	kb_conf_set "$2" public_https_url "https://127.0.0.1:${ports% *}"
	kb_conf_set "$2" public_http_url "http://127.0.0.1:${ports#* }"
}

# psql_q SQL: runs SQL on the database DB; prints the values.
psql_q() {
	PGCONNECT_TIMEOUT=10 psql -X -q -v ON_ERROR_STOP=1 -At "$DB" -c "$1"
}

# ---- nginx -------------------------------------------------------------------

# nginx_conf DIR HTTP-BODY: DIR/nginx.conf for one nginx worker in the
# foreground (as root: user root), with its pid, error log and temporary
# files under DIR and HTTP-BODY inside http { } (logs, server blocks);
# checked with nginx -t.  NGX_ERROR_LEVEL: the error log's level (info).
nginx_conf() {
	local ngx=$1 body=$2 user_line=""
	command -v nginx >/dev/null || fail "nginx is not installed (scripts/deps.sh installs it)"
	mkdir -p "$ngx/tmp"
	[ "$(id -u)" -ne 0 ] || user_line="user root root;"
	cat >"$ngx/nginx.conf" <<NGX
$user_line
daemon off;
master_process on;
worker_processes 1;
pid $ngx/nginx.pid;
error_log $ngx/error.log ${NGX_ERROR_LEVEL:-info};
events { worker_connections 1024; }
http {
    client_body_temp_path $ngx/tmp/client_body;
    proxy_temp_path $ngx/tmp/proxy;
    fastcgi_temp_path $ngx/tmp/fastcgi;
    uwsgi_temp_path $ngx/tmp/uwsgi;
    scgi_temp_path $ngx/tmp/scgi;
$body
}
NGX
	nginx -t -p "$ngx" -c "$ngx/nginx.conf" -e "$ngx/error.log" >"$ngx/test.out" 2>&1 ||
		fail "nginx -t: $(cat "$ngx/test.out")"
}

# nginx_run DIR PORT...: starts nginx on DIR/nginx.conf, sets N_PID
# (tracked: stopped with the test) and waits until it listens on every
# 127.0.0.1:PORT.
nginx_run() {
	local ngx=$1 port
	shift
	nginx -p "$ngx" -c "$ngx/nginx.conf" -e "$ngx/error.log" >>"$ngx/stdout.log" 2>&1 &
	N_PID=$!
	kb_track "$N_PID"
	for port in "$@"; do
		wait_port "$port" "$N_PID" "nginx (see $ngx/error.log)"
	done
}
