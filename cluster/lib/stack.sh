# shellcheck shell=bash
# The stack: docker-compose.yml with cluster/stack.yml's changes, deployed with `docker stack
# deploy` through h1, and the wait until it serves.

# The stack the cluster runs: docker-compose.yml with cluster/stack.yml's changes (its
# monitoring always on, whatever MONITORING says), merged by
# Compose (which reads .env as for the one-server stack), less what `docker stack deploy`
# (Docker 20.10) does not take: the project name, profiles, builds, start order, restart (a Swarm
# restart_policy instead), the pids limit and no-new-privileges, and the one-server db and the
# exporters that only fit one server (postgres-exporter: Patroni's metrics instead; nginx-exporter:
# each web host is probed instead); and numbers Compose writes as strings where the stack's
# schema wants integers.
stack_config() {
  # shellcheck disable=SC2163 # the names of the autoscaler's settings, exported for Compose
  export "${!CLUSTER_AUTOSCALE@}"
  local service
  for service in "${IMAGES[@]}"; do
    service=${service#foobar/}; service=${service%:*}
    local var=${service^^}; export "FOOBAR_${var//-/_}_IMAGE=$(docker image inspect -f '{{.Id}}' "foobar/$service:${IMAGE_TAG:-latest}")"
  done
  # The certificate from pebble on the namespace hosts (cluster/pebble.yml), from .env's ACME
  # settings (Let's Encrypt by default) on servers.
  local files=(-f "$REPO/docker-compose.yml" -f "$REPO/cluster/stack.yml")
  [ "$PROVIDER" = servers ] || files+=(-f "$REPO/acme/compose.pebble.yml" -f "$REPO/cluster/pebble.yml")
  CLUSTER_ENGINE_SOCKET=$(engine_socket) CLUSTER_WEB_BACKENDS="$(addr 2):8443 $(addr 3):8443" CLUSTER_LB_PEERS="$(addr 2) $(addr 3)" \
    CLUSTER_VIP_CIDR=$VIP/$CLUSTER_VIP_PREFIX CLUSTER_VIP=$VIP CLUSTER_INTERFACE=$CLUSTER_INTERFACE CLUSTER_DB_PASSWORD_FILE="$DATA/db_password" \
    CLUSTER_DB_REPLICATION_PASSWORD_FILE="$DATA/db_replication_password" \
    CLUSTER_DB_REWIND_PASSWORD_FILE="$DATA/db_rewind_password" CLUSTER_ACME_SYNC_TOKEN_FILE="$DATA/acme_sync_token" \
    CLUSTER_ACME_SYNC_CERT_FILE="$DATA/acme_sync_cert" CLUSTER_ACME_SYNC_KEY_FILE="$DATA/acme_sync_key" \
    CLUSTER_MONITORING_HOSTS_FILE="$DATA/monitoring/hosts.yml" CLUSTER_MONITORING_SITE_FILE="$DATA/monitoring/site.yml" \
    CLUSTER_MONITORING_REV="$(cat "$REPO/monitoring/prometheus-cluster.yml" "$DATA/monitoring/hosts.yml" "$DATA/monitoring/site.yml" | sha256sum | cut -c1-12)" \
    COMPOSE_PROFILES=monitoring,acme docker compose --project-directory "$REPO" "${files[@]}" config --format json \
    | jq '{version: "3.8"} + del(.name)
          | del(.services.db, .volumes.pgdata, .services["postgres-exporter"], .services["nginx-exporter"])
          | (.networks, .volumes, .secrets) |= map_values(if .external then . else del(.name) end)
          | .services[] |= (del(.profiles, .build, .depends_on, .restart, .security_opt, .deploy.resources.limits.pids)
                            | with_entries(select(.value != null))
                            | if .ports then .ports[].published |= tonumber else . end
                            | if .volumes then .volumes[] |= (if .tmpfs.size then .tmpfs.size |= tonumber else . end) else . end
                            | if .deploy.resources.limits.cpus then
                                .deploy.resources.limits.cpus |= tostring else . end)'
}

# The Docker socket of the node a task runs on, for the autoscaler (a Swarm template, expanded
# per task). On servers, Docker's own; the namespace hosts share one filesystem, so each engine's
# socket is reached through a link named by its node's id.
engine_socket() {
  if [ "$PROVIDER" = servers ]; then echo /var/run/docker.sock; return; fi
  mkdir -p "$STATE/engines"
  local n
  for n in "${HOSTS[@]}"; do
    ln -sfn "$(sock "$n")" "$STATE/engines/$(hdocker "$n" info --format '{{.Swarm.NodeID}}').sock"
  done
  echo "$STATE/engines/{{.Node.ID}}.sock"
}

# Deploys (or updates) the stack and waits until every service runs all its replicas and web
# answers on each host that runs it.
deploy() {
  images
  # The cluster's database is its own: random passwords (the app's role, replication's,
  # pg_rewind's), kept with the engines' data; the token tls-sync fetches the certificate
  # with, and the certificate and key acme-serve hands it over TLS with (tls-sync pins it).
  mkdir -p "$DATA"
  local secret
  for secret in db_password db_replication_password db_rewind_password acme_sync_token; do
    [ -s "$DATA/$secret" ] \
      || (umask 077; head -c 30 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' >"$DATA/$secret")
  done
  [ -s "$DATA/acme_sync_key" ] && [ -s "$DATA/acme_sync_cert" ] \
    || (umask 077; openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 36500 \
      -subj /CN=acme -addext subjectAltName=DNS:acme \
      -keyout "$DATA/acme_sync_key" -out "$DATA/acme_sync_cert" 2>/dev/null) \
    || die "openssl could not make acme-serve's certificate"
  monitoring_targets
  log "deploying docker-compose.yml + cluster/stack.yml as stack foobar"
  stack_config >"$DATA/stack.json"
  hdocker 1 stack deploy --resolve-image never --prune -c "$DATA/stack.json" foobar >/dev/null
  local _
  # The first deploy initialises the database and clones it twice: allow for it.
  for _ in $(seq 240); do
    if converged; then status; return 0; fi
    sleep 1
  done
  hdocker 1 service ls >&2
  hdocker 1 service ps --no-trunc foobar_web foobar_app foobar_db1 foobar_db2 foobar_db3 2>&1 | grep -v Running | head -n 20 >&2 || true
  die "the stack did not converge within 240 s"
}

# What Prometheus cannot find in Swarm's DNS, from cluster/cluster.env: each host's node-exporter
# (on the host's own network), and the site through the virtual IP. Two files for its
# file_sd_configs, shipped as Swarm configs (cluster/stack.yml).
monitoring_targets() {
  mkdir -p "$DATA/monitoring"
  local n
  for n in "${HOSTS[@]}"; do
    printf -- '- { targets: ["%s:9100"], labels: { host: h%s } }\n' "$(addr "$n")" "$n"
  done >"$DATA/monitoring/hosts.yml"
  {
    printf -- '- { targets: ["https://%s/"], labels: { probe: page, module: https } }\n' "$VIP"
    printf -- '- { targets: ["https://%s/api/posts?limit=1"], labels: { probe: api, module: api_tls } }\n' "$VIP"
    printf -- '- { targets: ["https://%s/api/ready"], labels: { probe: database, module: api_tls } }\n' "$VIP"
    printf -- '- { targets: ["http://%s/"], labels: { probe: redirect, module: redirect } }\n' "$VIP"
  } >"$DATA/monitoring/site.yml"
}

# Every service runs all its tasks (at least one), the
# database is whole, and the site answers through web on h2 and h3 and through the load
# balancers' virtual IP.
converged() {
  local services
  services=$(hdocker 1 service ls --filter label=com.docker.stack.namespace=foobar --format '{{.Name}}={{.Replicas}}')
  [ -n "$services" ] || return 1
  local s r
  for s in $services; do
    r=${s#*=}
    [ "${r%%/*}" = "${r##*/}" ] && [ "${r%%/*}" != 0 ] || return 1
  done
  db_whole || return 1
  local url
  for url in "http://$(addr 2):8080" "http://$(addr 3):8080"; do
    curl -fsS -o /dev/null --max-time 2 -H 'Host: www.foobar.com' "$url/api/ready" 2>/dev/null || return 1
  done
  # HTTPS with the site's certificate, on both load balancers and at the virtual IP.
  site_ca >"$DATA/ca.pem.new" 2>/dev/null && [ -s "$DATA/ca.pem.new" ] && mv -f "$DATA/ca.pem.new" "$DATA/ca.pem" || return 1
  local at
  for at in "$(addr 2)" "$(addr 3)" "$VIP"; do
    curl -fsS -o /dev/null --max-time 2 --cacert "$DATA/ca.pem" --resolve "www.foobar.com:443:$at" \
      https://www.foobar.com/api/ready 2>/dev/null || return 1
  done
}

# The CA the site's certificate chains to, as the acme task has it (pebble's root on the
# namespace hosts; on servers with Let's Encrypt, the system's bundle): the tools trust it
# (FOOBAR_CA_FILE, `cluster/hosts ca-file`).
site_ca() {
  local n id
  for n in "${HOSTS[@]}"; do
    id=$(hdocker_brief "$n" ps -q --filter label=com.docker.swarm.service.name=foobar_acme 2>/dev/null | head -n 1) || continue
    [ -n "$id" ] && hdocker_brief "$n" exec "$id" cat /tls/ca.pem && return 0
  done
  return 1
}

# Renews the certificate now (the acme task's SIGUSR1) and waits until both load balancers
# serve the new one.
renew_certificate() {
  local n id before
  before=$(served_serial "$(addr 2)")
  for n in "${HOSTS[@]}"; do
    id=$(hdocker_brief "$n" ps -q --filter label=com.docker.swarm.service.name=foobar_acme 2>/dev/null | head -n 1) || continue
    [ -n "$id" ] && hdocker_brief "$n" kill -s USR1 "$id" >/dev/null && break
  done
  [ -n "$id" ] || die "no acme task runs"
  local _ s2 s3
  for _ in $(seq 60); do
    s2=$(served_serial "$(addr 2)") s3=$(served_serial "$(addr 3)")
    if [ -n "$s2" ] && [ "$s2" != "$before" ] && [ "$s2" = "$s3" ]; then
      log "both load balancers serve serial $s2 (was $before)"
      # The CA too, for the tools: pebble's changes when it restarts.
      site_ca >"$DATA/ca.pem.new" && [ -s "$DATA/ca.pem.new" ] && mv -f "$DATA/ca.pem.new" "$DATA/ca.pem"
      return 0
    fi
    sleep 1
  done
  die "no new certificate on both load balancers within 60 s (h2: $s2, h3: $s3, was $before)"
}

# The serial of the certificate HAProxy at ADDR:443 serves for www.foobar.com.
served_serial() {
  openssl s_client -connect "$1:443" -servername www.foobar.com </dev/null 2>/dev/null \
    | openssl x509 -noout -serial 2>/dev/null | sed 's/^serial=//' || true
}


# What alert-log (the monitoring's default receiver) wrote, one line per notification: the logs
# of its containers (those that exited too) on every host whose engine answers within 10 s. Not
# `docker service logs`, which waits on the tasks of a host that is down.
alert_log() {
  local n id ids found=0
  for n in "${HOSTS[@]}"; do
    ids=$(hdocker_brief "$n" ps -aq --filter label=com.docker.swarm.service.name=foobar_alert-log \
      2>/dev/null) || continue
    for id in $ids; do
      hdocker_brief "$n" logs "$id" 2>/dev/null && found=1
    done
  done
  [ "$found" = 1 ] || die "no host's engine gave alert-log's log"
}

# Runs ARGS in an app container (the tools' FOOBAR_APP_EXEC: `foobar-app admin delete-account`
# is how they remove what they wrote), on the first host where it succeeds: a cut host's app
# cannot reach the database. The command is idempotent; a usage error (2) is not retried.
app_exec() {
  local n id status=
  for n in "${HOSTS[@]}"; do
    id=$(hdocker "$n" ps -q --filter "label=com.docker.swarm.service.name=foobar_app" 2>/dev/null | head -n 1) || continue
    [ -n "$id" ] || continue
    status=0
    hdocker "$n" exec "$id" "$@" || status=$?
    case $status in 0 | 2) return "$status" ;; esac
  done
  [ -n "$status" ] || die "no app container runs on any host"
  return "$status"
}
