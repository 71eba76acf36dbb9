"""Preventive maintenance: when a plan is due, and the scheduler pass that orders the work.

Three triggers (one per plan; see :class:`maintenance.pm.models.PmPlan`):

* **calendar**: every N days/weeks/months as wall time in the site's zone. *Fixed* plans fall
  on the grid ``anchor + k * interval`` (month steps are taken from the anchor, clamped to the
  month's last day: Jan 31 + 1 month = Feb 28/29, + 2 months = Mar 31). *Floating* plans are
  due ``interval`` after the last completion (``resolved_at`` of the plan's previous order). A
  wall time that does not exist on a DST spring-forward day moves forward by the gap (02:30 →
  03:30); an ambiguous one on the fall-back day is its first occurrence.
* **runtime**: run hours from the device's ``state`` readings (1 = running; another boolean
  metric such as an air handler's ``fan`` when the plan names it). A reading vouches
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

Two more triggers:

* **cron**: a five-field cron expression evaluated on the site's wall clock, ``lead`` in days.
  On a spring-forward day a job inside the skipped hour runs once, moved forward by the gap
  (02:30 → 03:30); on a fall-back day a job inside the repeated hour runs once, at its first
  occurrence (an hourly job does not run twice in the doubled hour).
* **condition**: a rule of the rules engine. When that rule's alert opens an order for an
  asset the plan covers, :func:`apply_condition_plan` turns it into this plan's preventive
  order (its checklist and parts) instead of a plain corrective one; the one-open-order-per-
  (rule, asset) guarantee stays with the work-order service.

Runtime and meter plans keep a checkpoint (``progress_at/progress_value/progress_state``): the
usage counted up to a reading somewhat in the past (``max(max_gap_s, 15 min)`` behind the pass,
so readings that arrive a little late still count) and what must be carried over that reading.
A pass reads only the telemetry after it, and the result equals the from-scratch count.
Readings that arrive later than that settle window, stamped before the checkpoint, are not
counted.

Plans may list ``parts``; each generated order reserves them (see
:func:`maintenance.inventory.service.reserve_parts`).
"""

from __future__ import annotations

import calendar
import logging
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from croniter import croniter
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from facility.core.errors import (
    ConfigError,
    Conflict,
    Invalid,
    NotFound,
    WorkOrderError,
)
from facility.core.types import ReadingStore
from maintenance.assets.models import Asset
from maintenance.inventory import service as inventory
from maintenance.pm.models import PmOccurrence, PmPlan, PmTriggerKind, ScheduleMode, TimeUnit
from maintenance.sites.models import Site
from maintenance.work_orders.events import OrderOpened
from maintenance.work_orders.models import (
    ChecklistItem,
    ChecklistTemplate,
    WorkOrder,
    WorkOrderSource,
    WorkOrderStatus,
    WorkOrderType,
)
from maintenance.work_orders.service import create_work_order, record_event

__all__ = [
    "SCHEDULER",
    "Compliance",
    "CronExpressionError",
    "ForecastItem",
    "GeneratedOrder",
    "PlanError",
    "PlanNotFound",
    "Progress",
    "add_interval",
    "apply_condition_plan",
    "approve_plan",
    "compliance",
    "condition_plan_for",
    "create_plan",
    "cron_occurrences",
    "forecast",
    "get_plan",
    "list_plans",
    "meter_progress",
    "on_order_opened_by_rule",
    "run_pm_scheduler",
    "runtime_progress",
    "to_utc",
    "validate_cron",
]

log = logging.getLogger(__name__)

#: The actor name on generated orders and their audit events.
SCHEDULER = "pm-scheduler"
_DONE = (WorkOrderStatus.RESOLVED, WorkOrderStatus.VERIFIED, WorkOrderStatus.CLOSED)
_APPROX_S = {TimeUnit.DAY: 86400.0, TimeUnit.WEEK: 7 * 86400.0, TimeUnit.MONTH: 30.436875 * 86400}
_PAGE = 5000


