VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install serve test lint bench

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[server,offline,dev]'
	touch $(STAMP)

serve: install
	$(VENV)/bin/hams serve

lint: install
	$(VENV)/bin/ruff check src tests bench

test: install lint
	$(VENV)/bin/pytest -q

bench: install
	$(PY) bench/stt_overhead.py
