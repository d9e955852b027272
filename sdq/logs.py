"""Logging set-up: JSON lines in production, readable text locally, the job id on every job line."""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter

from sdq.settings import Settings

current_job_id: ContextVar[str | None] = ContextVar("current_job_id", default=None)


class JobIdFilter(logging.Filter):
    """Adds `job_id` to each record: from `extra=`, else from the job being worked on."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "job_id", None):
            record.job_id = current_job_id.get() or "-"
        return True


def configure_logging(settings: Settings, component: str) -> None:
    # The real stderr: Celery swaps sys.stderr for a logging proxy in its pool processes.
    handler = logging.StreamHandler(sys.__stderr__)
    handler.addFilter(JobIdFilter())
    if settings.log_format == "json":
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s %(job_id)s",
                static_fields={"component": component},
            )
        )
    else:
        handler.setFormatter(
            logging.Formatter(
                f"%(asctime)s %(levelname)-7s {component} %(name)s [job=%(job_id)s] %(message)s"
            )
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    for chatty in ("httpx", "httpcore"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
