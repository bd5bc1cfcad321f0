# Two entry points, each sets itself up on a fresh machine:
#   make repro   create .venv if missing, install, run the whole study (dvc repro)
#   make test    create .venv if missing, install, run the test suite (make test-fast: its fast lane)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup repro test test-fast bench quick mutants

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

repro: setup
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" dvc repro

# The tests in up to 4 processes (pytest-xdist, work-stealing so no process idles at the end): most of their time is single-threaded
# start-up of Python, torch and DVC, so a second core nearly halves it.
test: setup
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m pytest -q -n auto --maxprocesses 4 --dist worksteal

# The fast lane while editing: the protocol and unit tests (marker `fast`), no DVC CLI.
test-fast: setup
	$(PY) -m pytest -q -m fast -n auto --maxprocesses 4 --dist worksteal

# Mutation testing of the protocol code (pyproject's [tool.mutmut]: data, models, train,
# search and the report's statistics) against the fast protocol tests (tests/test_protocol*.py, plus the
# prepared data's, augmentation's, the pools' and the dependence-aware tests' fast tests: tests/test_{prepared,augment,data,dependence}.py),
# from scratch; then the kill rate and any survivor not explained in tests/mutants_equivalent.md.
# Long: about 1,900 mutants (11 min on 2 cores), each rerunning the protocol tests that reach it.
mutants: setup
	rm -rf mutants
	DIGITCMP_CACHE=off nice -n 10 $(VENV)/bin/mutmut run --max-children 2 > mutants.log 2>&1 || (tail -c 2000 mutants.log; false)
	$(PY) -m scripts.mutants

bench: setup
	$(PY) -m bench.bench --quick

# A quick look at the whole pipeline, NOT the study's protocol (params_quick.yaml: 100 pairs,
# one grid point per architecture, 2 epochs, 2 retrainings): `dvc repro` in build/quick, a
# throwaway checkout of the last commit, so the workspace and its committed results stay
# as they are (about a minute, most of it each stage's start; `dvc exp run --temp` would add
# its experiment bookkeeping).
QUICK_DIR := build/quick

quick: setup
	git worktree remove --force $(QUICK_DIR) 2>/dev/null || rm -rf $(QUICK_DIR)
	git worktree prune
	git worktree add --quiet --detach $(QUICK_DIR) HEAD
	cp params_quick.yaml $(QUICK_DIR)/params.yaml
	cd $(QUICK_DIR) && PATH="$(CURDIR)/$(VENV)/bin:$$PATH" PYTHONPATH="$(CURDIR)/$(QUICK_DIR)" dvc repro
	@echo "quick look (not the study's protocol): $(QUICK_DIR)/results.md, $(QUICK_DIR)/metrics/accuracy/"
