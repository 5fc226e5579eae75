"""GPU check of the one-GPU study (params/onegpu) on a machine with torch and
transformers but no vLLM, no network and no rlboundary install.

    bash benchmarks/gpu_onegpu_check.sh            # the GPU run: $OUT/gpu_onegpu_check.pdf (< 8 min)
    bash benchmarks/gpu_onegpu_check.sh --smoke    # CPU, tiny shapes (a dry run of the same path)

What runs: Figures 1, 5, 6 and 7 exactly as their notebooks call the package
(`figures.passk_study`, `accuracy_and_coverage`, `perplexity_study`, the
`plots` functions, the claim's verdict from `rlboundary.verdicts`), with params/onegpu's models, templates, roles and
sampling settings, except for what cannot travel to such a machine:
- the models are random-initialised weights of the chosen models' shapes,
  from configs written here (Qwen2.5-Math-1.5B: 28 layers, hidden 1536, 12
  heads, 2 KV heads, MLP 8960, vocabulary 151,936, tied embeddings, 4k
  context; DeepSeek-R1-Distill-Qwen-1.5B: the same body, untied embeddings,
  128k context), one seed per model, with a one-character-per-id tokenizer of
  the same vocabulary size (rlboundary.tinymodel), so every sampled id is text;
- the problems are a handful written here in the benchmarks' file schema
  (MATH500 and AIME24 need the hub);
- sampling uses the transformers backend (`backend: hf`, its static-cache
  CUDA-graph engine) at small n and max_tokens.
So the figures are flat (random weights solve nothing): the check is that
the one-GPU path runs end to end on a GPU and how long each stage takes, not
a result. Every figure and the timings go to one PDF (page 1: the summary);
the timings also to a JSON file beside it.

math-verify (and its latex2sympy2_extended / antlr4 runtime) must be
importable; the .sh installs them from a carried `.whl/` folder when the
machine lacks them (`bash benchmarks/gpu_onegpu_check.sh --prepare` fills it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

NOTEBOOKS = ("fig01_passk_math", "fig05_accuracy_and_coverage", "fig06_perplexity", "fig07_distillation")

# Published configs of the chosen models (config.json on the hub), as constructor arguments.
_QWEN25_15B_BODY = dict(hidden_size=1536, num_hidden_layers=28, num_attention_heads=12, num_key_value_heads=2,
                        intermediate_size=8960, vocab_size=151936, rope_theta=10000.0, rms_norm_eps=1e-6)
SHAPES = {
    "qwen2.5-math-1.5b": dict(_QWEN25_15B_BODY, tie_word_embeddings=True, max_position_embeddings=4096),
    "r1-distill-qwen-1.5b": dict(_QWEN25_15B_BODY, tie_word_embeddings=False, max_position_embeddings=131072),
}
SMOKE_BODY = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1,
                  intermediate_size=128, vocab_size=512, rope_theta=10000.0, rms_norm_eps=1e-6)
SMOKE_SHAPES = {
    "qwen2.5-math-1.5b": dict(SMOKE_BODY, tie_word_embeddings=True, max_position_embeddings=4096),
    "r1-distill-qwen-1.5b": dict(SMOKE_BODY, tie_word_embeddings=False, max_position_embeddings=8192),
}

# A handful of problems in the benchmarks' file schema (answers checked by hand).
PROBLEMS = {
    "math500": [
        {"unique_id": f"check/{i}", "problem": q, "answer": a, "subject": "Check", "level": 1}
        for i, (q, a) in enumerate([
            ("What is $2+3$?", "5"), ("Compute $7\\cdot 6$.", "42"), ("Simplify $\\frac{1}{2}+\\frac{1}{3}$.", "\\frac{5}{6}"),
            ("Solve $x^2=9$ for $x>0$.", "3"), ("What is $\\sqrt{144}$?", "12"), ("Evaluate $2^{10}$.", "1024"),
            ("How many degrees are in a right angle?", "90"), ("What is $15\\%$ of $200$?", "30"),
        ])
    ],
    "aime24": [
        {"id": 9000 + i, "problem": q, "answer": a}
        for i, (q, a) in enumerate([
            ("Find the remainder when $2^{100}$ is divided by $7$.", "2"),
            ("How many positive divisors does $360$ have?", "24"),
            ("Find the sum of all positive integers $n<20$ that are prime.", "77"),
            ("What is the number of subsets of a $5$-element set?", "32"),
        ])
    ],
}


class Check:
    """Timings and notes, saved after every stage so a run cut short keeps what it did."""

    def __init__(self, out_pdf: Path, budget_s: float):
        self.out_pdf, self.out_json = out_pdf, out_pdf.with_suffix(".json")
        self.budget_s, self.t0 = budget_s, time.time()
        self.data: dict = {"stages": [], "notes": [], "figures": []}

    def elapsed(self) -> float:
        return time.time() - self.t0

    def log(self, msg: str) -> None:
        print(f"[onegpu-check {self.elapsed():6.1f}s] {msg}", flush=True)

    def stage(self, name: str, seconds: float, **facts) -> None:
        self.data["stages"].append({"stage": name, "seconds": round(seconds, 2), **facts})
        self.log(f"{name}: {seconds:.1f} s {facts if facts else ''}")
        self.save_json()

    def save_json(self) -> None:
        self.data["elapsed_s"] = round(self.elapsed(), 1)
        self.out_json.parent.mkdir(parents=True, exist_ok=True)
        self.out_json.write_text(json.dumps(self.data, indent=1, default=str))


def device_info(device: str) -> dict:
    import torch
    import transformers

    info = {"device": device, "torch": torch.__version__, "transformers": transformers.__version__,
            "python": platform.python_version()}
    if device == "cuda":
        info["gpu"] = torch.cuda.get_device_name(0)
        info["gpu_memory_gib"] = round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1)
    return info


def write_problems(data_dir: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    for name, rows in PROBLEMS.items():
        (data_dir / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def shape_of(hub_id: str) -> str:
    return "r1-distill-qwen-1.5b" if "R1-Distill" in hub_id else "qwen2.5-math-1.5b"


def build_models(hub_ids: list[str], models_dir: Path, device: str, smoke: bool, check: Check) -> dict[str, str]:
    """A random-init model of each hub model's shape, saved as a local HF folder: {hub id: folder}."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    from rlboundary.tinymodel import CHARACTERS, SPECIAL_TOKENS, build_char_tokenizer, save_model

    shapes = SMOKE_SHAPES if smoke else SHAPES
    vocab = shapes["qwen2.5-math-1.5b"]["vocab_size"]
    # One character per id up to the model's vocabulary: printable ASCII first, then
    # code points from U+00A1 up (no surrogates), so sampled ids decode to text and back.
    extra, cp = [], 0xA1
    while len(SPECIAL_TOKENS) + len(CHARACTERS) + len(extra) < vocab:
        if not 0xD800 <= cp <= 0xDFFF:
            extra.append(chr(cp))
        cp += 1
    tok = build_char_tokenizer(characters=CHARACTERS + extra)
    assert len(tok) == vocab, (len(tok), vocab)
    out = {}
    for seed, hub_id in enumerate(hub_ids):
        start = time.time()
        cfg = Qwen2Config(**shapes[shape_of(hub_id)], bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                          pad_token_id=tok.pad_token_id)
        torch.manual_seed(seed)
        dtype = torch.float32 if device == "cpu" else torch.bfloat16
        with torch.device(device):  # initialise on the GPU: a 1.5B CPU init takes minutes
            model = Qwen2ForCausalLM(cfg).to(dtype)
        path = save_model(model, tok, models_dir / hub_id.replace("/", "--"))
        params_b = sum(p.numel() for p in model.parameters()) / 1e9
        del model
        if device == "cuda":
            torch.cuda.empty_cache()
        out[hub_id] = str(path)
        check.stage(f"build {hub_id} shape", time.time() - start, params=f"{params_b * 1e9:.4g}", seed=seed)
    return out


