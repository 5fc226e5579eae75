"""Model specs: which model to sample from, and how, as data.

    from rlboundary.models import ModelSpec
    spec = ModelSpec.from_dict({"name": "qwen-base", "path": "Qwen/Qwen2.5-7B", "template": "qwen-boxed"})
    spec = ModelSpec(name="tiny", path="outputs/models/tiny", template="raw")
    resolved = resolve_model(spec)        # where the weights and tokenizer are
    tok = load_tokenizer(spec)            # transformers tokenizer (for chat templates)

`path` is a local Hugging Face model directory, a local `.gguf` file, or a
hub id. A hub id with the hub offline (HF_HUB_OFFLINE=1, or huggingface.co
unreachable) must already be in the local Hugging Face cache, else a
`UserError` says to download it or pass a local path. vLLM 0.32 cannot load
GGUF files, so `vllm_weights_dir` dequantises a `.gguf` once (transformers
`gguf_file=`) into a cached Hugging Face directory that vLLM loads.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path

from .errors import UserError
from .prompts import validate_template

ROLES = ("base", "rl", "instruct", "teacher", "distilled", "rft")  # params.ROLES is this tuple
DTYPES = ("auto", "float32", "float16", "bfloat16", "half", "float")
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
# "org/name" or "name": what the hub accepts as a repository id.
_HUB_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?")


@dataclass
class ModelSpec:
    name: str  # short label used in run keys and plots
    path: str  # HF hub id, local dir, or local .gguf file
    role: str = "base"
    template: str = "qwen-boxed"
    dtype: str = "auto"
    max_model_len: int | None = None
    stop: list[str] = field(default_factory=list)
    tokenizer: str | None = None  # tokenizer dir / hub id, mainly for GGUF files
    tensor_parallel_size: int = 1
    data_parallel_size: int = 1

    def __post_init__(self):
        self.path = str(self.path)
        if not isinstance(self.name, str) or not _NAME_RE.fullmatch(self.name):
            raise UserError(
                f"model name {self.name!r} is not a valid label.",
                "use letters, digits, '.', '_' or '-' (it names a directory), e.g. --name qwen-base.",
            )
        if not self.path:
            raise UserError("model path is empty.", "pass a local model directory, a .gguf file or a hub id.")
        if self.role not in ROLES:
            raise UserError(f"model role {self.role!r} is unknown.", f"use one of {', '.join(ROLES)}.")
        validate_template(self.template)
        if self.dtype not in DTYPES:
            raise UserError(f"dtype {self.dtype!r} is unknown.", f"use one of {', '.join(DTYPES)}.")
        if self.max_model_len is not None and (not isinstance(self.max_model_len, int) or self.max_model_len < 1):
            raise UserError(f"max_model_len={self.max_model_len!r} must be a positive integer.", "pass e.g. 4096, or leave it unset.")
        if isinstance(self.stop, str):
            self.stop = [self.stop]
        if not all(isinstance(s, str) and s for s in self.stop):
            raise UserError(f"stop={self.stop!r} must be a list of non-empty strings.", "pass e.g. stop: ['</s>'].")
        self.stop = list(self.stop)
        for attr in ("tensor_parallel_size", "data_parallel_size"):
            v = getattr(self, attr)
            if not isinstance(v, int) or v < 1:
                raise UserError(f"{attr}={v!r} must be a positive integer.", f"pass {attr} >= 1.")
        if self.tokenizer is not None:
            self.tokenizer = str(self.tokenizer)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelSpec":
        """Build from a params/YAML mapping; unknown or missing keys are UserErrors."""
        if not isinstance(d, dict):
            raise UserError(f"a model spec must be a mapping, got {type(d).__name__}.", "write name: ..., path: ...")
        allowed = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - allowed)
        if unknown:
            raise UserError(f"unknown model spec key(s): {', '.join(unknown)}.", f"allowed keys: {', '.join(sorted(allowed))}.")
        missing = [k for k in ("name", "path") if k not in d]
        if missing:
            raise UserError(f"model spec is missing {', '.join(missing)}.", "every model needs a name and a path.")
        return cls(**d)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def identity(self) -> dict:
        """What changes the samples this model produces (recorded in run meta).

        A small local model directory (one this project trains, e.g. the
        organism) also records its weights' hash: a rebuild at the same path
        then gets fresh samples instead of the old weights' ones."""
        local = Path(self.path).expanduser()
        ident = {
            "path": recorded_path(self.path),
            "template": self.template,
            "dtype": self.dtype,
            "max_model_len": self.max_model_len,
            "stop": list(self.stop),
            "tokenizer": self.tokenizer,
        }
        digest = weights_digest(local) if local.is_dir() else None
        if digest is not None:
            ident["weights"] = digest
        return ident

    @property
    def is_gguf(self) -> bool:
        return self.path.lower().endswith(".gguf")


