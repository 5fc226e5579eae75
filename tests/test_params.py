"""Parameter sets: every shipped YAML validates; bad ones fail with one clear line.

Validation cases are data: (notebook, YAML text, substrings the error must contain).
"""

from __future__ import annotations

import textwrap

import pytest

from rlboundary import params
from rlboundary.errors import UserError

MODELS = "models: [{name: b, path: organism:base, role: base}, {name: r, path: organism:rl, role: rl}]\n"

BAD = [
    # (notebook, yaml, must appear in the message)
    ("fig01_passk_math", MODELS + "temprature: 0.7", ["unknown key 'temprature'", "allowed keys:", "temperature"]),
    ("fig01_passk_math", MODELS + "n: '64'", ["n must be an integer", "str '64'"]),
    ("fig01_passk_math", MODELS + "n: true", ["n must be an integer", "bool"]),
    ("fig01_passk_math", MODELS + "n: 0", ["n=0 must be >= 1"]),
    ("fig01_passk_math", MODELS + "temperature: hot", ["temperature must be a number"]),
    ("fig01_passk_math", MODELS + "temperature: -1", ["temperature=-1.0 is negative"]),
    ("fig01_passk_math", MODELS + "temperature: 60", ["temperature=60.0 is above 2", "0.6"]),
    ("organism_reach", MODELS + "frontier_panel: -3", ["frontier_panel=-3 is negative"]),
    ("organism_reach", MODELS + "confirmation_panel: -1", ["confirmation_panel=-1 is negative"]),
    ("fig01_passk_math", MODELS + "top_p: 1.5", ["top_p=1.5 is outside (0, 1]"]),
    ("fig01_passk_math", MODELS + "backend: tpu", ["backend='tpu' is not allowed", "vllm, hf, ray"]),
    ("fig01_passk_math", MODELS + "math_grader: sympy", ["math_grader='sympy'", "math-verify, math-equal"]),
    ("fig01_passk_math", MODELS + "benchmarks: aime24", ["benchmarks must be a list of strings"]),
    ("fig01_passk_math", MODELS + "benchmarks: []", ["no benchmarks"]),
    ("fig01_passk_math", MODELS + "seeds: [0, x]", ["seeds[1] must be an integer"]),
    ("fig01_passk_math", MODELS + "seeds: [0, 0]", ["seeds=[0, 0] must be distinct", "list each seed once"]),
    ("fig01_passk_math", MODELS + "seeds: [-1]", ["seeds=[-1] must be distinct non-negative"]),
    ("fig01_passk_math", MODELS + "benchmarks: [organsim]", ["unknown benchmark 'organsim'", "organism"]),
    ("fig01_passk_math", MODELS + "organism_preset: mirco", ["organism_preset='mirco' is not a preset", "micro"]),
    ("fig01_passk_math", MODELS + "graders: [math-verify, foo]", ["graders names 'foo'", "math-equal"]),
    ("fig01_passk_math", "models: [{name: b, path: p, dtype: float64}]", ["model 'b' has dtype='float64'", "bfloat16"]),
    ("fig01_passk_math", MODELS + "n: 8\nks: [1, 16]", ["ks contains 16, outside 1..n=8"]),
    ("fig01_passk_math", MODELS + "n_per_benchmark: {aime24: 64}", ["n_per_benchmark names 'aime24'"]),
    ("fig01_passk_math", "models: []", ["no models"]),
    ("fig01_passk_math", "models: [{name: b, path: p, rol: base}]", ["models[0]: unknown key 'rol'", "role"]),
    ("fig01_passk_math", "models: [{name: b}]", ["models[0]: missing key 'path'"]),
    ("fig01_passk_math", "models: [{name: b, path: p, role: critic}]", ["role='critic' is not allowed", "base, rl, instruct"]),
    ("fig01_passk_math", "models: [{name: b, path: p, template: fancy}]", ["template='fancy'", "qwen-boxed"]),
    ("fig01_passk_math", "models: [{name: b, path: p, tensor_parallel_size: 0}]", ["parallel sizes must be >= 1"]),
    ("fig01_passk_math", "models: [{name: b, path: p}, {name: b, path: q}]", ["model name 'b' is used twice"]),
    ("fig01_passk_math", "models: [{name: r, path: p, role: rl, base: nobody}]", ["base='nobody'"]),
    ("fig01_passk_math", "models: [b, r]", ["models[0] must be a model mapping"]),
    ("fig05_accuracy_and_coverage", MODELS + "rl_model: rl-7b", ["rl_model='rl-7b' is not one of the models", "b, r"]),
    ("fig06_perplexity", MODELS + "include_ground_truth: 1", ["include_ground_truth must be true or false"]),
    ("horizon", MODELS + "n: 4\nhorizon_ks: [1, 8]", ["horizon_ks contains 8"]),
    ("cot_validity", MODELS + "pass_rate_bins: [0.5, 0.1]", ["pass_rate_bins", "increasing"]),
    # Per-model settings (the paper's per-model n, lengths, prompts).
    ("fig01_passk_math", "models: [{name: b, path: p, n_per_benchmark: {gsm8k: 8}}]", ["model 'b'", "names benchmark 'gsm8k'"]),
    ("fig01_passk_math", "models: [{name: b, path: p, n_per_benchmark: {organism: 0}}]", ["n_per_benchmark.organism=0"]),
    ("fig01_passk_math", "models: [{name: b, path: p, max_tokens: 4096, max_model_len: 4096}]",
     ["max_tokens=4096 does not fit its context max_model_len=4096"]),
    ("fig01_passk_math", "models: [{name: b, path: p}]\nmax_tokens: 8192\nmax_model_len: 4096",
     ["max_tokens=8192 does not fit its context max_model_len=4096"]),
    ("fig01_passk_math", "models: [{name: b, path: p, max_tokens: 0}]", ["max_tokens=0 must be >= 1"]),
    ("fig01_passk_math", "models: [{name: b, path: p, benchmarks: [aime24]}]", ["names benchmark 'aime24'"]),
    ("fig01_passk_math", "models: [{name: b, path: p, template_per_benchmark: {organism: fancy}}]",
     ["template_per_benchmark.organism='fancy' is not allowed", "r1-zero"]),
    ("fig01_passk_math", MODELS + "official_stops: yes please", ["official_stops must be true or false"]),
    # A key that exists for another notebook is still unknown here.
    ("fig01_passk_math", MODELS + "horizon_ks: [1]", ["unknown key 'horizon_ks'"]),
]


