"""The transformers sampling backend: n, stop strings, finish reasons, determinism,
batch-composition independence, and the static engine against `generate`.

Runs on the CPU with the session's tiny Llama and a tiny grouped-query Qwen2
(4 query heads, 2 key/value heads) built here, so that the static engine's
own attention is checked where it differs from transformers' sdpa path.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from rlboundary.errors import UserError  # noqa: E402
from rlboundary.hf_backend import (  # noqa: E402
    HFBackend,
    finish_completion,
    make_vocab_hash,
    mix32_int,
    mix32_tensor,
    row_key,
    sample_tokens,
)
from rlboundary.sampling import GenRequest, SamplingSettings  # noqa: E402

@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread():
    """Tiny models gain nothing from threads, and on a shared 2-core machine
    OpenMP's spinning threads slow each matmul by 10-30x."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


PROMPTS = ["<|user|>3+4-2=?<|assistant|>", "<|user|>Say something longer than that.<|assistant|>", "xy"]


@pytest.fixture(scope="module")
def gqa_model_path(tmp_path_factory):
    """A random-init Qwen2 with grouped-query attention and the character tokenizer."""
    from transformers import Qwen2Config, Qwen2ForCausalLM

    from rlboundary.tinymodel import build_char_tokenizer, save_model

    tok = build_char_tokenizer()
    config = Qwen2Config(vocab_size=len(tok), hidden_size=128, intermediate_size=256, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                         tie_word_embeddings=True, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                         pad_token_id=tok.pad_token_id)
    torch.manual_seed(1)
    model = Qwen2ForCausalLM(config)
    # Larger weights than the default init, so that greedy decoding is not a constant token.
    with torch.no_grad():
        model.model.embed_tokens.weight.mul_(20)
    return save_model(model, tok, tmp_path_factory.mktemp("models") / "tiny-gqa")


@pytest.fixture(scope="module")
def static_backend(tiny_model_path):
    return HFBackend(str(tiny_model_path), engine="static", batch_size=16)


@pytest.fixture(scope="module")
def generate_backend(tiny_model_path):
    return HFBackend(str(tiny_model_path), engine="generate", batch_size=16)


def _requests(n=3, seeds=(11, 22, 33)):
    return [GenRequest(p, n=n, seed=s, key=(i,)) for i, (p, s) in enumerate(zip(PROMPTS, seeds))]


# --- the counter-based noise ------------------------------------------------

def test_hash_on_tensors_matches_python_reference():
    g = torch.Generator().manual_seed(0)
    x = torch.randint(-(2**31), 2**31 - 1, (1000,), generator=g, dtype=torch.int64).to(torch.int32)
    got = [(v & 0xFFFFFFFF) for v in mix32_tensor(x).tolist()]
    assert got == [mix32_int(v & 0xFFFFFFFF) for v in x.tolist()]


def test_sampler_follows_softmax_and_respects_top_p():
    # 4 tokens with probabilities .5 .3 .15 .05 at temperature 1.
    probs = torch.tensor([0.5, 0.3, 0.15, 0.05])
    rows = 20000
    logits = probs.log().repeat(rows, 1)
    keys = torch.tensor([row_key(7, j) - (1 << 32) if row_key(7, j) >= 1 << 31 else row_key(7, j) for j in range(rows)],
                        dtype=torch.int32)
    vh = make_vocab_hash(4, "cpu")
    tok = sample_tokens(logits, keys, torch.tensor([3]), vh, temperature=1.0, top_p=1.0)
    freq = torch.bincount(tok, minlength=4).float() / rows
    assert torch.allclose(freq, probs, atol=0.015), freq
    # top_p=0.75: the nucleus is {0, 1} (mass before token 1 is .5 < .75; before token 2 it is .8).
    tok = sample_tokens(logits, keys, torch.tensor([3]), vh, temperature=1.0, top_p=0.75)
    freq = torch.bincount(tok, minlength=4).float() / rows
    assert freq[2] == 0 and freq[3] == 0
    assert abs(freq[0] - 0.5 / 0.8) < 0.015


