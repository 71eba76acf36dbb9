"""The PM scheduler on a real database and a real reading store, driven by a hand clock."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from facility.core.types import Reading
from gateway.stores.sql import SqlReadingStore, make_engine
from maintenance.assets.register import ensure_asset
from maintenance.pm import service as pm
from maintenance.pm.models import PmOccurrence, PmTriggerKind, ScheduleMode, TimeUnit
from maintenance.shared.db import connect, upgrade
from maintenance.shared.vocabulary import Role
from maintenance.sites.models import Site
from maintenance.work_orders import service as orders
from maintenance.work_orders.models import WorkOrder, WorkOrderType
from tests.conftest import reset_postgres_schema
from tests.integration._pm_helpers import World, approved_plan, draft_plan, pm_world, write_series

T0 = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
#: Plan fields used by several tests: a daily round on the chiller from New Year.
DAILY_ON_CH1: dict[str, object] = {
    "trigger": PmTriggerKind.CALENDAR,
    "interval": 1,
    "unit": TimeUnit.DAY,
    "anchor_local": "2026-01-01T00:00",
    "asset_codes": ["CH-1"],
}
#: The chiller's weekly round, Mondays 09:00 Berlin from Jan 5.
CHILLER_WEEKLY: dict[str, object] = {
    "name": "Chiller weekly",
    "trigger": PmTriggerKind.CALENDAR,
    "interval": 1,
    "unit": TimeUnit.WEEK,
    "anchor_local": "2026-01-05T09:00",
    "asset_codes": ["CH-1"],
    "site_code": "HQ",
}


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    with pm_world(database_url, tmp_path, t0=T0) as world:
        yield world


def _energy(world: World, points: list[tuple[float, float]]) -> None:
    """The main meter's kWh counter: ``(minutes after T0, value)``."""
    write_series(world.readings, "main-meter", "energy", "kWh", T0, points)


def _finish(session: Session, order_id: int, at: datetime) -> None:
    for action in ("assign", "start", "resolve"):
        orders.transition(
            session,
            work_order_id=order_id,
            action=action,
            actor="manager",
            role=Role.MANAGER,
            assignee="manager" if action == "assign" else None,
            now=at,
        )


def _pm_orders(session: Session) -> list[WorkOrder]:
    return list(
        session.scalars(
            sa.select(WorkOrder)
            .where(WorkOrder.order_type == WorkOrderType.PREVENTIVE)
            .order_by(WorkOrder.id)
        )
    )


def test_a_monthly_plan_orders_each_asset_once_per_due_date_lead_days_ahead(world: World) -> None:
    with world.sessions() as s:
        world.approve(
            s,
            name="AHU filters",
            trigger=PmTriggerKind.CALENDAR,
            interval=1,
            unit=TimeUnit.MONTH,
            anchor_local="2026-01-31T08:00",
            asset_type="ahu",
            site_code="HQ",
            lead=3,
            estimated_labour_h=1.5,
        )
        # Jan 31 08:00 Berlin = 07:00 UTC; three days' lead opens Jan 28 07:00 UTC
        assert world.schedule(s, datetime(2026, 1, 28, 6, 59, tzinfo=UTC)) == []
        first = world.schedule(s, datetime(2026, 1, 28, 7, 0, tzinfo=UTC))
        assert [g.due_at for g in first] == [datetime(2026, 1, 31, 7, tzinfo=UTC)] * 2
        again = world.schedule(s, datetime(2026, 1, 29, tzinfo=UTC))
        assert again == []
        february = world.schedule(s, datetime(2026, 2, 26, tzinfo=UTC))
        assert [g.due_at for g in february] == [datetime(2026, 2, 28, 7, tzinfo=UTC)] * 2
        made = _pm_orders(s)
        assert len(made) == 4
        assert {o.asset.code for o in made if o.asset} == {"AHU-1", "AHU-2"}
        assert all(o.title == "PM: AHU filters" and o.created_by == pm.SCHEDULER for o in made)


def test_a_scheduler_that_was_down_orders_only_the_latest_missed_occurrence(world: World) -> None:
    with world.sessions() as s:
        world.approve(s, **CHILLER_WEEKLY)
        made = world.schedule(s, datetime(2026, 2, 10, tzinfo=UTC))
        assert [g.due_at for g in made] == [datetime(2026, 2, 9, 8, tzinfo=UTC)]


