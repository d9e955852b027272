"""Every values snippet in docs/deploy-kubernetes.md renders into valid Kubernetes 1.30 objects."""

from __future__ import annotations

import re
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tests.chart.render import KUBERNETES_VERSION, ROOT, render

DOC = ROOT / "docs" / "deploy-kubernetes.md"
SNIPPETS = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


def test_the_guide_has_values_snippets() -> None:
    assert len(SNIPPETS) >= 5


@pytest.mark.parametrize("snippet", SNIPPETS, ids=[s.split(":")[0] for s in SNIPPETS])
def test_snippet_renders_valid_objects(snippet: str, tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    values.write_text(snippet)
    assert isinstance(yaml.safe_load(snippet), dict)
    docs = render(("-f", str(values)))
    for doc in docs:
        if doc["kind"] != "ScaledObject":
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
