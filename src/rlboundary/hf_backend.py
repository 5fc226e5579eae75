"""The transformers sampling backend: the fallback where vLLM is missing.

`HFBackend` implements `sampling.Backend` with plain transformers models and
two engines:

- ``engine="generate"``: transformers ``generate`` (``do_sample``,
  ``temperature``, ``top_p``, ``stop_strings``), one work unit per call, the
  global RNG seeded with the unit's seed just before it. A unit is one prompt
  x n samples (``num_return_sequences=n``), so its batch never holds another
  unit: its samples cannot depend on batch composition. The CPU default.
- ``engine="static"``: this module's own decode loop. Key/value tensors are
  preallocated for the whole batch (a static cache), the decode step is
  captured once as a CUDA graph and replayed (on the GPU; eager on the CPU),
  attention is a grouped-query kernel that reads each key/value head once,
  and sampling is Gumbel-max with *counter-based* noise: the noise for
  (row, step, token id) is a hash of the row's key, the step and the token
  id, computed on the device. A row's key is derived from (unit seed, sample
  index), so a sample depends on nothing but its own unit. The GPU default.

    from rlboundary.hf_backend import HFBackend
    from rlboundary.sampling import GenRequest, SamplingSettings
    backend = HFBackend("outputs/models/tiny")          # or a ModelSpec
    out = backend.generate([GenRequest("2+2=", n=8, seed=1)], SamplingSettings(n=8, max_tokens=32))

Determinism and its trade-off. Both engines give identical samples for the
same seed, settings, backend options and machine, whatever other units are
in the same call. By default (``pack_units=False``) the static engine decodes
each unit in batches of its own rows (split at ``batch_size``), so even the
floating-point arithmetic of a unit is independent of its neighbours.
``pack_units=True`` fills each decode batch with rows of several units: the
noise of every row is still its own, but left padding and the batch size
change bf16/fp32 rounding in the matrix products, so a sample can differ
when the batch composition differs (a resumed run then is not bit-identical
to an uninterrupted one). Packing pays only when units are small
(n < batch_size); with the study's chunk_size of 64 a unit already fills a
batch of 64.

Output semantics follow vLLM: text is decoded without special tokens and
cut before the first stop string (the stop string is not part of the text);
``num_tokens`` counts generated tokens up to and including the one that
completed the end-of-sequence token or stop string; ``finish_reason`` is
"stop" for either, else "length".

Speed (benchmarks/gpu_check.sh on one H200, torch 2.11, transformers 5.17;
random-init Qwen2.5-1.5B shape, bf16, 64 prompt + 256 sampled tokens,
T=0.6, top-p 0.95), tokens/s at batch 1 / 64 / 256:

    generate (plain)                          18 /  1.16k /  4.5k
    generate (static cache, compiled)          - /  6.6k  / 13.9k   (27-43 s first call)
    static engine (CUDA graph)               235 /  9.6k  / 20.2k   (2-4 s first call)
    static engine + compile=True             397 / 14.2k  / 25.3k   (~27 s first call per shape)

Plain ``generate`` is bound by kernel launches; the graph replays a whole
decode step (forward and sampling) as one launch.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from .errors import UserError
from .sampling import Completion, GenRequest, SamplingSettings

# ---------------------------------------------------------------------------
# Model loading
# ---------------------------------------------------------------------------

# Architectures whose attention modules call `past_key_values.update(k, v,
# layer_idx)` and take a prepared 4D mask: the static engine drives them with
# its own cache. Others use `generate`.
STATIC_ENGINE_MODEL_TYPES = ("llama", "qwen2", "qwen3", "mistral")


def resolve_device(device: str | None = None) -> str:
    import torch

    if device is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"device={device!r} was asked for, but torch sees no CUDA GPU.", "pass device='cpu' or run on a GPU machine.")
    return str(device)


def resolve_dtype(dtype: Any, device: str):
    """`None`/"auto": bfloat16 on a GPU, float32 on the CPU (bf16 matmuls are slow there)."""
    import torch

    if dtype is None or dtype == "auto":
        return torch.bfloat16 if str(device).startswith("cuda") else torch.float32
    if isinstance(dtype, torch.dtype):
        return dtype
    names = {"bfloat16": torch.bfloat16, "bf16": torch.bfloat16, "float16": torch.float16, "fp16": torch.float16,
             "half": torch.float16, "float32": torch.float32, "fp32": torch.float32, "float": torch.float32}
    if dtype not in names:
        raise UserError(f"dtype={dtype!r} is not known.", f"use one of: auto, {', '.join(sorted(names))}.")
    return names[dtype]


def _spec_fields(model) -> tuple[str, str | None, Any, tuple[str, ...], int | None]:
    """(path, tokenizer, dtype, stop, max_model_len) from a ModelSpec-like object or a path."""
    if isinstance(model, (str, Path)):
        return str(model), None, None, (), None
    return (str(model.path), getattr(model, "tokenizer", None), getattr(model, "dtype", None),
            tuple(getattr(model, "stop", ()) or ()), getattr(model, "max_model_len", None))


def load_model_and_tokenizer(path: str, tokenizer: str | None = None, device: str = "cpu", dtype=None):
    """Load a causal LM and its tokenizer from a local dir, a local .gguf file, or a hub id."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    p = Path(path).expanduser()
    kwargs: dict[str, Any] = {}
    if p.suffix == ".gguf":
        if not p.is_file():
            raise UserError(f"GGUF file {p} does not exist.", "check the model path.")
        source, kwargs["gguf_file"] = str(p.parent), p.name
    elif p.exists():
        source = str(p)
    elif path.startswith((".", "/", "~")) or path.count("/") > 1:  # a hub id is "owner/name"
        raise UserError(f"model directory {path} does not exist.", "build or download the model first, or fix the path.")
    else:
        source = path  # a hub id
    try:
        tok_source = tokenizer or source
        tok_kwargs = {} if tokenizer else dict(kwargs)
        tok = AutoTokenizer.from_pretrained(tok_source, **tok_kwargs)
        model = AutoModelForCausalLM.from_pretrained(source, dtype=dtype, **kwargs)
    except OSError as err:
        raise UserError(f"cannot load model {path!r}: {str(err).splitlines()[0]}",
                        "use a local directory or .gguf file, or go online for a hub id.") from err
    model.to(device).eval()
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    return model, tok


