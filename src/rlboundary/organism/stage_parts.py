"""Parts of a build stage measured ahead, side by side, by the build's workers.

The frontier stage measures the base's luck-free reach at every candidate
level, one level after another; it is on the build's critical path, and
with it alone the build's second worker had little to do (the instruct SFT,
then nothing: 82 s idle in session 18's cold run). Each level's measurement
is independent: its own problems (`frontier.reach_problems`, drawn per
level) and its own per-round sampling seeds, so levels measured in another
process give the rows the stage would have measured itself (checked: seed
0's eight rows, measured in two parts in two processes, equal the stored
one-at-a-time build's, samples drawn included: `benchmarks/frontier_parts.py`,
129.7 s in one process vs 89.7 s in two parts side by side).

So with two or more build workers `schedule.run_stage_graph` runs each of a
stage's parts (`parts_of`) in a worker process as soon as the stage's inputs
exist, and the stage then reads the stored parts (`stored_part`) and
measures only what is missing. A part is stored with its stage's settings
(`build._stage_settings`): a part of another base or another frontier rule is
never read. The parts are removed once the stage has recorded its result;
their time is added to the stage's `seconds` (core time, as if one worker had
measured them).

    from rlboundary.organism.stage_parts import parts_of, run_part, stored_part
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

PARTS_DIR = ".parts"  # <build dir>/.parts/<stage>/<part>.json, outside the stage's own directory


FRONTIER_PARTS = 2  # schedule.AUTO_WORKERS: one part per worker; each part starts one engine


def levels_part(levels) -> str:
    return "levels-" + "-".join(str(level) for level in levels)


def part_levels(key: str) -> list[int]:
    return [int(x) for x in key.removeprefix("levels-").split("-")]


def parts_of(stage: str, p) -> list[str]:
    """The parts of `stage` that may be measured ahead, costliest first ([] when it has none)."""
    if stage == "frontier":
        # The candidate levels dealt out longest first: where the base reaches little, every one of a
        # problem's n samples is drawn, and the samples are longest (seed 0's levels 7 and 8 drew 4,096
        # samples each, ~45 s; levels 1-4 under 10 s). One part per worker, not per level: each part
        # starts a vLLM engine (~2 s, ~20 s for a process's first); one part per level cost 198 s of
        # core time in a cold build, two parts 157 s (session 19).
        levels = sorted(p.frontier_candidates(), reverse=True)
        return [levels_part(levels[i::FRONTIER_PARTS]) for i in range(min(FRONTIER_PARTS, len(levels)))]
    return []


def part_path(root: Path, stage: str, key: str) -> Path:
    return Path(root) / PARTS_DIR / stage / f"{key}.json"


def stored_part(root: Path, stage: str, key: str, settings: dict) -> dict | None:
    """A part's stored record ({"result", "seconds"}) if it was measured with these stage settings."""
    path = part_path(root, stage, key)
    if not path.is_file():
        return None
    record = json.loads(path.read_text())
    return record if record.get("settings") == settings else None


def run_part(stage: str, key: str, p, seed: int, root: Path) -> float:
    """Measure one part and store it (nothing when it is stored already); returns its seconds."""
    from .build import _stage_settings

    settings = _stage_settings(p, seed, stage)
    if stored_part(root, stage, key, settings) is not None:
        return 0.0
    t = time.perf_counter()
    if stage == "frontier":
        result = {str(level): row for level, row in measure_frontier_levels(p, seed, Path(root), part_levels(key)).items()}
    else:
        raise ValueError(f"stage {stage!r} has no parts")
    seconds = time.perf_counter() - t
    path = part_path(root, stage, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"settings": settings, "key": key, "result": result, "seconds": seconds}, indent=1))
    tmp.rename(path)  # whole or absent: a killed part is measured again
    return seconds


def measure_frontier_levels(p, seed: int, root: Path, levels: list[int]) -> dict[int, dict]:
    """The base's luck-free reach at candidate levels: the frontier stage's measurement, one sampler."""
    from .frontier import measure_luck_free_reach_levels

    return measure_luck_free_reach_levels(root / "base", levels, p.frontier_problems, p.frontier_n, seed, p.width,
                                          p.max_completion_tokens())


def parts_seconds(root: Path, stage: str, settings: dict, keys: list[str]) -> float:
    """Seconds the stored parts among `keys` took to measure."""
    return sum(r["seconds"] for k in keys if (r := stored_part(root, stage, k, settings)) is not None)


def clear_parts(root: Path, stage: str) -> None:
    """Remove a stage's stored parts (after it recorded its result)."""
    shutil.rmtree(Path(root) / PARTS_DIR / stage, ignore_errors=True)
    try:
        (Path(root) / PARTS_DIR).rmdir()  # only when no other stage's parts are left
    except OSError:
        pass
