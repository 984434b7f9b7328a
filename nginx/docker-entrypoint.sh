#!/bin/sh
# Entrypoint of the web image: prepare the runtime directory, the certificate
# (tls-watch), render the app upstream, start upstream-watch, then exec the command (nginx in the
# foreground, so it is PID 1 and gets docker's SIGQUIT for a graceful stop).
set -eu

# /run/nginx may be a fresh tmpfs (read-only root filesystem); recreate it.
if ! mkdir -p /run/nginx/tmp 2>/dev/null; then
  echo "docker-entrypoint: /run/nginx is not writable by $(id -un)." \
       "With a read-only root filesystem, mount a tmpfs there: /run/nginx:uid=33,gid=33" >&2
  exit 1
fi

if [ "${1:-}" = nginx ]; then
  tls-watch --init
  upstream-watch --init
  # Only for the server itself, not for `nginx -t`, `nginx -V`, ...
  # Restarted if it ever dies: without it a redeployed app goes unnoticed.
  case " $* " in
    *"daemon off;"*)
      while :; do
        upstream-watch || echo "upstream-watch exited ($?); restarting" >&2
        sleep 1
      done &
      # A renewed certificate is served after a graceful reload.
      while :; do
        tls-watch || echo "tls-watch exited ($?); restarting" >&2
        sleep 1
      done &
      ;;
  esac
fi

exec "$@"
