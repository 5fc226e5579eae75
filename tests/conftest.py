"""Shared pytest fixtures.

Every test writes under a temporary outputs directory (never the user's
outputs/), runs offline, and runs vLLM in-process with a small KV cache.
"""

from __future__ import annotations

import os

import pytest

# Set before any test imports vllm/transformers.
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Organism builds in tests run one stage at a time (the default is two side by side on a multi-core CPU,
# organism/schedule.py): a micro build's stages take seconds, so a spawned process per stage (imports of
# torch, vLLM and TRL) costs more than it saves and added minutes to the suite. The session's micro build
# (`micro_organism`) still asks for two side by side, so that path is tested.
os.environ.setdefault("RLBOUNDARY_BUILD_WORKERS", "1")


def pytest_configure(config):
    # Tiny models on a shared 2-core machine: torch's extra threads spin and
    # make small matmuls 10-30x slower than one thread.
    import torch

    torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _isolated_outputs(tmp_path, monkeypatch):
    """Point the project's outputs at a per-test temporary directory."""
    out = tmp_path / "outputs"
    out.mkdir()
    monkeypatch.setenv("RLBOUNDARY_OUTPUTS", str(out))
    return out


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory):
    """A random-init tiny Llama (character tokenizer, chat template) in HF format."""
    from rlboundary.tinymodel import build_tiny_model

    path = tmp_path_factory.mktemp("models") / "tiny"
    build_tiny_model(path, seed=0, hidden_size=64, num_layers=2, num_heads=2)
    return path


@pytest.fixture(scope="session")
def tiny_model_no_template_path(tmp_path_factory):
    """The same tiny model without a chat template (for error-path tests)."""
    from rlboundary.tinymodel import build_tiny_model

    path = tmp_path_factory.mktemp("models") / "tiny-no-template"
    build_tiny_model(path, seed=0, chat_template=None, hidden_size=64, num_layers=2, num_heads=2)
    return path


@pytest.fixture(scope="session")
def micro_organism(tmp_path_factory):
    """The micro organism (seed 0), built once per test session by `ensure_organism` with two stages side
    by side after the base. Tests never use this directory itself: `organism_helpers.copy_micro_organism`
    puts a copy under their own outputs, so no test can change what another sees (the build takes about a
    minute; three modules need it)."""
    out = tmp_path_factory.mktemp("micro-organism")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RLBOUNDARY_OUTPUTS", str(out))
        from rlboundary.organism import ensure_organism
        from rlboundary.organism.build import organism_dir

        ensure_organism("micro", 0, log=lambda *_: None, workers=2)
        return {"outputs": out, "dir": organism_dir("micro", 0)}


# --- Reliability figures for the sandbox battery and the fuzzing (printed at the end) ---
# Attack tests in test_sandbox.py take the sandbox kind as a parameter; the
# fuzz tests' example counts are their modules' N_* constants.
_SANDBOX: dict[str, dict[str, list[str]]] = {}
_FUZZ: list[tuple[str, str, int]] = []


def pytest_runtest_makereport(item, call):
    path = item.nodeid.split("::")[0]
    if call.when != "call" and not (call.when == "setup" and call.excinfo is not None):
        return
    passed = call.excinfo is None
    skipped = call.excinfo is not None and call.excinfo.typename == "Skipped"
    outcome = "passed" if passed else ("skipped" if skipped else "FAILED")
    if path.endswith("test_sandbox.py") and "[" in item.nodeid:
        kind = item.nodeid.rsplit("[", 1)[1].rstrip("]")
        _SANDBOX.setdefault(kind, {}).setdefault(outcome, []).append(item.originalname)
    elif path.endswith("test_fuzz_grading.py") and call.when == "call":
        n = item.module.N_EXTRACT if "extraction" in item.name else item.module.N_GRADE_BATCHES * item.module.BATCH
        _FUZZ.append((item.name, "passed" if passed else "FAILED", n))


def pytest_terminal_summary(terminalreporter):
    if not (_SANDBOX or _FUZZ):
        return
    tr = terminalreporter
    tr.section("sandbox and fuzzing figures")
    for kind, outcomes in sorted(_SANDBOX.items()):
        tr.write_line(f"sandbox kind={kind}: " + ", ".join(f"{k}={len(v)}" for k, v in sorted(outcomes.items())))
        for k, names in sorted(outcomes.items()):
            if k != "passed":
                tr.write_line(f"  {k}: {', '.join(names)}")
    for name, outcome, n in _FUZZ:
        tr.write_line(f"fuzz {name}: {outcome}, {n} generated inputs")
