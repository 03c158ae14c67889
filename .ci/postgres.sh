#!/usr/bin/env bash
# A throwaway PostgreSQL (+ PgBouncer in transaction mode, + TLS) for the PostgreSQL store's tests.
#
#   bash .ci/postgres.sh run -- cargo test ...   start, export the variables, run, stop (always)
#   bash .ci/postgres.sh start ENVFILE           start and write `export VAR=...` lines to ENVFILE
#   bash .ci/postgres.sh stop ENVFILE            stop what `start` started
#
# When something already answers at $TOLLBOOTH_TEST_POSTGRES, nothing is started and the
# variables are passed through as they are. Otherwise this installs Debian's `postgresql`,
# `pgbouncer` and `openssl` when missing, makes a cluster in a temp dir (its own port, its own
# unix socket dir), a CA and a server certificate for 127.0.0.1/localhost, a role with a
# password and a database, and PgBouncer (`pool_mode = transaction`) in front of it. It never
# leaves a server running: `run` stops everything on exit (trap), `stop` does it for `start`.
#
# Exports:
#   TOLLBOOTH_TEST_POSTGRES          direct, plain TCP (sslmode=disable)
#   TOLLBOOTH_TEST_PGBOUNCER         through PgBouncer (transaction pooling)
#   TOLLBOOTH_TEST_POSTGRES_TLS      direct, sslmode=verify-full with the run's CA
#   TOLLBOOTH_TEST_POSTGRES_OTHER_CA a CA that did not sign the server (for the failing case)
#   TOLLBOOTH_TEST_POSTGRES_RESTART  a script that restarts the server (fast shutdown)
#   TOLLBOOTH_TEST_POSTGRES_CTL      `ctl.sh stop|start|restart` for outage tests
#
# TOLLBOOTH_PG_DURABLE=1 keeps the server's durable defaults (fsync, synchronous_commit,
# full_page_writes on) instead of the test cluster's fast ones: for benchmarks of commit cost.
set -euo pipefail

PG_PORT="${TOLLBOOTH_PG_PORT:-55432}"
BOUNCER_PORT="${TOLLBOOTH_PGBOUNCER_PORT:-56432}"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

