"""Perplexity of stored responses under a scoring model (the paper's Figure 6).

For a prompt x and a response y = y_1..y_T, the scorer's log-likelihood is
sum_t log p(y_t | x, y_<t) and PPL(y | x) = exp(-mean_t log p). Two scoring
paths give the same numbers (tested to 1e-3 on the tiny model):

- ``backend="vllm"``: one `TokensPrompt(prompt_ids + response_ids)` per
  response with `SamplingParams(max_tokens=1, prompt_logprobs=0)`; vLLM then
  returns the log-prob of every prompt token, and the response positions
  are summed.
- ``backend="hf"``: batched transformers forward passes, `log_softmax`
  gathered at the response tokens (float32 log-softmax; bf16 weights on a GPU).

Tokenization: prompt ids as the tokenizer encodes the rendered prompt
(special tokens such as BOS added, as vLLM does when sampling). Response ids
are the ones the model generated, where the sample store kept them (column
`token_ids`, written by the vLLM and transformers backends) and they are
exactly the response under the scoring model's tokenizer (a trailing EOS
dropped; `stored_response_ids`): a BPE tokenizer encodes a text in its own
canonical way, which need not be the sequence the model sampled, and the
sampled sequence is the one whose likelihood the figure is about. Otherwise
(stores written before ids were kept, another tokenizer, a response cut at a
stop string, ground-truth solutions) the response is encoded on its own
without special tokens. The `response_tokens` column says which:
"stored" or "retokenized".

Copied tokens (a critique of the paper's reading of lower perplexity: a
response that repeats the question is likely under any model, RL or not).
A response token is *copied* when it lies inside a run of at least
`min_copy_len` (default 4) consecutive response tokens that also occurs,
contiguously and in the same order, somewhere in the prompt's token ids.
Equivalently: token t is copied iff some window y_s..y_{s+n-1} with
s <= t < s+n (n = min_copy_len) is an n-gram of the prompt. `ppl_excl_copied`
is the perplexity over the remaining tokens (NaN when none remain).

    from rlboundary.perplexity import score_responses, score_samples
    rows = score_responses("outputs/models/tiny", prompts, responses, backend="hf")
    frame = score_samples(samples_df, prompt_by_problem, "outputs/models/base", source="rl", scorer="base")
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from .errors import UserError

DEFAULT_MIN_COPY_LEN = 4

COLUMNS = ["problem_id", "sample_idx", "source", "scorer", "n_tokens", "logprob_sum", "ppl",
           "ppl_excl_copied", "n_tokens_excl_copied", "response_tokens"]


@dataclass(frozen=True)
class ResponseScore:
    logprob_sum: float
    n_tokens: int
    ppl: float
    logprob_sum_excl_copied: float
    n_tokens_excl_copied: int
    ppl_excl_copied: float


def copied_mask(prompt_ids: Sequence[int], response_ids: Sequence[int], min_copy_len: int = DEFAULT_MIN_COPY_LEN) -> list[bool]:
    """For each response token: is it part of a >= min_copy_len token run that also occurs in the prompt?"""
    if min_copy_len < 1:
        raise UserError(f"min_copy_len={min_copy_len} must be >= 1.", "pass a positive n-gram length (default 4).")
    n = min_copy_len
    prompt_grams = {tuple(prompt_ids[i:i + n]) for i in range(len(prompt_ids) - n + 1)}
    mask = [False] * len(response_ids)
    for s in range(len(response_ids) - n + 1):
        if tuple(response_ids[s:s + n]) in prompt_grams:
            for t in range(s, s + n):
                mask[t] = True
    return mask


def _ppl(logprob_sum: float, n: int) -> float:
    return math.exp(-logprob_sum / n) if n > 0 else float("nan")


def summarize(token_logprobs: Sequence[float], copied: Sequence[bool]) -> ResponseScore:
    """Sums and perplexities of one response from its per-token log-probs."""
    total = float(sum(token_logprobs))
    kept = [lp for lp, c in zip(token_logprobs, copied) if not c]
    kept_sum = float(sum(kept))
    return ResponseScore(total, len(token_logprobs), _ppl(total, len(token_logprobs)),
                         kept_sum, len(kept), _ppl(kept_sum, len(kept)))


# ---------------------------------------------------------------------------
# Token log-probs, two ways
# ---------------------------------------------------------------------------

def hf_token_logprobs(model, pairs: Sequence[tuple[list[int], list[int]]], max_batch_tokens: int = 16384,
                      pad_id: int = 0) -> list[list[float]]:
    """log p(response token | everything before it) for each (prompt_ids, response_ids) pair."""
    import torch

    device = next(model.parameters()).device
    results: list[list[float] | None] = [None] * len(pairs)
    # Longest first, so that a batch holds sequences of similar length.
    order = sorted(range(len(pairs)), key=lambda i: -(len(pairs[i][0]) + len(pairs[i][1])))
    start = 0
    while start < len(order):
        longest = len(pairs[order[start]][0]) + len(pairs[order[start]][1])
        size = max(1, max_batch_tokens // max(longest, 1))
        batch = order[start:start + size]
        start += len(batch)
        ids = torch.full((len(batch), longest), pad_id, dtype=torch.long)
        attn = torch.zeros(len(batch), longest, dtype=torch.long)
        for row, i in enumerate(batch):  # right padding: positions stay 0..len-1
            seq = pairs[i][0] + pairs[i][1]
            ids[row, :len(seq)] = torch.tensor(seq)
            attn[row, :len(seq)] = 1
        with torch.inference_mode():
            logits = model(input_ids=ids.to(device), attention_mask=attn.to(device)).logits
        for row, i in enumerate(batch):
            p, r = len(pairs[i][0]), len(pairs[i][1])
            if r == 0:
                results[i] = []
                continue
            # Logits at position t predict token t+1.
            lp = torch.log_softmax(logits[row, p - 1:p + r - 1].float(), dim=-1)
            target = ids[row, p:p + r].to(lp.device)
            results[i] = lp.gather(1, target[:, None])[:, 0].tolist()
        del logits
    return results  # type: ignore[return-value]


def vllm_token_logprobs(llm, pairs: Sequence[tuple[list[int], list[int]]]) -> list[list[float]]:
    """The same through vLLM's prompt log-probs (`prompt_logprobs=0`: the actual token's log-prob)."""
    from vllm import SamplingParams
    from vllm.inputs import TokensPrompt

    params = SamplingParams(max_tokens=1, prompt_logprobs=0, temperature=0.0)
    prompts = [TokensPrompt(prompt_token_ids=p + r) for p, r in pairs]
    outputs = llm.generate(prompts, params, use_tqdm=False)
    results = []
    for (p, r), out in zip(pairs, outputs):
        seq = p + r
        lps = []
        for pos in range(len(p), len(p) + len(r)):
            entry = out.prompt_logprobs[pos]
            lps.append(float(entry[seq[pos]].logprob))
        results.append(lps)
    return results


# ---------------------------------------------------------------------------
# Scorers
# ---------------------------------------------------------------------------

def _model_fields(model) -> tuple[str, str | None, Any]:
    if isinstance(model, str) or hasattr(model, "__fspath__"):
        return str(model), None, None
    return str(model.path), getattr(model, "tokenizer", None), getattr(model, "dtype", None)


def stored_response_ids(tokenizer, response: str, stored_ids: Sequence[int] | None) -> list[int] | None:
    """The generated ids as stored, when they are exactly `response` under `tokenizer`; else None.

    vLLM keeps the EOS token in a completion's ids while its text has none,
    so trailing EOS ids are dropped first. Ids that decode to anything else
    (another model's tokenizer, a response cut at a stop string) are not used."""
    if stored_ids is None:
        return None
    ids = [int(t) for t in stored_ids]
    eos = getattr(tokenizer, "eos_token_id", None)
    while ids and eos is not None and ids[-1] == eos:
        ids.pop()
    if not ids and response:
        return None
    text = tokenizer.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)
    return ids if text == response else None


