"""Verdicts stored on disk match the samples: one per sample, none extra, as `passk` reads them.

    pytest tests/reliability/test_verdict_cache.py -q

`rlboundary passk` reads the verdict files directly, so a verdict that
`rlboundary verify` returns but does not store silently changes pass@k
(fewer samples, different c). The store mixes every way a verdict is
decided: a worker grading a symbolic answer, an exact integer answer, a
sample with no answer (unparseable), and a sample whose answer repeats one
graded before (fanned out, then reused from the cache on a second run).
"""

from __future__ import annotations

import pyarrow.parquet as pq

from rlboundary.models import ModelSpec
from rlboundary.sampling import SamplingSettings
from rlboundary.store import RunStore, run_dir_for
from rlboundary.study import effective_settings, run_identity

from .conftest import PROBLEMS, record, run_cli, tail

N_CACHE = 8


def make_mixed_store(outputs):
    spec = ModelSpec(name="mixed", path="/nowhere/mixed", template="raw")
    settings = effective_settings(spec, SamplingSettings(n=N_CACHE, max_tokens=16, chunk_size=4))
    store = RunStore(run_dir_for(spec.name, "math500", settings.settings_hash(), 0, root=outputs / "samples"))
    texts = ["\\boxed{{{gold}}}", "\\boxed{{17}}", "no answer here", "\\boxed{{\\frac{{1}}{{7}}}}", "\\boxed{{{gold}}}",
             "\\boxed{{x^2+1}}", "\\boxed{{17}}", "I give up"]
    with store.lock():
        store.ensure_meta(run_identity(spec, "math500", settings, 0),
                          target={"n": N_CACHE, "problem_ids": [p["unique_id"] for p in PROBLEMS]})
        for c in range(settings.n_chunks()):
            store.write_chunk([
                {"problem_id": p["unique_id"], "sample_idx": i, "text": texts[i].format(gold=p["answer"]),
                 "num_tokens": 5, "finish_reason": "stop"}
                for p in PROBLEMS for i in settings.chunk_range(c)
            ])
    return store.run_dir


def stored_verdict_keys(run_dir):
    keys = []
    for part in sorted(run_dir.glob("verdicts/*/part-*.parquet")):
        t = pq.read_table(part, columns=["problem_id", "sample_idx"])
        keys += list(zip(t.column("problem_id").to_pylist(), t.column("sample_idx").to_pylist()))
    return keys


def test_every_sample_gets_exactly_one_stored_verdict(tmp_path, math_data_dir):
    outputs = tmp_path / "outputs"
    run_dir = make_mixed_store(outputs)
    samples = {(p["unique_id"], i) for p in PROBLEMS for i in range(N_CACHE)}
    args = ["verify", str(run_dir), "--data-dir", str(math_data_dir), "--workers", "1"]
    rc, out, err, _ = run_cli(args, outputs)
    assert rc == 0, tail(err)
    keys = stored_verdict_keys(run_dir)
    missing = samples - set(keys)
    assert not missing, (f"`verify` graded {len(samples)} samples but stored verdicts for only {len(set(keys))}; "
                         f"missing e.g. {sorted(missing)[:4]} (passk would count n={len(set(keys))} instead of {len(samples)})")
    assert len(keys) == len(set(keys)) and set(keys) == samples
    # A second run grades nothing new and stores nothing new.
    rc, out, err, _ = run_cli(args, outputs)
    assert rc == 0 and f"({len(samples)} cached, 0 new)" in out, out + tail(err)
    assert sorted(stored_verdict_keys(run_dir)) == sorted(keys)
    # passk sees every sample: n = N_CACHE per problem.
    rc, out, err, _ = run_cli(["passk", str(run_dir), "--k", "1", "--k", str(N_CACHE)], outputs)
    assert rc == 0, tail(err)
    assert f"n={N_CACHE}" in out and f"{len(PROBLEMS)} problems" in out, out
    record("verdict cache", samples=len(samples), stored_verdicts=len(keys))
