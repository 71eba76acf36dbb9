"""The monthly service review (plan-do-check-act) for one site: figures, findings and actions.

Every KPI figure comes from ``compute_kpis`` over the site's calendar month, so the review and
``GET /api/v1/kpis?from=&to=&site=`` for the same instants agree to the digit. The month is
the site's month: ``2026-10`` at a site in ``Europe/Berlin`` runs from 2026-09-30T22:00Z to
2026-10-31T23:00Z (31 days and one hour, because the clocks go back on 25 October).

Scope, stated rather than hidden: PM compliance counts the occurrences on the site's assets
(``GET /api/v1/pm/compliance?site=`` gives the same figures), but stock issues and supplier
scorecards belong to the whole organisation (an item's reorder point applies to its total stock,
suppliers serve every site), so the review shows them organisation-wide and says so in ``notes``.

Technicians' figures are for recognition (who carried the month, whose work requesters
praised), not for surveillance; ``include_technicians=False`` leaves them out entirely, and
the CLI's ``--no-technicians`` does the same for a report that will be shared widely.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from statistics import fmean
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
import yaml
from sqlalchemy.orm import Session, selectinload

from facility.core.errors import ConfigError, Invalid, NotFound
from facility.core.types import ReadingStore
from maintenance.assets.models import Asset, Device
from maintenance.insights.kpis import KpiFilter, compute_kpis, resolution_sla
from maintenance.insights.schemas import KpiReport
from maintenance.inventory import service as inventory
from maintenance.pm import service as pm
from maintenance.review.models import ActionStatus, ImprovementAction
from maintenance.review.schemas import (
    ActionReviewLine,
    ActionsSection,
    BreachLine,
    DayCount,
    DeadStockLine,
    EnergySummary,
    FaultByAsset,
    FaultByRule,
    ImprovementActionPublic,
    KpiLine,
    KpiPair,
    LowStockLine,
    MonthlyReview,
    PmCompliancePublic,
    ReviewSite,
    StockIssues,
    SupplierScoreLine,
    TechnicianLine,
)
from maintenance.review.surveys import surveys_overlapping
from maintenance.sites.models import Site
from maintenance.suppliers.models import Supplier, SupplierScore
from maintenance.work_orders.models import WorkOrder, WorkOrderSource, WorkOrderStatus

__all__ = [
    "ReviewError",
    "ReviewTargets",
    "action_public",
    "action_state",
    "energy_used",
    "judge",
    "kpi_lines",
    "load_targets",
    "month_bounds",
    "monthly_review",
    "parse_month",
    "previous_month",
    "targets_as_json",
    "targets_from_mapping",
]

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_CLOSED = (WorkOrderStatus.RESOLVED, WorkOrderStatus.VERIFIED, WorkOrderStatus.CLOSED)
MAX_TARGETS_BYTES = 64_000
#: Energy readings read per device and month at most (a 1-minute meter makes ~44,640).
MAX_ENERGY_POINTS = 200_000
#: How far before a month to look for a meter's last reading (its baseline for the month).
ENERGY_LOOKBACK = timedelta(days=2)


class ReviewError(Invalid):
    """The review cannot be made as asked (bad month, unknown site); the message says why."""


class ReviewSiteNotFound(ReviewError, NotFound):
    """The review was asked for a site that does not exist."""


# -- months --------------------------------------------------------------------------------------
def parse_month(value: str) -> tuple[int, int]:
    """``"2026-10"`` → ``(2026, 10)``; anything else is a ``ReviewError`` with an example."""
    match = _MONTH.match(value) if isinstance(value, str) else None
    if match is None or not 2000 <= int(match.group(1)) <= 2099:
        shown = str(value)[:20]
        raise ReviewError(f"month {shown!r} is not YYYY-MM between 2000 and 2099; e.g. 2026-10")
    return int(match.group(1)), int(match.group(2))


def previous_month(month: str) -> str:
    year, number = parse_month(month)
    return f"{year - 1}-12" if number == 1 else f"{year}-{number - 1:02d}"


def _next_month(month: str) -> str:
    year, number = parse_month(month)
    return f"{year + 1}-01" if number == 12 else f"{year}-{number + 1:02d}"


def month_bounds(month: str, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The month's first and the next month's first local midnight in ``zone``, as UTC.

    Local midnight exists on the 1st in every zone we know of (DST changes happen at night
    on other days, or at 01:00-03:00), so no gap handling is needed here.
    """
    year, number = parse_month(month)
    nyear, nnumber = parse_month(_next_month(month))
    start = datetime(year, number, 1, tzinfo=zone).astimezone(UTC)
    end = datetime(nyear, nnumber, 1, tzinfo=zone).astimezone(UTC)
    return start, end


