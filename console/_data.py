"""What the console pages show, read from the work-order database and the device states.

Pure reads: every change goes through :mod:`maintenance.work_orders.service`, so the console
can never do what the API would refuse.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from console._i18n import N_
from console._sla_clock import SLA_STOPPED
from facility.core.types import DeviceState, Reading, ReadingStore
from maintenance.assets.models import Asset, Device
from maintenance.shared.actors import Actor
from maintenance.shared.vocabulary import Priority
from maintenance.sites.models import Site
from maintenance.work_orders.models import WorkOrder, WorkOrderStatus
from maintenance.work_orders.service import actions_for, team_of, visible_to

__all__ = [
    "ACTIVE_STATES",
    "BOARD_STATES",
    "AssetHealth",
    "AssetView",
    "BoardFilter",
    "Health",
    "OrderRow",
    "SiteView",
    "asset_health",
    "board_orders",
    "history",
    "overview",
]

#: States in which an order still needs someone's work (resolved ones await verification only).
ACTIVE_STATES = (
    WorkOrderStatus.NEW,
    WorkOrderStatus.ASSIGNED,
    WorkOrderStatus.REOPENED,
    WorkOrderStatus.IN_PROGRESS,
    WorkOrderStatus.ON_HOLD,
)
#: The board's columns when no state is chosen: everything not closed or cancelled.
BOARD_STATES = (*ACTIVE_STATES, WorkOrderStatus.RESOLVED, WorkOrderStatus.VERIFIED)
_URGENT = (Priority.P1, Priority.P2)


class Health(enum.StrEnum):
    """An asset's colour on the overview, worst first."""

    CRITICAL = "critical"
    WARNING = "warning"
    UNKNOWN = "unknown"
    OK = "ok"


HEALTH_LABELS = {
    Health.CRITICAL: N_("Needs attention"),
    Health.WARNING: N_("Open work"),
    Health.UNKNOWN: N_("No data"),
    Health.OK: N_("Healthy"),
}


@dataclass(frozen=True, slots=True)
class AssetHealth:
    health: Health
    reason: str


def asset_health(*, priorities: Iterable[Priority], presence: Sequence[bool | None]) -> AssetHealth:
    """Red for an urgent open order or an offline device; amber for other open work; grey for
    an asset whose devices were never heard; green otherwise.

    ``presence`` has one entry per device: online, offline, or ``None`` (never heard).
    """
    open_priorities = list(priorities)
    if any(p in _URGENT for p in open_priorities):
        return AssetHealth(Health.CRITICAL, N_("Urgent work order open"))
    if any(state is False for state in presence):
        return AssetHealth(Health.CRITICAL, N_("A device is offline"))
    if open_priorities:
        return AssetHealth(Health.WARNING, N_("Work order open"))
    if not presence or all(state is None for state in presence):
        return AssetHealth(Health.UNKNOWN, N_("No device has reported yet"))
    return AssetHealth(Health.OK, N_("All devices online, no open work"))


@dataclass(slots=True)
class DeviceView:
    id: str
    online: bool | None
    last_seen: datetime | None
    values: dict[str, tuple[float, str, datetime]]


@dataclass(slots=True)
class AssetView:
    id: int
    code: str
    name: str
    asset_type: str
    location: str
    timezone: str
    devices: list[DeviceView]
    open_orders: int
    health: AssetHealth


@dataclass(slots=True)
class SiteView:
    code: str
    name: str
    zones: dict[str, list[AssetView]] = field(default_factory=dict)


def _device_views(devices: Iterable[Device], states: dict[str, DeviceState]) -> list[DeviceView]:
    views = []
    for device in sorted(devices, key=lambda d: d.id):
        state = states.get(device.id)
        views.append(
            DeviceView(
                id=device.id,
                online=state.online if state else None,
                last_seen=state.last_seen if state else None,
                values=dict(state.values) if state else {},
            )
        )
    return views


def _open_priorities(session: Session) -> dict[int, list[Priority]]:
    rows = session.execute(
        sa.select(WorkOrder.asset_id, WorkOrder.priority).where(
            WorkOrder.status.in_(ACTIVE_STATES), WorkOrder.asset_id.is_not(None)
        )
    ).all()
    out: dict[int, list[Priority]] = {}
    for asset_id, priority in rows:
        if asset_id is not None:
            out.setdefault(asset_id, []).append(priority)
    return out


def overview(session: Session, states: Sequence[DeviceState]) -> list[SiteView]:
    """Sites → zones (the asset's location) → assets, each with its health."""
    by_device = {s.device: s for s in states}
    priorities = _open_priorities(session)
    assets = session.scalars(
        sa.select(Asset).options(selectinload(Asset.devices), selectinload(Asset.site))
    ).all()
    sites: dict[str, SiteView] = {}
    for asset in sorted(assets, key=lambda a: (a.site.code if a.site else "~", a.code)):
        site: Site | None = asset.site
        key = site.code if site else ""
        view = sites.setdefault(key, SiteView(code=key, name=site.name if site else ""))
        devices = _device_views(asset.devices, by_device)
        open_p = priorities.get(asset.id, [])
        view.zones.setdefault(asset.location or "", []).append(
            AssetView(
                id=asset.id,
                code=asset.code,
                name=asset.name,
                asset_type=asset.asset_type,
                location=asset.location,
                timezone=site.timezone if site else "UTC",
                devices=devices,
                open_orders=len(open_p),
                health=asset_health(priorities=open_p, presence=[d.online for d in devices]),
            )
        )
    return list(sites.values())


