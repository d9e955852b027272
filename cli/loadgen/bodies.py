"""The request body of a bench: built from a prompt in the target's dialect, or given as is
(`-d`); and the model a body names."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cli.loadgen.targets import Dialect, Target

# The published recipe's load test: `hey … -d '{"prompt": "pretty dog"}' …/sdapi/v1/txt2img`.
DEFAULT_PROMPT = "pretty dog"


class NeedsModel(ValueError):
    """`POST /v1/predictions` names its model in the body, and none was given."""


def prompt_body(target: Target, prompt: str, model: str | None) -> dict[str, Any]:
    """The smallest create body for `prompt` in the target's dialect; `model` (None: the
    server's default, where the dialect has one) goes where that dialect names it."""
    if target.dialect is Dialect.NATIVE:
        if target.model is not None:
            return {"input": {"prompt": prompt}}
        if model is None:
            raise NeedsModel("POST /v1/predictions needs a model: give --model (or -d)")
        return {"model": model, "input": {"prompt": prompt}}
    body: dict[str, Any] = {"prompt": prompt}
    if model is not None and target.dialect is Dialect.A1111:
        body["override_settings"] = {"sd_model_checkpoint": model}
    elif model is not None:
        body["model"] = model
    return body


def given_body(data: str) -> bytes:
    """`-d`'s body: `@FILE` reads the file, anything else is sent as written."""
    if data.startswith("@"):
        return Path(data[1:]).read_bytes()
    return data.encode()


def named_model(target: Target, body: bytes) -> str | None:
    """The model the path or the body names (None: none, or a body that is no JSON object)."""
    if target.model is not None:
        return target.model
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    if not isinstance(parsed, dict):
        return None
    if target.dialect is Dialect.NATIVE:
        name = parsed.get("model") or parsed.get("version")
        return name.split(":", 1)[0] if isinstance(name, str) and name else None
    if target.dialect is Dialect.A1111:
        overrides = parsed.get("override_settings")
        name = overrides.get("sd_model_checkpoint") if isinstance(overrides, dict) else None
        return name.split(" [", 1)[0].strip() or None if isinstance(name, str) else None
    name = parsed.get("model")
    return name if isinstance(name, str) and name else None
