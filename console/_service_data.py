"""What the service-management pages show, gathered from the maintenance services.

The asset register, replacement plan, preventive maintenance, stock, suppliers and the monthly
review each have a service in its maintenance domain that owns its figures. This module
only calls those services, picks what a page needs and shapes it for a template; it never
computes a figure itself, so the console always shows what the API and the CLI report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from babel.dates import format_date
from babel.numbers import format_decimal
from sqlalchemy.orm import Session

from console._i18n import N_, Localizer
from facility.core.types import ReadingStore
from maintenance.assets import documents as asset_documents
from maintenance.assets import lifecycle as asset_lifecycle
from maintenance.assets.models import (
    Asset,
    AssetDocument,
    AssetLevel,
    AssetStatus,
    AssetStatusChange,
    Criticality,
    DocumentKind,
)
from maintenance.insights import asset_figures
from maintenance.insights import scorecards as scores
from maintenance.insights.asset_figures import Visibility
from maintenance.inventory import service as inventory
from maintenance.inventory.models import StockCategory, Storeroom
from maintenance.pm import service as pm
from maintenance.pm.models import PmPlan, PmTriggerKind
from maintenance.review import service as review
from maintenance.sites.models import Site
from maintenance.suppliers import service as directory
from maintenance.suppliers.models import QualificationStatus, Supplier, SupplierScore
from maintenance.work_orders.models import WorkOrder, WorkOrderType

__all__ = [
    "ASSET_MOVES",
    "ASSET_STATUS_LABELS",
    "CATEGORY_LABELS",
    "COMPONENT_LABELS",
    "CRITICALITY_LABELS",
    "DOCUMENT_LABELS",
    "LABELS",
    "LEVEL_LABELS",
    "ORDER_TYPE_LABELS",
    "QUALIFICATION_LABELS",
    "SERVICE_NOTICES",
    "STATUS_TONES",
    "SUPPLIER_MOVES",
    "TRIGGER_LABELS",
    "WARRANTY_LABELS",
    "AssetFacts",
    "DocumentFile",
    "LifecyclePanel",
    "PmView",
    "ReplacementRow",
    "ReviewChoice",
    "SiteTree",
    "StockView",
    "SupplierRow",
    "SuppliersView",
    "TreeNode",
    "asset_register",
    "document_file",
    "formatters",
    "generated_orders",
    "lifecycle_panel",
    "pm_view",
    "replacement_view",
    "review_choice",
    "stock_view",
    "suppliers_view",
]

ASSET_STATUS_LABELS = {
    AssetStatus.PLANNED: N_("Planned"),
    AssetStatus.IN_SERVICE: N_("In service"),
    AssetStatus.UNDER_REPAIR: N_("Under repair"),
    AssetStatus.STANDBY: N_("Standby"),
    AssetStatus.DECOMMISSIONED: N_("Decommissioned"),
}
#: The badge colour (one of the console's AA-contrast health classes) of each asset status.
STATUS_TONES = {
    AssetStatus.PLANNED: "unknown",
    AssetStatus.IN_SERVICE: "ok",
    AssetStatus.UNDER_REPAIR: "critical",
    AssetStatus.STANDBY: "warning",
    AssetStatus.DECOMMISSIONED: "unknown",
    QualificationStatus.CANDIDATE: "unknown",
    QualificationStatus.QUALIFIED: "ok",
    QualificationStatus.SUSPENDED: "warning",
    QualificationStatus.REMOVED: "critical",
}
LEVEL_LABELS = {
    AssetLevel.BUILDING: N_("Building"),
    AssetLevel.FLOOR: N_("Floor"),
    AssetLevel.ZONE: N_("Zone"),
    AssetLevel.EQUIPMENT: N_("Equipment"),
}
CRITICALITY_LABELS = {
    Criticality.A: N_("A: critical"),
    Criticality.B: N_("B: important"),
    Criticality.C: N_("C: minor"),
}
WARRANTY_LABELS = {
    "in_warranty": N_("In warranty"),
    "expired": N_("Expired"),
    "unknown": N_("Unknown"),
}
DOCUMENT_LABELS = {
    DocumentKind.MANUAL: N_("Manual"),
    DocumentKind.CERTIFICATE: N_("Certificate"),
    DocumentKind.DRAWING: N_("Drawing"),
    DocumentKind.WARRANTY: N_("Warranty"),
    DocumentKind.OTHER: N_("Other"),
}
ORDER_TYPE_LABELS = {
    WorkOrderType.CORRECTIVE: N_("Corrective"),
    WorkOrderType.INSPECTION: N_("Inspection"),
    WorkOrderType.PREVENTIVE: N_("Preventive"),
    WorkOrderType.REQUEST: N_("Request"),
}
TRIGGER_LABELS = {
    PmTriggerKind.CALENDAR: N_("Calendar"),
    PmTriggerKind.CRON: N_("Schedule (cron)"),
    PmTriggerKind.RUNTIME: N_("Run hours"),
    PmTriggerKind.METER: N_("Meter"),
    PmTriggerKind.CONDITION: N_("Condition (rule)"),
}
QUALIFICATION_LABELS = {
    QualificationStatus.CANDIDATE: N_("Candidate"),
    QualificationStatus.QUALIFIED: N_("Qualified"),
    QualificationStatus.SUSPENDED: N_("Suspended"),
    QualificationStatus.REMOVED: N_("Removed"),
}
CATEGORY_LABELS = {
    StockCategory.SPARE_PART.value: N_("Spare parts"),
    StockCategory.CONSUMABLE.value: N_("Consumables"),
    StockCategory.OFFICE_SUPPLY.value: N_("Office supplies"),
}
#: The replacement score's parts, in the order the service's docstring gives them.
COMPONENT_LABELS = {
    "age": N_("Age"),
    "repair": N_("Repair cost"),
    "failures": N_("Failures"),
    "criticality": N_("Criticality"),
}
#: The statuses each asset / supplier status may move to, as the services' ``TRANSITIONS``
#: tables say (in the machine's own order), so a form offers only the moves the service allows.
ASSET_MOVES: dict[AssetStatus, list[AssetStatus]] = {
    current: [s for s in AssetStatus if s in asset_lifecycle.TRANSITIONS[current]]
    for current in AssetStatus
}
SUPPLIER_MOVES: dict[QualificationStatus, list[QualificationStatus]] = {
    current: [s for s in QualificationStatus if s in directory.TRANSITIONS[current]]
    for current in QualificationStatus
}
#: What a successful form post says on the page it returns to (``?notice=<key>``).
SERVICE_NOTICES = {
    "plan-approved": N_("The plan is approved: the scheduler orders its work from now on."),
    "pm-ran": N_("The scheduler ran."),
    "received": N_("The receipt was booked into stock."),
    "adjusted": N_("The stock adjustment was booked."),
    "supplier-moved": N_("The supplier's qualification was changed."),
    "asset-moved": N_("The asset's status was changed."),
}
#: The label tables, by the names the templates use.
LABELS: dict[str, Any] = {
    "ASSET_MOVES": ASSET_MOVES,
    "SUPPLIER_MOVES": SUPPLIER_MOVES,
    "SERVICE_NOTICES": SERVICE_NOTICES,
    "ASSET_STATUS_LABELS": ASSET_STATUS_LABELS,
    "STATUS_TONES": STATUS_TONES,
    "LEVEL_LABELS": LEVEL_LABELS,
    "CRITICALITY_LABELS": CRITICALITY_LABELS,
    "WARRANTY_LABELS": WARRANTY_LABELS,
    "DOCUMENT_LABELS": DOCUMENT_LABELS,
    "ORDER_TYPE_LABELS": ORDER_TYPE_LABELS,
    "TRIGGER_LABELS": TRIGGER_LABELS,
    "QUALIFICATION_LABELS": QUALIFICATION_LABELS,
    "CATEGORY_LABELS": CATEGORY_LABELS,
    "COMPONENT_LABELS": COMPONENT_LABELS,
}
HOURS = N_("%(hours)s h")
PERCENT = N_("%(value)s %%")


def formatters(loc: Localizer) -> dict[str, Any]:
    """How the service pages write dates, money, shares and durations in ``loc``'s language.

    Only presentation: the figures arrive computed (shares as ratios, durations in seconds).
    """

    def fmt_date(value: date | datetime | None) -> str:
        return "—" if value is None else format_date(value, format="medium", locale=loc.locale)

    def fmt_money(value: Decimal | float | None) -> str:
        return "—" if value is None else format_decimal(value, "#,##0.00", locale=loc.locale)

    def fmt_qty(value: Decimal | float | None) -> str:
        return "—" if value is None else format_decimal(value, "#,##0.###", locale=loc.locale)

    def fmt_pct(ratio: float | None) -> str:
        if ratio is None:
            return "—"
        return loc.gettext(PERCENT) % {"value": loc.number(ratio * 100, 1)}

    def fmt_hours(seconds: float | None) -> str:
        if seconds is None:
            return "—"
        return loc.gettext(HOURS) % {"hours": loc.number(seconds / 3600, 1)}

    return {
        "fmt_date": fmt_date,
        "fmt_money": fmt_money,
        "fmt_qty": fmt_qty,
        "fmt_pct": fmt_pct,
        "fmt_hours": fmt_hours,
    }


#: How many preventive-maintenance plans the PM page lists at most.
MAX_ROWS = 500


# -- asset register -------------------------------------------------------------------------------
@dataclass(slots=True)
class TreeNode:
    """One asset in the register's tree, with the age figures of the life-cycle service."""

    id: int
    code: str
    name: str
    level: AssetLevel
    status: AssetStatus
    criticality: Criticality
    age_years: float | None
    expected_life_years: float | None
    life_used_ratio: float | None
    #: False for an ancestor shown only because a descendant matches the filter.
    matches: bool = True
    children: list[TreeNode] = field(default_factory=list)


