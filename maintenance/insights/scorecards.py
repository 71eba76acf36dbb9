"""Supplier and contractor scorecards computed from what the system recorded.

A scorecard covers one calendar month (``YYYY-MM``, UTC) and one company. Its facts are:

* **outsourced orders**: work orders with ``contractor_id`` = the company, created in the month;
* **deliveries**: purchase orders to the company whose promised date (``expected_at``) falls in
  the month, cancelled ones left out;
* **review**: the manager's qualitative score for the month (``supplier_reviews``).

Each criterion is measured, then normalised to 0-100 (higher is better). The order measures use
the same definitions as the service KPIs (:mod:`maintenance.insights.kpis`):

* ``sla`` — SLA resolution compliance: of the orders with a resolution due time (not
  cancelled) that can be judged (resolved, breached, or due before ``now``), the share resolved
  on time and never breached. Score: the percentage itself.
* ``first_time_fix`` — of the done orders (resolved, verified, closed), the share never
  reopened. Score: the percentage itself.
* ``rating`` — the mean requester rating (1-5) of the rated orders.
  Score: ``(mean - 1) / 4 x 100``.
* ``reopen`` — reopen rate: reopens (sum of ``reopen_count`` over the month's orders, not
  cancelled) per done order; unlike first-time fix it counts every reopen of an order.
  Score: ``max(0, 100 - 100 x rate)``.
* ``order_cost`` — cost per done order: labour (hours x hourly rate) + net parts issued
  (issues minus returns at their ledger unit cost), averaged over done orders.
  Score: ``100 x cheapest / own`` where *cheapest* is the lowest cost per order among the
  companies scored that month (a cost of 0 scores 100).
* ``on_time_delivery`` — of the POs that can be judged (received, or still open after
  ``expected_at``), the share received (in full, or closed short) by ``expected_at``.
  Score: the percentage itself.
* ``lead_time`` — mean days from ``ordered_at`` to ``received_at`` of received POs.
  Score: ``100 x max(0, 1 - days / cap)``, cap = 30 days unless given.
* ``quantity_accuracy`` — mean over received POs of ``max(0, 1 - |received - ordered| /
  ordered)``, x 100. Score: that percentage.
* ``price`` — price index of the POs (not cancelled) whose item has a catalogue cost:
  ``sum(PO unit cost x qty) / sum(catalogue unit cost x qty)``.
  Score: ``min(100, 100 / index)`` (paying the catalogue price or less scores 100).
* ``review`` — the manager's score for the month. Score: the score itself.

Every score is clamped to 0-100.

Weights (:data:`DEFAULT_WEIGHTS`, overridable per call): sla 25, first_time_fix 15, rating 15,
reopen 5, order_cost 5, on_time_delivery 10, lead_time 5, quantity_accuracy 5, price 5,
review 10 (they sum to 100, but any non-negative numbers work: only their ratios matter).

**Missing data.** A criterion with no facts (a parts supplier has no orders to be on time with;
nobody rated anything) is left out, and the remaining weights are renormalised::

    score = sum(w_i x s_i for present i) / sum(w_i for present i)

so a supplier is neither punished nor rewarded for what it was never asked to do. A company
with no facts at all gets no scorecard that month (and no rank). A criterion with weight 0 is
left out the same way.

**Ranking.** Companies are ranked by score (rounded to 2 decimals), highest first; equal
scores share a rank and the next rank skips (1, 2, 2, 4). Results are stored in
``supplier_scores`` (one row per company and month, replaced when recomputed), which is the
ranking's history. A company whose score is below the review threshold (60 by default) is
flagged (``flagged_for_review_at``) until a manager clears the flag.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from statistics import fmean
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from maintenance.insights.kpis import resolution_sla
from maintenance.inventory.models import StockItem, StockMovement
from maintenance.purchasing.models import PurchaseOrder, PurchaseOrderStatus
from maintenance.suppliers.models import (
    QualificationStatus,
    Supplier,
    SupplierReview,
    SupplierScore,
)
from maintenance.suppliers.service import SupplierError, get_supplier
from maintenance.work_orders.models import LabourEntry, WorkOrder, WorkOrderStatus

__all__ = [
    "CRITERIA",
    "DEFAULT_LEAD_TIME_CAP_DAYS",
    "DEFAULT_THRESHOLD",
    "DEFAULT_WEIGHTS",
    "DeliveryFact",
    "Facts",
    "OrderFact",
    "Scorecard",
    "competition_ranks",
    "compute_scorecards",
    "list_scores",
    "measure",
    "normalise",
    "parse_period",
    "record_review",
    "resolve_weights",
    "score_all",
    "weighted_score",
]

CRITERIA = (
    "sla",
    "first_time_fix",
    "rating",
    "reopen",
    "order_cost",
    "on_time_delivery",
    "lead_time",
    "quantity_accuracy",
    "price",
    "review",
)
DEFAULT_WEIGHTS: dict[str, float] = {
    "sla": 25.0,
    "first_time_fix": 15.0,
    "rating": 15.0,
    "reopen": 5.0,
    "order_cost": 5.0,
    "on_time_delivery": 10.0,
    "lead_time": 5.0,
    "quantity_accuracy": 5.0,
    "price": 5.0,
    "review": 10.0,
}
DEFAULT_THRESHOLD = 60.0
DEFAULT_LEAD_TIME_CAP_DAYS = 30.0

S = WorkOrderStatus
_DONE = frozenset({S.RESOLVED, S.VERIFIED, S.CLOSED})


# -- facts ----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class OrderFact:
    """What the scorecard needs of one outsourced work order."""

    status: WorkOrderStatus
    resolution_due_at: datetime | None
    resolved_at: datetime | None
    resolution_breached_at: datetime | None
    reopen_count: int
    rating: int | None
    cost: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class DeliveryFact:
    """What the scorecard needs of one purchase order."""

    status: PurchaseOrderStatus
    ordered_at: datetime
    expected_at: datetime
    received_at: datetime | None
    quantity: Decimal
    quantity_received: Decimal | None
    unit_cost: Decimal
    catalogue_cost: Decimal


@dataclass(frozen=True, slots=True)
class Facts:
    orders: tuple[OrderFact, ...] = ()
    deliveries: tuple[DeliveryFact, ...] = ()
    review: float | None = None


# -- pure logic -----------------------------------------------------------------------------------
def _pct(part: int, whole: int) -> float | None:
    return 100.0 * part / whole if whole else None


def measure(facts: Facts, *, now: datetime) -> dict[str, tuple[float | None, int]]:
    """Each criterion's raw measure and its sample size (see the module docstring)."""
    orders = facts.orders
    judged, on_time = resolution_sla(orders, now=now)
    done = [o for o in orders if o.status in _DONE]
    ratings = [float(o.rating) for o in orders if o.rating is not None]
    reopens = sum(o.reopen_count for o in orders if o.status is not S.CANCELLED)

    deliveries = [d for d in facts.deliveries if d.status is not PurchaseOrderStatus.CANCELLED]
    received = [
        d
        for d in deliveries
        if d.status is PurchaseOrderStatus.RECEIVED and d.received_at is not None
    ]
    late_open = [
        d for d in deliveries if d.status is PurchaseOrderStatus.OPEN and d.expected_at < now
    ]
    delivered_on_time = sum(
        1 for d in received if d.received_at is not None and d.received_at <= d.expected_at
    )
    lead_days = [
        (d.received_at - d.ordered_at).total_seconds() / 86400.0
        for d in received
        if d.received_at is not None
    ]
    accuracy = [
        max(0.0, 1.0 - float(abs((d.quantity_received or Decimal(0)) - d.quantity) / d.quantity))
        for d in received
    ]
    priced = [d for d in deliveries if d.catalogue_cost > 0]
    catalogue = sum((d.catalogue_cost * d.quantity for d in priced), Decimal(0))
    paid = sum((d.unit_cost * d.quantity for d in priced), Decimal(0))

    return {
        "sla": (_pct(on_time, judged), judged),
        "first_time_fix": (
            _pct(sum(1 for o in done if o.reopen_count == 0), len(done)),
            len(done),
        ),
        "rating": (fmean(ratings) if ratings else None, len(ratings)),
        "reopen": (reopens / len(done) if done else None, len(done)),
        "order_cost": (
            float(sum((o.cost for o in done), Decimal(0))) / len(done) if done else None,
            len(done),
        ),
        "on_time_delivery": (
            _pct(delivered_on_time, len(received) + len(late_open)),
            len(received) + len(late_open),
        ),
        "lead_time": (fmean(lead_days) if lead_days else None, len(lead_days)),
        "quantity_accuracy": (100.0 * fmean(accuracy) if accuracy else None, len(accuracy)),
        "price": (float(paid / catalogue) if catalogue > 0 else None, len(priced)),
        "review": (facts.review, 1 if facts.review is not None else 0),
    }


