# foobar.com on one host. `make` lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

COMPOSE ?= docker compose

# Offline (no container registry, like CI here): build every image on a debootstrap base and
# package the app binary built on the host. Detected once; force with OFFLINE=1 or OFFLINE=0.
ifndef OFFLINE
OFFLINE := $(shell docker image inspect debian:bookworm-slim >/dev/null 2>&1 || timeout 20 docker pull -q debian:bookworm-slim >/dev/null 2>&1 && echo 0 || echo 1)
endif
ifeq ($(OFFLINE),1)
BASE_IMAGE ?= foobar/debian:bookworm
APP_BINARY ?= prebuilt
else
BASE_IMAGE ?= debian:bookworm-slim
APP_BINARY ?= source
endif
APP_REVISION ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo dev)$(shell git diff --quiet HEAD 2>/dev/null || echo -dirty)
export BASE_IMAGE APP_BINARY APP_REVISION

# `make test` runs its own stack beside yours: another project name, port and volume.
TEST_PROJECT := foobar-test
TEST_HTTP_PORT := 28080
TEST_APP_DIRECT_PORT := 28000
TEST_ENV := COMPOSE_PROJECT_NAME=$(TEST_PROJECT) HTTP_PORT=$(TEST_HTTP_PORT) FOOBAR_URL=http://127.0.0.1:$(TEST_HTTP_PORT)


.PHONY: help deps base-image binary build build-app deploy up down clean logs ps \
        test test-app test-db check-nginx check-dns test-stack test-smoke test-deploy spof test-spof load test-load lint schema

help: ## List the targets
	@echo "foobar.com: nginx -> actix-web -> PostgreSQL on one host (offline build: $(OFFLINE))"
	@awk 'BEGIN {FS = ":.*## "} /^[a-z][a-zA-Z_-]*:.*## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

deps: ## Install Docker, Compose v2, debootstrap, libpq and PostgreSQL (Debian host, as root)
	bash .ci/install-docker

base-image: ## Build the offline base image foobar/debian:bookworm (debootstrap + docker import)
	@if [ "$(BASE_IMAGE)" != foobar/debian:bookworm ] || docker image inspect $(BASE_IMAGE) >/dev/null 2>&1; \
	  then echo "base image $(BASE_IMAGE) ready"; else .ci/base-image $(BASE_IMAGE); fi

binary: ## Build the release app binary on the host (used by APP_BINARY=prebuilt)
	cargo build --release --locked -p foobar-app

# Offline, the app image packages the host-built binary: build it first.
IMAGE_INPUTS := base-image $(if $(filter prebuilt,$(APP_BINARY)),binary)

build: $(IMAGE_INPUTS) ## Build the three images
	$(COMPOSE) build

build-app: $(IMAGE_INPUTS) ## Build only the app image (used by deploy)
	$(COMPOSE) build app

up: build ## Start the stack and wait until all three services are healthy
	@start=$$(date +%s%N); \
	$(COMPOSE) up -d --wait; \
	ms=$$(( ($$(date +%s%N) - start) / 1000000 )); \
	echo "healthy in $$((ms / 1000)).$$((ms % 1000 / 100)) s: curl -H 'Host: www.foobar.com' http://127.0.0.1:$${HTTP_PORT:-8080}/"

down: ## Stop and remove the containers (the data volume is kept)
	$(COMPOSE) down --remove-orphans

clean: ## Remove containers, the data volume and the built images
	$(COMPOSE) down --remove-orphans --volumes --rmi local

logs: ## Follow the logs of all services
	$(COMPOSE) logs -f --tail=50

ps: ## Show the services and their health
	$(COMPOSE) ps

deploy: ## Ship the working tree's app and measure downtime: STRATEGY=single (default) or blue-green
	@mkdir -p target/reports
	tools/deploy

spof: ## Fault drills: kill db, app, web in turn (then pause db) under load; audit writes (SPOF_ARGS)
	@mkdir -p target/reports
	cargo run -q -p foobar-tools --bin foobar-spof -- --url http://127.0.0.1:$${HTTP_PORT:-8080} $(SPOF_ARGS)

test-spof: ## Short fault drills against the running stack; assert from spof.json
	$(MAKE) --no-print-directory spof SPOF_ARGS="--down-secs 3 --pause-secs 8"
	FOOBAR_URL=http://127.0.0.1:$${HTTP_PORT:-8080} cargo test -p foobar-tests --test spof

