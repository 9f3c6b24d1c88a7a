# Meet Malmö: `make run` starts the whole platform; `make test` checks it against real Kafka and PostgreSQL.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3
export MEETMALMO_KAFKA_BOOTSTRAP ?= 127.0.0.1:9092
export MEETMALMO_PG_PORT ?= 55432
export MEETMALMO_TEST_POSTGRES_URL ?= postgresql+asyncpg://postgres@127.0.0.1:$(MEETMALMO_PG_PORT)

.PHONY: help install run test lint typecheck imports pytest kafka-up kafka-down postgres-up postgres-down docs clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/pip || $(PYTHON) -m venv --clear $(VENV)  # a half-made venv (interrupted) is made anew
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/pip install -q --disable-pip-version-check -e '.[dev]'
	touch $@

install: $(BIN)/.installed ## create .venv and install the platform with its dev tools

run: install ## start Kafka, Mailpit, migrate and the four services (Ctrl-C stops all it started)
	@bash deploy/run.sh

test: install kafka-up postgres-up lint typecheck imports pytest ## lint, types, independence, unit + integration tests

lint: install ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install ## mypy --strict over shared/ and services/
	$(BIN)/mypy

imports: install ## import-linter: services are independent, shared imports none
	$(BIN)/lint-imports

pytest: install ## the test suite (needs kafka-up and postgres-up)
	$(BIN)/pytest

kafka-up: ## start a local single-node Kafka (KRaft) unless one answers at MEETMALMO_KAFKA_BOOTSTRAP
	bash deploy/kafka/up.sh

kafka-down: ## stop the local Kafka started by kafka-up
	bash deploy/kafka/down.sh

postgres-up: ## start a local PostgreSQL for tests on MEETMALMO_PG_PORT
	bash deploy/postgres/up.sh

postgres-down: ## stop the local PostgreSQL started by postgres-up
	bash deploy/postgres/down.sh

docs: install ## write docs/asyncapi.json (every topic and event; generated, not committed)
	$(BIN)/meetmalmo docs --output docs/asyncapi.json

clean: ## remove local data (databases, mail, Kafka storage) after stopping Kafka
	bash deploy/kafka/down.sh
	rm -rf var
