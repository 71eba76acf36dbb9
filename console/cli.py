"""``facility assets``: QR sticker sheets with signed report links, and revoking those links."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import sqlalchemy as sa
import typer
from rich.console import Console

from console._links import Revocations, ensure_link_secret, sign_link
from console._qrsheet import Sticker, qr_sheet_pdf
from console._render import PREFIX
from facility.core.errors import ConfigError, FacilityError
from facility.core.settings import Settings, load_settings

__all__ = ["app", "report_links"]

err = Console(stderr=True)
app = typer.Typer(
    help="Assets: the register (import, export, replacement plan) and QR stickers for reports.",
    no_args_is_help=True,
)

REVOCATIONS_FILE = "report-links.json"


def _settings() -> Settings:
    return load_settings()


def _check_base_url(base_url: str) -> str:
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
        raise ConfigError(
            f"--base-url {base_url[:80]!r} is not an http(s) URL; give the address people's "
            "phones reach the console at, e.g. --base-url https://facility.example.org"
        )
    return base_url.rstrip("/")


def report_links(
    settings: Settings, *, base_url: str, codes: list[str] | None = None
) -> list[Sticker]:
    """One signed report link per asset (all assets, or those named in ``codes``)."""
    from maintenance.assets.models import Asset
    from maintenance.shared.db import connect

    secret = ensure_link_secret(
        configured=settings.qr_secret.get_secret_value() if settings.qr_secret else None,
        data_dir=settings.data_dir,
        session_secret=settings.secret_key.get_secret_value() if settings.secret_key else None,
    )
    engine, sessions = connect(settings.effective_database_url())
    try:
        with sessions() as session:
            query = sa.select(Asset.id, Asset.code, Asset.name).order_by(Asset.code)
            if codes:
                query = query.where(Asset.code.in_(codes))
            rows = session.execute(query).all()
    except sa.exc.SQLAlchemyError as exc:
        raise FacilityError(
            f"cannot read the assets ({type(exc).__name__}); run `facility db upgrade` first"
        ) from exc
    finally:
        engine.dispose()
    found = {str(row[1]) for row in rows}
    unknown = sorted(set(codes or ()) - found)
    if unknown:
        raise FacilityError(f"no asset with code {', '.join(unknown)}; check `facility assets`")
    issued = int(time.time())
    stickers = []
    for aid, code, name in rows:
        token = sign_link(secret=secret, asset_id=int(aid), issued_at=issued)
        url = f"{base_url}{PREFIX}/r/{token}"
        stickers.append(Sticker(code=str(code), name=str(name), url=url))
    return stickers


@app.command("qr")
def qr(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="PDF file to write; '-' for stdout.")
    ] = Path("qr-stickers.pdf"),
    base_url: Annotated[
        str | None,
        typer.Option(help="Public address of the console (default: the API host and port)."),
    ] = None,
    asset: Annotated[
        list[str] | None, typer.Option("--asset", "-a", help="Only this asset code (repeatable).")
    ] = None,
) -> None:
    """Print a PDF sheet of QR stickers, one per asset, each opening that asset's report form.

    The links need no account; they are signed with the QR link secret (FACILITY_QR_SECRET, else
    <data dir>/qr_secret; rotating FACILITY_SECRET_KEY leaves them valid), name one asset, and
    can be withdrawn with `facility assets revoke CODE`.

    Example: facility assets qr --base-url https://facility.example.org -o stickers.pdf
    """
    settings = _settings()
    if base_url is None:
        base_url = f"http://{settings.api_host}:{settings.api_port}"
        err.print(f"[yellow]![/] links point at {base_url}; pass --base-url for a public address")
    stickers = report_links(settings, base_url=_check_base_url(base_url), codes=asset or None)
    if not stickers:
        raise FacilityError("there are no assets yet; register some (or run the demo) first")
    pdf = qr_sheet_pdf(stickers)
    if str(out) == "-":
        sys.stdout.buffer.write(pdf)
        sys.stdout.buffer.flush()
    else:
        try:
            out.write_bytes(pdf)
        except OSError as exc:
            raise FacilityError(f"cannot write {out}: {exc.strerror}") from exc
        err.print(f"[green]✓[/] {len(stickers)} stickers written to {out}")


@app.command("revoke")
def revoke(
    code: Annotated[str, typer.Argument(help="Asset code whose report links to withdraw.")],
) -> None:
    """Withdraw every report link printed so far for one asset (print new stickers after).

    Example: facility assets revoke AHU-1
    """
    from maintenance.assets.models import Asset
    from maintenance.shared.db import connect

    settings = _settings()
    engine, sessions = connect(settings.effective_database_url())
    try:
        with sessions() as session:
            asset_id = session.scalar(sa.select(Asset.id).where(Asset.code == code))
    finally:
        engine.dispose()
    if asset_id is None:
        raise FacilityError(f"no asset with code {code[:80]!r}")
    Revocations(settings.data_dir / REVOCATIONS_FILE).revoke(asset_id)
    err.print(f"[green]✓[/] report links of {code} issued until now no longer work")
