# Two commands: `make demo` and `make test`. Each sets up .venv on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: demo test test-consumers bench lint clean browser docs
CONSUMERS = .venv-consumers

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

# headless Chromium for the sample-browser test (Debian's package; Playwright drives it, downloads nothing)
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk \
	   fonts-thai-tlwg >/dev/null) || echo "could not install Debian's chromium: the browser test will fail"; }

demo: $(STAMP)
	rm -rf demo-out
	$(BIN)/mella build examples/demo.yaml

test: $(STAMP) browser
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest

# exports loaded by LLaMA-Factory and ms-swift themselves, each in its own venv (they pin heavy stacks)
$(CONSUMERS)/llamafactory/.installed:
	$(PYTHON) -m venv $(CONSUMERS)/llamafactory
	$(CONSUMERS)/llamafactory/bin/pip install -q --upgrade pip
	$(CONSUMERS)/llamafactory/bin/pip install -q llamafactory==0.9.5
	touch $@

$(CONSUMERS)/swift/.installed:
	$(PYTHON) -m venv $(CONSUMERS)/swift
	$(CONSUMERS)/swift/bin/pip install -q --upgrade pip
	$(CONSUMERS)/swift/bin/pip install -q torch==2.13.0 ms-swift==4.6.0
	touch $@

test-consumers: $(STAMP) $(CONSUMERS)/llamafactory/.installed $(CONSUMERS)/swift/.installed
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest tests/consumers

docs: $(STAMP)
	$(BIN)/python -m mella.schema > docs/columns.md

bench: $(STAMP)
	$(BIN)/python bench/mine.py

clean:
	rm -rf $(VENV) $(CONSUMERS) demo-out .pytest_cache
