"""Preventive maintenance: when a plan is due, and the scheduler pass that orders the work.

Three triggers (one per plan; see :class:`maintenance.models_service.PmPlan`):

* **calendar**: every N days/weeks/months as wall time in the site's zone. *Fixed* plans fall
  on the grid ``anchor + k * interval`` (month steps are taken from the anchor, clamped to the
  month's last day: Jan 31 + 1 month = Feb 28/29, + 2 months = Mar 31). *Floating* plans are
  due ``interval`` after the last completion (``resolved_at`` of the plan's previous order). A
  wall time that does not exist on a DST spring-forward day moves forward by the gap (02:30 →
  03:30); an ambiguous one on the fall-back day is its first occurrence.
* **runtime**: run hours from the device's ``state`` readings (1 = running). A reading vouches
  for the device's state until the next reading, but for at most ``max_gap_s``: silence longer
  than that is an offline period and is not counted as running, whatever the last state was.
* **meter**: a cumulative counter (``energy`` in kWh by default). Consumption is the sum of the
  increases between consecutive readings; a drop means the counter was reset or rolled over,
  and the new value counts from zero.

Occurrence ``k`` of a runtime/meter plan is due when the count since ``starts_at`` reaches
``k * interval``. The scheduler creates the order ``lead`` ahead (days, run hours or counter
units), and never twice for one occurrence: it inserts a :class:`PmOccurrence` first, and the
unique index on (plan, occurrence key) lets exactly one of several racing schedulers through.
A scheduler that was down for several periods creates one order for the latest due occurrence,
not a pile of stale ones.
"""

from __future__ import annotations

import calendar
import logging
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from facility.errors import FacilityError, WorkOrderError
from facility.types import ReadingStore
from maintenance.models import (
    Asset,
    ChecklistTemplate,
    Site,
    WorkOrder,
    WorkOrderSource,
    WorkOrderStatus,
    WorkOrderType,
)
from maintenance.models_service import PmOccurrence, PmPlan, PmTriggerKind, ScheduleMode, TimeUnit
from maintenance.services.work_orders import create_work_order

__all__ = [
    "SCHEDULER",
    "Compliance",
    "ForecastItem",
    "GeneratedOrder",
    "PlanError",
    "PlanNotFound",
    "Progress",
    "add_interval",
    "approve_plan",
    "compliance",
    "create_plan",
    "forecast",
    "get_plan",
    "list_plans",
    "meter_progress",
    "run_pm_scheduler",
    "runtime_progress",
    "to_utc",
]

log = logging.getLogger(__name__)

#: The actor name on generated orders and their audit events.
SCHEDULER = "pm-scheduler"
_DONE = (WorkOrderStatus.RESOLVED, WorkOrderStatus.VERIFIED, WorkOrderStatus.CLOSED)
_APPROX_S = {TimeUnit.DAY: 86400.0, TimeUnit.WEEK: 7 * 86400.0, TimeUnit.MONTH: 30.436875 * 86400}
_PAGE = 5000


class PlanError(FacilityError):
    """A plan is malformed; the message names the field and what to send."""


class PlanNotFound(PlanError):
    """No plan with that id."""


# -- pure calendar arithmetic ---------------------------------------------------------------------
def add_interval(local: datetime, count: int, unit: TimeUnit) -> datetime:
    """``local`` plus ``count`` days/weeks/months of wall time; months clamp to the month end."""
    if unit is TimeUnit.DAY:
        return local + timedelta(days=count)
    if unit is TimeUnit.WEEK:
        return local + timedelta(weeks=count)
    months = local.year * 12 + (local.month - 1) + count
    year, month = divmod(months, 12)
    day = min(local.day, calendar.monthrange(year, month + 1)[1])
    return local.replace(year=year, month=month + 1, day=day)


def to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    """Wall time in ``zone`` → UTC (gap: moved forward by the gap; fold: first occurrence)."""
    return local.replace(tzinfo=zone, fold=0).astimezone(UTC)


def calendar_due(
    anchor: datetime, k: int, interval: int, unit: TimeUnit, zone: ZoneInfo
) -> datetime:
    """The UTC instant of the fixed grid's ``k``-th due date (``k = 0`` is the anchor)."""
    return to_utc(add_interval(anchor, k * interval, unit), zone)


