"""A real browser for the e2e tests: Debian's chromium driven by Playwright (whose own browser
download cannot work here), in a throwaway profile."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, sync_playwright

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
