# Two commands do everything:   make demo   (offline, simulated Hub)   and   make test
# `make help` lists every target.

SHELL := /bin/bash
.DEFAULT_GOAL := help
ENV_NAME := hub-origin-study

# Inside an activated conda environment made from environment.yml, use it; otherwise a local .venv.
ifeq ($(CONDA_DEFAULT_ENV),$(ENV_NAME))
PY := python
ENV_READY :=
else
VENV := .venv
PY := $(VENV)/bin/python
ENV_READY := $(VENV)/.installed
endif

ARGS ?=

.PHONY: help env demo study test test-all bench check-reports clean clean-demo

help: ## list the targets
	@awk 'BEGIN{FS=":.*## "} /^[a-zA-Z_-]+:.*## /{printf "  make %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(VENV)/.installed: pyproject.toml
	@test -x $(VENV)/bin/python || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	@touch $@

env: $(ENV_READY) ## create the environment (.venv, or use the active conda env) if absent

demo: $(ENV_READY) ## run the whole study offline on a simulated Hub (SIMULATED DATA)
	$(PY) -m analysis demo $(ARGS)

study: $(ENV_READY) ## run the real study against huggingface.co (needs internet; HF_TOKEN optional)
	$(PY) -m analysis run $(ARGS)

test: $(ENV_READY) ## run the test suite (what CI runs)
	$(PY) -m pytest -q -n 2 --dist loadfile -m "not slow" $(ARGS)

test-all: $(ENV_READY) ## run every test, the slow ones too
	$(PY) -m pytest -q -n 2 --dist loadfile $(ARGS)

bench: $(ENV_READY) ## time raw-to-panel at Hub scale (2.5M models x 104 weeks; minutes, GBs of disk)
	$(PY) -m devtools.bench $(ARGS)

check-reports: ## check the rendered reports (study's if present, else the demo's): figures shown, no warning, path or CDN
	$(PY) -m devtools.check_reports

clean: ## delete derived outputs (processed data, figures, reports); raw pulls are kept
	rm -rf data/processed/* figures/* reports/*
	@touch data/processed/.gitkeep figures/.gitkeep reports/.gitkeep

clean-demo: ## delete the simulated Hub and its simulated raw pulls (data/demo/)
	rm -rf data/demo
