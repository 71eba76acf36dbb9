"""``facility sites``: list sites, add one, rename it or set its time zone.

The time zone matters: business-hours SLAs, PM calendars and the monthly review's months are
read in it (``maintenance/sites/service.py``). Data goes to stdout as JSON Lines; the table and
messages go to stderr.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from facility.core.errors import FacilityError
from facility.core.settings import load_settings
from maintenance.shared.cli import emit, err, open_database
from maintenance.sites import service as sites

__all__ = ["sites_app"]

sites_app = typer.Typer(help="Sites and their time zones.", no_args_is_help=True)


def _row(summary: sites.SiteSummary) -> dict[str, object]:
    return {
        "code": summary.code,
        "name": summary.name,
        "timezone": summary.timezone,
        "assets": summary.assets,
    }


@sites_app.command("list")
def list_command() -> None:
    """Every site with its time zone and asset count; JSON Lines on stdout, a table on stderr.

    Example: facility sites list
    """
    with open_database(load_settings()) as session:
        found = sites.list_sites(session)
    table = Table(title="Sites")
    for column in ("code", "name", "timezone", "assets"):
        table.add_column(column, justify="right" if column == "assets" else "left")
    for summary in found:
        emit(_row(summary))
        table.add_row(summary.code, summary.name, summary.timezone, str(summary.assets))
    if found:
        err.print(table)
    else:
        err.print("no sites yet; add one with `facility sites add CODE --timezone Europe/Berlin`")


@sites_app.command("add")
def add_command(
    code: Annotated[str, typer.Argument(help="Short code, e.g. hq (letters, digits, . _ : -).")],
    name: Annotated[str | None, typer.Option(help="Display name (default: the code).")] = None,
    timezone: Annotated[
        str, typer.Option("--timezone", "--tz", help="IANA time zone, e.g. Europe/Berlin.")
    ] = "UTC",
) -> None:
    """Add a site.

    Example: facility sites add hq --name "Head office" --timezone Europe/Berlin
    """
    with open_database(load_settings()) as session:
        site = sites.create_site(session, code=code, name=name, timezone=timezone)
        session.commit()
        summary = sites.summarise(session, site)
    emit(_row(summary))
    err.print(f"[green]✓[/] site {summary.code} added ({summary.timezone})")


@sites_app.command("set")
def set_command(
    code: Annotated[str, typer.Argument(help="The site's code.")],
    name: Annotated[str | None, typer.Option(help="New display name.")] = None,
    timezone: Annotated[
        str | None, typer.Option("--timezone", "--tz", help="New IANA time zone.")
    ] = None,
) -> None:
    """Rename a site or set its time zone (from then on SLAs, PM and reviews use it).

    Example: facility sites set hq --timezone Europe/Berlin
    """
    if name is None and timezone is None:
        raise FacilityError("nothing to change; give --name and/or --timezone")
    with open_database(load_settings()) as session:
        site = sites.update_site(session, code=code, name=name, timezone=timezone)
        session.commit()
        summary = sites.summarise(session, site)
    emit(_row(summary))
    err.print(f"[green]✓[/] site {summary.code}: {summary.name}, {summary.timezone}")
