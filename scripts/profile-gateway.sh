#!/usr/bin/env bash
# Where the gateway's time goes under P1 load: runs the P1 benchmark
# (scripts/bench.sh --only P1), records a perf profile (cpu-clock samples,
# DWARF call graphs) of the system-under-test process while the gateway path
# is measured, and prints the share of CPU per component
# (bench/profile/gateway_components.py). Needs perf (Debian's linux-perf).
#
#   bash scripts/profile-gateway.sh [out-dir]   # default target/profile-gateway
set -euo pipefail
cd "$(dirname "$0")/.."

out="${1:-target/profile-gateway}"
mkdir -p "$out"
if ! command -v perf >/dev/null 2>&1; then
    echo "!! perf is missing: apt-get install -y linux-perf" >&2
    exit 1
fi

log="$out/bench.log"
ZT_BENCH_OUT_DIR="$out/bench" bash scripts/bench.sh --only P1 > "$log" 2>&1 &
bench_pid=$!
until grep -q "P1 throughput: gateway" "$log" 2>/dev/null; do
    if ! kill -0 "$bench_pid" 2>/dev/null; then
        echo "!! the benchmark ended before the gateway path; see $log" >&2
        exit 1
    fi
    sleep 0.5
done
# Past the warm-up, into the measured repetitions.
sleep 4
serve_pid="$(pgrep -f 'zhongtai-bench serve' | head -1)"
echo "== recording the system under test (pid $serve_pid) for 4 s"
perf record -q -e cpu-clock -F 1999 --call-graph dwarf,16384 -p "$serve_pid" \
    -o "$out/perf.data" -- sleep 4
wait "$bench_pid"
perf script -i "$out/perf.data" -F comm,tid,ip,sym 2>/dev/null \
    | python3 bench/profile/gateway_components.py | tee "$out/components.md"
echo "== throughput in the same run: $out/bench/RESULTS.md; profile: $out/perf.data"
