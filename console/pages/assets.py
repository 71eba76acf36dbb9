"""The asset pages: the register, the replacement plan, one asset (live values, charts, its
orders, costs and documents) and its status machine.

Who sees what: the asset page is for anyone signed in (costs and documents only for the
maintenance team); the register and the documents are for the maintenance team; the
replacement plan and moving an asset's status are for managers and admins.

The routes are declared in the order they must match: ``/assets/replacement`` before
``/assets/{asset_id}`` (which would otherwise take ``replacement`` for an id and answer 422),
and the status form's ``POST /assets/{asset_id}`` before the page's ``GET``, as the console has
always declared them (a wrong method is answered 405 with ``Allow: POST``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Path, Request
from fastapi.responses import FileResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from console import _data as data
from console import _service_data as sdata
from console._charts import Band, line_chart
from console._forms import (
    MAX_REASON,
    ActionRefused,
    BadParameter,
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
from console._i18n import N_, Localizer
from console._labels import (
    CHART_MIN_SPAN,
    boolean_levels,
    common,
    display_unit,
    is_boolean,
    page,
    readable_unit,
)
from console._render import (
    PREFIX,
    ConsoleState,
    actor_of,
    context_of,
    error_page,
    gate,
    localizer_of,
    login_redirect,
    not_found,
    render,
    state_of,
    user_of,
)
from console._session import ConsoleUser
from facility.core.errors import FacilityError
from maintenance.api.problems import status_of
from maintenance.assets import lifecycle as asset_lifecycle
from maintenance.assets.models import Asset, AssetStatus, Criticality
from maintenance.insights.asset_figures import WEIGHTS
from maintenance.people.deps import ApiContext
from maintenance.work_orders.service import team_of, visible_to

__all__ = ["router"]

router = APIRouter(prefix=PREFIX, include_in_schema=False)

HISTORY_WINDOW = timedelta(hours=1)
#: The time ranges an asset's charts offer (``?range=``); a day of 5-second data is 17,280
#: readings, within what one chart pages in.
HISTORY_WINDOWS = {"1h": HISTORY_WINDOW, "6h": timedelta(hours=6), "24h": timedelta(days=1)}
HISTORY_RANGE_LABELS = {"1h": N_("Last hour"), "6h": N_("Last 6 hours"), "24h": N_("Last 24 hours")}
MAX_PLAN_ROWS = 500


# -- asset register -------------------------------------------------------------------------------
@router.get("/assets")
async def assets_page(request: Request) -> Response:
    """The register as a tree per site, filtered by status and criticality."""
    checked = gate(request, managers_only=False)
    if isinstance(checked, Response):
        return checked
    user = checked
    try:
        statuses = query_choices(request, "status", AssetStatus)
        criticalities = query_choices(request, "criticality", Criticality)
    except BadParameter as exc:
        return bad_parameter(request, user, exc)
    context = context_of(request)

    def load() -> list[sdata.SiteTree]:
        with context.sessions() as session:
            return sdata.asset_register(
                session,
                now=context.clock(),
                statuses=statuses,
                criticalities=criticalities,
                visible=_scope(session, user),
            )

    sites = await run_in_threadpool(load)
    return page(
        request,
        "assets.html",
        user,
        sites=sites,
        statuses=list(AssetStatus),
        criticalities=list(Criticality),
        chosen_statuses=statuses,
        chosen_criticalities=criticalities,
    )


# -- replacement plan -----------------------------------------------------------------------------
@router.get("/assets/replacement")
async def replacement_page(request: Request) -> Response:
    """Equipment ranked by the life-cycle service's replacement score, with its parts."""
    checked = gate(request, managers_only=True)
    if isinstance(checked, Response):
        return checked
    user = checked
    try:
        limit = query_int(request, "limit", default=50, low=1, high=MAX_PLAN_ROWS)
    except BadParameter as exc:
        return bad_parameter(request, user, exc)
    context = context_of(request)

    def load() -> list[sdata.ReplacementRow]:
        with context.sessions() as session:
            return sdata.replacement_view(
                session, now=context.clock(), limit=limit, visible=_scope(session, user)
            )

    rows = await run_in_threadpool(load)
    return page(request, "replacement.html", user, rows=rows, weights=WEIGHTS, limit=limit)


