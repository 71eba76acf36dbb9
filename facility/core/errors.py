"""The error tree shared by every Facility package.

```
FacilityError
├── ConfigError          a setting is missing or malformed
├── ServiceUnavailable   broker, database or store unreachable
├── PayloadRejected      carries topic and reason
├── RuleError            carries rule name and field
└── WorkOrderError
    ├── WorkOrderNotFound
    └── InvalidTransition
```

"The outside world failed" (``ServiceUnavailable``) is kept apart from "the input was bad"
(``PayloadRejected``, ``RuleError``, ``ConfigError``): the CLI prints either as one line, but the
gateway counts and dead-letters the second and retries the first. Programming mistakes raise
``TypeError``/``ValueError`` and are never caught here.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "FacilityError",
    "InvalidTransition",
    "PayloadRejected",
    "RuleError",
    "ServiceUnavailable",
    "WorkOrderError",
    "WorkOrderNotFound",
]


class FacilityError(Exception):
    """Base of every error Facility raises on purpose; the CLI prints it as one line."""


class ConfigError(FacilityError):
    """A setting is missing or malformed; the message names the variable and the expected form."""


class ServiceUnavailable(FacilityError):
    """A broker, database or reading store could not be reached."""


class PayloadRejected(FacilityError):
    """An MQTT payload could not be turned into readings.

    Attributes:
        topic: the topic the payload arrived on.
        reason: a short machine-friendly reason (``malformed_json``, ``unknown_metric`` ...).
        detail: a human sentence that explains the reason with the offending value.
    """

    def __init__(self, topic: str, reason: str, detail: str = "") -> None:
        self.topic = topic
        self.reason = reason
        self.detail = detail
        super().__init__(f"{topic}: {reason}" + (f" ({detail})" if detail else ""))


class RuleError(FacilityError):
    """A rule definition is invalid.

    Attributes:
        rule: the rule's name (or ``#index`` when it has none).
        field: the dotted path of the offending field.
    """

    def __init__(self, rule: str, field: str, message: str, line: int | None = None) -> None:
        self.rule = rule
        self.field = field
        self.line = line
        where = f" (line {line})" if line is not None else ""
        super().__init__(f"rule {rule!r}, field {field!r}{where}: {message}")


class WorkOrderError(FacilityError):
    """A work-order operation was refused."""


class WorkOrderNotFound(WorkOrderError):
    """No work order has the given id."""


class InvalidTransition(WorkOrderError):
    """A work order cannot move from its current state to the requested one.

    Attributes:
        current: the order's state now.
        requested: the state that was asked for.
        allowed: the states reachable from ``current``.
    """

    def __init__(self, current: str, requested: str, allowed: list[str]) -> None:
        self.current = current
        self.requested = requested
        self.allowed = allowed
        options = ", ".join(allowed) if allowed else "none (final state)"
        super().__init__(
            f"cannot move a work order from {current!r} to {requested!r}; allowed: {options}"
        )
