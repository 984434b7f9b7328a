# shellcheck shell=bash
# Copies the images the one-server stack built (make build) into every host's engine, unless
# it already has the same image: there is no registry to pull from, so each goes as `docker
# save | docker load` over SSH, to all hosts at once; a host that fails does not stop the
# others, and each failure is reported. The cluster's own images are built here: foobar/lb
# (cluster/lb), foobar/db-ha (cluster/db: Patroni and etcd on the one-server db image; its
# Patroni wheel comes from make patroni-wheel), foobar/monitoring (monitoring/: the cluster
# always runs it) and foobar/autoscaler (cluster/autoscaler: its binary built here by cargo).
# IMAGE_TAG (default latest): `make test` builds and runs its own, so it leaves yours alone.
TAG=${IMAGE_TAG:-latest}
IMAGES=("foobar/web:$TAG" "foobar/app:$TAG" "foobar/db-ha:$TAG" "foobar/lb:$TAG" "foobar/monitoring:$TAG"
  "foobar/autoscaler:$TAG" "foobar/acme:$TAG")
# pebble (tests only) on the namespace hosts alone (cluster/pebble.yml).
[ "$PROVIDER" = servers ] || IMAGES+=("foobar/pebble:$TAG")

images() {
  local base=${BASE_IMAGE:-debian:bookworm-slim} here=$REPO/cluster
  log "building foobar/lb (cluster/lb), foobar/db-ha (cluster/db) and foobar/monitoring"
  docker build -q -t "foobar/lb:$TAG" --build-arg "BASE_IMAGE=$base" "$here/lb" >/dev/null
  docker build -q -t "foobar/monitoring:$TAG" --build-arg "BASE_IMAGE=$base" "$REPO/monitoring" >/dev/null
  log "building foobar/acme (acme/)"
  docker build -q -t "foobar/acme:$TAG" --target acme --build-arg "BASE_IMAGE=$base" "$REPO/acme" >/dev/null
  [ "$PROVIDER" = servers ] \
    || docker build -q -t "foobar/pebble:$TAG" --target pebble --build-arg "BASE_IMAGE=$base" "$REPO/acme" >/dev/null
  [ -s "$here/db/patroni.whl" ] || die "no cluster/db/patroni.whl (make patroni-wheel)"
  docker build -q -t "foobar/db-ha:$TAG" --build-arg "DB_IMAGE=foobar/db:$TAG" "$here/db" >/dev/null
  log "building foobar/autoscaler (cluster/autoscaler)"
  (cd "$REPO" && cargo build -q --release --locked -p foobar-autoscaler)
  local context
  context=$(mktemp -d)
  cp "$REPO/target/release/foobar-autoscaler" "$here/autoscaler/Dockerfile" "$context/"
  docker build -q -t "foobar/autoscaler:$TAG" --build-arg "BASE_IMAGE=$base" "$context" >/dev/null
  rm -rf "$context"
  local image
  for image in "${IMAGES[@]}"; do
    docker image inspect "$image" >/dev/null 2>&1 || die "no image $image (make build)"
  done
  local n pids=() failed=()
  mkdir -p "$LOGS"
  for n in "${HOSTS[@]}"; do
    images_to "$n" >"$LOGS/h$n-images.log" 2>&1 &
    pids[n]=$!
  done
  for n in "${HOSTS[@]}"; do
    wait "${pids[n]}" || failed+=("h$n")
    cat "$LOGS/h$n-images.log" >&2
  done
  [ ${#failed[@]} = 0 ] || die "copying the images failed on ${failed[*]} (logs above)"
}

# The images host N lacks, or has older, copied to it.
images_to() {
  local n=$1 image
  for image in "${IMAGES[@]}"; do
    [ "$(hdocker "$n" image inspect -f '{{.Id}}' "$image" 2>/dev/null)" = "$(docker image inspect -f '{{.Id}}' "$image")" ] && continue
    log "host h$n: loading $image"
    docker save "$image" | hdocker "$n" load -q >/dev/null || { log "host h$n: loading $image failed"; return 1; }
  done
}
