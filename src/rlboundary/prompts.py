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

The paper's appendix E prompts (arXiv 2504.13837, Figures 24, 25, 27), each
tested to render as the figure prints it (tests/test_paper_prompts.py):
- `r1-zero`: the VeRL training and evaluation prompt of Figure 27 (Figure 8's
  RL-algorithm models, Omni-MATH and MATH500); the answer is read from
  `<answer>...</answer>` (verify.math_answer.answer_tag_content).
  `r1-zero-code` is the same prompt as the official code's `deepseek-r1`
  template writes it (`User: {question}. Assistant:` on one line, where the
  figure breaks the line after the question).
- `simplerl-simple`: the short base-model prompt the official code keeps
  (commented out) beside `qwen-boxed`; a switch for the LLaMA pair.
- `code-r1-evalplus`: Figure 25, the ChatML HumanEval+/MBPP+ prompt whose
  assistant turn already opens a ```python block (EvalPlus's chat prompt as
  Qwen's template renders it).
- `livecodebench`: Figure 24, LiveCodeBench's prompt for Qwen chat models
  with ```python appended to the assistant turn. `livecodebench-lcb` is the
  same as LiveCodeBench's own code writes it (a blank line after the user
  tag; no "### Format:" heading, which the figure shows);
  `livecodebench-chat` puts the figure's user text through the model's own
  chat template (DeepSeek-R1-Distill / DeepCoder, whose prompt the paper does
  not print).

The literal ChatML templates also carry the stop strings the evaluation
used, so that a base model that never emits its EOS token stops at the end
of its turn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

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
    # For templates whose text depends on more than the question (a starter
    # code block, a stripped task): problem -> the text to place.
    build: Callable[[Any], str] | None = None

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

# --- the paper's appendix E prompts -------------------------------------------

# Figure 27. The figure breaks the line before "Assistant:"; the official
# code's `deepseek-r1` entry writes ". Assistant:" on the same line.
R1_ZERO_PREAMBLE = (
    "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. "
    "The assistant first thinks about the reasoning process in the mind and then provides the user with the answer. "
    "The reasoning process and answer are enclosed within <think> </think> and <answer> </answer> tags, "
    "respectively, i.e., <think> reasoning process here </think> <answer> answer here </answer>. "
)

# Figure 25: EvalPlus's chat prompt (instruction and response prefix) in
# Qwen's ChatML with the default system message.
EVALPLUS_INSTRUCTION = "Please provide a self-contained Python script that solves the following problem in a markdown code block:"
EVALPLUS_RESPONSE_PREFIX = ("Below is a Python script with a self-contained function that solves the problem "
                            "and passes corresponding tests:")

# Figure 24: LiveCodeBench's prompt constants (lcb_runner/prompts/code_generation.py).
LCB_INSTRUCTION = ("You will be given a question (problem specification) and will generate a correct Python program "
                   "that matches the specification and passes all tests. You will NOT return anything except for "
                   "the program.")
LCB_WITH_STARTER_CODE = ("You will use the following starter code to write the solution to the problem and enclose "
                         "your code within delimiters.")
LCB_WITHOUT_STARTER_CODE = ("Read the inputs from stdin solve the problem and write the answer to stdout (do not "
                            "directly test on the sample inputs). Enclose your code within delimiters as follows. "
                            "Ensure that when the python program runs, it reads the inputs, runs the algorithm and "
                            "writes output to STDOUT.")
CHATML_SYSTEM = "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
PYTHON_FENCE = "```python\n"


def _starter_code(problem) -> str:
    ref = getattr(problem, "reference", None)
    return (ref.get("starter_code") or "") if isinstance(ref, dict) else ""


def livecodebench_question(problem, format_heading: bool = True) -> str:
    """The user text of LiveCodeBench's Qwen prompt: instruction, question,
    and the starter code (functional problems) or the stdin/stdout note."""
    heading = "### Format: " if format_heading else ""
    starter = _starter_code(problem)
    text = f"{LCB_INSTRUCTION}\n\nQuestion: {problem.prompt}\n\n"
    if starter:
        return text + f"{heading}{LCB_WITH_STARTER_CODE}\n```python\n{starter}\n```\n\n"
    return text + f"{heading}{LCB_WITHOUT_STARTER_CODE}\n```python\n# YOUR CODE HERE\n```\n\n"


