"""Tiny Hugging Face causal LMs with a character tokenizer.

The study's embedded default and its tests need real models that vLLM and
transformers load exactly as they load hub models, on a machine with no
network. This module builds them: a character-level `PreTrainedTokenizerFast`
(one token per character, a chat template, `<|end|>` as end of sequence)
and a Llama-architecture model, saved with `save_pretrained`.

    from rlboundary.tinymodel import build_tiny_model
    build_tiny_model("outputs/models/tiny", hidden_size=64, num_layers=2)

head_dim is kept >= 32 because vLLM's CPU attention backend accepts only
head dims in {32, 64, 80, ...} (see ../shared/FACTS.md).
"""

from __future__ import annotations

import string
from pathlib import Path

BOS, EOS, PAD, UNK = "<|bos|>", "<|end|>", "<|pad|>", "<|unk|>"
USER, ASSISTANT, SYSTEM = "<|user|>", "<|assistant|>", "<|system|>"
SPECIAL_TOKENS = [PAD, BOS, EOS, UNK, USER, ASSISTANT, SYSTEM]

# Every printable ASCII character plus newline and tab: enough for math
# prompts, \boxed{} answers and code.
CHARACTERS = list(string.printable[:-2])  # drops \x0b, \x0c
assert "\n" in CHARACTERS and " " in CHARACTERS

# A chat template in the Hugging Face jinja format. Roles are single special
# tokens so that a conversation costs few tokens; each turn ends with EOS so
# that a model trained on it stops by itself.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'system' %}" + SYSTEM +
    "{% elif message['role'] == 'user' %}" + USER +
    "{% else %}" + ASSISTANT + "{% endif %}"
    "{{ message['content'] }}"
    "{% if message['role'] == 'assistant' %}" + EOS + "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}" + ASSISTANT + "{% endif %}"
)


def build_char_tokenizer(chat_template: str | None = CHAT_TEMPLATE, characters: list[str] | None = None):
    """A fast tokenizer with one id per character and the special tokens above.

    `characters` (default `CHARACTERS`) are single characters; more of them
    give a larger vocabulary whose every id still decodes to one character
    (benchmarks/gpu_onegpu_check.py matches a hub model's vocabulary size)."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate(SPECIAL_TOKENS + list(characters or CHARACTERS))}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token=UNK))
    # Split every character into its own "word"; [\s\S] also matches newlines.
    core.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
    core.decoder = decoders.Fuse()  # join characters back with no separator
    tok = PreTrainedTokenizerFast(
        tokenizer_object=core,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        unk_token=UNK,
        additional_special_tokens=[USER, ASSISTANT, SYSTEM],
        clean_up_tokenization_spaces=False,
    )
    # Register the specials so that "<|end|>" in text maps to one id.
    tok.add_special_tokens({"additional_special_tokens": [USER, ASSISTANT, SYSTEM]})
    if chat_template is not None:
        tok.chat_template = chat_template
    return tok


def make_llama(
    tokenizer,
    hidden_size: int = 64,
    num_layers: int = 2,
    num_heads: int = 2,
    intermediate_size: int | None = None,
    max_position_embeddings: int = 1024,
    seed: int = 0,
):
    """A randomly initialised LlamaForCausalLM sized for `tokenizer`."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    head_dim = hidden_size // num_heads
    if head_dim < 32:
        raise ValueError(f"head_dim={head_dim} < 32: vLLM's CPU backend needs >= 32")
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=intermediate_size or 4 * hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        num_key_value_heads=num_heads,
        head_dim=head_dim,
        max_position_embeddings=max_position_embeddings,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
        torch_dtype="float32",
    )
    torch.manual_seed(seed)
    return LlamaForCausalLM(config)


def save_model(model, tokenizer, path: str | Path) -> Path:
    """Save in Hugging Face format (safetensors + tokenizer + generation config)."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.bos_token_id = tokenizer.bos_token_id
    model.save_pretrained(path, safe_serialization=True)
    tokenizer.save_pretrained(path)
    return path


def build_tiny_model(path: str | Path, seed: int = 0, chat_template: str | None = CHAT_TEMPLATE, **shape) -> Path:
    """Build and save a random-init tiny Llama with a character tokenizer."""
    tok = build_char_tokenizer(chat_template=chat_template)
    model = make_llama(tok, seed=seed, **shape)
    return save_model(model, tok, path)
