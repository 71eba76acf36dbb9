"""``/api/v1/readings``: reading history from whichever store is configured."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from maintenance.assets.schemas import ReadingPublic, ReadingsPage
from maintenance.people.deps import ContextDep, CurrentUser, parse_time

router = APIRouter(tags=["readings"])


@router.get("/readings")
def list_readings(
    context: ContextDep,
    caller: CurrentUser,
    device: Annotated[str | None, Query(max_length=200)] = None,
    metric: Annotated[str | None, Query(max_length=64)] = None,
    start: Annotated[str | None, Query(max_length=40, description="ISO 8601 or epoch s")] = None,
    end: Annotated[str | None, Query(max_length=40, description="ISO 8601 or epoch s")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> ReadingsPage:
    """Readings in time order; ``total`` counts the whole range, ``next`` pages on."""
    start_ts, end_ts = parse_time(start, "start"), parse_time(end, "end")
    if start_ts and end_ts and end_ts < start_ts:
        raise HTTPException(422, "end is before start")
    try:
        page = context.readings.query(
            device=device, metric=metric, start=start_ts, end=end_ts, limit=limit, cursor=cursor
        )
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    return ReadingsPage(
        items=[
            ReadingPublic(device=r.device, metric=r.metric, value=r.value, unit=r.unit, ts=r.ts)
            for r in page.items
        ],
        total=page.total,
        next=page.next_cursor,
    )
