"""SLA clocks on real databases, driven by a hand clock: due times, breaches, escalation, pauses."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from maintenance.notifications.models import OutboxMessage
from maintenance.shared.vocabulary import Priority, Role
from maintenance.work_orders import service
from tests.integration._work_order_server import ApiServer, running_api


@pytest.fixture
def api(database_url: str, tmp_path: Path) -> Iterator[ApiServer]:
    with running_api(database_url, tmp_path) as server:
        yield server


def _outbox(api: ApiServer, order_id: int) -> list[tuple[str, list[str]]]:
    with api.sessions() as session:
        return [
            (m.event, m.recipients)
            for m in session.scalars(
                sa.select(OutboxMessage)
                .where(OutboxMessage.work_order_id == order_id)
                .order_by(OutboxMessage.id)
            )
        ]


def test_due_times_are_set_at_creation_from_the_priority(api: ApiServer) -> None:
    with api.client("manager") as manager:
        order = manager.post(
            "/api/v1/work-orders",
            json={"title": "leak", "location": "Plant room", "priority": "P2"},
        ).json()
    assert api.clock.now.isoformat().startswith("2026-03-02T09:00:00")
    assert order["sla"]["response_due_at"].startswith("2026-03-02T10:00:00")
    assert order["sla"]["resolution_due_at"].startswith("2026-03-02T17:00:00")
    assert order["sla"]["response_breached"] is False


def test_a_missed_response_is_marked_escalated_to_the_team_lead_then_the_managers(
    api: ApiServer,
) -> None:
    with api.client("manager") as manager:
        order = manager.post(
            "/api/v1/work-orders",
            json={"title": "no heating", "asset": "AHU-1", "priority": "P2"},
        ).json()
    order_id = order["id"]
    assert order["team"] == "hvac"

    api.clock.advance(minutes=59)
    with api.sessions() as session:
        assert service.check_breaches(session, now=api.clock(), policy=api.context.policy) == []
    api.clock.advance(minutes=2)
    with api.sessions() as session:
        first = service.check_breaches(session, now=api.clock(), policy=api.context.policy)
    api.clock.advance(minutes=30)
    with api.sessions() as session:
        assert service.check_breaches(session, now=api.clock(), policy=api.context.policy) == []
    api.clock.advance(minutes=31)
    with api.sessions() as session:
        second = service.check_breaches(session, now=api.clock(), policy=api.context.policy)
    with api.client("manager") as manager:
        seen = manager.get(f"/api/v1/work-orders/{order_id}").json()
        breached = manager.get("/api/v1/work-orders", params={"breached": "true"}).json()

    assert first == [(order_id, "response")]
    assert second == [(order_id, "escalated")]
    assert seen["sla"]["response_breached"] is True
    assert seen["sla"]["resolution_breached"] is False
    assert seen["sla"]["escalation_level"] == 2
    assert [o["id"] for o in breached["items"]] == [order_id]
    assert [e["kind"] for e in seen["events"]][-2:] == ["response_breached", "escalated"]
    outbox = _outbox(api, order_id)
    assert ("breached", ["lead:hvac"]) in outbox
    assert ("escalated", ["role:manager"]) in outbox


def test_on_hold_pauses_the_resolution_clock(api: ApiServer) -> None:
    with api.client("manager") as manager:
        order = manager.post(
            "/api/v1/work-orders", json={"title": "pump", "asset": "CH-1", "priority": "P2"}
        ).json()
    order_id = order["id"]
    with api.client("tech2") as tech:
        api.clock.advance(minutes=10)
        tech.post(f"/api/v1/work-orders/{order_id}/start").raise_for_status()
        api.clock.advance(hours=1)
        held = tech.post(
            f"/api/v1/work-orders/{order_id}/hold", json={"note": "waiting for a seal"}
        ).json()
        api.clock.advance(hours=10)  # far past the 8 h target, but on hold
        with api.sessions() as session:
            during = service.check_breaches(session, now=api.clock(), policy=api.context.policy)
        resumed = tech.post(f"/api/v1/work-orders/{order_id}/resume").json()
        api.clock.advance(hours=6)
        with api.sessions() as session:
            before_due = service.check_breaches(session, now=api.clock(), policy=api.context.policy)
        api.clock.advance(hours=1)
        with api.sessions() as session:
            after_due = service.check_breaches(session, now=api.clock(), policy=api.context.policy)

    assert held["sla"]["paused"] is True
    assert during == []
    assert resumed["sla"]["paused"] is False
    assert resumed["events"][-1]["data"]["paused_s"] == 10 * 3600
    original = order["sla"]["resolution_due_at"][:19]
    assert original == "2026-03-02T17:00:00"
    assert resumed["sla"]["resolution_due_at"].startswith("2026-03-03T03:00:00")
    assert before_due == []
    assert after_due == [(order_id, "resolution")]


def test_a_started_order_does_not_breach_its_response_target(api: ApiServer) -> None:
    with api.sessions() as session:
        order, _ = service.create_work_order(
            session,
            title="lamp",
            actor="manager",
            location="Hall",
            priority=Priority.P1,
            now=api.clock(),
        )
        service.transition(
            session,
            work_order_id=order.id,
            action="assign",
            actor="manager",
            role=Role.MANAGER,
            assignee="tech",
            now=api.clock.advance(minutes=5),
        )
        service.transition(
            session,
            work_order_id=order.id,
            action="start",
            actor="tech",
            role=Role.TECH,
            now=api.clock.advance(minutes=5),
        )
        api.clock.advance(minutes=30)
        found = service.check_breaches(session, now=api.clock(), policy=api.context.policy)
    assert found == []
