# Two set-up commands (see README.md): `make book` builds the executed book, `make test`
# runs the tests. Both create the virtual environment in .venv when it is missing, install
# the pinned dependencies (constraints.txt) and register the project's Jupyter kernel.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
KERNEL := sr-book
PRESET ?= embedded
BOOK_ARGS ?=
PYTEST_ARGS ?=
STAMP := $(VENV)/.installed
KERNELSPEC := $(VENV)/share/jupyter/kernels/$(KERNEL)/kernel.json
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: book test lint format lab env lock clean

## make book: execute every chapter at PRESET (default embedded) and build book/_build/html
book: env
	$(BIN)/python -m helpers.book --preset $(PRESET) $(BOOK_ARGS)

## make test: unit tests, every chapter at preset=smoke, the HTML build and a browser check
test: env
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## make lint: ruff, as configured in pyproject.toml
lint: env
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: env
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## make lab: JupyterLab on book/ with the project kernel
lab: env
	$(BIN)/jupyter lab $(ROOT_FLAG) --notebook-dir=book

env: $(STAMP) $(KERNELSPEC)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || { echo "creating $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --progress-bar off -c constraints.txt -e '.[dev]'
	@touch $@

$(KERNELSPEC): $(STAMP)
	$(BIN)/python -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (sr-book)"
	@touch $@

## make lock: rewrite constraints.txt from the current environment (after adding a package)
lock:
	@{ echo "# Full lock of the environment, made by 'make lock' (pip freeze --all, less pip and the project)."; \
	   echo "# Install with: pip install -c constraints.txt -e '.[dev]'"; \
	   $(BIN)/python -m pip freeze --all --exclude-editable | grep -v -i -E '^(sr-book-helpers|pip)=='; } > constraints.txt
	@echo "wrote constraints.txt ($$(grep -c '==' constraints.txt) pins)"

clean:
	rm -rf build book/_build