def latest_fixed_occurrence(
    anchor: datetime, interval: int, unit: TimeUnit, zone: ZoneInfo, *, until: datetime
) -> int | None:
    """The largest ``k`` whose due date is at or before ``until``; None before the anchor."""
    first = calendar_due(anchor, 0, interval, unit, zone)
    if first > until:
        return None
    k = max(0, int((until - first).total_seconds() // (_APPROX_S[unit] * interval)) - 1)
    while calendar_due(anchor, k + 1, interval, unit, zone) <= until:
        k += 1
    while k > 0 and calendar_due(anchor, k, interval, unit, zone) > until:
        k -= 1
    return k


# -- pure telemetry arithmetic --------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Progress:
    """A cumulative count (run hours, counter units) as breakpoints, linear in between."""

    points: tuple[tuple[datetime, float], ...]
    start: datetime
    end: datetime

    @property
    def total(self) -> float:
        return self.points[-1][1] if self.points else 0.0

    def reached_at(self, threshold: float) -> datetime | None:
        """When the count reached ``threshold``; None if it has not (yet)."""
        if threshold <= 0:
            return self.start
        previous: tuple[datetime, float] | None = None
        for ts, value in self.points:
            if value >= threshold:
                if previous is None or value == previous[1]:
                    return ts
                share = (threshold - previous[1]) / (value - previous[1])
                return previous[0] + (ts - previous[0]) * share
            previous = (ts, value)
        return None

    def estimate(self, threshold: float) -> datetime | None:
        """When the count will reach ``threshold`` at the average rate from the start to the
        latest counted instant; None if nothing has been counted yet."""
        reached = self.reached_at(threshold)
        if reached is not None:
            return reached
        if not self.points:
            return None
        last = self.points[-1][0]
        elapsed = (last - self.start).total_seconds()
        if self.total <= 0 or elapsed <= 0:
            return None
        rate = self.total / elapsed
        return last + timedelta(seconds=(threshold - self.total) / rate)


def runtime_progress(
    samples: Iterable[tuple[datetime, float]],
    *,
    start: datetime,
    end: datetime,
    max_gap_s: float,
) -> Progress:
    """Run hours between ``start`` and ``end`` from ``state`` samples in time order.

    A sample with value >= 0.5 (running) counts from its timestamp until the next sample, but
    for at most ``max_gap_s`` (longer silence is an offline period). A sample before ``start``
    still vouches for the time after ``start`` within its window.
    """
    gap = timedelta(seconds=max_gap_s)
    points: list[tuple[datetime, float]] = []
    total_h = 0.0
    previous: tuple[datetime, float] | None = None

    def close(ts0: datetime, value: float, next_ts: datetime) -> None:
        nonlocal total_h
        if value < 0.5:
            return
        lo, hi = max(ts0, start), min(next_ts, ts0 + gap, end)
        if hi > lo:
            total_h += (hi - lo).total_seconds() / 3600.0
            points.append((lo, points[-1][1] if points else 0.0))
            points.append((hi, total_h))

    for ts, value in samples:
        if ts > end:
            break
        if previous is not None:
            close(previous[0], previous[1], ts)
        previous = (ts, value)
    if previous is not None:
        close(previous[0], previous[1], end)
    return Progress(tuple(points), start, end)


def meter_progress(
    samples: Iterable[tuple[datetime, float]], *, start: datetime, end: datetime
) -> Progress:
    """Consumption of a cumulative counter from its first sample at or after ``start``.

    Increases add up; a drop is a reset or roll-over, and the new value counts from zero.
    """
    points: list[tuple[datetime, float]] = []
    total = 0.0
    previous: float | None = None
    for ts, value in samples:
        if ts < start:
            continue
        if ts > end:
            break
        if previous is not None:
            total += value - previous if value >= previous else value
        previous = value
        points.append((ts, total))
    return Progress(tuple(points), start, end)


# -- plans ----------------------------------------------------------------------------------------
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise PlanError(
            f"time zone {name[:64]!r} is unknown; use an IANA name such as Europe/Berlin"
        ) from exc


def _parse_anchor(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise PlanError(
            f"anchor {value[:40]!r} is not a local date-time; send e.g. 2026-01-31T08:00"
        ) from None
    if parsed.tzinfo is not None:
        raise PlanError("anchor is wall time in the site's zone; send it without an offset")
    return parsed


def create_plan(
    session: Session,
    *,
    name: str,
    trigger: PmTriggerKind,
    interval: float,
    actor: str,
    description: str = "",
    asset_codes: Sequence[str] = (),
    asset_type: str | None = None,
    site_code: str | None = None,
    checklist_template_id: int | None = None,
    estimated_labour_h: float = 0.0,
    unit: TimeUnit | None = None,
    mode: ScheduleMode = ScheduleMode.FIXED,
    anchor_local: str | None = None,
    device: str | None = None,
    metric: str | None = None,
    max_gap_s: float = 900.0,
    lead: float = 0.0,
    grace_h: float = 24.0,
    starts_at: datetime | None = None,
    now: datetime | None = None,
) -> PmPlan:
    """Validate and store a plan (not yet approved: the scheduler ignores it until then)."""
    now = now or datetime.now(UTC)
    if interval <= 0 or not math.isfinite(interval):
        raise PlanError(f"interval must be a positive number, got {interval!r}")
    if lead < 0:
        raise PlanError("lead must not be negative")
    site: Site | None = None
    if site_code is not None:
        site = session.scalar(sa.select(Site).where(Site.code == site_code))
        if site is None:
            raise PlanError(f"site {site_code[:64]!r} does not exist")
        _zone(site.timezone)
    codes = list(dict.fromkeys(asset_codes))
    if codes:
        found = set(session.scalars(sa.select(Asset.code).where(Asset.code.in_(codes))))
        missing = [c for c in codes if c not in found]
        if missing:
            raise PlanError(f"unknown asset codes: {', '.join(m[:64] for m in missing[:5])}")
    if (
        checklist_template_id is not None
        and session.get(ChecklistTemplate, checklist_template_id) is None
    ):
        raise PlanError(f"checklist template {checklist_template_id} does not exist")
    if trigger is PmTriggerKind.CALENDAR:
        if unit is None or anchor_local is None:
            raise PlanError("a calendar plan needs unit (day|week|month) and anchor_local")
        if interval != int(interval):
            raise PlanError("a calendar plan's interval is a whole number of days/weeks/months")
        if not codes and not asset_type:
            raise PlanError("a calendar plan names asset_codes or an asset_type")
        _parse_anchor(anchor_local)
        metric = None
    else:
        if not device:
            raise PlanError(f"a {trigger.value} plan needs the device whose readings drive it")
        if len(codes) > 1 or asset_type:
            raise PlanError(f"a {trigger.value} plan follows one device: name at most one asset")
        metric = "state" if trigger is PmTriggerKind.RUNTIME else (metric or "energy")
        if max_gap_s <= 0:
            raise PlanError("max_gap_s must be positive")
    if session.scalar(sa.select(PmPlan.id).where(PmPlan.name == name)) is not None:
        raise PlanError(f"a plan named {name[:80]!r} exists; pick another name")
    plan = PmPlan(
        name=name,
        description=description,
        asset_codes=codes,
        asset_type=asset_type,
        site_id=site.id if site else None,
        checklist_template_id=checklist_template_id,
        estimated_labour_h=estimated_labour_h,
        trigger=trigger,
        interval=interval,
        unit=unit if trigger is PmTriggerKind.CALENDAR else None,
        mode=mode,
        anchor_local=anchor_local if trigger is PmTriggerKind.CALENDAR else None,
        device=device if trigger is not PmTriggerKind.CALENDAR else None,
        metric=metric,
        max_gap_s=max_gap_s,
        lead=lead,
        grace_h=grace_h,
        starts_at=starts_at or now,
        created_by=actor,
        created_at=now,
    )
    session.add(plan)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise PlanError(f"a plan named {name[:80]!r} exists; pick another name") from None
    return plan


def get_plan(session: Session, *, plan_id: int) -> PmPlan:
    plan = session.get(PmPlan, plan_id)
    if plan is None:
        raise PlanNotFound(f"plan {plan_id} does not exist; GET /api/v1/pm/plans lists them")
    return plan


def list_plans(session: Session, *, limit: int = 100, offset: int = 0) -> tuple[list[PmPlan], int]:
    total = session.scalar(sa.select(sa.func.count()).select_from(PmPlan)) or 0
    plans = session.scalars(sa.select(PmPlan).order_by(PmPlan.id).limit(limit).offset(offset))
    return list(plans), total


def approve_plan(
    session: Session, *, plan_id: int, actor: str, now: datetime | None = None
) -> PmPlan:
    """A manager's go: from now on the scheduler generates the plan's orders."""
    plan = get_plan(session, plan_id=plan_id)
    plan.approved_by = actor
    plan.approved_at = now or datetime.now(UTC)
    session.commit()
    return plan


# -- the scheduler pass ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class GeneratedOrder:
    plan_id: int
    occurrence_key: str
    due_at: datetime
    work_order_id: int


@dataclass(frozen=True, slots=True)
class _Due:
    """A due occurrence the scheduler may order (or the forecast shows)."""

    key: str
    due_at: datetime
    asset: Asset | None
    order_at: datetime | None  # when the lead window opens; None for telemetry plans
    estimated: bool = False


def _plan_zone(session: Session, plan: PmPlan) -> ZoneInfo:
    site = session.get(Site, plan.site_id) if plan.site_id else None
    return _zone(site.timezone if site else "UTC")


def _plan_assets(session: Session, plan: PmPlan) -> list[Asset]:
    query = sa.select(Asset).order_by(Asset.code)
    if plan.asset_codes:
        query = query.where(Asset.code.in_(plan.asset_codes))
    elif plan.asset_type:
        query = query.where(Asset.asset_type == plan.asset_type)
        if plan.site_id is not None:
            query = query.where(Asset.site_id == plan.site_id)
    else:
        return []
    return list(session.scalars(query))


def _samples(
    readings: ReadingStore, device: str, metric: str, start: datetime, end: datetime
) -> Iterator[tuple[datetime, float]]:
    cursor: str | None = None
    while True:
        page = readings.query(
            device=device, metric=metric, start=start, end=end, limit=_PAGE, cursor=cursor
        )
        for reading in page.items:
            yield reading.ts, reading.value
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def _progress(plan: PmPlan, readings: ReadingStore, now: datetime) -> Progress:
    assert plan.device is not None
    assert plan.metric is not None
    if plan.trigger is PmTriggerKind.RUNTIME:
        lookback = plan.starts_at - timedelta(seconds=plan.max_gap_s)
        samples = _samples(readings, plan.device, plan.metric, lookback, now)
        return runtime_progress(samples, start=plan.starts_at, end=now, max_gap_s=plan.max_gap_s)
    samples = _samples(readings, plan.device, plan.metric, plan.starts_at, now)
    return meter_progress(samples, start=plan.starts_at, end=now)


def _calendar_dues(session: Session, plan: PmPlan, asset: Asset, *, until: datetime) -> list[_Due]:
    """The latest occurrence whose lead window opened by ``until`` (empty if none yet)."""
    zone = _plan_zone(session, plan)
    assert plan.anchor_local is not None
    assert plan.unit is not None
    anchor = _parse_anchor(plan.anchor_local)
    interval = int(plan.interval)
    lead = timedelta(days=plan.lead)
    if plan.mode is ScheduleMode.FIXED:
        k = latest_fixed_occurrence(anchor, interval, plan.unit, zone, until=until + lead)
        if k is None:
            return []
        local = add_interval(anchor, k * interval, plan.unit)
        due = to_utc(local, zone)
        key = f"a{asset.id}@{local.isoformat(timespec='minutes')}"
        return [_Due(key, due, asset, due - lead)]
    history = session.execute(
        sa.select(PmOccurrence.id, WorkOrder.status, WorkOrder.resolved_at)
        .join(WorkOrder, WorkOrder.id == PmOccurrence.work_order_id, isouter=True)
        .where(PmOccurrence.plan_id == plan.id, PmOccurrence.asset_id == asset.id)
        .order_by(PmOccurrence.id)
    ).all()
    if history and history[-1].status not in (*_DONE, WorkOrderStatus.CANCELLED):
        return []  # the previous order is still open: the next one floats on its completion
    completions = [row.resolved_at for row in history if row.status in _DONE and row.resolved_at]
    if completions:
        base_local = max(completions).astimezone(zone).replace(tzinfo=None)
        local = add_interval(base_local, interval, plan.unit)
    else:
        local = anchor
    due = to_utc(local, zone)
    if due - lead > until:
        return []
    return [_Due(f"a{asset.id}#{len(history) + 1}", due, asset, due - lead)]


def _telemetry_due(
    session: Session, plan: PmPlan, readings: ReadingStore, now: datetime
) -> tuple[Progress, int, Asset | None]:
    progress = _progress(plan, readings, now)
    assets = _plan_assets(session, plan)
    k = math.floor((progress.total + plan.lead) / plan.interval + 1e-9)
    return progress, k, assets[0] if assets else None


def _generate(session: Session, plan: PmPlan, due: _Due, *, now: datetime) -> GeneratedOrder | None:
    """Claim the occurrence, then create its order in the same transaction; None if taken."""
    occurrence = PmOccurrence(
        plan_id=plan.id,
        occurrence_key=due.key,
        asset_id=due.asset.id if due.asset else None,
        due_at=due.due_at,
        generated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(occurrence)
            session.flush()
    except IntegrityError:
        return None  # another scheduler pass (or process) has this occurrence
    description = (
        f"Preventive maintenance from plan {plan.name!r} ({plan.trigger.value}), "
        f"due {due.due_at.isoformat(timespec='minutes')}; "
        f"estimated labour {plan.estimated_labour_h:g} h."
    )
    if plan.checklist_template_id is not None:
        description += f" Checklist template #{plan.checklist_template_id}."
    if plan.description:
        description += "\n\n" + plan.description
    order, _ = create_work_order(
        session,
        title=f"PM: {plan.name}"[:200],
        actor=SCHEDULER,
        description=description,
        asset_code=due.asset.code if due.asset else None,
        order_type=WorkOrderType.PREVENTIVE,
        source=WorkOrderSource.API,
        idempotency_key=f"pm:{plan.id}:{due.key}",
        create_asset=False,
        now=now,
    )  # commits the occurrence together with the order
    occurrence.work_order_id = order.id
    session.commit()
    return GeneratedOrder(plan.id, due.key, due.due_at, order.id)


def _active_plans(session: Session) -> list[PmPlan]:
    return list(
        session.scalars(
            sa.select(PmPlan)
            .where(PmPlan.active.is_(True), PmPlan.approved_at.is_not(None))
            .order_by(PmPlan.id)
        )
    )


def run_pm_scheduler(
    session: Session, *, now: datetime, readings: ReadingStore
) -> list[GeneratedOrder]:
    """One pass over every approved, active plan; returns the orders this pass created.

    Safe to run as often as wanted and from several processes at once: an occurrence already
    ordered (by this or another pass) is skipped at the unique index.
    """
    generated: list[GeneratedOrder] = []
    for plan in _active_plans(session):
        plan_id, name = plan.id, plan.name
        try:
            generated.extend(_schedule_plan(session, plan, now=now, readings=readings))
        except (PlanError, WorkOrderError) as exc:
            # one broken plan (its site's zone or asset removed) must not stop the others
            session.rollback()
            log.warning("PM plan %s (%s) skipped: %s", plan_id, name, exc)
    return generated


def _schedule_plan(
    session: Session, plan: PmPlan, *, now: datetime, readings: ReadingStore
) -> list[GeneratedOrder]:
    generated: list[GeneratedOrder] = []
    dues: list[_Due] = []
    if plan.trigger is PmTriggerKind.CALENDAR:
        for asset in _plan_assets(session, plan):
            dues.extend(_calendar_dues(session, plan, asset, until=now))
    else:
        progress, k, device_asset = _telemetry_due(session, plan, readings, now)
        if k >= 1:
            due_at = progress.estimate(k * plan.interval) or now
            dues.append(_Due(f"{plan.trigger.value}:{k}", due_at, device_asset, None))
    for due in dues:
        result = _generate(session, plan, due, now=now)
        if result is not None:
            log.info(
                "PM plan %s: ordered occurrence %s as #%s", plan.id, due.key, result.work_order_id
            )
            generated.append(result)
    return generated


# -- forecast and compliance ----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ForecastItem:
    plan_id: int
    plan: str
    trigger: PmTriggerKind
    asset: str | None
    due_at: datetime
    #: True for telemetry plans: the date is extrapolated from the average rate so far.
    estimated: bool
    estimated_labour_h: float
    work_order_id: int | None


def _ordered(session: Session, plan_id: int) -> dict[str, int | None]:
    rows = session.execute(
        sa.select(PmOccurrence.occurrence_key, PmOccurrence.work_order_id).where(
            PmOccurrence.plan_id == plan_id
        )
    )
    return {key: order_id for key, order_id in rows}


def forecast(
    session: Session, *, now: datetime, weeks: int, readings: ReadingStore
) -> list[ForecastItem]:
    """Every PM occurrence due between now and ``weeks`` ahead, in due order."""
    horizon = now + timedelta(weeks=weeks)
    items: list[ForecastItem] = []
    for plan in _active_plans(session):
        ordered = _ordered(session, plan.id)

        def add(
            key: str,
            due_at: datetime,
            asset: Asset | None,
            estimated: bool = False,
            plan: PmPlan = plan,
            ordered: dict[str, int | None] = ordered,
        ) -> None:
            items.append(
                ForecastItem(
                    plan.id,
                    plan.name,
                    plan.trigger,
                    asset.code if asset else None,
                    due_at,
                    estimated,
                    plan.estimated_labour_h,
                    ordered.get(key),
                )
            )

        if plan.trigger is PmTriggerKind.CALENDAR:
            assert plan.anchor_local is not None
            assert plan.unit is not None
            zone = _plan_zone(session, plan)
            anchor = _parse_anchor(plan.anchor_local)
            interval = int(plan.interval)
            for asset in _plan_assets(session, plan):
                if plan.mode is ScheduleMode.FLOATING:
                    for due in _calendar_dues(session, plan, asset, until=horizon):
                        if due.due_at >= now or due.key not in ordered:
                            add(due.key, due.due_at, asset)
                    continue
                k = latest_fixed_occurrence(anchor, interval, plan.unit, zone, until=now)
                k = 0 if k is None else k + 1
                while (due_at := calendar_due(anchor, k, interval, plan.unit, zone)) <= horizon:
                    local = add_interval(anchor, k * interval, plan.unit)
                    add(f"a{asset.id}@{local.isoformat(timespec='minutes')}", due_at, asset)
                    k += 1
        else:
            progress, _, device_asset = _telemetry_due(session, plan, readings, now)
            k = math.floor(progress.total / plan.interval + 1e-9) + 1
            while (when := progress.estimate(k * plan.interval)) is not None and when <= horizon:
                add(f"{plan.trigger.value}:{k}", when, device_asset, estimated=True)
                k += 1
                if len(items) > 10_000:
                    break
    return sorted(items, key=lambda item: (item.due_at, item.plan_id, item.asset or ""))


@dataclass(frozen=True, slots=True)
class Compliance:
    """PM compliance over a period: occurrences due in it, and those done on time."""

    due: int
    on_time: int
    late: int
    open: int

    @property
    def ratio(self) -> float | None:
        return self.on_time / self.due if self.due else None


def compliance(session: Session, *, start: datetime, end: datetime, now: datetime) -> Compliance:
    """Due = occurrences with a due date in [start, min(end, now)); on time = resolved by
    due + the plan's grace; late = resolved after that; open = not resolved (yet)."""
    rows = session.execute(
        sa.select(PmOccurrence.due_at, PmPlan.grace_h, WorkOrder.resolved_at, WorkOrder.status)
        .join(PmPlan, PmPlan.id == PmOccurrence.plan_id)
        .join(WorkOrder, WorkOrder.id == PmOccurrence.work_order_id, isouter=True)
        .where(PmOccurrence.due_at >= start, PmOccurrence.due_at < min(end, now))
    ).all()
    on_time = late = still_open = 0
    for due_at, grace_h, resolved_at, status in rows:
        if resolved_at is None or status is WorkOrderStatus.CANCELLED:
            still_open += 1
        elif resolved_at <= due_at + timedelta(hours=grace_h):
            on_time += 1
        else:
            late += 1
    return Compliance(len(rows), on_time, late, still_open)
