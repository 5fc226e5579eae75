"""Parameter sets for the figure notebooks, validated on load.

Every notebook has a schema: typed fields with defaults. A notebook's
parameters are its schema's defaults overlaid with YAML files, in order:

    params/<set>/<notebook>.yaml   one file per notebook of a named set
                                   (default | paper | onegpu | micro, or any directory)
    FILE.yaml                      flat keys: a study-level file applied to
                                   every notebook (e.g. `n: 64`), or sections
                                   keyed by notebook name (and `study:` for all)

    from rlboundary.params import load_params
    p = load_params("fig01_passk_math", "default")          # Params (a dict)
    p = load_params("fig01_passk_math", "paper", "my.yaml")  # later files win

A notebook run by hand (JupyterLab, or `papermill -f FILE`) validates its own
`parameters` cell with `notebook_params(name, globals())`. An unknown key, a
wrong type or a value outside its choices is a one-line `UserError` naming the
key and the allowed keys or values; nothing runs on a bad parameter set.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from .errors import UserError
from .paths import PARAMS_DIR

# Model roles, one colour each in every figure (plots.ROLE_COLORS).
from .models import ROLES  # noqa: E402  one list of roles for params and model specs
# Prompt templates (prompts.TEMPLATES); a string containing {question} is a custom one.
TEMPLATES = ("qwen-boxed", "qwen25-math-cot", "chat", "chat-boxed", "raw", "code",
             # the paper's appendix E prompts (prompts.PAPER_TEMPLATES)
             "r1-zero", "r1-zero-code", "simplerl-simple", "code-r1-evalplus",
             "livecodebench", "livecodebench-lcb", "livecodebench-chat")
BACKENDS = ("vllm", "hf", "ray")
MATH_GRADERS = ("math-verify", "math-equal", "source")  # source: verdicts imported with a run
# The parameter sets that ship with the project (directories under params/).
NAMED_SETS = ("default", "paper", "onegpu", "micro")


@dataclass(frozen=True)
class Field:
    """One parameter: a type spec (see `_check`), a default, a help line."""

    name: str
    type: str
    default: Any
    help: str
    choices: tuple | None = None


# A model entry under `models:`. Mirrors models.ModelSpec plus two labels
# used only by figures (which RL algorithm, which training step).
MODEL_FIELDS = {
    f.name: f
    for f in [
        Field("name", "str", None, "short label used in run keys and plots (unique)"),
        Field("path", "str", None, "hub id, local dir, .gguf file, organism:<model> for the embedded organism, or run:<run dir or key> for an imported run"),
        Field("role", "str", "base", "which colour and which comparison the model takes part in", ROLES),
        Field("template", "str", "qwen-boxed", "prompt template", TEMPLATES),
        Field("dtype", "str", "auto", "weights dtype passed to the backend"),
        Field("max_model_len", "int?", None, "context length cap (vLLM)"),
        Field("stop", "list[str]", [], "extra stop strings"),
        Field("tokenizer", "str?", None, "tokenizer path (GGUF files)"),
        Field("tensor_parallel_size", "int", 1, "GPUs per model replica (a 32B needs 4 x 80 GB)"),
        Field("data_parallel_size", "int", 1, "model replicas"),
        Field("base", "str?", None, "the base model it is compared with (default: the nearest role-base model listed before it)"),
        Field("algorithm", "str?", None, "RL algorithm that trained it (Figure 8)"),
        Field("step", "int?", None, "training step of this checkpoint (Figure 8)"),
        Field("max_tokens", "int?", None, "longest response of this model (None: the study's max_tokens); must fit its max_model_len"),
        Field("n_per_benchmark", "dict[str,int]", {}, "per-benchmark n of this model, overriding the study's (paper: LLaMA on OlympiadBench 1024)"),
        Field("benchmarks", "list[str]?", None, "the study's benchmarks this model runs (None: all of them)"),
        Field("template_per_benchmark", "dict[str,str]", {}, "prompt template per benchmark, overriding `template` there"),
    ]
}
REQUIRED_MODEL_KEYS = ("name", "path")

# Fields every notebook has: what to sample, how, and how to summarise it.
STUDY_FIELDS = [
    Field("models", "list[model]", [], "models to compare (name, path, role, template, ...)"),
    Field("benchmarks", "list[str]", ["organism"], "benchmark names (benchmarks.get_benchmark)"),
    Field("data_dir", "str?", None, "local directory of benchmark jsonl files (offline runs)"),
    Field("limit", "int?", None, "problems per benchmark (None: all)"),
    Field("n", "int", 256, "samples per problem (the largest k)"),
    Field("n_per_benchmark", "dict[str,int]", {}, "per-benchmark n overriding `n` (the paper: 1024 on AIME24/AMC23)"),
    Field("ks", "list[int]?", None, "k values plotted (None: powers of two up to n)"),
    Field("headline_k", "int", 256, "the large k of the headline table (clipped to n)"),
    Field("temperature", "float", 0.6, "sampling temperature (paper: 0.6)"),
    Field("top_p", "float", 0.95, "nucleus sampling (paper: 0.95)"),
    Field("max_tokens", "int", 256, "longest response in tokens (a model's own max_tokens wins)"),
    Field("max_model_len", "int?", None, "context cap for every model without its own (the paper's code: 4096)"),
    Field("official_stops", "bool", False, "add the stop strings the paper's evaluation code adds for the template (prompts.OFFICIAL_CODE_STOP)"),
    Field("chunk_size", "int", 64, "samples per seeded work unit"),
    Field("seeds", "list[int]", [0], "sampling seeds; each seed is a separate run"),
    Field("backend", "str", "vllm", "sampling backend", BACKENDS),
    Field("math_grader", "str", "math-verify", "grader for math benchmarks", MATH_GRADERS),
    Field("organism_preset", "str", "default", "organism build preset (organism:<model> paths)"),
    Field("organism_seed", "int", 0, "organism build seed"),
    Field("bootstrap", "int", 1000, "bootstrap resamples for confidence intervals"),
    Field("ci_level", "float", 0.95, "confidence level of the bands"),
]

# Extra fields per notebook, on top of STUDY_FIELDS.
NOTEBOOK_FIELDS: dict[str, list[Field]] = {
    "fig01_passk_math": [
        Field("graders", "list[str]", [], "graders whose spread is drawn as a band (e.g. [math-verify, math-equal, source]); "
              "[] = math_grader alone. The first one draws the curves"),
        Field("maj", "bool", True, "also draw maj@k (majority vote over k samples' answers) as dashed lines"),
    ],
    "fig03_passk_code": [
        Field("code_timeout", "float", 10.0, "seconds per program against its tests"),
    ],
    "fig05_accuracy_and_coverage": [
        Field("base_model", "str?", None, "the base model's name (None: the first with role base)"),
        Field("rl_model", "str?", None, "the RL model's name (None: the first with role rl)"),
    ],
    "fig06_perplexity": [
        Field("scoring_model", "str?", None, "model whose log-probs score every response (None: the base)"),
        Field("rl_model", "str?", None, "the RL model whose own perplexity is also shown (None: first role rl)"),
        Field("responses_per_problem", "int", 8, "responses scored per model and problem"),
        Field("include_ground_truth", "bool", True, "also score the reference solution (where the benchmark has one)"),
        Field("copy_min_tokens", "int", 4, "the variant leaves out response tokens in runs of at least this many tokens copied from the prompt"),
    ],
    "fig07_distillation": [
        Field("distilled_models", "list[str]?", None, "the distilled models the claim is about (distilled from a "
              "stronger teacher); controls such as matched-reach distillation are shown but not judged "
              "(None: every model with role distilled)"),
    ],
    "fig08_rl_algorithms": [],
    "cot_validity": [
        Field("pass_rate_bins", "list[float]", [0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0], "edges of the per-problem pass-rate buckets"),
    ],
    "horizon": [
        Field("horizon_ks", "list[int]", [1, 8], "the k values whose horizon (50 % point) is fitted"),
        Field("horizon_chance", "float", 0.1, "chance of guessing an answer in one try: the fit's floor at k is "
              "1 - (1 - chance)^k (organism answers are one digit: 0.1; 0 for no floor)"),
    ],
    "organism_reach": [
        Field("organism_seeds", "list[int]", [0], "organism builds compared (CIs over seeds and problems)"),
        Field("frontier_panel", "int?", None, "more evaluation problems at each build's frontier level for the "
              "reach comparison (None: the preset's frontier_panel; 0: none)"),
        Field("confirmation_panel", "int", 0, "fresh evaluation problems at each build's frontier, every model on "
              "its own random stream, judged by the confirmation rule against the null controls (which join "
              "the models by themselves; 0: none)"),
        Field("confirmation_draws", "list[int]", [1], "which blocks of confirmation_panel problems are read, the "
              "first deciding and later ones replicating it (reach.replicated_claim; the README's study read "
              "draws 1 and 2)"),
        Field("sample_source", "str", "organism-eval", "where the main set's samples come from: organism-eval "
              "(sampled and cached by `organism eval`; any seeds, panels) or study (the run store the pass@k "
              "notebooks sample: one build seed, no panels, shared with them)", ("organism-eval", "study")),
    ],
    "atlas": [
        Field("organism_seeds", "list[int]", [0, 1], "build seeds: every arm is trained and evaluated once per seed"),
        Field("arms", "list[str]", [], "the atlas's arms by name (rlboundary.organism.atlas.ARMS)"),
        Field("confirmation_panel", "int", 0, "fresh evaluation problems at each unit's frontier: base, arm and "
              "the null control on their own random streams, judged by the atlas's confirmation rule "
              "(organism/atlas_confirm.py; 0: none)"),
        Field("confirmation_draw", "int", 1, "which block of confirmation_panel problems of the panel stream "
              "(the organism study used draws 1 and 2; the atlas's pre-registered draw is 3)"),
    ],
}
# The parameter set a notebook's own `parameters` cell mirrors (default: "default"): the whole atlas is
# its own set (params/atlas/); the default report runs a small one (params/default/atlas.yaml).
HOME_SETS = {"atlas": "atlas"}
# Notebooks that sample no `models:` of their own (the atlas trains and evaluates its arms itself).
NOTEBOOKS_WITHOUT_MODELS = ("atlas",)

NOTEBOOKS = tuple(NOTEBOOK_FIELDS)


def schema(notebook: str) -> dict[str, Field]:
    """The fields of `notebook`'s parameters, by name."""
    if notebook not in NOTEBOOK_FIELDS:
        raise UserError(f"unknown notebook '{notebook}'.", f"use one of: {', '.join(NOTEBOOKS)}.")
    return {f.name: f for f in STUDY_FIELDS + NOTEBOOK_FIELDS[notebook]}