@dataclass(slots=True)
class SiteTree:
    code: str | None
    name: str
    roots: list[TreeNode]
    count: int


def _figures_by_code(
    session: Session, assets: list[Asset], now: datetime, visible: Visibility
) -> dict[str, asset_figures.AssetFigures]:
    """Every asset's figures: ranked equipment in one batch (the replacement plan computes them
    all at once), the rest one by one when they have a date to age from."""
    figures = {
        candidate.code: candidate.figures
        for candidate in asset_figures.replacement_plan(
            session, now=now, limit=len(assets) + 1, visible=visible
        )
    }
    for asset in assets:
        if asset.code not in figures and (asset.commissioned_on or asset.installed_on):
            figures[asset.code] = asset_figures.asset_figures(
                session, asset_id=asset.id, now=now, visible=visible
            )
    return figures


def asset_register(
    session: Session,
    *,
    now: datetime,
    statuses: frozenset[AssetStatus] = frozenset(),
    criticalities: frozenset[Criticality] = frozenset(),
    visible: Visibility = None,
) -> list[SiteTree]:
    """The site → building → floor → zone → equipment tree per site, filtered.

    With a filter, an asset that does not match is still shown (``matches=False``) when one of
    its descendants does, so every match keeps its place in the tree.
    """
    assets = {a.code: a for a in session.scalars(sa.select(Asset).order_by(Asset.code))}
    sites = {s.id: s for s in session.scalars(sa.select(Site))}
    figures = _figures_by_code(session, list(assets.values()), now, visible)

    def build(node: dict[str, Any]) -> TreeNode | None:
        asset = assets[node["code"]]
        kept = [child for child in map(build, node["children"]) if child is not None]
        matches = (not statuses or asset.status in statuses) and (
            not criticalities or asset.criticality in criticalities
        )
        if not matches and not kept:
            return None
        fig = figures.get(asset.code)
        return TreeNode(
            id=asset.id,
            code=asset.code,
            name=asset.name,
            level=asset.level,
            status=asset.status,
            criticality=asset.criticality,
            age_years=fig.age_years if fig else None,
            expected_life_years=asset.expected_life_years,
            life_used_ratio=fig.life_used_ratio if fig else None,
            matches=matches,
            children=kept,
        )

    grouped: dict[int | None, list[TreeNode]] = {}
    for root in asset_lifecycle.asset_tree(session):
        built = build(root)
        if built is not None:
            grouped.setdefault(assets[root["code"]].site_id, []).append(built)

    def count(nodes: list[TreeNode]) -> int:
        return sum((1 if n.matches else 0) + count(n.children) for n in nodes)

    result = [
        SiteTree(sites[sid].code, sites[sid].name, roots, count(roots))
        for sid, roots in sorted(
            ((k, v) for k, v in grouped.items() if k is not None),
            key=lambda item: sites[item[0]].code,
        )
    ]
    if None in grouped:
        result.append(SiteTree(None, "", grouped[None], count(grouped[None])))
    return result


