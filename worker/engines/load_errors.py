"""Why a model could not load, in one line: the root cause read from a failed load's exceptions.

diffusers turns every Hub error into "X does not appear to have a file named model_index.json"
and chains the real one behind it; `classify` walks the chain (`__cause__` and `__context__`)
and names the cause a user can act on. Pure, apart from `local_folder_problem`'s look at disk.
"""

from __future__ import annotations

import re
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import httpx2
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    HFValidationError,
    LocalEntryNotFoundError,
    OfflineModeIsEnabled,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

MODEL_INDEX = "model_index.json"
MAX_MESSAGE_CHARS = 300
# What the Hub accepts as a repository id; anything else can only be a local folder.
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")


class LoadCause(StrEnum):
    """The few reasons a model fails to load that a user can do something about."""

    NO_NETWORK = "no_network"
    NOT_FOUND = "not_found"
    GATED = "gated"
    NOT_DIFFUSERS = "not_diffusers"
    WRONG_FAMILY = "wrong_family"  # a checkpoint of another family than its spec says
    OUT_OF_MEMORY = "out_of_memory"
    OTHER = "other"


@dataclass(frozen=True)
class LoadFailure:
    cause: LoadCause
    message: str  # one line, naming the source


class ModelLoadError(Exception):
    """A model could not be loaded; `failure` says why in one line (the original is chained)."""

    def __init__(self, failure: LoadFailure) -> None:
        super().__init__(failure.message)
        self.failure = failure


def first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:MAX_MESSAGE_CHARS] if text else ""


def exception_chain(error: BaseException) -> list[BaseException]:
    """The error and every error behind it, outermost first (`raise from`, then implicit)."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _network_errors() -> tuple[type[BaseException], ...]:
    return (ConnectionError, TimeoutError, socket.gaierror, httpx2.TransportError)


def _is_out_of_memory(error: BaseException) -> bool:
    torch = sys.modules.get("torch")  # a torch error can only come from an imported torch
    return isinstance(error, MemoryError) or (
        torch is not None and isinstance(error, torch.OutOfMemoryError)
    )


def _find(
    chain: list[BaseException], test: Callable[[BaseException], bool]
) -> BaseException | None:
    return next((error for error in chain if test(error)), None)


def _of(*kinds: type[BaseException]) -> Callable[[BaseException], bool]:
    return lambda error: isinstance(error, kinds)


def _no_network(chain: list[BaseException], source: str) -> LoadFailure | None:
    if _find(chain, _of(OfflineModeIsEnabled)) is not None:
        return LoadFailure(
            LoadCause.NO_NETWORK, f"{source} is not in the local cache and HF_HUB_OFFLINE is set"
        )
    network = _find(chain, _of(*_network_errors()))
    not_cached = _find(chain, _of(LocalEntryNotFoundError)) is not None
    if network is None and not not_cached:
        return None
    # The innermost network error says what the wire said (refused, DNS, timeout).
    said = [first_line(e) for e in chain if isinstance(e, _network_errors()) and first_line(e)]
    detail = f" ({said[-1]})" if said else ""
    cache = f" and {source} is not in the local cache" if not_cached else ""
    return LoadFailure(LoadCause.NO_NETWORK, f"no network{detail}{cache}")


def classify(error: BaseException, source: str) -> LoadFailure:
    """The one-line cause of a failed load of `source` (a Hub id or a folder)."""
    chain = exception_chain(error)
    known = _find(chain, _of(ModelLoadError))
    if isinstance(known, ModelLoadError):
        return known.failure
    oom = _find(chain, _is_out_of_memory)
    if oom is not None:
        detail = f" ({first_line(oom)})" if first_line(oom) else ""
        return LoadFailure(LoadCause.OUT_OF_MEMORY, f"out of memory while loading {source}{detail}")
    if _find(chain, _of(GatedRepoError)) is not None:
        return LoadFailure(
            LoadCause.GATED,
            f"{source} is gated on the Hub: set HF_TOKEN to a token that was granted access",
        )
    if _find(chain, _of(RepositoryNotFoundError, RevisionNotFoundError)) is not None:
        return LoadFailure(
            LoadCause.NOT_FOUND,
            f"{source} was not found on the Hub (a typo? a private repository needs HF_TOKEN)",
        )
    offline = _no_network(chain, source)
    if offline is not None:
        return offline
    if _find(chain, _of(RemoteEntryNotFoundError)) is not None:
        return LoadFailure(
            LoadCause.NOT_DIFFUSERS,
            f"{source} is not a diffusers model: it has no {MODEL_INDEX}",
        )
    if _find(chain, _of(HFValidationError)) is not None:
        return LoadFailure(LoadCause.NOT_FOUND, f"{source} is neither a local folder nor a Hub id")
    hub = _find(chain, _of(HfHubHTTPError))
    if hub is not None:
        return LoadFailure(LoadCause.OTHER, f"the Hub answered {first_line(hub)}")
    return LoadFailure(LoadCause.OTHER, f"{type(error).__name__}: {first_line(error)}")


def local_folder_problem(source: str) -> LoadFailure | None:
    """What is wrong with `source` as a local folder, before diffusers is asked (which would
    only say it found no model_index.json); None for a diffusers folder or a Hub id."""
    path = Path(source).expanduser()
    if path.is_dir():
        if (path / MODEL_INDEX).is_file():
            return None
        return LoadFailure(
            LoadCause.NOT_DIFFUSERS, f"{source} is not a diffusers folder: it has no {MODEL_INDEX}"
        )
    if path.exists():
        return LoadFailure(LoadCause.NOT_DIFFUSERS, f"{source} is a file, not a diffusers folder")
    if _HUB_ID.match(source):
        return None
    return LoadFailure(LoadCause.NOT_FOUND, f"no such folder {source}")
