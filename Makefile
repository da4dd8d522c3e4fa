# The two commands a new machine needs: `make run` and `make test`. Everything else builds on .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA ?= data
HOST ?= 127.0.0.1
PORT ?= 8000
BENCH_SCRIPTS := $(filter-out benchmarks/edge.py,$(wildcard benchmarks/*.py))

.PHONY: run test lint security audit unit bench bench-quick load package clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip==26.3"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[worker,dev]'
	touch $(STAMP)

run: $(STAMP)
	test -d $(DATA) || $(BIN)/dataset-downloads sample-data $(DATA)
	$(BIN)/dataset-downloads serve --data $(DATA) --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy edge worker dataset_downloads infra tests
	# benchmarks/edge.py shares the name of the edge package: type-check it apart from the other scripts
	$(if $(BENCH_SCRIPTS),$(BIN)/mypy $(BENCH_SCRIPTS))
	$(BIN)/mypy benchmarks/edge.py

# bandit over our code: only low-severity findings remain, each explained in docs/security.md.
security: $(STAMP)
	$(BIN)/bandit -q -r edge worker dataset_downloads infra --severity-level medium

# pip-audit needs PyPI's JSON API (or OSV): not reachable from CI here, so it is not part of `make test`.
audit: $(STAMP)
	$(BIN)/pip-audit -r constraints.txt --strict

unit: $(STAMP)
	$(BIN)/python -m pytest

test: lint security unit

bench: $(STAMP)
	$(BIN)/python benchmarks/edge.py
	$(BIN)/python benchmarks/compression.py
	$(BIN)/python benchmarks/engines.py
	$(BIN)/python benchmarks/warm.py
	$(BIN)/python benchmarks/load.py --seconds 20 --clients 8

load: $(STAMP)
	$(BIN)/python benchmarks/load.py --seconds 20 --clients 8

# The same measurements on a 200,000-row dataset, for development.
bench-quick: $(STAMP)
	$(BIN)/python benchmarks/edge.py
	$(BIN)/python benchmarks/engines.py --quick

package: $(STAMP)
	$(BIN)/python infra/package.py --out dist

clean:
	rm -rf $(VENV) dist build .mypy_cache .ruff_cache .pytest_cache
