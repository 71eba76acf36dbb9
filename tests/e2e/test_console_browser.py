"""The console in headless Chromium against the whole running stack, as its users meet it.

Mosquitto, the gateway, the rules engine, the API + console and the office simulators all run
for real. A manager watches live values change, opens an asset; a requester reports a problem
from a phone; the manager dispatches it; a technician (in Chinese, on a phone) starts and
resolves it; the requester confirms and rates it. Screenshots land in ``tests/artifacts/``.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    expect,
    sync_playwright,
)

from facility.core.wait import wait_until
from tests.e2e.conftest import (
    ARTIFACTS,
    CHROMIUM_ARGS,
    CONSOLE_PASSWORD,
    LiveStack,
    chromium_path,
)

DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "console.png"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

#: WCAG AA: normal text needs 4.5:1 against its background.
MIN_CONTRAST = 4.5

CONTRAST_JS = """
() => {
  function rgb(text) { return text.match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(Number); }
  function lum(c) {
    const [r, g, b] = c.map(v => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  }
  const out = {};
  for (const health of ["ok", "warning", "critical", "unknown"]) {
    const el = document.createElement("span");
    el.className = "badge health-" + health;
    el.textContent = health;
    document.body.appendChild(el);
    const style = getComputedStyle(el);
    const a = lum(rgb(style.color)), b = lum(rgb(style.backgroundColor));
    out[health] = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    el.remove();
  }
  return out;
}
"""

UNLABELLED_JS = """
() => Array.from(document.querySelectorAll("input, select, textarea"))
  .filter(el => el.type !== "hidden")
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute("aria-label"))
  .map(el => el.outerHTML)
"""


@pytest.fixture
def chromium() -> Iterator[Browser]:
    executable = chromium_path()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Errors:
    """Every console error and uncaught exception of every page opened through it."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def watch(self, page: Page) -> Page:
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.messages.append(f"pageerror: {exc}"))
        return page

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.messages.append(f"{message.text} @ {message.location.get('url')}")


def _context(browser: Browser, *, phone: bool, locale: str = "en-GB") -> BrowserContext:
    viewport = PHONE if phone else DESKTOP
    return browser.new_context(
        viewport=viewport,
        locale=locale,
        extra_http_headers={"Accept-Language": locale},
        is_mobile=phone,
        has_touch=phone,
    )


def _log_in(page: Page, url: str, username: str, *, user_label: str = "User name") -> None:
    page.goto(f"{url}/console/")
    expect(page).to_have_url(re.compile(r"/console/login\?next="))
    page.get_by_label(user_label).fill(username)
    page.locator("#password").fill(CONSOLE_PASSWORD)
    page.locator("#password").press("Enter")
    expect(page.locator("h1")).not_to_have_text(re.compile("Log in|登录"))


