# Waymark: `make run` to try it, `make test` to check it. See README.md.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1:8000

.PHONY: help install run serve migrate demo test lint format worker beat seed-scale compose-config clean

help:
	@echo "make run     set up .venv, migrate, load the demo company and serve on http://$(HOST)"
	@echo "make test    lint, Django checks and the whole test suite"
	@echo "make worker / make beat   Celery worker and scheduler (needs REDIS_URL)"
	@echo "make seed-scale TIER=S|M|L   a generated organisation for benchmarks"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py seed_demo

run: demo serve

serve: install
	$(BIN)/python manage.py runserver $(HOST)

test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py check --fail-level WARNING
	$(BIN)/python manage.py makemigrations --check --dry-run
	@if command -v docker-compose >/dev/null; then \
		SECRET_KEY=compose-config-check docker-compose config --quiet && echo "docker-compose.yml is valid"; \
	else echo "docker-compose not installed: compose file not validated"; fi
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

worker: install
	$(BIN)/celery -A okr_site worker --loglevel=INFO

beat: install
	$(BIN)/celery -A okr_site beat --loglevel=INFO

seed-scale: migrate
	$(BIN)/python manage.py seed_scale --tier $(or $(TIER),S)

compose-config:
	SECRET_KEY=compose-config-check docker-compose config --quiet

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache *.egg-info
