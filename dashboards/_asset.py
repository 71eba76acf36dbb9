"""Asset detail: one asset's metrics with its rule thresholds drawn, presence and work orders.

Templated by ``site`` and ``asset`` (tag values in InfluxDB, so the pickers only offer assets
that have readings). The metric panel repeats per metric; rule thresholds are drawn through
field overrides matched on the series name ``<device> <metric>``, which is how a glob such as
``ahu-*`` in a rule's selector maps onto a repeated panel.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import common as gc
from grafana_foundation_sdk.builders import dashboard as gd
from grafana_foundation_sdk.builders import statetimeline, table, timeseries
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as gm

from dashboards._panels import (
    BAD,
    GOOD,
    INFO,
    SERIES,
    BuildOptions,
    by_threshold,
    facility_links,
    palette,
    postgres,
    readings,
    readings_source,
    readings_variable,
    steps,
)
from dashboards._queries import InfluxQL, Sql, metricsql

__all__ = ["UID", "build", "glob_to_regex"]

UID = "facility-asset"

_METRICS = f'{SERIES}{{asset=~"$asset",metric=~"$metric"}}'

# Characters with a meaning in a JavaScript regex; "-" is not one outside a class.
_SPECIAL = frozenset("\\^$.|?*+()[]{}/")


def glob_to_regex(glob: str) -> str:
    """A rule selector glob (``ahu-*``) as an anchored JavaScript-compatible regex fragment."""
    out = []
    for char in glob:
        if char == "*":
            out.append(".*")
        elif char == "?":
            out.append(".")
        elif char in _SPECIAL:
            out.append("\\" + char)
        else:
            out.append(char)
    return "".join(out)


def _threshold_overrides(options: BuildOptions) -> list[tuple[str, list[gm.DynamicConfigValue]]]:
    """One override per threshold rule: dashed threshold line(s) on matching series."""
    if options.rules is None:
        return []
    from rules.model import ThresholdRule

    overrides = []
    for rule in options.rules.rules:
        if not isinstance(rule, ThresholdRule) or not rule.enabled or not rule.select.metric:
            continue
        pattern = f"^{glob_to_regex(rule.select.device)} {glob_to_regex(rule.select.metric)}$"
        if rule.above is not None:
            limits = [{"value": None, "color": GOOD}, {"value": rule.above, "color": BAD}]
        else:
            limits = [{"value": None, "color": BAD}, {"value": rule.below, "color": GOOD}]
        overrides.append(
            (
                pattern,
                [
                    gm.DynamicConfigValue("thresholds", {"mode": "absolute", "steps": limits}),
                    gm.DynamicConfigValue("custom.thresholdsStyle", {"mode": "dashed"}),
                    gm.DynamicConfigValue("description", f"rule {rule.name}"),
                ],
            )
        )
    return overrides


def build(options: BuildOptions) -> gd.Dashboard:
    metrics = (
        timeseries.Panel()
        .title("$metric")
        .description("Every metric of the asset; dashed lines are the thresholds of its rules.")
        .datasource(readings_source(options))
        .repeat("metric")
        .repeat_direction("h")
        .max_per_row(2)
        .with_target(
            readings(
                options,
                InfluxQL(
                    """
                SELECT mean("value") FROM "readings"
                WHERE "asset" =~ /^$asset$/ AND "metric" =~ /^$metric$/ AND $timeFilter
                GROUP BY time($__interval), "device", "metric" fill(none)
                """
                ).alias("$tag_device $tag_metric"),
                metricsql(
                    f"""
                    sum by (device, metric) (sum_over_time({_METRICS}[$__interval]))
                    / sum by (device, metric) (count_over_time({_METRICS}[$__interval]))
                    """,
                    "{{device}} {{metric}}",
                ),
            )
        )
        .unit("short")
        .color_scheme(palette())
        .thresholds(steps(GOOD))
        .thresholds_style(gc.GraphThresholdsStyleConfig().mode(cm.GraphThresholdsStyleMode.OFF))
        .span(12)
        .height(8)
    )
    for pattern, properties in _threshold_overrides(options):
        metrics = metrics.override_by_regexp(pattern, properties)

    return (
        gd.Dashboard("Asset detail")
        .uid(UID)
        .tags(["facility", "generated"])
        .description("One asset: its metrics against rule thresholds, presence and work orders.")
        .time("now-24h", "now")
        .refresh("1m")
        .timezone("browser")
        .version(options.version)
        .link(facility_links())
        .with_variable(
            readings_variable(
                options,
                "site",
                "Site",
                influxql='SHOW TAG VALUES FROM "readings" WITH KEY = "site"',
                metricsql=f"label_values({SERIES}, site)",
                multi=False,
            )
        )
        .with_variable(
            readings_variable(
                options,
                "asset",
                "Asset",
                influxql='SHOW TAG VALUES FROM "readings" WITH KEY = "asset" '
                'WHERE "site" =~ /^$site$/',
                metricsql=f'label_values({SERIES}{{site=~"$site"}}, asset)',
                multi=False,
            )
        )
        .with_variable(
            readings_variable(
                options,
                "metric",
                "Metric",
                influxql='SHOW TAG VALUES FROM "readings" WITH KEY = "metric" '
                'WHERE "asset" =~ /^$asset$/',
                metricsql=f'label_values({SERIES}{{asset=~"$asset"}}, metric)',
                multi=True,
            )
        )
        .with_row(gd.Row("Metrics"))
        .with_panel(metrics)
        .with_row(gd.Row("Presence and work orders"))
        .with_panel(
            statetimeline.Panel()
            .title("Presence history")
            .description("Online (1) and offline (0) transitions of the asset's devices.")
            .datasource(postgres())
            .with_target(
                Sql(
                    """
                    SELECT to_timestamp(h.ts) AS "time", h.device AS "metric",
                    CASE WHEN h.online THEN 1 ELSE 0 END AS "online"
                    FROM presence_history h
                    JOIN devices d ON d.id = h.device
                    JOIN assets a ON a.id = d.asset_id
                    WHERE a.code = '$asset' AND $__unixEpochFilter(h.ts)
                    ORDER BY 1
                    """
                ).time_series()
            )
            .mappings(
                [
                    gm.ValueMap(
                        options={
                            "0": gm.ValueMappingResult(text="offline", color=BAD, index=0),
                            "1": gm.ValueMappingResult(text="online", color=GOOD, index=1),
                        }
                    )
                ]
            )
            .unit("none")
            .color_scheme(by_threshold())
            .thresholds(steps(BAD, (1, GOOD)))
            .merge_values(True)
            .span(24)
            .height(6)
        )
        .with_panel(
            table.Panel()
            .title("Work orders of this asset")
            .datasource(postgres())
            .with_target(
                Sql(
                    """
                    SELECT wo.id AS "work order", wo.created_at AS "created",
                    wo.title AS "title", wo.status AS "status", wo.priority AS "priority",
                    wo.source AS "source", wo.assignee AS "assignee",
                    wo.resolved_at AS "resolved"
                    FROM work_orders wo
                    JOIN assets a ON a.id = wo.asset_id
                    WHERE a.code = '$asset'
                    ORDER BY wo.created_at DESC
                    LIMIT 100
                    """
                )
            )
            .unit("none")
            .color_scheme(by_threshold())
            .thresholds(steps(INFO))
            .span(24)
            .height(8)
        )
    )
