"""The cost model and the `plan` command."""

from __future__ import annotations

import json
import math

import pytest

from rlboundary import cost
from rlboundary.cli import main
from rlboundary.errors import UserError
from rlboundary.params import load_params, validate
from rlboundary.paths import PARAMS_DIR


def _params(notebook="fig01_passk_math", **overrides):
    values = dict(models=[{"name": "qwen2.5-7b", "path": "Qwen/Qwen2.5-7B", "role": "base"},
                          {"name": "zoo", "path": "hkust-nlp/Qwen-2.5-7B-SimpleRL-Zoo", "role": "rl"}],
                  benchmarks=["aime24", "math500"], n=256, max_tokens=4096)
    values.update(overrides)
    return validate(notebook, values)


def test_batch_one_decode_is_bandwidth_over_weight_bytes():
    # A physical fact to check units against: at batch 1 a 7B bf16 model on an
    # H100 (3.35 TB/s) reads its 15.2 GB of weights per token: about 220 tok/s.
    arch, gpu = cost.ARCHITECTURES["qwen2.5-7b"], cost.GPUS["h100"]
    rate = cost.roofline_tokens_per_s(arch, gpu, tp=1, batch=1, mean_context=1)
    assert rate == pytest.approx(3.35e12 / (7.62e9 * 2), rel=1e-3)
    assert 200 < rate < 240
    # Tensor parallelism splits the bytes over GPUs: twice the rate at TP=2.
    assert cost.roofline_tokens_per_s(arch, gpu, tp=2, batch=1, mean_context=1) == pytest.approx(2 * rate)
    # Large batches become compute-bound: the rate stops growing linearly.
    big = cost.roofline_tokens_per_s(arch, gpu, tp=1, batch=4096, mean_context=1)
    assert big == pytest.approx(gpu.bf16_tflops * 1e12 / (2 * arch.params_b * 1e9), rel=1e-6)


def test_measured_efficiency_is_a_fraction_of_the_roofline():
    # A measured engine cannot beat the memory-bandwidth roofline (checked on its own above):
    # an efficiency at or above 1 would mean the roofline, or the figure's shape, is wrong.
    for fig in cost.MEASURED:
        eff, source = cost.engine_efficiency(fig.engine)
        assert 0 < eff < 1, fig
        assert "measured" in source and f"{fig.tokens_per_s:.0f} tok/s" in source
    eff, source = cost.engine_efficiency("vllm")
    assert 0 < eff < 1 and "ASSUMED" in source


def test_kv_cache_limits_the_batch_and_oversized_models_do_not_fit():
    arch, gpu = cost.ARCHITECTURES["qwen2.5-32b"], cost.GPUS["h100"]
    short = cost.batch_that_fits(arch, gpu, tp=4, context_tokens=1000)
    long = cost.batch_that_fits(arch, gpu, tp=4, context_tokens=16000)
    assert short == cost.MAX_BATCH and 0 < long < short
    assert cost.batch_that_fits(cost.ARCHITECTURES["qwen2.5-72b"], gpu, tp=1, context_tokens=100) == 0


def test_architecture_from_hub_id_local_config_or_nothing(tmp_path):
    arch, how = cost.architecture_of("deepseek-ai/DeepSeek-R1-Distill-Qwen-14B")
    assert arch.name == "qwen2.5-14b" and "14B" in how
    assert cost.architecture_of("meta-llama/Llama-3.1-8B-Instruct")[0].name == "llama-3.1-8b"
    assert cost.architecture_of("checkpoints/ppo/global_step_450")[0] is None
    # A local model: its config.json (the Qwen2.5-1.5B config) gives its size.
    cfg = dict(hidden_size=1536, num_hidden_layers=28, num_attention_heads=12, num_key_value_heads=2,
               intermediate_size=8960, vocab_size=151936, tie_word_embeddings=True)
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    arch, how = cost.architecture_of(str(tmp_path))
    assert arch.kv_heads == 2 and arch.head_dim == 128 and arch.params_b == pytest.approx(1.54, rel=0.02)


def test_runs_shared_by_notebooks_are_counted_once_at_the_largest_n():
    p1 = _params(n=128)
    p5 = _params("fig05_accuracy_and_coverage", n=256, n_per_benchmark={"aime24": 1024})
    runs = cost.plan_runs({"fig01_passk_math": p1, "fig05_accuracy_and_coverage": p5})
    assert len(runs) == 4  # 2 models x 2 benchmarks
    n = {(r.model["name"], r.benchmark): r.n for r in runs}
    assert n[("zoo", "aime24")] == 1024 and n[("zoo", "math500")] == 256
    assert all(r.notebooks == ["fig01_passk_math", "fig05_accuracy_and_coverage"] for r in runs)
    # An RL checkpoint without a size in its name takes its base's shape.
    p8 = _params("fig08_rl_algorithms", models=[{"name": "base", "path": "Qwen/Qwen2.5-7B", "role": "base"},
                                                {"name": "ppo", "path": "ckpt/ppo/step_450", "role": "rl"}])
    e = cost.estimate(next(r for r in cost.plan_runs({"fig08": p8}) if r.model["name"] == "ppo"))
    assert e.gpu_hours is not None and "its base's qwen2.5-7b" in e.shape_source


