"""The headers of a bench: `-H 'Name: value'` as given, JSON's content type, the key from the
environment unless `-H` sends an Authorization; and the subset its follow-up reads send."""

from __future__ import annotations

from cli.api_key import bearer

# What makes sense on the create call only: not sent with the reads that follow it.
CREATE_ONLY = frozenset({"prefer", "content-type", "idempotency-key", "cancel-after"})


def parse_headers(given: list[str]) -> dict[str, str]:
    """`Name: value` pairs, in order (a repeated name: the last); ValueError for one without a
    name or a colon."""
    headers: dict[str, str] = {}
    for text in given:
        name, colon, value = text.partition(":")
        if not colon or not name.strip() or name != name.strip() or " " in name:
            raise ValueError(f"header {text!r}: write it as 'Name: value'")
        headers = {k: v for k, v in headers.items() if k.lower() != name.lower()}
        headers[name] = value.strip()
    return headers


def _has(headers: dict[str, str], name: str) -> bool:
    return any(k.lower() == name for k in headers)


def create_headers(given: dict[str, str], api_key: str | None) -> dict[str, str]:
    """What every create call sends: the given headers, `Content-Type: application/json` unless
    given, and `Authorization: Bearer KEY` for the environment's key unless given."""
    headers = dict(given)
    if not _has(headers, "content-type"):
        headers["Content-Type"] = "application/json"
    if not _has(headers, "authorization"):
        headers |= bearer(api_key)
    return headers


def read_headers(create: dict[str, str]) -> dict[str, str]:
    """What the reads that follow (stream, prediction, models) send: the create's headers but
    those that only make sense on a create."""
    return {k: v for k, v in create.items() if k.lower() not in CREATE_ONLY}


def waits(create: dict[str, str]) -> bool:
    """Whether the create asks to be held until the prediction is done (`Prefer: wait[=N]`)."""
    return any(
        k.lower() == "prefer"
        and any(p.strip().split("=", 1)[0].strip().lower() == "wait" for p in v.split(","))
        for k, v in create.items()
    )


# Headers whose values are credentials: never written into a report.
SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-api-key", "api-key", "cookie"}
)


def redacted(argv: list[str]) -> list[str]:
    """The command line with the value of every credential header (`-H 'Authorization: …'`,
    `-HName:…`, `--header=Name:…`) replaced by `…`."""
    shown = []
    for word in argv:
        prefix = next((p for p in ("--header=", "-H") if word.startswith(p)), "")
        name, colon, _ = word[len(prefix) :].partition(":")
        if colon and name.strip().lower() in SECRET_HEADERS:
            word = f"{prefix}{name}: …"
        shown.append(word)
    return shown
