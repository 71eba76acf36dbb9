"""An asset's derived figures and the replacement plan: the read side of the asset register.

The figures come from an asset's work orders, their labour and the stock ledger's issues and
returns, so they sit above those domains (the register itself, :mod:`maintenance.assets.lifecycle`,
holds the tree, the status machine and its history). Everything that needs "now" takes it as an
argument.

Derived figures (``asset_figures``), all "to date" at ``now``:

- ``age_years``: (now - commissioned_on, else installed_on) in years of 365.25 days.
- ``life_used_ratio``: age_years / expected_life_years.
- ``parts_cost``: issues minus returns charged to the asset's orders, each line at the unit cost
  it was moved at: Σ -quantity x unit_cost — the formula of
  :func:`maintenance.inventory.service.work_order_parts`, summed in SQL over many orders.
- ``labour_cost``: Σ hours x hourly_rate of the labour entries on the asset's orders.
- ``tco``: purchase_cost + parts_cost + labour_cost (total cost of ownership to date).
- ``repair_cost_12m``: parts + labour booked in the last 365 days on corrective orders.
- ``repair_replacement_ratio``: repair_cost_12m / replacement_cost.
- ``availability``: share of the window (default the last 365 days, clipped to the asset's first
  recorded status) not spent ``under_repair``, from the status history.
- ``mttr_s`` / ``mtbf_s``: the fleet definitions of :mod:`maintenance.insights.kpis`, per asset
  over its corrective orders (not cancelled): MTTR is the mean of resolved_at - (detected_at or
  created_at); MTBF is the mean time from one failure's repair to the next failure's detection
  (needs two failures).
- ``failures_12m``: corrective orders (not cancelled) detected in the last 365 days.

Replacement score (``replacement_plan``), 0-100, higher = replace sooner::

    score = 100 x (w_age x A + w_repair x R + w_failures x F + w_criticality x C)
    A = min(life_used_ratio, AGE_CAP) / AGE_CAP            (AGE_CAP = 1.5: 150 % of life = 1)
    R = min(repair_cost_12m / replacement_cost, 1)          (repairs costing a new one = 1)
    F = min(failures_12m, FAILURE_CAP) / FAILURE_CAP        (FAILURE_CAP = 6 a year = 1)
    C = 1 for A, 0.5 for B, 0 for C
    weights (ScoreWeights): age 0.35, repair 0.30, failures 0.20, criticality 0.15 (sum 1)

A component whose inputs are missing (no expected life, no replacement cost) counts 0 and is named
in ``missing`` so the planner sees why an asset ranks low. Only equipment that is not
decommissioned is ranked: buildings and floors are not replaced as units.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from statistics import fmean

import sqlalchemy as sa
from sqlalchemy.orm import Session

from maintenance.assets.lifecycle import AssetError, AssetNotFound, status_history
from maintenance.assets.models import Asset, AssetLevel, AssetStatus, AssetStatusChange, Criticality
from maintenance.inventory.models import StockMovement
from maintenance.sites.models import Site
from maintenance.work_orders.models import LabourEntry, WorkOrder, WorkOrderStatus, WorkOrderType

__all__ = [
    "AGE_CAP",
    "CRITICALITY_WEIGHT",
    "FAILURE_CAP",
    "HIDDEN_REASON",
    "WEIGHTS",
    "AssetFigures",
    "OrderCost",
    "ReplacementCandidate",
    "ScoreWeights",
    "Visibility",
    "asset_figures",
    "maintenance_history",
    "replacement_plan",
    "replacement_score",
    "status_changes_seen",
]

AGE_CAP = 1.5
FAILURE_CAP = 6
CRITICALITY_WEIGHT: Mapping[Criticality, float] = {
    Criticality.A: 1.0,
    Criticality.B: 0.5,
    Criticality.C: 0.0,
}
_YEAR = timedelta(days=365)
_CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class ScoreWeights:
    """Weights of the replacement score's components; they sum to 1 so the score is 0-100."""

    age: float = 0.35
    repair: float = 0.30
    failures: float = 0.20
    criticality: float = 0.15

    def __post_init__(self) -> None:
        total = self.age + self.repair + self.failures + self.criticality
        if abs(total - 1.0) > 1e-9 or min(self.age, self.repair, self.failures) < 0:
            raise ValueError(f"score weights must be non-negative and sum to 1, got {total}")

    def with_overrides(self, overrides: Mapping[str, float]) -> ScoreWeights:
        """These weights with some replaced, in points, scaled back to a sum of 1.

        Points are the weights times 100 (the defaults are age 35, repair 30, failures 20,
        criticality 15), so ``{"age": 70}`` doubles age's say against the others; any
        non-negative numbers are accepted and the four are normalised together.
        """
        names = ("age", "repair", "failures", "criticality")
        unknown = sorted(set(overrides) - set(names))
        if unknown:
            raise AssetError(
                f"unknown score weight {unknown[0][:40]!r}; use age, repair, failures, criticality"
            )
        raw = {name: float(overrides.get(name, 100 * getattr(self, name))) for name in names}
        if any(not math.isfinite(v) or v < 0 for v in raw.values()):
            raise AssetError("score weights must be finite numbers of 0 or more")
        total = sum(raw.values())
        if total <= 0:
            raise AssetError("at least one score weight must be above 0")
        return ScoreWeights(**{name: value / total for name, value in raw.items()})