@pytest.mark.parametrize("notebook,text,needles", BAD, ids=[f"{i}-{c[0]}" for i, c in enumerate(BAD)])
def test_bad_parameters_are_one_line_user_errors(tmp_path, notebook, text, needles):
    f = tmp_path / "p.yaml"
    f.write_text(text)
    with pytest.raises(UserError) as err:
        params.load_params(notebook, f)
    message = str(err.value)
    assert "\n" not in message
    for needle in needles:
        assert needle in message, (needle, message)


@pytest.mark.parametrize("text,needle", [
    ("n: [1\n", "not valid YAML at line"),
    ("n: 4\ntemperature: 0.6\nn: 8\n", "not valid YAML at line 3: the key 'n' is given twice"),
    ("models: [{name: b, name: c}]\n", "the key 'name' is given twice"),
    ("- 1\n- 2\n", "top level must be a mapping"),
    ("fig01_passk_math: {n: 4}\nn: 4\n", "mixes notebook sections"),
])
def test_malformed_files(tmp_path, text, needle):
    f = tmp_path / "p.yaml"
    f.write_text(text)
    with pytest.raises(UserError) as err:
        params.load_params("fig01_passk_math", f)
    assert needle in str(err.value)


def test_missing_set_and_unknown_notebook():
    with pytest.raises(UserError, match="parameter set 'nope' not found"):
        params.load_params("fig01_passk_math", "nope")
    with pytest.raises(UserError, match="unknown notebook 'fig99'.*fig01_passk_math"):
        params.load_params("fig99", "default")


# Every file of every shipped set; default, paper and micro parameterise every notebook,
# onegpu the hub-model figures only (the others need the organism: `rlboundary report` skips them).
SHIPPED = [(s, nb) for s in params.NAMED_SETS for nb in params.NOTEBOOKS
           if (params.PARAMS_DIR / s / f"{nb}.yaml").exists()]


