"""``facility assets import|export``: the asset register from the shell.

Data goes to stdout (CSV for ``export`` when no ``--out``); progress and error tables go to
stderr. The database is the configured one, as ``serve`` uses. ``facility assets replacement``
ranks equipment from its work orders, so it lives on the read side
(``maintenance/insights/asset_cli.py``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from facility.core.errors import FacilityError
from facility.core.settings import load_settings
from maintenance.shared.cli import NowOption, open_database, parse_now

__all__ = ["register_asset_commands"]

err = Console(stderr=True)
#: The CLI reads files from disk, so it allows more than the API's 1 MiB request body.
CLI_MAX_BYTES = 20 * 1024 * 1024


def import_command(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="CSV file")
    ],
    actor: Annotated[str, typer.Option(help="Recorded as who changed statuses.")] = "cli",
    now: NowOption = None,
) -> None:
    """Upsert assets by code from a CSV file; any bad row and nothing is written.

    Example: facility assets import register.csv
    """
    from maintenance.assets.register_csv import AssetImportRejected, import_assets

    size = file.stat().st_size
    if size > CLI_MAX_BYTES:
        raise FacilityError(f"{file} is {size} bytes; at most {CLI_MAX_BYTES}; split it")
    data = file.read_bytes()
    at = parse_now(now)
    with (
        open_database(load_settings()) as session,
        err.status("checking and importing …") as spinner,
    ):

        def progress(done: int, total: int) -> None:
            spinner.update(f"writing row {done}/{total}")

        try:
            result = import_assets(
                session,
                data=data,
                actor=actor[:64],
                now=at,
                max_bytes=CLI_MAX_BYTES,
                progress=progress,
            )
        except AssetImportRejected as exc:
            table = Table("line", "column", "reason", title=f"{len(exc.errors)} error(s)")
            for error in exc.errors:
                table.add_row(str(error.line), error.column or "-", error.reason)
            spinner.stop()
            err.print(table)
            raise FacilityError(f"nothing imported from {file}: {exc}") from None
    err.print(
        f"[green]✓[/] {result.created} created, {result.updated} updated, "
        f"{result.status_changes} status change(s)"
    )


def export_command(
    out: Annotated[
        Path | None, typer.Option("--out", dir_okay=False, help="Write here (default stdout).")
    ] = None,
    site: Annotated[str | None, typer.Option(help="Only this site's assets.")] = None,
) -> None:
    """Write the register as CSV (the import's columns; formula-looking cells are defused).

    Example: facility assets export --out register.csv
    """
    from maintenance.assets.register_csv import export_assets

    with open_database(load_settings()) as session:
        lines = list(export_assets(session, site=site))
    text = "".join(lines)
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8", newline="")
    err.print(f"[green]✓[/] {max(len(lines) - 1, 0)} asset(s) exported")


def register_asset_commands(app: typer.Typer) -> None:
    """Add the asset-register commands to the ``facility assets`` sub-app."""
    app.command("import")(import_command)
    app.command("export")(export_command)