# -- documents ------------------------------------------------------------------------------------
@router.get("/assets/{asset_id}/documents/{document_id}")
async def asset_document(
    request: Request,
    asset_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    document_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
) -> Response:
    """A document's bytes, for the maintenance team (the API's download needs a bearer
    token, which a plain link from the console cannot send)."""
    checked = gate(request, managers_only=False)
    if isinstance(checked, Response):
        return checked
    user = checked
    context = context_of(request)
    root = context.attachments_dir
    if root is None:
        return error_page(
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
        return error_page(
            request, user, 404, N_("Not found"), N_("This asset has no such document.")
        )
    return FileResponse(
        found.path,
        media_type=found.content_type,
        filename=found.filename,
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"},
    )


# -- asset: the status machine --------------------------------------------------------------------
@router.post("/assets/{asset_id}")
async def asset_status_action(
    request: Request, asset_id: Annotated[int, Path(ge=1, le=2**31 - 1)]
) -> Response:
    """Move the asset to ``to`` with a ``reason`` through :func:`asset_lifecycle.change_status`
    (the API's ``POST /assets/{code}/status``); managers and admins. A refused move draws the
    asset page again with the problem above the form (the page reads it from
    ``request.state.form_problem``, as its GET route renders it)."""
    checked = await manager_form(request)
    if isinstance(checked, Response):
        return checked
    user, form = checked
    context = context_of(request)
    values = kept(form, "to", "reason")
    try:
        to = read_status(form, "asset-status", values, AssetStatus)
        reason = read_field(
            form, "asset-status", values, "reason", max_len=MAX_REASON, required=True
        )

        def move() -> bool:
            with context.sessions() as session:
                asset = session.get(Asset, asset_id)
                if asset is None:
                    return False
                asset_lifecycle.change_status(
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
            raise service_refused("asset-status", exc, values, status_code=status_of(exc)) from None
    except ActionRefused as refused:
        request.state.form_problem = refused.problem
        response = await asset_page(request, asset_id)
        if response.status_code == 200:
            response.status_code = refused.problem.status_code
        return response
    if not found:
        return error_page(request, user, 404, N_("Not found"), N_("There is no such asset."))
    return redirect(f"/assets/{asset_id}", "asset-moved")


# -- asset ----------------------------------------------------------------------------------------
@router.get("/assets/{asset_id}")
async def asset_page(
    request: Request, asset_id: Annotated[int, Path(ge=1, le=2**31 - 1)]
) -> Response:
    user = user_of(request)
    if user is None:
        return login_redirect(request)
    context = context_of(request)
    loc = localizer_of(request)

    lifecycle: list[sdata.LifecyclePanel | None] = [None]
    window_name = request.query_params.get("range", "1h")
    window = HISTORY_WINDOWS.get(window_name, HISTORY_WINDOW)

    def load() -> tuple[data.AssetView | None, list[data.OrderRow], list[tuple[str, str, str]]]:
        states = context.states.list_states()
        with context.sessions() as session:
            view = data.asset_view(session, asset_id, states)
            if view is None:
                return None, [], []
            rows = data.board_orders(
                session, data.BoardFilter(asset_id=asset_id), actor=actor_of(user), limit=50
            )
            if user.can_work:  # costs and documents are for the maintenance team
                lifecycle[0] = sdata.lifecycle_panel(
                    session, asset_id=asset_id, now=context.clock(), visible=_scope(session, user)
                )
        charts = [
            _chart(loc, context, state_of(request), view, device.id, metric, unit, window)
            for device in view.devices
            for metric, (_v, unit, _ts) in sorted(device.values.items())
        ]
        return view, rows, charts

    view, rows, charts = await run_in_threadpool(load)
    if view is None:
        return not_found(request, user, N_("There is no such asset."))
    return render(
        request,
        "asset.html",
        user=user,
        asset=view,
        rows=rows,
        charts=charts,
        ranges=[(name, loc.gettext(label)) for name, label in HISTORY_RANGE_LABELS.items()],
        chosen_range=window_name if window_name in HISTORY_WINDOWS else "1h",
        lifecycle=lifecycle[0],
        **sdata.LABELS,
        **sdata.formatters(loc),
        **common(request, user),
    )


def _chart(
    loc: Localizer,
    context: ApiContext,
    state: ConsoleState,
    view: data.AssetView,
    device: str,
    metric: str,
    unit: str,
    window: timedelta,
) -> tuple[str, str, str]:
    """One metric's trend: readable unit, round ticks, the rules' alarm bands, on/off words."""
    points = [
        (r.ts, r.value)
        for r in data.history(context.readings, device=device, metric=metric, window=window)
    ]
    title = f"{device} · {loc.label(metric)}"
    bands = state.bands_of(device, metric, view.code)
    levels = boolean_levels(loc, metric) if is_boolean(metric, unit) else None
    factor, shown = readable_unit(unit, max((abs(v) for _, v in points), default=0.0))
    if factor != 1.0:
        points = [(ts, v / factor) for ts, v in points]
        bands = [
            Band(
                b.label,
                None if b.low is None else b.low / factor,
                None if b.high is None else b.high / factor,
            )
            for b in bands
        ]
    short = window <= timedelta(hours=6)
    svg = line_chart(
        points,
        title=title,
        unit=display_unit(shown),
        fmt_number=lambda v: loc.number(v, 1 if abs(v) < 100 else 0),
        fmt_tick=loc.number,
        fmt_time=lambda ts: (
            loc.time(ts, view.timezone) if short else loc.datetime(ts, view.timezone)
        ),
        empty_text=loc.gettext("No readings in this period."),
        min_span=CHART_MIN_SPAN.get(shown, 0.0),
        bands=bands,
        levels=levels,
    )
    return title, display_unit(shown), svg


def _scope(session: Session, user: ConsoleUser) -> sa.ColumnElement[bool]:
    """The orders this user may read (the work-order list's rule): figures, costs and the
    history on these pages count only those, as the API's asset routes do."""
    actor = actor_of(user)
    return visible_to(actor, team_of(session, actor))