def _month_days(month: str) -> tuple[date, date]:
    year, number = parse_month(month)
    nyear, nnumber = parse_month(_next_month(month))
    return date(year, number, 1), date(nyear, nnumber, 1) - timedelta(days=1)


# -- targets -------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ReviewTargets:
    """What "good" means for each headline figure; ``None`` turns a target off.

    Defaults are common service-level goals for an in-house facility team; override them per
    site with a YAML or JSON file of the same keys (``facility report monthly --targets``).
    """

    #: Mean time to respond (detection/creation → work started), at most this many seconds.
    response_s: float | None = 2 * 3600
    #: MTTR (detection/creation → resolved), at most this many seconds.
    resolution_s: float | None = 24 * 3600
    #: Share of orders resolved within their SLA, at least this many percent.
    sla_resolution_pct: float | None = 95.0
    #: Share of responses within their SLA, at least this many percent.
    sla_response_pct: float | None = 95.0
    #: PM occurrences done on time, at least this many percent.
    pm_compliance_pct: float | None = 90.0
    #: Resolved orders never reopened, at least this many percent.
    first_time_fix_pct: float | None = 90.0
    #: Mean MTBF over assets with two or more fault episodes, at least this many seconds.
    mtbf_s: float | None = None
    #: Orders created this month still open, at most this many.
    backlog_count: float | None = None
    #: Mean requester rating (1-5), at least this.
    rating_mean: float | None = 4.0
    #: Share of orders raised automatically by rules (faults caught before a complaint).
    automatic_pct: float | None = None
    #: The month's energy budget in kWh, at most this (None: no budget).
    energy_kwh: float | None = None
    #: Energy change against the previous month, at most this many percent (0: no increase).
    energy_change_pct: float | None = 0.0