def _livecodebench_figure(problem) -> str:
    return (f"{CHATML_SYSTEM}<|im_start|>user\n{livecodebench_question(problem)}<|im_end|>\n"
            f"<|im_start|>assistant\n{PYTHON_FENCE}")


def _livecodebench_lcb(problem) -> str:
    # LiveCodeBench's CodeQwenInstruct style: its system block ends at the user
    # tag and is joined to the question by a blank line.
    return (f"{CHATML_SYSTEM}<|im_start|>user\n\n{livecodebench_question(problem, format_heading=False)}<|im_end|>\n"
            f"<|im_start|>assistant\n{PYTHON_FENCE}")


def _code_r1_evalplus(problem) -> str:
    return (f"{CHATML_SYSTEM}<|im_start|>user\n{EVALPLUS_INSTRUCTION}\n```\n{problem.prompt.strip()}\n```\n<|im_end|>\n"
            f"<|im_start|>assistant\n{EVALPLUS_RESPONSE_PREFIX}\n{PYTHON_FENCE}")


PAPER_TEMPLATES = [
    PromptTemplate("r1-zero", "format", R1_ZERO_PREAMBLE + "User: {question}\nAssistant:", (),
                   "Figure 27: the VeRL R1-Zero prompt (Figure 8); answer read from <answer>"),
    PromptTemplate("r1-zero-code", "format", R1_ZERO_PREAMBLE + "User: {question}. Assistant:", (),
                   "Figure 27's prompt as the official code's deepseek-r1 template writes it"),
    PromptTemplate("simplerl-simple", "format", "Question:\n{question}\nAnswer:\nLet's think step by step.\n", (),
                   "the short base-model prompt the official code keeps commented out"),
    PromptTemplate("code-r1-evalplus", "format", stop=CHATML_STOP, build=_code_r1_evalplus,
                   description="Figure 25: Code-R1's HumanEval+/MBPP+ prompt (ChatML, assistant opens ```python)"),
    PromptTemplate("livecodebench", "format", stop=CHATML_STOP, build=_livecodebench_figure,
                   description="Figure 24: LiveCodeBench's Qwen prompt + ```python"),
    PromptTemplate("livecodebench-lcb", "format", stop=CHATML_STOP, build=_livecodebench_lcb,
                   description="Figure 24's prompt as LiveCodeBench's code writes it"),
    PromptTemplate("livecodebench-chat", "chat", build=livecodebench_question,
                   description="LiveCodeBench's question text in the model's own chat template"),
]
TEMPLATES.update({t.name: t for t in PAPER_TEMPLATES})

# Stop strings the paper's evaluation code (math_eval.py) adds by prompt type,
# beyond the end-of-turn markers: a base model that never emits its EOS token
# goes on writing the next turn, and these cut it there. Only for the prompts
# that code has; `official_stops: true` in a parameter set adds them.
_OFFICIAL_BASE_STOP = ("</s>", "<|im_end|>", "<|endoftext|>")
OFFICIAL_CODE_STOP = {
    "qwen-boxed": _OFFICIAL_BASE_STOP + ("assistant", "user", "_end", "_start"),
    "qwen25-math-cot": _OFFICIAL_BASE_STOP + ("assistant", "user", "_end", "_start"),
    "r1-zero": _OFFICIAL_BASE_STOP + ("\nProblem", "User:", "Assistant:", "</answer>"),
    "r1-zero-code": _OFFICIAL_BASE_STOP + ("\nProblem", "User:", "Assistant:", "</answer>"),
}


def official_code_stop(template: str) -> tuple[str, ...]:
    """The official evaluation code's stop strings for a template (empty if it has none)."""
    return OFFICIAL_CODE_STOP.get(template, ())


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
        if t.build is not None:
            return t.build(problem)
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
    if t.build is not None:
        content = t.build(problem)
    elif is_code:
        content = CODE_CHAT_INSTRUCTION.format(question=question)
    else:
        content = t.text.format(question=question)
    return tokenizer.apply_chat_template(
        [{"role": "user", "content": content}], tokenize=False, add_generation_prompt=True
    )
