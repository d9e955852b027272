"""`sdq up`'s check of each model's source, on real folders, a real (empty or filled) Hugging Face
cache, a closed loopback port, and a Hub stand-in on loopback that answers the way the Hub does:
what sdq will do for each model, in one line, and a warning when its jobs would fail."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from rich.console import Console

from cli.embedded_redis import free_port
from cli.model_check import HubAccess, check_source, print_model_checks
from sdq.settings import ModelSpec, Settings

HUB_ID = "stabilityai/sd-turbo"


HUB_ANSWERS: dict[str, tuple[int, dict[str, str]]] = {
    "found/model": (200, {"X-Repo-Commit": "a" * 40, "ETag": '"abc"', "Content-Length": "2"}),
    "typo/model": (404, {"X-Error-Code": "RepoNotFound"}),
    "gated/model": (401, {"X-Error-Code": "GatedRepo"}),
    "notdiffusers/model": (404, {"X-Error-Code": "EntryNotFound"}),
}


class _HubHandler(BaseHTTPRequestHandler):
    """HEAD of a repository file, answered as the Hub does for the repository's name."""

    def do_HEAD(self) -> None:
        repo = "/".join(self.path.strip("/").split("/")[:2])
        status, headers = HUB_ANSWERS.get(repo, (404, {"X-Error-Code": "RepoNotFound"}))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def hub() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HubHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def cached(cache: Path, repo_id: str) -> Path:
    """The Hugging Face cache layout of a repository whose model_index.json was downloaded."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    commit = "0" * 40
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (snapshot / "model_index.json").write_text("{}")
    return snapshot


@dataclass
class Case:
    name: str
    spec: ModelSpec
    ok: bool
    says: str
    offline: bool = False
    endpoint: str = "hub"  # the stand-in; "closed": a loopback port nobody listens on


CASES = [
    Case("the tiny model", ModelSpec(id="sdq/tiny"), True, "sdq/tiny: built-in tiny model"),
    Case(
        "the synthetic model",
        ModelSpec(id="sdq/synthetic"),
        True,
        "sdq/synthetic: synthetic load-test model (no weights)",
    ),
    Case(
        "a diffusers folder",
        ModelSpec(id="x/y", source="{tmp}/diffusers"),
        True,
        "x/y: local folder {tmp}/diffusers",
    ),
    Case(
        "a folder without model_index.json",
        ModelSpec(id="x/y", source="{tmp}/empty"),
        False,
        "x/y: {tmp}/empty is not a diffusers folder: it has no model_index.json; "
        "its jobs will fail",
    ),
    Case(
        "a folder that does not exist",
        ModelSpec(id="x/y", source="{tmp}/no/such/folder"),
        False,
        "x/y: no such folder {tmp}/no/such/folder; its jobs will fail",
    ),
    Case(
        "in the cache",
        ModelSpec(id=HUB_ID),
        True,
        f"{HUB_ID}: in the local cache ({{tmp}}/cache)",
        offline=True,
    ),
    Case(
        "offline and not in the cache",
        ModelSpec(id="other/model"),
        False,
        "other/model: other/model is not in the local cache and HF_HUB_OFFLINE is set; "
        "its jobs will fail",
        offline=True,
    ),
    Case(
        "the Hub unreachable and not in the cache",
        ModelSpec(id="other/model"),
        False,
        "other/model: no network ([Errno 111] Connection refused); its jobs will fail",
        endpoint="closed",
    ),
    Case(
        "on the Hub",
        ModelSpec(id="found/model"),
        True,
        "found/model: will download from the Hub ({hub}) on first use",
    ),
    Case(
        "a typo",
        ModelSpec(id="typo/model"),
        False,
        "typo/model: typo/model was not found on the Hub (a typo? a private repository needs "
        "HF_TOKEN); its jobs will fail",
    ),
    Case(
        "gated",
        ModelSpec(id="gated/model"),
        False,
        "gated/model: gated/model is gated on the Hub: set HF_TOKEN to a token that was granted "
        "access; its jobs will fail",
    ),
    Case(
        "not a diffusers repository",
        ModelSpec(id="notdiffusers/model"),
        False,
        "notdiffusers/model: notdiffusers/model is not a diffusers model: it has no "
        "model_index.json; its jobs will fail",
    ),
    Case(
        "the source names the repository",
        ModelSpec(id="my/turbo", source="typo/model"),
        False,
        "my/turbo: typo/model was not found on the Hub",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_source_is_checked_and_said_in_one_line(
    case: Case, hub: str, tmp_path: Path, data_dir: Path
) -> None:
    (tmp_path / "diffusers").mkdir()
    (tmp_path / "diffusers" / "model_index.json").write_text("{}")
    (tmp_path / "empty").mkdir()
    cached(tmp_path / "cache", HUB_ID)
    endpoint = hub if case.endpoint == "hub" else f"http://127.0.0.1:{free_port()}"
    access = HubAccess(
        endpoint=endpoint, offline=case.offline, cache_dir=str(tmp_path / "cache"), timeout_s=3
    )
    source = case.spec.source.format(tmp=tmp_path) if case.spec.source else None
    spec = case.spec.model_copy(update={"source": source})

    check = check_source(spec, Settings(data_dir=data_dir), access)

    assert check.ok is case.ok
    assert case.says.format(tmp=tmp_path, hub=hub) in check.says
    assert "\n" not in check.says


def test_up_prints_one_line_per_model_and_warns_about_the_failing_ones(
    tmp_path: Path, data_dir: Path
) -> None:
    (tmp_path / "empty").mkdir()
    settings = Settings(
        data_dir=data_dir,
        models=[ModelSpec(id="sdq/tiny"), ModelSpec(id="x/y", source=str(tmp_path / "empty"))],
    )
    access = HubAccess(endpoint="http://127.0.0.1:9", offline=True, cache_dir=str(tmp_path))
    console = Console(record=True, width=200)

    print_model_checks(settings, console, access)

    lines = console.export_text().splitlines()
    assert lines == [
        "sdq/tiny: built-in tiny model",
        f"warning: x/y: {tmp_path}/empty is not a diffusers folder: it has no model_index.json; "
        "its jobs will fail",
    ]
