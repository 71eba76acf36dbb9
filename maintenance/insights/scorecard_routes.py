"""``/api/v1/suppliers/scorecards`` and ``/api/v1/suppliers/{code}/reviews``: compute, rank and
list the supplier and contractor scorecards, and record the manager's monthly review they use.

Scorecards read the whole history (work orders, labour, the stock ledger, purchase orders), so
they sit on the read side above the domains, not with the directory. The API registers this
router before the directory's so ``/suppliers/scorecards`` is not taken for a supplier code.

Who may do what: admins and managers compute and read scorecards and review; nobody else.
Errors: unknown supplier 404, role 403, malformed 422.
"""

from __future__ import annotations

from typing import Annotated, TypeVar

from fastapi import APIRouter, Body, Path, Query

from maintenance.insights import scorecards
from maintenance.insights.schemas import ScorecardPublic, ScorecardsPage, ScoreRequest
from maintenance.people.deps import Caller, ContextDep, SessionDep, require_roles
from maintenance.shared.fields import CODE, PERIOD
from maintenance.shared.vocabulary import Role
from maintenance.suppliers.schemas import ReviewCreate, ReviewPublic

__all__ = ["router"]

router = APIRouter(tags=["suppliers"])

T = TypeVar("T")
CodePath = Annotated[str, Path(min_length=1, max_length=64, pattern=CODE)]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=2**31 - 1)]
PeriodQuery = Annotated[str | None, Query(pattern=PERIOD, description="YYYY-MM")]
Manager = Annotated[Caller, require_roles(Role.ADMIN, Role.MANAGER)]


# -- scorecards -----------------------------------------------------------------------------------
@router.post("/suppliers/scorecards")
def compute_scorecards(
    session: SessionDep,
    context: ContextDep,
    caller: Manager,
    period: Annotated[str, Query(pattern=PERIOD, description="YYYY-MM")],
    body: Annotated[ScoreRequest | None, Body()] = None,
) -> list[ScorecardPublic]:
    """Compute, rank and store every company's scorecard for ``period`` (weights, threshold
    and lead-time cap in the optional body; see docs/suppliers.md), flagging low scorers."""
    settings = body or ScoreRequest()
    now = context.clock()
    cards = scorecards.compute_scorecards(
        session,
        period=period,
        now=now,
        weights=settings.weights,
        threshold=float(settings.threshold),
        lead_time_cap_days=float(settings.lead_time_cap_days),
    )
    return [
        ScorecardPublic(
            supplier=c.code,
            name=c.name,
            period=c.period,
            score=c.score,
            rank=c.rank,
            components=c.components,
            flagged=c.flagged,
            computed_at=now,
        )
        for c in cards
    ]


def _scores_page(
    session: SessionDep, *, supplier: str | None, period: str | None, limit: int, offset: int
) -> ScorecardsPage:
    rows, total = scorecards.list_scores(
        session, supplier_code=supplier, period=period, limit=limit, offset=offset
    )
    return ScorecardsPage(
        items=[
            ScorecardPublic(
                supplier=s.code,
                name=s.name,
                period=row.period,
                score=row.score,
                rank=row.rank,
                components=row.components,
                flagged=s.flagged_for_review_at is not None,
                computed_at=row.computed_at,
            )
            for row, s in rows
        ],
        total=total,
        limit=limit,
        offset=offset,
    )


SupplierQuery = Annotated[str | None, Query(min_length=1, max_length=64, pattern=CODE)]


@router.get("/suppliers/scorecards")
def get_scorecards(
    session: SessionDep,
    caller: Manager,
    period: PeriodQuery = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> ScorecardsPage:
    """The stored ranking of ``period`` (all periods when left out), best first."""
    return _scores_page(session, supplier=None, period=period, limit=limit, offset=offset)


@router.get("/suppliers/scorecards/history")
def get_scorecard_history(
    session: SessionDep,
    caller: Manager,
    supplier: SupplierQuery = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> ScorecardsPage:
    """Every stored scorecard of one company (or all), newest period first."""
    return _scores_page(session, supplier=supplier, period=None, limit=limit, offset=offset)


# -- reviews --------------------------------------------------------------------------------------
@router.put("/suppliers/{code}/reviews")
def put_review(
    code: CodePath,
    body: ReviewCreate,
    session: SessionDep,
    context: ContextDep,
    caller: Manager,
) -> ReviewPublic:
    """The manager's qualitative 0-100 score for a month (a second one replaces the first)."""
    review = scorecards.record_review(
        session,
        supplier_code=code,
        period=body.period,
        score=float(body.score),
        comment=body.comment,
        reviewer=caller.username,
        now=context.clock(),
    )
    return ReviewPublic.model_validate(review)