def asset_view(session: Session, asset_id: int, states: Sequence[DeviceState]) -> AssetView | None:
    asset = session.scalar(
        sa.select(Asset)
        .where(Asset.id == asset_id)
        .options(selectinload(Asset.devices), selectinload(Asset.site))
    )
    if asset is None:
        return None
    devices = _device_views(asset.devices, {s.device: s for s in states})
    open_p = _open_priorities(session).get(asset.id, [])
    return AssetView(
        id=asset.id,
        code=asset.code,
        name=asset.name,
        asset_type=asset.asset_type,
        location=asset.location,
        timezone=asset.site.timezone if asset.site else "UTC",
        devices=devices,
        open_orders=len(open_p),
        health=asset_health(priorities=open_p, presence=[d.online for d in devices]),
    )


@dataclass(frozen=True, slots=True)
class BoardFilter:
    """The board's filters as the query string gives them (already validated).

    ``assignee="-"`` means unassigned.
    """

    statuses: tuple[WorkOrderStatus, ...] = ()
    priorities: tuple[Priority, ...] = ()
    assignee: str | None = None
    asset_id: int | None = None
    created_by: str | None = None
    #: Words looked for in the title, the location and the asset's code and name.
    search: str | None = None
    #: Only orders past their running SLA deadline (response, or resolution once responded).
    overdue: bool = False


def _like(text: str) -> str:
    """A LIKE pattern that finds ``text`` literally (``%`` and ``_`` typed by a user match
    themselves, not everything)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass(frozen=True, slots=True)
class OrderRow:
    """An order as a card shows it, with the actions this caller may take on it now."""

    order: WorkOrder
    actions: list[str]


def board_orders(
    session: Session,
    flt: BoardFilter,
    *,
    actor: Actor,
    limit: int = 300,
    now: datetime | None = None,
) -> list[OrderRow]:
    """Orders ``actor`` may see that match ``flt``, most urgent first, then newest.

    Visibility and the actions come from :mod:`maintenance.work_orders.service`, so a card
    never offers a button the service would refuse.
    """
    team = team_of(session, actor)
    query = (
        sa.select(WorkOrder).options(selectinload(WorkOrder.asset)).where(visible_to(actor, team))
    )
    if flt.statuses:
        query = query.where(WorkOrder.status.in_(flt.statuses))
    if flt.priorities:
        query = query.where(WorkOrder.priority.in_(flt.priorities))
    if flt.assignee == "-":
        query = query.where(WorkOrder.assignee.is_(None))
    elif flt.assignee:
        query = query.where(WorkOrder.assignee == flt.assignee)
    if flt.asset_id is not None:
        query = query.where(WorkOrder.asset_id == flt.asset_id)
    if flt.created_by:
        query = query.where(WorkOrder.created_by == flt.created_by)
    if flt.search:
        for word in flt.search.split()[:5]:
            pattern = _like(word)
            matches = sa.select(Asset.id).where(
                sa.or_(
                    Asset.code.ilike(pattern, escape="\\"),
                    Asset.name.ilike(pattern, escape="\\"),
                )
            )
            query = query.where(
                sa.or_(
                    WorkOrder.title.ilike(pattern, escape="\\"),
                    WorkOrder.location.ilike(pattern, escape="\\"),
                    WorkOrder.asset_id.in_(matches),
                )
            )
    if flt.overdue:
        moment = now or datetime.now(UTC)
        query = query.where(
            WorkOrder.status.not_in(SLA_STOPPED),
            sa.or_(
                sa.and_(WorkOrder.responded_at.is_(None), WorkOrder.response_due_at < moment),
                WorkOrder.resolution_due_at < moment,
            ),
        )
    # most urgent first: priority, then the deadline that comes soonest, then newest
    soonest = sa.case(
        (WorkOrder.responded_at.is_(None), WorkOrder.response_due_at),
        else_=WorkOrder.resolution_due_at,
    )
    query = query.order_by(
        WorkOrder.priority, soonest.is_(None), soonest, WorkOrder.id.desc()
    ).limit(limit)
    return [
        OrderRow(order, actions_for(order, actor, team)) for order in session.scalars(query).all()
    ]


def assignees(session: Session) -> list[str]:
    rows = session.scalars(
        sa.select(WorkOrder.assignee).where(WorkOrder.assignee.is_not(None)).distinct()
    ).all()
    return sorted(r for r in rows if r)


def history(
    store: ReadingStore,
    *,
    device: str,
    metric: str,
    window: timedelta,
    now: datetime | None = None,
    max_points: int = 20_000,
) -> list[Reading]:
    """Readings of one metric since ``now - window``, following the store's pages."""
    start = (now or datetime.now(UTC)) - window
    out: list[Reading] = []
    cursor: str | None = None
    while len(out) < max_points:
        page = store.query(
            device=device,
            metric=metric,
            start=start,
            end=None,
            limit=min(5000, max_points - len(out)),
            cursor=cursor,
        )
        out.extend(page.items)
        cursor = page.next_cursor
        if not cursor or not page.items:
            break
    return out
