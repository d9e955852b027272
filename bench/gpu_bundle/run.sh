#!/usr/bin/env bash
# Run bench/gpu.py on the lent GPU machine (python3 = CPython 3.12 with CUDA torch, no network):
# install the wheels beside this script (what that machine lacks: requirements.txt says why each)
# into a folder on PYTHONPATH, ahead of the machine's own packages, then benchmark.
# Made by `make gpu-bench-bundle`; arguments go to gpu.py (default: both families, all batches).
#   bash .sdq/gpu-bundle/run.sh --families sd15 --out "$OUT/gpu"
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="${PYTHON:-python3}"
site="${SDQ_GPU_SITE:-/tmp/sdq-gpu-site}"
"$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target "$site" "$here"/wheels/*.whl
export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
"$python" -c 'import torch; assert torch.cuda.is_available(), "no CUDA torch"'
cd "$here"
exec "$python" "$here/gpu.py" --models-dir "${MODELS_DIR:-/tmp/sdq-gpu-models}" \
    --out "${OUT:-$here}/gpu" "$@"
