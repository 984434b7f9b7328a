#!/bin/sh
# First start: initialise PGDATA with a superuser that can only log in over the container's own
# socket, and an application role that owns the app's database but is not a superuser and can
# create neither roles nor databases. Every start: exec the server as PID 1 so it receives the
# stop signal itself.
#
# Streaming replication (the cluster, cluster/stack.yml; the one-server stack has none):
#   POSTGRES_REPLICATION_PASSWORD_FILE  on the primary: a role "replicator" that may only
#                                       replicate, with this password
#   POSTGRES_PRIMARY_HOST               makes this a standby of that primary: on first start
#                                       it clones it (pg_basebackup) and then streams from it,
#                                       read-only, through replication slot POSTGRES_STANDBY_SLOT
set -eu

# Passwords arrive as files (secrets), so they are not in `docker inspect`'s environment;
# POSTGRES_PASSWORD still works for a container made by hand.
if [ -n "${POSTGRES_REPLICATION_PASSWORD_FILE:-}" ]; then
  POSTGRES_REPLICATION_PASSWORD=$(cat "$POSTGRES_REPLICATION_PASSWORD_FILE")
fi

# The marker of a finished clone. It stays if the standby is ever promoted.
CLONED=$PGDATA/.cloned-from-primary

if [ -n "${POSTGRES_PRIMARY_HOST:-}" ]; then
  : "${POSTGRES_REPLICATION_PASSWORD:?a standby needs POSTGRES_REPLICATION_PASSWORD_FILE}"
  : "${POSTGRES_STANDBY_SLOT:?a standby needs POSTGRES_STANDBY_SLOT}"
  # pg_basebackup copies pg_control last and writes standby.signal after it: with both, the
  # clone finished (only the marker is missing); with pg_control alone this is a database of
  # its own, never overwritten; without pg_control, a clone that was cut short, made again.
  if [ ! -e "$CLONED" ] && [ -e "$PGDATA/global/pg_control" ]; then
    if [ ! -e "$PGDATA/standby.signal" ]; then
      echo "$PGDATA holds a database that is not a clone of $POSTGRES_PRIMARY_HOST: not overwriting it" >&2
      exit 1
    fi
    touch "$CLONED"
  fi
  if [ ! -e "$CLONED" ]; then
    find "$PGDATA" -mindepth 1 -delete
    echo "cloning $POSTGRES_PRIMARY_HOST into $PGDATA, then streaming from it (slot $POSTGRES_STANDBY_SLOT)"
    export PGPASSWORD="$POSTGRES_REPLICATION_PASSWORD"
    # The slot keeps the primary's WAL until this standby has it (up to max_slot_wal_keep_size).
    # pg_basebackup -R writes the connection (with the password, in the 0600 data directory)
    # and standby.signal. Until the primary answers: again every 2 s.
    until pg_receivewal -h "$POSTGRES_PRIMARY_HOST" -U replicator --slot="$POSTGRES_STANDBY_SLOT" \
        --create-slot --if-not-exists \
      && pg_basebackup -h "$POSTGRES_PRIMARY_HOST" -U replicator -D "$PGDATA" -X stream -R \
        -S "$POSTGRES_STANDBY_SLOT" -c fast; do
      find "$PGDATA" -mindepth 1 -delete
      sleep 2
    done
    unset PGPASSWORD
    touch "$CLONED"
    echo "cloned: a read-only standby of $POSTGRES_PRIMARY_HOST"
  fi
  unset POSTGRES_REPLICATION_PASSWORD
  exec "$@"
fi

: "${POSTGRES_USER:?POSTGRES_USER must be set}"
: "${POSTGRES_DB:?POSTGRES_DB must be set}"
if [ "$POSTGRES_USER" = postgres ]; then
  echo "POSTGRES_USER must not be postgres: that is the superuser, the app gets a role of its own" >&2
  exit 1
fi
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

# Replication allowed once, also for data made before it was configured: a role that may
# replicate (and can therefore copy every byte: its password is as secret as the data), and
# the line of pg_hba.conf that lets it connect for that, from the server's own networks only.
# The password is set then: to change it later, ALTER ROLE replicator by hand.
if [ -n "${POSTGRES_REPLICATION_PASSWORD:-}" ] && ! grep -q '^host replication replicator ' "$PGDATA/pg_hba.conf"; then
  start_local
  export POSTGRES_REPLICATION_PASSWORD
  psql -v ON_ERROR_STOP=1 -q -U postgres -d postgres <<'SQL'
\getenv password POSTGRES_REPLICATION_PASSWORD
SELECT 'CREATE ROLE replicator' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'replicator')
\gexec
ALTER ROLE replicator LOGIN REPLICATION NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'password';
SQL
  stop_local
  echo "host replication replicator samenet scram-sha-256" >>"$PGDATA/pg_hba.conf"
  echo "replication allowed: role replicator"
fi

# The server has no use for the passwords; keep them out of its environment.
unset POSTGRES_PASSWORD POSTGRES_REPLICATION_PASSWORD
exec "$@"
