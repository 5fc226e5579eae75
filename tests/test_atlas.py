"""The atlas's arms as data: what each changes, where its pieces live, how its claim is decided.

Fast (no training); `test_atlas_micro.py` runs arms end to end on the micro organism.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rlboundary.errors import UserError
from rlboundary.organism import atlas
from rlboundary.organism.atlas_results import claim_outcome, expectation_outcome
from rlboundary.organism.build import _stage_settings, stage_names
from rlboundary.organism.presets import get_preset
from rlboundary.organism.rl import prompt_problems
from rlboundary.params import load_params, validate


@pytest.mark.parametrize("preset", ["micro", "default"])
def test_the_default_stages_settings_have_no_arm_key_and_the_grpo_arm_is_the_builds_own_run(preset):
    p = get_preset(preset)
    for stage in stage_names(p):
        assert "prompts" not in _stage_settings(p, 0, stage)
    # The grpo and temperature arms train exactly the build's rl-grpo stage: it is copied, not retrained.
    for name in ("grpo", "temperature-1.0"):
        arm_p = atlas.arm_preset(atlas.get_arm(name), p)
        assert _stage_settings(arm_p, 0, "rl-grpo") == _stage_settings(p, 0, "rl-grpo")
        assert _stage_settings(arm_p, 0, "frontier") == _stage_settings(p, 0, "frontier")


def test_each_arm_changes_what_its_family_says():
    p = get_preset("default")
    settings = {name: _stage_settings(atlas.arm_preset(a, p), 1, f"rl-{a.algorithm}") for name, a in atlas.ARMS.items()}
    default = _stage_settings(p, 1, "rl-grpo")
    for name, a in atlas.ARMS.items():
        assert a.family in atlas.FAMILIES and a.claim and a.citation and a.expect, name
        assert all(m in atlas.METRICS and d in atlas.EXPECTATIONS for m, d in a.expect), name
        s = settings[name]
        if a.family == "exposure":
            assert s["base"] != default["base"] and s["rl"] == default["rl"]
        elif a.family in ("difficulty", "ood"):
            assert s["prompts"] and s["base"] == default["base"] and s["rl"] == default["rl"]
        elif a.family == "prolonged":
            assert s["rl"] != default["rl"] and "prompts" not in s
    shares = {name: sum(x for _, x in atlas.arm_preset(atlas.ARMS[name], p).exposure)
              for name in ("exposure-0", "exposure-1", "exposure-10")}
    # Shares of all pretraining traces; rare chains fill only the half after the curriculum.
    assert shares == pytest.approx({"exposure-0": 0.0, "exposure-1": 0.02, "exposure-10": 0.20})
    levels = [lv for lv, _ in atlas.arm_preset(atlas.ARMS["exposure-0"], p).exposure]
    assert levels == [lv for lv, _ in p.exposure]  # same levels: the unseen level does not move
    pro = atlas.arm_preset(atlas.ARMS["prolonged"], p).rl
    assert pro.steps == pro.min_steps >= 10 * p.rl.min_steps and pro.beta > 0
    assert pro.extra["sync_ref_model"] and pro.extra["ref_model_mixup_alpha"] == 1.0
    assert pro.extra["ref_model_sync_steps"] * atlas.ARMS["prolonged"].ref_resets == pro.steps


def test_arms_share_a_base_or_a_run_exactly_when_their_stage_settings_agree():
    dirs = {name: atlas.stage_dirs(a, "micro", 0) for name, a in atlas.ARMS.items()}
    assert dirs["grpo"] == dirs["temperature-1.0"]  # same RL run, evaluated at another temperature
    assert dirs["rl-at"][0] == dirs["grpo"][0] and dirs["rl-at"][1] != dirs["grpo"][1]
    assert len({dirs[f"exposure-{x}"][0] for x in (0, 1, 10)} | {dirs["grpo"][0]}) == 4
    assert atlas.stage_dirs(atlas.ARMS["grpo"], "micro", 1) != dirs["grpo"]


def test_rl_prompt_variants():
    shared = prompt_problems(3, 200, 1, 4, 0.5)
    from rlboundary.organism.frontier import training_problems

    assert shared == training_problems("rl", 3, 200, 1, 4, 0.5)  # no spec: the build's own prompts
    assert {q.n_steps for q in prompt_problems(3, 200, 1, 4, 0.5, {"levels": "at"})} == {4}
    assert {q.n_steps for q in prompt_problems(3, 200, 1, 4, 0.5, {"levels": "beyond"})} == {5}
    assert {q.n_steps for q in prompt_problems(3, 200, 1, 4, 0.5, {"levels": "below"})} == {1, 2, 3}
    plus = prompt_problems(3, 200, 1, 4, 0.5, {"signs": "+"})
    assert [q.n_steps for q in plus] == [q.n_steps for q in shared]  # same levels, only '+' turns
    assert all(t[0] == "+" for q in plus for t in q.turns)
    with pytest.raises(ValueError):
        prompt_problems(3, 10, 1, 4, 0.5, {"levels": "sideways"})


@pytest.mark.parametrize("direction,ci,outcome", [
    ("up", (0.01, 0.3), "met"), ("up", (-0.2, 0.04), "contradicted"), ("up", (-0.1, 0.2), "undecided"),
    ("down", (-0.3, -0.01), "met"), ("down", (-0.04, 0.2), "contradicted"), ("down", (-0.2, 0.1), "undecided"),
    ("no-gain", (-0.3, 0.04), "met"), ("no-gain", (0.01, 0.3), "contradicted"), ("no-gain", (-0.1, 0.2), "undecided"),
    ("no-loss", (-0.04, 0.3), "met"), ("no-loss", (-0.3, -0.01), "contradicted"), ("no-loss", (-0.2, 0.1), "undecided"),
])
def test_each_expectation_has_all_three_outcomes(direction, ci, outcome):
    assert expectation_outcome(direction, *ci) == outcome


@pytest.mark.parametrize("direction,ci,bounds,outcome", [
    # A floor: CI [0, 0] from 16 pairs with nothing gained or lost (exact bounds .206): no "no change" statement.
    ("no-gain", (0.0, 0.0), (0.206, 0.206), "undecided"), ("up", (0.0, 0.0), (0.206, 0.206), "undecided"),
    ("no-loss", (0.0, 0.0), (0.206, 0.206), "undecided"), ("down", (0.0, 0.0), (0.206, 0.206), "undecided"),
    # Enough pairs to resolve a 5-point change: the same CI decides.
    ("no-gain", (0.0, 0.0), (0.04, 0.04), "met"), ("up", (0.0, 0.0), (0.04, 0.04), "contradicted"),
    ("no-loss", (0.0, 0.0), (0.04, 0.04), "met"), ("down", (0.0, 0.0), (0.04, 0.04), "contradicted"),
    # Each bound guards its own direction only: gains do not block a "no loss" statement.
    ("no-loss", (-0.01, 0.3), (0.9, 0.04), "met"), ("no-gain", (-0.3, 0.01), (0.04, 0.9), "met"),
    # A CI that excludes 0 decides whatever the bounds say.
    ("up", (0.01, 0.3), (0.9, 0.9), "met"), ("no-gain", (0.01, 0.3), (0.9, 0.9), "contradicted"),
])
def test_no_change_statements_need_the_data_to_resolve_a_change_of_the_margins_size(direction, ci, bounds, outcome):
    assert expectation_outcome(direction, *ci, gain_bound=bounds[0], loss_bound=bounds[1]) == outcome


def test_a_claim_is_reproduced_only_when_every_expectation_is_met():
    assert claim_outcome(["met", "met"]) == "reproduced"
    assert claim_outcome(["met", "undecided"]) == "inconclusive"
    assert claim_outcome(["met", "contradicted"]) == "not reproduced"


def test_atlas_parameters_are_validated():
    p = load_params("atlas", "atlas")
    assert p.arms == list(atlas.ARMS) and p.organism_seeds == [0, 1] and p.n == 256
    assert load_params("atlas", "micro").organism_preset == "micro"
    with pytest.raises(UserError, match="not an atlas arm"):
        validate("atlas", {"arms": ["sideways"]})
    with pytest.raises(UserError, match="listed twice"):
        validate("atlas", {"arms": ["grpo", "grpo"]})
    with pytest.raises(UserError, match="no arms"):
        validate("atlas", {"arms": []})
    with pytest.raises(UserError):
        atlas.get_arm("sideways")


@pytest.mark.parametrize("args,message", [
    (["organism", "atlas", "--params", "params/micro/atlas.yaml", "--backend", "foo"], "unknown atlas backend 'foo'"),
    (["organism", "atlas", "--params", "params/micro/atlas.yaml", "--workers", "0"], "--workers 0 is below 1"),
    (["plan", "params/micro/atlas.yaml"], "no measured stage times of the micro preset"),
])
def test_atlas_commands_reject_bad_input_in_one_line(args, message, tmp_path):
    env = {**os.environ, "RLBOUNDARY_OUTPUTS": str(tmp_path)}  # nothing built there: nothing to plan from
    r = subprocess.run([sys.executable, "-m", "rlboundary.cli", *args], capture_output=True, text=True, env=env,
                       timeout=300, cwd=str(Path(__file__).parents[1]))
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr, r.stderr[-500:]


def test_the_prolonged_arm_reaches_trl_as_kl_with_hard_reference_resets(tmp_path):
    from rlboundary.organism.rl import _config

    pro = atlas.arm_preset(atlas.ARMS["prolonged"], get_preset("default")).rl
    cfg = _config("grpo", pro, tmp_path, 0, "cpu")  # TRL's own GRPOConfig validates the options
    assert cfg.sync_ref_model and cfg.ref_model_mixup_alpha == 1.0 and cfg.beta == pro.beta > 0
    assert cfg.ref_model_sync_steps == 100 and cfg.max_steps == 600


def test_a_stored_unit_is_found_again_and_a_changed_one_is_not(monkeypatch, tmp_path):
    import json

    monkeypatch.setenv("RLBOUNDARY_OUTPUTS", str(tmp_path))
    key = atlas.unit_key(atlas.ARMS["prolonged"], "micro", 0, 8, 0)
    out = atlas.unit_dir("micro", "prolonged", 0)
    out.mkdir(parents=True)
    (out / "unit.json").write_text(json.dumps({"key": key, "arm": "prolonged"}))
    assert atlas.load_unit("micro", "prolonged", 0, 8) == {"key": key, "arm": "prolonged"}
    assert atlas.load_unit("micro", "prolonged", 0, 16) is None  # another n: redone


def _stored_stage(root: Path, stage: str, settings: dict, seconds: float, entries: list[dict],
                  threads: int | None = None) -> None:
    import json

    (root / stage).mkdir(parents=True, exist_ok=True)
    (root / stage / "stage.json").write_text(json.dumps({"settings": settings, "entries": entries,
                                                         "seconds": seconds,
                                                         **({"threads": threads} if threads else {})}))


def test_the_plan_prices_stages_at_the_thread_count_its_units_will_run_at(monkeypatch, tmp_path):
    """Two workers on two cores run each unit at one thread: a base measured at two threads alone
    (faster) must not price it when ones measured at one thread exist (their median does); unrecorded
    counts are a fallback (their fastest)."""
    from rlboundary.organism.atlas_plan import measured_costs
    from rlboundary.organism.build import organism_dir

    monkeypatch.setenv("RLBOUNDARY_OUTPUTS", str(tmp_path))
    p = atlas.arm_preset(atlas.ARMS["grpo"], get_preset("micro"))
    for seed, seconds, threads in ((0, 100.0, 2), (1, 170.0, 1), (2, 90.0, None), (3, 190.0, 1)):
        root = organism_dir("micro", seed)
        _stored_stage(root, "base", _stage_settings(p, seed, "base"), seconds, [], threads)
        _stored_stage(root, "frontier", _stage_settings(p, seed, "frontier"), seconds / 10,
                      [{"base_reach": {"3": {"problems": 4, "n": 50}}}], threads)
        _stored_stage(root, "rl-grpo", _stage_settings(p, seed, "rl-grpo"), seconds / 5,
                      [{"step": 10, "path": "rl-grpo/final", "final": True, "beta": 0.0}], threads)
    one = measured_costs("micro", threads=1)
    # At the units' count, equal conditions: the median of those measurements, not the fastest.
    assert (one["base_seconds"], one["frontier_seconds"]) == (180, 18)
    assert one["rl_seconds_per_step"]["grpo"] == pytest.approx(3.6)
    assert "median of 2 at 1 torch thread" in one["sources"]["base"]
    assert measured_costs("micro", threads=2)["base_seconds"] == 100
    other = measured_costs("micro", threads=4)  # none at 4: the fastest of all, said so
    assert other["base_seconds"] == 90 and "none recorded at 4" in other["sources"]["base"]
    assert measured_costs("micro")["base_seconds"] == 90


def test_the_plan_prices_only_what_is_missing_from_the_fastest_measurements(monkeypatch, tmp_path):
    """A stored RL run whose final model's samples are in the evaluation cache (the organism's own
    `eval`) costs nothing; without the cached samples, one model's sampling; an arm with its own RL
    run costs its steps. Stage times are the fastest measured (load only slows a run down)."""
    from rlboundary.organism.atlas_plan import measured_costs, plan_atlas
    from rlboundary.organism.benchmark import load_problems
    from rlboundary.organism.build import organism_dir
    from rlboundary.organism.evaluate import cache_name, eval_cache
    from rlboundary.models import weights_digest

    monkeypatch.setenv("RLBOUNDARY_OUTPUTS", str(tmp_path))
    p = atlas.arm_preset(atlas.ARMS["grpo"], get_preset("micro"))
    for seed, slow in ((0, 1.0), (1, 3.0)):  # seed 1 "built under load": three times slower
        root = organism_dir("micro", seed)
        _stored_stage(root, "base", _stage_settings(p, seed, "base"), 100 * slow, [])
        _stored_stage(root, "frontier", _stage_settings(p, seed, "frontier"), 20 * slow,
                      [{"base_reach": {"3": {"problems": 4, "n": 50}}}])
        _stored_stage(root, "rl-grpo", _stage_settings(p, seed, "rl-grpo"), 30 * slow,
                      [{"step": 10, "path": "rl-grpo/final", "final": True, "beta": 0.0}])
        for model in ("base", "rl-grpo/final"):
            (root / model).mkdir(parents=True, exist_ok=True)
            (root / model / "model.safetensors").write_bytes(f"{model} {seed}".encode())
    costs = measured_costs("micro")
    assert costs["base_seconds"] == 100 and costs["frontier_seconds"] == 20
    assert costs["rl_seconds_per_step"] == {"grpo": 3.0} and costs["eval_seconds_per_sample"] == 20 / 200
    n, problems = 8, len(load_problems("eval", preset="micro", seed=0))
    cache = eval_cache("micro", 0)
    cache.mkdir(parents=True, exist_ok=True)
    root = organism_dir("micro", 0)
    files = {m: cache / cache_name(m, weights_digest(str(root / d)), n, 0, 0.6)
             for m, d in (("base", "base"), ("rl-grpo", "rl-grpo/final"))}
    for f in files.values():
        f.write_bytes(b"")
    assert plan_atlas(["grpo"], "micro", [0], n, write=False)["predicted_seconds"] == 0
    files["rl-grpo"].unlink()
    row = plan_atlas(["grpo"], "micro", [0], n, write=False)["rows"][0]
    assert (row["rl_steps"], row["eval_samples"]) == (0, problems * n)
    at = plan_atlas(["rl-at"], "micro", [0], n, write=False)["rows"][0]  # its own RL run; the base's samples cached
    steps = min(p.rl.min_steps, p.rl.steps)
    assert (at["rl_steps"], at["rl_s"], at["eval_samples"]) == (steps, 3.0 * steps, problems * n)
    # Two units side by side: the wall time is the longer one's, the one-after-another time their sum.
    two = plan_atlas(["rl-at", "rl-below"], "micro", [0], n, write=False, workers=2)
    assert len(two["unit_seconds"]) == 2 and min(two["unit_seconds"]) > 0
    assert two["predicted_seconds"] == max(two["unit_seconds"])
    assert two["one_after_another_seconds"] == sum(two["unit_seconds"])
    # A fresh outputs directory prices from another one's measurements, named as their source.
    from rlboundary.errors import UserError
    from rlboundary.organism.atlas_plan import costs_measured_in

    monkeypatch.setenv("RLBOUNDARY_OUTPUTS", str(tmp_path / "fresh"))
    with pytest.raises(UserError, match="no measured stage times"):
        plan_atlas(["rl-at"], "micro", [0], n, write=False)
    borrowed = costs_measured_in(tmp_path, "micro")
    assert borrowed["base_seconds"] == 100 and str(tmp_path) in borrowed["sources"]["base"]
    fresh = plan_atlas(["rl-at"], "micro", [0], n, write=False, costs=borrowed)["rows"][0]
    assert fresh["base_s"] == 100 and fresh["frontier_s"] == 20  # nothing stored there: the base is priced too
    with pytest.raises(UserError, match="no such directory"):
        costs_measured_in(tmp_path / "absent", "micro")


def test_units_side_by_side_take_the_first_worker_free():
    from rlboundary.organism.atlas_plan import makespan

    assert makespan([3, 1, 1, 1], 1) == 6
    assert makespan([3, 1, 1, 1], 2) == 3  # the long one on one worker, the three short ones on the other
    assert makespan([1, 1, 3], 2) == 4  # submitted last, the long one starts when the first worker frees
    assert makespan([], 2) == 0


def test_the_plan_is_compared_with_the_units_it_priced_arm_by_arm(monkeypatch, tmp_path):
    import json

    from rlboundary.organism.atlas_plan import run_records, run_set
    from rlboundary.organism.atlas_results import plan_vs_measured

    monkeypatch.setenv("RLBOUNDARY_OUTPUTS", str(tmp_path))
    name = run_set(["grpo", "rl-at", "psr"], [0, 1], 8)
    assert plan_vs_measured("micro", name).empty  # no plan yet
    rows = [{"arm": "grpo", "total_s": 0.0, "seeds_to_run": []},            # stored when planned
            {"arm": "rl-at", "total_s": 100.0, "seeds_to_run": [0, 1]},     # both units run since
            {"arm": "psr", "total_s": 50.0, "seeds_to_run": [0, 1]}]        # one of two finished: not compared
    plan_file, run_file = run_records("micro", name)
    plan_file.parent.mkdir(parents=True)
    plan_file.write_text(json.dumps({"rows": rows}))
    for arm, seed, seconds in (("grpo", 0, 9.0), ("rl-at", 0, 70.0), ("rl-at", 1, 80.0), ("psr", 0, 30.0)):
        atlas.unit_dir("micro", arm, seed).mkdir(parents=True)
        (atlas.unit_dir("micro", arm, seed) / "unit.json").write_text(json.dumps({"seconds": {"unit": seconds}}))
    table = plan_vs_measured("micro", name).set_index("arm")
    assert list(table.index) == ["rl-at", "all measured"]
    assert table.loc["rl-at", "measured_s"] == 150.0 and table.loc["rl-at", "measured / predicted"] == 1.5
    # The run of this plan (its arms with work, its seeds, its workers) is compared as a whole, wall to wall.
    plan = {"rows": rows, "workers": 2, "predicted_seconds": 120.0}
    plan_file.write_text(json.dumps(plan))
    run = {"arms": ["rl-at", "psr"], "seeds": [0, 1], "workers": 2, "wall_seconds": 90.0, "units": [{}] * 3}
    run_file.write_text(json.dumps(run))
    whole = plan_vs_measured("micro", name).iloc[-1]
    assert whole["arm"].startswith("whole run, 2 at a time") and whole["measured / predicted"] == 0.75
    for other in ({"workers": 1}, {"arms": ["rl-at"]}, {"seeds": [0]}, {"confirm_only": True}):  # not this plan's run
        run_file.write_text(json.dumps({**run, **other}))
        assert not plan_vs_measured("micro", name)["arm"].str.startswith("whole run").any()
    # Another parameter set on the same organism (the default report's small atlas) has its own records.
    assert plan_vs_measured("micro", run_set(["grpo"], [0], 8)).empty


def test_each_parameter_set_keeps_its_own_plan_and_run_and_older_outputs_are_still_read(monkeypatch, tmp_path):
    """Session 22: plan.json / run.json per parameter set (`run_set`), so a small atlas run on the same
    organism no longer overwrites the whole atlas's; a pair written before, one per preset, is read
    for the set its plan was made for."""
    import json

    from rlboundary.organism.atlas_plan import run_records, run_set

    monkeypatch.setenv("RLBOUNDARY_OUTPUTS", str(tmp_path))
    whole, small = run_set(["grpo", "rl-at"], [0, 1], 256, 32, 3), run_set(["grpo"], [0], 64)
    assert whole != small and whole.startswith("2arms-seeds0_1-n256-confirm32d3-")
    # What is asked for decides, not how it is spelled: seeds in any order, no draw without a panel.
    assert run_set(["grpo", "rl-at"], [1, 0], 256, 32, 3) == whole and run_set(["grpo"], [0], 64, 0, 5) == small
    assert run_set(["rl-at", "grpo"], [0, 1], 256, 32, 3) != whole  # units are submitted in arm order
    assert run_records("micro", whole)[0].parent != run_records("micro", small)[0].parent
    legacy = atlas.atlas_dir("micro")
    legacy.mkdir(parents=True)
    (legacy / "plan.json").write_text(json.dumps({"arms": ["grpo", "rl-at"], "seeds": [0, 1], "n": 256,
                                                  "confirm": 32, "confirm_draw": 3, "rows": []}))
    assert run_records("micro", whole) == (legacy / "plan.json", legacy / "run.json")
    assert run_records("micro", small)[0] == legacy / "runs" / small / "plan.json"  # not the set it planned


def test_a_run_is_planned_before_it_starts_unless_a_plan_awaits_it(monkeypatch, tmp_path):
    """`plan_before_run` (the report and the notebook call it before running what a set lacks): no
    measurements, no plan (said); a plan made since the set's last run (`rlboundary plan --costs-from`)
    is the prediction and is kept, byte for byte."""
    import json
    import os

    from rlboundary.organism.atlas_plan import plan_before_run, run_records, run_set

    monkeypatch.setenv("RLBOUNDARY_OUTPUTS", str(tmp_path))
    said = []
    plan_before_run(["grpo"], "micro", [0], 8, 0, 1, 2, said.append)
    plan_file, run_file = run_records("micro", run_set(["grpo"], [0], 8))
    assert not plan_file.exists() and said[-1].startswith("[atlas] no prediction: no measured stage times")
    plan_file.parent.mkdir(parents=True)
    made = json.dumps({"predicted_seconds": 123.0, "created": "before"})
    plan_file.write_text(made)
    plan_before_run(["grpo"], "micro", [0], 8, 0, 1, 2, said.append)
    assert plan_file.read_text() == made and "made before this run (before): predicted 123 s" in said[-1]
    run_file.write_text("{}")  # the awaited run came: a later run is planned anew (here: nothing measured)
    os.utime(plan_file, (1, 1))
    plan_before_run(["grpo"], "micro", [0], 8, 0, 1, 2, said.append)
    assert said[-1].startswith("[atlas] no prediction")


def test_each_base_is_shown_once_per_seed_with_its_frontier_and_reach_per_level():
    """The exposure arms have bases of their own; the others share the organism's, listed once."""
    import pandas as pd

    from rlboundary.organism.atlas_results import base_label, base_rows

    def table(values):  # per_problem rows: base and arm, two problems per level, seeds 0 and 1
        rows = []
        for seed, per_level in values.items():
            for level, (a, b) in per_level.items():
                for model in ("base", "arm"):
                    rows += [{"seed": seed, "model": model, "level": level, "lf_pass_at_n": x} for x in (a, b)]
        return pd.DataFrame(rows)

    records = [{"seed": 0, "frontier": 5}, {"seed": 1, "frontier": 6}]
    rows = base_rows("exposure-10", table({0: {4: (1.0, 1.0), 5: (1.0, 0.0)}, 1: {4: (1.0, 0.0), 5: (0.0, 0.0)}}),
                     records)
    assert [(r["base"], r["seed"], r["frontier"], r["level 4"], r["level 5"]) for r in rows] == [
        ("exposure-10", 0, 5, 1.0, 0.5), ("exposure-10", 1, 6, 0.5, 0.0)]
    assert base_label("grpo") == base_label("rl-at") == "default" and base_label("exposure-0") == "exposure-0"
    assert base_rows("temperature-1.0", table({0: {4: (1.0, 1.0)}}), records[:1])[0]["temperature"] == 1.0


