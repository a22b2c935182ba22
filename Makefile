# terraform-provider-dbaas — see README.md.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

VERSION  := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
OS       := $(shell uname -s | tr A-Z a-z)
ARCH     := $(shell uname -m | sed -e 's/x86_64/amd64/' -e 's/aarch64/arm64/')
DIST     ?= target/dist
export DIST
ZIP      := terraform-provider-dbaas_$(VERSION)_$(OS)_$(ARCH).zip
MIRROR   := $(HOME)/.terraform.d/plugins/registry.terraform.io/infra/dbaas/$(VERSION)/$(OS)_$(ARCH)
STACK    := scripts/dev-stack
# `make test` stops the dev stack afterwards unless KEEP_STACK=1.
KEEP_STACK ?= 0
# Test cases run at once within each test binary (`make test`): the acceptance cases spend
# most of their time waiting on Terraform and the services, and their names never collide;
# the fault tests serialise themselves (they restart shared services). The release cases (two
# release builds from scratch, minutes of both cores) run after the rest, alone, so that their
# compiling never starves the cases that time what they wait for.
TEST_THREADS ?= 8

.PHONY: build release mirror install test testacc unit lint fmt demo bench docs stack-up stack-down clean

build: ## debug build of the provider
	cargo build --bin terraform-provider-dbaas

release: ## zips + SHA256SUMS (+ .sig with GPG_FINGERPRINT) + manifest in target/dist, reproducibly; lists the platforms built
	scripts/release

mirror: release ## provider network mirror in DIR (index.json, <version>.json with h1:/zh: hashes, zips)
	@test -n "$(DIR)" || { echo "usage: make mirror DIR=<directory>" >&2; exit 2; }
	scripts/release mirror "$(DIR)"

install: release ## unpack the release zip into the implied local mirror (terraform init works offline)
	mkdir -p $(MIRROR)
	unzip -o -q $(DIST)/$(ZIP) -d $(MIRROR)
	@echo "installed $(MIRROR)/terraform-provider-dbaas_v$(VERSION)"

stack-up:
	$(STACK) up

stack-down:
	$(STACK) down

test: ## every test: unit, integration, acceptance (real Terraform and services)
	$(STACK) up
	set +e; eval "$$($(STACK) env)"; \
	  RUST_TEST_THREADS=$(TEST_THREADS) cargo test --workspace --all-targets --no-fail-fast -- --skip release::; rc=$$?; \
	  cargo test --test acceptance -- release::; rc2=$$?; \
	  if [ "$(KEEP_STACK)" != 1 ]; then $(STACK) down || true; fi; \
	  [ $$rc = 0 ] && exit $$rc2; exit $$rc

unit: ## pure-logic tests only (no services)
	cargo test --workspace --lib --bins

testacc: ## acceptance tests only (stack must be up: make stack-up)
	eval "$$($(STACK) env)"; cargo test --test acceptance -- --nocapture

lint: ## formatting and clippy, as CI runs them
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

fmt:
	cargo fmt --all

docs: ## regenerate docs/ from the schemas and examples/
	UPDATE_DOCS=1 cargo test --test docs

demo: ## one app's tenant on the dev stack, used as the app would (Vault, PgBouncer); DESTROY=1 removes it
	$(STACK) up
	cargo build --bin terraform-provider-dbaas
	eval "$$($(STACK) env)"; DESTROY="$(DESTROY)" scripts/demo

bench: ## the provider's own figures, each printed beside its target
	cargo build --release --bin terraform-provider-dbaas
	cargo build --quiet --release -p tfplugin --example plugin_bench --example example_provider
	PLUGIN_BENCH_REFERENCE=target/release/examples/example_provider target/release/examples/plugin_bench target/release/terraform-provider-dbaas 20
	$(STACK) up
	eval "$$($(STACK) env)"; scripts/bench-postgres
	eval "$$($(STACK) env)"; scripts/bench-vault-roles
	eval "$$($(STACK) env)"; BENCH_SIZES=1000 BENCH_PARALLELISM=20 scripts/bench-postgres
	eval "$$($(STACK) env)"; scripts/bench-plan
	eval "$$($(STACK) env)"; scripts/bench-sessions

clean:
	cargo clean