WEIGHTS = ScoreWeights()


def replacement_score(
    *,
    life_used_ratio: float | None,
    repair_ratio: float | None,
    failures_12m: int,
    criticality: Criticality,
    weights: ScoreWeights = WEIGHTS,
) -> tuple[float, dict[str, float]]:
    """The score (0-100) and its normalised components; formula in the module docstring."""
    components = {
        "age": min(max(life_used_ratio or 0.0, 0.0), AGE_CAP) / AGE_CAP,
        "repair": min(max(repair_ratio or 0.0, 0.0), 1.0),
        "failures": min(max(failures_12m, 0), FAILURE_CAP) / FAILURE_CAP,
        "criticality": CRITICALITY_WEIGHT[criticality],
    }
    score = 100.0 * (
        weights.age * components["age"]
        + weights.repair * components["repair"]
        + weights.failures * components["failures"]
        + weights.criticality * components["criticality"]
    )
    return round(score, 2), {k: round(v, 4) for k, v in components.items()}


# -- costs and figures ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class OrderCost:
    """One work order of an asset with what it cost (maintenance history line)."""

    work_order_id: int
    title: str
    order_type: WorkOrderType
    status: WorkOrderStatus
    created_at: datetime
    detected_at: datetime | None
    resolved_at: datetime | None
    labour_hours: Decimal
    labour_cost: Decimal
    parts_cost: Decimal

    @property
    def total_cost(self) -> Decimal:
        return self.labour_cost + self.parts_cost


def _money(value: Decimal) -> Decimal:
    return Decimal(value).quantize(_CENT)


