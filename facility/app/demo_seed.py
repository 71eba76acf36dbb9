"""Demo data beyond what the simulator publishes: the asset tree with life-cycle records, PM
plans, a storeroom, suppliers and contractors, so every page of ``facility demo`` has something
to show.

Everything is keyed by a code or name and only added when missing, so running it twice (a
restart, or a demo directory kept by hand) changes nothing. The asset codes of the equipment
the office scenario simulates (``AHU-1``, ``Main-Meter``, ``Room-101``...) come from the
scenario, and the telemetry plans follow the devices and metrics it really publishes: the
air handler ``ahu-1`` reports its fan as the boolean ``fan`` metric and ``meter-main`` the
cumulative ``energy`` counter. No plan is due when the demo starts, so the first work order
is still the scripted fault's; the PM forecast shows what comes next.

Suppliers are written with the models directly (their services belong to another module).

The data sits in tables, one row per asset, item, supplier, certificate, checklist or plan
(``_SPACES``, ``_EQUIPMENT``, ``_ITEMS``, ``_SUPPLIERS``, ``_CERTIFICATES``, ``_TEMPLATES``,
``_PLANS``), with one loop per kind: adding one is adding a row.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import ClassVar

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from maintenance.assets.models import Asset, AssetLevel, Criticality
from maintenance.assets.register import ensure_asset, ensure_site
from maintenance.inventory import service as inventory
from maintenance.inventory.models import StockBalance, StockCategory, StockItem, Storeroom
from maintenance.pm import service as pm
from maintenance.pm.models import PmPlan, PmTriggerKind, TimeUnit
from maintenance.sites.models import Site
from maintenance.suppliers.models import Certificate, QualificationStatus, Supplier, SupplierKind
from maintenance.work_orders.models import ChecklistTemplate
from simulators.scenario import Scenario

__all__ = ["DemoSeed", "seed_demo_data"]

log = logging.getLogger(__name__)

_ACTOR = "demo-seed"


@dataclass(frozen=True, slots=True)
class DemoSeed:
    """What one run added (all zero on a second run)."""

    assets: int
    plans: int
    items: int
    suppliers: int


@dataclass(frozen=True, slots=True)
class _Space:
    """A building, floor or zone: where the equipment stands."""

    code: str
    name: str
    level: AssetLevel
    parent: str | None
    asset_type: str = "space"


@dataclass(frozen=True, slots=True)
class _Unit:
    """A piece of equipment and its life-cycle record (see ``_EQUIPMENT``)."""

    code: str
    name: str
    parent: str
    asset_type: str
    criticality: Criticality
    category: str
    manufacturer: str
    model: str
    serial: str
    installed_years_ago: float
    warranty_years: float
    life_years: float
    purchase: str
    replacement: str

    level: ClassVar[AssetLevel] = AssetLevel.EQUIPMENT


_SPACES: tuple[_Space, ...] = (
    _Space("HQ-B1", "Head office", AssetLevel.BUILDING, None),
    _Space("HQ-B1-B", "Basement", AssetLevel.FLOOR, "HQ-B1"),
    _Space("HQ-B1-F1", "Floor 1", AssetLevel.FLOOR, "HQ-B1"),
    _Space("HQ-B1-R", "Roof", AssetLevel.FLOOR, "HQ-B1"),
    _Space("HQ-B1-B-PLANT", "Basement plant room", AssetLevel.ZONE, "HQ-B1-B"),
    _Space("HQ-B1-F1-CORE", "Floor 1 core (lift lobby)", AssetLevel.ZONE, "HQ-B1-F1"),
    _Space("HQ-B1-R-PLANT", "Roof plant area", AssetLevel.ZONE, "HQ-B1-R"),
)

_UnitRow = tuple[str, str, str, str, Criticality, str, str, str, str, float, float, float, str, str]
_EQUIPMENT: tuple[_UnitRow, ...] = (
    # code, name, zone, asset type, criticality, category, manufacturer, model, serial number,
    # installed (years ago), warranty (years), expected life (years), purchase, replacement cost
    ("AHU-1", "Air-handling unit 1 (offices)", "HQ-B1-R-PLANT", "air_handler", Criticality.A,
     "hvac", "Trane", "CLCP 12", "TR-CL12-0412877", 6.5, 5, 20, "48500.00", "61200.00"),
    ("CH-1", "Chiller 1 (air-cooled)", "HQ-B1-R-PLANT", "chiller", Criticality.A, "hvac",
     "Carrier", "AquaSnap 30RBP-160", "CA-30RBP-2219034", 4.2, 5, 20, "96000.00", "118000.00"),
    ("P-1", "Chilled-water pump 1 (duty)", "HQ-B1-B-PLANT", "pump", Criticality.B, "hvac",
     "Grundfos", "TPE 80-240/2", "GF-96123456-0001", 4.2, 2, 15, "7400.00", "8900.00"),
    ("P-2", "Chilled-water pump 2 (standby)", "HQ-B1-B-PLANT", "pump", Criticality.C, "hvac",
     "Grundfos", "TPE 80-240/2", "GF-96123456-0002", 4.2, 2, 15, "7400.00", "8900.00"),
    ("LIFT-1", "Passenger lift 1", "HQ-B1-F1-CORE", "lift", Criticality.A, "lifts",
     "KONE", "MonoSpace 500", "KN-MS5-77120", 9, 2, 25, "72000.00", "85000.00"),
    ("Main-Meter", "Main electricity meter", "HQ-B1-B-PLANT", "meter", Criticality.B, "energy",
     "Siemens", "PAC3200", "SI-PAC32-5520931", 3, 3, 15, "950.00", "1100.00"),
)  # fmt: skip

#: Rooms the office scenario simulates: placed on floor 1 when the scenario has them.
_ROOMS = ("Room-101", "Room-102")


def _tree(scenario: Scenario) -> list[_Space | _Unit]:
    """Building → floors → zones → equipment → the scenario's rooms, parents before children.

    An asset the scenario simulates keeps the type the scenario gives it (``facility demo``
    has created it from the scenario already; this only matters when it has not).
    """
    types = {spec.asset: spec.asset_type for spec in scenario.devices}
    nodes: list[_Space | _Unit] = [*_SPACES, *(_Unit(*row) for row in _EQUIPMENT)]
    nodes += [
        _Space(code, code.replace("-", " "), AssetLevel.ZONE, "HQ-B1-F1", "room")
        for code in _ROOMS
        if code in types
    ]
    return [replace(node, asset_type=types.get(node.code, node.asset_type)) for node in nodes]


def _years_ago(today: date, years: float) -> date:
    return today - timedelta(days=round(years * 365.25))


def _write_record(asset: Asset, unit: _Unit, today: date) -> None:
    """The life-cycle fields, written only where nobody has yet (a restart keeps console edits)."""
    if asset.manufacturer:
        return
    installed = _years_ago(today, unit.installed_years_ago)
    asset.category = unit.category
    asset.manufacturer = unit.manufacturer
    asset.model = unit.model
    asset.serial_number = unit.serial
    asset.installed_on = installed
    asset.commissioned_on = installed + timedelta(days=14)
    asset.warranty_end = installed + timedelta(days=round(unit.warranty_years * 365))
    asset.expected_life_years = unit.life_years
    asset.purchase_cost = Decimal(unit.purchase)
    asset.replacement_cost = Decimal(unit.replacement)
    asset.criticality = unit.criticality


def _seed_assets(session: Session, site: Site, scenario: Scenario, today: date) -> int:
    added = 0
    codes: dict[str, Asset] = {}
    for node in _tree(scenario):
        existing = session.scalar(sa.select(Asset).where(Asset.code == node.code))
        asset = existing or ensure_asset(
            session, code=node.code, name=node.name, asset_type=node.asset_type, site=site
        )
        added += existing is None
        # Fill in only what nobody has yet: a restart keeps edits made in the console, and the
        # scenario's own assets (created bare) get their names, places and records.
        if asset.name == asset.code:
            asset.name = node.name
        if asset.site_id is None:
            asset.site_id = site.id
        parent = codes.get(node.parent) if node.parent else None
        if parent is not None and asset.parent_id is None:
            asset.parent_id = parent.id
        asset.level = node.level
        if isinstance(node, _Unit):
            _write_record(asset, node, today)
        session.flush()
        codes[node.code] = asset
    return added


#: The demo's one storeroom: code and name.
_STORE = ("MAIN", "Main plant store (basement)")

_ITEMS: tuple[tuple[str, str, StockCategory, str, str, int, int, int, str | None, int], ...] = (
    # sku, name, category, unit, unit cost, reorder point, reorder qty, max, supplier, on hand
    ("FLT-595-F7", "Bag filter F7 592x592", StockCategory.SPARE_PART, "pcs", "42.50", 8, 12, 24,
     "FILTRA", 5),
    ("FLT-287-M5", "Panel filter M5 287x592", StockCategory.SPARE_PART, "pcs", "18.90", 6, 10, 0,
     "FILTRA", 14),
    ("BELT-SPA-1250", "V-belt SPA 1250", StockCategory.SPARE_PART, "pcs", "16.40", 4, 4, 8,
     "BELTS24", 2),
    ("BRG-6205-2RS", "Ball bearing 6205-2RS", StockCategory.SPARE_PART, "pcs", "9.80", 4, 6, 0,
     None, 9),
    ("SEAL-TPE80", "Mechanical seal kit TPE 80", StockCategory.SPARE_PART, "kit", "185.00", 1, 1,
     2, None, 1),
    ("GREASE-LGHP2", "Bearing grease LGHP 2 (420 ml)", StockCategory.CONSUMABLE, "tube", "14.20",
     3, 6, 0, None, 7),
    ("PAPER-A4", "Printer paper A4 (box of 5 reams)", StockCategory.OFFICE_SUPPLY, "box", "21.00",
     2, 5, 0, None, 4),
)  # fmt: skip


def _seed_stock(session: Session, now: datetime) -> int:
    store_code, store_name = _STORE
    room = session.scalar(sa.select(Storeroom).where(Storeroom.code == store_code))
    if room is None:
        room = Storeroom(code=store_code, name=store_name)
        session.add(room)
        session.flush()
    suppliers = {s.code: s.id for s in session.scalars(sa.select(Supplier))}
    added = 0
    for sku, name, category, unit, cost, point, qty, ceiling, supplier, on_hand in _ITEMS:
        item = session.scalar(sa.select(StockItem).where(StockItem.sku == sku))
        if item is None:
            item = StockItem(
                sku=sku,
                name=name,
                category=category,
                unit=unit,
                unit_cost=Decimal(cost),
                reorder_point=Decimal(point),
                reorder_qty=Decimal(qty),
                max_stock=Decimal(ceiling),
                preferred_supplier_id=suppliers.get(supplier) if supplier else None,
                created_at=now,
            )
            session.add(item)
            added += 1
        session.flush()
        stocked = session.scalar(
            sa.select(StockBalance.item_id).where(
                StockBalance.item_id == item.id, StockBalance.storeroom_id == room.id
            )
        )
        if stocked is None:  # the opening stock, once: a restart must not receive it again
            session.commit()
            inventory.receive(
                session,
                sku=sku,
                storeroom=room.code,
                quantity=Decimal(on_hand),
                actor=_ACTOR,
                reason="opening stock (demo)",
                now=now - timedelta(days=40),
            )
    return added


_SUPPLIERS: tuple[tuple[str, str, SupplierKind, QualificationStatus, tuple[str, ...]], ...] = (
    # code, name, kind, qualification, categories
    ("FILTRA", "Filtra Luftfilter GmbH", SupplierKind.SUPPLIER, QualificationStatus.QUALIFIED,
     ("hvac", "filters")),
    ("BELTS24", "Belts24 Antriebstechnik", SupplierKind.SUPPLIER, QualificationStatus.CANDIDATE,
     ("drives",)),
    ("COOLTECH", "CoolTech Kälteservice", SupplierKind.BOTH, QualificationStatus.QUALIFIED,
     ("hvac", "chillers")),
    ("LIFTCARE", "LiftCare Aufzugsdienst", SupplierKind.CONTRACTOR, QualificationStatus.CANDIDATE,
     ("lifts",)),
)  # fmt: skip

_CERTIFICATES: tuple[tuple[str, str, str, int, int], ...] = (
    # supplier, certificate, number, issued (days ago), expires (in days); COOLTECH's expires in
    # three weeks, so the certificate report flags it
    ("COOLTECH", "F-gas company certificate (EU 2015/2067)", "FG-DE-2023-0815", 3 * 365 - 21, 21),
    ("LIFTCARE", "ISO 9001:2015", "Q-44812", 400, 700),
)


def _seed_suppliers(session: Session, today: date, now: datetime) -> int:
    added = 0
    for code, name, kind, status, categories in _SUPPLIERS:
        if session.scalar(sa.select(Supplier.id).where(Supplier.code == code)) is not None:
            continue
        supplier = Supplier(
            code=code,
            name=name,
            kind=kind,
            status=status,
            categories=list(categories),
            contact_name="Service desk",
            email=f"service@{code.lower()}.example",
            created_at=now,
        )
        session.add(supplier)
        session.flush()
        added += 1
        for holder, title, number, issued_ago, expires_in in _CERTIFICATES:
            if holder == code:
                session.add(
                    Certificate(
                        supplier_id=supplier.id,
                        name=title,
                        number=number,
                        issued_on=today - timedelta(days=issued_ago),
                        expires_on=today + timedelta(days=expires_in),
                        created_at=now,
                    )
                )
    session.flush()
    return added


#: Preventive checklists: name, asset type, the items (each a required check).
_TEMPLATES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("AHU filter change", "air_handler",
     ("Unit isolated", "Filters replaced", "Pressure drop checked")),
)  # fmt: skip


def _template(session: Session, name: str, asset_type: str, labels: tuple[str, ...]) -> int:
    found = session.scalar(sa.select(ChecklistTemplate.id).where(ChecklistTemplate.name == name))
    if found is not None:
        return found
    template = ChecklistTemplate(
        name=name,
        order_type="preventive",
        asset_type=asset_type,
        items=[{"label": label, "kind": "check", "required": True} for label in labels],
    )
    session.add(template)
    session.flush()
    return template.id


@dataclass(frozen=True, slots=True)
class _Plan:
    """One demo PM plan; the defaults are ``pm.create_plan``'s."""

    name: str
    trigger: PmTriggerKind
    labour_h: float
    assets: tuple[str, ...] = ()
    asset_type: str | None = None
    interval: float = 1.0
    unit: TimeUnit | None = None
    #: Calendar plans: the first due date as days from the seed's ``now`` and a local time.
    first: tuple[int, str] | None = None
    lead: float = 0.0
    device: str | None = None
    metric: str | None = None
    max_gap_s: float = 900.0
    cron: str | None = None
    checklist: str | None = None  # a name from _TEMPLATES
    parts: tuple[tuple[str, int], ...] = ()  # (sku, quantity), reserved in the main store


