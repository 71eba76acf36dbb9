"""Every console page, in English and Simplified Chinese, served by a real HTTP server."""

from __future__ import annotations

import re
import threading
from html.parser import HTMLParser

import httpx
import pytest

from console import _render as _app
from console import sign_link
from console._i18n import Localizer
from facility.core.wait import wait_until
from maintenance.shared.vocabulary import Priority
from maintenance.work_orders.models import WorkOrderSource
from maintenance.work_orders.service import create_work_order
from tests.e2e.conftest import SECRET, ConsoleServer
from tests.e2e.console_client import browser, form_token, log_in

LANGUAGES = {"en": "en-GB,en;q=0.9", "zh-Hans": "zh-CN,zh;q=0.9,en;q=0.5"}


class _Tags(HTMLParser):
    """Collects the form controls and labels of a page (for the accessibility checks)."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict[str, str | None]] = []
        self.label_for: set[str] = set()
        self.label_depth = 0
        self.html_lang: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "html":
            self.html_lang = values.get("lang")
        if tag == "label":
            self.label_depth += 1
            if values.get("for"):
                self.label_for.add(str(values["for"]))
        if tag in ("input", "select", "textarea") and values.get("type") != "hidden":
            self.controls.append({**values, "_wrapped": "1" if self.label_depth else None})

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.label_depth -= 1


def _pages(server: ConsoleServer, order_id: int) -> list[tuple[str, str]]:
    ahu = server.asset_ids["AHU-1"]
    return [
        ("manager", "/console/"),
        ("manager", f"/console/assets/{ahu}"),
        ("manager", "/console/board"),
        ("manager", "/console/board?status=new&priority=P2&assignee=-"),
        ("manager", f"/console/orders/{order_id}"),
        ("tech", "/console/my"),
        ("requester", "/console/report"),
        ("requester", "/console/requests"),
        ("requester", f"/console/orders/{order_id}"),
        ("anonymous", "/console/login"),
        ("anonymous", f"/console/r/{sign_link(secret=SECRET, asset_id=ahu)}"),
        ("anonymous", "/console/r/forged"),
        ("manager", "/console/assets/999999"),
    ]


@pytest.fixture
def order_id(console_server: ConsoleServer) -> int:
    with console_server.sessions() as session:
        order, _ = create_work_order(
            session,
            title="Radiator is cold",
            actor="requester",
            priority=Priority.P2,
            asset_code="AHU-1",
            source=WorkOrderSource.REQUEST,
        )
        return order.id


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_every_page_renders_in_both_languages_with_no_untranslated_key(
    console_server: ConsoleServer,
    order_id: int,
    language: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    missing: set[str] = set()
    real_localizer = _app.localizer

    def recording_localizer(tag: str) -> Localizer:
        loc = real_localizer(tag)
        return Localizer(loc.language, loc.translations, loc.known, missing)

    monkeypatch.setattr(_app, "localizer", recording_localizer)
    clients: dict[str, httpx.Client] = {}
    for role in ("manager", "tech", "requester", "anonymous"):
        clients[role] = browser(console_server.url, LANGUAGES[language])
        if role != "anonymous":
            log_in(clients[role], role)
    for role, path in _pages(console_server, order_id):
        response = clients[role].get(path)
        assert response.status_code in (200, 404), (path, response.status_code)
        assert response.headers["content-language"] == language
        parser = _Tags()
        parser.feed(response.text)
        assert parser.html_lang == language
        if language == "zh-Hans" and path == "/console/":
            assert "设施总览" in response.text
    link = f"/console/r/{sign_link(secret=SECRET, asset_id=console_server.asset_ids['AHU-1'])}"
    anonymous = clients["anonymous"]
    thanks = anonymous.post(link, data={"csrf": form_token(anonymous, link), "title": "Leak"})
    assert thanks.status_code == 201
    assert thanks.headers["content-language"] == language
    assert missing == set(), f"untranslated keys in {language}: {sorted(missing)}"


def test_accept_language_picks_chinese_and_the_cookie_choice_overrides_it(
    console_server: ConsoleServer,
) -> None:
    client = browser(console_server.url, "zh-CN,zh;q=0.9")
    assert "登录" in client.get("/console/login").text
    token = form_token(client, "/console/login")
    response = client.post(
        "/console/language", data={"csrf": token, "language": "en", "back": "/console/login"}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/console/login"
    page = client.get("/console/login").text
    assert "Log in" in page and "登录" not in page.split("</select>")[1]


def test_dates_and_numbers_follow_the_locale(console_server: ConsoleServer, order_id: int) -> None:
    pages = {}
    for language, header in LANGUAGES.items():
        client = browser(console_server.url, header)
        log_in(client, "manager")
        pages[language] = client.get(f"/console/orders/{order_id}").text
    assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日", pages["zh-Hans"])
    assert re.search(r"[A-Z][a-z]{2} \d{1,2}, \d{4}|\d{1,2} [A-Z][a-z]{2} \d{4}", pages["en"])


def test_every_form_field_has_a_label(console_server: ConsoleServer, order_id: int) -> None:
    client = browser(console_server.url)
    log_in(client, "manager")
    for path in ("/console/", "/console/board", f"/console/orders/{order_id}", "/console/report"):
        parser = _Tags()
        parser.feed(client.get(path).text)
        for control in parser.controls:
            labelled = (
                control.get("_wrapped")
                or control.get("aria-label")
                or (control.get("id") and control["id"] in parser.label_for)
            )
            assert labelled, f"unlabelled {control} on {path}"


def test_pages_need_a_session_and_redirect_to_log_in(console_server: ConsoleServer) -> None:
    client = browser(console_server.url)
    for path in ("/console/", "/console/board", "/console/my", "/console/requests"):
        response = client.get(path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/console/login?next=")
    assert client.get("/console/stream").status_code == 401
    assert client.get("/", follow_redirects=False).headers["location"] == "/console/"


def test_a_forged_or_expired_session_cookie_is_treated_as_logged_out(
    console_server: ConsoleServer,
) -> None:
    for value in ("garbage", "a.b.c", "x" * 5000):
        client = browser(console_server.url)
        client.cookies.set("facility_session", value)
        assert client.get("/console/").status_code == 303


def test_requesters_cannot_open_the_board_or_other_peoples_orders(
    console_server: ConsoleServer,
) -> None:
    with console_server.sessions() as session:
        order, _ = create_work_order(
            session, title="Someone else's", actor="manager", asset_code="AHU-1"
        )
    client = browser(console_server.url)
    log_in(client, "requester")
    assert client.get("/console/board").status_code == 403
    assert client.get("/console/my").status_code == 403
    assert client.get(f"/console/orders/{order.id}").status_code == 404


def test_the_asset_page_draws_a_chart_of_recent_history(console_server: ConsoleServer) -> None:
    client = browser(console_server.url)
    log_in(client, "tech")
    page = client.get(f"/console/assets/{console_server.asset_ids['AHU-1']}").text
    svg = re.search(r'<svg class="chart".*?</svg>', page, re.S)
    assert svg, "no chart on the asset page"
    points = re.search(r'points="([^"]+)"', svg.group(0))
    assert points and len(points.group(1).split()) == 120
    assert svg.group(0).count('class="grid"') >= 4, "round ticks with grid lines, not min/max"


@pytest.mark.parametrize("chosen", ["6h", "24h", "bogus"])
def test_the_asset_page_offers_time_ranges_and_ignores_an_unknown_one(
    console_server: ConsoleServer, chosen: str
) -> None:
    client = browser(console_server.url)
    log_in(client, "tech")
    response = client.get(
        f"/console/assets/{console_server.asset_ids['AHU-1']}", params={"range": chosen}
    )
    assert response.status_code == 200
    current = re.search(r'<a href="\?range=(\w+)" aria-current="page">', response.text)
    assert current and current.group(1) == (chosen if chosen != "bogus" else "1h")
    assert '<svg class="chart"' in response.text


def test_the_live_stream_sends_current_values_as_server_sent_events(
    console_server: ConsoleServer,
) -> None:
    client = browser(console_server.url)
    log_in(client, "manager")
    with client.stream("GET", "/console/stream") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [line for line in response.iter_lines() if line.startswith("data: ")]
    assert events, "the stream ended without an event"
    assert '"room-101"' in events[0] and "22.5" in events[0]


def test_an_open_live_stream_ends_promptly_when_the_process_stops(
    console_server: ConsoleServer,
) -> None:
    console_server.state.stream_max_s = 60.0
    client = browser(console_server.url)
    log_in(client, "manager")
    events: list[str] = []
    finished = threading.Event()

    def read() -> None:
        with client.stream("GET", "/console/stream") as response:
            for line in response.iter_lines():
                if line.startswith("data: "):
                    events.append(line)
        finished.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    wait_until(lambda: events, timeout_s=10, what="the first live event")
    console_server.state.stop.set()
    wait_until(finished.is_set, timeout_s=5, what="the stream to end after stop")


@pytest.mark.parametrize(("lang", "words"), [("en", "no such page"), ("zh-Hans", "没有这个页面")])
def test_an_unknown_console_address_gets_the_consoles_own_404_page(
    console_server: ConsoleServer, lang: str, words: str
) -> None:
    client = browser(console_server.url)
    log_in(client, "tech")
    response = client.get("/console/no/such/page", params={"lang": lang})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert words in response.text and 'href="/console/"' in response.text
    anonymous = browser(console_server.url).get("/console/orders/x/y/z")
    assert anonymous.status_code == 404 and "<html" in anonymous.text
    assert browser(console_server.url).get("/api/v1/no-such-route").status_code in (401, 404)


def test_the_board_searches_marks_overdue_orders_and_counts_down_their_deadlines(
    console_server: ConsoleServer,
) -> None:
    from datetime import UTC, datetime, timedelta

    with console_server.sessions() as session:
        late, _ = create_work_order(
            session,
            title="Chiller is noisy",
            actor="manager",
            priority=Priority.P2,
            location="Plant room B2",
            now=datetime.now(UTC) - timedelta(days=10),
        )
        fresh, _ = create_work_order(
            session, title="Lamp flickers", actor="manager", asset_code="AHU-1"
        )
        session.commit()
        late_id, fresh_id = late.id, fresh.id
    client = browser(console_server.url)
    log_in(client, "manager")

    def shown(**params: str) -> set[int]:
        page = client.get("/console/board", params=params)
        assert page.status_code == 200
        return {
            int(n)
            for n in re.findall(r'<article class="order[^"]*"[^>]*data-order="(\d+)"', page.text)
        }

    assert late_id in shown(q="plant room") and fresh_id not in shown(q="plant room")
    assert fresh_id in shown(q="ahu-1") and late_id not in shown(q="ahu-1"), "the asset's code"
    assert shown(q="100%_") == set(), "LIKE wildcards typed by a user match themselves"
    assert late_id in shown(overdue="1") and fresh_id not in shown(overdue="1")
    board = client.get("/console/board").text
    card = board[board.index(f'data-order="{late_id}"') :]
    card = card[: card.index("</article>")]
    assert 'data-sla="overdue"' in card and "Respond by" in card and "ago" in card
    fresh_card = board[board.index(f'data-order="{fresh_id}"') :]
    fresh_card = fresh_card[: fresh_card.index("</article>")]
    assert 'data-countdown="' in fresh_card and 'data-sla="overdue"' not in fresh_card
    zh = client.get("/console/board", params={"lang": "zh-Hans", "overdue": "1"}).text
    assert "已逾期" in zh and "前" in zh


def test_an_open_board_shows_a_new_order_without_a_reload(console_server: ConsoleServer) -> None:
    from playwright.sync_api import expect, sync_playwright

    from tests.e2e.conftest import CHROMIUM_ARGS, CONSOLE_PASSWORD, chromium_path

    console_server.state.board_refresh_s = 1.0
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        page = chromium.new_context(viewport={"width": 1280, "height": 900}).new_page()
        page.set_default_timeout(60_000)
        page.goto(f"{console_server.url}/console/login?next=/console/board")
        page.locator("#username").fill("manager")
        page.locator("#password").fill(CONSOLE_PASSWORD)
        page.locator("#password").press("Enter")
        page.wait_for_url("**/console/board")
        with console_server.sessions() as session:
            order, _ = create_work_order(session, title="Door closer broken", actor="manager")
            session.commit()
            new_id = order.id
        expect(page.locator(f'article[data-order="{new_id}"]')).to_be_visible(timeout=60_000)
        assert int(page.locator("body").get_attribute("data-board-refreshes") or 0) >= 1
        chromium.close()


def test_a_technician_sees_on_the_asset_page_only_the_orders_they_may_read(
    console_server: ConsoleServer,
) -> None:
    with console_server.sessions() as session:
        hidden, _ = create_work_order(
            session, title="Compressor swap, other crew", actor="manager", asset_code="AHU-1"
        )
        hidden.assignee = "someone-else"  # another technician, not tech's team: not readable
        session.commit()
        hidden_id = hidden.id
    page = f"/console/assets/{console_server.asset_ids['AHU-1']}"
    manager = browser(console_server.url)
    log_in(manager, "manager")
    assert "Compressor swap, other crew" in manager.get(page).text
    tech = browser(console_server.url)
    log_in(tech, "tech")
    html = tech.get(page).text
    assert "Compressor swap, other crew" not in html
    assert f"/console/orders/{hidden_id}" not in html