def test_a_floating_plan_is_due_an_interval_after_the_last_completion(world: World) -> None:
    with world.sessions() as s:
        world.approve(
            s,
            name="Belt check",
            trigger=PmTriggerKind.CALENDAR,
            interval=10,
            unit=TimeUnit.DAY,
            mode=ScheduleMode.FLOATING,
            anchor_local="2026-01-02T08:00",
            asset_codes=["CH-1"],
            site_code="HQ",
        )
        first = world.schedule(s, datetime(2026, 1, 2, 7, tzinfo=UTC))
        assert len(first) == 1
        # while that order is open nothing more is due, however long it takes
        assert world.schedule(s, datetime(2026, 1, 30, tzinfo=UTC)) == []
        _finish(s, first[0].work_order_id, datetime(2026, 2, 1, 15, 0, tzinfo=UTC))
        assert world.schedule(s, datetime(2026, 2, 11, 14, 59, tzinfo=UTC)) == []
        second = world.schedule(s, datetime(2026, 2, 11, 15, tzinfo=UTC))
        # completed 16:00 Berlin on Feb 1 -> due 16:00 Berlin (15:00 UTC) on Feb 11
        assert [g.due_at for g in second] == [datetime(2026, 2, 11, 15, tzinfo=UTC)]


def test_a_runtime_plan_orders_when_run_hours_from_state_readings_cross_the_interval(
    world: World,
) -> None:
    # a reading every 10 minutes: on for 6 h, offline for 5 h (no readings), on again for 4 h
    pattern = [(m, 1.0) for m in range(0, 361, 10)] + [(m, 1.0) for m in range(660, 901, 10)]
    write_series(world.readings, "ahu-1/fan", "state", "bool", T0, pattern)
    with world.sessions() as s:
        world.approve(
            s,
            name="Fan bearings",
            trigger=PmTriggerKind.RUNTIME,
            interval=8,
            device="ahu-1/fan",
            asset_codes=["AHU-1"],
            max_gap_s=900,
            starts_at=T0,
        )
        # 6 h 15 min (the last sample vouches for 15 min) + 4 h = 10 h 15 min by 15:15
        plan = pm.get_plan(s, plan_id=1)
        progress, _ = pm._progress(plan, world.readings, T0 + timedelta(hours=16))
        assert progress.total == pytest.approx(6.25 + 4.25)
        made = world.schedule(s, T0 + timedelta(hours=16))
        assert [g.occurrence_key for g in made] == ["runtime:1"]
        # 8 h reached at 11:00 + (8 - 6.25) h = 12:45
        assert made[0].due_at == T0 + timedelta(hours=12, minutes=45)
        order = s.get(WorkOrder, made[0].work_order_id)
        assert order is not None and order.asset is not None and order.asset.code == "AHU-1"
        assert world.schedule(s, T0 + timedelta(hours=17)) == []


def test_a_meter_plan_counts_across_a_counter_reset(world: World) -> None:
    _energy(world, [(0, 900.0), (60, 950.0), (120, 990.0), (180, 10.0), (240, 70.0)])
    with world.sessions() as s:
        world.approve(
            s,
            name="Transformer inspection",
            trigger=PmTriggerKind.METER,
            interval=100,
            device="main-meter",
            starts_at=T0,
            lead=20,
        )
        # consumption: 50 + 40 + 10 (reset counts from zero) + 60 = 160 → one occurrence
        made = world.schedule(s, T0 + timedelta(hours=5))
        assert [g.occurrence_key for g in made] == ["meter:1"]
        # with 20 units lead, the second one opens at 180 units
        _energy(world, [(300, 89.0)])
        assert world.schedule(s, T0 + timedelta(hours=6)) == []
        _energy(world, [(330, 91.0)])
        second = world.schedule(s, T0 + timedelta(hours=6))
        assert [g.occurrence_key for g in second] == ["meter:2"]


def test_unapproved_plans_order_nothing(world: World) -> None:
    with world.sessions() as s:
        draft_plan(s, name="Draft", now=T0, **DAILY_ON_CH1)
        assert world.schedule(s, T0 + timedelta(days=3)) == []


