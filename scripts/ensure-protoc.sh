#!/usr/bin/env bash
# Prints the path of a `protoc`-compatible compiler, installing the pure-Rust
# `protox` compiler into a per-user cache when the machine has none.
# Only the etcd client's build script needs it; Zhongtai's own contracts are
# compiled in-process by `protox` and need nothing installed.
set -euo pipefail

if [ -n "${PROTOC:-}" ] && [ -x "${PROTOC}" ]; then
  echo "${PROTOC}"
  exit 0
fi
if command -v protoc >/dev/null 2>&1; then
  command -v protoc
  exit 0
fi

PROTOX_VERSION=0.10.0
root="${XDG_CACHE_HOME:-$HOME/.cache}/zhongtai/tools/protox-${PROTOX_VERSION}"
if [ ! -x "$root/bin/protox" ]; then
  echo "installing protox ${PROTOX_VERSION} into $root (one-time, about a minute)" >&2
  cargo install --quiet --locked protox --version "${PROTOX_VERSION}" --features bin --root "$root" >&2
fi
echo "$root/bin/protox"