class Scorer:
    """A loaded scoring model: `token_logprobs(prompts, responses)` and `score(...)`.

    model: a path (local dir, .gguf file, hub id) or a ModelSpec.
    backend: "hf" (transformers, CPU or GPU) or "vllm".
    """

    def __init__(self, model, backend: str = "hf", device: str | None = None, dtype=None,
                 max_batch_tokens: int = 16384, max_model_len: int | None = None):
        if backend not in ("hf", "vllm"):
            raise UserError(f"perplexity backend={backend!r} is not known.", "use 'hf' or 'vllm'.")
        self.backend = backend
        path, tok_path, spec_dtype = _model_fields(model)
        dtype = dtype if dtype is not None else spec_dtype
        self.max_batch_tokens = max_batch_tokens
        if backend == "hf":
            from .hf_backend import load_model_and_tokenizer, resolve_device, resolve_dtype

            dev = resolve_device(device)
            self.model, self.tokenizer = load_model_and_tokenizer(path, tok_path, dev, resolve_dtype(dtype, dev))
            self.llm = None
        else:
            from .vllm_backend import _import_vllm, start_engine

            _import_vllm()  # the engine defaults, and a one-line error without vLLM
            from vllm.platforms import current_platform

            is_spec = not (isinstance(model, str) or hasattr(model, "__fspath__"))
            if is_spec or path.endswith(".gguf"):
                # vLLM 0.32 reads no GGUF: models.py converts it to a HF directory once.
                from .models import ModelSpec, vllm_weights_dir

                spec = model if is_spec else ModelSpec(name="scorer", path=path)
                path, tok_path = vllm_weights_dir(spec)
            kwargs: dict[str, Any] = dict(model=path, enforce_eager=True, enable_chunked_prefill=False, seed=0)
            if tok_path:
                kwargs["tokenizer"] = tok_path
            if dtype not in (None, "auto"):
                kwargs["dtype"] = dtype
            elif current_platform.is_cpu():
                kwargs["dtype"] = "float32"  # vLLM would pick bf16; transformers scores in fp32 on the CPU
            if max_model_len:
                kwargs["max_model_len"] = max_model_len
            self.llm = start_engine(**kwargs)
            self.tokenizer = self.llm.get_tokenizer()
            self.model = None

    def encode(self, prompt: str, response: str, stored_ids: Sequence[int] | None = None) -> tuple[list[int], list[int]]:
        """(prompt ids, response ids): the stored generated ids where they are exactly `response`, else encoded."""
        prompt_ids = list(self.tokenizer(prompt).input_ids)
        response_ids = stored_response_ids(self.tokenizer, response, stored_ids)
        if response_ids is None:
            response_ids = list(self.tokenizer(response, add_special_tokens=False).input_ids)
        return prompt_ids, response_ids

    def token_logprobs(self, prompts: Sequence[str], responses: Sequence[str],
                       stored_ids: Sequence[Sequence[int] | None] | None = None) -> tuple[list, list[list[float]]]:
        if len(prompts) != len(responses):
            raise UserError(f"{len(prompts)} prompts but {len(responses)} responses.", "pass one prompt per response.")
        stored_ids = list(stored_ids) if stored_ids is not None else [None] * len(responses)
        pairs = [self.encode(p, r, ids) for p, r, ids in zip(prompts, responses, stored_ids)]
        if self.backend == "hf":
            pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
            return pairs, hf_token_logprobs(self.model, pairs, self.max_batch_tokens, pad_id=pad)
        return pairs, vllm_token_logprobs(self.llm, pairs)

    def score(self, prompts: Sequence[str], responses: Sequence[str],
              min_copy_len: int = DEFAULT_MIN_COPY_LEN,
              stored_ids: Sequence[Sequence[int] | None] | None = None) -> list[ResponseScore]:
        pairs, lps = self.token_logprobs(prompts, responses, stored_ids)
        return [summarize(lp, copied_mask(p, r, min_copy_len)) for (p, r), lp in zip(pairs, lps)]

    def close(self) -> None:
        self.model = None
        if getattr(self, "llm", None) is not None:
            from .vllm_backend import engine_teardown

            with engine_teardown():
                self.llm = None


