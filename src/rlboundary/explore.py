"""The per-problem explorer: which problems each model solves, and the samples behind it.

The curves say how many problems a model solves; this module says which ones,
and shows the responses. In JupyterLab (or any Python):

    from rlboundary import explore
    table = explore.problems("micro")        # fig05's parameter set (name or YAML), a Params, or run directories
    explore.samples(table["problem_id"][0], "rl-grpo")   # that problem's samples, graded, with their texts
    explore.case_studies("micro")            # base-only problems: the base's correct sample vs RL's most common answer

`problems()` goes through the same stages as the figure notebooks (sample and
grade only what is not stored yet), so after the report it only reads
Parquet. `samples()` and `case_studies()` without a source use the study
`problems()` loaded last. `problems_page.write_problems_page` renders the same
study as the static page outputs/report/problems.html.

What the table holds, one row per (benchmark, problem):
- level, subject, gold answer, question;
- per model: n, c, pass rate c/n, pass@k at the headline k (Chen et al.'s
  unbiased estimator, k = min(headline_k, n)), and for the organism the
  valid share: correct samples whose every step is valid / correct samples;
- coverage: both / base only / RL only / neither, exactly fig05's table
  (`metrics.coverage_sets`: solved = at least one correct sample of n).
A sample's answer is what its grader extracted (the organism: the boxed
value); `verdict:<grader id>` columns hold the verdict of every grader whose
verdicts are stored for the run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import pandas as pd

from .errors import UserError

FIG05 = "fig05_accuracy_and_coverage"
COVERAGE_LABELS = {"both": "both", "base_only": "base only", "rl_only": "RL only", "neither": "neither"}
NO_ANSWER = "(no answer)"
VERDICT_PREFIX = "verdict:"
DEFAULT_CASES = 3

CASE_STUDY_RULE = (
    "Base-only problems (the base model solves them at least once in its n samples, the RL model never), "
    "the ones the base model solves most often first (ties: benchmark, then problem id); the first {count} are shown. "
    "For each, the base model's correct sample is its first by sample index, taking one whose every step is valid "
    "first where steps are checked (the organism), and the RL model's most common answer is the answer most of its "
    "samples gave (ties: the one given first), shown with the first sample that gave it.")


@dataclass(eq=False)
class ProblemStudy:
    """A study seen problem by problem (what `problems()` loads)."""

    table: pd.DataFrame  # one row per (benchmark, problem); see the module docstring
    samples: pd.DataFrame  # one row per sample, no text: model, benchmark, seed, problem_id, sample_idx, extracted,
    #                        answer, verdict, correct, [trace_valid, first_invalid_step], verdict:<grader>...
    models: list[str]
    roles: dict[str, str]
    base: str | None
    rl: str | None
    problems: dict[tuple[str, str], object]  # (benchmark, problem_id) -> benchmarks.Problem
    kinds: dict[str, str]  # benchmark -> math | code | organism
    texts: Callable[[pd.DataFrame], list[str]]  # rows (model, benchmark, problem_id, sample_idx) -> their texts
    description: str = ""

    @property
    def graders(self) -> list[str]:
        return [c[len(VERDICT_PREFIX):] for c in self.samples.columns if c.startswith(VERDICT_PREFIX)]


_last: ProblemStudy | None = None  # the study `problems()` loaded last (for samples() in a notebook)


# --- public API ------------------------------------------------------------------

def problems(source, base: str | None = None, rl: str | None = None) -> pd.DataFrame:
    """One row per problem: pass rates, pass@k, coverage set (see the module docstring).

    `source`: a fig05 parameter set (`"micro"`, `"default"`, `"paper"` or a
    YAML path), a `Params`, one run directory or a list of them (the base model
    is `base`, else the first run's model; the RL model `rl`, else the next
    model), or a loaded `ProblemStudy`."""
    global _last
    _last = load(source, base=base, rl=rl)
    return _last.table.copy()


def samples(problem_id: str, model: str, benchmark: str | None = None, source=None) -> pd.DataFrame:
    """Every sample of one model on one problem, with its text, answer, how many
    samples gave that answer, and the verdict of every grader; sorted by sample index."""
    study = _study(source)
    if model not in study.roles:
        raise UserError(f"no model '{model}' in this study.", f"use one of: {', '.join(study.models)}.")
    rows = study.samples[(study.samples["problem_id"] == str(problem_id)) & (study.samples["model"] == model)]
    benches = sorted(rows["benchmark"].unique())
    if not benches:
        known = study.table["problem_id"].astype(str)
        hint = "see explore.problems() for the problem ids" if str(problem_id) not in set(known) else \
            f"model '{model}' has no samples of it"
        raise UserError(f"no samples of problem '{problem_id}' by '{model}'.", hint + ".")
    if benchmark is None and len(benches) > 1:
        raise UserError(f"problem id '{problem_id}' is in several benchmarks ({', '.join(benches)}).",
                        "pass benchmark=<one of them>.")
    if benchmark is not None:
        rows = rows[rows["benchmark"] == benchmark]
    rows = with_answer_counts(rows).sort_values("sample_idx").reset_index(drop=True)
    rows.insert(rows.columns.get_loc("sample_idx") + 1, "text", study.texts(rows))
    return rows


@dataclass
class CaseStudies:
    """Computed case studies (never hand-picked); shows as HTML in a notebook."""

    table: pd.DataFrame
    rule: str
    base: str | None = None
    rl: str | None = None

    def _repr_html_(self) -> str:
        from .problems_page import case_studies_html

        return case_studies_html(self)

    def __repr__(self) -> str:
        return f"CaseStudies({len(self.table)} base-only problems of {self.base} vs {self.rl}; .table, .rule)"


def case_studies(source=None, count: int = DEFAULT_CASES) -> CaseStudies:
    """The paper's appendix figure, computed: for up to `count` base-only
    problems, the base model's correct sample beside the RL model's most
    common answer. The rule is `CASE_STUDY_RULE` (also in `.rule`)."""
    study = _study(source)
    rule = CASE_STUDY_RULE.format(count=count)
    columns = ["benchmark", "problem_id", "level", "gold", "question", "base_c", "base_n", "rl_n", "base_sample",
               "rl_sample"]
    if study.base is None or study.rl is None:
        raise UserError("case studies compare a base and an RL model; this study has no such pair.",
                        "load a study with a model of role base and one of role rl (or pass base=, rl=).")
    t = study.table
    chosen = t[t["coverage"] == COVERAGE_LABELS["base_only"]]
    chosen = chosen.sort_values([f"{study.base} c", "benchmark", "problem_id"], ascending=[False, True, True],
                                kind="stable").head(count)
    if chosen.empty:
        return CaseStudies(pd.DataFrame(columns=columns), rule, study.base, study.rl)
    keys = set(zip(chosen["benchmark"], chosen["problem_id"]))
    s = study.samples
    s = s[s["problem_id"].isin(chosen["problem_id"]).to_numpy()]  # vectorised first, then exact pairs
    mine = s[[k in keys for k in zip(s["benchmark"], s["problem_id"])]]
    base_pick = ordered_correct(mine[mine["model"] == study.base]).groupby(["benchmark", "problem_id"], observed=True).head(1)
    rl_pick = answer_groups(mine[mine["model"] == study.rl]).groupby(["benchmark", "problem_id"], observed=True).head(1)
    picks = pd.concat([base_pick, rl_pick], ignore_index=True)
    picks["text"] = study.texts(picks)
    detail = {(r["model"], r["benchmark"], r["problem_id"]): sample_record(study, r) for r in picks.to_dict("records")}
    rows = []
    for r in chosen.to_dict("records"):
        key = (r["benchmark"], r["problem_id"])
        rows.append({"benchmark": r["benchmark"], "problem_id": r["problem_id"], "level": r["level"],
                     "gold": r["gold"], "question": r["question"], "base_c": r[f"{study.base} c"],
                     "base_n": r[f"{study.base} n"], "rl_n": r[f"{study.rl} n"],
                     "base_sample": detail[(study.base, *key)], "rl_sample": detail[(study.rl, *key)]})
    return CaseStudies(pd.DataFrame(rows, columns=columns), rule, study.base, study.rl)


# --- choosing which samples to show -------------------------------------------------

GROUP = ["model", "benchmark", "problem_id"]


def with_answer_counts(rows: pd.DataFrame) -> pd.DataFrame:
    """`rows` plus answer_count: how many samples of the same model and problem gave the same answer."""
    key = rows["answer"].fillna(NO_ANSWER)
    counts = rows.assign(_answer=key).groupby(GROUP + ["_answer"], sort=False, observed=True)["sample_idx"].transform("size")
    return rows.assign(answer_count=counts.astype(np.int64))


def ordered_correct(rows: pd.DataFrame) -> pd.DataFrame:
    """Correct samples in the order they are shown: alternating a sample with a
    fully valid trace and one without where steps are checked (so a lucky
    guess shows next to real reasoning), distinct responses before repeats
    (the organism's extracted key is its whole trace), then by sample index."""
    c = with_answer_counts(rows[rows["correct"]])
    valid = c["trace_valid"].fillna(False).astype(bool) if "trace_valid" in c else pd.Series(True, index=c.index)
    repeat = c.sort_values("sample_idx").duplicated(GROUP + ["extracted"]).reindex(c.index)
    c = c.assign(_invalid=~valid, _repeat=repeat).sort_values(GROUP + ["_repeat", "sample_idx"], kind="stable")
    c["_rank"] = c.groupby(GROUP + ["_invalid"], sort=False, observed=True).cumcount()
    c = c.sort_values(GROUP + ["_rank", "_invalid"], kind="stable")
    return c.drop(columns=["_invalid", "_repeat", "_rank"])


def answer_groups(rows: pd.DataFrame) -> pd.DataFrame:
    """One sample per distinct answer (the first that gave it), most common answers first."""
    g = with_answer_counts(rows).sort_values("sample_idx", kind="stable")
    g = g.drop_duplicates(GROUP + ["answer"])
    return g.sort_values(GROUP + ["answer_count", "sample_idx"], ascending=[True, True, True, False, True],
                         kind="stable")


def pick_samples(rows: pd.DataFrame, per_model: int) -> pd.DataFrame:
    """At most `per_model` samples per (model, problem): correct ones first
    (`ordered_correct`), then the most common wrong answers (`answer_groups`).
    Half the slots (rounded up) go to correct samples; slots one kind cannot
    fill go to the other."""
    correct = ordered_correct(rows)
    wrong = answer_groups(rows[~rows["correct"]])
    n_correct = correct.groupby(GROUP, sort=False, observed=True).size().rename("nc")
    n_wrong = wrong.groupby(GROUP, sort=False, observed=True).size().rename("nw")
    avail = pd.concat([n_correct, n_wrong], axis=1).fillna(0).astype(int)
    take_c = np.minimum(avail["nc"], np.maximum(math.ceil(per_model / 2), per_model - avail["nw"]))
    take_w = np.minimum(avail["nw"], per_model - take_c)
    correct = correct.assign(_rank=correct.groupby(GROUP, sort=False, observed=True).cumcount())
    wrong = wrong.assign(_rank=wrong.groupby(GROUP, sort=False, observed=True).cumcount())
    correct = correct[correct["_rank"].to_numpy() < take_c.reindex(pd.MultiIndex.from_frame(correct[GROUP])).to_numpy()]
    wrong = wrong[wrong["_rank"].to_numpy() < take_w.reindex(pd.MultiIndex.from_frame(wrong[GROUP])).to_numpy()]
    return pd.concat([correct, wrong], ignore_index=True).drop(columns="_rank")


# --- one sample, as shown ----------------------------------------------------------

def invalid_step_span(problem, text: str, first_invalid_step) -> tuple[int, int, str] | None:
    """(start, end, reason) of the organism's first invalid step in `text`, or None.

    The step list comes from the organism's own checker, so the span is the
    step its verdict counted; when every written step is valid but the trace is
    incomplete or its answer disagrees (first_invalid_step = number of steps),
    the span is the boxed answer (or the end of the text)."""
    if first_invalid_step is None or pd.isna(first_invalid_step) or int(first_invalid_step) < 0:
        return None
    from .organism.benchmark import lock_problem
    from .organism.task import check_trace

    check = check_trace(lock_problem(problem), text)
    pos, spans = 0, []
    for step in check.steps:
        start = text.find(step, pos)
        if start < 0:
            break
        spans.append((start, start + len(step)))
        pos = start + len(step)
    i = int(first_invalid_step)
    if i < len(spans):
        return (*spans[i], check.reason)
    boxed = text.rfind("\\boxed{")
    start = boxed if boxed >= 0 else len(text)
    end = text.find("}", start)
    return start, (end + 1 if end >= 0 else len(text)), check.reason or "the trace does not end in its last value"


def sample_record(study: ProblemStudy, row: dict) -> dict:
    """What the page and the case studies show of one sample (`row` has a text)."""
    problem = study.problems[(row["benchmark"], row["problem_id"])]
    organism = study.kinds[row["benchmark"]] == "organism"
    valid = row.get("trace_valid") if organism else None
    span = invalid_step_span(problem, row["text"], row.get("first_invalid_step")) if organism else None
    return {
        "model": row["model"], "sample_idx": int(row["sample_idx"]), "answer": _clean(row.get("answer")),
        "answer_count": int(row["answer_count"]), "correct": bool(row["correct"]),
        "verdicts": {g: _clean(row.get(VERDICT_PREFIX + g)) for g in study.graders},
        "trace_valid": None if valid is None or pd.isna(valid) else bool(valid),
        "invalid_span": None if span is None else [span[0], span[1]],
        "invalid_reason": "" if span is None else span[2],
        "text": row["text"],
    }


def _clean(value):
    return None if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)) else value


