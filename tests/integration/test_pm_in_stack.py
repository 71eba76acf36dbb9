"""The PM scheduler runs inside ``facility serve``/``demo``'s stack, without ``pm run``."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

import facility.app.stack
from facility.app.stack import Stack, StackOptions
from facility.core.settings import Settings
from facility.core.wait import wait_until
from gateway.broker import MosquittoBroker
from maintenance.assets.register import ensure_asset
from maintenance.pm import service as pm
from maintenance.pm.models import PmTriggerKind, TimeUnit
from maintenance.work_orders.models import WorkOrder, WorkOrderType

PASS_S = 0.2


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"pm_interval_s": PASS_S})


def _due_plan(stack: Stack) -> int:
    """A daily plan whose latest occurrence (yesterday 00:00 UTC) is due already."""
    yesterday = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT00:00")
    with stack.sessions() as s:
        ensure_asset(s, code="AHU-1", asset_type="ahu")
        s.commit()
        plan = pm.create_plan(
            s,
            name="Daily AHU check",
            trigger=PmTriggerKind.CALENDAR,
            interval=1,
            unit=TimeUnit.DAY,
            anchor_local=yesterday,
            asset_codes=["AHU-1"],
            actor="manager",
        )
        pm.approve_plan(s, plan_id=plan.id, actor="manager")
        return plan.id


def _pm_orders(stack: Stack) -> list[str]:
    with stack.sessions() as s:
        return list(
            s.scalars(
                sa.select(WorkOrder.title).where(WorkOrder.order_type == WorkOrderType.PREVENTIVE)
            )
        )


def test_a_due_plan_gets_its_order_from_the_stack_without_pm_run(
    make_stack: Callable[..., Stack],
) -> None:
    stack = make_stack()
    assert stack._pm_thread.is_alive()
    _due_plan(stack)
    wait_until(lambda: len(_pm_orders(stack)) == 1, timeout_s=20, what="the PM order")
    assert _pm_orders(stack) == ["PM: Daily AHU check"]
    # further passes keep running and order nothing twice
    passes = threading.Event()
    original = facility.app.stack.run_pm_scheduler

    def counted(*args: Any, **kwargs: Any) -> list[pm.GeneratedOrder]:
        made = original(*args, **kwargs)
        passes.set()
        return made

    facility.app.stack.run_pm_scheduler = counted  # type: ignore[assignment]
    try:
        wait_until(passes.is_set, timeout_s=20, what="another scheduler pass")
    finally:
        facility.app.stack.run_pm_scheduler = original
    assert len(_pm_orders(stack)) == 1


@pytest.mark.allow_logged_errors
def test_a_failing_pass_is_logged_and_the_next_one_still_runs(
    make_stack: Callable[..., Stack], monkeypatch: pytest.MonkeyPatch
) -> None:
    original = facility.app.stack.run_pm_scheduler
    calls = {"n": 0}

    def flaky(*args: Any, **kwargs: Any) -> list[pm.GeneratedOrder]:
        calls["n"] += 1
        if calls["n"] <= 2:
            raise RuntimeError("reading store hiccup")
        return original(*args, **kwargs)

    monkeypatch.setattr(facility.app.stack, "run_pm_scheduler", flaky)
    stack = make_stack()
    _due_plan(stack)
    wait_until(lambda: len(_pm_orders(stack)) == 1, timeout_s=20, what="the PM order")
    assert calls["n"] >= 3
    assert stack._pm_thread.is_alive()


@pytest.mark.parametrize("interval_s", [PASS_S, 0.0])
def test_the_scheduler_thread_stops_with_the_stack_and_zero_disables_it(
    settings: Settings, mosquitto: MosquittoBroker, interval_s: float
) -> None:
    stack = Stack(
        settings.model_copy(update={"pm_interval_s": interval_s}),
        StackOptions(broker_url=mosquitto.url, api=False, client_id=f"gw-pm-{interval_s}"),
    )
    stack.start()
    try:
        assert stack._pm_thread.is_alive() is (interval_s > 0)
    finally:
        stack.stop()
    assert not stack._pm_thread.is_alive()