def normalise(
    raw: Mapping[str, float | None],
    *,
    cheapest_order_cost: float | None,
    lead_time_cap_days: float = DEFAULT_LEAD_TIME_CAP_DAYS,
) -> dict[str, float | None]:
    """Raw measures to 0-100 scores (None stays None: no data)."""

    def clamp(value: float) -> float:
        return max(0.0, min(100.0, value))

    scores: dict[str, float | None] = {}
    for name in CRITERIA:
        value = raw.get(name)
        if value is None:
            scores[name] = None
        elif name == "rating":
            scores[name] = clamp((value - 1.0) / 4.0 * 100.0)
        elif name == "reopen":
            scores[name] = clamp(100.0 - 100.0 * value)
        elif name == "order_cost":
            if value <= 0:
                scores[name] = 100.0
            else:
                best = cheapest_order_cost if cheapest_order_cost is not None else value
                scores[name] = clamp(100.0 * best / value)
        elif name == "lead_time":
            scores[name] = clamp(100.0 * (1.0 - value / lead_time_cap_days))
        elif name == "price":
            scores[name] = 100.0 if value <= 0 else clamp(100.0 / value)
        else:  # already a percentage or a 0-100 score
            scores[name] = clamp(value)
    return scores


def resolve_weights(overrides: Mapping[str, float] | None = None) -> dict[str, float]:
    """The default weights with ``overrides`` applied; refuses unknown names and bad numbers."""
    weights = dict(DEFAULT_WEIGHTS)
    for name, value in (overrides or {}).items():
        if name not in DEFAULT_WEIGHTS:
            raise SupplierError(
                f"unknown scorecard criterion {str(name)[:40]!r}; criteria: {', '.join(CRITERIA)}"
            )
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SupplierError(f"the weight of {name!r} must be a number, got {value!r}")
        if not math.isfinite(value) or not 0 <= value <= 1000:
            raise SupplierError(f"the weight of {name!r} must be between 0 and 1000, got {value}")
        weights[name] = float(value)
    if sum(weights.values()) <= 0:
        raise SupplierError("at least one scorecard weight must be above 0")
    return weights


