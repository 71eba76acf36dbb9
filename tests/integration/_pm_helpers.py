"""Set-up shared by the PM scheduler and trigger tests, so each test reads as its scenario.

``pm_world`` gives a migrated database with one site in Berlin's zone (``HQ``), two air handlers
(``AHU-1``, ``AHU-2``, type ``ahu``), a chiller (``CH-1``) and a ``manager`` user, plus a real
SQLite reading store. ``World.approve`` files a plan as that manager and approves it at the
test's start time; ``World.schedule`` runs one scheduler pass against the world's readings.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from facility.core.types import Reading
from gateway.stores.sql import SqlReadingStore, make_engine
from maintenance.assets.register import ensure_asset
from maintenance.people.models import User
from maintenance.pm import service as pm
from maintenance.pm.models import PmPlan
from maintenance.shared.db import connect, upgrade
from maintenance.shared.vocabulary import Role
from maintenance.sites.models import Site

__all__ = ["World", "approved_plan", "draft_plan", "pm_world", "write_series"]


def draft_plan(
    session: Session, *, now: datetime | None = None, actor: str = "manager", **fields: object
) -> PmPlan:
    """A plan as ``pm.create_plan`` stores it: not approved, so the scheduler ignores it."""
    return pm.create_plan(session, actor=actor, now=now, **fields)  # type: ignore[arg-type]


def approved_plan(session: Session, *, now: datetime, **fields: object) -> int:
    """A plan filed and approved by the manager at ``now``; its id."""
    plan = draft_plan(session, now=now, **fields)
    pm.approve_plan(session, plan_id=plan.id, actor="manager", now=now)
    return plan.id


@dataclass
class World:
    sessions: sessionmaker[Session]
    readings: SqlReadingStore
    #: When the test's plans are filed and approved.
    t0: datetime

    def approve(self, session: Session, **fields: object) -> int:
        return approved_plan(session, now=self.t0, **fields)

    def schedule(self, session: Session, now: datetime) -> list[pm.GeneratedOrder]:
        """One scheduler pass at ``now``: the orders it created."""
        return pm.run_pm_scheduler(session, now=now, readings=self.readings)


@contextmanager
def pm_world(database_url: str, tmp_path: Path, *, t0: datetime) -> Iterator[World]:
    engine, sessions = connect(database_url)
    upgrade(engine)
    with sessions() as session:
        site = Site(code="HQ", name="Head office", timezone="Europe/Berlin")
        session.add(site)
        session.flush()
        ensure_asset(session, code="AHU-1", asset_type="ahu", site=site)
        ensure_asset(session, code="AHU-2", asset_type="ahu", site=site)
        ensure_asset(session, code="CH-1", asset_type="chiller", site=site)
        session.add(User(username="manager", password_hash="x", role=Role.MANAGER))
        session.commit()
    readings_engine = make_engine(f"sqlite:///{tmp_path / 'readings.db'}")
    try:
        yield World(sessions, SqlReadingStore(readings_engine), t0)
    finally:
        readings_engine.dispose()
        engine.dispose()


def write_series(
    store: SqlReadingStore,
    device: str,
    metric: str,
    unit: str,
    start: datetime,
    points: Iterable[tuple[float, float]],
) -> None:
    """Store one reading per ``(minutes after start, value)``."""
    store.write(
        [
            Reading(
                device=device,
                metric=metric,
                value=value,
                unit=unit,
                ts=start + timedelta(minutes=m),
            )
            for m, value in points
        ]
    )
