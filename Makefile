# Zhongtai — the two commands are `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# etcd's client crate compiles its protos with `protoc` at build time; the
# script finds one or installs the pure-Rust `protox` once per user.
CARGO := PROTOC="$$(bash scripts/ensure-protoc.sh)" cargo
DATA_DIR ?= .data
PROFILE ?= dev

.PHONY: help run build test lint fmt proto-lint bench check-deploy

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

run: ## Build and start the whole mesh embedded (SQLite, in-process registry and bus)
	$(CARGO) run --locked --profile $(PROFILE) -p zhongtai -- up --data-dir $(DATA_DIR)

build: ## Build the zhongtai binary
	$(CARGO) build --locked --profile $(PROFILE) -p zhongtai

test: ## Everything CI runs: lint, build, tests against real etcd, RabbitMQ, PostgreSQL
	bash scripts/ci-test.sh

lint: proto-lint ## rustfmt, clippy (warnings are errors), buf lint
	cargo fmt --all -- --check
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings

proto-lint: ## buf lint + build of proto/
	bash scripts/buf-lint.sh

check-deploy: ## Helm chart + k8s/ manifests: lint, strict schema validation, invariants
	bash scripts/check-deploy.sh

fmt: ## Format the Rust code
	cargo fmt --all

bench: ## Benchmarks P1–P6 in release mode (writes bench/RESULTS.md and bench/results.json)
	bash scripts/bench.sh
