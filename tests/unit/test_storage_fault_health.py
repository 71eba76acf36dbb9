"""The health board's contract and presence's grace after our own storage fault (pure logic)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from facility.core.health import HealthBoard
from facility.core.types import Reading, ReadingPage
from gateway.ingest import Gateway, GatewayOptions
from gateway.mqtt import MqttOptions


def test_a_failing_critical_component_makes_the_board_degraded_and_not_ready() -> None:
    board = HealthBoard()
    board.report("store", True, "writes succeed")
    board.report("ingest", True, "readings are stored", critical=True)
    assert board.summary()[:2] == ("ok", True)

    board.report("store", False, "reading store at sqlite:///r.db failed (disk full)")
    status, ready, components = board.summary()
    assert (status, ready) == ("degraded", True)  # degraded, but readings are still spooled
    assert components["store"]["reason"] == "reading store at sqlite:///r.db failed (disk full)"

    board.report("ingest", False, "holding 100 readings", critical=True)
    assert board.summary()[:2] == ("degraded", False)


def test_since_moves_only_when_a_component_flips() -> None:
    board = HealthBoard()
    board.report("spool", False, "first reason")
    since = board.components()[0].since
    board.report("spool", False, "another reason, same state")
    assert board.components()[0].since == since
    assert board.components()[0].reason == "another reason, same state"


def test_a_probe_that_raises_is_reported_with_its_error_not_raised() -> None:
    board = HealthBoard()

    def broken() -> tuple[bool, str]:
        raise RuntimeError("boom")

    board.watch("broker", broken, critical=True)
    status, ready, components = board.summary()
    assert (status, ready) == ("degraded", False)
    assert components["broker"]["reason"] == "health probe failed: RuntimeError: boom"


class _Unused:
    """A store that is never written: these tests drive presence only."""

    def write(self, readings: Sequence[Reading]) -> None:
        raise AssertionError("not expected")

    def query(self, **_kwargs: object) -> ReadingPage:
        raise AssertionError("not expected")

    def close(self) -> None:
        pass


def _gateway() -> Gateway:
    options = GatewayOptions(
        mqtt=MqttOptions(url="mqtt://127.0.0.1:1"), heartbeat_timeout_s=10, tune_gc=False
    )
    return Gateway(options, store=_Unused())  # type: ignore[arg-type]


def test_no_device_goes_offline_while_a_batch_is_held_or_within_its_timeout_after() -> None:
    gateway = _gateway()
    now = datetime.now(UTC)
    gateway.presence.heard("meter-1", now - timedelta(seconds=60))

    gateway._holding_since = time.monotonic()  # our storage fault: the silence is ours
    assert gateway.presence.expire(now) == []
    gateway._holding_since = None

    gateway._healthy_since = time.time() - 5  # recovered 5 s ago: within the 10 s timeout
    assert gateway.presence.expire(now) == []
    assert gateway.pipeline_healthy_since <= now

    gateway._healthy_since = time.time() - 20  # healthy for longer than the timeout
    changes = gateway.presence.expire(now)
    assert [(c.presence.device, c.presence.online, c.source) for c in changes] == [
        ("meter-1", False, "heartbeat")
    ]