ensure_packages() {
  local need=()
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
  command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ] || need+=(pgbouncer)
  command -v openssl >/dev/null 2>&1 || need+=(openssl)
  command -v psql >/dev/null 2>&1 || need+=(postgresql-client)
  if [ ${#need[@]} -gt 0 ]; then
    echo "postgres.sh: installing ${need[*]}" >&2
    as_root apt-get update -qq
    # Debian's postinst would create and start a cluster of its own; we want none.
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
    as_root pg_dropcluster --stop "$(ls /usr/lib/postgresql | sort -V | tail -1)" main 2>/dev/null || true
  fi
}

answers() { [ -n "${1:-}" ] && pg_isready -q -t 3 -d "$1" 2>/dev/null; }

# The first port from $1 on that nothing listens on (another run, a developer's server).
free_port() {
  local p="$1"
  while (echo >"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
  echo "$p"
}

# Runs a command as the server's owner: `postgres` when we are root (initdb refuses root).
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
  local envfile="$1"
  if answers "${TOLLBOOTH_TEST_POSTGRES:-}"; then
    echo "postgres.sh: using the server at TOLLBOOTH_TEST_POSTGRES" >&2
    {
      for v in TOLLBOOTH_TEST_POSTGRES TOLLBOOTH_TEST_PGBOUNCER TOLLBOOTH_TEST_POSTGRES_TLS \
        TOLLBOOTH_TEST_POSTGRES_OTHER_CA TOLLBOOTH_TEST_POSTGRES_RESTART TOLLBOOTH_TEST_POSTGRES_CTL; do
        [ -n "${!v:-}" ] && printf 'export %s=%q\n' "$v" "${!v}"
      done
      echo "TB_PG_OWNED="
    } >"$envfile"
    return 0
  fi
  ensure_packages
  local bin
  bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
  PG_PORT="$(free_port "$PG_PORT")"
  BOUNCER_PORT="$(free_port "$BOUNCER_PORT")"
  [ "$BOUNCER_PORT" != "$PG_PORT" ] || BOUNCER_PORT="$(free_port $((PG_PORT + 1)))"
  local dir
  dir="$(mktemp -d /tmp/tollbooth-pg.XXXXXX)"
  chmod 755 "$dir"
  # Recorded first: from here on, `stop` removes whatever exists.
  printf 'export TB_PG_OWNED=%q\nexport TB_PG_BIN=%q\n' "$dir" "$bin" >"$envfile"
  local pw
  pw="$(openssl rand -hex 16)"

  # TLS: a CA made for this run, a server certificate for 127.0.0.1 and localhost, and an
  # unrelated CA for the "does not verify" test.
  (
    cd "$dir"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=tollbooth test CA" \
      -keyout ca.key -out ca.crt 2>/dev/null
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=unrelated CA" \
      -keyout other-ca.key -out other-ca.crt 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
      -keyout server.key -out server.csr 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' >server.ext
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
      -extfile server.ext -out server.crt 2>/dev/null
    chmod 600 server.key
    rm -f ca.key other-ca.key server.csr server.ext ca.srl
  )
  if [ "$(id -u)" = 0 ]; then chown -R postgres:postgres "$dir"; fi

  as_owner "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-sync >/dev/null
  cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$dir'
max_connections = 200
ssl = on
ssl_cert_file = '$dir/server.crt'
ssl_key_file = '$dir/server.key'
password_encryption = 'scram-sha-256'
EOF
  if [ "${TOLLBOOTH_PG_DURABLE:-0}" != 1 ]; then
    # A throwaway test cluster: commits need not survive a power loss. Benchmarks of commit
    # cost set TOLLBOOTH_PG_DURABLE=1 and get the server's defaults (fsync per commit).
    printf 'synchronous_commit = off\nfsync = off\nfull_page_writes = off\n' >>"$dir/data/postgresql.conf"
  fi
  cat >"$dir/data/pg_hba.conf" <<EOF
local all postgres trust
host  all all 127.0.0.1/32 scram-sha-256
EOF
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 start >/dev/null

  as_owner psql -q -h "$dir" -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 <<EOF >/dev/null
CREATE ROLE tollbooth LOGIN PASSWORD '$pw';
CREATE DATABASE tollbooth OWNER tollbooth;
EOF

  cat >"$dir/pgbouncer.ini" <<EOF
[databases]
tollbooth = host=127.0.0.1 port=$PG_PORT dbname=tollbooth
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $BOUNCER_PORT
unix_socket_dir = $dir
auth_type = scram-sha-256
auth_file = $dir/userlist.txt
pool_mode = transaction
# A client waiting for a server connection (the server is down or restarting) gets an error
# after this many seconds instead of the default 120: tollbooth answers STORE_UNAVAILABLE.
query_wait_timeout = 5
# After a failed server login PgBouncer refuses clients for this long (default 15 s): short,
# so the restart test sees recovery soon after the server is back.
server_login_retry = 1
max_client_conn = 400
default_pool_size = 20
pidfile = $dir/pgbouncer.pid
logfile = $dir/pgbouncer.log
admin_users = postgres
EOF
  printf '"tollbooth" "%s"\n' "$pw" >"$dir/userlist.txt"
  chmod 600 "$dir/userlist.txt"
  if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$dir/pgbouncer.ini" "$dir/userlist.txt"; fi
  local pgb
  pgb="$(command -v pgbouncer || echo /usr/sbin/pgbouncer)"
  as_owner "$pgb" -d "$dir/pgbouncer.ini"
  for _ in $(seq 50); do
    [ -s "$dir/pgbouncer.pid" ] && PGPASSWORD="$pw" pg_isready -q -h 127.0.0.1 -p "$BOUNCER_PORT" -d tollbooth -U tollbooth && break
    sleep 0.1
  done

  cat >"$dir/ctl.sh" <<EOF
#!/usr/bin/env bash
# ctl.sh stop|start|restart: the test server (fast shutdown: open connections are cut).
set -e
case "\$1" in stop|start|restart) ;; *) echo "usage: \$0 stop|start|restart" >&2; exit 2;; esac
cmd=("$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 -m fast "\$1")
if [ "\$(id -u)" = 0 ]; then exec runuser -u postgres -- "\${cmd[@]}" >/dev/null; fi
exec "\${cmd[@]}" >/dev/null
EOF
  printf '#!/usr/bin/env bash\nexec %q restart\n' "$dir/ctl.sh" >"$dir/restart.sh"
  chmod 755 "$dir/ctl.sh"
  chmod 755 "$dir/restart.sh"

  local base="postgres://tollbooth:$pw@127.0.0.1"
  {
    printf 'export TOLLBOOTH_TEST_POSTGRES=%q\n' "$base:$PG_PORT/tollbooth?sslmode=disable"
    printf 'export TOLLBOOTH_TEST_PGBOUNCER=%q\n' "$base:$BOUNCER_PORT/tollbooth?sslmode=disable"
    printf 'export TOLLBOOTH_TEST_POSTGRES_TLS=%q\n' "$base:$PG_PORT/tollbooth?sslmode=verify-full&sslrootcert=$dir/ca.crt"
    printf 'export TOLLBOOTH_TEST_POSTGRES_OTHER_CA=%q\n' "$dir/other-ca.crt"
    printf 'export TOLLBOOTH_TEST_POSTGRES_RESTART=%q\n' "$dir/restart.sh"
    printf 'export TOLLBOOTH_TEST_POSTGRES_CTL=%q\n' "$dir/ctl.sh"
  } >>"$envfile"
  echo "postgres.sh: PostgreSQL on 127.0.0.1:$PG_PORT, PgBouncer on 127.0.0.1:$BOUNCER_PORT ($dir)" >&2
}

