"""Bad inputs, table-driven: each is one line naming the problem and the fix, exit 2, nothing stored touched.

    pytest tests/reliability/test_bad_inputs.py -q

`CASES` is the table: an id, the argv (placeholders filled from the
fixtures below), a fragment the error line must contain, and extra
environment. Each case runs the real `rlboundary` in a subprocess against an
outputs tree that already holds a sampled and graded run (the same run key
where the command allows it), hashes every file under it before and after,
and requires: exit status 2; no "Traceback" on stderr; exactly one line
starting with "error:", which contains the fragment and a "Fix:"; the tree
unchanged (no file changed, added or removed).
"""

from __future__ import annotations


import pytest

from .conftest import N, copy_run, record, run_cli, tree_hashes

SAMPLE = ["sample", "--model", "{model}", "--benchmark", "math500", "--data-dir", "{data}", "--n", str(N),
          "--template", "raw", "--chunk-size", "4", "--units-per-batch", "2", "--max-tokens", "24", "--seed", "0",
          "--no-progress", "--name", "tiny"]


def sample(**changes) -> list[str]:
    """SAMPLE (the stored run's own arguments) with some options replaced or added."""
    argv = list(SAMPLE)
    for opt, value in changes.items():
        flag = "--" + opt.replace("_", "-")
        if flag in argv:
            i = argv.index(flag)
            if value is None:
                del argv[i : i + 2]
            else:
                argv[i + 1] = value
        elif value is not None:
            argv += [flag, value]
    return argv


# (id, argv, fragment of the one-line error, extra environment)
CASES = [
    ("malformed-yaml", ["report", "--params", "{params}/malformed.yaml"], "YAML", {}),
    ("unknown-param-key", ["report", "--params", "{params}/unknown_key.yaml"], "samples_per_problem", {}),
    ("wrong-param-type", ["report", "--params", "{params}/wrong_type.yaml"], "temperature", {}),
    # Model problems under a new --name: the error must name the model, and no run directory may appear.
    ("missing-model-path", sample(model="/nonexistent/models/tiny", name="fresh"), "does not exist", {}),
    ("hub-id-offline", sample(model="someorg/model-not-in-cache", name="fresh"), "offline", {"HF_HUB_OFFLINE": "1"}),
    ("dataset-offline", sample(data_dir=None), "math500", {"HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1",
                                                          "RLBOUNDARY_MATH_DATA": ""}),
    ("n-zero", sample(n="0"), "n=0", {}),
    ("k-greater-than-n", ["passk", "{run}", "--k", "1", "--k", "64"], "k=64", {}),
    ("negative-temperature", sample(temperature="-0.5"), "temperature", {}),
    ("empty-benchmark", sample(data_dir="{empty_data}"), "no problems", {}),
    ("invalid-utf8-data", sample(data_dir="{bad_utf8_data}"), "UTF-8", {}),
    ("no-chat-template", sample(model="{model_no_template}", template="chat", name="fresh"), "chat template", {}),
    # A GPU-only request on a machine without one (CUDA hidden, so this also holds on a GPU machine),
    # for vLLM (the default backend) and for transformers.
    ("gpu-only-on-cpu-vllm", sample(device="cuda", name="fresh"), "GPU", {"CUDA_VISIBLE_DEVICES": ""}),
    ("gpu-only-on-cpu-hf", sample(backend="hf", device="cuda", name="fresh"), "GPU", {"CUDA_VISIBLE_DEVICES": ""}),
    ("unknown-benchmark", sample(benchmark="math5000"), "math5000", {}),
    ("unknown-template", sample(template="qwen-boxd"), "qwen-boxd", {}),
]


@pytest.fixture(scope="module")
def stored(tmp_path_factory, reference_run, tiny_model_path, tiny_model_no_template_path, math_data_dir):
    """An outputs tree holding the reference run, graded; plus the bad input files."""
    from rlboundary.benchmarks import get_benchmark
    from rlboundary.verify.grading import grade_run

    root = tmp_path_factory.mktemp("bad-inputs")
    outputs = root / "outputs"
    run_dir = copy_run(reference_run["run_dir"], outputs)
    grade_run(run_dir, get_benchmark("math500", data_dir=math_data_dir), "math-verify", workers=1)
    params = root / "params"
    params.mkdir()
    (params / "malformed.yaml").write_text("models:\n  - name: tiny\n    path: [unclosed\n n: 8\n")
    (params / "unknown_key.yaml").write_text("samples_per_problem: 8\n")
    (params / "wrong_type.yaml").write_text("temperature: hot\n")
    empty = root / "empty"
    empty.mkdir()
    (empty / "math500.jsonl").write_bytes(b"")
    bad = root / "badutf8"
    bad.mkdir()
    good_line = (math_data_dir / "math500.jsonl").read_bytes().splitlines()[0]
    (bad / "math500.jsonl").write_bytes(good_line + b"\n" + b'{"unique_id": "p9", "problem": "caf\xe9 \xff", "answer": "1"}\n')
    values = {"model": tiny_model_path, "model_no_template": tiny_model_no_template_path, "data": math_data_dir,
              "empty_data": empty, "bad_utf8_data": bad, "run": run_dir, "params": params}
    return outputs, {k: str(v) for k, v in values.items()}


@pytest.mark.parametrize("case_id, argv, fragment, env", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_clear_line(case_id, argv, fragment, env, stored):
    outputs, values = stored
    argv = [a.format(**values) for a in argv]
    before = tree_hashes(outputs)
    rc, out, err, seconds = run_cli(argv, outputs, timeout=300, **env)
    after = tree_hashes(outputs)
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    shown = f"argv: {' '.join(argv)}\nexit {rc}\nstderr (last lines):\n" + "\n".join(err.splitlines()[-15:])
    assert "Traceback" not in err, f"traceback instead of a one-line error\n{shown}"
    assert rc == 2, f"exit status {rc}, expected 2\n{shown}"
    assert len(errors) == 1, f"expected exactly one 'error:' line\n{shown}"
    assert fragment.lower() in errors[0].lower(), f"the error does not name {fragment!r}\n{shown}"
    assert "Fix:" in errors[0], f"the error names no fix\n{shown}"
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    assert not changed, f"the failed command changed stored files: {changed}\n{shown}"
    record("bad inputs", case=case_id, answered=errors[0][:110], seconds=round(seconds, 1))
