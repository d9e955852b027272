"""Signed `/v1/files` links: what verifies and what is refused (tampering, expiry, malformed)."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest

from sdq.signed_links import EXPIRY_GRAIN_S, LinkCheck, LinkSigner, check_link, signature

SECRET = b"a-link-secret"
KEY = "a" * 26 + "/out-1-0.png"
NOW = 1_700_000_000.0
SIGNER = LinkSigner(SECRET, ttl_s=3600)


def issued(key: str = KEY, now: float = NOW) -> tuple[str, str]:
    query = parse_qs(SIGNER.query(key, now))
    return query["exp"][0], query["sig"][0]


EXP, SIG = issued()


def flipped(text: str) -> str:
    return text[:-1] + ("A" if text[-1] != "A" else "B")


@pytest.mark.parametrize(
    ("key", "exp", "sig", "now", "expected"),
    [
        (KEY, EXP, SIG, NOW, LinkCheck.VALID),
        (KEY, EXP, SIG, int(EXP) - 1, LinkCheck.VALID),  # the last second
        (KEY, EXP, flipped(SIG), NOW, LinkCheck.FORGED),  # tampered signature
        ("b" * 26 + "/out-1-0.png", EXP, SIG, NOW, LinkCheck.FORGED),  # another file
        (KEY.replace("out-1-0", "out-1-1"), EXP, SIG, NOW, LinkCheck.FORGED),
        (KEY, str(int(EXP) + 86400), SIG, NOW, LinkCheck.FORGED),  # a later expiry
        (KEY, EXP, SIG, int(EXP), LinkCheck.EXPIRED),
        (KEY, EXP, SIG, int(EXP) + 3600, LinkCheck.EXPIRED),
        (KEY, None, SIG, NOW, LinkCheck.MISSING),
        (KEY, EXP, None, NOW, LinkCheck.MISSING),
        (KEY, None, None, NOW, LinkCheck.MISSING),
        (KEY, "", SIG, NOW, LinkCheck.MALFORMED),
        (KEY, "-1", SIG, NOW, LinkCheck.MALFORMED),
        (KEY, "1e12", SIG, NOW, LinkCheck.MALFORMED),
        (KEY, "9" * 400, SIG, NOW, LinkCheck.MALFORMED),
        (KEY, "\u00b2", SIG, NOW, LinkCheck.MALFORMED),
        (KEY, EXP, "", NOW, LinkCheck.MALFORMED),
        (KEY, EXP, SIG[:-1], NOW, LinkCheck.MALFORMED),
        (KEY, EXP, SIG + "=", NOW, LinkCheck.MALFORMED),
        (KEY, EXP, "\u00e9" * 43, NOW, LinkCheck.MALFORMED),
        (KEY, EXP, SIG.encode().hex(), NOW, LinkCheck.MALFORMED),
    ],
)
def test_check_link(
    key: str, exp: str | None, sig: str | None, now: float, expected: LinkCheck
) -> None:
    assert check_link(SECRET, key, exp, sig, now) is expected


def test_another_secret_does_not_verify() -> None:
    assert check_link(b"another secret", KEY, EXP, SIG, NOW) is LinkCheck.FORGED


@pytest.mark.parametrize("now", [NOW, NOW + 0.5, NOW + 59, NOW + 3599.9])
def test_links_last_at_least_the_ttl_and_less_than_a_grain_more(now: float) -> None:
    expires_at = SIGNER.expiry(now)
    assert now + SIGNER.ttl_s <= expires_at < now + SIGNER.ttl_s + EXPIRY_GRAIN_S
    assert expires_at % EXPIRY_GRAIN_S == 0


def test_links_handed_out_within_a_grain_are_the_same() -> None:
    start = EXPIRY_GRAIN_S * 30_000_000.0 - SIGNER.ttl_s + 1
    assert SIGNER.query(KEY, start) == SIGNER.query(KEY, start + EXPIRY_GRAIN_S - 2)


def test_the_signature_is_urlsafe_and_fixed_length() -> None:
    assert len(signature(SECRET, KEY, 1)) == 43
    assert set(SIG) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
