"""The web page in a real browser: Debian's chromium driven by Playwright (pytest-playwright)
against a real daemon and the Twilio stand-in, on a phone with touch and on a desktop, each
in its own time zone; axe-core on every page. One browser per session, one daemon per module,
and every test here in one xdist group: each worker would otherwise start its own browser
and its own daemon. Each test has a browser context of its own.

Without chromium these tests skip, except in CI (CI=true), where they fail.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from tests.conftest import API_TOKEN, Daemon, Home, require, twilio_block, wait_until
from tests.twilio_standin import TwilioStandin

CHROMIUM = os.environ.get("ALARMD_CHROMIUM", "/usr/bin/chromium")
# Headless, and nothing reaching out on its own (updates, sync, metrics): tests never
# reach the internet.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-default-apps",
                 "--metrics-recording-only", "--disable-features=Translate,OptimizationHints,MediaRouter"]
DEVICES = {
    "phone": {"viewport": {"width": 393, "height": 851}, "is_mobile": True, "has_touch": True,
              "timezone_id": "America/New_York", "color_scheme": "dark", "number": "MOBILE",
              "e164": "+447700900123"},
    "desktop": {"viewport": {"width": 1280, "height": 860}, "timezone_id": "Europe/London",
                "color_scheme": "light", "number": "PARTNER", "e164": "+447700900456"},
}

pytestmark = [pytest.mark.system, pytest.mark.xdist_group("web_browser")]


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, Any]:
    require(Path(CHROMIUM).exists(), f"no chromium at {CHROMIUM} (apt-get install chromium, or set ALARMD_CHROMIUM)")
    return {"executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, TwilioStandin]]:
    root = tmp_path_factory.mktemp("web")
    (root / "home").mkdir()
    home = Home(root)
    with TwilioStandin() as standin:
        block = twilio_block(standin)
        block["phoneNumbers"].append({"name": "PARTNER", "number": "+44 7700 900456"})
        home.write_config(block, redial={"pollSeconds": 0.1})
        daemon = Daemon(home)
        try:
            yield f"http://127.0.0.1:{home.port}", standin
        finally:
            daemon.stop()


def serious(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now."""
    found = Axe().run(page).response["violations"]
    return [f"{v['id']}: {v['help']} ({len(v['nodes'])})" for v in found if v["impact"] in ("serious", "critical")]


def sign_in(page: Page, url: str) -> None:
    page.goto(url + "/")
    expect(page).to_have_url(url + "/login")
    assert serious(page) == []
    page.get_by_label("API token").fill(API_TOKEN)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Alarms", exact=True)).to_be_visible()


@pytest.mark.parametrize("device", DEVICES)
def test_the_whole_flow_in_a_real_browser(browser: Browser, site: tuple[str, TwilioStandin], device: str) -> None:
    url, standin = site
    profile = dict(DEVICES[device])
    number, e164 = profile.pop("number"), profile.pop("e164")
    context = browser.new_context(**profile)
    page = context.new_page()
    try:
        sign_in(page, url)
        assert serious(page) == []

        # A Mon–Fri 07:00 alarm through the form.
        form = page.locator("form.alarm-form")
        form.get_by_label("Time", exact=True).fill("07:00")
        if device == "phone":
            form.get_by_role("button", name="Weekdays").tap()
        else:
            for day in ("Sat", "Sun"):
                form.get_by_label(day, exact=True).uncheck()
        form.get_by_label("Call", exact=True).select_option(label=number)
        form.get_by_label("Name", exact=True).fill(f"Wake {device}")
        if device == "desktop":
            form.get_by_label("Require a human").check()
        form.get_by_role("button", name="Add alarm").click()
        item = page.locator("li.alarm", has_text=f"Wake {device}")
        expect(item).to_contain_text("07:00 Mon–Fri Europe/London")
        expect(item.locator(".countdown")).to_have_text(re.compile(r"^in \d+ (min|h( \d+ min)?|d( \d+ h)?)$"))
        if profile["timezone_id"] != "Europe/London":
            expect(item).to_contain_text("your time (America/New_York)")

        item.get_by_role("button", name="Skip next").click()
        expect(item.locator(".state")).to_have_text("skipping next")
        item.get_by_role("button", name="Unskip").click()
        expect(item.locator(".state")).to_have_text("active")
        expect(item.get_by_role("button", name="Unskip")).to_have_count(0)
        item.get_by_role("button", name="Pause").click()
        expect(item.locator(".state")).to_have_text("paused")
        item.get_by_role("button", name="Resume").click()
        expect(item.get_by_role("button", name="Pause")).to_be_visible()

        item.get_by_role("button", name="Edit").click()
        expect(page.get_by_role("heading", name=f"Edit Wake {device}")).to_be_visible()
        assert serious(page) == []
        expect(page.get_by_label("Require a human")).to_be_checked(checked=device == "desktop")
        page.get_by_label("Time", exact=True).fill("07:30")
        page.get_by_label("Name", exact=True).fill(f"Up {device}")
        page.get_by_role("button", name="Save").click()
        item = page.locator("li.alarm", has_text=f"Up {device}")
        expect(item).to_contain_text("07:30 Mon–Fri Europe/London")

        page.get_by_role("button", name=f"Test call {number}").click()
        wait_until(lambda: any(r.field("To") == e164 for r in standin.creates()))
        result = page.locator("#test-calls li", has_text=f"Test call {number}").locator(".result")
        expect(result).to_contain_text("answered", timeout=10_000)

        item.get_by_role("button", name="Delete").click()
        item.get_by_role("button", name="Confirm delete").click()
        expect(page.locator("li.alarm", has_text=f"Up {device}")).to_have_count(0)

        page.get_by_role("link", name="History").click()
        expect(page.get_by_role("heading", name="History", exact=True)).to_be_visible()
        expect(page.locator("li.call", has_text="Test call").first).to_contain_text("answered")
        assert serious(page) == []
    finally:
        context.close()


