"""Reporting a problem: the signed-in form, the requester's list of what they reported, and the
public form a QR sticker opens.

A report becomes a work order with ``source=request`` through
:func:`maintenance.work_orders.service.create_work_order`. The QR link (signed and revocable,
see :mod:`console._links`) needs no account but is good for its one asset only, and its posts
are rate-limited per client and per asset (:class:`~console._render.ConsoleState`).
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from console import _data as data
from console._forms import CSRF_MESSAGE, FormError, bad_form, form_text, read_form
from console._i18n import N_
from console._labels import NOTICES, common
from console._links import LinkError, verify_link
from console._render import (
    PREFIX,
    actor_of,
    context_of,
    forbidden,
    login_redirect,
    not_found,
    render,
    state_of,
    user_of,
)
from console._session import CsrfError
from maintenance.assets.models import Asset
from maintenance.shared.vocabulary import Priority
from maintenance.work_orders import service
from maintenance.work_orders.models import WorkOrderSource

__all__ = ["router"]

log = logging.getLogger(__name__)

router = APIRouter(prefix=PREFIX, include_in_schema=False)

MAX_TITLE = 200
MAX_DESCRIPTION = 2000
MAX_CONTACT = 200
#: ``created_by`` of orders reported through a QR sticker link (no account behind them).
QR_ACTOR = "qr-link"


# -- requests ------------------------------------------------------------------------------------
def _assets(request: Request) -> list[tuple[int, str, str]]:
    with context_of(request).sessions() as session:
        rows = session.execute(
            sa.select(Asset.id, Asset.code, Asset.name).order_by(Asset.code)
        ).all()
    return [(int(r[0]), str(r[1]), str(r[2])) for r in rows]


@router.get("/report")
async def report_page(request: Request) -> Response:
    user = user_of(request)
    if user is None:
        return login_redirect(request)
    assets = await run_in_threadpool(_assets, request)
    chosen = request.query_params.get("asset", "")[:20]
    return render(
        request,
        "report.html",
        user=user,
        assets=assets,
        errors={},
        values={"asset": chosen},
        public=False,
        asset=None,
        **common(request, user),
    )


def _read_report(form: FormData) -> tuple[dict[str, str], dict[str, str]]:
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    for name, max_len, required in (
        ("title", MAX_TITLE, True),
        ("description", MAX_DESCRIPTION, False),
        ("contact", MAX_CONTACT, False),
        ("asset", 20, False),
        ("priority", 4, False),
    ):
        try:
            values[name] = form_text(form, name, max_len=max_len, required=required)
        except FormError as exc:
            errors[name] = exc.message
            raw = form.get(name)
            values[name] = raw[:max_len] if isinstance(raw, str) else ""
    return values, errors


@router.post("/report")
async def report(request: Request) -> Response:
    """A requester (or anyone logged in) reports a problem: a work order with source=request."""
    user = user_of(request)
    if user is None:
        return Response("log in first", status_code=401)
    try:
        form = await read_form(request)
    except CsrfError:
        return forbidden(request, user, CSRF_MESSAGE)
    except FormError as exc:
        return bad_form(request, user, exc.message)
    values, errors = _read_report(form)
    assets = await run_in_threadpool(_assets, request)
    codes = {str(a[0]): a[1] for a in assets}
    if "asset" not in errors and values.get("asset") and values["asset"] not in codes:
        errors["asset"] = N_("Choose an asset from the list.")
    priority = Priority.P3
    if "priority" not in errors and values.get("priority"):
        if values["priority"] not in ("P2", "P3", "P4"):
            errors["priority"] = N_("Choose an urgency from the list.")
        else:
            priority = Priority(values["priority"])
    if errors:
        return render(
            request,
            "report.html",
            user=user,
            assets=assets,
            errors=errors,
            values=values,
            public=False,
            asset=None,
            status_code=400,
            **common(request, user),
        )
    context = context_of(request)

    def create() -> None:
        with context.sessions() as session:
            service.create_work_order(
                session,
                title=values["title"],
                description=values["description"],
                priority=priority,
                asset_code=codes.get(values["asset"]),
                actor=user.username,
                source=WorkOrderSource.REQUEST,
                create_asset=False,
                auto_assign=context.auto_assign,
                now=context.clock(),
                policy=context.policy,
            )

    await run_in_threadpool(create)
    return RedirectResponse(f"{PREFIX}/requests?notice=reported", status_code=303)


@router.get("/requests")
async def my_requests(request: Request) -> Response:
    user = user_of(request)
    if user is None:
        return login_redirect(request)
    context = context_of(request)

    def load() -> list[data.OrderRow]:
        with context.sessions() as session:
            return data.board_orders(
                session, data.BoardFilter(created_by=user.username), actor=actor_of(user)
            )

    rows = await run_in_threadpool(load)
    return render(
        request,
        "requests.html",
        user=user,
        rows=rows,
        notice=NOTICES.get(request.query_params.get("notice", "")),
        **common(request, user),
    )


# -- public report link (QR sticker) --------------------------------------------------------------
def _link_asset(request: Request, token: str) -> tuple[int, str, str] | None:
    context = context_of(request)
    state = state_of(request)
    link = verify_link(
        token, secret=state.link_secret or context.secret, revocations=state.revocations
    )
    with context.sessions() as session:
        asset = session.get(Asset, link.asset_id)
        if asset is None:
            return None
        return asset.id, asset.code, asset.name


@router.get("/r/{token}")
async def public_report_page(request: Request, token: str) -> Response:
    """The form a QR sticker opens: no account needed, for this one asset only."""
    try:
        asset = await run_in_threadpool(_link_asset, request, token)
    except LinkError:
        return not_found(request, None, N_("This report link is not valid or was withdrawn."))
    if asset is None:
        return not_found(request, None, N_("This report link is not valid or was withdrawn."))
    return render(
        request,
        "report.html",
        user=None,
        assets=[asset],
        errors={},
        values={"asset": str(asset[0])},
        public=True,
        asset=asset,
        token=token,
        **common(request, None),
    )


@router.post("/r/{token}")
async def public_report(request: Request, token: str) -> Response:
    try:
        asset = await run_in_threadpool(_link_asset, request, token)
    except LinkError:
        asset = None
    if asset is None:
        return not_found(request, None, N_("This report link is not valid or was withdrawn."))
    try:
        form = await read_form(request)
    except CsrfError:
        return forbidden(request, None, CSRF_MESSAGE)
    except FormError as exc:
        return render(
            request,
            "error.html",
            user=None,
            status_code=400,
            title=N_("The form is not valid"),
            message=exc.message,
        )
    values, errors = _read_report(form)
    values["asset"] = str(asset[0])
    errors.pop("asset", None)
    errors.pop("priority", None)
    if errors:
        return render(
            request,
            "report.html",
            user=None,
            assets=[asset],
            errors=errors,
            values=values,
            public=True,
            asset=asset,
            token=token,
            status_code=400,
            **common(request, None),
        )
    state = state_of(request)
    client = request.client.host if request.client else "unknown"
    # Three budgets, cheapest first: this address at this asset (a flood of addresses only
    # evicts other flooders' counters), this printed link, and the asset as a whole; each is
    # bounded by the asset count, so none can be exhausted into refusing every asset.
    if not (
        state.per_client.allow(f"{client}|{asset[0]}")
        and state.per_link.allow(token)
        and state.per_asset.allow(str(asset[0]))
    ):
        response = render(
            request,
            "error.html",
            user=None,
            status_code=429,
            title=N_("Too many reports"),
            message=N_(
                "This problem has been reported several times already; please wait a "
                "few minutes or call the facility team."
            ),
        )
        response.headers["Retry-After"] = "600"
        return response
    context = context_of(request)
    contact = values.get("contact", "")
    description = values.get("description", "")
    if contact:
        description = f"{description}\n\nContact: {contact}".strip()

    def create() -> int:
        with context.sessions() as session:
            order, _created = service.create_work_order(
                session,
                title=values["title"],
                description=description,
                priority=Priority.P3,
                asset_code=asset[1],
                actor=QR_ACTOR,
                source=WorkOrderSource.REQUEST,
                create_asset=False,
                auto_assign=context.auto_assign,
                now=context.clock(),
                policy=context.policy,
            )
            return order.id

    order_id = await run_in_threadpool(create)
    log.info("report through the QR link of %s became work order %d", asset[1], order_id)
    return render(
        request,
        "thanks.html",
        user=None,
        asset=asset,
        order_id=order_id,
        status_code=201,
    )
