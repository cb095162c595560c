# Two entry points: `make report` renders the book and the journal manuscript, `make test` runs the tests.
# Both create the virtual environment on first use and reinstall when pyproject.toml changes.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: report test validate synthesize benchmark clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

report: $(STAMP)
	$(BIN)/ipsreport render
	$(BIN)/ipsreport render --profile manuscript

test: $(STAMP)
	$(BIN)/python -m pytest -q

validate: $(STAMP)
	$(BIN)/ipsreport validate

synthesize: $(STAMP)
	$(BIN)/ipsreport synthesize

benchmark: $(STAMP)
	$(BIN)/python benchmarks/render.py

clean:
	rm -rf _book _manuscript .ipsreport-cache
