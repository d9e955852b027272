"""/docs and /redoc render in a real headless Chromium with every non-loopback request blocked."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import BrowserContext, Page, Request, Route, expect

from tests.browser import RENDER_MS, chromium_context
from tests.helpers import Stack

# Documents the browser builds itself; they never touch the network.
LOCAL_SCHEMES = {"data", "blob", "about"}


class Offline:
    """A browser context that lets through only the API's own origin, noting every other load."""

    def __init__(self, context: BrowserContext, origin: str) -> None:
        self.origin = origin
        self.sent: list[str] = []  # reached the network layer (where this test aborts them)
        self.refused: list[str] = []  # refused inside the browser by the page's own CSP
        context.route("**/*", self.handle)
        context.on("requestfailed", self.failed)

    def local(self, url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme in LOCAL_SCHEMES or f"{parts.scheme}://{parts.netloc}" == self.origin

    def handle(self, route: Route) -> None:
        if self.local(route.request.url):
            route.continue_()
        else:
            self.sent.append(route.request.url)
            route.abort("internetdisconnected")

    def failed(self, request: Request) -> None:
        if request.failure == "csp" and not self.local(request.url):
            self.refused.append(request.url)


@pytest.fixture
def browser(api: Stack, tmp_path: Path) -> Iterator[tuple[Page, Offline]]:
    with chromium_context(tmp_path / "profile") as context:
        offline = Offline(context, api.url)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        yield page, offline
    assert errors == [], f"the page raised JavaScript errors: {errors}"


def test_swagger_ui_renders_with_the_network_off(
    api: Stack, browser: tuple[Page, Offline], tmp_path: Path
) -> None:
    page, offline = browser
    page.goto(f"{api.url}/docs")
    operation = page.locator(".opblock-summary-path[data-path='/v1/predictions']").first
    expect(operation).to_be_visible(timeout=RENDER_MS)
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("sdq")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=tmp_path / "docs.png", full_page=True)
    assert offline.sent == [], "/docs asked for assets beyond the API"
    assert offline.refused == []


def test_redoc_renders_with_the_network_off(api: Stack, browser: tuple[Page, Offline]) -> None:
    page, offline = browser
    page.goto(f"{api.url}/redoc")
    expect(page.locator("h1").first).to_contain_text("sdq", timeout=RENDER_MS)
    expect(page.locator("[data-section-id^='operation/']").first).to_be_attached()
    expect(page.get_by_text("/v1/predictions", exact=True).first).to_be_attached()
    page.wait_for_load_state("networkidle")
    # ReDoc's bundle hard-codes the Redocly logo from a CDN; the page's policy refuses it in the
    # browser, so it never reaches the network (offline.refused), and ReDoc hides the image.
    assert offline.sent == [], "/redoc asked for assets beyond the API"
    assert all(url.startswith("https://cdn.redoc.ly/") for url in offline.refused)