def check_params(notebook: str, local: dict[str, str], data_dir: Path, smoke: bool):
    """params/onegpu/<notebook>.yaml with the models pointed at the local folders
    and the sampling scaled down; everything else (roles, templates, max_model_len,
    temperature, top_p, grader) as the set has it."""
    from rlboundary.params import load_params, validate

    p = load_params(notebook, "onegpu")
    n, n_aime, max_tokens = (4, 4, 24) if smoke else (16, 32, 256)
    values = dict(p)
    values["models"] = [{**m, "path": local[m["path"]]} for m in p.models]
    values.update(backend="hf", data_dir=str(data_dir), limit=None, n=n, headline_k=n, max_tokens=max_tokens,
                  n_per_benchmark={b: n_aime for b in p.benchmarks if b == "aime24"}, bootstrap=200)
    if notebook == "fig06_perplexity":
        values["responses_per_problem"] = 4
        values["headline_k"] = 4
    return validate(notebook, values, source=f"params/onegpu/{notebook}.yaml, scaled for the GPU check")


def run_notebook_calls(notebook: str, p, fig_dir: Path) -> tuple[list[Path], dict]:
    """The package calls of the notebook (notebooks/<notebook>.py): figures saved
    to fig_dir; returns them and the notebook's computed verdict."""
    from rlboundary import figures, plots, verdicts

    os.environ[plots.FIGURES_ENV] = str(fig_dir)
    plots.set_style()
    if notebook in ("fig01_passk_math", "fig07_distillation"):
        study = figures.passk_study(p)
        fig = plots.passk_curves(study.curves, figures.roles(p), study.comparisons, title=notebook)
        plots.save_figure(fig, "passk_curves")
        verdict = (verdicts.base_ahead_at_large_k(study.comparisons) if notebook == "fig01_passk_math"
                   else verdicts.distillation_expands_unlike_rl(study.comparisons, p.distilled_models))
    elif notebook == "fig05_accuracy_and_coverage":
        study = figures.accuracy_and_coverage(p)
        plots.save_figure(plots.accuracy_histogram(study.histogram, figures.roles(p), title="per-problem accuracy"),
                          "accuracy_histogram")
        plots.save_figure(plots.coverage_bars(study.coverage, title="solvable problems"), "coverage")
        verdict = verdicts.rl_solves_nearly_a_subset(study.coverage, ci=p.ci_level)
    else:
        study = figures.perplexity_study(p)
        plots.save_figure(plots.perplexity_boxplots(study.long, title="perplexity of responses"), "perplexity")
        verdict = verdicts.rl_responses_likely_under_base(study.gaps)
    print(study.headline.to_string(max_cols=12), flush=True)
    import matplotlib.pyplot as plt

    plt.close("all")
    return sorted(fig_dir.glob("*.png")), verdict