def eos_token_ids(model, tokenizer) -> list[int]:
    ids = model.generation_config.eos_token_id
    ids = [] if ids is None else ([ids] if isinstance(ids, int) else list(ids))
    if tokenizer.eos_token_id is not None and tokenizer.eos_token_id not in ids:
        ids.append(tokenizer.eos_token_id)
    return ids


# ---------------------------------------------------------------------------
# Counter-based sampling noise (identical on CPU and GPU)
# ---------------------------------------------------------------------------

_M32 = 0xFFFFFFFF
_C1, _C2, _GOLDEN = 0x7FEB352D, 0x846CA68B, 0x9E3779B1


def _to_i32(c: int) -> int:
    """An unsigned 32-bit constant as the signed int32 torch multiplies with."""
    return c - (1 << 32) if c >= (1 << 31) else c


def mix32_int(x: int) -> int:
    """A 32-bit integer hash (Chris Wellons' lowbias32), on Python ints."""
    x &= _M32
    x ^= x >> 16
    x = (x * _C1) & _M32
    x ^= x >> 15
    x = (x * _C2) & _M32
    x ^= x >> 16
    return x


def mix32_tensor(x):
    """`mix32_int` on an int32 tensor (two's-complement wrap-around; logical shifts via masks)."""
    x = x ^ ((x >> 16) & 0xFFFF)
    x = x * _to_i32(_C1)
    x = x ^ ((x >> 15) & 0x1FFFF)
    x = x * _to_i32(_C2)
    return x ^ ((x >> 16) & 0xFFFF)


def row_key(seed: int, sample_idx: int) -> int:
    """The noise key of sample `sample_idx` of a unit seeded with `seed`."""
    return mix32_int(mix32_int(seed) ^ mix32_int(sample_idx * _GOLDEN + 1))


def _as_signed(values: list[int]) -> list[int]:
    return [_to_i32(v & _M32) for v in values]


