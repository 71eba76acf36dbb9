"""The console's service-management pages: asset register, replacement plan, preventive
maintenance, stock, suppliers and the monthly review.

Read-only pages over the maintenance services (see :mod:`console._service_data`). Who sees what:
managers and admins everything; technicians the asset register and preventive maintenance
(their daily work); requesters and contractors none of it. Query parameters are validated and a
bad one is answered with 400 and the value it refused, never a 500.

This router is included before the first one: ``/assets/replacement`` must win over
``/assets/{asset_id}``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Path, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from console import _service_data as sdata
from console._app import PREFIX, context_of, localizer_of, render, user_of
from console._i18n import N_
from console._routes import _common, _login_redirect
from console._session import ConsoleUser
from maintenance.models import AssetStatus, Criticality
from maintenance.models_partners import QualificationStatus
from maintenance.report import render_html
from maintenance.services import review as reviews
from maintenance.services.asset_lifecycle import WEIGHTS

__all__ = ["router"]

router = APIRouter(prefix=PREFIX, include_in_schema=False)

T = TypeVar("T")
#: Bounds of the query parameters (as the API bounds the same figures).
MAX_WEEKS = 104
MAX_DEAD_DAYS = 3650
MAX_OFFSET = 2**31 - 1
MAX_PLAN_ROWS = 500
PAGE = 100
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


def _page(request: Request, template: str, user: ConsoleUser, **values: Any) -> Response:
    return render(
        request,
        template,
        user=user,
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
    """The PM forecast for the next ``weeks`` (1-104), the plans, this month's compliance."""
    gate = _gate(request, managers_only=False)
    if isinstance(gate, Response):
        return gate
    user = gate
    try:
        weeks = _int(request, "weeks", default=4, low=1, high=MAX_WEEKS)
    except BadParameter as exc:
        return _bad_parameter(request, user, exc)
    context = context_of(request)

    def load() -> sdata.PmView:
        with context.sessions() as session:
            return sdata.pm_view(
                session, now=context.clock(), weeks=weeks, readings=context.readings
            )

    view = await run_in_threadpool(load)
    return _page(request, "pm.html", user, view=view, weeks=weeks, max_weeks=MAX_WEEKS)


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
    context = context_of(request)

    def load() -> sdata.StockView:
        with context.sessions() as session:
            return sdata.stock_view(session, now=context.clock(), dead_days=days)

    view = await run_in_threadpool(load)
    return _page(request, "stock.html", user, view=view)


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
        view=view,
        status=status,
        statuses=list(QualificationStatus),
        offset=offset,
        page=PAGE,
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
