"""``facility dashboards``: build the Grafana JSON, or publish it to a running Grafana.

Mounted by ``facility/app/cli.py``; errors are :class:`FacilityError` subclasses, which the top
level turns into one ``error:`` line and exit 1.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from dashboards._build import build_dashboards, write_dashboards
from dashboards._panels import BuildOptions, Readings
from dashboards._publish import GrafanaAuth, PublishResult, publish_dashboards
from facility.core.errors import ConfigError

__all__ = ["app"]

err = Console(stderr=True)
app = typer.Typer(help="Grafana dashboards as code: build and publish.", no_args_is_help=True)

RulesOption = Annotated[
    Path | None,
    typer.Option(
        "--rules",
        help="Rules YAML whose thresholds are drawn (default: FACILITY_RULES_FILE, then the "
        "shipped office rules).",
    ),
]


class ReadingsLanguage(StrEnum):
    influxql = "influxql"
    metricsql = "metricsql"


ReadingsOption = Annotated[
    ReadingsLanguage,
    typer.Option(
        "--readings",
        help="Query language of the reading panels: influxql (InfluxDB) or metricsql "
        "(VictoriaMetrics through a Prometheus data source). SQL panels are SQL in both.",
        case_sensitive=False,
    ),
]
VersionOption = Annotated[
    int, typer.Option("--version", min=1, max=1_000_000, help="Dashboard version stamp.")
]


def _options(
    rules: Path | None, version: int, readings: ReadingsLanguage = ReadingsLanguage.influxql
) -> BuildOptions:
    from facility.core.settings import load_settings
    from rules.loader import load_rules

    path = rules or load_settings().rules_file
    if path is None:
        from rules import DEFAULT_RULES

        path = DEFAULT_RULES if DEFAULT_RULES.is_file() else None
    if path is not None and not path.is_file():
        raise ConfigError(f"rules file {path} does not exist; fix --rules or FACILITY_RULES_FILE")
    loaded = load_rules(path) if path else None
    language: Readings = "metricsql" if readings is ReadingsLanguage.metricsql else "influxql"
    return BuildOptions(version=version, rules=loaded, readings=language)


@app.command("build")
def build(
    out: Annotated[Path, typer.Option("--out", help="Directory for <uid>.json files.")],
    rules: RulesOption = None,
    version: VersionOption = 1,
    readings: ReadingsOption = ReadingsLanguage.influxql,
) -> None:
    """Write every dashboard as Grafana JSON into DIR (one <uid>.json each).

    Example: facility dashboards build --out deploy/grafana/dashboards [--readings metricsql]
    """
    written = write_dashboards(out, _options(rules, version, readings))
    for path in written:
        err.print(f"[green]✓[/] {path}", highlight=False)


@app.command("publish")
def publish(
    url: Annotated[
        str, typer.Option("--url", envvar="GRAFANA_URL", help="Grafana base URL (GRAFANA_URL).")
    ],
    token: Annotated[
        str | None,
        typer.Option(
            envvar="GRAFANA_TOKEN",
            help="Service-account token (GRAFANA_TOKEN).",
            show_default=False,
        ),
    ] = None,
    user: Annotated[
        str | None, typer.Option(envvar="GRAFANA_USER", help="Basic-auth user (GRAFANA_USER).")
    ] = None,
    password: Annotated[
        str | None,
        typer.Option(
            envvar="GRAFANA_PASSWORD",
            help="Basic-auth password (GRAFANA_PASSWORD).",
            show_default=False,
        ),
    ] = None,
    folder: Annotated[str, typer.Option(help="Folder title; created when missing.")] = "Facility",
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace dashboards that already exist.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only read from Grafana; report what would change.")
    ] = False,
    timeout: Annotated[
        float, typer.Option(min=0.1, max=300, help="Seconds to wait for each request.")
    ] = 10.0,
    rules: RulesOption = None,
    version: VersionOption = 1,
    readings: ReadingsOption = ReadingsLanguage.influxql,
) -> None:
    """Push every dashboard to a running Grafana (token or basic auth) into a folder.

    Example: GRAFANA_TOKEN=glsa_... facility dashboards publish --url http://grafana:3000
    """
    from rich.progress import Progress, SpinnerColumn, TextColumn

    dashboards = build_dashboards(_options(rules, version, readings))
    auth = GrafanaAuth(token=token, user=user, password=password)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=err) as progress:
        task = progress.add_task(f"publishing {len(dashboards)} dashboards", total=len(dashboards))

        def report(result: PublishResult) -> None:
            progress.advance(task)
            where = f" {result.url}" if result.url else ""
            progress.console.print(f"{result.action}: {result.uid}{where}", highlight=False)

        results = publish_dashboards(
            url,
            dashboards,
            auth=auth,
            folder=folder,
            overwrite=overwrite,
            dry_run=dry_run,
            timeout_s=timeout,
            on_progress=report,
        )
    skipped = [r.uid for r in results if r.action.startswith("skipped")]
    if skipped:
        err.print(
            f"[yellow]{len(skipped)} dashboards already exist and were left alone; "
            "pass --overwrite to replace them[/]"
        )