def test_top_p_set_matches_transformers_warper():
    from transformers.generation.logits_process import TopPLogitsWarper

    g = torch.Generator().manual_seed(0)
    logits = torch.randn(64, 300, generator=g) * 3
    kept_hf = TopPLogitsWarper(top_p=0.9)(None, logits.clone()) > float("-inf")
    # Our nucleus, read back from which tokens can ever win: tokens outside get -inf before the noise.
    x = logits.clone()
    sorted_x = torch.sort(x, dim=-1, descending=True).values
    p = torch.softmax(sorted_x, -1)
    n_keep = ((p.cumsum(-1) - p) < 0.9).sum(-1, keepdim=True)
    kept_ours = x >= sorted_x.gather(1, n_keep - 1)
    assert torch.equal(kept_ours, kept_hf)


# --- finish semantics (vLLM's) ----------------------------------------------

def test_finish_completion_eos_stop_and_length(static_backend):
    tok = static_backend.tokenizer
    eos = tok.eos_token_id
    ids = tok("abc;def", add_special_tokens=False).input_ids
    c = finish_completion(ids + [eos] + ids, [eos], (), tok)
    assert (c.text, c.num_tokens, c.finish_reason) == ("abc;def", len(ids) + 1, "stop")
    c = finish_completion(ids, [eos], (";d",), tok)
    # The stop string is cut from the text; it counts the tokens up to the one completing ";d".
    assert (c.text, c.num_tokens, c.finish_reason) == ("abc", 5, "stop")
    c = finish_completion(ids, [eos], ("zz",), tok)
    assert (c.text, c.num_tokens, c.finish_reason) == ("abc;def", len(ids), "length")
    # A stop string inside a special token's name does not count (vLLM matches decoded text).
    c = finish_completion(tok("a<|user|>b", add_special_tokens=False).input_ids, [eos], ("user",), tok)
    assert c.finish_reason == "length" and c.text == "ab"


# --- the Backend protocol, both engines -------------------------------------

@pytest.mark.parametrize("engine", ["static", "generate"])
def test_n_and_max_tokens(engine, static_backend, generate_backend):
    backend = static_backend if engine == "static" else generate_backend
    settings = SamplingSettings(n=3, temperature=1.0, top_p=0.95, max_tokens=12)
    out = backend.generate(_requests(n=3), settings)
    assert [len(o) for o in out] == [3, 3, 3]
    for comps in out:
        for c in comps:
            assert 1 <= c.num_tokens <= 12
            assert c.finish_reason in ("stop", "length")
            if c.finish_reason == "length":
                assert c.num_tokens == 12


@pytest.mark.parametrize("engine", ["static", "generate"])
def test_stop_strings(engine, static_backend, generate_backend):
    backend = static_backend if engine == "static" else generate_backend
    # A random char model emits every printable character: "e" and "1" stop most samples early.
    settings = SamplingSettings(n=8, temperature=1.0, top_p=1.0, max_tokens=60, stop=("e", "1"))
    out = backend.generate(_requests(n=8), settings)
    comps = [c for o in out for c in o]
    stopped = [c for c in comps if c.finish_reason == "stop"]
    assert len(stopped) >= len(comps) // 2
    for c in comps:
        assert "e" not in c.text and "1" not in c.text
        if c.finish_reason == "length":
            assert c.num_tokens == 60
        else:
            assert c.num_tokens < 60


@pytest.mark.parametrize("engine", ["static", "generate"])
def test_same_seed_same_samples_other_seed_differs(engine, static_backend, generate_backend):
    backend = static_backend if engine == "static" else generate_backend
    settings = SamplingSettings(n=4, temperature=0.8, top_p=0.95, max_tokens=24)
    a = backend.generate(_requests(n=4), settings)
    b = backend.generate(_requests(n=4), settings)
    assert a == b
    c = backend.generate(_requests(n=4, seeds=(12, 23, 34)), settings)
    assert [x.text for o in a for x in o] != [x.text for o in c for x in o]
    # Samples within a unit differ from each other.
    assert len({x.text for x in a[1]}) > 1


