#!/usr/bin/env bash
# GPU check of the transformers path (see benchmarks/gpu_check.py's docstring).
# For one GPU machine with torch + transformers, no vLLM, no network and no
# rlboundary install: runs from the repo root with the machine's own python.
#   bash benchmarks/gpu_check.sh            # writes $OUT/gpu_check.json (or outputs/gpu_check.json)
#   bash benchmarks/gpu_check.sh --smoke    # CPU, tiny shapes
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1
# Keep generated files out of the working tree's outputs/ unless the caller chose a place.
export RLBOUNDARY_OUTPUTS="${RLBOUNDARY_OUTPUTS:-${TMPDIR:-/tmp}/rlboundary_gpu_check}"
PY="${PYTHON:-$(command -v python3 || command -v python)}"
OUTFILE="${OUT:+$OUT/gpu_check.json}"
OUTFILE="${OUTFILE:-$PWD/outputs/gpu_check.json}"
# Hard limit 8 minutes; the script itself skips later measurements after --budget-s.
exec timeout --signal=INT --kill-after=15 480 "$PY" benchmarks/gpu_check.py --out "$OUTFILE" --budget-s 420 "$@"
