# shellcheck shell=bash
# The Swarm: three managers, so Raft keeps a quorum when one host is lost; each node labelled
# with its host (foobar.host=hN) and for the app (foobar.app=yes, scale.sh).

swarm_up() {
  local state; state=$(hdocker 1 info --format '{{.Swarm.LocalNodeState}}')
  if [ "$state" != active ]; then
    log "Swarm: init on h1"
    hdocker 1 swarm init --advertise-addr "$(addr 1)" --listen-addr "$(addr 1):2377" >/dev/null
  fi
  local token; token=$(hdocker 1 swarm join-token -q manager)
  local n
  for n in "${HOSTS[@]:1}"; do
    if [ "$(hdocker "$n" info --format '{{.Swarm.LocalNodeState}}')" != active ]; then
      log "Swarm: h$n joins as a manager"
      hdocker "$n" swarm join --token "$token" --advertise-addr "$(addr "$n")" \
        --listen-addr "$(addr "$n"):2377" "$(addr 1):2377" >/dev/null
    fi
  done
  # Every node has the machine's hostname (one UTS namespace): a label names each host.
  for n in "${HOSTS[@]}"; do
    local id; id=$(hdocker "$n" info --format '{{.Swarm.NodeID}}')
    hdocker 1 node update --label-add "foobar.host=h$n" --label-add foobar.app=yes "$id" >/dev/null
  done
}

