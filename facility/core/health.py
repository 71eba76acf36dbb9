"""Component health that ``/healthz`` and ``/readyz`` read without touching any service.

Why a board instead of probing on request: a probe that queries the database or the store from
the request blocks exactly when something is wrong (a locked SQLite file waits its busy timeout,
a store that is down waits its connect timeout), and a health endpoint that stalls is worse than
none. The parts that know (the gateway's worker after each write, the broker callbacks, a
background database prober) write their state here; a request only reads it.

Two kinds of entries:

* reported: ``report(name, ok, reason)`` from whoever observes the component;
* watched: ``watch(name, probe)`` with a probe that answers at once from memory (a thread's
  ``is_alive``, a connection flag, a counter); it is called on each read.

``critical`` components decide readiness: when one of them is failing, ``/readyz`` answers 503
(readings cannot be stored, the ingest worker is dead). The others only make ``/healthz`` say
``degraded``; liveness stays 200 while the process runs, so an orchestrator does not restart a
gateway that is only waiting for its disk to come back.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client import Gauge

__all__ = ["COMPONENT_HEALTHY", "ComponentState", "HealthBoard", "Probe"]

#: ``(ok, reason)``, answered from memory: never I/O
Probe = Callable[[], tuple[bool, str]]

COMPONENT_HEALTHY = Gauge(
    "facility_component_healthy",
    "1 while a component (store, spool, broker, worker, backlog, database) is healthy, else 0",
    labelnames=["component"],
)


@dataclass(frozen=True, slots=True)
class ComponentState:
    """One component's state; ``since`` is the epoch second it last changed between ok/failing."""

    name: str
    ok: bool
    reason: str
    since: float
    critical: bool

    def as_dict(self) -> dict[str, object]:
        return {
            "status": "ok" if self.ok else "degraded",
            "reason": self.reason,
            "since": round(self.since, 3),
            "critical": self.critical,
        }


class HealthBoard:
    """Thread-safe current state of each component; reads never block on I/O."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reported: dict[str, ComponentState] = {}
        self._watched: dict[str, tuple[Probe, bool]] = {}
        self._watched_since: dict[str, tuple[bool, float]] = {}

    def report(self, name: str, ok: bool, reason: str = "", *, critical: bool = False) -> None:
        """Record ``name``'s state; ``since`` moves only when it flips between ok and failing."""
        now = time.time()
        with self._lock:
            held = self._reported.get(name)
            since = held.since if held is not None and held.ok == ok else now
            self._reported[name] = ComponentState(name, ok, reason, since, critical)
        COMPONENT_HEALTHY.labels(component=name).set(1 if ok else 0)

    def watch(self, name: str, probe: Probe, *, critical: bool = False) -> None:
        """Ask ``probe`` on every read; it must answer from memory."""
        with self._lock:
            self._watched[name] = (probe, critical)

    def components(self) -> list[ComponentState]:
        """Every component's state, reported ones and watched ones, sorted by name."""
        now = time.time()
        with self._lock:
            states = dict(self._reported)
            watched = dict(self._watched)
        for name, (probe, critical) in watched.items():
            try:
                ok, reason = probe()
            except Exception as exc:  # a probe is ours and cheap; if it breaks, say so
                ok, reason = False, f"health probe failed: {type(exc).__name__}: {exc}"
            with self._lock:
                held = self._watched_since.get(name)
                since = held[1] if held is not None and held[0] == ok else now
                self._watched_since[name] = (ok, since)
            COMPONENT_HEALTHY.labels(component=name).set(1 if ok else 0)
            states[name] = ComponentState(name, ok, reason, since, critical)
        return [states[name] for name in sorted(states)]

    def summary(self) -> tuple[str, bool, dict[str, dict[str, object]]]:
        """``(status, ready, components)``: status ``ok`` or ``degraded``; ready unless a
        critical component fails."""
        states = self.components()
        status = "ok" if all(s.ok for s in states) else "degraded"
        ready = all(s.ok for s in states if s.critical)
        return status, ready, {s.name: s.as_dict() for s in states}
