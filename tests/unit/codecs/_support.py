"""One probe per codec module, so every codec test file asks its questions the same way."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from types import ModuleType

import pytest

from facility.core.errors import PayloadRejected
from facility.core.types import Presence, Reading


@dataclass(frozen=True)
class CodecProbe:
    """Decode with a fixed receive time and answer in the shapes tests compare against."""

    codec: ModuleType
    received: datetime

    def decoded(self, topic: str, payload: bytes) -> list[Reading | Presence]:
        result: list[Reading | Presence] = self.codec.decode(topic, payload, received=self.received)
        return result

    def one(self, topic: str, payload: bytes) -> Reading:
        (item,) = self.decoded(topic, payload)
        assert isinstance(item, Reading)
        return item

    def readings(self, topic: str, payload: bytes) -> dict[tuple[str, str], Reading]:
        items = self.decoded(topic, payload)
        assert all(isinstance(item, Reading) for item in items)
        return {(r.device, r.metric): r for r in items if isinstance(r, Reading)}

    def rejected(self, topic: str, payload: bytes, *, max_bytes: int = 64 * 1024) -> str:
        with pytest.raises(PayloadRejected) as info:
            self.codec.decode(topic, payload, received=self.received, max_bytes=max_bytes)
        return str(info.value.reason)
