"""Device state written in SQL: what a batch of readings does to presence, on SQLite and PostgreSQL.

``SqlStateStore.record`` marks the devices of a batch seen with two executemany statements (an
offline → online history line, then an upsert that keeps ``last_seen`` monotonic and
``changed_at`` while a device stays online); these tests pin those rules on both databases.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from facility.core.types import Presence, Reading
from gateway.stores.sql import (
    SqlReadingStore,
    SqlStateStore,
    device_presence,
    make_engine,
    presence_history,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def presence_row(engine: sa.Engine, device: str) -> tuple[float, bool, float]:
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(device_presence).where(device_presence.c.device == device)
        ).one()
    return row.last_seen, bool(row.online), row.changed_at


def history(engine: sa.Engine, device: str) -> list[tuple[bool, float]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(presence_history.c.online, presence_history.c.ts)
            .where(presence_history.c.device == device)
            .order_by(presence_history.c.id)
        ).all()
    return [(bool(online), ts) for online, ts in rows]


def test_seen_devices_go_online_keep_changed_at_and_never_move_last_seen_back(
    database_url: str,
) -> None:
    engine = make_engine(database_url)
    try:
        states = SqlStateStore(engine)
        at = [T0 + timedelta(seconds=s) for s in range(4)]
        states.record([Reading("pump-1", "power", 10.0, "W", at[1])])
        assert presence_row(engine, "pump-1") == (at[1].timestamp(), True, at[1].timestamp())
        assert history(engine, "pump-1") == []  # a new device has no transition to record

        states.record([Reading("pump-1", "power", 11.0, "W", at[3])])
        states.record([Reading("pump-1", "power", 9.0, "W", at[2])])  # late, older reading
        # still online since at[1]; last seen stays at the newest time
        assert presence_row(engine, "pump-1") == (at[3].timestamp(), True, at[1].timestamp())
        states.record([], [Presence("pump-1", False, at[3])])
        later = T0 + timedelta(minutes=5)
        states.record(
            [
                Reading("pump-1", "power", 12.0, "W", later - timedelta(seconds=1)),
                Reading("pump-1", "voltage", 230.0, "V", later),
                Reading("pump-2", "power", 1.0, "W", later),
            ]
        )
        # back online: one history line at the batch's newest time, changed_at moves there
        assert history(engine, "pump-1") == [
            (False, at[3].timestamp()),
            (True, later.timestamp()),
        ]
        assert presence_row(engine, "pump-1") == (later.timestamp(), True, later.timestamp())
        assert presence_row(engine, "pump-2") == (later.timestamp(), True, later.timestamp())
    finally:
        engine.dispose()


def test_readings_written_in_batches_keep_one_point_per_series_and_time(
    database_url: str,
) -> None:
    engine = make_engine(database_url)
    try:
        store = SqlReadingStore(engine)
        batch = [
            Reading(f"room-{i % 3}", "temperature", 20.0 + i, "degC", T0 + timedelta(seconds=i))
            for i in range(9)
        ]
        store.write(batch)
        store.write(batch[:4])  # a redelivery writes nothing twice
        page = store.query(device="room-1", limit=10)
        assert page.total == 3
        assert [(r.value, r.ts) for r in page.items] == [
            (21.0, T0 + timedelta(seconds=1)),
            (24.0, T0 + timedelta(seconds=4)),
            (27.0, T0 + timedelta(seconds=7)),
        ]
    finally:
        engine.dispose()


def test_batches_larger_than_one_chunk_end_as_row_by_row_writes_would(database_url: str) -> None:
    """SQLite writes whole chunks as multi-row VALUES; duplicates inside a batch and devices
    coming back online must come out exactly as a row-at-a-time write leaves them."""
    engine = make_engine(database_url)
    try:
        store, states = SqlReadingStore(engine), SqlStateStore(engine)
        first = [
            Reading(f"meter-{i % 10}", "power", float(i), "W", T0 + timedelta(seconds=i // 10))
            for i in range(200)
        ]
        repeats = [  # same points again with other values: the stored first value is kept
            Reading(r.device, r.metric, -1.0, "W", r.ts) for r in first[:30]
        ]
        store.write(first + repeats)
        assert store.count() == 200
        page = store.query(device="meter-3", limit=1)
        assert [(r.value, r.ts) for r in page.items] == [(3.0, T0)]
        twice = Reading("pump-9", "power", 5.0, "W", T0)  # both in one two-row statement
        store.write([twice, Reading("pump-9", "power", 6.0, "W", T0)])
        assert [r.value for r in store.query(device="pump-9").items] == [5.0]

        devices = [f"room-{i:03d}" for i in range(130)]
        states.record([Reading(d, "temperature", 20.0, "degC", T0) for d in devices])
        states.record([], [Presence(d, False, T0 + timedelta(seconds=1)) for d in devices[:5]])
        later = T0 + timedelta(minutes=1)
        states.record([Reading(d, "temperature", 21.0, "degC", later) for d in devices])
        for device in devices[:5]:
            assert history(engine, device) == [
                (False, (T0 + timedelta(seconds=1)).timestamp()),
                (True, later.timestamp()),
            ]
            assert presence_row(engine, device) == (later.timestamp(), True, later.timestamp())
        for device in devices[5:]:
            assert history(engine, device) == []
            assert presence_row(engine, device) == (later.timestamp(), True, T0.timestamp())
    finally:
        engine.dispose()
