"""Diagnosed fault-detection orders: one corrective work order per asset for all its FDD faults.

A G36 air handler with a stuck outdoor-air damper trips FC10, then FC11, then FC7 as the weather
changes; a technician needs *one* ticket that says what is probably wrong, not three. So every
alert of a rule the diagnosis catalogue (:mod:`rules.diagnoses`) knows folds into the asset's
one open *FDD order*. This module holds the pieces :func:`maintenance.work_orders.service.
apply_alert` assembles: finding that order, the proof an alert brings (the points and values
behind it), the plain-words title, the deduplicated SOP checklist, and the ``feeds`` look-up
that suppresses a downstream symptom while the upstream asset's order is open.

**One per asset, enforced by the database.** The order carries the internal idempotency key
``#fdd/asset/<asset id>`` while it is open (the key column is unique; no user key can start
with ``#``), so two gateway workers racing to open an asset's first FDD order end with one
order and one folded fault, as the per-(rule, asset) index does for other rules. The key is
released when the order closes or is cancelled, so the next fault opens a new order. Nothing
here needs a new column: the faults, their proof and the suppressions are order events (JSON
``data``), read back by the console.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from facility.core.types import Alert
from maintenance.assets.models import Asset, AssetFeed, AssetStatusChange
from maintenance.work_orders.models import OPEN_STATES, ChecklistItem, WorkOrder
from rules.diagnoses import Diagnosis, DiagnosisCatalogue

__all__ = [
    "FAULT_EVENTS",
    "FDD_KEY_PREFIX",
    "STEP_TEMPLATE_PREFIX",
    "add_checklist",
    "describe",
    "fault_rules",
    "faults_of",
    "fdd_key",
    "holder_of_key",
    "holds_key",
    "open_fdd_order",
    "pending_suppressions",
    "proof",
    "record_on_history",
    "title_for",
    "upstream_orders",
]

FDD_KEY_PREFIX = "#fdd/asset/"
#: Event kinds whose ``data["fdd"]`` names a fault condition that fired on the order.
FAULT_EVENTS = ("created", "fdd_fault", "refired", "fault_returned")
#: The checklist template name of an FDD step; the console maps it back to the catalogue.
STEP_TEMPLATE_PREFIX = "fdd:"
_MAX_TITLE = 200


def fdd_key(asset_id: int) -> str:
    """The idempotency key an asset's open FDD order holds."""
    return f"{FDD_KEY_PREFIX}{asset_id}"


def holds_key(order: WorkOrder) -> bool:
    """True while ``order`` is its asset's open FDD order (it holds the asset's key)."""
    return bool(order.idempotency_key and order.idempotency_key.startswith(FDD_KEY_PREFIX))


def open_fdd_order(session: Session, *, asset_id: int, lock: bool = False) -> WorkOrder | None:
    """The asset's open FDD order, if any (``lock``: ``SELECT ... FOR UPDATE``)."""
    query = sa.select(WorkOrder).where(
        WorkOrder.idempotency_key == fdd_key(asset_id), WorkOrder.status.in_(OPEN_STATES)
    )
    if lock:
        query = query.with_for_update()
    return session.scalar(query)


def holder_of_key(session: Session, *, asset_id: int) -> WorkOrder | None:
    """Whichever order holds the asset's key, open or not (a closed holder is released)."""
    return session.scalar(
        sa.select(WorkOrder).where(WorkOrder.idempotency_key == fdd_key(asset_id))
    )


def proof(alert: Alert, diagnosis: Diagnosis, evidence: Mapping[str, Any] | None) -> dict[str, Any]:
    """What one fault condition's alert proves: the rule, its value and message, and the latest
    value of each point the diagnosis names, from the readings attached as evidence.

    A point without a reading in the evidence is listed with ``value: None``, so the
    technician sees which sensor the detection could not show them."""
    latest: dict[str, dict[str, Any]] = {}
    readings = (evidence or {}).get("readings_before") or []
    for reading in readings if isinstance(readings, list) else []:
        if isinstance(reading, dict) and reading.get("metric") in diagnosis.points:
            latest[str(reading["metric"])] = reading  # readings come oldest first
    points = [
        {
            "point": point,
            "value": latest[point].get("value") if point in latest else None,
            "unit": latest[point].get("unit", "") if point in latest else "",
            "ts": latest[point].get("ts") if point in latest else None,
        }
        for point in diagnosis.points
    ]
    value = alert.value
    return {
        "rule": alert.rule,
        "fc": diagnosis.fc,
        "device": alert.device,
        "value": value if isinstance(value, int | float) and math.isfinite(value) else None,
        "message": alert.message[:1000],
        "alert_ts": alert.ts.isoformat(),
        "points": points,
    }


