"""The atlas end to end on the micro organism: backends, the plan against a measured run, the notebook.

Slow (minutes: every unit trains through the stage cache and samples with
vLLM). Micro models are barely trained; these tests check the machinery,
never the science. Two arms x one seed (params/micro/atlas.yaml: grpo, rl-at)
run once with the local backend (a 2-process pool) and once as Ray tasks on
a local 2-worker cluster, each in its own outputs directory: the stored
results must be the same. Then the plan predicts two more arms from what
was measured, and the run is timed against it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]  # a loaded 2-core machine: minutes per unit

ARMS, PRESET, SEEDS, N = ["grpo", "rl-at"], "micro", [0], 8


def _run(outputs: Path, backend: str) -> dict:
    from rlboundary.organism.atlas_backends import run_atlas

    os.environ["RLBOUNDARY_OUTPUTS"] = str(outputs)
    return run_atlas(ARMS, PRESET, SEEDS, N, backend=backend, workers=2, log=lambda *_: None)


def _records(outputs: Path, arms: list[str]) -> tuple[Path, Path]:
    """(plan.json, run.json) of `arms` x SEEDS at N in `outputs` (one folder per parameter set)."""
    from rlboundary.organism.atlas_plan import run_set

    folder = outputs / "atlas" / PRESET / "runs" / run_set(arms, SEEDS, N)
    return folder / "plan.json", folder / "run.json"


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """The same two arms by the local backend and by Ray, in separate outputs directories."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RLBOUNDARY_OUTPUTS", "")
        local_out, ray_out = tmp_path_factory.mktemp("atlas-local"), tmp_path_factory.mktemp("atlas-ray")
        local = _run(local_out, "local")
        ray = _run(ray_out, "ray")
    print(f"\n[atlas micro] local {local['wall_seconds']:.0f} s, ray {ray['wall_seconds']:.0f} s (2 arms x 1 seed)")
    return {"local": (local_out, local), "ray": (ray_out, ray)}


def test_local_and_ray_backends_store_the_same_results(two_runs):
    (a, local), (b, ray) = two_runs["local"], two_runs["ray"]
    assert ray["backend"] == "ray" and local["backend"] == "local" and ray["workers"] == local["workers"] == 2
    for arm in ARMS:
        unit = Path("atlas") / PRESET / "units" / f"{arm}-seed0"
        ta, tb = (pd.read_parquet(root / unit / "per_problem.parquet") for root in (a, b))
        assert len(ta) and set(ta["model"]) == {"base", arm}
        pd.testing.assert_frame_equal(ta, tb)
        ua, ub = (json.loads((root / unit / "unit.json").read_text()) for root in (a, b))
        assert ua["key"] == ub["key"] and ua["models"] == ub["models"]  # same directories, keyed by stage settings
        assert ua["rl"]["reward_curve"] == ub["rl"]["reward_curve"]
        for rel in ua["models"].values():  # the trained weights themselves
            assert (a / rel / "model.safetensors").read_bytes() == (b / rel / "model.safetensors").read_bytes()
    # grpo's run and rl-at's share the base; rl-at trained its own RL run.
    ga, ra = (json.loads((a / "atlas" / PRESET / "units" / f"{x}-seed0" / "unit.json").read_text()) for x in ARMS)
    assert ga["base_dir"] == ra["base_dir"] and ga["run_dir"] != ra["run_dir"]
    assert ra["rl"]["settings"]["prompts"] == {"levels": "at"}
    assert json.loads(_records(b, ARMS)[1].read_text())["backend"] == "ray"


def test_units_side_by_side_run_with_one_openmp_pool_each(two_runs):
    # Two units at once with OpenMP at its default spin on every core (~8x slower sampling each,
    # benchmarks/report_jobs.py): each unit's process must have run at cores // workers threads.
    import os

    from rlboundary.organism.atlas_backends import unit_threads

    expected = os.environ.get("OMP_NUM_THREADS") or str(unit_threads(2))
    for _, run in two_runs.values():
        seen = run["unit_processes"]
        assert [(p["arm"], p["seed"]) for p in seen] == [(a, s) for a in ARMS for s in SEEDS]
        assert all(p["OMP_NUM_THREADS"] == expected and p["torch_threads"] == unit_threads(2) for p in seen), seen


