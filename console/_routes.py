"""The console's pages: log-in, overview, asset, board, order, report forms, live stream.

Every page is server-rendered and works without JavaScript; ``console.js`` only adds the live
values (server-sent events) and auto-submitting filters. Every form post checks the CSRF token,
and every change goes through :mod:`maintenance.work_orders.service` with the caller's role.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

import sqlalchemy as sa
from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from console import _data as data
from console import _service_data as service_data
from console._app import (
    PREFIX,
    context_of,
    localizer_of,
    render,
    state_of,
    user_of,
)
from console._charts import line_chart
from console._i18n import LANGUAGES, N_, Localizer
from console._links import LinkError, verify_link
from console._session import (
    LANG_COOKIE,
    ConsoleUser,
    CsrfError,
    check_csrf,
    clear_session,
    set_session,
)
from facility.core.errors import FacilityError, Forbidden, WorkOrderError, WorkOrderNotFound
from maintenance.api.problems import status_of
from maintenance.assets.models import Asset
from maintenance.people.models import User
from maintenance.people.users import AuthError, authenticate, issue_token
from maintenance.shared.actors import Actor
from maintenance.shared.vocabulary import Priority, Role
from maintenance.work_orders import service
from maintenance.work_orders.models import WorkOrder, WorkOrderSource, WorkOrderStatus

__all__ = ["router"]

log = logging.getLogger(__name__)

router = APIRouter(prefix=PREFIX, include_in_schema=False)

MAX_TITLE = 200
MAX_DESCRIPTION = 2000
MAX_CONTACT = 200
MAX_NOTE = 1000
HISTORY_WINDOW = timedelta(hours=1)
#: ``created_by`` of orders reported through a QR sticker link (no account behind them).
QR_ACTOR = "qr-link"

STATUS_LABELS = {
    WorkOrderStatus.NEW: N_("New"),
    WorkOrderStatus.ASSIGNED: N_("Assigned"),
    WorkOrderStatus.IN_PROGRESS: N_("In progress"),
    WorkOrderStatus.ON_HOLD: N_("On hold"),
    WorkOrderStatus.RESOLVED: N_("Resolved"),
    WorkOrderStatus.VERIFIED: N_("Verified"),
    WorkOrderStatus.REOPENED: N_("Reopened"),
    WorkOrderStatus.CLOSED: N_("Closed"),
    WorkOrderStatus.CANCELLED: N_("Cancelled"),
}
PRIORITY_LABELS = {
    Priority.P1: N_("P1 critical"),
    Priority.P2: N_("P2 urgent"),
    Priority.P3: N_("P3 normal"),
    Priority.P4: N_("P4 low"),
}
ACTION_LABELS = {
    "assign": N_("Assign"),
    "start": N_("Start"),
    "hold": N_("Put on hold"),
    "resume": N_("Resume"),
    "resolve": N_("Mark resolved"),
    "verify": N_("Confirm it is fixed"),
    "reopen": N_("Not fixed: reopen"),
    "close": N_("Close (verified)"),
    "cancel": N_("Cancel"),
}
EVENT_LABELS = {
    "created": N_("opened"),
    "assign": N_("assigned"),
    "start": N_("started"),
    "hold": N_("put on hold"),
    "resume": N_("resumed"),
    "resolve": N_("marked resolved"),
    "verify": N_("confirmed fixed"),
    "reopen": N_("reopened"),
    "close": N_("closed"),
    "cancel": N_("cancelled"),
    "rated": N_("rated"),
    "refired": N_("alarm fired again"),
    "alert_resolved": N_("alarm cleared"),
    "checklist": N_("checklist item done"),
    "dispatch_skipped": N_("automatic dispatch skipped"),
    "escalated": N_("escalated"),
    "fault_returned": N_("fault came back"),
    "followup": N_("follow-up created"),
    "response_breached": N_("response time exceeded"),
    "resolution_breached": N_("resolution time exceeded"),
}
SOURCE_LABELS = {
    WorkOrderSource.RULE: N_("Detected automatically"),
    WorkOrderSource.API: N_("Created through the API"),
    WorkOrderSource.REQUEST: N_("Reported by a person"),
}
#: States in which the requester may rate the work (as ``rate_work_order`` allows).
RATEABLE = (WorkOrderStatus.VERIFIED, WorkOrderStatus.CLOSED)
NOTICES = {
    "reported": N_("Thank you: your report was received and is now a work order."),
    "moved": N_("The work order was updated."),
    "rated": N_("Thank you for rating the work."),
}
PRESENCE_LABELS = {True: N_("online"), False: N_("offline"), None: N_("never heard")}
CSRF_MESSAGE = N_(
    "The form's security token is missing or out of date; reload the page and try again."
)
ROLE_LABELS = (N_("admin"), N_("manager"), N_("tech"), N_("requester"))
METRIC_LABELS = (
    N_("temperature"),
    N_("humidity"),
    N_("power"),
    N_("energy"),
    N_("voltage"),
    N_("current"),
    N_("power_factor"),
    N_("frequency"),
    N_("illuminance"),
    N_("co2"),
    N_("pressure"),
    N_("battery"),
    N_("state"),
    N_("contact"),
    N_("water_leak"),
    N_("occupancy"),
    N_("fault_code"),
    N_("supply_temperature"),
    N_("return_temperature"),
    N_("fan_speed"),
    N_("setpoint"),
    N_("filter_pressure_drop"),
    N_("runtime_hours"),
    N_("vibration"),
    N_("fan"),
)


class FormError(ValueError):
    """A form field is missing, too long or of the wrong type (message is a catalogue id)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _text(form: FormData, name: str, *, max_len: int, required: bool = False) -> str:
    raw = form.get(name)
    if raw is None:
        raw = ""
    if not isinstance(raw, str):
        raise FormError(name, N_("This field must be text."))
    value = raw.strip()
    if required and not value:
        raise FormError(name, N_("This field is required."))
    if len(value) > max_len:
        raise FormError(name, N_("This field is too long."))
    if any(ord(ch) < 32 and ch not in "\r\n\t" for ch in value):
        raise FormError(name, N_("This field contains control characters."))
    return value


