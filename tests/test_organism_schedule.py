"""The organism build's stage graph as data: every stage placed, dependencies
before dependents, the teacher chain started first; the workers setting."""

from __future__ import annotations

import pytest

from rlboundary.errors import UserError
from rlboundary.organism.build import stage_names
from rlboundary.organism.presets import PRESETS, get_preset
from rlboundary.organism.schedule import default_workers, depends, ready_stages, ready_tasks


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_stage_is_in_the_graph_after_what_it_reads(preset):
    stages = stage_names(get_preset(preset))
    for i, stage in enumerate(stages):
        for d in depends(stage):
            # the sequential build runs stage_names in order: inputs first
            assert d in stages and stages.index(d) < i, (stage, d)


def test_ready_stages_follow_the_graph_and_start_the_teacher_chain_first():
    stages = stage_names(get_preset("default"))
    assert ready_stages(stages, set(), set()) == ["base"]
    assert ready_stages(stages, {"base"}, set()) == ["frontier", "instruct"]
    after_frontier = ready_stages(stages, {"base", "frontier"}, {"instruct"})
    assert after_frontier == ["teacher", "rl-grpo", "rl-rloo", "rft"]
    assert ready_stages(stages, {"base", "frontier", "teacher"}, {"rl-grpo"})[:2] == ["teacher-matched", "rl-rloo"]
    assert "distilled-matched" not in ready_stages(stages, {"base", "frontier", "teacher"}, set())
    assert ready_stages(stages, set(stages), set()) == []


def test_workers_setting(monkeypatch):
    from rlboundary import machine

    monkeypatch.delenv("RLBOUNDARY_BUILD_WORKERS", raising=False)
    monkeypatch.setattr(machine, "gpu_visible", lambda: False)
    monkeypatch.setattr(machine, "usable_cores", lambda: 1)
    assert default_workers() == 1  # one core: nothing to run beside
    monkeypatch.setattr(machine, "usable_cores", lambda: 8)
    assert default_workers() == 2  # the measured setting (AUTO_WORKERS)
    monkeypatch.setattr(machine, "gpu_visible", lambda: True)
    assert default_workers() == 1  # each stage's engine would claim most of the GPU
    monkeypatch.setenv("RLBOUNDARY_BUILD_WORKERS", "2")
    assert default_workers() == 2
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv("RLBOUNDARY_BUILD_WORKERS", bad)
        with pytest.raises(UserError, match="RLBOUNDARY_BUILD_WORKERS"):
            default_workers()


def test_the_frontiers_parts_start_before_any_other_stage_and_the_stage_after_them():
    from rlboundary.organism.stage_parts import part_levels, parts_of

    p = get_preset("default")
    stages = stage_names(p)
    parts = {s: parts_of(s, p) for s in stages}
    # the candidate levels dealt out longest (costliest) first, one part per worker, each level once
    assert parts["frontier"] == ["levels-8-6-4-2", "levels-7-5-3-1"]
    assert sorted(lv for key in parts["frontier"] for lv in part_levels(key)) == p.frontier_candidates()
    assert all(parts[s] == [] for s in stages if s != "frontier")
    tasks = [f"frontier#{key}" for key in parts["frontier"]]
    assert ready_tasks(stages, parts, set(), set()) == ["base"]
    assert ready_tasks(stages, parts, {"base"}, set()) == tasks + ["instruct"]
    assert ready_tasks(stages, parts, {"base"}, {tasks[0]}) == tasks[1:] + ["instruct"]
    # every part started: the stage waits for the last one; the teacher waits for the stage
    assert ready_tasks(stages, parts, {"base", tasks[1]}, {tasks[0]}) == ["instruct"]
    assert ready_tasks(stages, parts, {"base", *tasks}, {"instruct"}) == ["frontier"]
    assert ready_tasks(stages, parts, {"base", *tasks, "frontier"}, set())[:2] == ["teacher", "rl-grpo"]
    # a stage without parts (or one reused, given no parts) is unchanged
    assert ready_tasks(stages, {}, {"base"}, set()) == ready_stages(stages, {"base"}, set())
    assert parts_of("frontier", get_preset("micro")) == ["levels-4-2", "levels-3-1"]


def test_a_stored_part_is_read_only_with_its_stages_settings(tmp_path):
    from rlboundary.organism.stage_parts import clear_parts, part_path, stored_part

    path = part_path(tmp_path, "frontier", "level-3")
    path.parent.mkdir(parents=True)
    path.write_text('{"settings": {"n": 256}, "key": "level-3", "result": {"x": 1}, "seconds": 2.0}')
    assert stored_part(tmp_path, "frontier", "level-3", {"n": 256})["result"] == {"x": 1}
    assert stored_part(tmp_path, "frontier", "level-3", {"n": 128}) is None  # another setting: measured again
    assert stored_part(tmp_path, "frontier", "level-4", {"n": 256}) is None
    clear_parts(tmp_path, "frontier")
    assert not (tmp_path / ".parts").exists()
