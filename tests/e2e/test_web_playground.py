"""The playground at `/` in a real Chromium (authentication off, a tiny-model worker): generate
an image and watch its progress and previews, field errors, cancel, keyboard, accessibility."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from cli.embedded_redis import EmbeddedRedis
from tests.browser import RENDER_MS, WatchedPage, accessibility_violations, watched_page
from tests.helpers import Stack, started_stack

# Set to a folder (docs/images) to refresh the screenshots in the docs.
SCREENSHOTS = os.environ.get("SDQ_SCREENSHOTS")
# Records what the progress bar and the preview showed while a run went on.
WATCH_PROGRESS = """() => {
  window.seen = { progress: [], previews: 0 };
  const bar = document.getElementById("progress");
  new MutationObserver(() => window.seen.progress.push(bar.value))
    .observe(bar, { attributes: true, childList: true, characterData: true, subtree: true });
  const preview = document.getElementById("preview");
  new MutationObserver(() => { if (preview.src.startsWith("data:image/")) window.seen.previews++; })
    .observe(preview, { attributes: true, attributeFilter: ["src"] });
}"""


@pytest.fixture(scope="module")
def stack(
    data_dir: Path, tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """API and a tiny-model worker on a Redis of their own: the gallery shows this module's
    predictions only (another module's would link to files in another data folder)."""
    redis_dir, logs = tmp_path_factory.mktemp("redis"), tmp_path_factory.mktemp("logs")
    with (
        EmbeddedRedis(redis_dir, appendonly=False) as redis_server,
        started_stack(redis_server.url, data_dir, logs) as running,
    ):
        yield running


@pytest.fixture
def watched(stack: Stack, tmp_path: Path) -> Iterator[WatchedPage]:
    with watched_page(tmp_path / "profile", stack.url) as watched:
        watched.page.goto(f"{stack.url}/")
        expect(watched.page.locator("#app")).to_be_visible()
        yield watched
        watched.assert_clean()


def fill_form(page: Page, model: str, prompt: str, steps: int, size: int = 64) -> None:
    page.select_option("#model", model)
    page.fill("textarea[name=prompt]", prompt)
    page.fill("#width", str(size))
    page.fill("#height", str(size))
    page.fill("#num_inference_steps", str(steps))


def test_generate_shows_progress_previews_then_the_image(
    stack: Stack, watched: WatchedPage
) -> None:
    page = watched.page
    expect(page.locator("#who")).to_contain_text("authentication off")
    expect(page.locator("#sign-in-panel")).to_be_hidden()
    fill_form(page, "sdq/tiny", "a lighthouse at dusk", steps=60, size=128)
    page.fill("#seed", "7")
    page.evaluate(WATCH_PROGRESS)
    page.get_by_role("button", name="Generate").click()

    image = page.locator("#results figure img")
    expect(image).to_have_count(1, timeout=RENDER_MS)
    expect(page.locator("#status")).to_contain_text("Done")
    loaded = image.evaluate("img => img.complete && img.naturalWidth")
    assert loaded == 128
    seen = page.evaluate("window.seen")
    assert any(0 < value < 100 for value in seen["progress"]), seen
    assert seen["progress"][-1] == 100
    assert seen["previews"] >= 1, seen
    caption = page.locator("#results figcaption")
    expect(caption).to_contain_text("a lighthouse at dusk")
    expect(caption).to_contain_text("128\N{MULTIPLICATION SIGN}128")
    expect(caption).to_contain_text("7")  # the seed
    link = caption.get_by_role("link", name="(JSON)")
    prediction_id = link.inner_text().split()[1]
    with page.expect_download() as download:
        link.click()
    assert f'"id": "{prediction_id}"' in Path(download.value.path()).read_text()
    expect(page.locator("#gallery figure img").first).to_be_visible()
    expect(page.locator("#gallery")).to_contain_text("a lighthouse at dusk")
    assert accessibility_violations(page) == []
    if SCREENSHOTS:
        page.set_viewport_size({"width": 1280, "height": 900})
        page.screenshot(path=Path(SCREENSHOTS) / "playground.png", full_page=True)


def test_a_refused_field_is_named_next_to_it_and_nothing_is_queued(
    stack: Stack, watched: WatchedPage
) -> None:
    page = watched.page
    fill_form(page, "sdq/tiny", "a cat", steps=4)
    page.fill("#width", "65")
    page.locator("textarea[name=prompt]").press("Control+Enter")  # the keyboard way to submit
    error = page.locator("[data-error-for=width]")
    expect(error).to_contain_text("multiple of 8")
    expect(page.locator("#width")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#status")).to_contain_text("Not submitted")
    expect(page.locator("#cancel")).to_be_disabled()
    watched.errors.clear()  # the browser logs the refused call (422) as a console error
    page.fill("#width", "64")
    page.locator("textarea[name=prompt]").press("Control+Enter")
    expect(page.locator("#results figure img")).to_have_count(1, timeout=RENDER_MS)
    expect(page.locator("#width")).not_to_have_attribute("aria-invalid", "true")


def test_cancel_a_queued_prediction(stack: Stack, watched: WatchedPage) -> None:
    page = watched.page
    fill_form(page, "sdq/synthetic", "never drawn: no worker serves this model", steps=4)
    page.get_by_role("button", name="Generate").click()
    expect(page.locator("#status")).to_contain_text("Queued")
    page.get_by_role("button", name="Cancel").click()
    expect(page.locator("#status")).to_contain_text("Canceled")
    expect(page.get_by_role("button", name="Generate")).to_be_enabled()
    expect(page.locator("#results figure")).to_have_count(0)


# One stream as sse-starlette writes it (\r\n), a comment (keep-alive ping), and \n-only lines.
STREAM = (
    'event: queued\r\ndata: {"status": "queued", "queue_position": 0}\r\n\r\n'
    ": ping\r\n\r\n"
    'event: completed\r\nid: 1700000000000-0\r\ndata: {"status": "succeeded"}\r\n\r\n'
    "event: progress\ndata: line one\ndata: line two\n\n"
)
PARSE_IN_CHUNKS = """([text, cut]) => {
  const parse = sdq.eventParser();
  return [...parse(text.slice(0, cut)), ...parse(text.slice(cut))];
}"""


def test_the_stream_reader_gets_the_same_events_wherever_a_chunk_ends(
    watched: WatchedPage,
) -> None:
    """Every split of the stream into two chunks, \\r|\\n included, reads as the whole does."""
    page = watched.page
    whole = page.evaluate(PARSE_IN_CHUNKS, [STREAM, len(STREAM)])
    assert [(e["type"], e["id"]) for e in whole] == [
        ("queued", None),
        ("completed", "1700000000000-0"),
        ("progress", None),
    ]
    assert whole[2]["data"] == "line one\nline two"
    for cut in range(len(STREAM)):
        assert page.evaluate(PARSE_IN_CHUNKS, [STREAM, cut]) == whole, cut