@dataclass(frozen=True, slots=True)
class AssetFacts:
    """The asset's own register fields (what was entered, not derived)."""

    code: str
    level: AssetLevel
    category: str
    manufacturer: str
    model: str
    serial_number: str
    installed_on: date | None
    commissioned_on: date | None
    warranty_end: date | None
    criticality: Criticality
    status: AssetStatus
    status_since: datetime | None


@dataclass(frozen=True, slots=True)
class LifecyclePanel:
    facts: AssetFacts
    figures: asset_figures.AssetFigures
    history: list[AssetStatusChange]
    documents: list[AssetDocument]
    orders: list[asset_figures.OrderCost]
    order_total: int


def lifecycle_panel(
    session: Session,
    *,
    asset_id: int,
    now: datetime,
    orders_limit: int = 50,
    visible: Visibility = None,
) -> LifecyclePanel | None:
    """The asset page's life-cycle panel; ``None`` when the asset does not exist. Figures,
    history and status-change reasons count only the orders ``visible`` lets the caller read
    (the API's asset routes apply the same scope)."""
    asset = session.get(Asset, asset_id)
    if asset is None:
        return None
    facts = AssetFacts(
        code=asset.code,
        level=asset.level,
        category=asset.category,
        manufacturer=asset.manufacturer,
        model=asset.model,
        serial_number=asset.serial_number,
        installed_on=asset.installed_on,
        commissioned_on=asset.commissioned_on,
        warranty_end=asset.warranty_end,
        criticality=asset.criticality,
        status=asset.status,
        status_since=asset.status_since,
    )
    orders, total = asset_figures.maintenance_history(
        session, asset_id=asset_id, now=now, limit=orders_limit, visible=visible
    )
    return LifecyclePanel(
        facts=facts,
        figures=asset_figures.asset_figures(session, asset_id=asset_id, now=now, visible=visible),
        history=asset_figures.status_changes_seen(session, asset_id=asset_id, visible=visible),
        documents=asset_documents.list_documents(session, asset_id=asset_id),
        orders=orders,
        order_total=total,
    )


