"""Alerts become work orders exactly once, on SQLite and PostgreSQL, however they race."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from facility.core.types import Alert, AlertState, Reading, Severity
from gateway.stores.sql import SqlReadingStore, make_engine
from maintenance.people.users import create_user
from maintenance.shared.db import connect, upgrade
from maintenance.shared.vocabulary import Role
from maintenance.work_orders import service
from maintenance.work_orders.models import OPEN_STATES, WorkOrder, WorkOrderEvent, WorkOrderStatus
from maintenance.work_orders.service import AlertOutcome, alert_evidence, apply_alert
from tests.integration._work_order_server import running_api


def alert(
    state: AlertState = AlertState.FIRING, *, rule: str = "supply-air-too-warm", value: float = 21.0
) -> Alert:
    return Alert(
        rule=rule,
        device="ahu-1/supply",
        asset="AHU-1",
        state=state,
        severity=Severity.MAJOR,
        ts=datetime.now(UTC),
        value=value,
        message=f"supply air {value} degC",
    )


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine, factory = connect(database_url)
    upgrade(engine)
    yield factory
    engine.dispose()


def open_orders(sessions: sessionmaker[Session], rule: str) -> list[WorkOrder]:
    with sessions() as session:
        return list(
            session.scalars(
                sa.select(WorkOrder).where(
                    WorkOrder.rule == rule, WorkOrder.status.in_(OPEN_STATES)
                )
            )
        )


def events_of(sessions: sessionmaker[Session], order_id: int) -> list[str]:
    with sessions() as session:
        return list(
            session.scalars(
                sa.select(WorkOrderEvent.kind)
                .where(WorkOrderEvent.work_order_id == order_id)
                .order_by(WorkOrderEvent.id)
            )
        )


def test_an_alert_opens_one_order_and_a_second_firing_is_folded_into_it(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as session:
        first = apply_alert(session, alert=alert(value=21.0))
    with sessions() as session:
        second = apply_alert(session, alert=alert(value=22.5))

    assert first.action == "created"
    assert second == AlertOutcome("folded", first.work_order_id)
    orders = open_orders(sessions, "supply-air-too-warm")
    assert [o.id for o in orders] == [first.work_order_id]
    assert orders[0].status is WorkOrderStatus.NEW
    assert first.work_order_id is not None
    assert events_of(sessions, first.work_order_id) == ["created", "refired"]


def test_the_order_keeps_the_triggering_value_as_evidence(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        outcome = apply_alert(
            session, alert=alert(value=23.25), evidence={"condition": {"above": 16}}
        )
    with sessions() as session:
        event = session.scalars(
            sa.select(WorkOrderEvent).where(WorkOrderEvent.work_order_id == outcome.work_order_id)
        ).first()
    assert event is not None and event.data is not None
    assert event.data["value"] == 23.25
    assert event.data["condition"] == {"above": 16}


def test_a_resolved_alert_adds_an_event_to_the_open_order(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        created = apply_alert(session, alert=alert())
    with sessions() as session:
        resolved = apply_alert(session, alert=alert(AlertState.RESOLVED, value=14.0))

    assert resolved == AlertOutcome("resolved", created.work_order_id)
    assert created.work_order_id is not None
    assert events_of(sessions, created.work_order_id) == ["created", "alert_resolved"]
    assert len(open_orders(sessions, "supply-air-too-warm")) == 1  # people close orders, not data


def test_a_resolved_alert_without_an_open_order_is_ignored(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        outcome = apply_alert(session, alert=alert(AlertState.RESOLVED))
    assert outcome == AlertOutcome("ignored", None)
    assert open_orders(sessions, "supply-air-too-warm") == []


@pytest.mark.parametrize("round_", range(20))
def test_two_threads_racing_the_same_alert_leave_exactly_one_open_order(
    sessions: sessionmaker[Session], round_: int
) -> None:
    rule = f"race-{round_}"
    barrier = threading.Barrier(2)
    outcomes: list[AlertOutcome] = []
    errors: list[BaseException] = []

    def fire() -> None:
        try:
            barrier.wait(timeout=10)
            with sessions() as session:
                outcomes.append(apply_alert(session, alert=alert(rule=rule)))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=fire) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert sorted(o.action for o in outcomes) == ["created", "folded"]
    assert len({o.work_order_id for o in outcomes}) == 1
    orders = open_orders(sessions, rule)
    assert len(orders) == 1
    assert sorted(events_of(sessions, orders[0].id)) == ["created", "refired"]


def test_an_illegal_transition_is_refused_with_409_naming_the_allowed_actions(
    database_url: str, tmp_path: Path
) -> None:
    with running_api(database_url, tmp_path) as api:
        with api.sessions() as session:
            order_id = apply_alert(session, alert=alert()).work_order_id
        with api.client("manager") as manager:
            response = manager.post(f"/api/v1/work-orders/{order_id}/close")
            after = manager.get(f"/api/v1/work-orders/{order_id}").json()

    assert response.status_code == 409
    detail = response.json()["detail"]
    assert "'new'" in detail and "close" in detail
    assert "allowed: assign, cancel" in detail
    assert after["status"] == "new"
    assert [e["kind"] for e in after["events"]] == ["created"]


def test_a_fault_that_returns_after_the_repair_reopens_the_order(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as session:
        create_user(session, username="tech", password="tech-password-1", role=Role.TECH)
        order_id = apply_alert(session, alert=alert()).work_order_id
        assert order_id is not None
        for action in ("assign", "start", "resolve"):
            service.transition(
                session,
                work_order_id=order_id,
                action=action,
                actor="manager",
                role=Role.MANAGER,
                assignee="tech" if action == "assign" else None,
            )
    with sessions() as session:
        outcome = apply_alert(session, alert=alert(value=25.0))
    with sessions() as session:
        order = service.get_work_order(session, work_order_id=order_id)

    assert outcome == AlertOutcome("reopened", order_id)
    assert order.status is WorkOrderStatus.REOPENED
    assert order.reopen_count == 1 and order.fault_returned_at is not None
    assert order.events[-1].kind == "fault_returned"
    assert order.events[-1].from_state == "resolved"


def test_evidence_carries_the_rule_condition_and_the_readings_before_the_alert(
    tmp_path: Path,
) -> None:
    store = SqlReadingStore(make_engine(f"sqlite:///{tmp_path / 'readings.db'}"))
    fired = alert(value=22.0)
    store.write(
        [
            Reading(
                "ahu-1/supply", "temperature", 15.0 + n, "degC", fired.ts - timedelta(minutes=7 - n)
            )
            for n in range(7)
        ]
        + [Reading("ahu-1/supply", "temperature", 9.0, "degC", fired.ts - timedelta(hours=2))]
    )
    evidence = alert_evidence(
        fired, condition={"kind": "threshold", "above": 16}, readings=store, window_s=900
    )
    store.close()

    assert evidence["condition"] == {"kind": "threshold", "above": 16}
    assert [r["value"] for r in evidence["readings_before"]] == [15.0 + n for n in range(7)]


def test_an_auto_resolve_rule_closes_an_order_nobody_started_when_the_fault_clears(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as session:
        transient = apply_alert(session, alert=alert(rule="transient")).work_order_id
        worked = apply_alert(session, alert=alert(rule="worked-on")).work_order_id
        create_user(session, username="tech", password="tech-password-1", role=Role.TECH)
        assert worked is not None
        for action in ("assign", "start"):
            service.transition(
                session,
                work_order_id=worked,
                action=action,
                actor="manager",
                role=Role.MANAGER,
                assignee="tech" if action == "assign" else None,
            )
    outcomes = {}
    for rule in ("transient", "worked-on"):
        cleared = Alert(
            rule=rule,
            device="ahu-1/supply",
            asset="AHU-1",
            state=AlertState.RESOLVED,
            severity=Severity.MAJOR,
            ts=datetime.now(UTC),
            value=12.0,
            auto_resolve=True,
        )
        with sessions() as session:
            outcomes[rule] = apply_alert(session, alert=cleared)

    assert outcomes["transient"] == AlertOutcome("closed", transient)
    assert outcomes["worked-on"] == AlertOutcome("resolved", worked)  # people finish started work
    assert open_orders(sessions, "transient") == []
    assert [o.status for o in open_orders(sessions, "worked-on")] == [WorkOrderStatus.IN_PROGRESS]
