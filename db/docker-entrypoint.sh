#!/bin/sh
# First start: initialise PGDATA, create the application role and database (scram auth).
# Every start: exec the server as PID 1 so it receives the stop signal itself.
set -eu

: "${POSTGRES_USER:?POSTGRES_USER must be set}"
: "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set}"
: "${POSTGRES_DB:?POSTGRES_DB must be set}"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  echo "initialising $PGDATA for database $POSTGRES_DB"
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$pwfile" \
    --auth-local=scram-sha-256 --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null
  rm -f "$pwfile"
  # Clients come from other containers; the compose network is internal, passwords still required.
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  # Create the database over the socket only, before the server listens on the network.
  pg_ctl -D "$PGDATA" -w -o "-c listen_addresses=''" start >/dev/null
  # psql quotes the names itself (:"var" is only interpolated in scripts read from stdin).
  echo 'CREATE DATABASE :"db" OWNER :"owner";' |
    PGPASSWORD=$POSTGRES_PASSWORD psql -v ON_ERROR_STOP=1 -q -U "$POSTGRES_USER" -d postgres \
      -v db="$POSTGRES_DB" -v owner="$POSTGRES_USER"
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  echo "initialised"
fi

exec "$@"