def test_some_arm_extends_is_counted_with_a_bonferroni_correction_over_the_arms():
    # Two seeds on the same 20 frontier problems; the arm reaches 4 that the base never does: at
    # 95 % that "extends" (all-zero bootstrap draws: 0.8^20 = 1.2 % < 2.5 %), but not at
    # 1 - 0.05 / 17 (0.15 % per tail): one arm of 17 extending at 95 % is what chance gives.
    import pandas as pd

    from rlboundary.organism.atlas_results import claim_row

    rows = [{"seed": s, "model": m, "problem_id": f"p{i}", "level": 5,
             "lf_pass_at_n": float(m == "grpo" and i < 4), "lf_pass_at_1": float(m == "grpo" and i < 4) / 64}
            for s in (0, 1) for m in ("base", "grpo") for i in range(20)]
    records = [{"seed": s, "frontier": 5, "unseen": 9, "rl": {"steps": 60}} for s in (0, 1)]
    alone, _ = claim_row("grpo", pd.DataFrame(rows), records, n_boot=4000, family=1)
    among, _ = claim_row("grpo", pd.DataFrame(rows), records, n_boot=4000, family=17)
    assert alone["verdict"] == alone["verdict_familywise"] == "extends"
    assert among["verdict"] == "extends" and among["verdict_familywise"] == "no change detected"
    assert among["d_lf_pass_at_n_lo_familywise"] <= 0 < among["d_lf_pass_at_n_lo"]


def test_units_get_one_openmp_pool_per_worker_unless_the_user_set_one(monkeypatch):
    from rlboundary.organism import atlas_backends

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setenv("RLBOUNDARY_OUTPUTS", "/somewhere")
    env = atlas_backends.unit_env(1)
    assert env["OMP_NUM_THREADS"] == "1" and env["RLBOUNDARY_OUTPUTS"] == "/somewhere"  # Ray workers get both
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert atlas_backends.unit_env(1)["OMP_NUM_THREADS"] == "3"
