"""The console's service-management pages: asset register, replacement plan, preventive
maintenance, stock, suppliers and the monthly review.

Pages over the maintenance services (see :mod:`console._service_data`). Who sees what:
managers and admins everything; technicians the asset register and preventive maintenance
(their daily work); requesters and contractors none of it. Query parameters are validated and a
bad one is answered with 400 and the value it refused, never a 500.

Managers and admins also act here, through form posts to the page's own address (so a refused
form is shown again, in place, with its message): approve a PM plan or run the scheduler,
book a stock receipt or adjustment, move a supplier or an asset along its status machine.
Every action calls the service that owns the rule (the same call the API route makes), checks
the role first (anyone else gets 403 and nothing changes), then the CSRF token, then the form;
success is a 303 back to the page with a ``notice``.

This router is included before the first one: ``/assets/replacement`` must win over
``/assets/{asset_id}``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from console import _service_data as sdata
from console._app import PREFIX, context_of, localizer_of, render, user_of
from console._i18n import N_
from console._routes import (
    CSRF_MESSAGE,
    FormError,
    _common,
    _form,
    _login_redirect,
    asset_page,
)
from console._routes import _text as _field
from console._session import ConsoleUser, CsrfError
from facility.core.errors import FacilityError
from maintenance.api.problems import status_of
from maintenance.assets import lifecycle
from maintenance.assets.models import Asset, AssetStatus, Criticality
from maintenance.insights.asset_figures import WEIGHTS
from maintenance.inventory import service as inventory
from maintenance.inventory.schemas import AdjustmentCreate, ReceiptCreate
from maintenance.pm import service as pm
from maintenance.review import service as reviews
from maintenance.review.report import render_html
from maintenance.shared.actors import Actor
from maintenance.suppliers import service as directory
from maintenance.suppliers.models import QualificationStatus

__all__ = ["router"]

router = APIRouter(prefix=PREFIX, include_in_schema=False)

T = TypeVar("T")
StatusT = TypeVar("StatusT", bound=StrEnum)
#: Bounds of the query parameters (as the API bounds the same figures).
MAX_WEEKS = 104
MAX_DEAD_DAYS = 3650
MAX_OFFSET = 2**31 - 1
MAX_PLAN_ROWS = 500
PAGE = 100
MAX_ID = 2**31 - 1
#: How many generated orders the PM page lists after a scheduler run (the total is said too).
MAX_SHOWN = 50
#: The report's own policy: inline styles and charts only, shown in the console's frame.
REVIEW_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; "
    "base-uri 'none'; form-action 'none'"
)


class BadParameter(ValueError):
    """A query parameter this page cannot use; shown with 400 and the refused value."""

    def __init__(self, name: str, value: str) -> None:
        super().__init__(name)
        self.detail = f"{name}={value[:40]}"


def _int(request: Request, name: str, *, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    text = raw.strip()
    if not text.isascii() or not text.lstrip("-").isdigit() or len(text) > 12:
        raise BadParameter(name, raw)
    value = int(text)
    if not low <= value <= high:
        raise BadParameter(name, raw)
    return value


def _choices(request: Request, name: str, kind: Callable[[str], T]) -> frozenset[T]:
    chosen = set()
    for raw in request.query_params.getlist(name)[:20]:
        if raw == "":
            continue
        try:
            chosen.add(kind(raw))
        except ValueError:
            raise BadParameter(name, raw) from None
    return frozenset(chosen)


def _text(request: Request, name: str, *, max_len: int) -> str | None:
    raw = request.query_params.get(name)
    if raw is None or raw.strip() == "":
        return None
    value = raw.strip()
    if len(value) > max_len or any(ord(ch) < 32 for ch in value):
        raise BadParameter(name, raw)
    return value


def _error(
    request: Request,
    user: ConsoleUser | None,
    status_code: int,
    title: str,
    message: str,
    detail: str | None = None,
) -> Response:
    return render(
        request,
        "error.html",
        user=user,
        status_code=status_code,
        title=title,
        message=message,
        detail=detail,
    )


def _bad_parameter(request: Request, user: ConsoleUser, exc: BadParameter) -> Response:
    return _error(
        request,
        user,
        400,
        N_("The address is not valid"),
        N_("This page cannot use the value given in its address:"),
        exc.detail,
    )


def _gate(request: Request, *, managers_only: bool) -> ConsoleUser | Response:
    """The signed-in user when their role may see the page; else the log-in or a 403 page."""
    user = user_of(request)
    if user is None:
        return _login_redirect(request)
    allowed = user.can_manage if managers_only else user.can_work
    if not allowed:
        message = (
            N_("This page is for facility managers.")
            if managers_only
            else N_("This page is for the maintenance team.")
        )
        return _error(request, user, 403, N_("Not allowed"), message)
    return user


def _ids(request: Request, name: str) -> list[int]:
    """Up to :data:`MAX_SHOWN` positive ids repeated under ``name`` (``?made=3&made=4``)."""
    ids = []
    for raw in request.query_params.getlist(name)[:MAX_SHOWN]:
        text = raw.strip()
        if not (text.isascii() and text.isdigit() and len(text) <= 10 and 0 < int(text) <= MAX_ID):
            raise BadParameter(name, raw)
        ids.append(int(text))
    return ids


def _page(
    request: Request, template: str, user: ConsoleUser, status_code: int = 200, **values: Any
) -> Response:
    return render(
        request,
        template,
        user=user,
        status_code=status_code,
        **values,
        **sdata.LABELS,
        **sdata.formatters(localizer_of(request)),
        **_common(request, user),
    )


# -- asset register -------------------------------------------------------------------------------
@router.get("/assets")
async def assets_page(request: Request) -> Response:
    """The register as a tree per site, filtered by status and criticality."""
    gate = _gate(request, managers_only=False)
    if isinstance(gate, Response):
        return gate
    user = gate
    try:
        statuses = _choices(request, "status", AssetStatus)
        criticalities = _choices(request, "criticality", Criticality)
    except BadParameter as exc:
        return _bad_parameter(request, user, exc)
    context = context_of(request)

    def load() -> list[sdata.SiteTree]:
        with context.sessions() as session:
            return sdata.asset_register(
                session, now=context.clock(), statuses=statuses, criticalities=criticalities
            )

    sites = await run_in_threadpool(load)
    return _page(
        request,
        "assets.html",
        user,
        sites=sites,
        statuses=list(AssetStatus),
        criticalities=list(Criticality),
        chosen_statuses=statuses,
        chosen_criticalities=criticalities,
    )


@router.get("/assets/replacement")
async def replacement_page(request: Request) -> Response:
    """Equipment ranked by the life-cycle service's replacement score, with its parts."""
    gate = _gate(request, managers_only=True)
    if isinstance(gate, Response):
        return gate
    user = gate
    try:
        limit = _int(request, "limit", default=50, low=1, high=MAX_PLAN_ROWS)
    except BadParameter as exc:
        return _bad_parameter(request, user, exc)
    context = context_of(request)

    def load() -> list[sdata.ReplacementRow]:
        with context.sessions() as session:
            return sdata.replacement_view(session, now=context.clock(), limit=limit)

    rows = await run_in_threadpool(load)
    return _page(request, "replacement.html", user, rows=rows, weights=WEIGHTS, limit=limit)


