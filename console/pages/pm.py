"""Preventive maintenance: the forecast, the plans and this month's compliance, and the forms
that approve a plan or run the scheduler.

The page is for the maintenance team (it is a technician's daily work); approving a plan and
running the scheduler are for managers and admins, through :mod:`maintenance.pm.service` as
the API's PM routes do.
"""

from __future__ import annotations

from datetime import UTC, date

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from console import _service_data as sdata
from console._forms import (
    MAX_OFFSET,
    ActionRefused,
    BadParameter,
    Problem,
    bad_parameter,
    manager_form,
    query_int,
    read_field,
    redirect,
    service_refused,
)
from console._i18n import N_
from console._labels import page
from console._pm_calendar import CalendarKind, CalendarView, EntryState, calendar_view
from console._render import PREFIX, context_of, gate
from console._session import ConsoleUser
from facility.core.errors import FacilityError
from maintenance.api.problems import status_of
from maintenance.pm import service as pm

__all__ = ["router"]

router = APIRouter(prefix=PREFIX, include_in_schema=False)

MAX_WEEKS = 104
MAX_ID = 2**31 - 1
#: How many generated orders the PM page lists after a scheduler run (the total is said too).
MAX_SHOWN = 50


def _ids(request: Request, name: str) -> list[int]:
    """Up to :data:`MAX_SHOWN` positive ids repeated under ``name`` (``?made=3&made=4``)."""
    ids = []
    for raw in request.query_params.getlist(name)[:MAX_SHOWN]:
        text = raw.strip()
        if not (text.isascii() and text.isdigit() and len(text) <= 10 and 0 < int(text) <= MAX_ID):
            raise BadParameter(name, raw)
        ids.append(int(text))
    return ids


@router.get("/pm")
async def pm_page(request: Request) -> Response:
    """The PM forecast for the next ``weeks`` (1-104), the plans, this month's compliance;
    after a scheduler run (``notice=pm-ran``) also the orders it made (``made``, repeated)."""
    checked = gate(request, managers_only=False)
    if isinstance(checked, Response):
        return checked
    user = checked
    try:
        weeks = query_int(request, "weeks", default=4, low=1, high=MAX_WEEKS)
        made = _ids(request, "made")
        made_total = query_int(request, "total", default=len(made), low=0, high=MAX_OFFSET)
    except BadParameter as exc:
        return bad_parameter(request, user, exc)
    return await _pm_response(request, user, weeks=weeks, made=made, made_total=made_total)


async def _pm_response(
    request: Request,
    user: ConsoleUser,
    *,
    weeks: int = 4,
    made: list[int] | None = None,
    made_total: int = 0,
    problem: Problem | None = None,
) -> Response:
    context = context_of(request)

    def load() -> tuple[sdata.PmView, list[tuple[int, str]]]:
        with context.sessions() as session:
            view = sdata.pm_view(
                session, now=context.clock(), weeks=weeks, readings=context.readings
            )
            return view, sdata.generated_orders(session, ids=made or [])

    view, generated = await run_in_threadpool(load)
    return page(
        request,
        "pm.html",
        user,
        status_code=problem.status_code if problem else 200,
        view=view,
        weeks=weeks,
        max_weeks=MAX_WEEKS,
        generated=generated,
        generated_total=made_total,
        problem=problem,
    )


#: The words for an occurrence's state on the calendar.
ENTRY_LABELS = {
    EntryState.FORECAST: N_("Due"),
    EntryState.OPEN: N_("Ordered"),
    EntryState.OVERDUE: N_("Overdue"),
    EntryState.DONE: N_("Done"),
    EntryState.CANCELLED: N_("Cancelled"),
}


@router.get("/pm/calendar")
async def pm_calendar(request: Request) -> Response:
    """What falls due each day of a month (``view=month``, default) or a week (``view=week``)
    holding ``date`` (YYYY-MM-DD, default today): ordered occurrences with their order's state,
    then the forecast."""
    checked = gate(request, managers_only=False)
    if isinstance(checked, Response):
        return checked
    user = checked
    context = context_of(request)
    now = context.clock()
    raw_kind = request.query_params.get("view", CalendarKind.MONTH.value)
    raw_date = request.query_params.get("date", "")
    try:
        if raw_kind not in CalendarKind.__members__.values():
            raise BadParameter("view", raw_kind)
        anchor = _day(raw_date) if raw_date else now.astimezone(UTC).date()
    except BadParameter as exc:
        return bad_parameter(request, user, exc)
    kind = CalendarKind(raw_kind)

    def load() -> CalendarView:
        with context.sessions() as session:
            return calendar_view(
                session, kind=kind, anchor=anchor, now=now, readings=context.readings
            )

    view = await run_in_threadpool(load)
    return page(request, "pm_calendar.html", user, cal=view, entry_labels=ENTRY_LABELS)


def _day(raw: str) -> date:
    """A calendar day from ``YYYY-MM-DD``, within years 2000-2100 (a typo is not year 20260)."""
    text = raw.strip()[:10]
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise BadParameter("date", raw[:40]) from None
    if not 2000 <= day.year <= 2100:
        raise BadParameter("date", raw[:40])
    return day


@router.post("/pm")
async def pm_action(request: Request) -> Response:
    """``action=approve`` (with ``plan``) or ``action=run``: what ``POST /api/v1/pm/plans/{id}/
    approve`` and ``POST /api/v1/pm/run`` do, for managers and admins."""
    checked = await manager_form(request)
    if isinstance(checked, Response):
        return checked
    user, form = checked
    context = context_of(request)
    try:
        action = read_field(form, "pm", {}, "action", max_len=20, required=True)
        if action == "run":

            def run() -> list[int]:
                with context.sessions() as session:
                    made = pm.run_pm_scheduler(
                        session, now=context.clock(), readings=context.readings
                    )
                    return [g.work_order_id for g in made]

            made = await run_in_threadpool(run)
            return redirect("/pm", "pm-ran", made=made[:MAX_SHOWN], total=len(made))
        if action != "approve":
            raise ActionRefused(Problem("pm", N_("Unknown action."), detail=action[:20]))
        raw = read_field(form, "approve", {}, "plan", max_len=12, required=True)
        if not raw.isascii() or not raw.isdigit() or not 0 < int(raw) <= MAX_ID:
            raise ActionRefused(Problem("approve", N_("Choose a plan from the list."), detail=raw))
        plan_id = int(raw)

        def approve() -> None:
            with context.sessions() as session:
                plan = pm.get_plan(session, plan_id=plan_id)
                if plan.approved_at is not None:  # a second click must not restamp the go-ahead
                    raise ActionRefused(
                        Problem("approve", N_("This plan is already approved."), 409)
                    )
                pm.approve_plan(session, plan_id=plan_id, actor=user.username, now=context.clock())

        try:
            await run_in_threadpool(approve)
        except FacilityError as exc:  # the error's kind decides the status, as in the API
            raise service_refused("approve", exc, {}, status_code=status_of(exc)) from None
    except ActionRefused as refused:
        return await _pm_response(request, user, problem=refused.problem)
    return redirect("/pm", "plan-approved")
