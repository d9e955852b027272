"""The `Idempotency-Key` header: which values pass, the request hash, and the table of what a
request finding its key held does next."""

from __future__ import annotations

import pytest

from api.idempotency_key import (
    HEADER,
    KEEP_S,
    MAX_KEY_CHARS,
    STALE_AFTER_S,
    Step,
    check_key,
    input_as_sent,
    key_ttl_s,
    next_step,
    request_hash,
)
from sdq.inputs import InputLimits, InvalidInput, parse_input
from sdq.store.idempotency import KeyClaim, key_digest


@pytest.mark.parametrize(
    "value",
    [None, "a", "order-42", "x" * MAX_KEY_CHARS, "!~", "550e8400-e29b-41d4-a716-446655440000"],
)
def test_accepted_keys(value: str | None) -> None:
    assert check_key(value) == value


@pytest.mark.parametrize(
    "value", ["", "a b", "x" * (MAX_KEY_CHARS + 1), "tab\there", "caf\u00e9", "new\nline", "\x7f"]
)
def test_refused_keys_name_the_header_and_the_limit(value: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_key(value)
    (field,) = refused.value.fields
    assert field.field == HEADER
    assert f"1 to {MAX_KEY_CHARS} visible ASCII characters" in field.description


def test_the_request_hash_ignores_key_order_and_sees_every_value() -> None:
    assert request_hash({"a": 1, "b": [1, 2]}) == request_hash({"b": [1, 2], "a": 1})
    assert request_hash({"a": 1}) != request_hash({"a": 2})
    assert request_hash({"a": None}) != request_hash({})


def test_an_input_without_a_seed_hashes_the_same_although_the_api_picks_one() -> None:
    raw = {"prompt": "x"}
    first, second = (parse_input(raw, InputLimits()) for _ in range(2))
    assert first.seed is not None
    assert input_as_sent(first, raw) == input_as_sent(second, raw)
    explicit = {"prompt": "x", "seed": 7, "width": 512}
    assert input_as_sent(parse_input(explicit, InputLimits()), explicit)["seed"] == 7
    assert input_as_sent(parse_input(raw, InputLimits()), raw) != input_as_sent(
        parse_input(explicit, InputLimits()), explicit
    )


def test_defaults_sent_or_not_are_the_same_request() -> None:
    short = {"prompt": "x"}
    spelled = {"prompt": "x", "width": 512, "num_inference_steps": 20}
    assert request_hash(input_as_sent(parse_input(short, InputLimits()), short)) == request_hash(
        input_as_sent(parse_input(spelled, InputLimits()), spelled)
    )


@pytest.mark.parametrize(
    ("retention_s", "ttl_s"), [(24 * 3600, KEEP_S), (7 * 24 * 3600, KEEP_S), (600, 600)]
)
def test_a_key_never_outlives_the_job_it_would_replay(retention_s: int, ttl_s: int) -> None:
    assert key_ttl_s(retention_s) == ttl_s


def test_the_redis_key_is_a_digest_not_the_key() -> None:
    assert key_digest("a:b*c") == key_digest("a:b*c")
    assert len(key_digest("x" * MAX_KEY_CHARS)) == 64
    assert ":" not in key_digest("a:b")


NOW = 1_000_000.0
MINE, OTHER = "hash-mine", "hash-other"


def claim(taken: bool, hash_: str = MINE, age_s: float = 0.0) -> KeyClaim:
    return KeyClaim(taken, "job", hash_, NOW - age_s)


@pytest.mark.parametrize(
    ("held", "job_exists", "waited_out", "step"),
    [
        (claim(True), False, False, Step.CREATE),
        (claim(False, OTHER), True, False, Step.MISMATCH),
        (claim(False, OTHER), False, True, Step.MISMATCH),
        (claim(False), True, False, Step.REPLAY),
        (claim(False), True, True, Step.REPLAY),
        (claim(False), False, False, Step.WAIT),
        (claim(False), False, True, Step.BUSY),
        (claim(False, age_s=STALE_AFTER_S + 1), False, False, Step.TAKE_OVER),
        (claim(False, age_s=STALE_AFTER_S + 1), True, False, Step.REPLAY),
    ],
)
def test_what_a_request_does_with_its_key(
    held: KeyClaim, job_exists: bool, waited_out: bool, step: Step
) -> None:
    assert next_step(held, MINE, job_exists, NOW, waited_out) is step