# --- loading ---------------------------------------------------------------------

def _study(source) -> ProblemStudy:
    if source is None:
        if _last is None:
            raise UserError("no study loaded yet.", "call explore.problems(<params or runs>) first, or pass source=.")
        return _last
    return load(source)


def _is_run_dir(value) -> bool:
    return isinstance(value, (str, Path)) and (Path(value) / "meta.json").is_file()


def load(source, base: str | None = None, rl: str | None = None) -> ProblemStudy:
    """A `ProblemStudy` from parameters or run directories (see `problems`)."""
    from .params import Params, load_params

    if isinstance(source, ProblemStudy):
        return source
    if source is None:
        return _study(None)
    if isinstance(source, Params):
        return from_params(source, base=base, rl=rl)
    if _is_run_dir(source):
        return from_runs([source], base=base, rl=rl)
    if isinstance(source, (list, tuple)):
        return from_runs(source, base=base, rl=rl)
    if isinstance(source, (str, Path)):
        return from_params(load_params(FIG05, source), base=base, rl=rl)
    raise UserError(f"cannot explore a {type(source).__name__}.",
                    "pass a parameter set name or YAML path, a Params, or run directories.")


def from_params(params, base: str | None = None, rl: str | None = None) -> ProblemStudy:
    """Every model and benchmark of `params` (sampled and graded if missing)."""
    from . import figures

    roles = {m["name"]: m["role"] for m in params.models}
    if base is None or rl is None:
        try:
            pair = figures.base_and_rl(params)
        except UserError:  # no RL model: no coverage sets
            pair = (params.models_with_role("base")[0]["name"] if params.models_with_role("base") else None, None)
        base, rl = base or pair[0], rl or pair[1]
    benches = {b: figures.benchmark(params, b) for b in params.benchmarks}
    runs = list(figures.graded_runs(params))
    desc = f"{', '.join(params.benchmarks)} · models {', '.join(roles)}"
    return build_study(runs, roles, base, rl, benches, params.headline_k, desc)