class Params(dict):
    """Validated parameters: a plain dict (papermill injects it as is) that
    also reads as attributes, `p.n`, in notebooks."""

    def __getattr__(self, key):
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None

    def model(self, name: str) -> dict:
        for m in self["models"]:
            if m["name"] == name:
                return m
        raise UserError(f"no model named '{name}'.", f"use one of: {', '.join(m['name'] for m in self['models'])}.")

    def models_with_role(self, role: str) -> list[dict]:
        return [m for m in self["models"] if m["role"] == role]

    def base_of(self, model: dict) -> dict:
        """The base model `model` is compared with: its `base:` key, else the
        nearest model with role base listed before it (else the first base)."""
        if model.get("base"):
            return self.model(model["base"])
        bases = self.models_with_role("base")
        if not bases:
            raise UserError(f"no model with role base to compare '{model['name']}' with.",
                            "add a model with `role: base`.")
        before = [m for m in self["models"][: self["models"].index(model)] if m["role"] == "base"]
        return before[-1] if before else bases[0]

    def n_for(self, benchmark: str, model: dict | None = None) -> int:
        """Samples per problem: the model's own n for this benchmark, else the study's."""
        if model is not None and benchmark in model.get("n_per_benchmark", {}):
            return model["n_per_benchmark"][benchmark]
        return self["n_per_benchmark"].get(benchmark, self["n"])

    def runs_on(self, model: dict, benchmark: str) -> bool:
        """Whether `model` samples `benchmark` (its own `benchmarks:` list, else every one)."""
        return model.get("benchmarks") is None or benchmark in model["benchmarks"]

    def template_for(self, model: dict, benchmark: str) -> str:
        return model.get("template_per_benchmark", {}).get(benchmark, model["template"])

    def max_tokens_for(self, model: dict | None = None) -> int:
        """Longest response: the model's own max_tokens, else the study's."""
        if model is not None and model.get("max_tokens") is not None:
            return model["max_tokens"]
        return self["max_tokens"]

    def max_model_len_for(self, model: dict) -> int | None:
        """Context cap: the model's own, else the study-level one (None: the model's config)."""
        return model["max_model_len"] if model["max_model_len"] is not None else self.get("max_model_len")

    def ks_for(self, benchmark: str, model: dict | None = None) -> list[int]:
        """The k values plotted for `benchmark`: never above its n (never extrapolated)."""
        n = self.n_for(benchmark, model)
        ks = self["ks"] if self["ks"] is not None else powers_of_two(n)
        return [k for k in ks if k <= n]


