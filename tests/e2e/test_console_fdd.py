"""A diagnosed FDD work order's page over real HTTP: each fault condition with its diagnosis,
likely causes and evidence table, the SOP checklist, and the symptoms suppressed downstream, in
English and in Chinese; hostile text in an alert is shown as text."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

from facility.core.types import Alert, AlertState, Reading, Severity
from maintenance.assets.models import AssetFeed
from maintenance.assets.register import ensure_asset
from maintenance.work_orders.service import alert_evidence, apply_alert
from tests.e2e.conftest import ConsoleServer
from tests.e2e.console_client import browser, log_in

FC2 = "ahu-g36-fc2-mixed-air-too-low"
FC10 = "ahu-g36-fc10-mixed-outdoor-differ-full-economizer"
FC13 = "ahu-g36-fc13-supply-high-full-cooling"


def _alert(rule: str, asset: str, message: str, ts: datetime) -> Alert:
    return Alert(
        rule=rule,
        device=asset.lower(),
        asset=asset,
        state=AlertState.FIRING,
        severity=Severity.MINOR,
        ts=ts,
        value=8.25,
        message=message,
    )


def _fdd_order(server: ConsoleServer) -> int:
    """AHU-1 with FC2 and FC10 folded into one order; AHU-1 feeds AHU-2, whose FC13 symptom is
    suppressed onto it."""
    now = datetime.now(UTC).replace(microsecond=0)
    server.readings.write(
        [
            Reading("ahu-1", "mixed_air_temperature", 8.25, "degC", now - timedelta(minutes=1)),
            Reading("ahu-1", "return_air_temperature", 22.5, "degC", now - timedelta(minutes=1)),
        ]
    )
    with server.sessions() as session:
        ahu1 = ensure_asset(session, code="AHU-1")
        ahu2 = ensure_asset(session, code="AHU-2")
        session.add(AssetFeed(upstream_id=ahu1.id, downstream_id=ahu2.id, medium="air"))
        session.commit()
        first = _alert(FC2, "AHU-1", "mixed air <script>alert(1)</script> too cold", now)
        evidence = alert_evidence(first, condition=None, readings=server.readings)
        outcome = apply_alert(session, alert=first, evidence=evidence, now=now)
        apply_alert(session, alert=_alert(FC10, "AHU-1", "damper", now), now=now)
        apply_alert(session, alert=_alert(FC13, "AHU-2", "too warm", now), now=now)
    assert outcome.work_order_id is not None
    return outcome.work_order_id


def _section(page: str) -> str:
    match = re.search(r'<section[^>]*id="diagnosis".*?</section>', page, re.S)
    assert match, "the order page has no diagnosis section"
    return match.group(0)


def test_the_order_page_shows_each_fault_with_its_diagnosis_causes_and_evidence(
    console_server: ConsoleServer,
) -> None:
    order_id = _fdd_order(console_server)
    client = browser(console_server.url)
    log_in(client, "tech")
    response = client.get(f"/console/orders/{order_id}")
    assert response.status_code == 200
    section = _section(response.text)
    assert section.count('<article class="fault"') == 2
    assert 'data-fc="FC2"' in section and 'data-fc="FC10"' in section
    assert "the mixed-air temperature reads too low" in section
    assert "Mixed-air sensor faulty or out of calibration" in section
    assert re.search(
        r'data-point="mixed_air_temperature"><th scope="row">mixed-air temperature'
        r"</th><td>8\.25 degC</td>",
        section,
    )
    assert re.search(r'data-point="outdoor_air_temperature">.*?no reading', section, re.S)
    assert 'data-asset="AHU-2"' in section and "FC13" in section
    assert "<script>alert(1)</script>" not in response.text
    assert html.escape("<script>alert(1)</script>") in section
    labels = re.findall(r'<h3 id="item-\d+-label">([^<]+)</h3>', response.text)
    assert (
        "Mixed-air temperature measured with a calibrated thermometer next to the sensor (degC)"
        in [html.unescape(label) for label in labels]
    )
    assert len(labels) == len(set(labels)), "each SOP step once, however many faults ask for it"


def test_the_diagnosis_and_checklist_read_in_chinese(console_server: ConsoleServer) -> None:
    order_id = _fdd_order(console_server)
    client = browser(console_server.url, "zh-CN,zh;q=0.9")
    log_in(client, "tech")
    response = client.get(f"/console/orders/{order_id}")
    assert response.status_code == 200
    assert response.headers["content-language"] == "zh-Hans"
    section = _section(response.text)
    for words in (
        "诊断结果",
        "混风温度读数偏低",
        "可能原因",
        "混风温度传感器坏了或漂移",
        "回风温度",
        "无读数",
    ):
        assert words in section, words
    assert "下游设备的连带现象" in section
    for english in ("Likely causes", "Evidence", "no reading", "reads too low"):
        assert english not in section, english
    labels = [
        html.unescape(x) for x in re.findall(r'<h3 id="item-\d+-label">([^<]+)</h3>', response.text)
    ]
    assert any(label.startswith("用校准过的温度计在混风温度传感器旁实测温度") for label in labels)
    assert all(re.search(r"[\u3400-\u9fff]", label) for label in labels)


def test_an_order_without_a_diagnosis_keeps_its_plain_description(
    console_server: ConsoleServer,
) -> None:
    now = datetime.now(UTC)
    with console_server.sessions() as session:
        outcome = apply_alert(
            session, alert=_alert("server-room-overtemp", "Room-101", "hot room", now), now=now
        )
    client = browser(console_server.url)
    log_in(client, "tech")
    page = client.get(f"/console/orders/{outcome.work_order_id}").text
    assert 'id="diagnosis"' not in page
    assert '<p class="description">hot room</p>' in page
