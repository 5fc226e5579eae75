"""Perplexity of stored responses: copy exclusion on constructed examples,
the transformers path against an unbatched forward, and vLLM against
transformers on the tiny model."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from rlboundary.errors import UserError  # noqa: E402
from rlboundary.perplexity import COLUMNS, Scorer, copied_mask, score_responses, score_samples, summarize  # noqa: E402

PROMPTS = ["<|user|>What is 12+30? Reason step by step.<|assistant|>", "<|user|>hi<|assistant|>", "abc"]
RESPONSES = ["What is 12+30? 12+30=42. \\boxed{42}", "hello, how are you today?", ""]


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread():
    """OpenMP's spinning threads slow tiny matmuls 10-30x on a shared 2-core machine."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="module")
def hf_scorer(tiny_model_path):
    return Scorer(str(tiny_model_path), backend="hf")


# --- which tokens are copied -------------------------------------------------

def test_copied_mask_marks_runs_of_four_or_more():
    prompt = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    #            copied run of 5       not: 3-run   copied 4-run at the end
    response = [0, 3, 4, 5, 6, 7, 42, 1, 2, 3, 99, 7, 8, 9, 10]
    assert copied_mask(prompt, response) == [False, True, True, True, True, True, False,
                                             False, False, False, False, True, True, True, True]


def test_copied_mask_needs_contiguous_same_order_match():
    prompt = [1, 2, 3, 4]
    assert copied_mask(prompt, [4, 3, 2, 1]) == [False] * 4  # reversed
    assert copied_mask(prompt, [1, 2, 9, 3, 4]) == [False] * 5  # interrupted
    assert copied_mask(prompt, [1, 2, 3, 4]) == [True] * 4
    assert copied_mask(prompt, [1, 2, 3]) == [False] * 3  # shorter than n
    assert copied_mask(prompt, [1, 2, 3], min_copy_len=3) == [True] * 3
    with pytest.raises(UserError):
        copied_mask(prompt, [1], min_copy_len=0)


def test_summarize_perplexities():
    s = summarize([-1.0, -2.0, -3.0, -6.0], [False, True, True, False])
    assert s.n_tokens == 4 and s.logprob_sum == -12.0 and math.isclose(s.ppl, math.exp(3.0))
    assert s.n_tokens_excl_copied == 2 and math.isclose(s.ppl_excl_copied, math.exp(3.5))
    all_copied = summarize([-1.0], [True])
    assert all_copied.n_tokens_excl_copied == 0 and math.isnan(all_copied.ppl_excl_copied)


def test_copying_the_prompt_is_excluded_on_real_text(hf_scorer):
    scores = hf_scorer.score(PROMPTS[:1], RESPONSES[:1])
    # One token per character: "What is 12+30? " (the prompt has "12+30? R") is copied, and so is
    # the "12+30" after it (" 12+30" is in the prompt; "+30=" is not).
    assert scores[0].n_tokens == len(RESPONSES[0])
    assert scores[0].n_tokens_excl_copied == len(RESPONSES[0]) - len("What is 12+30? ") - len("12+30")


# --- log-probs, two ways -------------------------------------------------------

def test_hf_batched_logprobs_equal_unbatched_forward(hf_scorer):
    pairs, lps = hf_scorer.token_logprobs(PROMPTS, RESPONSES)
    model = hf_scorer.model
    for (p, r), lp in zip(pairs, lps):
        assert len(lp) == len(r)
        if not r:
            continue
        with torch.no_grad():
            logits = model(torch.tensor([p + r])).logits[0].float()
        ref = torch.log_softmax(logits[len(p) - 1:-1], -1).gather(1, torch.tensor(r)[:, None])[:, 0]
        assert torch.allclose(torch.tensor(lp), ref, atol=1e-4)


