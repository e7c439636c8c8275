# Two commands on a fresh machine:
#   make demo   — create .venv, install prr, run the main job on the bundled example
#   make test   — install what the tests need, then lint, type-check and test
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck check install clean bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when the project's metadata changed (idempotent, quick otherwise).
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/prr checklist list
	$(BIN)/prr scan examples/shop-api --fail-on never
	mkdir -p out
	$(BIN)/prr report --path examples/shop-api --type assessment --format md -o out/shop-api-assessment.md
	$(BIN)/prr report --path examples/shop-api --type prd --format md -o out/shop-api-prd.md
	$(BIN)/prr report --path examples/shop-api --type assessment --format html -o out/shop-api-assessment.html
	@echo "Readiness Assessment: out/shop-api-assessment.md (and .html); Readiness PRD: out/shop-api-prd.md"

lint: $(STAMP)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(STAMP)
	bash scripts/test-deps.sh
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python bench/cli_startup.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
