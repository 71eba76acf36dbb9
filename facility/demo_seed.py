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
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from maintenance.models import Asset, AssetLevel, ChecklistTemplate, Criticality, Site
from maintenance.models_partners import (
    Certificate,
    QualificationStatus,
    Supplier,
    SupplierKind,
)
from maintenance.models_service import (
    PmPlan,
    PmTriggerKind,
    StockBalance,
    StockCategory,
    StockItem,
    Storeroom,
    TimeUnit,
)
from maintenance.services import inventory, pm
from maintenance.services.assets import ensure_asset, ensure_site
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
class _Node:
    code: str
    name: str
    level: AssetLevel
    parent: str | None
    asset_type: str = "space"
    category: str = ""
    manufacturer: str = ""
    model: str = ""
    serial: str = ""
    installed_years_ago: float | None = None
    warranty_years: float | None = None
    life_years: float | None = None
    purchase: str | None = None
    replacement: str | None = None
    criticality: Criticality = Criticality.C


def _tree(scenario: Scenario) -> list[_Node]:
    """Building → floors → zones → equipment; the scenario's own assets hang where they stand."""
    by_code = {spec.asset: spec for spec in scenario.devices}
    nodes = [
        _Node("HQ-B1", "Head office", AssetLevel.BUILDING, None, criticality=Criticality.A),
        _Node("HQ-B1-B", "Basement", AssetLevel.FLOOR, "HQ-B1"),
        _Node("HQ-B1-F1", "Floor 1", AssetLevel.FLOOR, "HQ-B1"),
        _Node("HQ-B1-R", "Roof", AssetLevel.FLOOR, "HQ-B1"),
        _Node("HQ-B1-B-PLANT", "Basement plant room", AssetLevel.ZONE, "HQ-B1-B"),
        _Node("HQ-B1-F1-CORE", "Floor 1 core (lift lobby)", AssetLevel.ZONE, "HQ-B1-F1"),
        _Node("HQ-B1-R-PLANT", "Roof plant area", AssetLevel.ZONE, "HQ-B1-R"),
        _Node(
            "AHU-1",
            "Air-handling unit 1 (offices)",
            AssetLevel.EQUIPMENT,
            "HQ-B1-R-PLANT",
            asset_type=by_code["AHU-1"].asset_type if "AHU-1" in by_code else "air_handler",
            category="hvac",
            manufacturer="Trane",
            model="CLCP 12",
            serial="TR-CL12-0412877",
            installed_years_ago=6.5,
            warranty_years=5,
            life_years=20,
            purchase="48500.00",
            replacement="61200.00",
            criticality=Criticality.A,
        ),
        _Node(
            "CH-1",
            "Chiller 1 (air-cooled)",
            AssetLevel.EQUIPMENT,
            "HQ-B1-R-PLANT",
            asset_type="chiller",
            category="hvac",
            manufacturer="Carrier",
            model="AquaSnap 30RBP-160",
            serial="CA-30RBP-2219034",
            installed_years_ago=4.2,
            warranty_years=5,
            life_years=20,
            purchase="96000.00",
            replacement="118000.00",
            criticality=Criticality.A,
        ),
        _Node(
            "P-1",
            "Chilled-water pump 1 (duty)",
            AssetLevel.EQUIPMENT,
            "HQ-B1-B-PLANT",
            asset_type="pump",
            category="hvac",
            manufacturer="Grundfos",
            model="TPE 80-240/2",
            serial="GF-96123456-0001",
            installed_years_ago=4.2,
            warranty_years=2,
            life_years=15,
            purchase="7400.00",
            replacement="8900.00",
            criticality=Criticality.B,
        ),
        _Node(
            "P-2",
            "Chilled-water pump 2 (standby)",
            AssetLevel.EQUIPMENT,
            "HQ-B1-B-PLANT",
            asset_type="pump",
            category="hvac",
            manufacturer="Grundfos",
            model="TPE 80-240/2",
            serial="GF-96123456-0002",
            installed_years_ago=4.2,
            warranty_years=2,
            life_years=15,
            purchase="7400.00",
            replacement="8900.00",
            criticality=Criticality.C,
        ),
        _Node(
            "LIFT-1",
            "Passenger lift 1",
            AssetLevel.EQUIPMENT,
            "HQ-B1-F1-CORE",
            asset_type="lift",
            category="lifts",
            manufacturer="KONE",
            model="MonoSpace 500",
            serial="KN-MS5-77120",
            installed_years_ago=9,
            warranty_years=2,
            life_years=25,
            purchase="72000.00",
            replacement="85000.00",
            criticality=Criticality.A,
        ),
        _Node(
            "Main-Meter",
            "Main electricity meter",
            AssetLevel.EQUIPMENT,
            "HQ-B1-B-PLANT",
            asset_type=by_code["Main-Meter"].asset_type if "Main-Meter" in by_code else "meter",
            category="energy",
            manufacturer="Siemens",
            model="PAC3200",
            serial="SI-PAC32-5520931",
            installed_years_ago=3,
            warranty_years=3,
            life_years=15,
            purchase="950.00",
            replacement="1100.00",
            criticality=Criticality.B,
        ),
    ]
    for room in ("Room-101", "Room-102"):
        if room in by_code:
            nodes.append(
                _Node(room, room.replace("-", " "), AssetLevel.ZONE, "HQ-B1-F1", "room", "space")
            )
    return nodes


