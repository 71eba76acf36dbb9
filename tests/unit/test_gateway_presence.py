"""Heartbeat presence: silence past a class timeout is offline; only changes are emitted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from facility.core.types import Presence
from gateway.presence import PresenceTracker

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def _tracker() -> PresenceTracker:
    return PresenceTracker(timeout_of=lambda device: 3600.0 if device.startswith("bat") else 60.0)


def test_a_device_silent_past_its_class_timeout_goes_offline_once() -> None:
    tracker = _tracker()
    assert tracker.heard("meter", T0) is None
    assert tracker.heard("battery", T0) is None
    assert tracker.expire(T0 + timedelta(seconds=59)) == []
    (change,) = tracker.expire(T0 + timedelta(seconds=61))
    assert change.presence == Presence("meter", False, T0 + timedelta(seconds=61))
    assert change.source == "heartbeat"
    assert tracker.expire(T0 + timedelta(seconds=120)) == []  # no repeat
    assert [c.presence.device for c in tracker.expire(T0 + timedelta(hours=2))] == ["battery"]


def test_data_from_an_offline_device_brings_it_back_online_as_a_change() -> None:
    tracker = _tracker()
    tracker.heard("meter", T0)
    tracker.expire(T0 + timedelta(minutes=5))
    change = tracker.heard("meter", T0 + timedelta(minutes=6))
    assert change is not None and change.presence.online and change.source == "data"
    assert tracker.heard("meter", T0 + timedelta(minutes=7)) is None


def test_availability_messages_count_only_when_they_change_the_state() -> None:
    tracker = _tracker()
    offline = Presence("plug", False, T0)
    first = tracker.observe(offline, T0)
    assert first is not None and first.source == "availability"
    assert tracker.observe(offline, T0) is None
    assert tracker.expire(T0 + timedelta(hours=5)) == []  # already offline: no heartbeat event
    back = tracker.observe(Presence("plug", True, T0), T0 + timedelta(seconds=5))
    assert back is not None and back.presence.online
    assert tracker.is_online("plug") is True


def test_state_loaded_after_a_restart_lets_a_silent_device_expire() -> None:
    tracker = _tracker()
    tracker.load([("meter", T0, True), ("gone", T0, False)])
    changes = tracker.expire(T0 + timedelta(minutes=2))
    assert [(c.presence.device, c.presence.online) for c in changes] == [("meter", False)]
