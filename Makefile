VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test bench bench-quick bench-scale lint docs clean

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev,postgres]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/xai demo

test: $(STAMP)
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) -m bench.run

bench-quick: $(STAMP)
	$(PY) -m bench.run --quick

# xai report at 50,000 and 500,000 recipes (past make bench's 20 minutes); raw figures in
# bench/results-scale.json, the page in the temporary folder
bench-scale: $(STAMP)
	$(PY) -m bench.run --large-scale --json bench/results-scale.json

# API reference from the docstrings, into docs/api (git-ignored). The packages' curated
# __all__ hides their modules from pdoc, so xai's sub-packages and modules are named as well.
XAI_PACKAGES := $(subst /,.,$(patsubst %/__init__.py,%,$(sort $(wildcard xai/*/__init__.py))))
XAI_MODULES := $(subst /,.,$(patsubst %.py,%,$(filter-out xai/__init__.py xai/__main__.py,\
	$(sort $(wildcard xai/*.py)))))

docs: $(STAMP)
	rm -rf docs/api
	$(VENV)/bin/pdoc --docformat numpy --output-directory docs/api models xai $(XAI_MODULES) $(XAI_PACKAGES) reports

lint: $(STAMP)
	$(VENV)/bin/ruff check models xai reports tests bench

clean:
	rm -rf $(VENV) build *.egg-info
