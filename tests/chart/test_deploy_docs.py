"""Every values snippet in the Kubernetes guide and the ingress guide renders into valid
Kubernetes 1.30 objects."""

from __future__ import annotations

import re
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tests.chart.render import KUBERNETES_VERSION, ROOT, render

DOC = ROOT / "docs" / "deploy-kubernetes.md"
# The section "Putting sdq behind an ingress with TLS" (chart values only in its yaml blocks).
INGRESS_DOC = ROOT / "docs" / "security.md"


def snippets(doc: Path) -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", doc.read_text(), flags=re.DOTALL)


SNIPPETS = snippets(DOC) + snippets(INGRESS_DOC)


def test_the_guide_has_values_snippets() -> None:
    assert len(snippets(DOC)) >= 5
    assert snippets(INGRESS_DOC)


@pytest.mark.parametrize("snippet", SNIPPETS, ids=[s.split(":")[0] for s in SNIPPETS])
def test_snippet_renders_valid_objects(snippet: str, tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    values.write_text(snippet)
    assert isinstance(yaml.safe_load(snippet), dict)
    docs = render(("-f", str(values)))
    for doc in docs:
        if not doc["apiVersion"].startswith("keda.sh/"):  # KEDA's resources: not core
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
