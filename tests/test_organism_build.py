"""The organism's micro build, end to end: every stage, every checkpoint reloaded
in transformers and in vLLM (same log-probabilities), evaluation and CLI errors.

The micro preset trains for seconds, so its models are not good at the task;
these tests check the machinery, not the science (see the README for the
default build's numbers).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rlboundary.organism.benchmark import load_problems, lock_problem
from rlboundary.organism.task import clean_trace


@pytest.fixture(scope="module")
def micro(tmp_path_factory, micro_organism):
    """The session's micro organism (conftest: built by ensure_organism with two stages side by side after
    the base; the sequential path is the rebuild test's), copied under this module's own outputs."""
    from organism_helpers import copy_micro_organism
    from rlboundary.organism.build import load_organism

    out = tmp_path_factory.mktemp("organism-outputs")
    copy_micro_organism(micro_organism, out)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RLBOUNDARY_OUTPUTS", str(out))
        models = load_organism("micro", 0)
    assert models is not None, "the copied micro build did not load (stale or incomplete)"
    return {"models": models, "outputs": out}


def test_build_has_every_role_and_checkpoint(micro):
    models, manifest = micro["models"], micro["models"].manifest
    roles = {m["role"] for m in manifest["models"]}
    assert roles == {"base", "instruct", "teacher", "distilled", "rl", "rft"}
    names = {m["name"] for m in manifest["models"]}
    assert {"teacher", "teacher-matched", "distilled", "distilled-matched", "rft"} <= names
    front = manifest["frontier"]
    assert front["frontier"] in front["candidates"] and manifest["unseen_level"] > max(front["candidates"])
    rl = next(m for m in manifest["models"] if m.get("final"))
    assert rl["reward_curve"] and {"step", "reward", "frontier_reward"} <= set(rl["reward_curve"][0])
    assert rl["stopped"] in ("plateau", "cap") and rl["beta"] == 0.0
    algos = {m["algorithm"] for m in manifest["models"] if m["role"] == "rl"}
    assert len(algos) >= 2 and {"grpo", "rloo"} <= algos
    for algo in algos:
        steps = sorted({m["step"] for m in manifest["models"] if m["role"] == "rl" and m["algorithm"] == algo})
        assert len(steps) >= 3, algo
        assert Path(models[f"rl-{algo}"]).name == f"step-{steps[-1]}"
    teacher = next(m for m in manifest["models"] if m["role"] == "teacher")
    base = next(m for m in manifest["models"] if m["role"] == "base")
    # The matched teacher is the stronger teacher's checkpoint whose frontier reach is closest to the base's.
    matched = next(m for m in manifest["models"] if m["name"] == "teacher-matched")
    sel = matched["selection"]
    assert set(sel["candidates"]) == {"2", "4", "6"} and matched["step"] == sel["chosen_step"]
    # Measured latest first: the final step always, earlier ones fully, stopped by their
    # bounds, or skipped after an exact match (frontier.select_matched_checkpoint).
    measured = {int(k): r for k, r in sel["candidates"].items() if "luck_free_pass_at_n" in r
                and r["luck_free_pass_at_n"] is not None}
    assert 6 in measured and all(r["n"] == 8 and r["problems"] == 4 for r in measured.values())
    assert matched["frontier_reach"] == sel["candidates"][str(sel["chosen_step"])]
    target = sel["base"]["luck_free_pass_at_n"]
    gaps = {k: abs(r["luck_free_pass_at_n"] - target) for k, r in measured.items()}
    assert gaps[sel["chosen_step"]] == min(gaps.values())
    for k, r in sel["candidates"].items():  # an unmeasured step could not have been kept
        if r.get("stopped_early"):
            low, high = r["luck_free_bounds"]
            assert max(0.0, low - target, target - high) >= min(g for s, g in gaps.items() if s > int(k))
        elif "skipped" in r:
            assert min(g for s, g in gaps.items() if s > int(k)) == 0
    assert sel["base"] == manifest["frontier"]["base_reach"][str(front["frontier"])]
    assert not (Path(models["teacher-matched"]) / "checkpoints").exists()
    teacher_dir = Path(models["teacher"])
    assert sorted(d.name for d in (teacher_dir / "checkpoints").iterdir()) == ["step-2", "step-4"]
    kept = teacher_dir if sel["chosen_step"] == 6 else teacher_dir / "checkpoints" / f"step-{sel['chosen_step']}"
    assert (Path(models["teacher-matched"]) / "model.safetensors").read_bytes() == \
        (kept / "model.safetensors").read_bytes()
    assert teacher["params"] > base["params"]  # the teacher is the larger model
    assert manifest["build_seconds"] > 0 and set(manifest["stage_seconds"]) >= {"base", "teacher", "distilled"}
    assert manifest["machine"]["build_workers"] == 2 and 0 < manifest["wall_seconds"]
    # What else decides a CPU build's weights: the host's SIMD kernels and the package versions.
    import torch
    assert manifest["machine"]["torch_cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert manifest["machine"]["packages"]["torch"] == torch.__version__ and manifest["machine"]["cpu_model"]
    from rlboundary.machine import simd_flags
    assert manifest["machine"]["simd_flags"] == simd_flags()
    for name, path in models.items():
        for f in ("config.json", "model.safetensors", "tokenizer.json", "generation_config.json"):
            assert (Path(path) / f).is_file(), (name, f)
    # Written atomically: no partial directory or trainer scratch left behind.
    root = Path(models["base"]).parent
    assert not root.with_name(root.name + ".partial").exists()
    assert not list(root.glob("rl-*/_trl"))
    assert json.loads((root / "manifest.json").read_text()) == manifest


def test_frontier_levels_measured_ahead_equal_the_stages_own_measurement(micro):
    """The side-by-side build measured every candidate level in other processes (stage_parts); the
    stage's rows must be exactly what it measures itself, in one process with one sampler."""
    from rlboundary.organism.frontier import measure_luck_free_reach_levels
    from rlboundary.organism.presets import get_preset

    p, root = get_preset("micro"), Path(micro["models"]["base"]).parent
    front = micro["models"].manifest["frontier"]
    assert front["measured_ahead"] == p.frontier_candidates()
    here = measure_luck_free_reach_levels(root / "base", p.frontier_candidates(), p.frontier_problems,
                                          p.frontier_n, 0, p.width, p.max_completion_tokens())
    assert front["base_reach"] == {str(level): row for level, row in here.items()}
    assert not (root / ".parts").exists()  # removed once the stage recorded its result


