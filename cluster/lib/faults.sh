# shellcheck shell=bash
# Faults the drills inject into a host, and what they look at. kill and cut act on the
# namespace hosts (on your servers, power a machine off or unplug it yourself).

# Kills host N's engine, its sshd and every container on it (SIGKILL, no shutdown). Its kernel
# and network stay, as when a machine's software dies: connections to it are refused at once.
# Its state on disk stays, so `start N` brings it back.
kill_host() { needs_namespaces kill; kill_processes "$1"; }
start_host() { needs_namespaces start; sshd_up "$1"; engine_up "$1"; }

# How many processes of host N are left (its engine, containerd, its containers): 0 once it is
# killed. The drills check it before they judge what users saw.
host_processes() {
  needs_namespaces processes
  local dir
  {
    for dir in $(cgroup_dirs "$1"); do find "$dir" -name tasks -print0 | xargs -0 -r cat; done
    pgrep -f "^(/usr/bin/)?(dockerd|containerd|containerd-shim-runc-v2) .*$STATE/h$1/" || true
  } | sort -u | grep -c . || true
}

# Whether host N answers a ping from here (a cut host does not).
answers_ping() { ping -c 2 -W 1 -q "$(addr "$1")" >/dev/null 2>&1; }

# Cuts host N off the network (its link down): everything on it keeps running, but nothing
# reaches it or comes from it, not even ARP; connections to it time out. `heal N` undoes it.
cut_host() { needs_namespaces cut; ip link set "veth-h$1" down; }
heal_host() { needs_namespaces heal; ip link set "veth-h$1" up; }

# Whether host N holds the virtual IP now: read from the namespace itself (a cut-off host may
# still hold it), or over SSH on your servers.
holds_vip() {
  if [ "$PROVIDER" = namespaces ]; then
    ip -n "$(ns "$1")" -4 -o addr show 2>/dev/null | grep -q " $VIP/"
  else
    hssh "$1" ip -4 -o addr show 2>/dev/null | grep -q " $VIP/"
  fi
}