def load_targets(path: Path) -> ReviewTargets:
    """Targets from a YAML or JSON mapping of ``ReviewTargets`` keys to numbers (or null)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read targets file {path}: {exc.strerror}") from exc
    if len(raw) > MAX_TARGETS_BYTES:
        raise ConfigError(f"targets file {path} is over {MAX_TARGETS_BYTES} bytes; trim it")
    try:
        data = yaml.safe_load(raw.decode("utf-8")) if raw.strip() else {}
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"targets file {path} is not valid YAML/JSON: {exc}") from None
    return targets_from_mapping(data, where=str(path))


def targets_from_mapping(data: object, *, where: str = "targets") -> ReviewTargets:
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must be a mapping such as {{sla_resolution_pct: 95}}")
    known = {f.name for f in fields(ReviewTargets)}
    unknown = sorted(str(k)[:40] for k in data if k not in known)
    if unknown:
        raise ConfigError(f"{where}: unknown target(s) {unknown[:5]}; known: {sorted(known)}")
    values: dict[str, float | None] = {}
    for key, value in data.items():
        if value is None:
            values[key] = None
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where}: {key} = {str(value)[:40]!r} is not a number (or null)")
        number = float(value)
        if not 0 <= number < 1e12:  # NaN fails this too
            raise ConfigError(f"{where}: {key} = {value!r} must be a number from 0")
        if key.endswith("_pct") and key != "energy_change_pct" and number > 100:
            raise ConfigError(f"{where}: {key} = {value!r} is a percentage (0-100)")
        values[key] = number
    return replace(ReviewTargets(), **values)


def judge(
    value: float | None, target: float | None, better: Literal["higher", "lower"] | None
) -> Literal["met", "missed", "no data", "no target"]:
    """Whether ``value`` meets ``target`` (at least for "higher", at most for "lower")."""
    if value is None:
        return "no data"
    if target is None or better is None:
        return "no target"
    met = value >= target if better == "higher" else value <= target
    return "met" if met else "missed"


def _delta(current: float | None, previous: float | None) -> float | None:
    if current is None or previous is None:
        return None
    return round(current - previous, 3)


def _mtbf(kpis: dict[str, Any]) -> float | None:
    values = [v for v in kpis["mtbf_s_by_asset"].values() if v is not None]
    return round(fmean(values), 3) if values else None


def _pct(compliance: pm.Compliance) -> float | None:
    ratio = compliance.ratio
    return round(100.0 * ratio, 2) if ratio is not None else None


def kpi_lines(
    current: dict[str, Any],
    previous: dict[str, Any],
    *,
    pm_now: pm.Compliance,
    pm_before: pm.Compliance,
    energy: EnergySummary,
    targets: ReviewTargets,
) -> list[KpiLine]:
    """The headline table: each figure this month and last, the change, target and verdict."""
    spec: list[tuple[str, str, str, Literal["higher", "lower"] | None, Any, Any, Any]] = [
        ("orders", "Orders created", "count", None, current["total"], previous["total"], None),
        (
            "response_s",
            "Mean time to respond",
            "s",
            "lower",
            current["mean_time_to_respond_s"],
            previous["mean_time_to_respond_s"],
            targets.response_s,
        ),
        (
            "resolution_s",
            "Mean time to repair (MTTR)",
            "s",
            "lower",
            current["mttr_s"],
            previous["mttr_s"],
            targets.resolution_s,
        ),
        (
            "sla_resolution_pct",
            "Resolution within SLA",
            "%",
            "higher",
            current["sla_resolution_compliance_pct"],
            previous["sla_resolution_compliance_pct"],
            targets.sla_resolution_pct,
        ),
        (
            "sla_response_pct",
            "Response within SLA",
            "%",
            "higher",
            current["sla_response_compliance_pct"],
            previous["sla_response_compliance_pct"],
            targets.sla_response_pct,
        ),
        (
            "pm_compliance_pct",
            "PM done on time",
            "%",
            "higher",
            _pct(pm_now),
            _pct(pm_before),
            targets.pm_compliance_pct,
        ),
        (
            "first_time_fix_pct",
            "First-time fix",
            "%",
            "higher",
            current["first_time_fix_pct"],
            previous["first_time_fix_pct"],
            targets.first_time_fix_pct,
        ),
        (
            "mtbf_s",
            "Mean time between failures (MTBF)",
            "s",
            "higher",
            _mtbf(current),
            _mtbf(previous),
            targets.mtbf_s,
        ),
        (
            "backlog_count",
            "Still open (of this month's orders)",
            "count",
            "lower",
            current["backlog"]["count"],
            previous["backlog"]["count"],
            targets.backlog_count,
        ),
        (
            "rating_mean",
            "Requester rating (1-5)",
            "rating",
            "higher",
            current["rating"]["mean"],
            previous["rating"]["mean"],
            targets.rating_mean,
        ),
        (
            "automatic_pct",
            "Raised automatically",
            "%",
            "higher",
            current["automatic_pct"],
            previous["automatic_pct"],
            targets.automatic_pct,
        ),
        (
            "manual_pct",
            "Raised by people",
            "%",
            None,
            current["manual_pct"],
            previous["manual_pct"],
            None,
        ),
        (
            "energy_kwh",
            "Energy used",
            "kWh",
            "lower",
            energy.current_kwh,
            energy.previous_kwh,
            targets.energy_kwh,
        ),
        (
            "energy_change_pct",
            "Energy against last month",
            "%",
            "lower",
            energy.change_pct,
            None,
            targets.energy_change_pct,
        ),
    ]
    lines = []
    for key, label, unit, better, now_value, before, target in spec:
        lines.append(
            KpiLine(
                key=key,
                label=label,
                unit=unit,
                current=now_value,
                previous=before,
                delta=_delta(now_value, before),
                target=target,
                better=better,
                judgement=judge(now_value, target, better) if better else "no target",
            )
        )
    return lines


# -- energy --------------------------------------------------------------------------------------
def _series(
    store: ReadingStore, device: str, metric: str, start: datetime, end: datetime
) -> list[float]:
    values: list[float] = []
    cursor: str | None = None
    while len(values) < MAX_ENERGY_POINTS:
        page = store.query(
            device=device, metric=metric, start=start, end=end, limit=5000, cursor=cursor
        )
        values.extend(r.value for r in page.items)
        cursor = page.next_cursor
        if cursor is None or not page.items:
            break
    return values


def _baseline(store: ReadingStore, device: str, start: datetime) -> list[float]:
    """The counter's last value in the ``ENERGY_LOOKBACK`` before ``start`` (empty if none)."""
    before = _series(store, device, "energy", start - ENERGY_LOOKBACK, start)
    return before[-1:]