def powers_of_two(n: int) -> list[int]:
    """1, 2, 4, ... up to n, plus n itself when n is not a power of two."""
    ks = [1 << i for i in range(n.bit_length()) if (1 << i) <= n]
    return ks if ks[-1] == n else ks + [n]


# --- type checking -----------------------------------------------------------

def _type_name(value) -> str:
    return "null" if value is None else type(value).__name__


def _check(where: str, value, spec: str):
    """Return `value` if it matches the type spec, else raise a UserError.

    Specs: int, float, str, bool, model, list[<spec>], dict[str,int], and a
    trailing `?` for "or null"."""
    if spec.endswith("?"):
        return None if value is None else _check(where, value, spec[:-1])
    bad = UserError(f"{where} must be {_describe(spec)}, got {_type_name(value)} {value!r}.",
                    f"write {where.split('.')[-1]} as {_describe(spec)}.")
    if spec == "int":
        # bool is an int in Python; a YAML `true` for n is a mistake.
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad
        return value
    if spec == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad
        return float(value)
    if spec == "str":
        if not isinstance(value, str):
            raise bad
        return value
    if spec == "bool":
        if not isinstance(value, bool):
            raise bad
        return value
    if spec == "model":
        return _check_model(where, value)
    if spec.startswith("list[") and spec.endswith("]"):
        if not isinstance(value, list):
            raise bad
        inner = spec[5:-1]
        return [_check(f"{where}[{i}]", v, inner) for i, v in enumerate(value)]
    if spec.startswith("dict[str,") and spec.endswith("]"):
        if not isinstance(value, dict):
            raise bad
        inner = spec[9:-1]
        return {_check(f"{where} key", k, "str"): _check(f"{where}.{k}", v, inner) for k, v in value.items()}
    raise AssertionError(f"unknown type spec {spec!r}")  # a bug in a schema, not user input


