"""The literal SD 1.5 and SDXL configs build the published networks: parameter counts equal the
released checkpoints' (built on the meta device, nothing allocated)."""

from __future__ import annotations

import pytest
import torch

from worker.engines.random_model import build_components

# Parameters of the released checkpoints' components.
PUBLISHED: list[tuple[str, str, int]] = [
    ("sd15", "unet", 859_520_964),
    ("sd15", "vae", 83_653_863),
    ("sd15", "text_encoder", 123_060_480),
    ("sdxl", "unet", 2_567_463_684),
    ("sdxl", "vae", 83_653_863),
    ("sdxl", "text_encoder", 123_060_480),
    ("sdxl", "text_encoder_2", 694_659_840),
]


@pytest.fixture(scope="module")
def built() -> dict[str, dict[str, torch.nn.Module]]:
    with torch.device("meta"):
        return {family: build_components(family) for family in ("sd15", "sdxl")}


@pytest.mark.parametrize(("family", "part", "parameters"), PUBLISHED)
def test_each_component_has_the_published_parameter_count(
    built: dict[str, dict[str, torch.nn.Module]], family: str, part: str, parameters: int
) -> None:
    module = built[family][part]
    assert sum(p.numel() for p in module.parameters()) == parameters
    assert next(module.parameters()).device.type == "meta"


def test_the_families_have_exactly_their_components(
    built: dict[str, dict[str, torch.nn.Module]],
) -> None:
    assert {family: sorted(parts) for family, parts in built.items()} == {
        family: sorted(part for fam, part, _ in PUBLISHED if fam == family) for family in built
    }
