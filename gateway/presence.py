"""Presence from silence: a device not heard from within its class's heartbeat timeout is offline.

Availability/LWT topics say "offline" outright (the codecs turn them into :class:`Presence`);
many devices have no such topic, or die without the broker noticing, so the gateway also watches
the time since each device was last heard. Timeouts are per device class (from the registry):
a mains-powered meter reporting every 10 s is late after a minute, a battery sensor that
reports hourly is not. Times are the gateway's receive times, not device clocks, which drift.

Only changes are emitted, so the rules engine and the presence history see one event per
transition, whichever source noticed it first.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from facility.core.types import Presence

__all__ = ["PresenceChange", "PresenceTracker"]


@dataclass(frozen=True, slots=True)
class PresenceChange:
    """A transition and what noticed it (``availability`` topic, ``heartbeat`` or ``data``)."""

    presence: Presence
    source: str


class PresenceTracker:
    """Last-heard times and online state per device; thread-safe."""

    def __init__(self, *, timeout_of: Callable[[str], float]) -> None:
        self._timeout_of = timeout_of
        self._last_heard: dict[str, datetime] = {}
        self._online: dict[str, bool] = {}
        self._lock = threading.Lock()

    def load(self, known: Iterable[tuple[str, datetime, bool]]) -> None:
        """Seed from stored state (device, last seen, online) after a restart, so a device that
        fell silent while the gateway was down still goes offline."""
        with self._lock:
            for device, last_seen, online in known:
                self._last_heard.setdefault(device, last_seen)
                self._online.setdefault(device, online)

    def heard(self, device: str, now: datetime) -> PresenceChange | None:
        """The device sent data: it is online; returns the change if it was offline."""
        with self._lock:
            self._last_heard[device] = now
            was = self._online.get(device)
            self._online[device] = True
        if was is False:
            return PresenceChange(Presence(device, True, now), "data")
        return None

    def observe(self, presence: Presence, now: datetime) -> PresenceChange | None:
        """An availability/LWT message; returns it as a change unless nothing changed."""
        with self._lock:
            if presence.online:
                self._last_heard[presence.device] = now
            was = self._online.get(presence.device)
            self._online[presence.device] = presence.online
        if was is presence.online:
            return None
        return PresenceChange(presence, "availability")

    def expire(self, now: datetime) -> list[PresenceChange]:
        """Devices online but silent longer than their timeout go offline (at ``now``)."""
        changes: list[PresenceChange] = []
        with self._lock:
            for device, last in self._last_heard.items():
                if not self._online.get(device):
                    continue
                if (now - last).total_seconds() > self._timeout_of(device):
                    self._online[device] = False
                    changes.append(PresenceChange(Presence(device, False, now), "heartbeat"))
        return changes

    def is_online(self, device: str) -> bool | None:
        with self._lock:
            return self._online.get(device)
