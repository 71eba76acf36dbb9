"""No person can be created under a name the system writes into audit trails."""

from __future__ import annotations

from pathlib import Path

import pytest

from facility.core.errors import FacilityError
from maintenance.people.users import WeakPassword, create_user
from maintenance.shared.db import connect, upgrade
from maintenance.shared.vocabulary import Role

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("name", ["rules", "system", "qr-link", "Dispatch"])
def test_reserved_actor_names_cannot_be_users(tmp_path: Path, name: str) -> None:
    engine, sessions = connect(f"sqlite:///{tmp_path / 'facility.db'}")
    upgrade(engine)
    try:
        with sessions() as session, pytest.raises(FacilityError, match="reserved"):
            create_user(session, username=name, password="chiller plant rooftop", role=Role.TECH)
        with sessions() as session, pytest.raises(WeakPassword):
            create_user(session, username="li.na", password="12345678", role=Role.TECH)
        with sessions() as session:
            create_user(session, username="li.na", password="chiller plant rooftop", role=Role.TECH)
    finally:
        engine.dispose()


def test_a_new_sqlite_database_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "facility.db"
    engine, _sessions = connect(f"sqlite:///{path}")
    try:
        upgrade(engine)  # password hashes and API-key digests land in this file
    finally:
        engine.dispose()
    assert path.stat().st_mode & 0o777 == 0o600
