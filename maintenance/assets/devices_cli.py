"""``facility devices list|admit``: the quarantine from the shell.

An unknown device is *unassigned* (quarantined) until admitted: its readings are stored, but it
opens no work order. ``list --unassigned`` shows the ones waiting; ``admit ID --asset CODE``
links one to an existing asset, which admits it (``serve`` picks the link up within seconds).
Data goes to stdout as JSON Lines; tables and messages go to stderr. The database is the
configured one, as ``serve`` uses.
"""

from __future__ import annotations

import getpass
from typing import Annotated

import typer
from rich.table import Table

from facility.core.settings import load_settings
from maintenance.assets import devices
from maintenance.shared.cli import emit, err, open_database

__all__ = ["devices_app"]

devices_app = typer.Typer(
    help="Devices: list them, admit quarantined ones to an asset.", no_args_is_help=True
)


@devices_app.command("list")
def list_command(
    unassigned: Annotated[
        bool, typer.Option("--unassigned", help="Only quarantined devices (no asset yet).")
    ] = False,
    q: Annotated[str | None, typer.Option(help="Only ids containing this text.")] = None,
    limit: Annotated[
        int, typer.Option(min=1, max=devices.MAX_PAGE, help="Devices per page (at most 1000).")
    ] = 100,
    offset: Annotated[int, typer.Option(min=0, help="Skip this many devices first.")] = 0,
) -> None:
    """Devices by id with their asset, a page at a time; the total goes to stderr.

    Example: facility devices list --unassigned --limit 50
    """
    status = devices.DeviceStatus.UNASSIGNED if unassigned else None
    with open_database(load_settings()) as session:
        page = devices.list_devices(
            session, states=[], status=status, q=q, limit=limit, offset=offset
        )
    table = Table(title="Unassigned devices" if unassigned else "Devices")
    for column in ("id", "asset", "kind"):
        table.add_column(column)
    for row in page.items:
        emit({"id": row.id, "asset": row.asset, "kind": row.kind})
        table.add_row(row.id, row.asset or "—", row.kind)
    if page.items:
        err.print(table)
    shown = f"{offset + 1}-{offset + len(page.items)}" if page.items else "none"
    err.print(f"{shown} of {page.total}")
    if page.total > offset + len(page.items):
        err.print(f"next page: --offset {offset + len(page.items)}")


@devices_app.command("admit")
def admit_command(
    device: Annotated[str, typer.Argument(help="The device id, as `devices list` shows it.")],
    asset: Annotated[str, typer.Option(help="Code of the existing asset it watches.")],
    actor: Annotated[
        str | None, typer.Option(help="Recorded as who admitted it (default: your login).")
    ] = None,
) -> None:
    """Admit a quarantined device by linking it to an existing asset; from then on its readings
    reach the rules and may open work orders.

    Example: facility devices admit zigbee2mqtt/kitchen-temp --asset ROOM-101
    """
    who = actor or f"cli:{getpass.getuser()}"
    with open_database(load_settings()) as session:
        row = devices.admit_device(session, device=device, asset_code=asset, actor=who)
        emit({"id": row.id, "asset": asset, "kind": row.kind})
    err.print(f"[green]✓[/] device {device} admitted to asset {asset}")
