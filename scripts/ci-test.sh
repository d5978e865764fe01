#!/usr/bin/env bash
# Everything CI runs (`make test`): lint, build, and every test against real
# PostgreSQL, RabbitMQ and etcd, found or started by scripts/test-env.sh and
# stopped afterwards if this run started them.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

PROTOC="$(bash scripts/ensure-protoc.sh)"
export PROTOC

env_file="$(mktemp)"
cleanup() {
  bash scripts/test-env.sh down || true
  rm -f "$env_file"
}
trap cleanup EXIT

step "backing services"
bash scripts/test-env.sh up > "$env_file"
# shellcheck disable=SC1090
source "$env_file"

step "lint"
make --no-print-directory lint

step "build"
cargo build --locked --workspace --all-targets

step "test"
cargo test --locked --workspace --no-fail-fast
