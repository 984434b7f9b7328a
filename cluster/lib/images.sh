# shellcheck shell=bash
# Copies the images the one-server stack built (make build) into every host's engine, unless
# it already has the same image: there is no registry to pull from, so each goes as `docker
# save | docker load` over SSH. The cluster's own images
# are built here: foobar/lb (cluster/lb) and foobar/db-ha (cluster/db: Patroni and etcd on the
# one-server db image; its Patroni wheel comes from make patroni-wheel).
images() {
  local base=${BASE_IMAGE:-debian:bookworm-slim} here=$REPO/cluster
  log "building foobar/lb (cluster/lb) and foobar/db-ha (cluster/db)"
  docker build -q -t foobar/lb:latest --build-arg "BASE_IMAGE=$base" "$here/lb" >/dev/null
  [ -s "$here/db/patroni.whl" ] || die "no cluster/db/patroni.whl (make patroni-wheel)"
  docker build -q -t foobar/db-ha:latest "$here/db" >/dev/null
  local image n
  for image in foobar/web:latest foobar/app:latest foobar/db-ha:latest foobar/lb:latest; do
    local id; id=$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null) || die "no image $image (make build)"
    for n in "${HOSTS[@]}"; do
      [ "$(hdocker "$n" image inspect -f '{{.Id}}' "$image" 2>/dev/null)" = "$id" ] && continue
      log "host h$n: loading $image"
      docker save "$image" | hdocker "$n" load -q >/dev/null
    done
  done
}

