#!/bin/sh
# Behaves as the official image's entry point: bare options go to redis-server, the server runs as
# the redis user and owns /data, and protected mode is off (the official build turns it off) so the
# other containers of a deployment may connect over the network without a password.
set -eu

case "${1:-redis-server}" in
  -*|*.conf) set -- redis-server "$@" ;;
esac

if [ "${1:-}" = redis-server ]; then
  shift
  # A configuration file must stay the first argument; options after it override it.
  case "${1:-}" in
    *.conf) conf=$1; shift; set -- redis-server "$conf" --protected-mode no "$@" ;;
    *) set -- redis-server --protected-mode no "$@" ;;
  esac
  if [ "$(id -u)" = 0 ]; then
    find . ! -user redis -exec chown redis:redis '{}' +
    exec setpriv --reuid=redis --regid=redis --init-groups "$@"
  fi
fi
exec "$@"
