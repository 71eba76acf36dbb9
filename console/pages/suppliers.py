"""Suppliers: the directory with qualification, latest score and rank, review flags and the
certificates that expire within 30 days, and the form that moves a supplier along its
qualification machine.

For managers and admins; a move goes through :mod:`maintenance.suppliers.service`, as the
API's ``POST /suppliers/{code}/status`` does.
"""

from __future__ import annotations

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
    kept,
    manager_form,
    query_choices,
    query_int,
    read_field,
    read_status,
    redirect,
    service_refused,
)
from console._labels import page
from console._render import PREFIX, context_of, gate
from console._session import ConsoleUser
from facility.core.errors import FacilityError
from maintenance.api.problems import status_of
from maintenance.shared.actors import Actor
from maintenance.suppliers import service as directory
from maintenance.suppliers.models import QualificationStatus

__all__ = ["router"]

router = APIRouter(prefix=PREFIX, include_in_schema=False)

PAGE = 100
#: Longest reason for a move, as the API's request body bounds it.
MAX_SUPPLIER_REASON = 2000


@router.get("/suppliers")
async def suppliers_page(request: Request) -> Response:
    """The directory with qualification, latest score and rank, review flags, and the
    certificates that expire within 30 days."""
    checked = gate(request, managers_only=True)
    if isinstance(checked, Response):
        return checked
    user = checked
    try:
        chosen = query_choices(request, "status", QualificationStatus)
        offset = query_int(request, "offset", default=0, low=0, high=MAX_OFFSET)
    except BadParameter as exc:
        return bad_parameter(request, user, exc)
    if len(chosen) > 1:
        return bad_parameter(request, user, BadParameter("status", "(more than one)"))
    status = next(iter(chosen), None)
    return await _suppliers_response(request, user, status=status, offset=offset)


async def _suppliers_response(
    request: Request,
    user: ConsoleUser,
    *,
    status: QualificationStatus | None = None,
    offset: int = 0,
    problem: Problem | None = None,
) -> Response:
    context = context_of(request)

    def load() -> sdata.SuppliersView:
        with context.sessions() as session:
            return sdata.suppliers_view(
                session, now=context.clock(), status=status, limit=PAGE, offset=offset
            )

    view = await run_in_threadpool(load)
    return page(
        request,
        "suppliers.html",
        user,
        status_code=problem.status_code if problem else 200,
        view=view,
        status=status,
        statuses=list(QualificationStatus),
        offset=offset,
        page=PAGE,
        problem=problem,
    )


@router.post("/suppliers")
async def supplier_action(request: Request) -> Response:
    """Move ``supplier`` to ``to`` with a ``reason`` through :func:`suppliers.change_status`
    (the API's ``POST /suppliers/{code}/status``); managers and admins."""
    checked = await manager_form(request)
    if isinstance(checked, Response):
        return checked
    user, form = checked
    context = context_of(request)
    values = kept(form, "supplier", "to", "reason")
    try:
        code = read_field(form, "supplier", values, "supplier", max_len=64, required=True)
        to = read_status(form, "supplier", values, QualificationStatus)
        reason = read_field(
            form, "supplier", values, "reason", max_len=MAX_SUPPLIER_REASON, required=True
        )

        def move() -> None:
            with context.sessions() as session:
                directory.change_status(
                    session,
                    code=code,
                    to=to,
                    actor=Actor(user.username, user.role),
                    reason=reason,
                    now=context.clock(),
                )

        try:
            await run_in_threadpool(move)
        except FacilityError as exc:  # the error's kind decides the status, as in the API
            raise service_refused("supplier", exc, values, status_code=status_of(exc)) from None
    except ActionRefused as refused:
        return await _suppliers_response(request, user, problem=refused.problem)
    return redirect("/suppliers", "supplier-moved")
