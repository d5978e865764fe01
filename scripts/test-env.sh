#!/usr/bin/env bash
# Finds or starts the backing services the tests need — PostgreSQL, RabbitMQ
# and etcd — on loopback, and stops only what it started.
#
#   scripts/test-env.sh up     # prints `export …` lines for the test run
#   scripts/test-env.sh down   # stops what `up` started
#
# State (what was started) lives in $ZT_TEST_ENV_DIR (default
# ${TMPDIR:-/tmp}/zhongtai-test-env-$UID).
set -euo pipefail

state_dir="${ZT_TEST_ENV_DIR:-${TMPDIR:-/tmp}/zhongtai-test-env-$(id -u)}"
mkdir -p "$state_dir"
started="$state_dir/started"
touch "$started"

log() { printf 'test-env: %s\n' "$*" >&2; }

tcp_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else "$@"; fi
}

wait_for() { # what seconds command...
  local what=$1 seconds=$2; shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then log "$what did not come up within ${seconds}s"; return 1; fi
    sleep 0.2
  done
}

postgres_up() {
  local url="${ZT_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
  if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || tcp_open 127.0.0.1 5432; then
    log "postgresql: found on 127.0.0.1:5432"
  else
    local version
    version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -z "$version" ]; then
      log "postgresql: not running and not installed (apt-get install -y postgresql)"; return 1
    fi
    log "postgresql: starting cluster $version/main"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
    echo "postgres $version" >> "$started"
    wait_for postgresql 30 tcp_open 127.0.0.1 5432
  fi
  echo "export ZT_TEST_POSTGRES_URL='$url'"
}

rabbitmq_up() {
  local url="${ZT_TEST_AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/%2f}"
  if tcp_open 127.0.0.1 5672; then
    log "rabbitmq: found on 127.0.0.1:5672"
  else
    command -v rabbitmq-server >/dev/null || { log "rabbitmq: not installed (apt-get install -y rabbitmq-server)"; return 1; }
    log "rabbitmq: starting"
    as_root rabbitmq-server -detached
    echo "rabbitmq" >> "$started"
    # await_startup fails until the node has registered; keep asking.
    wait_for rabbitmq 90 as_root rabbitmqctl -q await_startup
  fi
  echo "export ZT_TEST_AMQP_URL='$url'"
}

# A throwaway PostgreSQL cluster with wal_level=logical: the "department"
# database exchange lines read through logical replication.
source_postgres_up() {
  if [ -n "${ZT_TEST_SOURCE_POSTGRES_URL:-}" ]; then
    log "source postgresql: using $ZT_TEST_SOURCE_POSTGRES_URL"
    echo "export ZT_TEST_SOURCE_POSTGRES_URL='$ZT_TEST_SOURCE_POSTGRES_URL'"
    return 0
  fi
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  [ -x "$bin/initdb" ] || { log "source postgresql: no initdb under /usr/lib/postgresql"; return 1; }
  local data="$state_dir/source-pg" port=55433
  local run=(); [ "$(id -u)" = 0 ] && run=(runuser -u postgres --)
  if pg_isready -q -h 127.0.0.1 -p $port 2>/dev/null; then
    log "source postgresql: found on 127.0.0.1:$port"
  else
    rm -rf "$data"; mkdir -p "$data"
    [ "$(id -u)" = 0 ] && chown postgres "$data" "$state_dir"
    log "source postgresql: initdb + start on 127.0.0.1:$port (wal_level=logical)"
    "${run[@]}" "$bin/initdb" -D "$data" -A trust -U postgres >/dev/null
    cat >> "$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$data'
wal_level = logical
max_replication_slots = 64
max_wal_senders = 64
max_connections = 200
fsync = off
synchronous_commit = off
CONF
    echo "host replication all 127.0.0.1/32 trust" >> "$data/pg_hba.conf"
    "${run[@]}" "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w start >/dev/null
    echo "source-postgres $bin $data" >> "$started"
  fi
  echo "export ZT_TEST_SOURCE_POSTGRES_URL='postgres://postgres@127.0.0.1:$port/postgres'"
}