def _describe(spec: str) -> str:
    if spec.endswith("?"):
        return f"{_describe(spec[:-1])} or null"
    names = {"int": "an integer", "float": "a number", "str": "a string", "bool": "true or false",
             "model": "a model mapping (name, path, role, ...)"}
    if spec in names:
        return names[spec]
    if spec.startswith("list["):
        return f"a list of {_describe(spec[5:-1]).replace('an ', '').replace('a ', '')}s"
    if spec.startswith("dict[str,"):
        return f"a mapping of names to {_describe(spec[9:-1]).replace('an ', '').replace('a ', '')}s"
    return spec


def _check_choices(where: str, value, choices):
    if choices is not None and value not in choices:
        raise UserError(f"{where}={value!r} is not allowed.", f"use one of: {', '.join(map(str, choices))}.")


def _check_model(where: str, value) -> dict:
    if not isinstance(value, dict):
        raise UserError(f"{where} must be a model mapping, got {_type_name(value)} {value!r}.",
                        f"write it as {{name: ..., path: ..., role: ...}}; keys: {', '.join(MODEL_FIELDS)}.")
    unknown = [k for k in value if k not in MODEL_FIELDS]
    if unknown:
        raise UserError(f"{where}: unknown key '{unknown[0]}'.", f"allowed keys: {', '.join(MODEL_FIELDS)}.")
    missing = [k for k in REQUIRED_MODEL_KEYS if k not in value]
    if missing:
        raise UserError(f"{where}: missing key '{missing[0]}'.", f"every model needs {' and '.join(REQUIRED_MODEL_KEYS)}.")
    out = {}
    for name, f in MODEL_FIELDS.items():
        v = _check(f"{where}.{name}", value[name], f.type) if name in value else copy.deepcopy(f.default)
        if not (name == "template" and "{question}" in v):
            _check_choices(f"{where}.{name}", v, f.choices)
        out[name] = v
    if out["tensor_parallel_size"] < 1 or out["data_parallel_size"] < 1:
        raise UserError(f"{where}: parallel sizes must be >= 1.", "use tensor_parallel_size/data_parallel_size >= 1.")
    return out


