# Insights: `make up` runs the product on one machine, `make test` runs every test.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup setup-dev up demo test test-unit lint format bench clean dashboard

# Two installs: what running needs (`make up`), and on top of it what testing needs (`make test`).
DEV_STAMP := $(VENV)/.installed-dev

setup: $(STAMP)  ## what running needs (idempotent): virtualenv, the project with chDB, Apache Kafka's jars
	@$(BIN)/python -c "from insights.dev.kafka_local import ensure_kafka_jars; ensure_kafka_jars()"

setup-dev: setup $(DEV_STAMP)  ## and the test and lint tools: pytest, ruff, mypy, Playwright, Chromium, npm tools
	@bash dashboard/setup-test-tools.sh

# uv installs the same packages as pip from the same index, about three times faster (53 s against 17
# for both installs here, from warm caches): pip only installs uv. Compiled to bytecode at install, as
# pip does: where PYTHONDONTWRITEBYTECODE is set, nothing else would, and every process (`insights
# up`, its worker, each test's) would compile its imports again, a second or more each.
INSTALL := $(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is needed, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check 'uv>=0.5,<1'
	$(INSTALL) -e '.[embedded]'
	@touch $(STAMP)

$(DEV_STAMP): $(STAMP)
	$(INSTALL) -e '.[dev]'
	@touch $(DEV_STAMP)

up: setup  ## Kafka, worker and API on the embedded ClickHouse engine under ./.insights
	$(BIN)/insights up

demo: setup  ## like `up`, and fills a fresh install with a demo catalog and 60,000 events
	$(BIN)/insights up --demo

# Three pytest workers, each a module at a time (a module's Kafka, `insights up` and chDB stay its own):
# most of the suite waits on brokers, rebalances and processes, so even on 2 cores three run the
# suite's 25 minutes of tests in 7 to 9. The modules go out in the order tests/conftest.py collects
# them (the longest first), not xdist's (the most tests first).
test: setup-dev  ## the whole suite; starts its own Kafka and ClickHouse engine
	$(BIN)/pytest -n 3 --dist loadfile --no-loadscope-reorder

test-unit: setup-dev  ## the fast loop: unit tests only, no Kafka, no ClickHouse (about a minute)
	$(BIN)/pytest tests/unit

lint: setup-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: setup-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: setup-dev  ## every benchmark beside its ceiling (about 15 minutes); results in BENCHMARKS.md
	@command -v wrk >/dev/null || echo "note: wrk is not installed (apt-get install wrk); http_latency.py measures with aiohttp only"
	$(BIN)/python bench/throughput.py
	$(BIN)/python bench/sink.py
	$(BIN)/python bench/flush_cost.py
	$(BIN)/python bench/exactly_once_cost.py
	$(BIN)/python bench/freshness.py
	$(BIN)/python bench/http_latency.py
	$(BIN)/python bench/api_cache.py
	$(BIN)/python bench/worker_memory.py
	$(BIN)/python bench/observability_overhead.py
	$(BIN)/python bench/exports.py
	$(BIN)/python bench/dashboard.py
	@echo "read latency at 100k..10M events (about 25 minutes): $(BIN)/python bench/read_latency.py"
	@echo "the worker over 10M events of history: $(BIN)/python bench/throughput.py --history 10000000"
	@echo "exact listener states against sketches: $(BIN)/python bench/listener_sketches.py"
	@echo "reads under live ingest, 0 to 50,000 events/s (about 15 minutes; --quick: 2): $(BIN)/python bench/mixed_load.py"
	@echo "scale, 1M against 100M events (about 25 minutes): $(BIN)/python bench/read_latency.py --sizes 1000000,100000000 --repeat 20"

dashboard:  ## rebuild the dashboard's committed bundle (api/pages/dashboard_static/) from dashboard/src
	cd dashboard && npm ci --no-audit --no-fund --silent && npm run build --silent

clean:
	rm -rf $(VENV) .insights .pytest_cache .mypy_cache .ruff_cache