def from_runs(run_dirs: Iterable, base: str | None = None, rl: str | None = None,
              headline_k: int | None = None) -> ProblemStudy:
    """Stored runs, graded with their benchmark kind's default grader (cached);
    runs of the same model and benchmark pool their samples as seeds do.
    headline k: `headline_k`, else n."""
    from .benchmarks import get_benchmark
    from .figures import GradedRun, grader_for
    from .params import Params
    from .store import RunStore
    from .verify.grading import grade_run

    runs, benches, roles, seen = [], {}, {}, {}
    for d in run_dirs:
        store = d if isinstance(d, RunStore) else RunStore(d)
        meta = store.read_meta()
        if not meta:
            raise UserError(f"{store.run_dir} is not a run directory (no meta.json).",
                            "pass directories under outputs/samples (`rlboundary status` lists them).")
        model = meta["model"]["name"] if isinstance(meta["model"], dict) else str(meta["model"])
        bench_name, target = meta["benchmark"], meta.get("target", {})
        if bench_name not in benches:
            benches[bench_name] = get_benchmark(bench_name, data_dir=target.get("data_dir"), limit=target.get("limit"))
        bench = benches[bench_name]
        grader = grader_for(Params(math_grader="math-verify"), bench.kind)
        n = int(target.get("n") or meta["settings"].get("n"))
        i = seen.setdefault((model, bench_name), 0)
        seen[(model, bench_name)] = i + 1
        v = grade_run(store.run_dir, bench.problems, grader)
        v = v[v["sample_idx"] < n].copy()
        v["sample_idx"] = v["sample_idx"].astype(np.int64) + i * n
        roles.setdefault(model, "other")
        runs.append(GradedRun({"name": model, "role": "other"}, bench_name, int(meta.get("seed", 0)), i, n,
                              store.run_dir, grader.grader_id, v))
    names = list(roles)
    base = base or (names[0] if names else None)
    rl = rl or next((m for m in names if m != base), None)
    for name, role in ((base, "base"), (rl, "rl")):
        if name is not None:
            if name not in roles:
                raise UserError(f"no run of model '{name}'.", f"use one of: {', '.join(names)}.")
            roles[name] = role
    k = headline_k or max(r.n * seen[(r.model["name"], r.benchmark)] for r in runs)
    return build_study(runs, roles, base, rl, benches, k, f"{len(runs)} stored runs")


