"""Samples of one model file listed under two names: read from the other name's run, not drawn again.

A study may list the same checkpoint twice: fig08 compares RL checkpoints along training and the
final model, and when RL stops at a save step (the default organism's GRPO and RLOO both stopped at
step 60 on seed 0) `rl-grpo-step60` and `rl-grpo` are one directory with one set of weights. Their
runs have the same identity but for the model's name (path, weights hash, template, settings, seed),
so every sample is drawn with the same seed (`sampling.derive_seed(seed, problem_id, chunk)`, which
no name enters) and is the same text: session 17 found the two runs' texts identical. `sample_run`
asks `copy_from_twins` for the units still missing before it starts an engine; what a twin has
stored is written into this run's store as whole chunks, and only the rest is sampled.

Only models whose weights are hashed (`ModelSpec.identity()["weights"]`, local directories up to
`models.WEIGHTS_DIGEST_MAX_BYTES`) have twins: for a hub id or a large local checkpoint the path is
all the identity knows, and two names at one path may then have been sampled at different times
from different files.

    from rlboundary.twin_runs import copy_from_twins
"""

from __future__ import annotations

from .errors import UserError
from .store import SAMPLE_COLUMNS, TOKEN_IDS, RunStore, _jsonable


def twin_runs(store: RunStore, identity: dict) -> list[RunStore]:
    """Stored runs under other model names whose identity equals `identity` but for the name."""
    identity = _jsonable(identity)
    if not identity.get("model", {}).get("weights"):
        return []
    unnamed = {**identity, "model": {**identity["model"], "name": None}}
    bench_dir = store.run_dir.parent  # <samples>/<model>/<benchmark>/<settings>-w<weights>-seed<seed>
    twins = []
    for run_dir in sorted(bench_dir.parent.parent.glob(f"*/{bench_dir.name}/{store.run_dir.name}")):
        if run_dir.resolve() == store.run_dir.resolve():
            continue
        try:
            meta = RunStore(run_dir).read_meta()
        except UserError:  # a damaged meta.json: not a twin to trust (`rlboundary check` repairs it)
            continue
        if meta and {**{k: meta.get(k) for k in identity}, "model": {**meta.get("model", {}), "name": None}} == unnamed:
            twins.append(RunStore(run_dir))
    return twins


def copy_from_twins(store: RunStore, units: list, identity: dict, log=None) -> list:
    """Write into `store` (whose lock the caller holds) every missing unit a twin run holds whole;
    returns the units still to sample."""
    left = list(units)
    for twin in twin_runs(store, identity):
        if not left:
            break
        if not twin.has_text():
            continue
        have = twin.stored_counts()
        whole = [u for u in left if set(u.missing) <= have.get(u.problem_id, set())]
        if not whole:
            continue
        wanted = {(u.problem_id, i) for u in whole for i in u.missing}
        rows = twin.samples(columns=[*SAMPLE_COLUMNS, TOKEN_IDS])
        rows = rows[[key in wanted for key in zip(rows["problem_id"], rows["sample_idx"])]]
        store.write_chunk(rows)
        left = [u for u in left if u not in whole]
        if log is not None:
            log(f"{len(rows)} samples read from {twin.run_dir} (the same model files under another name)")
    return left
