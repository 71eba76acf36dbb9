"""An order's checklist and its cancellation through the console forms, over real HTTP.

A technician records each checklist item on the order page (pass/fail, a measurement against its
limits, a note) and resolves the order; a missing required item is explained in the page's
language with links to the items, not with the service's English reason. Cancelling is its own
confirmation step, and its required reason is the transition's note in the audit trail. Last, a
phone-sized Chromium checks the order page with a checklist is no wider than the screen.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx
import pytest
import sqlalchemy as sa

from facility.core.types import Presence, Reading
from maintenance.shared.vocabulary import Role
from maintenance.work_orders import service
from maintenance.work_orders.checklists import create_template
from maintenance.work_orders.models import ChecklistItem, WorkOrder, WorkOrderStatus
from tests.e2e.conftest import ConsoleServer
from tests.e2e.console_client import browser, csrf_of, log_in

ZH = "zh-CN,zh;q=0.9"
ITEMS = [
    {"label": "Belt tension checked", "kind": "pass_fail", "required": True},
    {"label": "Supply air temperature", "kind": "number", "required": True, "min": 12, "max": 18},
    {"label": "Remarks", "kind": "text", "required": False},
]


def _order_with_checklist(server: ConsoleServer, *, start: bool = True) -> tuple[int, list[int]]:
    """An order on AHU-1 with the three items above, assigned to ``tech`` (and started)."""
    with server.sessions() as session:
        create_template(session, name="AHU service", items=ITEMS)
        order, _ = service.create_work_order(
            session, title="Service the air handler", actor="manager", asset_code="AHU-1"
        )
        order_id = order.id
        actions = ["assign", "start"] if start else ["assign"]
        for action in actions:
            service.transition(
                session,
                work_order_id=order_id,
                action=action,
                actor="manager",
                role=Role.MANAGER,
                assignee="tech" if action == "assign" else None,
            )
        item_ids = [i.id for i in service.get_work_order(session, work_order_id=order_id).checklist]
    return order_id, item_ids


def _order(server: ConsoleServer, order_id: int) -> WorkOrder:
    with server.sessions() as session:
        return service.get_work_order(session, work_order_id=order_id)


def _items(server: ConsoleServer, order_id: int) -> list[ChecklistItem]:
    with server.sessions() as session:
        query = sa.select(ChecklistItem).where(ChecklistItem.work_order_id == order_id)
        return list(session.scalars(query.order_by(ChecklistItem.position)))


def _client(server: ConsoleServer, role: str, language: str = ZH) -> httpx.Client:
    client = browser(server.url, language)
    log_in(client, role)
    return client


def _record(
    client: httpx.Client, order_id: int, item_id: int, value: str, *, csrf: str | None = None
) -> httpx.Response:
    page = client.get(f"/console/orders/{order_id}")
    form = {"csrf": csrf_of(page.text) if csrf is None else csrf, "value": value}
    return client.post(f"/console/orders/{order_id}/checklist/{item_id}", data=form)


def _act(client: httpx.Client, order_id: int, **form: str) -> httpx.Response:
    token = csrf_of(client.get(f"/console/orders/{order_id}").text)
    back = f"/console/orders/{order_id}"
    return client.post(f"{back}/act", data={"csrf": token, "back": back, **form})


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# -- the checklist --------------------------------------------------------------------------------
def test_a_technician_records_every_required_item_and_resolves_the_order_in_chinese(
    console_server: ConsoleServer,
) -> None:
    order_id, (belt, supply, remarks) = _order_with_checklist(console_server)
    tech = _client(console_server, "tech")
    page = tech.get(f"/console/orders/{order_id}").text
    assert "检查清单" in page and "已完成 0 / 3" in page
    assert page.count('class="badge required">必填') == 2 and "选填" in page
    assert "范围 12\N{EN DASH}18" in page, "the measurement shows its limits"
    assert 'aria-describedby="resolve-missing"' in page
    for item in (belt, supply):
        assert f'<a href="#item-{item}">' in page, "the resolve hint links to each missing item"
    assert f'<a href="#item-{remarks}">' not in page, "an optional item does not block resolving"

    answer = _record(tech, order_id, belt, "pass")
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/console/orders/{order_id}?notice=recorded#item-{belt}"
    assert _record(tech, order_id, supply, "15.5").status_code == 303
    assert (
        _record(tech, order_id, remarks, "Belt <b>worn</b>, replace next visit").status_code == 303
    )

    page = tech.get(f"/console/orders/{order_id}?notice=recorded").text
    assert "检查项已记录。" in page and "已完成 3 / 3" in page
    assert re.search(rf'id="item-{belt}-result">\s*<span class="badge outcome-pass">合格', page)
    assert re.search(rf'id="item-{supply}-result">.*?15\.5</span>', page, re.S)
    assert "Belt &lt;b&gt;worn&lt;/b&gt;" in page, "a note is shown as text, never as markup"
    assert 'id="resolve-missing"' not in page

    assert _act(tech, order_id, action="resolve").status_code == 303
    assert _order(console_server, order_id).status is WorkOrderStatus.RESOLVED
    recorded = {i.label: (i.value, i.outcome, i.done_by) for i in _items(console_server, order_id)}
    assert recorded == {
        "Belt tension checked": ("pass", "pass", "tech"),
        "Supply air temperature": ("15.5", "pass", "tech"),
        "Remarks": ("Belt <b>worn</b>, replace next visit", "pass", "tech"),
    }


def test_resolving_with_a_required_item_missing_explains_which_in_chinese_and_links_to_it(
    console_server: ConsoleServer,
) -> None:
    order_id, (belt, supply, _remarks) = _order_with_checklist(console_server)
    tech = _client(console_server, "tech")
    assert _record(tech, order_id, belt, "fail").status_code == 303
    answer = _act(tech, order_id, action="resolve")
    assert answer.status_code == 422
    text = _text(answer.text)
    assert "工单未能标记为已修复。 请先记录以下必填检查项" in text
    assert 'id="resolve-missing" class="problem" role="alert"' in answer.text
    assert f'<a href="#item-{supply}">Supply air temperature</a>' in answer.text
    assert f'<a href="#item-{belt}">' not in answer.text, "a failed item is recorded, not missing"
    assert "complete the required checklist items" not in answer.text
    assert _order(console_server, order_id).status is WorkOrderStatus.IN_PROGRESS


def test_a_measurement_outside_its_limits_fails_and_a_non_number_is_refused_in_chinese(
    console_server: ConsoleServer,
) -> None:
    order_id, (_belt, supply, _remarks) = _order_with_checklist(console_server)
    tech = _client(console_server, "tech")
    for value in ("warm", "nan", "1e999", ""):
        answer = _record(tech, order_id, supply, value)
        assert answer.status_code in (400, 422), value
        assert "请用数字填写测量值" in answer.text, value
        assert 'aria-invalid="true"' in answer.text
    assert _record(tech, order_id, 999_999, "15").status_code == 404
    assert _items(console_server, order_id)[1].outcome is None, "nothing was recorded"
    assert _record(tech, order_id, supply, "21,5").status_code == 303
    item = _items(console_server, order_id)[1]
    assert (item.value, item.outcome) == ("21.5", "fail")
    page = tech.get(f"/console/orders/{order_id}").text
    assert re.search(rf'id="item-{supply}-result">\s*<span class="badge outcome-fail">不合格', page)


def test_only_who_may_work_the_order_records_items_and_only_while_it_is_in_progress(
    console_server: ConsoleServer,
) -> None:
    order_id, (belt, _supply, _remarks) = _order_with_checklist(console_server, start=False)
    requester = _client(console_server, "requester", "en")
    token = csrf_of(requester.get("/console/report").text)
    assert _record(requester, order_id, belt, "pass", csrf=token).status_code == 404
    tech = _client(console_server, "tech")
    page = tech.get(f"/console/orders/{order_id}").text
    assert "检查清单" in page and "/checklist/" not in page, "no forms before the work starts"
    answer = _record(tech, order_id, belt, "pass")
    assert answer.status_code == 409
    assert "检查项在工单处理中时才能记录" in answer.text
    assert _record(tech, order_id, belt, "pass", csrf="0" * 40).status_code == 403
    assert all(i.outcome is None for i in _items(console_server, order_id))


# -- cancelling -----------------------------------------------------------------------------------
def test_cancel_is_a_separate_destructive_step_named_in_chinese(
    console_server: ConsoleServer,
) -> None:
    order_id, _ = _order_with_checklist(console_server, start=False)
    manager = _client(console_server, "manager")
    page = manager.get(f"/console/orders/{order_id}").text
    next_step = page.split('id="act-title"')[1].split("</section>")[0]
    assert 'data-action="assign"' in next_step and "cancel" not in next_step
    assert re.search(
        rf'<a class="button danger" href="/console/orders/{order_id}/cancel"[^>]*>作废工单', page
    )
    assert "取消" not in _text(page)
    confirm = manager.get(f"/console/orders/{order_id}/cancel")
    assert confirm.status_code == 200
    assert '<textarea id="cancel-reason" name="reason"' in confirm.text
    assert "required" in confirm.text.split('id="cancel-reason"')[1].split(">")[0]
    assert '<button type="submit" class="danger" data-action="cancel">作废工单</button>' in (
        confirm.text
    )


@pytest.mark.parametrize("reason", ["", "   "])
def test_cancel_without_a_reason_is_refused_and_changes_nothing(
    console_server: ConsoleServer, reason: str
) -> None:
    order_id, _ = _order_with_checklist(console_server, start=False)
    manager = _client(console_server, "manager")
    token = csrf_of(manager.get(f"/console/orders/{order_id}/cancel").text)
    answer = manager.post(
        f"/console/orders/{order_id}/cancel", data={"csrf": token, "reason": reason}
    )
    assert answer.status_code == 400
    assert "请填写作废原因" in answer.text
    assert 'aria-invalid="true"' in answer.text
    assert _act(manager, order_id, action="cancel", note=reason).status_code == 400, (
        "the one-click form does not cancel without a reason either"
    )
    assert _order(console_server, order_id).status is WorkOrderStatus.ASSIGNED


def test_cancel_with_a_reason_cancels_and_records_the_reason_in_the_audit_trail(
    console_server: ConsoleServer,
) -> None:
    order_id, _ = _order_with_checklist(console_server, start=False)
    manager = _client(console_server, "manager")
    token = csrf_of(manager.get(f"/console/orders/{order_id}/cancel").text)
    reason = "Duplicate of the order raised by the BMS"
    answer = manager.post(
        f"/console/orders/{order_id}/cancel", data={"csrf": token, "reason": reason}
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/console/orders/{order_id}?notice=cancelled"
    order = _order(console_server, order_id)
    assert order.status is WorkOrderStatus.CANCELLED
    [event] = [e for e in order.events if e.kind == "cancel"]
    assert (event.actor, event.note, event.to_state) == ("manager", reason, "cancelled")
    page = manager.get(answer.headers["location"]).text
    assert "工单已作废。" in page and 'id="order-status">已作废' in page
    assert f"已作废: {reason}" in page
    assert manager.get(f"/console/orders/{order_id}/cancel").status_code == 409


def test_who_may_not_cancel_gets_no_confirmation_page_and_cannot_post_one(
    console_server: ConsoleServer,
) -> None:
    order_id, _ = _order_with_checklist(console_server, start=False)
    tech = _client(console_server, "tech", "en")
    assert "/cancel" not in tech.get(f"/console/orders/{order_id}").text
    assert tech.get(f"/console/orders/{order_id}/cancel").status_code == 403
    token = csrf_of(tech.get(f"/console/orders/{order_id}").text)
    answer = tech.post(
        f"/console/orders/{order_id}/cancel", data={"csrf": token, "reason": "not mine"}
    )
    assert answer.status_code == 403
    manager = _client(console_server, "manager", "en")
    answer = manager.post(f"/console/orders/{order_id}/cancel", data={"reason": "no token"})
    assert answer.status_code == 403
    assert _order(console_server, order_id).status is WorkOrderStatus.ASSIGNED


# -- words ----------------------------------------------------------------------------------------
def test_occupancy_reads_as_occupied_or_vacant_and_technicians_as_weixiu_shifu(
    console_server: ConsoleServer,
) -> None:
    now = datetime.now(UTC)
    reading = Reading("room-101", "occupancy", 1.0, "bool", now)
    console_server.readings.write([reading])
    console_server.states.record([reading], [Presence("room-101", True, now)])
    tech = _client(console_server, "tech")
    room = tech.get(f"/console/assets/{console_server.asset_ids['Room-101']}").text
    assert re.search(r"<dt>占用状态</dt><dd[^>]*>有人</dd>", room)
    assert "(维修师傅)" in tech.get("/console/my").text


# -- on a phone -----------------------------------------------------------------------------------
def test_the_order_page_with_a_checklist_fits_a_phone_without_horizontal_scroll(
    console_server: ConsoleServer,
) -> None:
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import ARTIFACTS, CHROMIUM_ARGS, CONSOLE_PASSWORD, chromium_path

    executable = chromium_path()
    order_id, (belt, supply, _remarks) = _order_with_checklist(console_server)
    with console_server.sessions() as session:  # a long unbroken label must wrap, not widen
        item = session.get(ChecklistItem, supply)
        assert item is not None
        item.label = "Supply-air-temperature-after-the-cooling-coil-measured-at-the-duct-probe"
        session.commit()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        context = chromium.new_context(
            viewport={"width": 390, "height": 844},
            locale="zh-CN",
            extra_http_headers={"Accept-Language": ZH},
            is_mobile=True,
            has_touch=True,
            java_script_enabled=False,
        )
        page = context.new_page()
        page.goto(f"{console_server.url}/console/login?next=/console/orders/{order_id}")
        page.locator("#username").fill("tech")
        page.locator("#password").fill(CONSOLE_PASSWORD)
        page.locator("#password").press("Enter")
        page.wait_for_url(f"**/console/orders/{order_id}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.locator(f'#item-{belt} button[data-result="pass"]').click()
        page.wait_for_url(f"**/console/orders/{order_id}?notice=recorded*")
        page.locator(f"#value-{supply}").fill("16")
        page.locator(f'#item-{supply} button[data-result="record"]').click()
        page.wait_for_url(f"**/console/orders/{order_id}?notice=recorded*")
        assert page.locator(f"#item-{supply}-result").is_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "console-checklist-phone-zh.png"), full_page=True)
        page.locator('button[data-action="resolve"]').click()
        page.wait_for_url(f"**/console/orders/{order_id}?notice=moved")
        assert page.locator("#order-status").inner_text() == "已修复"
        context.close()
        chromium.close()