def test_score_samples_frame(hf_scorer):
    import pandas as pd

    samples = pd.DataFrame({"problem_id": ["p0", "p1", "p0"], "sample_idx": [0, 0, 1],
                            "text": [RESPONSES[0], RESPONSES[1], "12+30=42"]})
    prompts = {"p0": PROMPTS[0], "p1": PROMPTS[1]}
    df = score_samples(samples, prompts, None, source="rl", scorer="tiny", scorer_obj=hf_scorer)
    assert list(df.columns) == COLUMNS and len(df) == 3
    assert (df["source"] == "rl").all() and (df["scorer"] == "tiny").all()
    assert (df["ppl"] > 1).all()
    assert (df["n_tokens_excl_copied"] <= df["n_tokens"]).all()
    with pytest.raises(UserError, match="no prompt"):
        score_samples(samples, {"p0": PROMPTS[0]}, None, source="rl", scorer="tiny", scorer_obj=hf_scorer)


def test_bad_backend_is_user_error(tiny_model_path):
    with pytest.raises(UserError, match="backend"):
        Scorer(str(tiny_model_path), backend="onnx")


def test_vllm_matches_transformers(tiny_model_path):
    pytest.importorskip("vllm")
    hf = score_responses(str(tiny_model_path), PROMPTS, RESPONSES, backend="hf")
    vl = score_responses(str(tiny_model_path), PROMPTS, RESPONSES, backend="vllm")
    for a, b in zip(hf, vl):
        assert a.n_tokens == b.n_tokens and a.n_tokens_excl_copied == b.n_tokens_excl_copied
        if a.n_tokens:
            # Mean per-token log-prob agrees to 1e-3 (FACTS.md: three decimals).
            assert abs(a.logprob_sum - b.logprob_sum) / a.n_tokens < 1e-3
            assert math.isclose(a.ppl, b.ppl, rel_tol=1e-3)
        else:
            assert math.isnan(a.ppl) and math.isnan(b.ppl)


# --- stored generated token ids -------------------------------------------------

def _bpe_tokenizer():
    """A small BPE tokenizer trained here, in which "abab" has a merged and an unmerged spelling."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.BPE(unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    core.decoder = decoders.Fuse()
    core.train_from_iterator(["abab abab ab ab"] * 20, trainers.BpeTrainer(special_tokens=["<unk>", "</s>"], vocab_size=40))
    return PreTrainedTokenizerFast(tokenizer_object=core, eos_token="</s>", unk_token="<unk>")


def test_stored_ids_are_used_only_when_they_are_exactly_the_response():
    from rlboundary.perplexity import stored_response_ids

    tok = _bpe_tokenizer()
    canonical = tok("abab", add_special_tokens=False).input_ids
    sampled = [tok.convert_tokens_to_ids(c) for c in "abab"]  # what a model may sample: one letter at a time
    assert canonical != sampled and tok.decode(sampled) == "abab"  # two spellings of one text
    assert stored_response_ids(tok, "abab", sampled) == sampled  # the sampled spelling is kept
    assert stored_response_ids(tok, "abab", sampled + [tok.eos_token_id]) == sampled  # vLLM's trailing EOS dropped
    assert stored_response_ids(tok, "abba", sampled) is None  # ids of another text: not used
    assert stored_response_ids(tok, "abab", None) is None


def test_score_samples_uses_stored_ids_and_says_so(hf_scorer):
    import pandas as pd

    tok = hf_scorer.tokenizer
    ids = list(tok("12+30=42", add_special_tokens=False).input_ids)
    samples = pd.DataFrame({"problem_id": ["p0", "p0", "p0"], "sample_idx": [0, 1, 2],
                            "text": ["12+30=42", "12+30=42", "12+30=42"],
                            "token_ids": [ids + [tok.eos_token_id], [ids[0]], None]})
    df = score_samples(samples, {"p0": PROMPTS[0]}, None, source="rl", scorer="tiny", scorer_obj=hf_scorer)
    assert list(df["response_tokens"]) == ["stored", "retokenized", "retokenized"]
    # The character tokenizer spells a text one way only, so all three score the same.
    assert df["logprob_sum"].nunique() == 1 and (df["n_tokens"] == len(ids)).all()
