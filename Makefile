# Two commands: `make demo` and `make test`. Each sets up .venv on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: demo test bench lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	rm -rf demo-out
	$(BIN)/mella mine examples/sample-crawl.warc.gz examples/wit-captions.jsonl --out demo-out

test: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python bench/mine.py

clean:
	rm -rf $(VENV) demo-out .pytest_cache
