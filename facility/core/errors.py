"""The error tree shared by every Facility package.

```
FacilityError                    raised on purpose; the CLI prints it as one line
├── Invalid              422     the input is malformed or breaks a rule of the domain
│   ├── ConfigError              a setting is missing or malformed
│   ├── PayloadRejected          an MQTT payload: carries topic and reason
│   ├── RuleError                a rule definition: carries rule name and field
│   ├── TooLarge         413     a body or file over its limit
│   ├── UnsupportedMedia 415     a file of a type we do not take
│   └── WorkOrderError           a work-order request refused on its content
├── NotFound             404     no such record (or not visible to the caller)
│   └── WorkOrderNotFound
├── Conflict             409     valid, but the record's state or a duplicate forbids it now
│   └── InvalidTransition
├── Forbidden            403     signed in, but this role or party may not do this
└── Unavailable          503     a broker, database or store is unreachable or answered nonsense
    └── ServiceUnavailable
```

Every domain error subclasses one *kind* (``Invalid``, ``NotFound``, ``Conflict``,
``Forbidden``, ``Unavailable``); the kind alone decides the HTTP status (one exception handler,
:mod:`maintenance.api.problems`), the console's message and the CLI's exit, so no layer ever
reads an error's text to decide what it means. A domain's base error is an ``Invalid``; its
subclasses mix in another kind where they mean something else, e.g.
``class SupplierNotFound(SupplierError, NotFound)``. Where two kinds apply, the more specific
wins: ``NotFound``, ``Forbidden``, ``Conflict``, ``Unavailable`` before ``Invalid``.

"The outside world failed" (``Unavailable``) is kept apart from "the input was bad"
(``Invalid``): the gateway counts and dead-letters the second and retries the first.
Authorisation is ``Forbidden``, never Python's ``PermissionError`` (an ``OSError``, which a
read-only disk raises too). Programming mistakes raise ``TypeError``/``ValueError`` and are
never caught here.
"""

from __future__ import annotations

__all__ = [
    "ERROR_KINDS",
    "ConfigError",
    "Conflict",
    "FacilityError",
    "Forbidden",
    "Invalid",
    "InvalidTransition",
    "NotFound",
    "PayloadRejected",
    "RuleError",
    "ServiceUnavailable",
    "TooLarge",
    "Unavailable",
    "UnsupportedMedia",
    "WorkOrderError",
    "WorkOrderNotFound",
    "kind_of",
]


class FacilityError(Exception):
    """Base of every error Facility raises on purpose; the CLI prints it as one line."""


class Invalid(FacilityError):
    """The input is malformed or breaks a rule of the domain; fix the input and retry."""


class NotFound(FacilityError):
    """No such record, or none the caller may see (the two are not told apart on purpose)."""


class Conflict(FacilityError):
    """The request is valid but the record's current state (or a duplicate) forbids it now."""


class Forbidden(FacilityError):
    """The caller is known but their role or company may not do this."""


class Unavailable(FacilityError):
    """A service we depend on is unreachable or answered something we cannot use."""


class TooLarge(Invalid):
    """A body or file is over its limit; the message names the limit."""


class UnsupportedMedia(Invalid):
    """A file is not of a type we accept; the message names the accepted types."""


#: The kinds in the order a handler tests them: the first that matches decides.
ERROR_KINDS: tuple[type[FacilityError], ...] = (
    NotFound,
    Forbidden,
    Conflict,
    Unavailable,
    TooLarge,
    UnsupportedMedia,
    Invalid,
)


def kind_of(error: FacilityError) -> type[FacilityError]:
    """The kind that decides how ``error`` is reported (``Invalid`` for a bare FacilityError)."""
    for kind in ERROR_KINDS:
        if isinstance(error, kind):
            return kind
    return Invalid


class ConfigError(Invalid):
    """A setting is missing or malformed; the message names the variable and the expected form."""


class ServiceUnavailable(Unavailable):
    """A broker, database or reading store could not be reached, or answered unexpectedly."""


class PayloadRejected(Invalid):
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


class RuleError(Invalid):
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


class WorkOrderError(Invalid):
    """A work-order operation was refused on its content."""


class WorkOrderNotFound(WorkOrderError, NotFound):
    """No work order has the given id (or the caller may not see it)."""


class InvalidTransition(WorkOrderError, Conflict):
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
