"""The asset register's life cycle: tree, guarded status machine, status history.

An asset is a node of the site → building → floor → zone → equipment tree (buildings, floors and
zones are assets with a ``level``; the site is the root). This module creates and edits assets and
moves them through their status machine with an append-only history. The figures a facility
manager plans replacements with (costs, availability, MTBF/MTTR, the replacement plan) are derived
from work orders, labour and the stock ledger, so they live on the read side:
:mod:`maintenance.insights.asset_figures`. Everything that needs "now" takes it as an argument.

Status machine (``TRANSITIONS``)::

    planned ──► in_service ◄──► under_repair
       │            ▲  │            │
       │            │  ▼            │
       ├──────────► standby ◄───────┘
       └──► decommissioned ◄── (from every state; terminal)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from facility.core.errors import Conflict, Invalid, NotFound
from maintenance.assets.models import Asset, AssetLevel, AssetStatus, AssetStatusChange, Criticality
from maintenance.assets.register import ensure_site
from maintenance.sites.models import Site

__all__ = [
    "EDITABLE_FIELDS",
    "LEVEL_RANK",
    "TRANSITIONS",
    "AssetConflict",
    "AssetError",
    "AssetNotFound",
    "AssetSpec",
    "InvalidAssetTransition",
    "asset_tree",
    "change_status",
    "check_code",
    "check_level",
    "check_transition",
    "create_asset",
    "find_cycle",
    "get_asset",
    "record_status",
    "status_history",
    "update_asset",
]

S = AssetStatus

#: Where each status may go next. ``decommissioned`` is terminal: a scrapped asset that comes
#: back is a new asset with a new code, so its history and costs never mix with the old one's.
TRANSITIONS: Mapping[AssetStatus, frozenset[AssetStatus]] = {
    S.PLANNED: frozenset({S.IN_SERVICE, S.STANDBY, S.DECOMMISSIONED}),
    S.IN_SERVICE: frozenset({S.UNDER_REPAIR, S.STANDBY, S.DECOMMISSIONED}),
    S.UNDER_REPAIR: frozenset({S.IN_SERVICE, S.STANDBY, S.DECOMMISSIONED}),
    S.STANDBY: frozenset({S.IN_SERVICE, S.UNDER_REPAIR, S.DECOMMISSIONED}),
    S.DECOMMISSIONED: frozenset(),
}

#: Depth of each level in the tree. A child may sit at its parent's level or deeper (a pump in a
#: zone, a motor inside a pump, equipment straight in a building) but never above it: a building
#: inside a floor is a data-entry mistake.
LEVEL_RANK: Mapping[AssetLevel, int] = {
    AssetLevel.BUILDING: 0,
    AssetLevel.FLOOR: 1,
    AssetLevel.ZONE: 2,
    AssetLevel.EQUIPMENT: 3,
}

_CODE_RE = re.compile(r"^[\w][\w.:-]{0,199}$")
#: Paths under /assets/ that are views, not asset codes.
_RESERVED_CODES = frozenset({"tree", "replacement-plan", "export.csv", "import"})
#: The work-order table, named as the status history's foreign key names it
#: (``asset_status_changes.work_order_id`` → ``work_orders.id``): a status move only checks that
#: the order it names exists, and importing the work-order model would tie the register to the
#: package above it.
_WORK_ORDERS = sa.table("work_orders", sa.column("id"))


# -- errors ---------------------------------------------------------------------------------------
class AssetError(Invalid):
    """An asset request is malformed or breaks a rule of the register (HTTP 422)."""


class AssetNotFound(AssetError, NotFound):
    """No asset has the given code (HTTP 404)."""


class AssetConflict(AssetError, Conflict):
    """The request clashes with what exists: a duplicate code (HTTP 409)."""


class InvalidAssetTransition(AssetError, Conflict):
    """The status machine does not allow the move (HTTP 409).

    Attributes:
        current: the asset's status now.
        requested: the status asked for.
        allowed: the statuses reachable from ``current``.
    """

    def __init__(self, code: str, current: AssetStatus, requested: AssetStatus) -> None:
        self.current = current
        self.requested = requested
        self.allowed = sorted(s.value for s in TRANSITIONS[current])
        options = ", ".join(self.allowed) if self.allowed else "none (decommissioned is final)"
        super().__init__(
            f"asset {code[:60]!r} cannot move from {current.value!r} to {requested.value!r}; "
            f"allowed: {options}"
        )


# -- pure rules -----------------------------------------------------------------------------------
def check_transition(code: str, current: AssetStatus, requested: AssetStatus) -> None:
    """Raise :class:`InvalidAssetTransition` unless ``current → requested`` is in the table."""
    if requested not in TRANSITIONS[current]:
        raise InvalidAssetTransition(code, current, requested)


def check_level(parent_level: AssetLevel, child_level: AssetLevel) -> str | None:
    """Why ``child_level`` cannot sit under ``parent_level`` (None when it can)."""
    if LEVEL_RANK[child_level] < LEVEL_RANK[parent_level]:
        return (
            f"{_article(child_level)} cannot sit inside {_article(parent_level)}; "
            "pick a parent at the same level or above"
        )
    return None


def _article(level: AssetLevel) -> str:
    return ("an " if level.value[0] in "aeiou" else "a ") + level.value


def check_code(code: str, *, what: str = "asset code") -> str | None:
    """Why ``code`` is not usable as an asset code (None when it is).

    Codes appear in URLs (``/assets/{code}``) and spreadsheets, so they are one word of letters,
    digits and ``. _ : -``; no slashes or spaces.
    """
    if not code:
        return f"{what} is empty"
    if len(code) > 200:
        return f"{what} is {len(code)} characters; at most 200"
    if code.lower() in _RESERVED_CODES:
        return f"{what} {code!r} is reserved by the API (/assets/{code.lower()}); pick another"
    if not _CODE_RE.match(code):
        return (
            f"{what} {code[:40]!r} may hold only letters, digits and . _ : - "
            "(and must start with a letter or digit)"
        )
    return None


def find_cycle(parents: Mapping[str, str | None], start: str) -> list[str] | None:
    """The cycle reached by following parents from ``start``, or None if the walk ends at a root.

    ``parents`` maps code → parent code; a parent missing from the map is a root (checked
    elsewhere). The returned list starts and ends at the same code (``[a, b, a]``).
    """
    seen: dict[str, int] = {}
    path: list[str] = []
    node: str | None = start
    while node is not None and node in parents:
        if node in seen:
            return [*path[seen[node] :], node]
        seen[node] = len(path)
        path.append(node)
        node = parents[node]
    return None


# -- create, read, update -------------------------------------------------------------------------
#: The fields a caller may set on an asset (besides code, parent, site and status).
EDITABLE_FIELDS = (
    "name",
    "asset_type",
    "location",
    "level",
    "category",
    "manufacturer",
    "model",
    "serial_number",
    "installed_on",
    "commissioned_on",
    "warranty_end",
    "expected_life_years",
    "purchase_cost",
    "replacement_cost",
    "criticality",
)


@dataclass(frozen=True, slots=True)
class AssetSpec:
    """A new asset as the caller describes it (already type-checked by the schema or CSV)."""

    code: str
    name: str
    level: AssetLevel = AssetLevel.EQUIPMENT
    parent: str | None = None
    site: str | None = None
    asset_type: str = "unknown"
    location: str = ""
    category: str = ""
    manufacturer: str = ""
    model: str = ""
    serial_number: str = ""
    installed_on: date | None = None
    commissioned_on: date | None = None
    warranty_end: date | None = None
    expected_life_years: float | None = None
    purchase_cost: Decimal | None = None
    replacement_cost: Decimal | None = None
    criticality: Criticality = Criticality.C
    status: AssetStatus = AssetStatus.IN_SERVICE


def get_asset(session: Session, *, code: str) -> Asset:
    asset = session.scalar(sa.select(Asset).where(Asset.code == code))
    if asset is None:
        raise AssetNotFound(f"asset {code[:60]!r} does not exist; GET /api/v1/assets lists them")
    return asset


def _site(session: Session, code: str | None) -> Site | None:
    if code is None:
        return None
    problem = check_code(code, what="site code")
    if problem is not None or len(code) > 64:
        raise AssetError(problem or f"site code {code[:40]!r} is over 64 characters")
    return ensure_site(session, code=code)


def _check_dates(installed: date | None, commissioned: date | None) -> None:
    if installed and commissioned and commissioned < installed:
        raise AssetError(
            f"commissioned_on {commissioned} is before installed_on {installed}; "
            "an asset is commissioned after it is installed"
        )


def _place(session: Session, asset: Asset, parent_code: str | None) -> None:
    """Hang ``asset`` under ``parent_code`` (or at the root), refusing cycles and bad levels."""
    if parent_code is None:
        asset.parent_id = None
        return
    parent = session.scalar(sa.select(Asset).where(Asset.code == parent_code))
    if parent is None:
        raise AssetError(f"parent {parent_code[:60]!r} does not exist; create it first")
    if asset.id is not None:
        # walk up from the new parent: meeting the asset itself means the move makes a cycle
        node: Asset | None = parent
        hops = 0
        while node is not None and hops <= 10_000:
            if node.id == asset.id:
                raise AssetError(
                    f"putting {asset.code[:60]!r} under {parent_code[:60]!r} makes a cycle "
                    "(the parent is the asset itself or one of its descendants)"
                )
            node = session.get(Asset, node.parent_id) if node.parent_id is not None else None
            hops += 1
    problem = check_level(parent.level, asset.level)
    if problem:
        raise AssetError(problem)
    if parent.site_id is not None:
        if asset.site_id is not None and asset.site_id != parent.site_id:
            raise AssetError(
                f"{asset.code[:60]!r} and its parent {parent_code[:60]!r} are on different sites"
            )
        asset.site_id = parent.site_id
    asset.parent_id = parent.id


def record_status(
    session: Session,
    asset: Asset,
    *,
    to: AssetStatus,
    actor: str,
    reason: str,
    now: datetime,
    from_status: AssetStatus | None,
    work_order_id: int | None = None,
) -> AssetStatusChange:
    """Set the asset's status and append the history entry, unchecked: callers guard the move
    (``change_status`` by the transition table, ``asset_repairs`` by the work that caused it)."""
    asset.status = to
    asset.status_since = now
    change = AssetStatusChange(
        asset_id=asset.id,
        ts=now,
        from_status=from_status,
        to_status=to,
        actor=actor,
        reason=reason,
        work_order_id=work_order_id,
    )
    session.add(change)
    return change


def create_asset(
    session: Session, *, spec: AssetSpec, actor: str, now: datetime, commit: bool = True
) -> Asset:
    """Add an asset with its life-cycle fields; its first status is recorded in the history."""
    problem = check_code(spec.code)
    if problem:
        raise AssetError(problem)
    if session.scalar(sa.select(Asset.id).where(Asset.code == spec.code)) is not None:
        raise AssetConflict(f"an asset with code {spec.code[:60]!r} exists; PATCH it instead")
    _check_dates(spec.installed_on, spec.commissioned_on)
    site = _site(session, spec.site)
    asset = Asset(
        code=spec.code,
        site_id=site.id if site else None,
        created_at=now,
        status=spec.status,
        status_since=now,
        **{name: getattr(spec, name) for name in EDITABLE_FIELDS},
    )
    _place(session, asset, spec.parent)
    session.add(asset)
    session.flush()
    record_status(
        session,
        asset,
        to=spec.status,
        actor=actor,
        reason="created",
        now=now,
        from_status=None,
    )
    if commit:
        session.commit()
    return asset


_UNSET: Any = object()


def update_asset(
    session: Session,
    *,
    code: str,
    changes: Mapping[str, Any],
    actor: str,
    now: datetime,
    commit: bool = True,
) -> Asset:
    """Change the given fields (``parent`` and ``site`` by code; ``None`` clears).

    Status is not a field here: it moves only through :func:`change_status`, so every move is
    guarded and recorded.
    """
    del actor, now  # field edits are not audited; status moves are (see change_status)
    asset = get_asset(session, code=code)
    unknown = set(changes) - {*EDITABLE_FIELDS, "parent", "site"}
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    for name in EDITABLE_FIELDS:
        if name in changes:
            if name == "name" and not changes[name]:
                raise AssetError("name must not be empty")
            setattr(asset, name, changes[name])
    _check_dates(asset.installed_on, asset.commissioned_on)
    if "site" in changes:
        site = _site(session, changes["site"])
        asset.site_id = site.id if site else None
    if "parent" in changes or "level" in changes:
        parent_code = changes.get("parent", _UNSET)
        if parent_code is _UNSET:
            parent = session.get(Asset, asset.parent_id) if asset.parent_id else None
            parent_code = parent.code if parent else None
        kept_site = asset.site_id
        if "site" not in changes:
            asset.site_id = None  # a move takes the new parent's site, if it has one
        _place(session, asset, parent_code)
        if asset.site_id is None:
            asset.site_id = kept_site
    if "level" in changes:
        for child in session.scalars(sa.select(Asset).where(Asset.parent_id == asset.id)):
            problem = check_level(asset.level, child.level)
            if problem:
                raise AssetError(f"child {child.code[:60]!r}: {problem}")
    session.flush()
    if commit:
        session.commit()
    return asset


def change_status(
    session: Session,
    *,
    code: str,
    to: AssetStatus,
    actor: str,
    reason: str,
    now: datetime,
    work_order_id: int | None = None,
    commit: bool = True,
) -> AssetStatusChange:
    """Move an asset along the status machine and record who, when and why."""
    asset = get_asset(session, code=code)
    if not reason.strip():
        raise AssetError("a status change needs a reason (why the asset moves)")
    check_transition(asset.code, asset.status, to)
    last = session.scalar(
        sa.select(sa.func.max(AssetStatusChange.ts)).where(AssetStatusChange.asset_id == asset.id)
    )
    if last is not None and now < last:
        raise AssetError(
            f"the change at {now.isoformat()} is before the last recorded one "
            f"({last.isoformat()}); history is append-only"
        )
    if work_order_id is not None and (
        session.scalar(sa.select(_WORK_ORDERS.c.id).where(_WORK_ORDERS.c.id == work_order_id))
        is None
    ):
        raise AssetError(f"work order {work_order_id} does not exist")
    change = record_status(
        session,
        asset,
        to=to,
        actor=actor,
        reason=reason,
        now=now,
        from_status=asset.status,
        work_order_id=work_order_id,
    )
    if commit:
        session.commit()
    return change


def status_history(session: Session, *, asset_id: int) -> list[AssetStatusChange]:
    return list(
        session.scalars(
            sa.select(AssetStatusChange)
            .where(AssetStatusChange.asset_id == asset_id)
            .order_by(AssetStatusChange.ts, AssetStatusChange.id)
        )
    )


def asset_tree(
    session: Session, *, root: str | None = None, site: str | None = None
) -> list[dict[str, Any]]:
    """The tree as nested ``{code, name, level, status, children}``; roots sorted by code.

    ``root`` limits it to one subtree; ``site`` to the assets of one site.
    """
    query = sa.select(Asset.id, Asset.code, Asset.name, Asset.level, Asset.status, Asset.parent_id)
    if site is not None:
        query = query.join(Site, Site.id == Asset.site_id).where(Site.code == site)
    rows = session.execute(query.order_by(Asset.code)).all()
    nodes = {
        r.id: {
            "code": r.code,
            "name": r.name,
            "level": r.level.value,
            "status": r.status.value,
            "children": [],
        }
        for r in rows
    }
    roots: list[dict[str, Any]] = []
    for r in rows:
        if r.parent_id in nodes:
            nodes[r.parent_id]["children"].append(nodes[r.id])
        else:
            roots.append(nodes[r.id])
    if root is not None:
        start = get_asset(session, code=root)
        if start.id not in nodes:
            return []
        return [nodes[start.id]]
    return roots
