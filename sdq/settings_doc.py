"""docs/configuration.md, rendered from the descriptions of the `Settings` fields.

`python -m sdq.settings_doc --write docs/configuration.md` regenerates the page; a unit test
fails when the file and `configuration_markdown()` disagree, or when a field lacks a description.
"""

from __future__ import annotations

import argparse
import json
import sys
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo

from sdq.model_runtime import ModelRuntime
from sdq.scaling_policy import ScalingPolicy
from sdq.settings import ModelDefaults, ModelSpec, Settings

ENV_PREFIX = "SDQ_"
DOC_PATH = "docs/configuration.md"
WRITE_COMMAND = f"python -m sdq.settings_doc --write {DOC_PATH}"


@dataclass(frozen=True)
class Section:
    """One topic of the page: a heading, a short introduction and its settings, in order."""

    title: str
    intro: str
    fields: tuple[str, ...]


SECTIONS: tuple[Section, ...] = (
    Section(
        "Redis and data",
        "Every process shares one Redis: the job records, their event streams, the Celery "
        "queues, worker heartbeats and the webhook schedule. Without `SDQ_REDIS_URL`, `sdq up` "
        "starts an embedded Redis that keeps its files under the data directory; the other "
        "commands (`sdq api`, `sdq worker`, `sdq webhooks`, `sdq scaler`) need the URL.",
        (
            "redis_url",
            "data_dir",
            "redis_appendfsync",
            "redis_replica_acks",
            "redis_replica_ack_timeout_ms",
        ),
    ),
    Section(
        "Models and API limits",
        "Which models are served (each entry is described under "
        "[One `SDQ_MODELS` entry](#one-sdq_models-entry)), where the API listens, and the "
        "limits it applies to requests before any job is queued. A request over a limit gets "
        "`414` or `431` (URL, headers), `413` (body size) or `422` (the field that is wrong).",
        (
            "models",
            "host",
            "port",
            "public_url",
            "max_header_bytes",
            "max_body_bytes",
            "max_image_body_bytes",
            "max_init_image_pixels",
            "max_prompt_chars",
            "lora_dir",
            "max_loras_per_job",
            "max_wait_s",
            "sync_wait_s",
            "max_open_waits",
            "max_open_waits_per_tenant",
            "cancel_on_disconnect",
            "sse_ping_s",
            "shutdown_grace_s",
        ),
    ),
    Section(
        "Access control",
        "Who may call the API: with `SDQ_ADMIN_KEY` set, every endpoint but `/healthz`, "
        "`/readyz`, the API docs, the web UI's pages (they hold no data; their calls carry the key "
        "a person signs in with) and signed `/v1/files` links needs a key, and each client key "
        "sees only its own predictions. The browser guards (allowed hosts, allowed origins) hold "
        "with or without keys. See [Security](security.md).",
        (
            "auth",
            "admin_key",
            "allowed_hosts",
            "cors_origins",
            "link_secret",
            "link_ttl_s",
            "metrics_token",
            "metrics_port",
            "metrics_host",
        ),
    ),
    Section(
        "Jobs and recovery",
        "How long a job may run and how the platform notices a worker that died. Start-up "
        "checks the order of the limits: the hard time limit must exceed the soft one, the "
        "broker visibility timeout the hard limit, and the heartbeat TTL the heartbeat interval.",
        (
            "job_retention_s",
            "job_soft_time_limit_s",
            "job_hard_time_limit_s",
            "broker_visibility_timeout_s",
            "max_attempts",
            "heartbeat_interval_s",
            "heartbeat_ttl_s",
            "reaper_interval_s",
        ),
    ),
    Section(
        "Webhooks",
        "Webhooks are signed with the Standard Webhooks scheme and delivered by `sdq webhooks` "
        "(started by `sdq up`), never on a GPU worker's time. Start-up checks that the lease "
        "exceeds the timeout of one attempt and that no retry delay is negative.",
        (
            "webhook_secret",
            "webhook_allow_private",
            "webhook_retry_schedule_s",
            "webhook_retry_jitter",
            "webhook_timeout_s",
            "webhook_intermediate_interval_s",
            "webhook_concurrency",
            "webhook_lease_s",
        ),
    ),
    Section(
        "Scaling",
        "`sdq scaler` (started by `sdq up`) sizes each model's workers from its queued and "
        "in-flight work, following the model's [scaling policy](#scaling-policy). The actuator "
        "decides what it sizes: local worker processes, or the Helm chart's worker Deployments.",
        (
            "scaler_poll_interval_s",
            "scaler_actuator",
            "local_max_workers",
            "kubernetes_namespace",
            "kubernetes_release",
        ),
    ),
    Section(
        "Outputs and S3",
        "Where generated images are stored. `local` keeps them under `DATA_DIR/outputs` and "
        "serves them from the API; `s3` writes them to an S3-compatible bucket (AWS S3, MinIO, "
        "Alibaba OSS) and hands out presigned links. Start-up fails when `s3` has no bucket. "
        "Either way a job's files are removed once its record expires (`SDQ_JOB_RETENTION_S`). "
        "A job whose output cannot be stored (a full disk or quota, or a bucket that answers it "
        "is full) fails with that error, never retried; see "
        "[Deployment](deployment.md#disk-space).",
        (
            "storage",
            "min_free_disk_bytes",
            "s3_bucket",
            "s3_prefix",
            "s3_endpoint_url",
            "s3_region",
            "s3_addressing_style",
            "s3_access_key_id",
            "s3_secret_access_key",
            "s3_url_expiry_s",
            "file_sweep_interval_s",
        ),
    ),
    Section(
        "Worker",
        "Read by `sdq worker`, the process that loads one model and runs its jobs one at a "
        "time (the Helm chart sets the device, the probe directory and the load timeout). A "
        "model that fails to load is retried with a growing wait (the scaler starts no worker "
        "for it before then); after `SDQ_MODEL_LOAD_MAX_FAILURES` failures in a row its jobs "
        "fail with the cause, which `GET /v1/models/{id}` shows.",
        (
            "device",
            "lora_cache_size",
            "adapter_affinity_window",
            "adapter_affinity_max_passes",
            "torch_threads",
            "worker_id",
            "model_load_timeout_s",
            "model_load_max_failures",
            "model_load_backoff_s",
            "model_load_backoff_max_s",
            "probe_dir",
            "synthetic_step_seconds",
        ),
    ),
    Section(
        "Logging",
        "Every process logs to standard error; job lines carry the job id.",
        ("log_format", "log_level", "access_log"),
    ),
    Section(
        "Web UI",
        "The playground (`/`) and the operator console (`/ops`) the API serves. See "
        "[Web UI](web-ui.md).",
        ("history_interval_s",),
    ),
)


