"""The asset's status follows the corrective work on it, and its availability with it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from maintenance.assets import lifecycle as asset_lifecycle
from maintenance.assets.models import Asset, AssetStatus, AssetStatusChange
from maintenance.insights import asset_figures
from maintenance.shared.db import connect, upgrade
from maintenance.shared.vocabulary import Role
from maintenance.work_orders import service as orders
from maintenance.work_orders.models import WorkOrderType
from tests.integration._work_order_server import HandClock, seed


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine, factory = connect(database_url)
    upgrade(engine)
    seed(factory)
    yield factory
    engine.dispose()


def _order(
    sessions: sessionmaker[Session],
    clock: HandClock,
    *,
    order_type: WorkOrderType = WorkOrderType.CORRECTIVE,
) -> int:
    with sessions() as session:
        order, _ = orders.create_work_order(
            session,
            title="Fan belt slipping",
            actor="manager",
            asset_code="AHU-1",
            order_type=order_type,
            now=clock(),
        )
        orders.transition(
            session,
            work_order_id=order.id,
            action="assign",
            actor="manager",
            role=Role.MANAGER,
            assignee="tech",
            now=clock(),
        )
        return order.id


def _act(sessions: sessionmaker[Session], clock: HandClock, order_id: int, action: str) -> None:
    with sessions() as session:
        orders.transition(
            session,
            work_order_id=order_id,
            action=action,
            actor="manager",
            role=Role.MANAGER,
            now=clock(),
        )


def _status(sessions: sessionmaker[Session]) -> AssetStatus:
    with sessions() as session:
        asset = session.scalar(sa.select(Asset).where(Asset.code == "AHU-1"))
        assert asset is not None
        return asset.status


def _history(sessions: sessionmaker[Session]) -> list[tuple[str, str, int | None]]:
    with sessions() as session:
        rows = session.scalars(
            sa.select(AssetStatusChange)
            .join(Asset, Asset.id == AssetStatusChange.asset_id)
            .where(Asset.code == "AHU-1")
            .order_by(AssetStatusChange.id)
        )
        return [(str(r.from_status), str(r.to_status), r.work_order_id) for r in rows]


def test_starting_a_repair_takes_the_asset_out_of_service_until_the_last_repair_is_resolved(
    sessions: sessionmaker[Session],
) -> None:
    clock = HandClock()
    first = _order(sessions, clock)
    second = _order(sessions, clock)
    _act(sessions, clock, first, "start")
    assert _status(sessions) is AssetStatus.UNDER_REPAIR
    clock.advance(hours=1)
    _act(sessions, clock, second, "start")
    clock.advance(hours=2)
    _act(sessions, clock, first, "resolve")
    assert _status(sessions) is AssetStatus.UNDER_REPAIR  # the second repair is still going on
    clock.advance(hours=3)
    _act(sessions, clock, second, "resolve")
    assert _status(sessions) is AssetStatus.IN_SERVICE
    assert _history(sessions) == [
        ("in_service", "under_repair", first),
        ("under_repair", "in_service", second),
    ]

    clock.advance(hours=18)  # a day since the first start, six hours of it under repair
    with sessions() as session:
        asset = session.scalar(sa.select(Asset).where(Asset.code == "AHU-1"))
        assert asset is not None
        figures = asset_figures.asset_figures(
            session, asset_id=asset.id, now=clock(), window_start=clock() - timedelta(days=1)
        )
    assert figures.availability == pytest.approx(18 / 24)


def test_preventive_work_and_a_cancelled_order_do_not_leave_the_asset_out_of_service(
    sessions: sessionmaker[Session],
) -> None:
    clock = HandClock()
    planned = _order(sessions, clock, order_type=WorkOrderType.PREVENTIVE)
    _act(sessions, clock, planned, "start")
    assert _status(sessions) is AssetStatus.IN_SERVICE
    repair = _order(sessions, clock)
    _act(sessions, clock, repair, "start")
    clock.advance(minutes=30)
    _act(sessions, clock, repair, "cancel")
    assert _status(sessions) is AssetStatus.IN_SERVICE
    assert [h[2] for h in _history(sessions)] == [repair, repair]


def test_an_asset_put_under_repair_by_hand_stays_there_when_an_order_is_resolved(
    sessions: sessionmaker[Session],
) -> None:
    clock = HandClock()
    with sessions() as session:
        asset_lifecycle.change_status(
            session,
            code="AHU-1",
            to=AssetStatus.UNDER_REPAIR,
            actor="manager",
            reason="waiting for a new compressor",
            now=clock(),
        )
    clock.advance(minutes=5)
    repair = _order(sessions, clock)
    _act(sessions, clock, repair, "start")
    clock.advance(hours=1)
    _act(sessions, clock, repair, "resolve")
    assert _status(sessions) is AssetStatus.UNDER_REPAIR
    assert _history(sessions) == [("in_service", "under_repair", None)]
