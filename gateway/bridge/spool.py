"""The bridge's local spool: an on-disk, bounded, first-in-first-out queue of MQTT messages.

Every message the bridge polls is written here before it is published, and deleted only when
the broker acknowledges it (QoS 1 PUBACK). So a broker that is unreachable, slow or restarting,
a bridge that is restarted, or a WAN link that drops for a day, loses nothing that fits in the
bound, and the replay after reconnection is in the order the readings were polled (the rowid).

SQLite (stdlib ``sqlite3``) in WAL mode rather than append-only files: deleting acknowledged
messages, dropping the oldest and finding the next batch are each one indexed statement, and a
crash mid-write leaves the previous state. ``synchronous=NORMAL`` survives a crash of the
process; a power cut may lose the last few transactions (WAL semantics), which on an SD card is
the better trade than an fsync per poll.

The bound is in bytes (topic + payload + a fixed per-row overhead). When a write would pass it,
the **oldest** messages are dropped (a plant-room bridge that was cut off for a week keeps the
latest readings, which are the ones a work order needs), counted in :attr:`Spool.dropped` and
logged once per episode.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

from facility.core.errors import ConfigError

__all__ = ["ROW_OVERHEAD", "Spool", "SpoolRow"]

log = logging.getLogger(__name__)

#: bytes counted per message on top of topic and payload (rowid, lengths, page slack)
ROW_OVERHEAD = 32

SpoolRow = tuple[int, str, bytes]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS spool (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    size INTEGER NOT NULL
)
"""


class Spool:
    """A bounded FIFO of ``(topic, payload)`` in ``directory/spool.db``; thread-safe."""

    def __init__(self, directory: Path, *, max_bytes: int) -> None:
        if max_bytes < 1024:
            raise ConfigError(f"--spool-max-bytes {max_bytes} is too small; give at least 1024")
        self.path = directory / "spool.db"
        self.max_bytes = max_bytes
        self.dropped = 0
        self.appended = 0
        self._lock = threading.Lock()
        self._dropping = False
        try:
            directory.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(_SCHEMA)
            self._db.execute("BEGIN IMMEDIATE")  # proves the file is writable, now
            self._db.execute("COMMIT")
            row = self._db.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM spool").fetchone()
        except (OSError, sqlite3.Error) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise ConfigError(
                f"the spool directory {str(directory)!r} cannot be written ({reason}); give "
                "--spool a directory the bridge's user can create and write"
            ) from exc
        self._count, self._bytes = int(row[0]), int(row[1])

    # -- state ------------------------------------------------------------------------------
    @property
    def depth(self) -> int:
        """Messages waiting (not yet acknowledged by the broker)."""
        return self._count

    @property
    def size_bytes(self) -> int:
        return self._bytes

    # -- writing ----------------------------------------------------------------------------
    def append(self, messages: Sequence[tuple[str, bytes]]) -> int:
        """Add messages at the tail; drop the oldest to stay within the bound. Returns drops."""
        if not messages:
            return 0
        rows = [(t, p, len(t.encode()) + len(p) + ROW_OVERHEAD) for t, p in messages]
        added = sum(size for _, _, size in rows)
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT INTO spool (topic, payload, size) VALUES (?, ?, ?)", rows
                )
                self._count += len(rows)
                self._bytes += added
                dropped = self._trim()
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                self._recount()
                raise
            self.appended += len(rows)
            self.dropped += dropped
        if dropped and not self._dropping:
            log.warning(
                "spool is full (%d bytes, bound %d): dropping the oldest messages; "
                "raise --spool-max-bytes or restore the broker link",
                self._bytes,
                self.max_bytes,
            )
        self._dropping = bool(dropped)
        return dropped

    def _trim(self) -> int:
        """Delete the oldest rows until within the bound (inside the caller's transaction)."""
        dropped = 0
        while self._bytes > self.max_bytes and self._count:
            excess = self._bytes - self.max_bytes
            # roughly enough of the oldest rows in one statement; the loop finishes the rest
            cursor = self._db.execute(
                "SELECT id, size FROM spool ORDER BY id LIMIT ?",
                (max(1, min(10_000, excess // 64 + 1)),),
            )
            victims: list[int] = []
            freed = 0
            for row_id, size in cursor:
                victims.append(int(row_id))
                freed += int(size)
                if freed >= excess:
                    break
            self._db.executemany("DELETE FROM spool WHERE id = ?", [(v,) for v in victims])
            self._count -= len(victims)
            self._bytes -= freed
            dropped += len(victims)
        return dropped

    def _recount(self) -> None:
        row = self._db.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM spool").fetchone()
        self._count, self._bytes = int(row[0]), int(row[1])

    # -- reading ----------------------------------------------------------------------------
    def peek(self, *, after: int, limit: int) -> list[SpoolRow]:
        """Up to ``limit`` messages with an id above ``after``, oldest first."""
        with self._lock:
            cursor = self._db.execute(
                "SELECT id, topic, payload FROM spool WHERE id > ? ORDER BY id LIMIT ?",
                (after, limit),
            )
            return [(int(i), str(t), bytes(p)) for i, t, p in cursor]

    def remove(self, ids: Iterable[int]) -> int:
        """Delete acknowledged messages (ids already dropped are ignored). Returns removed."""
        keys = list(ids)
        if not keys:
            return 0
        removed = sizes = 0
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for start in range(0, len(keys), 500):  # SQLite's bound-parameter limit
                    chunk = keys[start : start + 500]
                    marks = ",".join("?" * len(chunk))
                    rows = self._db.execute(
                        f"DELETE FROM spool WHERE id IN ({marks}) RETURNING size",  # noqa: S608
                        chunk,
                    ).fetchall()
                    removed += len(rows)
                    sizes += sum(int(size) for (size,) in rows)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                self._recount()
                raise
            self._count -= removed
            self._bytes -= sizes
            return removed

    def close(self) -> None:
        with self._lock:
            self._db.close()
