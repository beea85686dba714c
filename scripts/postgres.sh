#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests: made with initdb in a folder of its own, run by
# a user who is not root (PostgreSQL refuses root), listening on 127.0.0.1 only. No system
# service is touched. Needs Debian's postgresql (scripts/setup.sh --tests installs it).
#
#   scripts/postgres.sh start DIR PORT   prints the administrator's URL once it accepts connections
#   scripts/postgres.sh stop DIR
set -euo pipefail

bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
[ -x "$bin/initdb" ] || { echo "PostgreSQL is not installed (scripts/setup.sh --tests)" >&2; exit 1; }

# As root, run the server as Debian's `postgres` user (made by the package).
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-}" in
  start)
    dir="$2"; port="$3"
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
    # British ordering (ICU's en-GB: case and punctuation sort as people expect, not as bytes
    # do), as a council's server may well have: the relay must not depend on byte order.
    as_owner "$bin/initdb" -D "$dir/data" -U tac --auth=trust -E UTF8 --locale=C.UTF-8 \
      --locale-provider=icu --icu-locale=en-GB >"$dir/initdb.log"
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/data/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories='$dir/data' -c max_connections=300" \
      start >/dev/null
    echo "postgres://tac@127.0.0.1:$port/postgres"
    ;;
  stop)
    dir="$2"
    [ -d "$dir/data" ] && as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null || true
    rm -rf "$dir"
    ;;
  *)
    echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2 ;;
esac
