"""Small helpers shared by the dashboard modules: colours, thresholds, variables, SQL snippets.

Colours are Grafana's named palette colours so they follow the light and dark themes. SQL fragments
shared by several panels live here so the KPI definitions cannot drift between panels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from grafana_foundation_sdk.builders import dashboard as gd
from grafana_foundation_sdk.builders import prometheus
from grafana_foundation_sdk.models import dashboard as gm

from dashboards._datasources import INFLUX, POSTGRES, VICTORIA
from dashboards._queries import InfluxQL, metricsql
from gateway.stores.victoria import SERIES

if TYPE_CHECKING:
    from rules.model import RuleFile

__all__ = [
    "BAD",
    "GOOD",
    "INFO",
    "OPEN_STATES_SQL",
    "ORIGIN_SQL",
    "READINGS",
    "SERIES",
    "WARN",
    "BuildOptions",
    "Readings",
    "asset_link",
    "by_threshold",
    "facility_links",
    "fixed_colour",
    "influx",
    "influx_tag_variable",
    "mean_per_asset",
    "mean_per_asset_metricsql",
    "palette",
    "postgres",
    "readings",
    "readings_source",
    "readings_variable",
    "sql_variable",
    "steps",
]

GOOD, WARN, BAD, INFO = "green", "orange", "red", "blue"

#: Statuses in which an order is still somebody's job: the backlog. The same set as
#: ``maintenance.insights.kpis`` counts, so Grafana and ``GET /api/v1/kpis`` agree.
OPEN_STATES_SQL = "('new', 'assigned', 'in_progress', 'on_hold', 'reopened')"

#: When an order's clock started: the fault's first detection for rule orders, else creation
#: (the KPI service's ``origin``).
ORIGIN_SQL = "COALESCE(wo.detected_at, wo.created_at)"


#: The query languages of the reading panels: InfluxQL on InfluxDB, MetricsQL on VictoriaMetrics.
Readings = Literal["influxql", "metricsql"]
READINGS: tuple[Readings, ...] = ("influxql", "metricsql")


@dataclass(frozen=True, slots=True)
class BuildOptions:
    """What a build depends on besides the code: the version stamp, the rules to draw and the
    query language of the reading panels (SQL panels are SQL in both)."""

    version: int = 1
    rules: RuleFile | None = None
    readings: Readings = "influxql"


def facility_links() -> gd.DashboardLink:
    """A drop-down to the other Facility dashboards (all tagged ``facility``), keeping time."""
    return (
        gd.DashboardLink("Facility")
        .type(gm.DashboardLinkType.DASHBOARDS)
        .tags(["facility"])
        .as_dropdown(True)
        .keep_time(True)
        .include_vars(False)
        .target_blank(False)
        .icon("external link")
        .tooltip("")
        .url("")
    )


def asset_link(site_variable: str = "site") -> gm.DynamicConfigValue:
    """A field data link from an asset code to the Asset detail dashboard for that asset."""
    query = f"${{{site_variable}:queryparam}}&var-asset=${{__value.raw}}"
    url = f"/d/facility-asset/asset-detail?{query}"
    return gm.DynamicConfigValue("links", [{"title": "Asset detail", "url": url}])


def influx() -> gm.DataSourceRef:
    return INFLUX.sdk_ref()


def postgres() -> gm.DataSourceRef:
    return POSTGRES.sdk_ref()


def readings_source(options: BuildOptions) -> gm.DataSourceRef:
    """The data source of the reading panels in this build's variant."""
    return VICTORIA.sdk_ref() if options.readings == "metricsql" else INFLUX.sdk_ref()


def readings(
    options: BuildOptions, influxql: InfluxQL, metricsql: prometheus.Dataquery
) -> InfluxQL | prometheus.Dataquery:
    """The target of a reading panel in this build's variant: the same question in either
    language, written side by side so the two cannot drift apart unnoticed."""
    return metricsql if options.readings == "metricsql" else influxql


