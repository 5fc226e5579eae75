"""The organism build's stage graph as data: every stage placed, dependencies
before dependents, the teacher chain started first; the workers setting."""

from __future__ import annotations

import pytest

from rlboundary.errors import UserError
from rlboundary.organism.build import stage_names
from rlboundary.organism.presets import PRESETS, get_preset
from rlboundary.organism.schedule import default_workers, depends, ready_stages


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