class PlanError(Invalid):
    """A plan is malformed; the message names the field and what to send."""


class PlanNotFound(PlanError, NotFound):
    """No plan with that id."""


class PlanConflict(PlanError, Conflict):
    """A plan with that name exists already."""


class CronExpressionError(PlanError, ConfigError):
    """A cron expression that is not five valid fields (a plan error and a config error)."""


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


# -- pure cron arithmetic -------------------------------------------------------------------------
_CRON_MAX_LEN = 120


def validate_cron(expression: str) -> str:
    """The expression, whitespace-normalised, if it is five valid cron fields; else raise."""
    fields = expression.split()
    if len(expression) > _CRON_MAX_LEN or len(fields) != 5:
        raise CronExpressionError(
            f"cron {expression[:40]!r} must be five fields (minute hour day month weekday), "
            "e.g. '30 2 * * 1' for Mondays at 02:30"
        )
    normal = " ".join(fields)
    try:
        valid = croniter.is_valid(normal)
        if valid:  # a date that never comes (Feb 30) is valid syntax but never runs
            croniter(normal, datetime(2000, 1, 1)).get_next(datetime)
    except Exception:  # croniter's own errors, raised past is_valid for impossible dates
        valid = False
    if not valid:
        raise CronExpressionError(
            f"cron {normal[:40]!r} is not a valid expression; e.g. '0 6 1 * *' runs at 06:00 on "
            "the first of each month"
        )
    return normal


def cron_occurrences(
    expression: str, zone: ZoneInfo, *, after: datetime, until: datetime, limit: int = 10_000
) -> Iterator[tuple[datetime, datetime]]:
    """(local wall time, UTC instant) of each run in (``after``, ``until``], in order.

    The expression is evaluated on naive wall time, so DST never moves a run; each wall time
    then becomes an instant with :func:`to_utc`. A run inside the spring-forward gap moves
    forward by the gap; when that lands on (or before) a run already given, it is dropped, so
    every instant runs once. The fall-back hour's wall times are visited once, at their first
    occurrence.
    """
    start_local = after.astimezone(zone).replace(tzinfo=None)
    runs = croniter(expression, start_local - timedelta(hours=3))
    last_utc: datetime | None = None
    for _ in range(limit * 4):
        local = runs.get_next(datetime)
        instant = to_utc(local, zone)
        if instant > until:
            return
        if instant <= after or (last_utc is not None and instant <= last_utc):
            continue
        last_utc = instant
        yield local, instant
        limit -= 1
        if limit <= 0:
            return


