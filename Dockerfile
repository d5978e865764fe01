# syntax=docker/dockerfile:1.7
# One image for every service: `zhongtai serve <service>` (the Helm chart and
# the manifests in k8s/ pass the service as the first arguments), and
# `zhongtai migrate <service>` for the migration step.
#
#   docker build -t registry.example.gov/zhongtai:0.1.0 .
#
# Build stage: the same toolchain and lockfile CI builds and tests with.
ARG RUST_VERSION=1.95
FROM rust:${RUST_VERSION}-slim-bookworm AS build
# etcd-client compiles its protos with protoc at build time.
RUN apt-get update \
 && apt-get install -y --no-install-recommends protobuf-compiler \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --locked --release -p zhongtai \
 && install -D -m 0755 target/release/zhongtai /out/zhongtai

# Runtime stage: glibc and libgcc only (the binary links nothing else), no
# shell, no package manager, uid/gid 65532 ("nonroot").
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/zhongtai /usr/local/bin/zhongtai
USER 65532:65532
# gRPC, plaintext health probe, metrics (/metrics, /healthz), gateway HTTP.
EXPOSE 50051 50052 9464 8080
ENTRYPOINT ["/usr/local/bin/zhongtai"]
CMD ["--help"]
