# shellcheck shell=bash
# Runs the app on N hosts only (the label foobar.app, which the stack's global app service is
# placed by), and waits until exactly those N tasks run healthy and the site answers. Scaling
# out (or in) is this one label per host: `make cluster-scale` measures it. The hosts are taken
# in this order: h1 (the database's), then the load balancer host without the virtual IP, then
# the one holding it, which also carries HAProxy for every request.
app_hosts() {
  local count=$1 n id order=(1)
  case $count in 1 | 2 | 3) ;; *) die "app-hosts takes 1, 2 or 3" ;; esac
  [ "$(autoscale status)" = off ] || autoscale off
  if holds_vip 2; then order+=(3 2); else order+=(2 3); fi
  local chosen=("${order[@]:0:$count}")
  for n in "${HOSTS[@]}"; do
    id=$(hdocker "$n" info --format '{{.Swarm.NodeID}}')
    if [[ " ${chosen[*]} " == *" $n "* ]]; then
      hdocker 1 node update --label-add foobar.app=yes "$id" >/dev/null
    elif [ -n "$(hdocker 1 node inspect --format '{{index .Spec.Labels "foobar.app"}}' "$id")" ]; then
      hdocker 1 node update --label-rm foobar.app "$id" >/dev/null
    fi
  done
  local _ healthy want
  want=$(printf 'h%s\n' "${chosen[@]}" | sort | tr '\n' ' ')
  for _ in $(seq 120); do
    healthy=
    for n in "${HOSTS[@]}"; do
      [ -n "$(hdocker "$n" ps -q --filter label=com.docker.swarm.service.name=foobar_app --filter health=healthy)" ] \
        && healthy+="h$n "
    done
    # Tasks on unlabelled hosts are stopped, those on labelled ones started.
    if [ "$healthy" = "$want" ] && converged; then
      log "the app runs on $healthy"
      return 0
    fi
    sleep 1
  done
  die "the app did not run on exactly $want within 120 s"
}


# Auto-scaling (cluster/autoscaler, docs/cluster.md#auto-scaling) on or off: the app service's
# label foobar.autoscale, which the autoscaler reads before it acts. Off, it keeps running and
# recommending (its metrics stay: stopping it would leave Prometheus a target that pages), and
# changes nothing once this returns; the app stays on the hosts it runs on then. The choice is
# kept as CLUSTER_AUTOSCALE with the cluster's settings, so a deploy keeps it.
autoscale() {
  case $1 in
    on | off) ;;
    status) hdocker 1 service inspect --format '{{index .Spec.Labels "foobar.autoscale"}}' foobar_app; return ;;
    *) die "autoscale takes on, off or nothing (which of them)" ;;
  esac
  if grep -q '^CLUSTER_AUTOSCALE=' "$DATA/cluster.env"; then
    sed -i "s/^CLUSTER_AUTOSCALE=.*/CLUSTER_AUTOSCALE=$1/" "$DATA/cluster.env"
  else
    echo "CLUSTER_AUTOSCALE=$1" >>"$DATA/cluster.env"
  fi
  # A service label only: Swarm restarts no task for it.
  hdocker 1 service update --quiet --detach --label-add "foobar.autoscale=$1" foobar_app >/dev/null
  log "auto-scaling $1"
}
