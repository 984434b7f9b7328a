#!/bin/sh
# Entrypoint of the web image: prepare the runtime directory, render the app
# upstream, start upstream-watch, then exec the command (nginx in the
# foreground, so it is PID 1 and gets docker's SIGQUIT for a graceful stop).
set -eu

# /run/nginx may be a fresh tmpfs (read-only root filesystem); recreate it.
mkdir -p /run/nginx/tmp

if [ "${1:-}" = nginx ]; then
  upstream-watch --init
  # Only for the server itself, not for `nginx -t`, `nginx -V`, ...
  case " $* " in
    *"daemon off;"*) upstream-watch & ;;
  esac
fi

exec "$@"
