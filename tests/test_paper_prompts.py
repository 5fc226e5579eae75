"""The paper's appendix E prompts render character for character as its figures print them.

Each expected string below is the figure transcribed from the paper's PDF
(arXiv 2504.13837v2, pages 29-30; also Limit_of_RLVR.pdf in the official
repository), with the figure's placeholders filled by the example problem.
Where the figure wraps a line only because the box is narrow (the next word
continues the sentence) the transcription joins it with a space; every other
line break and blank line is the figure's.

Run: .venv/bin/pytest tests/test_paper_prompts.py -q
"""

from __future__ import annotations

import pytest

from rlboundary.benchmarks import Problem
from rlboundary.prompts import official_code_stop, render_prompt, template_stop
from rlboundary.verify.math_answer import answer_tag_content, extract_answer

QUESTION = "Find the sum of all integer bases $b>9$ for which $17_b$ is a divisor of $97_b$."
MATH = Problem("aime25-1", QUESTION, "70")

# Figure 27 ("VeRL Training and Evaluation Prompt"), {} filled with the question.
FIGURE_27 = (
    "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. "
    "The assistant first thinks about the reasoning process in the mind and then provides the user with the "
    "answer. The reasoning process and answer are enclosed within <think> </think> and <answer> </answer> "
    "tags, respectively, i.e., <think> reasoning process here </think> <answer> answer here </answer>. "
    "User: " + QUESTION + "\n"
    "Assistant:"
)

# Figure 25 ("HumanEval+ & MBPP+ Prompt"), {python_task_prompt} = the task prompt stripped.
HUMANEVAL_TASK = 'def add(a: int, b: int) -> int:\n    """Return a + b."""\n'
FIGURE_25 = (
    "<|im_start|>system\n"
    "You are a helpful assistant.<|im_end|>\n"
    "<|im_start|>user\n"
    "Please provide a self-contained Python script that solves the following problem in a markdown code block:\n"
    "```\n"
    'def add(a: int, b: int) -> int:\n    """Return a + b."""\n'
    "```\n"
    "<|im_end|>\n"
    "<|im_start|>assistant\n"
    "Below is a Python script with a self-contained function that solves the problem and passes corresponding tests:\n"
    "```python\n"
)

# Figure 24 ("LiveCodeBench (Code Generation) Prompt"), both branches of its
# `{ if question.starter_code }`; "### Format: " is followed on the same line
# by the PromptConstants message (the figure wraps the long constant's name).
LCB_QUESTION = "You are given an integer n. Print n squared."
LCB_HEAD = (
    "<|im_start|>system\n"
    "You are a helpful assistant.<|im_end|>\n"
    "<|im_start|>user\n"
    "You will be given a question (problem specification) and will generate a correct Python program that "
    "matches the specification and passes all tests. You will NOT return anything except for the program.\n"
    "\n"
    "Question: " + LCB_QUESTION + "\n"
    "\n"
)
FIGURE_24_STDIN = LCB_HEAD + (
    "### Format: Read the inputs from stdin solve the problem and write the answer to stdout (do not directly "
    "test on the sample inputs). Enclose your code within delimiters as follows. Ensure that when the python "
    "program runs, it reads the inputs, runs the algorithm and writes output to STDOUT.\n"
    "```python\n"
    "# YOUR CODE HERE\n"
    "```\n"
    "\n"
    "<|im_end|>\n"
    "<|im_start|>assistant\n"
    "```python\n"
)
STARTER = "class Solution:\n    def square(self, n: int) -> int:\n        "
FIGURE_24_STARTER = LCB_HEAD + (
    "### Format: You will use the following starter code to write the solution to the problem and enclose your "
    "code within delimiters.\n"
    "```python\n"
    + STARTER + "\n"
    "```\n"
    "\n"
    "<|im_end|>\n"
    "<|im_start|>assistant\n"
    "```python\n"
)


def lcb_problem(starter: str = "") -> Problem:
    return Problem("abc001_a", LCB_QUESTION, {"entry_point": "square" if starter else None,
                                               "starter_code": starter, "lcb_tests": []})


