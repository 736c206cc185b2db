"""The Mini App in a real browser: headless Chromium (Debian's `chromium` package, driven by
Playwright; no browser is downloaded) opens each page with initData signed as Telegram signs it,
against the seeded database of tests/miniapp_seed.py. Telegram's telegram-web-app.js is served from
tests/data (a stand-in), and every other request off this machine is refused.

Without Chromium or Playwright these tests skip with the reason; CI sets REQUIRE_BROWSER=1, which
turns the skip into a failure. MINIAPP_SCREENSHOTS=<folder> keeps a screenshot of each page there
(that is how docs/miniapp-*.png are made)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import pytest

from bot.demo.fake_telegram import FakeBotApi
from tests.conftest import FakeClock
from tests.miniapp_seed import COACH, EXPECTED_FUNNEL, LEARNER, OPERATOR
from tests.miniapp_server import Served, serve_mini_app

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
TELEGRAM_SCRIPT = "https://telegram.org/js/telegram-web-app.js"
STUB = Path(__file__).parent / "data" / "telegram-web-app-stub.js"
PHONE = {"width": 390, "height": 844}


def _playwright_or_skip():
    """Playwright's async API, or a skip (a failure under REQUIRE_BROWSER) saying what is missing."""
    missing = None
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        missing = "the browser tests need Playwright (pip install -e '.[dev]')"
    if missing is None and not CHROMIUM.exists():
        missing = f"the browser tests need Chromium at {CHROMIUM} (apt-get install chromium)"
    if missing is not None:
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(f"REQUIRE_BROWSER is set but {missing}")
        pytest.skip(missing)
    return async_playwright


class Browser:
    """One phone-sized Chromium tab per page opened; console errors collected from every one."""

    def __init__(self, browser, served: Served, shots: Path | None) -> None:
        self.browser = browser
        self.served = served
        self.shots = shots
        self.errors: list[str] = []

    async def open(self, path: str, user_id: int | None, name: str = "Someone"):
        context = await self.browser.new_context(viewport=PHONE, locale="en-GB", timezone_id="Europe/Berlin")
        await context.route("**/*", _only_this_machine)
        await context.route(TELEGRAM_SCRIPT, lambda route: route.fulfill(path=STUB, content_type="text/javascript"))
        page = await context.new_page()
        page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        fragment = "" if user_id is None else "#tgWebAppData=" + quote(self.served.signed(user_id, name), safe="")
        await page.goto(self.served.url + path + fragment + ("&tgWebAppVersion=8.0" if fragment else ""))
        return page

    async def screenshot(self, page, name: str) -> None:
        if self.shots is not None:
            self.shots.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(self.shots / f"miniapp-{name}.png"), full_page=True)


async def _only_this_machine(route) -> None:
    if route.request.url.startswith("http://127.0.0.1:"):
        await route.continue_()
    else:
        await route.abort()


@pytest.fixture
async def browser(telegram: FakeBotApi, sqlite_url: str, clock: FakeClock) -> AsyncIterator[Browser]:
    async_playwright = _playwright_or_skip()
    served = await serve_mini_app(telegram, sqlite_url, clock)
    shots = os.environ.get("MINIAPP_SCREENSHOTS")
    try:
        async with async_playwright() as playwright:
            chromium = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
            try:
                yield Browser(chromium, served, Path(shots) if shots else None)
            finally:
                await chromium.close()
    finally:
        await served.stop()


async def test_the_learner_sees_their_checkins_and_taps_a_point_of_their_chart(
    browser: Browser, telegram: FakeBotApi
) -> None:
    page = await browser.open("", LEARNER, "Alex")
    await page.wait_for_selector("#progress-chart canvas")
    assert "Day 3 of 7" in await page.inner_text("#course")
    assert "Next: day 4" in await page.inner_text("#next-lesson")
    assert await page.locator("#checkins li").count() == 3
    assert "partly helped" in await page.inner_text("#checkins")
    x, y = await page.evaluate(
        """() => {
            const plot = document.getElementById("progress-chart").chart;
            const box = plot.over.getBoundingClientRect();
            const x = Math.min(plot.valToPos(plot.data[0][2], "x"), box.width - 2);
            return [box.left + x, box.top + plot.valToPos(plot.data[1][2], "y")];
        }"""
    )
    await page.mouse.click(x, y)
    session = await page.inner_text("#session")
    assert "3 × 12 at 20 kg" in session and "Felt clean" in session
    await browser.screenshot(page, "learner")

    await page.fill("#set-time", "18:30")
    await page.click("#save")
    await page.locator("#settings-note", has_text="Saved").wait_for()
    assert "Saved" in telegram.messages_to(LEARNER)[-1]["text"]
    assert await page.input_value("#set-time") == "18:30"
    assert browser.errors == []


async def test_the_coach_sees_the_funnel_with_the_right_numbers(browser: Browser) -> None:
    page = await browser.open("coach?chat=-100500", COACH, "Kim")
    await page.wait_for_selector("#trend-chart canvas")
    rows = await page.eval_on_selector_all(
        "#funnel tbody tr", "rows => rows.map(row => [...row.cells].map(cell => Number(cell.textContent)))"
    )
    keys = ["day", "sent", "answered", "clean", "lower_back", "other_faults", "red_flags"]
    assert rows == [[row[key] for key in keys] for row in EXPECTED_FUNNEL]
    attention = await page.inner_text("#attention")
    assert "Cal: red flag on day 2" in attention and "Eve: silent for the last 3 lessons" in attention
    await browser.screenshot(page, "coach")
    assert browser.errors == []


async def test_a_member_opening_the_coach_page_is_refused(browser: Browser) -> None:
    page = await browser.open("coach?chat=-100500", 3001, "Bea")
    await page.wait_for_selector("#refused")
    assert await page.inner_text("#refused") == "This page is for the group's admins."
    assert await page.locator("#funnel").count() == 0


async def test_a_page_opened_outside_telegram_is_refused(browser: Browser) -> None:
    page = await browser.open("", None)
    await page.wait_for_selector("#refused")
    assert "Open this page from the bot" in await page.inner_text("#refused")
    assert browser.errors == []


async def test_the_operator_sees_every_cohort_and_what_advice_did(browser: Browser) -> None:
    page = await browser.open("operator", OPERATOR, "Op")
    await page.wait_for_selector("#cohort-chart canvas")
    assert "Group: Tuesday Runners" in await page.inner_text("#cohorts")
    assert "kinda in my sacrum?" in await page.inner_text("#unread")
    assert await page.locator("#outcomes tbody tr").count() >= 3
    await browser.screenshot(page, "operator")
    assert browser.errors == []
