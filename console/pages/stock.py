"""Stock: low stock, reorder suggestions by supplier, valuation and dead stock, and the forms
that book a receipt (goods in) or an adjustment (a stock-take correction with its reason).

For managers and admins. The forms are checked by the API's own request schemas and booked
through :mod:`maintenance.inventory.service`, as ``/inventory/receipts`` and
``/inventory/adjustments`` do.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from console import _service_data as sdata
from console._forms import (
    MAX_REASON,
    ActionRefused,
    BadParameter,
    Problem,
    bad_parameter,
    kept,
    manager_form,
    query_int,
    read_field,
    redirect,
    service_refused,
)
from console._i18n import N_
from console._labels import page
from console._render import PREFIX, context_of, gate
from console._session import ConsoleUser
from facility.core.errors import FacilityError
from maintenance.api.problems import status_of
from maintenance.inventory import service as inventory
from maintenance.inventory.schemas import AdjustmentCreate, ReceiptCreate
from maintenance.shared.actors import Actor

__all__ = ["router"]

router = APIRouter(prefix=PREFIX, include_in_schema=False)

MAX_DEAD_DAYS = 3650
#: A quantity as people type it: optional sign, digits, optional decimals (no exponent, no
#: locale grouping); the API's schema then bounds it.
_NUMBER = re.compile(r"^[+-]?\d{1,13}(?:\.\d{1,13})?$")


@router.get("/stock")
async def stock_page(request: Request) -> Response:
    """Low stock, reorder suggestions by supplier, valuation and dead stock."""
    checked = gate(request, managers_only=True)
    if isinstance(checked, Response):
        return checked
    user = checked
    try:
        days = query_int(request, "days", default=180, low=1, high=MAX_DEAD_DAYS)
    except BadParameter as exc:
        return bad_parameter(request, user, exc)
    return await _stock_response(request, user, days=days)


async def _stock_response(
    request: Request, user: ConsoleUser, *, days: int = 180, problem: Problem | None = None
) -> Response:
    context = context_of(request)

    def load() -> sdata.StockView:
        with context.sessions() as session:
            return sdata.stock_view(session, now=context.clock(), dead_days=days)

    view = await run_in_threadpool(load)
    return page(
        request,
        "stock.html",
        user,
        status_code=problem.status_code if problem else 200,
        view=view,
        problem=problem,
    )


def _quantity(
    form: FormData, form_name: str, values: dict[str, str], name: str, *, signed: bool
) -> Decimal:
    raw = read_field(form, form_name, values, name, max_len=30, required=True)
    message = (
        N_("Enter a non-zero number, such as 5 or -2.5 (at most three decimals).")
        if signed
        else N_("Enter a number greater than zero, such as 5 or 2.5 (at most three decimals).")
    )
    if not _NUMBER.match(raw):
        raise ActionRefused(Problem(form_name, message, field_name=name, detail=raw, values=values))
    try:
        return Decimal(raw)
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimal numbers
        raise ActionRefused(Problem(form_name, message, field_name=name, values=values)) from None


def _schema_refused(form_name: str, exc: ValidationError, values: dict[str, str]) -> ActionRefused:
    """The API schema's verdict on the first bad field, in the console's words."""
    name = str(exc.errors()[0]["loc"][0]) if exc.errors() and exc.errors()[0]["loc"] else "form"
    messages = {
        "sku": N_("Choose an item from the list."),
        "storeroom": N_("Choose a storeroom from the list."),
        "quantity": N_(
            "Enter a number greater than zero and at most 1,000,000,000, "
            "with at most three decimals."
        ),
        "delta": N_(
            "Enter a non-zero number between -1,000,000,000 and 1,000,000,000, "
            "with at most three decimals."
        ),
        "reason": N_("Give a reason of 3 to 500 characters."),
    }
    message = messages.get(name, N_("The form is not valid"))
    return ActionRefused(
        Problem(form_name, message, field_name=name, detail=values.get(name), values=values)
    )


@router.post("/stock")
async def stock_action(request: Request) -> Response:
    """``action=receive`` (goods in) or ``action=adjust`` (a stock-take correction with its
    reason), through :func:`inventory.receive` / :func:`inventory.adjust` as the API's
    ``/inventory/receipts`` and ``/inventory/adjustments`` do; managers and admins."""
    checked = await manager_form(request)
    if isinstance(checked, Response):
        return checked
    user, form = checked
    context = context_of(request)
    action = form.get("action")
    form_name = "receive" if action == "receive" else "adjust" if action == "adjust" else "stock"
    values = kept(form, "sku", "storeroom", "quantity", "reason")
    try:
        if form_name == "stock":
            raise ActionRefused(Problem("stock", N_("Unknown action."), detail=str(action)[:20]))
        sku = read_field(form, form_name, values, "sku", max_len=64, required=True)
        room = read_field(form, form_name, values, "storeroom", max_len=64, required=True)
        reason = read_field(form, form_name, values, "reason", max_len=MAX_REASON)
        signed = form_name == "adjust"
        quantity = _quantity(form, form_name, values, "quantity", signed=signed)
        try:
            if signed:
                adjustment = AdjustmentCreate(
                    sku=sku, storeroom=room, delta=quantity, reason=reason
                )
            else:
                receipt = ReceiptCreate(sku=sku, storeroom=room, quantity=quantity, reason=reason)
        except ValidationError as exc:
            raise _schema_refused(form_name, exc, values) from None

        def book() -> None:
            with context.sessions() as session:
                if signed:
                    inventory.adjust(
                        session,
                        sku=adjustment.sku,
                        storeroom=adjustment.storeroom,
                        delta=adjustment.delta,
                        reason=adjustment.reason,
                        actor=Actor(user.username, user.role),
                        now=context.clock(),
                    )
                else:
                    inventory.receive(
                        session,
                        sku=receipt.sku,
                        storeroom=receipt.storeroom,
                        quantity=receipt.quantity,
                        actor=user.username,
                        reason=receipt.reason,
                        now=context.clock(),
                    )

        try:
            await run_in_threadpool(book)
        except FacilityError as exc:  # the error's kind decides the status, as in the API
            raise service_refused(form_name, exc, values, status_code=status_of(exc)) from None
    except ActionRefused as refused:
        return await _stock_response(request, user, problem=refused.problem)
    return redirect("/stock", "adjusted" if signed else "received")
