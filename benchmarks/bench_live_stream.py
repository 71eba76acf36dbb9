"""Bytes the console's live stream sends per tick, before and after issue 17's fixes.

Before: a flood of unknown device ids became one auto-created asset each (the ``device: "*"``
heartbeat rule's alerts), and every tick sent the whole state. After: unknown devices stay
quarantined (no asset, so not on the overview) and a tick sends only what changed since the
one before. Measured on the embedded SQLite stores with ``site`` real assets, each with one
device, plus ``flood`` unknown devices that all report:

* ``before``: the flood as auto-created assets, whole state every tick (the old stream);
* ``after_first``: the first event of a stream now (everything on the overview, once);
* ``after_quiet``: a later tick when nothing changed;
* ``after_busy``: a later tick when every real device sent a new value.

Run: .venv/bin/python -m benchmarks.bench_live_stream [--flood 5000] [--site 20]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from console._i18n import localizer
from console.pages.live import changes, snapshot
from facility.core.types import Presence, Reading
from gateway.stores.sql import SqlReadingStore, SqlStateStore, make_engine
from maintenance.assets.register import ensure_asset, link_device
from maintenance.people.deps import ApiContext
from maintenance.shared.db import connect, upgrade


def _bytes(payload: dict[str, Any]) -> int:
    return len(f"event: snapshot\ndata: {json.dumps(payload, ensure_ascii=False)}\n\n".encode())


def measure(*, flood: int, site: int) -> dict[str, int]:
    loc = localizer("en")
    with tempfile.TemporaryDirectory() as tmp:
        engine, sessions = connect(f"sqlite:///{Path(tmp) / 'facility.db'}")
        upgrade(engine)
        readings_engine = make_engine(f"sqlite:///{Path(tmp) / 'readings.db'}")
        states = SqlStateStore(readings_engine)
        context = ApiContext(
            sessions=sessions, readings=SqlReadingStore(readings_engine), states=states, secret="x"
        )
        now = datetime.now(UTC)
        real = [f"room-{n}" for n in range(site)]
        flooded = [f"flood-{n:05d}" for n in range(flood)]
        with sessions() as session:
            for device in real:
                link_device(
                    session, device=device, asset=ensure_asset(session, code=device.upper())
                )
            for device in flooded:
                link_device(session, device=device, asset=None)  # quarantined
            session.commit()

        def report(devices: list[str], value: float) -> None:
            batch = [Reading(d, "temperature", value, "degC", now) for d in devices]
            states.record(batch, [Presence(d, True, now) for d in devices])

        report(real + flooded, 21.5)
        first = snapshot(context, loc)
        after_first = _bytes(changes({}, first))
        quiet = snapshot(context, loc)
        after_quiet = _bytes(changes(first, quiet))
        now += timedelta(seconds=2)
        report(real, 22.0)
        busy = snapshot(context, loc)
        after_busy = _bytes(changes(quiet, busy))

        with sessions() as session:  # the old world: each flood id became its own asset
            for device in flooded:
                link_device(session, device=device, asset=ensure_asset(session, code=device))
            session.commit()
        before = _bytes(snapshot(context, loc))
        readings_engine.dispose()
        engine.dispose()
    return {
        "flood": flood,
        "site": site,
        "before": before,
        "after_first": after_first,
        "after_quiet": after_quiet,
        "after_busy": after_busy,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flood", type=int, default=5000, help="unknown devices reporting")
    parser.add_argument("--site", type=int, default=20, help="real assets, one device each")
    args = parser.parse_args()
    print(json.dumps(measure(flood=args.flood, site=args.site)))


if __name__ == "__main__":
    main()
