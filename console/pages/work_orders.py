"""The work-order pages: the board, a technician's own list, one order, and the forms that move
an order along its life cycle, record its checklist, cancel it or rate the work.

The board and "my orders" are for the maintenance team; an order's page is for anyone who may
see the order (as the API decides, by role and team). Every change is a form post through
:mod:`maintenance.work_orders.service` with the caller's role, so the console can do nothing
the API would refuse; the actions offered are those the service would accept. A refused
checklist result or resolve draws the order page again with the reason in the page's language
(which required items are missing, linked); cancelling is a page of its own that asks for the
reason, which becomes the transition's note in the audit trail.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from console import _data as data
from console._diagnosis import diagnosis_view
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
    language_of,
    login_redirect,
    not_found,
    render,
    state_of,
    user_of,
)
from console._session import ConsoleUser, CsrfError
from facility.core.errors import (
    FacilityError,
    Forbidden,
    InvalidTransition,
    WorkOrderError,
    WorkOrderNotFound,
)
from maintenance.api.problems import status_of
from maintenance.people.models import User
from maintenance.shared.vocabulary import Priority, Role
from maintenance.work_orders import service
from maintenance.work_orders.models import ChecklistItem, WorkOrder, WorkOrderStatus

__all__ = ["router"]

router = APIRouter(prefix=PREFIX, include_in_schema=False)

MAX_NOTE = 1000
#: Longest checklist result (the API's ``ChecklistResult`` allows 10,000; a phone form less).
MAX_RESULT = 2000
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
    search = " ".join((params.get("q") or "").split())[:100] or None
    overdue = params.get("overdue", "") not in ("", "0")
    return (
        data.BoardFilter(
            statuses=tuple(statuses),
            priorities=tuple(priorities),
            assignee=assignee,
            search=search,
            overdue=overdue,
        ),
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
            orders = data.board_orders(session, flt, actor=actor_of(user), now=context.clock())
            return orders, data.assignees(session)

    rows, people = await run_in_threadpool(load)
    shown_states = list(flt.statuses) or list(data.BOARD_STATES)
    columns = [(s, [r for r in rows if r.order.status is s]) for s in shown_states]
    return render(
        request,
        "board.html",
        user=user,
        refresh_s=state_of(request).board_refresh_s,
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


def missing_items(order: WorkOrder) -> list[ChecklistItem]:
    """The required checklist items without a result: what stops ``resolve`` (as the service
    decides in :func:`~maintenance.work_orders.service.transition`)."""
    return [item for item in order.checklist if item.required and item.outcome is None]


async def _draw_order(
    request: Request,
    user: ConsoleUser,
    order_id: int,
    *,
    status_code: int = 200,
    **problems: Any,
) -> Response:
    """The order page; a refused post draws it again with ``problems`` (``item_problem``: the
    item id and message; ``resolve_refused``: required items are missing)."""
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
        status_code=status_code,
        order=order,
        actions=actions,
        people=workers if "assign" in actions else [],
        may_rate=_may_rate(user, order),
        # the service lets whoever may resolve the order record its checklist
        may_record="resolve" in actions,
        missing=missing_items(order),
        photos={a.id: a.filename for a in order.attachments},
        diagnosis=diagnosis_view(order, language_of(request)),
        item_problem=problems.get("item_problem"),
        resolve_refused=problems.get("resolve_refused", False),
        notice=NOTICES.get(request.query_params.get("notice", "")),
        **common(request, user),
    )


@router.get("/orders/{order_id}")
async def order_page(
    request: Request, order_id: Annotated[int, Path(ge=1, le=2**31 - 1)]
) -> Response:
    user = user_of(request)
    if user is None:
        return login_redirect(request)
    return await _draw_order(request, user, order_id)


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
    if action == "cancel":
        return await _cancel(request, user, order_id, reason=note)
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
        if action == "resolve" and not isinstance(exc, InvalidTransition | WorkOrderNotFound):
            # the service's English reason names the items; the page names them in its language
            return await _draw_order(
                request, user, order_id, status_code=status_of(exc), resolve_refused=True
            )
        return _change_failed(request, user, exc)
    return back_with_notice(back, "moved")


# -- checklist ------------------------------------------------------------------------------------
#: Why a result was refused, by the item's kind (the service's reasons are English).
RESULT_PROBLEMS = {
    "pass_fail": N_("Choose pass or fail."),
    "number": N_("Enter the measured value as a number, such as 4.5."),
    "text": N_("Write what you found."),
    "photo": N_("Choose a photo attached to this work order."),
}


def _result_value(kind: str, raw: str) -> str | float:
    """The form's text as the service takes it for ``kind``; anything unreadable is passed on
    as text, so the service refuses it in its own order (role, state, then value)."""
    if kind == "number":
        try:
            text = raw.replace(" ", "")
            number = float(text if "." in text else text.replace(",", "."))  # 4,5 is 4.5
        except ValueError:
            return raw
        return number if math.isfinite(number) else raw
    if kind == "photo" and raw.isascii() and raw.isdigit() and len(raw) < 12:
        return float(raw)
    return raw


@router.post("/orders/{order_id}/checklist/{item_id}")
async def record_item(
    request: Request,
    order_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    item_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
) -> Response:
    """Record one checklist item's result through the service, as the API's
    ``POST /work-orders/{id}/checklist/{item}`` does."""
    user = user_of(request)
    if user is None:
        return Response("log in first", status_code=401)
    try:
        form = await read_form(request)
        raw = form_text(form, "value", max_len=MAX_RESULT)
    except CsrfError:
        return forbidden(request, user, CSRF_MESSAGE)
    except FormError as exc:
        return await _draw_order(
            request, user, order_id, status_code=400, item_problem=(item_id, exc.message)
        )
    context = context_of(request)
    actor = actor_of(user)

    def apply() -> tuple[int, str] | None:
        """None when recorded; else the status and the reason for the item's kind."""
        with context.sessions() as session:
            order = service.get_work_order(session, work_order_id=order_id, actor=actor)
            item = next((i for i in order.checklist if i.id == item_id), None)
            kind = item.kind if item is not None else "text"
            try:
                service.record_checklist_item(
                    session,
                    work_order_id=order_id,
                    item_id=item_id,
                    value=_result_value(kind, raw),
                    actor=user.username,
                    role=user.role,
                    now=context.clock(),
                    policy=context.policy,
                )
            except (WorkOrderNotFound, InvalidTransition):
                raise
            except WorkOrderError as exc:  # the value does not fit the item's kind
                return status_of(exc), RESULT_PROBLEMS.get(kind, RESULT_PROBLEMS["text"])
            return None

    try:
        refused = await run_in_threadpool(apply)
    except WorkOrderNotFound:
        return not_found(request, user, N_("There is no such checklist item."))
    except Forbidden as exc:
        return _change_failed(request, user, exc)
    except InvalidTransition as exc:
        refused = (
            status_of(exc),
            N_("Start the work order first: its checklist is recorded while it is in progress."),
        )
    if refused is not None:
        status_code, message = refused
        return await _draw_order(
            request, user, order_id, status_code=status_code, item_problem=(item_id, message)
        )
    return RedirectResponse(
        f"{PREFIX}/orders/{order_id}?notice=recorded#item-{item_id}", status_code=303
    )


