"""A request body read as JSON, strictly: UTF-8 only, and a key given twice in one object, an
unpaired UTF-16 surrogate, NaN or Infinity, nesting past 64 levels, more than 10,000 values and
keys or an integer past Python's digit limit refused naming where (pure: no I/O)."""

from __future__ import annotations

import itertools
import json
import re
import sys
from typing import Any

# Arrays and objects inside each other: no request needs more than a handful, and pydantic stops
# serializing at about 250 (an error, not a 4xx), Python's parser at about 1000.
MAX_DEPTH = 64
# A key shown in a field path is cut to this many characters.
MAX_KEY_CHARS = 64
# Values (each array, object, string, number, true, false and null) and object keys in one body:
# requests need dozens. Counted before parsing, because parsed they weigh up to 25 times their
# text (`{},` is 3 bytes, an empty dict 64), and a 20 MiB body of them took 2 GiB and a minute.
MAX_VALUES = 10_000

# One value or key each: a string, an opening bracket, or a run of anything else that is not JSON
# punctuation (a number, true, false, null; or garbage). Closing brackets, commas and colons are
# skipped by the search between two of them.
_VALUE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[{]|[^\s\[\]{},:"]+')

# `\uD800`-`\uDFFF` escapes: only these can put a lone surrogate into a string (raw surrogate bytes
# are not UTF-8 and fail the decoding).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class BodyRefused(json.JSONDecodeError):
    """Valid JSON syntax, or bytes that are not JSON text, refused with the dotted path of the
    place (`body` for the whole) and why. A JSONDecodeError, so FastAPI reports it as invalid JSON
    and the error handler finds it as the cause."""

    def __init__(self, field: str, description: str, doc: str = "") -> None:
        super().__init__(description, doc, 0)
        self.field = field
        self.description = description


class _Duplicate(Exception):
    pass


class _NotJson(Exception):
    pass


def _no_constants(name: str) -> Any:
    raise _NotJson(name)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        raise _Duplicate
    return found


class _Pairs(list[tuple[str, Any]]):
    """An object as its key/value pairs in order, duplicates kept (only to find where they are)."""


def dotted(path: list[str | int]) -> str:
    """`input.prompt`, `alwayson_scripts.0.args`; a key that cannot be shown as UTF-8 (a lone
    surrogate) shown escaped."""
    parts = (str(part).encode("utf-8", "backslashreplace").decode() for part in path)
    return (
        ".".join(p if len(p) <= MAX_KEY_CHARS else f"{p[:MAX_KEY_CHARS]}..." for p in parts)
        or "body"
    )


def duplicate_key(value: Any) -> str | None:
    """The dotted path of the first key given twice in one object of a tree parsed with
    `_Pairs` objects, or None. Iterative: as deep as the parser went."""
    stack: list[tuple[list[str | int], Any]] = [([], value)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, _Pairs):
            seen: set[str] = set()
            for key, _ in node:
                if key in seen:
                    return dotted([*path, key])
                seen.add(key)
            stack.extend(([*path, key], item) for key, item in reversed(node))
        elif isinstance(node, list):
            stack.extend(([*path, index], item) for index, item in reversed(list(enumerate(node))))
    return None


def too_deep(value: Any, limit: int = MAX_DEPTH) -> str | None:
    """The dotted path of the first array or object nested deeper than `limit`, or None."""
    stack: list[tuple[list[str | int], Any]] = [([], value)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, dict | list) and len(path) >= limit:
            return dotted(path)
        if isinstance(node, dict):
            stack.extend(([*path, k], v) for k, v in node.items() if isinstance(v, dict | list))
        elif isinstance(node, list):
            stack.extend(([*path, i], v) for i, v in enumerate(node) if isinstance(v, dict | list))
    return None


def lone_surrogate(value: Any) -> tuple[str, str] | None:
    """(dotted path, description) of the first string or key holding an unpaired UTF-16
    surrogate, or None."""
    stack: list[tuple[list[str | int], Any]] = [([], value)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, dict):
            for key in node:
                if (where := _surrogate_at(key)) is not None:
                    return dotted(path), f"has a key with {where}; {_UNICODE}"
            stack.extend(([*path, key], item) for key, item in reversed(node.items()))
        elif isinstance(node, list):
            stack.extend(([*path, index], item) for index, item in reversed(list(enumerate(node))))
        elif isinstance(node, str) and (where := _surrogate_at(node)) is not None:
            return dotted(path), f"has {where}; {_UNICODE}"
    return None


_UNICODE = "JSON text must be valid Unicode (surrogates only in pairs)"


def _surrogate_at(text: str) -> str | None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        code = ord(text[error.start])
        return f"an unpaired UTF-16 surrogate \\u{code:04x} at offset {error.start}"
    return None


def too_many_values(text: str, limit: int = MAX_VALUES) -> bool:
    """Whether `text` holds more than `limit` values and keys. Counting costs at most `limit`
    steps: first a bound from character counts (a body carrying an image stays far below it)."""
    brackets = text.count("[") + text.count("{")
    scalars = text.count(",") + text.count("]") + text.count("}") + 1
    if brackets + text.count('"') // 2 + scalars <= limit:
        return False
    return sum(1 for _ in itertools.islice(_VALUE.finditer(text), limit + 1)) > limit


def loads(body: bytes) -> Any:
    """The body's JSON value. Raises json.JSONDecodeError for a syntax error (FastAPI names the
    place) and BodyRefused for the rest."""
    try:
        text = body.decode("utf-8-sig")  # RFC 8259: UTF-8; a byte order mark may be ignored
    except UnicodeDecodeError as error:
        byte = body[error.start]
        raise BodyRefused(
            "body", f"is not UTF-8: byte 0x{byte:02x} at offset {error.start}"
        ) from None
    if too_many_values(text):
        description = (
            f"has more than {MAX_VALUES} values and keys (each array, object, string, number, "
            "true, false, null and object key counts one)"
        )
        raise BodyRefused("body", description, text)
    try:
        value = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constants)
    except _Duplicate:
        try:
            path = duplicate_key(json.loads(text, object_pairs_hook=_Pairs))
        except (ValueError, RecursionError):  # too deep or too long to point at: the whole body
            path = None
        description = (
            "is given more than once in the same object; send each key once "
            "(which one counts differs between JSON parsers)"
        )
        raise BodyRefused(path or "body", description, text) from None
    except _NotJson as error:  # Python's json reads NaN and Infinity; RFC 8259 has neither
        description = f"has {error}, which is not JSON (numbers are finite)"
        raise BodyRefused("body", description, text) from None
    except RecursionError:
        raise BodyRefused("body", "nests arrays and objects too deeply", text) from None
    except json.JSONDecodeError:
        raise
    except ValueError:  # an integer past int()'s digit limit
        limit = sys.get_int_max_str_digits()
        raise BodyRefused("body", f"has an integer of more than {limit} digits", text) from None
    if text.count("[") + text.count("{") > MAX_DEPTH and (where := too_deep(value)) is not None:
        description = f"nests arrays and objects more than {MAX_DEPTH} deep"
        raise BodyRefused(where, description, text)
    if "\\u" in text and _SURROGATE_ESCAPE.search(text):
        found = lone_surrogate(value)
        if found is not None:
            raise BodyRefused(*found, text)
    return value
