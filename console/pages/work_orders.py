"""The work-order pages: the board, a technician's own list, one order, and the forms that move
an order along its life cycle or rate the work.

The board and "my orders" are for the maintenance team; an order's page is for anyone who may
see the order (as the API decides, by role and team). Every change is a form post through
:mod:`maintenance.work_orders.service` with the caller's role, so the console can do nothing
the API would refuse; the actions offered are those the service would accept.
"""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from console import _data as data
from console._forms import (
    CSRF_MESSAGE,
    FormError,
    back_with_notice,
    bad_form,
    form_text,
    read_form,
    safe_next,
)
from console._i18n import N_
from console._labels import NOTICES, common
from console._render import (
    PREFIX,
    actor_of,
    context_of,
    forbidden,
    login_redirect,
    not_found,
    render,
    user_of,
)
from console._session import ConsoleUser, CsrfError
from facility.core.errors import FacilityError, Forbidden, WorkOrderError, WorkOrderNotFound
from maintenance.api.problems import status_of
from maintenance.people.models import User
from maintenance.shared.vocabulary import Priority, Role
from maintenance.work_orders import service
from maintenance.work_orders.models import WorkOrder, WorkOrderStatus

__all__ = ["router"]

router = APIRouter(prefix=PREFIX, include_in_schema=False)

MAX_NOTE = 1000
#: States in which the requester may rate the work (as ``rate_work_order`` allows).
RATEABLE = (WorkOrderStatus.VERIFIED, WorkOrderStatus.CLOSED)


# -- board and orders -----------------------------------------------------------------------------
def _parse_filter(request: Request) -> tuple[data.BoardFilter, list[str]]:
    """The board's query string, validated; unknown values are reported, not silently used."""
    params = request.query_params
    problems: list[str] = []
    statuses = []
    for raw in params.getlist("status")[:20]:
        try:
            statuses.append(WorkOrderStatus(raw))
        except ValueError:
            problems.append(raw[:40])
    priorities = []
    for raw in params.getlist("priority")[:20]:
        try:
            priorities.append(Priority(raw))
        except ValueError:
            problems.append(raw[:40])
    assignee = (params.get("assignee") or "").strip()[:64] or None
    return (
        data.BoardFilter(statuses=tuple(statuses), priorities=tuple(priorities), assignee=assignee),
        problems,
    )


@router.get("/board")
async def board(request: Request) -> Response:
    user = user_of(request)
    if user is None:
        return login_redirect(request)
    if not user.can_work:
        return forbidden(request, user, N_("The work-order board is for the maintenance team."))
    flt, problems = _parse_filter(request)
    context = context_of(request)

    def load() -> tuple[list[data.OrderRow], list[str]]:
        with context.sessions() as session:
            return data.board_orders(session, flt, actor=actor_of(user)), data.assignees(session)

    rows, people = await run_in_threadpool(load)
    shown_states = list(flt.statuses) or list(data.BOARD_STATES)
    columns = [(s, [r for r in rows if r.order.status is s]) for s in shown_states]
    return render(
        request,
        "board.html",
        user=user,
        columns=columns,
        flt=flt,
        problems=problems,
        people=people,
        statuses=list(WorkOrderStatus),
        priorities=list(Priority),
        notice=NOTICES.get(request.query_params.get("notice", "")),
        status_code=400 if problems else 200,
        **common(request, user),
    )


@router.get("/my")
async def my_orders(request: Request) -> Response:
    """A technician's phone view: open orders assigned to me, then my team's."""
    user = user_of(request)
    if user is None:
        return login_redirect(request)
    if not user.can_work:
        return forbidden(request, user, N_("This view is for the maintenance team."))
    context = context_of(request)

    def load() -> list[data.OrderRow]:
        with context.sessions() as session:
            return data.board_orders(
                session,
                data.BoardFilter(statuses=(*data.ACTIVE_STATES, WorkOrderStatus.RESOLVED)),
                actor=actor_of(user),
            )

    rows = await run_in_threadpool(load)
    mine = [r for r in rows if r.order.assignee == user.username]
    others = [r for r in rows if r.order.assignee != user.username]
    return render(
        request,
        "my.html",
        user=user,
        mine=mine,
        others=others,
        notice=NOTICES.get(request.query_params.get("notice", "")),
        **common(request, user),
    )


def _may_rate(user: ConsoleUser, order: WorkOrder) -> bool:
    """As :func:`maintenance.work_orders.service.rate_work_order` decides, shown in advance."""
    if order.rating is not None or order.status not in RATEABLE:
        return False
    return user.can_manage or (user.role is Role.REQUESTER and order.created_by == user.username)