def recorded_path(path: str) -> str:
    """A model path as run identities record it: a local path absolute (so that "./m" and "/abs/m"
    agree), anything else (a hub id) as given."""
    local = Path(path).expanduser()
    return str(local.resolve()) if local.exists() else path


# Hashing is exact but reads every byte: done for directories up to this size
# (the organism's models are ~4 MB). A large local checkpoint is keyed by its
# path only, as hub models are, and must be renamed when it is retrained.
WEIGHTS_DIGEST_MAX_BYTES = 256 << 20


def weights_digest(model_dir: str | Path) -> str | None:
    """A short sha256 of a model directory's *.safetensors files, or None when
    it has none or they exceed WEIGHTS_DIGEST_MAX_BYTES."""
    files = sorted(Path(model_dir).resolve().glob("*.safetensors"))
    stats = tuple((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files)
    if not files or sum(size for _, size, _ in stats) > WEIGHTS_DIGEST_MAX_BYTES:
        return None
    return _digest_of_files(stats)


@functools.lru_cache(maxsize=256)
def _digest_of_files(stats: tuple[tuple[str, int, int], ...]) -> str:
    """The files' bytes hashed once per (path, size, mtime): identity() is asked
    for on every run lookup, the bytes change only when the files do."""
    h = hashlib.sha256()
    for path, _, _ in stats:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()[:12]


def default_name(path: str) -> str:
    """A label from a path or hub id: 'outputs/models/tiny' -> 'tiny'."""
    base = Path(path.rstrip("/")).name
    if base.lower().endswith(".gguf"):
        base = base[: -len(".gguf")]
    label = re.sub(r"[^A-Za-z0-9._-]+", "-", base).strip("-.") or "model"
    return label


# --------------------------------------------------------------------------
# Resolution: where are the weights and the tokenizer?


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes")


@functools.lru_cache(maxsize=1)
def hub_reachable(timeout: float = 3.0) -> bool:
    """Can we open a TCP connection to the hub? (cached per process)"""
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    host = re.sub(r"^https?://", "", endpoint).split("/")[0]
    host, _, port = host.partition(":")
    try:
        with socket.create_connection((host, int(port or 443)), timeout=timeout):
            return True
    except OSError:
        return False


@dataclass(frozen=True)
class ResolvedModel:
    kind: str  # "dir" | "gguf" | "hub"
    model: str  # what to pass as `model` / `pretrained_model_name_or_path`
    tokenizer: str | None  # tokenizer source when it differs from `model`
    gguf_file: str | None = None  # for transformers: file name inside `model`


def _looks_like_path(p: str) -> bool:
    return p.startswith(("/", "./", "../", "~")) or p.lower().endswith(".gguf") or not _HUB_ID_RE.fullmatch(p)


def _hub_cached(repo_id: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - transformers depends on it
        return False
    hit = try_to_load_from_cache(repo_id, "config.json")
    return isinstance(hit, str)


def resolve_model(spec: ModelSpec) -> ResolvedModel:
    """Check that the model can be loaded, and say from where."""
    p = Path(spec.path).expanduser()
    if p.exists():
        if p.is_file():
            if not spec.is_gguf:
                raise UserError(f"model path {spec.path} is a file but not a .gguf file.", "pass a model directory, a .gguf file or a hub id.")
            return ResolvedModel("gguf", str(p.parent.resolve()), spec.tokenizer, p.name)
        if not (p / "config.json").exists():
            raise UserError(f"model directory {spec.path} has no config.json.", "pass a Hugging Face model directory (save_pretrained output).")
        return ResolvedModel("dir", str(p.resolve()), spec.tokenizer)
    if _looks_like_path(spec.path):
        raise UserError(f"model path {spec.path} does not exist.", "check the path, or pass a hub id like Qwen/Qwen2.5-7B.")
    # A hub id.
    if _hub_cached(spec.path):
        return ResolvedModel("hub", spec.path, spec.tokenizer)
    if hub_offline() or not hub_reachable():
        why = "the hub is offline (HF_HUB_OFFLINE=1)" if hub_offline() else "huggingface.co is unreachable"
        raise UserError(
            f"model {spec.path!r} is a hub id, {why}, and it is not in the local Hugging Face cache.",
            f"download it first (huggingface-cli download {spec.path}) or pass a local model directory.",
        )
    return ResolvedModel("hub", spec.path, spec.tokenizer)


def load_tokenizer(spec: ModelSpec):
    """The model's transformers tokenizer (GGUF: read from the file itself)."""
    from transformers import AutoTokenizer

    r = resolve_model(spec)
    if r.tokenizer:
        return AutoTokenizer.from_pretrained(r.tokenizer)
    if r.gguf_file:
        return AutoTokenizer.from_pretrained(r.model, gguf_file=r.gguf_file)
    return AutoTokenizer.from_pretrained(r.model)


def _gguf_cache_dir(gguf_path: Path) -> Path:
    from .paths import cache_dir

    st = gguf_path.stat()
    key = hashlib.sha256(f"{gguf_path.resolve()}\0{st.st_size}\0{st.st_mtime_ns}".encode()).hexdigest()[:12]
    stem = default_name(gguf_path.name)
    return cache_dir() / "gguf-as-hf" / f"{stem}-{key}"


def vllm_weights_dir(spec: ModelSpec) -> tuple[str, str | None]:
    """(model, tokenizer) arguments for vLLM's `LLM`.

    vLLM 0.32 dropped GGUF loading, so a `.gguf` spec is dequantised once with
    transformers and saved as a Hugging Face directory under the cache; the
    directory is written to a temporary name and renamed, under a lock.
    """
    r = resolve_model(spec)
    if r.kind != "gguf":
        return r.model, r.tokenizer
    gguf_path = Path(r.model) / r.gguf_file
    target = _gguf_cache_dir(gguf_path)
    if (target / "config.json").exists():
        return str(target), r.tokenizer
    from filelock import FileLock

    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if not (target / "config.json").exists():
            _dequantise_gguf(r, target)
    return str(target), r.tokenizer


def _dequantise_gguf(r: ResolvedModel, target: Path) -> None:
    import shutil
    import tempfile

    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        model = AutoModelForCausalLM.from_pretrained(r.model, gguf_file=r.gguf_file)
        tok = AutoTokenizer.from_pretrained(r.tokenizer or r.model, **({} if r.tokenizer else {"gguf_file": r.gguf_file}))
    except ImportError as err:
        raise UserError(f"loading {r.gguf_file} needs the `gguf` package ({err}).", "pip install gguf (the [smollm] extra).") from err
    # The weights are dequantised in memory; drop the GGUF marker so that the
    # model saves as a plain (unquantised) checkpoint.
    model.hf_quantizer = None
    model.config.__dict__.pop("quantization_config", None)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=target.parent))
    try:
        model.save_pretrained(tmp, safe_serialization=True)
        tok.save_pretrained(tmp)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