def test_r1_zero_is_figure_27():
    assert render_prompt(MATH, "r1-zero") == FIGURE_27


def test_r1_zero_code_is_the_official_deepseek_r1_template():
    # The official code's utils.py: '... </answer>. User: {input}. Assistant:'
    expected = FIGURE_27.replace(QUESTION + "\nAssistant:", QUESTION + ". Assistant:")
    assert render_prompt(MATH, "r1-zero-code") == expected


def test_code_r1_evalplus_is_figure_25():
    # EvalPlus strips the task prompt; the trailing newline must not reach the block.
    problem = Problem("HumanEval/0", HUMANEVAL_TASK, {"entry_point": "add", "tests": "", "prompt": HUMANEVAL_TASK})
    assert render_prompt(problem, "code-r1-evalplus") == FIGURE_25


@pytest.mark.parametrize("starter,expected", [("", FIGURE_24_STDIN), (STARTER, FIGURE_24_STARTER)],
                         ids=["stdin", "starter-code"])
def test_livecodebench_is_figure_24(starter, expected):
    assert render_prompt(lcb_problem(starter), "livecodebench") == expected


def test_livecodebench_lcb_is_the_benchmark_codes_variant():
    # LiveCodeBench's CodeQwenInstruct style: a blank line after the user tag,
    # no "### Format: " heading; otherwise the figure's text.
    expected = (FIGURE_24_STDIN.replace("<|im_start|>user\n", "<|im_start|>user\n\n")
                .replace("### Format: ", ""))
    assert render_prompt(lcb_problem(), "livecodebench-lcb") == expected


def test_livecodebench_chat_puts_the_question_in_the_models_template(tiny_model_path):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_path)
    rendered = render_prompt(lcb_problem(STARTER), "livecodebench-chat", tokenizer=tok)
    user_text = FIGURE_24_STARTER.split("<|im_start|>user\n", 1)[1].split("<|im_end|>", 1)[0]
    assert user_text in rendered
    assert "<|im_start|>system" not in rendered  # the model's own template, not the figure's ChatML


def test_simplerl_simple_prompt():
    assert render_prompt(MATH, "simplerl-simple") == f"Question:\n{QUESTION}\nAnswer:\nLet's think step by step.\n"


def test_official_code_stops_per_template():
    # math_eval.py: three end markers for every prompt type, then per type.
    assert official_code_stop("qwen-boxed") == ("</s>", "<|im_end|>", "<|endoftext|>", "assistant", "user", "_end", "_start")
    assert official_code_stop("r1-zero")[3:] == ("\nProblem", "User:", "Assistant:", "</answer>")
    assert official_code_stop("livecodebench") == ()
    # Templates carry only their own end-of-turn markers; the official extras are opt-in.
    assert "user" not in template_stop("qwen-boxed") and template_stop("r1-zero") == ()


@pytest.mark.parametrize("response,answer,method", [
    ("<think> 17_b = b + 7 </think> <answer> 70 </answer>", "70", "answer_tag"),
    ("<think>...</think> <answer>The sum is \\boxed{70}.</answer>", "70", "boxed"),
    # Sampling stops at "</answer>", which vLLM leaves out of the text.
    ("<think>b in {21, 49}</think> <answer> \\frac{1}{2}", "\\frac{1}{2}", "answer_tag"),
    # A base model that runs on into a made-up next turn: the first tag is its answer.
    ("<answer> 70 </answer>\nUser: next?\nAssistant: <answer> 3 </answer>", "70", "answer_tag"),
    # No tag: the reference rules apply unchanged.
    ("so the answer is \\boxed{70}", "70", "boxed"),
])
def test_answer_extraction_reads_the_answer_tag(response, answer, method):
    found = extract_answer(response)
    assert (found.answer, found.method) == (answer, method)


def test_answer_tag_content_edges():
    assert answer_tag_content("no tags here") is None
    assert answer_tag_content("<answer></answer>") == ""
    assert extract_answer("<answer>   </answer>").answer is None  # an empty answer is no answer
