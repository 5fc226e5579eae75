"""Sampling organism models with vLLM's offline engine (in-process, CPU or GPU).

Used by the build (the teacher's solutions for distillation) and by the
organism's own evaluation. Prompts are token ids built by `ChatEncoder`,
so what vLLM sees is exactly what the models were trained on.

    with OrganismSampler(model_dir) as s:
        texts = s.sample(questions, n=8, temperature=0.6, top_p=0.95, max_tokens=64, seed=0)

vLLM runs eager with chunked prefill off (seeded sampling crashes otherwise
on the CPU, ../shared/FACTS.md) and the package's engine defaults
(`vllm_backend.start_engine`).
"""

from __future__ import annotations

from pathlib import Path


def question_seed(seed: int, index: int) -> int:
    """The sampling seed of the `index`-th question of a `OrganismSampler.sample` call."""
    return seed + 7919 * index


class OrganismSampler:
    def __init__(self, model_dir: str | Path, max_model_len: int = 256, seed: int = 0):
        from transformers import AutoTokenizer

        from ..vllm_backend import start_engine
        from .training import ChatEncoder

        self.tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
        self.encoder = ChatEncoder(self.tokenizer)
        self.llm = start_engine(
            model=str(model_dir),
            dtype="float32",
            max_model_len=max_model_len,
            enforce_eager=True,
            enable_chunked_prefill=False,
            seed=seed,
        )

    def sample(
        self,
        questions: list[str],
        n: int,
        temperature: float,
        top_p: float,
        max_tokens: int,
        seed: int,
        prefill: str = "",
        seeds: list[int] | None = None,
    ) -> list[list[str]]:
        """n completions per question (after `prefill`, which is returned
        prepended), seeded per question so batches do not change text:
        question i gets `question_seed(seed, i)`, or `seeds[i]` when given."""
        from vllm import SamplingParams, TokensPrompt

        prompts = [TokensPrompt(prompt_token_ids=self.encoder.prompt(q) + self.encoder.text(prefill)) for q in questions]
        params = [
            SamplingParams(n=n, temperature=temperature, top_p=top_p, max_tokens=max_tokens,
                           seed=seeds[i] if seeds is not None else question_seed(seed, i))
            for i in range(len(questions))
        ]
        outs = self.llm.generate(prompts, params, use_tqdm=False)
        return [[prefill + c.text for c in o.outputs] for o in outs]

    def close(self) -> None:
        from ..vllm_backend import engine_teardown

        with engine_teardown():
            del self.llm

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