def weighted_score(
    scores: Mapping[str, float | None], weights: Mapping[str, float]
) -> tuple[float | None, dict[str, float]]:
    """Weighted mean over the criteria that have data; returns it and the effective weights
    (each present criterion's share of the renormalised total, summing to 1)."""
    present = {
        name: weights.get(name, 0.0)
        for name, value in scores.items()
        if value is not None and weights.get(name, 0.0) > 0
    }
    total = sum(present.values())
    if total <= 0:
        return None, {}
    score = sum(weights[name] * float(scores[name] or 0.0) for name in present) / total
    return score, {name: w / total for name, w in present.items()}


def competition_ranks(scores: Mapping[str, float]) -> dict[str, int]:
    """Rank keys by score, highest first; equal scores (to 2 decimals) share a rank (1, 2, 2, 4).
    Ties are listed by key so the order is stable."""
    ordered = sorted(scores, key=lambda key: (-round(scores[key], 2), key))
    ranks: dict[str, int] = {}
    previous: float | None = None
    for position, key in enumerate(ordered, start=1):
        value = round(scores[key], 2)
        ranks[key] = ranks[ordered[position - 2]] if value == previous else position
        previous = value
    return ranks


@dataclass(frozen=True, slots=True)
class Scorecard:
    """One company's computed scorecard for a period."""

    code: str
    name: str
    period: str
    score: float
    rank: int
    components: dict[str, Any]
    flagged: bool = False
    newly_flagged: bool = False
    supplier_id: int = 0


@dataclass(frozen=True, slots=True)
class _Pending:
    code: str
    score: float
    components: dict[str, Any] = field(default_factory=dict)


def score_all(
    facts: Mapping[str, Facts],
    *,
    now: datetime,
    weights: Mapping[str, float] | None = None,
    lead_time_cap_days: float = DEFAULT_LEAD_TIME_CAP_DAYS,
) -> dict[str, tuple[float, int, dict[str, Any]]]:
    """Score and rank every company from its facts: ``{code: (score, rank, components)}``.

    Pure: the unit tests and :func:`compute_scorecards` share it.
    """
    resolved = resolve_weights(weights)
    raw = {code: measure(f, now=now) for code, f in facts.items()}
    costs = [m["order_cost"][0] for m in raw.values() if m["order_cost"][0] is not None]
    cheapest = min((c for c in costs if c is not None), default=None)
    pending: dict[str, _Pending] = {}
    for code, measures in raw.items():
        values = {name: value for name, (value, _) in measures.items()}
        normalised = normalise(
            values, cheapest_order_cost=cheapest, lead_time_cap_days=lead_time_cap_days
        )
        score, effective = weighted_score(normalised, resolved)
        if score is None:
            continue
        components = {
            name: {
                "value": None if values[name] is None else round(float(values[name] or 0.0), 4),
                "score": None if normalised[name] is None else round(normalised[name] or 0.0, 2),
                "n": measures[name][1],
                "weight": resolved[name],
                "effective_weight": round(effective.get(name, 0.0), 4),
            }
            for name in CRITERIA
        }
        pending[code] = _Pending(code, round(score, 2), components)
    ranks = competition_ranks({code: p.score for code, p in pending.items()})
    return {code: (p.score, ranks[code], p.components) for code, p in pending.items()}


