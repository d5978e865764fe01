#!/usr/bin/env bash
# Lints and builds the protobuf contracts under proto/ with the buf CLI
# (rules in buf.yaml: STANDARD lint, FILE breaking). Installs a pinned buf
# from the npm registry into a per-user cache the first time; needs only
# node/npm. Also checks that every event payload is named after its routing
# key. Exits non-zero on any finding.
set -euo pipefail

BUF_VERSION="${BUF_VERSION:-1.75.0}"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tool_dir="${XDG_CACHE_HOME:-$HOME/.cache}/zhongtai/tools/buf-${BUF_VERSION}"
buf="$tool_dir/node_modules/.bin/buf"

if [ ! -x "$buf" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "buf-lint: npm is required to install buf ${BUF_VERSION}" >&2
    exit 2
  fi
  echo "buf-lint: installing buf ${BUF_VERSION} into $tool_dir" >&2
  mkdir -p "$tool_dir"
  npm install --prefix "$tool_dir" --no-audit --no-fund --no-save --loglevel=error \
    "@bufbuild/buf@${BUF_VERSION}" >&2
fi

# Every event payload in proto/zhongtai/events/v1/<area>_events.proto states
# its routing key `<area>.<entity>.<verb>` in a "Routing key:" comment line,
# and is named after it (approval.service_item.created → ServiceItemCreated),
# so publishers and consumers can never disagree on which payload a key
# carries. Keys are unique across files.
check_event_payloads() {
  local status=0 file area
  for file in proto/zhongtai/events/v1/*_events.proto; do
    area="$(basename "$file" _events.proto)"
    awk -v area="$area" -v file="$file" '
      function camel(word,    parts, n, i, out) {
        n = split(word, parts, "_")
        out = ""
        for (i = 1; i <= n; i++) out = out toupper(substr(parts[i], 1, 1)) substr(parts[i], 2)
        return out
      }
      /^\/\/ Routing key: / {
        key = $4
        sub(/\.$/, "", key)
        next
      }
      /^message [A-Za-z0-9]+ \{/ {
        name = $2
        if (key == "") {
          printf "%s: message %s has no \"Routing key:\" comment line\n", file, name
          failed = 1
        } else {
          n = split(key, segment, ".")
          if (n != 3 || segment[1] != area || segment[2] !~ /^[a-z][a-z_]*$/ || segment[3] !~ /^[a-z][a-z_]*$/) {
            printf "%s: message %s: routing key %s is not %s.<entity>.<verb>\n", file, name, key, area
            failed = 1
          } else if (camel(segment[2]) camel(segment[3]) != name) {
            printf "%s: message %s should be named %s after its routing key %s\n", file, name, camel(segment[2]) camel(segment[3]), key
            failed = 1
          }
          print key > "/dev/stderr"
        }
        key = ""
      }
      END { exit failed }
    ' "$file" 2>>"$keys_file" || status=1
  done
  local duplicates
  duplicates="$(sort "$keys_file" | uniq -d)"
  if [ -n "$duplicates" ]; then
    echo "routing keys used by more than one payload: $duplicates"
    status=1
  fi
  return "$status"
}

cd "$repo_root"
"$buf" --version >&2
"$buf" lint
"$buf" build -o /dev/null
keys_file="$(mktemp)"
trap 'rm -f "$keys_file"' EXIT
check_event_payloads >&2
echo "buf-lint: proto/ is clean ($(wc -l <"$keys_file") event payloads)" >&2
