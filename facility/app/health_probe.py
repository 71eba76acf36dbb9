"""A background prober that keeps the database's health on the board, off the request path.

``/healthz`` used to run ``SELECT 1`` in the request; with a locked SQLite file or a PostgreSQL
server that stopped answering, that request waited the busy or connect timeout, so the health
check stalled exactly when it was needed. Here a thread asks every ``interval_s`` and writes the
answer to the :class:`~facility.core.health.HealthBoard`; the endpoints only read it.
"""

from __future__ import annotations

import logging
import os
import threading

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from facility.core.health import HealthBoard

__all__ = ["DatabaseProbe"]

log = logging.getLogger(__name__)


class DatabaseProbe:
    """Reports ``database`` (reachable; critical for readiness) and, for a SQLite file,
    ``database_writes`` (the file is writable; degraded only: reads still work)."""

    def __init__(self, engine: Engine, board: HealthBoard, *, interval_s: float = 2.0) -> None:
        self.engine = engine
        self.board = board
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="health-probe", daemon=True)
        database = engine.url.database if engine.dialect.name == "sqlite" else None
        self._sqlite_file = database if database and database != ":memory:" else None

    def start(self) -> DatabaseProbe:
        self.probe()  # the first answer is there before the API serves
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def probe(self) -> None:
        """One round: never raises, the board gets the reason."""
        shown = self.engine.url.render_as_string(hide_password=True)
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        except SQLAlchemyError as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:200]
            self.board.report(
                "database",
                False,
                f"cannot reach {shown} ({reason}); start it or set FACILITY_DATABASE_URL",
                critical=True,
            )
        else:
            self.board.report("database", True, "reachable", critical=True)
        if self._sqlite_file is not None:
            if os.access(self._sqlite_file, os.W_OK) or not os.path.exists(self._sqlite_file):
                self.board.report("database_writes", True, "the database file is writable")
            else:
                self.board.report(
                    "database_writes",
                    False,
                    f"{self._sqlite_file} is read-only (disk remounted, immutable or not ours); "
                    "writes answer 503 until it is writable again",
                )

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.probe()
