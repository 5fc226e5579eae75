"""How the notebooks' `organism:<model>` entries become model specs (figures.model_spec)."""

from __future__ import annotations

from rlboundary import figures
from rlboundary.params import load_params


def test_organism_models_are_sampled_in_float32_unless_the_entry_names_a_dtype(monkeypatch, tmp_path):
    # vLLM's "auto" would downcast the organism's float32 checkpoints to bfloat16: not the model
    # that was trained, selected and evaluated (`organism eval` samples in float32).
    monkeypatch.setattr(figures, "organism_models", lambda params: {"base": str(tmp_path)})
    p = load_params("fig01_passk_math", "micro")
    entry = next(m for m in p.models if m["path"] == "organism:base")
    assert entry["dtype"] == "auto"
    spec = figures.model_spec(p, entry, "organism")
    assert (spec.path, spec.dtype) == (str(tmp_path), "float32")
    assert figures.model_spec(p, {**entry, "dtype": "bfloat16"}, "organism").dtype == "bfloat16"
    hub = figures.model_spec(p, {**entry, "path": str(tmp_path)}, "organism")  # not an organism path
    assert hub.dtype == "auto"
