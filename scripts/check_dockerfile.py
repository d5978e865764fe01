#!/usr/bin/env python3
"""Static review of the Dockerfile (no Docker engine runs where the project is
built and tested, so what an image build would catch late is checked here).

Fails (exit 1) when the image would not be what the chart expects: a
multi-stage build of the `zhongtai` package from the lockfile, a runtime stage
running as a numeric non-root user, the entrypoint being the copied binary,
the ports the chart probes and scrapes exposed, and a toolchain at least the
workspace's `rust-version`.
"""

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PORTS = {"50051", "50052", "9464", "8080"}


def instructions(text):
    """(instruction, arguments) pairs, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", text)
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        yield word.upper(), rest.strip()


def version_tuple(text):
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def problems():
    dockerfile = (ROOT / "Dockerfile").read_text()
    steps = list(instructions(dockerfile))
    stages = [i for i, (word, _) in enumerate(steps) if word == "FROM"]
    if len(stages) < 2:
        yield "the Dockerfile must be multi-stage (a build stage and a small runtime stage)"
        return
    build, runtime = steps[: stages[-1]], steps[stages[-1] :]

    args = {m.group(1): m.group(2) for word, rest in steps if word == "ARG"
            for m in [re.match(r"(\w+)=(\S+)", rest)] if m}
    workspace = tomllib.loads((ROOT / "Cargo.toml").read_text())
    wanted = workspace["workspace"]["package"]["rust-version"]
    rust = args.get("RUST_VERSION", "")
    if not rust or version_tuple(rust) < version_tuple(wanted):
        yield f"ARG RUST_VERSION={rust or '?'} is older than the workspace's rust-version {wanted}"

    package = tomllib.loads((ROOT / "services/zhongtai/Cargo.toml").read_text())["package"]["name"]
    runs = " ".join(rest for word, rest in build if word == "RUN")
    if not re.search(rf"cargo build\b[^&]*--locked[^&]*--release[^&]*-p {package}\b", runs):
        yield f"the build stage must run `cargo build --locked --release -p {package}`"

    users = [rest for word, rest in runtime if word == "USER"]
    base = runtime[0][1]
    if users:
        user = users[-1].split(":")[0]
        if not user.isdigit() or user == "0":
            yield f"the runtime stage must run as a numeric non-root user (USER {users[-1]})"
    elif not base.endswith(":nonroot"):
        yield "the runtime stage sets no USER and its base is not a nonroot image"

    copies = [rest.split()[-1] for word, rest in runtime if word == "COPY"]
    entry = [rest for word, rest in runtime if word == "ENTRYPOINT"]
    if not entry:
        yield "the runtime stage has no ENTRYPOINT"
    else:
        binary = re.findall(r'"([^"]+)"', entry[-1])[:1]
        if not binary or binary[0] not in copies:
            yield f"ENTRYPOINT {entry[-1]} does not run the copied binary ({copies})"

    exposed = {port.split("/")[0] for word, rest in runtime if word == "EXPOSE" for port in rest.split()}
    if not PORTS <= exposed:
        yield f"EXPOSE is missing {sorted(PORTS - exposed)} (gRPC, probe, metrics, gateway HTTP)"

    ignore = (ROOT / ".dockerignore").read_text().split()
    if not any(entry.strip("/") == "target" for entry in ignore):
        yield ".dockerignore must exclude target/ (build outputs are not part of the context)"


def main():
    found = list(problems())
    for problem in found:
        print(f"Dockerfile: {problem}", file=sys.stderr)
    if not found:
        print("Dockerfile: multi-stage, locked release build, non-root runtime, entrypoint and ports as the chart expects")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
