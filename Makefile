# Two entry points, each sets itself up on a fresh machine:
#   make repro   create .venv if missing, install, run the whole study (dvc repro)
#   make test    create .venv if missing, install, run the test suite
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# `dvc plots show`'s page template with Vega inlined (.dvc/config: plots.html_template)
PLOTS_PAGE := build/dvc_plots_page.html

.PHONY: setup repro test bench quick

setup: $(STAMP) $(PLOTS_PAGE)

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

# Vega, Vega-Lite and Vega-Embed from the npm registry (pinned in the script), inlined so
# the plots page renders with no network; rebuilt only when the script or skeleton changes.
$(PLOTS_PAGE): scripts/plots_page.py scripts/plots_page.html
	python3 scripts/plots_page.py $@

repro: setup
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" dvc repro

test: setup
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m pytest -q

bench: setup
	$(PY) bench/bench.py --quick

# A quick look at the whole pipeline, NOT the study's protocol: 100 pairs, one grid
# point per architecture, 2 epochs, 2 retrainings. Runs as a temporary experiment, so
# the workspace and its committed results stay as they are; see it with `dvc exp show`.
QUICK := -S data.n_pairs=100 -S train.epochs=2 -S train.repeats=2 -S train.curve_epochs=3 -S train.workers=1 \
	-S lr=1.0e-3 -S hidden=50 -S lambda=0.5 -S extras.probcmp_conv.lambda=1.0 \
	-S extras.conv2x_sharing_aux.activation=relu -S extras.conv2x_sharing_aux.dropout=0.0 \
	-S extras.deepmlp_sharing_aux.hidden=100 -S extras.deepmlp_sharing_aux.lambda=0.5

quick: setup
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" dvc exp run --temp $(QUICK)