def latest_cron_occurrence(
    expression: str, zone: ZoneInfo, *, until: datetime
) -> tuple[datetime, datetime] | None:
    """The last run at or before ``until`` (within the past 400 days), or None."""
    start_local = (until + timedelta(hours=3)).astimezone(zone).replace(tzinfo=None)
    runs = croniter(expression, start_local)
    for _ in range(10_000):
        local = runs.get_prev(datetime)
        instant = to_utc(local, zone)
        if instant <= until:
            return local, instant
        if until - instant > timedelta(days=400):
            break
    return None


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
        # float sums drift by ~1e-15 per addition: a count that should land exactly on the
        # threshold must not miss it (and then wait through an idle period) by rounding
        reached = threshold - 1e-9 * max(1.0, threshold)
        for ts, value in self.points:
            if value >= reached:
                if previous is None or value == previous[1]:
                    return ts
                share = min(1.0, max(0.0, (threshold - previous[1]) / (value - previous[1])))
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
    actor: str,
    interval: float = 1.0,
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
    cron: str | None = None,
    rule: str | None = None,
    parts: Sequence[Mapping[str, Any]] = (),
    now: datetime | None = None,
) -> PmPlan:
    """Validate and store a plan (not yet approved: the scheduler ignores it until then).

    ``interval`` counts days/weeks/months (calendar), run hours (runtime) or counter units
    (meter); cron plans take ``cron`` and condition plans ``rule`` instead. ``parts`` are
    reserved for every order the plan generates.
    """
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
    try:
        parts_list = inventory.validate_parts(session, parts)
    except inventory.StockError as exc:
        raise PlanError(f"parts: {exc}") from None
    if trigger is PmTriggerKind.CRON:
        if not cron:
            raise PlanError("a cron plan needs cron, e.g. '0 6 * * 1' (Mondays 06:00)")
        cron = validate_cron(cron)
        if not codes and not asset_type:
            raise PlanError("a cron plan names asset_codes or an asset_type")
        metric = None
    elif trigger is PmTriggerKind.CONDITION:
        if not rule or not rule.strip() or len(rule) > 100:
            raise PlanError("a condition plan needs rule: the name of a rule (up to 100 chars)")
        rule = rule.strip()
        metric = None
    elif trigger is PmTriggerKind.CALENDAR:
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
        # runtime: a boolean "running" metric, ``state`` unless the device reports e.g. ``fan``
        metric = metric or ("state" if trigger is PmTriggerKind.RUNTIME else "energy")
        if max_gap_s <= 0:
            raise PlanError("max_gap_s must be positive")
    if session.scalar(sa.select(PmPlan.id).where(PmPlan.name == name)) is not None:
        raise PlanConflict(f"a plan named {name[:80]!r} exists; pick another name")
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
        device=device if trigger in (PmTriggerKind.RUNTIME, PmTriggerKind.METER) else None,
        metric=metric,
        max_gap_s=max_gap_s,
        lead=lead,
        grace_h=grace_h,
        starts_at=starts_at or now,
        cron=cron if trigger is PmTriggerKind.CRON else None,
        rule=rule if trigger is PmTriggerKind.CONDITION else None,
        parts=parts_list,
        created_by=actor,
        created_at=now,
    )
    session.add(plan)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise PlanConflict(f"a plan named {name[:80]!r} exists; pick another name") from None
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


def _subtree_ids(session: Session, codes: Sequence[str]) -> set[int]:
    """The ids of the assets named and of everything below them in the tree."""
    found = set(session.scalars(sa.select(Asset.id).where(Asset.code.in_(codes))))
    frontier = set(found)
    while frontier:  # one query per tree level (site → building → floor → zone → equipment)
        below = set(session.scalars(sa.select(Asset.id).where(Asset.parent_id.in_(frontier))))
        frontier = below - found
        found |= frontier
    return found


def _plan_assets(session: Session, plan: PmPlan) -> list[Asset]:
    """What a plan services: its assets; its asset type within the places it names (a zone,
    a floor, a building: everything of that type below them); or its type at its site."""
    query = sa.select(Asset).order_by(Asset.code)
    if plan.asset_codes and plan.asset_type:
        ids = _subtree_ids(session, plan.asset_codes)
        query = query.where(Asset.id.in_(ids), Asset.asset_type == plan.asset_type)
    elif plan.asset_codes:
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


@dataclass(frozen=True, slots=True)
class _Checkpoint:
    """Usage counted up to one reading, and what a later pass must carry over from it."""

    #: The carried reading: it vouches for the state after it (runtime) or is the counter's
    #: last value (meter); the count up to its timestamp is ``value``.
    sample: tuple[datetime, float]
    value: float
    #: When the count last rose (the extrapolated forecast measures the rate up to there).
    last_point: datetime | None


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _plan_signature(plan: PmPlan) -> dict[str, Any]:
    return {
        "device": plan.device,
        "metric": plan.metric,
        "starts_at": _utc(plan.starts_at).isoformat(),
        "max_gap_s": plan.max_gap_s,
    }


