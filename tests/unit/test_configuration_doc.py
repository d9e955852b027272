"""docs/configuration.md: generated from the Settings descriptions, and complete."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, Field

from sdq.scaling_policy import ScalingPolicy
from sdq.settings import ModelSpec, Settings
from sdq.settings_doc import (
    DOC_PATH,
    WRITE_COMMAND,
    configuration_markdown,
    default_text,
    described_fields,
    env_name,
    type_text,
)

DOC = Path(__file__).resolve().parents[2] / DOC_PATH
REGENERATE = f"docs/configuration.md is stale: run `{WRITE_COMMAND}`"


def test_the_page_is_the_generated_one() -> None:
    assert DOC.read_text(encoding="utf-8") == configuration_markdown(), REGENERATE


@pytest.mark.parametrize("name", list(Settings.model_fields))
def test_every_setting_is_on_the_page(name: str) -> None:
    assert f"`{env_name(name)}`" in DOC.read_text(encoding="utf-8"), REGENERATE


@pytest.mark.parametrize(
    ("model", "name"),
    [
        (model, name)
        for model in (Settings, ModelSpec, ScalingPolicy)
        for name in model.model_fields
    ],
)
def test_every_field_has_a_description(model: type[BaseModel], name: str) -> None:
    description = model.model_fields[name].description
    assert description and description.strip(), f"{model.__name__}.{name} needs description="


def test_a_field_without_description_stops_the_generator() -> None:
    class Undescribed(BaseModel):
        told: int = Field(default=1, description="Has one")
        untold: int = 2

    with pytest.raises(ValueError, match="without a description: untold"):
        described_fields(Undescribed)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("job_retention_s", "int ≥ 60"),
        ("heartbeat_interval_s", "float > 0"),
        ("webhook_timeout_s", "float > 0, ≤ 30"),
        ("port", "int from 1 to 65535"),
        ("storage", "one of local, s3"),
        ("data_dir", "path"),
        ("probe_dir", "path"),
        ("s3_secret_access_key", "secret string"),
        ("redis_url", "URL"),
        ("log_level", "string"),
        ("cancel_on_disconnect", "boolean"),
        ("local_max_workers", "int ≥ 1"),
        ("webhook_retry_schedule_s", "list of floats (comma-separated)"),
        ("models", "JSON list of model specs, or `id[=source],…`"),
    ],
)
def test_type_text(name: str, expected: str) -> None:
    assert type_text(name, Settings.model_fields[name]) == expected


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("redis_url", None, "unset"),
        ("cancel_on_disconnect", True, "`true`"),
        ("job_retention_s", 86400, "`86400` (24 h)"),
        ("job_hard_time_limit_s", 660, "`660` (11 min)"),
        ("heartbeat_interval_s", 2.0, "`2`"),
        ("max_body_bytes", 1024 * 1024, "`1048576` (1 MiB)"),
        ("max_init_image_pixels", 4096 * 4096, "`16777216` (4096\N{MULTIPLICATION SIGN}4096)"),
        ("webhook_retry_schedule_s", [5.0, 30.0, 0.5], "`5,30,0.5`"),
        (
            "models",
            [ModelSpec(id="sdq/tiny"), ModelSpec(id="a/b", source="/m")],
            "`sdq/tiny,a/b=/m`",
        ),
        ("data_dir", Path(".sdq"), "`.sdq`"),
    ],
)
def test_default_text(name: str, value: object, expected: str) -> None:
    assert default_text(name, value) == expected


def test_models_that_shorthand_cannot_express_render_as_json() -> None:
    text = default_text("models", [ModelSpec(id="a/b", max_size=1024)])
    assert text == '`[{"id": "a/b", "max_size": 1024}]`'
