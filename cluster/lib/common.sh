# shellcheck shell=bash
# Settings and helpers every part of cluster/hosts uses (sourced by it, never run).

# The cluster's settings (cluster/cluster.env); a CLUSTER_* variable set in the environment
# wins (`make cluster-up HOSTS=...` sets CLUSTER_HOSTS). What `up` used is kept with the
# cluster's data, so later commands reach the same hosts without being told again.
STATE=/run/foobar-cluster        # sockets, pid files, exec roots, ssh's connections
DATA=/var/lib/foobar-cluster     # engines' data roots (images, volumes, Raft), keys, secrets
LOGS=/var/log/foobar-cluster
load_settings() {
  local file=$REPO/cluster/cluster.env var
  [ -s "$DATA/cluster.env" ] && file=$DATA/cluster.env
  declare -A given=()
  for var in $(sed -n 's/^\(CLUSTER_[A-Z_]*\)=.*/\1/p' "$REPO/cluster/cluster.env"); do
    [ -z "${!var:-}" ] || given[$var]=${!var}
  done
  # shellcheck source=cluster/cluster.env
  . "$file"
  for var in "${!given[@]}"; do printf -v "$var" '%s' "${given[$var]}"; done
}
load_settings
VIP=$CLUSTER_VIP
HOSTS=(1 2 3)
# Where the hosts come from: three network namespaces on this machine, or your servers.
if [ -n "$CLUSTER_HOSTS" ]; then PROVIDER=servers; else PROVIDER=namespaces; fi

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'cluster: %s\n' "$*" >&2; exit 1; }

# Host N's address: the Nth of CLUSTER_HOSTS, or CLUSTER_NET.1N on the namespaces' bridge.
addr() {
  if [ "$PROVIDER" = servers ]; then
    local list; IFS=, read -ra list <<<"$CLUSTER_HOSTS"
    [ -n "${list[$(($1 - 1))]:-}" ] || die "CLUSTER_HOSTS names no host $1: $CLUSTER_HOSTS"
    echo "${list[$(($1 - 1))]}"
  else
    echo "$CLUSTER_NET.1$1"
  fi
}

need_root() { [ "$(id -u)" = 0 ] || die "needs root (network namespaces, engines, iptables, $DATA)"; }
needs_namespaces() {
  [ "$PROVIDER" = namespaces ] || die "$1 acts on the namespace hosts only (on your servers: docs/own-servers.md)"
}

status() {
  local n
  for n in "${HOSTS[@]}"; do
    local state=down
    hdocker "$n" info >/dev/null 2>&1 && state=$(hdocker "$n" info --format 'engine up, swarm {{.Swarm.LocalNodeState}}')
    printf 'h%s  %-12s %s\n' "$n" "$(addr "$n")" "$state"
  done
  hdocker 1 node ls 2>/dev/null || true
  hdocker 1 service ls 2>/dev/null || true
  db_members 2>/dev/null | jq -r '.[] | "\(.name)  \(.role)  \(.state)  timeline \(.timeline // "-")  lag \(.lag // 0) B"' || true
}

