"""The device gate: which device ids the gateway takes in, so a flood of new ids stays bounded.

Every message names its device. A device the gateway already knows (recorded in the devices
table, or heard since start) always passes: a flood never costs a working sensor a reading. A
*new* id is recorded only while two limits hold:

* at most ``rate`` new ids per period (``FACILITY_NEW_DEVICE_RATE``, default ``100/minute``,
  a moving window of the ``limits`` library), whatever they are: a real rollout of 500 sensors
  takes five minutes, a flood of 20,000 random ids records 100 of them;
* at most ``unassigned_cap`` devices that nothing admits (``FACILITY_UNASSIGNED_DEVICE_CAP``,
  default 10,000): the registry, an admission pattern or a person admits the rest.

A refused message is dead-lettered by the gateway with the reason ``new_device_rate`` or
``unassigned_cap`` and counted (``facility_gateway_rejected_total{reason}`` per message,
``facility_gateway_new_devices_total{outcome}`` per id; no label carries a device id, so the
metrics' cardinality does not grow with a flood). The only per-id structure here is the set of
known ids, which grows by at most ``rate`` per period and, for unassigned ids, stops at the cap.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence

from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from prometheus_client import Counter, Gauge

from facility.core.errors import ConfigError
from facility.core.types import Presence, Reading

__all__ = ["NEW_DEVICE_RATE", "UNASSIGNED_CAP", "DeviceGate", "Refusal"]

#: Dead-letter reasons (also the ``reason`` label of ``facility_gateway_rejected_total``).
NEW_DEVICE_RATE = "new_device_rate"
UNASSIGNED_CAP = "unassigned_cap"

NEW_DEVICES = Counter(
    "facility_gateway_new_devices",
    "New device ids seen by the gate, by outcome (recorded, new_device_rate, unassigned_cap)",
    labelnames=["outcome"],
)
UNASSIGNED_DEVICES = Gauge(
    "facility_gateway_unassigned_devices", "Devices recorded that nothing has admitted yet"
)
KNOWN_DEVICES = Gauge("facility_gateway_known_devices", "Device ids the gateway lets through")

#: (reason, detail) of a refused message, as the gateway's dead letter records them.
Refusal = tuple[str, str]


class DeviceGate:
    """Known ids pass; new ids pass at a bounded rate, unassigned ones up to a cap; thread-safe.

    ``admitted(device)`` says whether the registry or an admission pattern admits a device
    (it then does not count against the unassigned cap, but still against the rate).
    """

    def __init__(
        self,
        *,
        rate: str = "100/minute",
        unassigned_cap: int = 10_000,
        admitted: Callable[[str], bool] = lambda device: False,
    ) -> None:
        try:
            self._item = parse(rate)
        except ValueError:
            raise ConfigError(
                f"FACILITY_NEW_DEVICE_RATE={rate[:40]!r} is not a rate; write COUNT/PERIOD, "
                "e.g. 100/minute"
            ) from None
        if unassigned_cap < 0:
            raise ConfigError(f"FACILITY_UNASSIGNED_DEVICE_CAP={unassigned_cap} must be 0 or more")
        self.rate = rate
        self.unassigned_cap = unassigned_cap
        self._admitted = admitted
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._known: dict[str, bool] = {}  # device id -> admitted (not counted against the cap)
        self._unassigned = 0
        self._lock = threading.Lock()

    def load(self, devices: Iterable[tuple[str, bool]]) -> None:
        """Merge recorded devices ``(id, has an asset)``: they pass from now on, and the
        unassigned count follows what the database says (a person may have admitted some)."""
        with self._lock:
            for device, assigned in devices:
                self._known[device] = assigned or self._admitted(device)
            self._unassigned = sum(1 for admitted in self._known.values() if not admitted)
            self._publish()

    def admit(self, device: str) -> None:
        """A person admitted ``device``: it no longer counts against the unassigned cap."""
        with self._lock:
            if self._known.get(device) is False:
                self._unassigned -= 1
            self._known[device] = True
            self._publish()

    @property
    def unassigned(self) -> int:
        with self._lock:
            return self._unassigned

    def is_known(self, device: str) -> bool:
        with self._lock:
            return device in self._known

    def check(self, device: str) -> Refusal | None:
        """``None`` when ``device``'s messages may pass (recording a new id), else why not."""
        with self._lock:
            if device in self._known:
                return None
            admitted = self._admitted(device)
            if not admitted and self._unassigned >= self.unassigned_cap:
                NEW_DEVICES.labels(outcome=UNASSIGNED_CAP).inc()
                return UNASSIGNED_CAP, (
                    f"device {device[:80]!r} is unknown and {self._unassigned} unassigned devices "
                    f"are recorded, the cap (FACILITY_UNASSIGNED_DEVICE_CAP={self.unassigned_cap})"
                    "; admit or remove unassigned devices, list the device in the registry, "
                    "or raise the cap"
                )
            if not self._limiter.hit(self._item, "new-device"):
                NEW_DEVICES.labels(outcome=NEW_DEVICE_RATE).inc()
                return NEW_DEVICE_RATE, (
                    f"device {device[:80]!r} is new and {self.rate} new devices were already "
                    "recorded (FACILITY_NEW_DEVICE_RATE); it is taken once the window frees, "
                    "or list it in the registry"
                )
            self._known[device] = admitted
            if not admitted:
                self._unassigned += 1
            NEW_DEVICES.labels(outcome="recorded").inc()
            self._publish()
            return None

    def filter(
        self, items: Sequence[Reading | Presence]
    ) -> tuple[Sequence[Reading | Presence], Refusal | None]:
        """The items whose devices pass, and the first refusal (``None`` when all pass)."""
        refusals: dict[str, Refusal | None] = {}
        for item in items:
            if item.device not in refusals:
                refusals[item.device] = self.check(item.device)
        first = next((r for r in refusals.values() if r is not None), None)
        if first is None:
            return items, None
        return [item for item in items if refusals[item.device] is None], first

    def _publish(self) -> None:
        UNASSIGNED_DEVICES.set(self._unassigned)
        KNOWN_DEVICES.set(len(self._known))
