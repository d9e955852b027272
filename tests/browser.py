"""A real browser for the e2e tests: Debian's chromium driven by Playwright (whose own browser
download cannot work here), in a throwaway profile; pages watched for errors; axe-core's
accessibility checks."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Route, sync_playwright

# Debian's chromium, which `make test` and `make e2e` install.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# How long a page may take to render on a busy machine (a wait, not a measurement).
RENDER_MS = 60_000


@contextlib.contextmanager
def chromium_context(
    profile: Path, args: Sequence[str] = CHROMIUM_ARGS
) -> Iterator[BrowserContext]:
    """A headless chromium with its own profile folder, closed on exit."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make e2e` installs Debian's chromium")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, args=list(args), headless=True
        )
        context.set_default_timeout(RENDER_MS)
        try:
            yield context
        finally:
            context.close()


class WatchedPage:
    """A page whose script errors, console errors and off-loopback requests are noted (the
    requests are refused: the UI must work air-gapped)."""

    def __init__(self, context: BrowserContext, origin: str) -> None:
        self.origin = origin
        self.errors: list[str] = []
        self.offsite: list[str] = []
        context.route("**/*", self._route)
        self.page = context.new_page()
        self.page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))
        self.page.on("console", self._console)

    def _route(self, route: Route) -> None:
        url = route.request.url
        if url.startswith((self.origin + "/", "data:", "blob:")):
            route.continue_()
        else:
            self.offsite.append(url)
            route.abort("internetdisconnected")

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text}")

    def assert_clean(self, expected_errors: Sequence[str] = ()) -> None:
        """No script error, no console error but those expected (the browser logs each refused
        call, e.g. a 401 while signing in with a wrong key), nothing loaded from elsewhere."""
        unexpected = [e for e in self.errors if not any(part in e for part in expected_errors)]
        assert unexpected == [], f"the page logged errors: {unexpected}"
        assert self.offsite == [], f"the page reached beyond the API: {self.offsite}"


@contextlib.contextmanager
def watched_page(profile: Path, origin: str) -> Iterator[WatchedPage]:
    with chromium_context(profile) as context:
        yield WatchedPage(context, origin)


def accessibility_violations(page: Page) -> list[str]:
    """axe-core's findings on the page as it is now (WCAG 2 A and AA, best practices), one line
    each: the rule, its impact and the first element at fault."""
    results = Axe().run(page)
    found = []
    for violation in results.response["violations"]:
        target = violation["nodes"][0]["target"] if violation["nodes"] else []
        found.append(f"{violation['id']} ({violation['impact']}): {violation['help']} {target}")
    return found
