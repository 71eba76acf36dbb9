"""Database engine, sessions and migrations for the maintenance service."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from facility.errors import ServiceUnavailable
from gateway.stores.sql import make_engine

__all__ = ["SessionFactory", "alembic_config", "connect", "upgrade"]

log = logging.getLogger(__name__)

SessionFactory = Callable[[], Session]
_SCRIPT_LOCATION = Path(__file__).parent / "alembic"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_SCRIPT_LOCATION))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def connect(url: str) -> tuple[Engine, sessionmaker[Session]]:
    """Engine and session factory; ServiceUnavailable with the URL (no password) if down."""
    engine = make_engine(url)
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


def upgrade(engine: Engine, revision: str = "head") -> list[str]:
    """Run Alembic migrations to ``revision``; returns the tables that exist afterwards."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    return sorted(inspect(engine).get_table_names())
