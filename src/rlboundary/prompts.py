"""Prompt templates, as data: how a problem's text becomes the model's input.

    from rlboundary.prompts import render_prompt, TEMPLATES
    render_prompt(problem, "qwen-boxed")
    render_prompt(problem, "chat", tokenizer=tok)   # the model's own chat template

Templates:
- `qwen-boxed`: the paper's prompt, exactly as the Qwen2.5-Math evaluation
  code (which the paper's code builds on) writes it: a ChatML conversation
  with the default system message and the instruction after the question.
- `qwen25-math-cot`: the Qwen2.5-Math-Instruct variant, the instruction as
  the system message.
- `chat` (alias `chat-boxed`): the model's own chat template
  (`tokenizer.apply_chat_template`), the question plus the boxed instruction
  as the user turn; for code problems, the function to complete.
- `raw`: the problem text as is (the organism's prompts, completion models).
- `code`: a HumanEval-style function prompt, completed in place.
A string containing `{question}` is also accepted as a custom template.

The literal ChatML templates also carry the stop strings the evaluation
used, so that a base model that never emits its EOS token stops at the end
of its turn.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import UserError

BOXED_INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."

# End-of-turn markers that stop sampling in the Qwen2.5-Math evaluation.
# The same, escaped for str.format templates.
_BOXED_FMT = BOXED_INSTRUCTION.replace("{", "{{").replace("}", "}}")

CHATML_STOP = ("</s>", "<|im_end|>", "<|endoftext|>")


@dataclass(frozen=True)
class PromptTemplate:
    name: str
    # "format": str.format(question=...) of `text`; "chat": the tokenizer's chat
    # template; "raw": the problem text unchanged.
    style: str
    text: str = "{question}"
    stop: tuple[str, ...] = ()
    description: str = ""

    @property
    def needs_tokenizer(self) -> bool:
        return self.style == "chat"


TEMPLATES: dict[str, PromptTemplate] = {
    t.name: t
    for t in [
        PromptTemplate(
            "qwen-boxed",
            "format",
            "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
            "<|im_start|>user\n{question}\n" + _BOXED_FMT + "<|im_end|>\n"
            "<|im_start|>assistant\n",
            CHATML_STOP,
            "the paper's prompt (Qwen2.5-Math evaluation 'qwen-boxed')",
        ),
        PromptTemplate(
            "qwen25-math-cot",
            "format",
            "<|im_start|>system\n" + _BOXED_FMT + "<|im_end|>\n"
            "<|im_start|>user\n{question}<|im_end|>\n"
            "<|im_start|>assistant\n",
            CHATML_STOP,
            "Qwen2.5-Math-Instruct's prompt: the instruction as the system message",
        ),
        PromptTemplate("chat", "chat", "{question}\n" + _BOXED_FMT, (), "the model's own chat template"),
        PromptTemplate("chat-boxed", "chat", "{question}\n" + _BOXED_FMT, (), "same as chat"),
        PromptTemplate("raw", "raw", "{question}", (), "the problem text as is"),
        PromptTemplate("code", "raw", "{question}", (), "a function prompt, completed in place (HumanEval)"),
    ]
}

CODE_CHAT_INSTRUCTION = "Complete the following Python function. Reply with the whole function in a ```python block.\n\n```python\n{question}```"


def get_template(template: str) -> PromptTemplate:
    """A named template, or a custom format string containing `{question}`."""
    if template in TEMPLATES:
        return TEMPLATES[template]
    if "{question}" in template:
        try:
            template.format(question="x")
        except (KeyError, IndexError, ValueError) as err:
            raise UserError(
                f"custom template {template!r} is not a valid format string ({err}).",
                "use {question} once and double any other braces: {{ }}.",
            ) from err
        return PromptTemplate("custom", "format", template)
    raise UserError(
        f"unknown prompt template {template!r}.",
        f"pick one of {', '.join(TEMPLATES)}, or pass a string containing {{question}}.",
    )


def validate_template(template: str) -> str:
    get_template(template)
    return template


def template_stop(template: str) -> tuple[str, ...]:
    """Stop strings that come with a template (added to the run's settings)."""
    return get_template(template).stop


def render_prompt(problem, template: str, tokenizer=None) -> str:
    """The model input for `problem` (a benchmarks.Problem) under `template`."""
    t = get_template(template)
    question = problem.prompt
    if t.style == "raw":
        return question
    if t.style == "format":
        # The Qwen evaluation strips surrounding spaces from the built prompt.
        return t.text.format(question=question).strip(" ")
    # style == "chat"
    if tokenizer is None:
        raise UserError(f"template {t.name!r} needs the model's tokenizer.", "load the tokenizer (models.load_tokenizer).")
    if not getattr(tokenizer, "chat_template", None):
        name = getattr(tokenizer, "name_or_path", "this model")
        raise UserError(
            f"the tokenizer of {name} has no chat template, so template {t.name!r} cannot be used.",
            "use --template qwen-boxed or raw, or give the tokenizer a chat_template.",
        )
    is_code = isinstance(problem.reference, dict) and "entry_point" in problem.reference
    content = CODE_CHAT_INSTRUCTION.format(question=question) if is_code else t.text.format(question=question)
    return tokenizer.apply_chat_template(
        [{"role": "user", "content": content}], tokenize=False, add_generation_prompt=True
    )
