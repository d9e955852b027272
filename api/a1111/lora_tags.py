"""AUTOMATIC1111's extra-network prompt syntax for LoRA adapters (pure): `<lora:NAME>` and
`<lora:NAME:WEIGHT>` are taken out of the prompt text, as A1111 does, and become the job's
adapters."""

from __future__ import annotations

import math
import re
from typing import Any

from sdq.inputs import InvalidField, InvalidInput

# A1111's extra-network tag: <kind:arguments>, arguments split on ':'.
_TAG = re.compile(r"<lora:([^>]*)>")
FORMS = "<lora:NAME> or <lora:NAME:WEIGHT>"


def lora_tags(prompt: str, field: str = "input.prompt") -> tuple[str, list[dict[str, Any]]]:
    """The prompt without its `<lora:…>` tags, and the adapters they name (weight 1 when none
    is given), in the order written; a tag of another form is refused naming `field`."""
    loras: list[dict[str, Any]] = []
    for found in _TAG.finditer(prompt):
        parts = found.group(1).split(":")
        name, weight = parts[0].strip(), parts[1].strip() if len(parts) == 2 else "1"
        scale = _number(weight)
        if len(parts) > 2 or not name or scale is None:
            raise InvalidInput([InvalidField(field, f"{found.group()} must be {FORMS}")])
        loras.append({"name": name, "scale": scale})
    return _TAG.sub("", prompt), loras


# A decimal number in ASCII digits (Python's float() also reads `1_0`, other scripts' digits and
# `inf`).
_NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


def _number(text: str) -> float | None:
    if not _NUMBER.fullmatch(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None
