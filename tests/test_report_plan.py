"""`rlboundary report` prices its parameter set first, and asks above a GPU-hour threshold.

    pytest tests/test_report_plan.py -q

- params/onegpu (the recommended first real run) is planned within its
  budget: at most 2 GPU-hours on one H100 for Figures 1, 5, 6 and 7 together;
- the notebooks a parameter-set directory has no file for are left out with
  the reason, unless asked for by name;
- the question is put only in an interactive terminal (a pseudo-terminal
  here: "n" stops the command before anything runs), never with --yes, with
  stdin not a terminal, or under CI.
"""

from __future__ import annotations

import io
import os
import select
import subprocess
import sys
import time

import pytest

from rlboundary.commands import reporting
from rlboundary.commands.planning import estimate_runs, plan_total
from rlboundary.errors import UserError
from rlboundary.params import HOME_SETS, NOTEBOOKS, load_params
from rlboundary.report import report_params

ONEGPU_FIGURES = ("fig01_passk_math", "fig05_accuracy_and_coverage", "fig06_perplexity", "fig07_distillation")


def test_onegpu_is_planned_within_two_gpu_hours_on_one_h100():
    sets = {nb: load_params(nb, "onegpu") for nb in ONEGPU_FIGURES}
    estimates, unsized = estimate_runs(sets, gpu="h100")
    assert not unsized and estimates
    line, hours = plan_total(estimates, unsized, "h100")
    print(f"\n[onegpu plan, {', '.join(ONEGPU_FIGURES)}] {line}")
    assert hours <= 2.0, line
    # Hub models of at most 1.5B parameters, one GPU each.
    assert all(e.gpus_per_replica == 1 for e in estimates)
    assert all("1.5b" in e.shape_source or "1.5B" in e.shape_source for e in estimates), [e.shape_source for e in estimates]
    # Runs the notebooks share are sampled once: 4 models x 2 benchmarks.
    assert len(estimates) == 8


def test_a_set_without_a_notebooks_file_leaves_it_out_with_the_reason():
    params, skipped = report_params(["onegpu"])
    assert set(params) == {*ONEGPU_FIGURES, "fig03_passk_code"}
    assert set(skipped) == {"fig08_rl_algorithms", "cot_validity", "horizon", "organism_reach", "atlas"}
    assert all("onegpu" in why and f"{nb}.yaml" in why for nb, why in skipped.items())
    full, only_own_sets_skipped = report_params(["paper"])
    # The atlas has a set of its own (params/atlas/, params.HOME_SETS), not part of paper or default.
    assert list(full) == [nb for nb in NOTEBOOKS if nb not in HOME_SETS] and set(only_own_sets_skipped) == set(HOME_SETS)
    # Asked for by name, a missing file is an error, not a silent skip.
    with pytest.raises(UserError, match="has no horizon.yaml"):
        report_params(["onegpu"], only=["horizon"])


def _paper_fig01():
    return {"fig01_passk_math": load_params("fig01_passk_math", "paper")}


class _Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("case", ["yes-flag", "stdin-not-a-terminal", "ci"])
def test_never_asks_without_a_person_at_a_terminal(monkeypatch, case):
    shown = []
    # Any question would read this stdin and get "" (an abort), so returning proves none was asked.
    monkeypatch.setattr(sys, "stdin", io.StringIO("") if case == "stdin-not-a-terminal" else _Terminal(""))
    if case == "ci":
        monkeypatch.setenv("CI", "true")
    else:
        monkeypatch.delenv("CI", raising=False)
    reporting.plan_first(_paper_fig01(), yes=(case == "yes-flag"), echo=shown.append)
    assert len(shown) == 1 and shown[0].startswith("[report] plan:") and "GPU-hours on one H100" in shown[0]


def test_below_the_threshold_it_does_not_ask(monkeypatch):
    monkeypatch.setattr(sys, "stdin", _Terminal(""))
    monkeypatch.delenv("CI", raising=False)
    shown = []
    reporting.plan_first({"fig06_perplexity": load_params("fig06_perplexity", "onegpu")}, yes=False, echo=shown.append)
    assert len(shown) == 1


def test_organism_sets_are_not_priced_and_not_asked(monkeypatch):
    monkeypatch.setattr(sys, "stdin", _Terminal(""))
    shown = []
    reporting.plan_first({"horizon": load_params("horizon", "micro")}, yes=False, echo=shown.append)
    assert shown == ["[report] plan: 2 runs; GPU-hours not estimated (no model of a known shape)"]


def test_in_a_terminal_above_the_threshold_it_asks_and_no_stops(tmp_path):
    """The real command in a pseudo-terminal: the paper's Figure 1 (hundreds of GPU-hours)."""
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env.update(RLBOUNDARY_OUTPUTS=str(tmp_path / "outputs"), HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1",
               TERM="dumb", COLUMNS="200")
    master, slave = os.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "rlboundary.cli", "report", "--params", "paper",
                             "--only", "fig01_passk_math"], stdin=slave, stdout=slave, stderr=slave, env=env,
                            close_fds=True)
    os.close(slave)
    seen, answered, deadline = b"", False, time.time() + 240
    try:
        while time.time() < deadline:
            ready, _, _ = select.select([master], [], [], 1.0)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                seen += chunk
            if not answered and b"Continue?" in seen:
                os.write(master, b"n\n")
                answered = True
            if proc.poll() is not None and not ready:
                break
        rc = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    text = seen.decode(errors="replace")
    assert answered, text
    assert "[report] plan:" in text and text.index("[report] plan:") < text.index("Continue?")
    assert rc == 1 and "not started" in text, text
    assert not (tmp_path / "outputs" / "report").exists() and not (tmp_path / "outputs" / "samples").exists()


def test_the_threshold_is_one_gpu_hour():
    assert reporting.ASK_ABOVE_GPU_HOURS == 1.0
    hours = plan_total(*estimate_runs(_paper_fig01()), "h100")[1]
    assert hours > reporting.ASK_ABOVE_GPU_HOURS  # the pseudo-terminal case really is above it


def test_plan_reads_an_atlas_file_under_any_name_as_the_atlas(tmp_path):
    from rlboundary.commands.planning import load_param_sets
    from rlboundary.errors import UserError

    for name in ("atlas.yaml", "micro.yaml", "no-exposure.yaml"):
        sets = load_param_sets(f"params/atlas/{name}")
        assert list(sets) == ["atlas"] and sets["atlas"].arms, name
    broken = tmp_path / "broken.yaml"
    broken.write_text("n: [4\n")
    with pytest.raises(UserError, match="not valid YAML at line 2"):
        load_param_sets(str(broken))