# --- validation --------------------------------------------------------------

def validate(notebook: str, values: Mapping[str, Any], source: str = "parameters") -> Params:
    """Defaults of `notebook`'s schema overlaid with `values`, type-checked.

    `source` names where the values came from, for the error message."""
    fields = schema(notebook)
    if not isinstance(values, Mapping):
        raise UserError(f"{notebook} ({source}): parameters must be a mapping of key: value, got {_type_name(values)}.",
                        "write one `key: value` per line.")
    for key in values:
        if key not in fields:
            raise UserError(f"{notebook} ({source}): unknown key '{key}'.", f"allowed keys: {', '.join(sorted(fields))}.")
    out = Params()
    for name, f in fields.items():
        where = f"{notebook} ({source}): {name}"
        v = _check(where, values[name], f.type) if name in values else copy.deepcopy(f.default)
        _check_choices(where, v, f.choices)
        out[name] = v
    _check_consistency(notebook, source, out)
    return out


def _check_names(at: str, p: Params) -> None:
    """Names that otherwise fail only inside a notebook, after the ones before it have run:
    benchmarks, the organism preset, graders."""
    from .benchmarks import is_known_benchmark, list_benchmarks
    from .organism.presets import PRESETS

    for b in p["benchmarks"]:
        if not is_known_benchmark(b):
            raise UserError(f"{at} unknown benchmark {b!r}.", f"use one of: {', '.join(list_benchmarks())} "
                            "(or import it first: rlboundary import).")
    from .models import DTYPES

    for m in p["models"]:
        if m.get("dtype", "auto") not in DTYPES:
            raise UserError(f"{at} model '{m['name']}' has dtype={m['dtype']!r}.", f"use one of: {', '.join(DTYPES)}.")
    preset = p.get("organism_preset")
    if preset is not None and preset not in PRESETS:
        raise UserError(f"{at} organism_preset={preset!r} is not a preset.", f"use one of: {', '.join(PRESETS)}.")
    if p.get("graders"):
        from .verify.grading import _GRADERS, _load_plugins

        _load_plugins()
        known = set(_GRADERS) | {"source"}  # "source": the grades an imported run came with
        bad = [g for g in p["graders"] if g not in known]
        if bad:
            raise UserError(f"{at} graders names {bad[0]!r}, which is not a grader.",
                            f"use some of: {', '.join(sorted(known))}.")


