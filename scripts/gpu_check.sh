#!/usr/bin/env bash
# The fine-tune GPU check (scripts/gpu_check.py) on a CUDA machine where no doc2slm package is installed:
# the repo's package folders go on PYTHONPATH, nothing comes from a hub, figures land in $OUT.
# Usage (from anywhere): OUT=/some/dir scripts/gpu_check.sh [--tiny] [--budget-s 450]
# bitsandbytes may live outside the interpreter's site-packages (e.g. PYTHONPATH=/tmp/site): it is kept.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PYTHONPATH="$ROOT/services/common:$ROOT/pipelines:$ROOT/services/serving${PYTHONPATH:+:$PYTHONPATH}"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export PYTORCH_CUDA_ALLOC_CONF="${PYTORCH_CUDA_ALLOC_CONF:-expandable_segments:True}"
OUT="${OUT:-$ROOT/out/gpu_check}"
mkdir -p "$OUT"
PY="${PYTHON:-python3}"
# Fail in seconds, with the reason, when a needed library is missing (not minutes into a phase).
"$PY" - <<'PYEOF'
import importlib, sys
missing = []
for name in ("torch", "transformers", "peft", "bitsandbytes", "safetensors", "tokenizers",
             "doc2slm_common.storage", "doc2slm_pipelines.finetune.run", "doc2slm_serving.engine"):
    try:
        importlib.import_module(name)
    except Exception as error:  # report every missing piece at once
        missing.append(f"{name}: {type(error).__name__}: {error}")
if missing:
    print("gpu_check cannot start:\n  " + "\n  ".join(missing), file=sys.stderr)
    sys.exit(3)
PYEOF
exec "$PY" "$ROOT/scripts/gpu_check.py" --out "$OUT" "$@"
