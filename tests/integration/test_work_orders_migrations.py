"""Migrations: 0002 upgrades and downgrades cleanly and leaves the schema equal to the models."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from maintenance.shared.base import Base
from maintenance.shared.db import alembic_config, connect, upgrade


def test_the_schema_round_trips_through_0001_and_matches_the_models(database_url: str) -> None:
    engine, _ = connect(database_url)
    try:
        tables = upgrade(engine)
        config = alembic_config(engine.url.render_as_string(hide_password=False))
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0001")
        with engine.connect() as connection:
            after_downgrade = set(MigrationContext.configure(connection).get_current_heads())
        assert upgrade(engine) == tables
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()
    assert after_downgrade == {"0001"}
    assert {"outbox", "deliveries", "checklist_items", "attachments", "api_keys"} <= set(tables)
    assert differences == []