def test_forecast_lists_the_next_weeks_of_calendar_and_telemetry_plans(world: World) -> None:
    _energy(world, [(60 * h, 10.0 * h) for h in range(25)])
    with world.sessions() as s:
        world.approve(s, **CHILLER_WEEKLY)
        world.approve(
            s,
            name="Meter",
            trigger=PmTriggerKind.METER,
            interval=1000,
            device="main-meter",
            starts_at=T0,
        )
        items = pm.forecast(s, now=T0 + timedelta(hours=24), weeks=2, readings=world.readings)
        weekly = [i.due_at for i in items if i.plan == "Chiller weekly"]
        assert weekly == [datetime(2026, 1, 5, 8, tzinfo=UTC), datetime(2026, 1, 12, 8, tzinfo=UTC)]
        meter = [i for i in items if i.plan == "Meter"]
        # 10 kWh per hour so far: every 1000 kWh is another 100 h
        assert [i.due_at for i in meter] == [T0 + timedelta(hours=h) for h in (100, 200, 300)]
        assert meter[0].estimated


def test_compliance_counts_on_time_late_and_open_occurrences(world: World) -> None:
    with world.sessions() as s:
        world.approve(s, name="Daily round", grace_h=2, **DAILY_ON_CH1)
        ids = []
        for day in range(3):
            made = world.schedule(s, T0 + timedelta(days=day))
            ids.append(made[0].work_order_id)
        _finish(s, ids[0], T0 + timedelta(hours=1))  # on time (within 2 h grace)
        _finish(s, ids[1], T0 + timedelta(days=1, hours=5))  # late
        result = pm.compliance(
            s, start=T0, end=T0 + timedelta(days=31), now=T0 + timedelta(days=2, hours=12)
        )
        assert (result.due, result.on_time, result.late, result.open) == (3, 1, 1, 1)
        assert result.ratio == pytest.approx(1 / 3)


