"""The scorecard's pure logic: measures, normalisation, weighting with missing data, ranking."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from maintenance.insights import scorecards as sc
from maintenance.purchasing.models import PurchaseOrderStatus
from maintenance.suppliers.service import SupplierError
from maintenance.work_orders.models import WorkOrderStatus

NOW = datetime(2026, 11, 1, tzinfo=UTC)
DUE = datetime(2026, 10, 10, tzinfo=UTC)
S = WorkOrderStatus
P = PurchaseOrderStatus


def _order(
    *,
    status: WorkOrderStatus = S.CLOSED,
    resolved_h: float | None = -1,
    reopens: int = 0,
    rating: int | None = None,
    cost: int = 0,
    breached: bool = False,
) -> sc.OrderFact:
    return sc.OrderFact(
        status=status,
        resolution_due_at=DUE,
        resolved_at=None if resolved_h is None else DUE + timedelta(hours=resolved_h),
        resolution_breached_at=DUE if breached else None,
        reopen_count=reopens,
        rating=rating,
        cost=Decimal(cost),
    )


def _delivery(
    *,
    late_days: float = 0,
    lead_days: float = 4,
    quantity: int = 10,
    received: int | None = 10,
    status: PurchaseOrderStatus = P.RECEIVED,
    price: str = "10",
    catalogue: str = "10",
) -> sc.DeliveryFact:
    expected = DUE
    arrived = expected + timedelta(days=late_days)
    return sc.DeliveryFact(
        status=status,
        ordered_at=arrived - timedelta(days=lead_days),
        expected_at=expected,
        received_at=arrived if status is P.RECEIVED else None,
        quantity=Decimal(quantity),
        quantity_received=None if received is None else Decimal(received),
        unit_cost=Decimal(price),
        catalogue_cost=Decimal(catalogue),
    )


def test_sla_counts_late_open_orders_as_misses_and_ignores_cancelled_and_not_yet_due() -> None:
    facts = sc.Facts(
        orders=(
            _order(resolved_h=-1),  # on time
            _order(resolved_h=+2, status=S.RESOLVED),  # late
            _order(resolved_h=None, status=S.IN_PROGRESS),  # open, due passed: a miss
            _order(resolved_h=None, status=S.CANCELLED),  # not judged
        )
    )
    measured = sc.measure(facts, now=NOW)
    assert measured["sla"] == (pytest.approx(100 / 3), 3)
    early = sc.measure(facts, now=DUE - timedelta(hours=5))
    assert early["sla"] == (pytest.approx(50.0), 2)  # the open order is not due yet


def test_a_breach_mark_makes_an_on_time_looking_resolution_a_miss() -> None:
    facts = sc.Facts(orders=(_order(resolved_h=-1, breached=True), _order(resolved_h=-1)))
    assert sc.measure(facts, now=NOW)["sla"] == (pytest.approx(50.0), 2)


def test_first_time_fix_and_reopen_rate_differ_when_an_order_is_reopened_twice() -> None:
    facts = sc.Facts(orders=(_order(reopens=2), _order(), _order(), _order()))
    measured = sc.measure(facts, now=NOW)
    assert measured["first_time_fix"][0] == pytest.approx(75.0)
    assert measured["reopen"][0] == pytest.approx(0.5)
    scores = sc.normalise({k: v for k, (v, _) in measured.items()}, cheapest_order_cost=None)
    assert scores["first_time_fix"] == pytest.approx(75.0)
    assert scores["reopen"] == pytest.approx(50.0)


@pytest.mark.parametrize(("mean", "score"), [(1.0, 0.0), (3.0, 50.0), (5.0, 100.0), (4.5, 87.5)])
def test_ratings_map_one_to_five_onto_zero_to_a_hundred(mean: float, score: float) -> None:
    assert sc.normalise({"rating": mean}, cheapest_order_cost=None)["rating"] == pytest.approx(
        score
    )


def test_order_cost_is_scored_against_the_cheapest_peer() -> None:
    normalised = sc.normalise({"order_cost": 250.0}, cheapest_order_cost=100.0)
    assert normalised["order_cost"] == pytest.approx(40.0)
    assert sc.normalise({"order_cost": 0.0}, cheapest_order_cost=0.0)["order_cost"] == 100.0


def test_delivery_measures_on_time_lead_time_accuracy_and_price() -> None:
    facts = sc.Facts(
        deliveries=(
            _delivery(late_days=0, lead_days=3),
            _delivery(late_days=2, lead_days=9, received=8, price="12.5"),
            _delivery(status=P.OPEN, received=None, late_days=-30),  # open and overdue
            _delivery(status=P.CANCELLED, received=None),  # ignored
        )
    )
    measured = sc.measure(facts, now=NOW)
    assert measured["on_time_delivery"] == (pytest.approx(100 / 3), 3)
    assert measured["lead_time"] == (pytest.approx(6.0), 2)
    assert measured["quantity_accuracy"] == (pytest.approx(90.0), 2)
    # price over the three not-cancelled POs: (10 + 12.5 + 10) / 30 per unit
    assert measured["price"][0] == pytest.approx(32.5 / 30)
    scores = sc.normalise({k: v for k, (v, _) in measured.items()}, cheapest_order_cost=None)
    assert scores["lead_time"] == pytest.approx(80.0)
    assert scores["price"] == pytest.approx(100 * 30 / 32.5)
    assert scores["sla"] is None and scores["rating"] is None


def test_lead_time_beyond_the_cap_scores_zero_and_over_delivery_costs_accuracy() -> None:
    scores = sc.normalise({"lead_time": 45.0}, cheapest_order_cost=None, lead_time_cap_days=30)
    assert scores["lead_time"] == 0.0
    over = sc.measure(sc.Facts(deliveries=(_delivery(received=12),)), now=NOW)
    assert over["quantity_accuracy"][0] == pytest.approx(80.0)


def test_missing_criteria_are_left_out_and_the_weights_renormalised() -> None:
    weights = sc.resolve_weights()
    scores: dict[str, float | None] = {name: None for name in sc.CRITERIA}
    scores |= {"sla": 80.0, "review": 50.0}
    total, effective = sc.weighted_score(scores, weights)
    expected = (80.0 * weights["sla"] + 50.0 * weights["review"]) / (
        weights["sla"] + weights["review"]
    )
    assert total == pytest.approx(expected)
    assert sum(effective.values()) == pytest.approx(1.0)
    assert set(effective) == {"sla", "review"}
    assert sc.weighted_score({name: None for name in sc.CRITERIA}, weights) == (None, {})


def test_a_zero_weight_drops_a_criterion_like_missing_data() -> None:
    weights = sc.resolve_weights({"review": 0})
    total, effective = sc.weighted_score({"sla": 70.0, "review": 10.0}, weights)
    assert total == pytest.approx(70.0) and set(effective) == {"sla"}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"speed": 1.0}, "unknown scorecard criterion"),
        ({"sla": -1.0}, "between 0 and 1000"),
        ({"sla": float("nan")}, "between 0 and 1000"),
        ({"sla": True}, "must be a number"),
        ({name: 0.0 for name in sc.CRITERIA}, "at least one"),
    ],
)
def test_bad_weights_are_refused_with_the_reason(overrides: dict[str, float], message: str) -> None:
    with pytest.raises(SupplierError, match=message):
        sc.resolve_weights(overrides)


def test_default_weights_cover_every_criterion_and_sum_to_a_hundred() -> None:
    assert set(sc.DEFAULT_WEIGHTS) == set(sc.CRITERIA)
    assert sum(sc.DEFAULT_WEIGHTS.values()) == pytest.approx(100.0)


def test_ranks_are_competition_ranks_with_ties_sharing_a_place() -> None:
    ranks = sc.competition_ranks({"d": 50.0, "a": 90.0, "c": 70.004, "b": 70.0, "e": 10.0})
    assert ranks == {"a": 1, "b": 2, "c": 2, "d": 4, "e": 5}
    assert sc.competition_ranks({}) == {}


def test_score_all_ranks_companies_and_skips_those_without_facts() -> None:
    good = sc.Facts(orders=(_order(rating=5, cost=100), _order(rating=5, cost=100)))
    poor = sc.Facts(orders=(_order(resolved_h=5, reopens=1, rating=2, cost=300),))
    results = sc.score_all({"GOOD": good, "POOR": poor, "NONE": sc.Facts()}, now=NOW)
    assert set(results) == {"GOOD", "POOR"}
    assert results["GOOD"][1] == 1 and results["POOR"][1] == 2
    assert results["GOOD"][0] == pytest.approx(100.0)
    poor_cost = results["POOR"][2]["order_cost"]
    assert poor_cost["score"] == pytest.approx(100 * 100 / 300, abs=0.01)
    assert poor_cost["value"] == pytest.approx(300.0)


@pytest.mark.parametrize(
    "period", ["2026-1", "26-01", "2026-00", "2026-13", "abcd-ef", "", "1999-12"]
)
def test_periods_are_months_written_yyyy_mm(period: str) -> None:
    with pytest.raises(SupplierError):
        sc.parse_period(period)


def test_a_period_spans_its_calendar_month_in_utc() -> None:
    assert sc.parse_period("2026-12") == (
        datetime(2026, 12, 1, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
    )