def test_ensure_organism_reuses_a_complete_build(micro, monkeypatch):
    monkeypatch.setenv("RLBOUNDARY_OUTPUTS", str(micro["outputs"]))
    from rlboundary.organism import ensure_organism

    t0 = time.perf_counter()
    again = ensure_organism("micro", 0, log=lambda *_: None)
    assert time.perf_counter() - t0 < 5 and dict(again) == dict(micro["models"])


def test_pretraining_is_deterministic_in_the_seed():
    import torch

    from rlboundary.organism.corpus import BASE_MIX
    from rlboundary.organism.pretrain import pretrain
    from rlboundary.organism.training import TrainConfig
    from rlboundary.tinymodel import build_char_tokenizer

    tok = build_char_tokenizer()
    shape = dict(hidden_size=64, num_layers=1, num_heads=2)
    cfg = TrainConfig(steps=3, batch_size=4, warmup=1, log_every=1)
    a, log_a = pretrain(tok, shape, cfg, 7, 1, 3, BASE_MIX)
    b, log_b = pretrain(tok, shape, cfg, 7, 1, 3, BASE_MIX)
    c, _ = pretrain(tok, shape, cfg, 8, 1, 3, BASE_MIX)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert [r["loss"] for r in log_a] == [r["loss"] for r in log_b]
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)