def _years_ago(today: date, years: float | None) -> date | None:
    return None if years is None else today - timedelta(days=round(years * 365.25))


def _seed_assets(session: Session, site: Site, scenario: Scenario, today: date) -> int:
    added = 0
    codes: dict[str, Asset] = {}
    for node in _tree(scenario):
        existing = session.scalar(sa.select(Asset).where(Asset.code == node.code))
        asset = existing or ensure_asset(
            session, code=node.code, name=node.name, asset_type=node.asset_type, site=site
        )
        added += existing is None
        # Fill the life-cycle fields only where nobody has yet: a restart keeps edits made in
        # the console, and the scenario's own assets (created bare) get their records.
        if asset.name == asset.code:
            asset.name = node.name
        if asset.site_id is None:
            asset.site_id = site.id
        parent = codes.get(node.parent) if node.parent else None
        if parent is not None and asset.parent_id is None:
            asset.parent_id = parent.id
        asset.level = node.level
        if node.manufacturer and not asset.manufacturer:
            installed = _years_ago(today, node.installed_years_ago)
            asset.category = node.category
            asset.manufacturer = node.manufacturer
            asset.model = node.model
            asset.serial_number = node.serial
            asset.installed_on = installed
            asset.commissioned_on = installed + timedelta(days=14) if installed else None
            if installed is not None and node.warranty_years is not None:
                asset.warranty_end = installed + timedelta(days=round(node.warranty_years * 365))
            asset.expected_life_years = node.life_years
            asset.purchase_cost = Decimal(node.purchase) if node.purchase else None
            asset.replacement_cost = Decimal(node.replacement) if node.replacement else None
            asset.criticality = node.criticality
        session.flush()
        codes[node.code] = asset
    return added


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
    room = session.scalar(sa.select(Storeroom).where(Storeroom.code == "MAIN"))
    if room is None:
        room = Storeroom(code="MAIN", name="Main plant store (basement)")
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


def _seed_suppliers(session: Session, today: date, now: datetime) -> int:
    rows = (
        ("FILTRA", "Filtra Luftfilter GmbH", SupplierKind.SUPPLIER, QualificationStatus.QUALIFIED,
         ["hvac", "filters"]),
        ("BELTS24", "Belts24 Antriebstechnik", SupplierKind.SUPPLIER,
         QualificationStatus.CANDIDATE, ["drives"]),
        ("COOLTECH", "CoolTech Kälteservice", SupplierKind.BOTH, QualificationStatus.QUALIFIED,
         ["hvac", "chillers"]),
        ("LIFTCARE", "LiftCare Aufzugsdienst", SupplierKind.CONTRACTOR,
         QualificationStatus.CANDIDATE, ["lifts"]),
    )  # fmt: skip
    added = 0
    for code, name, kind, status, categories in rows:
        if session.scalar(sa.select(Supplier.id).where(Supplier.code == code)) is not None:
            continue
        supplier = Supplier(
            code=code,
            name=name,
            kind=kind,
            status=status,
            categories=categories,
            contact_name="Service desk",
            email=f"service@{code.lower()}.example",
            created_at=now,
        )
        session.add(supplier)
        session.flush()
        added += 1
        if code == "COOLTECH":  # expires in three weeks: the certificate report flags it
            session.add(
                Certificate(
                    supplier_id=supplier.id,
                    name="F-gas company certificate (EU 2015/2067)",
                    number="FG-DE-2023-0815",
                    issued_on=today - timedelta(days=3 * 365 - 21),
                    expires_on=today + timedelta(days=21),
                    created_at=now,
                )
            )
        if code == "LIFTCARE":
            session.add(
                Certificate(
                    supplier_id=supplier.id,
                    name="ISO 9001:2015",
                    number="Q-44812",
                    issued_on=today - timedelta(days=400),
                    expires_on=today + timedelta(days=700),
                    created_at=now,
                )
            )
    session.flush()
    return added