# -- periods --------------------------------------------------------------------------------------
def parse_period(period: str) -> tuple[datetime, datetime]:
    """``YYYY-MM`` → [first instant of the month, first instant of the next) in UTC."""
    try:
        year_text, month_text = period.split("-")
        if len(year_text) != 4 or len(month_text) != 2:
            raise ValueError(period)
        year, month = int(year_text), int(month_text)
        start = datetime(year, month, 1, tzinfo=UTC)
    except ValueError:
        raise SupplierError(
            f"period {period[:20]!r} is not a month; write it as YYYY-MM, e.g. 2026-10"
        ) from None
    if not 2000 <= year <= 2100:
        raise SupplierError(f"period {period!r} is out of range (2000-01 to 2100-12)")
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
    return start, end


# -- from the database ----------------------------------------------------------------------------
def _order_facts(session: Session, *, start: datetime, end: datetime) -> dict[int, list[OrderFact]]:
    in_period = (
        WorkOrder.contractor_id.is_not(None),
        WorkOrder.created_at >= start,
        WorkOrder.created_at < end,
    )
    orders = list(session.scalars(sa.select(WorkOrder).where(*in_period)))
    # a subquery, not a list of ids: a busy month must not hit SQLite's bound-parameter limit
    ids = sa.select(WorkOrder.id).where(*in_period)
    labour: dict[int, Decimal] = {}
    parts: dict[int, Decimal] = {}
    for labour_order, hours, rate in session.execute(
        sa.select(LabourEntry.work_order_id, LabourEntry.hours, LabourEntry.hourly_rate).where(
            LabourEntry.work_order_id.in_(ids)
        )
    ):
        labour[labour_order] = labour.get(labour_order, Decimal(0)) + hours * rate
    for order_id, quantity, unit_cost in session.execute(
        sa.select(
            StockMovement.work_order_id, StockMovement.quantity, StockMovement.unit_cost
        ).where(StockMovement.work_order_id.in_(ids))
    ):
        if order_id is not None:
            parts[order_id] = parts.get(order_id, Decimal(0)) - quantity * unit_cost
    result: dict[int, list[OrderFact]] = {}
    for o in orders:
        assert o.contractor_id is not None
        result.setdefault(o.contractor_id, []).append(
            OrderFact(
                status=o.status,
                resolution_due_at=o.resolution_due_at,
                resolved_at=o.resolved_at,
                resolution_breached_at=o.resolution_breached_at,
                reopen_count=o.reopen_count,
                rating=o.rating,
                cost=labour.get(o.id, Decimal(0)) + parts.get(o.id, Decimal(0)),
            )
        )
    return result


def _delivery_facts(
    session: Session, *, start: datetime, end: datetime
) -> dict[int, list[DeliveryFact]]:
    rows = session.execute(
        sa.select(PurchaseOrder, StockItem.unit_cost)
        .join(StockItem, StockItem.id == PurchaseOrder.item_id)
        .where(PurchaseOrder.expected_at >= start, PurchaseOrder.expected_at < end)
    )
    result: dict[int, list[DeliveryFact]] = {}
    for po, catalogue in rows:
        result.setdefault(po.supplier_id, []).append(
            DeliveryFact(
                status=po.status,
                ordered_at=po.ordered_at,
                expected_at=po.expected_at,
                received_at=po.received_at,
                quantity=po.quantity,
                quantity_received=po.quantity_received,
                unit_cost=po.unit_cost,
                catalogue_cost=catalogue,
            )
        )
    return result