def _check_consistency(notebook: str, source: str, p: Params) -> None:
    """Checks across fields: things a type alone cannot say."""
    at = f"{notebook} ({source}):"
    if not p["models"] and notebook not in NOTEBOOKS_WITHOUT_MODELS:
        raise UserError(f"{at} no models.", "list at least one model under `models:`.")
    if notebook == "atlas":
        _check_atlas(at, p)
    names = [m["name"] for m in p["models"]]
    dup = sorted({x for x in names if names.count(x) > 1})
    if dup:
        raise UserError(f"{at} model name '{dup[0]}' is used twice.", "give every model a unique name.")
    if not p["benchmarks"]:
        raise UserError(f"{at} no benchmarks.", "list at least one benchmark under `benchmarks:`.")
    _check_names(at, p)
    positive = {"n": p["n"], "headline_k": p["headline_k"], "chunk_size": p["chunk_size"], "bootstrap": p["bootstrap"]}
    if p["limit"] is not None:
        positive["limit"] = p["limit"]
    for key, v in positive.items():
        if v < 1:
            raise UserError(f"{at} {key}={v} must be >= 1.", f"set {key} to a positive integer.")
    for bench, n in p["n_per_benchmark"].items():
        if bench not in p["benchmarks"]:
            raise UserError(f"{at} n_per_benchmark names '{bench}', which is not in benchmarks.",
                            f"use one of: {', '.join(p['benchmarks'])}.")
        if n < 1:
            raise UserError(f"{at} n_per_benchmark.{bench}={n} must be >= 1.", "set a positive n.")
    for m in p["models"]:
        where = f"{at} model '{m['name']}':"
        named = [*m["n_per_benchmark"], *(m["benchmarks"] or []), *m["template_per_benchmark"]]
        for bench in named:
            if bench not in p["benchmarks"]:
                raise UserError(f"{where} names benchmark '{bench}', which is not in benchmarks.",
                                f"use one of: {', '.join(p['benchmarks'])}.")
        for bench, template in m["template_per_benchmark"].items():
            if "{question}" not in template:
                _check_choices(f"{where} template_per_benchmark.{bench}", template, TEMPLATES)
        for bench, n in m["n_per_benchmark"].items():
            if n < 1:
                raise UserError(f"{where} n_per_benchmark.{bench}={n} must be >= 1.", "set a positive n.")
        max_tokens, context = p.max_tokens_for(m), p.max_model_len_for(m)
        if max_tokens < 1:
            raise UserError(f"{where} max_tokens={max_tokens} must be >= 1.", "set a positive max_tokens.")
        if context is not None and max_tokens >= context:
            # The prompt shares the context with the response: a response as
            # long as the whole context can never be generated.
            raise UserError(f"{where} max_tokens={max_tokens} does not fit its context max_model_len={context}.",
                            "lower max_tokens below max_model_len (leave room for the prompt) or raise max_model_len.")
    if p["ks"] is not None:
        largest_n = max(p.n_for(b, m) for b in p["benchmarks"] for m in p["models"])
        bad = [k for k in p["ks"] if k < 1 or k > largest_n]
        if bad:
            raise UserError(f"{at} ks contains {bad[0]}, outside 1..n={largest_n}.",
                            "pass@k is left out for k > n (never extrapolated): drop it or raise n.")
    if not 0 <= p["temperature"]:
        raise UserError(f"{at} temperature={p['temperature']} is negative.", "use temperature >= 0 (paper: 0.6).")
    if p["temperature"] > 2:  # almost uniform sampling: a typo for 0.6 more likely than a study
        raise UserError(f"{at} temperature={p['temperature']} is above 2.", "use 0.6 (the paper's) or up to 2.")
    if not 0 < p["top_p"] <= 1:
        raise UserError(f"{at} top_p={p['top_p']} is outside (0, 1].", "use 0 < top_p <= 1 (paper: 0.95).")
    if not 0 < p["ci_level"] < 1:
        raise UserError(f"{at} ci_level={p['ci_level']} is outside (0, 1).", "use e.g. 0.95.")
    if not p["seeds"]:
        raise UserError(f"{at} no seeds.", "list at least one seed, e.g. seeds: [0].")
    # A repeated seed would pool copies of the same samples as if they were new ones (a biased pass@k).
    if len(set(p["seeds"])) != len(p["seeds"]) or any(s < 0 for s in p["seeds"]):
        raise UserError(f"{at} seeds={list(p['seeds'])} must be distinct non-negative integers "
                        "(a repeated seed re-reads the same samples).", "list each seed once, e.g. seeds: [0, 1].")
    for m in p["models"]:
        if m["base"] is not None and m["base"] not in names:
            raise UserError(f"{at} model '{m['name']}' has base='{m['base']}', which is not one of the models.",
                            f"use one of: {', '.join(names)}.")
    for name in p.get("distilled_models") or []:
        if name not in names or p.model(name)["role"] != "distilled":
            raise UserError(f"{at} distilled_models names '{name}', which is not a model with role distilled.",
                            f"use one of: {', '.join(m['name'] for m in p.models_with_role('distilled')) or '(none)'}.")
    for key in ("base_model", "rl_model", "scoring_model"):
        if p.get(key) is not None and p[key] not in names:
            raise UserError(f"{at} {key}='{p[key]}' is not one of the models.", f"use one of: {', '.join(names)}.")
    if not 0 <= p.get("horizon_chance", 0.0) < 1:
        raise UserError(f"{at} horizon_chance={p['horizon_chance']} is outside [0, 1).",
                        "use the chance of guessing the answer in one try, e.g. 0.1 for one digit.")
    for k in p.get("horizon_ks", []):
        if not 1 <= k <= p["n"]:
            raise UserError(f"{at} horizon_ks contains {k}, outside 1..n={p['n']}.", "use k values up to n.")
    edges = p.get("pass_rate_bins")
    if edges is not None and (len(edges) < 2 or edges != sorted(edges) or edges[0] < 0 or edges[-1] > 1):
        raise UserError(f"{at} pass_rate_bins={edges} must be increasing edges within [0, 1].",
                        "e.g. [0.0, 0.1, 0.5, 1.0].")
    if (p.get("frontier_panel") or 0) < 0:
        raise UserError(f"{at} frontier_panel={p['frontier_panel']} is negative.",
                        "use 0 (no frontier panel), a count such as 32, or leave it out (the preset's).")
    if (p.get("confirmation_panel") or 0) < 0:
        raise UserError(f"{at} confirmation_panel={p['confirmation_panel']} is negative.",
                        "use 0 (no confirmation panel) or a count such as 32.")
    draws = p.get("confirmation_draws")
    if draws is not None and (not draws or min(draws) < 1 or len(set(draws)) != len(draws)):
        raise UserError(f"{at} confirmation_draws={draws} must be distinct draw numbers >= 1, the deciding one first.",
                        "e.g. [1] (the first draw), or [1, 2] (draw 2 replicates draw 1).")