def faults_of(order: WorkOrder) -> list[dict[str, Any]]:
    """The fault conditions on ``order``, first firing first: one entry per rule with its
    latest proof (each point's newest known value), how often it fired and whether its alert
    has cleared since."""
    entries: dict[str, dict[str, Any]] = {}
    for event in order.events:
        fdd = (event.data or {}).get("fdd")
        if not isinstance(fdd, dict) or "rule" not in fdd:
            continue
        rule = str(fdd["rule"])
        if event.kind in FAULT_EVENTS:
            entry = entries.setdefault(rule, {"fired": 0, "first_ts": event.ts})
            known = {p.get("point"): p for p in entry.get("points", []) if isinstance(p, dict)}
            entry.update(fdd)
            # a later firing without readings keeps the values an earlier one proved
            entry["points"] = [
                p
                if not isinstance(p, dict) or p.get("value") is not None
                else known.get(p.get("point"), p)
                for p in fdd.get("points") or []
            ]
            entry["fired"] += 1
            entry["active"] = True
            entry["last_ts"] = event.ts
        elif event.kind == "alert_resolved" and rule in entries:
            entries[rule]["active"] = False
            entries[rule]["cleared_ts"] = event.ts
    return list(entries.values())


def fault_rules(order: WorkOrder) -> list[str]:
    return [str(entry["rule"]) for entry in faults_of(order)]


def title_for(asset_code: str, rules: Sequence[str], catalogue: DiagnosisCatalogue) -> str:
    """``AHU-1: the mixed-air temperature reads too low (FC2); ... (FC10)``, at most 200 chars.

    Plain words first, the FC in brackets for the controls engineer; when the list does not fit
    the rest is summarised as "and N more"."""
    parts = []
    for rule in rules:
        entry = catalogue.for_rule(rule)
        parts.append(f"{entry.title.en} ({entry.fc})" if entry else rule)
    title = f"{asset_code}: " + "; ".join(parts)
    shown = len(parts)
    while len(title) > _MAX_TITLE and shown > 1:
        shown -= 1
        title = f"{asset_code}: " + "; ".join(parts[:shown]) + f"; and {len(parts) - shown} more"
    return title[:_MAX_TITLE]


def describe(
    asset_code: str, faults: Iterable[Mapping[str, Any]], catalogue: DiagnosisCatalogue
) -> str:
    """The order's English description: per fault its diagnosis and likely causes (the console
    shows the same from the catalogue in the reader's language, with the evidence table)."""
    blocks = []
    for fault in faults:
        entry = catalogue.for_rule(str(fault["rule"]))
        if entry is None:
            continue
        causes = "\n".join(f"  {n}. {c.en}" for n, c in enumerate(entry.causes, 1))
        blocks.append(
            f"{entry.fc} ({fault['rule']}): {entry.diagnosis.en}\n"
            f"  Detected: {fault.get('message') or '-'}\n"
            f"  Likely causes, most likely first:\n{causes}"
        )
    return f"Fault detection on {asset_code}.\n\n" + "\n\n".join(blocks)


def add_checklist(order: WorkOrder, rules: Sequence[str], catalogue: DiagnosisCatalogue) -> int:
    """Append the SOP steps of ``rules``' diagnoses the order does not have yet; the count.

    Steps are deduplicated by catalogue key (the template name ``fdd:<key>``), so FC2 and FC3
    ask for the mixed-air sensor check once; a step already recorded is never repeated."""
    have = {item.template for item in order.checklist}
    position = max((item.position for item in order.checklist), default=-1) + 1
    added = 0
    for key, step in catalogue.steps(list(rules)):
        template = STEP_TEMPLATE_PREFIX + key
        if template in have:
            continue
        order.checklist.append(
            ChecklistItem(
                position=position,
                template=template,
                label=step.label.en,
                kind=step.kind,
                required=True,
            )
        )
        have.add(template)
        position += 1
        added += 1
    return added


def upstream_orders(session: Session, *, asset_id: int) -> list[WorkOrder]:
    """Open FDD orders of the assets that feed ``asset_id`` (``AssetFeed``), oldest first."""
    upstream = sa.select(AssetFeed.upstream_id).where(AssetFeed.downstream_id == asset_id)
    keys = [fdd_key(int(uid)) for uid in session.scalars(upstream)]
    if not keys:
        return []
    return list(
        session.scalars(
            sa.select(WorkOrder)
            .where(WorkOrder.idempotency_key.in_(keys), WorkOrder.status.in_(OPEN_STATES))
            .order_by(WorkOrder.id)
        )
    )


def pending_suppressions(order: WorkOrder) -> list[dict[str, Any]]:
    """The data of the downstream alerts suppressed on ``order`` that have not cleared since
    (the latest of each asset and rule); ``data["alert"]`` is the alert itself."""
    pending: dict[tuple[str, str], dict[str, Any]] = {}
    for event in order.events:
        data = event.data or {}
        alert = data.get("alert")
        if not isinstance(alert, dict):
            continue
        key = (str(alert.get("asset")), str(alert.get("rule")))
        if event.kind == "fdd_suppressed":
            pending[key] = data
        elif event.kind in ("fdd_suppression_cleared", "fdd_suppression_lifted"):
            pending.pop(key, None)
    return list(pending.values())


def record_on_history(
    session: Session, *, asset: Asset, reason: str, order_id: int, now: datetime
) -> AssetStatusChange:
    """Note a suppressed symptom in the downstream asset's history without changing its status.

    The history is the asset's status log; a suppression is an entry whose status stays what it
    was (``from`` = ``to``), pointing at the upstream order that explains it, so whoever reads the
    VAV box's history sees why no order was opened for it."""
    change = AssetStatusChange(
        asset_id=asset.id,
        ts=now,
        from_status=asset.status,
        to_status=asset.status,
        actor="rules",
        reason=reason[:500],
        work_order_id=order_id,
    )
    session.add(change)
    return change
