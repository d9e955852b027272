"""A model's scaling policy: the knobs operators tune, validated as one object (shared by
the API, which edits it, and the scaler, which follows it)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

MIN_DEFAULT_DEADLINE_S = 1.0
MAX_DEFAULT_DEADLINE_S = 24 * 3600.0
MAX_BATCH_SIZE = 64
MAX_BATCH_WAIT_MS = 1000


class ScalingPolicy(BaseModel):
    """How one model's worker pool follows its queued and in-flight work."""

    model_config = ConfigDict(extra="forbid")

    min_replicas: int = Field(default=0, ge=0, description="Never fewer workers (0: scale to zero)")
    max_replicas: int = Field(default=10, ge=0, description="Never more workers")
    jobs_per_replica: int = Field(default=1, ge=1, description="Work one worker absorbs")
    activation_queue_length: int = Field(
        default=0, ge=0, description="From zero, wake only when more jobs than this are queued"
    )
    scale_up_max_step: int = Field(default=10, ge=1, description="At most this many added per tick")
    scale_down_delay_s: float = Field(
        default=60.0, ge=0, description="Scale down only to the highest need seen in this window"
    )
    idle_to_zero_s: float = Field(
        default=300.0, ge=0, description="Go to zero only after this long without any work"
    )
    max_queue_wait_s: float | None = Field(
        default=None, gt=0, description="Add a worker when the oldest queued job waited longer"
    )
    fallback_replicas: int | None = Field(
        default=None, ge=0, description="Size to hold when metrics keep failing (unset: hold)"
    )
    failure_threshold: int = Field(default=3, ge=1, description="Failed reads before fallback")
    default_deadline_s: float | None = Field(
        default=None,
        ge=MIN_DEFAULT_DEADLINE_S,
        le=MAX_DEFAULT_DEADLINE_S,
        description="A job not started this long after submission is aborted, one still running "
        "is stopped (Cancel-After overrides it on the native API; unset: no deadline)",
    )
    max_queued: int | None = Field(
        default=None,
        ge=1,
        description="Most jobs waiting (not running); a submit past it gets 429 with a "
        "Retry-After from the queue, the workers and the predict time (unset: unbounded)",
    )
    max_batch_size: int = Field(
        default=1,
        ge=1,
        le=MAX_BATCH_SIZE,
        description="A free worker runs queued jobs of the same size, steps, sampler and "
        "guidance (and negative prompt given or not) as one pipeline call of at most this many "
        "images (num_outputs summed), each job with its own seed, events, cancel and outputs "
        "(1: one job at a time; a job asking for more images runs alone; no image-to-image jobs)",
    )
    batch_wait_ms: int = Field(
        default=0,
        ge=0,
        le=MAX_BATCH_WAIT_MS,
        description="With max_batch_size above 1, how long a worker that found fewer "
        "compatible jobs waits once for more before it starts (0: start at once)",
    )

    @model_validator(mode="after")
    def _consistent(self) -> ScalingPolicy:
        if self.min_replicas > self.max_replicas:
            raise ValueError(
                f"min_replicas ({self.min_replicas}) exceeds max_replicas ({self.max_replicas})"
            )
        if self.fallback_replicas is not None and not (
            self.min_replicas <= self.fallback_replicas <= self.max_replicas
        ):
            raise ValueError("fallback_replicas must lie between min_replicas and max_replicas")
        return self