def _check_atlas(at: str, p: Params) -> None:
    from .organism.atlas import ARMS
    from .organism.presets import PRESETS

    if not p["arms"]:
        raise UserError(f"{at} no arms.", f"list arms by name, from: {', '.join(ARMS)}.")
    for name in p["arms"]:
        if name not in ARMS:
            raise UserError(f"{at} arms names '{name}', which is not an atlas arm.", f"use one of: {', '.join(ARMS)}.")
    if len(set(p["arms"])) != len(p["arms"]):
        raise UserError(f"{at} an arm is listed twice.", "list every arm once.")
    if p["organism_preset"] not in PRESETS:
        raise UserError(f"{at} organism_preset={p['organism_preset']!r} is not a preset.",
                        f"use one of: {', '.join(PRESETS)}.")
    if p.get("confirmation_draw", 1) < 1:
        raise UserError(f"{at} confirmation_draw={p['confirmation_draw']} is not a draw number.",
                        "use 1 (the panel stream's first block of fresh problems), 2, 3, ...")
    seeds = p["organism_seeds"]
    if not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
        raise UserError(f"{at} organism_seeds={seeds} must be distinct non-negative integers.", "e.g. [0, 1].")


# --- loading -----------------------------------------------------------------

def _unique_key_loader():
    """PyYAML's safe loader, refusing a key given twice in one mapping (plain PyYAML keeps the
    last silently, so a study would run with a value its author may have meant to replace)."""
    import yaml

    class UniqueKeyLoader(yaml.SafeLoader):
        def construct_mapping(self, node, deep=False):
            seen = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                if key in seen:
                    raise yaml.constructor.ConstructorError(None, None, f"the key '{key}' is given twice",
                                                            key_node.start_mark)
                seen.add(key)
            return super().construct_mapping(node, deep=deep)

    return UniqueKeyLoader


def _read_yaml(path: Path):
    import yaml

    try:
        text = path.read_text()
    except OSError as err:
        raise UserError(f"cannot read parameter file {path}: {err.strerror}.", "check the path.") from None
    try:
        data = yaml.load(text, Loader=_unique_key_loader())
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        raise UserError(f"{path} is not valid YAML{line}: {getattr(err, 'problem', err)}.",
                        "fix the YAML syntax (indentation, colons, quotes).") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError(f"{path}: the top level must be a mapping of key: value, got {_type_name(data)}.",
                        "write one `key: value` per line.")
    return data