# The app is published on 127.0.0.1:APP_DIRECT_PORT for the run only (tools/compose.load.yml),
# so that the same read can go to it without nginx; the trap restores the plain layout however
# the run ends. oha's version is pinned: the harness reads its JSON report.
OHA_VERSION := 1.16.0
LOAD_COMPOSE := $(COMPOSE) -f docker-compose.yml -f tools/compose.load.yml

load: ## Ramp each endpoint to saturation (oha): knee, plots, ratios to the app alone and pgbench (LOAD_ARGS)
	command -v oha >/dev/null || cargo install oha --locked --version $(OHA_VERSION)
	cargo build -q -p foobar-tools --bin foobar-load
	trap '$(COMPOSE) up -d --wait --no-deps app' EXIT; \
	  $(LOAD_COMPOSE) up -d --wait --no-deps app; \
	  target/debug/foobar-load --url http://127.0.0.1:$${HTTP_PORT:-8080} \
	    --direct-url http://127.0.0.1:$${APP_DIRECT_PORT:-18000} $(LOAD_ARGS)

test-load: ## Short load ramps against the running stack: proves the harness, figures not asserted
	$(MAKE) --no-print-directory load LOAD_ARGS="--short $(LOAD_ARGS)"
	cargo test -p foobar-tests --test load

test: ## Run every test: unit, integration, nginx and DNS checks, then the stack tests on a fresh stack
	$(MAKE) --no-print-directory test-app
	$(MAKE) --no-print-directory check-dns
	$(MAKE) --no-print-directory test-stack

test-app: ## Unit tests, and the app's integration tests against a throwaway host PostgreSQL
	cargo test --workspace --lib --bins
	tools/test-db start
	trap 'tools/test-db stop' EXIT; \
	  TEST_DATABASE_URL=$$(tools/test-db url) cargo test -p foobar-app --test api

test-db: ## Start the throwaway PostgreSQL the integration tests use (stop: tools/test-db stop)
	tools/test-db start

check-nginx: build ## Check the nginx configuration inside the web image (nginx -t)
	docker run --rm --entrypoint nginx foobar/web:latest -t -q && echo "nginx -t: ok"

check-dns: ## Check the foobar.com zone with named-checkzone
	named-checkzone -q foobar.com dns/foobar.com.zone && named-checkzone foobar.com dns/foobar.com.zone
	cargo test -p foobar-tests --test dns

test-stack: ## Separate test stack: smoke tests, three deploys, short drills, short load ramp; then tear it down
	$(MAKE) --no-print-directory check-nginx
	$(TEST_ENV) $(MAKE) --no-print-directory up
	trap '$(TEST_ENV) $(COMPOSE) down --volumes --remove-orphans' EXIT; \
	  $(TEST_ENV) cargo test -p foobar-tests --test smoke -- --test-threads=1; \
	  $(TEST_ENV) $(MAKE) --no-print-directory test-deploy; \
	  $(TEST_ENV) $(MAKE) --no-print-directory test-spof; \
	  $(TEST_ENV) APP_DIRECT_PORT=$(TEST_APP_DIRECT_PORT) $(MAKE) --no-print-directory test-load

# Both strategies, from any state the other left: single, blue-green, single again.
test-deploy: ## Deploy single, blue-green, single to the running stack; assert from the probe reports
	$(MAKE) --no-print-directory deploy STRATEGY=single
	$(MAKE) --no-print-directory deploy STRATEGY=blue-green MIN_REQUESTS=1000
	$(MAKE) --no-print-directory deploy STRATEGY=single
	FOOBAR_URL=http://127.0.0.1:$${HTTP_PORT:-8080} cargo test -p foobar-tests --test deploy

test-smoke: ## Smoke tests against the stack already running on 127.0.0.1:HTTP_PORT (default 8080)
	FOOBAR_URL=http://127.0.0.1:$${HTTP_PORT:-8080} cargo test -p foobar-tests --test smoke -- --test-threads=1

lint: ## cargo fmt --check and clippy with warnings as errors
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

schema: test-db ## Regenerate app/src/schema.rs from the migrations (needs diesel_cli)
	cd app && DATABASE_URL=$$(../tools/test-db url | sed 's|/postgres$$|/foobar_schema|') && \
	  diesel database reset --database-url "$$DATABASE_URL" && \
	  diesel print-schema --database-url "$$DATABASE_URL" > src/schema.rs