def test_the_plan_predicts_from_measured_times_and_is_compared_with_the_run(two_runs):
    from rlboundary.organism.atlas_backends import run_atlas
    from rlboundary.organism.atlas_plan import measured_costs, plan_atlas

    outputs = two_runs["local"][0]
    os.environ["RLBOUNDARY_OUTPUTS"] = str(outputs)
    more = ["psr", "rl-below"]
    costs = measured_costs(PRESET)
    stored = [json.loads(p.read_text())["seconds"] for p in (outputs / "atlas" / PRESET).glob("seed0/bases/*/base/stage.json")]
    assert costs["base_seconds"] in stored  # a measurement of this machine, not a constant
    plan = plan_atlas(more, PRESET, SEEDS, N)
    assert [r["arm"] for r in plan["rows"]] == more
    for r in plan["rows"]:
        # The base and frontier are stored (shared), the base's samples cached: RL and one model's samples remain.
        assert r["base_s"] == r["frontier_s"] == 0 and r["rl_steps"] == 3
        assert r["eval_samples"] == plan["problems"] * N and r["total_s"] > 0
    run = run_atlas(more, PRESET, SEEDS, N, backend="local", workers=1, log=lambda *_: None)
    ratio = run["wall_seconds"] / plan["predicted_seconds"]
    print(f"\n[atlas plan] predicted {plan['predicted_seconds']:.1f} s, measured {run['wall_seconds']:.1f} s "
          f"(measured / predicted {ratio:.2f})")
    saved = json.loads(_records(outputs, more)[0].read_text())
    assert saved["predicted_seconds"] == plan["predicted_seconds"] and saved["inputs"]["sources"]
    from rlboundary.organism.atlas_plan import run_set
    from rlboundary.organism.atlas_results import plan_vs_measured

    table = plan_vs_measured(PRESET, run_set(more, SEEDS, N)).set_index("arm")
    whole = "whole run, 1 at a time (wall)"  # this run is the one the plan priced
    assert list(table.index) == [*more, "all measured", whole] and (table.units == [1, 1, 2, 2]).all()
    assert table.loc[whole, "measured_s"] == run["wall_seconds"]
    # Per arm, each unit's own wall time; together they are the run's wall time less its start-up.
    assert 0 < table.loc["all measured", "measured_s"] <= run["wall_seconds"]
    assert table.loc["all measured", "predicted_s"] == pytest.approx(plan["predicted_seconds"])
    # Nothing left to do: the plan says so.
    assert plan_atlas(more, PRESET, SEEDS, N, write=False)["predicted_seconds"] == 0


def test_the_atlas_notebook_runs_through_papermill_on_the_micro_atlas(two_runs, tmp_path):
    outputs = two_runs["local"][0]
    env = {**os.environ, "RLBOUNDARY_OUTPUTS": str(outputs), "HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "rlboundary.cli", "report", "--params", "micro", "--only", "atlas"],
                          env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    report = outputs / "report"
    head = json.loads((report / "headlines" / "atlas.json").read_text())
    assert [r["arm"] for r in head["rows"]] == ARMS
    assert head["verdict"]["verdict"] in ("supported", "contradicted", "inconclusive")
    assert all(r["reproduced"] in ("reproduced", "not reproduced", "inconclusive") for r in head["rows"])
    figures = {p.stem for p in (report / "figures" / "atlas").glob("*.png")}
    assert figures == {"atlas_grid", "atlas_checkpoints", "atlas_reward_curves"}
    executed = json.loads((report / "notebooks" / "atlas.ipynb").read_text())
    assert not any(o.get("output_type") == "error" for c in executed["cells"] for o in c.get("outputs", []))


def test_the_report_runs_missing_units_side_by_side_before_the_notebook_reads_them(two_runs, tmp_path):
    """`rlboundary report --params atlas` runs what is missing two units at a time (as `organism atlas
    --workers 2`), not one after another inside the notebook; the units it reruns come out as stored."""
    import shutil

    from rlboundary.organism.schedule import default_workers

    outputs = tmp_path / "copied-outputs"
    shutil.copytree(two_runs["local"][0], outputs)
    units = [outputs / "atlas" / PRESET / "units" / f"{arm}-seed0" for arm in ARMS]
    before = [pd.read_parquet(unit / "per_problem.parquet") for unit in units]
    for unit in units:
        shutil.rmtree(unit)
    _records(outputs, ARMS)[1].unlink()
    env = {**os.environ, "RLBOUNDARY_OUTPUTS": str(outputs), "HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "rlboundary.cli", "report", "--params", "micro", "--only", "atlas"],
                          env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    run = json.loads(_records(outputs, ARMS)[1].read_text())
    assert run["arms"] == ARMS and run["seeds"] == SEEDS and run["backend"] == "local"
    assert run["workers"] == min(default_workers(), len(ARMS))  # 2 on two CPU cores
    for unit, table in zip(units, before):  # the stored stages and samples, read again: the same tables
        pd.testing.assert_frame_equal(pd.read_parquet(unit / "per_problem.parquet"), table)