@dataclass(frozen=True, slots=True)
class DocumentFile:
    path: Path
    content_type: str
    filename: str


def document_file(
    session: Session, *, root: Path, asset_id: int, document_id: int
) -> DocumentFile | None:
    """A document of this asset and where its bytes are, found as the API's download finds it;
    ``None`` when the asset has no such document or its stored name is unsafe."""
    document = session.get(AssetDocument, document_id)
    if document is None or document.asset_id != asset_id:
        return None
    try:
        path = asset_documents.document_path(root, document)
    except asset_documents.DocumentRejected:
        return None
    return DocumentFile(path, document.content_type, document.filename)


@dataclass(frozen=True, slots=True)
class ReplacementRow:
    asset_id: int | None
    candidate: asset_figures.ReplacementCandidate


def replacement_view(
    session: Session, *, now: datetime, limit: int, visible: Visibility = None
) -> list[ReplacementRow]:
    """The ranked replacement plan, each line with the asset's id for its link."""
    plan = asset_figures.replacement_plan(session, now=now, limit=limit, visible=visible)
    ids: dict[str, int] = {
        code: asset_id
        for code, asset_id in session.execute(
            sa.select(Asset.code, Asset.id).where(Asset.code.in_([c.code for c in plan] or [""]))
        )
    }
    return [ReplacementRow(ids.get(c.code), c) for c in plan]


# -- preventive maintenance -----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PmView:
    forecast: list[pm.ForecastItem]
    plans: list[PmPlan]
    plan_total: int
    compliance: pm.Compliance
    month: str
    month_start: datetime
    month_end: datetime


def generated_orders(session: Session, *, ids: list[int]) -> list[tuple[int, str]]:
    """The work orders a scheduler pass reported making (id, title), for the PM page's notice;
    ids that name no order are left out."""
    if not ids:
        return []
    rows = session.execute(
        sa.select(WorkOrder.id, WorkOrder.title).where(WorkOrder.id.in_(ids)).order_by(WorkOrder.id)
    )
    return [(int(r[0]), str(r[1])) for r in rows]


