#!/bin/sh
# First start: initialise PGDATA with a superuser that can only log in over the container's own
# socket, and an application role that owns the app's database but is not a superuser and can
# create neither roles nor databases. Every start: exec the server as PID 1 so it receives the
# stop signal itself.

set -eu

: "${POSTGRES_USER:?POSTGRES_USER must be set}"
: "${POSTGRES_DB:?POSTGRES_DB must be set}"
if [ "$POSTGRES_USER" = postgres ]; then
  echo "POSTGRES_USER must not be postgres: that is the superuser, the app gets a role of its own" >&2
  exit 1
fi
# The password arrives as a file (a secret), so it is not in `docker inspect`'s environment;
# POSTGRES_PASSWORD still works for a container made by hand.
if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then
  POSTGRES_PASSWORD=$(cat "$POSTGRES_PASSWORD_FILE")
fi
: "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE must be set}"

# Over the socket only, before the server listens on the network.
start_local() { pg_ctl -D "$PGDATA" -w -o "-c listen_addresses='' -c unix_socket_directories=$PGHOST" start >/dev/null; }
stop_local() { pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null; }

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  echo "initialising $PGDATA for database $POSTGRES_DB"
  # Local socket: peer, so only the container's postgres account is the superuser. Network:
  # passwords (scram), and the superuser has none, so it cannot log in over the network at all.
  initdb -D "$PGDATA" -U postgres --auth-local=peer --auth-host=scram-sha-256 \
    -E UTF8 --locale=C.UTF-8 >/dev/null
  # Clients come from other containers; the compose network is internal, passwords still required.
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  # psql takes the password from the environment (\getenv), so it is on no command line; :""
  # and :'' quote the names.
  start_local
  export POSTGRES_PASSWORD
  psql -v ON_ERROR_STOP=1 -q -U postgres -d postgres -v owner="$POSTGRES_USER" -v db="$POSTGRES_DB" <<'SQL'
\getenv password POSTGRES_PASSWORD
CREATE ROLE :"owner" LOGIN PASSWORD :'password' NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;
CREATE DATABASE :"db" OWNER :"owner";
SQL
  stop_local
  echo "initialised: superuser postgres (socket only), application role $POSTGRES_USER"
elif grep -q '^local.*scram-sha-256' "$PGDATA/pg_hba.conf"; then
  # Made by an earlier version of this image, where the app's role was the superuser. Left as
  # it is: the data is yours. To separate them, dump, remove the volume, start afresh, restore.
  echo "note: this data directory predates the separate application role: $POSTGRES_USER is" \
    "still its superuser (README, Security: how to move to least privilege)" >&2
fi

# The server has no use for the password; keep it out of its environment.
unset POSTGRES_PASSWORD
exec "$@"