def _shot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def test_users_run_the_service_loop_in_a_real_browser_with_live_values(
    live_stack: LiveStack, chromium: Browser
) -> None:
    errors = Errors()
    url = live_stack.url

    # -- a manager watches the overview; values change without a reload ------------------------
    manager = errors.watch(_context(chromium, phone=False).new_page())
    _log_in(manager, url, "manager")
    expect(manager.locator("h1")).to_have_text("Facility overview")
    live = manager.locator('[data-live="room-101|temperature"]')
    expect(live).to_be_visible(timeout=30_000)
    first = live.inner_text()
    manager.wait_for_function(
        """([selector, first]) => {
             const el = document.querySelector(selector);
             return el && el.textContent !== first
               && Number(document.body.dataset.liveUpdates || 0) >= 2;
           }""",
        arg=['[data-live="room-101|temperature"]', first],
        timeout=60_000,
    )
    assert live.inner_text() != first
    expect(manager.locator("#live-indicator")).to_have_text("Live")
    contrast = manager.evaluate(CONTRAST_JS)
    assert all(ratio >= MIN_CONTRAST for ratio in contrast.values()), contrast
    assert manager.evaluate(UNLABELLED_JS) == []
    _shot(manager, "console-overview-start")

    # -- the asset page shows the history chart ---------------------------------------------------
    manager.get_by_role("link", name=re.compile("AHU-1")).first.click()
    expect(manager.locator("h1")).to_contain_text("AHU-1")
    expect(manager.locator("svg.chart").first).to_be_visible()
    assert manager.locator("svg.chart polyline").count() >= 1
    _shot(manager, "console-asset")

    # -- a requester reports a problem from a phone -----------------------------------------------
    requester = errors.watch(_context(chromium, phone=True).new_page())
    _log_in(requester, url, "requester")
    requester.locator(".menu-button").click()  # on a phone the menu is folded
    requester.get_by_role("link", name="Report a problem").first.click()
    requester.get_by_label("Asset").select_option(label="Room-101")
    requester.get_by_label("What is wrong?").fill("Meeting room 101 is too warm")
    requester.get_by_label("Details (optional)").fill("About 28 °C since the morning.")
    assert requester.evaluate(UNLABELLED_JS) == []
    requester.get_by_role("button", name="Send report").click()
    expect(requester.locator(".notice")).to_contain_text("your report was received")
    card = requester.locator("article.order", has_text="Meeting room 101 is too warm")
    expect(card).to_be_visible()
    order_id = card.get_attribute("data-order")
    assert order_id
    _shot(requester, "console-requests-phone")

    # -- the manager dispatches it from the board (keyboard only) ---------------------------------
    manager.goto(f"{url}/console/board")
    board_card = manager.locator(f'article[data-order="{order_id}"]')
    expect(board_card).to_be_visible()
    _shot(manager, "console-board")
    wait_until(
        lambda: manager.reload() and manager.locator("#board article.order").count() >= 2,
        timeout_s=60,
        what="the rule's work order and the request both on the board",
    )
    first_link = manager.locator("#board article.order h3 a").first
    first_link.focus()
    start = manager.evaluate("document.activeElement.closest('article.order').dataset.order")
    manager.keyboard.press("ArrowRight")
    moved = manager.evaluate("document.activeElement.closest('article.order')?.dataset.order")
    assert moved and moved != start, "ArrowRight moves to the next column's card"
    manager.keyboard.press("ArrowLeft")
    back = manager.evaluate("document.activeElement.closest('article.order')?.dataset.order")
    assert back == start, "ArrowLeft comes back"
    manager.goto(f"{url}/console/orders/{order_id}")
    manager.get_by_label("Assign to").select_option("tech")
    manager.locator('button[data-action="assign"]').focus()
    manager.keyboard.press("Enter")
    expect(manager.locator(".notice")).to_have_text("The work order was updated.")
    expect(manager.locator("#order-status")).to_have_text("Assigned")
    _shot(manager, "console-order")

    # -- a technician works it on a phone, in Chinese ---------------------------------------------
    tech = errors.watch(_context(chromium, phone=True, locale="zh-CN").new_page())
    _log_in(tech, url, "tech", user_label="用户名")
    tech.goto(f"{url}/console/my")
    expect(tech.locator("h1")).to_have_text("我的工单")
    tech_card = tech.locator(f'article[data-order="{order_id}"]')
    tech_card.locator('button[data-action="start"]').click()
    expect(tech.locator(".notice")).to_have_text("工单已更新。")
    tech.locator(f'article[data-order="{order_id}"] button[data-action="resolve"]').click()
    expect(tech.locator(".notice")).to_be_visible()
    tech.goto(f"{url}/console/orders/{order_id}")
    expect(tech.locator("#order-status")).to_have_text("已修复")
    _shot(tech, "console-tech-phone-zh")

    # -- the requester confirms the fix and rates it -----------------------------------------------
    requester.goto(f"{url}/console/orders/{order_id}")
    requester.locator('button[data-action="verify"]').click()
    expect(requester.locator("#order-status")).to_have_text("Verified")
    requester.get_by_label("4").check()
    requester.get_by_label("Comment (optional)").fill("Fixed the same day, thanks")
    requester.get_by_role("button", name="Send rating").click()
    expect(requester.locator("#order-rating")).to_have_text("4 of 5")
    _shot(requester, "console-rated-phone")

    # -- the overview now shows the work in flight: the README's screenshot ----------------------
    manager.goto(f"{url}/console/")
    manager.wait_for_function("() => Number(document.body.dataset.liveUpdates || 0) >= 1")
    overview = _shot(manager, "console-overview")
    DOCS_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(overview, DOCS_SCREENSHOT)

    for page in (manager, requester, tech):
        page.context.close()
    assert errors.messages == []
