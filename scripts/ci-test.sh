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
# A state folder of this run's own: `down` then stops exactly what this
# run's `up` started, never services another run (or a developer) started.
ZT_TEST_ENV_DIR="$(mktemp -d "${TMPDIR:-/tmp}/zhongtai-test-env.XXXXXX")"
export ZT_TEST_ENV_DIR
cleanup() {
  bash scripts/test-env.sh down || true
  rm -f "$env_file"
  rm -rf "$ZT_TEST_ENV_DIR"
}
trap cleanup EXIT

step "backing services"
bash scripts/test-env.sh up > "$env_file"
# shellcheck disable=SC1090
source "$env_file"

step "lint"
make --no-print-directory lint

step "deployment manifests"
bash scripts/check-deploy.sh

step "build"
cargo build --locked --workspace --all-targets

step "test"
cargo test --locked --workspace --no-fail-fast
