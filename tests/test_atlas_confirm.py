"""The atlas's confirmation panel (organism/atlas_confirm.py): its rule on synthetic numbers, its
numbers against an independent computation, and one micro unit end to end (train, sample, store, reuse)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rlboundary.organism.atlas_confirm import (ATLAS_CONFIRMATION_MARGIN, NULL, confirmation_outcome,
                                               confirmation_row, overall_confirmation, statements)

M = ATLAS_CONFIRMATION_MARGIN


@pytest.mark.parametrize("direction,numbers,outcome", [
    # numbers: (d lo, d hi, excess gain hi, excess loss hi)
    ("up", (0.05, 0.40, 0.30, 0.05), "met"),
    ("up", (-0.10, 0.20, 0.10, 0.20), "contradicted"),  # no gain of the margin's size
    ("up", (-0.10, 0.50, 0.10, 0.20), "undecided"),
    ("up", (-0.10, 0.20, M + 0.01, 0.20), "undecided"),  # the null-calibrated gains are not bounded
    ("no-gain", (-0.10, 0.20, 0.10, 0.20), "met"),
    ("no-gain", (0.02, 0.20, 0.10, 0.20), "contradicted"),
    ("no-gain", (-0.10, M, 0.10, 0.20), "undecided"),  # at the margin is not below it
    ("no-loss", (-0.20, 0.10, 0.40, 0.10), "met"),
    ("no-loss", (-0.40, -0.05, 0.10, 0.40), "contradicted"),
    ("no-loss", (-0.20, 0.10, 0.40, M + 0.05), "undecided"),
    ("down", (-0.40, -0.05, 0.10, 0.40), "met"),
    ("down", (-0.20, 0.10, 0.40, 0.10), "contradicted"),
    ("down", (-0.50, 0.10, 0.40, 0.10), "undecided"),
])
def test_each_expectation_has_all_three_outcomes_on_the_confirmation_panel(direction, numbers, outcome):
    assert confirmation_outcome(direction, *numbers) == outcome


def test_statements_and_the_overall_claim():
    assert statements(0.01, 0.2, 0.1, 0.1) == {"gain", "no gain", "no loss"}  # a small, certain gain
    assert statements(-0.5, 0.5, 0.5, 0.5) == set()
    assert overall_confirmation(pd.DataFrame({"paper_claim": ["supported", "supported"]})) == "supported"
    assert overall_confirmation(pd.DataFrame({"paper_claim": ["supported", "inconclusive"]})) == "inconclusive"
    assert overall_confirmation(pd.DataFrame({"paper_claim": ["inconclusive", "contradicted"]})) == "contradicted"
    assert overall_confirmation(pd.DataFrame()) == "not run"


def _table(arm: str, reach: dict, seeds=(0, 1), problems: int = 32, level=(7, 6), seed: int = 0) -> pd.DataFrame:
    """A per-problem confirmation table: each model reaches each problem with its probability in `reach`."""
    rng = np.random.default_rng(seed)
    rows = []
    for s, lv in zip(seeds, level):
        for model, r in reach.items():
            hit = rng.random(problems) < r
            for i in range(problems):
                rows.append({"seed": s, "model": model, "problem_id": f"eval-panel-s{lv}-{96 + i:03d}", "level": lv,
                             "confirmation": True, "panel": True, "lf_pass_at_n": float(hit[i]),
                             "lf_pass_at_1": float(hit[i]) * 0.01, "pass_at_n": 1.0, "pass_at_1": 0.5})
    return pd.DataFrame(rows)


def test_the_confirmation_row_matches_an_independent_computation():
    t = _table("psr", {"base": 0.5, "psr": 0.5, NULL: 0.5}, seed=4)
    row = confirmation_row("psr", t, {0: 7, 1: 6}, n_boot=400)
    wide = t.pivot_table(index=["seed", "problem_id"], columns="model", values="lf_pass_at_n")
    d, z = wide["psr"] - wide["base"], wide[NULL] - wide["base"]
    assert row["pairs"] == 64 and row["gains"] == (d > 0).sum() and row["losses"] == (d < 0).sum()
    assert row["null_gains"] == (z > 0).sum() and row["null_losses"] == (z < 0).sum()
    assert row["d_lf_pass_at_n"] == pytest.approx(d.groupby("seed").mean().mean())
    assert row["excess_gain"] == pytest.approx(((d > 0).astype(float) - (z > 0)).groupby("seed").mean().mean())
    assert row["excess_loss"] == pytest.approx(((d < 0).astype(float) - (z < 0)).groupby("seed").mean().mean())
    assert row["d_lf_pass_at_n_lo"] <= row["d_lf_pass_at_n"] <= row["d_lf_pass_at_n_hi"]
    # Bonferroni over 1 arm is the 95 % CI itself; psr expects pass@1 up and pass@n down.
    assert row["d_lf_pass_at_n_lo_familywise"] == pytest.approx(row["d_lf_pass_at_n_lo"])
    assert len(row["outcomes"].split(", ")) == 2 and row["margin"] == M


def test_a_real_extension_is_a_gain_and_contradicts_the_papers_claim_even_bonferroni_corrected():
    t = _table("rl-at", {"base": 0.2, "rl-at": 0.9, NULL: 0.2}, seed=1)
    row = confirmation_row("rl-at", t, {0: 7, 1: 6}, n_boot=400, family=17)
    assert "gain" in row["statements"].split(", ") and row["reproduced"] == "reproduced"
    assert row["paper_claim"] == "contradicted" and row["d_lf_pass_at_n_lo_familywise"] > 0
    same = confirmation_row("rl-at", _table("rl-at", {"base": 0.5, "rl-at": 0.5, NULL: 0.5}, problems=200, seed=2),
                            {0: 7, 1: 6}, n_boot=400, family=17)
    # With enough pairs, no change is "no gain": the "up" claim is not reproduced, the paper's claim supported.
    assert same["reproduced"] == "not reproduced" and same["paper_claim"] == "supported"


def test_the_claim_text_states_the_atlas_confirmation_margin():
    from rlboundary.verdicts import CLAIMS

    assert f"{round(M * 100)} on a fresh" in CLAIMS["atlas"]


def test_the_margin_is_the_smallest_with_the_target_power_at_two_seeds():
    from rlboundary.organism.power import simulate_power

    power = simulate_power(problems=32, seeds=2, margins=(M - 0.05, M), replicates=120, n_boot=200, seed=5)
    at = lambda margin: power[(power.scenario == "no change") & (power.margin == margin)]["P(supported)"].iloc[0]  # noqa: E731
    # README: .663 at .30 and .847 at .35 (300 panels, B = 400); a smaller run lands near them.
    assert at(M) >= 0.72 and at(M - 0.05) < 0.8


@pytest.mark.parametrize("args,message", [
    (["organism", "atlas", "--params", "params/micro/atlas.yaml", "--arms", "grpo,sideways"], "sideways"),
    (["organism", "atlas", "--params", "params/micro/atlas.yaml", "--confirm-only"], "samples nothing"),
    (["organism", "atlas", "--params", "params/micro/atlas.yaml", "--confirm", "2", "--confirm-draw", "0"],
     "--confirm-draw 0"),
    (["organism", "power", "--worst-case", "--max-margin", "2"], "--max-margin 2.0 is outside"),
])
def test_confirmation_options_reject_bad_input_in_one_line(args, message, tmp_path):
    env = {**os.environ, "RLBOUNDARY_OUTPUTS": str(tmp_path)}
    r = subprocess.run([sys.executable, "-m", "rlboundary.cli", *args], capture_output=True, text=True, env=env,
                       timeout=300, cwd=str(Path(__file__).parents[1]))
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr, r.stderr[-500:]


@pytest.fixture(scope="module")
def micro_confirmed(tmp_path_factory, micro_organism):
    """One micro arm x one seed with a two-problem confirmation panel (micro's frontier level is so
    short that its own frontier panel uses the level up: the preset's frontier_panel is 0 here). The
    session's micro build sits in the outputs, so the arm copies its base and frontier, as atlas arms do."""
    from organism_helpers import copy_micro_organism
    from rlboundary.organism import presets
    from rlboundary.organism.atlas_confirm import confirm_unit

    out = tmp_path_factory.mktemp("atlas-confirm")
    copy_micro_organism(micro_organism, out)
    micro = presets.PRESETS["micro"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RLBOUNDARY_OUTPUTS", str(out))
        mp.setitem(presets.PRESETS, "micro", lambda: replace(micro(), frontier_panel=0))
        lines: list[str] = []
        records = [confirm_unit("psr", "micro", 0, n=4, count=2, draw=1, log=lines.append)]
        yield {"outputs": out, "records": records, "lines": lines, "mp": mp}


def test_the_plan_command_prices_the_confirmation_panels_the_report_samples(micro_confirmed, monkeypatch, tmp_path):
    """`rlboundary plan <atlas yaml>` prices what `rlboundary report --params atlas` runs: the units and,
    when the file sets confirmation_panel, their panels (it once left them out)."""
    from typer.testing import CliRunner

    from rlboundary.cli import app

    monkeypatch.setenv("RLBOUNDARY_OUTPUTS", str(micro_confirmed["outputs"]))
    common = "organism_preset: micro\norganism_seeds: [0]\nn: 4\nheadline_k: 4\nbootstrap: 100\narms: [psr]\n"

    def plan_rows(name: str, extra: str) -> tuple[str, dict]:
        folder = tmp_path / name
        folder.mkdir()
        (folder / "atlas.yaml").write_text(common + extra)
        result = CliRunner().invoke(app, ["plan", str(folder / "atlas.yaml")])
        assert result.exit_code == 0, result.output[-800:]
        header = next(x for x in result.output.splitlines() if x.startswith("arm "))
        row = next(x for x in result.output.splitlines() if x.startswith("psr "))
        return result.output, dict(zip(header.split(), row.split()))

    # Draw 2's panel is not stored: priced. Draw 1's is stored (the fixture's): nothing to price for it.
    text, row = plan_rows("draw2", "confirmation_panel: 2\nconfirmation_draw: 2\n")
    assert "confirmation panel 2 problems, draw 2" in text and float(row["confirm_s"]) > 0
    _, row = plan_rows("draw1", "confirmation_panel: 2\nconfirmation_draw: 1\n")
    assert float(row["confirm_s"]) == 0
    _, row = plan_rows("no-panel", "confirmation_panel: 0\n")
    assert float(row["confirm_s"]) == 0


def test_a_micro_unit_is_confirmed_stored_and_reused(micro_confirmed, monkeypatch):
    from rlboundary.errors import UserError
    from rlboundary.organism.atlas_confirm import (confirm_unit, confirmation_files, confirmation_rows,
                                                   load_confirmation)
    from rlboundary.organism.atlas_plan import plan_atlas

    monkeypatch.setenv("RLBOUNDARY_OUTPUTS", str(micro_confirmed["outputs"]))  # conftest gives each test its own
    psr, = micro_confirmed["records"]
    assert psr["count"] == 2 and psr["draw"] == 1 and psr["seconds"]["sample"] > 0
    # The arm's base and frontier are the micro build's, copied through the stage cache, not trained again.
    assert all(any(x.startswith(f"[{stage}] copying the finished stage") for x in micro_confirmed["lines"])
               for stage in ("base", "frontier")), micro_confirmed["lines"][:5]
    record, table_path = confirmation_files("micro", "psr", 0, 1)
    t = pd.read_parquet(table_path)
    # Base, arm and null on the panel's two fresh problems, all at the frontier level.
    assert set(t["model"]) == {"base", "psr", NULL} and len(t) == 6 and (t["level"] == psr["frontier"]).all()
    assert t["confirmation"].all() and t["in_rl_part"].all()  # psr trains on every kind of problem
    # Stored: found again with the same settings, not with another draw or count.
    assert load_confirmation("micro", "psr", 0, 4, 2, 1) == psr
    assert load_confirmation("micro", "psr", 0, 4, 2, 2) is None and load_confirmation("micro", "psr", 0, 4, 1, 1) is None
    lines: list[str] = []
    assert confirm_unit("psr", "micro", 0, n=4, count=2, draw=1, log=lines.append) == psr
    assert any("stored, reusing it" in x for x in lines)
    # The plan prices nothing for a stored panel and the panel's samples for another draw.
    stored = plan_atlas(["psr"], "micro", [0], 4, confirm=2, draw=1, confirm_only=True, write=False)
    assert stored["predicted_seconds"] == 0 and stored["rows"][0]["seeds_to_run"] == []
    other = plan_atlas(["psr"], "micro", [0], 4, confirm=2, draw=2, confirm_only=True, write=False)
    assert other["rows"][0]["confirm_s"] > 0 and other["rows"][0]["eval_s"] == 0
    rows = confirmation_rows("micro", ["grpo", "psr"], micro_confirmed["records"], n_boot=100)
    assert list(rows["arm"]) == ["psr"] and (rows["pairs"] == 2).all()  # grpo has no stored panel: no row
    # Two pairs bound nothing: every upper end is floored at the zero-event bound, so no "no gain".
    assert (rows["excess_gain_hi"] > M).all() and not rows["statements"].str.contains("no gain").any()
    with pytest.raises(UserError, match="fewer than confirm=50"):
        confirm_unit("psr", "micro", 0, n=4, count=50, draw=1, log=lambda *_: None)
    with pytest.raises(ValueError, match="at least one problem"):
        confirm_unit("psr", "micro", 0, n=4, count=0, draw=1, log=lambda *_: None)


def test_each_model_samples_the_panel_on_its_own_stream(micro_confirmed):
    """On micro, RL keeps the base's weights (no reward, no gradient), so base, null and arm are the
    same model: only their random streams can make their samples differ, and they must."""
    from rlboundary.organism.evaluate import confirmation_sampling_seed

    assert len({confirmation_sampling_seed(m, 2, 1, 0) for m in ("base", "grpo", "psr", NULL)}) == 4
    files = [f for f in Path(micro_confirmed["outputs"]).rglob("*.parquet") if f.parent.name.startswith("panel-")]
    texts = {}
    for f in files:
        name, digest = f.name.rsplit("-", 3)[:2]
        texts[name] = (digest, pd.read_parquet(f).sort_values(["problem_id", "sample_idx"])["text"].tolist())
    assert set(texts) == {"base", "psr", NULL}
    if len({d for d, _ in texts.values()}) == 1:  # the same weights everywhere (micro's usual case)
        samples = [tuple(t) for _, t in texts.values()]
        assert len(set(samples)) == 3, "two models drew identical samples: shared random numbers"
