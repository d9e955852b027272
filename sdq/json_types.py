"""Field types that take a JSON value only in its own JSON type: no string read as a number, no
true/false read as 1/0; a whole number written as a float (`512.0`) is that integer."""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import BeforeValidator

SHOWN_CHARS = 32


def shown(value: object) -> str:
    """The value as the client wrote it in JSON, shortened: `the string "64"`, `true`, `null`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = value if len(value) <= SHOWN_CHARS else f"{value[:SHOWN_CHARS]}..."
        return f"the string {text!r}"
    if isinstance(value, float | int):
        return repr(value)
    return "an array" if isinstance(value, list) else "an object"


def whole_number(value: object) -> object:
    """An integer, or a float with no fraction as that integer; anything else is refused."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"must be an integer (got {shown(value)})")
    if isinstance(value, float):
        if not value.is_integer():  # 512.5, and NaN and infinity too
            raise ValueError(f"must be a whole number (got {value!r})")
        return int(value)
    return value


def whole_number_or_null(value: object) -> object:
    return None if value is None else whole_number(value)


def number(value: object) -> object:
    """A finite number (integer or not); strings and true/false are refused."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"must be a number (got {shown(value)})")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"must be a finite number (got {value!r})")
    return value


def text(value: object) -> object:
    """A JSON string; a number, true/false or null is refused (never turned into its digits)."""
    if not isinstance(value, str):
        raise ValueError(f"must be a string (got {shown(value)})")
    return value


def text_or_null(value: object) -> object:
    return None if value is None else text(value)


def truth_value(value: object) -> object:
    """`true` or `false`; 1, 0, "yes" and "false" are refused."""
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false (got {shown(value)})")
    return value


WholeNumber = Annotated[int, BeforeValidator(whole_number)]
OptionalWholeNumber = Annotated[int | None, BeforeValidator(whole_number_or_null)]
Number = Annotated[float, BeforeValidator(number)]
Text = Annotated[str, BeforeValidator(text)]
OptionalText = Annotated[str | None, BeforeValidator(text_or_null)]
TruthValue = Annotated[bool, BeforeValidator(truth_value)]
