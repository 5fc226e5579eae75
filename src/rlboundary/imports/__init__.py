"""Bring your own generations: other tools' sample files as rlboundary runs.

    rlboundary import qwen-math outputs/math500/test_qwen-boxed_-1_seed0_t0.6_s0_e-1.jsonl \
        --model qwen-base --benchmark math500 --data-dir ../shared/benchmarks/math

One module per source format (`qwen_math`, `lm_eval`, `lighteval`,
`evalplus`, `generic` for jsonl/csv/parquet columns, `counts`), each a
streaming reader of `records.SourceProblem`s; `registry` maps format names
to them; `matching` ties source problems to a registered benchmark (by id
or normalised question text) or builds an ad-hoc benchmark from the file's
own gold answers; `writer` stores the run atomically in the sample store
(`store.RunStore` layout) with the source's verdicts as grader `source`;
`importer.import_run` puts them together. Importing this package does
nothing.
"""