#: None is due when the demo starts: its first work order stays the scripted fault's.
_PLANS: tuple[_Plan, ...] = (
    _Plan("AHU-1 filter change (quarterly)", PmTriggerKind.CALENDAR, 1.5, ("AHU-1",), interval=3,
          unit=TimeUnit.MONTH, first=(10, "08:00"), lead=3, checklist="AHU filter change",
          parts=(("FLT-595-F7", 4), ("FLT-287-M5", 2))),
    _Plan("Chiller annual inspection", PmTriggerKind.CALENDAR, 6, ("CH-1",), interval=12,
          unit=TimeUnit.MONTH, first=(45, "07:00"), lead=14),
    _Plan("AHU-1 fan belts and bearings (2000 run hours)", PmTriggerKind.RUNTIME, 2, ("AHU-1",),
          interval=2000, lead=100, device="ahu-1", metric="fan", max_gap_s=900,
          parts=(("BELT-SPA-1250", 2), ("BRG-6205-2RS", 2))),
    _Plan("Main meter check (every 50 MWh)", PmTriggerKind.METER, 0.5, ("Main-Meter",),
          interval=50_000, device="meter-main", metric="energy"),
    _Plan("Lift weekly inspection", PmTriggerKind.CRON, 0.5, ("LIFT-1",), cron="0 7 * * 1"),
    _Plan("Chilled-water pumps monthly round", PmTriggerKind.CRON, 1, asset_type="pump",
          cron="30 9 1 * *"),
)  # fmt: skip


