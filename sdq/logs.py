"""Logging set-up: JSON lines in production, readable text locally, the job id on every job line."""

from __future__ import annotations

import logging
import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from pythonjsonlogger.json import JsonFormatter

from sdq.settings import Settings

current_job_id: ContextVar[str | None] = ContextVar("current_job_id", default=None)


@contextmanager
def logging_for_job(job_id: str) -> Iterator[None]:
    """Log lines name this job while inside (`JobIdFilter`)."""
    token = current_job_id.set(job_id)
    try:
        yield
    finally:
        current_job_id.reset(token)


# Below debug, what libraries say about themselves stays out: Celery's line per task (the job's
# own lines say it, with the job id) and transformers' and diffusers' notices about optional
# backends (these two read their level from the environment when first imported).
_QUIET_LOGGERS = ("celery.worker.strategy", "celery.app.trace")
_LIBRARY_VERBOSITY_VARS = ("TRANSFORMERS_VERBOSITY", "DIFFUSERS_VERBOSITY")


class JobIdFilter(logging.Filter):
    """Adds `job_id` to each record: from `extra=`, else from the job being worked on."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "job_id", None):
            record.job_id = current_job_id.get() or "-"
        return True


class ConsoleFormatter(logging.Formatter):
    """`sdq up` and `sdq demo` on a terminal: the time and the message; the level if it is bad."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(message)s", datefmt="%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        if record.levelno >= logging.WARNING:
            time_part, _, message = line.partition(" ")
            line = f"{time_part} {record.levelname} {message}"
        return line


def level_number(name: str) -> int:
    """The logging level a name means (`debug`, `INFO`, ...); ValueError for anything else."""
    level = logging.getLevelNamesMapping().get(name.upper())
    if level is None:
        raise ValueError(f"unknown log level {name!r}")
    return level


def logs_dir(settings: Settings) -> Path:
    """Where `sdq up`'s processes write their logs: NAME.log, and worker-MODEL-N.log."""
    return settings.data_dir / "logs"


def is_verbose(settings: Settings) -> bool:
    """Debug: every process's detail, library notices and Celery's banner included."""
    return level_number(settings.log_level) <= logging.DEBUG


def quiet_libraries(verbose: bool) -> None:
    """Below debug, drop deprecation notices (they are for sdq's developers, not its users) and
    the libraries' chatter; other warnings become log lines. Sets the library verbosity
    variables unless already set, so a process started from this one inherits the choice."""
    logging.captureWarnings(True)
    if verbose:
        return
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    for variable in _LIBRARY_VERBOSITY_VARS:
        os.environ.setdefault(variable, "error")


def configure_logging(settings: Settings, component: str, console: bool = False) -> None:
    """The root logger for one process; `console` for the commands a person watches."""
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
    elif console:
        handler.setFormatter(ConsoleFormatter())
    else:
        handler.setFormatter(
            logging.Formatter(
                f"%(asctime)s %(levelname)-7s {component} %(name)s [job=%(job_id)s] %(message)s"
            )
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level_number(settings.log_level))
    for chatty in ("httpx", "httpcore"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    quiet_libraries(is_verbose(settings))