async def _form(request: Request) -> FormData:
    """The posted form, CSRF-checked; a broken body raises ``FormError``, a forged one
    ``CsrfError``."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        raise FormError("form", N_("Send the form as a web form."))
    try:
        form = await request.form(max_files=0, max_fields=50)
    except Exception as exc:  # starlette raises several types for malformed multipart bodies
        raise FormError("form", N_("The form could not be read.")) from exc
    token = form.get("csrf")
    check_csrf(request, token if isinstance(token, str) else None, context_of(request).secret)
    return form


def _login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"{PREFIX}/login?next={quote(target)}", status_code=303)


def _safe_next(value: str | None) -> str:
    """Only same-site console paths: never an open redirect."""
    if not value or not value.startswith(f"{PREFIX}/") or value.startswith("//"):
        return f"{PREFIX}/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or "\\" in value:
        return f"{PREFIX}/"
    return value


def _forbidden(request: Request, user: ConsoleUser | None, message: str) -> Response:
    return render(
        request, "error.html", user=user, status_code=403, title=N_("Not allowed"), message=message
    )


def _not_found(request: Request, user: ConsoleUser | None, message: str) -> Response:
    return render(
        request, "error.html", user=user, status_code=404, title=N_("Not found"), message=message
    )


def _common(request: Request, user: ConsoleUser | None) -> dict[str, Any]:
    loc = localizer_of(request)
    return {
        "STATUS_LABELS": STATUS_LABELS,
        "PRIORITY_LABELS": PRIORITY_LABELS,
        "ACTION_LABELS": ACTION_LABELS,
        "SOURCE_LABELS": SOURCE_LABELS,
        "EVENT_LABELS": EVENT_LABELS,
        "HEALTH_LABELS": data.HEALTH_LABELS,
        "fmt_value": lambda value, unit: format_value(loc, value, unit),
        "label_of": lambda labels, key: (
            loc.gettext(labels[key]) if key in labels else loc.label(str(key))
        ),
    }


def format_value(loc: Localizer, value: float, unit: str) -> str:
    """A reading as a person reads it: locale digits and the unit, on/off for booleans."""
    if unit == "bool":
        return loc.gettext("on") if value else loc.gettext("off")
    if unit in ("code", ""):
        return loc.number(value, 0) if unit == "code" else loc.number(value, 2)
    return f"{loc.number(value, 1)} {display_unit(unit)}".strip()


def display_unit(unit: str) -> str:
    """Units as people write them: ``degC`` is °C, dimensionless ``1`` shows nothing."""
    return {"degC": "°C", "1": "", "bool": "", "code": ""}.get(unit, unit)


# -- log-in ---------------------------------------------------------------------------------------
@router.get("/login")
def login_page(request: Request) -> Response:
    return render(
        request,
        "login.html",
        user=user_of(request),
        next=_safe_next(request.query_params.get("next")),
        error=None,
    )


@router.post("/login")
async def login(request: Request) -> Response:
    try:
        form = await _form(request)
        username = _text(form, "username", max_len=64, required=True)
        password = _text(form, "password", max_len=256, required=True)
    except CsrfError:
        return _forbidden(request, None, CSRF_MESSAGE)
    except FormError:
        return render(
            request,
            "login.html",
            user=None,
            status_code=400,
            next=f"{PREFIX}/",
            error=N_("Enter your user name and password."),
        )
    raw_next = form.get("next")
    next_url = _safe_next(raw_next if isinstance(raw_next, str) else None)
    context = context_of(request)
    throttle = context.login_throttle
    client = request.client.host if request.client else "unknown"
    wait_s = throttle.retry_after_s(username=username, client=client)
    if wait_s is not None:
        response = render(
            request,
            "login.html",
            user=None,
            status_code=429,
            next=next_url,
            error=N_("Too many failed attempts. Wait a few minutes, then try again."),
        )
        response.headers["Retry-After"] = str(wait_s)
        return response

    def check() -> str:
        with context.sessions() as session:
            user = authenticate(session, username=username, password=password)
            return issue_token(user, secret=context.secret, ttl_s=context.token_ttl_s)

    try:
        token = await run_in_threadpool(check)
    except AuthError:
        throttle.failed(username=username, client=client)
        return render(
            request,
            "login.html",
            user=None,
            status_code=401,
            next=next_url,
            error=N_("Wrong user name or password."),
        )
    throttle.succeeded(username=username, client=client)
    response = RedirectResponse(next_url, status_code=303)
    set_session(response, request, token, context.token_ttl_s)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    try:
        await _form(request)
    except (CsrfError, FormError):
        return _forbidden(request, user_of(request), CSRF_MESSAGE)
    response = RedirectResponse(f"{PREFIX}/login", status_code=303)
    clear_session(response)
    return response


@router.post("/language")
async def choose_language(request: Request) -> Response:
    """Remember the chosen language in a cookie (a year), then go back where the user was."""
    try:
        form = await _form(request)
        language = _text(form, "language", max_len=20, required=True)
    except (CsrfError, FormError):
        return _forbidden(request, user_of(request), CSRF_MESSAGE)
    if language not in LANGUAGES:
        return render(
            request,
            "error.html",
            user=user_of(request),
            status_code=400,
            title=N_("Unknown language"),
            message=N_("Choose English or Simplified Chinese."),
        )
    back = form.get("back")
    response = RedirectResponse(
        _safe_next(back if isinstance(back, str) else None), status_code=303
    )
    response.set_cookie(
        LANG_COOKIE, language, max_age=365 * 86400, samesite="lax", httponly=True, path="/"
    )
    return response


# -- overview and live values ---------------------------------------------------------------------
@router.get("/")
async def overview(request: Request) -> Response:
    user = user_of(request)
    if user is None:
        return _login_redirect(request)
    context = context_of(request)

    def load() -> list[data.SiteView]:
        states = context.states.list_states()
        with context.sessions() as session:
            return data.overview(session, states)

    sites = await run_in_threadpool(load)
    return render(
        request,
        "overview.html",
        user=user,
        sites=sites,
        notice=NOTICES.get(request.query_params.get("notice", "")),
        **_common(request, user),
    )


def _snapshot(request: Request, loc: Localizer) -> dict[str, object]:
    context = context_of(request)
    states = context.states.list_states()
    with context.sessions() as session:
        sites = data.overview(session, states)
    devices: dict[str, dict[str, object]] = {}
    assets: dict[str, dict[str, str]] = {}
    for site in sites:
        for zone in site.zones.values():
            for asset in zone:
                assets[str(asset.id)] = {
                    "health": asset.health.health.value,
                    "label": loc.gettext(data.HEALTH_LABELS[asset.health.health]),
                    "reason": loc.gettext(asset.health.reason),
                }
                for device in asset.devices:
                    devices[device.id] = {
                        "online": device.online,
                        "presence": loc.gettext(PRESENCE_LABELS[device.online]),
                        "values": {
                            metric: format_value(loc, value, unit)
                            for metric, (value, unit, _ts) in device.values.items()
                        },
                    }
    return {"devices": devices, "assets": assets, "at": datetime.now(UTC).isoformat()}


@router.get("/stream")
async def stream(request: Request) -> Response:
    """Server-sent events: a ``snapshot`` of live values every few seconds.

    A stream ends after ``stream_max_s`` (the browser's ``EventSource`` reconnects by itself)
    or when the process stops, so a shutdown never waits on an open stream for long.
    """
    user = user_of(request)
    if user is None:
        return Response("log in first", status_code=401)
    loc = localizer_of(request)
    state = state_of(request)

    async def events() -> AsyncIterator[str]:
        deadline = time.monotonic() + state.stream_max_s
        yield "retry: 2000\n\n"
        while time.monotonic() < deadline and not state.stop.is_set():
            if await request.is_disconnected():
                return
            payload = await run_in_threadpool(_snapshot, request, loc)
            yield f"event: snapshot\ndata: {json.dumps(payload, ensure_ascii=False)}\n\n"
            await asyncio.sleep(state.stream_interval_s)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


# -- asset ----------------------------------------------------------------------------------------
def _actor(user: ConsoleUser) -> Actor:
    return Actor(user.username, user.role)


@router.get("/assets/{asset_id}")
async def asset_page(
    request: Request, asset_id: Annotated[int, Path(ge=1, le=2**31 - 1)]
) -> Response:
    user = user_of(request)
    if user is None:
        return _login_redirect(request)
    context = context_of(request)
    loc = localizer_of(request)

    lifecycle: list[service_data.LifecyclePanel | None] = [None]

    def load() -> tuple[data.AssetView | None, list[data.OrderRow], list[tuple[str, str, str]]]:
        states = context.states.list_states()
        with context.sessions() as session:
            view = data.asset_view(session, asset_id, states)
            if view is None:
                return None, [], []
            rows = data.board_orders(
                session, data.BoardFilter(asset_id=asset_id), actor=_actor(user), limit=50
            )
            if user.can_work:  # costs and documents are for the maintenance team
                lifecycle[0] = service_data.lifecycle_panel(
                    session, asset_id=asset_id, now=context.clock()
                )
        charts = []
        for device in view.devices:
            for metric, (_v, unit, _ts) in sorted(device.values.items()):
                points = data.history(
                    context.readings, device=device.id, metric=metric, window=HISTORY_WINDOW
                )
                title = f"{device.id} · {loc.label(metric)}"
                svg = line_chart(
                    [(r.ts, r.value) for r in points],
                    title=title,
                    unit=display_unit(unit),
                    fmt_number=lambda v: loc.number(v, 1),
                    fmt_time=lambda ts: loc.datetime(ts, view.timezone),
                    empty_text=loc.gettext("No readings in the last hour."),
                )
                charts.append((title, display_unit(unit), svg))
        return view, rows, charts

    view, rows, charts = await run_in_threadpool(load)
    if view is None:
        return _not_found(request, user, N_("There is no such asset."))
    return render(
        request,
        "asset.html",
        user=user,
        asset=view,
        rows=rows,
        charts=charts,
        lifecycle=lifecycle[0],
        **service_data.LABELS,
        **service_data.formatters(loc),
        **_common(request, user),
    )


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
        return _login_redirect(request)
    if not user.can_work:
        return _forbidden(request, user, N_("The work-order board is for the maintenance team."))
    flt, problems = _parse_filter(request)
    context = context_of(request)

    def load() -> tuple[list[data.OrderRow], list[str]]:
        with context.sessions() as session:
            return data.board_orders(session, flt, actor=_actor(user)), data.assignees(session)

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
        **_common(request, user),
    )


@router.get("/my")
async def my_orders(request: Request) -> Response:
    """A technician's phone view: open orders assigned to me, then my team's."""
    user = user_of(request)
    if user is None:
        return _login_redirect(request)
    if not user.can_work:
        return _forbidden(request, user, N_("This view is for the maintenance team."))
    context = context_of(request)

    def load() -> list[data.OrderRow]:
        with context.sessions() as session:
            return data.board_orders(
                session,
                data.BoardFilter(statuses=(*data.ACTIVE_STATES, WorkOrderStatus.RESOLVED)),
                actor=_actor(user),
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
        **_common(request, user),
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
        return _login_redirect(request)
    context = context_of(request)
    actor = _actor(user)

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
        return _not_found(request, user, N_("There is no such work order."))
    return render(
        request,
        "order.html",
        user=user,
        order=order,
        actions=actions,
        people=workers if "assign" in actions else [],
        may_rate=_may_rate(user, order),
        notice=NOTICES.get(request.query_params.get("notice", "")),
        **_common(request, user),
    )


def _change_failed(request: Request, user: ConsoleUser, exc: Exception) -> Response:
    if isinstance(exc, WorkOrderNotFound):
        return _not_found(request, user, N_("There is no such work order."))
    if isinstance(exc, Forbidden):
        return _forbidden(request, user, N_("Your role may not do this to a work order."))
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
        form = await _form(request)
        action = _text(form, "action", max_len=20, required=True)
        note = _text(form, "note", max_len=MAX_NOTE)
        assignee = _text(form, "assignee", max_len=64) or None
        back = _safe_next(_text(form, "back", max_len=500) or None)
    except CsrfError:
        return _forbidden(request, user, CSRF_MESSAGE)
    except FormError as exc:
        return _bad_form(request, user, exc.message)
    if action not in service.ACTIONS:
        return _bad_form(request, user, N_("Unknown action."))
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
    return _back_with_notice(back, "moved")


@router.post("/orders/{order_id}/rate")
async def rate(request: Request, order_id: Annotated[int, Path(ge=1, le=2**31 - 1)]) -> Response:
    """The requester's 1-5 rating of a verified order (once), through the service."""
    user = user_of(request)
    if user is None:
        return Response("log in first", status_code=401)
    try:
        form = await _form(request)
        raw = _text(form, "rating", max_len=1, required=True)
        comment = _text(form, "comment", max_len=MAX_NOTE)
    except CsrfError:
        return _forbidden(request, user, CSRF_MESSAGE)
    except FormError as exc:
        return _bad_form(request, user, exc.message)
    if raw not in {"1", "2", "3", "4", "5"}:
        return _bad_form(request, user, N_("Choose a rating from 1 to 5."))
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
    return _back_with_notice(f"{PREFIX}/orders/{order_id}", "rated")


def _bad_form(request: Request, user: ConsoleUser | None, message: str) -> Response:
    return render(
        request,
        "error.html",
        user=user,
        status_code=400,
        title=N_("The form is not valid"),
        message=message,
    )


def _back_with_notice(back: str, notice: str) -> RedirectResponse:
    separator = "&" if "?" in back else "?"
    return RedirectResponse(f"{back}{separator}notice={notice}", status_code=303)


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
        return _login_redirect(request)
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
        **_common(request, user),
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
            values[name] = _text(form, name, max_len=max_len, required=required)
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
        form = await _form(request)
    except CsrfError:
        return _forbidden(request, user, CSRF_MESSAGE)
    except FormError as exc:
        return _bad_form(request, user, exc.message)
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
            **_common(request, user),
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
        return _login_redirect(request)
    context = context_of(request)

    def load() -> list[data.OrderRow]:
        with context.sessions() as session:
            return data.board_orders(
                session, data.BoardFilter(created_by=user.username), actor=_actor(user)
            )

    rows = await run_in_threadpool(load)
    return render(
        request,
        "requests.html",
        user=user,
        rows=rows,
        notice=NOTICES.get(request.query_params.get("notice", "")),
        **_common(request, user),
    )


# -- public report link (QR sticker) --------------------------------------------------------------
def _link_asset(request: Request, token: str) -> tuple[int, str, str] | None:
    context = context_of(request)
    link = verify_link(token, secret=context.secret, revocations=state_of(request).revocations)
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
        return _not_found(request, None, N_("This report link is not valid or was withdrawn."))
    if asset is None:
        return _not_found(request, None, N_("This report link is not valid or was withdrawn."))
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
        **_common(request, None),
    )


@router.post("/r/{token}")
async def public_report(request: Request, token: str) -> Response:
    try:
        asset = await run_in_threadpool(_link_asset, request, token)
    except LinkError:
        asset = None
    if asset is None:
        return _not_found(request, None, N_("This report link is not valid or was withdrawn."))
    try:
        form = await _form(request)
    except CsrfError:
        return _forbidden(request, None, CSRF_MESSAGE)
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
            **_common(request, None),
        )
    state = state_of(request)
    client = request.client.host if request.client else "unknown"
    if not (
        state.per_client.allow(f"{client}|{asset[0]}") and state.per_asset.allow(str(asset[0]))
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