def env_name(field_name: str) -> str:
    """The environment variable of a `Settings` field."""
    return ENV_PREFIX + field_name.upper()


def described_fields(model: type[BaseModel]) -> dict[str, FieldInfo]:
    """The model's fields, in declaration order; raises if one has no description."""
    missing = [name for name, info in model.model_fields.items() if not _description(info)]
    if missing:
        raise ValueError(
            f"{model.__name__} fields without a description: {', '.join(missing)}; "
            "add `description=` to each (docs/configuration.md is generated from them)"
        )
    return dict(model.model_fields)


def configuration_markdown() -> str:
    """The whole of docs/configuration.md."""
    fields = described_fields(Settings)
    _check_sections(fields)
    parts = [
        "# Configuration\n",
        "This page is generated from the field descriptions of `Settings`, `ModelSpec` and "
        "`ScalingPolicy` (`sdq/settings.py`, `sdq/scaling_policy.py`) by "
        f"`{WRITE_COMMAND}`; change those descriptions, not this file. "
        "`tests/unit/test_configuration_doc.py` fails when the two disagree.\n",
        "Every sdq process (`sdq up`, `sdq api`, `sdq worker`, `sdq webhooks`, `sdq scaler`) "
        f"reads its settings once, at start-up, from the `{ENV_PREFIX}*` environment variables "
        f"below ({len(fields)} in all) and validates them: a value of the wrong type, out of "
        "its range or inconsistent with another setting stops the process with a message "
        "naming the setting. *unset* means the variable is absent. Booleans are `true` or "
        "`false` (also `1`/`0`, `yes`/`no`, `on`/`off`).\n",
        "\n".join(f"- [{s.title}](#{_anchor(s.title)})" for s in SECTIONS)
        + "\n- [One `SDQ_MODELS` entry](#one-sdq_models-entry)"
        + "\n- [Scaling policy](#scaling-policy)"
        + "\n- [Model runtime](#model-runtime)\n",
    ]
    for section in SECTIONS:
        rows = [_settings_row(name, fields[name]) for name in section.fields]
        parts.append(f"## {section.title}\n")
        parts.append(section.intro + "\n")
        parts.append(_table(("Variable", "Type", "Default", "Meaning"), rows))
    parts.append(_model_spec_section())
    parts.append(_scaling_policy_section())
    parts.append(_runtime_section())
    return "\n".join(parts)


