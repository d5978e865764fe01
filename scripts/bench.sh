#!/usr/bin/env bash
# Zhongtai's benchmarks P1–P6 (bench/): the gateway against direct tonic and
# nginx grpc_pass (P1, P2, P4), verification over gRPC on one core (P3), the
# exchange's commit-to-receipt latency against raw logical decoding (P5), and
# how fast a dead instance leaves routing (P6). Builds the release binaries,
# starts (or finds) nginx, PostgreSQL, the logical-replication source
# PostgreSQL, RabbitMQ and etcd — stopping afterwards only what it started —,
# runs them, and prints the table it writes to bench/RESULTS.md (raw figures
# in bench/results.json).
#
#   bash scripts/bench.sh                # the full run
#   bash scripts/bench.sh --quick        # a short smoke run of the harness
#   bash scripts/bench.sh --only P3,P5   # some of them
#   bash scripts/bench.sh --no-gateway
#   ZT_BENCH_OUT_DIR=/tmp/b bash scripts/bench.sh   # write the results elsewhere
set -euo pipefail
cd "$(dirname "$0")/.."

export PROTOC="${PROTOC:-$(bash scripts/ensure-protoc.sh)}"
target_dir="${CARGO_TARGET_DIR:-target}"

args=("$@")
features=()
if printf '%s\n' "${args[@]}" | grep -qx -- --no-gateway; then
    features=(--no-default-features)
fi

echo "== building zhongtai and zhongtai-bench (release)"
cargo build --locked --release -p zhongtai
if ! cargo build --locked --release -p zhongtai-bench "${features[@]}"; then
    if [ ${#features[@]} -eq 0 ]; then
        echo "!! the gateway build failed; measuring the direct and nginx paths only" >&2
        cargo build --locked --release -p zhongtai-bench --no-default-features
        args+=(--no-gateway)
    else
        exit 1
    fi
fi

if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
    echo "== nginx is missing: running 'apt-get install -y nginx-light'"
    if [ "$(id -u)" -ne 0 ]; then
        echo "!! not root: install nginx (apt-get install -y nginx-light) and run again" >&2
        exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light
fi
echo "== nginx: $( (/usr/sbin/nginx -v || nginx -v) 2>&1 )"

# Backing services, in a state folder of this run's own so that only what
# this run started is stopped at the end.
ZT_TEST_ENV_DIR="$(mktemp -d "${TMPDIR:-/tmp}/zhongtai-bench-env.XXXXXX")"
export ZT_TEST_ENV_DIR
env_file="$(mktemp)"
cleanup() {
    bash scripts/test-env.sh down || true
    rm -f "$env_file"
    rm -rf "$ZT_TEST_ENV_DIR"
}
trap cleanup EXIT
echo "== backing services"
bash scripts/test-env.sh up > "$env_file"
# shellcheck disable=SC1090
source "$env_file"

echo "== running: zhongtai-bench run ${args[*]}"
ZT_BENCH_ZHONGTAI_BIN="$(realpath "$target_dir/release/zhongtai")" \
    "$target_dir/release/zhongtai-bench" run --out-dir "${ZT_BENCH_OUT_DIR:-bench}" "${args[@]}"
