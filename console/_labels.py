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
from console._render import localizer_of, render
from console._session import ConsoleUser
from maintenance.shared.vocabulary import Priority
from maintenance.work_orders.models import WorkOrderSource, WorkOrderStatus

__all__ = [
    "ACTION_LABELS",
    "BOOLEAN_WORDS",
    "CHECKLIST_KINDS",
    "EVENT_LABELS",
    "NOTICES",
    "OUTCOME_LABELS",
    "PRIORITY_LABELS",
    "SOURCE_LABELS",
    "STATUS_LABELS",
    "common",
    "display_unit",
    "format_value",
    "page",
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
)


#: Words for a boolean reading where "on"/"off" says nothing: (false, true) per metric, in the
#: metric's context (``closed`` of a door contact is not ``closed`` of a work order).
BOOLEAN_WORDS = {
    "occupancy": (NC_("occupancy", "vacant"), NC_("occupancy", "occupied")),
    "contact": (NC_("contact", "open"), NC_("contact", "closed")),
    "water_leak": (NC_("water_leak", "dry"), NC_("water_leak", "leak")),
}
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
    return {
        "STATUS_LABELS": STATUS_LABELS,
        "PRIORITY_LABELS": PRIORITY_LABELS,
        "ACTION_LABELS": ACTION_LABELS,
        "SOURCE_LABELS": SOURCE_LABELS,
        "EVENT_LABELS": EVENT_LABELS,
        "HEALTH_LABELS": data.HEALTH_LABELS,
        "CHECKLIST_KINDS": CHECKLIST_KINDS,
        "OUTCOME_LABELS": OUTCOME_LABELS,
        "fmt_value": lambda value, unit, metric="": format_value(loc, value, unit, metric),
        "label_of": lambda labels, key: (
            loc.gettext(labels[key]) if key in labels else loc.label(str(key))
        ),
    }


def format_value(loc: Localizer, value: float, unit: str, metric: str = "") -> str:
    """A reading as a person reads it: locale digits and the unit; a boolean as the metric's
    words (occupied/vacant, closed/open, leak/dry), else on/off."""
    if unit == "bool":
        words = BOOLEAN_WORDS.get(metric)
        if words is not None:
            return loc.pgettext(*words[1 if value else 0])
        return loc.gettext("on") if value else loc.gettext("off")
    if unit in ("code", ""):
        return loc.number(value, 0) if unit == "code" else loc.number(value, 2)
    return f"{loc.number(value, 1)} {display_unit(unit)}".strip()


def display_unit(unit: str) -> str:
    """Units as people write them: ``degC`` is °C, dimensionless ``1`` shows nothing."""
    return {"degC": "°C", "1": "", "bool": "", "code": ""}.get(unit, unit)


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