def _costs_by_order(
    session: Session,
    order_ids: Iterable[int],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> tuple[dict[int, tuple[Decimal, Decimal]], dict[int, Decimal]]:
    """Labour (hours, cost) and parts cost per order, booked in ``[since, until]``."""
    ids = list(order_ids)
    labour: dict[int, tuple[Decimal, Decimal]] = {}
    parts: dict[int, Decimal] = {}
    if not ids:
        return labour, parts
    for chunk_start in range(0, len(ids), 500):
        chunk = ids[chunk_start : chunk_start + 500]
        lq = sa.select(
            LabourEntry.work_order_id,
            sa.func.sum(LabourEntry.hours),
            sa.func.sum(LabourEntry.hours * LabourEntry.hourly_rate),
        ).where(LabourEntry.work_order_id.in_(chunk))
        pq = sa.select(
            StockMovement.work_order_id,
            sa.func.sum(-StockMovement.quantity * StockMovement.unit_cost),
        ).where(StockMovement.work_order_id.in_(chunk))
        if since is not None:
            lq = lq.where(LabourEntry.recorded_at >= since)
            pq = pq.where(StockMovement.ts >= since)
        if until is not None:
            lq = lq.where(LabourEntry.recorded_at <= until)
            pq = pq.where(StockMovement.ts <= until)
        for order_id, hours, cost in session.execute(lq.group_by(LabourEntry.work_order_id)):
            labour[order_id] = (Decimal(hours or 0), Decimal(cost or 0))
        for moved_for, cost in session.execute(pq.group_by(StockMovement.work_order_id)):
            if moved_for is not None:
                parts[moved_for] = Decimal(cost or 0)
    return labour, parts


#: Which work orders a caller may read (``work_orders.service.visible_to``); None = every order
#: (managers, the CLI, the monthly review). Every figure below is computed over the orders it
#: lets through, so a figure never tells a caller about an order that answers 404 to them.
Visibility = sa.ColumnElement[bool] | None

#: What a status change moved by an order the caller cannot read says instead of its reason.
HIDDEN_REASON = "moved by a work order you cannot see"


def _orders(
    session: Session, asset_ids: Iterable[int], now: datetime, visible: Visibility = None
) -> list[WorkOrder]:
    ids = list(asset_ids)
    if not ids:
        return []
    query = sa.select(WorkOrder).where(WorkOrder.asset_id.in_(ids), WorkOrder.created_at <= now)
    if visible is not None:
        query = query.where(visible)
    return list(session.scalars(query.order_by(WorkOrder.created_at, WorkOrder.id)))


def status_changes_seen(
    session: Session, *, asset_id: int, visible: Visibility = None
) -> list[AssetStatusChange]:
    """The asset's status changes, with the reason and order of each change that an order the
    caller cannot read made replaced (``"work order #2 started: <title>"`` would leak it).

    The replaced entries are new, transient objects: the stored history is never touched."""
    changes = status_history(session, asset_id=asset_id)
    linked = {c.work_order_id for c in changes if c.work_order_id is not None}
    if visible is None or not linked:
        return changes
    readable = set(
        session.scalars(sa.select(WorkOrder.id).where(WorkOrder.id.in_(linked), visible))
    )
    return [
        c
        if c.work_order_id is None or c.work_order_id in readable
        else AssetStatusChange(
            id=c.id,
            asset_id=c.asset_id,
            ts=c.ts,
            from_status=c.from_status,
            to_status=c.to_status,
            actor=c.actor,
            reason=HIDDEN_REASON,
            work_order_id=None,
        )
        for c in changes
    ]


def maintenance_history(
    session: Session,
    *,
    asset_id: int,
    now: datetime,
    limit: int = 100,
    offset: int = 0,
    visible: Visibility = None,
) -> tuple[list[OrderCost], int]:
    """The asset's work orders the caller may read, newest first, each with labour hours,
    labour and parts cost."""
    orders = _orders(session, [asset_id], now, visible)
    orders.reverse()
    page = orders[offset : offset + limit]
    labour, parts = _costs_by_order(session, [o.id for o in page], until=now)
    lines = [
        OrderCost(
            work_order_id=o.id,
            title=o.title,
            order_type=o.order_type,
            status=o.status,
            created_at=o.created_at,
            detected_at=o.detected_at,
            resolved_at=o.resolved_at,
            labour_hours=labour.get(o.id, (Decimal(0), Decimal(0)))[0],
            labour_cost=_money(labour.get(o.id, (Decimal(0), Decimal(0)))[1]),
            parts_cost=_money(parts.get(o.id, Decimal(0))),
        )
        for o in page
    ]
    return lines, len(orders)


@dataclass(frozen=True, slots=True)
class AssetFigures:
    """What :func:`asset_figures` derives; definitions in the module docstring."""

    code: str
    now: datetime
    age_years: float | None
    expected_life_years: float | None
    life_used_ratio: float | None
    purchase_cost: Decimal | None
    replacement_cost: Decimal | None
    parts_cost: Decimal
    labour_cost: Decimal
    labour_hours: Decimal
    tco: Decimal
    repair_cost_12m: Decimal
    repair_replacement_ratio: float | None
    availability: float | None
    availability_from: datetime
    availability_to: datetime
    under_repair_s: float
    mttr_s: float | None
    mtbf_s: float | None
    failures_total: int
    failures_12m: int
    warranty_state: str
    warranty_days_left: int | None
    order_count: int


def _origin(order: WorkOrder) -> datetime:
    return order.detected_at or order.created_at


def _age_years(asset: Asset, today: date) -> float | None:
    start = asset.commissioned_on or asset.installed_on
    if start is None:
        return None
    return round(max((today - start).days, 0) / 365.25, 4)


def _availability(
    asset: Asset, changes: list[AssetStatusChange], start: datetime, end: datetime
) -> tuple[float | None, float, datetime]:
    """Share of ``[start, end]`` not under repair, the seconds under repair, the clipped start.

    The status before the first recorded change is that change's ``from_status`` (or the current
    status when nothing was ever recorded); a first change *from nothing* is the asset's creation,
    so the window starts there at the earliest.
    """
    changes = [c for c in changes if c.ts <= end]
    if changes and changes[0].from_status is None:
        start = max(start, changes[0].ts)
    if end <= start:
        return None, 0.0, start
    status: AssetStatus | None = changes[0].from_status if changes else asset.status
    cursor = start
    under = 0.0
    for change in changes:
        if change.ts > start:
            if status is AssetStatus.UNDER_REPAIR:
                under += (change.ts - cursor).total_seconds()
            cursor = change.ts
        status = change.to_status
    if status is AssetStatus.UNDER_REPAIR:
        under += (end - cursor).total_seconds()
    window = (end - start).total_seconds()
    return round(1.0 - under / window, 6), under, start


def _failures(orders: Iterable[WorkOrder]) -> list[WorkOrder]:
    return sorted(
        (
            o
            for o in orders
            if o.order_type is WorkOrderType.CORRECTIVE
            and o.status is not WorkOrderStatus.CANCELLED
        ),
        key=_origin,
    )


def _mean(values: list[float]) -> float | None:
    return round(fmean(values), 3) if values else None


def _mttr_mtbf(failures: list[WorkOrder], now: datetime) -> tuple[float | None, float | None]:
    repairs = [
        (o.resolved_at - _origin(o)).total_seconds()
        for o in failures
        if o.resolved_at is not None and o.resolved_at <= now
    ]
    gaps = [
        (_origin(nxt) - prev.resolved_at).total_seconds()
        for prev, nxt in pairwise(failures)
        if prev.resolved_at is not None and _origin(nxt) > prev.resolved_at
    ]
    return _mean(repairs), _mean(gaps)


@dataclass(slots=True)
class _Book:
    """Costs of a set of assets' orders, loaded in a few queries (shared by figures and plan)."""

    orders: dict[int, list[WorkOrder]] = field(default_factory=lambda: defaultdict(list))
    labour: dict[int, tuple[Decimal, Decimal]] = field(default_factory=dict)
    parts: dict[int, Decimal] = field(default_factory=dict)
    labour_12m: dict[int, tuple[Decimal, Decimal]] = field(default_factory=dict)
    parts_12m: dict[int, Decimal] = field(default_factory=dict)


def _book(
    session: Session, asset_ids: list[int], now: datetime, visible: Visibility = None
) -> _Book:
    book = _Book()
    all_orders = _orders(session, asset_ids, now, visible)
    for order in all_orders:
        assert order.asset_id is not None
        book.orders[order.asset_id].append(order)
    ids = [o.id for o in all_orders]
    book.labour, book.parts = _costs_by_order(session, ids, until=now)
    corrective = [o.id for o in all_orders if o.order_type is WorkOrderType.CORRECTIVE]
    book.labour_12m, book.parts_12m = _costs_by_order(
        session, corrective, since=now - _YEAR, until=now
    )
    return book


def _sum_costs(
    orders: list[WorkOrder],
    labour: Mapping[int, tuple[Decimal, Decimal]],
    parts: Mapping[int, Decimal],
) -> tuple[Decimal, Decimal, Decimal]:
    hours = sum((labour.get(o.id, (Decimal(0), Decimal(0)))[0] for o in orders), Decimal(0))
    lab = sum((labour.get(o.id, (Decimal(0), Decimal(0)))[1] for o in orders), Decimal(0))
    par = sum((parts.get(o.id, Decimal(0)) for o in orders), Decimal(0))
    return hours, _money(lab), _money(par)


def _ratio(part: Decimal, whole: Decimal | None) -> float | None:
    if whole is None or whole <= 0:
        return None
    return round(float(part / whole), 4)


def _figures(
    asset: Asset,
    book: _Book,
    changes: list[AssetStatusChange],
    *,
    now: datetime,
    window_start: datetime,
) -> AssetFigures:
    orders = book.orders.get(asset.id, [])
    hours, labour_cost, parts_cost = _sum_costs(orders, book.labour, book.parts)
    _, labour_12m, parts_12m = _sum_costs(orders, book.labour_12m, book.parts_12m)
    repair_12m = labour_12m + parts_12m
    age = _age_years(asset, now.date())
    life = asset.expected_life_years
    failures = _failures(orders)
    mttr, mtbf = _mttr_mtbf(failures, now)
    availability, under, clipped = _availability(asset, changes, window_start, now)
    if asset.warranty_end is None:
        warranty_state, days_left = "unknown", None
    else:
        days_left = (asset.warranty_end - now.date()).days
        warranty_state = "in_warranty" if days_left >= 0 else "expired"
    return AssetFigures(
        code=asset.code,
        now=now,
        age_years=age,
        expected_life_years=life,
        life_used_ratio=round(age / life, 4) if age is not None and life else None,
        purchase_cost=asset.purchase_cost,
        replacement_cost=asset.replacement_cost,
        parts_cost=parts_cost,
        labour_cost=labour_cost,
        labour_hours=hours,
        tco=_money((asset.purchase_cost or Decimal(0)) + parts_cost + labour_cost),
        repair_cost_12m=repair_12m,
        repair_replacement_ratio=_ratio(repair_12m, asset.replacement_cost),
        availability=availability,
        availability_from=clipped,
        availability_to=now,
        under_repair_s=round(under, 3),
        mttr_s=mttr,
        mtbf_s=mtbf,
        failures_total=len(failures),
        failures_12m=sum(1 for o in failures if now - _YEAR <= _origin(o) <= now),
        warranty_state=warranty_state,
        warranty_days_left=days_left,
        order_count=len(orders),
    )


def asset_figures(
    session: Session,
    *,
    asset_id: int,
    now: datetime,
    window_start: datetime | None = None,
    visible: Visibility = None,
) -> AssetFigures:
    """Every derived figure of one asset at ``now`` (availability over ``[window_start, now]``,
    by default the last 365 days), over the orders ``visible`` lets through."""
    asset = session.get(Asset, asset_id)
    if asset is None:
        raise AssetNotFound(f"asset id {asset_id} does not exist")
    if window_start is not None and window_start >= now:
        raise AssetError(
            f"the availability window starts at {window_start.isoformat()}, not before "
            f"{now.isoformat()}; pass an earlier start"
        )
    book = _book(session, [asset.id], now, visible)
    return _figures(
        asset,
        book,
        status_history(session, asset_id=asset.id),
        now=now,
        window_start=window_start or now - _YEAR,
    )


@dataclass(frozen=True, slots=True)
class ReplacementCandidate:
    rank: int
    code: str
    name: str
    site: str | None
    criticality: Criticality
    status: AssetStatus
    score: float
    components: dict[str, float]
    missing: list[str]
    figures: AssetFigures


def replacement_plan(
    session: Session,
    *,
    now: datetime,
    site: str | None = None,
    limit: int = 50,
    weights: ScoreWeights = WEIGHTS,
    visible: Visibility = None,
) -> list[ReplacementCandidate]:
    """Equipment not decommissioned, highest replacement score first (ties by code), scored
    over the orders ``visible`` lets through."""
    query = (
        sa.select(Asset, Site.code)
        .outerjoin(Site, Site.id == Asset.site_id)
        .where(Asset.level == AssetLevel.EQUIPMENT, Asset.status != AssetStatus.DECOMMISSIONED)
    )
    if site is not None:
        query = query.where(Site.code == site)
    rows = [(row[0], row[1]) for row in session.execute(query)]
    book = _book(session, [a.id for a, _ in rows], now, visible)
    histories: dict[int, list[AssetStatusChange]] = defaultdict(list)
    for change in session.scalars(
        sa.select(AssetStatusChange)
        .where(AssetStatusChange.asset_id.in_([a.id for a, _ in rows] or [-1]))
        .order_by(AssetStatusChange.ts, AssetStatusChange.id)
    ):
        histories[change.asset_id].append(change)
    scored = []
    for asset, site_code in rows:
        figures = _figures(
            asset, book, histories.get(asset.id, []), now=now, window_start=now - _YEAR
        )
        score, components = replacement_score(
            life_used_ratio=figures.life_used_ratio,
            repair_ratio=figures.repair_replacement_ratio,
            failures_12m=figures.failures_12m,
            criticality=asset.criticality,
            weights=weights,
        )
        missing = []
        if figures.life_used_ratio is None:
            missing.append("age (needs commissioned_on or installed_on and expected_life_years)")
        if figures.repair_replacement_ratio is None:
            missing.append("repair ratio (needs replacement_cost)")
        scored.append((score, asset, site_code, components, missing, figures))
    scored.sort(key=lambda item: (-item[0], item[1].code))
    return [
        ReplacementCandidate(
            rank=index + 1,
            code=asset.code,
            name=asset.name,
            site=site_code,
            criticality=asset.criticality,
            status=asset.status,
            score=score,
            components=components,
            missing=missing,
            figures=figures,
        )
        for index, (score, asset, site_code, components, missing, figures) in enumerate(
            scored[:limit]
        )
    ]