def gumbel_noise(row_keys, step, vocab_hash):
    """Gumbel(0, 1) noise [B, V] from (row key, step, token id); float32."""
    import torch

    step_key = mix32_tensor(step.to(torch.int32) * _to_i32(_GOLDEN) + 0x632BE5AB)
    rowstep = mix32_tensor(row_keys ^ step_key)  # [B]
    h = mix32_tensor(rowstep[:, None] ^ vocab_hash[None, :])
    # 24 high bits -> U in (0, 1), never 0 or 1.
    u = (((h >> 8) & 0xFFFFFF).to(torch.float32) + 0.5) * (1.0 / (1 << 24))
    return -torch.log(-torch.log(u))


def make_vocab_hash(vocab_size: int, device):
    import torch

    v = torch.arange(vocab_size, dtype=torch.int32, device=device)
    return mix32_tensor(v * _to_i32(_GOLDEN))


def sample_tokens(logits, row_keys, step, vocab_hash, temperature: float, top_p: float):
    """Next token per row: greedy at temperature 0, else Gumbel-max over the top-p set.

    The top-p set is every token whose logit is >= the smallest logit of the
    shortest prefix (by descending probability) with mass >= top_p: a set
    defined by values alone, so ties and sort order cannot change it.
    """
    import torch

    if temperature == 0:
        return logits.argmax(dim=-1)
    x = logits.float() / temperature
    if top_p < 1.0:
        sorted_x = torch.sort(x, dim=-1, descending=True).values
        probs = torch.softmax(sorted_x, dim=-1)
        mass_before = torch.cumsum(probs, dim=-1) - probs
        n_keep = (mass_before < top_p).sum(dim=-1, keepdim=True).clamp_(min=1)
        threshold = sorted_x.gather(1, n_keep - 1)
        x = x.masked_fill(x < threshold, float("-inf"))
    return (x + gumbel_noise(row_keys, step, vocab_hash)).argmax(dim=-1)


# ---------------------------------------------------------------------------
# Static-cache decode engine
# ---------------------------------------------------------------------------

ATTENTION_NAME = "rlboundary_gqa"


def gqa_attention(module, query, key, value, attention_mask, dropout=0.0, scaling=None, **kwargs):
    """Attention for grouped-query models that reads each key/value head once.

    query [B, H, Q, D], key/value [B, KVH, L, D], attention_mask bool
    [B, 1, Q, L] (True = attend). transformers' sdpa path repeats K/V to H
    heads whenever a mask is given (a copy of the whole cache per step);
    here the G = H / KVH query heads of a group share one matmul instead.
    """
    import torch

    b, h, q, d = query.shape
    kvh, length = key.shape[1], key.shape[2]
    g = h // kvh
    scale = scaling if scaling is not None else d ** -0.5
    qg = query.reshape(b, kvh, g * q, d)
    scores = torch.matmul(qg, key.transpose(-1, -2)).view(b, kvh, g, q, length)
    scores = scores.float() * scale
    if attention_mask is not None:
        scores = scores.masked_fill(~attention_mask[:, :, None, :, :], float("-inf"))
    probs = torch.softmax(scores, dim=-1).to(value.dtype).view(b, kvh, g * q, length)
    out = torch.matmul(probs, value).view(b, h, q, d)
    return out.transpose(1, 2).contiguous(), None


def _register_attention() -> None:
    from transformers import AttentionInterface

    AttentionInterface.register(ATTENTION_NAME, gqa_attention)


@contextlib.contextmanager
def _attention_impl(model, name: str):
    """Switch the model's attention implementation for the duration (the config is shared by all layers)."""
    old = model.config._attn_implementation
    model.config._attn_implementation = name
    try:
        yield
    finally:
        model.config._attn_implementation = old