def test_the_complete_sets_have_every_notebook():
    # A notebook with a set of its own (params.HOME_SETS: the atlas, params/atlas/) is in micro and, small, in
    # default (params/default/atlas.yaml), not in paper.
    own = set(params.HOME_SETS)
    for s in ("default", "paper", "micro"):
        assert {nb for ss, nb in SHIPPED if ss == s} == set(params.NOTEBOOKS) - (own if s == "paper" else set()), s
    for nb, home in params.HOME_SETS.items():
        assert (params.PARAMS_DIR / home / f"{nb}.yaml").exists()
    assert {nb for ss, nb in SHIPPED if ss == "onegpu"} == {
        "fig01_passk_math", "fig03_passk_code", "fig05_accuracy_and_coverage", "fig06_perplexity", "fig07_distillation"}


@pytest.mark.parametrize("param_set,notebook", SHIPPED, ids=[f"{s}-{nb}" for s, nb in SHIPPED])
def test_every_shipped_set_validates(param_set, notebook):
    p = params.load_params(notebook, param_set)
    assert (p.models or notebook in params.NOTEBOOKS_WITHOUT_MODELS) and p.benchmarks
    for m in p.models:
        if m["role"] != "base":
            assert p.base_of(m)["role"] == "base"


def test_paper_sets_use_the_papers_settings():
    for notebook in [nb for nb in params.NOTEBOOKS if nb not in params.HOME_SETS]:
        p = params.load_params(notebook, "paper")
        assert (p.temperature, p.top_p) == (0.6, 0.95), notebook
    fig07 = params.load_params("fig07_distillation", "paper")
    assert {m["path"] for m in fig07.models} >= {
        "Qwen/Qwen2.5-Math-7B", "Qwen/Qwen2.5-Math-7B-Instruct",
        "sail/Qwen2.5-Math-7B-Oat-Zero", "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B"}
    fig01 = params.load_params("fig01_passk_math", "paper")
    assert {"Qwen/Qwen2.5-7B", "hkust-nlp/Qwen-2.5-7B-SimpleRL-Zoo"} <= {m["path"] for m in fig01.models}
    assert max(fig01.n_for(b) for b in fig01.benchmarks) == 1024


def test_layering_study_level_and_sections(tmp_path):
    flat = tmp_path / "flat.yaml"
    flat.write_text("n: 4\nseeds: [3]\n")
    p = params.load_params("horizon", "micro", flat)
    assert p.n == 4 and p.seeds == [3]
    assert p.ks_for(p.benchmarks[0]) == [1, 2, 4]
    sectioned = tmp_path / "sections.yaml"
    sectioned.write_text(textwrap.dedent("""\
        study: {n: 8}
        fig01_passk_math: {n: 2}
    """))
    assert params.load_params("fig01_passk_math", "micro", sectioned).n == 2
    assert params.load_params("horizon", "micro", sectioned).n == 8


