"""The confirmation design's command-line surface: the power simulation and the --confirm flag."""

from __future__ import annotations

import os
import subprocess
import sys


def _cli(*args: str, tmp_path) -> subprocess.CompletedProcess:
    env = {**os.environ, "RLBOUNDARY_OUTPUTS": str(tmp_path), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "rlboundary.cli", *args], capture_output=True, text=True, env=env,
                          timeout=600)


def test_power_prints_the_verdict_frequencies_per_margin_without_a_build(tmp_path):
    r = _cli("organism", "power", "--worst-case", "--problems", "8", "--replicates", "20", tmp_path=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "worst case: reach .5 on every pair" in r.stdout and "3 seeds x 8 problems" in r.stdout
    for margin in ("0.05", "0.30"):
        assert margin in r.stdout
    # 24 coin-flip pairs cannot support the claim at any margin up to .30, and it says so
    assert "P(supported) | no change" in r.stdout
    assert "no margin up to 0.30 has P(supported | no change) >= 0.8" in r.stdout
    # the worst case needs no build: nothing was trained
    assert not (tmp_path / "models").exists()


def test_bad_confirmation_input_is_refused_with_the_fix(tmp_path):
    r = _cli("organism", "eval", "--confirm", "4", tmp_path=tmp_path)
    assert r.returncode == 2 and "--confirm only apply to the multi-seed" in r.stderr and "--seeds" in r.stderr
    r = _cli("organism", "power", "--problems", "0", "--worst-case", tmp_path=tmp_path)
    assert r.returncode == 2 and "must be >= 1" in r.stderr
    # Without --worst-case the reaches come from a build's manifest: none here, so it refuses (and builds nothing).
    r = _cli("organism", "power", "--seeds", "0", "--problems", "8", "--replicates", "20", tmp_path=tmp_path)
    assert r.returncode == 2 and "no finished build for seed 0" in r.stderr and "--worst-case" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "models").exists()
