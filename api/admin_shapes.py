"""The admin API's answers as published models: scaling history, capacity samples, and API keys
as created, listed and revoked (the policy itself is `sdq.scaling_policy.ScalingPolicy`)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from sdq.api_keys import ApiKey, MaxPriority, Role


class ScalingEvent(BaseModel):
    """A change of a model's desired worker count, with the scaler's reason."""

    id: str = Field(description="The entry's Redis Stream id")
    model: str
    from_: int = Field(alias="from", description="Workers before")
    to: int = Field(description="Workers after")
    reason: str
    at: float = Field(description="Unix seconds")


class PolicyChange(BaseModel):
    """A replaced scaling policy: who replaced it and the policies before and after, as JSON."""

    id: str = Field(description="The entry's Redis Stream id")
    model: str
    who: str = Field(description="The admin key's name")
    key_id: str | None = Field(default=None, description="Which of that name's keys (null: none)")
    at: float = Field(description="Unix seconds")
    before: str = Field(description="The policy in effect before, as JSON")
    after: str = Field(description="The new policy, as JSON")


class ScalingHistory(BaseModel):
    """Newest first: worker-count changes and policy changes."""

    events: list[ScalingEvent]
    policy_changes: list[PolicyChange]


class CapacitySample(BaseModel):
    time: str = Field(description="ISO 8601, UTC")
    queued: int
    in_flight: int
    workers: int
    desired: int | None = Field(description="The scaler's wish (null: no scaler ran)")


class CapacityHistory(BaseModel):
    """A model's queue and workers, oldest first, one sample per `interval_s`."""

    model: str
    now: str = Field(description="ISO 8601, UTC")
    interval_s: float
    samples: list[CapacitySample]


class KeyFields(BaseModel):
    """A stored key without its secret."""

    id: str
    name: str
    role: Role
    created_at: float = Field(description="Unix seconds")
    max_queued: int | None = Field(description="Its jobs queued per model at most (null: no quota)")
    max_priority: MaxPriority


class CreatedKey(KeyFields):
    key: str = Field(description="The secret: shown this one time only")


class RevokedKey(KeyFields):
    revoked: bool


class KeyList(BaseModel):
    """Every stored key, with when it last authenticated a request (to the minute)."""

    results: list[ApiKey]