def pm_view(session: Session, *, now: datetime, weeks: int, readings: ReadingStore) -> PmView:
    """Forecast for ``weeks``, the plans, and compliance over this calendar month (UTC)."""
    month = f"{now.astimezone(UTC):%Y-%m}"
    start, end = review.month_bounds(month, ZoneInfo("UTC"))
    plans, total = pm.list_plans(session, limit=MAX_ROWS)
    return PmView(
        forecast=pm.forecast(session, now=now, weeks=weeks, readings=readings),
        plans=plans,
        plan_total=total,
        compliance=pm.compliance(session, start=start, end=end, now=now),
        month=month,
        month_start=start,
        month_end=end,
    )


# -- stock ----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class StockView:
    low: list[inventory.LowStock]
    reorder: list[inventory.ReorderGroup]
    valuation: inventory.Valuation
    dead: list[inventory.DeadStock]
    dead_days: int
    #: What the receipt and adjustment forms offer: (sku, name, unit) and (code, name).
    items: list[tuple[str, str, str]]
    storerooms: list[tuple[str, str]]


#: How many items and storerooms the stock forms list at most (the API's page size).
MAX_CHOICES = 500


def stock_view(session: Session, *, now: datetime, dead_days: int) -> StockView:
    items, _total = inventory.list_items(session, limit=MAX_CHOICES, offset=0)
    rooms = session.execute(
        sa.select(Storeroom.code, Storeroom.name).order_by(Storeroom.code).limit(MAX_CHOICES)
    )
    return StockView(
        low=inventory.low_stock(session),
        reorder=inventory.reorder_suggestions(session),
        valuation=inventory.valuation(session),
        dead=inventory.dead_stock(session, days=dead_days, now=now),
        dead_days=dead_days,
        items=[(i.sku, i.name, i.unit) for i in items],
        storerooms=[(str(r[0]), str(r[1])) for r in rooms],
    )


# -- suppliers ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SupplierRow:
    supplier: Supplier
    latest: SupplierScore | None


@dataclass(frozen=True, slots=True)
class SuppliersView:
    rows: list[SupplierRow]
    total: int
    certificates: list[directory.CertificateAlert]
    window_days: int


def suppliers_view(
    session: Session,
    *,
    now: datetime,
    status: QualificationStatus | None,
    limit: int,
    offset: int,
    window_days: int = 30,
) -> SuppliersView:
    """The directory page with each company's latest stored scorecard, and certificates that
    expire within ``window_days`` (already expired ones included: they need action most)."""
    companies, total = directory.list_suppliers(session, status=status, limit=limit, offset=offset)
    rows = []
    for company in companies:
        latest, _ = scores.list_scores(session, supplier_code=company.code, limit=1)
        rows.append(SupplierRow(company, latest[0][0] if latest else None))
    return SuppliersView(
        rows=rows,
        total=total,
        certificates=directory.expiring_certificates(session, within_days=window_days, now=now),
        window_days=window_days,
    )


# -- monthly review -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ReviewChoice:
    sites: list[tuple[str, str]]
    site: str | None
    month: str


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def review_choice(
    session: Session, *, site: str | None, month: str | None, now: datetime
) -> ReviewChoice:
    """The sites to choose from, the chosen (else first) site, and the chosen month, by
    default the last full month in that site's calendar.

    Raises:
        review.ReviewError: the month is not ``YYYY-MM``.
        LookupError: the site does not exist.
    """
    rows = session.execute(sa.select(Site.code, Site.name, Site.timezone).order_by(Site.code)).all()
    sites = [(str(r[0]), str(r[1])) for r in rows]
    zones = {str(r[0]): str(r[2]) for r in rows}
    if site is not None and site not in zones:
        raise LookupError(site)
    chosen = site if site is not None else (sites[0][0] if sites else None)
    if month is None:
        zone = _zone(zones.get(chosen or "", "UTC"))
        month = review.previous_month(f"{now.astimezone(zone):%Y-%m}")
    else:
        review.parse_month(month)
    return ReviewChoice(sites, chosen, month)
