"""Races: separate processes firing the same alert, threads moving the same order at once."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from multiprocessing.synchronize import Barrier as ProcessBarrier
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from facility.core.errors import InvalidTransition
from facility.core.types import Alert, AlertState, Severity
from maintenance.people.users import create_user
from maintenance.shared.db import connect, upgrade
from maintenance.shared.vocabulary import Role
from maintenance.work_orders import service
from maintenance.work_orders.models import OPEN_STATES, WorkOrder, WorkOrderEvent
from tests.conftest import reset_postgres_schema

ROUNDS = 10


def _alert(rule: str) -> Alert:
    return Alert(
        rule=rule,
        device="ahu-1/supply",
        asset="AHU-1",
        state=AlertState.FIRING,
        severity=Severity.CRITICAL,
        ts=datetime.now(UTC),
        value=30.0,
        message="too warm",
    )


def _race_worker(url: str, barrier: ProcessBarrier, results: Any) -> None:
    """Child process: for each round, wait for the other process, then fire the same alert."""
    engine, sessions = connect(url)
    try:
        for round_ in range(ROUNDS):
            barrier.wait(timeout=60)
            with sessions() as session:
                outcome = service.apply_alert(session, alert=_alert(f"proc-race-{round_}"))
            results.put((round_, outcome.action, outcome.work_order_id))
    finally:
        engine.dispose()


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine, factory = connect(database_url)
    upgrade(engine)
    yield factory
    engine.dispose()


@pytest.fixture
def fresh_postgres(postgres_url: str) -> str:
    """The session's PostgreSQL database with an empty, migrated schema."""
    reset_postgres_schema(postgres_url)
    migrated, _ = connect(postgres_url)
    upgrade(migrated)
    migrated.dispose()
    return postgres_url


def test_two_processes_racing_the_same_alert_leave_exactly_one_open_order(
    fresh_postgres: str,
) -> None:
    database_url = fresh_postgres
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    results = ctx.Queue()
    processes = [
        ctx.Process(target=_race_worker, args=(database_url, barrier, results)) for _ in range(2)
    ]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=120) for _ in range(2 * ROUNDS)]
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0

    for round_ in range(ROUNDS):
        actions = sorted(action for r, action, _ in outcomes if r == round_)
        ids = {order_id for r, _, order_id in outcomes if r == round_}
        assert actions == ["created", "folded"], (round_, actions)
        assert len(ids) == 1
    engine, sessions = connect(database_url)
    with sessions() as session:
        open_counts = session.execute(
            sa.select(WorkOrder.rule, sa.func.count())
            .where(WorkOrder.status.in_(OPEN_STATES))
            .group_by(WorkOrder.rule)
        ).all()
    engine.dispose()
    assert sorted(open_counts) == sorted((f"proc-race-{r}", 1) for r in range(ROUNDS))


def test_concurrent_transitions_on_one_order_never_lose_an_audit_event(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as session:
        create_user(session, username="tech", password="tech-password-1", role=Role.TECH)
        order, _ = service.create_work_order(session, title="contended", actor="admin")
        order_id = order.id
        for action in ("assign", "start"):
            service.transition(
                session,
                work_order_id=order_id,
                action=action,
                actor="admin",
                role=Role.ADMIN,
                assignee="tech" if action == "assign" else None,
            )

    barrier = threading.Barrier(4)
    successes: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def mover(worker: int) -> None:
        try:
            barrier.wait(timeout=10)
            for step in range(15):
                action = "hold" if (worker + step) % 2 == 0 else "resume"
                with sessions() as session:
                    try:
                        service.transition(
                            session,
                            work_order_id=order_id,
                            action=action,
                            actor=f"worker-{worker}",
                            role=Role.MANAGER,
                        )
                    except InvalidTransition:
                        continue
                with lock:
                    successes.append(action)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=mover, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    with sessions() as session:
        events = list(
            session.scalars(
                sa.select(WorkOrderEvent)
                .where(
                    WorkOrderEvent.work_order_id == order_id,
                    WorkOrderEvent.kind.in_(["hold", "resume"]),
                )
                .order_by(WorkOrderEvent.id)
            )
        )
        final = session.get_one(WorkOrder, order_id).status
    assert len(events) == len(successes) > 0
    chain = ["in_progress"] + [e.to_state for e in events]
    assert [e.from_state for e in events] == chain[:-1]  # every move starts where the last ended
    assert final.value == chain[-1]


def test_two_sla_checkers_running_at_once_report_each_breach_once(
    sessions: sessionmaker[Session],
) -> None:
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    with sessions() as session:
        ids = [
            service.create_work_order(session, title=f"o{n}", actor="admin", now=start)[0].id
            for n in range(10)
        ]
    later = start + timedelta(days=5)
    barrier = threading.Barrier(2)
    found: list[tuple[int, str]] = []
    errors: list[BaseException] = []

    def check() -> None:
        try:
            barrier.wait(timeout=10)
            with sessions() as session:
                found.extend(service.check_breaches(session, now=later))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=check) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sorted(found) == sorted((i, what) for i in ids for what in ("response", "resolution"))
    with sessions() as session:
        breaches = session.scalar(
            sa.select(sa.func.count())
            .select_from(WorkOrderEvent)
            .where(WorkOrderEvent.kind.like("%_breached"))
        )
    assert breaches == 2 * len(ids)