class SlotKVCache:
    """Preallocated keys/values [B, KVH, L, D] per layer, written at `slots`.

    Quacks like the part of transformers' `Cache` that the attention modules
    of STATIC_ENGINE_MODEL_TYPES use: `update(k, v, layer_idx, *args)`.
    `slots` is a device tensor of cache positions for the tokens in flight;
    the engine updates it in place so that a captured graph sees new values.
    """

    def __init__(self, n_layers: int, batch: int, kv_heads: int, length: int, head_dim: int, dtype, device):
        import torch

        self.keys = [torch.zeros(batch, kv_heads, length, head_dim, dtype=dtype, device=device) for _ in range(n_layers)]
        self.values = [torch.zeros_like(k) for k in self.keys]
        self.slots = torch.zeros(1, dtype=torch.long, device=device)

    def update(self, key_states, value_states, layer_idx: int, *args, **kwargs):
        self.keys[layer_idx].index_copy_(2, self.slots, key_states.to(self.keys[layer_idx].dtype))
        self.values[layer_idx].index_copy_(2, self.slots, value_states.to(self.values[layer_idx].dtype))
        return self.keys[layer_idx], self.values[layer_idx]

    def get_seq_length(self, layer_idx: int = 0) -> int:
        return 0  # positions are always passed explicitly

    def __len__(self) -> int:
        return len(self.keys)


class _DecodeState:
    """Every tensor one decode batch shape needs, at fixed addresses (graph-safe)."""

    def __init__(self, model, batch: int, length: int, max_new: int, device, dtype):
        import torch

        cfg = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
        head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
        kv_heads = getattr(cfg, "num_key_value_heads", None) or cfg.num_attention_heads
        self.batch, self.length, self.max_new = batch, length, max_new
        self.cache = SlotKVCache(cfg.num_hidden_layers, batch, kv_heads, length, head_dim, dtype, device)
        self.valid = torch.zeros(batch, length, dtype=torch.bool, device=device)  # key slot holds a real token
        self.cur_tok = torch.zeros(batch, 1, dtype=torch.long, device=device)
        self.positions = torch.zeros(batch, 1, dtype=torch.long, device=device)
        self.step = torch.zeros(1, dtype=torch.long, device=device)
        self.row_keys = torch.zeros(batch, dtype=torch.int32, device=device)
        self.out = torch.zeros(batch, max_new, dtype=torch.long, device=device)
        self.slot_base = torch.zeros(1, dtype=torch.long, device=device)  # prompt length - 1
        self.decode_slots = torch.zeros(1, dtype=torch.long, device=device)
        vocab = model.get_output_embeddings().weight.shape[0]
        self.logits_buf = torch.zeros(batch, vocab, dtype=dtype, device=device)
        self.graph = None
        self.graph_mode = "eager"
        self.graph_key = None
        self.capture_error = None


@dataclass
class DecodeResult:
    tokens: Any  # np.ndarray [B, steps] of generated ids
    steps: int
    graph_mode: str