def build_study(runs, roles: dict[str, str], base, rl, benches: dict, headline_k: int, description: str = "",
                texts: Callable | None = None) -> ProblemStudy:
    """Assemble a `ProblemStudy` from graded runs (`figures.GradedRun`s)."""
    from .verify.grading import verdicts_by_grader

    frames = []
    for run in runs:
        v = run.verdicts.copy()
        v["answer"] = v["answer"] if "answer" in v else v["extracted"]
        v[VERDICT_PREFIX + run.grader_id] = v["verdict"]
        # Other graders that judged this run (e.g. math-equal beside math-verify).
        for gid, rows in verdicts_by_grader(run.run_dir, benches[run.benchmark].problems,
                                            exclude=run.grader_id).items():
            rows = rows[rows["sample_idx"] < run.n]
            rows = rows.assign(sample_idx=rows["sample_idx"].astype(np.int64) + run.seed_index * run.n)
            v = v.merge(rows[["problem_id", "sample_idx", "verdict"]].rename(columns={"verdict": VERDICT_PREFIX + gid}),
                        on=["problem_id", "sample_idx"], how="left")
        v.insert(0, "seed", run.seed)
        v.insert(0, "benchmark", run.benchmark)
        v.insert(0, "model", run.model["name"])
        frames.append(v)
    samples = pd.concat(frames, ignore_index=True)
    # Categorical keys: grouping and sorting a million samples by them stays fast.
    for col in ("model", "benchmark", "problem_id"):
        samples[col] = samples[col].astype(str).astype("category")
    samples["answer"] = samples["answer"].astype("str")
    problems = {(b, str(p.id)): p for b, bench in benches.items() for p in bench.problems}
    kinds = {b: bench.kind for b, bench in benches.items()}
    table = problem_table(samples, problems, kinds, list(roles), base, rl, headline_k)
    return ProblemStudy(table, samples, list(roles), roles, base, rl, problems, kinds,
                        texts or StoredTexts.of(runs), description)