def test_without_the_script_every_action_is_a_plain_form_post(browser: Browser,
                                                              site: tuple[str, TwilioStandin]) -> None:
    url, _ = site
    context = browser.new_context(java_script_enabled=False, viewport={"width": 393, "height": 851})
    page = context.new_page()
    try:
        page.goto(url + "/login")
        page.get_by_label("API token").fill(API_TOKEN)
        page.get_by_role("button", name="Sign in").click()
        form = page.locator("form.alarm-form")
        form.get_by_label("Time", exact=True).fill("06:00")
        form.get_by_label("Ring time", exact=True).fill("2")
        form.get_by_role("button", name="Add alarm").click()
        expect(page.locator("#e-ring_seconds")).to_have_text("Ring_seconds must be from 5 to 600, not 2.")
        page.get_by_label("Ring time", exact=True).fill("30")
        page.get_by_label("Name", exact=True).fill("no script")
        page.locator("form.alarm-form").get_by_role("button", name="Add alarm").click()
        page.locator("li.alarm", has_text="no script").get_by_role("button", name="Delete").click()
        expect(page.get_by_role("heading", name="Delete no script?")).to_be_visible()
        page.get_by_role("button", name="Confirm delete").click()
        expect(page.locator("li.alarm", has_text="no script")).to_have_count(0)
    finally:
        context.close()


def test_the_pages_only_a_plain_post_reaches_have_no_serious_accessibility_violation(
    browser: Browser, site: tuple[str, TwilioStandin]
) -> None:
    url, _ = site
    context = browser.new_context(viewport={"width": 393, "height": 851}, color_scheme="dark")
    page = context.new_page()
    try:
        sign_in(page, url)
        form = page.locator("form.alarm-form")
        form.get_by_label("Time", exact=True).fill("05:00")
        form.get_by_label("Ring time", exact=True).fill("1")
        form.get_by_role("button", name="Add alarm").click()
        expect(page.locator("#e-ring_seconds")).to_be_visible()
        assert serious(page) == []  # the form, with an error beside a field
        page.get_by_label("Ring time", exact=True).fill("")
        page.get_by_label("Name", exact=True).fill("axe")
        page.locator("form.alarm-form").get_by_role("button", name="Add alarm").click()
        item = page.locator("li.alarm", has_text="axe")
        item.get_by_role("link", name="Pause or skip days…").click()
        expect(page.get_by_role("heading", name="Pause axe")).to_be_visible()
        assert serious(page) == []
        back = (datetime.now(ZoneInfo("Europe/London")) + timedelta(days=40)).date()
        page.get_by_label("Back on").fill(back.isoformat())
        page.get_by_role("button", name="Pause", exact=True).click()
        expect(item.locator(".state")).to_have_text(re.compile(rf"^paused until \w{{3}} {back.day} {back:%b}"))
        # As without the script: the first press of Delete asks on a page of its own.
        item.locator("form[data-confirm]").evaluate("form => form.removeAttribute('data-confirm')")
        item.get_by_role("button", name="Delete").click()
        expect(page.get_by_role("button", name="Confirm delete")).to_be_visible()
        assert serious(page) == []
        page.get_by_role("button", name="Confirm delete").click()
        page.goto(url + "/alarms/999/edit")
        expect(page.get_by_role("alert")).to_have_text("There is no such page.")
        assert serious(page) == []
    finally:
        context.close()


def minutes_left(text: str) -> int:
    found = re.fullmatch(r"in (?:(\d+) d ?)?(?:(\d+) h ?)?(?:(\d+) min)?", text.strip())
    assert found, text
    days, hours, minutes = (int(g or 0) for g in found.groups())
    return (days * 24 + hours) * 60 + minutes


def test_the_countdown_stays_current_without_a_reload(browser: Browser, site: tuple[str, TwilioStandin]) -> None:
    url, _ = site
    context = browser.new_context(viewport={"width": 393, "height": 851}, timezone_id="Europe/London")
    page = context.new_page()
    page.clock.install()
    try:
        sign_in(page, url)
        soon = datetime.now(ZoneInfo("Europe/London")) + timedelta(hours=3)
        form = page.locator("form.alarm-form")
        form.get_by_label("Time", exact=True).fill(f"{soon:%H:%M}")
        form.get_by_label("Date", exact=True).fill(soon.date().isoformat())
        form.get_by_label("Name", exact=True).fill("countdown")
        form.get_by_role("button", name="Add alarm").click()
        countdown = page.locator("li.alarm", has_text="countdown").locator(".countdown")
        shown = countdown.inner_text()
        before = minutes_left(shown)
        assert 178 <= before <= 181
        page.evaluate("window.notReloaded = true")
        page.clock.fast_forward("01:00:00")
        expect(countdown).not_to_have_text(shown)
        assert 59 <= before - minutes_left(countdown.inner_text()) <= 61
        assert page.evaluate("window.notReloaded === true")
        countdown.locator("xpath=ancestor::li").get_by_role("button", name="Delete").click()
        page.get_by_role("button", name="Confirm delete").click()
    finally:
        context.close()