# -- cancelling -----------------------------------------------------------------------------------
async def _cancel_page(
    request: Request,
    user: ConsoleUser,
    order_id: int,
    *,
    status_code: int = 200,
    error: str | None = None,
    reason: str = "",
) -> Response:
    """The confirmation step: the order, what cancelling means, and the required reason."""
    context = context_of(request)
    actor = actor_of(user)

    def load() -> tuple[WorkOrder | None, list[str]]:
        with context.sessions() as session:
            try:
                order = service.get_work_order(session, work_order_id=order_id, actor=actor)
            except WorkOrderNotFound:
                return None, []
            return order, service.actions_for(order, actor, service.team_of(session, actor))

    order, actions = await run_in_threadpool(load)
    if order is None:
        return not_found(request, user, N_("There is no such work order."))
    if "cancel" not in actions:
        if order.status not in service.ACTIONS["cancel"].sources:
            return render(
                request,
                "error.html",
                user=user,
                status_code=409,
                title=N_("The work order could not be changed"),
                message=N_("This work order can no longer be cancelled."),
            )
        return forbidden(request, user, N_("Your role may not do this to a work order."))
    return render(
        request,
        "order_cancel.html",
        user=user,
        status_code=status_code,
        order=order,
        error=error,
        reason=reason,
        **common(request, user),
    )


@router.get("/orders/{order_id}/cancel")
async def cancel_page(
    request: Request, order_id: Annotated[int, Path(ge=1, le=2**31 - 1)]
) -> Response:
    user = user_of(request)
    if user is None:
        return login_redirect(request)
    return await _cancel_page(request, user, order_id)


@router.post("/orders/{order_id}/cancel")
async def cancel(request: Request, order_id: Annotated[int, Path(ge=1, le=2**31 - 1)]) -> Response:
    """Cancel with a reason (required): the ``cancel`` transition, the reason as its note."""
    user = user_of(request)
    if user is None:
        return Response("log in first", status_code=401)
    try:
        form = await read_form(request)
        reason = form_text(form, "reason", max_len=MAX_NOTE)
    except CsrfError:
        return forbidden(request, user, CSRF_MESSAGE)
    except FormError as exc:
        return await _cancel_page(request, user, order_id, status_code=400, error=exc.message)
    return await _cancel(request, user, order_id, reason=reason)


async def _cancel(request: Request, user: ConsoleUser, order_id: int, *, reason: str) -> Response:
    if not reason:
        return await _cancel_page(
            request,
            user,
            order_id,
            status_code=400,
            error=N_("Say why the work order is cancelled; the reason goes into its history."),
        )
    context = context_of(request)

    def apply() -> None:
        with context.sessions() as session:
            service.transition(
                session,
                work_order_id=order_id,
                action="cancel",
                actor=user.username,
                role=user.role,
                note=reason,
                now=context.clock(),
                policy=context.policy,
            )

    try:
        await run_in_threadpool(apply)
    except (WorkOrderError, Forbidden) as exc:
        return _change_failed(request, user, exc)
    return back_with_notice(f"{PREFIX}/orders/{order_id}", "cancelled")


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