class StaticDecoder:
    """Batched sampling on a static KV cache, the decode step replayed as a CUDA graph.

    `decode(prompts, keys, ...)` takes token-id prompts (left-padded inside)
    and one noise key per row; it returns the generated ids. Graphs and
    caches are kept per (batch, cache length) shape, the most recent
    `max_shapes` of them.
    """

    def __init__(self, model, use_graphs: bool | None = None, max_shapes: int = 3, compile: bool = False):
        import torch

        model_type = getattr(model.config, "model_type", "")
        layer_types = set(getattr(model.config, "layer_types", None) or ["full_attention"])
        if model_type not in STATIC_ENGINE_MODEL_TYPES or layer_types != {"full_attention"}:
            raise UserError(f"the static engine does not support model type {model_type!r} (layers {sorted(layer_types)}).",
                            "use HFBackend(..., engine='generate').")
        _register_attention()
        self.model = model
        self.device = next(model.parameters()).device
        self.dtype = next(model.parameters()).dtype
        self.use_graphs = (self.device.type == "cuda") if use_graphs is None else use_graphs
        self.max_shapes = max_shapes
        self.states: OrderedDict[tuple, _DecodeState] = OrderedDict()
        self.vocab_hash = make_vocab_hash(model.get_output_embeddings().weight.shape[0], self.device)
        self.max_positions = getattr(model.config, "max_position_embeddings", None)
        self._torch = torch
        # Optional: an inductor-compiled decode forward (fused elementwise kernels),
        # still replayed inside this class's own CUDA graph. Costs a compilation
        # per (batch, cache length) shape; the prefill stays eager. The sampler
        # stays eager: torch 2.11's inductor fails to generate code for the
        # cumsum over a 152k vocabulary at batch >= 64 (SplitScan codegen error).
        self.compiled = compile
        self._decode_forward = torch.compile(self._logits, dynamic=False) if compile else self._logits
        self._sample = sample_tokens

    # -- one forward ----------------------------------------------------------
    def _logits(self, state: _DecodeState, input_ids, positions, mask):
        out = self.model(input_ids=input_ids, attention_mask=mask, position_ids=positions,
                         past_key_values=state.cache, use_cache=True, logits_to_keep=1)
        return out.logits[:, -1, :]

    def _decode_step(self, state: _DecodeState, temperature: float, top_p: float, sample: bool = True):
        """One token for every row; mutates only `state`'s tensors in place."""
        # The token sampled at step s-1 goes to cache slot (prompt length - 1) + s.
        self._torch.add(state.step, state.slot_base, out=state.decode_slots)
        state.cache.slots = state.decode_slots
        state.valid.index_fill_(1, state.decode_slots, True)
        logits = self._decode_forward(state, state.cur_tok, state.positions, state.valid[:, None, None, :])
        state.logits_buf.copy_(logits)
        if sample:
            self._sample_into(state, temperature, top_p)

    def _sample_into(self, state, temperature, top_p):
        tok = self._sample(state.logits_buf, state.row_keys, state.step, self.vocab_hash, temperature, top_p)
        state.out.index_copy_(1, state.step, tok[:, None])
        state.cur_tok.copy_(tok[:, None])
        state.positions.add_(1)
        state.step.add_(1)

    # -- prefill ----------------------------------------------------------------
    def _prefill(self, state, prompts: list[list[int]], keys: list[int], temperature, top_p):
        torch = self._torch
        b, plen = len(prompts), max(len(p) for p in prompts)
        ids = torch.zeros(b, plen, dtype=torch.long)
        real = torch.zeros(b, plen, dtype=torch.bool)
        for i, p in enumerate(prompts):  # left padding
            ids[i, plen - len(p):] = torch.tensor(p, dtype=torch.long)
            real[i, plen - len(p):] = True
        ids, real = ids.to(self.device), real.to(self.device)
        state.valid.zero_()
        state.valid[:, :plen] = real
        causal = torch.ones(plen, plen, dtype=torch.bool, device=self.device).tril_()
        # A padding query attends to itself only: never a fully masked row (NaN).
        eye = torch.eye(plen, dtype=torch.bool, device=self.device)
        mask = torch.zeros(b, 1, plen, state.length, dtype=torch.bool, device=self.device)
        mask[:, 0, :, :plen] = causal[None] & (real[:, None, :] | eye[None])
        positions = (real.long().cumsum(-1) - 1).clamp_(min=0)
        state.cache.slots = torch.arange(plen, device=self.device)
        logits = self._logits(state, ids, positions, mask)
        state.cache.slots = state.decode_slots
        state.logits_buf.copy_(logits)
        state.row_keys.copy_(torch.tensor(_as_signed(keys), dtype=torch.int32))
        state.step.zero_()
        state.positions.copy_(positions[:, -1:] + 1)
        state.slot_base.fill_(plen - 1)
        # First token from the prompt's last position; then step == 1.
        state.out.zero_()
        self._sample_into(state, temperature, top_p)

    # -- graphs -----------------------------------------------------------------
    def _capture(self, state, prompts, keys, temperature, top_p, sample_in_graph: bool):
        torch = self._torch
        self._prefill(state, prompts, keys, temperature, top_p)
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(2):  # warm-up outside the graph (cuBLAS handles, allocator)
                self._decode_step(state, temperature, top_p, sample=sample_in_graph)
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            self._decode_step(state, temperature, top_p, sample=sample_in_graph)
        torch.cuda.synchronize()
        return graph

    def _state_for(self, batch: int, length: int, max_new: int) -> tuple[_DecodeState, bool]:
        key = (batch, length, max_new)
        if key in self.states:
            self.states.move_to_end(key)
            return self.states[key], False
        while len(self.states) >= self.max_shapes:
            self.states.popitem(last=False)
            if self.device.type == "cuda":
                self._torch.cuda.empty_cache()
        state = _DecodeState(self.model, batch, length, max_new, self.device, self.dtype)
        self.states[key] = state
        return state, True

    # -- public -----------------------------------------------------------------
    def decode(self, prompts: list[list[int]], keys: list[int], max_new_tokens: int, temperature: float, top_p: float,
               is_done=None, check_every: int = 32) -> DecodeResult:
        """Sample up to `max_new_tokens` ids for each prompt.

        `is_done(tokens_so_far: np.ndarray[B, t]) -> bool`, if given, is called
        every `check_every` steps; True ends decoding early (all rows finished).
        """
        torch = self._torch
        plen = max(len(p) for p in prompts)
        if self.max_positions and plen + max_new_tokens > self.max_positions:
            max_new_tokens = self.max_positions - plen
            if max_new_tokens < 1:
                raise UserError(f"a prompt of {plen} tokens leaves no room under max_position_embeddings={self.max_positions}.",
                                "shorten the prompt or use a model with a longer context.")
        # Round the cache length up so that prompts of similar length share a graph.
        length = -(-(plen + max_new_tokens) // 64) * 64
        temp_key = (float(temperature), float(top_p))
        with torch.inference_mode(), _attention_impl(self.model, ATTENTION_NAME):
            state, fresh = self._state_for(len(prompts), length, max_new_tokens)
            if self.use_graphs and (fresh or state.graph_key != temp_key):
                state.graph, state.graph_mode = None, "eager"
                for in_graph in (True, False):  # whole step, else the forward only
                    try:
                        state.graph = self._capture(state, prompts, keys, temperature, top_p, in_graph)
                        state.graph_mode = "graph(forward+sample)" if in_graph else "graph(forward)"
                        break
                    except Exception as err:  # capture unsupported here: keep going with less
                        state.capture_error = f"{type(err).__name__}: {err}"
                        torch.cuda.synchronize()
                state.graph_key = temp_key
            self._prefill(state, prompts, keys, temperature, top_p)
            steps = 1
            while steps < max_new_tokens:
                if state.graph is not None:
                    state.graph.replay()
                    if state.graph_mode == "graph(forward)":
                        self._sample_into(state, temperature, top_p)
                else:
                    self._decode_step(state, temperature, top_p)
                steps += 1
                if is_done is not None and steps % check_every == 0 and is_done(state.out[:, :steps].cpu().numpy()):
                    break
            tokens = state.out[:, :steps].cpu().numpy()
        return DecodeResult(tokens=tokens, steps=steps, graph_mode=state.graph_mode)


# ---------------------------------------------------------------------------
# Turning token ids into vLLM-style completions
# ---------------------------------------------------------------------------

def finish_completion(tokens: Sequence[int], eos_ids: Sequence[int], stop: Sequence[str], tokenizer) -> Completion:
    """Text, token count and finish reason of one generated id sequence (see module docstring)."""
    tokens = [int(t) for t in tokens]
    eos = set(eos_ids)
    end = next((i for i, t in enumerate(tokens) if t in eos), None)
    body = tokens if end is None else tokens[:end]

    def decode(ids):
        return tokenizer.decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=False)

    text = decode(body)
    hits = [(text.find(s) + len(s), text.find(s), s) for s in stop if s and s in text]
    if hits:
        _, start, _ = min(hits)
        # The fewest tokens whose text already holds a stop string.
        lo, hi = 1, len(body)
        while lo < hi:
            mid = (lo + hi) // 2
            if any(s and s in decode(body[:mid]) for s in stop):
                hi = mid
            else:
                lo = mid + 1
        return Completion(text=text[:start], num_tokens=lo, finish_reason="stop")
    # Token ids are kept where they are exactly the text (no stop string cut inside them); EOS is left out.
    if end is not None:
        return Completion(text=text, num_tokens=end + 1, finish_reason="stop", token_ids=tuple(body))
    return Completion(text=text, num_tokens=len(tokens), finish_reason="length", token_ids=tuple(body))