def score_responses(scoring_model, prompts: Sequence[str], responses: Sequence[str], backend: str = "hf",
                    min_copy_len: int = DEFAULT_MIN_COPY_LEN, **scorer_kwargs) -> list[ResponseScore]:
    """Per-response log-prob sum, token count and perplexity (also without copied tokens)."""
    scorer = Scorer(scoring_model, backend=backend, **scorer_kwargs)
    try:
        return scorer.score(prompts, responses, min_copy_len)
    finally:
        scorer.close()


def score_samples(samples, prompt_by_problem: Mapping[str, str], scoring_model, source: str, scorer: str,
                  backend: str = "hf", min_copy_len: int = DEFAULT_MIN_COPY_LEN, scorer_obj: Scorer | None = None,
                  **scorer_kwargs):
    """A tidy frame (COLUMNS) scoring stored sample rows (problem_id, sample_idx, text).

    source: whose responses these are (e.g. "rl", "base", "ground_truth");
    scorer: the scoring model's label (e.g. "base"). Pass `scorer_obj` to
    reuse a loaded Scorer across several sources. A `token_ids` column (the
    store's generated ids) is used where it matches the text exactly.
    """
    import pandas as pd

    missing = sorted(set(samples["problem_id"]) - set(prompt_by_problem))
    if missing:
        raise UserError(f"no prompt for problem ids {missing[:5]}{'...' if len(missing) > 5 else ''}.",
                        "pass the rendered prompt of every problem that has samples.")
    prompts = [prompt_by_problem[p] for p in samples["problem_id"]]
    texts = list(samples["text"])
    stored = list(samples["token_ids"]) if "token_ids" in samples else [None] * len(samples)
    own = scorer_obj is None
    scorer_obj = scorer_obj or Scorer(scoring_model, backend=backend, **scorer_kwargs)
    try:
        scores = scorer_obj.score(prompts, texts, min_copy_len, stored)
        used = ["stored" if stored_response_ids(scorer_obj.tokenizer, t, ids) is not None else "retokenized"
                for t, ids in zip(texts, stored)]
    finally:
        if own:
            scorer_obj.close()
    sample_idx = samples["sample_idx"] if "sample_idx" in samples else range(len(samples))
    return pd.DataFrame({
        "problem_id": list(samples["problem_id"]),
        "sample_idx": list(sample_idx),
        "source": source,
        "scorer": scorer,
        "n_tokens": [s.n_tokens for s in scores],
        "logprob_sum": [s.logprob_sum for s in scores],
        "ppl": [s.ppl for s in scores],
        "ppl_excl_copied": [s.ppl_excl_copied for s in scores],
        "n_tokens_excl_copied": [s.n_tokens_excl_copied for s in scores],
        "response_tokens": used,
    }, columns=COLUMNS)