def _hf_logprobs(path: str, ids: list[int]) -> list[float]:
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0].float()
    logp = torch.log_softmax(logits[:-1], dim=-1)
    return logp.gather(1, torch.tensor(ids[1:])[:, None])[:, 0].tolist()


def _vllm_logprobs(path: str, ids: list[int]) -> list[float]:
    import gc

    from vllm import LLM, SamplingParams, TokensPrompt

    llm = LLM(model=path, dtype="float32", max_model_len=256, enforce_eager=True, enable_chunked_prefill=False)
    out = llm.generate([TokensPrompt(prompt_token_ids=ids)], SamplingParams(max_tokens=1, prompt_logprobs=0),
                       use_tqdm=False)[0]
    del llm
    gc.collect()
    # prompt_logprobs[0] is None (no context); entry i holds token i's log-prob.
    return [entry[tok].logprob for tok, entry in zip(ids[1:], out.prompt_logprobs[1:])]


def _check_logprobs_agree(paths: list[str]) -> None:
    from transformers import AutoTokenizer

    from rlboundary.organism.training import ChatEncoder

    problem = lock_problem(load_problems("eval", preset="micro")[-1])
    for path in paths:
        enc = ChatEncoder(AutoTokenizer.from_pretrained(path))
        ids, _ = enc.example(problem.prompt(), clean_trace(problem))
        hf, vl = _hf_logprobs(path, ids), _vllm_logprobs(path, ids)
        assert len(hf) == len(vl) == len(ids) - 1
        worst = max(abs(a - b) for a, b in zip(hf, vl))
        assert worst < 2e-3, (path, worst)


def test_base_and_rl_checkpoint_reload_in_vllm_and_transformers_with_equal_logprobs(micro):
    _check_logprobs_agree([micro["models"]["base"], micro["models"]["rl-grpo-step1"]])


@pytest.mark.slow
def test_every_checkpoint_reloads_in_vllm_and_transformers_with_equal_logprobs(micro):
    paths = sorted(set(micro["models"].values()))
    assert len(paths) >= 13  # 4 SFT/pretrained models + 3 algorithms x 3 checkpoints
    _check_logprobs_agree(paths)


def test_evaluate_organism_on_micro(micro, monkeypatch):
    monkeypatch.setenv("RLBOUNDARY_OUTPUTS", str(micro["outputs"]))
    from rlboundary.organism.evaluate import evaluate_organism, format_table

    res = evaluate_organism("micro", 0, n=4, names=["base", "rl-grpo"], ks=(1, 4), guess_n=2,
                            log=lambda *_: None)
    passk = res["passk"]
    assert set(passk["model"]) == {"base", "rl-grpo"} and set(passk["k"]) == {1, 4}
    rows = res["rows"]
    n_problems = len(load_problems("micro"))
    assert len(rows) == 2 * n_problems * 4
    # pass@k against the unbiased estimator by hand: mean over problems of 1 - C(n-c, k) / C(n, k).
    from math import comb

    c = rows.groupby(["model", "problem_id"])["correct"].sum()
    for _, r in passk.iterrows():
        by_hand = sum(1 - comb(4 - int(x), int(r.k)) / comb(4, int(r.k)) for x in c.loc[r.model]) / n_problems
        assert r.pass_at_k == pytest.approx(by_hand, abs=1e-12), (r.model, r.k)
    assert {"trace_valid", "n_steps_checked", "first_invalid_step"} <= set(rows.columns)
    assert not (rows["trace_valid"] & ~rows["correct"]).any()  # valid traces end in the right answer
    assert set(res["guessing"]["chance_rate"]) == {0.1}
    assert "pass@1" in format_table(res)
    # Luck-free pass@k: the same estimator on correct-and-valid samples, never above plain pass@k.
    valid = res["passk_valid"].set_index(["model", "k"])["pass_at_k"]
    plain = passk.set_index(["model", "k"])["pass_at_k"]
    assert (valid <= plain + 1e-12).all()
    for model, g in rows.groupby("model"):
        per_problem = (g["correct"] & g["trace_valid"]).groupby(g["problem_id"]).mean()
        assert abs(valid[(model, 1)] - per_problem.mean()) < 1e-9
    assert "pass@1" in format_table(res, "passk_valid")