def _seed_plans(session: Session, site: Site, now: datetime) -> int:
    """Create and approve the plans that are missing (by name)."""
    templates = {name: _template(session, name, kind, labels) for name, kind, labels in _TEMPLATES}
    added = 0
    for plan in _PLANS:
        if session.scalar(sa.select(PmPlan.id).where(PmPlan.name == plan.name)) is not None:
            continue
        anchor = None
        if plan.first is not None:
            days, at = plan.first
            anchor = f"{now + timedelta(days=days):%Y-%m-%d}T{at}"
        created = pm.create_plan(
            session,
            name=plan.name,
            trigger=plan.trigger,
            actor=_ACTOR,
            interval=plan.interval,
            asset_codes=plan.assets,
            asset_type=plan.asset_type,
            site_code=site.code,
            checklist_template_id=templates[plan.checklist] if plan.checklist else None,
            estimated_labour_h=plan.labour_h,
            unit=plan.unit,
            anchor_local=anchor,
            device=plan.device,
            metric=plan.metric,
            max_gap_s=plan.max_gap_s,
            lead=plan.lead,
            starts_at=now,
            cron=plan.cron,
            parts=[{"sku": sku, "quantity": n, "storeroom": _STORE[0]} for sku, n in plan.parts],
            now=now,
        )
        pm.approve_plan(session, plan_id=created.id, actor="manager", now=now)
        added += 1
    return added


def seed_demo_data(
    sessions: sessionmaker[Session], *, scenario: Scenario, now: datetime | None = None
) -> DemoSeed:
    """Add what is missing of the demo's assets, stock, suppliers and PM plans."""
    now = now or datetime.now(UTC)
    today = now.date()
    with sessions() as session:
        site = ensure_site(session, code=scenario.site, name=f"Demo site {scenario.site}")
        assets = _seed_assets(session, site, scenario, today)
        suppliers = _seed_suppliers(session, today, now)
        session.commit()
        items = _seed_stock(session, now)
        session.commit()
        plans = _seed_plans(session, site, now)
        session.commit()
    result = DemoSeed(assets, plans, items, suppliers)
    log.info("demo seed: %s", result)
    return result