def test_defaults_fill_missing_keys_and_ks_never_exceed_n(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text(MODELS + "n: 12\n")
    p = params.load_params("fig01_passk_math", f)
    assert p.temperature == 0.6 and p.top_p == 0.95 and p.backend == "vllm"
    assert p.ks_for("organism") == [1, 2, 4, 8, 12]
    assert p.models[0]["template"] == "qwen-boxed" and p.models[1]["tensor_parallel_size"] == 1
    assert p.base_of(p.models[1])["name"] == "b"


def test_notebook_params_reads_a_namespace():
    ns = {"models": [{"name": "b", "path": "x"}], "n": 4, "unrelated": object()}
    p = params.notebook_params("fig01_passk_math", ns)
    assert p.n == 4 and p.models[0]["role"] == "base"
    with pytest.raises(UserError, match="n must be an integer"):
        params.notebook_params("fig01_passk_math", {**ns, "n": 4.5})
    # A misspelt parameter injected by papermill is refused, not silently ignored.
    with pytest.raises(UserError, match="unknown parameter 'temprature' \\(did you mean 'temperature'\\?\\)"):
        params.notebook_params("fig01_passk_math", {**ns, "temprature": 1.5})
    import math
    params.notebook_params("fig01_passk_math", {**ns, "math": math, "In": [], "_oh": {}, "get_ipython": print})


def test_fig01_grader_list_and_maj_switch():
    from rlboundary.params import load_params, validate

    p = load_params("fig01_passk_math", "micro")
    assert p.graders == [] and p.maj is True
    q = validate("fig01_passk_math", {**p, "graders": ["math-verify", "math-equal"], "maj": False})
    assert q.graders == ["math-verify", "math-equal"] and q.maj is False
    with pytest.raises(UserError, match="graders"):
        validate("fig01_passk_math", {**p, "graders": "math-verify"})


# --- per-model settings ---------------------------------------------------------

def test_per_model_n_length_prompt_and_benchmarks(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text(textwrap.dedent("""\
        models:
          - {name: b, path: p, role: base, template: qwen-boxed}
          - {name: r, path: q, role: rl, n_per_benchmark: {aime24: 64}, max_tokens: 3072, max_model_len: 4096,
             benchmarks: [aime24], template_per_benchmark: {aime24: r1-zero}}
        benchmarks: [math500, aime24]
        n: 8
        n_per_benchmark: {aime24: 16}
        max_tokens: 16384
        max_model_len: 32768
        """))
    p = params.load_params("fig01_passk_math", f)
    base, rl = p.models
    assert (p.n_for("math500", base), p.n_for("aime24", base), p.n_for("aime24", rl)) == (8, 16, 64)
    assert (p.max_tokens_for(base), p.max_tokens_for(rl), p.max_tokens_for()) == (16384, 3072, 16384)
    assert (p.max_model_len_for(base), p.max_model_len_for(rl)) == (32768, 4096)
    assert (p.runs_on(base, "math500"), p.runs_on(rl, "math500"), p.runs_on(rl, "aime24")) == (True, False, True)
    assert (p.template_for(base, "aime24"), p.template_for(rl, "aime24")) == ("qwen-boxed", "r1-zero")
    assert p.ks_for("aime24", rl)[-1] == 64 and p.ks_for("aime24")[-1] == 16
    assert p.official_stops is False  # opt-in: runs of existing sets keep their keys


def test_model_settings_reach_sampling_and_the_plan(tmp_path):
    from rlboundary import cost, figures

    f = tmp_path / "p.yaml"
    f.write_text(textwrap.dedent("""\
        models:
          - {name: b, path: p, role: base, template: qwen-boxed}
          - {name: r, path: q, role: rl, template: qwen-boxed, n_per_benchmark: {aime24: 64}, max_tokens: 3072}
        benchmarks: [aime24, math500]
        n: 8
        max_tokens: 16384
        official_stops: true
        """))
    p = params.load_params("fig01_passk_math", f)
    base, rl = p.models
    s = figures.sampling_settings(p, "aime24", rl)
    assert (s.n, s.max_tokens) == (64, 3072)
    assert figures.sampling_settings(p, "aime24", base).max_tokens == 16384
    assert "user" in figures.model_stop(p, base)  # the official code's qwen-boxed stops
    runs = {(r.model["name"], r.benchmark): r for r in cost.plan_runs({"fig01_passk_math": p})}
    assert (runs["r", "aime24"].n, runs["r", "aime24"].max_tokens, runs["b", "aime24"].n) == (64, 3072, 8)
    assert "_start" in runs["b", "math500"].settings["stop"]


def test_paper_sets_use_the_papers_n_and_prompts():
    """Appendix A.2's n per benchmark, Figure 27's prompt for Figure 8, Figure 3's pair on LiveCodeBench."""
    fig01 = params.load_params("fig01_passk_math", "paper")
    llama = fig01.model("llama-3.1-8b")
    qwen = fig01.model("qwen2.5-7b")
    assert {b: fig01.n_for(b, qwen) for b in fig01.benchmarks} == {
        "aime24": 1024, "amc23": 1024, "math500": 128, "minerva_math": 128, "olympiadbench": 128, "gsm8k": 128}
    assert fig01.n_for("olympiadbench", llama) == 1024
    fig08 = params.load_params("fig08_rl_algorithms", "paper")
    assert {m["template"] for m in fig08.models} == {"r1-zero"}
    assert fig08.benchmarks == ["omni_math:train", "omni_math:test", "math500"]
    fig03 = params.load_params("fig03_passk_code", "paper")
    assert fig03.model("deepcoder-14b")["benchmarks"] == ["livecodebench"]
    assert fig03.max_tokens_for(fig03.model("deepcoder-14b")) == 32768
    assert fig03.template_for(fig03.model("code-r1-zero-qwen2.5-7b"), "mbpp_plus") == "code-r1-evalplus"
