"""Why a model could not load, as a table: each row is the exception chain a real failed load
raises (huggingface_hub's, httpx2's, torch's and diffusers' own classes, chained the way
diffusers chains them) and the one-line cause it must be reported as."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpcore2
import httpx2
import pytest
import torch
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    HFValidationError,
    LocalEntryNotFoundError,
    OfflineModeIsEnabled,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
)

from worker.engines.load_errors import (
    LoadCause,
    ModelLoadError,
    classify,
    local_folder_problem,
)

SOURCE = "stabilityai/sd-turbo"
URL = f"https://huggingface.co/{SOURCE}/resolve/main/model_index.json"


def hub_response(status: int) -> httpx2.Response:
    return httpx2.Response(status, request=httpx2.Request("HEAD", URL))


def raised_from(*errors: BaseException, explicit: bool = False) -> BaseException:
    """The outermost of `errors` (innermost first), each raised while handling the one before
    it: implicitly (`__context__`, as diffusers does) or with `raise ... from` (`__cause__`)."""
    inner: BaseException | None = None
    for error in errors:
        try:
            try:
                if inner is not None:
                    raise inner
            except BaseException as handled:
                if explicit:
                    raise error from handled
                raise error  # noqa: B904 - the implicit chain is what is being tested
            raise error
        except BaseException as caught:
            inner = caught
    assert inner is not None
    return inner


def diffusers_missing_config(*inner: BaseException) -> BaseException:
    """diffusers' `load_config` turns every hub error into this misleading OSError."""
    outer = OSError(f"{SOURCE} does not appear to have a file named model_index.json.")
    return raised_from(*inner, outer)


@dataclass
class Case:
    name: str
    error: Callable[[], BaseException]
    cause: LoadCause
    says: str


CASES = [
    Case(
        "offline and not cached",
        lambda: diffusers_missing_config(
            raised_from(
                OfflineModeIsEnabled(f"Cannot reach {URL}: offline mode is enabled."),
                LocalEntryNotFoundError("cannot find the requested files in the local cache"),
                explicit=True,
            )
        ),
        LoadCause.NO_NETWORK,
        f"{SOURCE} is not in the local cache and HF_HUB_OFFLINE is set",
    ),
    Case(
        "connection refused and not cached",
        lambda: diffusers_missing_config(
            raised_from(
                httpcore2.ConnectError("[Errno 111] Connection refused"),
                httpx2.ConnectError("[Errno 111] Connection refused"),
                LocalEntryNotFoundError("cannot find the requested files in the local cache"),
                explicit=True,
            )
        ),
        LoadCause.NO_NETWORK,
        f"no network ([Errno 111] Connection refused) and {SOURCE} is not in the local cache",
    ),
    Case(
        "a bare connection error (the pre-flight's metadata call)",
        lambda: raised_from(
            httpcore2.ConnectError("[Errno -3] Temporary failure in name resolution"),
            httpx2.ConnectError("[Errno -3] Temporary failure in name resolution"),
            explicit=True,
        ),
        LoadCause.NO_NETWORK,
        "no network ([Errno -3] Temporary failure in name resolution)",
    ),
    Case(
        "a timeout",
        lambda: httpx2.ReadTimeout("timed out"),
        LoadCause.NO_NETWORK,
        "no network (timed out)",
    ),
    Case(
        "repository not found (a typo)",
        lambda: diffusers_missing_config(
            RepositoryNotFoundError("404 Client Error.", response=hub_response(404))
        ),
        LoadCause.NOT_FOUND,
        f"{SOURCE} was not found on the Hub (a typo? a private repository needs HF_TOKEN)",
    ),
    Case(
        "gated repository",
        lambda: diffusers_missing_config(
            GatedRepoError("401 Client Error. Access is restricted.", response=hub_response(401))
        ),
        LoadCause.GATED,
        f"{SOURCE} is gated on the Hub: set HF_TOKEN to a token that was granted access",
    ),
    Case(
        "a repository without model_index.json",
        lambda: diffusers_missing_config(
            RemoteEntryNotFoundError("404 Entry Not Found", response=hub_response(404))
        ),
        LoadCause.NOT_DIFFUSERS,
        f"{SOURCE} is not a diffusers model: it has no model_index.json",
    ),
    Case(
        "neither a folder nor a hub id",
        lambda: HFValidationError("Repo id must be in the form 'repo_name' or 'namespace/name'"),
        LoadCause.NOT_FOUND,
        f"{SOURCE} is neither a local folder nor a Hub id",
    ),
    Case(
        "CUDA out of memory",
        lambda: torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 MiB"),
        LoadCause.OUT_OF_MEMORY,
        f"out of memory while loading {SOURCE} (CUDA out of memory. Tried to allocate 20.00 MiB)",
    ),
    Case(
        "host out of memory",
        lambda: MemoryError(),
        LoadCause.OUT_OF_MEMORY,
        f"out of memory while loading {SOURCE}",
    ),
    Case(
        "the Hub answers with a server error",
        lambda: diffusers_missing_config(
            HfHubHTTPError("503 Server Error: Service Unavailable", response=hub_response(503))
        ),
        LoadCause.OTHER,
        "the Hub answered 503 Server Error: Service Unavailable",
    ),
    Case(
        "anything else: the outermost error in one line",
        lambda: raised_from(
            KeyError("unet"), ValueError("Pipeline expects unet, vae\nbut got vae only")
        ),
        LoadCause.OTHER,
        "ValueError: Pipeline expects unet, vae",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_failed_load_is_reported_as_its_root_cause_in_one_line(case: Case) -> None:
    failure = classify(case.error(), SOURCE)
    assert failure.cause is case.cause, failure
    assert failure.message == case.says
    assert "\n" not in failure.message


def test_a_load_error_already_classified_keeps_its_cause() -> None:
    known = ModelLoadError(classify(MemoryError(), SOURCE))
    wrapped = raised_from(known, RuntimeError("while loading"))
    assert classify(wrapped, SOURCE) == known.failure


@pytest.mark.parametrize(
    ("layout", "cause", "says"),
    [
        ("diffusers", None, None),
        ("empty", LoadCause.NOT_DIFFUSERS, "{p} is not a diffusers folder: it has no "
                                           "model_index.json"),
        ("missing", LoadCause.NOT_FOUND, "no such folder {p}"),
        ("file", LoadCause.NOT_DIFFUSERS, "{p} is a file, not a diffusers folder"),
        ("hub id", None, None),
    ],
)  # fmt: skip
def test_local_folders_are_checked_before_diffusers_is_asked(
    tmp_path: Path, layout: str, cause: LoadCause | None, says: str | None
) -> None:
    folder = tmp_path / "model"
    if layout == "diffusers":
        folder.mkdir()
        (folder / "model_index.json").write_text("{}")
    elif layout == "empty":
        folder.mkdir()
    elif layout == "file":
        folder.write_text("not a folder")
    source = SOURCE if layout == "hub id" else str(folder)
    if layout == "missing":
        source = str(tmp_path / "no" / "such" / "model")
    problem = local_folder_problem(source)
    if cause is None:
        assert problem is None
    else:
        assert problem is not None
        assert (problem.cause, problem.message) == (cause, (says or "").format(p=source))
