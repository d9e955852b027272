"""Sign-in and the operator console at `/ops` in a real Chromium, against a keyed stack: the
client/admin split, the queue rising and falling live, the last-hour chart, the policy editor
(a good value saves, a bad one shows the refusal beside its field), predictions, deliveries,
keys, accessibility."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, Route, expect

from cli.embedded_redis import EmbeddedRedis
from tests.access_fixtures import (
    BOOTSTRAP_SECRET,
    SYNTHETIC,
    KeyedStack,
    bearer,
    started_keyed_stack,
)
from tests.browser import RENDER_MS, WatchedPage, accessibility_violations, watched_page
from tests.helpers import wait_until

SCREENSHOTS = os.environ.get("SDQ_SCREENSHOTS")
ROW = f'[data-model="{SYNTHETIC}"]'
# The browser logs each refused call as a console error: these tests make some on purpose (a
# key that is not accepted, a policy or a filter the API refuses).
REFUSED_CALLS = ("status of 401", "status of 403", "status of 422")


@pytest.fixture(scope="module")
def keyed_ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KeyedStack]:
    """The keyed stack, sampling capacity every second for the console's chart, on a Redis of
    its own (the pages show this module's predictions and history only)."""
    data_dir, logs = tmp_path_factory.mktemp("data"), tmp_path_factory.mktemp("logs")
    redis_dir = tmp_path_factory.mktemp("redis")
    with (
        EmbeddedRedis(redis_dir, appendonly=False) as redis_server,
        started_keyed_stack(
            redis_server.url, data_dir, logs, SDQ_HISTORY_INTERVAL_S="1"
        ) as running,
    ):
        yield running


@pytest.fixture
def watched(keyed_ui: KeyedStack, tmp_path: Path) -> Iterator[WatchedPage]:
    with watched_page(tmp_path / "profile", keyed_ui.url) as watched:
        yield watched
        watched.assert_clean(REFUSED_CALLS)


def sign_in(page: Page, secret: str) -> None:
    page.fill("#api-key", secret)
    page.get_by_role("button", name="Sign in").click()


def test_playground_asks_for_a_key_and_keeps_it_out_of_the_url(
    keyed_ui: KeyedStack, watched: WatchedPage
) -> None:
    page = watched.page
    page.goto(f"{keyed_ui.url}/")
    expect(page.locator("#sign-in-panel")).to_be_visible()
    expect(page.locator("#app")).to_be_hidden()
    assert accessibility_violations(page) == []
    sign_in(page, "sdq_not-a-key-of-this-server-0000000000")
    expect(page.locator("#sign-in-error")).to_contain_text("not accepted")
    expect(page.locator("#app")).to_be_hidden()
    secret = keyed_ui.secrets["alice"]
    sign_in(page, secret)
    expect(page.locator("#app")).to_be_visible()
    expect(page.locator("#who")).to_contain_text("alice")
    expect(page.locator("#who")).to_contain_text("client")
    assert secret not in page.url
    assert page.evaluate("Object.keys(localStorage)") == []  # this tab only, unless asked
    page.select_option("#model", SYNTHETIC)
    page.fill("textarea[name=prompt]", "a signed-in picture")
    page.fill("#num_inference_steps", "3")
    page.get_by_role("button", name="Generate").click()
    expect(page.locator("#results figure img")).to_have_count(1, timeout=RENDER_MS)
    page.reload()  # the key outlives a reload of the tab
    expect(page.locator("#app")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("#sign-in-panel")).to_be_visible()


def test_a_failed_first_check_never_puts_the_key_in_the_url(
    keyed_ui: KeyedStack, watched: WatchedPage
) -> None:
    """The API answers the page's first call with 503 (Redis away, say): the sign-in form still
    signs in through the page's script, never by a plain form submission."""
    page = watched.page
    outage = {"on": True}

    def account(route: Route) -> None:
        if outage["on"]:
            route.fulfill(status=503, json={"title": "Service Unavailable", "status": 503})
        else:
            route.continue_()

    page.route("**/v1/account", account)
    page.goto(f"{keyed_ui.url}/")
    expect(page.locator("#sign-in-error")).to_contain_text("Cannot reach the API")
    secret = keyed_ui.secrets["alice"]
    sign_in(page, secret)
    expect(page.locator("#sign-in-error")).to_contain_text("Cannot check the key now")
    outage["on"] = False
    sign_in(page, secret)
    expect(page.locator("#app")).to_be_visible()
    assert page.url == f"{keyed_ui.url}/"
    watched.errors.clear()  # the browser logged the 503s


def test_pages_open_without_a_key_under_their_policy(keyed_ui: KeyedStack) -> None:
    with keyed_ui.http() as anyone:
        for path in ("/", "/ops"):
            page = anyone.get(path)
            assert page.status_code == 200 and "text/html" in page.headers["content-type"]
            assert "script-src 'self';" in page.headers["content-security-policy"]
            assert page.headers["x-frame-options"] == "DENY"
        script = anyone.get("/ui-assets/common.js")
        assert script.status_code == 200 and script.headers["cache-control"] == "no-cache"
        # The open prefix serves the assets folder only: an encoded way out of it finds nothing.
        escape = anyone.get("/ui-assets/%2e%2e/%2e%2e/sdq/settings.py")
        assert escape.status_code == 404 and "BaseSettings" not in escape.text


def test_console_refuses_a_client_key(keyed_ui: KeyedStack, watched: WatchedPage) -> None:
    page = watched.page
    page.goto(f"{keyed_ui.url}/ops")
    sign_in(page, keyed_ui.secrets["bob"])
    expect(page.locator("#forbidden")).to_be_visible()
    expect(page.locator("#forbidden-text")).to_contain_text("needs an admin key")
    expect(page.locator("#app")).to_be_hidden()
    expect(page.locator("#models tbody tr")).to_have_count(0)


@pytest.fixture
def console(keyed_ui: KeyedStack, watched: WatchedPage) -> Page:
    page = watched.page
    page.goto(f"{keyed_ui.url}/ops")
    sign_in(page, keyed_ui.secrets["ops"])
    expect(page.locator("#app")).to_be_visible()
    return page


def number(page: Page, field: str) -> int | None:
    text = page.locator(f"{ROW} [data-field={field}]").inner_text()
    return int(text) if text.isdigit() else None


def test_queue_rises_and_falls_live_with_the_chart(keyed_ui: KeyedStack, console: Page) -> None:
    page = console
    expect(page.locator(f"{ROW} [data-field=workers]")).to_have_text("1")
    with keyed_ui.as_("alice") as alice:
        ids = []
        for n in range(6):  # 80 steps of 0.05 s: four seconds each, one worker
            body = {"input": {"prompt": f"load {n}", "num_inference_steps": 80}}
            created = alice.post(f"/v1/models/{SYNTHETIC}/predictions", json=body)
            assert created.status_code == 201, created.text
            ids.append(created.json()["id"])
    rising = re.compile(r"^[1-9]\d*$")
    expect(page.locator(f"{ROW} [data-field=queued]")).to_have_text(rising, timeout=RENDER_MS)
    expect(page.locator(f"{ROW} [data-field=in_flight]")).to_have_text("1", timeout=RENDER_MS)
    expect(page.locator(f"{ROW} [data-field=queued]")).to_have_text("0", timeout=RENDER_MS)
    expect(page.locator(f"{ROW} [data-field=in_flight]")).to_have_text("0", timeout=RENDER_MS)
    page.select_option("#chart-model", SYNTHETIC)  # draws it now
    queued_line = page.locator("#chart path[data-series=queued]")
    expect(queued_line).to_have_attribute("d", re.compile(r"^M\S+ .*L\S+"))
    expect(page.locator("#chart-summary")).to_contain_text(re.compile(r"at most [1-9]\d* queued"))

    page.select_option("#filter-status", "succeeded")
    page.select_option("#filter-model", SYNTHETIC)
    page.fill("#filter-tenant", "alice")
    page.get_by_role("button", name="Show").click()
    for prediction_id in ids:
        expect(page.locator(f'#predictions [data-prediction="{prediction_id}"]')).to_be_visible()
    row = page.locator(f'#predictions [data-prediction="{ids[0]}"]')
    expect(row).to_contain_text("succeeded")
    row.get_by_role("button").click()
    expect(page.locator("#deliveries")).to_contain_text("no webhook")

    page.fill("#filter-tenant", "no such tenant!")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#prediction-filter [data-error-for=tenant]")).not_to_be_empty()
    if SCREENSHOTS:
        page.fill("#filter-tenant", "alice")
        page.get_by_role("button", name="Show").click()
        page.set_viewport_size({"width": 1400, "height": 1000})
        page.screenshot(path=Path(SCREENSHOTS) / "ops.png", full_page=True)


def test_policy_editor_saves_good_values_and_shows_refusals(
    keyed_ui: KeyedStack, console: Page
) -> None:
    page = console
    page.select_option("#policy-model", SYNTHETIC)
    loaded = page.locator(f'#policy-form[data-model="{SYNTHETIC}"][aria-busy="false"]')
    expect(loaded).to_be_attached()  # the fields are the model's, not still loading
    page.fill("#policy-min_replicas", "-1")
    page.get_by_role("button", name="Save policy").click()
    refusal = page.locator("#policy-form [data-error-for=min_replicas]")
    expect(refusal).to_contain_text("0")
    expect(page.locator("#policy-min_replicas")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#policy-status")).to_have_text("Not saved.")
    with keyed_ui.http(BOOTSTRAP_SECRET) as admin:
        assert admin.get(f"/v1/admin/models/{SYNTHETIC}/scaling").json()["min_replicas"] == 0

    page.fill("#policy-min_replicas", "3")
    page.fill("#policy-max_replicas", "2")  # each fine alone, refused together
    page.get_by_role("button", name="Save policy").click()
    expect(page.locator("#policy-form [data-error-for='*']")).to_contain_text("exceeds")

    page.fill("#policy-min_replicas", "0")
    page.fill("#policy-max_replicas", "4")
    page.fill("#policy-max_queued", "50")
    page.get_by_role("button", name="Save policy").click()
    expect(page.locator("#policy-status")).to_contain_text("Saved")
    expect(page.locator("#policy-min_replicas")).not_to_have_attribute("aria-invalid", "true")
    with keyed_ui.http(BOOTSTRAP_SECRET) as admin:
        saved = admin.get(f"/v1/admin/models/{SYNTHETIC}/scaling").json()
    assert (saved["max_replicas"], saved["max_queued"]) == (4, 50)
    change = page.locator("#policy-changes tbody tr").first
    expect(change).to_contain_text("max_queued: unset → 50")
    expect(change).to_contain_text("ops")  # who: the admin key's name
    with keyed_ui.http(BOOTSTRAP_SECRET) as admin:  # leave the model as the other tests expect
        reset = admin.put(f"/v1/admin/models/{SYNTHETIC}/scaling", json={})
        assert reset.status_code == 200, reset.text


def test_keys_are_listed_created_and_revoked(keyed_ui: KeyedStack, console: Page) -> None:
    page = console
    for name in ("alice", "bob", "ops"):
        expect(page.locator(f'#keys [data-key="{name}"]')).to_be_visible()
    expect(page.locator('#keys [data-key="ops"]')).to_contain_text("admin")
    table = page.locator("#keys").inner_text()
    assert not any(secret in table for secret in keyed_ui.secrets.values())

    page.fill("#key-name", "Not a name!")
    page.get_by_role("button", name="Create key").click()
    expect(page.locator("#key-form [data-error-for=name]")).not_to_be_empty()
    expect(page.locator("#key-name")).to_have_attribute("aria-invalid", "true")

    page.fill("#key-name", "carol")
    page.fill("#key-max-queued", "5")
    page.get_by_role("button", name="Create key").click()
    expect(page.locator("#new-key")).to_be_visible()
    secret = page.locator("#new-key-secret").input_value()
    with keyed_ui.http(secret) as carol:
        assert carol.get("/v1/account").json()["username"] == "carol"
    row = page.locator('#keys [data-key="carol"]')
    expect(row).to_contain_text("5")
    assert secret not in page.locator("#keys").inner_text()
    assert accessibility_violations(page) == []

    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Revoke").click()
    expect(row).to_have_count(0)
    with keyed_ui.http(secret) as carol:
        wait_until(lambda: carol.get("/v1/account").status_code == 401, 10, "the revocation")


def test_console_calls_need_the_admin_key(keyed_ui: KeyedStack) -> None:
    """What the page reads is refused to a client key by the API itself, not just hidden."""
    with keyed_ui.http() as anyone:
        for path in (f"/v1/admin/models/{SYNTHETIC}/history", "/v1/admin/keys"):
            assert anyone.get(path).status_code == 401
            client = anyone.get(path, headers=bearer(keyed_ui.secrets["bob"]))
            assert client.status_code == 403