def _load_checkpoint(plan: PmPlan, now: datetime) -> _Checkpoint | None:
    """The plan's checkpoint if it still describes this plan and lies before ``now``."""
    state = plan.progress_state
    if plan.progress_at is None or plan.progress_value is None or not isinstance(state, dict):
        return None
    try:
        if state.get("plan") != _plan_signature(plan):
            return None  # device, metric or start changed since: count from scratch
        at = datetime.fromisoformat(str(state["ts"]))
        last = state.get("last_point_at")
        checkpoint = _Checkpoint(
            (at, float(state["value"])),
            float(plan.progress_value),
            datetime.fromisoformat(last) if isinstance(last, str) else None,
        )
    except (KeyError, TypeError, ValueError):
        return None
    if at > now or at < _utc(plan.starts_at):
        return None
    return checkpoint


def _save_checkpoint(plan: PmPlan, checkpoint: _Checkpoint) -> None:
    at, value = checkpoint.sample
    plan.progress_at = at
    plan.progress_value = checkpoint.value
    plan.progress_state = {
        "ts": at.isoformat(),
        "value": value,
        "last_point_at": checkpoint.last_point.isoformat() if checkpoint.last_point else None,
        "plan": _plan_signature(plan),
    }


def _count(
    plan: PmPlan, samples: Sequence[tuple[datetime, float]], start: datetime, end: datetime
) -> Progress:
    if plan.trigger is PmTriggerKind.RUNTIME:
        return runtime_progress(samples, start=start, end=end, max_gap_s=plan.max_gap_s)
    return meter_progress(samples, start=start, end=end)


def _progress(
    plan: PmPlan, readings: ReadingStore, now: datetime, *, checkpoint: bool = True
) -> tuple[Progress, _Checkpoint | None]:
    """Usage since ``starts_at`` up to ``now``, and the checkpoint to keep for the next pass.

    With a checkpoint only readings after its carried reading are read; the count is split at
    the last reading before the settle window (``max(max_gap_s, 15 min)`` before ``now``) into
    the part that becomes the new checkpoint and the part that is counted again next time.
    Both parts are the pure functions above on consecutive slices, so the sum equals the
    from-scratch count (runtime: a reading's window never reaches past the next reading;
    meter: the carried reading is the counter value the next increase is measured from).
    """
    assert plan.device is not None
    assert plan.metric is not None
    starts_at = _utc(plan.starts_at)
    saved = _load_checkpoint(plan, now) if checkpoint else None
    if saved is not None:
        start, base = saved.sample[0], saved.value
        read_from = start
    else:
        start, base = starts_at, 0.0
        runtime = plan.trigger is PmTriggerKind.RUNTIME
        read_from = starts_at - timedelta(seconds=plan.max_gap_s) if runtime else starts_at
    samples = list(_samples(readings, plan.device, plan.metric, read_from, now))
    if saved is not None:
        samples = [saved.sample, *(s for s in samples if s[0] > start)]
    settle = now - timedelta(seconds=max(plan.max_gap_s, 900.0))
    split: int | None = None
    for index in range(len(samples) - 1, -1, -1):
        if samples[index][0] <= settle:
            split = index if samples[index][0] >= start else None
            break
    points: list[tuple[datetime, float]] = []
    if saved is not None and saved.last_point is not None:
        points.append((saved.last_point, base))
    new: _Checkpoint | None = None
    if split is not None:
        cut = samples[split][0]
        head = _count(plan, samples[: split + 1], start, cut)
        points.extend((ts, base + value) for ts, value in head.points)
        base += head.total
        last_point = head.points[-1][0] if head.points else (saved.last_point if saved else None)
        new = _Checkpoint(samples[split], base, last_point)
        tail = _count(plan, samples[split:], cut, now)
    else:
        tail = _count(plan, samples, start, now)
    points.extend((ts, base + value) for ts, value in tail.points)
    return Progress(tuple(points), starts_at, now), new


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
) -> tuple[Progress, int, Asset | None, _Checkpoint | None]:
    progress, checkpoint = _progress(plan, readings, now)
    assets = _plan_assets(session, plan)
    k = math.floor((progress.total + plan.lead) / plan.interval + 1e-9)
    return progress, k, assets[0] if assets else None, checkpoint


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
    _equip(session, plan, order, now=now)
    session.commit()
    return GeneratedOrder(plan.id, due.key, due.due_at, order.id)


