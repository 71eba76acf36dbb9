"""Database engine, sessions and migrations for the maintenance service."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, inspect
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from facility.core.errors import ServiceUnavailable
from gateway.stores.sql import make_engine

__all__ = ["SessionFactory", "alembic_config", "connect", "upgrade"]

log = logging.getLogger(__name__)

SessionFactory = Callable[[], Session]
_SCRIPT_LOCATION = Path(__file__).parents[1] / "alembic"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_SCRIPT_LOCATION))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def connect(url: str) -> tuple[Engine, sessionmaker[Session]]:
    """Engine and session factory; ServiceUnavailable with the URL (no password) if down."""
    engine = make_engine(url)
    if engine.dialect.name == "sqlite":
        _begin_immediate(engine)
    try:
        with engine.connect():
            pass
    except OperationalError as exc:
        shown = engine.url.render_as_string(hide_password=True)
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise ServiceUnavailable(
            f"cannot reach database at {shown} ({reason}); start it or set FACILITY_DATABASE_URL"
        ) from exc
    return engine, sessionmaker(engine, expire_on_commit=False)


def _begin_immediate(engine: Engine) -> None:
    """Make every SQLite transaction take the write lock at BEGIN.

    SQLite's default deferred transaction reads first and upgrades to a writer later; if another
    connection wrote in between, the upgrade fails at once with "database is locked" (the busy
    timeout does not apply). Taking the lock up front turns racing writers into a queue, which is
    what the one-open-order rule and the audit trail need from the embedded database.
    """

    @event.listens_for(engine, "connect")
    def _no_implicit_begin(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def upgrade(engine: Engine, revision: str = "head") -> list[str]:
    """Run Alembic migrations to ``revision``; returns the tables that exist afterwards."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    return sorted(inspect(engine).get_table_names())