def energy_used(values: list[float]) -> float:
    """kWh used by a cumulative counter: the sum of its rises (a reset to zero is not a use)."""
    return sum(b - a for a, b in pairwise(values) if b > a)


def _energy(
    store: ReadingStore | None,
    devices: list[str],
    current: tuple[datetime, datetime],
    previous: tuple[datetime, datetime],
) -> EnergySummary:
    """Energy counters (``energy``, kWh) first; mean ``power`` (W) when no counter reports."""
    if store is None:
        return EnergySummary(source=None, devices=0, note="no reading store was given")
    for metric in ("energy", "power"):
        now_series = {d: _series(store, d, metric, *current) for d in devices}
        before_series = {d: _series(store, d, metric, *previous) for d in devices}
        reporting = [d for d in devices if now_series[d]]
        if metric == "energy":
            # a counter's rise between its last reading before the month and its first in the
            # month belongs to the month: take that last reading as the month's baseline
            for d in reporting:
                now_series[d] = _baseline(store, d, current[0]) + now_series[d]
            for d in reporting:
                if before_series[d]:
                    before_series[d] = _baseline(store, d, previous[0]) + before_series[d]
        if not reporting:
            continue
        if metric == "energy":
            now_kwh = round(sum(energy_used(now_series[d]) for d in reporting), 3)
            had_before = any(before_series[d] for d in reporting)
            before_kwh = (
                round(sum(energy_used(before_series[d]) for d in reporting), 3)
                if had_before
                else None
            )
            change = round(100.0 * (now_kwh - before_kwh) / before_kwh, 2) if before_kwh else None
            return EnergySummary(
                source="energy",
                devices=len(reporting),
                current_kwh=now_kwh,
                previous_kwh=before_kwh,
                change_pct=change,
                note=(
                    "sum of the rises of each meter's energy counter in the month, from its last "
                    "reading in the two days before"
                ),
            )
        now_w = round(fmean(v for d in reporting for v in now_series[d]), 3)
        before_values = [v for d in reporting for v in before_series[d]]
        before_w = round(fmean(before_values), 3) if before_values else None
        return EnergySummary(
            source="power",
            devices=len(reporting),
            current_mean_power_w=now_w,
            previous_mean_power_w=before_w,
            change_pct=round(100.0 * (now_w - before_w) / before_w, 2) if before_w else None,
            note="no energy counters; mean of the power readings instead (no kWh is estimated)",
        )
    return EnergySummary(
        source=None,
        devices=0,
        note=f"no energy or power readings for the site's {len(devices)} device(s) this month",
    )


