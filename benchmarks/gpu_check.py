"""GPU check of the transformers path: the organism study's sampling and
perplexity on a GPU, and decode throughput against the bandwidth roofline.

For one GPU machine with torch and transformers but no vLLM, no network and
no rlboundary install (run from the repo root with PYTHONPATH=src):

    python benchmarks/gpu_check.py --out $OUT/gpu_check.json   # the GPU run (< 8 min)
    python benchmarks/gpu_check.py --smoke                     # CPU, tiny shapes, ~1 min

(a) Organism-style study: a tiny model built on the spot with
    rlboundary.tinymodel (random init: the trained organism lives under
    outputs/, which does not travel to the GPU machine), organism problems,
    sampled through HFBackend (static engine, CUDA graphs) with n=64 per
    problem; determinism, batch-composition independence, graph == eager;
    perplexity (perplexity.py's transformers path) on the GPU against the CPU.
(b) Decode throughput, random-init models of SmolLM2-135M's and
    Qwen2.5-1.5B's shapes in bf16, 64 prompt + 256 sampled tokens (EOS
    ignored), batch 1 / 64 / 256: this project's static engine (CUDA
    graphs), plain `generate`, `generate(cache_implementation="static")`
    (the compiled reference the issue quotes; Qwen shape, batch 64 and 256)
    and, as time allows, the static engine with torch.compile. Roofline:
    tok/s <= batch x HBM bandwidth / (weight bytes + KV bytes read per step),
    with the KV read at the mean context (64 + 256/2 tokens).

Every figure goes to one JSON file (written after each section, so a run
cut short keeps what it measured) and a table is printed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

# HBM bandwidth by GPU name (vendor datasheets), bytes/s.
BANDWIDTH = [("H200", 4.8e12), ("H100 PCIe", 2.0e12), ("H100", 3.35e12), ("A100-SXM4-80GB", 2.04e12),
             ("A100", 1.56e12), ("L40S", 0.864e12), ("A10G", 0.6e12)]

SHAPES = {
    # name: (config class, kwargs)
    "SmolLM2-135M-shape": ("LlamaConfig", dict(hidden_size=576, num_hidden_layers=30, num_attention_heads=9,
                                               num_key_value_heads=3, intermediate_size=1536, vocab_size=49152,
                                               tie_word_embeddings=True, max_position_embeddings=8192,
                                               rope_theta=100000.0)),
    "Qwen2.5-1.5B-shape": ("Qwen2Config", dict(hidden_size=1536, num_hidden_layers=28, num_attention_heads=12,
                                               num_key_value_heads=2, intermediate_size=8960, vocab_size=151936,
                                               tie_word_embeddings=True, max_position_embeddings=32768,
                                               rope_theta=1000000.0)),
}
SMOKE_SHAPES = {
    "tiny-llama-shape": ("LlamaConfig", dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                                             num_key_value_heads=1, intermediate_size=128, vocab_size=512,
                                             tie_word_embeddings=True, max_position_embeddings=512)),
    "tiny-qwen2-shape": ("Qwen2Config", dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                                             num_key_value_heads=1, intermediate_size=128, vocab_size=1000,
                                             tie_word_embeddings=True, max_position_embeddings=512)),
}


class Run:
    """Collects results, writes them after every section, keeps the time budget."""

    def __init__(self, out: Path, budget_s: float):
        self.out, self.budget_s, self.t0 = out, budget_s, time.time()
        self.data: dict = {"notes": [], "throughput": []}

    def elapsed(self) -> float:
        return time.time() - self.t0

    def left(self) -> float:
        return self.budget_s - self.elapsed()

    def log(self, msg: str) -> None:
        print(f"[{self.elapsed():6.1f}s] {msg}", flush=True)

    def save(self) -> None:
        self.data["elapsed_s"] = round(self.elapsed(), 1)
        self.out.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.out.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=2, default=str))
        tmp.replace(self.out)


def device_info(device: str) -> dict:
    import torch
    import transformers

    info = {"python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__,
            "device": device}
    if device == "cuda":
        name = torch.cuda.get_device_name(0)
        bw = next((b for key, b in BANDWIDTH if key in name), None)
        info.update(gpu=name, hbm_bandwidth_Bps=bw, gpu_memory_GiB=round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1))
    return info


def sync(device: str) -> None:
    import torch

    if device == "cuda":
        torch.cuda.synchronize()


# ---------------------------------------------------------------------------
# (a) organism-style study
# ---------------------------------------------------------------------------

def organism_problems(n_problems: int, seed: int = 0):
    """(problem_id, question, answer, ground-truth trace, checker) from rlboundary.organism if present."""
    rng = random.Random(seed)
    try:
        from rlboundary.organism.task import check_trace, clean_trace, extract_answer, make_problem, solve

        out = []
        for i in range(n_problems):
            p = make_problem(rng, n_steps=1 + i % 4, width=3)
            out.append((f"lock-{i}", p.prompt(), solve(p), clean_trace(p),
                        lambda text, p=p: (extract_answer(text) == solve(p), check_trace(p, text))))
        return out, "rlboundary.organism.task"
    except ImportError:
        out = []
        for i in range(n_problems):
            a, b = rng.randrange(100), rng.randrange(100)
            out.append((f"add-{i}", f"{a}+{b}=?", str(a + b), f"{a}+{b}={a + b}",
                        lambda text, s=str(a + b): (text.strip().endswith(s), None)))
        return out, "fallback addition problems (rlboundary.organism not importable)"


def organism_section(run: Run, device: str, smoke: bool) -> None:
    import torch

    from rlboundary.hf_backend import HFBackend, StaticDecoder, row_key
    from rlboundary.paths import models_dir
    from rlboundary.perplexity import Scorer, score_samples
    from rlboundary.sampling import GenRequest, SamplingSettings, derive_seed
    from rlboundary.tinymodel import build_tiny_model

    res: dict = {}
    run.data["organism"] = res
    trained = [p for p in models_dir().glob("**/config.json")] if models_dir().exists() else []
    tmp = Path(tempfile.mkdtemp(prefix="gpu_check_"))
    model_path = build_tiny_model(tmp / "tiny", seed=0, hidden_size=128, num_layers=4, num_heads=4)
    res["model"] = ("random-init tiny Llama (rlboundary.tinymodel: hidden 128, 4 layers, char tokenizer); "
                    + ("trained models found under outputs/models but not used: " + str(trained[:3]) if trained
                       else "no trained organism on this machine (outputs/ does not travel), so accuracy is not meaningful"))
    n_problems, n = (4, 8) if smoke else (16, 64)
    problems, source = organism_problems(n_problems)
    res["problems_from"] = source
    backend = HFBackend(str(model_path), device=device, engine="static", batch_size=256)
    tok = backend.tokenizer
    prompts = {pid: tok.apply_chat_template([{"role": "user", "content": q}], add_generation_prompt=True, tokenize=False)
               for pid, q, *_ in problems}
    settings = SamplingSettings(n=n, temperature=0.6, top_p=0.95, max_tokens=48 if smoke else 96, chunk_size=64)
    requests = [GenRequest(prompts[pid], n=n, seed=derive_seed(0, pid, 0), key=(pid, 0)) for pid, *_ in problems]

    t = time.time()
    out = backend.generate(requests, settings)
    sync(device)
    first = time.time() - t
    t = time.time()
    out2 = backend.generate(requests, settings)
    sync(device)
    wall = time.time() - t
    n_tok = sum(c.num_tokens for comps in out for c in comps)
    res["sampling"] = dict(engine=backend.engine, graph_mode=getattr(backend, "last_graph_mode", None),
                           problems=n_problems, n=n, samples=n_problems * n, generated_tokens=n_tok,
                           first_call_s=round(first, 2), second_call_s=round(wall, 2),
                           tokens_per_s=round(n_tok / wall, 1),
                           finish_reasons={r: sum(c.finish_reason == r for cs in out for c in cs) for r in ("stop", "length")})
    res["deterministic_rerun"] = out == out2
    alone = backend.generate([requests[1]], settings)
    res["batch_composition_independent"] = alone[0] == out[1]
    correct = valid = 0
    for (pid, q, ans, trace, check), comps in zip(problems, out):
        for c in comps:
            ok, tc = check(c.text)
            correct += bool(ok)
            valid += bool(getattr(tc, "trace_valid", False)) if tc is not None else 0
    res["verdicts"] = dict(correct=correct, valid_traces=valid, of=n_problems * n)
    res["example_sample"] = out[0][0].text[:120]
    run.log(f"organism sampling: {res['sampling']}")

    # Graph replay against the eager loop: same kernels, so the same tokens.
    if device == "cuda":
        ids = [backend.encode(prompts[pid]) for pid, *_ in problems[:1]] * 32
        keys = [row_key(1, j) for j in range(32)]
        graphs = backend.decoder.decode(ids, keys, 48, 0.6, 0.95)
        eager = StaticDecoder(backend.model, use_graphs=False).decode(ids, keys, 48, 0.6, 0.95)
        res["graph_equals_eager"] = bool((graphs.tokens == eager.tokens).all())
        res["graph_vs_eager_token_agreement"] = float((graphs.tokens == eager.tokens).mean())
        res["graph_capture_errors"] = {str(k): s.capture_error for k, s in backend.decoder.states.items() if s.capture_error}
    # The generate engine on the same device, two units.
    gen = HFBackend(str(model_path), device=device, engine="generate")
    g_settings = SamplingSettings(n=8, temperature=0.6, top_p=0.95, max_tokens=48)
    g1 = gen.generate(requests[:2], g_settings)
    res["generate_engine_deterministic"] = g1 == gen.generate(requests[:2], g_settings)
    backend.close()
    gen.close()

    # Perplexity of the samples and of the ground-truth traces under the tiny model.
    import pandas as pd

    rows = [(pid, j, c.text) for (pid, *_), comps in zip(problems, out) for j, c in enumerate(comps[:4])]
    samples = pd.DataFrame(rows, columns=["problem_id", "sample_idx", "text"])
    gt = pd.DataFrame([(pid, 0, trace) for pid, q, ans, trace, _ in problems], columns=["problem_id", "sample_idx", "text"])
    ppl = {}
    frames = {}
    for label, dev, dtype in [("gpu_bf16", device, None), ("gpu_fp32", device, "float32"), ("cpu_fp32", "cpu", "float32")]:
        if dev == "cpu" and label != "cpu_fp32":
            continue
        scorer = Scorer(str(model_path), backend="hf", device=dev, dtype=dtype)
        t = time.time()
        f = pd.concat([score_samples(samples, prompts, None, source="tiny_samples", scorer="tiny", scorer_obj=scorer),
                       score_samples(gt, prompts, None, source="ground_truth", scorer="tiny", scorer_obj=scorer)])
        ppl[label + "_s"] = round(time.time() - t, 2)
        frames[label] = f
    for label, f in frames.items():
        ppl[label] = {src: dict(mean_ppl=round(float(g["ppl"].mean()), 3),
                                mean_ppl_excl_copied=round(float(g["ppl_excl_copied"].mean()), 3),
                                tokens=int(g["n_tokens"].sum()), tokens_excl_copied=int(g["n_tokens_excl_copied"].sum()))
                      for src, g in f.groupby("source")}
    ref = frames["cpu_fp32"]
    for label in ("gpu_fp32", "gpu_bf16"):
        if label in frames:
            f = frames[label]
            diff = ((f["logprob_sum"] - ref["logprob_sum"]).abs() / f["n_tokens"].clip(lower=1)).max()
            ppl[f"max_abs_diff_mean_token_logprob_{label}_vs_cpu_fp32"] = float(diff)
    res["perplexity"] = ppl
    run.log(f"organism perplexity: {ppl}")


# ---------------------------------------------------------------------------
# (b) throughput
# ---------------------------------------------------------------------------

def build_random_model(config_name: str, kwargs: dict, device: str, dtype):
    import torch
    import transformers

    cfg = getattr(transformers, config_name)(**kwargs, bos_token_id=1, eos_token_id=2, pad_token_id=0)
    torch.manual_seed(0)
    with torch.device(device):
        model = transformers.AutoModelForCausalLM.from_config(cfg, dtype=dtype)
    model.eval()
    model.generation_config.pad_token_id = 0
    model.generation_config.eos_token_id = 2
    return model


def model_bytes(model) -> tuple[int, int]:
    """(weight bytes, KV bytes per cached token)."""
    cfg = model.config
    seen, weights = set(), 0
    for p in model.parameters():
        if p.data_ptr() not in seen:
            seen.add(p.data_ptr())
            weights += p.numel() * p.element_size()
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
    elt = next(model.parameters()).element_size()
    return weights, cfg.num_hidden_layers * 2 * cfg.num_key_value_heads * head_dim * elt


def time_call(fn, device: str) -> float:
    sync(device)
    t = time.time()
    fn()
    sync(device)
    return time.time() - t


VARIANTS = ("static", "plain", "hf_static", "static_compiled")


def throughput_section(run: Run, device: str, smoke: bool, variants: tuple[str, ...], only_shapes=None) -> None:
    import torch

    from rlboundary.hf_backend import StaticDecoder, row_key

    shapes = SMOKE_SHAPES if smoke else SHAPES
    if only_shapes:
        unknown = set(only_shapes) - set(shapes)
        if unknown:
            raise SystemExit(f"unknown --shapes {sorted(unknown)}; choose from {list(shapes)}")
        shapes = {k: v for k, v in shapes.items() if k in only_shapes}
    batches = (1, 4) if smoke else (1, 64, 256)
    prompt_len, new = (8, 16) if smoke else (64, 256)
    dtype = torch.float32 if smoke else torch.bfloat16
    bw = run.data["device"].get("hbm_bandwidth_Bps")
    run.data["throughput_setup"] = dict(prompt_tokens=prompt_len, new_tokens=new, temperature=0.6, top_p=0.95,
                                        dtype=str(dtype), eos="ignored (min_new_tokens / no early stop)",
                                        roofline="batch * bandwidth / (weights + batch * kv_bytes_per_token * (prompt + new/2))")

    def record(model_name, batch, path, wall, first=None, extra=None):
        tokens = batch * new
        weights, kv_tok = sizes[model_name]
        step_bytes = weights + batch * kv_tok * (prompt_len + new / 2)
        roof = batch * bw / step_bytes if bw else None
        row = dict(model=model_name, batch=batch, path=path, tok_s=round(tokens / wall, 1) if wall else None,
                   wall_s=round(wall, 3) if wall else None, first_call_s=round(first, 1) if first else None,
                   roofline_tok_s=round(roof) if roof else None,
                   roofline_frac=round(tokens / wall / roof, 4) if (roof and wall) else None)
        row.update(extra or {})
        run.data["throughput"].append(row)
        run.save()
        run.log(f"{model_name} bs={batch} {path}: {row['tok_s']} tok/s ({row['roofline_frac']} of roofline)")

    sizes = {}
    models = {}
    gen_kwargs = dict(do_sample=True, temperature=0.6, top_p=0.95, top_k=0, max_new_tokens=new, min_new_tokens=new)
    # Pass 1: the static engine (the headline numbers), then plain generate, then the compiled reference.
    for model_name, (cfg_name, kwargs) in shapes.items():
        model = build_random_model(cfg_name, kwargs, device, dtype)
        sizes[model_name] = model_bytes(model)
        run.data.setdefault("models", {})[model_name] = dict(weight_bytes=sizes[model_name][0],
                                                             kv_bytes_per_token=sizes[model_name][1],
                                                             params=sum(p.numel() for p in model.parameters()))
        g = torch.Generator().manual_seed(0)
        decoder = StaticDecoder(model)
        for batch in batches if "static" in variants else ():
            ids = torch.randint(3, kwargs["vocab_size"], (batch, prompt_len), generator=g).tolist()
            keys = [row_key(batch, j) for j in range(batch)]
            try:
                first = time_call(lambda: decoder.decode(ids, keys, new, 0.6, 0.95), device)
                wall = time_call(lambda: decoder.decode(ids, keys, new, 0.6, 0.95), device)
                state = next(reversed(decoder.states.values()))
                record(model_name, batch, "rlboundary static engine", wall, first,
                       dict(graph_mode=state.graph_mode, capture_error=state.capture_error))
            except Exception as err:  # keep measuring the rest
                record(model_name, batch, "rlboundary static engine", None, None, dict(error=repr(err)[:300]))
                traceback.print_exc()
        del decoder
        models[model_name] = model
        if device == "cuda":
            torch.cuda.empty_cache()
    for model_name, model in models.items() if "plain" in variants else ():
        g = torch.Generator().manual_seed(1)
        model.generate(torch.randint(3, 100, (1, 8), device=device), max_new_tokens=4, do_sample=True)  # warm-up
        for batch in batches:
            if run.left() < 150:
                run.data["notes"].append(f"plain generate {model_name} bs={batch} skipped: time budget")
                continue
            ids = torch.randint(3, model.config.vocab_size, (batch, prompt_len), generator=g).to(device)
            try:
                wall = time_call(lambda: model.generate(ids, attention_mask=torch.ones_like(ids), **gen_kwargs), device)
                record(model_name, batch, "generate (plain)", wall)
            except Exception as err:
                record(model_name, batch, "generate (plain)", None, None, dict(error=repr(err)[:300]))
    # The compiled static-cache reference: 30-45 s of compilation per batch size, so the largest model only.
    model_name = list(models)[-1]
    model = models[model_name]
    for batch in batches[1:] if "hf_static" in variants else ():
        if run.left() < 110:
            run.data["notes"].append(f"generate(static cache) {model_name} bs={batch} skipped: time budget")
            continue
        g = torch.Generator().manual_seed(2)
        ids = torch.randint(3, model.config.vocab_size, (batch, prompt_len), generator=g).to(device)
        kw = dict(gen_kwargs, cache_implementation="static", attention_mask=torch.ones_like(ids))
        try:
            first = time_call(lambda: model.generate(ids, **kw), device)
            wall = time_call(lambda: model.generate(ids, **kw), device)
            record(model_name, batch, "generate (static cache, compiled)", wall, first)
        except Exception as err:
            record(model_name, batch, "generate (static cache, compiled)", None, None, dict(error=repr(err)[:300]))
    # The static engine with an inductor-compiled step (one compilation per shape): last, as time allows.
    for model_name, model in (models.items() if "static_compiled" in variants else ()):
        decoder = StaticDecoder(model, compile=True)
        g = torch.Generator().manual_seed(0)
        for batch in batches:
            ids = torch.randint(3, model.config.vocab_size, (batch, prompt_len), generator=g).tolist()
            if run.left() < 90:
                run.data["notes"].append(f"static engine + torch.compile {model_name} bs={batch} skipped: time budget")
                continue
            keys = [row_key(batch, j) for j in range(batch)]
            try:
                first = time_call(lambda: decoder.decode(ids, keys, new, 0.6, 0.95), device)
                wall = time_call(lambda: decoder.decode(ids, keys, new, 0.6, 0.95), device)
                state = next(reversed(decoder.states.values()))
                record(model_name, batch, "rlboundary static + torch.compile", wall, first,
                       dict(graph_mode=state.graph_mode, capture_error=state.capture_error))
            except Exception as err:
                record(model_name, batch, "rlboundary static + torch.compile", None, None, dict(error=repr(err)[:300]))
                traceback.print_exc()
        del decoder


def print_table(data: dict) -> None:
    dev = data.get("device", {})
    print("\n=== gpu_check:", dev.get("gpu", dev.get("device")), "| torch", dev.get("torch"), "| transformers",
          dev.get("transformers"), "| HBM", dev.get("hbm_bandwidth_Bps"), "B/s ===")
    print(f"{'model':<20} {'batch':>5}  {'path':<36} {'tok/s':>10} {'roofline':>10} {'% roof':>7} {'1st call s':>10}")
    for r in data.get("throughput", []):
        frac = f"{100 * r['roofline_frac']:.2f}" if r.get("roofline_frac") is not None else "-"
        print(f"{r['model']:<20} {r['batch']:>5}  {r['path']:<36} {str(r.get('tok_s') or r.get('error', '-'))[:10]:>10} "
              f"{str(r.get('roofline_tok_s') or '-'):>10} {frac:>7} {str(r.get('first_call_s') or '-'):>10}")
    org = data.get("organism", {})
    if org:
        print("organism:", json.dumps({k: org.get(k) for k in ("sampling", "deterministic_rerun",
                                                               "batch_composition_independent", "graph_equals_eager",
                                                               "generate_engine_deterministic", "verdicts")}))
        print("perplexity:", json.dumps(org.get("perplexity")))
    for note in data.get("notes", []):
        print("note:", note)
    print(f"elapsed {data.get('elapsed_s')} s")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--smoke", action="store_true", help="CPU, tiny shapes: checks the script itself")
    ap.add_argument("--out", default=None, help="JSON path (default $OUT/gpu_check.json or outputs/gpu_check.json)")
    ap.add_argument("--budget-s", type=float, default=420.0, help="skip later measurements past this many seconds")
    ap.add_argument("--variants", default=",".join(VARIANTS),
                    help=f"throughput paths to measure, comma-separated from {','.join(VARIANTS)} "
                         "(static: this project's engine; plain: generate; hf_static: generate with the compiled "
                         "static cache; static_compiled: this engine with torch.compile, measured last as time allows)")
    ap.add_argument("--skip-organism", action="store_true")
    ap.add_argument("--shapes", default=None, help="comma-separated model shapes to measure (default: all)")
    args = ap.parse_args(argv)

    import torch

    out = Path(args.out or (Path(os.environ["OUT"]) / "gpu_check.json" if os.environ.get("OUT") else ROOT / "outputs" / "gpu_check.json"))
    run = Run(out, args.budget_s)
    if args.smoke:
        device = "cpu"
        torch.set_num_threads(1)  # tiny shapes: threads only add contention
    elif torch.cuda.is_available():
        device = "cuda"
    else:
        print("no CUDA GPU visible: run with --smoke on a CPU", file=sys.stderr)
        return 2
    run.data["device"] = device_info(device)
    run.data["mode"] = "smoke (CPU, tiny shapes)" if args.smoke else "gpu"
    run.log(f"device: {run.data['device']}")
    run.save()
    if not args.skip_organism:
        try:
            organism_section(run, device, args.smoke)
        except Exception as err:
            run.data["organism_error"] = repr(err)[:500]
            traceback.print_exc()
        run.save()
    try:
        variants = tuple(v for v in args.variants.split(",") if v)
        unknown = set(variants) - set(VARIANTS)
        if unknown:
            print(f"unknown --variants {sorted(unknown)}; choose from {VARIANTS}", file=sys.stderr)
            return 2
        throughput_section(run, device, args.smoke, variants, args.shapes.split(",") if args.shapes else None)
    except Exception as err:
        run.data["throughput_error"] = repr(err)[:500]
        traceback.print_exc()
    run.save()
    print_table(run.data)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
