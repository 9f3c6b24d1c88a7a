# Meet Malmö: `make run` starts the whole platform; `make test` checks it against real Kafka and PostgreSQL.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3
export MEETMALMO_KAFKA_BOOTSTRAP ?= 127.0.0.1:9092
export MEETMALMO_PG_PORT ?= 55432
export MEETMALMO_TEST_POSTGRES_URL ?= postgresql+asyncpg://postgres@127.0.0.1:$(MEETMALMO_PG_PORT)

.PHONY: help install bench lock helm helm-check i18n i18n-compile screenshots run test test-faults lint typecheck imports alerts pytest kafka-up kafka-down postgres-up postgres-down docs clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

# Every package comes from the lock (deploy/lock.py): exact versions, each file checked against its sha256.
PIP_INSTALL := $(BIN)/pip install -q --disable-pip-version-check
$(BIN)/.installed: pyproject.toml requirements.lock requirements-dev.lock
	$(PYTHON) deploy/lock.py --check
	test -x $(BIN)/pip || $(PYTHON) -m venv --clear $(VENV)  # a half-made venv (interrupted) is made anew
	$(PIP_INSTALL) --require-hashes --no-deps -r requirements-dev.lock
	$(PIP_INSTALL) --no-deps --no-build-isolation -e .
	touch $@

# htmx (served by web itself) and axe-core (its browser tests) from npm, as pinned in package-lock.json.
WEB_NODE := services/web/node_modules/.package-lock.json
$(WEB_NODE): services/web/package.json services/web/package-lock.json
	@if command -v npm >/dev/null; then npm ci --prefix services/web --no-audit --no-fund --loglevel=error; \
	else echo "web: npm is missing, so pages work without htmx (and the browser tests cannot run)"; fi

install: $(BIN)/.installed $(WEB_NODE) ## create .venv and install the platform with its dev tools, from the lock

lock: ## re-resolve requirements.lock and requirements-dev.lock after a change to pyproject.toml's dependencies
	test -x $(BIN)/uv || { test -x $(BIN)/pip || $(PYTHON) -m venv $(VENV); $(PIP_INSTALL) --require-hashes --no-deps -r requirements-dev.lock; }
	$(BIN)/python deploy/lock.py

run: install ## start Kafka, Mailpit, migrate and the four services (Ctrl-C stops all it started)
	@bash deploy/run.sh

test: install kafka-up postgres-up lint typecheck imports alerts helm-check pytest ## lint, types, independence, unit + integration tests

lint: install ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install ## mypy --strict over shared/ and services/
	$(BIN)/mypy

imports: install ## import-linter: services are independent, shared imports none
	$(BIN)/lint-imports

alerts: ## promtool: the Prometheus configuration and alert rules are valid, and the rules' own tests pass
	promtool check config deploy/prometheus/prometheus.yml
	promtool test rules deploy/prometheus/alerts_test.yml

pytest: install ## the test suite (needs kafka-up and postgres-up)
	$(BIN)/pytest

HELM := deploy/helm/bin/helm
CHART := deploy/helm/meetmalmo
# The cluster version the chart is rendered for (a helm built with `go install` assumes 1.20).
KUBE_VERSION := 1.31.0

helm: ## build helm into deploy/helm/bin/ with Go (once)
	bash deploy/helm/build.sh

helm-check: helm ## helm lint and helm template of the chart (tests/test_helm.py checks what it renders)
	$(HELM) lint --strict $(CHART) --kube-version $(KUBE_VERSION)
	$(HELM) template meetmalmo $(CHART) --kube-version $(KUBE_VERSION) >/dev/null

test-faults: install ## the fault-injection suite: breaks its own Kafka (port 19092), PostgreSQL (55433) and SMTP under load
	$(BIN)/pytest -q tests/faults

kafka-up: ## start a local single-node Kafka (KRaft) unless one answers at MEETMALMO_KAFKA_BOOTSTRAP
	bash deploy/kafka/up.sh

kafka-down: ## stop the local Kafka started by kafka-up
	bash deploy/kafka/down.sh

postgres-up: ## start a local PostgreSQL for tests on MEETMALMO_PG_PORT
	bash deploy/postgres/up.sh

postgres-down: ## stop the local PostgreSQL started by postgres-up
	bash deploy/postgres/down.sh

# The services people read (web's pages, notifications' emails) each keep their own catalog.
I18N_SERVICES := services/web services/notifications

i18n: install ## extract the words of the pages and emails into their catalogs; then translate the new Swedish entries
	for service in $(I18N_SERVICES); do \
	  $(BIN)/pybabel extract -F $$service/babel.cfg -k N_ --no-location --omit-header \
	    -o $$service/translations/messages.pot $$service && \
	  $(BIN)/pybabel update -i $$service/translations/messages.pot -d $$service/translations \
	    --no-fuzzy-matching --ignore-obsolete --width 120 || exit 1; \
	done

i18n-compile: install ## compile the catalogs to .mo (the services read the .po files themselves; this checks them)
	for service in $(I18N_SERVICES); do $(BIN)/pybabel compile -d $$service/translations --statistics || exit 1; done

screenshots: install kafka-up postgres-up ## retake the README's screenshots (docs/screenshots/) in Chromium
	MEETMALMO_SCREENSHOTS=1 $(BIN)/pytest -q tests/test_web_journey.py services/web/tests/integration

bench: install kafka-up postgres-up ## benchmarks beside their baselines (not in make test; <10 min): bench/results/latest.md
	$(PIP_INSTALL) --no-build-isolation -e '.[bench]'  # plots, profiles, the lean baseline: not in the lock
	$(BIN)/python -m bench $(BENCH_ARGS)

docs: install ## write docs/asyncapi.json (every topic and event; generated, not committed)
	$(BIN)/meetmalmo docs --output docs/asyncapi.json

clean: ## remove local data (databases, mail, Kafka storage) after stopping Kafka
	bash deploy/kafka/down.sh
	rm -rf var