def compute_scorecards(
    session: Session,
    *,
    period: str,
    now: datetime,
    weights: Mapping[str, float] | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    lead_time_cap_days: float = DEFAULT_LEAD_TIME_CAP_DAYS,
) -> list[Scorecard]:
    """Compute, rank and store every company's scorecard for ``period``; flag low scorers.

    Recomputing a period replaces its rows (a company that no longer has facts loses its row),
    so the stored ranking is always one consistent computation.
    """
    if not math.isfinite(threshold) or not 0 <= threshold <= 100:
        raise SupplierError(f"the review threshold is a score from 0 to 100, got {threshold}")
    if not math.isfinite(lead_time_cap_days) or not 0 < lead_time_cap_days <= 3650:
        raise SupplierError(f"the lead-time cap is 1 to 3650 days, got {lead_time_cap_days}")
    start, end = parse_period(period)
    resolve_weights(weights)  # refuse bad weights before reading anything
    suppliers = {
        s.id: s
        for s in session.scalars(
            sa.select(Supplier).where(Supplier.status != QualificationStatus.REMOVED)
        )
    }
    orders = _order_facts(session, start=start, end=end)
    deliveries = _delivery_facts(session, start=start, end=end)
    reviews: dict[int, float] = {
        supplier_id: score
        for supplier_id, score in session.execute(
            sa.select(SupplierReview.supplier_id, SupplierReview.score).where(
                SupplierReview.period == period
            )
        )
    }
    facts = {
        s.code: Facts(
            orders=tuple(orders.get(s.id, ())),
            deliveries=tuple(deliveries.get(s.id, ())),
            review=reviews.get(s.id),
        )
        for s in suppliers.values()
    }
    results = score_all(facts, now=now, weights=weights, lead_time_cap_days=lead_time_cap_days)
    by_code = {s.code: s for s in suppliers.values()}
    existing = {
        row.supplier_id: row
        for row in session.scalars(sa.select(SupplierScore).where(SupplierScore.period == period))
    }
    cards: list[Scorecard] = []
    try:
        kept: set[int] = set()
        for code, (score, rank, components) in results.items():
            supplier = by_code[code]
            kept.add(supplier.id)
            row = existing.get(supplier.id)
            if row is None:
                row = SupplierScore(supplier_id=supplier.id, period=period)
                session.add(row)
            row.score, row.rank, row.components, row.computed_at = score, rank, components, now
            newly = False
            if score < threshold and supplier.flagged_for_review_at is None:
                supplier.flagged_for_review_at = now
                newly = True
            cards.append(
                Scorecard(
                    code=code,
                    name=supplier.name,
                    period=period,
                    score=score,
                    rank=rank,
                    components=components,
                    flagged=supplier.flagged_for_review_at is not None,
                    newly_flagged=newly,
                    supplier_id=supplier.id,
                )
            )
        for supplier_id, row in existing.items():
            if supplier_id not in kept:
                session.delete(row)
        session.commit()
    except IntegrityError:
        session.rollback()
        raise SupplierError(
            f"the scorecards of {period} were being computed at the same time; run it again"
        ) from None
    return sorted(cards, key=lambda c: (c.rank, c.code))


def list_scores(
    session: Session,
    *,
    supplier_code: str | None = None,
    period: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[tuple[SupplierScore, Supplier]], int]:
    """Stored scorecards (the ranking history), newest period first, then by rank."""
    query = sa.select(SupplierScore, Supplier).join(
        Supplier, Supplier.id == SupplierScore.supplier_id
    )
    if supplier_code is not None:
        supplier = get_supplier(session, code=supplier_code)
        query = query.where(SupplierScore.supplier_id == supplier.id)
    if period is not None:
        parse_period(period)
        query = query.where(SupplierScore.period == period)
    total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    rows = session.execute(
        query.order_by(SupplierScore.period.desc(), SupplierScore.rank, Supplier.code)
        .limit(limit)
        .offset(offset)
    )
    return [(row[0], row[1]) for row in rows], int(total)


def record_review(
    session: Session,
    *,
    supplier_code: str,
    period: str,
    score: float,
    reviewer: str,
    comment: str = "",
    now: datetime | None = None,
) -> SupplierReview:
    """The manager's qualitative 0-100 score for a month; a second review replaces the first."""
    parse_period(period)
    if isinstance(score, bool) or not math.isfinite(score) or not 0 <= score <= 100:
        raise SupplierError(f"a review score is 0 to 100, got {score}")
    supplier = get_supplier(session, code=supplier_code)
    review = session.scalar(
        sa.select(SupplierReview)
        .where(SupplierReview.supplier_id == supplier.id, SupplierReview.period == period)
        .with_for_update()
    )
    if review is None:
        review = SupplierReview(supplier_id=supplier.id, period=period)
        session.add(review)
    review.score, review.comment, review.reviewer = float(score), comment, reviewer
    review.created_at = now or datetime.now(UTC)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise SupplierError(
            "the review was written at the same time by someone else; retry"
        ) from None
    return review
