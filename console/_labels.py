"""What every page shows the same way: the words for statuses, priorities, actions and events,
readings as people read them, and the values every template receives.

The labels are catalogue ids (marked with ``N_`` so ``pybabel extract`` finds them); templates
translate them with ``label_of``. A few tuples exist only to be extracted: words that reach the
page as data (role names, metric names) and are translated through the catalogue by
:meth:`~console._i18n.Localizer.label`.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from console import _data as data
from console import _service_data as sdata
from console._i18n import N_, NC_, Localizer
from console._render import context_of, localizer_of, render
from console._session import ConsoleUser
from console._sla_clock import ClockKind, sla_clock
from maintenance.shared.vocabulary import Priority
from maintenance.work_orders.models import WorkOrderSource, WorkOrderStatus

__all__ = [
    "ACTION_LABELS",
    "BOOLEAN_WORDS",
    "CHART_MIN_SPAN",
    "CHECKLIST_KINDS",
    "CLOCK_LABELS",
    "EVENT_LABELS",
    "NOTICES",
    "OUTCOME_LABELS",
    "PRIORITY_LABELS",
    "SOURCE_LABELS",
    "STATUS_LABELS",
    "boolean_levels",
    "common",
    "display_unit",
    "format_value",
    "is_boolean",
    "page",
    "readable_unit",
]

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
    "cancel": N_("Cancel work order"),
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
    "fdd_fault": N_("another fault found"),
    "fdd_suppressed": N_("downstream symptom suppressed"),
    "fdd_suppression_cleared": N_("suppressed symptom cleared"),
    "fdd_suppression_lifted": N_("suppression lifted"),
    "storm_folded": N_("alarm folded into the storm incident"),
}
SOURCE_LABELS = {
    WorkOrderSource.RULE: N_("Detected automatically"),
    WorkOrderSource.API: N_("Created through the API"),
    WorkOrderSource.REQUEST: N_("Reported by a person"),
}
NOTICES = {
    "reported": N_("Thank you: your report was received and is now a work order."),
    "moved": N_("The work order was updated."),
    "rated": N_("Thank you for rating the work."),
    "recorded": N_("The checklist item was recorded."),
    "cancelled": N_("The work order was cancelled."),
}
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
    # the canonical AHU points (rules/points.py) as BMS screens in China name them
    N_("supply_air_temperature"),
    N_("supply_air_temperature_setpoint"),
    N_("mixed_air_temperature"),
    N_("return_air_temperature"),
    N_("outdoor_air_temperature"),
    N_("supply_fan_status"),
    N_("return_fan_status"),
    N_("supply_fan_speed"),
    N_("return_fan_speed"),
    N_("outdoor_air_damper"),
    N_("return_air_damper"),
    N_("exhaust_air_damper"),
    N_("cooling_valve"),
    N_("heating_valve"),
    N_("duct_static_pressure"),
    N_("duct_static_pressure_setpoint"),
    N_("supply_airflow"),
    N_("minimum_outdoor_airflow_setpoint"),
    N_("cooling_coil_leaving_air_temperature"),
    N_("heating_coil_leaving_air_temperature"),
)
#: Metrics that are on/off whatever unit the device sent (a fan's status is often "1").
BOOLEAN_METRICS = frozenset(
    {"fan", "occupancy", "contact", "water_leak", "supply_fan_status", "return_fan_status"}
)


#: Words for a boolean reading where "on"/"off" says nothing: (false, true) per metric, in the
#: metric's context (``closed`` of a door contact is not ``closed`` of a work order).
BOOLEAN_WORDS = {
    "occupancy": (NC_("occupancy", "vacant"), NC_("occupancy", "occupied")),
    "contact": (NC_("contact", "open"), NC_("contact", "closed")),
    "water_leak": (NC_("water_leak", "dry"), NC_("water_leak", "leak")),
}
#: The deadline an order's card counts down to (console._sla_clock).
CLOCK_LABELS = {ClockKind.RESPOND: N_("Respond by"), ClockKind.RESOLVE: N_("Fix by")}
#: What a checklist item records (``ChecklistItem.kind``) and its two outcomes.
CHECKLIST_KINDS = {
    "pass_fail": N_("Pass or fail"),
    "number": N_("Measurement"),
    "text": N_("Note"),
    "photo": N_("Photo"),
}
OUTCOME_LABELS = {"pass": N_("Pass"), "fail": N_("Fail")}


def common(request: Request, user: ConsoleUser | None) -> dict[str, Any]:
    loc = localizer_of(request)
    now = context_of(request).clock()
    return {
        "STATUS_LABELS": STATUS_LABELS,
        "PRIORITY_LABELS": PRIORITY_LABELS,
        "ACTION_LABELS": ACTION_LABELS,
        "SOURCE_LABELS": SOURCE_LABELS,
        "EVENT_LABELS": EVENT_LABELS,
        "HEALTH_LABELS": data.HEALTH_LABELS,
        "CHECKLIST_KINDS": CHECKLIST_KINDS,
        "OUTCOME_LABELS": OUTCOME_LABELS,
        "CLOCK_LABELS": CLOCK_LABELS,
        "sla_clock": lambda order: sla_clock(order, now),
        "fmt_value": lambda value, unit, metric="": format_value(loc, value, unit, metric),
        "label_of": lambda labels, key: (
            loc.gettext(labels[key]) if key in labels else loc.label(str(key))
        ),
    }


def format_value(loc: Localizer, value: float, unit: str, metric: str = "") -> str:
    """A reading as a person reads it: locale digits and the unit; a boolean as the metric's
    words (occupied/vacant, closed/open, leak/dry), else on/off."""
    if is_boolean(metric, unit):
        words = BOOLEAN_WORDS.get(metric)
        if words is not None:
            return loc.pgettext(*words[1 if value else 0])
        return loc.gettext("on") if value else loc.gettext("off")
    if unit in ("code", ""):
        return loc.number(value, 0) if unit == "code" else loc.number(value, 2)
    factor, shown = readable_unit(unit, abs(value))
    return f"{loc.number(value / factor, 1)} {display_unit(shown)}".strip()


def display_unit(unit: str) -> str:
    """Units as people write them: ``degC`` is °C, dimensionless ``1`` shows nothing."""
    return {"degC": "°C", "1": "", "bool": "", "code": ""}.get(unit, unit)


#: Units stored in their SI base that people read a thousand times larger: 25.2 kW, not
#: 25,159.8 W. (unit, threshold) -> (divisor, unit shown).
_LARGER_UNITS = {
    "W": ("kW", 1_000.0),
    "kW": ("MW", 10_000.0),
    "Wh": ("kWh", 1_000.0),
    "kWh": ("MWh", 100_000.0),
    "Pa": ("kPa", 10_000.0),
    "VA": ("kVA", 1_000.0),
    "var": ("kvar", 1_000.0),
}

#: The smallest vertical span worth drawing per unit: noise on a steady value stays flat.
CHART_MIN_SPAN = {"degC": 2.0, "K": 2.0, "%": 10.0, "Pa": 20.0, "kPa": 2.0, "ppm": 100.0}


def readable_unit(unit: str, magnitude: float) -> tuple[float, str]:
    """The divisor and unit to show a value of ``magnitude`` in (``(1000, "kW")`` for 25 kW)."""
    larger = _LARGER_UNITS.get(unit)
    if larger is not None and magnitude >= larger[1]:
        return 1_000.0, larger[0]
    return 1.0, unit


def is_boolean(metric: str, unit: str) -> bool:
    """Whether a reading is on/off: by its unit, or by what the metric is (``*_status``)."""
    return unit == "bool" or metric in BOOLEAN_METRICS or metric.endswith("_status")


def boolean_levels(loc: Localizer, metric: str) -> dict[float, str]:
    """The words a boolean metric's chart shows on its axis (vacant/occupied, off/on)."""
    words = BOOLEAN_WORDS.get(metric)
    if words is not None:
        return {0.0: loc.pgettext(*words[0]), 1.0: loc.pgettext(*words[1])}
    return {0.0: loc.gettext("off"), 1.0: loc.gettext("on")}


def page(
    request: Request, template: str, user: ConsoleUser, status_code: int = 200, **values: Any
) -> Response:
    """A service-management page: ``values`` with the service labels and formatters."""
    return render(
        request,
        template,
        user=user,
        status_code=status_code,
        **values,
        **sdata.LABELS,
        **sdata.formatters(localizer_of(request)),
        **common(request, user),
    )