def _all_rows_done(tokens, eos_ids, stop, tokenizer) -> bool:
    """True when every row has hit an end-of-sequence id or a stop string."""
    import numpy as np

    done = np.isin(tokens, list(eos_ids)).any(axis=1) if eos_ids else np.zeros(len(tokens), dtype=bool)
    if stop:
        for i in np.flatnonzero(~done):
            text = tokenizer.decode(tokens[i].tolist(), skip_special_tokens=True)
            done[i] = any(s in text for s in stop)
    return bool(done.all())


def _stop_text_criteria_class():
    from transformers import StoppingCriteria

    class StopTextCriteria(StoppingCriteria):
        """Ends a row once its *decoded text* holds a stop string.

        transformers' own `stop_strings` matches the raw token strings, special
        tokens included (a stop "e" fires on "<|end|>"), which vLLM does not:
        vLLM looks at the detokenized text without special tokens. Only the
        last `window` tokens are decoded each step; a stop missed there costs
        extra tokens, never a wrong sample, because `finish_completion` cuts
        the final text from the full sequence (a row's samples do not depend
        on when other rows stop: finished rows keep drawing noise).
        """

        def __init__(self, stops, tokenizer, prompt_len: int):
            self.stops, self.tokenizer, self.prompt_len = stops, tokenizer, prompt_len
            self.window = 8 * max(len(s) for s in stops) + 8

        def __call__(self, input_ids, scores, **kwargs):
            import torch

            tails = input_ids[:, max(self.prompt_len, input_ids.shape[1] - self.window):].tolist()
            texts = self.tokenizer.batch_decode(tails, skip_special_tokens=True)
            return torch.tensor([any(s in t for s in self.stops) for t in texts], device=input_ids.device)

    return StopTextCriteria


