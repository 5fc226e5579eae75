"""Prompt templates and model specs: exact strings, validation, resolution errors."""

from __future__ import annotations

import pytest

from rlboundary.benchmarks import Problem
from rlboundary.errors import UserError
from rlboundary.models import ModelSpec, default_name, load_tokenizer, resolve_model
from rlboundary.prompts import TEMPLATES, get_template, render_prompt, template_stop

MATH = Problem("1", "What is $1+{1}$?", "2", {})
CODE = Problem("HumanEval/0", "def f(x):\n    \"\"\"Return x.\"\"\"\n", {"entry_point": "f", "prompt": "", "tests": ""}, {})


def test_qwen_boxed_is_the_evaluation_string():
    # The Qwen2.5-Math evaluation's "qwen-boxed" prompt, character for character.
    expected = (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\nWhat is $1+{1}$?\nPlease reason step by step, and put your final answer within \\boxed{}.<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    assert render_prompt(MATH, "qwen-boxed") == expected
    assert render_prompt(MATH, "qwen25-math-cot") == (
        "<|im_start|>system\nPlease reason step by step, and put your final answer within \\boxed{}.<|im_end|>\n"
        "<|im_start|>user\nWhat is $1+{1}$?<|im_end|>\n<|im_start|>assistant\n"
    )
    assert "<|im_end|>" in template_stop("qwen-boxed")


def test_raw_code_and_custom_templates():
    assert render_prompt(MATH, "raw") == MATH.prompt
    assert render_prompt(CODE, "code") == CODE.prompt
    assert render_prompt(MATH, "Q: {question}\nA:") == "Q: What is $1+{1}$?\nA:"
    with pytest.raises(UserError, match="unknown prompt template"):
        get_template("qwen")
    with pytest.raises(UserError, match="not a valid format string"):
        get_template("{question} {oops}")


def test_chat_template_uses_the_tokenizer(tiny_model_path):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_path)
    text = render_prompt(MATH, "chat", tokenizer=tok)
    assert text == "<|user|>What is $1+{1}$?\nPlease reason step by step, and put your final answer within \\boxed{}.<|assistant|>"
    code = render_prompt(CODE, "chat", tokenizer=tok)
    assert code.startswith("<|user|>Complete the following Python function") and "def f(x):" in code
    with pytest.raises(UserError, match="needs the model's tokenizer"):
        render_prompt(MATH, "chat")


def test_chat_template_missing_is_a_user_error(tiny_model_no_template_path):
    tok = load_tokenizer(ModelSpec(name="t", path=str(tiny_model_no_template_path), template="chat"))
    with pytest.raises(UserError, match="no chat template"):
        render_prompt(MATH, "chat", tokenizer=tok)


def test_every_template_renders():
    for name, t in TEMPLATES.items():
        if not t.needs_tokenizer:
            assert MATH.prompt in render_prompt(MATH, name)


def test_model_spec_from_dict_validates():
    spec = ModelSpec.from_dict({"name": "qwen-base", "path": "Qwen/Qwen2.5-7B", "stop": "</s>"})
    assert spec.stop == ["</s>"] and spec.template == "qwen-boxed" and spec.role == "base"
    bad = [
        ({"name": "a/b", "path": "x"}, "not a valid label"),
        ({"name": "a", "path": "x", "role": "critic"}, "role"),
        ({"name": "a", "path": "x", "dtype": "int3"}, "dtype"),
        ({"name": "a", "path": "x", "template": "nope"}, "unknown prompt template"),
        ({"name": "a", "path": "x", "max_model_len": 0}, "max_model_len"),
        ({"name": "a", "path": "x", "tensor_parallel_size": 0}, "tensor_parallel_size"),
        ({"name": "a", "path": "x", "stop": [""]}, "stop"),
        ({"name": "a", "path": "x", "temperature": 1.0}, "unknown model spec key"),
        ({"path": "x"}, "missing name"),
        ("qwen", "mapping"),
    ]
    for d, match in bad:
        with pytest.raises(UserError, match=match):
            ModelSpec.from_dict(d)


def test_default_name():
    assert default_name("outputs/models/tiny/") == "tiny"
    assert default_name("/x/SmolLM2-135M-Instruct.Q4_1.gguf") == "SmolLM2-135M-Instruct.Q4_1"
    assert default_name("Qwen/Qwen2.5-7B") == "Qwen2.5-7B"


def test_resolve_local_dir_and_bad_paths(tiny_model_path, tmp_path):
    r = resolve_model(ModelSpec(name="t", path=str(tiny_model_path)))
    assert r.kind == "dir" and r.model == str(tiny_model_path.resolve())
    with pytest.raises(UserError, match="does not exist"):
        resolve_model(ModelSpec(name="t", path=str(tmp_path / "nowhere")))
    with pytest.raises(UserError, match="does not exist"):
        resolve_model(ModelSpec(name="t", path="outputs/models/nothing-here"))
    (tmp_path / "weights.bin").write_bytes(b"x")
    with pytest.raises(UserError, match="not a .gguf"):
        resolve_model(ModelSpec(name="t", path=str(tmp_path / "weights.bin")))
    (tmp_path / "emptydir").mkdir()
    with pytest.raises(UserError, match="no config.json"):
        resolve_model(ModelSpec(name="t", path=str(tmp_path / "emptydir")))
    g = tmp_path / "m.gguf"
    g.write_bytes(b"GGUF")
    r = resolve_model(ModelSpec(name="g", path=str(g)))
    assert (r.kind, r.gguf_file, r.model) == ("gguf", "m.gguf", str(tmp_path.resolve()))


def test_hub_id_offline_not_cached(monkeypatch, tmp_path):
    import huggingface_hub.constants as hc

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hc, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(UserError) as err:
        resolve_model(ModelSpec(name="q", path="Qwen/Qwen2.5-Math-7B"))
    msg = str(err.value)
    assert "Qwen/Qwen2.5-Math-7B" in msg and "download" in msg and "local" in msg


def test_identity_records_local_paths_absolute(tiny_model_path, monkeypatch):
    monkeypatch.chdir(tiny_model_path.parent)
    rel = ModelSpec(name="t", path="./" + tiny_model_path.name).identity()
    ab = ModelSpec(name="t", path=str(tiny_model_path)).identity()
    assert rel == ab
