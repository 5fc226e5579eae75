#!/usr/bin/env bash
# GPU check of the one-GPU study, params/onegpu (see benchmarks/gpu_onegpu_check.py's docstring):
# Figures 1, 5, 6 and 7 end to end through the transformers backend, on random-initialised
# weights of the chosen models' shapes and a handful of problems. For one GPU machine with
# torch + transformers, no vLLM, no network and no rlboundary install; under 8 minutes.
#
#   bash benchmarks/gpu_onegpu_check.sh --prepare   # here, with network: math-verify wheels into .whl/
#   bash benchmarks/gpu_onegpu_check.sh             # on the GPU machine (carry .whl):
#                                                   #   $OUT/gpu_onegpu_check.pdf (+ .json), else benchmarks/results/
#   bash benchmarks/gpu_onegpu_check.sh --smoke     # CPU, tiny shapes: a dry run of the same path
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-$(command -v python3 || command -v python)}"

# math-verify and what it needs, pure-Python wheels (the GPU machine has sympy already).
WHEELS=(math-verify==0.9.0 latex2sympy2_extended==1.11.0 antlr4-python3-runtime==4.13.2)
if [ "${1:-}" = "--prepare" ]; then
  mkdir -p .whl
  grep -qx '/.whl/' .git/info/exclude 2>/dev/null || { [ -d .git ] && echo '/.whl/' >> .git/info/exclude || true; }
  "$PY" -m pip download -q --no-deps --only-binary=:all: -d .whl "${WHEELS[@]}"
  ls .whl
  exit 0
fi

export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1
export RLBOUNDARY_OUTPUTS="${RLBOUNDARY_OUTPUTS:-${TMPDIR:-/tmp}/rlboundary_onegpu_check}"
if ! "$PY" -c "import math_verify, latex2sympy2_extended" 2>/dev/null; then
  if compgen -G ".whl/*.whl" >/dev/null; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --target /tmp/onegpu_site .whl/*.whl
    export PYTHONPATH="$PYTHONPATH:/tmp/onegpu_site"
  else
    echo "math-verify is not importable and there is no .whl/ folder: run '$0 --prepare' where pip works, carry .whl" >&2
    exit 2
  fi
fi
if [ "${1:-}" = "--smoke" ]; then
  OUTFILE="${RLBOUNDARY_OUTPUTS}/gpu_onegpu_check_smoke.pdf"
else
  OUTFILE="${OUT:+$OUT/gpu_onegpu_check.pdf}"
  OUTFILE="${OUTFILE:-$PWD/benchmarks/results/gpu_onegpu_check.pdf}"
fi
mkdir -p "$(dirname "$OUTFILE")"
# Hard limit 8 minutes: interrupt at 450 s, kill 30 s later (CHECK_TIMEOUT_S, e.g. for --smoke on a busy CPU); the script itself
# skips the notebooks left after --budget-s (CHECK_BUDGET_S).
exec timeout --signal=INT --kill-after=30 "${CHECK_TIMEOUT_S:-450}" "$PY" benchmarks/gpu_onegpu_check.py \
  --out "$OUTFILE" --budget-s "${CHECK_BUDGET_S:-400}" "$@"
