# Sourced by scripts/test: a throwaway PostgreSQL cluster on 127.0.0.1 with its socket in its data folder.
# kaito_pg_start sets KAITO_TEST_DATABASE_URL; kaito_pg_stop stops the cluster and deletes it.

kaito_pg_bin() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

kaito_pg_start() {
  local bin port
  bin=$(kaito_pg_bin)
  if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    echo "installing PostgreSQL from Debian's packages" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null && apt-get install -y -qq postgresql >/dev/null
    bin=$(kaito_pg_bin)
  fi
  port=${KAITO_TEST_PG_PORT:-55432}
  KAITO_PG_DATA=$(mktemp -d /tmp/kaito-pg.XXXXXX)
  export KAITO_PG_DATA
  # initdb refuses to run as root: run the cluster as the unprivileged postgres user when we are root.
  local as=()
  if [ "$(id -u)" = 0 ]; then
    chown postgres: "$KAITO_PG_DATA"
    as=(runuser -u postgres --)
  fi
  KAITO_PG_AS="${as[*]}"
  export KAITO_PG_AS KAITO_PG_BIN="$bin"
  "${as[@]}" "$bin/initdb" -D "$KAITO_PG_DATA" -U kaito -A trust --no-sync -E UTF8 >/dev/null
  # A port another process holds (a cluster a test left, another checkout's tests) is not fatal: the next one is
  # tried. Whatever the cause, the cluster's own log says it.
  local attempt
  for attempt in 1 2 3 4 5; do
    if "${as[@]}" "$bin/pg_ctl" -D "$KAITO_PG_DATA" -l "$KAITO_PG_DATA/server.log" -w -s \
      -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$KAITO_PG_DATA -c fsync=off -c max_connections=300" start; then
      export KAITO_TEST_DATABASE_URL="postgres://kaito@127.0.0.1:$port/postgres?sslmode=disable"
      return 0
    fi
    echo "PostgreSQL did not start on port $port (attempt $attempt); its log:" >&2
    tail -n 20 "$KAITO_PG_DATA/server.log" >&2 || true
    port=$((port + 10))  # past the ports tests start clusters of their own on (55433)
  done
  return 1
}

kaito_pg_stop() {
  [ -n "${KAITO_PG_DATA:-}" ] || return 0
  # shellcheck disable=SC2086
  $KAITO_PG_AS "$KAITO_PG_BIN/pg_ctl" -D "$KAITO_PG_DATA" -m immediate -w -s stop || true
  rm -rf "$KAITO_PG_DATA"
  unset KAITO_PG_DATA
}
