#!/usr/bin/env bash
# Run bench/gpu.py on a GPU machine with CUDA torch and no network: install sdq and its worker
# dependencies from the wheels beside this script into a venv that sees the machine's torch,
# then benchmark. Made by `make gpu-bench-bundle`; arguments go to gpu.py (default: both families).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="${PYTHON:-python3}"
"$python" -m venv --system-site-packages "$here/venv"
"$here/venv/bin/python" -m pip install -q --no-index --find-links "$here/wheels" 'sdq[worker]'
"$here/venv/bin/python" -c 'import torch; assert torch.cuda.is_available(), "no CUDA torch"'
cd "$here"
exec "$here/venv/bin/python" "$here/gpu.py" --models-dir "${MODELS_DIR:-$here/models}" \
    --out "${OUT:-$here}/gpu" "$@"