def write_pdf(check: Check, info: dict) -> None:
    """Page 1: what ran and how long each stage took; then every figure, one per page."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.image as mpimg
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    lines = ["rlboundary one-GPU check (params/onegpu, transformers backend)",
             "RANDOM-INITIALISED WEIGHTS of the chosen models' shapes: a check that the path runs, not a result.", ""]
    lines += [f"{k}: {v}" for k, v in info.items()]
    lines += [""] + [f"{s['stage']}: {s['seconds']:.1f} s" + (f"  ({s['note']})" if s.get("note") else "")
                     for s in check.data["stages"]]
    lines += [""] + check.data["notes"] + [f"total: {check.elapsed():.0f} s"]
    with PdfPages(check.out_pdf) as pdf:
        fig = plt.figure(figsize=(8.5, 11))
        fig.text(0.05, 0.97, "\n".join(lines), va="top", family="monospace", fontsize=7)
        pdf.savefig(fig)
        plt.close(fig)
        for png in check.data["figures"]:
            fig = plt.figure(figsize=(11, 8.5))
            ax = fig.add_axes([0, 0, 1, 0.95])
            ax.imshow(mpimg.imread(png))
            ax.axis("off")
            fig.suptitle(f"{Path(png).parent.name}/{Path(png).name}  (random weights: pipeline check)", fontsize=9)
            pdf.savefig(fig)
            plt.close(fig)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True, help="the PDF to write (a JSON of timings goes beside it)")
    ap.add_argument("--work", type=Path, default=None, help="models, data and samples (default: $RLBOUNDARY_OUTPUTS)")
    ap.add_argument("--smoke", action="store_true", help="CPU, tiny shapes: a dry run of the same path")
    ap.add_argument("--budget-s", type=float, default=420.0, help="skip the remaining notebooks after this many seconds")
    args = ap.parse_args(argv)

    import torch

    device = "cpu" if args.smoke else "cuda"
    if device == "cuda" and not torch.cuda.is_available():
        print("no CUDA GPU visible: run with --smoke for the CPU dry run", file=sys.stderr)
        return 2
    if args.smoke:
        torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    work = args.work or Path(os.environ.get("RLBOUNDARY_OUTPUTS", "/tmp/rlboundary_onegpu_check"))
    os.environ["RLBOUNDARY_OUTPUTS"] = str(work)
    if args.smoke:
        os.environ["CUDA_VISIBLE_DEVICES"] = ""  # the backends' "auto" device must be the CPU
    check = Check(args.out, args.budget_s)
    info = device_info(device)
    check.data["info"] = info
    check.log(f"{info}")

    from rlboundary.params import load_params

    hub_ids = list(dict.fromkeys(m["path"] for nb in NOTEBOOKS for m in load_params(nb, "onegpu").models))
    data_dir = work / "check-data"
    write_problems(data_dir)
    status = 0
    try:
        local = build_models(hub_ids, work / "check-models", device, args.smoke, check)
        for nb in NOTEBOOKS:
            if check.elapsed() > args.budget_s:
                check.data["notes"].append(f"{nb}: skipped, over the {args.budget_s:.0f} s budget")
                continue
            start = time.time()
            p = check_params(nb, local, data_dir, args.smoke)
            try:
                figs, verdict = run_notebook_calls(nb, p, work / "check-figures" / nb)
            except Exception:  # one notebook's failure is reported, the others still run
                status = 1
                check.data["notes"].append(f"{nb}: FAILED: {traceback.format_exc().strip().splitlines()[-1]}")
                traceback.print_exc()
                continue
            check.data["figures"] += [str(f) for f in figs]
            samples = len(p.models) * sum(len(PROBLEMS[b]) * p.n_for(b) for b in p.benchmarks)
            check.stage(nb, time.time() - start, figures=len(figs), models=len(p.models), samples_asked=samples,
                        max_tokens=p.max_tokens, verdict=getattr(verdict, "verdict", None),
                        note="sampling, grading, metrics, plots, verdict (reuses stored samples)")
    finally:
        check.save_json()
        write_pdf(check, info)
        check.log(f"wrote {check.out_pdf} and {check.out_json}")
    return status


if __name__ == "__main__":
    sys.exit(main())
