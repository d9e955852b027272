"""The caps on open streams and waits: which one refuses, and slots given back exactly once."""

from __future__ import annotations

import pytest

from api.errors import TooManyRequests
from api.wait_slots import WaitSlots, refusal

CASES = [  # (open in all, open by the tenant, most, most per tenant, refused by)
    (0, 0, 3, 2, None),
    (2, 1, 3, 2, None),
    (2, 2, 3, 2, "SDQ_MAX_OPEN_WAITS_PER_TENANT"),
    (3, 0, 3, 2, "SDQ_MAX_OPEN_WAITS"),
    (3, 2, 3, 2, "SDQ_MAX_OPEN_WAITS_PER_TENANT"),  # the tenant's own cap is named first
]


@pytest.mark.parametrize(("all_", "tenant", "most", "per_tenant", "named"), CASES)
def test_which_cap_refuses(
    all_: int, tenant: int, most: int, per_tenant: int, named: str | None
) -> None:
    why = refusal(all_, tenant, most, per_tenant)
    if named is None:
        assert why is None
    else:
        assert why is not None and f"({named})" in why


def test_slots_are_counted_per_tenant_and_given_back_once() -> None:
    slots = WaitSlots(most=3, most_per_tenant=2)
    first, second = slots.take("alice"), slots.take("alice")
    with pytest.raises(TooManyRequests) as refused:
        slots.take("alice")
    assert refused.value.headers == {"Retry-After": "1"}
    assert slots.try_take("alice") is None
    with slots.held("bob"):
        assert slots.total == 3 and slots.try_take("carol") is None
    assert slots.total == 2
    first.release()
    first.release()  # again: nothing
    assert slots.open == {"alice": 1}
    second.release()
    assert slots.total == 0 and not slots.open