def _template(session: Session, name: str, asset_type: str, labels: list[str]) -> int:
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


def _seed_plans(session: Session, site: Site, now: datetime) -> int:
    """Plans that are not due at start (the demo's first order stays the scripted fault)."""
    filters = _template(
        session,
        "AHU filter change",
        "air_handler",
        ["Unit isolated", "Filters replaced", "Pressure drop checked"],
    )
    first = (now + timedelta(days=10)).strftime("%Y-%m-%dT08:00")
    specs: list[dict[str, object]] = [
        {
            "name": "AHU-1 filter change (quarterly)",
            "trigger": PmTriggerKind.CALENDAR,
            "interval": 3,
            "unit": TimeUnit.MONTH,
            "anchor_local": first,
            "asset_codes": ["AHU-1"],
            "lead": 3,
            "estimated_labour_h": 1.5,
            "checklist_template_id": filters,
            "parts": [
                {"sku": "FLT-595-F7", "quantity": 4, "storeroom": "MAIN"},
                {"sku": "FLT-287-M5", "quantity": 2, "storeroom": "MAIN"},
            ],
        },
        {
            "name": "Chiller annual inspection",
            "trigger": PmTriggerKind.CALENDAR,
            "interval": 12,
            "unit": TimeUnit.MONTH,
            "anchor_local": (now + timedelta(days=45)).strftime("%Y-%m-%dT07:00"),
            "asset_codes": ["CH-1"],
            "lead": 14,
            "estimated_labour_h": 6,
        },
        {
            "name": "AHU-1 fan belts and bearings (2000 run hours)",
            "trigger": PmTriggerKind.RUNTIME,
            "interval": 2000,
            "lead": 100,
            "device": "ahu-1",
            "metric": "fan",
            "asset_codes": ["AHU-1"],
            "max_gap_s": 900,
            "estimated_labour_h": 2,
            "parts": [
                {"sku": "BELT-SPA-1250", "quantity": 2, "storeroom": "MAIN"},
                {"sku": "BRG-6205-2RS", "quantity": 2, "storeroom": "MAIN"},
            ],
        },
        {
            "name": "Main meter check (every 50 MWh)",
            "trigger": PmTriggerKind.METER,
            "interval": 50_000,
            "device": "meter-main",
            "metric": "energy",
            "asset_codes": ["Main-Meter"],
            "estimated_labour_h": 0.5,
        },
        {
            "name": "Lift weekly inspection",
            "trigger": PmTriggerKind.CRON,
            "cron": "0 7 * * 1",
            "asset_codes": ["LIFT-1"],
            "estimated_labour_h": 0.5,
        },
        {
            "name": "Chilled-water pumps monthly round",
            "trigger": PmTriggerKind.CRON,
            "cron": "30 9 1 * *",
            "asset_type": "pump",
            "estimated_labour_h": 1,
        },
    ]
    added = 0
    for spec in specs:
        name = str(spec["name"])
        if session.scalar(sa.select(PmPlan.id).where(PmPlan.name == name)) is not None:
            continue
        plan = pm.create_plan(
            session,
            actor=_ACTOR,
            site_code=site.code,
            starts_at=now,
            now=now,
            **spec,  # type: ignore[arg-type]
        )
        pm.approve_plan(session, plan_id=plan.id, actor="manager", now=now)
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