@router.get("/orders/{order_id}")
async def order_page(
    request: Request, order_id: Annotated[int, Path(ge=1, le=2**31 - 1)]
) -> Response:
    user = user_of(request)
    if user is None:
        return login_redirect(request)
    context = context_of(request)
    actor = actor_of(user)

    def load() -> tuple[WorkOrder | None, list[str], list[str]]:
        with context.sessions() as session:
            try:
                order = service.get_work_order(session, work_order_id=order_id, actor=actor)
            except WorkOrderNotFound:
                return None, [], []
            actions = service.actions_for(order, actor, service.team_of(session, actor))
            workers = session.scalars(
                sa.select(User.username)
                .where(User.role.in_((Role.TECH, Role.MANAGER)), User.active)
                .order_by(User.username)
            ).all()
            return order, actions, list(workers)

    order, actions, workers = await run_in_threadpool(load)
    if order is None:
        return not_found(request, user, N_("There is no such work order."))
    return render(
        request,
        "order.html",
        user=user,
        order=order,
        actions=actions,
        people=workers if "assign" in actions else [],
        may_rate=_may_rate(user, order),
        notice=NOTICES.get(request.query_params.get("notice", "")),
        **common(request, user),
    )


def _change_failed(request: Request, user: ConsoleUser, exc: Exception) -> Response:
    if isinstance(exc, WorkOrderNotFound):
        return not_found(request, user, N_("There is no such work order."))
    if isinstance(exc, Forbidden):
        return forbidden(request, user, N_("Your role may not do this to a work order."))
    return render(
        request,
        "error.html",
        user=user,
        status_code=status_of(exc) if isinstance(exc, FacilityError) else 409,
        title=N_("The work order could not be changed"),
        message=N_("Not possible now:"),
        detail=str(exc),
    )


@router.post("/orders/{order_id}/act")
async def act(request: Request, order_id: Annotated[int, Path(ge=1, le=2**31 - 1)]) -> Response:
    """Apply one life-cycle action from a form, with the caller's role (as the API does)."""
    user = user_of(request)
    if user is None:
        return Response("log in first", status_code=401)
    try:
        form = await read_form(request)
        action = form_text(form, "action", max_len=20, required=True)
        note = form_text(form, "note", max_len=MAX_NOTE)
        assignee = form_text(form, "assignee", max_len=64) or None
        back = safe_next(form_text(form, "back", max_len=500) or None)
    except CsrfError:
        return forbidden(request, user, CSRF_MESSAGE)
    except FormError as exc:
        return bad_form(request, user, exc.message)
    if action not in service.ACTIONS:
        return bad_form(request, user, N_("Unknown action."))
    context = context_of(request)

    def apply() -> None:
        with context.sessions() as session:
            service.transition(
                session,
                work_order_id=order_id,
                action=action,
                actor=user.username,
                role=user.role,
                note=note,
                assignee=assignee,
                now=context.clock(),
                policy=context.policy,
            )

    try:
        await run_in_threadpool(apply)
    except (WorkOrderError, Forbidden) as exc:
        return _change_failed(request, user, exc)
    return back_with_notice(back, "moved")


@router.post("/orders/{order_id}/rate")
async def rate(request: Request, order_id: Annotated[int, Path(ge=1, le=2**31 - 1)]) -> Response:
    """The requester's 1-5 rating of a verified order (once), through the service."""
    user = user_of(request)
    if user is None:
        return Response("log in first", status_code=401)
    try:
        form = await read_form(request)
        raw = form_text(form, "rating", max_len=1, required=True)
        comment = form_text(form, "comment", max_len=MAX_NOTE)
    except CsrfError:
        return forbidden(request, user, CSRF_MESSAGE)
    except FormError as exc:
        return bad_form(request, user, exc.message)
    if raw not in {"1", "2", "3", "4", "5"}:
        return bad_form(request, user, N_("Choose a rating from 1 to 5."))
    context = context_of(request)

    def apply() -> None:
        with context.sessions() as session:
            service.rate_work_order(
                session,
                work_order_id=order_id,
                rating=int(raw),
                comment=comment,
                actor=user.username,
                role=user.role,
                now=context.clock(),
            )

    try:
        await run_in_threadpool(apply)
    except (WorkOrderError, Forbidden) as exc:
        return _change_failed(request, user, exc)
    return back_with_notice(f"{PREFIX}/orders/{order_id}", "rated")
