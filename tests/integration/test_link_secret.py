"""QR report links are signed with their own secret: rotating the session secret spares stickers."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from console import LinkError, sign_link, verify_link
from console._links import LINK_SECRET_FILE, ensure_link_secret
from console.cli import report_links
from facility.core.settings import load_settings
from maintenance.assets.register import ensure_asset, ensure_site
from maintenance.people.users import ensure_secret_key
from maintenance.shared.db import connect, upgrade

SESSION = "session-secret-0123456789abcdef0123"


def test_a_new_installation_gets_its_own_private_link_secret(tmp_path: Path) -> None:
    key = ensure_link_secret(configured=None, data_dir=tmp_path, session_secret=None)
    path = tmp_path / LINK_SECRET_FILE
    assert path.read_text(encoding="utf-8") == key and len(key) >= 40
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    session = ensure_secret_key(load_settings(data_dir=tmp_path))
    assert session != key
    assert ensure_link_secret(configured=None, data_dir=tmp_path, session_secret=session) == key


def test_an_existing_installation_keeps_its_printed_stickers_across_a_session_rotation(
    tmp_path: Path,
) -> None:
    old_session = ensure_secret_key(load_settings(data_dir=tmp_path))  # before the split
    printed = sign_link(secret=old_session, asset_id=7, issued_at=1_700_000_000)
    key = ensure_link_secret(configured=None, data_dir=tmp_path, session_secret=None)
    assert key == old_session, "seeded with the secret the stickers were signed with"
    (tmp_path / "secret_key").write_text("rotated-session-secret-0123456789abcdef")
    after = ensure_link_secret(configured=None, data_dir=tmp_path, session_secret=None)
    assert verify_link(printed, secret=after).asset_id == 7


def test_a_configured_secret_wins_and_voids_links_signed_otherwise(tmp_path: Path) -> None:
    seeded = ensure_link_secret(configured=None, data_dir=tmp_path, session_secret=SESSION)
    assert seeded == SESSION
    link = sign_link(secret=seeded, asset_id=1)
    chosen = ensure_link_secret(
        configured="operator-chosen-qr-secret-0123456789", data_dir=tmp_path, session_secret=SESSION
    )
    assert chosen == "operator-chosen-qr-secret-0123456789"
    with pytest.raises(LinkError, match="not signed by this installation"):
        verify_link(link, secret=chosen)


def test_the_sticker_command_signs_with_the_link_secret(tmp_path: Path) -> None:
    settings = load_settings(
        data_dir=tmp_path, qr_secret="operator-chosen-qr-secret-0123456789", secret_key=SESSION
    )
    engine, sessions = connect(settings.effective_database_url())
    upgrade(engine)
    with sessions() as session:
        ensure_asset(
            session, code="AHU-1", name="Air handler", site=ensure_site(session, code="hq")
        )
        session.commit()
    engine.dispose()
    (sticker,) = report_links(settings, base_url="https://fm.example.org")
    token = sticker.url.rsplit("/", 1)[1]
    assert verify_link(token, secret="operator-chosen-qr-secret-0123456789").asset_id == 1
    with pytest.raises(LinkError):
        verify_link(token, secret=SESSION)