def test_a_broken_plan_is_skipped_and_the_others_still_run(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    with world.sessions() as s:
        s.add(Site(code="MARS", name="Mars base", timezone="UTC"))
        s.commit()
        world.approve(s, name="Broken", site_code="MARS", **DAILY_ON_CH1)
        world.approve(s, name="Fine", **DAILY_ON_CH1)
        mars = s.scalar(sa.select(Site).where(Site.code == "MARS"))
        assert mars is not None
        mars.timezone = "Mars/Olympus_Mons"  # edited behind the plan's back
        s.commit()
        made = world.schedule(s, T0)
    assert [pm.get_plan(s, plan_id=g.plan_id).name for g in made] == ["Fine"]
    assert "Mars/Olympus_Mons" in caplog.text


def test_plan_validation_names_the_problem(world: World) -> None:
    with world.sessions() as s:
        daily = {**DAILY_ON_CH1, "name": "x", "actor": "m"}
        with pytest.raises(pm.PlanError, match="unknown asset codes: NOPE"):
            draft_plan(s, **{**daily, "asset_codes": ["NOPE"]})
        with pytest.raises(pm.PlanError, match="needs the device"):
            pm.create_plan(s, name="x", trigger=PmTriggerKind.RUNTIME, interval=5, actor="m")
        with pytest.raises(pm.PlanError, match="not a local date-time"):
            draft_plan(s, **{**daily, "anchor_local": "yesterday"})
        with pytest.raises(pm.PlanError, match="whole number"):
            draft_plan(s, **{**daily, "interval": 1.5})


def test_two_schedulers_racing_on_postgresql_create_each_occurrence_once(
    postgres_url: str, tmp_path: Path
) -> None:
    reset_postgres_schema(postgres_url)
    engine, sessions = connect(postgres_url)
    upgrade(engine)
    readings_engine = make_engine(f"sqlite:///{tmp_path / 'readings.db'}")
    store = SqlReadingStore(readings_engine)
    try:
        with sessions() as s:
            for n in range(5):
                ensure_asset(s, code=f"FCU-{n}", asset_type="fcu")
            s.commit()
            approved_plan(
                s,
                now=T0,
                name="FCU filters",
                trigger=PmTriggerKind.CALENDAR,
                interval=1,
                unit=TimeUnit.DAY,
                anchor_local="2026-01-01T00:00",
                asset_type="fcu",
            )
        rounds = 8
        barrier = threading.Barrier(2, timeout=60)
        created: list[list[int]] = [[], []]
        errors: list[BaseException] = []

        def racer(index: int) -> None:
            try:
                for day in range(rounds):
                    barrier.wait()
                    with sessions() as s:
                        made = pm.run_pm_scheduler(s, now=T0 + timedelta(days=day), readings=store)
                    created[index].extend(g.work_order_id for g in made)
            except BaseException as exc:  # reported below, with the thread's traceback
                errors.append(exc)
                barrier.abort()

        threads = [threading.Thread(target=racer, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not errors, errors
        with sessions() as s:
            occurrences = s.scalar(sa.select(sa.func.count()).select_from(PmOccurrence))
            pm_orders = len(_pm_orders(s))
        assert occurrences == pm_orders == 5 * rounds
        assert sorted(created[0] + created[1]) == sorted(set(created[0] + created[1]))
        assert len(created[0]) + len(created[1]) == 5 * rounds
    finally:
        readings_engine.dispose()
        engine.dispose()


class _CountingStore:
    """The reading store, counting the readings a scheduler pass pulls out of it."""

    def __init__(self, store: SqlReadingStore) -> None:
        self.store = store
        self.read = 0

    def query(self, **kwargs: object) -> object:
        page = self.store.query(**kwargs)  # type: ignore[arg-type]
        self.read += len(page.items)
        return page

    def __getattr__(self, name: str) -> object:
        return getattr(self.store, name)


def _telemetry_history(store: SqlReadingStore) -> None:
    """Three days of a fan's state every 5 min (2 h on, 1 h off) with a 6 h offline gap on
    day two, and an energy counter that rolls over at 1000 kWh."""
    batch: list[Reading] = []
    energy = 940.0
    for step in range(3 * 288):
        ts = T0 + timedelta(minutes=5 * step)
        if timedelta(hours=30) <= ts - T0 < timedelta(hours=36):
            continue  # offline: neither state nor energy arrives
        running = 1.0 if (step // 12) % 3 else 0.0
        batch.append(Reading("ahu-1/fan", "state", running, "bool", ts))
        energy += 0.25 + running * 0.5
        if energy >= 1000.0:
            energy -= 1000.0  # the counter rolls over
        batch.append(Reading("meter-1", "energy", round(energy, 3), "kWh", ts))
    store.write(batch)


def test_the_telemetry_checkpoint_gives_the_same_orders_as_counting_from_scratch(
    world: World,
) -> None:
    _telemetry_history(world.readings)
    counting = _CountingStore(world.readings)
    with world.sessions() as s:
        runtime_id = world.approve(
            s,
            name="Fan belts",
            trigger=PmTriggerKind.RUNTIME,
            interval=7,
            lead=1,
            device="ahu-1/fan",
            asset_codes=["AHU-1"],
            max_gap_s=900,
            starts_at=T0,
        )
        meter_id = world.approve(
            s,
            name="Meter check",
            trigger=PmTriggerKind.METER,
            interval=60,
            device="meter-1",
            asset_codes=["CH-1"],
            starts_at=T0,
        )
        expected: dict[str, tuple[str, datetime]] = {}
        made: dict[str, tuple[str, datetime]] = {}
        reads: list[int] = []
        for hour in range(1, 80, 3):
            now = T0 + timedelta(hours=hour, minutes=7)
            for plan_id in (runtime_id, meter_id):
                plan = pm.get_plan(s, plan_id=plan_id)
                scratch, _ = pm._progress(plan, world.readings, now, checkpoint=False)
                resumed, _ = pm._progress(plan, world.readings, now)
                assert resumed.total == pytest.approx(scratch.total, abs=1e-9)
                k = int((scratch.total + plan.lead) / plan.interval + 1e-9)
                key = f"{plan.trigger.value}:{k}"
                if k >= 1 and key not in {v[0] for v in expected.values() if v} | {
                    m[0] for m in made.values()
                }:
                    due = scratch.estimate(k * plan.interval)
                    assert due is not None
                    expected[f"{plan_id}/{key}"] = (key, due)
            counting.read = 0
            for order in pm.run_pm_scheduler(s, now=now, readings=counting):  # type: ignore[arg-type]
                made[f"{order.plan_id}/{order.occurrence_key}"] = (
                    order.occurrence_key,
                    order.due_at,
                )
            reads.append(counting.read)
        assert made.keys() == expected.keys()
        for name, (key, due) in expected.items():
            assert made[name][0] == key
            assert abs((made[name][1] - due).total_seconds()) < 1e-3, name
        assert {k.split("/")[0] for k in made} == {str(runtime_id), str(meter_id)}
        runtime = pm.get_plan(s, plan_id=runtime_id)
        assert runtime.progress_at is not None
        assert runtime.progress_value is not None
        assert runtime.progress_value > 0
    # a pass reads about the last few hours, not the whole history
    assert max(reads[-5:]) < reads[0] + 200
    assert max(reads[-5:]) < 0.2 * 2 * 3 * 288
