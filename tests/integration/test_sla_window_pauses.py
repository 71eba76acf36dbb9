"""Declared maintenance windows pause SLA clocks, on SQLite and PostgreSQL, with a hand clock.

The facility: site ``hq`` with buildings B1 and B2; chiller CH-2 on B2's roof, air handler
AHU-1 in B1. The window ``b2-chiller-swap`` covers building B2 from 10:00 to 12:00 UTC on
2 March 2026 (a Monday). Orders are P2 (1 h to respond, 8 h to resolve, around the clock), so
the expected deadlines are plain sums the test writes down itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from facility.app.sla_calendar import WindowCalendar, asset_attributes
from maintenance.assets import lifecycle
from maintenance.assets.models import AssetLevel
from maintenance.people.models import User
from maintenance.shared.db import connect, upgrade
from maintenance.shared.vocabulary import Priority, Role
from maintenance.work_orders import service
from maintenance.work_orders.models import WorkOrder
from maintenance.work_orders.sla_pauses import EVENT
from maintenance.worker import MaintenanceWorker
from rules.schedule import MaintenanceScope, MaintenanceWindow

DAY = datetime(2026, 3, 2, tzinfo=UTC)
H = timedelta(hours=1)
M = timedelta(minutes=1)
SWAP = MaintenanceWindow(
    name="b2-chiller-swap",
    scope=MaintenanceScope(building="B2"),
    start=DAY + 10 * H,
    end=DAY + 12 * H,
)


class Clock:
    def __init__(self) -> None:
        self.now = DAY + 9 * H

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine, factory = connect(database_url)
    upgrade(engine)
    with factory() as session:
        for code, level, parent in (
            ("B1", AssetLevel.BUILDING, None),
            ("B2", AssetLevel.BUILDING, None),
            ("B2-ROOF", AssetLevel.ZONE, "B2"),
            ("CH-2", AssetLevel.EQUIPMENT, "B2-ROOF"),
            ("AHU-1", AssetLevel.EQUIPMENT, "B1"),
        ):
            spec = lifecycle.AssetSpec(code=code, name=code, level=level, parent=parent, site="hq")
            lifecycle.create_asset(session, spec=spec, actor="admin", now=DAY, commit=False)
        session.add(User(username="tech", role=Role.TECH, password_hash="!unusable"))
        session.commit()
    yield factory
    engine.dispose()


def _order(sessions: sessionmaker[Session], asset: str, at: datetime) -> int:
    with sessions() as session:
        order, _ = service.create_work_order(
            session,
            title=f"{asset} fault",
            actor="manager",
            priority=Priority.P2,
            asset_code=asset,
            create_asset=False,
            now=at,
        )
        session.commit()
        return order.id


def _move(sessions: sessionmaker[Session], order_id: int, action: str, at: datetime) -> None:
    with sessions() as session:
        service.transition(
            session,
            work_order_id=order_id,
            action=action,
            actor="tech",
            role=Role.MANAGER,
            assignee="tech" if action == "assign" else None,
            now=at,
        )


def _read(sessions: sessionmaker[Session], order_id: int) -> WorkOrder:
    with sessions() as session:
        order = session.get(WorkOrder, order_id)
        assert order is not None
        session.expunge(order)
        return order


def _pause_events(sessions: sessionmaker[Session], order_id: int) -> list[dict[str, object]]:
    with sessions() as session:
        order = session.get(WorkOrder, order_id)
        assert order is not None
        return [dict(e.data or {}) for e in order.events if e.kind == EVENT]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def worker(sessions: sessionmaker[Session], clock: Clock) -> MaintenanceWorker:
    return MaintenanceWorker(sessions, clock=clock, calendar=WindowCalendar(lambda: [SWAP]))


def test_the_tree_gives_the_place_a_window_scope_matches(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        chiller = lifecycle.get_asset(session, code="CH-2")
        place = asset_attributes(chiller)
    assert place == {
        "asset": "CH-2",
        "asset_type": "unknown",
        "site": "hq",
        "zone": "B2-ROOF",
        "building": "B2",
    }


def test_an_order_open_through_the_window_gets_both_clocks_moved_once(
    sessions: sessionmaker[Session], clock: Clock, worker: MaintenanceWorker
) -> None:
    covered = _order(sessions, "CH-2", DAY + 9 * H + 30 * M)
    elsewhere = _order(sessions, "AHU-1", DAY + 9 * H + 30 * M)

    clock.now = DAY + 11 * H  # inside the window: CH-2's response is overdue but paused
    worker.run_once()
    inside = _read(sessions, covered)
    assert inside.response_breached_at is None
    assert inside.response_due_at == DAY + 10 * H + 30 * M  # not moved before the window ends
    assert _read(sessions, elsewhere).response_breached_at == clock.now  # B1 is not covered

    clock.now = DAY + 12 * H + 5 * M
    worker.run_once()
    after = _read(sessions, covered)
    assert after.response_due_at == DAY + 12 * H + 30 * M  # 10:30 + the 2 h window
    assert after.resolution_due_at == DAY + 17 * H + 30 * M + 2 * H
    assert after.response_breached_at is None
    (event,) = _pause_events(sessions, covered)
    assert (event["window"], event["response_s"], event["resolution_s"]) == (
        "b2-chiller-swap",
        7200.0,
        7200.0,
    )
    assert _pause_events(sessions, elsewhere) == []

    clock.now = DAY + 12 * H + 40 * M  # the moved response deadline passes: a real breach
    worker.run_once()
    worker.run_once()
    final = _read(sessions, covered)
    assert final.response_breached_at == DAY + 12 * H + 40 * M
    assert final.resolution_due_at == DAY + 19 * H + 30 * M  # applied once, not per pass
    assert len(_pause_events(sessions, covered)) == 1


def test_time_on_hold_is_not_paused_twice_and_a_response_before_the_window_stays(
    sessions: sessionmaker[Session], clock: Clock, worker: MaintenanceWorker
) -> None:
    order = _order(sessions, "CH-2", DAY + 9 * H)
    _move(sessions, order, "assign", DAY + 9 * H + 5 * M)
    _move(sessions, order, "start", DAY + 9 * H + 20 * M)  # responded before the window
    _move(sessions, order, "hold", DAY + 10 * H + 30 * M)
    _move(sessions, order, "resume", DAY + 11 * H + 30 * M)  # hold moved resolution by 1 h
    assert _read(sessions, order).resolution_due_at == DAY + 17 * H + H

    clock.now = DAY + 12 * H + 1 * M
    worker.run_once()
    moved = _read(sessions, order)
    assert moved.resolution_due_at == DAY + 17 * H + 2 * H  # 2 h window less 1 h on hold
    assert moved.response_due_at == DAY + 10 * H  # answered in time before the window
    (event,) = _pause_events(sessions, order)
    assert (event["response_s"], event["resolution_s"]) == (0.0, 3600.0)


def test_an_order_resolved_inside_the_window_is_paused_up_to_its_resolution(
    sessions: sessionmaker[Session], clock: Clock, worker: MaintenanceWorker
) -> None:
    order = _order(sessions, "CH-2", DAY + 9 * H)
    for action, at in (("assign", 10 * H), ("start", 10 * H + 15 * M), ("resolve", 11 * H)):
        _move(sessions, order, action, DAY + at)

    clock.now = DAY + 11 * H + 1 * M  # the window still runs, but this order is done with it
    worker.run_once()
    done = _read(sessions, order)
    assert done.resolution_due_at == DAY + 17 * H + H  # 10:00-11:00 of the window
    assert done.response_due_at == DAY + 10 * H + 15 * M  # paused until the 10:15 response
    (event,) = _pause_events(sessions, order)
    assert (event["response_s"], event["resolution_s"]) == (900.0, 3600.0)


def test_windows_for_other_rules_or_places_pause_nothing(
    sessions: sessionmaker[Session], clock: Clock
) -> None:
    only_chiller_rules = MaintenanceWindow(
        name="chiller-rules-only",
        rules=["chiller-*"],
        scope=MaintenanceScope(building="B2"),
        start=DAY + 10 * H,
        end=DAY + 12 * H,
    )
    other_site = MaintenanceWindow(
        name="annex", scope=MaintenanceScope(site="annex"), start=DAY, end=DAY + 23 * H
    )
    worker = MaintenanceWorker(
        sessions, clock=clock, calendar=WindowCalendar(lambda: [only_chiller_rules, other_site])
    )
    manual = _order(sessions, "CH-2", DAY + 9 * H)  # raised by hand: no rule to match
    clock.now = DAY + 13 * H
    worker.run_once()
    assert _pause_events(sessions, manual) == []
    assert _read(sessions, manual).resolution_due_at == DAY + 17 * H


def test_without_a_calendar_the_worker_behaves_as_before(
    sessions: sessionmaker[Session], clock: Clock
) -> None:
    order = _order(sessions, "CH-2", DAY + 9 * H + 30 * M)
    clock.now = DAY + 11 * H
    MaintenanceWorker(sessions, clock=clock).run_once()
    assert _read(sessions, order).response_breached_at == DAY + 11 * H
    assert _pause_events(sessions, order) == []
