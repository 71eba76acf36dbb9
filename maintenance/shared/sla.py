"""SLA clocks: response and resolution targets per priority, optionally in business hours.

Pure time arithmetic, no database: :func:`add_business_time` moves a deadline forward through
opening hours in the site's time zone (``zoneinfo``, so a DST change is a 23- or 25-hour day, not
an off-by-one-hour deadline), and :func:`business_seconds_between` measures a pause on the same
calendar so that an on-hold period extends the resolution deadline by exactly the working time
it consumed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from facility.core.errors import ConfigError
from maintenance.shared.vocabulary import Priority

__all__ = [
    "DEFAULT_POLICY",
    "BusinessHours",
    "SlaPolicy",
    "SlaTarget",
    "add_business_time",
    "business_seconds_between",
    "due_times",
    "hours_in",
]


@dataclass(frozen=True, slots=True)
class SlaTarget:
    """How long until work must start (response) and be done (resolution), in seconds."""

    response_s: float
    resolution_s: float
    business_hours: bool = False

    def __post_init__(self) -> None:
        if self.response_s <= 0 or self.resolution_s <= 0:
            raise ValueError("SLA targets must be positive")


@dataclass(frozen=True, slots=True)
class BusinessHours:
    """Opening hours in one time zone: the same hours on each working weekday (0 = Monday)."""

    timezone: str = "UTC"
    opens: time = time(8, 0)
    closes: time = time(17, 0)
    weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(
                f"time zone {self.timezone!r} is unknown; use an IANA name like Europe/Berlin"
            ) from exc
        if self.opens >= self.closes:
            raise ConfigError(f"business hours open at {self.opens} but close at {self.closes}")
        if not self.weekdays or not self.weekdays <= set(range(7)):
            raise ConfigError("business-hours weekdays must be a non-empty subset of 0-6")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def _window(self, day: date) -> tuple[datetime, datetime] | None:
        """The day's opening interval as aware local datetimes, or None when closed."""
        if day.weekday() not in self.weekdays or day in self.holidays:
            return None
        zone = self.zone
        return (
            datetime.combine(day, self.opens, tzinfo=zone),
            datetime.combine(day, self.closes, tzinfo=zone),
        )


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    """Targets per priority, the calendar for business-hours targets, and escalation timing."""

    targets: Mapping[Priority, SlaTarget] = field(
        default_factory=lambda: {
            Priority.P1: SlaTarget(15 * 60, 4 * 3600),
            Priority.P2: SlaTarget(3600, 8 * 3600),
            Priority.P3: SlaTarget(4 * 3600, 3 * 9 * 3600, business_hours=True),
            Priority.P4: SlaTarget(9 * 3600, 10 * 9 * 3600, business_hours=True),
        }
    )
    hours: BusinessHours = field(default_factory=BusinessHours)
    #: After a breach, how long until the manager is told if nobody reacted (level 2).
    escalate_after_s: float = 3600.0


DEFAULT_POLICY = SlaPolicy()

_MAX_DAYS = 3660  # a deadline ten years out means the calendar has no working hours at all


def add_business_time(start: datetime, seconds: float, hours: BusinessHours) -> datetime:
    """The instant ``seconds`` of opening time after ``start`` (aware UTC in, aware UTC out)."""
    if seconds < 0:
        raise ValueError("cannot add negative business time")
    zone = hours.zone
    local = start.astimezone(zone)
    remaining = timedelta(seconds=seconds)
    day = local.date()
    for _ in range(_MAX_DAYS):
        window = hours._window(day)
        if window is not None:
            opens, closes = window
            begin = max(opens, local)
            if begin < closes:
                # Subtract in UTC so a DST jump inside the window counts real elapsed time.
                available = closes.astimezone(UTC) - begin.astimezone(UTC)
                if remaining <= available:
                    return (begin.astimezone(UTC) + remaining).astimezone(UTC)
                remaining -= available
        day += timedelta(days=1)
    raise ConfigError("business hours never open; check the SLA calendar")


def business_seconds_between(start: datetime, end: datetime, hours: BusinessHours) -> float:
    """Opening time between two instants (0 when ``end`` is not after ``start``)."""
    if end <= start:
        return 0.0
    zone = hours.zone
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    total = timedelta(0)
    day = local_start.date()
    while day <= local_end.date():
        window = hours._window(day)
        if window is not None:
            begin, finish = max(window[0], local_start), min(window[1], local_end)
            if begin < finish:
                total += finish.astimezone(UTC) - begin.astimezone(UTC)
        day += timedelta(days=1)
    return total.total_seconds()


def elapsed(start: datetime, end: datetime, target: SlaTarget, hours: BusinessHours) -> float:
    """Clock time between two instants as the target counts it (wall clock or business)."""
    if target.business_hours:
        return business_seconds_between(start, end, hours)
    return max(0.0, (end - start).total_seconds())


def extend(due: datetime, seconds: float, target: SlaTarget, hours: BusinessHours) -> datetime:
    """Push a deadline by ``seconds`` of the target's clock (used when a pause ends)."""
    if seconds <= 0:
        return due
    if target.business_hours:
        return add_business_time(due, seconds, hours)
    return due + timedelta(seconds=seconds)


def hours_in(policy: SlaPolicy, timezone: str | None) -> BusinessHours:
    """The policy's opening hours in a site's own time zone (the policy's when unset or bad).

    Opening hours are local: a campus with sites in Berlin and New York keeps 08:00-17:00 at
    each site, so the calendar follows the asset's site rather than the server.
    """
    if not timezone or timezone == policy.hours.timezone:
        return policy.hours
    try:
        return replace(policy.hours, timezone=timezone)
    except ConfigError:
        return policy.hours


def due_times(
    created: datetime, priority: Priority, policy: SlaPolicy, *, timezone: str | None = None
) -> tuple[datetime, datetime]:
    """Response and resolution deadlines for an order created at ``created``."""
    target = policy.targets[priority]
    if target.business_hours:
        hours = hours_in(policy, timezone)
        return (
            add_business_time(created, target.response_s, hours),
            add_business_time(created, target.resolution_s, hours),
        )
    return (
        created + timedelta(seconds=target.response_s),
        created + timedelta(seconds=target.resolution_s),
    )