@router.get("/assets/{asset_id}/documents/{document_id}")
async def asset_document(
    request: Request,
    asset_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    document_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
) -> Response:
    """A document's bytes, for the maintenance team (the API's download needs a bearer
    token, which a plain link from the console cannot send)."""
    gate = _gate(request, managers_only=False)
    if isinstance(gate, Response):
        return gate
    user = gate
    context = context_of(request)
    root = context.attachments_dir
    if root is None:
        return _error(
            request,
            user,
            503,
            N_("Documents are not available"),
            N_("Document storage is not configured on this server."),
        )

    def load() -> sdata.DocumentFile | None:
        with context.sessions() as session:
            return sdata.document_file(
                session, root=root, asset_id=asset_id, document_id=document_id
            )

    found = await run_in_threadpool(load)
    if found is None or not found.path.is_file():
        return _error(request, user, 404, N_("Not found"), N_("This asset has no such document."))
    return FileResponse(
        found.path,
        media_type=found.content_type,
        filename=found.filename,
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"},
    )


# -- preventive maintenance -----------------------------------------------------------------------
@router.get("/pm")
async def pm_page(request: Request) -> Response:
    """The PM forecast for the next ``weeks`` (1-104), the plans, this month's compliance;
    after a scheduler run (``notice=pm-ran``) also the orders it made (``made``, repeated)."""
    gate = _gate(request, managers_only=False)
    if isinstance(gate, Response):
        return gate
    user = gate
    try:
        weeks = _int(request, "weeks", default=4, low=1, high=MAX_WEEKS)
        made = _ids(request, "made")
        made_total = _int(request, "total", default=len(made), low=0, high=MAX_OFFSET)
    except BadParameter as exc:
        return _bad_parameter(request, user, exc)
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
    return _page(
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


# -- stock ----------------------------------------------------------------------------------------
@router.get("/stock")
async def stock_page(request: Request) -> Response:
    """Low stock, reorder suggestions by supplier, valuation and dead stock."""
    gate = _gate(request, managers_only=True)
    if isinstance(gate, Response):
        return gate
    user = gate
    try:
        days = _int(request, "days", default=180, low=1, high=MAX_DEAD_DAYS)
    except BadParameter as exc:
        return _bad_parameter(request, user, exc)
    return await _stock_response(request, user, days=days)


async def _stock_response(
    request: Request, user: ConsoleUser, *, days: int = 180, problem: Problem | None = None
) -> Response:
    context = context_of(request)

    def load() -> sdata.StockView:
        with context.sessions() as session:
            return sdata.stock_view(session, now=context.clock(), dead_days=days)

    view = await run_in_threadpool(load)
    return _page(
        request,
        "stock.html",
        user,
        status_code=problem.status_code if problem else 200,
        view=view,
        problem=problem,
    )


# -- suppliers ------------------------------------------------------------------------------------
@router.get("/suppliers")
async def suppliers_page(request: Request) -> Response:
    """The directory with qualification, latest score and rank, review flags, and the
    certificates that expire within 30 days."""
    gate = _gate(request, managers_only=True)
    if isinstance(gate, Response):
        return gate
    user = gate
    try:
        chosen = _choices(request, "status", QualificationStatus)
        offset = _int(request, "offset", default=0, low=0, high=MAX_OFFSET)
    except BadParameter as exc:
        return _bad_parameter(request, user, exc)
    if len(chosen) > 1:
        return _bad_parameter(request, user, BadParameter("status", "(more than one)"))
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
    return _page(
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


# -- monthly review -------------------------------------------------------------------------------
def _review_choice(request: Request, user: ConsoleUser) -> sdata.ReviewChoice | Response:
    try:
        site = _text(request, "site", max_len=64)
        month = _text(request, "month", max_len=7)
    except BadParameter as exc:
        return _bad_parameter(request, user, exc)
    context = context_of(request)
    try:
        with context.sessions() as session:
            return sdata.review_choice(session, site=site, month=month, now=context.clock())
    except reviews.ReviewError:
        return _bad_parameter(request, user, BadParameter("month", month or ""))
    except LookupError:
        return _error(
            request,
            user,
            404,
            N_("Not found"),
            N_("There is no such site."),
            (site or "")[:64],
        )


@router.get("/review")
async def review_page(request: Request) -> Response:
    """Choose a site and month; the review itself is the report ``facility report monthly``
    writes, shown in a frame (it carries its own inline styles, which the console's policy
    forbids on its own pages)."""
    gate = _gate(request, managers_only=True)
    if isinstance(gate, Response):
        return gate
    user = gate
    choice = await run_in_threadpool(_review_choice, request, user)
    if isinstance(choice, Response):
        return choice
    return _page(request, "review.html", user, choice=choice)


@router.get("/review/monthly.html")
async def review_report(request: Request) -> Response:
    """The monthly review as the self-contained HTML the report module renders."""
    gate = _gate(request, managers_only=True)
    if isinstance(gate, Response):
        return gate
    user = gate
    choice = await run_in_threadpool(_review_choice, request, user)
    if isinstance(choice, Response):
        return choice
    if choice.site is None:
        return _error(request, user, 404, N_("Not found"), N_("There is no such site."))
    context = context_of(request)
    site, month = choice.site, choice.month

    def load() -> str:
        with context.sessions() as session:
            made = reviews.monthly_review(
                session, site=site, month=month, now=context.clock(), readings=context.readings
            )
        return render_html(made)

    try:
        html = await run_in_threadpool(load)
    except reviews.ReviewError as exc:
        return _error(
            request,
            user,
            422,
            N_("The review could not be made"),
            N_("Not possible now:"),
            str(exc)[:300],
        )
    return HTMLResponse(
        html,
        headers={
            "Content-Security-Policy": REVIEW_CSP,
            "X-Frame-Options": "SAMEORIGIN",
            "Referrer-Policy": "same-origin",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


# -- form actions ---------------------------------------------------------------------------------
#: Longest reasons, as the API's request bodies bound them.
MAX_REASON = 500
MAX_SUPPLIER_REASON = 2000
#: A quantity as people type it: optional sign, digits, optional decimals (no exponent, no
#: locale grouping); the API's schema then bounds it.
_NUMBER = re.compile(r"^[+-]?\d{1,13}(?:\.\d{1,13})?$")


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a form post changed nothing, shown above that form when the page is drawn again.

    ``message`` is a catalogue id; ``detail`` is the refused value or the service's own words
    (shown as code, untranslated, as the order page shows a refused transition).
    """

    form: str
    message: str
    status_code: int = 400
    detail: str | None = None
    field_name: str | None = None
    values: Mapping[str, str] = field(default_factory=dict)


class ActionRefused(Exception):
    """A form post this page refuses; carries the :class:`Problem` to show."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def _manager(request: Request) -> ConsoleUser | Response:
    """The signed-in manager or admin; else 401 (as the order forms answer) or a 403 page."""
    user = user_of(request)
    if user is None:
        return Response("log in first", status_code=401)
    if not user.can_manage:
        return _error(
            request,
            user,
            403,
            N_("Not allowed"),
            N_("Only facility managers and admins may do this; nothing was changed."),
        )
    return user


async def _checked_form(request: Request, user: ConsoleUser) -> FormData | Response:
    """The CSRF-checked form, or the 403/400 page that refuses it."""
    try:
        return await _form(request)
    except CsrfError:
        return _error(request, user, 403, N_("Not allowed"), CSRF_MESSAGE)
    except FormError as exc:
        return _error(request, user, 400, N_("The form is not valid"), exc.message)


async def _manager_form(request: Request) -> tuple[ConsoleUser, FormData] | Response:
    """Every service action's preamble: a manager or admin (checked first, so a technician's
    forged post is refused before its form is read), then a CSRF-checked form."""
    user = _manager(request)
    if isinstance(user, Response):
        return user
    form = await _checked_form(request, user)
    if isinstance(form, Response):
        return form
    return user, form


def _kept(form: FormData, *names: str) -> dict[str, str]:
    """What the user typed, to fill the form in again (bounded, never trusted)."""
    kept = {}
    for name in names:
        raw = form.get(name)
        kept[name] = raw[:200] if isinstance(raw, str) else ""
    return kept


def _read(form: FormData, form_name: str, values: dict[str, str], name: str, **rules: Any) -> str:
    try:
        return _field(form, name, **rules)
    except FormError as exc:
        problem = Problem(form_name, exc.message, field_name=name, values=values)
        raise ActionRefused(problem) from None


def _status(
    form: FormData, form_name: str, values: dict[str, str], machine: type[StatusT]
) -> StatusT:
    """The form's ``to`` as a status of ``machine``, or a refusal naming the form."""
    raw = _read(form, form_name, values, "to", max_len=20, required=True)
    try:
        return machine(raw)
    except ValueError:
        problem = Problem(form_name, N_("Choose a status from the list."), detail=raw)
        raise ActionRefused(problem) from None


def _redirect(path: str, notice: str, **extra: Any) -> RedirectResponse:
    query = urlencode({"notice": notice, **extra}, doseq=True)
    return RedirectResponse(f"{PREFIX}{path}?{query}", status_code=303)


def _service_refused(
    form_name: str, exc: Exception, values: Mapping[str, str], *, status_code: int
) -> ActionRefused:
    return ActionRefused(
        Problem(
            form_name,
            N_("Not possible now:"),
            status_code=status_code,
            detail=str(exc)[:300],
            values=values,
        )
    )


# -- PM: approve a plan, run the scheduler --------------------------------------------------------
@router.post("/pm")
async def pm_action(request: Request) -> Response:
    """``action=approve`` (with ``plan``) or ``action=run``: what ``POST /api/v1/pm/plans/{id}/
    approve`` and ``POST /api/v1/pm/run`` do, for managers and admins."""
    checked = await _manager_form(request)
    if isinstance(checked, Response):
        return checked
    user, form = checked
    context = context_of(request)
    try:
        action = _read(form, "pm", {}, "action", max_len=20, required=True)
        if action == "run":

            def run() -> list[int]:
                with context.sessions() as session:
                    made = pm.run_pm_scheduler(
                        session, now=context.clock(), readings=context.readings
                    )
                    return [g.work_order_id for g in made]

            made = await run_in_threadpool(run)
            return _redirect("/pm", "pm-ran", made=made[:MAX_SHOWN], total=len(made))
        if action != "approve":
            raise ActionRefused(Problem("pm", N_("Unknown action."), detail=action[:20]))
        raw = _read(form, "approve", {}, "plan", max_len=12, required=True)
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
            raise _service_refused("approve", exc, {}, status_code=status_of(exc)) from None
    except ActionRefused as refused:
        return await _pm_response(request, user, problem=refused.problem)
    return _redirect("/pm", "plan-approved")


# -- stock: receipts and adjustments --------------------------------------------------------------
def _quantity(
    form: FormData, form_name: str, values: dict[str, str], name: str, *, signed: bool
) -> Decimal:
    raw = _read(form, form_name, values, name, max_len=30, required=True)
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
    checked = await _manager_form(request)
    if isinstance(checked, Response):
        return checked
    user, form = checked
    context = context_of(request)
    action = form.get("action")
    form_name = "receive" if action == "receive" else "adjust" if action == "adjust" else "stock"
    values = _kept(form, "sku", "storeroom", "quantity", "reason")
    try:
        if form_name == "stock":
            raise ActionRefused(Problem("stock", N_("Unknown action."), detail=str(action)[:20]))
        sku = _read(form, form_name, values, "sku", max_len=64, required=True)
        room = _read(form, form_name, values, "storeroom", max_len=64, required=True)
        reason = _read(form, form_name, values, "reason", max_len=MAX_REASON)
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
            raise _service_refused(form_name, exc, values, status_code=status_of(exc)) from None
    except ActionRefused as refused:
        return await _stock_response(request, user, problem=refused.problem)
    return _redirect("/stock", "adjusted" if signed else "received")


# -- suppliers: the qualification machine ---------------------------------------------------------
@router.post("/suppliers")
async def supplier_action(request: Request) -> Response:
    """Move ``supplier`` to ``to`` with a ``reason`` through :func:`suppliers.change_status`
    (the API's ``POST /suppliers/{code}/status``); managers and admins."""
    checked = await _manager_form(request)
    if isinstance(checked, Response):
        return checked
    user, form = checked
    context = context_of(request)
    values = _kept(form, "supplier", "to", "reason")
    try:
        code = _read(form, "supplier", values, "supplier", max_len=64, required=True)
        to = _status(form, "supplier", values, QualificationStatus)
        reason = _read(
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
            raise _service_refused("supplier", exc, values, status_code=status_of(exc)) from None
    except ActionRefused as refused:
        return await _suppliers_response(request, user, problem=refused.problem)
    return _redirect("/suppliers", "supplier-moved")


# -- asset: the status machine --------------------------------------------------------------------
@router.post("/assets/{asset_id}")
async def asset_status_action(
    request: Request, asset_id: Annotated[int, Path(ge=1, le=2**31 - 1)]
) -> Response:
    """Move the asset to ``to`` with a ``reason`` through :func:`asset_lifecycle.change_status`
    (the API's ``POST /assets/{code}/status``); managers and admins. A refused move draws the
    asset page again with the problem above the form (the page reads it from
    ``request.state.form_problem``, as its GET route renders it)."""
    checked = await _manager_form(request)
    if isinstance(checked, Response):
        return checked
    user, form = checked
    context = context_of(request)
    values = _kept(form, "to", "reason")
    try:
        to = _status(form, "asset-status", values, AssetStatus)
        reason = _read(form, "asset-status", values, "reason", max_len=MAX_REASON, required=True)

        def move() -> bool:
            with context.sessions() as session:
                asset = session.get(Asset, asset_id)
                if asset is None:
                    return False
                lifecycle.change_status(
                    session,
                    code=asset.code,
                    to=to,
                    actor=user.username,
                    reason=reason,
                    now=context.clock(),
                )
                return True

        try:
            found = await run_in_threadpool(move)
        except FacilityError as exc:  # the error's kind decides the status, as in the API
            raise _service_refused(
                "asset-status", exc, values, status_code=status_of(exc)
            ) from None
    except ActionRefused as refused:
        request.state.form_problem = refused.problem
        response = await asset_page(request, asset_id)
        if response.status_code == 200:
            response.status_code = refused.problem.status_code
        return response
    if not found:
        return _error(request, user, 404, N_("Not found"), N_("There is no such asset."))
    return _redirect(f"/assets/{asset_id}", "asset-moved")
