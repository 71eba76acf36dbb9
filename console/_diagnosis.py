"""What an FDD work order's page shows: each fault condition's diagnosis, causes and evidence.

The order stores language-neutral facts (which rule fired, the point values that proved it) in
its events; the words come from the diagnosis catalogue (:mod:`rules.diagnoses`) in the
reader's language when the page is drawn, so a technician reading Chinese and a manager reading
English see the same diagnosis, and a corrected translation reaches existing orders too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from maintenance.work_orders import fdd
from maintenance.work_orders.models import WorkOrder
from rules.diagnoses import DiagnosisCatalogue, default_catalogue

__all__ = ["DiagnosisView", "FaultView", "PointView", "SuppressedView", "diagnosis_view"]


@dataclass(frozen=True, slots=True)
class PointView:
    name: str
    point: str
    value: float | None
    unit: str
    ts: datetime | None


@dataclass(frozen=True, slots=True)
class FaultView:
    rule: str
    fc: str
    title: str
    diagnosis: str
    causes: list[str]
    points: list[PointView]
    message: str
    fired: int
    active: bool


@dataclass(frozen=True, slots=True)
class SuppressedView:
    asset: str
    fc: str
    rule: str
    ts: datetime


@dataclass(frozen=True, slots=True)
class DiagnosisView:
    faults: list[FaultView]
    suppressed: list[SuppressedView]
    #: checklist item id -> its label in the reader's language (FDD steps only)
    step_labels: dict[int, str]


def _when(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def diagnosis_view(
    order: WorkOrder, language: str, catalogue: DiagnosisCatalogue | None = None
) -> DiagnosisView | None:
    """The diagnosis section of ``order`` in ``language``; None for an order without one."""
    catalogue = catalogue or default_catalogue()
    faults = []
    for entry in fdd.faults_of(order):
        rule = str(entry.get("rule", ""))
        known = catalogue.for_rule(rule)
        if known is None:  # the catalogue lost the rule since: show the facts without words
            continue
        points = []
        for raw in entry.get("points") or []:
            if not isinstance(raw, dict):
                continue
            point = str(raw.get("point", ""))
            name = catalogue.point_names.get(point)
            points.append(
                PointView(
                    name=name.get(language) if name else point,
                    point=point,
                    value=_number(raw.get("value")),
                    unit=str(raw.get("unit") or ""),
                    ts=_when(raw.get("ts")),
                )
            )
        faults.append(
            FaultView(
                rule=rule,
                fc=known.fc,
                title=known.title.get(language),
                diagnosis=known.diagnosis.get(language),
                causes=[cause.get(language) for cause in known.causes],
                points=points,
                message=str(entry.get("message") or ""),
                fired=int(entry.get("fired", 1)),
                active=bool(entry.get("active")),
            )
        )
    suppressed = []
    for event in order.events:
        alert = (event.data or {}).get("alert")
        if event.kind != "fdd_suppressed" or not isinstance(alert, dict):
            continue
        known = catalogue.for_rule(str(alert.get("rule", "")))
        suppressed.append(
            SuppressedView(
                asset=str(alert.get("asset", "")),
                fc=known.fc if known else str(alert.get("rule", "")),
                rule=str(alert.get("rule", "")),
                ts=event.ts,
            )
        )
    if not faults and not suppressed:
        return None
    labels = {}
    for item in order.checklist:
        if item.template.startswith(fdd.STEP_TEMPLATE_PREFIX):
            step = catalogue.checklist_items.get(item.template[len(fdd.STEP_TEMPLATE_PREFIX) :])
            if step is not None:
                labels[item.id] = step.label.get(language)
    return DiagnosisView(faults=faults, suppressed=suppressed, step_labels=labels)