def _model_spec_section() -> str:
    rows = [
        _field_row(f"`{name}`", name, info) for name, info in described_fields(ModelSpec).items()
    ]
    example = json.dumps(
        [
            {"id": "sdq/tiny"},
            {
                "id": "stabilityai/sd-turbo",
                "max_size": 1024,
                "scaling": {"min_replicas": 1, "max_replicas": 4},
            },
            {
                "id": "black-forest-labs/FLUX.1-schnell",
                "family": "flux",
                "defaults": {"num_inference_steps": 4, "guidance_scale": 0},
            },
        ]
    )
    return "\n".join(
        [
            "## One `SDQ_MODELS` entry\n",
            "`SDQ_MODELS` takes either the shorthand `id[=source],…` (comma-separated; each "
            "entry gets the defaults below) or a JSON list of objects with these fields. "
            "Start-up fails on an empty list, on an id that appears twice, on a `min_size` "
            "above `max_size` and on `defaults` the model would refuse (a size outside its "
            "bounds or not a multiple its family needs, a sampler its family does not take).\n",
            f"```sh\nSDQ_MODELS='{example}'\n```\n",
            _table(("Field", "Type", "Default", "Meaning"), rows),
        ]
    )


def _scaling_policy_section() -> str:
    rows = [
        _field_row(f"`{name}`", name, info)
        for name, info in described_fields(ScalingPolicy).items()
    ]
    return "\n".join(
        [
            "## Scaling policy\n",
            "Each model's worker pool follows its own policy. The `scaling` object of the "
            "model's `SDQ_MODELS` entry only seeds it: once an operator stores a policy "
            "through the admin API (`PUT /v1/admin/models/OWNER/NAME/scaling`, or "
            "`sdq scaling set`), the stored one wins, and the scaler uses each change from "
            "its next tick. Every change is recorded (`GET /v1/admin/scaling/events`). "
            "Unknown knobs are rejected, `min_replicas` may not exceed `max_replicas`, and "
            "`fallback_replicas` must lie between the two.\n",
            _table(("Knob", "Type", "Default", "Meaning"), rows),
        ]
    )


def _runtime_section() -> str:
    rows = [
        _field_row(f"`{name}`", name, info) for name, info in described_fields(ModelRuntime).items()
    ]
    example = json.dumps(
        [
            {
                "id": "stabilityai/stable-diffusion-xl-base-1.0",
                "family": "sdxl",
                "runtime": {"dtype": "bf16", "compile": "denoiser", "channels_last": True},
            }
        ]
    )
    return "\n".join(
        [
            "## Model runtime\n",
            "The `runtime` object of a model's `SDQ_MODELS` entry says how its workers run it. "
            "Every knob is checked at start-up (unknown knobs are rejected; `compile` needs a "
            "warm-up and does not combine with sequential offload); one that does not apply "
            "to the worker's device (half precision or offload on a CPU worker) is noted in "
            "the worker's log and left out. [GPU settings](gpu.md) says when to use each.\n",
            f"```sh\nSDQ_MODELS='{example}'\n```\n",
            _table(("Knob", "Type", "Default", "Meaning"), rows),
        ]
    )


def _check_sections(fields: dict[str, FieldInfo]) -> None:
    placed = [name for section in SECTIONS for name in section.fields]
    twice = sorted({name for name in placed if placed.count(name) > 1})
    unplaced = [name for name in fields if name not in placed]
    unknown = [name for name in placed if name not in fields]
    if twice or unplaced or unknown:
        raise ValueError(
            "sdq.settings_doc.SECTIONS disagrees with Settings: "
            f"in no section {unplaced}, in several {twice}, not a setting {unknown}"
        )


def _description(info: FieldInfo) -> str:
    text = " ".join((info.description or "").split())
    return text.removesuffix(".") if not text.endswith("..") else text


def _settings_row(name: str, info: FieldInfo) -> tuple[str, str, str, str]:
    return _field_row(f"`{env_name(name)}`", name, info)


def _field_row(label: str, name: str, info: FieldInfo) -> tuple[str, str, str, str]:
    if info.is_required():
        default = "required"
    else:
        default = default_text(name, info.get_default(call_default_factory=True))
    return (label, type_text(name, info), default, _description(info))


