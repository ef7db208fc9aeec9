# Two commands: `make demo` (main job on the embedded default) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_DIR ?= demo_run
STAMP := $(VENV)/.installed

.PHONY: venv demo test test-fast lint clean simulate-tiny

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) simulate_campaign.py --preset demo --out $(DEMO_DIR)

simulate-tiny: $(STAMP)
	$(PY) simulate_campaign.py --preset tiny --out tiny_run

test: $(STAMP)
	$(PY) -m pytest -n 2 tests

test-fast: $(STAMP)
	$(PY) -m pytest -n 2 -m "not slow" tests

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean:
	rm -rf $(DEMO_DIR) tiny_run .pytest_cache
