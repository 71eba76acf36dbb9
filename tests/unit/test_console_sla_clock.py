"""Which deadline a card counts down to, and when it turns amber or red."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from console._sla_clock import ClockKind, ClockState, sla_clock
from maintenance.work_orders.models import WorkOrder, WorkOrderStatus

CREATED = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def _order(**fields: object) -> WorkOrder:
    values: dict[str, object] = {
        "title": "t",
        "status": WorkOrderStatus.NEW,
        "created_at": CREATED,
        "response_due_at": CREATED + timedelta(hours=4),
        "resolution_due_at": CREATED + timedelta(hours=24),
    }
    values.update(fields)
    return WorkOrder(**values)


@pytest.mark.parametrize(
    ("fields", "at", "kind", "state"),
    [
        ({}, timedelta(hours=1), ClockKind.RESPOND, ClockState.OK),
        ({}, timedelta(hours=3, minutes=1), ClockKind.RESPOND, ClockState.AT_RISK),
        ({}, timedelta(hours=5), ClockKind.RESPOND, ClockState.OVERDUE),
        ({"responded_at": CREATED}, timedelta(hours=5), ClockKind.RESOLVE, ClockState.OK),
        ({"responded_at": CREATED}, timedelta(hours=19), ClockKind.RESOLVE, ClockState.AT_RISK),
        ({"responded_at": CREATED}, timedelta(hours=30), ClockKind.RESOLVE, ClockState.OVERDUE),
        ({"on_hold_since": CREATED}, timedelta(hours=30), ClockKind.RESPOND, ClockState.PAUSED),
        (
            {"response_due_at": CREATED + timedelta(minutes=40)},
            timedelta(minutes=15),
            ClockKind.RESPOND,
            ClockState.AT_RISK,
        ),
    ],
)
def test_the_running_deadline_and_its_state(
    fields: dict[str, object], at: timedelta, kind: ClockKind, state: ClockState
) -> None:
    clock = sla_clock(_order(**fields), CREATED + at)
    assert clock is not None
    assert (clock.kind, clock.state) == (kind, state)
    assert clock.left == clock.due_at - (CREATED + at)


@pytest.mark.parametrize(
    "status",
    [
        WorkOrderStatus.RESOLVED,
        WorkOrderStatus.VERIFIED,
        WorkOrderStatus.CLOSED,
        WorkOrderStatus.CANCELLED,
    ],
)
def test_no_clock_runs_once_the_work_is_done_or_cancelled(status: WorkOrderStatus) -> None:
    assert sla_clock(_order(status=status), CREATED + timedelta(days=3)) is None


def test_an_order_without_deadlines_has_no_clock_and_naive_times_are_utc() -> None:
    assert sla_clock(_order(response_due_at=None, resolution_due_at=None), CREATED) is None
    naive = _order(
        created_at=CREATED.replace(tzinfo=None),
        response_due_at=(CREATED + timedelta(hours=4)).replace(tzinfo=None),
    )
    clock = sla_clock(naive, CREATED + timedelta(hours=1))
    assert clock is not None and clock.state is ClockState.OK