def readings_variable(
    options: BuildOptions,
    name: str,
    label: str,
    *,
    influxql: str,
    metricsql: str,
    multi: bool = True,
) -> gd.QueryVariable:
    """A variable listing tag values: ``SHOW TAG VALUES`` or MetricsQL ``label_values(...)``."""
    if options.readings == "influxql":
        return influx_tag_variable(name, label, influxql, multi=multi)
    return (
        gd.QueryVariable(name)
        .label(label)
        .datasource(VICTORIA.sdk_ref())
        .query(metricsql)
        .refresh(gm.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(gm.VariableSort.ALPHABETICAL_ASC)
        .multi(multi)
        .include_all(multi)
    )


def steps(base: str, *pairs: tuple[float, str]) -> gd.ThresholdsConfig:
    """Absolute thresholds: ``base`` below the first value, then each (value, colour)."""
    return (
        gd.ThresholdsConfig()
        .mode(gm.ThresholdsMode.ABSOLUTE)
        .steps([gm.Threshold(value=None, color=base)] + [gm.Threshold(v, c) for v, c in pairs])
    )


def fixed_colour(colour: str) -> gd.FieldColor:
    return gd.FieldColor().mode(gm.FieldColorModeId.FIXED).fixed_color(colour)


def palette() -> gd.FieldColor:
    return gd.FieldColor().mode(gm.FieldColorModeId.PALETTE_CLASSIC)


def by_threshold() -> gd.FieldColor:
    return gd.FieldColor().mode(gm.FieldColorModeId.THRESHOLDS)


def influx_tag_variable(
    name: str, label: str, query: str, *, multi: bool = True
) -> gd.QueryVariable:
    """A variable listing tag values from InfluxDB (``SHOW TAG VALUES ...``)."""
    return (
        gd.QueryVariable(name)
        .label(label)
        .datasource(INFLUX.sdk_ref())
        .query(query)
        .refresh(gm.VariableRefresh.ON_DASHBOARD_LOAD)
        .sort(gm.VariableSort.ALPHABETICAL_ASC)
        .multi(multi)
        .include_all(multi)
    )


def sql_variable(name: str, label: str, query: str) -> gd.QueryVariable:
    """A single-value variable listing rows from PostgreSQL."""
    return (
        gd.QueryVariable(name)
        .label(label)
        .datasource(POSTGRES.sdk_ref())
        .query(query)
        .refresh(gm.VariableRefresh.ON_DASHBOARD_LOAD)
        .sort(gm.VariableSort.ALPHABETICAL_ASC)
        .multi(False)
        .include_all(False)
    )


def mean_per_asset(metric: str) -> InfluxQL:
    """One series per asset: the mean of ``metric`` on the selected site, per Grafana interval.

    The query every "by asset" time panel runs; one definition keeps them in step with the
    schema in ``docs/influx-schema.md``.
    """
    if not metric.replace("_", "").isalnum():
        raise ValueError(f"{metric!r} is not a canonical metric name (letters, digits, _)")
    # The metric was checked above: a canonical name from our code, never user input.
    query = f"""
        SELECT mean("value") FROM "readings"
        WHERE "metric" = '{metric}' AND "site" =~ /^$site$/ AND $timeFilter
        GROUP BY time($__interval), "asset" fill(none)
        """  # noqa: S608
    return InfluxQL(query).alias("$tag_asset")


def mean_per_asset_metricsql(metric: str) -> prometheus.Dataquery:
    """:func:`mean_per_asset` in MetricsQL: the mean of every point per asset and interval
    (sum over count, not a mean of per-series means, as InfluxQL's ``mean`` computes it)."""
    if not metric.replace("_", "").isalnum():
        raise ValueError(f"{metric!r} is not a canonical metric name (letters, digits, _)")
    sel = f'{SERIES}{{metric="{metric}",site=~"$site"}}'
    return metricsql(
        f"""
        sum by (asset) (sum_over_time({sel}[$__interval]))
        / sum by (asset) (count_over_time({sel}[$__interval]))
        """,
        "{{asset}}",
    )
