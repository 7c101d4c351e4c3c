# news-monitor: `make run` starts the daemon on config/monitor.yaml; `make test` runs the suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CONFIG ?= config/monitor.yaml
# pytest-xdist workers for `make test` (TEST_WORKERS=0: one process, in file order)
TEST_WORKERS ?= 3

.PHONY: run once test lint format bench check clean

$(BIN)/news-monitor: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "news-monitor needs Python 3.11 or newer (found: $$($(PYTHON) --version))"; exit 1; }
	@$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); echo "python3 -m venv failed:" \
		"on Debian/Ubuntu run: sudo apt-get install python3-venv"; exit 1; }
	@echo "news-monitor: installing into $(VENV) (first run only, about a minute) ..."
	@# -qq: pip's and the build backend's notices (setuptools' editable-install banner) are
	@# not for a user; errors are still printed, and a failed install stops make.
	@$(BIN)/python -m pip install -qq --upgrade pip
	@$(BIN)/python -m pip install -qq -e .
	@touch $@

$(VENV)/.test-deps: pyproject.toml $(BIN)/news-monitor
	@$(BIN)/python -m pip install -qq -e '.[test]'
	@touch $@

run: $(BIN)/news-monitor  ## start the daemon in the foreground (Ctrl-C stops it)
	$(BIN)/news-monitor run --config $(CONFIG)

once: $(BIN)/news-monitor  ## one pass: poll every feed, deliver everything, exit
	$(BIN)/news-monitor run --once --config $(CONFIG)

check: $(BIN)/news-monitor  ## validate the config
	$(BIN)/news-monitor check --config $(CONFIG)

test: $(VENV)/.test-deps  ## the whole test suite
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS)

lint: $(VENV)/.test-deps  ## ruff check + ruff format --check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.test-deps
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(VENV)/.test-deps  ## benchmarks, results in bench/results.json and bench/peers.json
	$(BIN)/python bench/run_all.py --json > bench/results.json
	@cat bench/results.json
	@# beside rss2email (installed once into bench/.peers/, about a minute), 200 feeds
	$(BIN)/python bench/peers.py --quick --json > bench/peers.json
	@cat bench/peers.json

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache *.egg-info
