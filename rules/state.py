"""Rule state in a SQL table, so a restart keeps pending windows, firing alerts and baselines.

The engine is passed in (built by the composition root from the configured database URL); the
tables belong to their own :class:`~sqlalchemy.MetaData` and are created with ``create_all``, so
the rules package needs neither maintenance's models nor its migrations.

Rows are keyed by (rule, scope, key): scope ``eval`` is a rule kind's state for one device or
asset, ``gate`` the alert life cycle of one (rule, asset), ``seen`` a device's last-seen time.
Each row carries the rule's fingerprint; a row whose rule has since changed is ignored on
restore. Writes are upserts, last writer wins per row: with several gateway workers each device's
rows should be written by one worker at a time (see docs/rules.md, "Several gateway workers").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from facility.core.errors import ServiceUnavailable
from facility.core.types import Alert

__all__ = ["RuleStateStore", "StateRow"]

metadata = sa.MetaData()

rule_state = sa.Table(
    "rules_state",
    metadata,
    sa.Column("rule", sa.String(100), primary_key=True),
    sa.Column("scope", sa.String(8), primary_key=True),
    sa.Column("key", sa.String(300), primary_key=True),
    sa.Column("fingerprint", sa.String(32), nullable=False),
    sa.Column("data", sa.Text, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

suppressed_alerts = sa.Table(
    "rules_suppressed",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("rule", sa.String(100), nullable=False, index=True),
    sa.Column("device", sa.String(200), nullable=False),
    sa.Column("asset", sa.String(200), nullable=False, index=True),
    sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
    sa.Column("reason", sa.String(200), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("value", sa.Float, nullable=True),
    sa.Column("message", sa.Text, nullable=False),
)


@dataclass(frozen=True, slots=True)
class StateRow:
    rule: str
    scope: str
    key: str
    fingerprint: str
    data: dict[str, Any]


class RuleStateStore:
    """Reads and writes rule state rows; see the module docstring."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        try:
            metadata.create_all(engine)
        except sa.exc.SQLAlchemyError as exc:
            raise ServiceUnavailable(
                f"cannot create the rules state tables at {engine.url!r} "
                f"({type(exc).__name__}); check FACILITY_DATABASE_URL"
            ) from exc

    def load(self) -> list[StateRow]:
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(sa.select(rule_state)).all()
        except sa.exc.SQLAlchemyError as exc:
            raise ServiceUnavailable(
                f"cannot read rule state from {self.engine.url!r} ({type(exc).__name__}); "
                "check FACILITY_DATABASE_URL"
            ) from exc
        found = []
        for row in rows:
            try:
                data = orjson.loads(row.data)
            except orjson.JSONDecodeError:
                continue
            if isinstance(data, dict):
                found.append(StateRow(row.rule, row.scope, row.key, row.fingerprint, data))
        return found

    def save(
        self,
        rows: Sequence[StateRow],
        deletes: Iterable[tuple[str, str, str]] = (),
        *,
        forgotten_rules: Iterable[str] = (),
        suppressed: Sequence[Alert] = (),
    ) -> None:
        """Apply one flush in one transaction: forget rules, delete rows, upsert rows."""
        now = datetime.now(UTC)
        try:
            self._save(rows, list(deletes), list(forgotten_rules), suppressed, now)
        except sa.exc.SQLAlchemyError as exc:
            raise ServiceUnavailable(
                f"cannot write rule state to {self.engine.url!r} ({type(exc).__name__}); "
                "the changes are kept and written on the next flush"
            ) from exc

    def _save(
        self,
        rows: Sequence[StateRow],
        deletes: list[tuple[str, str, str]],
        forgotten_rules: list[str],
        suppressed: Sequence[Alert],
        now: datetime,
    ) -> None:
        with self.engine.begin() as conn:
            for name in forgotten_rules:
                conn.execute(sa.delete(rule_state).where(rule_state.c.rule == name))
            if deletes:
                conn.execute(
                    sa.delete(rule_state).where(
                        rule_state.c.rule == sa.bindparam("r"),
                        rule_state.c.scope == sa.bindparam("s"),
                        rule_state.c.key == sa.bindparam("k"),
                    ),
                    [{"r": r, "s": s, "k": k} for r, s, k in deletes],
                )
            if rows:
                self._upsert(conn, rows, now)
            if suppressed:
                conn.execute(
                    sa.insert(suppressed_alerts),
                    [
                        {
                            "rule": alert.rule,
                            "device": alert.device,
                            "asset": alert.asset,
                            "ts": alert.ts,
                            "reason": alert.reason[:200],
                            "severity": alert.severity.value,
                            "value": alert.value,
                            "message": alert.message,
                        }
                        for alert in suppressed
                    ],
                )

    def _upsert(self, conn: Connection, rows: Sequence[StateRow], now: datetime) -> None:
        values = [
            {
                "rule": row.rule,
                "scope": row.scope,
                "key": row.key,
                "fingerprint": row.fingerprint,
                "data": orjson.dumps(row.data).decode(),
                "updated_at": now,
            }
            for row in rows
        ]
        dialect = conn.dialect.name
        if dialect in ("sqlite", "postgresql"):
            dialect_insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
            stmt = dialect_insert(rule_state)
            stmt = stmt.on_conflict_do_update(
                index_elements=["rule", "scope", "key"],
                set_={
                    "fingerprint": stmt.excluded.fingerprint,
                    "data": stmt.excluded.data,
                    "updated_at": stmt.excluded.updated_at,
                },
            )
            conn.execute(stmt, values)
            return
        conn.execute(
            sa.delete(rule_state).where(
                rule_state.c.rule == sa.bindparam("r"),
                rule_state.c.scope == sa.bindparam("s"),
                rule_state.c.key == sa.bindparam("k"),
            ),
            [{"r": v["rule"], "s": v["scope"], "k": v["key"]} for v in values],
        )
        conn.execute(sa.insert(rule_state), values)

    def suppressed(self, *, limit: int = 100) -> list[dict[str, Any]]:
        """The most recent suppressed alerts, newest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(suppressed_alerts)
                .order_by(suppressed_alerts.c.id.desc())
                .limit(max(1, min(limit, 10_000)))
            ).all()
        return [dict(row._mapping) for row in rows]