def type_text(name: str, info: FieldInfo) -> str:
    """A reader's name for the field's type, with its bounds (`int ≥ 60`, `one of a, b`)."""
    annotation = _without_none(info.annotation)
    if typing.get_origin(annotation) is typing.Literal:
        return "one of " + ", ".join(str(choice) for choice in typing.get_args(annotation))
    if typing.get_origin(annotation) is list:
        (item,) = typing.get_args(annotation)
        if item is float:
            return "list of floats (comma-separated)"
        if item is str:
            return "list of strings (comma-separated)"
        if item is ModelSpec:
            return "JSON list of model specs, or `id[=source],…`"
    if annotation is ScalingPolicy:
        return "object: the [scaling policy](#scaling-policy)"
    if annotation is ModelRuntime:
        return "object: the [model runtime](#model-runtime)"
    if annotation == dict[str, str]:
        return "object of strings"
    if annotation is ModelDefaults:
        return "object: any of " + ", ".join(f"`{name}`" for name in ModelDefaults.model_fields)
    if annotation is bool:
        return "boolean"
    if annotation is Path:
        return "path"
    if annotation is SecretStr:
        return "secret string"
    if annotation is str:
        return "URL" if name.endswith("_url") else "string"
    if annotation in (int, float):
        return _bounded("int" if annotation is int else "float", info.metadata)
    raise TypeError(f"settings_doc cannot name the type {annotation!r}; teach type_text()")


def _without_none(annotation: object) -> object:
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _bounded(kind: str, metadata: Sequence[object]) -> str:
    """`int ≥ 60`, `float > 0, ≤ 30`, `int from 1 to 20`: the field's numeric bounds."""
    bounds = {
        attr: getattr(rule, attr)
        for rule in metadata
        for attr in ("ge", "gt", "le", "lt")
        if getattr(rule, attr, None) is not None
    }
    if "ge" in bounds and "le" in bounds:
        return f"{kind} from {_number(bounds['ge'])} to {_number(bounds['le'])}"
    signs = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<"}
    limits = ", ".join(f"{signs[attr]} {_number(value)}" for attr, value in bounds.items())
    return f"{kind} {limits}" if limits else kind


def default_text(name: str, value: object) -> str:
    """The default as a reader would type it, with a unit hint for large numbers."""
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, ScalingPolicy | ModelRuntime):
        return "each knob's default"
    if value == {}:
        return "none"
    if isinstance(value, ModelDefaults):
        return "the family's ([models](models.md#model-families))"
    if isinstance(value, list):
        if all(isinstance(item, ModelSpec) for item in value):
            return f"`{_models_text(value)}`"
        return "`" + ",".join(_number(item) for item in value) + "`"
    if isinstance(value, int | float):
        return f"`{_number(value)}`" + _unit_hint(name, value)
    return f"`{value}`"


def _models_text(specs: list[ModelSpec]) -> str:
    shorthand = [spec.id if spec.source is None else f"{spec.id}={spec.source}" for spec in specs]
    if [ModelSpec.parse(text) for text in shorthand] == specs:
        return ",".join(shorthand)
    return json.dumps([spec.model_dump(exclude_defaults=True) for spec in specs])


def _unit_hint(name: str, value: float) -> str:
    if name.endswith("_bytes") and value >= 1024:
        for unit, size in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
            if value % size == 0:
                return f" ({_number(value / size)} {unit})"
    if name.endswith("_pixels"):
        side = round(value**0.5)
        if side * side == value:
            return f" ({side}\N{MULTIPLICATION SIGN}{side})"
    if name.endswith("_s") and value >= 60:
        for unit, size in (("h", 3600), ("min", 60)):
            if value % size == 0:
                return f" ({_number(value / size)} {unit})"
    return ""


def _number(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _table(header: tuple[str, ...], rows: list[tuple[str, str, str, str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(text) for text in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _anchor(title: str) -> str:
    """GitHub's heading anchor: lower case, spaces to dashes, punctuation dropped."""
    kept = "".join(c for c in title.lower() if c.isalnum() or c in " -_")
    return kept.replace(" ", "-")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sdq.settings_doc",
        description="Print (or write) docs/configuration.md from the Settings descriptions.",
    )
    parser.add_argument("--write", metavar="PATH", type=Path, help="write the page to PATH")
    args = parser.parse_args(argv)
    text = configuration_markdown()
    if args.write is None:
        sys.stdout.write(text)
    else:
        args.write.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