@dataclass
class StoredTexts:
    """Reads the texts of given samples from the runs' stores (pooled sample_idx -> the seed's run)."""

    runs: dict[tuple[str, str], tuple[int, list[Path]]] = field(default_factory=dict)  # (model, benchmark) -> (n, run dirs by seed)

    @classmethod
    def of(cls, runs) -> "StoredTexts":
        out: dict = {}
        for r in sorted(runs, key=lambda r: r.seed_index):
            out.setdefault((r.model["name"], r.benchmark), (r.n, []))[1].append(Path(r.run_dir))
        return cls(out)

    def __call__(self, rows: pd.DataFrame) -> list[str]:
        from .store import RunStore

        found: dict = {}
        for (model, bench), g in rows.groupby(["model", "benchmark"], sort=False, observed=True):
            n, dirs = self.runs[(model, bench)]
            for i, part in g.groupby(g["sample_idx"] // n, sort=False):
                got = RunStore(dirs[int(i)]).texts(zip(part["problem_id"], part["sample_idx"] - int(i) * n))
                for pid, idx in zip(part["problem_id"], part["sample_idx"]):
                    found[(model, bench, pid, int(idx))] = got.get((pid, int(idx) - int(i) * n), "")
        return [found[(m, b, p, int(i))] for m, b, p, i in
                zip(rows["model"], rows["benchmark"], rows["problem_id"], rows["sample_idx"])]


def _level_and_subject(kind: str, problem) -> tuple:
    meta = problem.metadata or {}
    if kind == "organism":
        return meta.get("n_steps"), ""
    level = meta.get("level")
    subject = meta.get("subject") or meta.get("subfield") or ""
    return (None if level is None or (isinstance(level, float) and math.isnan(level)) else level), str(subject)


def gold_answer(kind: str, problem) -> str:
    ref = problem.reference
    if kind == "organism":
        return str(ref["answer"])
    if kind == "code":
        return f"passes the tests of {ref.get('entry_point', 'the task')}" if isinstance(ref, dict) else "passes the tests"
    return str(ref)


def question_text(kind: str, problem) -> str:
    # The organism's prompt is wrapped in chat markers; its metadata has the bare question.
    return str((problem.metadata or {}).get("question") or problem.prompt)


def problem_table(samples: pd.DataFrame, problems: dict, kinds: dict, models: list[str], base, rl,
                  headline_k: int) -> pd.DataFrame:
    """The explorer's table (module docstring) from sample verdict rows."""
    from . import metrics

    s = samples.assign(_valid=samples["correct"] & samples["trace_valid"].fillna(False).astype(bool)
                       if "trace_valid" in samples else False)
    counts = s.groupby(GROUP, sort=False, observed=True).agg(n=("correct", "size"), c=("correct", "sum"), valid=("_valid", "sum"))
    counts = counts.reset_index()
    rows = []
    for (bench, pid), p in problems.items():
        level, subject = _level_and_subject(kinds[bench], p)
        rows.append({"benchmark": bench, "problem_id": pid, "level": level, "subject": subject,
                     "gold": gold_answer(kinds[bench], p), "question": question_text(kinds[bench], p)})
    table = pd.DataFrame(rows)
    ks = {}
    for bench, g in counts.groupby("benchmark", sort=False, observed=True):
        ks[bench] = int(min(headline_k, g["n"].min()))
    table["k"] = table["benchmark"].map(ks).astype("Int64")
    organism = any(k == "organism" for k in kinds.values())
    for m in models:
        mine = counts[counts["model"] == m].set_index(["benchmark", "problem_id"])
        idx = pd.MultiIndex.from_frame(table[["benchmark", "problem_id"]])
        n = mine["n"].reindex(idx).to_numpy(dtype=float)
        c = mine["c"].reindex(idx).to_numpy(dtype=float)
        table[f"{m} n"] = pd.array(n, dtype="Int64")
        table[f"{m} c"] = pd.array(c, dtype="Int64")
        with np.errstate(invalid="ignore", divide="ignore"):
            table[f"{m} pass rate"] = c / n
        passk = np.full(len(table), np.nan)
        have = ~np.isnan(n)
        for bench, k in ks.items():
            sel = have & (table["benchmark"] == bench).to_numpy()
            if sel.any():
                passk[sel] = metrics.pass_at_k(n[sel].astype(int), c[sel].astype(int), [min(k, int(n[sel].min()))])[:, 0]
        table[f"{m} pass@k"] = passk
        if organism:
            valid = mine["valid"].reindex(idx).to_numpy(dtype=float)
            with np.errstate(invalid="ignore", divide="ignore"):
                table[f"{m} valid share"] = np.where(c > 0, valid / np.where(c > 0, c, 1), np.nan)
    table["coverage"] = None
    if base is not None and rl is not None:
        for bench in table["benchmark"].unique():
            b = counts[(counts["model"] == base) & (counts["benchmark"] == bench)]
            r = counts[(counts["model"] == rl) & (counts["benchmark"] == bench)]
            if b.empty or r.empty:
                continue
            sets = metrics.coverage_sets(b.assign(benchmark=bench)[["model", "benchmark", "problem_id", "n", "c"]],
                                         r.assign(benchmark=bench)[["model", "benchmark", "problem_id", "n", "c"]])
            label = {pid: COVERAGE_LABELS[row["set"]] for row in sets.to_dict("records") for pid in row["problem_ids"]}
            here = table["benchmark"] == bench
            table.loc[here, "coverage"] = table.loc[here, "problem_id"].map(label)
    return table
