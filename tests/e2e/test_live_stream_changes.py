"""The console's live stream sends the whole state once, then only what changed."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime

from console._i18n import localizer
from console._labels import format_value
from console.pages.live import changes
from facility.core.types import Presence, Reading
from facility.core.wait import wait_until
from tests.e2e.conftest import ConsoleServer
from tests.e2e.console_client import browser, log_in


def test_changes_keep_only_new_or_different_entries() -> None:
    first = {"devices": {"a": {"v": 1}, "b": {"v": 2}}, "assets": {"1": {"h": "ok"}}, "at": "t1"}
    second = {
        "devices": {"a": {"v": 1}, "b": {"v": 3}, "c": {"v": 0}},
        "assets": {"1": {"h": "ok"}},
        "at": "t2",
    }
    assert changes({}, first) == first
    assert changes(first, second) == {
        "devices": {"b": {"v": 3}, "c": {"v": 0}},
        "assets": {},
        "at": "t2",
    }
    assert changes(second, second) == {"devices": {}, "assets": {}, "at": "t2"}


def test_the_stream_sends_everything_first_then_only_the_device_that_changed(
    console_server: ConsoleServer,
) -> None:
    console_server.state.stream_max_s = 30.0
    client = browser(console_server.url)
    log_in(client, "manager")
    events: list[dict[str, object]] = []
    stop = threading.Event()

    def read() -> None:
        with client.stream("GET", "/console/stream") as response:
            for line in response.iter_lines():
                if line.startswith("data: "):
                    events.append(json.loads(line.removeprefix("data: ")))
                if stop.is_set():
                    return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        wait_until(lambda: len(events) >= 2, timeout_s=20, what="two live events")
        first = events[0]["devices"]
        assert isinstance(first, dict) and {"ahu-1", "room-101"} <= set(first)
        assert events[1]["devices"] == {} and events[1]["assets"] == {}  # nothing changed
        now = datetime.now(UTC)
        console_server.states.record(
            [Reading("room-101", "temperature", 24.0, "degC", now)],
            [Presence("room-101", True, now)],
        )
        wait_until(
            lambda: any(e["devices"] for e in events[2:]), timeout_s=20, what="a change event"
        )
        change = next(e for e in events[2:] if e["devices"])
        shown = format_value(localizer("en"), 24.0, "degC", "temperature")
        assert change["assets"] == {}
        assert change["devices"] == {
            "room-101": {"online": True, "presence": "online", "values": {"temperature": shown}}
        }
    finally:
        stop.set()
        console_server.state.stop.set()
        reader.join(timeout=10)