def _equip(session: Session, plan: PmPlan, order: WorkOrder, *, now: datetime) -> None:
    """Give a plan's order the plan's own checklist (unless a matching template already
    copied it) and reserve the plan's parts, in the caller's transaction."""
    template = (
        session.get(ChecklistTemplate, plan.checklist_template_id)
        if plan.checklist_template_id is not None
        else None
    )
    if template is not None and all(item.template != template.name for item in order.checklist):
        position = max((item.position for item in order.checklist), default=-1) + 1
        for offset, item in enumerate(template.items):
            order.checklist.append(
                ChecklistItem(
                    position=position + offset,
                    template=template.name,
                    label=str(item["label"]),
                    kind=str(item["kind"]),
                    required=bool(item.get("required", True)),
                    min_value=item.get("min"),
                    max_value=item.get("max"),
                )
            )
    if plan.parts:
        inventory.reserve_parts(session, order=order, parts=plan.parts, actor=SCHEDULER, now=now)


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
    checkpoint: _Checkpoint | None = None
    if plan.trigger is PmTriggerKind.CONDITION:
        return []  # ordered by its rule's alerts (apply_condition_plan), not by the clock
    if plan.trigger is PmTriggerKind.CALENDAR:
        for asset in _plan_assets(session, plan):
            dues.extend(_calendar_dues(session, plan, asset, until=now))
    elif plan.trigger is PmTriggerKind.CRON:
        for asset in _plan_assets(session, plan):
            dues.extend(_cron_dues(session, plan, asset, until=now))
    else:
        progress, k, device_asset, checkpoint = _telemetry_due(session, plan, readings, now)
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
    if checkpoint is not None:
        # after the orders: a pass that failed before here recounts from the old checkpoint
        _save_checkpoint(plan, checkpoint)
        session.commit()
    return generated


def _cron_dues(session: Session, plan: PmPlan, asset: Asset, *, until: datetime) -> list[_Due]:
    """The latest cron run whose lead window opened by ``until`` and that is not older than
    the plan (a new weekly plan does not order last week's run)."""
    assert plan.cron is not None
    zone = _plan_zone(session, plan)
    lead = timedelta(days=plan.lead)
    latest = latest_cron_occurrence(plan.cron, zone, until=until + lead)
    if latest is None or latest[1] < _utc(plan.starts_at):
        return []
    local, due = latest
    return [_Due(f"a{asset.id}@{local.isoformat(timespec='minutes')}", due, asset, due - lead)]


# -- condition plans ------------------------------------------------------------------------------
def condition_plan_for(session: Session, *, rule: str, asset: Asset | None) -> PmPlan | None:
    """The approved, active condition plan for ``rule`` that covers ``asset`` (lowest id).

    A plan covers an asset it names, an asset of its type (and site, if it has one), or, when
    it names neither, every asset the rule fires on.
    """
    plans = session.scalars(
        sa.select(PmPlan)
        .where(
            PmPlan.trigger == PmTriggerKind.CONDITION,
            PmPlan.rule == rule,
            PmPlan.active.is_(True),
            PmPlan.approved_at.is_not(None),
        )
        .order_by(PmPlan.id)
    )
    for plan in plans:
        if plan.asset_codes:
            if asset is not None and asset.code in plan.asset_codes:
                return plan
        elif plan.asset_type:
            if (
                asset is not None
                and asset.asset_type == plan.asset_type
                and (plan.site_id is None or asset.site_id == plan.site_id)
            ):
                return plan
        else:
            return plan
    return None


