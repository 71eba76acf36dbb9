"""Bounded exponential backoff with jitter, for a device that stopped answering.

A small class rather than ``tenacity``/``backoff``: those wrap a call and retry it in place,
while a poller needs "how long until this device's next try" as a value it can schedule next to
its other devices' polls, without blocking them. Jitter spreads the retries of devices that
failed together (a switch rebooted) so they do not all come back at the same instant.
"""

from __future__ import annotations

import random

__all__ = ["Backoff"]


class Backoff:
    """Delays ``base_s * 2**n`` up to ``max_s``, each drawn from its upper half (equal jitter).

    Equal jitter keeps at least half the nominal delay, so a dead device is never retried in a
    tight loop, while two devices that failed together still drift apart.
    """

    def __init__(self, base_s: float, max_s: float, *, rng: random.Random | None = None) -> None:
        if base_s <= 0 or max_s < base_s:
            raise ValueError(f"backoff needs 0 < base_s <= max_s, got {base_s}, {max_s}")
        self.base_s = base_s
        self.max_s = max_s
        self.failures = 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        """Count one more failure and return how long to wait before the next try."""
        nominal = min(self.max_s, self.base_s * 2.0 ** min(self.failures, 60))
        self.failures += 1
        return nominal / 2 + self._rng.uniform(0.0, nominal / 2)

    def reset(self) -> None:
        """The device answered: the next failure starts from ``base_s`` again."""
        self.failures = 0
