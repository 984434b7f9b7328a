# shellcheck shell=bash
# Where the hosts come from. The default: three network namespaces on this machine, each
# with a Docker engine and an sshd of its own on a bridge of the project's, its containers in a
# cgroup with a CPU quota (a small server each). Or your own three servers (CLUSTER_HOSTS),
# which already run Docker and sshd: docs/own-servers.md. Either way every later step reaches
# a host only over SSH (ssh.sh), so it runs unchanged on both.
#
# Why namespaces: no container registry and one machine, yet a real multi-host Swarm with an
# overlay network between engines. Each engine starts with `nsenter --net` (`ip netns exec`
# remounts /sys, and dockerd then fails on cgroups). This kernel has no IPVS, so the stack uses
# dnsrr endpoints and host-mode ports, never the routing mesh. The machine's own engine is never
# part of the Swarm: leaving a Swarm breaks name resolution for compose stacks until dockerd
# restarts.

BRIDGE=${CLUSTER_BRIDGE:-foobar-cl0}
# Each host's share of the machine's CPUs, as a CFS quota in a 100 ms period (50000 = half a core).
CPU_QUOTA_US=${CLUSTER_CPU_QUOTA_US:-50000}

ns() { echo "foobar-h$1"; }
sock() { echo "$STATE/h$1/docker.sock"; }
# Host N's engine through its own socket: a console that a cut network does not sever, used
# only to start the engine and to read a cut-off host (faults.sh, db.sh).
cdocker() { local n=$1; shift; docker -H "unix://$(sock "$n")" "$@"; }
cgroup_dirs() { for c in /sys/fs/cgroup/*/; do [ -d "$c$(ns "$1")" ] && echo "$c$(ns "$1")"; done; return 0; }

hosts_up() {
  if [ "$PROVIDER" = servers ]; then servers_up; else namespaces_up; fi
}

hosts_down() {
  if [ "$PROVIDER" = servers ]; then servers_down; else namespaces_down; fi
}

# Your servers: each must answer SSH with a key and run Docker for that user.
servers_up() {
  local n
  for n in "${HOSTS[@]}"; do
    ssh_trust "$n"
    hdocker "$n" info >/dev/null \
      || die "host h$n ($(addr "$n")): no Docker engine answers over SSH as $CLUSTER_SSH_USER (docs/own-servers.md)"
    log "host h$n: $(addr "$n"), Docker $(hdocker "$n" version --format '{{.Server.Version}}')"
  done
}

# Your servers keep Docker, their images and the database's volumes: only the stack and the
# Swarm go.
servers_down() {
  hdocker 1 stack rm foobar >/dev/null 2>&1 || true
  local n
  for n in 3 2 1; do hdocker "$n" swarm leave --force >/dev/null 2>&1 || true; done
  log "stack and Swarm removed; the hosts keep their volumes (docker volume ls on each)"
}

namespaces_up() {
  command -v dockerd >/dev/null || die "no dockerd (make deps)"
  [ -x /usr/sbin/sshd ] || die "no sshd (make deps: openssh-server)"
  # dockerd uses a system-wide containerd when it finds one: the three engines would then share
  # it, and their containers would not be theirs alone.
  [ ! -S /run/containerd/containerd.sock ] \
    || die "a system containerd runs (/run/containerd/containerd.sock): each host needs its own"
  [ -d /sys/fs/cgroup/cpu ] || die "needs cgroup v1 (the hosts' CPU limits are cpu.cfs_quota_us)"
  network_up
  local n
  for n in "${HOSTS[@]}"; do
    sshd_up "$n"
    ssh_trust "$n"
    engine_up "$n"
  done
}

network_up() {
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    log "bridge $BRIDGE ($CLUSTER_NET.1/24)"
    ip link add "$BRIDGE" type bridge
    ip addr add "$CLUSTER_NET.1/24" dev "$BRIDGE"
    ip link set "$BRIDGE" up
  fi
  # Docker's FORWARD policy is DROP: accept the traffic between the hosts (Swarm's Raft and
  # gossip, the overlay's VXLAN, HTTP) and between them and this machine's bridge address.
  iptables -C DOCKER-USER -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT 2>/dev/null \
    || iptables -I DOCKER-USER -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT
  local n
  for n in "${HOSTS[@]}"; do
    local name; name=$(ns "$n")
    if [ ! -e "/run/netns/$name" ]; then
      log "host h$n: namespace $name, $(addr "$n")"
      ip netns add "$name"
    fi
    if ! ip link show "veth-h$n" >/dev/null 2>&1; then
      ip link add "veth-h$n" type veth peer name eth0 netns "$name"
      ip link set "veth-h$n" master "$BRIDGE" up
      ip -n "$name" addr add "$(addr "$n")/24" dev eth0
      ip -n "$name" link set eth0 up
      ip -n "$name" link set lo up
      ip -n "$name" route add default via "$CLUSTER_NET.1"
    fi
  done
}

# The pid of host N's sshd, if its pid file names an sshd of this host.
sshd_pid() {
  local pid
  pid=$(cat "$STATE/h$1/sshd.pid" 2>/dev/null) || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "$STATE/h$1/sshd_config" && echo "$pid"
}

# An sshd in host N's namespace, as on a server: root by the project's key only. Its host key
# is kept with the host's data. Sessions get DOCKER_HOST, as unix sockets are not per network
# namespace and the engine's is named by path. Compose and the Docker CLI open bursts of
# sessions: room for them.
sshd_up() {
  local n=$1 dir=$DATA/h$1-ssh
  sshd_pid "$n" >/dev/null && return 0
  install -d -m 700 "$dir" "$STATE/h$n"
  install -d -m 755 /run/sshd
  [ -s "$dir/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$dir/ssh_host_ed25519_key"
  cp "$SSH_DIR/id_ed25519.pub" "$dir/authorized_keys"
  cat >"$STATE/h$n/sshd_config" <<CONF
ListenAddress $(addr "$n"):22
HostKey $dir/ssh_host_ed25519_key
PidFile $STATE/h$n/sshd.pid
AuthorizedKeysFile $dir/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
MaxSessions 100
MaxStartups 100:30:200
SetEnv DOCKER_HOST=unix://$(sock "$n")
CONF
  nsenter --net="/run/netns/$(ns "$n")" /usr/sbin/sshd -f "$STATE/h$n/sshd_config" -E "$LOGS/h$n-sshd.log" 9>&- \
    || die "host h$n: sshd did not start (log: $LOGS/h$n-sshd.log)"
}

engine_up() {
  local n=$1 name; name=$(ns "$n")
  mkdir -p "$STATE/h$n" "$DATA/h$n" "$LOGS"
  local controller
  # A cgroup of its own per host, parent of its containers: the CPU limit makes each host a
  # small server, so adding hosts adds capacity.
  for controller in cpu cpuacct memory pids; do
    [ -d "/sys/fs/cgroup/$controller" ] && mkdir -p "/sys/fs/cgroup/$controller/$name"
  done
  [ -e "/sys/fs/cgroup/cpu/$name/cpu.cfs_quota_us" ] \
    && echo "$CPU_QUOTA_US" >"/sys/fs/cgroup/cpu/$name/cpu.cfs_quota_us"
  if cdocker "$n" info >/dev/null 2>&1; then return 0; fi
  log "host h$n: starting its engine ($(sock "$n"))"
  # A configuration file of its own, so the machine's /etc/docker/daemon.json does not apply.
  cat >"$STATE/h$n/daemon.json" <<JSON
{
  "data-root": "$DATA/h$n",
  "exec-root": "$STATE/h$n/exec",
  "hosts": ["unix://$(sock "$n")"],
  "pidfile": "$STATE/h$n/docker.pid",
  "cgroup-parent": "/$name",
  "userland-proxy": false,
  "log-level": "warn"
}
JSON
  setsid nohup nsenter --net="/run/netns/$name" dockerd --config-file "$STATE/h$n/daemon.json" \
    >"$LOGS/h$n.log" 2>&1 </dev/null 9>&- &
  local pid=$! _
  for _ in $(seq 60); do
    cdocker "$n" info >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 1
  done
  tail -n 20 "$LOGS/h$n.log" >&2
  die "host h$n's engine did not start (log: $LOGS/h$n.log)"
}

# The pid of host N's dockerd, if its pid file names a dockerd of this host (not a reused pid).
engine_pid() {
  local pid
  pid=$(cat "$STATE/h$1/docker.pid" 2>/dev/null) || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "$STATE/h$1/daemon.json" && echo "$pid"
}

# Every process of host N: its engine, its containerd and shims, and its containers (in its
# cgroups). Repeated until none is left, as a dying container's parent may still fork.
kill_processes() {
  local n=$1 pid dir _
  pid=$(engine_pid "$n") && kill -KILL "$pid" 2>/dev/null
  pid=$(sshd_pid "$n") && kill -KILL "$pid" 2>/dev/null
  pkill -KILL -f "^(/usr/bin/)?(dockerd|containerd|containerd-shim-runc-v2) .*$STATE/h$n/" 2>/dev/null || true
  for _ in $(seq 20); do
    local pids
    pids=$(for dir in $(cgroup_dirs "$n"); do find "$dir" -name tasks -print0 | xargs -0 -r cat; done)
    [ -n "$pids" ] || break
    # shellcheck disable=SC2086 # one pid per word
    kill -KILL $pids 2>/dev/null || true
    sleep 0.1
  done
  rm -f "$STATE/h$n/docker.pid" "$STATE/h$n/sshd.pid"
}

# Stops host N's engine (its containers get their stop signal and grace period) and whatever of
# it is left; unmounts what it mounted.
engine_down() {
  local n=$1 pid
  if pid=$(engine_pid "$n"); then
    log "host h$n: stopping its engine"
    kill -TERM "$pid" 2>/dev/null || true
    local _
    for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  fi
  kill_processes "$n"
  sleep 0.5
  # Mounts under the roots (overlay layers, shm, netns files), deepest first.
  awk -v a="$STATE/h$n" -v b="$DATA/h$n" 'index($2, a) == 1 || index($2, b) == 1 {print $2}' /proc/mounts \
    | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  local dir
  for dir in $(cgroup_dirs "$n"); do
    find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
}

namespaces_down() {
  local n
  for n in "${HOSTS[@]}"; do engine_down "$n"; done
  for n in "${HOSTS[@]}"; do
    ip link del "veth-h$n" 2>/dev/null || true
    [ -e "/run/netns/$(ns "$n")" ] && ip netns del "$(ns "$n")"
  done
  ip link del "$BRIDGE" 2>/dev/null || true
  while iptables -D DOCKER-USER -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT 2>/dev/null; do :; done
}

