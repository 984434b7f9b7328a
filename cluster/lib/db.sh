# shellcheck shell=bash
# The database members (Patroni and PostgreSQL: db1..db3) and their etcd (etcd1..etcd3), one of
# each per host: who is primary, what each says, and repairs (docs/failover.md).

# Member N's engine for reading its Patroni: on the namespaces through the engine's own socket,
# so that a drill can still ask a member cut off the network whether it thinks it is primary;
# on your servers over SSH like everything else.
console_docker() {
  if [ "$PROVIDER" = namespaces ]; then cdocker "$@"; else hdocker "$@"; fi
}

# The database is whole: a running primary, every other member streaming, and one of them
# synchronously (unless Patroni's synchronous mode is off); and every etcd member answers a
# quorum read. Patroni's members stream again while etcd may still lack the member of a host
# that came back (its peers not yet reaching its new task): losing another host then leaves
# etcd without a quorum, and nothing can be promoted.
db_whole() {
  local sync
  etcd_whole || return 1
  sync=$(db_api config 2>/dev/null | jq -r '.synchronous_mode // false') || return 1
  db_members 2>/dev/null | jq -e --argjson sync "$sync" '
    ([.[] | select(.role == "leader" and .state == "running")] | length == 1)
    and (($sync | not) or ([.[] | select(.role == "sync_standby" and .state == "streaming")] | length >= 1))
    and ([.[] | select(.role != "leader" and .state != "streaming")] | length == 0)
    and length == 3' >/dev/null
}

# The running container of database member dbN (on host N), if any.
member_container() {
  console_docker "$1" ps -q --filter "label=com.docker.swarm.service.name=foobar_db$1" 2>/dev/null | head -n 1
}

# GET (or, with a JSON body, PATCH) /PATH of member N's Patroni REST API; fails on a status
# other than 2xx. curl in the member's container, not patronictl: a drill polls this often, and
# Python's start-up in a host capped at half a core slowed the very failover being timed.
member_api() {
  local n=$1 path=$2 body=${3:-} id curl=(curl -fsS --max-time 2)
  [ -z "$body" ] || curl+=(-X PATCH -H 'Content-Type: application/json' --data "$body")
  id=$(member_container "$n") && [ -n "$id" ] || return 1
  local docker=(docker -H "unix://$(sock "$n")")
  [ "$PROVIDER" = namespaces ] || docker=(env PATH="$SSH_DIR/bin:$PATH" docker -H "ssh://$(addr "$n")")
  timeout 5 "${docker[@]}" exec "$id" "${curl[@]}" "http://127.0.0.1:8008/$path" 2>/dev/null
}

# The host number of the primary: the one member whose Patroni runs PostgreSQL as primary and
# holds the leader lock by its own clock (`/primary` answers 200). Not a member's view of the
# cluster: one that was cut off keeps its last view until it reaches etcd again. None, or two
# (one cut off that has not yet demoted itself): exit 1.
db_leader() {
  local n found=()
  for n in "${HOSTS[@]}"; do member_api "$n" primary >/dev/null && found+=("$n"); done
  [ ${#found[@]} = 1 ] || return 1
  echo "${found[0]}"
}

# /PATH (and BODY) as for member_api, asked of the primary first, else of the first member
# that answers.
db_api() {
  local n first
  first=$(db_leader) || first=
  for n in $first "${HOSTS[@]}"; do member_api "$n" "$@" && return 0; done
  die "no database member answers"
}

# The primary's view of the members (another's if there is none), as JSON: [{name, role
# (leader, sync_standby, replica), state, timeline, lag}].
db_members() { db_api cluster | jq -e .members; }

# Runs ARGS in the primary's container (the tools' FOOBAR_DB_EXEC: how they remove what they
# wrote), waiting up to 30 s for there to be one.
db_exec() {
  local n _
  for _ in $(seq 60); do
    n=$(db_leader 2>/dev/null) && break
    sleep 0.5
  done
  [ -n "${n:-}" ] || die "no primary among the database members"
  hdocker "$n" exec "$(member_container "$n")" "$@"
}

# All three etcd members healthy: each answers a read that needs the quorum.
etcd_whole() {
  etcd_other_than 0 endpoint health --cluster >/dev/null 2>&1
}

# `etcdctl ARGS` in the etcd member of a host other than N that answers (any manager works).
etcd_other_than() {
  local skip=$1 m id; shift
  for m in "${HOSTS[@]}"; do
    [ "$m" != "$skip" ] || continue
    id=$(hdocker "$m" ps -q --filter "label=com.docker.swarm.service.name=foobar_etcd$m" 2>/dev/null | head -n 1) || continue
    [ -n "$id" ] && hdocker "$m" exec -e ETCDCTL_API=3 "$id" etcdctl --endpoints "http://etcd$m:2379" "$@" && return 0
  done
  return 1
}

# etcd member N lost its data (a new disk, a removed volume): its old identity must leave the
# cluster before it can join again. Stops its task, removes it from the member list and adds
# it back under a new identity, empties its volume, and starts it as a member of the existing
# cluster; then waits until all three members are healthy.
etcd_rejoin() {
  local n=$1 manager=1 id _
  [ "$n" != 1 ] || manager=2
  log "etcd$n: stopping its task"
  hdocker "$manager" service scale --detach "foobar_etcd$n=0" >/dev/null
  for _ in $(seq 60); do
    [ -z "$(hdocker "$n" ps -q --filter "label=com.docker.swarm.service.name=foobar_etcd$n")" ] && break
    sleep 0.5
  done
  # "ID, STATUS, NAME, PEER URLS, ..." (IDs in hex: JSON's are 64-bit integers, beyond jq).
  id=$(etcd_other_than "$n" member list | awk -F', ' -v peer="http://etcd$n:2380" '$4 == peer {print $1; exit}')
  if [ -n "$id" ]; then
    log "etcd$n: removing its old identity ($id)"
    etcd_other_than "$n" member remove "$id" >/dev/null
  fi
  etcd_other_than "$n" member add "etcd$n" --peer-urls "http://etcd$n:2380" >/dev/null
  # The stopped containers of its old tasks still hold the volume.
  local old
  old=$(hdocker "$n" ps -aq --filter "volume=foobar_etcd$n")
  # shellcheck disable=SC2086 # one id per word
  [ -z "$old" ] || hdocker "$n" rm -f $old >/dev/null
  hdocker "$n" volume rm -f "foobar_etcd$n" >/dev/null
  log "etcd$n: starting it as a member of the existing cluster"
  hdocker "$manager" service update --detach --env-add ETCD_INITIAL_CLUSTER_STATE=existing \
    --replicas 1 "foobar_etcd$n" >/dev/null
  for _ in $(seq 120); do
    etcd_whole && { log "etcd: three healthy members"; return 0; }
    sleep 0.5
  done
  die "etcd$n did not rejoin within 60 s"
}

