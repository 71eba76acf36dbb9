"""``facility assets import|export|import-brick|export-brick``: the asset register from the shell.

Data goes to stdout (CSV for ``export``, Turtle for ``export-brick``, when no ``--out``);
progress, reports and error tables go to stderr. The database is the configured one, as
``serve`` uses. ``facility assets replacement`` ranks equipment from its work orders, so it lives
on the read side (``maintenance/insights/asset_cli.py``).
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


def import_brick_command(
    model: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="Brick Turtle file")
    ],
    site: Annotated[
        str | None, typer.Option(help="Site code (default: the model's one brick:Site).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check and report; write nothing.")
    ] = False,
    connectors_out: Annotated[
        Path | None,
        typer.Option(dir_okay=False, help="Write a draft BACnet connectors file for the points."),
    ] = None,
    actor: Annotated[str, typer.Option(help="Recorded as who created the assets.")] = "cli",
    now: NowOption = None,
) -> None:
    """Build the asset tree, feeds and device links from a Brick model; any error, no change.

    Re-importing the same model updates what the first import created (codes come from the
    IRIs' local names). The report on stderr lists what could not be mapped.

    Example: facility assets import-brick building.ttl --site hq --dry-run
    """
    from maintenance.assets.brick import BrickModelRejected, import_brick
    from maintenance.assets.brick_report import connectors_draft, report_lines

    size = model.stat().st_size
    if size > CLI_MAX_BYTES:
        raise FacilityError(f"{model} is {size} bytes; at most {CLI_MAX_BYTES}; split it")
    data = model.read_bytes()
    at = parse_now(now)
    with open_database(load_settings()) as session, err.status("reading the model …") as spinner:

        def progress(done: int, total: int) -> None:
            spinner.update(f"writing asset {done}/{total}")

        try:
            result, plan = import_brick(
                session,
                data=data,
                site=site,
                actor=actor[:64],
                now=at,
                dry_run=dry_run,
                source=model.name,
                max_bytes=CLI_MAX_BYTES,
                progress=progress,
            )
        except BrickModelRejected as exc:
            spinner.stop()
            for problem in exc.problems[:50]:
                err.print(f"  [red]✗[/] {problem}", markup=True, highlight=False)
            raise FacilityError(f"nothing imported from {model}: {exc}") from None
    for line in report_lines(result, plan):
        err.print(line, markup=False, highlight=False, soft_wrap=True)
    if connectors_out is not None:
        draft = connectors_draft(plan)
        connectors_out.write_text(draft, encoding="utf-8")
        err.print(f"draft BACnet connectors written to {connectors_out}", markup=False)
    verb = "would be" if dry_run else "were"
    err.print(
        f"[green]✓[/] {result.created} asset(s) {verb} created, {result.updated} updated, "
        f"{result.feeds_created} feed(s) added, {result.devices_linked} device(s) linked"
    )


def export_brick_command(
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", dir_okay=False, help="Write here (default stdout)."),
    ] = None,
    site: Annotated[str | None, typer.Option(help="Only this site's assets.")] = None,
) -> None:
    """Write the register as a Brick Turtle model (tree, feeds, devices' points).

    Points are the metrics the reading store's device states know for each linked device.

    Example: facility assets export-brick -o building.ttl
    """
    from maintenance.assets.brick_export import export_brick
    from maintenance.shared.cli import open_readings

    settings = load_settings()
    metrics: dict[str, list[str]] = {}
    try:
        with open_readings(settings) as store:
            list_states = getattr(store, "list_states", None)
            if callable(list_states):
                for state in list_states():
                    metrics[state.device] = sorted(state.values)
    except FacilityError as exc:  # the register is still worth exporting without them
        err.print(
            f"[yellow]![/] device metrics unavailable ({exc}); each device exported as one "
            "brick:Point",
            highlight=False,
        )
    with open_database(settings) as session:
        text = export_brick(session, site=site, metrics=metrics)
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
    err.print(f"[green]✓[/] Brick model written{f' to {out}' if out else ''}")


def register_asset_commands(app: typer.Typer) -> None:
    """Add the asset-register commands to the ``facility assets`` sub-app."""
    app.command("import")(import_command)
    app.command("export")(export_command)
    app.command("import-brick")(import_brick_command)
    app.command("export-brick")(export_brick_command)