etcd_healthy() { # port
  local response
  response=$( (exec 3<>"/dev/tcp/127.0.0.1/$1" && printf 'GET /health HTTP/1.0\r\n\r\n' >&3 && cat <&3) 2>/dev/null || true)
  [[ "$response" == *'"health":"true"'* ]]
}

etcd_up() {
  if [ -n "${ZT_TEST_ETCD_ENDPOINTS:-}" ]; then
    log "etcd: using $ZT_TEST_ETCD_ENDPOINTS"
  elif etcd_healthy 2379; then
    log "etcd: found on 127.0.0.1:2379"
    ZT_TEST_ETCD_ENDPOINTS=http://127.0.0.1:2379
  else
    if ! command -v etcd >/dev/null; then
      log "etcd: installing etcd-server from Debian"
      if ! as_root apt-get install -y -qq etcd-server >/dev/null 2>&1; then
        as_root apt-get update -qq >/dev/null
        as_root apt-get install -y -qq etcd-server >/dev/null
      fi
    fi
    local client=2379 peer=2380
    if tcp_open 127.0.0.1 $client || tcp_open 127.0.0.1 $peer; then
      client=23790; peer=23800
    fi
    local data="$state_dir/etcd-data"
    rm -rf "$data"
    log "etcd: starting on 127.0.0.1:$client (data in $data)"
    nohup etcd --name zt --logger zap --log-level warn --data-dir "$data" \
      --listen-client-urls "http://127.0.0.1:$client" --advertise-client-urls "http://127.0.0.1:$client" \
      --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
      --initial-cluster "zt=http://127.0.0.1:$peer" >"$state_dir/etcd.log" 2>&1 &
    echo "etcd $! $data" >> "$started"
    wait_for etcd 20 etcd_healthy $client
    ZT_TEST_ETCD_ENDPOINTS="http://127.0.0.1:$client"
  fi
  echo "export ZT_TEST_ETCD_ENDPOINTS='$ZT_TEST_ETCD_ENDPOINTS'"
  echo "export ZT_ETCD_BIN='$(command -v etcd)'"
}

python_client_up() {
  # Independent clients: grpcio for health and reflection checks, PyJWT
  # (with cryptography) to verify certificates with nothing of ours.
  local venv="${XDG_CACHE_HOME:-$HOME/.cache}/zhongtai/tools/pyclient"
  if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import grpc_health, grpc_reflection, jwt, cryptography' 2>/dev/null; then
    log "python: installing grpcio client tools into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check \
      'grpcio==1.*' 'grpcio-health-checking==1.*' 'grpcio-reflection==1.*' 'protobuf>=5' \
      'PyJWT[crypto]==2.*'
  fi
  echo "export ZT_TEST_PYTHON='$venv/bin/python'"
}

down() {
  [ -s "$started" ] || { log "nothing to stop"; return 0; }
  # Stop in reverse order of starting.
  tac "$started" | while read -r what arg1 arg2; do
    case "$what" in
      etcd) log "etcd: stopping pid $arg1"; kill "$arg1" 2>/dev/null || true; rm -rf "$arg2" ;;
      rabbitmq) log "rabbitmq: stopping"; as_root rabbitmqctl -q stop >/dev/null 2>&1 || true ;;
      source-postgres) log "source postgresql: stopping"
        if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$arg1/pg_ctl" -D "$arg2" -m fast stop >/dev/null || true
        else "$arg1/pg_ctl" -D "$arg2" -m fast stop >/dev/null || true; fi
        rm -rf "$arg2" ;;
      postgres) log "postgresql: stopping $arg1/main"; as_root pg_ctlcluster --skip-systemctl-redirect "$arg1" main stop || true ;;
    esac
  done
  : > "$started"
}

case "${1:-}" in
  up) postgres_up; source_postgres_up; rabbitmq_up; etcd_up; python_client_up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
