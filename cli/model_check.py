"""`sdq up`'s look at each model's source before starting: what it will load and from where, and a
warning, in one line, when the model's jobs would fail (no such folder, not in the cache and no
Hub, a typo, a gated repository). It only warns: the stack starts either way."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from sdq.settings import TINY_MODEL_ID, ModelSpec, Settings
from worker.engines.load_errors import MODEL_INDEX, classify, local_folder_problem

HUB_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class HubAccess:
    """Where the Hugging Face Hub is and whether to ask it (as huggingface_hub reads HF_*)."""

    endpoint: str
    offline: bool
    cache_dir: str | None = None
    timeout_s: float = HUB_TIMEOUT_S

    @classmethod
    def from_environment(cls) -> HubAccess:
        from huggingface_hub import constants

        return cls(constants.ENDPOINT, constants.HF_HUB_OFFLINE, constants.HF_HUB_CACHE)


@dataclass(frozen=True)
class SourceCheck:
    model: str
    ok: bool
    says: str  # one line, starting with the model id


def _hub_check(spec: ModelSpec, source: str, hub: HubAccess) -> SourceCheck:
    from huggingface_hub import get_hf_file_metadata, hf_hub_url, try_to_load_from_cache

    if isinstance(try_to_load_from_cache(source, MODEL_INDEX, cache_dir=hub.cache_dir), str):
        return SourceCheck(spec.id, True, f"{spec.id}: in the local cache ({hub.cache_dir})")
    if hub.offline:
        problem = f"{source} is not in the local cache and HF_HUB_OFFLINE is set"
        return SourceCheck(spec.id, False, f"{spec.id}: {problem}; its jobs will fail")
    try:
        url = hf_hub_url(source, MODEL_INDEX, endpoint=hub.endpoint)
        get_hf_file_metadata(url, timeout=hub.timeout_s, endpoint=hub.endpoint)
    except Exception as error:
        failure = classify(error, source)
        return SourceCheck(spec.id, False, f"{spec.id}: {failure.message}; its jobs will fail")
    return SourceCheck(
        spec.id, True, f"{spec.id}: will download from the Hub ({hub.endpoint}) on first use"
    )


def check_source(spec: ModelSpec, settings: Settings, hub: HubAccess) -> SourceCheck:
    """What loading `spec` will do, in one line; `ok` is False when its loads would fail."""
    if spec.kind == "synthetic":
        return SourceCheck(spec.id, True, f"{spec.id}: synthetic load-test model (no weights)")
    if spec.source is None and spec.id == TINY_MODEL_ID:
        return SourceCheck(spec.id, True, f"{spec.id}: built-in tiny model")
    source = spec.source or spec.id
    problem = local_folder_problem(source)
    if problem is not None:
        return SourceCheck(spec.id, False, f"{spec.id}: {problem.message}; its jobs will fail")
    if Path(source).expanduser().is_dir():
        return SourceCheck(spec.id, True, f"{spec.id}: local folder {source}")
    return _hub_check(spec, source, hub)


def check_models(settings: Settings, hub: HubAccess | None = None) -> list[SourceCheck]:
    """Every served model's check, in order; the Hub is asked for all of them at once."""
    access = hub or HubAccess.from_environment()
    with ThreadPoolExecutor(max_workers=max(1, min(8, len(settings.models)))) as pool:
        return list(pool.map(lambda spec: check_source(spec, settings, access), settings.models))


def print_model_checks(settings: Settings, console: Console, hub: HubAccess | None = None) -> None:
    """One line per model; the ones whose jobs would fail as warnings."""
    for check in check_models(settings, hub):
        if check.ok:
            console.print(escape(check.says), highlight=False)
        else:
            console.print(f"[yellow]warning: {escape(check.says)}[/]", highlight=False)