stop() {
  local envfile="$1"
  [ -f "$envfile" ] || return 0
  local TB_PG_OWNED="" TB_PG_BIN=""
  # shellcheck disable=SC1090
  . "$envfile"
  [ -n "$TB_PG_OWNED" ] || return 0
  local dir="$TB_PG_OWNED"
  if [ -s "$dir/pgbouncer.pid" ]; then
    kill "$(cat "$dir/pgbouncer.pid")" 2>/dev/null || true
  fi
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_owner "$TB_PG_BIN/pg_ctl" -D "$dir/data" -w -t 60 -m immediate stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
  rm -f "$envfile"
}

case "${1:-}" in
  start)
    [ -n "${2:-}" ] || { echo "usage: $0 start ENVFILE" >&2; exit 2; }
    touch "$2"
    # Anything that fails half-way stops what was started (set -e stays in force here).
    trap 'stop "$2"' EXIT
    start "$2"
    trap - EXIT
    ;;
  stop)
    [ -n "${2:-}" ] || { echo "usage: $0 stop ENVFILE" >&2; exit 2; }
    stop "$2"
    ;;
  run)
    shift
    [ "${1:-}" = "--" ] && shift
    [ $# -gt 0 ] || { echo "usage: $0 run -- COMMAND..." >&2; exit 2; }
    envfile="$(mktemp /tmp/tollbooth-pg-env.XXXXXX)"
    trap 'stop "$envfile"' EXIT
    trap 'exit 130' INT TERM
    start "$envfile"
    # shellcheck disable=SC1090
    . "$envfile"
    "$@"
    ;;
  *)
    echo "usage: $0 run -- COMMAND... | start ENVFILE | stop ENVFILE" >&2
    exit 2
    ;;
esac
