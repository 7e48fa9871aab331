# The one entry point. `make demo` runs the main job, `make test` runs every test; both install what
# they need first (idempotently: stamps are rebuilt only when a lock file changes).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := training/.venv
PY := $(CURDIR)/$(VENV)/bin/python
SHARED ?= $(abspath ../shared)
DATA := data
ARTIFACTS := artifacts
DATASET ?= oak
export ONNXRUNTIME_NODE_INSTALL := skip
# Keep the PyTorch CPU path predictable on small machines.
export TOKENIZERS_PARALLELISM := false

.PHONY: help setup venv node datasets baseline backbones train checkpoint bundle tiny-bundle index serve demo \
        test test-python test-node test-deploy bench clean

help:
	@echo "make demo   - build datasets, baseline, backbones, train, bundle, index; start the service; print recommendations"
	@echo "make test   - every test (Python, TypeScript, deployment manifests)"
	@echo "other targets: setup datasets baseline backbones train bundle tiny-bundle index serve bench clean"

# ---------------------------------------------------------------- installation
$(VENV)/.stamp: training/requirements.lock training/pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r training/requirements.lock
	$(VENV)/bin/pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e training
	touch $@

venv: $(VENV)/.stamp

# hnswlib compiles its AVX distance kernels only when built with -mavx (it still checks the CPU at run
# time; searches are ~25% faster here than with npm's default SSE build). Override for other machines:
# HNSW_CXXFLAGS= (plain build) or HNSW_CXXFLAGS=-march=native (fastest, but only for this CPU: never
# for an addon copied to other machines). The flags used are kept in node_modules/.hnsw-cxxflags; a
# change rebuilds only the addon.
ifeq ($(shell uname -m),x86_64)
HNSW_CXXFLAGS ?= -mavx
else
HNSW_CXXFLAGS ?=
endif
HNSW_STAMP := node_modules/.hnsw-cxxflags

node_modules/.stamp: package-lock.json package.json services/recommender/package.json
	CXXFLAGS="$(HNSW_CXXFLAGS)" npm ci --no-audit --no-fund
	printf '%s\n' "$(HNSW_CXXFLAGS)" > $(HNSW_STAMP)
	touch $@

node: node_modules/.stamp
	@if [ "$$(cat $(HNSW_STAMP) 2>/dev/null)" != "$(HNSW_CXXFLAGS)" ]; then \
	  echo "rebuilding hnswlib-node with CXXFLAGS='$(HNSW_CXXFLAGS)' (was '$$(cat $(HNSW_STAMP) 2>/dev/null)')"; \
	  CXXFLAGS="$(HNSW_CXXFLAGS)" npm rebuild hnswlib-node --no-audit --no-fund \
	    && printf '%s\n' "$(HNSW_CXXFLAGS)" > $(HNSW_STAMP); \
	fi

setup: venv node

# ---------------------------------------------------------------- training half
datasets: venv
	$(PY) -m curriculum_training.datasets build --shared $(SHARED)/datasets --out $(DATA)
	$(PY) -m curriculum_training.splits --data $(DATA)

baseline: datasets
	$(PY) -m curriculum_training.baseline --data $(DATA) --out docs/results.md

backbones: venv
	$(PY) -m curriculum_training.backbones build --out $(ARTIFACTS)/backbones

train: datasets backbones
	$(PY) -m curriculum_training.train --preset cpu --dataset $(DATA)/$(DATASET) --out $(ARTIFACTS)/checkpoints/default

# `make demo` trains only when no checkpoint exists yet (`make train` always trains).
checkpoint: datasets backbones
	@if [ -f $(ARTIFACTS)/checkpoints/default/bi_encoder.json ]; then \
	  echo "checkpoint $(ARTIFACTS)/checkpoints/default exists (make train to train again)"; \
	else $(MAKE) --no-print-directory train; fi

# Distils first when artifacts/checkpoints/default-distilled is missing, with the measured recipe
# (~25 min on 2 idle cores); DISTILL_ARGS="--epochs 1 --max-steps-per-epoch 45" trades quality for time.
bundle: venv
	$(PY) -m curriculum_training.bundle make --checkpoint $(ARTIFACTS)/checkpoints/default --out $(ARTIFACTS)/bundles/default \
	  $(if $(DISTILL_ARGS),--distill-args "--with-infonce $(DISTILL_ARGS)")

tiny-bundle: venv
	$(PY) -m curriculum_training.bundle tiny --out $(ARTIFACTS)/tiny-bundle

# ---------------------------------------------------------------- service half
# The snapshot is tied to the bundle's identity: rebuilt whenever the bundle's manifest changes.
index: node $(ARTIFACTS)/index/default/CURRENT

$(ARTIFACTS)/index/default/CURRENT: $(ARTIFACTS)/bundles/default/manifest.json $(DATA)/$(DATASET)/content.csv
	npm run -s -w services/recommender cli -- index build --bundle $(ARTIFACTS)/bundles/default \
	  --content $(DATA)/$(DATASET)/content.csv --out $(ARTIFACTS)/index/default

serve: node
	BUNDLE_PATH=$(ARTIFACTS)/bundles/default INDEX_PATH=$(ARTIFACTS)/index/default npm run -s -w services/recommender start

demo: datasets baseline backbones checkpoint bundle index
	bash scripts/demo.sh

# ---------------------------------------------------------------- tests
test: test-python test-node test-deploy

test-python: venv
	cd training && $(PY) -m pytest -q

test-node: node datasets tiny-bundle
	npm test -w services/recommender

test-deploy: node tiny-bundle
	bash deploy/test/validate.sh

bench: setup
	bash bench/run.sh

clean:
	rm -rf $(DATA) $(ARTIFACTS) node_modules $(VENV)
