"""Shares of CPU per component in a `perf script` dump of the benchmark's
system-under-test process (the gateway, the backend it forwards to, and the
database client they share), read from standard input.

Each sample goes to the component of the frame nearest its leaf that
names one (perf script prints the leaf first): time in HTTP/2 framing
called from the front door counts as HTTP/2, not as the front door. The
backend's own server is told apart from the gateway's by tonic's frames.
Prints a Markdown table.
"""

import collections
import sys

DATABASE = "PostgreSQL client (sqlx, sea-orm, TLS; nonces, limit leases, audit)"
SERVER = "gateway HTTP/2 server (axum, hyper, h2)"
BACKEND = "backend (tonic server and handler: the direct path's whole cost)"
COMPONENTS = [
    (DATABASE, ["sqlx", "sea_orm"]),
    ("gateway → backend HTTP/2 client (hyper, h2)", ["h2::client", "hyper::proto::h2::client", "hyper_util::client"]),
    ("HTTP/2 framing and HPACK (either side)", ["h2::", "hpack"]),
    ("telemetry (tracing, OpenTelemetry, metrics)", ["opentelemetry", "tracing", "prometheus"]),
    ("signing (HMAC-SHA256, canonical request)", ["signing::", "hmac", "ring_core"]),
    ("front door (routing, shedding, authentication, limits, forwarding, audit record)", ["zhongtai_gateway", "zhongtai_mesh"]),
    (BACKEND, ["zhongtai_bench", "tonic::"]),
    (SERVER, ["axum", "hyper::"]),
    ("sockets, wake-ups and scheduling (tokio, mio, kernel)", ["tokio::", "mio::"]),
]
TLS_MARKERS = ["rustls", "RustlsSocket"]


def component_of(frames: list[str]) -> str:
    # The database client runs in its own tasks: any of its frames decides.
    if any(marker in frame for frame in frames for marker in COMPONENTS[0][1]):
        return DATABASE
    for frame in frames:
        for name, markers in COMPONENTS[1:]:
            if any(marker in frame for marker in markers):
                return name
    return "other (kernel, libc without a Rust caller)"


def main() -> None:
    counts = collections.Counter()
    tls = 0
    total = 0
    for sample in sys.stdin.read().split("\n\n"):
        lines = [line for line in sample.split("\n") if line.strip()]
        if len(lines) < 2:
            continue
        total += 1
        frames = lines[1:]
        if any(marker in frame for frame in frames for marker in TLS_MARKERS):
            tls += 1
        counts[component_of(frames)] += 1
    if total == 0:
        sys.exit("no samples in the input")
    print(f"{total} samples\n")
    print("| Component | Share of the process's CPU |")
    print("|---|---:|")
    for name, count in counts.most_common():
        print(f"| {name} | {100 * count / total:.1f}% |")
    print(f"\nOf which TLS to PostgreSQL (rustls): {100 * tls / total:.1f}%")


if __name__ == "__main__":
    main()