@pytest.mark.parametrize("engine", ["static", "generate"])
def test_samples_do_not_depend_on_batch_composition(engine, static_backend, generate_backend):
    backend = static_backend if engine == "static" else generate_backend
    settings = SamplingSettings(n=4, temperature=1.0, top_p=0.9, max_tokens=20)
    reqs = _requests(n=4)
    together = backend.generate(reqs, settings)
    alone = backend.generate([reqs[1]], settings)
    reversed_ = backend.generate(reqs[::-1], settings)[::-1]
    assert alone[0] == together[1]
    assert reversed_ == together


def test_unit_larger_than_batch_is_split_and_stays_deterministic(tiny_model_path):
    small = HFBackend(str(tiny_model_path), engine="static", batch_size=3)
    settings = SamplingSettings(n=7, temperature=1.0, max_tokens=10)
    a = small.generate([GenRequest(PROMPTS[0], n=7, seed=5)], settings)
    assert len(a[0]) == 7
    assert a == small.generate([GenRequest(PROMPTS[0], n=7, seed=5)], settings)


@pytest.mark.parametrize("pack_units", [False, True])
def test_static_engine_greedy_equals_generate_on_gqa_model(gqa_model_path, pack_units):
    """The static engine's cache, masks, positions and GQA attention reproduce transformers' forward."""
    settings = SamplingSettings(n=2, temperature=0.0, max_tokens=25)
    reqs = _requests(n=2)
    ref = HFBackend(str(gqa_model_path), engine="generate").generate(reqs, settings)
    ours = HFBackend(str(gqa_model_path), engine="static", pack_units=pack_units).generate(reqs, settings)
    assert ours == ref
    assert len({c.text for o in ref for c in o}) > 1  # the check is not vacuous: prompts give different text


def test_gqa_static_logits_match_full_forward(gqa_model_path):
    """Per-step log-probs of the static engine equal a plain full-sequence forward."""
    from rlboundary.hf_backend import StaticDecoder, load_model_and_tokenizer

    model, tok = load_model_and_tokenizer(str(gqa_model_path))
    prompts = [tok(p).input_ids for p in PROMPTS]
    res = StaticDecoder(model).decode(prompts, [1, 2, 3], max_new_tokens=6, temperature=0.0, top_p=1.0)
    for p, gen in zip(prompts, res.tokens):
        seq = torch.tensor([p + gen.tolist()])
        with torch.no_grad():
            logits = model(seq).logits[0]
        greedy = logits[len(p) - 1:-1].argmax(-1).tolist()
        assert greedy == gen.tolist()


def test_bad_options_are_user_errors(tiny_model_path, tmp_path):
    with pytest.raises(UserError, match="engine"):
        HFBackend(str(tiny_model_path), engine="turbo")
    with pytest.raises(UserError, match="does not exist"):
        HFBackend(str(tmp_path / "nope"))
    with pytest.raises(UserError, match="CUDA"):
        if torch.cuda.is_available():
            pytest.skip("has a GPU")
        HFBackend(str(tiny_model_path), device="cuda")


def test_accepts_a_model_spec(tiny_model_path):
    models = pytest.importorskip("rlboundary.models")
    spec = models.ModelSpec(name="tiny", path=str(tiny_model_path), stop=["7"])
    backend = HFBackend(spec, engine="static")
    out = backend.generate([GenRequest(PROMPTS[0], n=4, seed=3)], SamplingSettings(n=4, temperature=1.0, max_tokens=40))
    # The spec's stop string applies although the settings name none.
    assert all("7" not in c.text for c in out[0])
    assert any(c.finish_reason == "stop" for c in out[0])


@pytest.mark.slow
def test_compiled_decode_forward_gives_the_same_samples(gqa_model_path):
    """compile=True (inductor) changes speed, not samples (CPU fp32; about a minute of compilation)."""
    from rlboundary.hf_backend import StaticDecoder, load_model_and_tokenizer

    model, tok = load_model_and_tokenizer(str(gqa_model_path))
    prompts = [tok(p).input_ids for p in PROMPTS]
    keys = [row_key(9, j) for j in range(len(prompts))]
    eager = StaticDecoder(model).decode(prompts, keys, max_new_tokens=12, temperature=0.8, top_p=0.95)
    compiled = StaticDecoder(model, compile=True).decode(prompts, keys, max_new_tokens=12, temperature=0.8, top_p=0.95)
    assert (eager.tokens == compiled.tokens).all()