# -- the review ----------------------------------------------------------------------------------
def _site(session: Session, code: str) -> tuple[Site, ZoneInfo]:
    site = session.scalar(sa.select(Site).where(Site.code == code))
    if site is None:
        raise ReviewSiteNotFound(
            f"site {code[:64]!r} does not exist; check the site code (case matters)"
        )
    try:
        zone = ZoneInfo(site.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise ReviewError(
            f"site {code!r} has time zone {site.timezone!r}, which is not an IANA zone name; "
            "set it to e.g. Europe/Berlin"
        ) from None
    return site, zone


def _orders(session: Session, site_id: int, start: datetime, end: datetime) -> list[WorkOrder]:
    """The site's orders created in ``[start, end)``: the same set ``compute_kpis`` counts."""
    return list(
        session.scalars(
            sa.select(WorkOrder)
            .join(Asset, WorkOrder.asset_id == Asset.id)
            .where(
                Asset.site_id == site_id,
                WorkOrder.created_at >= start,
                WorkOrder.created_at < end,
            )
            .options(selectinload(WorkOrder.asset))
            .order_by(WorkOrder.id)
        )
    )


def _per_day(orders: list[WorkOrder], month: str, zone: ZoneInfo) -> list[DayCount]:
    first, last = _month_days(month)
    counts = Counter(o.created_at.astimezone(zone).date() for o in orders)
    days = (last - first).days + 1
    return [
        DayCount(day=first + timedelta(days=n), orders=counts.get(first + timedelta(days=n), 0))
        for n in range(days)
    ]


def _faults(orders: list[WorkOrder], top_n: int) -> tuple[list[FaultByAsset], list[FaultByRule]]:
    """Corrective orders (rule or human) by asset, and rule orders by rule, most first."""
    by_asset: dict[str, list[WorkOrder]] = defaultdict(list)
    by_rule: dict[str, list[WorkOrder]] = defaultdict(list)
    for order in orders:
        if order.asset is not None and (
            order.order_type.value == "corrective" or order.source is WorkOrderSource.RULE
        ):
            by_asset[order.asset.code].append(order)
        if order.source is WorkOrderSource.RULE and order.rule:
            by_rule[order.rule].append(order)
    assets = [
        FaultByAsset(
            asset=code,
            name=items[0].asset.name if items[0].asset else code,
            orders=len(items),
            automatic=sum(1 for o in items if o.source is WorkOrderSource.RULE),
        )
        for code, items in by_asset.items()
    ]
    assets.sort(key=lambda f: (-f.orders, f.asset))
    rules = [
        FaultByRule(
            rule=rule, orders=len(items), assets=len({o.asset_id for o in items if o.asset_id})
        )
        for rule, items in by_rule.items()
    ]
    rules.sort(key=lambda f: (-f.orders, f.rule))
    return assets[:top_n], rules[:top_n]


def _breaches(orders: list[WorkOrder], now: datetime, top_n: int) -> list[BreachLine]:
    """Orders resolved after their resolution due time (or still open past it), worst first."""
    lines = []
    for order in orders:
        due = order.resolution_due_at
        if due is None or order.status is WorkOrderStatus.CANCELLED:
            continue
        finished = order.resolved_at or now
        overrun = (finished - due).total_seconds()
        if overrun <= 0:
            continue
        lines.append(
            BreachLine(
                work_order_id=order.id,
                title=order.title,
                asset=order.asset.code if order.asset else None,
                priority=order.priority.value,
                status=order.status.value,
                resolution_due_at=due,
                resolved_at=order.resolved_at,
                overrun_s=round(overrun, 3),
            )
        )
    lines.sort(key=lambda b: (-b.overrun_s, b.work_order_id))
    return lines[:top_n]


def _technicians(orders: list[WorkOrder], now: datetime) -> list[TechnicianLine]:
    """Per assignee: orders, resolved, response, SLA share and ratings (same rules as KPIs)."""
    by_tech: dict[str, list[WorkOrder]] = defaultdict(list)
    for order in orders:
        if order.assignee:
            by_tech[order.assignee].append(order)
    lines = []
    for name, items in sorted(by_tech.items()):
        response = [
            (o.responded_at - (o.detected_at or o.created_at)).total_seconds()
            for o in items
            if o.responded_at is not None
        ]
        judged, on_time = resolution_sla(items, now=now)
        ratings = [o.rating for o in items if o.rating is not None]
        lines.append(
            TechnicianLine(
                technician=name,
                orders=len(items),
                resolved=sum(1 for o in items if o.status in _CLOSED),
                mean_time_to_respond_s=round(fmean(response), 3) if response else None,
                sla_resolution_compliance_pct=(
                    round(100.0 * on_time / judged, 2) if judged else None
                ),
                rating_count=len(ratings),
                rating_mean=round(fmean(ratings), 2) if ratings else None,
            )
        )
    return lines


def _suppliers(session: Session, month: str) -> list[SupplierScoreLine]:
    rows = session.execute(
        sa.select(SupplierScore, Supplier.code, Supplier.name)
        .join(Supplier, Supplier.id == SupplierScore.supplier_id)
        .where(SupplierScore.period == month)
        .order_by(SupplierScore.rank, Supplier.code)
    ).all()
    return [
        SupplierScoreLine(
            supplier=code,
            name=name,
            score=score.score,
            rank=score.rank,
            components=score.components or {},
        )
        for score, code, name in rows
    ]


def _stock(session: Session, now: datetime, dead_after_days: int) -> StockIssues:
    low = [
        LowStockLine(
            sku=i.sku,
            name=i.name,
            unit=i.unit,
            on_hand=i.on_hand,
            reorder_point=i.reorder_point,
            suggested_qty=i.suggested_qty,
        )
        for i in inventory.low_stock(session)
    ]
    dead = [
        DeadStockLine(**asdict(i))
        for i in inventory.dead_stock(session, days=dead_after_days, now=now)
    ]
    return StockIssues(low=low, dead=dead, dead_after_days=dead_after_days)


def action_public(action: ImprovementAction, site_code: str | None) -> ImprovementActionPublic:
    """An action as the API, the CLI and the review show it (``site_code`` of its site)."""
    return ImprovementActionPublic(
        id=action.id,
        site=site_code if action.site_id is not None else None,
        period=action.period,
        title=action.title,
        description=action.description,
        owner=action.owner,
        due_on=action.due_on,
        status=action.status,
        outcome=action.outcome,
        created_by=action.created_by,
        created_at=action.created_at,
        closed_at=action.closed_at,
    )


def action_state(
    action: ImprovementAction, today: date, zone: ZoneInfo
) -> Literal["done on time", "done late", "open", "overdue", "dropped"]:
    """Done on time means closed (in the site's calendar) on or before the due day."""
    if action.status is ActionStatus.DROPPED:
        return "dropped"
    if action.status is ActionStatus.DONE:
        closed = action.closed_at.astimezone(zone).date() if action.closed_at else today
        return "done on time" if closed <= action.due_on else "done late"
    return "overdue" if action.due_on < today else "open"


def _actions(
    session: Session, site: Site, month: str, zone: ZoneInfo, now: datetime
) -> ActionsSection:
    first, last = _month_days(month)
    today = now.astimezone(zone).date()
    rows = list(
        session.scalars(
            sa.select(ImprovementAction)
            .where(
                ImprovementAction.site_id == site.id,
                sa.or_(
                    ImprovementAction.period.in_([month, previous_month(month)]),
                    ImprovementAction.due_on.between(first, last),
                ),
            )
            .order_by(ImprovementAction.due_on, ImprovementAction.id)
        )
    )

    def line(action: ImprovementAction) -> ActionReviewLine:
        return ActionReviewLine(
            action=action_public(action, site.code), state=action_state(action, today, zone)
        )

    return ActionsSection(
        from_previous=[line(a) for a in rows if a.period == previous_month(month)],
        due_this_month=[line(a) for a in rows if first <= a.due_on <= last],
        recorded_this_month=[line(a) for a in rows if a.period == month],
    )


def _compliance(c: pm.Compliance) -> PmCompliancePublic:
    return PmCompliancePublic(due=c.due, on_time=c.on_time, late=c.late, open=c.open, pct=_pct(c))


def monthly_review(
    session: Session,
    *,
    site: str,
    month: str,
    now: datetime,
    readings: ReadingStore | None = None,
    targets: ReviewTargets | None = None,
    include_technicians: bool = True,
    top_n: int = 10,
    dead_stock_days: int = 180,
) -> MonthlyReview:
    """Everything the review of ``month`` (``YYYY-MM``, the site's calendar) at ``site`` shows.

    ``now`` matters as it does for ``compute_kpis`` (backlog ages, open orders already late)
    and for the state of improvement actions; a review of a past month made today judges the
    month as it stands today.
    """
    goals = targets or ReviewTargets()
    place, zone = _site(session, site)
    before = previous_month(month)
    start, end = month_bounds(month, zone)
    prev_start, prev_end = month_bounds(before, zone)
    current_kpis = compute_kpis(
        session, where=KpiFilter(start=start, end=end, site=place.code), now=now
    )
    previous_kpis = compute_kpis(
        session, where=KpiFilter(start=prev_start, end=prev_end, site=place.code), now=now
    )
    pm_now = pm.compliance(session, start=start, end=end, now=now, site_id=place.id)
    pm_before = pm.compliance(session, start=prev_start, end=prev_end, now=now, site_id=place.id)
    devices = list(
        session.scalars(
            sa.select(Device.id)
            .join(Asset, Asset.id == Device.asset_id)
            .where(Asset.site_id == place.id)
            .order_by(Device.id)
        )
    )
    energy = _energy(readings, devices, (start, end), (prev_start, prev_end))
    orders = _orders(session, place.id, start, end)
    by_asset, by_rule = _faults(orders, top_n)
    suppliers = _suppliers(session, month)
    first, last = _month_days(month)
    notes = [
        f"Month boundaries are local midnights in {zone.key}: "
        f"{start.isoformat()} to {end.isoformat()} (UTC).",
        "Stock issues and supplier scorecards cover the whole organisation (reorder points "
        "apply to an item's total stock; suppliers serve every site).",
    ]
    if not suppliers:
        notes.append("No supplier scorecards computed for this period.")
    if energy.source is None:
        notes.append(f"Energy: {energy.note}.")
    return MonthlyReview(
        site=ReviewSite(code=place.code, name=place.name, timezone=zone.key),
        month=month,
        previous_month=before,
        start=start,
        end=end,
        previous_start=prev_start,
        generated_at=now,
        kpis=KpiPair(
            current=KpiReport.model_validate(current_kpis),
            previous=KpiReport.model_validate(previous_kpis),
        ),
        lines=kpi_lines(
            current_kpis,
            previous_kpis,
            pm_now=pm_now,
            pm_before=pm_before,
            energy=energy,
            targets=goals,
        ),
        pm_compliance=_compliance(pm_now),
        pm_compliance_previous=_compliance(pm_before),
        energy=energy,
        orders_per_day=_per_day(orders, month, zone),
        top_faults_by_asset=by_asset,
        top_faults_by_rule=by_rule,
        worst_breaches=_breaches(orders, now, top_n),
        suppliers=suppliers,
        technicians_included=include_technicians,
        technicians=_technicians(orders, now) if include_technicians else [],
        stock=_stock(session, now, dead_stock_days),
        surveys=surveys_overlapping(session, site_id=place.id, first=first, last=last),
        actions=_actions(session, place, month, zone, now),
        notes=notes,
    )


def targets_as_json(targets: ReviewTargets) -> str:
    """The effective targets, for the report's footer and ``--help`` examples."""
    return json.dumps(asdict(targets), sort_keys=True)
