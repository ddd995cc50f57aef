#!/usr/bin/env bash
# scripts/pg.sh: a throwaway PostgreSQL 15 server for tests (INTEROP.md
# "PostgreSQL for tests").
#
#   scripts/pg.sh start DIR    initdb into DIR/data when it is not there yet,
#                              start on 127.0.0.1, a free port and a Unix
#                              socket in DIR; prints the connection URL
#   scripts/pg.sh stop DIR     stop it (-m fast); nothing to do when stopped
#   scripts/pg.sh kill DIR     SIGKILL its postmaster (fault tests), by the
#                              pid in DIR/data/postmaster.pid
#   scripts/pg.sh url DIR      print the URL of the server in DIR
#   scripts/pg.sh psql DIR ... run psql against it (extra arguments passed on)
#   scripts/pg.sh destroy DIR  stop it and remove its files
#
# The server is this directory's alone: stop and kill act on the postmaster
# whose pid file is in DIR/data, never on other PostgreSQL servers.  fsync
# and synchronous_commit are on, as in production: an acknowledged commit
# must survive a crash.  Run as root, initdb and the server run as the
# `postgres` user (the package creates it); DIR is handed to that user.
# When that user cannot reach DIR (a parent such as /root is closed to it),
# the server's files go to a directory of their own under /tmp instead,
# named by the symbolic link DIR/server.
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_MAX_CONNECTIONS=200		# 4 bridges x (writer + reader + listener) + tests
PG_START_TIMEOUT=60		# seconds for pg_ctl -w

usage() {
	sed -n '2,13p' "$0" >&2
	exit 2
}

[ $# -ge 2 ] || usage
cmd=$1
dir=$2
shift 2
case "$dir" in
/*) ;;
*) dir="$(pwd)/$dir" ;;
esac

# as_pg CMD...: runs CMD as the server's owner.
as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# free_port: a loopback port that can be bound now, in KB_PG_PORT_LO..HI
# (default 40000-49999; the integration tests hand out 20000-32767 for
# bridges, and their runner gives each job slot a part of both ranges).
free_port() {
	python3 - "$$" "${KB_PG_PORT_LO:-40000}" "${KB_PG_PORT_HI:-49999}" <<'EOF'
import socket, sys
lo, hi = int(sys.argv[2]), int(sys.argv[3])
start = (int(sys.argv[1]) * 7919) % (hi - lo + 1)
for i in range(hi - lo + 1):
    p = lo + (start + i) % (hi - lo + 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        s.close()
    print(p)
    sys.exit(0)
sys.exit("pg.sh: no free loopback port")
EOF
}

# srv: the directory that holds the server's files: DIR, or where
# DIR/server points.
srv() {
	if [ -L "$dir/server" ]; then
		readlink -f "$dir/server"
	else
		printf '%s\n' "$dir"
	fi
}

url() {
	echo "postgresql://postgres@127.0.0.1:$(cat "$(srv)/port")/postgres"
}

running() {
	[ -f "$(srv)/data/postmaster.pid" ] &&
		as_pg "$PG_BIN/pg_ctl" -D "$(srv)/data" status >/dev/null 2>&1
}

init() {
	if [ ! -x "$PG_BIN/initdb" ]; then
		echo "pg.sh: $PG_BIN/initdb not found: install the postgresql package (scripts/deps.sh)" >&2
		exit 1
	fi
	local s
	mkdir -p "$dir"
	if [ "$(id -u)" -eq 0 ]; then
		chown postgres: "$dir"
		if ! runuser -u postgres -- test -w "$dir"; then
			s=$(mktemp -d /tmp/kb-pg.XXXXXX)
			chown postgres: "$s"
			ln -s "$s" "$dir/server"
		fi
	fi
	s=$(srv)
	data="$s/data"
	# --no-sync: the throwaway cluster's files need not be synced at
	# creation; the server itself runs with fsync on.
	as_pg "$PG_BIN/initdb" -D "$data" -U postgres -A trust -E UTF8 \
		--locale=C --no-sync --no-instructions >"$s/initdb.log" 2>&1 || {
		cat "$s/initdb.log" >&2
		exit 1
	}
	free_port >"$s/port"
	cat >>"$data/postgresql.conf" <<EOF
# scripts/pg.sh
port = $(cat "$s/port")
listen_addresses = '127.0.0.1'
unix_socket_directories = '$s'
fsync = on
synchronous_commit = on
max_connections = $PG_MAX_CONNECTIONS
shared_buffers = 64MB
EOF
}

# stop: a fast shutdown of the server, if it runs.
stop() {
	if [ -f "$(srv)/data/postmaster.pid" ]; then
		as_pg "$PG_BIN/pg_ctl" -D "$(srv)/data" -m fast -w stop >/dev/null 2>&1 || true
	fi
}

case "$cmd" in
start)
	[ -f "$(srv)/data/PG_VERSION" ] || init
	data="$(srv)/data"
	if ! running; then
		# A SIGKILLed server leaves its pid file: pg_ctl checks it.
		as_pg "$PG_BIN/pg_ctl" -D "$data" -l "$(srv)/log" -w \
			-t "$PG_START_TIMEOUT" start >"$(srv)/pg_ctl.log" 2>&1 || {
			cat "$(srv)/pg_ctl.log" >&2
			tail -n 20 "$(srv)/log" >&2
			exit 1
		}
	fi
	url
	;;
stop)
	stop
	;;
destroy)
	stop
	if [ -L "$dir/server" ]; then
		rm -rf "$(srv)"
	fi
	rm -rf "$dir"
	;;
kill)
	data="$(srv)/data"
	if [ -f "$data/postmaster.pid" ]; then
		pid=$(head -n1 "$data/postmaster.pid")
		kill -9 "$pid" 2>/dev/null || true
		# Wait for the postmaster to be gone; its backends exit when
		# they notice it went.
		for _ in $(seq 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.05
		done
	fi
	;;
url)
	[ -f "$(srv)/port" ] || { echo "pg.sh: no server in $dir" >&2; exit 1; }
	url
	;;
psql)
	PGCONNECT_TIMEOUT=10 psql -X -q -v ON_ERROR_STOP=1 "$(url)" "$@"
	;;
*)
	usage
	;;
esac
