"""Reading the key from an Authorization header: the schemes each dialect accepts, and clean
refusals (with the reason, never the secret) for everything else."""

from __future__ import annotations

import base64

import pytest

from api.credentials import MAX_HEADER_CHARS, read_credential

KEY = "sdq_IneDmKDggRM3ZzHmB0r3wzswBIAVTJMptfF-1euVBkE"


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(
    ("header", "allow_basic", "key"),
    [
        (f"Bearer {KEY}", False, KEY),
        (f"bearer {KEY}", False, KEY),
        (f"Token {KEY}", False, KEY),  # Replicate's older scheme
        (f"  Bearer   {KEY}  ", False, KEY),
        (basic("anyone", KEY), True, KEY),  # AUTOMATIC1111's --api-auth clients
        (basic("", KEY), True, KEY),
        ("Bearer abc.def~ghi+/=", False, "abc.def~ghi+/="),
    ],
)
def test_accepted(header: str, allow_basic: bool, key: str) -> None:
    credential = read_credential(header, allow_basic=allow_basic)
    assert (credential.key, credential.problem) == (key, None)


@pytest.mark.parametrize(
    ("header", "allow_basic", "problem"),
    [
        (None, False, "no API key"),
        ("", False, "no API key"),
        ("   ", True, "no API key"),
        ("Bearer", False, "empty or has characters"),
        ("Bearer ", False, "empty or has characters"),
        ("Bearer a b", False, "empty or has characters"),
        ("Bearer sdq_é", False, "empty or has characters"),
        ("Bearer sdq_\x00", False, "empty or has characters"),
        ("Bearer " + "k" * 600, False, "empty or has characters"),
        ("Bearer " + "k" * MAX_HEADER_CHARS, False, f"over {MAX_HEADER_CHARS} characters"),
        (basic("user", KEY), False, "use Bearer or Token"),  # Basic only on /sdapi
        ("Basic !!!", True, "not base64"),
        ("Basic éé", True, "not base64"),  # non-ASCII: a ValueError, not binascii.Error
        ("Basic " + base64.b64encode(b"\xff\xfe:x").decode(), True, "not base64"),
        (basic("user", ""), True, "empty or has characters"),
        ("Digest username=x", True, "use Bearer, Token or Basic"),
        (KEY, False, "unsupported Authorization scheme"),
    ],
)
def test_refused_with_a_reason(header: str | None, allow_basic: bool, problem: str) -> None:
    credential = read_credential(header, allow_basic=allow_basic)
    assert credential.key is None
    assert credential.problem is not None and problem in credential.problem
    assert KEY not in credential.problem