def resolve_source(source: str | Path) -> Path:
    """A named set (default|paper|micro), a directory, or a YAML file."""
    s = str(source)
    if s in NAMED_SETS or (not s.endswith((".yaml", ".yml")) and (PARAMS_DIR / s).is_dir()):
        return PARAMS_DIR / s
    path = Path(s).expanduser()
    if not path.exists():
        raise UserError(f"parameter set '{s}' not found (not a named set, directory or file).",
                        f"use one of {', '.join(NAMED_SETS)}, a directory of <notebook>.yaml files, or a YAML file.")
    return path


def layer_for(notebook: str, source: str | Path) -> tuple[dict, str]:
    """The values one source contributes to `notebook`, and a label for errors.

    A directory contributes `<dir>/<notebook>.yaml` (which must exist). A file
    is either flat (study level: applies to every notebook) or sectioned by
    notebook name, with an optional `study:` section applied to every notebook."""
    path = resolve_source(source)
    if path.is_dir():
        f = path / f"{notebook}.yaml"
        if not f.exists():
            raise UserError(f"parameter set {path} has no {notebook}.yaml.",
                            f"add {f}, or run only the notebooks it has with --only.")
        return _read_yaml(f), _short(f)
    data = _read_yaml(path)
    sections = set(NOTEBOOKS) | {"study"}
    keys = set(data)
    if keys and keys <= sections:
        merged = dict(data.get("study") or {})
        merged.update(data.get(notebook) or {})
        for name in keys:
            if not isinstance(data[name], (dict, type(None))):
                raise UserError(f"{path}: section '{name}' must be a mapping.", "indent its keys under it.")
        return merged, _short(path)
    if keys & sections:
        mixed = sorted(keys & sections)[0]
        raise UserError(f"{path} mixes notebook sections ('{mixed}') with top-level keys.",
                        "put shared keys under a `study:` section.")
    return data, _short(path)


def _short(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(PARAMS_DIR.parent))
    except ValueError:
        return str(path)


def load_params(notebook: str, *sources: str | Path) -> Params:
    """Validated parameters of `notebook`: schema defaults, then each source in order."""
    schema(notebook)  # an unknown notebook is named before any file is read
    values: dict = {}
    labels = []
    for source in sources or ("default",):
        layer, label = layer_for(notebook, source)
        values.update(layer)
        labels.append(label)
    return validate(notebook, values, source=" + ".join(labels))


def notebook_params(notebook: str, namespace: Mapping[str, Any]) -> Params:
    """Validate a notebook's own `parameters` cell: the schema's names are
    taken from `namespace` (pass `globals()`), missing ones keep defaults."""
    fields = schema(notebook)
    # A misspelt parameter (`papermill -p temprature 1.5`) arrives as a plain global the schema does not
    # know; left alone it would be ignored and the notebook run with the default. Imports (modules,
    # functions, classes) and IPython's own names (`In`, `Out`, `_`...) are not parameters.
    plain = (bool, int, float, str, list, dict, tuple, type(None))
    unknown = sorted(k for k, v in namespace.items() if not k.startswith("_") and k not in fields
                     and k not in ("In", "Out") and isinstance(v, plain))
    if unknown:
        import difflib

        close = difflib.get_close_matches(unknown[0], list(fields), n=1)
        raise UserError(f"{notebook}: unknown parameter {unknown[0]!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
                        + ".", f"use the notebook's parameters: {', '.join(fields)}.")
    values = {k: namespace[k] for k in fields if k in namespace}
    return validate(notebook, values, source="notebook parameters")


def describe_schema(notebook: str) -> str:
    """A readable list of the notebook's parameters (for --help and docs)."""
    return "\n".join(f"{f.name}: {f.type} = {f.default!r}  # {f.help}" for f in schema(notebook).values())


def all_notebooks(only: Iterable[str] | None = None) -> list[str]:
    """The notebooks to run, in report order, restricted to `only`."""
    if not only:
        return list(NOTEBOOKS)
    chosen = list(only)
    for name in chosen:
        schema(name)  # raises a UserError naming the allowed notebooks
    return [n for n in NOTEBOOKS if n in chosen]