def _StopTextCriteria(stops, tokenizer, prompt_len):
    return _stop_text_criteria_class()(stops, tokenizer, prompt_len)


# ---------------------------------------------------------------------------
# The backend
# ---------------------------------------------------------------------------

class HFBackend:
    """transformers sampling backend (see the module docstring).

    model: a ModelSpec (path, tokenizer, dtype, stop, max_model_len) or a path.
    engine: "auto" (static on CUDA, generate on the CPU), "static" or "generate".
    batch_size: most rows decoded at once (a unit with more samples is split).
    pack_units: let the static engine put rows of several units in one batch
      (faster for small units; see the determinism trade-off above).
    use_graphs: capture the static engine's decode step as a CUDA graph (default: on CUDA).
    compile: also torch.compile the static engine's decode forward: faster
      (H200, Qwen2.5-1.5B shape: 14.2k vs 9.6k tok/s at batch 64) but about
      30 s of compilation per (batch, cache length) shape, so off by default.
    """

    name = "hf"

    def __init__(self, model, device: str | None = None, dtype=None, batch_size: int = 256, engine: str = "auto",
                 pack_units: bool = False, use_graphs: bool | None = None, compile: bool = False,
                 check_every: int = 32):
        import torch

        if engine not in ("auto", "static", "generate"):
            raise UserError(f"engine={engine!r} is not known.", "use 'auto', 'static' or 'generate'.")
        if batch_size < 1:
            raise UserError(f"batch_size={batch_size} must be >= 1.", "pass a positive batch_size.")
        path, tok_path, spec_dtype, self.spec_stop, self.max_model_len = _spec_fields(model)
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype if dtype is not None else spec_dtype, self.device)
        self.model, self.tokenizer = load_model_and_tokenizer(path, tok_path, self.device, self.dtype)
        self.eos_ids = eos_token_ids(self.model, self.tokenizer)
        self.batch_size, self.pack_units, self.check_every = batch_size, pack_units, check_every
        if engine == "auto":
            supported = getattr(self.model.config, "model_type", "") in STATIC_ENGINE_MODEL_TYPES
            engine = "static" if self.device.startswith("cuda") and supported else "generate"
        self.engine = engine
        self.decoder = StaticDecoder(self.model, use_graphs=use_graphs, compile=compile) if engine == "static" else None
        self._torch = torch

    # -- helpers ----------------------------------------------------------------
    def _stops(self, settings: SamplingSettings) -> tuple[str, ...]:
        return tuple(dict.fromkeys(tuple(settings.stop) + self.spec_stop))

    def _max_new(self, prompt_len: int, settings: SamplingSettings) -> int:
        limit = self.max_model_len or getattr(self.model.config, "max_position_embeddings", None)
        if limit is not None and prompt_len >= limit:
            raise UserError(f"a prompt of {prompt_len} tokens does not fit the model's context of {limit}.",
                            "shorten the prompt or raise max_model_len.")
        return settings.max_tokens if limit is None else min(settings.max_tokens, limit - prompt_len)

    def encode(self, prompt: str) -> list[int]:
        # As vLLM does: the tokenizer's own special tokens (e.g. BOS) are added.
        return self.tokenizer(prompt).input_ids

    # -- Backend protocol -------------------------------------------------------
    def generate(self, requests: Sequence[GenRequest], settings: SamplingSettings) -> list[list[Completion]]:
        if self.engine == "generate":
            return [self._generate_unit(r, settings) for r in requests]
        return self._generate_static(requests, settings)

    def close(self) -> None:
        self.decoder = None
        self.model = None
        if self.device.startswith("cuda"):
            self._torch.cuda.empty_cache()

    # -- engine: transformers generate -------------------------------------------
    def _generate_unit(self, request: GenRequest, settings: SamplingSettings) -> list[Completion]:
        torch = self._torch
        prompt_ids = self.encode(request.prompt)
        max_new = self._max_new(len(prompt_ids), settings)
        stops = self._stops(settings)
        out: list[Completion] = []
        # Seed once per unit; sub-batches (n > batch_size) continue the same stream.
        torch.manual_seed(request.seed)
        remaining = request.n
        while remaining > 0:
            rows = min(remaining, self.batch_size)
            ids = torch.tensor([prompt_ids], dtype=torch.long, device=self.device)
            kwargs: dict[str, Any] = dict(
                max_new_tokens=max_new, pad_token_id=self.tokenizer.pad_token_id,
                attention_mask=torch.ones_like(ids),
            )
            if settings.temperature > 0:
                kwargs.update(do_sample=True, temperature=settings.temperature, top_p=settings.top_p, top_k=0,
                              num_return_sequences=rows)
            else:
                kwargs.update(do_sample=False)
            if stops:
                kwargs["stopping_criteria"] = [_StopTextCriteria(stops, self.tokenizer, ids.shape[1])]
            with torch.inference_mode():
                seqs = self.model.generate(ids, **kwargs)
            new = seqs[:, ids.shape[1]:].cpu().tolist()
            if settings.temperature == 0:  # greedy: one sequence stands for all rows
                new = new * rows
            for row in new:
                out.append(finish_completion(row, self.eos_ids, stops, self.tokenizer))
            remaining -= rows
        return out

    # -- engine: static cache + graphs ---------------------------------------------
    def _generate_static(self, requests: Sequence[GenRequest], settings: SamplingSettings) -> list[list[Completion]]:
        stops = self._stops(settings)
        # Rows: (request index, sample index, prompt ids, noise key).
        encoded = [self.encode(r.prompt) for r in requests]
        rows = [(i, j, encoded[i], row_key(r.seed, j)) for i, r in enumerate(requests) for j in range(r.n)]
        batches: list[list[tuple]] = []
        for row in rows:
            new_unit = not batches or (not self.pack_units and batches[-1][-1][0] != row[0])
            if new_unit or len(batches[-1]) >= self.batch_size:
                batches.append([])
            batches[-1].append(row)
        results: list[list[Completion | None]] = [[None] * r.n for r in requests]
        for batch in batches:
            prompts = [row[2] for row in batch]
            max_new = self._max_new(max(len(p) for p in prompts), settings)
            res = self.decoder.decode(
                prompts, [row[3] for row in batch], max_new, settings.temperature, settings.top_p,
                is_done=lambda t: _all_rows_done(t, self.eos_ids, stops, self.tokenizer), check_every=self.check_every,
            )
            self.last_graph_mode = res.graph_mode
            for (i, j, _, _), toks in zip(batch, res.tokens):
                results[i][j] = finish_completion(toks, self.eos_ids, stops, self.tokenizer)
        return results  # type: ignore[return-value]
