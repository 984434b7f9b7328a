# shellcheck shell=bash
# How every host is driven: as a remote Docker engine is in production, `docker -H
# ssh://ADDR`, on the namespaces as on your servers. The Docker CLI runs plain `ssh` with no
# options of its own and no terminal, so it gets a config of the project's here: BatchMode
# (never a prompt: an unknown host key fails at once), the project's known_hosts (filled by
# ssh-keyscan when the hosts come up), and one multiplexed connection per host kept for a while
# (ControlMaster), so a docker command costs a round trip, not a handshake.

SSH_DIR=$DATA/ssh

ssh_setup() {
  install -d -m 700 "$SSH_DIR" "$SSH_DIR/bin" "$STATE/ssh"
  # The namespaces' sshd trust the project's own key; on your servers it is yours
  # (CLUSTER_SSH_KEY, else ssh's defaults and agent).
  if [ "$PROVIDER" = namespaces ] && [ ! -s "$SSH_DIR/id_ed25519" ]; then
    ssh-keygen -q -t ed25519 -N '' -C foobar-cluster -f "$SSH_DIR/id_ed25519"
  fi
  local key=${CLUSTER_SSH_KEY:-}
  [ "$PROVIDER" = servers ] || key=$SSH_DIR/id_ed25519
  {
    echo "Host *"
    echo "  User $CLUSTER_SSH_USER"
    [ -z "$key" ] || echo "  IdentityFile $key"
    echo "  UserKnownHostsFile $SSH_DIR/known_hosts"
    echo "  StrictHostKeyChecking yes"
    echo "  BatchMode yes"
    echo "  ConnectTimeout 5"
    echo "  ServerAliveInterval 5"
    echo "  ServerAliveCountMax 2"
    echo "  ControlMaster auto"
    echo "  ControlPath $STATE/ssh/%C"
    echo "  ControlPersist 120"
  } >"$SSH_DIR/config"
  # The Docker CLI finds `ssh` on PATH: this one reads the config above.
  printf '#!/bin/sh\nexec /usr/bin/ssh -F %s "$@"\n' "$SSH_DIR/config" >"$SSH_DIR/bin/ssh"
  chmod 755 "$SSH_DIR/bin/ssh"
}

# Records host N's key as it answers now (trust on first use: on your servers, compare it with
# the host's own `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`).
ssh_trust() {
  local host; host=$(addr "$1")
  touch "$SSH_DIR/known_hosts"
  ssh-keygen -q -R "$host" -f "$SSH_DIR/known_hosts" >/dev/null 2>&1 || true
  local _
  for _ in $(seq 20); do
    ssh-keyscan -T 2 -t ed25519 "$host" >>"$SSH_DIR/known_hosts" 2>/dev/null && grep -q "^$host " "$SSH_DIR/known_hosts" && return 0
    sleep 0.5
  done
  die "host h$1 ($host): no SSH server answers on port 22"
}

hssh() { local n=$1; shift; /usr/bin/ssh -F "$SSH_DIR/config" "$(addr "$n")" "$@"; }
hdocker() { local n=$1; shift; PATH="$SSH_DIR/bin:$PATH" docker -H "ssh://$(addr "$n")" "$@"; }
# hdocker, given up after 10 s: for a host that may be down (its engine then never answers).
hdocker_brief() { local n=$1; shift; PATH="$SSH_DIR/bin:$PATH" timeout 10 docker -H "ssh://$(addr "$n")" "$@"; }