def test_cli_rejects_bad_input_in_one_line():
    env = dict(os.environ)
    r = subprocess.run([sys.executable, "-m", "rlboundary.cli", "organism", "build", "--preset", "huge"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 2
    assert "unknown preset 'huge'" in r.stderr and "Traceback" not in r.stderr


def test_finished_stages_are_reused_and_changed_settings_are_not(micro):
    from dataclasses import replace

    from rlboundary.organism.build import _done, _stage_settings, run_stage
    from rlboundary.organism.presets import get_preset

    p = get_preset("micro")
    root = Path(micro["models"]["base"]).parent
    before = (root / "base" / "model.safetensors").stat().st_mtime_ns
    record = run_stage("base", p, 0, root, log=lambda *_: None)  # resumes: nothing retrained
    assert (root / "base" / "model.safetensors").stat().st_mtime_ns == before
    assert record["entries"][0]["name"] == "base"
    assert _done(root, "base", _stage_settings(p, 1, "base")) is None  # another seed
    longer = replace(p, base_train=replace(p.base_train, steps=p.base_train.steps + 1))
    assert _done(root, "base", _stage_settings(longer, 0, "base")) is None
    assert _done(root, "rl-grpo", _stage_settings(longer, 0, "rl-grpo")) is None  # RL depends on the base


def test_multi_seed_evaluation_and_its_verdicts_on_micro(micro, monkeypatch):
    monkeypatch.setenv("RLBOUNDARY_OUTPUTS", str(micro["outputs"]))
    from rlboundary.organism.evaluate import evaluate_seeds, format_levels, format_reach
    from rlboundary.organism.reach import VERDICTS

    # No frontier panel here (the next tests cover it): each model's panel is another engine start.
    res = evaluate_seeds("micro", (0,), n=4, names=["base", "rl-grpo", "rft"], log=lambda *_: None, panel=0)
    levels, reach = res["levels"], res["reach"]
    assert set(levels["level"]) == set(range(1, res["unseen"] + 1))
    assert (levels["lf_pass_at_n"] <= levels["pass_at_n"] + 1e-12).all()
    assert set(reach["endpoint"]) == {"frontier", "unseen"} and set(reach["model"]) == {"rl-grpo", "rft"}
    assert all(v.split(" (")[0] in VERDICTS and "one seed" in v for v in reach["verdict"])
    assert "luck-free pass@4" in format_levels(res) and "frontier level per seed" in format_reach(res)
    # The temperature arm: the same evaluation at T = 1.0, cached beside (not over) the T = 0.6 samples.
    # (main set only: the panel's sampling path is the same, and this keeps the suite's time down)
    hot = evaluate_seeds("micro", (0,), n=4, names=["base", "rl-grpo"], log=lambda *_: None, temperature=1.0,
                         panel=0)
    cache = Path(micro["outputs"]) / "cache" / "organism-eval" / "micro-seed0"
    names = sorted(f.name for f in cache.glob("base-*.parquet"))
    assert len(names) == 2 and sum(name.endswith("-T1.parquet") for name in names) == 1, names
    cold = res["rows"][(res["rows"]["model"] == "base") & ~res["rows"]["panel"]]
    warm = hot["rows"][hot["rows"]["model"] == "base"]
    assert warm["problem_id"].tolist() == cold["problem_id"].tolist()  # the same problems, other texts
    assert warm["text"].tolist() != cold["text"].tolist()
    assert "T = 1" in format_reach(hot) and "T = 0.6" in format_reach(res)


def test_the_frontier_panel_joins_the_reach_comparison_only(micro, monkeypatch):
    monkeypatch.setenv("RLBOUNDARY_OUTPUTS", str(micro["outputs"]))
    from rlboundary.organism.benchmark import load_problems
    from rlboundary.organism.evaluate import evaluate_seeds, format_reach

    without = evaluate_seeds("micro", (0,), n=4, names=["base", "rl-grpo"], log=lambda *_: None, panel=0)
    panel = evaluate_seeds("micro", (0,), n=4, names=["base", "rl-grpo"], log=lambda *_: None, panel=3)
    front = panel["frontier"][0]
    at_front = sum(p.metadata["n_steps"] == front for p in load_problems("eval", preset="micro"))
    row = lambda r: r[(r.model == "rl-grpo") & (r.endpoint == "frontier")].iloc[0]  # noqa: E731
    assert row(without["reach"]).pairs == at_front and row(panel["reach"]).pairs == at_front + 3
    # The per-level table stays on the main set (its levels alike for every seed) ...
    assert without["levels"].equals(panel["levels"])
    # ... and the panel's samples are the models' own, on the panel's problems at the frontier.
    extra = panel["rows"][panel["rows"]["panel"]]
    assert set(extra["model"]) == {"base", "rl-grpo"} and set(extra["n_steps"]) == {front}
    assert extra["problem_id"].str.startswith("eval-panel-").all() and len(extra) == 2 * 3 * 4
    assert "3 more problems at each seed's frontier level" in format_reach(panel)
    assert "frontier panel: none" in format_reach(without)


def test_the_null_control_is_the_base_sampled_again_and_judged_by_the_same_rule(micro, monkeypatch):
    monkeypatch.setenv("RLBOUNDARY_OUTPUTS", str(micro["outputs"]))
    from rlboundary.organism.evaluate import NULL_MODEL, evaluate_seeds, format_reach

    res = evaluate_seeds("micro", (0,), n=4, names=["base", NULL_MODEL], log=lambda *_: None, panel=3)
    rows = res["rows"]
    base, null = rows[rows.model == "base"], rows[rows.model == NULL_MODEL]
    # Same problems (main set and panel), same count, other random numbers: other texts.
    assert sorted(base["problem_id"]) == sorted(null["problem_id"]) and len(null) == len(base)
    key = ["problem_id", "sample_idx"]
    assert base.sort_values(key)["text"].tolist() != null.sort_values(key)["text"].tolist()
    front = res["reach"][(res["reach"].model == NULL_MODEL) & (res["reach"].endpoint == "frontier")]
    assert len(front) == 1 and front.iloc[0].paper_claim == ""  # not an RL model: not in the paper's verdict
    assert "null control; the claim's rule on it:" in format_reach(res)


def test_the_confirmation_panel_is_fresh_independently_sampled_and_judged_against_the_null(micro, monkeypatch):
    from dataclasses import replace

    from rlboundary.errors import UserError
    from rlboundary.organism import presets
    from rlboundary.organism.evaluate import NULL2_MODEL, NULL_MODEL, evaluate_seeds, format_reach
    from rlboundary.organism.reach import draw_claim, overall_paper_claim

    monkeypatch.setenv("RLBOUNDARY_OUTPUTS", str(micro["outputs"]))
    # micro's frontier level is so short that its frontier panel (3) uses up the level's evaluation
    # problems: without that panel there are 3, and asking for more is refused before any sampling.
    micro_preset = presets.PRESETS["micro"]
    monkeypatch.setitem(presets.PRESETS, "micro", lambda: replace(micro_preset(), frontier_panel=0))
    names = ["base", "rl-grpo", NULL_MODEL, NULL2_MODEL]
    with pytest.raises(UserError, match="fewer than confirm=50"):
        evaluate_seeds("micro", (0,), n=4, names=names, log=lambda *_: None, panel=0, confirm=50)
    res = evaluate_seeds("micro", (0,), n=4, names=names, log=lambda *_: None, panel=0, confirm=2)
    rows = res["rows"]
    conf = rows[rows["confirmation"]]
    # Fresh problems: none of the main set's; every model on them, both nulls too.
    assert set(conf["model"]) == set(names) and len(conf) == 4 * 2 * 4
    assert not set(conf["problem_id"]) & set(rows[~rows["confirmation"]]["problem_id"])
    assert set(conf["n_steps"]) == {res["frontier"][0]} and conf["panel"].all()
    # Independent streams: the base and the null controls differ on the confirmation panel.
    key = ["problem_id", "sample_idx"]
    text = {m: conf[conf.model == m].sort_values(key)["text"].tolist() for m in names}
    assert text["base"] != text[NULL_MODEL] != text[NULL2_MODEL]
    r = res["reach"]
    c = r[r["endpoint"] == "confirmation"].set_index("model")
    assert set(c.index) == {"rl-grpo", NULL_MODEL, NULL2_MODEL} and (c["pairs"] == 2).all()
    # The null is the calibrator (no excess, no claim); the others are judged against it.
    assert c.loc[NULL_MODEL, "confirmation_claim"] == "" and c.loc[NULL_MODEL, "excess_gain"] != c.loc[NULL_MODEL, "excess_gain"]
    assert c.loc["rl-grpo", "paper_claim"] in ("supported", "contradicted", "inconclusive")
    assert c.loc[NULL2_MODEL, "confirmation_claim"] in ("supported", "contradicted", "inconclusive")
    # 2 pairs cannot bound a share below the margin: the upper end is floored at the resolution bound.
    assert (c.loc[["rl-grpo", NULL2_MODEL], "excess_gain_hi"] >= 0.84).all()
    # The frontier endpoint keeps its own pairs (the main set's), not the confirmation's.
    f = r[(r["endpoint"] == "frontier") & (r["model"] == "rl-grpo")].iloc[0]
    assert f.pairs == res["per_problem"].query(f"model == 'rl-grpo' and not panel and level == {res['frontier'][0]}").shape[0]
    assert overall_paper_claim(r) == c.loc["rl-grpo", "paper_claim"]
    out = format_reach(res)
    assert "confirmation (draw 1): 2 fresh problems" in out and "calibrator" in out
    # Read with its controls: no teacher sampled here, and the printed claim is draw_claim's.
    assert f"on the confirmation panel (draw 1): {draw_claim(r)[0]} (" in out and "teacher not sampled" in out


def test_the_notebooks_verdict_reads_every_listed_draw_with_its_controls(micro, monkeypatch):
    # organism_reach with two confirmation draws: both draws' rows are shown and plotted, the
    # negative control's rows are among the verdict's numbers (the positive control's gate is tested on
    # synthetic tables in test_organism_fairness.py), and the verdict is replicated_claim's. The main
    # set's samples are the earlier tests' (same models and n), so only the two draws are sampled.
    from dataclasses import replace
    from types import SimpleNamespace

    import pandas as pd

    from rlboundary import plots
    from rlboundary.errors import UserError
    from rlboundary.organism import presets
    from rlboundary.organism.evaluate import NULL2_MODEL, NULL_MODEL, confirmation_draw_reach, evaluate_seeds
    from rlboundary.organism.reach import CONTROL_EXPECTED, reach_study, replicated_claim

    monkeypatch.setenv("RLBOUNDARY_OUTPUTS", str(micro["outputs"]))
    micro_preset = presets.PRESETS["micro"]
    monkeypatch.setitem(presets.PRESETS, "micro", lambda: replace(micro_preset(), frontier_panel=0))
    models = [{"name": m, "path": f"organism:{m}"} for m in ("base", "rl-grpo")]
    params = SimpleNamespace(models=models, organism_seeds=[0], n=4, organism_preset="micro", frontier_panel=0,
                             confirmation_panel=1, confirmation_draws=[1, 2])
    study = reach_study(params)
    shown = study["reach"]
    assert {"confirmation draw 1", "confirmation draw 2"} <= set(shown["endpoint"])
    assert "confirmation" not in set(shown["endpoint"])  # every draw is labelled with its number
    assert sorted(study["reach_by_draw"]) == [1, 2]
    verdict, why, records = replicated_claim(study["reach_by_draw"])
    v = study["verdict"]
    assert v.verdict == verdict and v.reason == why and [r["draw"] for r in records] == [1, 2]
    judged = [n["what"].split(" ")[0] for n in v.numbers]
    assert sorted(judged) == sorted(["rl-grpo", NULL2_MODEL] * 2) and NULL2_MODEL in CONTROL_EXPECTED
    assert sum("draw 2" in n["what"] for n in v.numbers) == 2
    assert "teacher not sampled" in v.reason
    fig = plots.reach_forest(shown, 4, margin={"frontier": 0.05, "confirmation": 0.3})
    assert [ax.get_title() for ax in fig.axes][-2:] == ["confirmation panel draw 1", "confirmation panel draw 2"]
    # A replication draw read alone (confirmation_draw_reach) is exactly what a full evaluate_seeds of
    # that draw gives on its confirmation endpoint: same problems, samples (cached here) and rule.
    names = ["base", "rl-grpo", NULL_MODEL, NULL2_MODEL]
    full = evaluate_seeds("micro", (0,), n=4, names=names, log=lambda *_: None, panel=0, confirm=1, confirm_draw=2)
    conf = full["reach"][full["reach"]["endpoint"] == "confirmation"].reset_index(drop=True)
    pd.testing.assert_frame_equal(study["reach_by_draw"][2].drop(columns="draw"), conf)
    with pytest.raises(UserError, match="needs both >= 1"):
        confirmation_draw_reach("micro", (0,), n=4, names=names, confirm=0, draw=2, log=lambda *_: None)


def test_a_complete_build_rebuilds_only_the_stages_whose_settings_changed(micro, tmp_path):
    """A preset change after a complete build (e.g. a new RL learning rate) must
    not be served the old models: the changed stages rebuild, the rest are reused."""
    import shutil
    from dataclasses import replace

    from rlboundary.organism.build import build_organism, stale_stages
    from rlboundary.organism.presets import get_preset

    p = get_preset("micro")
    root = tmp_path / "micro-seed0"
    shutil.copytree(Path(micro["models"]["base"]).parent, root)
    assert stale_stages(p, 0, root) == []
    base_bytes = (root / "base" / "model.safetensors").read_bytes()
    old_rl = json.loads((root / "manifest.json").read_text())
    changed = replace(p, rl=replace(p.rl, learning_rate=p.rl.learning_rate * 2))
    assert set(stale_stages(changed, 0, root)) == {f"rl-{a}" for a in p.rl_algorithms}
    lines = []
    rebuilt = build_organism(changed, 0, out=root, log=lines.append)
    assert any("rebuilding them" in line for line in lines)
    reused = {line.split("]")[0].strip("[") for line in lines if "reusing the finished stage" in line}
    assert reused == {"base", "frontier", "instruct", "rft", "teacher-matched", "distilled-matched", "teacher",
                      "distilled"}
    assert (root / "base" / "model.safetensors").read_bytes() == base_bytes
    assert stale_stages(changed, 0, root) == [] and stale_stages(p, 0, root) != []
    assert not root.with_name(root.name + ".partial").exists()
    # The RL stages were rerun with the new learning rate (the micro models solve nothing,
    # so their weights need not move: the record and the fresh files show the rerun).
    old_models = {m["name"]: m["path"] for m in old_rl["models"]}
    for algo in p.rl_algorithms:
        record = json.loads((root / f"rl-{algo}" / "stage.json").read_text())
        assert f"learning_rate={changed.rl.learning_rate}," in record["settings"]["rl"]
        new_file = Path(rebuilt[f"rl-{algo}"]) / "model.safetensors"
        old_copy = Path(micro["models"]["base"]).parent / old_models[f"rl-{algo}"] / "model.safetensors"
        assert new_file.stat().st_mtime_ns > old_copy.stat().st_mtime_ns


def test_a_build_refuses_a_directory_that_holds_anything_but_a_build(tmp_path):
    # A build replaces its directory when it finishes: `--out outputs` must not delete stored samples.
    from rlboundary.errors import UserError
    from rlboundary.organism.build import build_organism

    victim = tmp_path / "outputs"
    (victim / "samples" / "base").mkdir(parents=True)
    (victim / "samples" / "base" / "part-1.parquet").write_bytes(b"stored samples")
    (victim / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match="holds no organism build"):
        build_organism("micro", 0, out=victim, log=lambda *_: None)
    assert (victim / "notes.txt").read_text() == "mine"
    assert (victim / "samples" / "base" / "part-1.parquet").read_bytes() == b"stored samples"
    assert not (tmp_path / "outputs.partial").exists()  # refused before anything was built
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(UserError, match="is a file"):
        build_organism("micro", 0, out=tmp_path / "a-file", log=lambda *_: None)


def test_a_model_asked_for_by_name_that_a_seed_lacks_is_refused(micro, monkeypatch):
    monkeypatch.setenv("RLBOUNDARY_OUTPUTS", str(micro["outputs"]))
    from rlboundary.errors import UserError
    from rlboundary.organism.evaluate import evaluate_seeds

    with pytest.raises(UserError, match="seed 0's micro build has no model 'nope'"):
        evaluate_seeds("micro", (0,), n=2, names=["base", "nope"], log=lambda *_: None)


def test_the_reach_comparison_reads_the_studys_runs_with_sample_source_study(micro, monkeypatch):
    # params/micro/organism_reach.yaml (like params/default's) reads the runs the pass@k notebooks sample:
    # the rows are every stored sample of each model (first n), checked step by step, and their answers'
    # correctness is the study grader's. What the run store cannot give is refused in one line.
    from rlboundary.errors import UserError
    from rlboundary.figures import graded_runs
    from rlboundary.params import Params, load_params
    from rlboundary.organism.reach import reach_study

    monkeypatch.setenv("RLBOUNDARY_OUTPUTS", str(micro["outputs"]))
    params = load_params("organism_reach", "micro")
    assert params.sample_source == "study"
    # Three of its models at the earlier tests' n (the suite's time): what is read does not depend on which.
    params = Params({**params, "n": 4, "models": [m for m in params.models if m["name"] in ("base", "rl-grpo", "rft")]})
    study = reach_study(params)
    rows = study["rows"]
    runs = list(graded_runs(params))
    assert {r.model["name"] for r in runs} == set(rows["model"]) == {m["name"] for m in params.models}
    for run in runs:
        mine = rows[rows["model"] == run.model["name"]]
        assert len(mine) == len(run.verdicts) == params.n * mine["problem_id"].nunique()
        both = mine.merge(run.verdicts[["problem_id", "sample_idx", "correct"]], on=["problem_id", "sample_idx"])
        assert len(both) == len(mine) and (both["correct_x"] == both["correct_y"]).all()
    assert study["verdict"].verdict in ("supported", "contradicted", "inconclusive")
    for change, message in (({"organism_seeds": [0, 1]}, "organism_seeds"), ({"frontier_panel": 2}, "no frontier"),
                            ({"confirmation_panel": 2}, "no frontier"), ({"temperature": 1.0}, "temperature")):
        with pytest.raises(UserError, match=message):
            reach_study(Params({**params, **change}))
