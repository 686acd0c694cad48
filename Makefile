# Waymark: `make run` to try it, `make test` to check it. See README.md.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1:8000
# Where bench-nudges and loadtest run: DATABASE_URL when set, else the L tier's own database.
BENCH_DATABASE_URL ?= $(or $(DATABASE_URL),postgres://postgres@127.0.0.1:5432/waymark_scale_l)
# make bench: each tier in its own PostgreSQL database, built once and then reused.
BENCH_SERVER ?= postgres://postgres@127.0.0.1:5432
BENCH_ENV := DEBUG=false SECRET_KEY=benchmark-only-not-secret
BENCH_REPEAT ?= 20
# make loadtest: a Redis database of its own (the site's cache and the worker's queue).
LOADTEST_REDIS_URL ?= redis://127.0.0.1:6379/14
# make backup: where pg_dump writes, a new name each run.
BACKUP ?= var/backups/waymark-$(shell date -u +%Y%m%dT%H%M%SZ).dump

.PHONY: help install run serve migrate demo test lint format worker beat nudges seed-scale \
	bench bench-nudges loadtest backup restore compose-config clean

help:
	@echo "make run     set up .venv, migrate, load the demo company and serve on http://$(HOST)"
	@echo "make test    lint, Django checks and the whole test suite"
	@echo "make worker / make beat   Celery worker and scheduler (needs REDIS_URL)"
	@echo "make nudges  without Redis: plan and send due reminders and digests every 5 minutes"
	@echo "make seed-scale TIER=S|M|L   a generated organisation for benchmarks"
	@echo "make bench   build (once) the S and L tiers on PostgreSQL and time every page,"
	@echo "             API list and job against its floor (docs/performance.md)"
	@echo "make loadtest [RATES=30,60] [RUN_SECONDS=60]   gunicorn, a worker, PostgreSQL and"
	@echo "             Redis on 127.0.0.1 under a Monday morning's load (DATABASE_URL, else"
	@echo "             $(BENCH_DATABASE_URL); Redis $(LOADTEST_REDIS_URL))"
	@echo "make bench-nudges [AT=2026-12-07T09:00] [REPEAT=3]   a check-in day for the whole"
	@echo "             organisation (DATABASE_URL, else $(BENCH_DATABASE_URL))"
	@echo "make backup [BACKUP=file]   pg_dump of DATABASE_URL (PostgreSQL), by default into"
	@echo "             var/backups/ (docs/operations.md)"
	@echo "make restore BACKUP=file DATABASE_URL=postgres://…/NEW   create the database NEW"
	@echo "             (it must not exist yet) and restore the backup into it"

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
	$(BIN)/bandit --quiet --recursive alignment goals checkins okr_site --severity-level high
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

# The embedded default has no beat: this loop does what its 5-minute nudge tick does.
nudges: migrate
	$(BIN)/python manage.py send_nudges --loop 300

seed-scale: migrate
	$(BIN)/python manage.py seed_scale --tier $(or $(TIER),S)

# Build its data first: DATABASE_URL=$(BENCH_DATABASE_URL) make seed-scale TIER=L
bench-nudges: install
	DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python manage.py migrate --noinput
	DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python manage.py bench_nudges \
		--repeat $(or $(REPEAT),3) $(if $(AT),--at $(AT))

bench: install
	$(BENCH_ENV) $(BIN)/python manage.py collectstatic --noinput --verbosity 0
	@for tier in S L; do \
		url=$(BENCH_SERVER)/waymark_scale_$$(echo $$tier | tr SL sl); \
		$(BIN)/python -m okr_site.bench.database $$url || exit 1; \
		DATABASE_URL=$$url $(BIN)/python manage.py migrate --noinput --verbosity 0 || exit 1; \
		DATABASE_URL=$$url $(BIN)/python manage.py seed_scale --tier $$tier || exit 1; \
	done
	DATABASE_URL=$(BENCH_SERVER)/waymark_scale_s $(BENCH_ENV) $(BIN)/python manage.py bench \
		--label S --repeat $(BENCH_REPEAT) --save var/bench/S.json
	DATABASE_URL=$(BENCH_SERVER)/waymark_scale_l $(BENCH_ENV) $(BIN)/python manage.py bench \
		--label L --repeat $(BENCH_REPEAT) --compare var/bench/S.json --save var/bench/L.json

# Build its data first: make bench (or DATABASE_URL=$(BENCH_DATABASE_URL) make seed-scale TIER=L)
loadtest: install
	DATABASE_URL=$(BENCH_DATABASE_URL) $(BIN)/python manage.py migrate --noinput
	DATABASE_URL=$(BENCH_DATABASE_URL) REDIS_URL=$(LOADTEST_REDIS_URL) \
		$(BIN)/python manage.py loadtest $(if $(RATES),--rates $(RATES)) \
		$(if $(RUN_SECONDS),--seconds $(RUN_SECONDS))

# PostgreSQL's own tools (pg_dump, createdb, pg_restore), not the venv: docs/operations.md.
backup:
	@case "$(DATABASE_URL)" in postgres://*|postgresql://*) ;; \
		*) echo "make backup needs DATABASE_URL=postgres://… (SQLite: manage.py export_organisation)"; exit 2;; esac
	@file="$(BACKUP)"; mkdir -p "$$(dirname "$$file")" && \
		pg_dump --format=custom --file="$$file" "$(DATABASE_URL)" && echo "Wrote $$file"

# Into a new database only: createdb refuses one that exists, so nothing is overwritten.
restore:
	@test -f "$(BACKUP)" || { echo "make restore needs BACKUP=<a file from make backup>"; exit 2; }
	@case "$(DATABASE_URL)" in postgres://*/?*|postgresql://*/?*) ;; \
		*) echo "make restore needs DATABASE_URL=postgres://…/<new database>"; exit 2;; esac
	@url="$(DATABASE_URL)"; url="$${url%%\?*}"; name="$${url##*/}"; \
		createdb --maintenance-db="$${url%/*}/postgres" "$$name" && \
		pg_restore --no-owner --no-privileges --exit-on-error --single-transaction \
			--dbname="$(DATABASE_URL)" "$(BACKUP)" && echo "Restored $(BACKUP) into $$name"

compose-config:
	SECRET_KEY=compose-config-check docker-compose config --quiet

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache *.egg-info
