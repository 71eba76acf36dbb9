"""A polled device's presence: offline once when it stops answering, online when it answers.

Shared by the Modbus and BACnet pollers, so both tell the pipeline the same thing at the same
moments: one offline presence per channel at the first failed poll (not one per retry, which
would flood the presence log while a device is away), one online presence when it answers
again, and one log line for each change.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol

from facility.core.types import Presence

__all__ = ["answered", "went_offline"]

log = logging.getLogger(__name__)


class _Online(Protocol):
    online: bool | None


def went_offline(
    stats: _Online, channels: Sequence[str], device: str, error: object, retry_s: float
) -> list[Presence]:
    """The presences to emit after a failed poll: offline for every channel the first time."""
    if stats.online is False:
        return []
    stats.online = False
    log.warning("%s is offline: %s; next try in %.1fs", device, error, retry_s)
    now = datetime.now(UTC)
    return [Presence(channel, False, now) for channel in channels]


def answered(stats: _Online, channels: Sequence[str], device: str) -> list[Presence]:
    """The presences to emit with a successful poll's readings: online again after a failure."""
    back = stats.online is False
    stats.online = True
    if not back:
        return []
    log.info("%s answers again", device)
    now = datetime.now(UTC)
    return [Presence(channel, True, now) for channel in channels]
