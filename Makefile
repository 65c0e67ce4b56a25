# audiosr: every target installs what it needs into $(VENV) first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: install test demo bench

$(VENV)/.installed: setup.py
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

## Run the test suite (creates .venv and installs everything on first use).
test: install
	$(PY) -m pytest -q tests $(PYTEST_ARGS)

## The main job on the embedded default data: short training, then evaluation against spline.
demo: install
	$(PY) experiments/demo.py

## Speed benchmarks (print their tables).
bench: install
	$(PY) bench/bench_models.py