def apply_condition_plan(session: Session, *, order: WorkOrder, now: datetime) -> PmPlan | None:
    """Make a rule's new order the preventive order of the condition plan that covers it.

    Called by the work-order service in the transaction that opens the order (so the one-open-
    order-per-(rule, asset) index still decides); does nothing without such a plan. The order
    becomes ``preventive`` with the plan's title, checklist and reserved parts; unrecorded
    checklist items of corrective-only templates are dropped, and the occurrence is recorded
    so compliance counts it.
    """
    if order.rule is None:
        return None
    plan = condition_plan_for(session, rule=order.rule, asset=order.asset)
    if plan is None:
        return None
    order.order_type = WorkOrderType.PREVENTIVE
    order.title = f"PM: {plan.name} ({order.title})"[:200]
    order.description = (
        f"Preventive maintenance from plan {plan.name!r}, triggered by rule {order.rule!r}; "
        f"estimated labour {plan.estimated_labour_h:g} h.\n\n{order.description}"
    )
    corrective = set(
        session.scalars(
            sa.select(ChecklistTemplate.name).where(
                ChecklistTemplate.order_type == WorkOrderType.CORRECTIVE.value
            )
        )
    )
    for item in [i for i in order.checklist if i.template in corrective and i.outcome is None]:
        order.checklist.remove(item)
    session.add(
        PmOccurrence(
            plan_id=plan.id,
            occurrence_key=f"alert:{order.id}",
            asset_id=order.asset_id,
            due_at=now,
            generated_at=now,
            work_order_id=order.id,
        )
    )
    record_event(
        order,
        actor=SCHEDULER,
        kind="pm_condition",
        now=now,
        note=f"rule {order.rule} fired: preventive order of plan {plan.name!r}",
        data={"plan_id": plan.id},
    )
    _equip(session, plan, order, now=now)
    session.flush()
    return plan


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
        elif plan.trigger is PmTriggerKind.CRON:
            assert plan.cron is not None
            zone = _plan_zone(session, plan)
            for asset in _plan_assets(session, plan):
                for local, due_at in cron_occurrences(
                    plan.cron, zone, after=now, until=horizon, limit=2_000
                ):
                    add(f"a{asset.id}@{local.isoformat(timespec='minutes')}", due_at, asset)
        elif plan.trigger is PmTriggerKind.CONDITION:
            continue  # no date: it comes when its rule fires
        else:
            progress, _, device_asset, _ = _telemetry_due(session, plan, readings, now)
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


def compliance(
    session: Session,
    *,
    start: datetime,
    end: datetime,
    now: datetime,
    site_id: int | None = None,
) -> Compliance:
    """Due = occurrences with a due date in [start, min(end, now)); on time = resolved by
    due + the plan's grace; late = resolved after that; open = not resolved (yet).

    ``site_id`` keeps the occurrences whose asset (the occurrence's, else its order's) is at
    that site, as ``compute_kpis`` counts a site's orders by their asset's site.
    """
    query = (
        sa.select(PmOccurrence.due_at, PmPlan.grace_h, WorkOrder.resolved_at, WorkOrder.status)
        .join(PmPlan, PmPlan.id == PmOccurrence.plan_id)
        .join(WorkOrder, WorkOrder.id == PmOccurrence.work_order_id, isouter=True)
        .where(PmOccurrence.due_at >= start, PmOccurrence.due_at < min(end, now))
    )
    if site_id is not None:
        asset_id = sa.func.coalesce(PmOccurrence.asset_id, WorkOrder.asset_id)
        query = query.join(Asset, Asset.id == asset_id).where(Asset.site_id == site_id)
    rows = session.execute(query).all()
    on_time = late = still_open = 0
    for due_at, grace_h, resolved_at, status in rows:
        if resolved_at is None or status is WorkOrderStatus.CANCELLED:
            still_open += 1
        elif resolved_at <= due_at + timedelta(hours=grace_h):
            on_time += 1
        else:
            late += 1
    return Compliance(len(rows), on_time, late, still_open)


def on_order_opened_by_rule(event: OrderOpened) -> None:
    """Hook handler: a rule's new order may be a condition plan's (:func:`apply_condition_plan`)."""
    apply_condition_plan(event.session, order=event.order, now=event.now)
