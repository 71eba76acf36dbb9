"""``facility assets qr`` and ``facility assets revoke`` run as a facility engineer runs them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from console import Revocations, verify_link
from facility.core.settings import load_settings
from maintenance.assets.register import ensure_asset, ensure_site
from maintenance.shared.db import connect, upgrade
from tests.conftest import missing_service

FACILITY = str(Path(sys.executable).with_name("facility"))
SECRET = "cli-secret-0123456789abcdef0123456789"


def run(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("FACILITY_")}
    env = {**base, "FACILITY_DATA_DIR": str(data_dir), "FACILITY_SECRET_KEY": SECRET}
    return subprocess.run(
        [FACILITY, *args], capture_output=True, text=True, timeout=120, env=env, cwd=data_dir
    )


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data dir whose (SQLite) database holds two assets."""
    settings = load_settings(data_dir=tmp_path, secret_key=SECRET)
    engine, sessions = connect(settings.effective_database_url())
    upgrade(engine)
    with sessions() as session:
        site = ensure_site(session, code="hq")
        ensure_asset(session, code="AHU-1", name="Air handler", site=site)
        ensure_asset(session, code="Room-101", site=site)
        session.commit()
    engine.dispose()
    return tmp_path


def _decode(pdf: Path) -> list[str]:
    """The URLs in the sheet, read back by rasterising it and scanning like a phone would."""
    if shutil.which("pdftoppm") is None or shutil.which("zbarimg") is None:
        missing_service("pdftoppm and zbarimg", "apt-get install -y poppler-utils zbar-tools")
    subprocess.run(
        ["pdftoppm", "-r", "150", "-png", str(pdf), str(pdf.with_suffix(""))],
        check=True,
        capture_output=True,
        timeout=60,
    )
    urls = []
    for image in sorted(pdf.parent.glob(f"{pdf.stem}*.png")):
        result = subprocess.run(
            ["zbarimg", "-q", "--raw", str(image)], capture_output=True, text=True, timeout=60
        )
        urls.extend(line for line in result.stdout.splitlines() if line)
    return urls


def test_the_sticker_sheet_holds_one_scannable_signed_link_per_asset(data_dir: Path) -> None:
    out = data_dir / "stickers.pdf"
    result = run(data_dir, "assets", "qr", "--base-url", "https://fm.example.org/", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "2 stickers written" in result.stderr
    urls = sorted(_decode(out))
    assert len(urls) == 2
    assets = set()
    for url in urls:
        assert url.startswith("https://fm.example.org/console/r/v1.")
        assets.add(verify_link(url.rsplit("/", 1)[1], secret=SECRET).asset_id)
    assert assets == {1, 2}


def test_the_sheet_can_be_limited_to_named_assets_and_written_to_stdout(data_dir: Path) -> None:
    result = subprocess.run(
        [FACILITY, "assets", "qr", "--base-url", "http://10.0.0.5:8000", "-a", "AHU-1", "-o", "-"],
        capture_output=True,
        timeout=120,
        cwd=data_dir,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("FACILITY_")},
            "FACILITY_DATA_DIR": str(data_dir),
            "FACILITY_SECRET_KEY": SECRET,
        },
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(b"%PDF-1.4")
    assert b"(AHU-1) Tj" in result.stdout and b"(Room-101) Tj" not in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--base-url", "ftp://fm.example.org"], "is not an http(s) URL"),
        (["--base-url", "not a url"], "is not an http(s) URL"),
        (["--base-url", "https://fm.example.org/?x=1"], "is not an http(s) URL"),
        (["--base-url", "https://fm.example.org", "-a", "NOPE"], "no asset with code NOPE"),
        (["--base-url", "https://fm.example.org", "-o", "/nonexistent/dir/s.pdf"], "cannot write"),
    ],
)
def test_bad_qr_options_fail_with_one_clear_line(
    data_dir: Path, args: list[str], message: str
) -> None:
    result = run(data_dir, "assets", "qr", *args)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_sheet_of_no_assets_is_refused(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, secret_key=SECRET)
    engine, _ = connect(settings.effective_database_url())
    upgrade(engine)
    engine.dispose()
    result = run(tmp_path, "assets", "qr", "--base-url", "https://fm.example.org")
    assert result.returncode == 1
    assert "there are no assets yet" in result.stderr


def test_revoking_an_assets_links_is_recorded_for_the_running_console(data_dir: Path) -> None:
    result = run(data_dir, "assets", "revoke", "AHU-1")
    assert result.returncode == 0, result.stderr
    recorded = json.loads((data_dir / "report-links.json").read_text())
    assert list(recorded) == ["1"]
    assert Revocations(data_dir / "report-links.json").not_before(1) > 0


def test_revoking_an_unknown_asset_fails_clearly(data_dir: Path) -> None:
    result = run(data_dir, "assets", "revoke", "NOPE")
    assert result.returncode == 1
    assert "no asset with code 'NOPE'" in result.stderr


@pytest.mark.parametrize("command", [["assets", "qr"], ["assets", "revoke"]])
def test_asset_commands_have_help_with_an_example(data_dir: Path, command: list[str]) -> None:
    result = run(data_dir, *command, "--help")
    assert result.returncode == 0
    assert "Example" in result.stdout