def test_estimate_arithmetic_from_stated_assumptions():
    run = next(r for r in cost.plan_runs({"fig01": _params()}) if r.benchmark == "aime24")
    e = cost.estimate(run, gpu="h100", fill=0.25)
    assert e.problems == 30 and e.samples_todo == 30 * 256
    assert e.mean_response_tokens == 0.25 * 4096 and "ASSUMED" in e.response_source
    assert e.generated_tokens == 30 * 256 * 1024 and e.generated_ceiling == 30 * 256 * 4096
    units = 30 * 256 // 64
    prompt = (cost.BENCHMARK_FALLBACK["aime24"].mean_prompt_chars + cost.TEMPLATE_OVERHEAD_CHARS) / cost.CHARS_PER_TOKEN
    if e.prompt_source == "benchmark files":  # the real files loaded: only the prompt length differs
        prompt = e.prompt_tokens / units
    assert e.prompt_tokens == pytest.approx(units * prompt)
    assert e.gpu_hours == pytest.approx(e.generated_tokens / e.tokens_per_s / 3600)
    assert e.gpu_hours_ceiling == pytest.approx(4 * e.gpu_hours)
    # A given tokens/s replaces the model; TP multiplies GPU-hours.
    e2 = cost.estimate(run, tokens_per_s=1000.0)
    assert e2.gpu_hours == pytest.approx(30 * 256 * 1024 / 1000 / 3600)
    with pytest.raises(UserError, match="fill"):
        cost.estimate(run, fill=0)
    with pytest.raises(UserError, match="GPU"):
        cost.estimate(run, gpu="tpu")


def test_prompt_lengths_come_from_real_benchmark_files(tmp_path):
    rows = [{"problem": "x" * 100, "answer": "1", "unique_id": "a"}, {"problem": "y" * 300, "answer": "2", "unique_id": "b"}]
    (tmp_path / "math500.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    problems, chars, source = cost.benchmark_prompts("math500", "raw", str(tmp_path), None)
    assert (problems, source) == (2, "benchmark files")
    assert chars == pytest.approx(200, abs=5)  # the raw template adds (almost) nothing
    with pytest.raises(UserError, match="cannot size benchmark"):
        cost.benchmark_prompts("no_such_bench", "raw", None, None)


def test_stored_samples_replace_the_assumed_length_and_are_not_counted_again(tmp_path):
    from rlboundary.models import ModelSpec
    from rlboundary.sampling import SamplingSettings
    from rlboundary.study import run_store

    (tmp_path / "math500.jsonl").write_text(
        "".join(json.dumps({"problem": f"q{i}", "answer": "1", "unique_id": f"u{i}"}) + "\n" for i in range(3)))
    p = _params(models=[{"name": "tiny", "path": "some/Model-7B", "role": "base", "template": "raw"}],
                benchmarks=["math500"], n=8, max_tokens=100, chunk_size=4, data_dir=str(tmp_path))
    (run,) = cost.plan_runs({"fig01": p})
    store = run_store(ModelSpec(name="tiny", path="some/Model-7B", template="raw"), "math500",
                      SamplingSettings(n=8, max_tokens=100, chunk_size=4), 0)
    with store.lock():
        store.write_chunk([{"problem_id": pid, "sample_idx": i, "text": "t", "num_tokens": 10 + i,
                            "finish_reason": "stop"} for pid in ("0", "1") for i in range(4)])
    e = cost.estimate(run)
    assert e.samples_total == 24 and e.samples_todo == 24 - 8
    assert e.mean_response_tokens == pytest.approx(11.5) and "measured" in e.response_source
    assert e.generated_tokens == pytest.approx(16 * 11.5)


def run_cli(argv) -> int:
    try:
        main(argv)
    except SystemExit as exit_info:  # typer exits 0 after a command
        return exit_info.code or 0
    return 0


PAPER_FIG1 = str(PARAMS_DIR / "paper" / "fig01_passk_math.yaml")


def test_plan_command_prints_table_and_summary(capsys):
    assert run_cli(["plan", PAPER_FIG1]) == 0
    out = capsys.readouterr().out
    assert "qwen2.5-7b-simplerl-zoo" in out and "TOTAL" in out and "ASSUMED" in out
    assert run_cli(["plan", PAPER_FIG1, "--summary", "--gpu", "h200"]) == 0
    figures = dict(line.split("=", 1) for line in capsys.readouterr().out.splitlines())
    p = load_params("fig01_passk_math", PAPER_FIG1)
    expected = sum(cost.benchmark_prompts(b, p.template_for(m, b), p.data_dir, p.limit)[0] * p.n_for(b, m)
                   for m in p.models for b in p.benchmarks if p.runs_on(m, b)) * len(p.seeds)
    assert int(figures["plan_fig01_passk_math_samples"]) == expected
    assert math.isfinite(float(figures["plan_fig01_passk_math_h200_gpu_hours"]))


def test_plan_command_bad_input_is_one_line(capsys):
    for argv in (["plan", "no/such/params.yaml"], ["plan", PAPER_FIG1, "--gpu", "tpu"]):
        assert run_cli(argv) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error:") and "\n" not in err
